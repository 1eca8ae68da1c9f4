"""Finding the recorded origins of many fingerprints at once, for lint.

Lint needs, per fingerprint, only which sources produced it and on what day (the day picks the
terms version in force). Two ways to get that, chosen per run:

- probe: one `IN (...)` query per chunk of a batch's distinct fingerprints. Cheap to start, so it
  suits a pre-commit hook on a small file against a large store.
- preload: read every origin once into a dict. A large input probes millions of fingerprints,
  most of them (the prompts) absent, at several microseconds each; one sequential scan of the
  store plus dict look-ups costs a fraction of that. Used when the input is large next to the
  store, and the store small enough to hold in memory.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select

from lineage.sources import SourceSpec
from lineage.store.schema import SourceRow, origins
from lineage.store.store import Store

# A key shared by every origin of one source on one day: (source id, day or None).
OriginKey = tuple[int, "date | None"]

_PROBE_CHUNK = 500
# Preload when the input may hold more segments than the store holds origins / this.
_PRELOAD_INPUT_SHARE = 4
# Above this many origins a preload would cost too much memory (about 150 bytes each).
PRELOAD_MAX_ORIGINS = 4_000_000
# A rough lower bound of bytes per segment in a dataset file, to guess segments from sizes.
_BYTES_PER_SEGMENT = 80


class OriginIndex:
    """Origins in a store, as `{fingerprint: (OriginKey, ...)}` for the fingerprints asked."""

    def __init__(self, store: Store, *, input_bytes: int | None = None, preload: bool | None = None) -> None:
        self.store = store
        self.sources: dict[int, SourceSpec] = {}
        self._keys: dict[tuple[int, Any], OriginKey] = {}
        self._days: dict[Any, date | None] = {None: None}
        # Every origin, when preloaded; None when the store is probed per batch.
        self.everything: dict[bytes, tuple[OriginKey, ...]] | None = None
        with store.read() as conn:
            for row in conn.execute(select(SourceRow.__table__)).mappings():
                self.sources[row["id"]] = SourceSpec(
                    **{k: row[k] for k in ("kind", "provider", "model", "channel", "license", "name")}
                )
            # The largest id bounds the row count without counting (origins are never deleted).
            self.size = conn.execute(select(func.max(origins.c.id))).scalar() or 0
        if preload is None:
            preload = (
                input_bytes is not None
                and 0 < self.size <= PRELOAD_MAX_ORIGINS
                and input_bytes // _BYTES_PER_SEGMENT * _PRELOAD_INPUT_SHARE >= self.size
            )
        self.preloaded = bool(preload)
        if self.preloaded:
            self.everything = self._load_all()

    def _query(self) -> Any:
        return select(origins.c.fingerprint, origins.c.source_id, func.date(origins.c.generated_at))

    def _key(self, source_id: int, day: Any) -> OriginKey:
        key = self._keys.get((source_id, day))
        if key is None:
            parsed = self._days.get(day)
            if parsed is None and day is not None:
                parsed = self._days[day] = _to_date(day)
            key = self._keys[(source_id, day)] = (source_id, parsed)
        return key

    def _load_all(self) -> dict[bytes, tuple[OriginKey, ...]]:
        found: dict[bytes, tuple[OriginKey, ...]] = {}
        key_of = self._key
        with self.store.read() as conn:
            # The driver's own cursor: SQLAlchemy's row objects would double the cost of a scan
            # over every origin.
            statement = self._query().compile(dialect=conn.dialect)
            raw = conn.connection.driver_connection.cursor()
            try:
                raw.execute(str(statement), ())
                while rows := raw.fetchmany(20_000):
                    for fp, source_id, day in rows:
                        fp = bytes(fp)
                        key = key_of(source_id, day)
                        seen = found.get(fp)
                        found[fp] = (key,) if seen is None else (*seen, key)
            finally:
                raw.close()
        return found

    def find(self, fingerprints: Iterable[bytes]) -> dict[bytes, tuple[OriginKey, ...]]:
        """The origins of those fingerprints that have any; absent ones are left out."""
        everything = self.everything
        if everything is not None:
            return {fp: everything[fp] for fp in fingerprints if fp in everything}
        wanted = list(fingerprints)
        found: dict[bytes, tuple[OriginKey, ...]] = {}
        key_of = self._key
        query = self._query()
        with self.store.read() as conn:
            for start in range(0, len(wanted), _PROBE_CHUNK):
                chunk = wanted[start : start + _PROBE_CHUNK]
                for fp, source_id, day in conn.execute(query.where(origins.c.fingerprint.in_(chunk))):
                    fp = bytes(fp)
                    key = key_of(source_id, day)
                    seen = found.get(fp)
                    found[fp] = (key,) if seen is None else (*seen, key)
        return found


def _to_date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])
