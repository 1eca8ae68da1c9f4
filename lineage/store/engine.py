"""Engines for the store's two back ends, and the rules for waiting on a busy store.

SQLite (the embedded default) allows one writer at a time. Writers start with BEGIN IMMEDIATE so
that they queue on the busy handler up front instead of failing with "database is locked" when a
read transaction tries to become a write one, and a whole write is retried while another process
holds the lock. PostgreSQL writers are retried on deadlock and serialisation failures.
"""

from __future__ import annotations

import random
import sqlite3
import sys
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DBAPIError, OperationalError

from lineage.config import seconds_from_env
from lineage.exceptions import StoreError, StoreLockedError

T = TypeVar("T")

# sqlite3 takes its busy timeout in milliseconds, as a C int: a longer one would not wait at all.
_SQLITE_LONGEST_WAIT = 2_147_483.0
_PG_RETRY_STATES = {"40001", "40P01"}  # serialization_failure, deadlock_detected


def lock_timeout() -> float:
    return seconds_from_env("LINEAGE_LOCK_TIMEOUT")


def make_engine(url: str) -> Engine:
    lock_timeout()  # a bad value is said when the store is opened, before any write
    if url.startswith("sqlite"):
        return _sqlite_engine(url)
    if url.startswith("postgresql"):
        return _postgres_engine(url)
    try:
        return create_engine(url)
    except Exception as exc:
        raise StoreError(f"cannot use store URL ({exc})", where=url) from None


def _sqlite_engine(url: str) -> Engine:
    # No single wait on the busy handler outlasts the lock timeout, which bounds the whole wait.
    busy = min(seconds_from_env("LINEAGE_SQLITE_BUSY_TIMEOUT"), lock_timeout(), _SQLITE_LONGEST_WAIT)
    engine = create_engine(url, connect_args={"timeout": busy})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        # Take transaction control from the sqlite3 module so BEGIN can be IMMEDIATE.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            # 64 MiB of page cache keeps the fingerprint index in memory during large imports.
            cursor.execute("PRAGMA cache_size=-65536")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:  # type: ignore[no-untyped-def]
        if not conn.get_execution_options().get("lineage_write"):
            conn.exec_driver_sql("BEGIN")
            return
        # Try for the write lock without waiting first, so that a wait is said before it starts
        # rather than after minutes of silence; then wait on the busy handler as usual.
        raw = conn.connection.dbapi_connection
        raw.execute("PRAGMA busy_timeout = 0")
        try:
            raw.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
        finally:
            raw.execute(f"PRAGMA busy_timeout = {int(busy * 1000)}")
        announce_wait(url)
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


_announced: set[str] = set()


def announce_wait(where: str) -> None:
    """Say once per store, on stderr, that a write waits for another process, and for how long."""
    if where in _announced:
        return
    _announced.add(where)
    shown = where.removeprefix("sqlite:///")
    print(f"waiting for another process that is writing to the store {shown} (up to {lock_timeout():g} s; "
          "LINEAGE_LOCK_TIMEOUT sets how long)", file=sys.stderr, flush=True)


def _postgres_engine(url: str) -> Engine:
    try:
        import psycopg  # noqa: F401
    except ImportError:
        raise StoreError(
            "a PostgreSQL store needs psycopg", where=url, fix="pip install 'tos-lineage[postgres]'"
        ) from None
    return create_engine(url, pool_pre_ping=True)


def is_busy(exc: BaseException) -> bool:
    """True for errors that mean "someone else holds the store; try again"."""
    if isinstance(exc, OperationalError):
        text = str(exc.orig).lower() if exc.orig is not None else str(exc).lower()
        if "database is locked" in text or "database is busy" in text or "database table is locked" in text:
            return True
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        return getattr(exc.orig, "sqlstate", None) in _PG_RETRY_STATES
    return False


def retry_busy(operation: Callable[[], T], *, where: str, timeout: float | None = None) -> T:
    """Run `operation` (one whole transaction) again while the store is busy, up to `timeout`."""
    deadline = time.monotonic() + (lock_timeout() if timeout is None else timeout)
    delay = 0.05
    while True:
        try:
            return operation()
        except DBAPIError as exc:
            if not is_busy(exc):
                raise
            if time.monotonic() >= deadline:
                raise StoreLockedError(
                    "the store stayed locked by another process",
                    where=where,
                    fix="wait for the other import to finish, or raise LINEAGE_LOCK_TIMEOUT (seconds)",
                ) from None
            # Jitter keeps several waiting writers from waking in step.
            time.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, 2.0)
