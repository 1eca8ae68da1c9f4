"""Shared fixtures: stores on both back ends, the CLI in a subprocess, small datasets."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import orjson
import pytest

from lineage.store import Store

ROOT = Path(__file__).resolve().parent.parent
PG_ENV = "LINEAGE_TEST_PG_URL"


def pytest_configure(config: pytest.Config) -> None:
    # The caller's timing settings would change what the CLI draws on a terminal and how long it
    # waits on a busy store, and a bad one would fail every command: tests set them where they need them.
    for variable in ("LINEAGE_PROGRESS_DELAY", "LINEAGE_LOCK_TIMEOUT", "LINEAGE_SQLITE_BUSY_TIMEOUT"):
        os.environ.pop(variable, None)


def _pg_base_url() -> str | None:
    url = os.environ.get(PG_ENV)
    if url:
        return url
    if os.environ.get("CI") == "true":
        pytest.fail(f"{PG_ENV} is not set: CI must run the PostgreSQL tests", pytrace=False)
    return None


@pytest.fixture(scope="session")
def pg_base_url() -> str:
    url = _pg_base_url()
    if url is None:
        pytest.skip(f"PostgreSQL tests need {PG_ENV} (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test)")
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            conn.execute(text("select 1"))
    except Exception as exc:
        message = f"cannot reach PostgreSQL at {url}: {exc}"
        if os.environ.get("CI") == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    finally:
        engine.dispose()
    return url


@pytest.fixture
def pg_url(pg_base_url: str) -> Iterator[str]:
    """A URL whose connections see a fresh, empty schema of their own."""
    from sqlalchemy import create_engine, text

    schema = f"lineage_test_{uuid.uuid4().hex[:12]}"
    engine = create_engine(pg_base_url)
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in pg_base_url else "?"
    yield f"{pg_base_url}{separator}options=-csearch_path%3D{schema}"
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A store URL on each back end; the store is not created yet."""
    if request.param == "sqlite":
        return str(tmp_path / "store" / "lineage.db")
    return request.getfixturevalue("pg_url")


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    opened = Store.open(store_url, create=True)
    yield opened
    opened.close()


def run_cli(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None, check: bool = False,
            input: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run the real `lineage` command in a subprocess."""
    full_env = {k: v for k, v in os.environ.items() if k != "LINEAGE_STORE"}
    full_env.update(env or {})
    result = subprocess.run(
        [sys.executable, "-m", "lineage", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        input=input,
        timeout=600,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"lineage {' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
    return result


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records))
    return path


# The facts about a trained model that rules turn on and nobody may assume (LIN014 if left out),
# stated as a support assistant built from scratch that stays in-house would state them.
STATED_FACTS = 'competes_with = []\nbase_model = "none"\nmodel_type = "generative"\ndistribute_model = false\n'
STATED_FLAGS = ("--competes-with", "none", "--base-model", "none", "--model-type", "generative", "--no-distribute-model")


# The same facts for `UseContext(**STATED)`, with a test's own context on top.
STATED = {"competes_with": [], "base_model": "none", "model_type": "generative", "distribute_model": False}


@pytest.fixture(scope="session")
def pack():  # type: ignore[no-untyped-def]
    """The bundled policy pack, loaded once."""
    from lineage.policy import load_pack

    return load_pack()


def at(text: str) -> datetime:
    """A generation time from an ISO date or date-time, in UTC."""
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


def state_facts(folder: Path, extra: str = "") -> Path:
    """Write a lineage.toml in `folder` that states the model facts (and `extra` settings)."""
    path = folder / "lineage.toml"
    path.write_text(STATED_FACTS + extra)
    return path


def chat(question: str, answer: str) -> dict:
    return {"messages": [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]}


class OnTerminal:
    """A command running with its stderr on a pseudo-terminal (100 columns), with `env` added to
    the environment; what it has drawn so far is in `seen`. Used as a context manager, it kills
    the command if it is still running at the end, and closes the terminal."""

    def __init__(self, args: list[str], *, cwd: Path | None = None, env: dict[str, str] | None = None) -> None:
        import fcntl
        import pty
        import struct
        import termios

        full_env = {**{k: v for k, v in os.environ.items() if k != "LINEAGE_STORE"}, **(env or {})}
        self.primary, secondary = pty.openpty()
        self.seen = b""
        self.closed = False
        try:
            # A new pseudo-terminal is 0x0, and a bar in no columns is drawn as nothing; give it a real size.
            fcntl.ioctl(secondary, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
            self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=secondary, env=full_env, cwd=cwd)
        except BaseException:
            os.close(self.primary)
            raise
        finally:
            os.close(secondary)

    def __enter__(self) -> OnTerminal:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=60)
        self._close()

    def _close(self) -> None:
        if not self.closed:
            self.closed = True
            os.close(self.primary)

    def read_until(self, marker: bytes | None = None, timeout: float = 600) -> bytes:
        """Read what the command draws until `marker` appears (None: until it exits); fails the
        test if that takes longer than `timeout` seconds."""
        import select
        import time

        deadline = time.monotonic() + timeout
        while not self.closed and (marker is None or marker not in self.seen):
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.primary], [], [], left)[0]:
                raise AssertionError(f"waited {timeout} s for {marker!r}; drawn so far: {self.seen[-500:]!r}")
            try:
                chunk = os.read(self.primary, 4096)
            except OSError:  # the terminal closes when the process exits
                chunk = b""
            if not chunk:
                self._close()
            self.seen += chunk
        return self.seen

    def finish(self) -> tuple[int, bytes]:
        """(exit code, all it drew), once it has exited."""
        self.read_until()
        self.process.wait(timeout=600)
        return self.process.returncode, self.seen


def run_on_terminal(
    args: list[str], *, cwd: Path | None = None, env: dict[str, str] | None = None
) -> tuple[int, bytes]:
    """Run a command to its end with its stderr on a pseudo-terminal; (exit code, what it drew)."""
    with OnTerminal(args, cwd=cwd, env=env) as run:
        return run.finish()


EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def example_env() -> dict[str, str]:
    """The environment an example script runs in: no store named, and the `lineage` installed beside
    this interpreter first on PATH (the scripts call `lineage`)."""
    env = {k: v for k, v in os.environ.items() if k != "LINEAGE_STORE"}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def run_example(name: str, folder: Path) -> subprocess.CompletedProcess[str]:
    """Run examples/NAME/run.sh in `folder`, a copy of the example made on the first run."""
    import shutil

    if not folder.exists():
        shutil.copytree(EXAMPLES / name, folder, ignore=shutil.ignore_patterns(".lineage", "out"))
    result = subprocess.run(["bash", str(folder / "run.sh")], capture_output=True, text=True, env=example_env(),
                            timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    return result
