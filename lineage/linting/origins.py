"""Finding the recorded origins of many fingerprints at once, for lint.

Lint needs, per fingerprint, only which sources produced it and on what day (the day picks the
terms version in force). Both are packed into one integer, an *origin key*: `source * 10**7 +
day`, the day as its proleptic Gregorian ordinal (1 for 0001-01-01 up to 3,652,059 for
9999-12-31, every date Python has; 0 when unknown). The store computes the keys in
SQL, so a fingerprint maps to one int: its origin key (one origin, by far the commonest), or for a
text recorded from several sources a negative handle, `~n`, whose keys are `OriginIndex.multi[n]`.
Plain ints all the way keep look-ups cheap and let a batch's origins become one integer array.

Two ways to read them, chosen per run:

- probe: one `IN (...)` query per chunk of a batch's distinct fingerprints. Cheap to start, so it
  suits a pre-commit hook on a small file against a large store.
- preload: read every origin once into sorted arrays (`lineage.linting.preload`). A large input
  probes millions of fingerprints, most of them (the prompts) absent, at several microseconds
  each; one sequential scan of the store costs a fraction of that. Used when the input is large
  next to the store, and the store small enough to hold in memory.

An SQLite store is read with the standard library's sqlite3, read-only; others (PostgreSQL)
through the store's SQLAlchemy engine and the driver's own cursor.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lineage.sources import SourceSpec

if TYPE_CHECKING:
    from lineage.linting.preload import OriginTable, SharedTable

# One origin key (>= 0), or `~n` for the keys in `OriginIndex.multi[n]`.
Origins = int


class FromUnrecorded(tuple):
    """The origin keys of a text derived (rewritten, translated) from a text with no recorded
    origin, at any depth: lint counts it as untracked, and its keys' sources bind it all the same.

    What derive could not attribute stays unknown down the graph, as a breach does: a rewrite
    by Llama of a text nobody recorded is not "allowed because Llama's terms allow it". The
    marker is the tuple's type, so that it travels inside `OriginIndex.multi` (pickled to
    `--jobs` workers) and code that only iterates the keys needs no change.
    """

    __slots__ = ()

DAY_SPAN = 10_000_000
# Sources named inside rows get idents from here up, clear of the store's ids.
INLINE_BASE = 1 << 32

_PROBE_CHUNK = 500
_FETCH = 50_000
# Preload when the input may hold more segments than the store holds origins / this.
_PRELOAD_INPUT_SHARE = 4
# Above this many origins a preload would cost too much memory (about 40 bytes each).
PRELOAD_MAX_ORIGINS = 10_000_000
# A rough lower bound of bytes per segment in a dataset file, to guess segments from sizes.
_BYTES_PER_SEGMENT = 80

# The origin key in SQL, per dialect: the day of generated_at as its ordinal (date.toordinal()).
_KEY_SQL = {
    # julianday() of the time itself costs half what julianday(date()) does, but rounds to the
    # millisecond: a time in the last half millisecond of a day would count as the next day, so
    # times in the day's last second are taken back by less than a second first.
    "sqlite": "source_id * 10000000 + COALESCE(CAST(julianday(generated_at) - 1721424.5"
              " - (substr(generated_at, 12, 8) = '23:59:59') * 0.00001 AS INTEGER), 0)",
    "postgresql": "source_id::bigint * 10000000 + COALESCE(generated_at::date - DATE '0001-01-01' + 1, 0)",
}


def origin_key(ident: int, day: date | None) -> int:
    return ident * DAY_SPAN + (day.toordinal() if day is not None else 0)


def split_key(key: int) -> tuple[int, date | None]:
    """(source ident, day) of an origin key."""
    ident, ordinal = divmod(key, DAY_SPAN)
    return ident, (date.fromordinal(ordinal) if ordinal else None)


class _SqliteReader:
    dialect = "sqlite"
    placeholder = "?"

    def __init__(self, path: Path) -> None:
        from lineage.store.readonly import open_sqlite_readonly

        self.path = path
        self.conn = open_sqlite_readonly(path)

    def batches(self, sql: str, params: Sequence[Any] = ()) -> Iterator[list[tuple[Any, ...]]]:
        import sqlite3

        try:
            cursor = self.conn.execute(sql, params)
            while rows := cursor.fetchmany(_FETCH):
                yield rows
        except sqlite3.DatabaseError as exc:
            raise _damaged(exc, str(self.path)) from None

    @contextmanager
    def raw_text(self) -> Iterator[None]:
        """Text values as bytes: a blob aggregated into text need not be UTF-8."""
        self.conn.text_factory = bytes
        try:
            yield
        finally:
            self.conn.text_factory = str

    def close(self) -> None:
        self.conn.close()


class _EngineReader:
    placeholder = "%s"

    def __init__(self, url: str) -> None:
        from lineage.store import Store

        # Read as it is: lint never writes a store, not even to upgrade an older schema.
        self.store = Store.open(url, upgrade=False)
        self.dialect = self.store.engine.dialect.name

    def batches(self, sql: str, params: Sequence[Any] = ()) -> Iterator[list[tuple[Any, ...]]]:
        with self.store.read() as conn:
            # The driver's own cursor: SQLAlchemy's row objects would double the cost of a scan.
            cursor = conn.connection.driver_connection.cursor()
            try:
                cursor.execute(sql, tuple(params))
                while rows := cursor.fetchmany(_FETCH):
                    yield rows
            except conn.dialect.dbapi.Error as exc:
                raise _damaged(exc, self.store.location) from None
            finally:
                cursor.close()

    @contextmanager
    def raw_text(self) -> Iterator[None]:
        yield  # the driver returns bytea as bytes

    def close(self) -> None:
        self.store.close()


def check_store_readable(url: str) -> None:
    """Open the store at `url` as a lint reads it, and close it again: a missing, damaged or
    newer store raises here, for a long-running gate to refuse it before it serves."""
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        reader: _SqliteReader | _EngineReader = _SqliteReader(Path(url[len("sqlite:///") :]))
    else:
        reader = _EngineReader(url)
    reader.close()


# rapidfuzz's ratio that a candidate must reach where the recorded text is stored: a
# character-level score runs higher than the word-pair estimate for texts on one topic.
RESCORED_THRESHOLD = 0.7


def _rescore(text: str, recorded: str) -> float:
    """How alike two texts are, 0 to 1, by rapidfuzz over their words (case, punctuation and
    spacing left out): a candidate's check where the recorded text is at hand."""
    from rapidfuzz import fuzz

    from lineage.neardup import words

    return fuzz.ratio(" ".join(words(text)), " ".join(words(recorded))) / 100


def _split_parents(value: Any) -> list[bytes]:
    """The parent fingerprints of an origin: concatenated 32-byte digests."""
    data = bytes(value)
    return [data[i : i + 32] for i in range(0, len(data) - 31, 32)]


def _damaged(exc: Exception, where: str) -> Exception:
    from lineage.exceptions import StoreError

    return StoreError(
        f"cannot read the store's origins ({' '.join(str(exc).split())})", where=where,
        fix="check that it is a complete lineage store (`lineage stats`); restore it from a backup if damaged",
    )


class OriginIndex:
    """Origins in a store, as `{fingerprint: origin key or keys}` for the fingerprints asked."""

    def __init__(
        self, url: str, *, input_bytes: int | None = None, preload: bool | None = None,
        shared: SharedTable | None = None, staged: SharedTable | None = None,
    ) -> None:
        """`shared`: a table another process loads for this one. `staged`: parts of the store
        that other processes read for this one, which loads the table (see SharedTable)."""
        if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
            self.reader: _SqliteReader | _EngineReader = _SqliteReader(Path(url[len("sqlite:///") :]))
        else:
            self.reader = _EngineReader(url)
        key = _KEY_SQL.get(self.reader.dialect, _KEY_SQL["postgresql"])
        self._select = f"SELECT fingerprint, {key}, parents FROM lineage_origins"
        self.sources: dict[int, SourceSpec] = {}
        # The origin keys of texts recorded from several sources, by handle (see the module docstring).
        self.multi: list[tuple[int, ...]] = []
        for rows in self.reader.batches("SELECT id, kind, provider, model, channel, license, name FROM lineage_sources"):
            for ident, kind, provider, model, channel, license, name in rows:
                self.sources[ident] = SourceSpec(
                    kind=kind, provider=provider, model=model, channel=channel, license=license, name=name
                )
        # The largest id bounds the row count without counting (a deleted origin leaves a gap).
        (largest,) = [row for rows in self.reader.batches("SELECT max(id) FROM lineage_origins") for row in rows]
        self.size = largest[0] or 0
        if preload is None:
            preload = self.worth_preloading(input_bytes)
        self._key_sql = key
        # Every origin, when preloaded; None when the store is probed per batch.
        self._table: OriginTable | None = self._load_all(staged) if preload and shared is None else None
        # A table another process is loading for this one (see SharedTable), until it is needed.
        self._shared = shared if preload else None
        self._has_sketches: bool | None = None

    def worth_preloading(self, input_bytes: int | None) -> bool:
        """Whether an input this large should read every origin at once rather than probe."""
        return (
            input_bytes is not None
            and 0 < self.size <= PRELOAD_MAX_ORIGINS
            and input_bytes // _BYTES_PER_SEGMENT * _PRELOAD_INPUT_SHARE >= self.size
        )

    @property
    def table(self) -> OriginTable | None:
        """Every origin in sorted arrays, when preloaded; None when the store is probed per batch."""
        if self._shared is not None:
            shared, self._shared = self._shared, None
            attached = shared.attach()
            if attached is None:
                self._table = self._load_all()
            else:
                self._table, self.multi = attached
        return self._table

    @property
    def preloaded(self) -> bool:
        return self._table is not None or self._shared is not None

    def _damaged(self, what: str) -> Exception:
        where = self.reader.path if isinstance(self.reader, _SqliteReader) else self.reader.store.location
        return _damaged(ValueError(what), str(where))

    def stage(self, shared: SharedTable, part: int) -> None:
        """Read one part of the store's origins into `shared`, for the process that loads the
        table. If that fails, the loading process is told to read the part itself: it says what
        is wrong if it fails there too, and goes on if not (a worker short of memory, say)."""
        from lineage.linting.preload import chunk_sql, load_rows

        low, high = shared.part_range(part)
        try:
            with self.reader.raw_text():
                blob, keys = load_rows(chunk_sql(self.reader.dialect, self._key_sql), low, high,
                                       self.reader.batches, self._damaged)
        except Exception:
            shared.stage_failed(part)
            return
        shared.stage(part, blob, keys)

    def _load_all(self, staged: SharedTable | None = None) -> OriginTable:
        from lineage.linting.preload import load_table

        with self.reader.raw_text():
            table = load_table(self.reader.dialect, self._key_sql, self.size, self.reader.batches, self.multi,
                               self._damaged, staged)
        # Few origins have parents (a rewrite's segments): each is bound by its ancestors too.
        parents_of: dict[bytes, set[bytes]] = {}
        for rows in self.reader.batches("SELECT fingerprint, parents FROM lineage_origins WHERE parents IS NOT NULL"):
            for fp, parents in rows:
                parents_of.setdefault(bytes(fp), set()).update(_split_parents(parents))
        if parents_of:
            found = table.find(set(parents_of) | {p for ps in parents_of.values() for p in ps})
            for child, value in self._with_ancestors(found, parents_of).items():
                table.set(child, value)
        return table

    def find(self, fingerprints: Iterable[bytes]) -> dict[bytes, Origins]:
        """The origins of those fingerprints that have any; absent ones are left out."""
        table = self.table
        if table is not None:
            return table.find(fingerprints)
        wanted = list(fingerprints)
        found: dict[bytes, Origins] = {}
        mark = self.reader.placeholder
        for start in range(0, len(wanted), _PROBE_CHUNK):
            chunk = wanted[start : start + _PROBE_CHUNK]
            sql = f"{self._select} WHERE fingerprint IN ({', '.join([mark] * len(chunk))})"
            found.update(self._collect(sql, chunk))
        return found

    @property
    def has_sketches(self) -> bool:
        """Whether the store holds near-duplicate sketches (`lineage import --sketch`)."""
        if self._has_sketches is None:
            check = ("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'lineage_sketches'"
                     if self.reader.dialect == "sqlite" else "SELECT count(to_regclass('lineage_sketches'))")
            exists = any(row[0] for rows in self.reader.batches(check) for row in rows)
            self._has_sketches = exists and any(
                True for rows in self.reader.batches("SELECT 1 FROM lineage_sketches LIMIT 1") for _ in rows
            )
        return self._has_sketches

    def near(self, texts: dict[bytes, str], threshold: float) -> dict[bytes, tuple[bytes, float]]:
        """For texts with no recorded origin ({fingerprint: text}), the recorded segment each is a
        near-duplicate of: {fingerprint: (its fingerprint, similarity)}, where one reaches `threshold`.

        Candidates come from the sketches' band keys; the similarity is the signatures' estimate,
        or, where the store holds the recorded text, rapidfuzz's ratio of the two normalised texts.
        """
        from lineage.neardup import sketchable

        texts = {fp: text for fp, text in texts.items() if sketchable(text)}
        if not texts or not self.has_sketches:
            return {}
        import numpy as np

        from lineage.neardup import MinHasher

        hasher = MinHasher()
        fps = list(texts)
        signatures = hasher.signatures([texts[fp] for fp in fps])
        keys = hasher.band_keys(signatures).view(np.int64)
        by_key: dict[int, list[int]] = {}
        for n, row in enumerate(keys.tolist()):
            for key in row:
                by_key.setdefault(key, []).append(n)
        mark = self.reader.placeholder
        candidates: dict[int, set[bytes]] = {}
        wanted = list(by_key)
        for start in range(0, len(wanted), _PROBE_CHUNK):
            part = wanted[start : start + _PROBE_CHUNK]
            sql = f"SELECT band_key, fingerprint FROM lineage_sketch_bands WHERE band_key IN ({', '.join([mark] * len(part))})"
            for rows in self.reader.batches(sql, part):
                for key, fp in rows:
                    for n in by_key[key]:
                        candidates.setdefault(n, set()).add(bytes(fp))
        if not candidates:
            return {}
        stored = self._sketch_rows({fp for found in candidates.values() for fp in found})
        out: dict[bytes, tuple[bytes, float]] = {}
        for n, found in candidates.items():
            best: tuple[float, bytes] | None = None
            for fp in sorted(found):
                signature, text = stored.get(fp, (None, None))
                if signature is None:
                    continue
                if text is not None:
                    similarity, limit = _rescore(texts[fps[n]], text), max(threshold, RESCORED_THRESHOLD)
                else:
                    similarity = float(np.mean(np.frombuffer(signature, dtype="<u4") == signatures[n]))
                    limit = threshold
                if similarity >= limit and (best is None or similarity > best[0]):
                    best = (similarity, fp)
            if best is not None:
                out[fps[n]] = (best[1], best[0])
        return out

    def _sketch_rows(self, fps: set[bytes]) -> dict[bytes, tuple[bytes, str | None]]:
        """{fingerprint: (signature, the recorded text where the store keeps it)}."""
        mark = self.reader.placeholder
        wanted = sorted(fps)
        out: dict[bytes, tuple[bytes, str | None]] = {}
        for start in range(0, len(wanted), _PROBE_CHUNK):
            part = wanted[start : start + _PROBE_CHUNK]
            sql = (f"SELECT s.fingerprint, s.signature, (SELECT o.text FROM lineage_origins o WHERE o.fingerprint = "
                   f"s.fingerprint AND o.text IS NOT NULL LIMIT 1) FROM lineage_sketches s "
                   f"WHERE s.fingerprint IN ({', '.join([mark] * len(part))})")
            for rows in self.reader.batches(sql, part):
                for fp, signature, text in rows:
                    out[bytes(fp)] = (bytes(signature), text)
        return out

    def keys(self, origins: Origins) -> tuple[int, ...]:
        """The origin keys behind a look-up's value."""
        return (origins,) if origins >= 0 else self.multi[~origins]

    def _with_ancestors(self, found: dict[bytes, Origins], parents_of: dict[bytes, set[bytes]]) -> dict[bytes, Origins]:
        """For each fingerprint with parents, a value holding its own origin keys and those of all its
        ancestors (`found` and `parents_of` must cover every ancestor that has an origin), in a
        stable order. An ancestor `found` lacks has no recorded origin: the value is then a
        `FromUnrecorded` handle, even for one key."""
        out: dict[bytes, Origins] = {}
        for child in parents_of:
            if child not in found:
                continue
            keys: dict[int, None] = {}
            seen = {child}
            stack = [child]
            unrecorded = False
            while stack:
                fp = stack.pop()
                if fp in found:
                    keys.update(dict.fromkeys(self.keys(found[fp])))
                    unrecorded = unrecorded or self.from_unrecorded(found[fp])
                else:
                    unrecorded = True
                for parent in sorted(parents_of.get(fp, ()), reverse=True):
                    if parent not in seen:
                        seen.add(parent)
                        stack.append(parent)
            ordered = tuple(keys)
            if unrecorded:
                self.multi.append(FromUnrecorded(ordered))
                out[child] = ~(len(self.multi) - 1)
            elif len(ordered) > 1:
                self.multi.append(ordered)
                out[child] = ~(len(self.multi) - 1)
        return out

    def from_unrecorded(self, origins: Origins) -> bool:
        """Whether a look-up's value belongs to a text derived from one with no recorded origin
        (see `FromUnrecorded`): lint reports it as untracked."""
        return origins < 0 and type(self.multi[~origins]) is FromUnrecorded

    def _collect(self, sql: str, params: Sequence[Any] = ()) -> dict[bytes, Origins]:
        found: dict[bytes, Origins] = {}
        several: dict[bytes, list[int]] = {}
        parents_of: dict[bytes, set[bytes]] = {}
        for rows in self.reader.batches(sql, params):
            for fp, key, parents in rows:
                fp = bytes(fp)
                if parents is not None:
                    parents_of.setdefault(fp, set()).update(_split_parents(parents))
                seen = found.get(fp)
                if seen is None:
                    found[fp] = key
                elif fp in several:
                    several[fp].append(key)
                else:
                    several[fp] = [seen, key]
        for fp, keys in several.items():
            found[fp] = ~len(self.multi)
            self.multi.append(tuple(keys))
        if parents_of:
            found.update(self._with_ancestors(self._ancestors(found, parents_of), parents_of))
        return found

    def _ancestors(self, found: dict[bytes, Origins], parents_of: dict[bytes, set[bytes]]) -> dict[bytes, Origins]:
        """`found` with the origins of every ancestor of its fingerprints, probed generation by
        generation; `parents_of` gains the ancestors' own parents."""
        known = dict(found)
        wanted = {p for ps in parents_of.values() for p in ps} - set(known)
        asked: set[bytes] = set(known)
        # Generation by generation, each fingerprint asked once: a chain of any length ends, and so
        # does a cycle.
        while True:
            wanted -= asked
            if not wanted:
                break
            asked |= wanted
            chunk = sorted(wanted)
            wanted = set()
            mark = self.reader.placeholder
            for start in range(0, len(chunk), _PROBE_CHUNK):
                part = chunk[start : start + _PROBE_CHUNK]
                sql = f"{self._select} WHERE fingerprint IN ({', '.join([mark] * len(part))})"
                for rows in self.reader.batches(sql, part):
                    for fp, key, parents in rows:
                        fp = bytes(fp)
                        before = known.get(fp)
                        if before is None:
                            known[fp] = key
                        elif key not in self.keys(before):
                            self.multi.append((*self.keys(before), key))
                            known[fp] = ~(len(self.multi) - 1)
                        if parents is not None:
                            new = set(_split_parents(parents))
                            parents_of.setdefault(fp, set()).update(new)
                            wanted |= new
        return known

    def close(self) -> None:
        self.reader.close()
