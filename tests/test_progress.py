"""The import progress bar: on a terminal after a couple of seconds, never in a pipe."""

from __future__ import annotations

import sys
from pathlib import Path

from tests.conftest import chat, run_cli, run_on_terminal, write_jsonl


def test_progress_bar_on_a_terminal_only(tmp_path: Path) -> None:
    store = str(tmp_path / "s.db")
    run_cli("init", "--store", store, check=True)
    # Long enough to outlast the bar's two-second delay by a wide margin on a fast machine.
    big = write_jsonl(tmp_path / "big.jsonl", [chat(f"q{i}", f"answer {i}") for i in range(700_000)])
    args = [sys.executable, "-m", "lineage", "import", str(big), "--model", "gpt-4o", "--store", store]
    code, seen = run_on_terminal(args)
    assert code == 0
    assert b"importing" in seen and b"records" in seen, seen[-500:]

    piped = run_cli("import", str(big), "--model", "gpt-4o", "--store", store, check=True)
    assert "importing" not in piped.stderr
