"""Property tests (hypothesis): whatever bytes a file holds and whatever values a row holds, the
readers, the segment extraction and lint raise nothing but the library's own errors.

A bad line is yielded as a BadRecord, a bad row's layout raises LayoutError, a bad file raises
InputError: each becomes one line for the user. Anything else (a KeyError, a RecursionError, a
UnicodeError) would be a traceback.
"""

from __future__ import annotations

import contextlib
import json
import math
import tempfile
import unicodedata
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lineage.exceptions import LineageError
from lineage.fingerprints import fingerprint, normalise
from lineage.readers import BadRecord, Record, iter_records
from lineage.segments import LAYOUTS, extract_segments, segment_rows

SETTINGS = settings(max_examples=150, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

_SCALARS = (st.none() | st.booleans() | st.integers(min_value=-(10**30), max_value=10**30)
            | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=30))
_KEYS = st.sampled_from(["messages", "conversations", "role", "content", "from", "value", "instruction",
                         "input", "output", "prompt", "completion", "chosen", "rejected", "text", "type",
                         "reasoning", "tool_calls", "function", "arguments", "name", "parts", "x"])
_VALUES = st.recursive(
    _SCALARS,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(_KEYS | st.text(max_size=6), children, max_size=5),
    max_leaves=20,
)
_ROWS = st.dictionaries(_KEYS, _VALUES, max_size=6)


def _dump(value: Any) -> bytes:
    return json.dumps(value, allow_nan=True).encode()


# Lines that are nearly JSON: real rows, cut short, with a byte changed, or noise.
_LINE = st.one_of(
    _ROWS.map(_dump),
    st.tuples(_ROWS.map(_dump), st.integers(min_value=0, max_value=40)).map(lambda t: t[0][: t[1]]),
    st.binary(max_size=40),
    st.sampled_from([b"NaN", b"[1, 2]", b'"text"', b"{}", b'{"a": 1e999}', b'{"a": 123456789012345678901234567890}',
                     b'{"messages": [{"role": "user", "content": "\\ud800"}]}', b"\xff\xfe{", b"\xef\xbb\xbf{}",
                     b'{"a": -Infinity}', b"[" * 2000, b'{"prompt": "p", "completion": 42}']),
)
_ENDINGS = st.sampled_from([b"\n", b"\r\n", b"\r", b""])


def _read_all(path: Path, fmt: str | None = None) -> list[Record | BadRecord]:
    return list(iter_records(path, format=fmt, batch_size=3))


@given(lines=st.lists(st.tuples(_LINE, _ENDINGS), max_size=8), bom=st.sampled_from([b"", b"\xef\xbb\xbf", b"\xff\xfe"]))
@SETTINGS
def test_jsonl_readers_raise_only_library_errors(lines: list[tuple[bytes, bytes]], bom: bytes) -> None:
    data = bom + b"".join(line + end for line, end in lines)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "data.jsonl"
        path.write_bytes(data)
        try:
            first = _read_all(path)
        except LineageError:
            return
        assert all(isinstance(r, (Record, BadRecord)) for r in first)
        assert all(isinstance(r.data, dict) for r in first if isinstance(r, Record))
        # Reading again gives the same records, in the same order.
        assert [(type(r), r.line) for r in _read_all(path)] == [(type(r), r.line) for r in first]
        from lineage.blocks import iter_jsonl_blocks

        try:
            blocks = list(iter_jsonl_blocks(path))
        except LineageError:
            return
        # Read as blocks and then as rows, the file gives the same records as read row by row.
        again = [r for block in blocks for r in block.records()]
        assert [(type(r), r.line) for r in again] == [(type(r), r.line) for r in first]


@given(data=st.one_of(st.binary(max_size=120), st.lists(_ROWS, max_size=4).map(_dump),
                      _ROWS.map(lambda r: _dump({"data": [r]}))))
@SETTINGS
def test_json_and_csv_readers_raise_only_library_errors(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        for name in ("data.json", "data.csv"):
            path = Path(folder) / name
            path.write_bytes(data)
            try:
                records = _read_all(path)
            except LineageError:
                continue
            assert all(isinstance(r, (Record, BadRecord)) for r in records)


@given(data=st.binary(max_size=200))
@settings(max_examples=40, deadline=None, derandomize=True)
def test_parquet_and_gzip_readers_raise_only_library_errors(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        for name in ("data.parquet", "data.jsonl.gz"):
            path = Path(folder) / name
            path.write_bytes(data)
            with contextlib.suppress(LineageError):
                _read_all(path)


@given(row=_ROWS, layout=st.sampled_from([None, *LAYOUTS]))
@SETTINGS
def test_segment_extraction_raises_only_library_errors(row: dict[str, Any], layout: str | None) -> None:
    try:
        segments = extract_segments(row, layout=layout)
    except LineageError:
        return
    for segment in segments:
        assert isinstance(segment.text, str)
        assert isinstance(segment.role, str) and isinstance(segment.field, str)
    # The fast path for plain chats gives what the general one does.
    if layout is None:
        assert [tuple(s)[:3] for s in segment_rows(row)] == [tuple(s)[:3] for s in segments]


@given(row=_ROWS, target=_KEYS)
@SETTINGS
def test_a_mapping_raises_only_library_errors(row: dict[str, Any], target: str) -> None:
    with contextlib.suppress(LineageError):
        extract_segments(row, mapping={"completion": target, "prompt": f"{target}[0].content"})


@given(text=st.text(max_size=60), pad=st.sampled_from(["", " ", "\t", "\n", "\u00a0", "\u3000  "]))
@SETTINGS
def test_fingerprints_ignore_spacing_and_unicode_composition(text: str, pad: str) -> None:
    once = normalise(text)
    assert normalise(once) == once
    assert fingerprint(pad + text.replace(" ", " " + pad) + pad) == fingerprint(text)
    assert fingerprint(unicodedata.normalize("NFD", text)) == fingerprint(text)
    assert len(fingerprint(text)) == 32


@given(rows=st.lists(st.one_of(_ROWS, st.just({"prompt": "p", "completion": "c"})), min_size=1, max_size=6),
       broken=st.lists(_LINE, max_size=2))
@settings(max_examples=40, deadline=None, derandomize=True)
def test_lint_returns_a_report_or_one_library_error(rows: list[dict[str, Any]], broken: list[bytes]) -> None:
    import lineage

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "data.jsonl"
        path.write_bytes(b"".join(_dump(r) + b"\n" for r in rows) + b"".join(b + b"\n" for b in broken))
        try:
            report = lineage.lint([str(path)], use_store=False)
        except LineageError as exc:
            assert "\n" not in exc.message
            return
        assert report.examples >= 1
        # Nothing the lint could not read is allowed: every example has a verdict, and a malformed
        # one fails the run.
        assert sum(report.verdicts.values()) == report.examples
        if report.verdicts.get("malformed"):
            assert report.exit_code == 1


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, 10**40, True, 42, {"a": "b"}, ["x"]])
def test_content_that_is_not_text_is_never_made_text(value: Any) -> None:
    # A number or a mapping where an answer should be is a bad row, not the answer "nan" or "42".
    try:
        segments = extract_segments({"prompt": "p", "completion": value})
    except LineageError:
        return
    assert all(s.text != str(value) for s in segments if s.role != "prompt")
