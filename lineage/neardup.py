"""Near-duplicate sketches: MinHash signatures over word pairs, and LSH band keys to find them.

Exact fingerprints miss an output that was lightly edited: a typo fixed, punctuation or casing
changed, a preamble trimmed, a sentence dropped. A MinHash signature of a text's word pairs
(after the changes that never matter: case, punctuation, spacing) estimates the Jaccard
similarity of two texts by the share of positions where their signatures agree; cutting the
signature into bands and hashing each band gives keys that two similar texts very likely
share one of, so candidates are found by key look-ups, never by comparing all pairs.

Everything is computed for many texts at once in numpy: the word hashes in Python (CRC-32 of
each word), the pairs, the permutations and the minimums as array operations.

    hasher = MinHasher()
    signatures = hasher.signatures(["I'm happy to help!", "im happy to help"])
    estimate_similarity(signatures[0], signatures[1])   # 1.0
    index = SketchIndex(hasher); index.add(signatures, ids=[7, 8]); index.query(signatures)
"""

from __future__ import annotations

import re
import unicodedata
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from lineage.vocabulary import NEAR_DUPLICATE_THRESHOLD

DEFAULT_PERMUTATIONS = 64
DEFAULT_BANDS = 16
# The estimated similarity at and above which a text counts as a near-duplicate of a recorded one.
DEFAULT_THRESHOLD = NEAR_DUPLICATE_THRESHOLD
# Texts with fewer word pairs than this are not sketched nor looked up: "Yes." and "OK" would be
# near-duplicates of every short answer ever recorded.
MIN_PAIRS = 5
# Chinese and Japanese write no spaces between words: each of their characters counts as a word
# (word pairs are then character bigrams, as is usual for these scripts), other scripts' words run
# to the next space or punctuation.
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_WORD = re.compile(rf"[^\W{_CJK}]+|[{_CJK}]")
# The same words in a text that is all ASCII, found half as fast again.
_ASCII_WORD = re.compile(r"\w+")


def words(text: str) -> list[str]:
    """The words of a text, with case, accents' forms, punctuation and spacing left out."""
    normal = unicodedata.normalize("NFKC", text).casefold()
    return (_ASCII_WORD if normal.isascii() else _WORD).findall(normal)


def sketchable(text: str) -> bool:
    """Whether a text is long enough to be told apart from others by its word pairs."""
    return len(words(text)) > MIN_PAIRS


def _splitmix64(state: int) -> tuple[int, int]:
    """One step of SplitMix64: (next state, output). Written out, so that the permutations (and
    with them every stored sketch) stay the same whatever NumPy's random generators do."""
    state = (state + 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
    return state, z ^ (z >> 31)


def _constants(seed: int, count: int) -> list[int]:
    out, state = [], seed
    for _ in range(count):
        state, value = _splitmix64(state)
        out.append(value)
    return out


@dataclass(frozen=True)
class Match:
    """A query text's best recorded match."""

    query: int
    id: int
    similarity: float


class MinHasher:
    """MinHash signatures (`permutations` 32-bit values per text) and their LSH band keys."""

    def __init__(self, permutations: int = DEFAULT_PERMUTATIONS, bands: int = DEFAULT_BANDS, seed: int = 20261201):
        if permutations % bands:
            raise ValueError("the bands must divide the permutations evenly")
        self.permutations = permutations
        self.bands = bands
        values = _constants(seed, 2 * permutations + permutations // bands)
        # Multiply-shift hashing: h(x) = (a*x + b) >> 32, a odd; one (a, b) per permutation.
        self._a = np.array(values[:permutations], dtype=np.uint64).reshape(-1, 1) | np.uint64(1)
        self._b = np.array(values[permutations : 2 * permutations], dtype=np.uint64).reshape(-1, 1)
        self._band_mix = np.array(values[2 * permutations :], dtype=np.uint64) | np.uint64(1)

    def shingles(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Every text's word-pair hashes, concatenated, and the offset where each text's begin."""
        starts = np.zeros(len(texts) + 1, dtype=np.int64)
        crc = zlib.crc32
        pairs: list[int] = []
        for n, text in enumerate(texts):
            tokens = [crc(w.encode()) for w in words(text)]
            if len(tokens) >= 2:
                pairs.extend((tokens[i] << 32) | tokens[i + 1] for i in range(len(tokens) - 1))
            elif tokens:
                pairs.append(tokens[0])
            else:
                pairs.append(0)  # an empty text: one shingle, so that it has a signature
            starts[n + 1] = len(pairs)
        return np.fromiter(pairs, dtype=np.uint64, count=len(pairs)), starts

    def signatures(self, texts: Sequence[str], *, chunk: int = 4096, max_shingles: int = 1 << 14) -> np.ndarray:
        """An (n, permutations) array of uint32 signatures."""
        out = np.empty((len(texts), self.permutations), dtype=np.uint32)
        for begin in range(0, len(texts), chunk):
            part = texts[begin : begin + chunk]
            values, starts = self.shingles(part)
            # A few texts at a time, so that (permutations x shingles) stays within `max_shingles`
            # columns: 8 MiB of temporaries that stay in the CPU's cache, four times faster than 128.
            first = 0
            while first < len(part):
                last = max(first + 1, int(np.searchsorted(starts, starts[first] + max_shingles, side="right")) - 1)
                last = min(last, len(part))
                block = values[starts[first] : starts[last]]
                with np.errstate(over="ignore"):
                    hashed = np.multiply(self._a, block[None, :])
                    hashed += self._b
                    hashed >>= np.uint64(32)
                offsets = starts[first:last] - starts[first]
                out[begin + first : begin + last] = np.minimum.reduceat(hashed, offsets, axis=1).T.astype(np.uint32)
                first = last
        return out

    def band_keys(self, signatures: np.ndarray) -> np.ndarray:
        """An (n, bands) array of uint64 keys: a hash of each band's rows, with the band's number
        mixed in so that equal rows in two bands give two keys."""
        rows = self.permutations // self.bands
        grid = signatures.astype(np.uint64).reshape(len(signatures), self.bands, rows)
        with np.errstate(over="ignore"):
            keys = (grid * self._band_mix).sum(axis=2, dtype=np.uint64)
            keys ^= np.arange(self.bands, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
        return keys


def estimate_similarity(a: np.ndarray, b: np.ndarray) -> float:
    """The Jaccard similarity of two texts' word pairs, as their signatures estimate it."""
    return float(np.mean(a == b))


class SketchIndex:
    """Band keys of recorded texts, sorted for look-ups in bulk, with their signatures."""

    def __init__(self, hasher: MinHasher) -> None:
        self.hasher = hasher
        self._keys = np.zeros(0, dtype=np.uint64)
        self._rows = np.zeros(0, dtype=np.int64)
        self._signatures = np.zeros((0, hasher.permutations), dtype=np.uint32)
        self._ids = np.zeros(0, dtype=np.int64)

    def __len__(self) -> int:
        return len(self._ids)

    def add(self, signatures: np.ndarray, ids: Sequence[int] | np.ndarray) -> None:
        """Index texts by their signatures, each under its id (an origin's, say)."""
        first = len(self._ids)
        keys = self.hasher.band_keys(signatures)
        rows = np.repeat(np.arange(first, first + len(signatures), dtype=np.int64), self.hasher.bands)
        all_keys = np.concatenate([self._keys, keys.ravel()])
        all_rows = np.concatenate([self._rows, rows])
        order = np.argsort(all_keys, kind="stable")
        self._keys, self._rows = all_keys[order], all_rows[order]
        self._signatures = np.concatenate([self._signatures, signatures])
        self._ids = np.concatenate([self._ids, np.asarray(ids, dtype=np.int64)])

    def query(self, signatures: np.ndarray, *, threshold: float = DEFAULT_THRESHOLD) -> list[Match]:
        """For each query signature, its most similar indexed text at or above `threshold`."""
        if not len(self._ids) or not len(signatures):
            return []
        keys = self.hasher.band_keys(signatures).ravel()
        low = np.searchsorted(self._keys, keys, side="left")
        high = np.searchsorted(self._keys, keys, side="right")
        hit = np.flatnonzero(high > low)
        if not len(hit):
            return []
        # (query, candidate row) pairs: every indexed row under a key the query has.
        counts = high[hit] - low[hit]
        queries = np.repeat(hit // self.hasher.bands, counts)
        offsets = np.repeat(low[hit] - np.cumsum(counts) + counts, counts) + np.arange(counts.sum())
        candidates = self._rows[offsets]
        pairs = np.unique(np.stack([queries, candidates], axis=1), axis=0)
        similarity = (self._signatures[pairs[:, 1]] == signatures[pairs[:, 0]]).mean(axis=1)
        keep = similarity >= threshold
        pairs, similarity = pairs[keep], similarity[keep]
        # The best candidate per query: sort by query, then by similarity descending.
        order = np.lexsort((-similarity, pairs[:, 0]))
        pairs, similarity = pairs[order], similarity[order]
        first = np.ones(len(pairs), dtype=bool)
        first[1:] = pairs[1:, 0] != pairs[:-1, 0]
        return [Match(int(q), int(self._ids[r]), float(s))
                for (q, r), s in zip(pairs[first].tolist(), similarity[first].tolist(), strict=True)]
