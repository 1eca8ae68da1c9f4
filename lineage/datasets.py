"""Datasets in the store, and the derivations between them: the lineage graph's edges.

    from lineage.datasets import register_dataset, derive
    register_dataset(store, "upstream.jsonl", license="CC-BY-4.0", origin="https://example.org/data")
    derive(store, "mixed.jsonl", ["upstream.jsonl", "other.jsonl"], "mix")
    derive(store, "paraphrased.jsonl", ["mixed.jsonl"], "rewrite", by=SourceSpec.build(model="..."))

A registered dataset is its content hash, a name, a declared licence, where it came from, and the
fingerprints of its segments. A dataset registered with a licence is also recorded as the source of
its segments (kind `dataset`): its licence then binds them in any dataset they reach, as a model's
terms bind its outputs. `derive` registers the derived dataset, records an edge to each
input, and matches every segment of the output against the inputs' segments by fingerprint: a
segment found in an input came down the graph (`inherited`); one that is not is new. New segments
stay untracked unless `by` says who wrote them. A `rewrite` keeps rows in order (the output's row
n is the inputs' row n rewritten, the inputs taken one after another), so each rewritten segment is
recorded as an output of `by` with the input's segment at the same place as its parent: a Llama
paraphrase of a Claude answer is bound by both.

Everything one call does is one write transaction: it lands whole or not at all.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, select

from lineage import __version__
from lineage.exceptions import InputError, LayoutError, UsageError
from lineage.readers import BadRecord, detect_format, file_sha256, iter_records
from lineage.segments import COMPLETION_ROLES, Segment, extract_segments
from lineage.sources import SourceSpec
from lineage.store.schema import (
    CaptureRunRow,
    DatasetRow,
    DerivationRow,
    SourceRow,
    dataset_segments,
    origins,
    utcnow,
)
from lineage.store.store import Store
from lineage.store.writes import OriginWriter, SourceIds, insert_ignoring_duplicates
from lineage.vocabulary import TRANSFORMS

_BATCH = 2_000


@dataclass
class DatasetInfo:
    """A registered dataset, as the CLI and the graph show it."""

    id: int
    name: str
    path: str | None
    sha256: str
    format: str | None
    license: str | None
    origin: str | None
    created_at: datetime | None
    segments: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "path": self.path,
            "sha256": self.sha256,
            "format": self.format,
            "license": self.license,
            "origin": self.origin,
            "created_at": self.created_at.isoformat() if self.created_at else None,
            "segments": self.segments,
        }


@dataclass
class DeriveResult:
    """What `derive` found and recorded."""

    dataset: DatasetInfo
    parents: list[DatasetInfo]
    transform: str
    rows: int = 0
    segments: int = 0
    # Segments an input holds too.
    inherited: int = 0
    # New segments recorded as outputs of `by`, with their input segment as parent (rewrite).
    rewritten: int = 0
    # New segments recorded as written by `by`, with no parent.
    declared: int = 0
    # New segments the store already had an origin for.
    recorded: int = 0
    # New segments nobody is recorded for.
    untracked: int = 0
    registered_inputs: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset.to_dict(),
            "parents": [p.to_dict() for p in self.parents],
            "transform": self.transform,
            "rows": self.rows,
            "segments": self.segments,
            "inherited": self.inherited,
            "rewritten": self.rewritten,
            "declared": self.declared,
            "recorded": self.recorded,
            "untracked": self.untracked,
            "registered_inputs": self.registered_inputs,
        }


# -- reading -------------------------------------------------------------------------------------------


def file_rows(path: str | Path, *, input_format: str | None = None) -> Iterator[list[Segment]]:
    """The segments of each row of a dataset file, in order. A malformed row stops the reading
    with its line: a dataset is registered whole or not at all. A file with no record at all is
    an error too: a dataset of nothing is a wrong path or a failed step upstream."""
    records = 0
    for record in iter_records(path, format=input_format):
        records += 1
        if isinstance(record, BadRecord):
            raise InputError(record.error, where=f"{record.path} line {record.line}", fix="fix that record")
        try:
            yield extract_segments(record.data)
        except LayoutError as exc:
            raise InputError(exc.what, where=f"{record.path} line {record.line}", fix=exc.fix) from None
    if records == 0:
        raise InputError("no records", where=str(path), fix="the file is empty: add records, or name another file")


# -- looking up ----------------------------------------------------------------------------------------


def _info(row: Any, segments: int = 0) -> DatasetInfo:
    return DatasetInfo(
        id=row.id, name=row.name, path=row.path, sha256=row.content_sha256, format=row.format,
        license=row.license, origin=row.origin, created_at=row.created_at, segments=segments,
    )


def _count_segments(conn: Connection, dataset_id: int) -> int:
    from sqlalchemy import func

    return conn.execute(
        select(func.count()).select_from(dataset_segments).where(dataset_segments.c.dataset_id == dataset_id)
    ).scalar_one()


def find_dataset(conn: Connection, ref: str) -> DatasetInfo | None:
    """A registered dataset by file (its content) or by name; the latest registered if several."""
    table = DatasetRow.__table__
    path = Path(ref)
    query = select(table).order_by(table.c.id.desc()).limit(1)
    row = None
    if path.exists():
        sha = file_sha256(path)
        row = conn.execute(query.where(table.c.content_sha256 == sha, table.c.name == path.name)).first()
        row = row or conn.execute(query.where(table.c.content_sha256 == sha)).first()
    # A name, or a file whose content changed since it was registered under its name.
    row = row or conn.execute(query.where(table.c.name == ref)).first()
    return _info(row, _count_segments(conn, row.id)) if row is not None else None


def list_datasets(store: Store) -> list[DatasetInfo]:
    from sqlalchemy import func

    table = DatasetRow.__table__
    with store.read() as conn:
        counts = dict(conn.execute(
            select(dataset_segments.c.dataset_id, func.count()).group_by(dataset_segments.c.dataset_id)
        ).all())
        return [_info(row, counts.get(row.id, 0)) for row in conn.execute(select(table).order_by(table.c.id))]


def require_dataset(conn: Connection, ref: str) -> DatasetInfo:
    found = find_dataset(conn, ref)
    if found is None:
        raise UsageError(
            f"no registered dataset {ref!r}",
            fix=f"register it with `lineage dataset add {ref}`, or name one `lineage dataset list` shows",
        )
    return found


# -- writing -------------------------------------------------------------------------------------------


def register_dataset(
    store: Store, path: str | Path, *, name: str | None = None, license: str | None = None,
    origin: str | None = None, input_format: str | None = None, all_segments: bool = False,
) -> DatasetInfo:
    """Register a dataset file (its hash, name, licence, origin and segments) and return it."""
    return register_datasets(store, [path], name=name, license=license, origin=origin, input_format=input_format,
                             all_segments=all_segments)[0]


def register_datasets(
    store: Store, paths: Sequence[str | Path], *, name: str | None = None, license: str | None = None,
    origin: str | None = None, input_format: str | None = None, all_segments: bool = False,
) -> list[DatasetInfo]:
    """Register dataset files in one transaction: all of them, or (on a bad row) none.

    With `license`, the dataset is also recorded as the source of its completion-side segments
    (of every segment with `all_segments`), as `lineage import` records a dataset: its licence
    then binds them in every dataset they reach. Prompts are left out by default because generic
    ones ("You are a helpful assistant.") turn up everywhere. Registering again with another
    licence replaces what the earlier registration recorded.
    """
    files = [(Path(p), file_sha256(p)) for p in paths]

    def write(conn: Connection) -> list[DatasetInfo]:
        done = []
        for p, sha in files:
            label = name or p.name
            ident, previous = _dataset_row(conn, p, sha, name, license, origin, input_format)
            if license is not None and previous is not None and previous != license:
                _forget_licence(conn, ident, label, previous)
            members = _Members(conn, ident, [])
            if license is not None:
                members.source_id = SourceIds(conn)(SourceSpec.build(kind="dataset", name=label, license=license))
                members.writer = OriginWriter(conn, _run(conn, "dataset", f"dataset {label}", ident))
                members.all_segments = all_segments
            members.add_rows(file_rows(p, input_format=input_format))
            if members.writer is not None:
                members.writer.flush()
            done.append(_info(_row(conn, ident), _count_segments(conn, ident)))
        return done

    return store.write(write)


def _forget_licence(conn: Connection, dataset_id: int, name: str, license: str) -> None:
    """Remove the origins an earlier registration recorded for the dataset under another licence."""
    from sqlalchemy import delete

    sources, runs = SourceRow.__table__, CaptureRunRow.__table__
    old = conn.execute(select(sources.c.id).where(
        sources.c.key == SourceSpec.build(kind="dataset", name=name, license=license).key
    )).scalar()
    if old is None:
        return
    mine = select(runs.c.id).where(runs.c.dataset_id == dataset_id, runs.c.kind == "dataset")
    conn.execute(delete(origins).where(origins.c.source_id == old, origins.c.run_id.in_(mine)))


def _row(conn: Connection, ident: int) -> Any:
    table = DatasetRow.__table__
    return conn.execute(select(table).where(table.c.id == ident)).one()


def _dataset_row(
    conn: Connection, path: Path, sha: str, name: str | None, license: str | None, origin: str | None,
    input_format: str | None,
) -> tuple[int, str | None]:
    """The dataset row for this content under this name, made on first registration, and the
    licence it had; a licence or origin given again replaces the one recorded."""
    table = DatasetRow.__table__
    name = name or path.name
    found = conn.execute(
        select(table.c.id, table.c.license)
        .where(table.c.content_sha256 == sha, table.c.name == name).order_by(table.c.id.desc()).limit(1)
    ).first()
    values = {k: v for k, v in {"license": license, "origin": origin}.items() if v is not None}
    # Absolute, so that a rewrite run from another folder can read the file again.
    values["path"] = str(path.resolve())
    if input_format is not None:
        values["format"] = input_format
    if found is not None:
        conn.execute(table.update().where(table.c.id == found.id).values(**values))
        return found.id, found.license
    values.setdefault("format", detect_format(path))
    return conn.execute(
        table.insert().values(name=name, content_sha256=sha, created_at=utcnow(), **values)
    ).inserted_primary_key[0], None


class _Members:
    """Writes a dataset's segments, marking those its parents hold, in batches of rows."""

    def __init__(self, conn: Connection, dataset_id: int, parent_ids: Sequence[int]) -> None:
        self.conn = conn
        self.dataset_id = dataset_id
        self.parent_ids = list(parent_ids)
        self.insert = insert_ignoring_duplicates(conn, dataset_segments, ["dataset_id", "fingerprint"])
        self.rows = 0
        self.segments = 0
        # Where a registered dataset's licence is recorded as the source of its segments.
        self.writer: OriginWriter | None = None
        self.source_id: int | None = None
        self.all_segments = False

    def inherited(self, fingerprints: set[bytes]) -> set[bytes]:
        """Those of `fingerprints` a parent holds."""
        if not self.parent_ids or not fingerprints:
            return set()
        column = dataset_segments.c
        found: set[bytes] = set()
        wanted = list(fingerprints)
        for start in range(0, len(wanted), 500):
            found.update(bytes(fp) for fp in self.conn.execute(
                select(column.fingerprint).distinct().where(
                    column.dataset_id.in_(self.parent_ids), column.fingerprint.in_(wanted[start : start + 500])
                )
            ).scalars())
        return found

    def write(self, batch: list[list[Segment]], fps: list[list[bytes]], inherited: set[bytes]) -> None:
        seen: dict[bytes, str] = {}
        for segments, row_fps in zip(batch, fps, strict=True):
            for segment, fp in zip(segments, row_fps, strict=True):
                seen.setdefault(fp, segment.role)
        if self.writer is not None and self.source_id is not None:
            for fp, role in seen.items():
                if self.all_segments or role in COMPLETION_ROLES:
                    self.writer.add(fp, self.source_id, role)
        if seen:
            self.conn.execute(self.insert, [
                {"dataset_id": self.dataset_id, "fingerprint": fp, "role": role, "inherited": fp in inherited}
                for fp, role in seen.items()
            ])
        self.rows += len(batch)
        self.segments += sum(len(row) for row in fps)

    def add_rows(self, rows: Iterator[list[Segment]]) -> None:
        for batch in _batches(rows):
            fps = [[s.fingerprint for s in row] for row in batch]
            wanted = {fp for row in fps for fp in row}
            self.write(batch, fps, self.inherited(wanted))


def _batches(rows: Iterator[Any]) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= _BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def derive(
    store: Store, output: str | Path, inputs: Sequence[str], transform: str, *, by: SourceSpec | None = None,
    name: str | None = None, license: str | None = None, origin: str | None = None,
    generated_at: datetime | None = None, input_format: str | None = None,
) -> DeriveResult:
    """Record that `output` was made from `inputs` (registered names or files) by `transform`."""
    if transform not in TRANSFORMS:
        raise UsageError(f"unknown transform {transform!r}", fix=f"use one of {', '.join(TRANSFORMS)}")
    if not inputs:
        raise UsageError("a derived dataset needs at least one input", fix="name them with --from")
    if transform == "rewrite" and by is None:
        raise UsageError("a rewrite needs the model that rewrote the rows", fix="name it with --by, e.g. --by model=gpt-4o")
    out = Path(output)
    sha = file_sha256(out)

    def write(conn: Connection) -> DeriveResult:
        parents, registered = [], []
        for ref in inputs:
            found = find_dataset(conn, ref)
            if found is None and Path(ref).exists():
                ident, _ = _dataset_row(conn, Path(ref), file_sha256(ref), None, None, None, None)
                _Members(conn, ident, []).add_rows(file_rows(ref))
                found = _info(_row(conn, ident), _count_segments(conn, ident))
                registered.append(ref)
            if found is None:
                raise UsageError(f"no registered dataset {ref!r}, and no such file",
                                 fix="name a registered dataset or an existing file in --from")
            if not found.segments and Path(ref).exists():
                # Registered by an import, which records origins, not the file's segments.
                _Members(conn, found.id, []).add_rows(file_rows(ref))
                found.segments = _count_segments(conn, found.id)
            if found.sha256 == sha:
                raise UsageError(f"the derived dataset is its own input ({ref})", fix="name the inputs it was made from")
            parents.append(found)
        ident, _ = _dataset_row(conn, out, sha, name, license, origin, input_format)
        above = _ancestors(conn, [p.id for p in parents])
        if ident in above:
            raise UsageError(
                f"{out} is already recorded as an ancestor of {', '.join(inputs)}: the graph would have a cycle",
                fix="check the order of the inputs and the output",
            )
        by_id = SourceIds(conn)(by) if by is not None else None
        for parent in parents:
            _edge(conn, ident, parent.id, transform, by_id)
        result = DeriveResult(_info(_row(conn, ident)), parents, transform, registered_inputs=registered)
        _match(conn, ident, parents, out, transform, by_id, generated_at, input_format, inputs, result)
        result.dataset = _info(_row(conn, ident), _count_segments(conn, ident))
        return result

    return store.write(write)


def _match(
    conn: Connection, ident: int, parents: list[DatasetInfo], out: Path, transform: str, by_id: int | None,
    generated_at: datetime | None, input_format: str | None, inputs: Sequence[str], result: DeriveResult,
) -> None:
    members = _Members(conn, ident, [p.id for p in parents])
    writer = None
    run_id = 0
    if by_id is not None:
        run_id = _run(conn, "derive", f"{transform} of {', '.join(p.name for p in parents)}", ident)
        writer = OriginWriter(conn, run_id)
    aligned = _input_rows(parents, inputs) if transform == "rewrite" else None
    # Each rewritten segment's fingerprint -> its role and the fingerprints it replaced.
    rewrites: dict[bytes, tuple[str, set[bytes]]] = {}
    for batch in _batches(file_rows(out, input_format=input_format)):
        fps = [[s.fingerprint for s in row] for row in batch]
        wanted = {fp for row in fps for fp in row}
        inherited = members.inherited(wanted)
        fresh = wanted - inherited
        known = _recorded(conn, fresh) if fresh else set()
        sources = [next(aligned, None) for _ in batch] if aligned is not None else None
        for n, (segments, row_fps) in enumerate(zip(batch, fps, strict=True)):
            if sources is not None and sources[n] is None:
                raise UsageError(
                    f"a rewrite keeps its rows in order, but {out} has more rows than its inputs",
                    fix="derive it with --transform mix or filter, or name every input it rewrote",
                )
            replaced = _replaced(sources[n], segments, row_fps, inherited) if sources is not None else {}
            for k, (segment, fp) in enumerate(zip(segments, row_fps, strict=True)):
                if fp in inherited:
                    result.inherited += 1
                elif writer is not None and by_id is not None:
                    parents = replaced.get(k, [])
                    if parents:
                        rewrites.setdefault(fp, (segment.role, set()))[1].update(parents)
                        result.rewritten += 1
                    else:
                        writer.add(fp, by_id, segment.role, generated_at)
                        result.declared += 1
                elif fp in known:
                    result.recorded += 1
                else:
                    result.untracked += 1
        members.write(batch, fps, inherited)
        if rewrites and by_id is not None:
            if writer is not None:
                writer.flush()
            _record_rewrites(conn, rewrites, by_id, generated_at, run_id)
            rewrites.clear()
    if aligned is not None and next(aligned, None) is not None:
        raise UsageError(
            f"a rewrite keeps its rows in order, but {out} has fewer rows than its inputs",
            fix="derive it with --transform filter (rows dropped), or check the inputs named",
        )
    if writer is not None:
        writer.flush()
    result.rows, result.segments = members.rows, members.segments


def _ancestors(conn: Connection, ids: list[int]) -> set[int]:
    """These datasets and every dataset they were derived from."""
    column = DerivationRow.__table__.c
    seen, frontier = set(ids), list(ids)
    while frontier:
        above = conn.execute(select(column.parent_id).where(column.dataset_id.in_(frontier))).scalars().all()
        frontier = [a for a in above if a not in seen]
        seen.update(frontier)
    return seen


def _edge(conn: Connection, dataset_id: int, parent_id: int, transform: str, by_id: int | None) -> None:
    """The derivation edge, made or (derived again, another way) replaced."""
    table = DerivationRow.__table__
    row = {"dataset_id": dataset_id, "parent_id": parent_id, "transform": transform, "by_source_id": by_id,
           "created_at": utcnow()}
    insert = _dialect_insert(conn, table).values(**row)
    conn.execute(insert.on_conflict_do_update(
        index_elements=["dataset_id", "parent_id"], set_={"transform": transform, "by_source_id": by_id},
    ))


def _dialect_insert(conn: Connection, table: Any) -> Any:
    from sqlalchemy.dialects import postgresql, sqlite

    return (sqlite if conn.dialect.name == "sqlite" else postgresql).insert(table)


def _run(conn: Connection, kind: str, description: str, dataset_id: int) -> int:
    return conn.execute(CaptureRunRow.__table__.insert().values(
        kind=kind, description=description, dataset_id=dataset_id, tool_version=__version__, started_at=utcnow(),
    )).inserted_primary_key[0]


def _input_rows(parents: list[DatasetInfo], inputs: Sequence[str]) -> Iterator[list[tuple[str, bytes]]]:
    """The inputs' rows one after another, as (role, fingerprint) per segment, to align a rewrite.
    Each input is read again from its file, which must still hold what was registered."""
    for parent, ref in zip(parents, inputs, strict=True):
        candidates = [Path(ref), Path(parent.path or "")]
        path = next((c for c in candidates if c.exists() and file_sha256(c) == parent.sha256), None)
        if path is None:
            where = ref if Path(ref).exists() else parent.path
            raise UsageError(
                f"a rewrite is matched row by row, and the input {parent.name!r} is not at {where} as registered "
                "(missing, or changed since)",
                fix="name the input's file as it was when registered in --from",
            )
        for row in file_rows(path, input_format=parent.format):
            yield [(s.role, s.fingerprint) for s in row]


def _replaced(
    source: list[tuple[str, bytes]], segments: list[Segment], fps: list[bytes], inherited: set[bytes],
) -> dict[int, list[bytes]]:
    """Per new segment of a rewritten row (by index), the input segments it replaced.

    The input row's segments that are gone from the output are the ones rewritten. A new segment
    takes the gone segment of its role in the same order (the second new assistant turn, the
    second gone one); failing that, every gone segment of its side (completion or prompt), and
    failing that, every gone segment: a rewrite that adds or drops a turn may not lose a binding.
    """
    kept, before = set(fps), {fp for _, fp in source}
    gone = [(role, fp) for role, fp in source if fp not in kept]
    by_role: dict[str, list[bytes]] = {}
    for role, fp in gone:
        by_role.setdefault(role, []).append(fp)
    taken: dict[str, int] = {}
    out: dict[int, list[bytes]] = {}
    for k, (segment, fp) in enumerate(zip(segments, fps, strict=True)):
        if fp in inherited or fp in before:
            continue
        n = taken.get(segment.role, 0)
        taken[segment.role] = n + 1
        same = by_role.get(segment.role, [])
        if n < len(same):
            out[k] = [same[n]]
            continue
        side = segment.role in COMPLETION_ROLES
        out[k] = [f for role, f in gone if (role in COMPLETION_ROLES) == side] or [f for _, f in gone]
    return out


def _record_rewrites(
    conn: Connection, rewrites: dict[bytes, tuple[str, set[bytes]]], by_id: int, generated_at: datetime | None,
    run_id: int,
) -> None:
    """Record rewritten segments as outputs of `by_id` with their parents. A text `by_id` is already
    recorded for (say, imported from its batch file) gains the parents it lacks: one text that two
    originals were rewritten to is bound by both."""
    from sqlalchemy import bindparam, update

    from lineage.store.writes import to_utc_naive

    found = {
        bytes(fp): bytes(parents) if parents is not None else b""
        for fp, parents in conn.execute(
            select(origins.c.fingerprint, origins.c.parents).where(
                origins.c.source_id == by_id, origins.c.fingerprint.in_(list(rewrites))
            )
        ).all()
    }
    fresh, grown = [], []
    when = to_utc_naive(generated_at)
    for fp, (role, parents) in rewrites.items():
        ordered = b"".join(sorted(parents))
        if fp not in found:
            fresh.append({"fingerprint": fp, "source_id": by_id, "generated_at": when, "role": role,
                          "run_id": run_id, "parents": ordered})
            found[fp] = ordered
            continue
        have = found[fp]
        missing = [p for p in sorted(parents) if p not in {have[i : i + 32] for i in range(0, len(have), 32)}]
        if missing:
            found[fp] = have + b"".join(missing)
            grown.append({"fp": fp, "merged": found[fp]})
    if fresh:
        conn.execute(origins.insert(), fresh)
    if grown:
        conn.execute(
            update(origins).where(origins.c.source_id == by_id, origins.c.fingerprint == bindparam("fp"))
            .values(parents=bindparam("merged")),
            grown,
        )


def _recorded(conn: Connection, fingerprints: set[bytes]) -> set[bytes]:
    found: set[bytes] = set()
    wanted = list(fingerprints)
    for start in range(0, len(wanted), 500):
        found.update(bytes(fp) for fp in conn.execute(
            select(origins.c.fingerprint).distinct().where(origins.c.fingerprint.in_(wanted[start : start + 500]))
        ).scalars())
    return found
