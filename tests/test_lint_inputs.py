"""Lint on both store back ends, both ways of reading origins, and every input format."""

from __future__ import annotations

import gzip
import json
import sys
from datetime import date, datetime, timezone
from pathlib import Path

import orjson
import pytest

from lineage.fingerprints import fingerprint
from lineage.importers import ImportRequest, import_paths
from lineage.linting.origins import OriginIndex, origin_key, split_key
from lineage.store import Store
from lineage.store.location import normalise_url
from tests.conftest import STATED_FLAGS, chat, run_cli, write_jsonl

CLAUDE = [chat(f"Claude q{i}?", f"Claude a{i}.") for i in range(3)]
GPT = [chat(f"GPT q{i}?", f"GPT a{i}.") for i in range(2)]
WHEN = datetime(2025, 6, 1, tzinfo=timezone.utc)


def fill(url: str, folder: Path) -> None:
    store = Store.open(url, create=True)
    claude = write_jsonl(folder / "claude.jsonl", CLAUDE)
    gpt = write_jsonl(folder / "gpt.jsonl", GPT)
    import_paths(store, [claude], ImportRequest(source={"provider": "anthropic", "model": "claude-sonnet-4-5"},
                                                generated_at=WHEN))
    # The same answer from a second source: both origins count, and the stricter one wins.
    import_paths(store, [gpt], ImportRequest(source={"provider": "openai", "model": "gpt-4o"}))
    twice = write_jsonl(folder / "twice.jsonl", [GPT[0]])
    import_paths(store, [twice], ImportRequest(source={"provider": "anthropic", "model": "claude-sonnet-4-5"},
                                               generated_at=WHEN))
    store.close()


@pytest.mark.parametrize("day", [date(1, 1, 1), date(1800, 1, 1), date(1858, 11, 17), WHEN.date(), date(9999, 12, 31), None])
def test_origin_keys_round_trip(day: date | None) -> None:
    for ident in (1, 7, 1 << 32):
        assert split_key(origin_key(ident, day)) == (ident, day)


def test_old_dates_keep_their_source(tmp_path: Path) -> None:
    store = tmp_path / "lineage.db"
    fill(str(store), tmp_path)
    old = write_jsonl(tmp_path / "old.jsonl", [chat("Old q?", "Old Claude answer.")])
    with Store.open(str(store)) as opened:
        import_paths(opened, [old], ImportRequest(source={"provider": "anthropic", "model": "claude-sonnet-4-5"},
                                                  generated_at=datetime(1800, 1, 1, tzinfo=timezone.utc)))
    result = run_cli("lint", str(old), "--store", str(store), "--format", "json", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    (source,) = json.loads(result.stdout)["sources"]
    assert source["source"]["provider"] == "anthropic"


def test_a_damaged_store_is_exit_2(tmp_path: Path) -> None:
    import shutil
    import sqlite3

    store = tmp_path / "lineage.db"
    fill(str(store), tmp_path)
    broken = tmp_path / "broken.db"
    shutil.copy(store, broken)
    conn = sqlite3.connect(broken)
    conn.execute("DROP TABLE lineage_origins")
    conn.commit()
    conn.close()
    data = write_jsonl(tmp_path / "rows.jsonl", CLAUDE)
    result = run_cli("lint", str(data), "--store", str(broken), cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert "cannot read the store" in result.stderr


@pytest.mark.parametrize("preload", [True, False])
def test_probe_and_preload_find_the_same_origins(store_url: str, tmp_path: Path, preload: bool) -> None:
    fill(store_url, tmp_path)
    index = OriginIndex(normalise_url(store_url), preload=preload)
    assert index.preloaded is preload
    wanted = [fingerprint(r["messages"][1]["content"]) for r in CLAUDE + GPT] + [fingerprint("absent")]
    found = index.find(wanted)
    index.close()
    assert all(type(value) is int for value in found.values())
    assert fingerprint("absent") not in found
    assert len(found) == len(CLAUDE) + len(GPT)
    claude_key = found[fingerprint(CLAUDE[0]["messages"][1]["content"])]
    ident, day = split_key(claude_key)
    assert index.sources[ident].provider == "anthropic" and day == WHEN.date()
    handle = found[fingerprint(GPT[0]["messages"][1]["content"])]
    both = index.keys(handle)
    assert handle < 0 and len(both) == 2
    assert {index.sources[split_key(k)[0]].provider for k in both} == {"anthropic", "openai"}
    assert split_key(found[fingerprint(GPT[1]["messages"][1]["content"])])[1] is None


@pytest.mark.parametrize("preload", [True, False])
def test_origin_day_is_the_utc_day_at_any_time_of_day(store_url: str, tmp_path: Path, preload: bool) -> None:
    from datetime import timedelta

    times = [
        datetime(2025, 6, 1, 0, 0, 0, tzinfo=timezone.utc),
        datetime(2025, 6, 1, 23, 59, 59, 999999, tzinfo=timezone.utc),
        datetime(2025, 6, 1, 12, 30, tzinfo=timezone.utc),
        # 01:00 in UTC+02:00 is the day before in UTC.
        datetime(2025, 6, 2, 1, 0, tzinfo=timezone(timedelta(hours=2))),
        datetime(1, 1, 1, 23, 59, 59, tzinfo=timezone.utc),
        datetime(2025, 6, 2, 0, 0, 0, 400, tzinfo=timezone.utc),
        datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone.utc),
    ]
    store = Store.open(store_url, create=True)
    texts = [f"answer at {when.isoformat()}" for when in times]
    for n, (text, when) in enumerate(zip(texts, times, strict=True)):
        rows = write_jsonl(tmp_path / f"t{n}.jsonl", [{"text": text}])
        import_paths(store, [rows], ImportRequest(source={"provider": "anthropic", "model": "claude-sonnet-4-5"},
                                                  generated_at=when))
    store.close()
    index = OriginIndex(normalise_url(store_url), preload=preload)
    found = index.find([fingerprint(t) for t in texts])
    index.close()
    days = [split_key(found[fingerprint(t)])[1] for t in texts]
    assert days == [when.astimezone(timezone.utc).date() for when in times]


def test_lint_against_each_back_end(store_url: str, tmp_path: Path) -> None:
    fill(store_url, tmp_path)
    data = write_jsonl(tmp_path / "train.jsonl", CLAUDE + GPT)
    result = run_cli("lint", str(data), "--store", store_url, "--format", "json", *STATED_FLAGS, cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    summary = json.loads(result.stdout)["summary"]
    # GPT[0] was also recorded as a Claude output: blocked with the Claude rows.
    assert summary["blocked"] == 4 and summary["allowed"] == 1
    assert summary["findings_by_code"]["ANT001"] == 4


def test_every_input_format(tmp_path: Path) -> None:
    import datasets
    import pyarrow as pa
    import pyarrow.feather as feather

    store = tmp_path / "lineage.db"
    fill(str(store), tmp_path)
    rows = CLAUDE + GPT
    files = {
        "train.jsonl.gz": lambda p: p.write_bytes(gzip.compress(b"".join(orjson.dumps(r) + b"\n" for r in rows))),
        "train.json": lambda p: p.write_text(json.dumps(rows)),
        "train.arrow": lambda p: feather.write_feather(pa.Table.from_pylist(rows), str(p)),
        "saved": lambda p: datasets.DatasetDict({"train": datasets.Dataset.from_list(rows)}).save_to_disk(str(p)),
    }
    for name, write in files.items():
        write(tmp_path / name)
        result = run_cli("lint", name, "--store", str(store), "--format", "json", cwd=tmp_path)
        assert result.returncode == 1, (name, result.stderr)
        report = json.loads(result.stdout)
        assert report["summary"]["blocked"] == 4, name
        lines = [f["line"] for f in report["findings"] if f["code"] == "ANT001"]
        # Line formats count from 1, columnar ones give 0-based rows.
        assert lines == ([1, 2, 3, 4] if name.startswith("train.json") else [0, 1, 2, 3]), name


def test_an_invalid_policy_file_is_exit_2(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "rows.jsonl", CLAUDE)
    bad = tmp_path / "org.yaml"
    bad.write_text("documents:\n  - id: org\n    titel: Org rules\n")
    result = run_cli("lint", "rows.jsonl", "--policy", str(bad), cwd=tmp_path)
    assert result.returncode == 2
    assert "org.yaml" in result.stderr and "titel" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_lone_surrogate_is_a_malformed_record(tmp_path: Path) -> None:
    data = tmp_path / "rows.jsonl"
    data.write_bytes(b'{"messages": [{"role": "assistant", "content": "\\ud800 half a pair"}]}\n'
                     + orjson.dumps(CLAUDE[0]) + b"\n")
    result = run_cli("lint", str(data), "--format", "json", cwd=tmp_path)
    assert "Traceback" not in result.stderr
    report = json.loads(result.stdout)
    (finding,) = [f for f in report["findings"] if f["code"] == "LIN010"]
    assert finding["line"] == 1 and "surrogate" in finding["message"]
    assert report["summary"]["examples"] == 2


def test_origin_table_runs_and_clashes() -> None:
    import numpy as np

    from lineage.linting.preload import NONE, OriginTable

    a, b = b"A" * 32, b"B" * 32
    # Same first eight bytes, different fingerprints: both must still be told apart.
    c, d = b"C" * 8 + b"x" * 24, b"C" * 8 + b"y" * 24
    multi: list[tuple[int, ...]] = []
    table = OriginTable(b"".join([b, a, c, b, d, a]), np.array([20, 10, 30, 21, 40, 11]), multi)
    assert len(table) == 3  # a, b, and one row for the two that share their first eight bytes
    found = table.lookup([a, b, c, d, b"Z" * 32, b"C" * 8 + b"z" * 24]).tolist()
    assert found[2:] == [30, 40, NONE, NONE]
    assert found[0] < 0 and multi[~found[0]] == (10, 11)
    assert found[1] < 0 and multi[~found[1]] == (20, 21)
    assert table.find([a, b"Z" * 32]) == {a: found[0]}
    assert OriginTable(b"", np.zeros(0, np.int64), []).lookup([a]).tolist() == [NONE]


def test_origin_table_keeps_store_order_within_runs() -> None:
    import random

    import numpy as np

    from lineage.linting.preload import OriginTable

    # Thousands of texts each recorded three times, scattered: the sort is not stable, so the order
    # of a text's keys must come from where its rows were.
    rng = random.Random(7)
    texts = [rng.randbytes(32) for _ in range(3000)]
    placed = [fp for fp in texts for _ in range(3)]
    rng.shuffle(placed)
    multi: list[tuple[int, ...]] = []
    table = OriginTable(b"".join(placed), np.arange(len(placed), dtype=np.int64), multi)
    found = table.find(texts)
    for fp in texts:
        keys = multi[~found[fp]]
        assert list(keys) == sorted(keys) and [placed[k] for k in keys] == [fp] * 3


@pytest.mark.parametrize("into", [False, pytest.param(True, marks=pytest.mark.skipif(
    sys.platform == "win32", reason="the shared table is for forked workers"))])
@pytest.mark.parametrize("repeats", [False, True])
def test_origin_table_from_sorted_parts_is_the_table_of_the_whole(into: bool, repeats: bool) -> None:
    import itertools
    import multiprocessing
    import random

    import numpy as np

    from lineage.linting.preload import NONE, OriginTable, SharedTable, sort_part

    rng = random.Random(11)
    texts = [rng.randbytes(32) for _ in range(4000)]
    # Some texts recorded twice, in different parts, and two that share their first eight bytes.
    placed = texts + ([*texts[:500], texts[0][:8] + b"q" * 24] if repeats else [])
    rng.shuffle(placed)
    keys = np.arange(len(placed), dtype=np.int64) * 7
    whole_multi: list[tuple[int, ...]] = []
    whole = OriginTable(b"".join(placed), keys, whole_multi)
    cuts = [0, 1000, 1001, 2500, len(placed)]  # one part of a single row
    parts = [sort_part(np.frombuffer(b"".join(placed[a:b]), dtype=np.uint64), keys[a:b])
             for a, b in itertools.pairwise(cuts)]
    shared = SharedTable(len(placed), multiprocessing.get_context("fork")) if into else None
    multi: list[tuple[int, ...]] = []
    table = OriginTable.from_parts(parts, multi, into=shared)
    wanted = [*placed, rng.randbytes(32)]

    def values(found: np.ndarray, handles: list[tuple[int, ...]]) -> list[object]:
        return [None if v == NONE else handles[~v] if v < 0 else v for v in found.tolist()]

    assert values(table.lookup(wanted), multi) == values(whole.lookup(wanted), whole_multi)
    assert values(table.lookup(wanted), multi)[-1] is None
    assert table.clashes.keys() == whole.clashes.keys() and len(table.clashes) == (2 if repeats else 0)
    assert bool(multi) == repeats
    assert np.array_equal(table.prefix, whole.prefix) and np.array_equal(table.rows, whole.rows)
    if shared is not None:  # built in the shared mapping, so publishing copies nothing
        assert np.shares_memory(table.rows, shared._views(len(table))[2])
        shared.fill(table, multi)
        attached, attached_multi = shared.attach()  # type: ignore[misc]
        assert attached.lookup(wanted).tolist() == table.lookup(wanted).tolist() and attached_multi == multi


def _shared_table_in_a_child(shared: object, wanted: list[bytes], out: object) -> None:
    attached = shared.attach()  # type: ignore[attr-defined]
    if attached is None:
        out.send(None)  # type: ignore[attr-defined]
        return
    table, multi = attached
    out.send((table.lookup(wanted).tolist(), multi, table.clashes))  # type: ignore[attr-defined]


@pytest.mark.skipif(sys.platform == "win32", reason="the shared table is for forked workers")
def test_shared_table_reaches_forked_workers() -> None:
    import multiprocessing

    import numpy as np

    from lineage.linting.preload import OriginTable, SharedTable

    context = multiprocessing.get_context("fork")
    a, b = b"A" * 32, b"B" * 32
    c, d = b"C" * 8 + b"x" * 24, b"C" * 8 + b"y" * 24
    wanted = [a, b, c, d, b"Z" * 32]

    def run(shared: SharedTable) -> object:
        # The child is forked before the table is published, as lint's workers are.
        here, there = context.Pipe()
        child = context.Process(target=_shared_table_in_a_child, args=(shared, wanted, there))
        child.start()
        multi: list[tuple[int, ...]] = []
        table = OriginTable(b"".join([b, a, c, b, d]), np.array([20, 10, 30, 21, 40]), multi)
        shared.fill(table, multi)
        got = here.recv()
        child.join(10)
        return got, table.lookup(wanted).tolist(), multi

    got, expected, multi = run(SharedTable(5, context))
    assert got == (expected, multi, {c: 30, d: 40})
    assert multi == [(20, 21)]
    # Room for fewer origins than the table holds: the workers are told to load it themselves.
    got, _, _ = run(SharedTable(2, context))
    assert got is None


def _stage_in_a_child(url: str, shared: object, part: int) -> None:
    index = OriginIndex(url, preload=True, shared=shared)  # type: ignore[arg-type]  # as a worker's
    index.stage(shared, part)  # type: ignore[arg-type]
    index.close()


@pytest.mark.skipif(sys.platform == "win32", reason="the shared table is for forked workers")
@pytest.mark.parametrize("case", ["staged", "one part failed", "one worker gone"])
def test_forked_workers_read_parts_of_the_store_for_the_table(
    tmp_path: Path, case: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import multiprocessing
    import os
    import sqlite3

    from lineage.linting import preload
    from lineage.linting.preload import SharedTable

    store = tmp_path / "lineage.db"
    fill(str(store), tmp_path)
    url = f"sqlite:///{store}"
    conn = sqlite3.connect(store)
    fps = [bytes(fp) for (fp,) in conn.execute("SELECT fingerprint FROM lineage_origins")]
    conn.close()
    plain = OriginIndex(url, preload=True)
    expected = {fp: plain.keys(value) for fp, value in plain.find(fps).items()}
    # Six origins in three parts: the text recorded from two sources has them in parts 1 and 2.
    assert plain.size == 6 and any(len(keys) == 2 for keys in expected.values())
    parent = os.getpid()
    read: list[tuple[int, int]] = []  # the ranges this process reads itself
    real = preload.load_rows

    def load_rows(sql, low, high, batches, damaged):  # type: ignore[no-untyped-def]
        if os.getpid() != parent and case == "one part failed" and low == 4:
            raise MemoryError  # a worker that cannot read its part: the parent reads it
        if os.getpid() == parent:
            read.append((low, high))
        return real(sql, low, high, batches, damaged)

    monkeypatch.setattr(preload, "load_rows", load_rows)
    context = multiprocessing.get_context("fork")
    shared = SharedTable(100, context, parts=3, ids=plain.size)
    workers = [1] if case == "one worker gone" else [1, 2]
    children = [context.Process(target=_stage_in_a_child, args=(url, shared, part)) for part in workers]
    for child in children:
        child.start()
    for child in children:
        child.join(10)
    if case == "one worker gone":  # part 2 is never staged: the parent gives up on it and reads it
        shared.give_up = lambda: True
    index = OriginIndex(url, preload=True, staged=shared)
    assert {fp: index.keys(value) for fp, value in index.find(fps).items()} == expected
    assert len(index.table) == len(plain.table)  # type: ignore[arg-type]
    assert read == ([(0, 2)] if case == "staged" else [(0, 2), (4, 6)])
    index.close()
    plain.close()


def test_a_worker_loads_the_store_itself_when_the_parent_could_not(tmp_path: Path) -> None:
    import multiprocessing

    from lineage.linting.preload import SharedTable

    store = tmp_path / "lineage.db"
    fill(str(store), tmp_path)
    shared = SharedTable(100, multiprocessing.get_context("fork"))
    index = OriginIndex(f"sqlite:///{store}", preload=True, shared=shared)
    assert index.preloaded and index._table is None  # nothing read yet
    shared.fail()
    assert len(index.table) == len(CLAUDE) + len(GPT)  # type: ignore[arg-type]
    index.close()


def test_jobs_stop_with_one_line_when_the_store_is_damaged(tmp_path: Path) -> None:
    import sqlite3

    store = tmp_path / "lineage.db"
    fill(str(store), tmp_path)
    conn = sqlite3.connect(store)
    conn.execute("UPDATE lineage_origins SET fingerprint = x'00' WHERE id = 1")
    conn.commit()
    conn.close()
    rows = [chat(f"Question {i} with some padding to make the file large?", f"Answer {i}.") for i in range(60_000)]
    data = write_jsonl(tmp_path / "big.jsonl", rows)
    assert data.stat().st_size > 4 << 20
    result = run_cli("lint", str(data), "--store", str(store), "--jobs", "2", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert "not 32 bytes" in result.stderr


@pytest.mark.skipif(sys.platform == "win32", reason="forked workers")
@pytest.mark.parametrize("layout", [None, "openai-chat"])  # the columnar path, and the row path
def test_jobs_cut_nothing_out_of_its_place(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, layout: str | None) -> None:
    """A byte-order mark is allowed on a file's first line only, also where a range starts on
    another line; and two files, both cut into ranges, keep their own line numbers."""
    import lineage.linting.run as run
    from lineage import readers

    lines = [orjson.dumps(chat(f"question {i}?", f"answer {i}.")) for i in range(300)]
    first = tmp_path / "first.jsonl"
    first.write_bytes(b"\n".join([*lines[:100], b"\xef\xbb\xbf" + lines[100], *lines[101:]]) + b"\n")
    second = tmp_path / "second.jsonl"
    second.write_bytes(b"\xef\xbb\xbf" + b"\n".join(lines[:150]) + b"\n")  # a mark where it may be
    line_size = len(lines[0]) + 1

    def bounds(path: object, parts: int, **_: object) -> list[int]:
        data = Path(str(path)).read_bytes()
        starts = [0] + [i + 1 for i, byte in enumerate(data[:-1]) if byte == 0x0A]
        cuts = [100, 101, 180] if Path(str(path)) == first else [40, 90]
        return [0, *(starts[n] for n in cuts), len(data)]

    monkeypatch.setattr(readers, "jsonl_bounds", bounds)
    monkeypatch.setattr(run, "_PARALLEL_MIN_BYTES", 0)
    assert line_size * 100 < first.stat().st_size
    from lineage.config import find_config
    from lineage.linting.settings import build_settings

    monkeypatch.chdir(tmp_path)
    settings = build_settings(find_config(), layout=layout)
    one = run.lint([str(first), str(second)], use_store=False, settings=settings)
    two = run.lint([str(first), str(second)], use_store=False, jobs=2, settings=settings)
    assert one.summary()["malformed"] == 1
    assert [(f.path, f.line, f.code) for f in one.findings if f.code == "LIN010"] == [(str(first), 101, "LIN010")]
    assert two.summary() == one.summary()
    assert [(f.path, f.line, f.code) for f in two.findings] == [(f.path, f.line, f.code) for f in one.findings]
    assert max(f.line for f in two.findings if f.path == str(second)) == 150
