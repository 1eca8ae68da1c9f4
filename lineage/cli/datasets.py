"""`lineage dataset`, `derive` and `graph`: register datasets, record derivations, show the graph."""

from __future__ import annotations

import click

from lineage.cli.common import (
    allow_unknown_option,
    check_names,
    echo_json,
    format_option,
    store_option,
    table,
)
from lineage.vocabulary import TRANSFORMS

_INPUT_FORMATS = click.Choice(["jsonl", "json", "csv", "parquet", "arrow", "hf-disk"])


@click.group()
def dataset() -> None:
    """Register datasets in the store and list them."""


@dataset.command(name="add")
@click.argument("paths", nargs=-1, required=True)
@click.option("--name", help="The dataset's name (default: the file name). With one path only.")
@click.option("--license", "license_", metavar="SPDX", help="The licence the dataset is published under.")
@click.option("--origin", metavar="URL", help="Where it came from: a URL, a Hugging Face repository id, a note.")
@click.option("--all-segments", is_flag=True,
              help="With --license, record the dataset as the source of its prompt-side segments too.")
@click.option("--input-format", type=_INPUT_FORMATS, help="File format, when the extension does not say.")
@store_option
@format_option("text", "json")
def add(
    paths: tuple[str, ...], name: str | None, license_: str | None, origin: str | None, all_segments: bool,
    input_format: str | None, store: str | None, output_format: str,
) -> None:
    """Register dataset files: content hash, name, licence, origin and the fingerprints of their segments.

    With --license, the dataset is also recorded as the source of its completion-side segments (all
    of them with --all-segments), so that its licence binds them in every dataset derived from it.
    All paths are registered in one transaction: a malformed row in any registers none.

    \b
    Examples:
      lineage dataset add upstream.jsonl --license CC-BY-4.0 --origin https://example.org/upstream
      lineage dataset add data/*.jsonl
    """
    from lineage.datasets import register_datasets
    from lineage.exceptions import UsageError
    from lineage.licenses import normalise_license
    from lineage.store import open_store

    if name and len(paths) > 1:
        raise UsageError("--name names one dataset, and several paths were given", fix="register them one by one")
    license_ = normalise_license(license_) if license_ else None
    with open_store(store) as opened:
        infos = register_datasets(opened, paths, name=name, license=license_, origin=origin,
                                  input_format=input_format, all_segments=all_segments)
    if output_format == "json":
        echo_json([i.to_dict() for i in infos])
        return
    for info in infos:
        click.echo(f"Registered {info.name} as dataset #{info.id}: {info.segments} distinct segments, "
                   f"licence {info.license or 'not declared'}, sha256 {info.sha256[:12]}")


@dataset.command(name="list")
@store_option
@format_option("text", "json")
def list_(store: str | None, output_format: str) -> None:
    """List the registered datasets."""
    from lineage.datasets import list_datasets
    from lineage.store import open_store

    with open_store(store) as opened:
        infos = list_datasets(opened)
    if output_format == "json":
        echo_json([i.to_dict() for i in infos])
        return
    if not infos:
        click.echo("No datasets yet: register one with `lineage dataset add PATH`.")
        return
    click.echo(table(
        [[str(i.id), i.name, i.license or "-", str(i.segments), i.sha256[:12], i.origin or "-"] for i in infos],
        ["id", "name", "licence", "segments", "sha256", "origin"],
    ))


@click.command()
@click.argument("output")
@click.option("--from", "inputs", multiple=True, required=True, metavar="IN",
              help="A dataset it was made from: a registered name or a file. Repeatable.")
@click.option("--transform", type=click.Choice(TRANSFORMS), required=True, help="How it was made.")
@click.option("--by", "by", metavar="SOURCE",
              help="Who wrote its new segments: the model of a rewrite, as a model name or key=value pairs "
                   "(e.g. kind=open-model,model=meta-llama/Llama-3.1-8B-Instruct).")
@click.option("--name", help="The derived dataset's name (default: the file name).")
@click.option("--license", "license_", metavar="SPDX", help="The licence the derived dataset is published under.")
@click.option("--origin", metavar="URL", help="Where it is published or kept.")
@click.option("--generated-at", metavar="TIME", help="When a rewrite's segments were generated (UTC if no zone).")
@click.option("--input-format", type=_INPUT_FORMATS, help="File format of OUTPUT, when the extension does not say.")
@allow_unknown_option
@store_option
@format_option("text", "json")
def derive(
    output: str, inputs: tuple[str, ...], transform: str, by: str | None, name: str | None, license_: str | None,
    origin: str | None, generated_at: str | None, input_format: str | None, allow_unknown: bool, store: str | None,
    output_format: str,
) -> None:
    """Record that OUTPUT was made from other datasets.

    Every segment of OUTPUT is matched to the inputs by fingerprint; segments found in no input are
    new, and stay untracked unless --by says who wrote them. A rewrite keeps rows in order (row n of
    OUTPUT rewrites row n of the inputs, taken one after another): each rewritten segment is recorded
    as an output of --by with the segment it replaced as its parent, so it is bound by both.

    \b
    Examples:
      lineage derive mixed.jsonl --from upstream-a.jsonl --from upstream-b.jsonl --transform mix
      lineage derive paraphrased.jsonl --from mixed.jsonl --transform rewrite \\
          --by kind=open-model,model=meta-llama/Llama-3.1-8B-Instruct
    """
    from lineage.cli.imports import _time, parse_source_spec
    from lineage.datasets import derive as run_derive
    from lineage.licenses import normalise_license
    from lineage.sources import SourceSpec
    from lineage.store import open_store

    source = None
    if by and "=" in by:
        source = parse_source_spec(by, "--by")
        check_names(source.provider, source.model, allow=allow_unknown, where="--by")
    elif by:
        # A bare model name, as lint reads a model column: open weights if the catalogue says so.
        from lineage.policy import load_pack
        from lineage.policy.catalogue import Catalogue

        entry = Catalogue(load_pack().models).lookup(by.strip())
        source = SourceSpec.build(kind="open-model" if entry is not None and entry.license else None, model=by.strip())
    license_ = normalise_license(license_) if license_ else None
    with open_store(store) as opened:
        result = run_derive(
            opened, output, list(inputs), transform, by=source, name=name, license=license_, origin=origin,
            generated_at=_time(generated_at), input_format=input_format,
        )
    if output_format == "json":
        echo_json(result.to_dict())
        return
    for path in result.registered_inputs:
        click.echo(f"Registered input {path}")
    parents = ", ".join(f"{p.name} (#{p.id})" for p in result.parents)
    click.echo(f"Recorded {result.dataset.name} (#{result.dataset.id}) as a {transform} of {parents}: "
               f"{result.rows} rows, {result.segments} segments")
    click.echo(f"  {result.inherited} segments from its inputs")
    if result.rewritten:
        click.echo(f"  {result.rewritten} rewritten by {source.label() if source else '?'}, their originals kept as parents")
    if result.declared:
        click.echo(f"  {result.declared} new, written by {source.label() if source else '?'}")
    if result.recorded:
        click.echo(f"  {result.recorded} new, already recorded in the store")
    if result.untracked:
        click.echo(f"  {result.untracked} new and untracked (name who wrote them with --by)")


@click.command()
@click.argument("name")
@click.option("--format", "output_format", type=click.Choice(["tree", "dot", "json"]), default="tree",
              show_default=True, help="A tree to read, or DOT (Graphviz) and JSON for tools.")
@store_option
def graph(name: str, output_format: str, store: str | None) -> None:
    """Show where a registered dataset came from: its sources and the datasets it was derived from.

    NAME is a registered dataset's name or file.
    """
    from lineage.datasets import require_dataset
    from lineage.graph import dataset_node, lineage_of, load_graph, render_tree, to_dot, to_json
    from lineage.store import open_store

    with open_store(store) as opened:
        with opened.read() as conn:
            found = require_dataset(conn, name)
        sub = lineage_of(load_graph(opened), dataset_node(found.id))
    root = dataset_node(found.id)
    text = {"tree": lambda: render_tree(sub, root), "dot": lambda: to_dot(sub), "json": lambda: to_json(sub, root)}
    click.echo(text[output_format](), nl=False)
