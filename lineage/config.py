"""Project configuration: `[tool.lineage]` in pyproject.toml, or a `lineage.toml` file; and the
settings that come from environment variables (`seconds_from_env`).

Found by walking up from the current directory; in one folder `lineage.toml` wins over
pyproject.toml. Relative paths in the file are relative to the file's folder.
"""

from __future__ import annotations

import math
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lineage.exceptions import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib


# Settings in seconds from environment variables, and their defaults: how long a write waits for a
# store another process holds in all, how long one SQLite statement waits on the busy handler, and
# how long a run goes on before its progress bar appears.
TIMING_VARIABLES = {"LINEAGE_LOCK_TIMEOUT": 600.0, "LINEAGE_SQLITE_BUSY_TIMEOUT": 30.0, "LINEAGE_PROGRESS_DELAY": 2.0}


def seconds_from_env(variable: str) -> float:
    """One of TIMING_VARIABLES; its default when it is unset or empty. Anything else than a
    finite number of 0 or more is an error that names the variable."""
    default = TIMING_VARIABLES[variable]
    value = os.environ.get(variable, "").strip()
    if not value:
        return default
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds < math.inf:  # also refuses nan
        raise ConfigError(f"{variable} must be a number of seconds, not {value!r}",
                          fix=f"set it to 0 or more (the default is {default:g}), or unset it")
    return seconds


def check_timing_variables() -> None:
    """Raise ConfigError for the first timing variable set to something that is not a number of
    seconds: the CLI checks them all before a command starts, whether or not it uses them."""
    for variable in TIMING_VARIABLES:
        seconds_from_env(variable)


@dataclass(frozen=True)
class Config:
    # The file the settings came from; None when no file was found.
    path: Path | None = None
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def root(self) -> Path:
        return self.path.parent if self.path else Path.cwd()

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)

    def resolved(self, key: str) -> str | None:
        """A path setting, made absolute; None when it is not set."""
        value = self.get(key)
        return self.resolve_path(value) if value else None

    def resolved_list(self, key: str) -> list[str]:
        """A setting of one path or a list of paths, each made absolute."""
        value = self.get(key) or []
        return [self.resolve_path(p) for p in ([value] if isinstance(value, str) else value)]

    def resolve_path(self, value: str) -> str:
        """A path from the file, made absolute against the file's folder."""
        path = Path(value).expanduser()
        return str(path if path.is_absolute() else (self.root / path))


def load_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"invalid TOML ({exc})", where=str(path), fix="fix the syntax at that line") from None
    except OSError as exc:
        raise ConfigError(f"cannot read config ({exc.strerror})", where=str(path)) from None


def find_config(start: Path | None = None) -> Config:
    """The nearest configuration at or above `start` (default: the current directory)."""
    folder = (start or Path.cwd()).resolve()
    for candidate in (folder, *folder.parents):
        own = candidate / "lineage.toml"
        if own.is_file():
            data = load_toml(own)
            # A lineage.toml may hold the settings at top level or under [tool.lineage].
            section = _table(data.get("tool"), own, "tool").get("lineage") if "tool" in data else data
            return _checked(Config(own, _table(section, own, "tool.lineage")))
        pyproject = candidate / "pyproject.toml"
        if pyproject.is_file():
            data = load_toml(pyproject)
            section = _table(data.get("tool", {}), pyproject, "tool").get("lineage")
            if section is not None:
                return _checked(Config(pyproject, _table(section, pyproject, "tool.lineage")))
    return Config()


def _table(value: Any, path: Path, key: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"[{key}] must be a table", where=str(path), fix=f"write it as a [{key}] section")
    return value


_LIST_OF_TEXT = ("policies", "competes_with", "territory")
_TEXT = ("waivers", "purpose", "base_model", "model_name", "model_type")
_FLAGS = ("commercial", "distribute_model", "publish_dataset")


# Every key `[tool.lineage]` (or lineage.toml) may hold, and the keys of its tables. A key not
# here is refused: a typo (`untraked`, `comercial`) would otherwise turn a safety setting off
# without a word.
KNOWN_KEYS = frozenset({
    # the use context (lineage.policy.context.CONTEXT_KEYS)
    "purpose", "commercial", "competes_with", "base_model", "distribute_model", "model_name", "publish_dataset",
    "model_type", "territory",
    # where things are
    "store", "policies", "waivers", "paths",
    # what lint does (lineage.linting.settings)
    "untracked", "unknown_terms", "skip_bad", "strict", "all_segments", "select", "ignore", "inline", "overrides",
    "map", "layout", "near_duplicates", "near_duplicate_threshold",
    # the publication gate
    "gate",
})
TABLE_KEYS = {"gate": frozenset({"max_untracked"})}


def check_keys(keys: Any, known: frozenset[str], where: str, prefix: str = "") -> None:
    """Refuse the first key that is not known, naming the closest known one."""
    for key in keys:
        if key in known:
            continue
        from rapidfuzz import process

        match = process.extractOne(str(key), sorted(known), score_cutoff=60)
        hint = f"did you mean `{prefix}{match[0]}`?" if match else f"use one of {', '.join(sorted(known))}"
        raise ConfigError(f"unknown setting `{prefix}{key}`", where=where,
                          fix=f"{hint} (docs/lint.md lists every setting)")


def _checked(config: Config) -> Config:
    where = str(config.path)
    check_keys(config.data, KNOWN_KEYS, where)
    for table, keys in TABLE_KEYS.items():
        value = config.data.get(table)
        if isinstance(value, dict):
            check_keys(value, keys, where, prefix=f"{table}.")
    check_types(config.data, where)
    store = config.get("store")
    if store is not None and (not isinstance(store, str) or not store.strip()):
        raise ConfigError(
            "`store` must be a path or URL in quotes", where=str(config.path), fix='e.g. store = ".lineage/lineage.db"'
        )
    return config


def check_types(data: dict[str, Any], where: str) -> None:
    """Refuse settings of the wrong type (lists of text, text, true/false) with the key named."""
    for key in _LIST_OF_TEXT:
        value = data.get(key)
        if isinstance(value, str):
            continue
        if value is not None and (not isinstance(value, list) or not all(isinstance(v, str) for v in value)):
            raise ConfigError(f"`{key}` must be a list of strings", where=where, fix=f'e.g. {key} = ["..."]')
    for key in _TEXT:
        value = data.get(key)
        if value is not None and not isinstance(value, str):
            raise ConfigError(f"`{key}` must be a string in quotes", where=where)
    for key in _FLAGS:
        value = data.get(key)
        if value is not None and not isinstance(value, bool):
            raise ConfigError(f"`{key}` must be true or false", where=where)
