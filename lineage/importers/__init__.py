"""`lineage import`: fill the store after the fact from files.

    from lineage.importers import import_paths
    result = import_paths(store, ["outputs.jsonl"], provider="anthropic", model="claude-sonnet-4-5")
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from lineage.exceptions import InputError, UsageError
from lineage.importers.base import FileImport, ImportOptions, ImportResult, run_import
from lineage.importers.converters import (
    SourceColumns,
    anthropic_batch,
    fixed_source,
    openai_batch,
    per_row_source,
    sniff_kind,
)
from lineage.importers.hf import card_source_fields
from lineage.licenses import normalise_license
from lineage.readers import (
    Record,
    check_regular_file,
    detect_format,
    expand_paths,
    is_saved_dataset,
    iter_records,
)
from lineage.segments import LAYOUTS, check_mapping
from lineage.sources import SourceSpec
from lineage.store.store import Store
from lineage.vocabulary import IMPORT_TYPES

__all__ = ["IMPORT_TYPES", "ImportRequest", "ImportResult", "import_paths"]


@dataclass
class ImportRequest:
    """Everything `lineage import` can be told, as a library call."""

    kind: str = "auto"
    # Source fields from flags: kind, provider, model, channel, license, name.
    source: dict[str, str | None] = field(default_factory=dict)
    columns: SourceColumns = field(default_factory=SourceColumns)
    generated_at: datetime | None = None
    layout: str | None = None
    mapping: Mapping[str, str] | None = None
    options: ImportOptions = field(default_factory=ImportOptions)


def import_paths(
    store: Store,
    paths: Sequence[str | Path],
    request: ImportRequest | None = None,
    *,
    progress: Callable[[int], None] | None = None,
    **source: str | None,
) -> ImportResult:
    """Import files, folders or globs into `store` in one transaction.

    Source fields may be passed as keywords (`provider=`, `model=`, `kind=`, `channel=`,
    `license=`, `name=`) instead of in `request.source`.
    """
    request = replace(request or ImportRequest())
    request.source = {**request.source, **source}
    if request.mapping:
        check_mapping(request.mapping)
    if request.layout is not None and request.layout not in LAYOUTS:
        raise UsageError(f"unknown layout {request.layout!r}", fix=f"use one of {', '.join(LAYOUTS)}")
    if request.kind not in IMPORT_TYPES:
        raise UsageError(f"unknown import type {request.kind!r}", fix=f"use one of {', '.join(IMPORT_TYPES)}")
    if request.source.get("license"):
        request.source["license"] = normalise_license(request.source["license"])
    files: list[FileImport] = []
    for given in paths:
        files.extend(_plan(Path(given), request))
    return run_import(store, files, request.options, progress=progress)


def _plan(path: Path, request: ImportRequest) -> list[FileImport]:
    """What to import from one path the user gave."""
    check_regular_file(path)
    if path.is_dir():
        # Flags that already name the dataset and its licence make the card unnecessary, which
        # is also the way round a broken one.
        named = request.source.get("name") and request.source.get("license")
        card = card_source_fields(path) if request.kind in ("auto", "hf", "dataset") and not named else {}
        if is_saved_dataset(path):
            return [_file(path, request, card, default_name=path.name)]
        targets = expand_paths([str(path)])
        if not targets:
            raise InputError("no dataset files in folder", where=str(path), fix="name the files to import")
        return [_file(target, request, card, default_name=path.name) for target in targets]
    if not path.exists() and any(ch in str(path) for ch in "*?["):
        return [_file(target, request, {}) for target in expand_paths([str(path)])]
    if not path.is_file():
        raise InputError("no such file or directory", where=str(path), fix="check the path")
    return [_file(path, request, {})]


def _file(
    path: Path, request: ImportRequest, card: Mapping[str, str | None], *, default_name: str | None = None
) -> FileImport:
    kind = request.kind
    if kind == "auto":
        kind = _sniff(path, request)
    fields = dict(request.source)
    generated_at = request.generated_at
    if kind == "openai-batch":
        _refuse_source_flags(fields, kind, allowed=("channel",))
        converter = openai_batch(channel=fields.get("channel") or "batch-api")
        return FileImport(path, converter, f"openai-batch {path}")
    if kind == "anthropic-batch":
        _refuse_source_flags(fields, kind, allowed=("channel",))
        converter = anthropic_batch(channel=fields.get("channel") or "batch-api", generated_at=generated_at)
        return FileImport(path, converter, f"anthropic-batch {path}")
    if card or kind == "hf":
        # A dataset folder: the card fills in what flags leave out; flags win.
        fields["kind"] = fields.get("kind") or "dataset"
        for key in ("name", "license"):
            if not fields.get(key):
                fields[key] = card.get(key) or (default_name if key == "name" else None)
    layout, mapping = request.layout, request.mapping
    if request.columns:
        base = SourceSpec.build(**fields) if _names_a_source(fields) else None
        converter = per_row_source(
            request.columns, base, fields, generated_at=generated_at, layout=layout, mapping=mapping
        )
        description = f"import {path} with source columns"
    else:
        if not _names_a_source(fields):
            raise UsageError(
                f"no source given for {path}",
                fix="pass --provider/--model (outputs of a model), --name/--license (a dataset), "
                "or --model-column (a column naming each row's model)",
            )
        spec = SourceSpec.build(**fields)
        converter = fixed_source(spec, generated_at=generated_at, layout=layout, mapping=mapping)
        description = f"import {path} as {spec.label()}"
    named = request.columns
    return FileImport(
        path, converter, description, dataset_name=fields.get("name") or default_name, dataset_license=fields.get("license"),
        columns=tuple(c for c in (named.model, named.provider, named.generated_at) if c),
    )


def _names_a_source(fields: Mapping[str, str | None]) -> bool:
    return any(fields.get(key) for key in ("provider", "model", "name"))


def _refuse_source_flags(fields: Mapping[str, str | None], kind: str, *, allowed: Sequence[str]) -> None:
    given = sorted(k for k, v in fields.items() if v and k not in allowed)
    if given:
        raise UsageError(
            f"{kind} files name their own model, so --{given[0]} does not apply",
            fix="drop the source flags, or pass --type dataset to import the file as a plain dataset",
        )


def _sniff(path: Path, request: ImportRequest) -> str:
    """Look at the first record of a JSONL file to tell a provider's batch file from a dataset.

    Provider batch results are always JSON Lines; other formats are datasets. Only the first
    non-blank line is read, however large the file.
    """
    fmt = request.options.input_format or (None if path.is_dir() else detect_format(path))
    if fmt != "jsonl":
        return "dataset"
    for record in iter_records(path, format="jsonl"):
        return sniff_kind(record.data) if isinstance(record, Record) else "dataset"
    return "dataset"
