"""A corpus of bad input, run through every command that reads it.

The rule: bad input is one line on stderr, `Error: <what>, <where>: <how to fix>`, exit code 2,
nothing on stdout, no traceback, and the store byte for byte as it was. A malformed row among good
ones is a finding about the data (exit 1, `LIN010`), not bad input; a file with no readable
record is bad input. Input that is only unusual (UTF-8 with a byte-order mark, CRLF line endings,
a huge integer in a field nobody reads) is read as if it were plain.

Each case runs the real CLI once against one store per module (per test worker); the store's
bytes (`lineage.db` and its `-wal`, an absent `-wal` counting as an empty one) are compared
around every case. docs/bad-input.md tabulates the outcomes asserted here.
"""

from __future__ import annotations

import gzip
import os
import random
import re
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from tests.conftest import chat, run_cli, write_jsonl

ROWS = [chat(f"Corpus question {i}?", f"Corpus answer {i}.") for i in range(3)]
GOOD = b"".join(orjson.dumps(r) + b"\n" for r in ROWS)
SOURCE = ["--provider", "anthropic", "--model", "claude-sonnet-4-5"]
DEEP = 100_000
BIG = 50 * 1024 * 1024


def _answer(content: str) -> bytes:
    """A chat row whose answer's content is `content`, written as raw JSON text."""
    return (b'{"messages": [{"role": "user", "content": "Corpus question x?"}, '
            b'{"role": "assistant", "content": ' + content.encode() + b"}]}\n")


def _message(message: str) -> bytes:
    return b'{"messages": ' + message.encode() + b"}\n"


LATIN1 = '{"messages": [{"role": "user", "content": "café?"}, {"role": "assistant", "content": "déjà vu"}]}\n'
WAIVER = ("waivers:\n  - id: w\n    codes: [ANT001]\n    scope: {{provider: anthropic}}\n    approved_by: me\n"
          "    reference: x\n    expires: {expires}\n")
POLICY = ("documents:\n  - id: x\n    title: X\n    publisher: x\n    kind: terms\n    versions:\n"
          '      - version: "1"\n        effective: {effective}\n        url: https://example.com\n        rules: []\n')


def _bomb(key: str) -> str:
    """Billion laughs: nine levels of nine aliases, 387,420,489 values once expanded."""
    lines = ['a: &a ["x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    for previous, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{previous}"] * 9) + "]")
    return "\n".join(lines) + f"\n{key}: *i\n"


def _inputs() -> dict[str, bytes]:
    text = GOOD.decode()
    noise = random.Random(20260301)
    return {
        # Malformed and truncated JSON.
        "truncated.jsonl": b'{"messages": [{"role": "user", "content": "Corpus qu',
        "truncated-row.jsonl": GOOD + b'{"messages": [{"role": "user"',
        "truncated.json": b'[{"messages": [{"role": "user", "content": "Corpus question 0?"}',
        "row-array.jsonl": b"[1, 2, 3]\n",
        "row-string.jsonl": b'"just a string"\n',
        "row-array-among.jsonl": GOOD + b"[1, 2]\n",
        "row-string-among.jsonl": GOOD + b'"just a string"\n',
        # Encodings and line endings.
        "utf16-bom.jsonl": text.encode("utf-16"),
        "utf16le.jsonl": text.encode("utf-16-le"),
        "utf16be.jsonl": text.encode("utf-16-be"),
        "utf32-bom.jsonl": text.encode("utf-32"),
        "utf32le.jsonl": text.encode("utf-32-le"),
        "utf32be.jsonl": text.encode("utf-32-be"),
        "utf8-bom.jsonl": b"\xef\xbb\xbf" + GOOD,
        "crlf.jsonl": GOOD.replace(b"\n", b"\r\n"),
        "array.json": orjson.dumps(ROWS),
        "latin1.jsonl": LATIN1.encode("latin-1"),
        "latin1-among.jsonl": GOOD + LATIN1.encode("latin-1"),
        # Nothing in the file.
        "zero.jsonl": b"",
        "spaces.jsonl": b"  \n\t\n   \n",
        "zero.json": b"",
        "spaces.json": b" \n  \n",
        "zero.csv": b"",
        "zero.parquet": b"",
        # Corrupt Parquet and gzip.
        "random.parquet": noise.randbytes(4096),
        "truncated.jsonl.gz": gzip.compress(GOOD, mtime=0)[:40],
        "plain.jsonl.gz": GOOD,
        "random.jsonl.gz": noise.randbytes(3000),
        # Nesting a hundred thousand deep.
        "deep-list.jsonl": b"[" * DEEP + b"]" * DEEP + b"\n",
        "deep-object.jsonl": b'{"a":' * DEEP + b"1" + b"}" * DEEP + b"\n",
        "deep-among.jsonl": GOOD + b"[" * DEEP + b"]" * DEEP + b"\n",
        # Content that is not text.
        "nan.jsonl": _answer("NaN"),
        "infinity.jsonl": _answer("Infinity"),
        "minus-infinity.jsonl": _answer("-Infinity"),
        "nan-among.jsonl": GOOD + _answer("NaN"),
        "minus-infinity-among.jsonl": GOOD + _answer("-Infinity"),
        "huge-int.jsonl": _answer(str(10**400)),
        "huge-int-unread.jsonl": b"".join(orjson.dumps(r)[:-1] + b', "extra": ' + str(10**400).encode() + b"}\n"
                                          for r in ROWS),
        "number.jsonl": _answer("42"),
        "boolean.jsonl": _answer("true"),
        "object.jsonl": _answer('{"x": 1}'),
        "list.jsonl": _answer("[1, 2]"),
        "number-among.jsonl": GOOD + _answer("42"),
        "list-among.jsonl": GOOD + _answer("[1, 2]"),
        "null-among.jsonl": GOOD + _answer("null"),
        "messages-string.jsonl": _message('"hello"'),
        "messages-string-among.jsonl": GOOD + _message('"hello"'),
        "role-number.jsonl": _message('[{"role": 1, "content": "Q?"}, {"role": "assistant", "content": "A."}]'),
        "role-number-among.jsonl": GOOD + _message('[{"role": 1, "content": "Q?"}, {"role": "assistant", "content": "A."}]'),
        # Provenance in the row that the pack cannot judge.
        "inline-licence.jsonl": GOOD + orjson.dumps(
            {**chat("Inline question?", "Inline answer."),
             "_lineage": {"kind": "dataset", "name": "d", "license": "NOT-A-LICENCE"}}) + b"\n",
        "inline-provider.jsonl": GOOD + orjson.dumps(
            {**chat("Inline question?", "Inline answer."),
             "_lineage": {"provider": "antrhopic", "model": "claude-sonnet-4-5"}}) + b"\n",
        # Waivers and policy files.
        "waivers-date.yaml": WAIVER.format(expires="2026-13-45").encode(),
        "policy-date.yaml": POLICY.format(effective="2025-02-30").encode(),
        "waivers-bomb.yaml": _bomb("waivers").encode(),
        "policy-bomb.yaml": _bomb("documents").encode(),
        "waivers-broken.yaml": b"waivers: [\n",
        "policy-broken.yaml": b"documents:\n  - id: x\n    title: [unclosed\n",
        "policy-tab.yaml": b"documents:\n\t- id: x\n",
        "policy-list.yaml": b"- just\n- a list\n",
        "policy-key.yaml": b"documents:\n  - id: x\n    titel: X\n",
        "policy-territory.yaml": POLICY.format(effective="2025-01-01").replace(
            "    versions:", "    applies_to: {providers: [x]}\n    versions:").replace(
            "rules: []", "rules:\n          - {code: XX001, effect: forbid, when: {territory: [germany]},"
            " message: m, section: s, quote: q}").encode(),
        "policy-read.yaml": POLICY.format(effective="2025-01-01").replace(
            "rules: []", "read: {on: 2025-13-01, at: x}\n        rules: []").encode(),
        "waivers-key.yaml": (WAIVER.format(expires="2027-01-01") + "    sope: 1\n").encode(),
        "waivers-type.yaml": b"waivers: 42\n",
    }


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store that knows the three good rows as Claude's, and the corpus in `in/`."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    root = tmp_path_factory.mktemp("bad-input")
    run_cli("init", cwd=root, check=True)
    write_jsonl(root / "good.jsonl", ROWS)
    write_jsonl(root / "derived.jsonl", ROWS[:2])
    write_jsonl(root / "rewritten.jsonl", [chat(f"Corpus question {i}?", f"Rewritten answer {i}.") for i in range(3)])
    write_jsonl(root / "new.jsonl", [chat("A new question?", "A new answer.")])
    run_cli("import", "good.jsonl", *SOURCE, cwd=root, check=True)
    folder = root / "in"
    folder.mkdir()
    for name, data in _inputs().items():
        (folder / name).write_bytes(data)
    (folder / "folder.jsonl").mkdir()
    pq.write_table(pa.Table.from_pylist(ROWS), folder / "real.parquet")
    real = (folder / "real.parquet").read_bytes()
    (folder / "truncated.parquet").write_bytes(real[: len(real) // 2])
    return root


def store_bytes(root: Path) -> tuple[bytes, bytes]:
    """The store's database and write-ahead log; an absent log is an empty one (nothing in it)."""
    db = root / ".lineage" / "lineage.db"
    wal = db.with_name("lineage.db-wal")
    return db.read_bytes(), wal.read_bytes() if wal.exists() else b""


def store_content(root: Path) -> list[str]:
    """The store's rows and schema, as SQL (for commands that may write but must add nothing)."""
    conn = sqlite3.connect(f"file:{root / '.lineage' / 'lineage.db'}?mode=ro", uri=True)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


def assert_refused(result: subprocess.CompletedProcess[str], start: str, where: str) -> str:
    """Exit 2, nothing on stdout, one line on stderr: `Error: ` + `start`, naming `where`,
    with a fix after it."""
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    assert result.returncode == 2, (result.returncode, result.stdout[-2000:], result.stderr[-2000:])
    assert result.stdout == ""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    line = lines[0]
    assert line.startswith("Error: " + start), line
    at = line.find(where)
    assert at > 0, f"{line!r} does not name {where!r}"
    assert re.search(r": \S", line[at:]), f"{line!r} gives no fix after {where!r}"
    return line


def assert_judged(result: subprocess.CompletedProcess[str], code: int, *marks: str) -> None:
    """Read and judged: the exit code, nothing on stderr, each mark in stdout."""
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    assert result.returncode == code, (result.returncode, result.stdout[-2000:], result.stderr[-2000:])
    assert result.stderr.strip() == "", result.stderr
    for mark in marks:
        assert mark in result.stdout, (mark, result.stdout[-2000:])


def run_guarded(args: list[str], cwd: Path, env: dict[str, str] | None = None,
                timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run the CLI like run_cli, but fail the test if it is still running after `timeout`
    seconds (a server that started serving, or a read that never returns) rather than wait."""
    full_env = {k: v for k, v in os.environ.items() if k != "LINEAGE_STORE"}
    full_env.update(env or {})
    try:
        return subprocess.run([sys.executable, "-m", "lineage", *args], cwd=cwd, env=full_env,
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"lineage {' '.join(args)} was still running after {timeout} s "
                    f"(stderr so far: {exc.stderr!r})", pytrace=False)


def lint_of(path: str) -> list[str]:
    return ["lint", f"in/{path}"]


def import_of(path: str) -> list[str]:
    return ["import", f"in/{path}", *SOURCE]


def gate_of(path: str) -> list[str]:
    return ["gate", f"in/{path}"]


def report_of(path: str) -> list[str]:
    return ["report", f"in/{path}"]


def card_of(path: str) -> list[str]:
    return ["card", f"in/{path}", "--card", "card.md"]


def derive_to(path: str) -> list[str]:
    """derive with the bad file as the output."""
    return ["derive", f"in/{path}", "--from", "good.jsonl", "--transform", "filter"]


def derive_from(path: str) -> list[str]:
    """derive with the bad file as an input."""
    return ["derive", "derived.jsonl", "--from", f"in/{path}", "--transform", "filter"]


UTF16_BOM = "UTF-16 (little-endian, with a byte-order mark)"
NONE_READ = "none of the 1 record(s) could be read (line 1: "
MALFORMED = "malformed record ("
NOT_UTF8 = "the file is {}, not UTF-8"
NO_RECORDS = "no records"
NOT_PARQUET = "not a readable Parquet file ("
CUT_GZIP = "cannot read the file (Compressed file ended before the end-of-stream marker was reached)"
MISSING = "no such file or directory"
NOT_TEXT = "messages[1].content holds {} where text was expected"
DEEP_JSON = "invalid JSON (nested too deeply)"
UNREAD_ROW = "1 record(s) could not be read (invalid JSON (unexpected end of data at column 30)), so the {} would"

# (command, message start after "Error: ", where the message must point) for bad input, exit 2.
REFUSED = [
    # Malformed and truncated JSON.
    pytest.param(lint_of("truncated.jsonl"), NONE_READ + "invalid JSON (unexpected end of data", "in/truncated.jsonl",
                 id="lint-truncated-jsonl"),
    pytest.param(import_of("truncated.jsonl"), MALFORMED + "invalid JSON (unexpected end of data", "in/truncated.jsonl line 1",
                 id="import-truncated-jsonl"),
    pytest.param(gate_of("truncated.jsonl"), NONE_READ + "invalid JSON", "in/truncated.jsonl", id="gate-truncated-jsonl"),
    pytest.param(import_of("truncated-row.jsonl"), MALFORMED + "invalid JSON", "in/truncated-row.jsonl line 4",
                 id="import-one-truncated-row"),
    pytest.param(card_of("truncated-row.jsonl"), UNREAD_ROW.format("card"), "in/truncated-row.jsonl:4",
                 id="card-one-truncated-row"),
    pytest.param(report_of("truncated-row.jsonl"), UNREAD_ROW.format("report"), "in/truncated-row.jsonl:4",
                 id="report-one-truncated-row"),
    pytest.param(derive_to("truncated-row.jsonl"), "invalid JSON", "in/truncated-row.jsonl line 4",
                 id="derive-one-truncated-row"),
    pytest.param(derive_from("truncated-row.jsonl"), "invalid JSON", "in/truncated-row.jsonl line 4",
                 id="derive-from-one-truncated-row"),
    pytest.param(lint_of("truncated.json"), "invalid JSON (unexpected end of data)", "in/truncated.json:1:",
                 id="lint-truncated-json-array"),
    pytest.param(lint_of("row-array.jsonl"), NONE_READ + "expected a JSON object, got a list)", "in/row-array.jsonl",
                 id="lint-row-is-an-array"),
    pytest.param(import_of("row-array.jsonl"), MALFORMED + "expected a JSON object, got a list)", "in/row-array.jsonl line 1",
                 id="import-row-is-an-array"),
    pytest.param(lint_of("row-string.jsonl"), NONE_READ + "expected a JSON object, got a string)", "in/row-string.jsonl",
                 id="lint-row-is-a-string"),
    # UTF-16 and UTF-32, with and without a byte-order mark.
    pytest.param(lint_of("utf16-bom.jsonl"), NOT_UTF8.format("UTF-16 (little-endian, with a byte-order mark)"),
                 "in/utf16-bom.jsonl: convert it to UTF-8, e.g. iconv -f UTF-16 -t UTF-8", id="lint-utf16-bom"),
    pytest.param(import_of("utf16-bom.jsonl"), NOT_UTF8.format("UTF-16 (little-endian, with a byte-order mark)"),
                 "in/utf16-bom.jsonl", id="import-utf16-bom"),
    pytest.param(gate_of("utf16-bom.jsonl"), NOT_UTF8.format(UTF16_BOM), "in/utf16-bom.jsonl", id="gate-utf16-bom"),
    pytest.param(card_of("utf16-bom.jsonl"), NOT_UTF8.format(UTF16_BOM), "in/utf16-bom.jsonl", id="card-utf16-bom"),
    pytest.param(derive_to("utf16-bom.jsonl"), NOT_UTF8.format(UTF16_BOM), "in/utf16-bom.jsonl", id="derive-utf16-bom"),
    pytest.param(lint_of("utf16le.jsonl"), NOT_UTF8.format("UTF-16 (little-endian, no byte-order mark)"),
                 "in/utf16le.jsonl: convert it to UTF-8, e.g. iconv -f UTF-16LE -t UTF-8", id="lint-utf16le-no-bom"),
    pytest.param(lint_of("utf16be.jsonl"), NOT_UTF8.format("UTF-16 (big-endian, no byte-order mark)"),
                 "in/utf16be.jsonl: convert it to UTF-8, e.g. iconv -f UTF-16BE -t UTF-8", id="lint-utf16be-no-bom"),
    pytest.param(lint_of("utf32-bom.jsonl"), NOT_UTF8.format("UTF-32 (little-endian, with a byte-order mark)"),
                 "in/utf32-bom.jsonl: convert it to UTF-8, e.g. iconv -f UTF-32 -t UTF-8", id="lint-utf32-bom"),
    pytest.param(lint_of("utf32le.jsonl"), NOT_UTF8.format("UTF-32 (little-endian, no byte-order mark)"),
                 "in/utf32le.jsonl: convert it to UTF-8, e.g. iconv -f UTF-32LE -t UTF-8", id="lint-utf32le-no-bom"),
    pytest.param(lint_of("utf32be.jsonl"), NOT_UTF8.format("UTF-32 (big-endian, no byte-order mark)"),
                 "in/utf32be.jsonl: convert it to UTF-8, e.g. iconv -f UTF-32BE -t UTF-8", id="lint-utf32be-no-bom"),
    # Latin-1 bytes.
    pytest.param(lint_of("latin1.jsonl"), NONE_READ + "not valid UTF-8 (byte 0xe9 at column", "in/latin1.jsonl",
                 id="lint-latin1"),
    pytest.param(import_of("latin1.jsonl"), MALFORMED + "not valid UTF-8 (byte 0xe9", "in/latin1.jsonl line 1",
                 id="import-latin1"),
    # Empty, zero-byte and whitespace-only files.
    pytest.param(lint_of("zero.jsonl"), NO_RECORDS, "in/zero.jsonl: the file is empty", id="lint-zero-byte-jsonl"),
    pytest.param(import_of("zero.jsonl"), NO_RECORDS, "in/zero.jsonl: the file is empty", id="import-zero-byte-jsonl"),
    pytest.param(gate_of("zero.jsonl"), NO_RECORDS, "in/zero.jsonl", id="gate-zero-byte-jsonl"),
    pytest.param(lint_of("spaces.jsonl"), NO_RECORDS, "in/spaces.jsonl: the file is empty", id="lint-whitespace-jsonl"),
    pytest.param(import_of("spaces.jsonl"), NO_RECORDS, "in/spaces.jsonl", id="import-whitespace-jsonl"),
    pytest.param(lint_of("zero.json"), NO_RECORDS, "in/zero.json: the file is empty", id="lint-zero-byte-json"),
    pytest.param(lint_of("spaces.json"), NO_RECORDS, "in/spaces.json: the file is empty", id="lint-whitespace-json"),
    pytest.param(import_of("zero.json"), NO_RECORDS, "in/zero.json: the file is empty", id="import-zero-byte-json"),
    pytest.param(lint_of("zero.csv"), NO_RECORDS, "in/zero.csv: the file is empty", id="lint-zero-byte-csv"),
    pytest.param(lint_of("zero.parquet"), NOT_PARQUET + "Parquet file size is 0 bytes)", "in/zero.parquet",
                 id="lint-zero-byte-parquet"),
    # Corrupt Parquet.
    pytest.param(lint_of("random.parquet"), NOT_PARQUET + "Parquet magic bytes not found", "in/random.parquet",
                 id="lint-random-bytes-parquet"),
    pytest.param(import_of("random.parquet"), NOT_PARQUET, "in/random.parquet", id="import-random-bytes-parquet"),
    pytest.param(report_of("random.parquet"), NOT_PARQUET, "in/random.parquet", id="report-random-bytes-parquet"),
    pytest.param(derive_to("random.parquet"), NOT_PARQUET, "in/random.parquet", id="derive-random-bytes-parquet"),
    pytest.param(lint_of("truncated.parquet"), NOT_PARQUET, "in/truncated.parquet: check the file is complete",
                 id="lint-truncated-parquet"),
    pytest.param(import_of("truncated.parquet"), NOT_PARQUET, "in/truncated.parquet", id="import-truncated-parquet"),
    # Corrupt gzip.
    pytest.param(lint_of("truncated.jsonl.gz"), CUT_GZIP, "in/truncated.jsonl.gz: check the file is complete",
                 id="lint-truncated-gzip"),
    pytest.param(import_of("truncated.jsonl.gz"), CUT_GZIP, "in/truncated.jsonl.gz", id="import-truncated-gzip"),
    pytest.param(card_of("truncated.jsonl.gz"), CUT_GZIP, "in/truncated.jsonl.gz", id="card-truncated-gzip"),
    pytest.param(derive_to("truncated.jsonl.gz"), CUT_GZIP, "in/truncated.jsonl.gz", id="derive-truncated-gzip"),
    pytest.param(lint_of("random.jsonl.gz"), "none of the", "in/random.jsonl.gz: check the file's format and encoding",
                 id="lint-gz-that-is-not-gzip"),
    # A folder given as a file; a file that does not exist.
    pytest.param(lint_of("folder.jsonl"), "no dataset files found", "in/folder.jsonl: expected files ending in",
                 id="lint-folder-as-file"),
    pytest.param(import_of("folder.jsonl"), "no dataset files found", "in/folder.jsonl", id="import-folder-as-file"),
    pytest.param(derive_to("folder.jsonl"), "a directory, not a dataset file", "in/folder.jsonl", id="derive-folder-as-file"),
    pytest.param(lint_of("missing.jsonl"), MISSING, "in/missing.jsonl: check the path", id="lint-missing-file"),
    pytest.param(import_of("missing.jsonl"), MISSING, "in/missing.jsonl: check the path", id="import-missing-file"),
    pytest.param(card_of("missing.jsonl"), MISSING, "in/missing.jsonl", id="card-missing-file"),
    pytest.param(derive_to("missing.jsonl"), "no such file", "in/missing.jsonl: check the path", id="derive-missing-output"),
    pytest.param(derive_from("missing.jsonl"), "no registered dataset 'in/missing.jsonl', and no such file", "'in/missing.jsonl'",
                 id="derive-missing-input"),
    # Nesting a hundred thousand deep.
    pytest.param(lint_of("deep-list.jsonl"), NONE_READ + DEEP_JSON, "in/deep-list.jsonl", id="lint-deep-list"),
    pytest.param(import_of("deep-list.jsonl"), MALFORMED + DEEP_JSON, "in/deep-list.jsonl line 1", id="import-deep-list"),
    pytest.param(lint_of("deep-object.jsonl"), NONE_READ + DEEP_JSON, "in/deep-object.jsonl", id="lint-deep-object"),
    # NaN, Infinity and huge integers as content.
    pytest.param(lint_of("nan.jsonl"), NONE_READ + NOT_TEXT.format("a number (nan)"), "in/nan.jsonl", id="lint-nan"),
    pytest.param(import_of("nan.jsonl"), MALFORMED + NOT_TEXT.format("a number (nan)"), "in/nan.jsonl line 1",
                 id="import-nan"),
    pytest.param(derive_to("nan.jsonl"), NOT_TEXT.format("a number (nan)"), "in/nan.jsonl line 1", id="derive-nan"),
    pytest.param(lint_of("infinity.jsonl"), NONE_READ + NOT_TEXT.format("a number (inf)"), "in/infinity.jsonl",
                 id="lint-infinity"),
    pytest.param(lint_of("minus-infinity.jsonl"), NONE_READ + NOT_TEXT.format("a number (-inf)"),
                 "in/minus-infinity.jsonl", id="lint-minus-infinity"),
    pytest.param(lint_of("huge-int.jsonl"), NONE_READ + NOT_TEXT.format("a number (10000000000000000...)"),
                 "in/huge-int.jsonl", id="lint-huge-int-content"),
    pytest.param(import_of("huge-int.jsonl"), MALFORMED + NOT_TEXT.format("a number (10000000000000000...)"),
                 "in/huge-int.jsonl line 1", id="import-huge-int-content"),
    # Wrong types.
    pytest.param(lint_of("number.jsonl"), NONE_READ + NOT_TEXT.format("a number (42)"), "in/number.jsonl",
                 id="lint-content-number"),
    pytest.param(import_of("number.jsonl"), MALFORMED + NOT_TEXT.format("a number (42)"), "in/number.jsonl line 1",
                 id="import-content-number"),
    pytest.param(lint_of("boolean.jsonl"), NONE_READ + NOT_TEXT.format("a boolean (true)"), "in/boolean.jsonl",
                 id="lint-content-boolean"),
    pytest.param(lint_of("object.jsonl"), NONE_READ + NOT_TEXT.format("an object"), "in/object.jsonl",
                 id="lint-content-object"),
    pytest.param(lint_of("list.jsonl"), NONE_READ + "messages[1].content[0] holds a number", "in/list.jsonl",
                 id="lint-content-list-of-numbers"),
    pytest.param(import_of("list.jsonl"), MALFORMED + "messages[1].content[0] holds a number", "in/list.jsonl line 1",
                 id="import-content-list-of-numbers"),
    pytest.param(lint_of("messages-string.jsonl"), NONE_READ + "messages holds a str where a list of messages was expected",
                 "in/messages-string.jsonl", id="lint-messages-not-a-list"),
    pytest.param(import_of("messages-string.jsonl"), MALFORMED + "messages holds a str where a list of messages",
                 "in/messages-string.jsonl line 1", id="import-messages-not-a-list"),
    pytest.param(lint_of("role-number.jsonl"), NONE_READ + "messages[0] has the unknown speaker 1",
                 "in/role-number.jsonl", id="lint-role-not-a-string"),
    pytest.param(import_of("role-number.jsonl"), MALFORMED + "messages[0] has the unknown speaker 1",
                 "in/role-number.jsonl line 1", id="import-role-not-a-string"),
    # Names the policy pack does not know, or that do not go together; a column no record has.
    pytest.param(["import", "good.jsonl", "--provider", "antrhopic", "--model", "claude-sonnet-4-5"],
                 "unknown provider 'antrhopic'", "--provider: did you mean anthropic?", id="import-unknown-provider"),
    pytest.param(["import", "good.jsonl", "--provider", "openai", "--model", "claude-sonnet-4-5"],
                 "model 'claude-sonnet-4-5' is anthropic's, not openai's", "--provider", id="import-model-mismatch"),
    pytest.param(["import", "good.jsonl", "--model-column", "nosuch"], "no record has the column 'nosuch'",
                 "good.jsonl: the records have messages", id="import-unknown-column"),
    pytest.param(["explain", "--provider", "antrhopic", "--model", "claude-sonnet-4-5"],
                 "unknown provider 'antrhopic'", "--provider: did you mean anthropic?", id="explain-unknown-provider"),
    pytest.param(["derive", "rewritten.jsonl", "--from", "good.jsonl", "--transform", "rewrite",
                  "--by", "provider=antrhopic,model=claude-sonnet-4-5"],
                 "unknown provider 'antrhopic'", "--by: did you mean anthropic?", id="derive-by-unknown-provider"),
    # Impossible dates on the command line.
    pytest.param(["import", "good.jsonl", *SOURCE, "--generated-at", "2026-02-30"],
                 "--generated-at: not an ISO 8601 date or time: '2026-02-30'", "--generated-at",
                 id="import-generated-at-2026-02-30"),
    pytest.param(["derive", "rewritten.jsonl", "--from", "good.jsonl", "--transform", "rewrite", "--by",
                  "claude-sonnet-4-5", "--generated-at", "2026-02-30"],
                 "--generated-at: not an ISO 8601 date or time: '2026-02-30'", "--generated-at",
                 id="derive-generated-at-2026-02-30"),
    pytest.param(["report", "good.jsonl", "--timestamp", "2026-02-30"],
                 "--timestamp: not an ISO 8601 date or time: '2026-02-30'", "--timestamp",
                 id="report-timestamp-2026-02-30"),
    # Impossible dates in waivers and policy files.
    pytest.param(["lint", "good.jsonl", "--waivers", "in/waivers-date.yaml"],
                 "invalid value '2026-13-45' (month must be in 1..12)", "in/waivers-date.yaml line 7: write dates",
                 id="lint-waiver-expires-2026-13-45"),
    pytest.param(["explain", *SOURCE, "--waivers", "in/waivers-date.yaml"],
                 "invalid value '2026-13-45'", "in/waivers-date.yaml line 7", id="explain-waiver-expires-2026-13-45"),
    pytest.param(["report", "good.jsonl", "--waivers", "in/waivers-date.yaml"],
                 "invalid value '2026-13-45'", "in/waivers-date.yaml line 7", id="report-waiver-expires-2026-13-45"),
    pytest.param(["policies", "validate", "in/policy-date.yaml"],
                 "invalid value '2025-02-30' (day is out of range for month)", "in/policy-date.yaml line 8: write dates",
                 id="validate-policy-effective-2025-02-30"),
    pytest.param(["lint", "good.jsonl", "--policy", "in/policy-date.yaml"],
                 "invalid value '2025-02-30'", "in/policy-date.yaml line 8", id="lint-policy-effective-2025-02-30"),
    # Malformed YAML, YAML bombs, policy and waivers files of the wrong shape.
    pytest.param(["policies", "validate", "in/policy-broken.yaml"], "invalid YAML (",
                 "in/policy-broken.yaml line 4: fix the syntax there", id="validate-policy-broken-yaml"),
    pytest.param(["explain", *SOURCE, "--policy", "in/policy-broken.yaml"], "invalid YAML (",
                 "in/policy-broken.yaml line 4", id="explain-policy-broken-yaml"),
    pytest.param(["policies", "validate", "in/policy-tab.yaml"], "invalid YAML (found character that cannot start",
                 "in/policy-tab.yaml line 2", id="validate-policy-tab-indent"),
    pytest.param(["policies", "validate", "in/policy-list.yaml"], "a policy file must be a mapping",
                 "in/policy-list.yaml: see docs/policies.md", id="validate-policy-not-a-mapping"),
    pytest.param(["policies", "validate", "in/policy-key.yaml"], "invalid policy file: documents.0.titel: unknown key",
                 "in/policy-key.yaml line 3: did you mean `title`?", id="validate-policy-unknown-key"),
    pytest.param(["policies", "validate", "in/policy-territory.yaml"], "invalid policy file: documents.0.versions.0",
                 "unknown territory 'germany'", id="validate-policy-unknown-territory"),
    pytest.param(["policies", "validate", "in/policy-read.yaml"], "invalid value '2025-13-01'",
                 "in/policy-read.yaml line 10", id="validate-policy-impossible-read-date"),
    pytest.param(["lint", "good.jsonl", "--competes-with", "opnai"], "unknown provider 'opnai' in competes_with",
                 "the use context: did you mean openai", id="lint-unknown-competitor"),
    pytest.param(["lint", "good.jsonl", "--territory", "germany"], "invalid --territory: unknown territory 'germany'",
                 "alpha-2 codes, or eu)", id="lint-unknown-territory"),
    pytest.param(["policies", "validate", "in/missing.yaml"], "no such policy file", "in/missing.yaml: check the path",
                 id="validate-missing-policy"),
    pytest.param(["lint", "good.jsonl", "--waivers", "in/waivers-broken.yaml"], "invalid YAML (",
                 "in/waivers-broken.yaml line 2: fix the syntax there", id="lint-waivers-broken-yaml"),
    pytest.param(["explain", *SOURCE, "--waivers", "in/waivers-broken.yaml"], "invalid YAML (",
                 "in/waivers-broken.yaml line 2", id="explain-waivers-broken-yaml"),
    pytest.param(["lint", "good.jsonl", "--waivers", "in/waivers-key.yaml"], "invalid waiver: waivers.0.sope: unknown key",
                 "in/waivers-key.yaml line 8: did you mean `scope`?", id="lint-waiver-unknown-key"),
    pytest.param(["lint", "good.jsonl", "--waivers", "in/waivers-type.yaml"],
                 "invalid waiver: waivers: Input should be a valid list", "in/waivers-type.yaml line 1",
                 id="lint-waivers-not-a-list"),
    pytest.param(["lint", "good.jsonl", "--waivers", "in/missing.yaml"], "no such waivers file",
                 "in/missing.yaml: check the path in --waivers", id="lint-missing-waivers"),
    pytest.param(["lint", "good.jsonl", "--waivers", "in/waivers-bomb.yaml"],
                 "the YAML expands to more than 1,000,000 values", "in/waivers-bomb.yaml: write the values out",
                 id="lint-waivers-yaml-bomb"),
    pytest.param(["policies", "validate", "in/policy-bomb.yaml"],
                 "the YAML expands to more than 1,000,000 values", "in/policy-bomb.yaml", id="validate-policy-yaml-bomb"),
    pytest.param(["report", "good.jsonl", "--policy", "in/policy-bomb.yaml"],
                 "the YAML expands to more than 1,000,000 values", "in/policy-bomb.yaml", id="report-policy-yaml-bomb"),
]


@pytest.mark.parametrize("args,start,where", REFUSED)
def test_bad_input_is_refused_in_one_line(project: Path, args: list[str], start: str, where: str) -> None:
    before = store_bytes(project)
    assert_refused(run_cli(*args, cwd=project), start, where)
    assert store_bytes(project) == before, "a refused command changed the store"
    assert not (project / "card.md").exists(), "a refused card was written"


def _at(path: str, line: int, code: str) -> str:
    return f"in/{path}:{line}: {code} [error]"


ANT = "ANT001 [error]"
BLOCKED_3 = "3 blocked"
REREAD = "0 new origins, 3 already recorded"

# (command, exit code, marks in stdout): read, and judged or recorded.
JUDGED = [
    # One bad row among good ones is a finding (LIN010), the good rows are judged.
    pytest.param(lint_of("truncated-row.jsonl"), 1, [_at("truncated-row.jsonl", 4, "LIN010"), "1 malformed"],
                 id="lint-one-truncated-row"),
    pytest.param(gate_of("truncated-row.jsonl"), 1, [_at("truncated-row.jsonl", 4, "LIN010"), "publication: fail",
                                               "not judged: 1 malformed"], id="gate-one-truncated-row"),
    pytest.param(lint_of("row-array-among.jsonl"), 1, [_at("row-array-among.jsonl", 4, "LIN010") + " malformed record: "
                                                 "expected a JSON object, got a list"], id="lint-one-row-is-an-array"),
    pytest.param(lint_of("row-string-among.jsonl"), 1, [_at("row-string-among.jsonl", 4, "LIN010")],
                 id="lint-one-row-is-a-string"),
    pytest.param(lint_of("latin1-among.jsonl"), 1, [_at("latin1-among.jsonl", 4, "LIN010") + " malformed record: not valid "
                                              "UTF-8"], id="lint-one-latin1-row"),
    pytest.param(lint_of("deep-among.jsonl"), 1, [_at("deep-among.jsonl", 4, "LIN010") + " malformed record: " + DEEP_JSON],
                 id="lint-one-deep-row"),
    pytest.param(lint_of("nan-among.jsonl"), 1, [_at("nan-among.jsonl", 4, "LIN010"), "holds a number (nan)"],
                 id="lint-one-nan-row"),
    pytest.param(lint_of("minus-infinity-among.jsonl"), 1, [_at("minus-infinity-among.jsonl", 4, "LIN010"),
                                                      "holds a number (-inf)"], id="lint-one-minus-infinity-row"),
    pytest.param(lint_of("number-among.jsonl"), 1, [_at("number-among.jsonl", 4, "LIN010"), "holds a number (42)"],
                 id="lint-one-content-number-row"),
    pytest.param(lint_of("list-among.jsonl"), 1, [_at("list-among.jsonl", 4, "LIN010")], id="lint-one-content-list-row"),
    pytest.param(lint_of("messages-string-among.jsonl"), 1, [_at("messages-string-among.jsonl", 4, "LIN010")],
                 id="lint-one-messages-not-a-list-row"),
    pytest.param(lint_of("role-number-among.jsonl"), 1, [_at("role-number-among.jsonl", 4, "LIN010")],
                 id="lint-one-role-not-a-string-row"),
    pytest.param(lint_of("inline-provider.jsonl"), 1, [_at("inline-provider.jsonl", 4, "LIN010"),
                                                 "unknown provider 'antrhopic'"], id="lint-inline-unknown-provider"),
    # Terms the pack cannot determine: needs review, exit 1.
    pytest.param(lint_of("inline-licence.jsonl"), 1, [_at("inline-licence.jsonl", 4, "LIN005"), "1 needs review"],
                 id="lint-inline-unknown-licence"),
    pytest.param(["explain", "--kind", "dataset", "--name", "d", "--license", "NOT-A-LICENCE"], 1,
                 ["verdict: needs-review", "LIN005 [error] licence LicenseRef-NOT-A-LICENCE is not defined"],
                 id="explain-unknown-licence"),
    # Null content is an absent segment, not a malformed one.
    pytest.param(lint_of("null-among.jsonl"), 1, ["3 blocked, 0 needs review, 1 allowed"], id="lint-null-content"),
    # Read as if plain: a byte-order mark, CRLF, a JSON array, a .gz that is not gzipped, a huge
    # integer nobody reads. The store knows the rows, so they are blocked, and adds nothing.
    pytest.param(lint_of("utf8-bom.jsonl"), 1, [_at("utf8-bom.jsonl", 1, "ANT001"), BLOCKED_3], id="lint-utf8-bom"),
    pytest.param(import_of("utf8-bom.jsonl"), 0, [REREAD], id="import-utf8-bom"),
    pytest.param(lint_of("crlf.jsonl"), 1, [_at("crlf.jsonl", 3, "ANT001"), BLOCKED_3], id="lint-crlf"),
    pytest.param(import_of("crlf.jsonl"), 0, [REREAD], id="import-crlf"),
    pytest.param(lint_of("array.json"), 1, [ANT, BLOCKED_3], id="lint-json-array"),
    pytest.param(lint_of("real.parquet"), 1, [ANT, BLOCKED_3], id="lint-parquet"),
    pytest.param(lint_of("plain.jsonl.gz"), 1, [_at("plain.jsonl.gz", 1, "ANT001"), BLOCKED_3],
                 id="lint-gz-name-plain-content"),
    pytest.param(lint_of("huge-int-unread.jsonl"), 1, [_at("huge-int-unread.jsonl", 1, "ANT001"), BLOCKED_3],
                 id="lint-huge-int-unread-field"),
    pytest.param(import_of("huge-int-unread.jsonl"), 0, [REREAD], id="import-huge-int-unread-field"),
]


@pytest.mark.parametrize("args,code,marks", JUDGED)
def test_input_that_is_read_is_judged(project: Path, args: list[str], code: int, marks: list[str]) -> None:
    if args[0] != "import":
        before = store_bytes(project)
        assert_judged(run_cli(*args, cwd=project), code, *marks)
        assert store_bytes(project) == before, "the store changed"
        return
    # An import of rows the store knows adds nothing: it writes a run and a dataset record for the
    # new file and deletes them again, so the rows are as they were, though freed bytes may stay.
    before = store_content(project)
    assert_judged(run_cli(*args, cwd=project), code, *marks)
    assert store_content(project) == before, "the import added something"


@pytest.fixture(scope="module")
def big_line(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One 50 MB line: a record that never ends."""
    path = tmp_path_factory.mktemp("big") / "big.jsonl"
    with path.open("wb") as f:
        f.write(b'{"messages": [{"role": "user", "content": "')
        f.write(b"x" * BIG)
    return path


@pytest.mark.parametrize("command,start", [
    ("lint", NONE_READ + "invalid JSON (unexpected end of data at column 52428"),
    ("import", MALFORMED + "invalid JSON (unexpected end of data at column 52428"),
], ids=["lint", "import"])
def test_a_50_mb_line(project: Path, big_line: Path, command: str, start: str) -> None:
    before = store_bytes(project)
    args = [command, str(big_line), *(SOURCE if command == "import" else [])]
    line = assert_refused(run_cli(*args, cwd=project), start, str(big_line))
    assert len(line) < 1000, "the message quotes the line"
    assert store_bytes(project) == before


CONFIGS = {"pyproject.toml": '[tool.lineage]\nuntraked = "error"\n', "lineage.toml": 'untraked = "error"\n'}
CONFIG_COMMANDS = {
    "lint": ["lint", "good.jsonl"],
    "gate": ["gate", "good.jsonl"],
    "card": ["card", "good.jsonl", "--card", "card.md"],
    "report": ["report", "good.jsonl"],
    "explain": ["explain", *SOURCE],
    "import": ["import", "good.jsonl", *SOURCE],
    "derive": ["derive", "derived.jsonl", "--from", "good.jsonl", "--transform", "filter"],
    "policies-validate": ["policies", "validate", "policy.yaml"],
    "serve": ["serve", "--insecure", "--port", "0"],
}


@pytest.mark.parametrize("config,command", [
    *(("pyproject.toml", command) for command in CONFIG_COMMANDS),
    *(("lineage.toml", command) for command in ("lint", "import", "serve")),
])
def test_an_unknown_setting(project: Path, config: str, command: str) -> None:
    """`untraked = "error"`: every command refuses it, before it reads or writes anything. The
    folder is below the store's, which each command finds by walking up."""
    folder = project / f"config-{config}"
    if not folder.exists():
        folder.mkdir()
        (folder / config).write_text(CONFIGS[config])
        write_jsonl(folder / "good.jsonl", ROWS)
        write_jsonl(folder / "derived.jsonl", ROWS[:2])
        (folder / "policy.yaml").write_text(POLICY.format(effective="2025-02-28"))
    before = store_bytes(project)
    result = run_guarded(CONFIG_COMMANDS[command], cwd=folder)
    assert_refused(result, "unknown setting `untraked`", f"{folder / config}: did you mean `untracked`?")
    assert store_bytes(project) == before
    assert not (folder / "card.md").exists()


@pytest.mark.parametrize("option,path,start,where", [
    ("--policy", "policy-date.yaml", "invalid value '2025-02-30' (day is out of range for month)",
     "in/policy-date.yaml line 8"),
    ("--policy", "policy-broken.yaml", "invalid YAML (", "in/policy-broken.yaml line 4"),
    ("--policy", "policy-bomb.yaml", "the YAML expands to more than 1,000,000 values", "in/policy-bomb.yaml"),
    ("--policy", "missing.yaml", "no such policy file", "in/missing.yaml: check the path"),
    ("--waivers", "waivers-date.yaml", "invalid value '2026-13-45' (month must be in 1..12)",
     "in/waivers-date.yaml line 7"),
    ("--waivers", "waivers-broken.yaml", "invalid YAML (", "in/waivers-broken.yaml line 2"),
    ("--waivers", "waivers-bomb.yaml", "the YAML expands to more than 1,000,000 values", "in/waivers-bomb.yaml"),
], ids=["policy-date", "policy-broken-yaml", "policy-yaml-bomb", "policy-missing", "waivers-date",
        "waivers-broken-yaml", "waivers-yaml-bomb"])
def test_serve_refuses_a_bad_file_before_it_serves(
    project: Path, option: str, path: str, start: str, where: str,
) -> None:
    before = store_bytes(project)
    result = run_guarded(["serve", "--insecure", "--port", "0", option, f"in/{path}"], cwd=project)
    assert_refused(result, start, where)
    assert store_bytes(project) == before


@pytest.fixture(scope="module")
def broken_stores(project: Path) -> Path:
    """Two folders with a store that is not one: random bytes, and a real store cut in half."""
    real = (project / ".lineage" / "lineage.db").read_bytes()
    for name, data in (("random", random.Random(7).randbytes(8192)), ("cut", real[: len(real) // 2])):
        folder = project / f"store-{name}"
        (folder / ".lineage").mkdir(parents=True)
        (folder / ".lineage" / "lineage.db").write_bytes(data)
        write_jsonl(folder / "good.jsonl", ROWS)
        write_jsonl(folder / "derived.jsonl", ROWS[:2])
    return project


READ_STORE = "cannot read the store ("
WRITE_STORE = "not a lineage store, or a damaged one ("


@pytest.mark.parametrize("store,args,start", [
    ("random", ["lint", "good.jsonl"], READ_STORE + "file is not a database)"),
    ("random", ["card", "good.jsonl", "--card", "card.md"], READ_STORE + "file is not a database)"),
    ("random", ["import", "good.jsonl", *SOURCE], WRITE_STORE + "file is not a database)"),
    ("random", ["derive", "derived.jsonl", "--from", "good.jsonl", "--transform", "filter"],
     WRITE_STORE + "file is not a database)"),
    ("random", ["init"], WRITE_STORE + "file is not a database)"),
    ("cut", ["lint", "good.jsonl"], READ_STORE + "database disk image is malformed)"),
    ("cut", ["import", "good.jsonl", *SOURCE], WRITE_STORE + "database disk image is malformed)"),
], ids=["lint-random", "card-random", "import-random", "derive-random",
        "init-random", "lint-cut", "import-cut"])
def test_a_corrupt_store(broken_stores: Path, store: str, args: list[str], start: str) -> None:
    folder = broken_stores / f"store-{store}"
    before = store_bytes(folder)
    assert_refused(run_cli(*args, cwd=folder), start, str(folder / ".lineage" / "lineage.db") + ": ")
    assert store_bytes(folder) == before
    assert not (folder / "card.md").exists()


WAITING = "waiting for another process that is writing to the store "
# The lock timeout alone bounds the wait: SQLite's busy handler (30 s unless set) is capped by it.
LOCKED = {"LINEAGE_LOCK_TIMEOUT": "1"}


@pytest.mark.parametrize("args", [
    ["import", "new.jsonl", *SOURCE],
    ["derive", "derived.jsonl", "--from", "good.jsonl", "--transform", "filter"],
    ["lint", "good.jsonl"],
], ids=["import", "derive", "lint"])
def test_a_store_another_writer_holds(project: Path, args: list[str]) -> None:
    """Another process holds a write transaction (BEGIN IMMEDIATE) for the whole command. A write
    says once that it waits, then fails after LINEAGE_LOCK_TIMEOUT in one error line; lint only
    reads, and a reader is not held up by a writer."""
    db = project / ".lineage" / "lineage.db"
    before = store_bytes(project)
    # The bytes are read before the lock is taken and after it is let go: closing any other file
    # handle on the database in this process would drop the lock (POSIX locks are per process).
    holder = sqlite3.connect(db, isolation_level=None, timeout=0)
    try:
        holder.execute("BEGIN IMMEDIATE")
        # Well under the busy handler's default 30 s, which the command must not wait out.
        result = run_guarded(args, cwd=project, env=LOCKED, timeout=20)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert store_bytes(project) == before
    if args[0] == "lint":
        assert_judged(result, 1, "good.jsonl:1: ANT001 [error]", BLOCKED_3)
        return
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    assert result.returncode == 2 and result.stdout == "", (result.stdout, result.stderr)
    *notices, error = [line for line in result.stderr.splitlines() if line.strip()]
    assert notices == [f"{WAITING}{db} (up to 1 s; LINEAGE_LOCK_TIMEOUT sets how long)"], result.stderr
    assert error == (f"Error: the store stayed locked by another process, {db}: wait for the other import to "
                     "finish, or raise LINEAGE_LOCK_TIMEOUT (seconds)")


@pytest.fixture
def read_only_store(project: Path, tmp_path: Path) -> Iterator[tuple[Path, bool]]:
    """A copy of the store, the file 0444 and its folder 0555; (its folder's parent, whether
    that stops writes). Root writes through permissions, so as root the file and folder are made
    immutable (chattr +i) instead, where the file system allows it."""
    root = tmp_path / "read-only"
    folder = root / ".lineage"
    folder.mkdir(parents=True)
    db = folder / "lineage.db"
    shutil.copyfile(project / ".lineage" / "lineage.db", db)
    write_jsonl(root / "new.jsonl", [chat("A new question?", "A new answer.")])
    write_jsonl(root / "good.jsonl", ROWS)
    db.chmod(0o444)
    folder.chmod(0o555)
    immutable = False
    if os.geteuid() == 0 and shutil.which("chattr"):
        immutable = subprocess.run(["chattr", "+i", str(db), str(folder)], capture_output=True).returncode == 0
    try:
        yield root, os.geteuid() != 0 or immutable
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(db), str(folder)], check=True)
        folder.chmod(0o755)
        db.chmod(0o644)


@pytest.mark.parametrize("args", [
    ["import", "new.jsonl", *SOURCE],
    ["derive", "new.jsonl", "--from", "good.jsonl", "--transform", "filter"],
], ids=["import", "derive"])
def test_a_read_only_store(read_only_store: tuple[Path, bool], args: list[str]) -> None:
    root, enforced = read_only_store
    before = store_bytes(root)
    result = run_cli(*args, cwd=root)
    if not enforced:
        # Root without chattr: nothing stops the write, and the command is right to go ahead.
        assert_judged(result, 0)
        return
    assert_refused(result, "cannot open or write the store (", f"{root / '.lineage' / 'lineage.db'}: check the "
                   "permissions of the store file and its folder")
    assert store_bytes(root) == before


CARDS = {
    "unterminated": "---\nlicense: mit\npretty_name: Corpus\n# The header never ends\n",
    "invalid-yaml": "---\nlicense: [mit\n---\n# Corpus\n",
}


@pytest.mark.parametrize("card,args,start,where", [
    ("unterminated", ["card"], "the card's YAML header is not closed: the --- on line 1 has no closing --- line",
     "README.md:1: add a line holding only ---"),
    ("unterminated", ["card", "--check"], "the card's YAML header is not closed", "README.md:1"),
    ("unterminated", ["gate"], "the card's YAML header is not closed", "README.md:1"),
    ("invalid-yaml", ["card"], "the card's YAML header is invalid (", "README.md: fix the block between"),
    ("invalid-yaml", ["gate"], "the card's YAML header is invalid (", "README.md"),
], ids=["card-unterminated", "card-check-unterminated", "gate-unterminated", "card-invalid-yaml",
        "gate-invalid-yaml"])
def test_a_bad_card(project: Path, card: str, args: list[str], start: str, where: str) -> None:
    folder = project / f"card-{card}"
    if not folder.exists():
        folder.mkdir()
        write_jsonl(folder / "train.jsonl", ROWS)
        (folder / "README.md").write_text(CARDS[card])
    before = store_bytes(project)
    command, *flags = args
    assert_refused(run_cli(command, folder.name, *flags, cwd=project), start, f"{folder.name}/{where}")
    assert (folder / "README.md").read_text() == CARDS[card], "the card was changed"
    assert store_bytes(project) == before


@pytest.fixture(scope="module")
def pipes(project: Path) -> Path:
    """FIFOs under names a data, policy and waivers file would have."""
    for name in ("pipe.jsonl", "pipe.yaml"):
        os.mkfifo(project / "in" / name)
    return project


@pytest.mark.parametrize("args,where", [
    (["lint", "in/pipe.jsonl"], "in/pipe.jsonl"),
    (["gate", "in/pipe.jsonl"], "in/pipe.jsonl"),
    (["import", "in/pipe.jsonl", *SOURCE], "in/pipe.jsonl"),
    (["derive", "in/pipe.jsonl", "--from", "good.jsonl", "--transform", "filter"], "in/pipe.jsonl"),
    (["policies", "validate", "in/pipe.yaml"], "in/pipe.yaml"),
    (["lint", "good.jsonl", "--waivers", "in/pipe.yaml"], "in/pipe.yaml"),
], ids=["lint", "gate", "import", "derive", "validate", "lint-waivers"])
def test_a_fifo_given_as_a_file(pipes: Path, args: list[str], where: str) -> None:
    """A FIFO is not a file to read: refused at once, without waiting for a writer, and not
    called missing."""
    before = store_bytes(pipes)
    line = assert_refused(run_guarded(args, cwd=pipes, timeout=60), "", where)
    assert "no such" not in line.lower(), line
    assert store_bytes(pipes) == before


@pytest.mark.parametrize("args,where", [
    (["derive", "in/zero.jsonl", "--from", "good.jsonl", "--transform", "filter"], "in/zero.jsonl"),
    (["derive", "in/spaces.jsonl", "--from", "good.jsonl", "--transform", "filter"], "in/spaces.jsonl"),
    (["derive", "derived.jsonl", "--from", "in/zero.jsonl", "--transform", "filter"], "in/zero.jsonl"),
], ids=["derive-zero-byte-output", "derive-whitespace-output", "derive-zero-byte-input"])
def test_derive_refuses_a_file_with_no_records(project: Path, args: list[str], where: str) -> None:
    before = store_bytes(project)
    assert_refused(run_cli(*args, cwd=project), "no records", where)
    assert store_bytes(project) == before


@pytest.mark.parametrize("command", ["lint", "gate"])
def test_a_column_no_record_has(project: Path, command: str) -> None:
    """As import does: a --model-column that no record has is a typo, not a column to ignore."""
    before = store_bytes(project)
    assert_refused(run_cli(command, "good.jsonl", "--model-column", "nosuch", cwd=project),
                   "no record has the column 'nosuch'", "good.jsonl")
    assert store_bytes(project) == before


def test_explain_names_the_option_with_an_impossible_date(project: Path) -> None:
    assert_refused(run_cli("explain", *SOURCE, "--generated-at", "2026-02-30", cwd=project), "", "--generated-at")


@pytest.mark.parametrize("args,start,where", [
    (["serve", "--insecure", "--port", "0", "--waivers", "in/missing.yaml"], "no such waivers file", "in/missing.yaml"),
    (["serve", "--port", "0", "--token-file", "in/missing-token"], "cannot read the token file", "in/missing-token"),
], ids=["serve-missing-waivers", "serve-missing-token-file"])
def test_serve_says_how_to_fix_a_missing_file(project: Path, args: list[str], start: str, where: str) -> None:
    assert_refused(run_guarded(args, cwd=project, timeout=30), start, where)


@pytest.mark.parametrize("args", [
    ["policies", "validate", "in/policy-utf16.yaml"],
    ["serve", "--insecure", "--port", "0", "--policy", "in/policy-utf16.yaml"],
    ["lint", "good.jsonl", "--waivers", "in/waivers-utf16.yaml"],
], ids=["validate-policy", "serve-policy", "lint-waivers"])
def test_a_utf16_policy_or_waivers_file(project: Path, args: list[str]) -> None:
    """As for data files: say the file is UTF-16 and how to convert it, not a codec's message."""
    folder = project / "in"
    (folder / "policy-utf16.yaml").write_bytes(POLICY.format(effective="2025-02-28").encode("utf-16"))
    (folder / "waivers-utf16.yaml").write_bytes("waivers: []\n".encode("utf-16"))
    where = args[-1]
    line = assert_refused(run_guarded(args, cwd=project, timeout=30), "", where)
    assert "UTF-16" in line, line


@pytest.mark.parametrize("store,start", [
    ("store-random/.lineage/lineage.db", "cannot read the store (file is not a database)"),
    ("in/missing.db", "no lineage store"),
], ids=["corrupt", "missing"])
def test_serve_refuses_a_bad_store_before_it_serves(broken_stores: Path, store: str, start: str) -> None:
    """lint refuses both stores; serve starts, answers /healthz ok and fails every check."""
    before = store_bytes(broken_stores)
    result = run_guarded(["serve", "--insecure", "--port", "0", "--store", store], cwd=broken_stores, timeout=30)
    assert_refused(result, start, store)
    assert store_bytes(broken_stores) == before


@pytest.mark.parametrize("command", ["lint", "gate"])
def test_a_read_only_store_can_be_read(read_only_store: tuple[Path, bool], command: str) -> None:
    """Reading commands only read: a store in a folder nobody may write (so SQLite cannot make
    its -shm file) is still read."""
    root, _ = read_only_store
    before = store_bytes(root)
    assert_judged(run_cli(command, "good.jsonl", cwd=root), 1, "good.jsonl:1: ANT001 [error]", "3 blocked")
    assert store_bytes(root) == before


def test_derive_with_a_named_store_still_checks_the_settings(project: Path) -> None:
    """Every other command refuses `untraked = "error"`; derive does, too, unless --store is given."""
    folder = project / "config-derive-store"
    if not folder.exists():
        folder.mkdir()
        (folder / "pyproject.toml").write_text(CONFIGS["pyproject.toml"])
        write_jsonl(folder / "good.jsonl", ROWS)
        write_jsonl(folder / "derived.jsonl", ROWS[:2])
    before = store_bytes(project)
    result = run_cli("derive", "derived.jsonl", "--from", "good.jsonl", "--transform", "filter",
                     "--store", str(project / ".lineage" / "lineage.db"), cwd=folder)
    assert_refused(result, "unknown setting `untraked`", f"{folder / 'pyproject.toml'}: did you mean `untracked`?")
    assert store_bytes(project) == before

