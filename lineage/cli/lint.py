"""`lineage lint`: block datasets that breach the terms of where their examples came from."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

from lineage.cli.common import context_flags, context_options, parse_mapping, parse_today, store_option
from lineage.cli.policies import policy_option
from lineage.exceptions import InputError, UsageError
from lineage.segments import LAYOUTS

_FORMATS = ("text", "json", "sarif", "github", "markdown")


def _codes(values: tuple[str, ...]) -> list[str]:
    return [code.strip() for value in values for code in value.split(",") if code.strip()]


def evaluation_options(func: Any) -> Any:
    """The options of every command that judges datasets as lint does (lint, report, notice)."""
    options = [
        click.option("--untracked", type=click.Choice(["ignore", "warn", "error"]),
                     help="What a segment with no recorded origin is (default: warn, or the config's)."),
        click.option("--unknown-terms", type=click.Choice(["error", "warn"]),
                     help="What a source whose terms the policy pack cannot determine is: its examples need "
                     "review either way (default: error, or the config's)."),
        click.option("--skip-bad", is_flag=True, default=None,
                     help="Malformed records are warnings, not errors; they are still counted and listed."),
        click.option("--strict", is_flag=True, default=None,
                     help="Lower nothing: malformed records and unknown terms are errors whatever the "
                     "configuration, --skip-bad or --unknown-terms say."),
        click.option("--all-segments", is_flag=True, default=None,
                     help="Require prompt-side segments to be tracked too, not only the completion side."),
        click.option("--select", multiple=True, metavar="CODES",
                     help="Report only these rule codes or prefixes (comma-separated, repeatable)."),
        click.option("--ignore", multiple=True, metavar="CODES",
                     help="Do not report these rule codes or prefixes (comma-separated, repeatable)."),
        context_options,
        click.option("--model-column", metavar="FIELD",
                     help="A column naming each row's model (default: model or model_name)."),
        click.option("--provider-column", metavar="FIELD", help="A column naming each row's provider."),
        click.option("--time-column", metavar="FIELD", help="A column with each row's generation time."),
        click.option("--layout", type=click.Choice(LAYOUTS), help="Force a record layout."),
        click.option("--map", "mapping", multiple=True, metavar="ROLE=FIELD", help="Explicit field mapping; repeatable."),
        click.option("--input-format", type=click.Choice(["jsonl", "json", "csv", "parquet", "arrow", "hf-disk"]),
                     help="File format, when the extension does not say."),
        store_option,
        policy_option,
    ]
    for option in reversed(options):
        func = option(func)
    return func


@click.command()
@click.argument("paths", nargs=-1)
@click.option("--format", "output_format", type=click.Choice(_FORMATS), default="text", show_default=True,
              help="Output format: text (one line per finding), json, sarif (GitHub code scanning), "
              "github (workflow annotations) or markdown (a pull-request comment).")
@click.option("--output", "-o", "output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the report to this file instead of standard output.")
@click.option("--statistics", is_flag=True, help="Print counts per rule code and the summary, not each finding.")
@click.option("--max-findings", type=click.IntRange(min=0), metavar="N",
              help="List at most N findings; the summary still counts them all.")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=1, show_default=True,
              help="Worker processes for large inputs.")
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when the dataset is blocked.")
@evaluation_options
def lint(
    paths: tuple[str, ...], output_format: str, output: Path | None, statistics: bool, max_findings: int | None,
    jobs: int, exit_zero: bool, **evaluation: Any,
) -> None:
    """Check dataset files against the terms of where their examples came from.

    PATHS are files (JSONL, JSON, CSV, Parquet, Arrow), folders, Hugging Face save_to_disk
    folders or glob patterns; without any, the `paths` setting of the configuration.
    Each segment's origin comes from the row itself (a `_lineage` object or a model column),
    else from the lineage store; the policy pack then judges each source once.

    \b
    Examples:
      lineage lint data/train.jsonl
      lineage lint data/ --competes-with '*' --format sarif -o lineage.sarif
      lineage lint evals/*.parquet --purpose evaluate --statistics

    Exits 1 when an example breaches a rule (an error finding), 2 on bad input or configuration.
    """
    from lineage.report import render

    report = evaluate(paths, max_findings=max_findings, jobs=jobs, **evaluation)
    if report is None:
        click.echo("No dataset files in the configured paths.")
        return
    write_output(render(report, output_format, show_statistics=statistics), output)
    if report.exit_code and not exit_zero:
        raise SystemExit(report.exit_code)


def require_readable(report: Any, writes: str) -> None:
    """Refuse to write a document (a card, a report, a notice, an export) that would leave out
    records lint could not read, unless the user chose to skip them (--skip-bad, `skip_bad`):
    a document that describes part of the data as if it were all of it launders the rest."""
    unread = [f for f in report.findings if f.code == "LIN010" and f.severity == "error"]
    if not unread:
        return
    first = unread[0]
    where = f"{first.path}:{first.line}" if first.line is not None else first.path
    raise InputError(
        f"{len(unread)} record(s) could not be read ({first.message.removeprefix('malformed record: ')}), "
        f"so the {writes} would leave them out", where=where,
        fix="fix them (`lineage lint` lists them), or pass --skip-bad to write it for the rest, "
        "which it then counts as malformed",
    )


def evaluate_document(paths: tuple[str, ...], writes: str, **options: Any) -> Any:
    """`evaluate` for a command that writes a document about the data: the paths (or the
    configured ones) must name some, and every record must have been read (`require_readable`)."""
    linted = evaluate(paths, **options)
    if linted is None:
        raise UsageError("no dataset files in the configured paths", fix="name the files, or set `paths` in the configuration")
    require_readable(linted, writes)
    return linted


def evaluate(
    paths: tuple[str, ...], *, strict: bool | None = None, skip_bad: bool | None = None,
    unknown_terms: str | None = None, max_findings: int | None = None, jobs: int = 1, untracked: str | None, all_segments: bool | None, select: tuple[str, ...], ignore: tuple[str, ...],
    purpose: str | None, commercial: bool | None, competes_with: tuple[str, ...], base_model: str | None,
    distribute_model: bool | None, model_name: str | None, model_type: str | None, publish_dataset: bool | None, territory: tuple[str, ...],
    waivers_path: Path | None, today: str | None, model_column: str | None, provider_column: str | None,
    time_column: str | None, layout: str | None, mapping: tuple[str, ...], input_format: str | None,
    store: str | None, policy_paths: tuple[Path, ...],
) -> Any:
    """Lint `paths` (or the configured ones) with the command line's options; None if there are none."""
    from lineage.config import find_config
    from lineage.linting import build_settings
    from lineage.linting import lint as run_lint
    from lineage.progress import progress_bar

    config = find_config()
    settings = build_settings(
        config,
        context_flags=context_flags(
            purpose=purpose, commercial=commercial, competes_with=competes_with, base_model=base_model,
            distribute_model=distribute_model, model_name=model_name, publish_dataset=publish_dataset,
            model_type=model_type, territory=territory,
        ),
        untracked=untracked,
        all_segments=all_segments,
        select=_codes(select),
        ignore=_codes(ignore),
        strict=strict,
        skip_bad=skip_bad,
        unknown_terms=unknown_terms,
        inline_flags={"model": model_column, "provider": provider_column, "generated_at": time_column},
        layout=layout,
        mapping=parse_mapping(mapping, "--map") or None,
        input_format=input_format,
    )
    targets: list[Any] = list(paths) or _configured_paths(config)
    if not targets:
        return None
    with progress_bar("linting", unit=" examples") as advance:
        return run_lint(
            targets, settings=settings, config=config, store=store, policies=list(policy_paths),
            waivers=waivers_path, today=parse_today(today), max_findings=max_findings, jobs=jobs, progress=advance,
        )


def write_output(text: str, output: Path | None) -> None:
    """The command's output to a file, or to standard output."""
    if output is None:
        click.echo(text, nl=False)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write the report ({exc.strerror})", fix=f"check the path {output}") from None


def _configured_paths(config: Any) -> list[str]:
    configured = config.get("paths")
    if configured is None:
        raise UsageError(
            "no dataset files named",
            fix="name files, folders or globs, or set paths = [\"data/\"] under [tool.lineage]",
        )
    if isinstance(configured, str):
        configured = [configured]
    if not isinstance(configured, list) or not all(isinstance(p, str) for p in configured):
        raise UsageError("`paths` must be a list of paths or glob patterns", where=str(config.path))
    from lineage.exceptions import InputError
    from lineage.readers import expand_paths

    found: list[str] = []
    for pattern in configured:
        # Relative to the current folder where they can be, so reports name files as the user does.
        target = os.path.relpath(config.resolve_path(pattern))
        if os.path.isdir(target):
            try:
                expand_paths([target])
            except InputError:
                continue  # a configured folder with no dataset in it (yet, or any more) is not an error
        found.append(target)
    return found
