"""The README's first command: the quickstart script runs and records every kind of source."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from lineage.fingerprints import fingerprint
from lineage.readers import Record, iter_records
from lineage.segments import extract_segments
from lineage.store import Store
from tests.conftest import example_env, run_example


def test_quickstart_script(tmp_path: Path) -> None:
    folder = tmp_path / "quickstart"
    result = run_example("quickstart", folder)
    env = example_env()
    assert "openai/gpt-4o-2024-08-06" in result.stdout
    # The lint at the end blocks the six Claude answers and says why.
    assert result.stdout.count(": ANT001 [error]") == 6
    assert "24 examples in 1 file(s): 6 blocked, 0 needs review, 12 allowed, 4 allowed with obligations, 2 untracked" in result.stdout
    assert "lineage lint exited with 1" in result.stdout

    with Store.open(str(folder / ".lineage" / "lineage.db")) as store:
        kinds: dict[str, int] = {}
        for summary in store.sources():
            kinds[summary.source.kind] = kinds.get(summary.source.kind, 0) + summary.segments
        assert kinds == {"api": 11, "open-model": 4, "dataset": 8, "human": 6}
        # Every answer in train.jsonl is traced, except the two rows nobody recorded.
        answers = [
            segment.fingerprint
            for record in iter_records(folder / "train.jsonl")
            if isinstance(record, Record)
            for segment in extract_segments(record.data)
            if segment.side == "completion"
        ]
        found = store.lookup(answers)
    assert len(answers) == 24
    assert len(found) == 22
    assert fingerprint("Pixel.") not in found

    # Running it again changes nothing.
    again = run_example("quickstart", folder)
    assert "Using existing lineage store" in again.stdout
    listed = subprocess.run(
        [sys.executable, "-m", "lineage", "sources", "--format", "json"],
        capture_output=True, text=True, env=env, cwd=folder, check=True,
    )
    assert sum(s["segments"] for s in json.loads(listed.stdout)) == 29
