"""The lineage store: open or create it, write to it safely, and read what it holds."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote

from sqlalchemy import Connection, func, inspect, select, text
from sqlalchemy.exc import DatabaseError, DBAPIError

from lineage import __version__
from lineage.exceptions import StoreError, StoreNotFoundError
from lineage.sources import SourceSpec
from lineage.store.engine import make_engine, retry_busy
from lineage.store.location import describe, normalise_url
from lineage.store.schema import (
    SCHEMA_VERSION,
    CaptureRunRow,
    DatasetRow,
    SourceRow,
    StoreMeta,
    metadata,
    origins,
)
from lineage.store.version import check_schema_version

if TYPE_CHECKING:
    from lineage.capture.run import CaptureRun

T = TypeVar("T")
_LOOKUP_CHUNK = 500


@dataclass(frozen=True)
class SourceSummary:
    id: int
    source: SourceSpec
    segments: int
    first_generated_at: datetime | None
    last_generated_at: datetime | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            **self.source.model_dump(),
            "segments": self.segments,
            "first_generated_at": _iso(self.first_generated_at),
            "last_generated_at": _iso(self.last_generated_at),
        }


@dataclass(frozen=True)
class OriginInfo:
    """One recorded origin of a fingerprint."""

    fingerprint: bytes
    source_id: int
    source: SourceSpec
    role: str
    generated_at: datetime | None
    run_id: int
    parents: tuple[bytes, ...]
    external_id: str | None
    text: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "fingerprint": self.fingerprint.hex(),
            "source": {"id": self.source_id, **self.source.model_dump()},
            "role": self.role,
            "generated_at": _iso(self.generated_at),
            "run_id": self.run_id,
            "parents": [p.hex() for p in self.parents],
            "external_id": self.external_id,
            "text": self.text,
        }


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=timezone.utc).isoformat().replace("+00:00", "Z")


def _meta_value(conn: Connection, key: str) -> str | None:
    meta = StoreMeta.__table__
    return conn.execute(select(meta.c.value).where(meta.c.key == key)).scalar()


def _utc(moment: datetime | None) -> datetime | None:
    return moment.replace(tzinfo=timezone.utc) if moment is not None else None


class Store:
    """A lineage store at an SQLAlchemy URL (SQLite file or PostgreSQL database)."""

    def __init__(self, url: str) -> None:
        self.url = normalise_url(url)
        self.location = describe(self.url)
        self.engine = make_engine(self.url)
        self._sources: dict[int, SourceSpec] = {}
        # True when opening created the store's tables.
        self.created = False
        # Whether opening upgrades an older schema (see open), and the version the store has.
        self._upgrade_old = True
        self.schema_version = SCHEMA_VERSION

    # -- opening ---------------------------------------------------------------------------

    @classmethod
    def open(cls, url: str, *, create: bool = False, upgrade: bool = True) -> Store:
        """Open the store at `url`; with `create`, make it (and its folder) if it is not there.
        A store of an older schema version is upgraded in place, unless `upgrade` is false (for
        readers that need only what every version holds)."""
        store = cls(url)
        store._upgrade_old = upgrade
        try:
            store._prepare(create)
        except BaseException:
            store.close()
            raise
        return store

    def _prepare(self, create: bool) -> None:
        path = self._sqlite_path()
        if path is not None:
            tables = self._sqlite_tables(path, create)
        else:
            try:
                tables = set(inspect(self.engine).get_table_names())
            except DatabaseError as exc:
                raise self._error(exc) from None
        if StoreMeta.__tablename__ not in tables:
            if not create:
                raise StoreNotFoundError(
                    "not a lineage store (it has no lineage tables)",
                    where=self.location,
                    fix="run `lineage init` with this --store, or point --store at your store",
                )
            if path is not None and tables:
                # A shared PostgreSQL database is expected to hold other tables; an SQLite file
                # that does is someone else's database.
                raise StoreError(
                    f"not a lineage store: the file is a database with other tables ({', '.join(sorted(tables)[:5])})",
                    where=self.location,
                    fix="choose another --store path",
                )
            self.write(self._create_schema)
            self.created = True
        self._check_version()

    def _sqlite_tables(self, path: Path, create: bool) -> set[str]:
        """The tables of an SQLite file, looked at without changing it.

        The engine's connections switch a file to WAL mode, which must not happen to a file that
        turns out not to be a lineage store; so the first look is read-only, with plain sqlite3.
        """
        if path.is_dir():
            raise StoreError(
                "the store path is a folder", where=self.location, fix=f"name a file, e.g. {path / 'lineage.db'}"
            )
        if not path.exists():
            if not create:
                raise StoreNotFoundError(
                    "no lineage store", where=self.location, fix="run `lineage init` or pass --store"
                )
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(
                    f"cannot create the store's folder ({exc.strerror})",
                    where=str(path.parent),
                    fix="choose a --store path in a folder you can write to",
                ) from None
            return set()
        try:
            conn = sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True)
            try:
                rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
            finally:
                conn.close()
        except sqlite3.DatabaseError as exc:
            raise self._error(exc) from None
        return {row[0] for row in rows}

    def _sqlite_path(self) -> Path | None:
        if self.url.startswith("sqlite:///") and self.url != "sqlite:///:memory:":
            return Path(self.url[len("sqlite:///") :])
        return None

    def _error(self, exc: Exception) -> StoreError:
        """A database error as a message that names its real cause and fix."""
        orig = getattr(exc, "orig", None)
        # Driver messages span lines; the CLI promises one.
        detail = " ".join(str(orig if orig is not None else exc).split())
        low = detail.lower()
        if any(
            words in low for words in ("readonly", "read-only", "permission denied", "unable to open database file")
        ):
            return StoreError(
                f"cannot open or write the store ({detail})",
                where=self.location,
                fix="check the permissions of the store file and its folder",
            )
        if "not a database" in low or "malformed" in low:
            return StoreError(
                f"not a lineage store, or a damaged one ({detail})",
                where=self.location,
                fix="point --store at your lineage store; if it is damaged, restore it from a backup",
            )
        if "connect" in low or "connection" in low:
            return StoreError(
                f"cannot connect to the store ({detail})",
                where=self.location,
                fix="check that the server is running and the URL is right",
            )
        return StoreError(f"store error ({detail})", where=self.location)

    @staticmethod
    def _create_schema(conn: Connection) -> None:
        if conn.dialect.name == "postgresql":
            # Two processes creating the schema at once would collide on PostgreSQL's catalogue;
            # the second waits here, then finds the tables made.
            conn.execute(text("SELECT pg_advisory_xact_lock(7265312)"))
        metadata.create_all(conn, checkfirst=True)
        meta = StoreMeta.__table__
        if _meta_value(conn, "schema_version") is None:
            conn.execute(
                meta.insert(),
                [
                    {"key": "schema_version", "value": str(SCHEMA_VERSION)},
                    {"key": "created_by", "value": f"tos-lineage {__version__}"},
                ],
            )

    def _check_version(self) -> None:
        with self.read() as conn:
            found = check_schema_version(_meta_value(conn, "schema_version"), self.location)
        self.schema_version = found
        if found != SCHEMA_VERSION and self._upgrade_old:
            self.write(_upgrade)
            self.schema_version = SCHEMA_VERSION

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transactions ----------------------------------------------------------------------

    @contextmanager
    def read(self) -> Iterator[Connection]:
        try:
            with self.engine.connect() as conn, conn.begin():
                yield conn
        except DatabaseError as exc:
            raise self._error(exc) from None

    def write(self, operation: Callable[[Connection], T]) -> T:
        """Run `operation` in one write transaction: all of it lands, or none of it.

        While another process holds the store the whole operation is retried, so it must be
        safe to run again from the start (read its input afresh).
        """

        def attempt() -> T:
            with self.engine.connect() as conn:
                conn.execution_options(lineage_write=True)
                with conn.begin():
                    return operation(conn)

        try:
            return retry_busy(attempt, where=self.location)
        except DBAPIError as exc:
            raise self._error(exc) from None

    # -- capture ---------------------------------------------------------------------------

    def capture(
        self,
        source: SourceSpec | None = None,
        *,
        description: str | None = None,
        prompt_source: SourceSpec | None = None,
        store_text: bool = False,
        allow_unknown_provider: bool = False,
        **source_fields: str | None,
    ) -> CaptureRun:
        """Start recording outputs as they are generated (see `lineage.capture.CaptureRun`).
        A provider the policy pack does not know, or a model under another maker's name, is
        refused when first recorded, unless `allow_unknown_provider`."""
        from lineage.capture.run import CaptureRun

        if source is None and any(source_fields.values()):
            source = SourceSpec.build(**source_fields)
        return CaptureRun(
            self, source, description=description, prompt_source=prompt_source, store_text=store_text,
            allow_unknown_provider=allow_unknown_provider,
        )

    # -- reading ---------------------------------------------------------------------------

    def source_spec(self, conn: Connection, source_id: int) -> SourceSpec:
        spec = self._sources.get(source_id)
        if spec is None:
            table = SourceRow.__table__
            row = conn.execute(select(table).where(table.c.id == source_id)).mappings().one()
            spec = SourceSpec(**{k: row[k] for k in ("kind", "provider", "model", "channel", "license", "name")})
            self._sources[source_id] = spec
        return spec

    def sources(self) -> list[SourceSummary]:
        """Every source with the number of segments recorded for it."""
        table = SourceRow.__table__
        counts = (
            select(
                origins.c.source_id,
                func.count().label("segments"),
                func.min(origins.c.generated_at).label("first"),
                func.max(origins.c.generated_at).label("last"),
            )
            .group_by(origins.c.source_id)
            .subquery()
        )
        query = (
            select(table, counts.c.segments, counts.c.first, counts.c.last)
            .outerjoin(counts, counts.c.source_id == table.c.id)
            .order_by(table.c.id)
        )
        with self.read() as conn:
            rows = conn.execute(query).mappings().all()
        return [
            SourceSummary(
                id=row["id"],
                source=SourceSpec(**{k: row[k] for k in ("kind", "provider", "model", "channel", "license", "name")}),
                segments=row["segments"] or 0,
                first_generated_at=_utc(row["first"]),
                last_generated_at=_utc(row["last"]),
            )
            for row in rows
        ]

    def lookup(self, fingerprints: Iterable[bytes]) -> dict[bytes, list[OriginInfo]]:
        """Recorded origins for many fingerprints at once (bulk, never one query per segment)."""
        wanted = list(dict.fromkeys(fingerprints))
        found: dict[bytes, list[OriginInfo]] = {}
        with self.read() as conn:
            for start in range(0, len(wanted), _LOOKUP_CHUNK):
                chunk = wanted[start : start + _LOOKUP_CHUNK]
                query = select(origins).where(origins.c.fingerprint.in_(chunk)).order_by(origins.c.id)
                for row in conn.execute(query).mappings():
                    fp = bytes(row["fingerprint"])
                    parents = bytes(row["parents"] or b"")
                    found.setdefault(fp, []).append(
                        OriginInfo(
                            fingerprint=fp,
                            source_id=row["source_id"],
                            source=self.source_spec(conn, row["source_id"]),
                            role=row["role"],
                            generated_at=_utc(row["generated_at"]),
                            run_id=row["run_id"],
                            parents=tuple(parents[i : i + 32] for i in range(0, len(parents), 32)),
                            external_id=row["external_id"],
                            text=row["text"],
                        )
                    )
        return found

    def run_info(self, run_id: int) -> dict[str, Any] | None:
        table = CaptureRunRow.__table__
        with self.read() as conn:
            row = conn.execute(select(table).where(table.c.id == run_id)).mappings().first()
        if row is None:
            return None
        info = dict(row)
        for key in ("started_at", "finished_at"):
            info[key] = _iso(info[key])
        return info

    def stats(self) -> dict[str, Any]:
        """Counts of what the store holds, by table and by source kind."""
        with self.read() as conn:
            by_kind = conn.execute(
                select(SourceRow.__table__.c.kind, func.count())
                .select_from(origins.join(SourceRow.__table__))
                .group_by(SourceRow.__table__.c.kind)
            ).all()
            by_role = conn.execute(select(origins.c.role, func.count()).group_by(origins.c.role)).all()
            counts = {
                name: conn.execute(select(func.count()).select_from(table)).scalar_one()
                for name, table in (
                    ("sources", SourceRow.__table__),
                    ("origins", origins),
                    ("datasets", DatasetRow.__table__),
                    ("capture_runs", CaptureRunRow.__table__),
                )
            }
            distinct = conn.execute(select(func.count(origins.c.fingerprint.distinct()))).scalar_one()
            span = conn.execute(select(func.min(origins.c.generated_at), func.max(origins.c.generated_at))).one()
        result: dict[str, Any] = {
            "store": self.location,
            "schema_version": self.schema_version,
            **counts,
            "distinct_fingerprints": distinct,
            "origins_by_kind": dict(sorted(by_kind)),
            "origins_by_role": dict(sorted(by_role)),
            "first_generated_at": _iso(span[0]),
            "last_generated_at": _iso(span[1]),
        }
        path = self._sqlite_path()
        if path is not None:
            result["size_bytes"] = sum(
                p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists()
            )
        return result


def _upgrade(conn: Connection) -> None:
    """Bring a store of an older schema version to this one, in one transaction. Every change so
    far only adds: version 2 added datasets' origin, derivations and dataset segments; version 3
    the near-duplicate sketches."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(7265312)"))
    if _meta_value(conn, "schema_version") == str(SCHEMA_VERSION):
        return  # another process upgraded it meanwhile
    columns = {c["name"] for c in inspect(conn).get_columns(DatasetRow.__tablename__)}
    if "origin" not in columns:
        conn.execute(text(f"ALTER TABLE {DatasetRow.__tablename__} ADD COLUMN origin TEXT"))
    metadata.create_all(conn, checkfirst=True)
    for index in origins.indexes:
        index.create(conn, checkfirst=True)
    conn.execute(
        StoreMeta.__table__.update().where(StoreMeta.__table__.c.key == "schema_version").values(value=str(SCHEMA_VERSION))
    )


def open_store(store: str | None = None, *, create: bool = False) -> Store:
    """Open the lineage store named by `store`, or the one the project uses.

    Without `store`, the location follows the usual order: `LINEAGE_STORE`, the project
    configuration, then `.lineage/lineage.db` found by walking up from the current directory.
    """
    from lineage.config import find_config
    from lineage.store.location import default_new_store, locate_store

    # Read (and so checked) even when `store` names the store: a typo in the settings is refused
    # by every command, not only by those that happen to need them.
    url = locate_store(store, config=find_config())
    if url is None:
        if not create:
            raise StoreNotFoundError(
                "no lineage store found here or in any parent folder",
                fix="run `lineage init`, or pass --store / set LINEAGE_STORE",
            )
        url = default_new_store()
    return Store.open(url, create=create)
