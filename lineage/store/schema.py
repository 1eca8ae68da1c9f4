"""The lineage store's tables.

Small, rare objects (sources, datasets, capture runs) are SQLModel classes used through the ORM or
Core as convenient. Origins are the hot table: millions of rows, written only through Core bulk
inserts (see `lineage.store.writes`).
"""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy import text as text_clause
from sqlmodel import Field, SQLModel

from lineage.store.version import SCHEMA_VERSION

__all__ = [
    "SCHEMA_VERSION", "CaptureRunRow", "DatasetRow", "DerivationRow", "SourceRow", "StoreMeta", "dataset_segments",
    "metadata", "origins", "sketch_bands", "sketches",
]

# One metadata object for the store, so that `create_all` only touches our tables in a shared
# PostgreSQL database.
metadata = SQLModel.metadata

# BigInteger ids on PostgreSQL, but SQLite only makes INTEGER PRIMARY KEY an alias of the rowid.
_BigId = BigInteger().with_variant(Integer(), "sqlite")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class StoreMeta(SQLModel, table=True):
    __tablename__ = "lineage_meta"

    key: str = Field(primary_key=True, max_length=64)
    value: str = Field(max_length=256)


class SourceRow(SQLModel, table=True):
    __tablename__ = "lineage_sources"

    id: int | None = Field(default=None, primary_key=True)
    # SourceSpec.key: kind|provider|model|channel|license|name. Unique, so concurrent imports that
    # meet the same new source agree on one row.
    key: str = Field(sa_column=Column(String(512), unique=True, nullable=False))
    kind: str = Field(max_length=32)
    provider: str | None = Field(default=None, max_length=128)
    model: str | None = Field(default=None, max_length=256)
    channel: str | None = Field(default=None, max_length=32)
    license: str | None = Field(default=None, max_length=256)
    name: str | None = Field(default=None, max_length=256)
    created_at: datetime = Field(default_factory=utcnow)


class DatasetRow(SQLModel, table=True):
    __tablename__ = "lineage_datasets"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=256)
    path: str | None = Field(default=None, sa_column=Column(Text))
    # sha256 of the file's bytes (or of a folder's files), hex.
    content_sha256: str = Field(sa_column=Column(String(64), index=True, nullable=False))
    format: str | None = Field(default=None, max_length=32)
    license: str | None = Field(default=None, max_length=256)
    # Where it came from: a URL, a Hugging Face repository id, a note (schema version 2).
    origin: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = Field(default_factory=utcnow)


class DerivationRow(SQLModel, table=True):
    """An edge of the lineage graph: dataset_id was made from parent_id by transform."""

    __tablename__ = "lineage_derivations"
    __table_args__ = (UniqueConstraint("dataset_id", "parent_id", name="uq_lineage_derivations_edge"),)

    id: int | None = Field(default=None, primary_key=True)
    dataset_id: int = Field(foreign_key="lineage_datasets.id", index=True)
    parent_id: int = Field(foreign_key="lineage_datasets.id", index=True)
    # mix | filter | dedupe | split | rewrite
    transform: str = Field(max_length=16)
    # The model (or people) a rewrite was made by, or who wrote the segments new in the dataset.
    by_source_id: int | None = Field(default=None, foreign_key="lineage_sources.id")
    created_at: datetime = Field(default_factory=utcnow)


class CaptureRunRow(SQLModel, table=True):
    __tablename__ = "lineage_capture_runs"

    id: int | None = Field(default=None, primary_key=True)
    # "import" for `lineage import`, "capture" for records made as outputs were generated,
    # "dataset" for `lineage dataset add` with a licence, "derive" for a derivation's new segments.
    kind: str = Field(max_length=16)
    # What was run: the import format and file, or the capture's description.
    description: str | None = Field(default=None, sa_column=Column(Text))
    dataset_id: int | None = Field(default=None, foreign_key="lineage_datasets.id")
    tool_version: str = Field(max_length=32)
    started_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None
    segments_seen: int = 0
    origins_added: int = 0
    records_skipped: int = 0


origins = Table(
    "lineage_origins",
    metadata,
    Column("id", _BigId, primary_key=True, autoincrement=True),
    Column("fingerprint", LargeBinary(32), nullable=False),
    Column("source_id", Integer, ForeignKey("lineage_sources.id"), nullable=False),
    # UTC, stored without a zone; None when the time of generation is not known.
    Column("generated_at", DateTime(), nullable=True),
    Column("role", String(16), nullable=False),
    Column("run_id", Integer, ForeignKey("lineage_capture_runs.id"), nullable=False),
    # Fingerprints of the segments this one was derived from (a translation, a paraphrase),
    # concatenated 32-byte digests.
    Column("parents", LargeBinary, nullable=True),
    # The provider's id for the call that produced it (request id, batch custom_id).
    Column("external_id", String(256), nullable=True),
    # Raw text only when the user asked for it: prompts may hold personal data.
    Column("text", Text, nullable=True),
    # One origin per text per source: re-importing adds nothing, while the same text from two
    # sources keeps both (the policy applies the stricter). Its leading column serves lookups.
    UniqueConstraint("fingerprint", "source_id", name="uq_lineage_origins_fingerprint_source"),
    # Few origins have parents, and lint looks all of those up: a partial index finds them alone.
    Index("ix_lineage_origins_with_parents", "fingerprint", sqlite_where=text_clause("parents IS NOT NULL"),
          postgresql_where=text_clause("parents IS NOT NULL")),
)

# Which segments a registered dataset holds, by fingerprint: what `lineage derive` matches a derived
# dataset's segments against, and what the lineage graph counts per source.
dataset_segments = Table(
    "lineage_dataset_segments",
    metadata,
    Column("dataset_id", Integer, ForeignKey("lineage_datasets.id"), nullable=False),
    Column("fingerprint", LargeBinary(32), nullable=False),
    Column("role", String(16), nullable=False),
    # True when a parent dataset holds it too: the segment came down the graph, not in here.
    Column("inherited", Boolean, nullable=False, default=False),
    PrimaryKeyConstraint("dataset_id", "fingerprint", name="pk_lineage_dataset_segments"),
)

# Near-duplicate sketches (lineage.neardup), for the recorded segments an import was asked to
# sketch: no text, only a MinHash signature per fingerprint, and its LSH band keys to find it by.
sketches = Table(
    "lineage_sketches",
    metadata,
    Column("fingerprint", LargeBinary(32), primary_key=True),
    # The signature's 32-bit values, little-endian.
    Column("signature", LargeBinary, nullable=False),
    # In SQLite, rows kept in the key's own tree: with a rowid, each would be stored twice.
    sqlite_with_rowid=False,
)
sketch_bands = Table(
    "lineage_sketch_bands",
    metadata,
    # An unsigned 64-bit band key, stored as the signed integer with the same bits.
    Column("band_key", BigInteger, nullable=False),
    Column("fingerprint", LargeBinary(32), nullable=False),
    PrimaryKeyConstraint("band_key", "fingerprint", name="pk_lineage_sketch_bands"),
    sqlite_with_rowid=False,
)
