"""`lineage export`: a dataset's lineage in the metadata standards other tools read."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from lineage.cli.lint import evaluate_document, evaluation_options, write_output
from lineage.exceptions import UsageError


@click.group()
def export() -> None:
    """Export a dataset's lineage: Croissant 1.1 metadata (JSON-LD with PROV-O and RAI fields) or
    OpenLineage run events."""


@export.command()
@click.argument("paths", nargs=-1)
@click.option("--output", "-o", "output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the JSON-LD to this file (e.g. croissant.json) instead of standard output.")
@click.option("--name", help="The dataset's name (default: the card's pretty_name, else the folder's name).")
@click.option("--description", help="A description (default: one line of counts).")
@click.option("--url", help="Where the dataset is published (default: the folder as a file: URL).")
@click.option("--creator", help="Who publishes it (a person or an organisation).")
@click.option("--license", "extra_license", metavar="ID",
              help="A licence besides those the data carries (the publisher's own rows), SPDX id.")
@click.option("--version", "dataset_version", default="1.0.0", show_default=True, help="The dataset's version.")
@click.option("--cite-as", help="How to cite the dataset (default: creator, name, version and year).")
@click.option("--timestamp", metavar="TIME",
              help="The publication time (default: $SOURCE_DATE_EPOCH, else now): fixed, the same inputs give "
                   "the same bytes.")
@evaluation_options
def croissant(
    paths: tuple[str, ...], output: Path | None, name: str | None, description: str | None, url: str | None,
    creator: str | None, extra_license: str | None, dataset_version: str, cite_as: str | None,
    timestamp: str | None, **evaluation: Any,
) -> None:
    """Write Croissant 1.1 metadata for a dataset: its files with their sha256, the licences the
    data carries, PROV-O provenance (the models that generated rows, acting for their providers;
    the datasets rows came from), the terms documents in force and the RAI collection fields.

    \b
    Examples:
      lineage export croissant data/ -o croissant.json --creator "Acme data team"
    """
    import orjson

    from lineage.cards import find_card, read_card
    from lineage.exports.croissant import croissant as build

    linted = evaluate_document(paths, "export", **evaluation)
    targets = list(paths) or [f.path for f in linted.files]
    title = name
    if title is None:
        found = find_card(targets, None)
        card = read_card(found) if found is not None else None
        title = card.data.get("pretty_name") if card is not None else None
    document = build(linted, targets, name=title, description=description, url=url, creator=creator,
                     license=extra_license, timestamp=timestamp, version=dataset_version, cite_as=cite_as)
    write_output(orjson.dumps(document, option=orjson.OPT_INDENT_2).decode() + "\n", output)


@export.command()
@click.argument("paths", nargs=-1)
@click.option("--output", "-o", "output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the events as JSON lines to this file instead of standard output.")
@click.option("--url", metavar="URL", help="Send the events to this OpenLineage server (e.g. Marquez) instead.")
@click.option("--endpoint", default="api/v1/lineage", show_default=True, help="The server's endpoint for events.")
@click.option("--api-key", envvar="LINEAGE_OPENLINEAGE_API_KEY", metavar="KEY",
              help="Bearer token for the server (default: $LINEAGE_OPENLINEAGE_API_KEY).")
@click.option("--namespace", default="tos-lineage", show_default=True, help="The job's namespace.")
@click.option("--job", "job_name", metavar="NAME", help="The job's name (default: lint <folder>).")
@click.option("--timestamp", metavar="TIME",
              help="The events' time (default: $SOURCE_DATE_EPOCH, else now); with the same data it also fixes the run id.")
@evaluation_options
def openlineage(
    paths: tuple[str, ...], output: Path | None, url: str | None, endpoint: str, api_key: str | None,
    namespace: str, job_name: str | None, timestamp: str | None, **evaluation: Any,
) -> None:
    """Write or send OpenLineage run events (a START and a COMPLETE) for a lint of the dataset:
    its sources as inputs, the dataset file as output with its sha256 as version and the
    `tosLint_provenance` facet (use context, verdict counts, and per source its licence, terms
    versions, verdict and rule codes).

    \b
    Examples:
      lineage export openlineage data/train.jsonl -o lineage-events.jsonl
      lineage export openlineage data/ --url http://marquez:5000
    """
    try:
        from lineage.exports.openlineage import redact, run_events, send, to_json_lines
    except ImportError:
        raise UsageError("OpenLineage export needs openlineage-python",
                         fix="pip install 'tos-lineage[openlineage]'") from None

    if url and output:
        raise UsageError("--url and --output both name where the events go", fix="give one of them")
    from lineage.report.legal import report_timestamp

    started = report_timestamp(timestamp)
    linted = evaluate_document(paths, "export", **evaluation)
    events = run_events(linted, list(paths) or [f.path for f in linted.files], namespace=namespace,
                        job_name=job_name, timestamp=timestamp, started=started)
    if url:
        send(events, url, endpoint=endpoint, api_key=api_key)
        click.echo(f"sent {len(events)} events to {redact(url.rstrip('/'))}/{endpoint.lstrip('/')}")
    else:
        write_output(to_json_lines(events), output)
