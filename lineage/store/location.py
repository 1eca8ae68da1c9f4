"""Where the lineage store is.

In order: the `--store` flag, the `LINEAGE_STORE` variable (a path or an SQLAlchemy URL such as
`postgresql+psycopg://...`), the `store` key of the project configuration, and last
`.lineage/lineage.db` found by walking up from the current directory, as git finds `.git`.
"""

from __future__ import annotations

import os
from pathlib import Path

from lineage.config import Config, find_config
from lineage.exceptions import UsageError

DEFAULT_DIR = ".lineage"
DEFAULT_FILE = "lineage.db"


def is_url(value: str) -> bool:
    return "://" in value


def path_to_url(path: str | Path) -> str:
    return f"sqlite:///{Path(path).expanduser().resolve()}"


def normalise_url(value: str) -> str:
    """An SQLAlchemy URL for a path or URL given by the user.

    `postgresql://` and `postgres://` mean psycopg 3, the driver the project installs, rather
    than SQLAlchemy's default of psycopg2.
    """
    if not is_url(value):
        return path_to_url(value)
    for prefix in ("postgresql://", "postgres://"):
        if value.startswith(prefix):
            return "postgresql+psycopg://" + value[len(prefix) :]
    return value


def find_default_store(start: Path | None = None) -> Path | None:
    folder = (start or Path.cwd()).resolve()
    for candidate in (folder, *folder.parents):
        path = candidate / DEFAULT_DIR / DEFAULT_FILE
        if path.is_file():
            return path
    return None


def locate_store(
    flag: str | None = None, *, config: Config | None = None, start: Path | None = None, search: bool = True
) -> str | None:
    """The URL of the store to use, or None when none is named and none is found.

    With `search=False` only an explicitly named store counts (flag, variable, configuration).
    """
    if flag is not None:
        if not flag.strip():
            raise UsageError("--store is empty", fix="name a path or URL, or leave --store out")
        return normalise_url(flag)
    env = os.environ.get("LINEAGE_STORE")
    if env:
        return normalise_url(env)
    config = config if config is not None else find_config(start)
    configured = config.get("store")
    if configured:
        return normalise_url(configured if is_url(configured) else config.resolve_path(configured))
    found = find_default_store(start) if search else None
    return path_to_url(found) if found else None


def default_new_store(start: Path | None = None) -> str:
    """Where `lineage init` creates a store when none is named: `.lineage/lineage.db` here."""
    return path_to_url((start or Path.cwd()) / DEFAULT_DIR / DEFAULT_FILE)


def describe(url: str) -> str:
    """The store as shown to a user: a path for SQLite, the URL without its password otherwise."""
    if url.startswith("sqlite:///"):
        return url[len("sqlite:///") :] or ":memory:"
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url
