"""The model catalogue: which family and licence a model name belongs to."""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

from lineage.policy.schema import ModelEntry


def normalise_model_name(name: str) -> str:
    """Lower case, org prefix removed (`meta-llama/`), `_` and spaces as `-`."""
    name = name.strip().lower().rsplit("/", 1)[-1]
    return re.sub(r"[\s_]+", "-", name)


class Catalogue:
    def __init__(self, entries: Sequence[ModelEntry]) -> None:
        self.entries = list(entries)
        self._compiled = [(re.compile(entry.pattern), entry) for entry in self.entries]
        self.lookup = lru_cache(maxsize=4096)(self._lookup)

    def _lookup(self, name: str) -> ModelEntry | None:
        """The first entry whose pattern matches the normalised name."""
        normalised = normalise_model_name(name)
        for pattern, entry in self._compiled:
            if pattern.search(normalised):
                return entry
        return None

    def family(self, name: str | None) -> str | None:
        if not name:
            return None
        entry = self.lookup(name)
        return entry.family if entry else None

    def suggest(self, name: str, limit: int = 3) -> list[str]:
        """Catalogue names close to `name`, for a "did you mean"."""
        from rapidfuzz import fuzz, process

        examples = {normalise_model_name(e): e for entry in self.entries for e in entry.examples}
        matches = process.extract(normalise_model_name(name), list(examples), scorer=fuzz.WRatio, limit=limit)
        return [examples[match] for match, score, _ in matches if score >= 60]
