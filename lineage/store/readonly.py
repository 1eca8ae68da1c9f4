"""Reading an SQLite store without SQLAlchemy, for `lineage lint`.

Lint only reads, and a pre-commit hook on a small file must start fast: importing SQLAlchemy
costs more than linting a thousand examples. The file is opened read-only (`mode=ro`): a lint
never writes the store's data or changes its journal mode (SQLite may still create the `-wal`
and `-shm` files a WAL-mode database reads through).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from urllib.parse import quote

from lineage.exceptions import StoreError, StoreNotFoundError
from lineage.store.version import check_schema_version


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True, timeout=30)
    try:
        conn.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()
        return conn
    except sqlite3.OperationalError:
        conn.close()
        if not _cannot_change(path):
            raise
    # A WAL-mode store in a folder nobody may write: SQLite cannot make the -shm file it reads
    # through. With no -wal file either, the main file holds every committed write, and no
    # writer can start (it would have to make a -wal file there), so it is read as immutable.
    return sqlite3.connect(f"file:{quote(str(path))}?mode=ro&immutable=1", uri=True, timeout=30)


def _cannot_change(path: Path) -> bool:
    """Whether no -wal or -shm file lies beside the store and its folder cannot take one."""
    import os
    import tempfile

    folder = path.parent
    if any(Path(f"{path}{suffix}").exists() for suffix in ("-wal", "-shm")):
        return False
    if not os.access(folder, os.W_OK):
        return True
    try:  # root passes os.access; an immutable folder still refuses it
        tempfile.TemporaryFile(dir=folder).close()
    except OSError:
        return True
    return False


def open_sqlite_readonly(path: Path) -> sqlite3.Connection:
    """A read-only connection to the lineage store at `path`, its schema version checked."""
    where = str(path)
    if path.is_dir():
        raise StoreError("the store path is a folder", where=where, fix=f"name a file, e.g. {path / 'lineage.db'}")
    if not path.exists():
        raise StoreNotFoundError("no lineage store", where=where, fix="run `lineage init` or pass --store")
    try:
        conn = _connect(path)
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "lineage_meta" not in tables:
            conn.close()
            raise StoreNotFoundError(
                "not a lineage store (it has no lineage tables)", where=where,
                fix="run `lineage init` with this --store, or point --store at your store",
            )
        row = conn.execute("SELECT value FROM lineage_meta WHERE key = 'schema_version'").fetchone()
    except sqlite3.DatabaseError as exc:
        detail = " ".join(str(exc).split())
        raise StoreError(
            f"cannot read the store ({detail})", where=where,
            fix="check that it is a lineage store and that you may read it and its folder",
        ) from None
    try:
        check_schema_version(row[0] if row else None, where)
    except BaseException:
        conn.close()
        raise
    return conn
