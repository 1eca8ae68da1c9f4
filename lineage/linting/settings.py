"""What a lint run is told: from `[tool.lineage]` (or lineage.toml) and flags, flags on top.

    [tool.lineage]
    untracked = "warn"             # ignore | warn | error, for segments with no recorded origin
    all_segments = false           # check prompt-side segments are tracked too
    select = ["ALL"]               # rule codes or prefixes to report
    ignore = ["LIN004"]
    unknown_terms = "error"        # error | warn, for sources whose terms the pack cannot determine
    skip_bad = false               # malformed records are warnings, not errors (always counted)
    strict = false                 # nothing lowered: malformed records and unknown terms are errors

    [tool.lineage.inline]          # provenance written into the rows themselves
    key = "_lineage"
    model = "model_name"

    [[tool.lineage.overrides]]     # per-path settings
    paths = ["evals/**"]
    purpose = "evaluate"
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from lineage.config import Config, check_types
from lineage.exceptions import ConfigError, UsageError
from lineage.policy.context import CONTEXT_KEYS, UseContext, build_context
from lineage.policy.engine import UNKNOWN_TERMS_MODES
from lineage.segments import LAYOUTS, check_mapping

UNTRACKED_MODES = ("ignore", "warn", "error")
# Columns that name a row's model when the configuration names none.
DEFAULT_MODEL_COLUMNS = ("model", "model_name")
DEFAULT_INLINE_KEY = "_lineage"
_INLINE_FIELDS = ("key", "model", "provider", "kind", "channel", "license", "name", "generated_at")
_OVERRIDE_KEYS = frozenset({"paths", "untracked", "unknown_terms", "select", "ignore", "all_segments", *CONTEXT_KEYS})


@dataclass(frozen=True)
class InlineColumns:
    """Where rows carry their own provenance.

    `key` names an object with source fields (`{"_lineage": {"provider": ..., "model": ...,
    "generated_at": ...}}`); the other fields name plain columns. With no column named, a
    `model` or `model_name` column is used when a row has one.
    """

    key: str | None = DEFAULT_INLINE_KEY
    model: str | None = None
    provider: str | None = None
    kind: str | None = None
    channel: str | None = None
    license: str | None = None
    name: str | None = None
    generated_at: str | None = None
    enabled: bool = True
    # The columns the command line named (--model-column and the like): a file none of whose
    # records has one of them is refused, since a misspelt column would otherwise say nothing.
    named: tuple[str, ...] = ()

    @property
    def model_columns(self) -> tuple[str, ...]:
        return (self.model,) if self.model else DEFAULT_MODEL_COLUMNS


@dataclass(frozen=True)
class CodeFilter:
    """ruff-style selection: a code is kept when a `select` prefix matches and no `ignore` one does."""

    select: tuple[str, ...] = ("ALL",)
    ignore: tuple[str, ...] = ()

    def keeps(self, code: str) -> bool:
        selected = any(p == "ALL" or code.startswith(p) for p in self.select)
        return selected and not any(p == "ALL" or code.startswith(p) for p in self.ignore)


@dataclass(frozen=True)
class Rules:
    """What applies to one file: the use context and the lint choices, after overrides."""

    context: UseContext
    untracked: str = "warn"
    # The severity of findings that say a source's terms cannot be determined (verdict needs-review).
    unknown_terms: str = "error"
    all_segments: bool = False
    codes: CodeFilter = field(default_factory=CodeFilter)


@dataclass(frozen=True)
class Override:
    paths: tuple[str, ...]
    values: Mapping[str, Any]

    def matches(self, relative: str) -> bool:
        for pattern in self.paths:
            pattern = pattern.rstrip("/")
            if fnmatch.fnmatchcase(relative, pattern) or relative.startswith(pattern + "/"):
                return True
        return False


@dataclass(frozen=True)
class LintSettings:
    rules: Rules
    # Malformed records are errors (lint exits 1, the gate fails) unless skip_bad lowers them to
    # warnings; strict keeps them errors and unknown terms errors whatever else says.
    strict: bool = False
    skip_bad: bool = False
    inline: InlineColumns = field(default_factory=InlineColumns)
    layout: str | None = None
    mapping: Mapping[str, str] | None = None
    input_format: str | None = None
    overrides: tuple[Override, ...] = ()
    # Where override patterns are relative to: the configuration file's folder.
    root: Path = field(default_factory=Path.cwd)
    batch_size: int = 5000
    # Completions with no recorded origin take a recorded near-duplicate's at or above this
    # similarity, where the store holds sketches; None: never.
    near_threshold: float | None = 0.5

    def rules_for(self, path: str) -> Rules:
        """The rules for one file: the base rules with every matching override applied in order."""
        if not self.overrides:
            return self.rules
        try:
            relative = Path(path).resolve().relative_to(self.root.resolve()).as_posix()
        except ValueError:
            relative = Path(path).as_posix()
        rules = self.rules
        for override in self.overrides:
            if override.matches(relative):
                rules = _apply(rules, override.values, where=f"override {list(override.paths)}")
        return rules


def _codes(value: Any, key: str, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ConfigError(f"`{key}` must be a list of rule codes or prefixes", where=where, fix=f'e.g. {key} = ["LIN004"]')
    return tuple(v.strip().upper() for v in value)


def _choice(key: str, modes: tuple[str, ...], example: str) -> Callable[[Any, str], str]:
    """A checker for a setting that takes one of `modes`."""
    def check(value: Any, where: str) -> str:
        if value not in modes:
            raise ConfigError(
                f"`{key}` must be one of {', '.join(modes)}, not {value!r}", where=where,
                fix=f'e.g. {key} = "{example}"',
            )
        return str(value)

    return check


_untracked = _choice("untracked", UNTRACKED_MODES, "warn")
_unknown_terms = _choice("unknown_terms", UNKNOWN_TERMS_MODES, "error")


def _flag(value: Any, key: str, where: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"`{key}` must be true or false", where=where)
    return value


def _apply(rules: Rules, values: Mapping[str, Any], *, where: str) -> Rules:
    context_values = {k: v for k, v in values.items() if k in CONTEXT_KEYS}
    context = rules.context
    if context_values:
        try:
            context = UseContext(**{**context.model_dump(), **context_values})
        except ValueError as exc:
            raise ConfigError(f"invalid use context in {where} ({_first(exc)})", fix="see docs/lint.md") from None
    codes = rules.codes
    if "select" in values:
        codes = replace(codes, select=_codes(values["select"], "select", where))
    if "ignore" in values:
        codes = replace(codes, ignore=codes.ignore + _codes(values["ignore"], "ignore", where))
    return Rules(
        context=context,
        untracked=_untracked(values["untracked"], where) if "untracked" in values else rules.untracked,
        unknown_terms=_unknown_terms(values["unknown_terms"], where) if "unknown_terms" in values
        else rules.unknown_terms,
        all_segments=_flag(values["all_segments"], "all_segments", where) if "all_segments" in values
        else rules.all_segments,
        codes=codes,
    )


def _first(exc: Exception) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        error = errors()[0]
        return f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}"
    return str(exc)


def _inline(config: Config, flags: Mapping[str, str | None]) -> InlineColumns:
    where = str(config.path)
    raw = config.get("inline", {})
    if raw is False:
        return InlineColumns(key=None, enabled=False)
    if not isinstance(raw, dict):
        raise ConfigError("`inline` must be a table or false", where=where, fix='e.g. inline = { model = "model_name" }')
    unknown = sorted(set(raw) - set(_INLINE_FIELDS))
    if unknown:
        raise ConfigError(f"unknown key inline.{unknown[0]}", where=where, fix=f"use {', '.join(_INLINE_FIELDS)}")
    for key, value in raw.items():
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"`inline.{key}` must be a column name in quotes", where=where)
    given = {k: v for k, v in flags.items() if v}
    return InlineColumns(**{**raw, **given}, named=tuple(dict.fromkeys(given.values())))


def build_settings(
    config: Config,
    *,
    context_flags: Mapping[str, Any] | None = None,
    untracked: str | None = None,
    all_segments: bool | None = None,
    select: Sequence[str] | None = None,
    ignore: Sequence[str] | None = None,
    strict: bool | None = None,
    skip_bad: bool | None = None,
    unknown_terms: str | None = None,
    inline_flags: Mapping[str, str | None] | None = None,
    layout: str | None = None,
    mapping: Mapping[str, str] | None = None,
    input_format: str | None = None,
) -> LintSettings:
    """Settings from the configuration, with the flags that are not None on top."""
    where = str(config.path) if config.path else "configuration"
    context = build_context(config, **(context_flags or {}))
    base = Rules(
        context=context,
        untracked=_untracked(config.get("untracked", "warn"), where),
        unknown_terms=_unknown_terms(config.get("unknown_terms", "error"), where),
        all_segments=_flag(config.get("all_segments", False), "all_segments", where),
        codes=CodeFilter(
            select=_codes(config.get("select"), "select", where) if config.get("select") is not None else ("ALL",),
            ignore=_codes(config.get("ignore"), "ignore", where) if config.get("ignore") is not None else (),
        ),
    )
    overrides = _overrides(config.get("overrides"), where)
    # Flags beat the configuration, per-path overrides included: a flag is what the user asked now.
    if untracked is not None:
        if untracked not in UNTRACKED_MODES:
            raise UsageError(f"--untracked must be one of {', '.join(UNTRACKED_MODES)}")
        base = replace(base, untracked=untracked)
        overrides = tuple(_without(o, "untracked") for o in overrides)
    if strict is None:
        strict = _flag(config.get("strict", False), "strict", where)
    if skip_bad is None:
        skip_bad = _flag(config.get("skip_bad", False), "skip_bad", where)
    if unknown_terms is not None and unknown_terms not in UNKNOWN_TERMS_MODES:
        raise UsageError(f"--unknown-terms must be one of {', '.join(UNKNOWN_TERMS_MODES)}")
    if strict:
        # Strict lowers nothing, wherever the lowering was asked for.
        unknown_terms, skip_bad = "error", False
    if unknown_terms is not None:
        base = replace(base, unknown_terms=unknown_terms)
        overrides = tuple(_without(o, "unknown_terms") for o in overrides)
    if all_segments is not None:
        base = replace(base, all_segments=all_segments)
        overrides = tuple(_without(o, "all_segments") for o in overrides)
    if select:
        base = replace(base, codes=replace(base.codes, select=tuple(c.strip().upper() for c in select)))
        overrides = tuple(_without(o, "select") for o in overrides)
    if ignore:
        base = replace(base, codes=replace(base.codes, ignore=base.codes.ignore + tuple(c.strip().upper() for c in ignore)))
    given = {k for k, v in (context_flags or {}).items() if v is not None}
    if given:
        overrides = tuple(_without(o, *given) for o in overrides)
    configured_mapping = config.get("map")
    if mapping is None and configured_mapping is not None:
        if not isinstance(configured_mapping, dict) or not all(isinstance(v, str) for v in configured_mapping.values()):
            raise ConfigError("`map` must be a table of ROLE = \"field\"", where=where, fix='e.g. map = { output = "answer" }')
        mapping = configured_mapping
    configured_layout = config.get("layout")
    if layout is None and configured_layout is not None:
        if not isinstance(configured_layout, str) or configured_layout not in LAYOUTS:
            raise ConfigError(f"`layout` must be one of {', '.join(LAYOUTS)}", where=where, fix='e.g. layout = "alpaca"')
        layout = configured_layout
    if layout is not None and layout not in LAYOUTS:
        raise UsageError(f"unknown layout {layout!r}", fix=f"use one of {', '.join(LAYOUTS)}")
    if mapping is not None:
        if not mapping:
            raise ConfigError("`map` is empty", where=where, fix='name at least one ROLE = "field", or remove it')
        try:
            check_mapping(mapping)
        except UsageError as exc:
            raise ConfigError(exc.what, where=where if configured_mapping is not None else "--map", fix=exc.fix) from None
    return LintSettings(
        rules=base,
        strict=strict,
        skip_bad=skip_bad,
        inline=_inline(config, inline_flags or {}),
        layout=layout,
        mapping=mapping,
        input_format=input_format,
        overrides=overrides,
        root=config.root,
        near_threshold=_near_threshold(config, where),
    )


def _near_threshold(config: Config, where: str) -> float | None:
    """`near_duplicates = false` turns inference off; `near_duplicate_threshold` sets its bar."""
    from lineage.vocabulary import NEAR_DUPLICATE_THRESHOLD as DEFAULT_THRESHOLD

    if not _flag(config.get("near_duplicates", True), "near_duplicates", where):
        return None
    value = config.get("near_duplicate_threshold", DEFAULT_THRESHOLD)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 1:
        raise ConfigError("near_duplicate_threshold must be a similarity above 0 and at most 1", where=where,
                          fix="e.g. near_duplicate_threshold = 0.6")
    return float(value)


def _without(override: Override, *keys: str) -> Override:
    return replace(override, values={k: v for k, v in override.values.items() if k not in keys})


def _overrides(raw: Any, where: str) -> tuple[Override, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(item, dict) for item in raw):
        raise ConfigError(
            "`overrides` must be an array of tables", where=where,
            fix='write each as [[tool.lineage.overrides]] with paths = ["evals/**"]',
        )
    found = []
    for n, item in enumerate(raw, 1):
        unknown = sorted(set(item) - _OVERRIDE_KEYS)
        if unknown:
            raise ConfigError(
                f"unknown key {unknown[0]!r} in override {n}", where=where,
                fix=f"use paths and any of {', '.join(sorted(_OVERRIDE_KEYS - {'paths'}))}",
            )
        paths = item.get("paths")
        if isinstance(paths, str):
            paths = [paths]
        if not paths or not isinstance(paths, list) or not all(isinstance(p, str) and p for p in paths):
            raise ConfigError(f"override {n} needs `paths`, a list of glob patterns", where=where,
                              fix='e.g. paths = ["evals/**"]')
        values = {k: v for k, v in item.items() if k != "paths"}
        # The same types as at the top level: pydantic alone would take "yes" for true.
        check_types(values, f"{where}, override {n}")
        override = Override(tuple(paths), values)
        # Check the values now, so a bad override fails before any file is read.
        _apply(Rules(UseContext()), values, where=f"{where}, override {n}")
        found.append(override)
    return tuple(found)
