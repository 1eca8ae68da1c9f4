"""The import engine: read records, attribute their segments to sources, write origins.

One import is one write transaction over every file it names: it lands whole or not at all.
Each kind of input (a dataset with its source given by flags or columns, a provider's batch
output file, a Hugging Face dataset) only supplies a converter from one record to attributed
segments; reading, counting, bad-record handling and writing are shared here.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, select, update

from lineage import __version__
from lineage.exceptions import InputError, LineageError
from lineage.fingerprints import fingerprint
from lineage.readers import BadRecord, detect_format, file_sha256, iter_records
from lineage.segments import COMPLETION_ROLES, Segment
from lineage.sources import SourceSpec
from lineage.store.schema import CaptureRunRow, DatasetRow, utcnow
from lineage.store.store import Store
from lineage.store.writes import OriginWriter, SketchWriter, SourceIds

# How many bad records an import lists by line; the rest are only counted.
MAX_LISTED_BAD = 20


@dataclass
class Attributed:
    """Segments of one record that came from one source."""

    source: SourceSpec | None
    segments: Sequence[Segment]
    generated_at: datetime | None = None
    external_id: str | None = None


class SkipRecord(Exception):
    """Raised by a converter for a well-formed record that holds nothing to import."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


Converter = Callable[[dict[str, Any]], Iterable[Attributed]]


@dataclass
class ImportOptions:
    prompt_source: SourceSpec | None = None
    # Attribute prompt-side segments to the record's source as well.
    all_segments: bool = False
    skip_bad: bool = False
    store_text: bool = False
    # Also store a near-duplicate sketch (no text) of every recorded completion-side segment.
    sketch: bool = False
    input_format: str | None = None
    # Called once for each distinct source the records name (from columns or a batch's
    # responses), with where it was first met; raises to refuse it (lineage.policy.names).
    check_source: Callable[[SourceSpec, str], None] | None = None


@dataclass
class FileImport:
    """What one file contributes to an import."""

    path: Path
    converter: Converter
    description: str
    dataset_name: str | None = None
    dataset_license: str | None = None
    # Columns the user named (--model-column, --provider-column, --time-column): one that no
    # record has is a mistake, not rows with no model.
    columns: tuple[str, ...] = ()


@dataclass
class ImportResult:
    files: list[str] = field(default_factory=list)
    records: int = 0
    segments_seen: int = 0
    origins_added: int = 0
    # Prompt-side segments left unrecorded because no prompt source was named.
    segments_unattributed: int = 0
    records_skipped: int = 0
    bad: list[tuple[str, int, str]] = field(default_factory=list)
    skip_reasons: Counter[str] = field(default_factory=Counter)
    sources: Counter[str] = field(default_factory=Counter)
    run_ids: list[int] = field(default_factory=list)
    # Near-duplicate sketches written (with ImportOptions.sketch).
    sketches_added: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "sketches_added": self.sketches_added,
            "files": self.files,
            "records": self.records,
            "segments_seen": self.segments_seen,
            "origins_added": self.origins_added,
            "segments_unattributed": self.segments_unattributed,
            "records_skipped": self.records_skipped,
            "bad_records": [{"path": p, "line": n, "error": e} for p, n, e in self.bad],
            "skip_reasons": dict(self.skip_reasons),
            "sources": dict(self.sources),
            "run_ids": self.run_ids,
        }


def run_import(
    store: Store,
    files: Sequence[FileImport],
    options: ImportOptions,
    *,
    progress: Callable[[int], None] | None = None,
) -> ImportResult:
    """Import `files` in one transaction and return what was done."""
    hashes = {item.path: file_sha256(item.path) for item in files}

    def write(conn: Connection) -> ImportResult:
        result = ImportResult()
        source_ids = SourceIds(conn)
        for item in files:
            _import_file(conn, item, hashes[item.path], options, source_ids, result, progress)
        return result

    return store.write(write)


def _import_file(
    conn: Connection,
    item: FileImport,
    sha256: str,
    options: ImportOptions,
    source_ids: SourceIds,
    result: ImportResult,
    progress: Callable[[int], None] | None,
) -> None:
    fmt = options.input_format or detect_format(item.path)
    dataset_id, new_dataset = _dataset_id(conn, item, sha256, fmt)
    runs = CaptureRunRow.__table__
    run_id = conn.execute(
        runs.insert().values(
            kind="import",
            description=item.description,
            dataset_id=dataset_id,
            tool_version=__version__,
            started_at=utcnow(),
        )
    ).inserted_primary_key[0]
    writer = OriginWriter(conn, run_id)
    sketcher = SketchWriter(conn) if options.sketch else None
    prompt_source = options.prompt_source
    all_segments = options.all_segments
    store_text = options.store_text
    convert = item.converter
    records = skipped = unattributed = 0
    per_source: Counter[int] = Counter()
    add = writer.add_row
    path_text = str(item.path)
    missing = set(item.columns)
    keys_seen: set[str] = set()
    first_bad: tuple[int, str] | None = None
    check_source = options.check_source
    checked: set[int] = set()
    if check_source is not None and prompt_source is not None:
        check_source(prompt_source, "--prompt-source")
    for record in iter_records(item.path, format=options.input_format):
        records += 1
        if progress is not None and records % 1000 == 0:
            progress(1000)
        if isinstance(record, BadRecord):
            skipped += 1
            first_bad = first_bad or (record.line, record.error)
            _bad(result, options, path_text, record.line, record.error)
            continue
        if missing:
            if len(keys_seen) < 200:
                keys_seen.update(str(k) for k in record.data)
            missing = {c for c in missing if not _has_column(record.data, c)}
        try:
            attributed = list(convert(record.data))
        except SkipRecord as exc:
            result.skip_reasons[exc.reason] += 1
            continue
        except LineageError as exc:
            skipped += 1
            first_bad = first_bad or (record.line, exc.what)
            _bad(result, options, path_text, record.line, exc.what, fix=exc.fix)
            continue
        except (ValueError, TypeError, AttributeError, KeyError) as exc:
            # A converter met a shape it does not expect; the record is bad, not the import.
            skipped += 1
            first_bad = first_bad or (record.line, f"unexpected record shape: {exc}")
            _bad(result, options, path_text, record.line, f"unexpected record shape: {exc}")
            continue
        for part in attributed:
            when = part.generated_at
            external = part.external_id
            source_id = source_ids(part.source) if part.source is not None else None
            if check_source is not None and source_id is not None and source_id not in checked:
                checked.add(source_id)
                check_source(part.source, f"{path_text}:{record.line}")
            for segment in part.segments:
                if all_segments or segment.role in COMPLETION_ROLES:
                    owner = source_id
                elif prompt_source is not None:
                    owner = source_ids(prompt_source)
                else:
                    unattributed += 1
                    continue
                if owner is None:
                    unattributed += 1
                    continue
                text = segment.text
                fp = fingerprint(text)
                add(fp, owner, segment.role, when, external, text if store_text else None)
                if sketcher is not None and segment.role in COMPLETION_ROLES:
                    sketcher.add(fp, text)
                per_source[owner] += 1
    # Nothing read is nothing to record: an error, and the transaction leaves the store as it was.
    if records == 0:
        raise InputError("no records", where=path_text, fix="the file is empty: add records, or leave it out")
    if records == skipped:
        line, error = first_bad or (0, "?")
        raise InputError(f"none of the {records} record(s) could be read (line {line}: {error})", where=path_text,
                         fix="check the file's format and encoding (UTF-8 JSON lines, JSON, CSV or Parquet)")
    if missing:
        column = sorted(missing)[0]
        from rapidfuzz import process

        close = process.extractOne(column, sorted(keys_seen), score_cutoff=50) if keys_seen else None
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise InputError(f"no record has the column {column!r}", where=path_text,
                         fix=f"{hint}the records have {', '.join(sorted(keys_seen)[:12]) or 'no columns'}")
    writer.flush()
    if sketcher is not None:
        sketcher.flush()
        result.sketches_added += sketcher.added
    for source_id, count in per_source.items():
        result.sources[source_ids.spec(source_id).label()] += count
    if progress is not None:
        progress(records % 1000)
    if writer.added == 0 and not (sketcher is not None and sketcher.added):
        # A re-import adds nothing, not even a record of having added nothing.
        conn.execute(runs.delete().where(runs.c.id == run_id))
        if new_dataset:
            conn.execute(DatasetRow.__table__.delete().where(DatasetRow.__table__.c.id == dataset_id))
        run_id = None
    else:
        conn.execute(
            update(runs)
            .where(runs.c.id == run_id)
            .values(
                finished_at=utcnow(),
                segments_seen=writer.seen,
                origins_added=writer.added,
                records_skipped=skipped,
            )
        )
    result.files.append(path_text)
    result.records += records
    result.segments_seen += writer.seen
    result.origins_added += writer.added
    result.segments_unattributed += unattributed
    result.records_skipped += skipped
    if run_id is not None:
        result.run_ids.append(run_id)


def _has_column(data: Any, name: str) -> bool:
    """Whether a record has the column (dotted names reach into nested objects), null or not."""
    value = data
    for part in name.split("."):
        if not isinstance(value, dict) or part not in value:
            return False
        value = value[part]
    return True


def _bad(
    result: ImportResult, options: ImportOptions, path: str, line: int, error: str, fix: str | None = None
) -> None:
    if not options.skip_bad:
        raise InputError(
            f"malformed record ({error})",
            where=f"{path} line {line}",
            fix=(fix + ", or pass --skip-bad" if fix else "fix that record, or pass --skip-bad to import the good ones"),
        )
    if len(result.bad) < MAX_LISTED_BAD:
        result.bad.append((path, line, error))


def _dataset_id(conn: Connection, item: FileImport, sha256: str, fmt: str) -> tuple[int, bool]:
    """The dataset row for this content under this name and licence, registered on first import;
    and whether it was registered now."""
    table = DatasetRow.__table__
    name = item.dataset_name or item.path.name
    license_column = table.c.license
    same_license = license_column.is_(None) if item.dataset_license is None else license_column == item.dataset_license
    found = conn.execute(
        select(table.c.id)
        .where(table.c.content_sha256 == sha256, table.c.name == name, same_license)
        .limit(1)
    ).scalar()
    if found is not None:
        return found, False
    return conn.execute(
        table.insert().values(
            name=name,
            path=str(item.path),
            content_sha256=sha256,
            format=fmt,
            license=item.dataset_license,
            created_at=utcnow(),
        )
    ).inserted_primary_key[0], True
