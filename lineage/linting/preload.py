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

import contextlib
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


def sort_part(rows: np.ndarray, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fingerprints (as uint64 words) and keys sorted by the fingerprints' first eight bytes,
    and where each row was before."""
    rows = rows.reshape(-1, 4)
    # A contiguous copy sorts faster than the strided column, and np.take gathers rows several
    # times faster than fancy indexing does.
    order = np.argsort(np.ascontiguousarray(rows[:, 0]))
    return np.take(rows, order, axis=0), np.take(keys, order), order


class OriginTable:
    """Fingerprints and origin keys, sorted by fingerprint; one row per distinct fingerprint."""

    def __init__(self, fingerprints: bytes | np.ndarray, keys: np.ndarray, multi: list[tuple[int, ...]]) -> None:
        rows = np.frombuffer(fingerprints, dtype=np.uint64) if isinstance(fingerprints, bytes) else fingerprints
        self._build([sort_part(rows, keys)], multi, None)

    @classmethod
    def from_parts(
        cls, parts: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]], multi: list[tuple[int, ...]],
        into: SharedTable | None = None,
    ) -> OriginTable:
        """A table from parts of the store in id order, each sorted by `sort_part` (in the
        processes that read them); with `into`, built in that shared mapping if it has room."""
        table = cls.__new__(cls)
        table._build(parts, multi, into)
        return table

    def _build(
        self, parts: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]], multi: list[tuple[int, ...]],
        into: SharedTable | None,
    ) -> None:
        # `perm`, when not None, is the order that merges the parts' rows.
        perm: np.ndarray | None = None
        if len(parts) == 1:
            rows, keys, order = parts[0]
            prefix = np.ascontiguousarray(rows[:, 0])
        else:
            # The parts are sorted runs: a stable sort of their prefixes, one after another, merges them.
            runs = np.concatenate([part[0][:, 0] for part in parts])
            perm = np.argsort(runs, kind="stable")
            prefix = runs[perm]
            rows = np.concatenate([part[0] for part in parts])
            keys = np.concatenate([part[1] for part in parts])
            starts = np.cumsum([0] + [len(part[1]) for part in parts[:-1]])
            order = np.concatenate([part[2] + start for part, start in zip(parts, starts.tolist(), strict=True)])
        # Two different fingerprints with the same first eight bytes (all but impossible) are
        # looked up in this dict; their row in the arrays says so with _CLASH.
        self.clashes: dict[bytes, int] = {}
        repeated = np.zeros(len(prefix), dtype=bool)
        if len(prefix) > 1:
            repeated[1:] = prefix[1:] == prefix[:-1]
        if repeated.any():
            if perm is not None:
                rows, keys, order, perm = np.take(rows, perm, axis=0), np.take(keys, perm), np.take(order, perm), None
            rows, keys = self._merge_runs(rows, keys, order, repeated, multi)
            prefix = np.ascontiguousarray(rows[:, 0])
        placed = into.place(len(keys)) if into is not None else None
        if placed is not None:
            # Straight into the memory the workers share: the finished table is not copied there after.
            out_prefix, out_keys, out_rows = placed
            out_prefix[:] = prefix
            if perm is None:
                out_rows[:], out_keys[:] = rows, keys
            else:
                np.take(rows, perm, axis=0, out=out_rows, mode="clip")
                np.take(keys, perm, out=out_keys, mode="clip")
            rows, keys = out_rows, out_keys
        elif perm is not None:
            rows, keys = np.take(rows, perm, axis=0), np.take(keys, perm)
        self.rows = rows
        self.keys = keys
        self.prefix = prefix if placed is None else placed[0]

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
        first = np.ascontiguousarray(query[:, 0])
        # Sorted needles walk the table in order: four times faster than in random order.
        order = np.argsort(first)
        at = np.empty(len(first), dtype=np.intp)
        at[order] = np.searchsorted(self.prefix, first[order])
        np.minimum(at, len(self.keys) - 1, out=at)
        near = np.flatnonzero(self.prefix[at] == first)
        hit = near[(np.take(self.rows, at[near], axis=0) == np.take(query, near, axis=0)).all(axis=1)]
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


def load_rows(
    sql: str, low: int, high: int, batches: Callable[[str, Sequence[Any]], Iterator[list[tuple[Any, ...]]]],
    damaged: Callable[[str], Exception],
) -> tuple[bytes, np.ndarray]:
    """The fingerprints (concatenated) and origin keys of the origins with ids in (low, high],
    in id order, read chunk by chunk of ids."""
    blobs: list[bytes] = []
    keys: list[np.ndarray] = []
    for start in range(low, high, _CHUNK):
        for rows in batches(sql, (start, min(start + _CHUNK, high))):
            for count, blob, text in rows:
                if not count:
                    continue
                blob = bytes(blob)
                if isinstance(text, (bytes, memoryview)):
                    text = bytes(text).decode("ascii")
                chunk_keys = np.fromstring(text, dtype=np.int64, sep=",")
                if len(blob) != 32 * count or len(chunk_keys) != count:
                    raise damaged(f"origins {start + 1} to {start + _CHUNK} hold a fingerprint that is not 32 bytes")
                blobs.append(blob)
                keys.append(chunk_keys)
    return b"".join(blobs), np.concatenate(keys) if keys else np.zeros(0, np.int64)


def chunk_sql(dialect: str, key_sql: str) -> str:
    """The query `load_rows` runs, for a dialect and its origin-key expression."""
    return _CHUNK_SQL.get(dialect, _CHUNK_SQL["postgresql"]).format(key=key_sql)


def load_table(
    dialect: str, key_sql: str, largest_id: int, batches: Callable[[str, Sequence[Any]], Iterator[list[tuple[Any, ...]]]],
    multi: list[tuple[int, ...]], damaged: Callable[[str], Exception], staged: SharedTable | None = None,
) -> OriginTable:
    """Read every origin into an OriginTable; with `staged`, the parts of the id range that
    forked workers read are taken from it (see `SharedTable.stage`), and the table is built in it."""
    sql = chunk_sql(dialect, key_sql)
    if staged is None:
        blob, keys = load_rows(sql, 0, largest_id, batches, damaged)
        return OriginTable(blob, keys, multi)
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    for part in range(staged.parts):
        low, high = staged.part_range(part)
        got = staged.take(part) if part else None
        if got is None:  # the parent's own part, or one its worker could not read
            blob, keys = load_rows(sql, low, high, batches, damaged)
            got = sort_part(np.frombuffer(blob, dtype=np.uint64), keys)
        parts.append(got)
    if largest_id > staged.ids:  # origins recorded since the workers were forked
        blob, keys = load_rows(sql, staged.ids, largest_id, batches, damaged)
        parts.append(sort_part(np.frombuffer(blob, dtype=np.uint64), keys))
    table = OriginTable.from_parts(parts, multi, into=staged)
    del parts  # views of the staging mapping, which can then be freed
    staged.release()
    return table


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

    With `parts` > 1 the reading is shared too: worker k reads part k of the id range into a
    staging mapping (`stage`) before its first block, and the parent, having read part 0, takes
    the others from there (`take`) to build the table. Without that, the workers would sit idle
    at their first look-up while the parent alone reads the store.
    """

    _HEADER = 32  # status, rows, bytes of pickled extras (multi-source keys and prefix clashes)
    _LOADING, _READY, _FAILED = 0, 1, 2

    def __init__(self, capacity: int, context: Any, parts: int = 1, ids: int | None = None) -> None:
        self.capacity = capacity
        # The ids the parts cut up (the store's largest when the run began); up to `capacity` rows fit.
        self.ids = capacity if ids is None else min(ids, capacity)
        # The extras are small in any real store; past this room the workers load for themselves.
        self._room = 64 * capacity + (1 << 20)
        self._map = mmap.mmap(-1, self._HEADER + 48 * capacity + self._room)
        self._done = context.Event()
        self.parts = max(1, parts)
        # Per part: status and row count; then fingerprints, keys and their order before sorting,
        # each at its ids' offset.
        self._stage: mmap.mmap | None = mmap.mmap(-1, 16 * self.parts + 48 * max(self.ids, 1)) if self.parts > 1 else None
        # The table's arrays, once built in the mapping (`place`).
        self._placed: np.ndarray | None = None
        self._staged = [context.Event() for _ in range(self.parts)]
        # Set by the parent: when true, a part still being read is given up and read again.
        self.give_up: Callable[[], bool] = lambda: False

    def part_range(self, part: int) -> tuple[int, int]:
        """The ids (low, high] of a part."""
        return self.ids * part // self.parts, self.ids * (part + 1) // self.parts

    def stage(self, part: int, blob: bytes, keys: np.ndarray) -> None:
        """Publish the rows of one part, sorted (in the worker that read them)."""
        low, high = self.part_range(part)
        count = len(keys)
        if self._stage is None or count > high - low or len(blob) != 32 * count:
            self.stage_failed(part)
            return
        self._write_part(part, low, sort_part(np.frombuffer(blob, dtype=np.uint64), keys))
        self._staged[part].set()
        self.release()  # this process's mapping; the parent's holds the rows until it takes them

    def _write_part(self, part: int, low: int, sorted_part: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
        rows, keys, order = sorted_part
        stage_rows, stage_keys, stage_order = self._stage_views(low, len(keys))
        stage_rows[:], stage_keys[:], stage_order[:] = rows, keys, order
        status = np.frombuffer(self._stage, dtype=np.int64, count=2 * self.parts)  # type: ignore[arg-type]
        status[2 * part + 1], status[2 * part] = len(keys), self._READY

    def stage_failed(self, part: int) -> None:
        """Tell the parent to read this part itself."""
        if self._stage is not None:
            np.frombuffer(self._stage, dtype=np.int64, count=2 * self.parts)[2 * part] = self._FAILED
        self._staged[part].set()
        self.release()

    def take(self, part: int) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """A part as `sort_part` gives it, once staged; None if it was not."""
        while not self._staged[part].wait(0.05):
            if self.give_up():
                return None
        if self._stage is None:
            return None
        status = np.frombuffer(self._stage, dtype=np.int64, count=2 * self.parts)
        if status[2 * part] != self._READY:
            return None
        return self._stage_views(self.part_range(part)[0], int(status[2 * part + 1]))

    def release(self) -> None:
        """Free the staging mapping, once the table is built."""
        stage, self._stage = self._stage, None
        if stage is not None:
            with contextlib.suppress(BufferError):  # a view still held: freed with the last of them
                stage.close()

    def _stage_views(self, low: int, count: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        assert self._stage is not None
        at = 16 * self.parts
        rows = np.frombuffer(self._stage, dtype=np.uint64, count=4 * count, offset=at + 32 * low).reshape(-1, 4)
        keys = np.frombuffer(self._stage, dtype=np.int64, count=count, offset=at + 32 * self.ids + 8 * low)
        order = np.frombuffer(self._stage, dtype=np.int64, count=count, offset=at + 40 * self.ids + 8 * low)
        return rows, keys, order

    def _header(self) -> np.ndarray:
        return np.frombuffer(self._map, dtype=np.int64, count=3)

    def place(self, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """Where to build a table of n rows in the mapping (prefix, keys, rows); None if it has no room."""
        if n > self.capacity:
            return None
        prefix, keys, rows, _ = self._views(n)
        self._placed = rows
        return prefix, keys, rows

    def fill(self, table: OriginTable, multi: list[tuple[int, ...]]) -> None:
        """Publish a loaded table (in the loading process)."""
        n = len(table)
        extras = pickle.dumps((multi, table.clashes), protocol=pickle.HIGHEST_PROTOCOL)
        if n > self.capacity or len(extras) > self._room:
            self.fail()
            return
        prefix, keys, rows, tail = self._views(n)
        if table.rows is not self._placed:  # built elsewhere (see `place`): copied in
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
