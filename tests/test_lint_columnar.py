"""The columnar path gives the report the row path gives, for every kind of row it may meet.

The inputs are small, so the tests shrink the block size and the size from which JSONL is read
in blocks; they check that the columnar path really judged blocks, and that the blocks it could
not take (malformed lines, <think> traces, inline provenance, other shapes) fell back.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import orjson
import pytest

import lineage.blocks as blocks
import lineage.linting.columnar as columnar
import lineage.linting.linter as linter_module
import lineage.linting.run as run
from lineage.importers import ImportRequest, import_paths
from lineage.linting.origins import OriginIndex
from lineage.report import render
from lineage.store import Store
from tests.conftest import write_jsonl

SYSTEMS = ["You are terse.", "You are kind.", "You cite sources."]
SOURCES = {
    "claude": {"provider": "anthropic", "model": "claude-sonnet-4-5"},
    "gpt": {"provider": "openai", "model": "gpt-4o"},
    "llama": {"kind": "open-model", "model": "meta-llama/Llama-3.1-8B-Instruct"},
    "human": {"kind": "human", "name": "staff"},
    "nc": {"kind": "dataset", "name": "nc-answers", "license": "CC-BY-NC-4.0"},
}


def answer(i: int) -> str:
    return f"Answer {i}: the  terms\tmatter."  # normalised before hashing: spaces and a tab


def source_of(i: int) -> str | None:
    return [*SOURCES, None][i % (len(SOURCES) + 1)]


def row(i: int) -> dict:
    messages = [{"role": "user", "content": f"Question {i}?"}, {"role": "assistant", "content": answer(i)}]
    if i % 3:
        messages.insert(0, {"role": "system", "content": SYSTEMS[i % 3]})
    if i % 7 == 0:
        # A prompt that is a recorded output, a second answer, and a blank turn.
        messages += [{"role": "user", "content": answer(i + 1)}, {"role": "assistant", "content": answer(i + 2)},
                     {"role": "assistant", "content": "  "}]
    if i % 11 == 0:
        messages = []
    if i % 13 == 0:
        messages.append({"role": "human", "content": "é" * (i % 5)})  # ShareGPT speaker, non-ASCII, maybe empty
    return {"id": i, "messages": messages}


def odd_lines() -> list[bytes]:
    """Lines the columnar path must leave to the row path, each in a block of its own kind."""
    return [
        b'{"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "<think>hm</think>A."}]}',
        b'{"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "\\ud800 lone"}]}',
        orjson.dumps({"messages": [{"role": "user", "content": "q", "name": "x"},
                                   {"role": "assistant", "content": answer(0)}]}),
        b'{"messages": [{"role": "user", "content": "q"}], "model": "gpt-4o"}',
        b'{"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": 5}]}',
        b'{"messages": [{"role": "user", "content": "q"}] {"messages": []}',
        b"",
        b"   ",
        b'{"messages": [{"role": "narrator", "content": "q"}]}',
        b'{"messages": [{"role": "user", "content": "q"}], "reasoning": "because"}',
        b"[1, 2]",
        b'{"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": " lead"}]}',
    ]


@pytest.fixture
def project(tmp_path: Path, store_url: str) -> Path:
    store = Store.open(store_url, create=True)
    for n, (name, source) in enumerate(SOURCES.items()):
        recorded = [{"messages": [{"role": "assistant", "content": answer(i)}]} for i in range(900) if source_of(i) == name]
        path = write_jsonl(tmp_path / f"{name}.jsonl", recorded)
        when = datetime(2024 + n % 2, 3 + n, 1, tzinfo=timezone.utc) if n != 3 else None
        import_paths(store, [path], ImportRequest(source=source, generated_at=when))
    # Some texts recorded from two sources.
    twice = write_jsonl(tmp_path / "twice.jsonl", [{"messages": [{"role": "assistant", "content": answer(i)}]}
                                                  for i in range(0, 900, 17)])
    import_paths(store, [twice], ImportRequest(source=SOURCES["gpt"]))
    store.close()
    (tmp_path / "lineage.toml").write_text(f'store = "{store_url}"\n')
    return tmp_path


def write_data(folder: Path) -> Path:
    lines = [orjson.dumps(row(i)) for i in range(600)]
    for n, odd in enumerate(odd_lines()):
        lines.insert(40 + n * 45, odd)
    path = folder / "train.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + b"\n".join(lines) + b"\n")
    return path


def both_ways(monkeypatch: pytest.MonkeyPatch, inputs: list[str]) -> tuple[dict, dict, list[bool]]:
    """(report by the columnar path, report by the row path, and per block that pyarrow read
    whether the columnar path judged it)."""
    judged = []
    real = columnar.lint_chat

    def counting(*args: object) -> bool:
        done = real(*args)  # type: ignore[arg-type]
        judged.append(done)
        return done

    with monkeypatch.context() as patch:
        patch.setattr(run, "_COLUMNAR_MIN_BYTES", 0)
        patch.setattr(blocks, "BLOCK_BYTES", 2000)
        patch.setattr(columnar, "lint_chat", counting)
        fast = run.lint(inputs)
    with monkeypatch.context() as patch:
        patch.setattr(linter_module, "_columnar_available", lambda: False)
        slow = run.lint(inputs)
    return json.loads(render(fast, "json")), json.loads(render(slow, "json")), judged


@pytest.mark.parametrize("options", [
    "",
    'untracked = "error"\nall_segments = true',
    'untracked = "ignore"',
    'ignore = ["ANT"]\ncommercial = false',
    'select = ["LIN009", "LIN010"]',
])
def test_columnar_and_row_paths_give_the_same_report(
    project: Path, monkeypatch: pytest.MonkeyPatch, options: str
) -> None:
    config = project / "lineage.toml"
    config.write_text(f"{config.read_text()}{options}\n")
    monkeypatch.chdir(project)
    data = write_data(project)
    fast, slow, judged = both_ways(monkeypatch, [str(data)])
    assert judged.count(True) >= 5 and judged.count(False) >= 3  # <think>, inline provenance, a reasoning field
    assert fast == slow
    summary = fast["summary"]
    assert summary["examples"] == 600 + len(odd_lines()) - 2  # the blank lines are not examples
    # A lone surrogate, a number for an answer, two objects on a line, an unknown speaker, an array.
    assert summary["malformed"] == 5


@pytest.mark.parametrize("preload", [True, False])
def test_columnar_report_counts(project: Path, monkeypatch: pytest.MonkeyPatch, preload: bool) -> None:
    """Not only alike: right. Counted here from the rows themselves, with the store read whole
    or probed per block."""
    monkeypatch.chdir(project)
    monkeypatch.setattr(run.LintJob, "index", lambda job: OriginIndex(job.store_url, preload=preload))
    rows = [row(i) for i in range(600)]
    data = write_jsonl(project / "plain.jsonl", rows)
    fast, slow, judged = both_ways(monkeypatch, [str(data)])
    assert fast == slow and judged.count(True) > 3 and False not in judged

    def assistant_sources(r: dict) -> set[str | None]:
        texts = [m["content"] for m in r["messages"] if m["role"] == "assistant" and m["content"].strip()]
        index = {answer(i): i for i in range(1000)}
        return {source_of(index[t]) for t in texts}

    claude = sum(1 for r in rows if "claude" in assistant_sources(r) or any(
        m["role"] == "user" and m["content"] in {answer(i) for i in range(1000) if source_of(i) == "claude"}
        for m in r["messages"]))
    twice = {answer(i) for i in range(0, 900, 17)}
    # A text recorded from Claude and again from OpenAI is still Claude's output.
    assert fast["summary"]["findings_by_code"]["ANT001"] == claude
    assert fast["summary"]["blocked"] >= claude
    assert any(any(m["content"] in twice for m in r["messages"]) for r in rows)


def test_parquet_and_datasets_take_the_columnar_path(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import datasets
    import pyarrow as pa
    import pyarrow.parquet as pq

    monkeypatch.chdir(project)
    rows = [row(i) for i in range(600)]
    path = project / "train.parquet"
    pq.write_table(pa.Table.from_pylist(rows * 20), path, row_group_size=1000)  # batches of 5,000 rows
    fast, slow, judged = both_ways(monkeypatch, [str(path)])
    assert fast == slow and judged == [True, True, True]
    lines = [f["line"] for f in fast["findings"]]
    # Row indexes of the whole file, across batches: the last copy's findings sit 19 copies on.
    assert max(lines) == 19 * 600 + max(n for n in lines if n < 600)
    dataset = datasets.DatasetDict({"train": datasets.Dataset.from_list(rows[:300]),
                                    "test": datasets.Dataset.from_list(rows[300:])})
    with monkeypatch.context() as patch:
        patch.setattr(linter_module, "_columnar_available", lambda: False)
        slow_ds = json.loads(render(run.lint(dataset), "json"))
    fast_ds = json.loads(render(run.lint(dataset), "json"))
    assert fast_ds == slow_ds
    assert fast_ds["summary"]["examples"] == 600
    assert {f["split"] for f in fast_ds["findings"] if f["code"] == "ANT001"} == {"train", "test"}


def test_blocks_keep_line_numbers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(blocks, "BLOCK_BYTES", 100)
    path = tmp_path / "rows.jsonl"
    lines = [orjson.dumps({"messages": [{"role": "user", "content": f"q{i}"}]}) for i in range(50)]
    lines[20] = b""
    path.write_bytes(b"\n".join(lines))  # no newline at the end
    seen = []
    for block in blocks.iter_jsonl_blocks(path):
        seen += [(r.line, r.data["messages"][0]["content"]) for r in block.records()]
    assert seen == [(i + 1, f"q{i}") for i in range(50) if i != 20]
    read = list(blocks.iter_jsonl_blocks(path))
    # pyarrow read the blocks without the blank line (the last one too, with no newline at its end).
    assert [b.table is not None for b in read].count(False) == 1 and read[-1].table is not None


TRICKY = [
    "plain text", "two  spaces", " leading", "trailing ", "tab\there", "line\nbreak", "cr\rreturn",
    "unit\x1fsep", "nel\x85", "nbsp\xa0here", "e\u0301 composed by NFC", "café", "日本語 テキスト", "", "   ",
    "\t\n", "ok.", "x", "nul\x00byte", "del\x7f", "a  ", "é", "emoji 😀 here",
]


@pytest.mark.parametrize("kind", ["string", "large_string"])
def test_arrow_fingerprints_match_fingerprint(kind: str) -> None:
    import pyarrow as pa

    from lineage.fingerprints import fingerprint

    array = pa.array(["skipped"] + TRICKY * 3, type=getattr(pa, kind)()).slice(1)
    fps, blank = columnar._fingerprints(array)
    assert fps == [fingerprint(t) for t in TRICKY * 3]
    assert blank.tolist() == [not t.strip() for t in TRICKY * 3]
    assert columnar._fingerprints(pa.array(["fine", "<think>why</think>answer"])) is None
    assert columnar._fingerprints(pa.array(["fine", "\n<think>why</think>answer"])) is None


CHAT = orjson.dumps({"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": answer(1)}]})
# Blocks pyarrow reads differently from the row reader, or reads where the row reader refuses.
AWKWARD = {
    "object across lines, two on a line": [
        CHAT, b'{"messages": [{"role": "user", "content": "q"},', b'{"role": "assistant", "content": "a"}]}',
        b'{"x": 1}' + CHAT, CHAT,
    ],
    "not UTF-8 in a text": [CHAT, b'{"messages": [{"role": "user", "content": "caf\xe9"}]}'],
    "not UTF-8 in another column": [CHAT, b'{"id": "r\xff", "messages": [{"role": "user", "content": "q"}]}'],
    "an encoded surrogate": [CHAT, b'{"id": "\xed\xa0\x80", "messages": [{"role": "user", "content": "q"}]}'],
    "ints and floats in one column": [
        orjson.dumps({"instruction": "2+3?", "output": answer(1)}), orjson.dumps({"instruction": "2+3?", "output": 5}),
        orjson.dumps({"instruction": "5/2?", "output": 2.5}),
    ],
    "objects with other keys": [
        orjson.dumps({"messages": [{"role": "user", "content": "w?"}, {"role": "assistant", "content": None,
                      "tool_calls": [{"type": "function", "function": {"name": "f", "arguments": args}}]}]})
        for args in ({"city": "Paris"}, {"unit": "C"})
    ] + [CHAT],
    "dates as text": [orjson.dumps({"instruction": "when?", "output": "2024-01-01"}), CHAT],
    "nested too deeply": [CHAT, b'{"messages": [], "x": ' + b"[" * 1100 + b"]" * 1100 + b"}"],
    "a space after a line": [CHAT + b" ", CHAT],
}


@pytest.mark.parametrize("case", list(AWKWARD))
def test_awkward_blocks_match_the_row_reader(project: Path, monkeypatch: pytest.MonkeyPatch, case: str) -> None:
    monkeypatch.chdir(project)
    path = project / "awkward.jsonl"
    path.write_bytes(b"\n".join(AWKWARD[case]) + b"\n")
    fast, slow, _ = both_ways(monkeypatch, [str(path)])
    assert fast == slow
    summary = fast["summary"]
    assert summary["examples"] >= 2 and summary["malformed"] < summary["examples"]


@pytest.mark.parametrize("limit", [0, 7, 10_000])
def test_columnar_path_keeps_the_first_findings_and_counts_all(
    project: Path, monkeypatch: pytest.MonkeyPatch, limit: int
) -> None:
    monkeypatch.chdir(project)
    data = write_jsonl(project / "plain.jsonl", [row(i) for i in range(600)])
    with monkeypatch.context() as patch:
        patch.setattr(run, "_COLUMNAR_MIN_BYTES", 0)
        patch.setattr(blocks, "BLOCK_BYTES", 2000)
        fast = run.lint([str(data)], max_findings=limit)
    with monkeypatch.context() as patch:
        patch.setattr(linter_module, "_columnar_available", lambda: False)
        slow = run.lint([str(data)], max_findings=limit)
    every = run.lint([str(data)])
    assert fast.findings == slow.findings == every.findings[:limit]
    assert fast.findings_by_code == slow.findings_by_code == every.findings_by_code
    assert fast.findings_total == every.findings_total > 7
