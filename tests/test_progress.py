"""The import progress bar: on a terminal after a couple of seconds, never in a pipe."""

from __future__ import annotations

import fcntl
import os
import pty
import struct
import subprocess
import sys
import termios
from pathlib import Path

from tests.conftest import chat, run_cli, write_jsonl


def test_progress_bar_on_a_terminal_only(tmp_path: Path) -> None:
    store = str(tmp_path / "s.db")
    run_cli("init", "--store", store, check=True)
    big = write_jsonl(tmp_path / "big.jsonl", [chat(f"q{i}", f"answer {i}") for i in range(250_000)])
    args = [sys.executable, "-m", "lineage", "import", str(big), "--model", "gpt-4o", "--store", store]
    env = {k: v for k, v in os.environ.items() if k != "LINEAGE_STORE"}

    primary, secondary = pty.openpty()
    # A new pseudo-terminal is 0x0, and a bar in no columns is drawn as nothing; give it a real size.
    fcntl.ioctl(secondary, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=secondary, env=env)
    os.close(secondary)
    seen = b""
    while True:
        try:
            chunk = os.read(primary, 4096)
        except OSError:  # the terminal closes when the process exits
            break
        if not chunk:
            break
        seen += chunk
    process.wait(timeout=300)
    os.close(primary)
    assert process.returncode == 0
    assert b"importing" in seen and b"records" in seen, seen[-500:]

    piped = run_cli("import", str(big), "--model", "gpt-4o", "--store", store, check=True)
    assert "importing" not in piped.stderr
