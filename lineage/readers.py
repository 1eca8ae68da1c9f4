"""Read training-data files as a stream of records.

`iter_records(path)` yields one `Record` per example, or a `BadRecord` for an example that cannot be
read (invalid JSON, invalid UTF-8, not a JSON object, too many CSV fields). Bad records are always
yielded, never dropped or raised: the caller decides whether one bad line fails the run or is only
reported. Problems with the file as a whole (missing, unknown format, a JSON document that does not
parse, a CSV file that is not UTF-8) raise `InputError`.
There is deliberately no `skip_bad` flag: a reader that drops bad records would hide them, and a
caller that wants only good ones filters with `isinstance(r, Record)`.

A `.json` file holds an array of objects; or one object, which is one record unless it is a
single-key wrapper of a list of objects (`{"data": [...]}`), whose items are then the records. A
single-key object holding a conversation (`{"messages": [...]}`, or any list of chat turns with
"role" or "from") is one record, not a wrapper.

What `line` means depends on the format. For the line formats (`LINE_FORMATS`) it is what an editor
shows, so a finding can point at it:

- JSONL / NDJSON (plain or gzipped): the 1-based physical line number. Blank lines are skipped but
  counted, so the numbers stay those of the file.
- JSON: the 1-based index of the element in the top-level array (or in the wrapped list of
  `{"data": [...]}`); 1 for a file holding a single object. A `.json` file that is really JSONL is
  read as JSONL, with physical line numbers.
- CSV: the 1-based line number of the row's first line in the file. The header is line 1, so the
  first data row is line 2; a row with a quoted newline spans several lines and the next row's number
  skips accordingly.

For the columnar formats (Parquet, Arrow IPC, Hugging Face `save_to_disk` folders) `line` is the
0-based row index, counted per split for a `DatasetDict` (`Record.split` names the split).

Memory is bounded by `batch_size` rows (columnar formats) or one line (JSONL, CSV), not by the file
size. The exception is a JSON array, which is parsed whole: convert large files to JSONL.

pyarrow and datasets are imported only when a file needs them, so that linting a small JSONL file
(e.g. from a pre-commit hook) starts fast.
"""

from __future__ import annotations

import csv
import glob
import gzip
import hashlib
import itertools
import json
import os
import stat
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import orjson

from lineage.exceptions import InputError, UsageError

__all__ = [
    "DATASET_EXTENSIONS",
    "FORMATS",
    "LINE_FORMATS",
    "BadRecord",
    "Record",
    "check_regular_file",
    "detect_format",
    "expand_paths",
    "file_sha256",
    "iter_jsonl_range",
    "iter_parquet_groups",
    "iter_records",
    "jsonl_chunks",
    "parquet_chunks",
]

DATASET_EXTENSIONS = (".jsonl", ".jsonl.gz", ".ndjson", ".json", ".json.gz", ".csv", ".parquet", ".arrow")
# The names of Hugging Face datasets' metadata files: those `datasets` leaves out of a repository's
# data files, and the state.json of a save_to_disk folder.
METADATA_NAMES = frozenset({"config.json", "dataset_info.json", "dataset_infos.json", "dataset_dict.json", "state.json"})
# Metadata is a few kilobytes; a file this large with such a name is taken for data.
_METADATA_MAX_BYTES = 1 << 20
# Formats whose `line` is a 1-based line number (or element index); the others give a 0-based row index.
LINE_FORMATS = frozenset({"jsonl", "json", "csv"})

_SUFFIX_FORMATS = (
    # Longest suffixes first, so that ".jsonl.gz" is not taken for ".gz" of something else.
    (".jsonl.gz", "jsonl"),
    (".ndjson.gz", "jsonl"),
    (".json.gz", "json"),
    (".jsonl", "jsonl"),
    (".ndjson", "jsonl"),
    (".json", "json"),
    (".csv", "csv"),
    (".parquet", "parquet"),
    (".arrow", "arrow"),
)
_BOM = b"\xef\xbb\xbf"
_GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 1 << 20
_HF_FIX = "reinstall tos-lineage: pyarrow and datasets are its dependencies"
_UTF8_FIX = "re-encode the file as UTF-8 (e.g. iconv -f latin1 -t utf-8)"
# Keys under which a single-key JSON object holds one conversation rather than a list of records:
# `{"messages": [...]}` is one chat example, `{"data": [...]}` is a wrapped list of examples.
_CONVERSATION_KEYS = frozenset(
    {"messages", "conversations", "conversation", "chat", "dialogue", "dialog", "turns"}
)


class Record(NamedTuple):
    # A named tuple: one is made per example, and nothing changes one once it is read.
    path: str  # the file as the user named it
    line: int  # see the module docstring
    data: dict[str, Any]
    split: str | None = None  # the split of a Hugging Face DatasetDict folder


@dataclass(slots=True)
class BadRecord:
    path: str
    line: int
    error: str  # short: what is wrong with this record
    split: str | None = None


# ---------------------------------------------------------------------------------------------------
# Format detection and path expansion


def is_saved_dataset(path: Path) -> bool:
    """A folder written by `Dataset.save_to_disk` or `DatasetDict.save_to_disk`."""
    return (path / "dataset_dict.json").is_file() or (
        (path / "dataset_info.json").is_file() and (path / "state.json").is_file()
    )


def _format_from_name(name: str) -> str | None:
    lower = name.lower()
    for suffix, fmt in _SUFFIX_FORMATS:
        if lower.endswith(suffix):
            return fmt
    return None


def _directory_error(p: Path) -> InputError:
    return InputError(
        "a directory, not a dataset file",
        where=str(p),
        fix="name the data files in it, or a glob such as 'data/**/*.jsonl'",
    )


def check_regular_file(path: str | os.PathLike[str]) -> None:
    """Refuse a named pipe, socket or device given as a file: opening a FIFO waits for a writer
    that may never come, and what it yields is gone once read, so it can be neither hashed nor
    read twice. A missing path, a directory or a regular file pass (the caller says what fits)."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return
    kind = ("a named pipe (FIFO)" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode)
            else "a device")
    raise InputError(f"{kind}, not a regular file", where=os.fspath(path),
                     fix="save what it carries to a file and name that file")


def detect_format(path: str | os.PathLike[str]) -> str:
    """The format of a file or folder: one of `FORMATS`. Raises InputError if it cannot tell."""
    p = Path(path)
    check_regular_file(p)
    if p.is_dir():
        if is_saved_dataset(p):
            return "hf-disk"
        raise _directory_error(p)
    if not p.exists():
        raise InputError("no such file", where=str(p), fix="check the path")
    fmt = _format_from_name(p.name)
    if fmt is None:
        raise InputError(
            "unknown file format",
            where=str(p),
            fix="use one of .jsonl, .json, .csv, .parquet, .arrow, or pass --input-format",
        )
    return fmt


def _has_extension(name: str, extensions: tuple[str, ...]) -> bool:
    lower = name.lower()
    return any(lower.endswith(ext) for ext in extensions)


def is_metadata_file(path: Path) -> bool:
    """A file with a metadata file's name (METADATA_NAMES) that holds one JSON object, not rows
    nor a `{"data": [...]}` wrapper: a folder or repository searched for data leaves it out.
    Anything else with such a name is read as data, so that no rows escape the lint unseen."""
    if path.name not in METADATA_NAMES:
        return False
    try:
        if path.stat().st_size > _METADATA_MAX_BYTES:
            return False
        value = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError):  # read as data, and its errors reported there
        return False
    return isinstance(value, dict) and not isinstance(value.get("data"), list)


def _walk(root: Path, extensions: tuple[str, ...]) -> list[Path]:
    """Dataset files under `root`, sorted. A save_to_disk folder is one dataset, so it is listed as a
    whole and not entered (its state.json and .arrow shards are not separate datasets). Hidden files
    and directories (.git, .venv, .lineage) and metadata files (`is_metadata_file`) are skipped."""
    if is_saved_dataset(root):
        return [root]
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        keep = []
        for d in dirnames:
            if d.startswith("."):
                continue
            if is_saved_dataset(here / d):
                found.append(here / d)
            else:
                keep.append(d)
        dirnames[:] = keep
        found.extend(here / f for f in filenames
                     if not f.startswith(".") and _has_extension(f, extensions) and not is_metadata_file(here / f))
    return sorted(found)


def expand_paths(
    paths: Iterable[str | os.PathLike[str]], *, extensions: tuple[str, ...] = DATASET_EXTENSIONS
) -> list[Path]:
    """Turn command-line arguments into the dataset files (and save_to_disk folders) to read.

    A file is taken as given, whatever its extension, and so is a file a glob pattern matches
    (`data/**/*.jsonl`, `**` spanning directories), as the shell would have expanded it. A directory,
    named or matched, is searched recursively for files with one of `extensions`; a Hugging Face
    save_to_disk folder is returned whole. Paths keep the user's spelling (relative stays relative),
    come in the order of the arguments, sorted within each directory or pattern, and each appears
    once.
    """
    out: list[Path] = []
    seen: set[Path] = set()
    for arg in paths:
        text = os.path.expanduser(os.fspath(arg))
        if glob.has_magic(text):
            matches = [Path(m) for m in sorted(glob.glob(text, recursive=True))]
        elif os.path.exists(text):
            matches = [Path(text)]
        else:
            matches = []
        if not matches:
            raise InputError(
                "no such file or directory", where=text, fix="check the path or the glob pattern"
            )
        found: list[Path] = []
        for m in matches:
            check_regular_file(m)
            if m.is_dir():
                found.extend(_walk(m, extensions))
            else:
                found.append(m)
        if not found:
            raise InputError(
                "no dataset files found",
                where=text,
                fix=f"expected files ending in {', '.join(extensions)}",
            )
        for f in found:
            if f not in seen:
                seen.add(f)
                out.append(f)
    return out


# ---------------------------------------------------------------------------------------------------
# Hashing


def _hash_file_into(h: Any, path: Path) -> None:
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)


def file_sha256(path: str | os.PathLike[str]) -> str:
    """Hex sha256 of a file's bytes. For a directory (a save_to_disk folder), a hash over the sorted
    relative paths and contents of its files (hidden files such as .DS_Store left out), so it is the
    same wherever and on whichever OS the folder lies, and changes when any file is added, removed,
    renamed or edited."""
    p = Path(path)
    check_regular_file(p)
    if p.is_file():
        h = hashlib.sha256()
        _hash_file_into(h, p)
        return h.hexdigest()
    if not p.is_dir():
        raise InputError("no such file", where=str(p), fix="check the path")
    files = []
    for dirpath, dirnames, filenames in os.walk(p):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        files.extend(Path(dirpath, f) for f in filenames if not f.startswith("."))
    h = hashlib.sha256(b"lineage-dir-v1\0")
    for rel, full in sorted((f.relative_to(p).as_posix(), f) for f in files):
        # Name and per-file digest, length-delimited by construction: no two folders collide by
        # moving bytes between a name and a content.
        fh = hashlib.sha256()
        _hash_file_into(fh, full)
        h.update(rel.encode("utf-8") + b"\0" + fh.digest())
    return h.hexdigest()


# ---------------------------------------------------------------------------------------------------
# Readers: one per format. Each takes (path, name, batch_size) and yields Record | BadRecord.

_TYPE_NAMES = {list: "a list", str: "a string", int: "a number", float: "a number", bool: "a boolean"}


def _not_an_object(value: object) -> str:
    return f"expected a JSON object, got {_TYPE_NAMES.get(type(value), 'null')}"


def _utf8_error(raw: bytes) -> UnicodeDecodeError | None:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc
    return None


def _open_binary(path: Path) -> Any:
    """A binary file object, decompressed if the file is gzipped. Gzip is told by the magic bytes,
    not the name, so that a gzipped file without .gz, or a .gz that is not gzipped, is read right."""
    try:
        with open(path, "rb") as f:
            magic = f.read(2)
        return gzip.open(path, "rb") if magic == _GZIP_MAGIC else open(path, "rb")
    except OSError as exc:
        raise InputError(
            f"cannot open the file ({exc.strerror or exc})",
            where=str(path),
            fix="check the path and its permissions",
        ) from None


# Byte-order marks of the encodings a text file may be saved in other than UTF-8; the UTF-32
# ones first, since UTF-32-LE's begins with UTF-16-LE's.
_WIDE_BOMS = (
    (b"\xff\xfe\x00\x00", "UTF-32", "little-endian"), (b"\x00\x00\xfe\xff", "UTF-32", "big-endian"),
    (b"\xff\xfe", "UTF-16", "little-endian"), (b"\xfe\xff", "UTF-16", "big-endian"),
)
TEXT_FORMATS = frozenset({"jsonl", "json", "csv"})


def wide_encoding(head: bytes) -> tuple[str, str] | None:
    """For the first four bytes of a text file saved as UTF-16 or UTF-32, what it is in words
    and the name iconv knows it by; None for anything else (UTF-8 has no NUL in JSON, CSV or YAML)."""
    for bom, encoding, order in _WIDE_BOMS:
        if head.startswith(bom):
            return f"{encoding} ({order}, with a byte-order mark)", encoding
    if b"\x00" not in head:
        return None
    wide = "UTF-32" if head[1:3] == b"\x00\x00" or head[:3] == b"\x00\x00\x00" else "UTF-16"
    # Without a mark iconv must be told the byte order: ASCII's high byte, NUL, comes first in big-endian.
    encoding = wide + ("BE" if head[:1] == b"\x00" else "LE")
    return f"{wide} ({'big' if encoding.endswith('BE') else 'little'}-endian, no byte-order mark)", encoding


def check_text_encoding(path: str | os.PathLike[str]) -> None:
    """Refuse a text file saved as UTF-16 or UTF-32 (a byte-order mark, or NUL bytes where
    UTF-8 JSON and CSV have none) in one line that says how to convert it: read as UTF-8, every
    record would be malformed, and an editor's "Unicode" is often UTF-16."""
    p = Path(path)
    try:
        with _open_binary(p) as f:
            head = f.read(4)
    except (InputError, OSError, EOFError, zlib.error):
        return  # the reader says what is wrong with the file itself
    wide = wide_encoding(head)
    if wide is None:
        return
    found, encoding = wide
    gzipped = p.name.endswith(".gz")
    stem = p.name.removesuffix(".gz")
    out = f"{Path(stem).stem}.utf8{Path(stem).suffix}" + (".gz" if gzipped else "")
    command = (f"gzip -dc {p.name} | iconv -f {encoding} -t UTF-8 | gzip > {out}" if gzipped
               else f"iconv -f {encoding} -t UTF-8 {p.name} > {out}")
    raise InputError(f"the file is {found}, not UTF-8", where=str(p), fix=f"convert it to UTF-8, e.g. {command}")


def _read_error(exc: BaseException, name: str) -> InputError:
    # A truncated or corrupt gzip stream, or an I/O error part-way through.
    return InputError(f"cannot read the file ({exc})", where=name, fix="check the file is complete")


_BLANK = object()


def _bad_json_line(raw: bytes, first: bool) -> tuple[object, str | None]:
    """The slow path for a line orjson rejected: (parsed value, None) once a BOM is removed,
    (_BLANK, None) for a blank line to skip, or (None, what is wrong)."""
    if first and raw.startswith(_BOM):
        raw = raw[len(_BOM) :]
        try:
            return orjson.loads(raw), None
        except orjson.JSONDecodeError:
            pass
    if not raw.strip():
        return _BLANK, None
    bad = _utf8_error(raw)
    if bad is not None:
        column = len(raw[: bad.start].decode("utf-8")) + 1
        return None, f"not valid UTF-8 (byte 0x{raw[bad.start]:02x} at column {column})"
    try:
        orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        try:
            # orjson refuses integers beyond 64 bits, which JSON allows; the standard parser takes them.
            value = json.loads(raw.decode("utf-8"))
        except ValueError:
            return None, f"invalid JSON ({exc.msg} at column {exc.colno})"
        except RecursionError:
            return None, "invalid JSON (nested too deeply)"
        # It also takes a lone UTF-16 surrogate escape ("\ud800"), which is no text: nothing can hash it.
        if _has_surrogate(value):
            return None, "invalid JSON (a lone UTF-16 surrogate escape, which is not text)"
        return value, None
    raise AssertionError("unreachable: the line parsed on the second try")


def _has_surrogate(value: object) -> bool:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return True
        return False
    if isinstance(value, dict):
        return any(_has_surrogate(k) or _has_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_surrogate(v) for v in value)
    return False


def _read_jsonl(path: Path, name: str, batch_size: int) -> Iterator[Record | BadRecord]:
    with _open_binary(path) as f:
        try:
            yield from _parse_jsonl(f, name, 1)
        except (OSError, EOFError, zlib.error) as exc:
            raise _read_error(exc, name) from None


def _parse_jsonl(
    lines: Iterable[bytes], name: str, first_line: int, *, file_start: bool = True
) -> Iterator[Record | BadRecord]:
    """Records of JSON lines numbered from `first_line`; `file_start`: whether the first of them
    opens the file, the one line that may carry a byte-order mark."""
    # The hot path: one orjson.loads on the raw bytes per line, no decode, no strip. Blank lines,
    # a BOM and bad lines all fail that parse, so they cost nothing until they occur.
    loads, decode_error, new = orjson.loads, orjson.JSONDecodeError, tuple.__new__
    for lineno, raw in enumerate(lines, first_line):
        try:
            value = loads(raw)
        except decode_error:
            value, error = _bad_json_line(raw, file_start and lineno == first_line)
            if error is not None:
                yield BadRecord(name, lineno, error)
                continue
            if value is _BLANK:
                continue
        if type(value) is dict:
            # tuple.__new__ skips the named tuple's Python-level constructor, once per line.
            yield new(Record, (name, lineno, value, None))
        else:
            yield BadRecord(name, lineno, _not_an_object(value))


def jsonl_chunks(path: str | os.PathLike[str], parts: int, *, min_size: int = 1 << 20) -> Iterator[tuple[int, int, int]]:
    """Split an uncompressed JSONL file into about `parts` byte ranges that start at line starts.

    Yields `(start, end, first_line)` triples, `first_line` being the 1-based number of the
    range's first line, so that a reader of one range reports the file's own line numbers. Lazily:
    a range's first line is known once the lines before it are counted, and the ranges already
    yielded can be linted meanwhile.
    """
    bounds = jsonl_bounds(path, parts, min_size=min_size)
    with open(path, "rb") as f:
        line = 1
        for start, end in itertools.pairwise(bounds):
            yield (start, end, line)
            f.seek(start)
            line += f.read(end - start).count(b"\n")


def jsonl_bounds(path: str | os.PathLike[str], parts: int, *, min_size: int = 1 << 20, taper: int = 0) -> list[int]:
    """The byte offsets that cut an uncompressed JSONL file into about `parts` ranges at line
    starts: `[0, ..., size]`. Cheap: a seek and a line read per cut.

    With `taper` (a number of processes taking the ranges in turn), the ranges of the file's
    last part shrink, each at most a 2 * taper-th of what is left (down to `min_size`): the
    processes then run out of work within a small range of each other, not a whole one apart.
    """
    p = Path(path)
    size = p.stat().st_size
    if parts <= 1 or size < 2 * min_size:
        return [0, size]
    step = max(size // parts, min_size)
    bounds = [0]
    with open(p, "rb") as f:
        while True:
            want = min(step, max((size - bounds[-1]) // (2 * taper), min_size)) if taper else step
            if bounds[-1] + want >= size:
                break
            f.seek(bounds[-1] + want)
            f.readline()  # to the start of the next line
            position = f.tell()
            if position >= size:
                break
            bounds.append(position)
    bounds.append(size)
    return bounds


def iter_jsonl_range(path: str | os.PathLike[str], start: int, end: int, first_line: int) -> Iterator[Record | BadRecord]:
    """The records of one byte range of a JSONL file (from `jsonl_chunks`)."""
    p = Path(path)

    def lines(f: Any) -> Iterator[bytes]:
        position = start
        for raw in f:
            if position >= end:
                return
            position += len(raw)
            yield raw

    try:
        with open(p, "rb") as f:
            f.seek(start)
            yield from _parse_jsonl(lines(f), str(p), first_line, file_start=start == 0)
    except OSError as exc:
        raise _read_error(exc, str(p)) from None


def looks_like_jsonl(path: Path) -> bool:
    """True if the first non-blank line is a whole JSON object and another non-blank line follows.

    Reads two lines, not the file, so that a big JSONL file named .json is streamed rather than loaded
    first and failed on. A single object on one line is not JSONL here, so that a minified
    `{"data": [...]}` is still unwrapped."""
    with _open_binary(path) as f:
        first = None
        for raw in f:
            if first is None:
                if raw.strip():
                    first = raw.removeprefix(_BOM)
                    try:
                        if type(orjson.loads(first)) is not dict:
                            return False
                    except orjson.JSONDecodeError:
                        return False
            elif raw.strip():
                return True
    return False


def _position(data: bytes, pos: int) -> tuple[int, int]:
    line = data.count(b"\n", 0, pos) + 1
    start = data.rfind(b"\n", 0, pos) + 1
    return line, len(data[start:pos].decode("utf-8", errors="replace")) + 1


def _unwrap(value: object) -> list[Any] | None:
    """The list of records in a JSON document, or None for a single record."""
    if isinstance(value, list):
        return value
    if isinstance(value, dict) and len(value) == 1:
        ((key, inner),) = value.items()
        if (
            isinstance(inner, list)
            and all(isinstance(item, dict) for item in inner)
            and key.lower() not in _CONVERSATION_KEYS
            # Chat turns ({"role": ..., "content": ...}, ShareGPT's {"from": ..., "value": ...}) are
            # one example, whatever the key they sit under.
            and not (inner and ("role" in inner[0] or "from" in inner[0]))
        ):
            return inner
    return None


def _read_json(path: Path, name: str, batch_size: int) -> Iterator[Record | BadRecord]:
    try:
        if looks_like_jsonl(path):
            yield from _read_jsonl(path, name, batch_size)
            return
        # A JSON document has to be parsed whole: memory is the size of the file.
        with _open_binary(path) as f:
            data = f.read()
    except (OSError, EOFError, zlib.error) as exc:
        raise _read_error(exc, name) from None
    data = data.removeprefix(_BOM)
    if not data.strip():
        return  # no records, as an empty JSONL file has none: the caller says what that means
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        bad = _utf8_error(data)
        if bad is not None:
            line, column = _position(data, bad.start)
            raise InputError("not valid UTF-8", where=f"{name}:{line}:{column}", fix=_UTF8_FIX) from None
        raise InputError(
            f"invalid JSON ({exc.msg})",
            where=f"{name}:{exc.lineno}:{exc.colno}",
            fix="fix the JSON or convert the file to JSONL",
        ) from None
    items = _unwrap(value)
    if items is None:
        if not isinstance(value, dict):
            raise InputError(
                f"expected a JSON array or object at the top level, got {_TYPE_NAMES.get(type(value), 'null')}",
                where=name,
                fix="put the records in a JSON array, or one object per line in a .jsonl file",
            )
        items = [value]
    for index, item in enumerate(items, 1):
        if type(item) is dict:
            yield Record(name, index, item)
        else:
            yield BadRecord(name, index, _not_an_object(item))


def _first_bad_utf8_line(path: Path) -> int:
    # A newline byte never occurs inside a multi-byte UTF-8 sequence, so lines can be checked alone.
    with open(path, "rb") as f:
        for lineno, raw in enumerate(f, 1):
            if _utf8_error(raw) is not None:
                return lineno
    return 0


def _raise_csv_limit() -> None:
    # The csv module refuses fields over 128 KiB by default; a training document easily is. The
    # limit is process-wide, and only raised, never lowered. 2**31 - 1 fits a C long everywhere.
    if csv.field_size_limit() < 2**31 - 1:
        csv.field_size_limit(2**31 - 1)


def _read_csv(path: Path, name: str, batch_size: int) -> Iterator[Record | BadRecord]:
    _raise_csv_limit()
    # csv.reader rather than DictReader: DictReader skips blank rows without saying so, which makes
    # a row's first line number impossible to know; and it hides extra fields under a None key.
    try:
        f = open(path, encoding="utf-8-sig", newline="")  # noqa: SIM115 - closed by the with below
    except OSError as exc:
        raise InputError(
            f"cannot open the file ({exc.strerror or exc})",
            where=name,
            fix="check the path and its permissions",
        ) from None
    with f:
        reader = csv.reader(f)
        try:
            header = next(reader, None)
            while header == []:  # blank lines before the header
                header = next(reader, None)
            if header is None:
                return
            width = len(header)
            end = reader.line_num  # last line consumed so far
            for row in reader:
                start, end = end + 1, reader.line_num
                if not row:
                    continue  # blank line
                if len(row) > width:
                    yield BadRecord(name, start, f"{len(row)} fields, but the header has {width}")
                    continue
                data = dict(zip(header, row, strict=False))  # short rows: filled below
                if len(row) < width:
                    # As DictReader does: missing trailing fields are None, not "".
                    data.update(dict.fromkeys(header[len(row) :]))
                yield Record(name, start, data)
        except UnicodeDecodeError:
            line = _first_bad_utf8_line(path)
            what = f"not valid UTF-8 near line {line}" if line else "not valid UTF-8"
            raise InputError(what, where=name, fix=_UTF8_FIX) from None
        except csv.Error as exc:
            raise InputError(
                f"malformed CSV ({exc})",
                where=f"{name}:{reader.line_num}",
                fix="fix the CSV or convert it to JSONL",
            ) from None


def _import_pyarrow(what: str) -> Any:
    try:
        import pyarrow
    except ImportError:
        raise InputError(f"reading {what} needs pyarrow", fix=_HF_FIX) from None
    return pyarrow


def open_parquet(path: Path, name: str) -> Any:
    """A `pyarrow.parquet.ParquetFile`; InputError if the file is not one."""
    pa = _import_pyarrow("Parquet")
    import pyarrow.parquet as pq

    try:
        return pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as exc:
        raise InputError(
            f"not a readable Parquet file ({exc})", where=name, fix="check the file is complete"
        ) from None


def _read_parquet(path: Path, name: str, batch_size: int) -> Iterator[Record | BadRecord]:
    pa = _import_pyarrow("Parquet")
    pf = open_parquet(path, name)
    row = 0
    try:
        for batch in pf.iter_batches(batch_size=batch_size):
            for data in batch.to_pylist():
                yield Record(name, row, data)
                row += 1
    except (pa.ArrowException, OSError) as exc:
        raise _read_error(exc, name) from None


def parquet_chunks(path: str | os.PathLike[str], parts: int) -> list[tuple[int, int, int]]:
    """Split a Parquet file into about `parts` runs of whole row groups.

    Returns `(first group, end group, first row)` triples, `first row` being the 0-based index of
    the run's first row in the file, so that a reader of one run reports the file's row numbers.
    """
    _import_pyarrow("Parquet")
    import pyarrow.parquet as pq

    try:
        metadata = pq.ParquetFile(path).metadata
    except Exception as exc:  # pyarrow raises several kinds for a file that is not Parquet
        raise InputError(f"not a readable Parquet file ({exc})", where=str(path), fix="check the file is complete") from None
    groups = metadata.num_row_groups
    step = max(1, -(-groups // max(parts, 1)))
    chunks, row = [], 0
    for start in range(0, groups, step):
        end = min(start + step, groups)
        chunks.append((start, end, row))
        row += sum(metadata.row_group(g).num_rows for g in range(start, end))
    return chunks or [(0, 0, 0)]


def iter_parquet_groups(
    path: str | os.PathLike[str], start: int, end: int, first_row: int, *, batch_size: int = 10_000
) -> Iterator[Record | BadRecord]:
    """The records of row groups `start` to `end` (exclusive) of a Parquet file (from `parquet_chunks`)."""
    pa = _import_pyarrow("Parquet")
    import pyarrow.parquet as pq

    name = str(path)
    row = first_row
    try:
        for batch in pq.ParquetFile(path).iter_batches(batch_size=batch_size, row_groups=range(start, end)):
            for data in batch.to_pylist():
                yield Record(name, row, data)
                row += 1
    except (pa.ArrowException, OSError) as exc:
        raise _read_error(exc, name) from None


def _read_arrow(path: Path, name: str, batch_size: int) -> Iterator[Record | BadRecord]:
    pa = _import_pyarrow("Arrow files")
    import pyarrow.ipc as ipc

    with pa.memory_map(str(path)) as source:
        # Hugging Face cache and save_to_disk shards are the IPC stream format; try the file format
        # (Feather v2) after it.
        try:
            batches = iter(ipc.open_stream(source))
        except pa.ArrowInvalid:
            source.seek(0)
            try:
                reader = ipc.open_file(source)
            except pa.ArrowInvalid as exc:
                raise InputError(
                    f"not an Arrow IPC stream or file ({exc})", where=name, fix="check the file is complete"
                ) from None
            batches = (reader.get_batch(i) for i in range(reader.num_record_batches))
        row = 0
        try:
            for batch in batches:
                # Batches in the file can be of any size; slice them so memory follows batch_size.
                for offset in range(0, batch.num_rows, batch_size):
                    for data in batch.slice(offset, batch_size).to_pylist():
                        yield Record(name, row, data)
                        row += 1
        except (pa.ArrowException, OSError) as exc:
            raise _read_error(exc, name) from None


def _read_hf_disk(path: Path, name: str, batch_size: int) -> Iterator[Record | BadRecord]:
    try:
        import datasets
    except ImportError:
        raise InputError("reading a Hugging Face dataset folder needs datasets", fix=_HF_FIX) from None
    try:
        loaded = datasets.load_from_disk(str(path))
    except Exception as exc:  # datasets raises many kinds for a broken folder
        raise InputError(
            f"cannot load the dataset folder ({exc})", where=name, fix="check the folder is complete"
        ) from None
    if isinstance(loaded, datasets.DatasetDict):
        # The order the splits were saved in, as dataset_dict.json lists them.
        saved = json.loads((path / "dataset_dict.json").read_text(encoding="utf-8"))
        order = saved.get("splits") or list(loaded)
        splits = [(split, loaded[split]) for split in order if split in loaded]
    else:
        splits = [(None, loaded)]
    for split, ds in splits:
        row = 0
        # The "arrow" format gives the stored values: no decoding of Image or Audio features, which
        # lineage does not need and which is slow.
        for table in ds.with_format("arrow").iter(batch_size=batch_size):
            for data in table.to_pylist():
                yield Record(name, row, data, split)
                row += 1


_READERS: dict[str, Callable[[Path, str, int], Iterator[Record | BadRecord]]] = {
    "jsonl": _read_jsonl,
    "json": _read_json,
    "csv": _read_csv,
    "parquet": _read_parquet,
    "arrow": _read_arrow,
    "hf-disk": _read_hf_disk,
}
FORMATS = tuple(_READERS)


def iter_records(
    path: str | os.PathLike[str], *, format: str | None = None, batch_size: int = 10_000
) -> Iterator[Record | BadRecord]:
    """Records of one file (or save_to_disk folder), in file order.

    `format` forces a format (one of `FORMATS`) instead of detecting it from the name. Problems with
    the file itself (missing, unknown format) raise InputError here, before iteration starts;
    problems found while reading raise InputError from the iterator; bad records are yielded as
    `BadRecord` and the caller decides what to do with them.
    """
    if batch_size < 1:
        raise UsageError(f"batch_size must be at least 1, not {batch_size}")
    p = Path(path)
    check_regular_file(p)
    if format is None:
        format = detect_format(p)
    elif format not in _READERS:
        raise UsageError(f"unknown input format {format!r}", fix=f"use one of {', '.join(FORMATS)}")
    elif not p.exists():
        raise InputError("no such file", where=str(p), fix="check the path")
    elif format == "hf-disk" and not p.is_dir():
        raise InputError(
            "not a Hugging Face dataset folder", where=str(p), fix="pass the folder save_to_disk wrote"
        )
    elif format != "hf-disk" and p.is_dir():
        raise _directory_error(p)
    if format in TEXT_FORMATS:
        check_text_encoding(p)
    return _READERS[format](p, str(p), batch_size)
