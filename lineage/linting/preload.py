"""Every origin of a store in memory, as sorted arrays, for inputs large next to the store.

A dict of a million 32-byte keys costs about 150 bytes an origin, a second or two to build, and a
cache miss per look-up; a copy in each worker process, too, since look-ups write to the keys'
reference counts. Here the fingerprints are one array of 32-byte rows sorted by their first eight
bytes (40 bytes an origin with the keys), and a batch of fingerprints is looked up with one
`searchsorted`.

The store sends the origins in chunks, each as two aggregates (the fingerprints concatenated into
one blob, the keys as one text), so that no Python object is made per origin.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import numpy as np

# Not an origin key nor a handle (see lineage.linting.origins): no recorded origin.
NONE = np.iinfo(np.int64).min
# Nor this: a row whose first eight bytes two fingerprints share.
_CLASH = NONE + 1
_CHUNK = 250_000

# Per dialect: one chunk of origins by id as (count, fingerprints, keys); `{key}` is the origin key.
_CHUNK_SQL = {
    "sqlite": "SELECT count(*), group_concat(fingerprint, ''), group_concat({key}) "
              "FROM lineage_origins WHERE id > ? AND id <= ?",
    "postgresql": "SELECT count(*), string_agg(fingerprint, ''::bytea), string_agg(({key})::text, ',') "
                  "FROM lineage_origins WHERE id > %s AND id <= %s",
}


class OriginTable:
    """Fingerprints and origin keys, sorted by fingerprint; one row per distinct fingerprint."""

    def __init__(self, fingerprints: bytes, keys: np.ndarray, multi: list[tuple[int, ...]]) -> None:
        rows = np.frombuffer(fingerprints, dtype=np.uint64).reshape(-1, 4)
        order = np.argsort(rows[:, 0], kind="stable")
        rows, keys = rows[order], keys[order]
        # Two different fingerprints with the same first eight bytes (all but impossible) are
        # looked up in this dict; their row in the arrays says so with _CLASH.
        self.clashes: dict[bytes, int] = {}
        repeated = np.zeros(len(rows), dtype=bool)
        if len(rows) > 1:
            repeated[1:] = rows[1:, 0] == rows[:-1, 0]
        if repeated.any():
            rows, keys = self._merge_runs(rows, keys, repeated, multi)
        self.rows = rows
        self.keys = keys
        self.prefix = np.ascontiguousarray(rows[:, 0])

    def _merge_runs(
        self, rows: np.ndarray, keys: np.ndarray, repeated: np.ndarray, multi: list[tuple[int, ...]]
    ) -> tuple[np.ndarray, np.ndarray]:
        """One row per first eight bytes. A run of equal fingerprints (a text recorded from several
        sources) becomes a handle to all their keys, in the order the store holds them."""
        starts = np.flatnonzero(~repeated)
        ends = np.append(starts[1:], len(rows))
        merged = keys[starts].copy()
        for n in np.flatnonzero(ends - starts > 1).tolist():
            run: dict[bytes, list[int]] = {}
            for i in range(int(starts[n]), int(ends[n])):
                run.setdefault(rows[i].tobytes(), []).append(int(keys[i]))
            values = {fp: (found[0] if len(found) == 1 else _handle(found, multi)) for fp, found in run.items()}
            if len(values) == 1:
                merged[n] = next(iter(values.values()))
            else:
                merged[n] = _CLASH
                self.clashes.update(values)
        return rows[starts], merged

    def __len__(self) -> int:
        return len(self.keys)

    def lookup(self, fingerprints: Sequence[bytes]) -> np.ndarray:
        """Per fingerprint, its origin key or handle, or NONE."""
        if not fingerprints:
            return np.zeros(0, dtype=np.int64)
        query = np.frombuffer(b"".join(fingerprints), dtype=np.uint64).reshape(-1, 4)
        found = np.full(len(query), NONE, dtype=np.int64)
        if not len(self.keys):
            return found
        first = query[:, 0]
        # Sorted needles walk the table in order: four times faster than in random order.
        order = np.argsort(first)
        at = np.empty(len(first), dtype=np.intp)
        at[order] = np.searchsorted(self.prefix, first[order])
        np.minimum(at, len(self.keys) - 1, out=at)
        near = np.flatnonzero(self.prefix[at] == first)
        hit = near[(self.rows[at[near]] == query[near]).all(axis=1)]
        found[hit] = self.keys[at[hit]]
        if self.clashes:
            for i in near[self.keys[at[near]] == _CLASH].tolist():
                found[i] = self.clashes.get(fingerprints[i], NONE)
        return found

    def find(self, fingerprints: Iterable[bytes]) -> dict[bytes, int]:
        """`{fingerprint: origin key or handle}` for those that have any."""
        wanted = list(fingerprints)
        found = self.lookup(wanted)
        return {fp: key for fp, key in zip(wanted, found.tolist(), strict=True) if key != NONE}


def load_table(
    dialect: str, key_sql: str, largest_id: int, batches: Callable[[str, Sequence[Any]], Iterator[list[tuple[Any, ...]]]],
    multi: list[tuple[int, ...]], damaged: Callable[[str], Exception],
) -> OriginTable:
    """Read every origin, chunk by chunk of ids, into an OriginTable."""
    sql = _CHUNK_SQL.get(dialect, _CHUNK_SQL["postgresql"]).format(key=key_sql)
    blobs: list[bytes] = []
    keys: list[np.ndarray] = []
    for low in range(0, largest_id, _CHUNK):
        for rows in batches(sql, (low, low + _CHUNK)):
            for count, blob, text in rows:
                if not count:
                    continue
                blob = bytes(blob)
                if isinstance(text, (bytes, memoryview)):
                    text = bytes(text).decode("ascii")
                chunk_keys = np.array(text.split(","), dtype=np.int64)
                if len(blob) != 32 * count or len(chunk_keys) != count:
                    raise damaged(f"origins {low + 1} to {low + _CHUNK} hold a fingerprint that is not 32 bytes")
                blobs.append(blob)
                keys.append(chunk_keys)
    return OriginTable(b"".join(blobs), np.concatenate(keys) if keys else np.zeros(0, np.int64), multi)


def _handle(keys: list[int], multi: list[tuple[int, ...]]) -> int:
    multi.append(tuple(keys))
    return ~(len(multi) - 1)
