"""The benchmark scripts keep working (their figures are read by people, not asserted here)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def test_import_benchmark_runs_on_a_small_input(pg_base_url: str) -> None:
    result = subprocess.run(
        [sys.executable, str(BENCHMARKS / "import_bench.py"), "--segments", "4000", "--repeat", "1",
         "--goal", "1000", "--pg", pg_base_url],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ratio against parse+hash+insert floor" in result.stdout
    assert "lineage import, PostgreSQL" in result.stdout


def test_lint_benchmark_runs_on_a_small_input() -> None:
    result = subprocess.run(
        [sys.executable, str(BENCHMARKS / "lint_bench.py"), "--examples", "5000", "--repeat", "1", "--rounds", "1",
         "--ratio-goal", "1000", "--speedup-goal", "0", "--memory-goal", "100000", "--small-goal", "1000"],
        capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for line in ("ratio against the floor", "--jobs 2 speed-up per round", "median of the rounds",
                 "two lints of half the file at once", "peak memory", "lineage lint, 1,000 examples", "all goals met"):
        assert line in result.stdout, result.stdout


def test_detect_benchmark_runs_on_a_small_input() -> None:
    result = subprocess.run(
        [sys.executable, str(BENCHMARKS / "detect_bench.py"), "--recorded", "3000", "--queries", "1000",
         "--baseline-recorded", "1000", "--baseline-queries", "300"],
        capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for line in ("threshold 0.5: precision", "recall drop-1-sentence", "speed-up against datasketch",
                 "through the store: 3,000 recorded", "import", "bytes a sketch", "LIN012 naming the right source",
                 "self-identification: recall"):
        assert line in result.stdout, result.stdout
