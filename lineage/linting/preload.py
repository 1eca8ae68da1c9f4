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

import mmap
import pickle
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
        order = np.argsort(rows[:, 0])
        rows, keys = rows[order], keys[order]
        # Two different fingerprints with the same first eight bytes (all but impossible) are
        # looked up in this dict; their row in the arrays says so with _CLASH.
        self.clashes: dict[bytes, int] = {}
        repeated = np.zeros(len(rows), dtype=bool)
        if len(rows) > 1:
            repeated[1:] = rows[1:, 0] == rows[:-1, 0]
        if repeated.any():
            rows, keys = self._merge_runs(rows, keys, order, repeated, multi)
        self.rows = rows
        self.keys = keys
        self.prefix = np.ascontiguousarray(rows[:, 0])

    def _merge_runs(
        self, rows: np.ndarray, keys: np.ndarray, order: np.ndarray, repeated: np.ndarray, multi: list[tuple[int, ...]]
    ) -> tuple[np.ndarray, np.ndarray]:
        """One row per first eight bytes. A run of equal fingerprints (a text recorded from several
        sources) becomes a handle to all their keys, in the order the store holds them (`order`
        says where each row was: the sort is not stable)."""
        starts = np.flatnonzero(~repeated)
        ends = np.append(starts[1:], len(rows))
        merged = keys[starts].copy()
        for n in np.flatnonzero(ends - starts > 1).tolist():
            run: dict[bytes, list[int]] = {}
            for i in sorted(range(int(starts[n]), int(ends[n])), key=lambda i: order[i]):
                run.setdefault(rows[i].tobytes(), []).append(int(keys[i]))
            values = {fp: (found[0] if len(found) == 1 else _handle(found, multi)) for fp, found in run.items()}
            if len(values) == 1:
                merged[n] = next(iter(values.values()))
            else:
                merged[n] = _CLASH
                self.clashes.update(values)
        return rows[starts], merged

    @classmethod
    def _of(cls, rows: np.ndarray, keys: np.ndarray, prefix: np.ndarray, clashes: dict[bytes, int]) -> OriginTable:
        """A table from arrays already sorted and merged (as `SharedTable` holds them)."""
        table = cls.__new__(cls)
        table.rows, table.keys, table.prefix, table.clashes = rows, keys, prefix, clashes
        return table

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

    def set(self, fingerprint: bytes, value: int) -> None:
        """Replace the value of a fingerprint the table holds."""
        row = np.frombuffer(fingerprint, dtype=np.uint64)
        at = int(np.searchsorted(self.prefix, row[0]))
        if at >= len(self.keys) or self.prefix[at] != row[0]:
            raise KeyError(fingerprint.hex())
        if self.keys[at] == _CLASH:
            self.clashes[fingerprint] = value
        else:
            self.keys[at] = value

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
                chunk_keys = np.fromstring(text, dtype=np.int64, sep=",")
                if len(blob) != 32 * count or len(chunk_keys) != count:
                    raise damaged(f"origins {low + 1} to {low + _CHUNK} hold a fingerprint that is not 32 bytes")
                blobs.append(blob)
                keys.append(chunk_keys)
    return OriginTable(b"".join(blobs), np.concatenate(keys) if keys else np.zeros(0, np.int64), multi)


def _handle(keys: list[int], multi: list[tuple[int, ...]]) -> int:
    multi.append(tuple(keys))
    return ~(len(multi) - 1)


class SharedTable:
    """An OriginTable that one process loads into memory its forked workers share.

    `lint --jobs N` workers each loading the whole store would read it N times over, all at once,
    on the CPUs they are there to share. Instead the parent forks them first, then loads the table
    into an anonymous shared mapping while they start on their first blocks; each waits for it at
    its first look-up, and reads the arrays in place. The mapping is sized for every origin the
    store may hold; pages never written cost no memory.
    """

    _HEADER = 32  # status, rows, bytes of pickled extras (multi-source keys and prefix clashes)
    _LOADING, _READY, _FAILED = 0, 1, 2

    def __init__(self, capacity: int, context: Any) -> None:
        self._capacity = capacity
        # The extras are small in any real store; past this room the workers load for themselves.
        self._room = 64 * capacity + (1 << 20)
        self._map = mmap.mmap(-1, self._HEADER + 48 * capacity + self._room)
        self._done = context.Event()

    def _header(self) -> np.ndarray:
        return np.frombuffer(self._map, dtype=np.int64, count=3)

    def fill(self, table: OriginTable, multi: list[tuple[int, ...]]) -> None:
        """Publish a loaded table (in the loading process)."""
        n = len(table)
        extras = pickle.dumps((multi, table.clashes), protocol=pickle.HIGHEST_PROTOCOL)
        if n > self._capacity or len(extras) > self._room:
            self.fail()
            return
        prefix, keys, rows, tail = self._views(n)
        prefix[:], keys[:], rows[:] = table.prefix, table.keys, table.rows
        tail[: len(extras)] = extras
        header = self._header()
        header[1], header[2], header[0] = n, len(extras), self._READY
        self._done.set()

    def fail(self) -> None:
        """Tell the workers to load the store themselves."""
        self._header()[0] = self._FAILED
        self._done.set()

    def attach(self) -> tuple[OriginTable, list[tuple[int, ...]]] | None:
        """The table and multi-source keys (in a worker), once published; None if loading failed."""
        self._done.wait()
        status, n, size = self._header().tolist()
        if status != self._READY:
            return None
        prefix, keys, rows, tail = self._views(n)
        multi, clashes = pickle.loads(tail[:size])
        return OriginTable._of(rows, keys, prefix, clashes), multi

    def _views(self, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, memoryview]:
        at = self._HEADER
        prefix = np.frombuffer(self._map, dtype=np.uint64, count=n, offset=at)
        keys = np.frombuffer(self._map, dtype=np.int64, count=n, offset=at + 8 * n)
        rows = np.frombuffer(self._map, dtype=np.uint64, count=4 * n, offset=at + 16 * n).reshape(-1, 4)
        return prefix, keys, rows, memoryview(self._map)[at + 48 * n :]
