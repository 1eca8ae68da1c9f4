"""Bulk writes of origins through SQLAlchemy Core, inside a transaction the caller holds."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Connection, Insert, select
from sqlalchemy.dialects import postgresql, sqlite

from lineage.sources import SourceSpec
from lineage.store.schema import SourceRow, origins

BATCH_SIZE = 10_000


def insert_ignoring_duplicates(conn: Connection, table: Any, index_elements: Sequence[str]) -> Insert:
    """An INSERT that skips rows whose unique key is already there (ON CONFLICT DO NOTHING)."""
    name = conn.dialect.name
    if name == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing(index_elements=list(index_elements))
    if name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing(index_elements=list(index_elements))
    raise NotImplementedError(f"the lineage store does not support {name}")


def to_utc_naive(moment: datetime | None) -> datetime | None:
    """Times are stored in UTC without a zone; a naive time is taken to be UTC already."""
    if moment is None or moment.tzinfo is None:
        return moment
    return moment.astimezone(timezone.utc).replace(tzinfo=None)


class SourceIds:
    """Source ids by SourceSpec, created on first use.

    Lives for one transaction: ids of sources created in a transaction that is then rolled back
    must not outlive it.
    """

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._ids: dict[str, int] = {}
        self._specs: dict[int, SourceSpec] = {}
        # By object identity first: imports pass the same spec object for millions of segments,
        # and building its text key each time would cost more than the insert. The spec is
        # kept in the entry so its id cannot be reused by another object.
        self._by_object: dict[int, tuple[SourceSpec, int]] = {}

    def spec(self, source_id: int) -> SourceSpec:
        return self._specs[source_id]

    def __call__(self, spec: SourceSpec) -> int:
        entry = self._by_object.get(id(spec))
        if entry is not None and entry[0] is spec:
            return entry[1]
        found = self._lookup(spec)
        if len(self._by_object) > 10_000:
            self._by_object.clear()
        self._by_object[id(spec)] = (spec, found)
        return found

    def _lookup(self, spec: SourceSpec) -> int:
        key = spec.key
        found = self._ids.get(key)
        if found is not None:
            return found
        table = SourceRow.__table__
        row = spec.model_dump()
        self._conn.execute(insert_ignoring_duplicates(self._conn, table, ["key"]), [{"key": key, **row}])
        found = self._conn.execute(select(table.c.id).where(table.c.key == key)).scalar_one()
        self._ids[key] = found
        self._specs[found] = spec
        return found


class OriginWriter:
    """Buffers origin rows and writes them in batches; counts the rows that were new."""

    def __init__(self, conn: Connection, run_id: int, *, batch_size: int = BATCH_SIZE) -> None:
        self._conn = conn
        self._run_id = run_id
        self._batch_size = batch_size
        self._rows: list[dict[str, Any]] = []
        statement = insert_ignoring_duplicates(conn, origins, ["fingerprint", "source_id"])
        # psycopg reports no row count for executemany; RETURNING lists just the rows that were
        # new (SQLAlchemy batches it into multi-row INSERTs). sqlite3 counts them directly.
        self._returning = conn.dialect.name == "postgresql"
        self._statement = statement.returning(origins.c.id) if self._returning else statement
        self.seen = 0
        self.added = 0

    def add(
        self,
        fingerprint: bytes,
        source_id: int,
        role: str,
        generated_at: datetime | None = None,
        *,
        parents: Iterable[bytes] = (),
        external_id: str | None = None,
        text: str | None = None,
    ) -> None:
        self._rows.append(
            {
                "fingerprint": fingerprint,
                "source_id": source_id,
                "generated_at": to_utc_naive(generated_at),
                "role": role,
                "run_id": self._run_id,
                "parents": b"".join(parents) or None,
                "external_id": external_id,
                "text": text,
            }
        )
        if len(self._rows) >= self._batch_size:
            self.flush()

    def flush(self) -> None:
        if not self._rows:
            return
        result = self._conn.execute(self._statement, self._rows)
        self.seen += len(self._rows)
        self.added += len(result.all()) if self._returning else max(result.rowcount, 0)
        self._rows = []
