"""Finding the recorded origins of many fingerprints at once, for lint.

Lint needs, per fingerprint, only which sources produced it and on what day (the day picks the
terms version in force). Both are packed into one integer, an *origin key*: `source * 10**6 +
day`, the day as a Modified Julian Day number (0 when unknown). The store computes the keys in
SQL, so a fingerprint maps to an int (one origin, by far the commonest) or a tuple of ints.

Two ways to read them, chosen per run:

- probe: one `IN (...)` query per chunk of a batch's distinct fingerprints. Cheap to start, so it
  suits a pre-commit hook on a small file against a large store.
- preload: read every origin once into a dict. A large input probes millions of fingerprints,
  most of them (the prompts) absent, at several microseconds each; one sequential scan of the
  store, turned into a dict by the driver's rows directly, costs a fraction of that. Used when
  the input is large next to the store, and the store small enough to hold in memory.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Connection, func, literal_column, select

from lineage.sources import SourceSpec
from lineage.store.schema import SourceRow, origins
from lineage.store.store import Store

# One origin key, or several for a text recorded from more than one source.
Origins = int | tuple[int, ...]

DAY_SPAN = 1_000_000
_MJD_EPOCH = date(1858, 11, 17)
# Sources named inside rows get idents from here up, clear of the store's ids.
INLINE_BASE = 1 << 32

_PROBE_CHUNK = 500
# Preload when the input may hold more segments than the store holds origins / this.
_PRELOAD_INPUT_SHARE = 4
# Above this many origins a preload would cost too much memory (about 150 bytes each).
PRELOAD_MAX_ORIGINS = 4_000_000
# A rough lower bound of bytes per segment in a dataset file, to guess segments from sizes.
_BYTES_PER_SEGMENT = 80

# The origin key in SQL, per dialect: the day of generated_at as a Modified Julian Day.
_KEY_SQL = {
    "sqlite": "source_id * 1000000 + COALESCE(CAST(julianday(date(generated_at)) - 2400000.5 AS INTEGER), 0)",
    "postgresql": "source_id::bigint * 1000000 + COALESCE(generated_at::date - DATE '1858-11-17', 0)",
}


def origin_key(ident: int, day: date | None) -> int:
    return ident * DAY_SPAN + ((day - _MJD_EPOCH).days if day is not None else 0)


def split_key(key: int) -> tuple[int, date | None]:
    """(source ident, day) of an origin key."""
    ident, mjd = divmod(key, DAY_SPAN)
    return ident, (_MJD_EPOCH + timedelta(days=mjd) if mjd else None)


class OriginIndex:
    """Origins in a store, as `{fingerprint: origin key or keys}` for the fingerprints asked."""

    def __init__(self, store: Store, *, input_bytes: int | None = None, preload: bool | None = None) -> None:
        self.store = store
        self.sources: dict[int, SourceSpec] = {}
        with store.read() as conn:
            for row in conn.execute(select(SourceRow.__table__)).mappings():
                self.sources[row["id"]] = SourceSpec(
                    **{k: row[k] for k in ("kind", "provider", "model", "channel", "license", "name")}
                )
            # The largest id bounds the row count without counting (origins are never deleted).
            self.size = conn.execute(select(func.max(origins.c.id))).scalar() or 0
            self._key_sql = _KEY_SQL.get(conn.dialect.name, _KEY_SQL["postgresql"])
        if preload is None:
            preload = (
                input_bytes is not None
                and 0 < self.size <= PRELOAD_MAX_ORIGINS
                and input_bytes // _BYTES_PER_SEGMENT * _PRELOAD_INPUT_SHARE >= self.size
            )
        # Every origin, when preloaded; None when the store is probed per batch.
        self.everything: dict[bytes, Origins] | None = self._load_all() if preload else None

    @property
    def preloaded(self) -> bool:
        return self.everything is not None

    def _query(self) -> Any:
        return select(origins.c.fingerprint, literal_column(self._key_sql))

    def _load_all(self) -> dict[bytes, Origins]:
        found: dict[bytes, Origins] = {}
        rows_read = 0
        with self.store.read() as conn:
            # The driver's own cursor, and dict.update on its rows: no Python code runs per origin.
            raw = conn.connection.driver_connection.cursor()
            try:
                raw.execute(str(self._query().compile(dialect=conn.dialect)), ())
                while rows := raw.fetchmany(50_000):
                    found.update(rows)
                    rows_read += len(rows)
            finally:
                raw.close()
            if rows_read != len(found):
                # Some texts were recorded from several sources: read those again, whole.
                twice = select(origins.c.fingerprint).group_by(origins.c.fingerprint).having(func.count() > 1)
                query = self._query().where(origins.c.fingerprint.in_(twice))
                found.update(_collect(conn, query))
        return found

    def find(self, fingerprints: Iterable[bytes]) -> dict[bytes, Origins]:
        """The origins of those fingerprints that have any; absent ones are left out."""
        everything = self.everything
        if everything is not None:
            return {fp: everything[fp] for fp in fingerprints if fp in everything}
        wanted = list(fingerprints)
        found: dict[bytes, Origins] = {}
        query = self._query()
        with self.store.read() as conn:
            for start in range(0, len(wanted), _PROBE_CHUNK):
                chunk = wanted[start : start + _PROBE_CHUNK]
                found.update(_collect(conn, query.where(origins.c.fingerprint.in_(chunk))))
        return found


def _collect(conn: Connection, query: Any) -> dict[bytes, Origins]:
    found: dict[bytes, Origins] = {}
    for fp, key in conn.execute(query):
        fp = bytes(fp)
        seen = found.get(fp)
        if seen is None:
            found[fp] = key
        else:
            found[fp] = (*seen, key) if isinstance(seen, tuple) else (seen, key)
    return found
