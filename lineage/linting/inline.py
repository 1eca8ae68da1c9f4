"""Provenance written into the rows themselves, which lint trusts before the store.

Two shapes are read:

- an object under a reserved key (default `_lineage`) with source fields: `kind`, `provider`,
  `model`, `channel`, `license`, `name`, and `generated_at`. It names the source of the
  completion side; a nested `prompt` object, in the same shape, names who wrote the prompts.
- plain columns: a `model` or `model_name` column (or the columns the configuration names) for
  the completion side, with optional provider, time and other columns.

A model name the model catalogue knows as open weights (`meta-llama/Llama-3.1-8B-Instruct`) is an
`open-model` source unless the row says otherwise; other model names are API sources.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import TYPE_CHECKING, Any

from lineage.exceptions import LayoutError, UsageError
from lineage.licenses import normalise_license
from lineage.linting.origins import INLINE_BASE, origin_key
from lineage.linting.settings import InlineColumns
from lineage.policy.catalogue import Catalogue
from lineage.policy.names import NameCheck
from lineage.sources import SourceSpec
from lineage.timeutil import parse_time

if TYPE_CHECKING:
    from lineage.policy.loader import Pack

_SPEC_FIELDS = ("kind", "provider", "model", "channel", "license", "name")
# An origin key (see lineage.linting.origins) whose source ident is INLINE_BASE + n.
InlineKey = int


class InlineReader:
    def __init__(self, columns: InlineColumns, catalogue: Catalogue, pack: Pack | None = None) -> None:
        self.columns = columns
        self.catalogue = catalogue
        # Names in rows are checked as at import: a misspelt provider, or a model under another
        # maker's name, is a record that cannot be read, not a source judged by the wrong terms.
        self._pack = pack
        self._names: NameCheck | None = None
        # Sources by ident, and idents by the spec's key text (two spellings, one source).
        self.specs: dict[int, SourceSpec] = {}
        self._idents: dict[str, int] = {}
        self._cache: dict[tuple[Any, ...], int] = {}
        self._days: dict[tuple[type, Any], date | None] = {}
        plain = {f: getattr(columns, f) for f in ("provider", "kind", "channel", "license", "name")}
        self._plain = {f: c for f, c in plain.items() if c}
        # Every key that may carry provenance: a row with none of them is settled in one step.
        self.keys = frozenset(k for k in (columns.key, *columns.model_columns, columns.provider) if k)
        # The named columns the current file's records have not shown yet (see `watch`).
        self._unseen: set[str] = set()
        self._keys_seen: set[str] = set()

    def watch(self, unseen: set[str], keys_seen: set[str]) -> None:
        """Strike out of `unseen` each column a record read from now on has, and note in
        `keys_seen` the keys of the records read while some column is still unseen."""
        self._unseen = unseen
        self._keys_seen = keys_seen

    def saw(self, keys: Any) -> None:
        """Note a record's (or a table's) keys against the columns still unseen."""
        unseen = self._unseen
        unseen.difference_update(unseen.intersection(keys))
        if unseen and len(self._keys_seen) < 200:
            self._keys_seen.update(keys)

    def read(self, data: Mapping[str, Any]) -> tuple[InlineKey | None, InlineKey | None]:
        """(completion-side origin, prompt-side origin) of one row; None where the row says nothing.

        Raises LayoutError when the row's provenance cannot be read.
        """
        if self._unseen:
            self.saw(data.keys())
        if self.keys.isdisjoint(data):
            return None, None
        columns = self.columns
        if columns.key is not None:
            block = data.get(columns.key)
            if block is not None:
                if not isinstance(block, Mapping):
                    raise LayoutError(f"{columns.key} holds {type(block).__name__} where an object was expected")
                prompt = block.get("prompt")
                if prompt is not None and not isinstance(prompt, Mapping):
                    raise LayoutError(f"{columns.key}.prompt holds {type(prompt).__name__} where an object was expected")
                completion = self._from_block(block, columns.key)
                return completion, (self._from_block(prompt, f"{columns.key}.prompt") if prompt else None)
        model = None
        for column in columns.model_columns:
            value = data.get(column)
            if value is not None:
                if not isinstance(value, str):
                    raise LayoutError(f"column {column!r} holds {type(value).__name__} where a model name was expected")
                model = value.strip() or None
                break
        provider = self._text(data, columns.provider)
        if model is None and provider is None:
            return None, None
        fields = {"model": model, "provider": provider}
        for field, column in self._plain.items():
            if field != "provider":
                fields[field] = self._text(data, column)
        when = data.get(columns.generated_at) if columns.generated_at else None
        return self._key(fields, when, f"column {columns.generated_at!r}"), None

    def _from_block(self, block: Mapping[str, Any], where: str) -> InlineKey | None:
        unknown = [k for k in block if k not in _SPEC_FIELDS and k not in ("generated_at", "prompt")]
        if unknown:
            raise LayoutError(
                f"{where} has the unknown key {unknown[0]!r}",
                fix=f"use {', '.join(_SPEC_FIELDS)}, generated_at and prompt",
            )
        fields = {}
        for field in _SPEC_FIELDS:
            value = block.get(field)
            if value is not None and not isinstance(value, str):
                raise LayoutError(f"{where}.{field} holds {type(value).__name__} where text was expected")
            fields[field] = value
        if not any(fields.values()):
            return None
        return self._key(fields, block.get("generated_at"), f"{where}.generated_at")

    def _key(self, fields: dict[str, Any], when: Any, where: str) -> InlineKey:
        cache_key = tuple(fields.get(f) for f in _SPEC_FIELDS)
        ident = self._cache.get(cache_key)
        if ident is None:
            ident = self._cache[cache_key] = self._spec(fields)
        # Keyed by type too: True == 1, but a boolean is no time.
        cache_key = (type(when), when) if _hashable(when) else None
        day = self._days.get(cache_key, False) if cache_key is not None else False
        if day is False:
            try:
                moment = parse_time(when)
            except ValueError as exc:
                raise LayoutError(f"{where}: {exc}") from None
            day = moment.date() if moment is not None else None
            if cache_key is not None:
                self._days[cache_key] = day
        return origin_key(ident, day)  # type: ignore[arg-type]

    def _spec(self, fields: dict[str, Any]) -> int:
        kind = fields.get("kind")
        model = fields.get("model")
        if kind is None and model:
            entry = self.catalogue.lookup(model)
            if entry is not None and entry.license:
                kind = "open-model"
        try:
            license_ = fields.get("license")
            spec = SourceSpec.build(**{
                **fields, "kind": kind, "license": normalise_license(license_) if license_ else None,
            })
        except UsageError as exc:
            raise LayoutError(f"invalid inline provenance: {exc.what.removeprefix('invalid source: ')}") from None
        ident = self._idents.get(spec.key)
        if ident is None:
            self._check_names(spec)
            ident = self._idents[spec.key] = INLINE_BASE + len(self._idents)
            self.specs[ident] = spec
        return ident

    def _check_names(self, spec: SourceSpec) -> None:
        if self._pack is None or not spec.provider:
            return
        if self._names is None:
            self._names = NameCheck(self._pack, self.catalogue)
        found = self._names.problem(spec.provider, spec.model)
        if found is not None:
            raise LayoutError(f"invalid inline provenance: {found[0]}", fix=found[1])

    @staticmethod
    def _text(data: Mapping[str, Any], column: str | None) -> str | None:
        if not column:
            return None
        value = data.get(column)
        if value is None:
            return None
        if not isinstance(value, str):
            raise LayoutError(f"column {column!r} holds {type(value).__name__} where text was expected")
        return value.strip() or None


def _hashable(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float))
