"""`lineage import`: record the origins of existing files."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import click

from lineage.cli.common import (
    allow_unknown_option,
    echo_json,
    format_option,
    parse_mapping,
    source_checker,
    source_options,
    store_option,
)
from lineage.exceptions import UsageError
from lineage.segments import LAYOUTS
from lineage.timeutil import parse_time
from lineage.vocabulary import IMPORT_TYPES, KINDS

if TYPE_CHECKING:
    from lineage.sources import SourceSpec

_SPEC_KEYS = ("kind", "provider", "model", "channel", "license", "name")


@click.command(name="import")
@click.argument("paths", nargs=-1, required=True)
@click.option(
    "--type",
    "import_format",
    type=click.Choice(IMPORT_TYPES),
    default="auto",
    show_default=True,
    help="What the files are. `auto` recognises OpenAI and Anthropic batch result files and "
    "Hugging Face dataset folders; anything else is a dataset whose source the flags name.",
)
@source_options
@click.option("--model-column", metavar="FIELD", help="Read each row's model from this column (e.g. model_name).")
@click.option("--provider-column", metavar="FIELD", help="Read each row's provider from this column.")
@click.option("--time-column", metavar="FIELD", help="Read each row's generation time from this column.")
@click.option(
    "--prompt-source",
    metavar="SPEC",
    help="Who wrote the prompt-side segments, as key=value pairs (e.g. kind=human,name=annotators). "
    "Without it they are left unrecorded.",
)
@click.option("--all-segments", is_flag=True, help="Attribute prompt-side segments to the source too.")
@click.option("--layout", type=click.Choice(LAYOUTS), help="Force a record layout.")
@click.option("--map", "mapping", multiple=True, metavar="ROLE=FIELD", help="Explicit field mapping; repeatable.")
@click.option(
    "--input-format",
    type=click.Choice(["jsonl", "json", "csv", "parquet", "arrow", "hf-disk"]),
    help="File format, when the extension does not say.",
)
@click.option("--skip-bad", is_flag=True, help="Import the good records and report the malformed ones.")
@click.option("--store-text", is_flag=True, help="Also store the raw text (off by default: prompts may hold personal data).")
@click.option("--sketch", is_flag=True,
              help="Also store a near-duplicate sketch (a MinHash signature, no text) of each completion, so that "
                   "lint recognises edited copies of it.")
@allow_unknown_option
@store_option
@format_option("text", "json")
def import_(
    paths: tuple[str, ...],
    import_format: str,
    provider: str | None,
    model: str | None,
    kind: str | None,
    channel: str | None,
    license_: str | None,
    name: str | None,
    generated_at: str | None,
    model_column: str | None,
    provider_column: str | None,
    time_column: str | None,
    prompt_source: str | None,
    all_segments: bool,
    layout: str | None,
    mapping: tuple[str, ...],
    input_format: str | None,
    skip_bad: bool,
    store_text: bool,
    sketch: bool,
    allow_unknown: bool,
    store: str | None,
    output_format: str,
) -> None:
    """Record where the segments of existing files came from.

    \b
    Examples:
      lineage import answers.jsonl --provider anthropic --model claude-sonnet-4-5
      lineage import batch_output.jsonl                  # OpenAI / Anthropic batch results (auto-detected)
      lineage import dolly.jsonl --kind dataset --name dolly --license CC-BY-SA-3.0 --all-segments
      lineage import synth.parquet --model-column model_name
      lineage import ./my_hf_dataset                     # save_to_disk folder; licence from README.md

    The whole import is one transaction: it lands whole, or (on a malformed record, unless
    --skip-bad) not at all. Importing the same data again adds nothing.
    """
    # Imported here rather than at the top: `lineage --help` should not load SQLAlchemy.
    from lineage.importers import ImportRequest, import_paths
    from lineage.importers.base import ImportOptions
    from lineage.importers.converters import SourceColumns
    from lineage.progress import progress_bar
    from lineage.sources import SourceSpec
    from lineage.store import open_store

    check_source = source_checker(allow=allow_unknown)
    if check_source is not None and provider:
        check_source(SourceSpec.model_construct(provider=provider, model=model), "--provider")
    request = ImportRequest(
        kind=import_format,
        source={
            "kind": kind,
            "provider": provider,
            "model": model,
            "channel": channel,
            "license": license_,
            "name": name,
        },
        columns=SourceColumns(model=model_column, provider=provider_column, generated_at=time_column),
        generated_at=_time(generated_at),
        layout=layout,
        mapping=parse_mapping(mapping, "--map") or None,
        options=ImportOptions(
            prompt_source=parse_source_spec(prompt_source, "--prompt-source") if prompt_source else None,
            all_segments=all_segments,
            skip_bad=skip_bad,
            store_text=store_text,
            sketch=sketch,
            input_format=input_format,
            check_source=check_source,
        ),
    )
    with open_store(store) as opened, progress_bar("importing") as advance:
        result = import_paths(opened, list(paths), request, progress=advance)
    if output_format == "json":
        echo_json(result.to_dict())
        return
    click.echo(
        f"Imported {result.records} records from {len(result.files)} file(s): "
        f"{result.origins_added} new origins, {result.segments_seen - result.origins_added} already recorded."
    )
    for label, count in sorted(result.sources.items()):
        click.echo(f"  {label}: {count} segments")
    if sketch:
        click.echo(f"  {result.sketches_added} near-duplicate sketches written")
    if result.segments_unattributed:
        click.echo(
            f"  {result.segments_unattributed} prompt-side segments left unrecorded "
            "(name their author with --prompt-source, or use --all-segments)"
        )
    for reason, count in sorted(result.skip_reasons.items()):
        click.echo(f"  skipped {count} records: {reason}")
    if result.records_skipped:
        click.echo(f"  skipped {result.records_skipped} malformed records:", err=True)
        for path, line, error in result.bad:
            click.echo(f"    {path} line {line}: {error}", err=True)
        if result.records_skipped > len(result.bad):
            click.echo(f"    ... and {result.records_skipped - len(result.bad)} more", err=True)


def _time(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_time(value)
    except ValueError as exc:
        raise UsageError(f"--generated-at: {exc}", fix="use e.g. 2025-03-01 or 2025-03-01T12:00:00Z") from None


def parse_source_spec(text: str, option: str) -> SourceSpec:
    """`kind=human,name=annotators` (or a bare kind such as `human`) as a source."""
    from lineage.sources import SourceSpec

    fix = f"use key=value pairs with keys {', '.join(_SPEC_KEYS)}, e.g. {option} kind=human,name=annotators"
    if "=" not in text:
        if text.strip() not in KINDS:
            raise UsageError(f"{option}: {text!r} is neither a kind nor key=value pairs", fix=fix)
        return SourceSpec.build(kind=text.strip(), name=text.strip())
    fields: dict[str, str] = {}
    for part in text.split(","):
        key, sep, value = part.partition("=")
        key = key.strip()
        if not sep or key not in _SPEC_KEYS:
            raise UsageError(f"{option}: invalid source {text!r}", fix=fix)
        fields[key] = value.strip()
    try:
        return SourceSpec.build(**fields)
    except UsageError as exc:
        raise UsageError(f"{option}: {exc.what}", fix=fix) from None
