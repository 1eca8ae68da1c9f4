"""`lineage init`, `sources`, `show` and `stats`: create the store and read what it holds."""

from __future__ import annotations

from pathlib import Path

import click

from lineage.cli.common import echo_json, format_option, store_option, table
from lineage.exceptions import InputError, UsageError
from lineage.fingerprints import fingerprint, parse_fingerprint

# The store modules load SQLAlchemy; each command imports them when it runs, so that
# `lineage --help` and commands that need no store start fast.


@click.command()
@store_option
def init(store: str | None) -> None:
    """Create a lineage store, or check an existing one.

    Without --store, LINEAGE_STORE or a `store` setting, the store is .lineage/lineage.db in the
    current folder (as `git init` makes .git here).
    """
    from lineage.store import Store
    from lineage.store.location import default_new_store, locate_store

    url = locate_store(store, search=False) or default_new_store()
    with Store.open(url, create=True) as opened:
        verb = "Created" if opened.created else "Using existing"
        click.echo(f"{verb} lineage store at {opened.location}")


@click.command()
@store_option
@format_option("text", "json")
def sources(store: str | None, output_format: str) -> None:
    """List every source with the number of segments recorded for it."""
    from lineage.store import open_store

    with open_store(store) as opened:
        summaries = opened.sources()
    if output_format == "json":
        echo_json([s.to_dict() for s in summaries])
        return
    if not summaries:
        click.echo("No sources yet: record outputs with the capture API or run `lineage import`.")
        return
    rows = [
        [
            str(s.id),
            s.source.kind,
            s.source.provider or "-",
            s.source.model or "-",
            s.source.channel or "-",
            s.source.license or "-",
            s.source.name or "-",
            str(s.segments),
        ]
        for s in summaries
    ]
    click.echo(table(rows, ["id", "kind", "provider", "model", "channel", "license", "name", "segments"]))


@click.command()
@click.argument("query", required=False)
@click.option("--file", "text_file", type=click.Path(dir_okay=False, path_type=Path), help="Read the text from a file.")
@click.option("--text", "as_text", is_flag=True, help="Treat QUERY as text even if it looks like a fingerprint.")
@store_option
@format_option("text", "json")
def show(query: str | None, text_file: Path | None, as_text: bool, store: str | None, output_format: str) -> None:
    """Where did this text (or this 64-hex fingerprint) come from?

    Exits 1 when the store has no record of it.
    """
    if text_file is not None:
        try:
            query = text_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"cannot read text ({exc})", where=str(text_file)) from None
    if query is None or not query.strip():
        raise UsageError("nothing to show", fix="pass the text, a fingerprint, or --file")
    fp = _as_fingerprint(query) if not as_text else None
    fp = fp or fingerprint(query)
    from lineage.store import open_store

    with open_store(store) as opened:
        found = opened.lookup([fp]).get(fp, [])
        runs = {o.run_id: opened.run_info(o.run_id) for o in found}
    if output_format == "json":
        echo_json({"fingerprint": fp.hex(), "origins": [o.to_dict() | {"run": runs[o.run_id]} for o in found]})
    else:
        click.echo(f"fingerprint {fp.hex()}")
        if not found:
            click.echo("  no recorded origin")
        for origin in found:
            when = origin.to_dict()["generated_at"] or "time unknown"
            run = runs.get(origin.run_id) or {}
            line = f"  {origin.source.label()}  role={origin.role}  generated={when}  run={origin.run_id}"
            if run.get("description"):
                line += f" ({run['description']})"
            if origin.external_id:
                line += f"  id={origin.external_id}"
            click.echo(line)
            if origin.parents:
                click.echo("    derived from " + ", ".join(p.hex()[:16] for p in origin.parents))
    if not found:
        raise SystemExit(1)


def _as_fingerprint(value: str) -> bytes | None:
    try:
        return parse_fingerprint(value)
    except ValueError:
        return None


@click.command()
@store_option
@format_option("text", "json")
def stats(store: str | None, output_format: str) -> None:
    """Counts of what the store holds."""
    from lineage.store import open_store

    with open_store(store) as opened:
        result = opened.stats()
    if output_format == "json":
        echo_json(result)
        return
    for key, value in result.items():
        if isinstance(value, dict):
            click.echo(f"{key}:")
            for sub, count in value.items():
                click.echo(f"  {sub}: {count}")
        else:
            click.echo(f"{key}: {value}")
