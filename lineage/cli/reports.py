"""`lineage report` and `lineage notice`: the documents legal reviews and a publisher ships."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from lineage.cli.lint import evaluate_document, evaluation_options, write_output

_OUTPUT = click.Path(dir_okay=False, path_type=Path)


@click.command()
@click.argument("paths", nargs=-1)
@click.option("--format", "output_format", type=click.Choice(["md", "html"]), default="md", show_default=True,
              help="Markdown, or one self-contained HTML page (the lineage graph as an inline SVG).")
@click.option("--output", "-o", "output", type=_OUTPUT, help="Write the report to this file instead of standard output.")
@click.option("--timestamp", metavar="TIME",
              help="The generation time to print (default: $SOURCE_DATE_EPOCH, else now): fixed, the same "
                   "inputs give the same bytes.")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=1, show_default=True,
              help="Worker processes for large inputs.")
@evaluation_options
def report(paths: tuple[str, ...], output_format: str, output: Path | None, timestamp: str | None, jobs: int,
           **evaluation: Any) -> None:
    """Write the lineage report legal reviews: verdict, sources, lineage graph, findings with their
    citations, obligations, waivers, the untracked share, and integrity data.

    The evaluation is lint's, with the same use context, waivers and options. Exits 0 once the
    report is written, whatever its verdict (the verdict is in the report; `lineage lint` gates).

    \b
    Examples:
      lineage report data/train.jsonl --format html -o lineage-report.html
      lineage report data/train.jsonl --non-commercial --timestamp 2026-01-01T00:00:00Z
    """
    from lineage.report.legal import build_report, render_report

    linted = evaluate_document(paths, "report", jobs=jobs, **evaluation)
    built = build_report(linted, list(paths) or [f.path for f in linted.files], store_url=linted.store_url,
                         timestamp=timestamp)
    write_output(render_report(built, output_format), output)


@click.command()
@click.argument("paths", nargs=-1)
@click.option("--output", "-o", "output", type=_OUTPUT, help="Write the notice to this file (e.g. NOTICE).")
@evaluation_options
def notice(paths: tuple[str, ...], output: Path | None, **evaluation: Any) -> None:
    """Write the attribution and NOTICE text to ship with a dataset: every credit, notice, licence
    text and naming duty its sources ask for, including those of the datasets it was derived from.

    \b
    Examples:
      lineage notice data/train.jsonl -o NOTICE
    """
    from lineage.report.notice import notice_text

    linted = evaluate_document(paths, "notice", **evaluation)
    write_output(notice_text(linted, list(paths) or [f.path for f in linted.files]), output)
