"""JSONL and Parquet files read as blocks of rows in Arrow form, for columnar fast paths.

A `Rows` block holds a few megabytes of rows as an Arrow table and knows where its first row
sits. A reader that can work on columns (lint, on plain chat datasets) takes the table as it is;
any other reader asks the block for `records()`, which are exactly what `lineage.readers` gives for
the same rows: the same values, line numbers and malformed-record errors.

JSONL is parsed by pyarrow only where that cannot differ from the row reader: a block with a line
that does not open with `{` and end with `}` (a blank line, a byte-order mark, an object across
lines), bytes that are not UTF-8, more rows than lines, or that pyarrow refuses (a lone escaped
surrogate, which the row reader takes, among them), is parsed line by line. Without pyarrow every block is raw bytes.
"""

from __future__ import annotations

import io
import os
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lineage.readers import (
    BadRecord,
    Record,
    _open_binary,
    _parse_jsonl,
    _read_error,
    open_parquet,
)

# Bytes of JSONL per block: big enough that per-block costs vanish, small enough to bound memory.
BLOCK_BYTES = 8 << 20


@dataclass
class Rows:
    """A block of rows: an Arrow table when one could be read, and for JSONL the raw bytes."""

    path: str
    first: int  # line (JSONL) or 0-based row index (Parquet, datasets) of the first row
    table: Any = None
    raw: bytes | None = None
    split: str | None = None
    # JSONL: the newlines in `raw`, so that a reader of a byte range knows the lines it read; and
    # whether `raw` opens the file (only there may a line start with a byte-order mark).
    lines: int = 0
    file_start: bool = False

    @property
    def size(self) -> int:
        return self.table.num_rows if self.table is not None else self.raw.count(b"\n")  # type: ignore[union-attr]

    def records(self) -> Iterator[Record | BadRecord]:
        """The rows as records, as `lineage.readers` reads them."""
        if self.raw is not None:
            # From the bytes even when pyarrow read them: its table is fit for the columnar path
            # only (it makes 5 and 2.5 in one column both floats, fills absent keys with None).
            return _parse_jsonl(io.BytesIO(self.raw), self.path, self.first, file_start=self.file_start)
        new = tuple.__new__
        path, first, split = self.path, self.first, self.split
        return (new(Record, (path, first + i, data, split)) for i, data in enumerate(self.table.to_pylist()))


def arrow_available() -> bool:
    try:
        import pyarrow.json  # noqa: F401
    except ImportError:
        return False
    return True


def iter_jsonl_blocks(path: str | os.PathLike[str], start: int = 0, end: int = -1, first_line: int = 1) -> Iterator[Rows]:
    """Blocks of a JSONL file (also gzipped), or of its bytes [start, end) that start at a line start."""
    name = str(path)
    parse = _arrow_parser()
    try:
        with _open_binary(Path(path)) as f:
            if start:
                f.seek(start)
            position, line = start, first_line
            while end < 0 or position < end:
                want = BLOCK_BYTES if end < 0 else min(BLOCK_BYTES, end - position)
                raw = f.read(want)
                if not raw:
                    break
                if not raw.endswith(b"\n"):
                    raw += f.readline()  # the rest of the last line: blocks end at line ends
                opens = position == 0
                position += len(raw)
                table, newlines = parse(raw) if parse is not None else (None, raw.count(b"\n"))
                yield Rows(name, line, table=table, raw=raw, lines=newlines, file_start=opens)
                line += newlines
    except (OSError, EOFError, zlib.error) as exc:
        raise _read_error(exc, name) from None


def _arrow_parser() -> Any:
    """A function from a block's bytes to (an Arrow table of its rows, or None where the row
    reader must decide; the number of newlines in it); None when pyarrow is not installed."""
    if not arrow_available():
        return None
    import numpy as np
    import pyarrow as pa
    import pyarrow.json as pj

    # One thread: a lint with --jobs already has a process per core.
    read_options = pj.ReadOptions(use_threads=False, block_size=BLOCK_BYTES * 2)
    parse_options = pj.ParseOptions(newlines_in_values=False)

    def parse(raw: bytes) -> tuple[Any, int]:
        newlines = np.flatnonzero(np.frombuffer(raw, dtype=np.uint8) == 0x0A)
        if not _one_object_a_line(raw, newlines) or not _utf8(raw):
            return None, len(newlines)
        try:
            table = pj.read_json(pa.BufferReader(raw), read_options=read_options, parse_options=parse_options)
        except (pa.ArrowException, UnicodeDecodeError, ValueError):
            return None, len(newlines)
        lines = len(newlines) + (0 if raw.endswith(b"\n") else 1)
        # Two objects on one line are one malformed record to the row reader, two rows to pyarrow;
        # and orjson refuses what nests deeper than 1,024 levels.
        if table.num_rows != lines or _deepest(table.schema) > 1000:
            return None, len(newlines)
        return table, len(newlines)

    return parse


def _one_object_a_line(raw: bytes, newlines: Any) -> bool:
    """True if every line starts with `{` and ends with `}` (`newlines`: where the newlines are,
    a numpy array). pyarrow skips blank lines, which the row reader counts, and a byte-order
    mark, and it reads an object across lines; so a block passes only with none of those, and
    then has as many rows as lines or a malformed line."""
    import numpy as np

    data = np.frombuffer(raw, dtype=np.uint8)
    tail = raw[newlines[-1] + 1 :] if len(newlines) else raw
    if raw[:1] != b"{" or (tail and not tail.endswith(b"}")):
        return False
    if not len(newlines):
        return True
    starts = newlines + 1
    if starts[-1] == len(data):
        starts = starts[:-1]
    ends = data[newlines - 1]  # the first byte is "{", so a newline is never at 0
    crlf = ends == 0x0D
    ends[crlf] = data[newlines[crlf] - 2]
    return bool((data[starts] == 0x7B).all() and (ends == 0x7D).all())


def _deepest(schema: Any) -> int:
    """How deep the schema's types nest (a row object is 1)."""
    deepest = 1
    stack = [(field.type, 2) for field in schema]
    while stack:
        kind, depth = stack.pop()
        deepest = max(deepest, depth)
        stack += [(kind.field(i).type, depth + 1) for i in range(kind.num_fields)]
    return deepest


def _utf8(raw: bytes) -> bool:
    """pyarrow takes bytes that are not UTF-8, which the row reader reports as malformed."""
    if raw.isascii():
        return True
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def iter_parquet_blocks(
    path: str | os.PathLike[str], start: int = 0, end: int = -1, first_row: int = 0, *, batch_size: int = 10_000
) -> Iterator[Rows]:
    """Blocks of a Parquet file, or of its row groups [start, end)."""
    import pyarrow as pa

    name = str(path)
    pf = open_parquet(Path(path), name)
    groups = range(pf.metadata.num_row_groups) if end < 0 else range(start, end)
    row = first_row
    try:
        for batch in pf.iter_batches(batch_size=batch_size, row_groups=groups):
            yield Rows(name, row, table=batch)
            row += batch.num_rows
    except (pa.ArrowException, OSError) as exc:
        raise _read_error(exc, name) from None

