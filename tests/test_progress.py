"""The progress bar: on a terminal once a run outlasts its delay, never in a pipe; and the
settings in seconds that come from the environment (the bar's delay, the store's lock waits)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import lineage
from lineage.exceptions import ConfigError
from lineage.importers import ImportRequest, import_paths
from lineage.progress import delay
from lineage.store import Store
from tests.conftest import chat, run_cli, run_on_terminal, write_jsonl

NOW = {"LINEAGE_PROGRESS_DELAY": "0"}
LATER = {"LINEAGE_PROGRESS_DELAY": "600"}


def test_import_bar_on_a_terminal_only(tmp_path: Path) -> None:
    store = str(tmp_path / "s.db")
    run_cli("init", "--store", store, check=True)
    data = write_jsonl(tmp_path / "data.jsonl", [chat(f"q{i}", f"answer {i}") for i in range(2000)])
    args = [sys.executable, "-m", "lineage", "import", str(data), "--model", "gpt-4o", "--store", store]

    code, seen = run_on_terminal(args, env=NOW)
    assert code == 0
    assert b"importing" in seen and b"records" in seen, seen[-500:]
    # A run that ends before the delay draws nothing, on a terminal too.
    code, seen = run_on_terminal(args, env=LATER)
    assert code == 0 and b"importing" not in seen, seen[-500:]

    piped = run_cli("import", str(data), "--model", "gpt-4o", "--store", store, env=NOW, check=True)
    assert "importing" not in piped.stderr


def test_lint_bar_on_a_terminal_only(tmp_path: Path) -> None:
    data = write_jsonl(tmp_path / "data.jsonl", [chat(f"q{i}", f"answer {i}") for i in range(2000)])
    args = [sys.executable, "-m", "lineage", "lint", str(data), "--statistics"]

    code, seen = run_on_terminal(args, cwd=tmp_path, env=NOW)
    assert code == 0
    assert b"linting" in seen and b"examples" in seen, seen[-500:]
    code, seen = run_on_terminal(args, cwd=tmp_path, env=LATER)
    assert code == 0 and b"linting" not in seen, seen[-500:]

    piped = run_cli("lint", str(data), "--statistics", cwd=tmp_path, env=NOW)
    assert piped.returncode == 0 and "linting" not in piped.stderr


@pytest.mark.parametrize(
    ("variable", "default"), [("LINEAGE_PROGRESS_DELAY", "2"), ("LINEAGE_LOCK_TIMEOUT", "600"),
                              ("LINEAGE_SQLITE_BUSY_TIMEOUT", "30")],
)
def test_a_bad_number_of_seconds_is_one_line_and_exit_2(tmp_path: Path, variable: str, default: str) -> None:
    expected = [f"Error: {variable} must be a number of seconds, not 'soon': set it to 0 or more "
                f"(the default is {default}), or unset it"]
    data = write_jsonl(tmp_path / "data.jsonl", [chat("q", "a")])
    store = tmp_path / "s.db"
    run_cli("init", "--store", str(store), check=True)
    before = store.read_bytes()
    # An import says so before it writes anything: the store is left as it was, byte for byte.
    result = run_cli("import", str(data), "--model", "gpt-4o", "--store", str(store), env={variable: "soon"})
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == expected
    assert store.read_bytes() == before
    # Every command says so before it starts, whether it would use the variable or not.
    for command in (["lint", str(data), "--store", str(store)], ["sources", "--store", str(store)]):
        result = run_cli(*command, cwd=tmp_path, env={variable: "soon"})
        assert result.returncode == 2
        assert result.stderr.strip().splitlines() == expected


@pytest.mark.parametrize("jobs", [1, 2])
def test_lint_reports_every_example_to_its_bar(tmp_path: Path, jobs: int) -> None:
    # Over 4 MiB, so that two jobs do split it into pieces.
    examples = 30_000
    data = write_jsonl(tmp_path / "data.jsonl",
                       [chat(f"question {i} " + "word " * 20, f"answer {i} " + "word " * 10) for i in range(examples)])
    assert data.stat().st_size > 4 << 20
    calls: list[int] = []
    report = lineage.lint(data, use_store=False, jobs=jobs, progress=calls.append)
    assert report.summary()["examples"] == examples
    assert sum(calls) == examples


def test_import_reports_every_record_to_its_bar(tmp_path: Path) -> None:
    data = write_jsonl(tmp_path / "data.jsonl", [chat(f"q{i}", f"answer {i}") for i in range(2500)])
    calls: list[int] = []
    with Store.open(str(tmp_path / "s.db"), create=True) as store:
        import_paths(store, [data], ImportRequest(source={"provider": "openai", "model": "gpt-4o"}), progress=calls.append)
    assert sum(calls) == 2500 and calls[:2] == [1000, 1000]


def test_delay_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LINEAGE_PROGRESS_DELAY", raising=False)
    assert delay() == 2.0
    monkeypatch.setenv("LINEAGE_PROGRESS_DELAY", " 0.5 ")
    assert delay() == 0.5
    for bad in ("-1", "nan", "inf", "1e400", "two"):
        monkeypatch.setenv("LINEAGE_PROGRESS_DELAY", bad)
        with pytest.raises(ConfigError, match="LINEAGE_PROGRESS_DELAY"):
            delay()
