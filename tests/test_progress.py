"""The progress bar: on a terminal once a run outlasts its delay, never in a pipe."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from lineage.exceptions import UsageError
from lineage.progress import DEFAULT_DELAY, delay
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


def test_a_bad_delay_is_one_line_and_exit_2(tmp_path: Path) -> None:
    data = write_jsonl(tmp_path / "data.jsonl", [chat("q", "a")])
    result = run_cli("lint", str(data), cwd=tmp_path, env={"LINEAGE_PROGRESS_DELAY": "soon"})
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "Error: LINEAGE_PROGRESS_DELAY must be a number of seconds, not 'soon': set it to 0 or more "
        "(the default is 2), or unset it"
    ]


def test_delay_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LINEAGE_PROGRESS_DELAY", raising=False)
    assert delay() == DEFAULT_DELAY == 2.0
    monkeypatch.setenv("LINEAGE_PROGRESS_DELAY", " 0.5 ")
    assert delay() == 0.5
    for bad in ("-1", "nan", "two"):
        monkeypatch.setenv("LINEAGE_PROGRESS_DELAY", bad)
        with pytest.raises(UsageError, match="LINEAGE_PROGRESS_DELAY"):
            delay()
