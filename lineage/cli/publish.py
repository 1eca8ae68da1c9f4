"""`lineage gate` and `lineage card`: check a dataset before it is published, and write its card."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from lineage.cli.lint import evaluate, evaluation_options, require_readable, write_output
from lineage.exceptions import UsageError

_FORMATS = ("text", "json", "sarif", "github", "markdown")
_CARD = click.Path(path_type=Path)


def _linted(paths: tuple[str, ...], evaluation: dict[str, Any], **options: Any) -> Any:
    # Publication is the use being judged, whatever the configuration says of it.
    evaluation["publish_dataset"] = True
    linted = evaluate(paths, **options, **evaluation)
    if linted is None:
        raise UsageError("no dataset files in the configured paths", fix="name the files, or set `paths` in the configuration")
    return linted


def _card_path(paths: tuple[str, ...], card: Path | None, linted: Any) -> Path | None:
    from lineage.cards import find_card

    return find_card(list(paths) or [f.path for f in linted.files], str(card) if card else None)


def gate_options(func: Any) -> Any:
    """The options of every command that runs the publication gate (gate, hub check, hub push)."""
    options = [
        click.option("--max-untracked", type=click.FloatRange(0, 1), metavar="SHARE",
                     help="The largest share of untracked examples allowed (default 0.05, or gate.max_untracked)."),
        click.option("--format", "output_format", type=click.Choice(_FORMATS), default="text", show_default=True,
                     help="Output format, as lint's: text, json, sarif, github or markdown."),
        click.option("--output", "-o", "output", type=click.Path(dir_okay=False, path_type=Path),
                     help="Write the result to this file instead of standard output."),
        click.option("--statistics", is_flag=True, help="Print counts per rule code and the summary, not each finding."),
        click.option("--max-findings", type=click.IntRange(min=0), metavar="N",
                     help="List at most N findings; the summary still counts them all."),
        click.option("--jobs", "-j", type=click.IntRange(min=1), default=1, show_default=True,
                     help="Worker processes for large inputs."),
        evaluation_options,
    ]
    for option in reversed(options):
        func = option(func)
    return func


def run_gate(paths: tuple[str, ...], card: Path | None, *, max_untracked: float | None, max_findings: int | None,
             jobs: int, evaluation: dict[str, Any]) -> Any:
    """Lint for publication and check the card: the Report, with its `publication` set."""
    from lineage.cards import read_card
    from lineage.config import find_config
    from lineage.publication import check_publication, max_untracked_setting

    share = max_untracked_setting(find_config(), max_untracked)
    linted = _linted(paths, evaluation, max_findings=max_findings, jobs=jobs)
    found = _card_path(paths, card, linted)
    check_publication(linted, read_card(found) if found else None, max_untracked=share,
                      data_path=(list(paths) or [f.path for f in linted.files])[0])
    return linted


def show_gate(report: Any, output_format: str, output: Path | None, statistics: bool) -> None:
    from lineage.report import render

    write_output(render(report, output_format, show_statistics=statistics), output)


@click.command()
@click.argument("paths", nargs=-1)
@click.option("--card", type=_CARD, metavar="FILE",
              help="The dataset card (default: README.md beside the data, as on the Hugging Face Hub).")
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when the gate fails.")
@gate_options
def gate(
    paths: tuple[str, ...], card: Path | None, max_untracked: float | None, output_format: str, output: Path | None,
    statistics: bool, max_findings: int | None, jobs: int, exit_zero: bool, **evaluation: Any,
) -> None:
    """Check that a dataset may be published: every source allows its content to be shared, the
    licence on its dataset card is the one the data carries, model-generated content is
    disclosed and little enough is untracked.

    The data is linted as `lineage lint` does, with publish_dataset = true; the card's findings
    point at its `license:` line. The output ends with the card metadata the data calls for
    (`lineage card` writes it).

    \b
    Examples:
      lineage gate data/ --card data/README.md
      lineage gate data/train.jsonl --non-commercial --waivers waivers.yaml --format json

    Exits 1 when the gate fails (an error finding), 2 on bad input or configuration.
    """
    linted = run_gate(paths, card, max_untracked=max_untracked, max_findings=max_findings, jobs=jobs,
                      evaluation=evaluation)
    show_gate(linted, output_format, output, statistics)
    if linted.exit_code and not exit_zero:
        raise SystemExit(linted.exit_code)


@click.command()
@click.argument("paths", nargs=-1)
@click.option("--card", type=_CARD, metavar="FILE",
              help="The card to write or update (default: README.md beside the data).")
@click.option("--license", "extra_license", metavar="ID",
              help="A licence to declare besides those the data carries: the one you publish your own rows "
                   "under (SPDX id, e.g. CC-BY-4.0).")
@click.option("--check", is_flag=True,
              help="Write nothing: exit 1 if the card is not as `lineage card` would write it.")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=1, show_default=True,
              help="Worker processes for large inputs.")
@evaluation_options
def card(paths: tuple[str, ...], card: Path | None, extra_license: str | None, check: bool, jobs: int,
         **evaluation: Any) -> None:
    """Write or update a dataset's Hugging Face card: the licence the data carries, its source
    datasets, the `synthetic` tag when models generated some of it, and a Provenance section
    (sources, models, terms versions, obligations, authorisations).

    Everything else in the card, and the rest of its YAML header, stays as written; the
    Provenance section is replaced as a whole on each update.

    \b
    Examples:
      lineage card data/
      lineage card data/train.jsonl --card README.md --license CC-BY-4.0
      lineage card data/ --check     # in CI: is the card up to date?
    """
    from lineage.cards import Card, provenance_section, read_card, read_content, updated_card, write_card
    from lineage.publication import card_metadata_for

    linted = _linted(paths, evaluation, jobs=jobs)
    require_readable(linted, "card")
    found = _card_path(paths, card, linted)
    if found is None:
        first = Path((list(paths) or [f.path for f in linted.files])[0])
        found = (first if first.is_dir() else first.parent) / "README.md"
    current = read_card(found)
    metadata = card_metadata_for(linted, current, extra_license)
    content = updated_card(current if current.exists else Card(current.path, exists=False), metadata,
                           provenance_section(linted))
    before = read_content(current.path) if current.exists else None
    if check:
        if content != before:
            click.echo(f"{current.path} is not up to date: run `lineage card` to update it")
            raise SystemExit(1)
        click.echo(f"{current.path} is up to date")
        return
    if content == before:
        click.echo(f"{current.path} is up to date")
        return
    write_card(current.path, content)
    dropped = _dropped_licences(current, metadata)
    if dropped:
        click.echo(f"note: the card declared {', '.join(dropped)}, which the data does not carry; it is no longer "
                   "declared (pass --license to declare it for your own rows)", err=True)
    licence = metadata.get("license")
    shown = ", ".join(licence) if isinstance(licence, list) else licence or "no licence (pass --license)"
    click.echo(f"{'updated' if before is not None else 'wrote'} {current.path}: license {shown}, "
               f"{len(linted.sources)} source(s)")


def _dropped_licences(current: Any, metadata: dict[str, Any]) -> list[str]:
    """The licence ids the card declared that the new metadata no longer does."""
    def ids(value: Any) -> list[str]:
        return [str(v) for v in (value if isinstance(value, list) else [value]) if v]

    before, after = ids(current.data.get("license")), {v.lower() for v in ids(metadata.get("license"))}
    return [v for v in before if v.lower() not in after] if metadata.get("license") else []
