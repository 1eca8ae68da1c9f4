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
