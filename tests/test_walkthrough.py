"""The README's walkthrough runs as written: every command of its shell and console blocks, in
order, on a copy of the repository's examples, with the output it shows."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

# Commands whose exit code 1 is a verdict (a breach found), not a failure.
JUDGING = ("lineage lint", "lineage gate", "lineage explain")


def walkthrough_blocks() -> list[tuple[str, list[str], list[str]]]:
    """(kind, commands, shown output lines) of each shell or console block of the walkthrough."""
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Walkthrough"):text.index("## Documentation")]
    blocks = []
    for kind, body in re.findall(r"```(sh|console)\n(.*?)```", section, flags=re.S):
        lines = body.splitlines()
        if kind == "sh":
            blocks.append((kind, [line for line in lines if line.strip()], []))
        else:
            commands = [line[2:] for line in lines if line.startswith("$ ")]
            shown = [line for line in lines if line and not line.startswith("$ ")]
            blocks.append((kind, commands, shown))
    return blocks


def test_the_walkthrough_runs_as_written(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "examples", tmp_path / "examples",
                    ignore=shutil.ignore_patterns(".lineage", "out", "data", "report.html", "NOTICE"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINEAGE_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    cwd = tmp_path
    ran = 0
    outputs: dict[str, str] = {}
    for _kind, commands, shown in walkthrough_blocks():
        for command in commands:
            line = command.split("  #")[0].strip()
            if line.startswith("cd "):
                cwd = (cwd / shlex.split(line)[1]).resolve()
                assert cwd.is_dir(), line
                continue
            result = subprocess.run(["bash", "-c", line], cwd=cwd, env=env, capture_output=True, text=True,
                                    timeout=300)
            ran += 1
            allowed = (0, 1) if line.startswith(JUDGING) else (0,)
            assert result.returncode in allowed, f"{line} (in {cwd.name}) exited {result.returncode}:\n{result.stderr}"
            assert "Traceback" not in result.stderr and "Error:" not in result.stderr, (line, result.stderr)
            outputs[line] = result.stdout
        if shown:
            # What a console block shows is what the commands print ("..." stands for lines left out).
            printed = "\n".join(outputs[c.split("  #")[0].strip()] for c in commands)
            for expected in shown:
                if expected.strip() == "...":
                    continue
                pattern = ".*?".join(re.escape(part.strip()) for part in expected.split("..."))
                assert re.search(pattern, printed), expected
    assert ran >= 25
    assert (tmp_path / "examples" / "lineage-pipeline" / "report.html").read_text().startswith("<!DOCTYPE html>")
    card = (tmp_path / "examples" / "registry-gate" / "data" / "README.md").read_text()
    assert "license: cc-by-nc-4.0" in card and "tos-lineage:provenance:start" in card
