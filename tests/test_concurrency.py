"""Several processes importing into one store at once, and an import killed half-way."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from lineage.store import Store
from tests.conftest import OnTerminal, chat, run_cli, write_jsonl

IMPORTERS = 8


def _files(folder: Path, count: int, rows: int, *, shared: int = 0) -> list[Path]:
    """`count` files of `rows` distinct answers each, plus `shared` answers that every file holds."""
    common = [chat(f"shared q{j}", f"shared answer {j}") for j in range(shared)]
    return [
        write_jsonl(folder / f"part-{i}.jsonl", [chat(f"q{i}-{j}", f"answer {i}-{j}") for j in range(rows)] + common)
        for i in range(count)
    ]


def _import_all_at_once(files: list[Path], store: str) -> list[subprocess.CompletedProcess[str]]:
    env = {k: v for k, v in os.environ.items() if k != "LINEAGE_STORE"}
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "lineage", "import", str(path), "--provider", "anthropic",
             "--model", "claude-sonnet-4-5", "--store", store],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for path in files
    ]
    results = []
    for process in processes:
        out, err = process.communicate(timeout=300)
        results.append(subprocess.CompletedProcess(process.args, process.returncode, out, err))
    return results


def test_concurrent_imports_all_land(tmp_path: Path, store_url: str) -> None:
    rows, shared = 2000, 100
    files = _files(tmp_path / "data", IMPORTERS, rows, shared=shared)
    run_cli("init", "--store", store_url, check=True)
    results = _import_all_at_once(files, store_url)
    for result in results:
        assert result.returncode == 0, result.stderr
        assert "locked" not in result.stderr
    with Store.open(store_url) as opened:
        (source,) = opened.sources()
        assert source.segments == IMPORTERS * rows + shared
        stats = opened.stats()
    assert stats["capture_runs"] == IMPORTERS
    # The shared answers were new to exactly one importer each.
    added = sum(int(r.stdout.split(" new origins")[0].rsplit(" ", 1)[1]) for r in results)
    assert added == IMPORTERS * rows + shared


def test_killed_import_leaves_the_store_as_it_was(tmp_path: Path) -> None:
    store = str(tmp_path / "s.db")
    run_cli("init", "--store", store, check=True)
    seed = write_jsonl(tmp_path / "seed.jsonl", [chat("seed q", "seed answer")])
    run_cli("import", str(seed), "--provider", "openai", "--model", "gpt-4o", "--store", store, check=True)
    big = write_jsonl(tmp_path / "big.jsonl", [chat(f"q{i}", f"a long enough answer number {i}") for i in range(200_000)])

    # On a terminal the import shows its progress bar, a second in; the bar counts records the
    # open transaction has read, so once it shows, the kill lands in the middle of the import.
    with OnTerminal([sys.executable, "-m", "lineage", "import", str(big), "--provider", "anthropic",
                     "--model", "claude-sonnet-4-5", "--store", store], env={"LINEAGE_PROGRESS_DELAY": "1"}) as run:
        run.read_until(b"importing", timeout=120)
        assert run.process.poll() is None, "the import finished before it could be killed"
        run.process.send_signal(signal.SIGKILL)
        run.finish()

    with Store.open(store) as opened:
        counts = {s.source.provider: s.segments for s in opened.sources()}
        runs = opened.stats()["capture_runs"]
    assert counts == {"openai": 1}
    assert runs == 1
    # The store still takes writes after the kill.
    run_cli("import", str(seed), "--provider", "openai", "--model", "gpt-4o-mini", "--store", store, check=True)


@pytest.mark.parametrize("timeout", ["1"])
def test_a_store_locked_too_long_is_a_clear_error(tmp_path: Path, timeout: str) -> None:
    import sqlite3

    store = tmp_path / "s.db"
    run_cli("init", "--store", str(store), check=True)
    data = write_jsonl(tmp_path / "d.jsonl", [chat("q", "a")])
    holder = sqlite3.connect(store, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        result = run_cli(
            "import", str(data), "--provider", "openai", "--model", "gpt-4o", "--store", str(store),
            env={"LINEAGE_LOCK_TIMEOUT": timeout, "LINEAGE_SQLITE_BUSY_TIMEOUT": "0.2"},
        )
    finally:
        holder.rollback()
        holder.close()
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    notice, error = result.stderr.strip().splitlines()
    assert notice == (f"waiting for another process that is writing to the store {store} (up to {timeout} s; "
                      "LINEAGE_LOCK_TIMEOUT sets how long)")
    assert error.startswith("Error: the store stayed locked by another process")
    assert "LINEAGE_LOCK_TIMEOUT" in error
    assert Store.open(str(store)).stats()["origins"] == 0


def test_a_wait_for_the_lock_is_said_before_it_starts_and_the_write_then_lands(tmp_path: Path) -> None:
    import sqlite3

    store = tmp_path / "s.db"
    run_cli("init", "--store", str(store), check=True)
    data = write_jsonl(tmp_path / "d.jsonl", [chat("q", "a")])
    holder = sqlite3.connect(store, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    env = {k: v for k, v in os.environ.items() if k != "LINEAGE_STORE"}
    process = subprocess.Popen(
        [sys.executable, "-m", "lineage", "import", str(data), "--provider", "openai", "--model", "gpt-4o",
         "--store", str(store)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    try:
        # The notice comes while the lock is still held: read its line before letting go.
        first = process.stderr.readline()
    finally:
        holder.rollback()
        holder.close()
    out, rest = process.communicate(timeout=120)
    assert first.startswith(f"waiting for another process that is writing to the store {store} (up to 600 s;")
    assert process.returncode == 0, rest
    assert rest == "" and "1 new origins" in out


def test_concurrent_init_creates_one_store(store_url: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "LINEAGE_STORE"}
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "lineage", "init", "--store", store_url],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        )
        for _ in range(IMPORTERS)
    ]
    outputs = [process.communicate(timeout=120) for process in processes]
    assert [p.returncode for p in processes] == [0] * IMPORTERS, [err for _, err in outputs]
    assert sum("Created" in out for out, _ in outputs) >= 1
    with Store.open(store_url) as opened:
        assert opened.stats()["sources"] == 0
