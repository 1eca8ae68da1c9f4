"""Bulk writes of origins inside a transaction the caller holds.

Origins are the one table written by the million. The INSERT is built with SQLAlchemy Core (so
its SQL follows the dialect) and compiled once; rows then go to the driver as plain tuples:
executemany on SQLite, COPY into a staging table on PostgreSQL, where psycopg's executemany is
an order of magnitude slower. Both run on the caller's SQLAlchemy connection and transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Connection, Insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError

from lineage.sources import SourceSpec
from lineage.store.schema import SourceRow, origins

BATCH_SIZE = 10_000
COLUMNS = ("fingerprint", "source_id", "generated_at", "role", "run_id", "parents", "external_id", "text")


def insert_ignoring_duplicates(conn: Connection, table: Any, index_elements: Sequence[str]) -> Insert:
    """An INSERT that skips rows whose unique key is already there (ON CONFLICT DO NOTHING)."""
    name = conn.dialect.name
    if name == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing(index_elements=list(index_elements))
    if name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing(index_elements=list(index_elements))
    raise NotImplementedError(f"the lineage store does not support {name}")


@contextmanager
def driver_errors(conn: Connection, sql: str) -> Iterator[None]:
    """Errors of work done on the driver's own cursor, raised as SQLAlchemy raises them: the
    store's retry of a busy or deadlocked transaction, and its one-line errors, see them."""
    try:
        yield
    except conn.dialect.dbapi.Error as exc:  # type: ignore[union-attr]
        raise DBAPIError.instance(sql, None, exc, conn.dialect.dbapi.Error) from exc  # type: ignore[union-attr]


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
        self._rows: list[tuple[Any, ...]] = []
        self._dialect = conn.dialect.name
        # SQLite keeps times as text in SQLAlchemy's own format, which reads them back.
        self._time_to_db = origins.c.generated_at.type.bind_processor(conn.dialect) or (lambda value: value)
        self._last_time: tuple[datetime | None, Any] = (None, None)
        if self._dialect == "sqlite":
            compiled = insert_ignoring_duplicates(conn, origins, ["fingerprint", "source_id"]).compile(
                dialect=conn.dialect, column_keys=list(COLUMNS)
            )
            if tuple(compiled.positiontup or ()) != COLUMNS:
                raise RuntimeError(f"unexpected parameter order {compiled.positiontup}")
            self._sql = str(compiled)
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
        self.add_row(fingerprint, source_id, role, generated_at, external_id, text, b"".join(parents) or None)

    def add_row(
        self,
        fingerprint: bytes,
        source_id: int,
        role: str,
        generated_at: datetime | None,
        external_id: str | None,
        text: str | None,
        parents: bytes | None = None,
    ) -> None:
        """`add` with positional arguments only: the import loop calls it once per segment."""
        if generated_at is not None:
            # Most rows of an import share one time object; convert it once.
            last_in, last_out = self._last_time
            if generated_at is not last_in:
                last_out = self._time_to_db(to_utc_naive(generated_at))
                self._last_time = (generated_at, last_out)
            generated_at = last_out
        rows = self._rows
        rows.append((fingerprint, source_id, generated_at, role, self._run_id, parents, external_id, text))
        if len(rows) >= self._batch_size:
            self.flush()

    def flush(self) -> None:
        if not self._rows:
            return
        if self._dialect == "postgresql":
            added = self._copy_postgres(self._rows)
        else:
            added = max(self._conn.exec_driver_sql(self._sql, self._rows).rowcount, 0)
        self.seen += len(self._rows)
        self.added += added
        self._rows = []

    def _copy_postgres(self, rows: list[tuple[Any, ...]]) -> int:
        """COPY into a temporary table, then one INSERT ... SELECT that skips known origins."""
        columns = ", ".join(COLUMNS)
        cursor = self._conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            with driver_errors(self._conn, "INSERT INTO lineage_origins"):
                cursor.execute(
                    "CREATE TEMP TABLE IF NOT EXISTS lineage_origins_staging "
                    "(fingerprint bytea, source_id integer, generated_at timestamp, role varchar(16), "
                    "run_id integer, parents bytea, external_id varchar(256), text text) ON COMMIT DROP"
                )
                with cursor.copy(f"COPY lineage_origins_staging ({columns}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
                cursor.execute(
                    f"INSERT INTO lineage_origins ({columns}) SELECT {columns} FROM lineage_origins_staging "
                    "ON CONFLICT (fingerprint, source_id) DO NOTHING"
                )
                added = cursor.rowcount
                cursor.execute("TRUNCATE lineage_origins_staging")
        finally:
            cursor.close()
        return max(added, 0)


class TupleInsert:
    """An INSERT that skips rows already there, fed plain tuples in `columns` order: SQLAlchemy's
    parameter handling costs more than the insert itself for rows written by the million.
    executemany on SQLite; COPY into a staging table, then one INSERT ... SELECT, on PostgreSQL."""

    def __init__(self, conn: Connection, table: Any, columns: Sequence[str], conflict: Sequence[str]) -> None:
        self._conn = conn
        self._table = table.name
        self._columns = tuple(columns)
        self._conflict = tuple(conflict)
        self._dialect = conn.dialect.name
        if self._dialect == "sqlite":
            compiled = insert_ignoring_duplicates(conn, table, conflict).compile(
                dialect=conn.dialect, column_keys=list(columns)
            )
            if tuple(compiled.positiontup or ()) != self._columns:
                raise RuntimeError(f"unexpected parameter order {compiled.positiontup}")
            self._sql = str(compiled)

    def __call__(self, rows: list[tuple[Any, ...]]) -> int:
        """Insert the rows; how many were new."""
        if not rows:
            return 0
        if self._dialect != "postgresql":
            return max(self._conn.exec_driver_sql(self._sql, rows).rowcount, 0)
        columns = ", ".join(self._columns)
        staging = f"{self._table}_staging"
        cursor = self._conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            with driver_errors(self._conn, f"INSERT INTO {self._table}"):
                cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS {staging} (LIKE {self._table}) ON COMMIT DROP")
                with cursor.copy(f"COPY {staging} ({columns}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
                cursor.execute(f"INSERT INTO {self._table} ({columns}) SELECT {columns} FROM {staging} "
                               f"ON CONFLICT ({', '.join(self._conflict)}) DO NOTHING")
                added = cursor.rowcount
                cursor.execute(f"TRUNCATE {staging}")
        finally:
            cursor.close()
        return max(added, 0)


class SketchWriter:
    """Buffers (fingerprint, text) pairs and writes their near-duplicate sketches in batches:
    a signature per new fingerprint and its band keys (lineage.neardup). Known ones are skipped."""

    def __init__(self, conn: Connection, *, batch_size: int = BATCH_SIZE) -> None:
        from lineage.neardup import MinHasher
        from lineage.store.schema import sketch_bands, sketches

        self._conn = conn
        self._batch_size = batch_size
        self._pending: dict[bytes, str] = {}
        self._hasher = MinHasher()
        self._sketches = TupleInsert(conn, sketches, ["fingerprint", "signature"], ["fingerprint"])
        self._bands = TupleInsert(conn, sketch_bands, ["band_key", "fingerprint"], ["band_key", "fingerprint"])
        self.added = 0

    def add(self, fingerprint: bytes, text: str) -> None:
        from lineage.neardup import sketchable

        if sketchable(text):  # too short a text would match every short answer
            self._pending.setdefault(fingerprint, text)
        if len(self._pending) >= self._batch_size:
            self.flush()

    def flush(self) -> None:
        if not self._pending:
            return
        import numpy as np

        from lineage.store.schema import sketches

        pending = list(self._pending)
        known: set[bytes] = set()
        for start in range(0, len(pending), 500):  # within any SQLite's limit on parameters
            part = pending[start : start + 500]
            known.update(bytes(fp) for (fp,) in self._conn.execute(
                select(sketches.c.fingerprint).where(sketches.c.fingerprint.in_(part))
            ))
        fps = [fp for fp in self._pending if fp not in known]
        if not fps:
            self._pending = {}
            return
        signatures = self._hasher.signatures([self._pending[fp] for fp in fps])
        keys = self._hasher.band_keys(signatures).view(np.int64)
        packed = signatures.astype("<u4")
        # In key order: each row then lands next to the last in the tables' trees, not at random.
        self._sketches(sorted((fp, packed[n].tobytes()) for n, fp in enumerate(fps)))
        flat = keys.ravel()
        order = np.argsort(flat, kind="stable")
        owners = (order // keys.shape[1]).tolist()
        self._bands(list(zip(flat[order].tolist(), [fps[n] for n in owners], strict=True)))
        self.added += len(fps)
        self._pending = {}
