"""`lineage serve`, started for real on 127.0.0.1 and called over HTTP."""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.conftest import chat, run_cli
from tests.test_publication import CLAUDE, CLAUDE_ROWS, NC, NC_ROWS, make_dataset

TOKEN = "registry-token-0123456789"
STAFF = {"kind": "human", "name": "staff"}
STAFF_ROWS = [chat(f"Staff question {i}?", f"Staff answer {i}.") for i in range(3)]
CLEAN_CARD = "---\nlicense: cc-by-4.0\n---\n# Staff answers\n"
SYNTHETIC_CARD = "---\nlicense: cc-by-nc-4.0\ntags: [synthetic]\n---\n# Answers\n"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Service:
    def __init__(self, folder: Path, store: str, *args: str, token: str | None = TOKEN) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if k not in ("LINEAGE_STORE", "LINEAGE_SERVE_TOKEN")}
        if token:
            env["LINEAGE_SERVE_TOKEN"] = token
        self.process = subprocess.Popen(
            [sys.executable, "-m", "lineage", "serve", "--port", str(self.port), "--store", store, *args],
            cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"lineage serve exited: {self.process.stderr.read()}")  # type: ignore[union-attr]
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise AssertionError("lineage serve did not answer /healthz within 60 s")

    def check(self, body: dict | bytes, *, token: str | None = TOKEN, **kwargs: object) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        if isinstance(body, bytes):
            return httpx.post(f"{self.url}/v1/check", content=body, headers={**headers, "Content-Type": "application/json"},
                              timeout=60, **kwargs)
        return httpx.post(f"{self.url}/v1/check", json=body, headers=headers, timeout=60, **kwargs)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()


@pytest.fixture
def recorded(tmp_path: Path) -> tuple[Path, str]:
    """An SQLite store that knows the Claude answers, the NC dataset and the staff answers."""
    store = str(tmp_path / "lineage.db")
    make_dataset(tmp_path, store, [(CLAUDE_ROWS, CLAUDE), (NC_ROWS, NC), (STAFF_ROWS, STAFF)], card=None)
    return tmp_path, store


@pytest.fixture
def service(recorded: tuple[Path, str]) -> Iterator[Service]:
    folder, store = recorded
    running = Service(folder, store, "--max-bytes", "20000")
    yield running
    running.stop()


def test_a_request_without_the_token_is_refused(service: Service) -> None:
    body = {"records": STAFF_ROWS, "card": CLEAN_CARD}
    for token in (None, "wrong-token"):
        answer = service.check(body, token=token)
        assert answer.status_code == 401 and answer.headers["WWW-Authenticate"] == "Bearer"
        assert answer.json() == {"error": "a bearer token is required: send Authorization: Bearer <token>"}
    assert service.check(body).status_code == 200
    # Health and the OpenAPI document need no token.
    assert httpx.get(f"{service.url}/healthz").json()["status"] == "ok"
    spec = httpx.get(f"{service.url}/openapi.json").json()
    assert "/v1/check" in spec["paths"] and "CheckRequest" in spec["components"]["schemas"]


def test_an_oversize_body_is_refused(service: Service) -> None:
    big = {"records": [chat(f"q{i}?", "x" * 500) for i in range(100)]}
    answer = service.check(big)
    assert answer.status_code == 413 and "larger than the service's limit of 20000 bytes" in answer.json()["error"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: the service counts as it reads
        yield b'{"records": ['
        for _ in range(100):
            yield b'{"text": "' + b"y" * 500 + b'"},'
        yield b'{"text": "end"}]}'

    chunked = httpx.post(f"{service.url}/v1/check", content=chunks(), timeout=60,
                         headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"})
    assert chunked.status_code == 413


def test_200_requests_from_8_clients_get_the_right_verdicts(service: Service) -> None:
    cases = [
        ({"records": STAFF_ROWS, "card": CLEAN_CARD}, "pass", {}),
        ({"records": CLAUDE_ROWS, "card": SYNTHETIC_CARD, "context": {"commercial": False}}, "fail", {"ANT001": 3}),
        ({"dataset": {"filename": "train.jsonl", "content": "".join(
            json.dumps(r) + "\n" for r in NC_ROWS)}, "card": SYNTHETIC_CARD.replace("tags: [synthetic]\n", ""),
          "context": {"commercial": False}}, "pass", {}),
        ({"records": NC_ROWS, "gate": False}, "fail", {"LIC001": 4}),
    ]

    def call(n: int) -> tuple[int, str, dict, str, dict]:
        body, verdict, codes = cases[n % len(cases)]
        answer = service.check(body)
        got = answer.json()
        return answer.status_code, got.get("verdict"), got.get("report", {}).get("summary", {}).get(
            "findings_by_code"), verdict, codes

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(call, range(200)))
    assert all(status == 200 for status, *_ in results)
    wrong = [(got, codes, want, want_codes) for _, got, codes, want, want_codes in results
             if got != want or codes != want_codes]
    assert not wrong, wrong[:3]


@pytest.mark.parametrize(("body", "status", "words"), [
    (b"not json", 422, "the request body is not valid JSON"),
    (b"[1, 2]", 422, "invalid request body"),
    (b'{"records": [{"text": "a"}], "dataset": {"filename": "a.jsonl", "content": "{}"}}', 422,
     "exactly one of dataset and records"),
    (b'{"records": []}', 422, "records is empty"),
    (b'{"records": [{"text": "a"}], "context": {"purpose": "resell"}}', 422, "context.purpose"),
    (b'{"records": [{"text": "a"}], "colour": "red"}', 422, "colour: Extra inputs are not permitted"),
    (b'{"dataset": {"filename": "a.exe", "content": "x"}}', 422, "the filename must end with one of"),
    (b'{"dataset": {"filename": "a.parquet", "content_base64": "***"}}', 400, "is not base64"),
    (b'{"dataset": {"filename": "a.parquet", "content_base64": "aGVsbG8="}}', 400, "is not a readable Parquet file"),
    (b'{"dataset": {"filename": "a.jsonl", "content": "\\ud800"}}', 400, "not valid Unicode"),
    (b'{"records": [{"n": 123456789012345678901234567890}]}', 400, "cannot be written as JSON"),
    (b'{"records": [{"text": "a"}], "card": "\\udfff"}', 400, "not valid Unicode"),
    (b"[" * 3000 + b"]" * 3000, 400, "cannot be parsed"),
    (b'{"records": [{"text": "a"}], "card": "---\\nlicense: [mit\\n---\\n"}', 400, "YAML header is invalid"),
])
def test_a_bad_body_gets_a_4xx_with_a_clear_message(service: Service, body: bytes, status: int, words: str) -> None:
    answer = service.check(body)
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert words in error and "Traceback" not in error and len(error.splitlines()) == 1


def test_malformed_rows_are_findings_not_errors(service: Service) -> None:
    content = '{"messages": [{"role": "user", "content": "hi"}]}\n{not json\n'
    answer = service.check({"dataset": {"filename": "t.jsonl", "content": content}, "gate": False})
    assert answer.status_code == 200 and answer.json()["report"]["summary"]["findings_by_code"].get("LIN010") == 1
    parquet = service.check({"dataset": {"filename": "t.parquet", "content_base64": base64.b64encode(b"PAR1").decode()}})
    error = parquet.json()["error"]
    assert parquet.status_code == 400 and "is not a readable Parquet file (" in error and error.endswith(", t.parquet")


def test_compressed_data_may_not_expand_past_the_limit(service: Service) -> None:
    import gzip

    bomb = gzip.compress(b'{"text": "' + b"z" * 400_000 + b'"}\n')
    assert len(bomb) < 5000
    answer = service.check({"dataset": {"filename": "t.jsonl.gz", "content_base64": base64.b64encode(bomb).decode()}})
    assert answer.status_code == 400
    assert answer.json()["error"] == "the dataset expands to more than the service's limit of 160000 bytes, t.jsonl.gz"
    hidden = service.check({"dataset": {"filename": "t.jsonl", "content_base64": base64.b64encode(bomb).decode()}})
    assert hidden.status_code == 400 and "gzip-compressed but its name does not end with .gz" in hidden.json()["error"]
    small = gzip.compress("".join(json.dumps(r) + "\n" for r in STAFF_ROWS).encode())
    fine = service.check({"dataset": {"filename": "t.jsonl.gz", "content_base64": base64.b64encode(small).decode()},
                          "card": CLEAN_CARD})
    assert fine.status_code == 200 and fine.json()["verdict"] == "pass"


def test_answers_name_the_clients_files_not_the_services(service: Service) -> None:
    answer = service.check({"dataset": {"filename": "uploads/train.jsonl", "content": "".join(
        json.dumps(r) + "\n" for r in CLAUDE_ROWS)}, "card": SYNTHETIC_CARD})
    text = answer.text
    assert answer.status_code == 200 and "lineage-serve-" not in text and "/tmp" not in text
    report = answer.json()["report"]
    assert report["store"] is None and report["files"][0]["path"] == "train.jsonl"
    assert {f["path"] for f in report["findings"]} == {"train.jsonl"}
    bad = service.check({"records": [{"text": "a"}], "card": "---\nlicense: [mit\n---\n"})
    assert bad.status_code == 400 and bad.json()["error"].count("README.md") == 1 and "/tmp" not in bad.text
    missing = httpx.get(f"{service.url}/v1/nothing", headers={"Authorization": f"Bearer {TOKEN}"})
    assert missing.status_code == 404 and missing.json() == {"error": "Not Found"}


def test_a_body_longer_than_its_content_length_is_cut_off(service: Service) -> None:
    # Content-Length says 10 bytes; the chunked body that follows is far larger.
    chunk = b'{"records": [' + b'{"text": "' + b"w" * 30000 + b'"}' + b"]}"
    request = (b"POST /v1/check HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
               b"Authorization: Bearer " + TOKEN.encode() + b"\r\nContent-Length: 10\r\n"
               b"Transfer-Encoding: chunked\r\n\r\n" + f"{len(chunk):x}".encode() + b"\r\n" + chunk + b"\r\n0\r\n\r\n")
    with socket.create_connection(("127.0.0.1", service.port), timeout=30) as conn:
        conn.sendall(request)
        status_line = conn.recv(4096).split(b"\r\n", 1)[0]
    assert status_line.split()[1] in (b"400", b"413"), status_line


def test_waivers_are_read_once_at_start(recorded: tuple[Path, str]) -> None:
    folder, store = recorded
    waivers = folder / "waivers.yaml"
    from tests.test_publication import WAIVERS

    waivers.write_text(WAIVERS)
    running = Service(folder, store, "--waivers", str(waivers))
    try:
        waivers.unlink()
        answer = running.check({"records": CLAUDE_ROWS, "card": SYNTHETIC_CARD, "context": {"commercial": False}})
        assert answer.status_code == 200 and answer.json()["verdict"] == "pass", answer.text
        assert answer.json()["report"]["waivers_applied"][0]["id"] == "anthropic-research-2026"
    finally:
        running.stop()


def test_it_will_not_start_without_a_token(tmp_path: Path) -> None:
    store = str(tmp_path / "lineage.db")
    run_cli("init", "--store", store, check=True)
    result = run_cli("serve", "--store", store, env={"LINEAGE_SERVE_TOKEN": ""})
    assert result.returncode == 2 and result.stderr.startswith("Error: no token to check clients against")
    result = run_cli("serve", "--insecure", "--host", "0.0.0.0", "--store", store, env={"LINEAGE_SERVE_TOKEN": ""})
    assert result.returncode == 2 and "only on a loopback address" in result.stderr
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = run_cli("serve", "--port", str(taken.getsockname()[1]), "--store", store,
                       env={"LINEAGE_SERVE_TOKEN": TOKEN})
    assert busy.returncode == 2 and busy.stderr.startswith("Error: cannot listen on 127.0.0.1:")
    assert busy.stderr.strip().count("\n") == 0
    empty = tmp_path / "token"
    empty.write_text("\n")
    result = run_cli("serve", "--token-file", str(empty), "--store", store)
    assert result.returncode == 2 and "the token file is empty" in result.stderr


def test_insecure_on_loopback_serves_without_a_token(recorded: tuple[Path, str]) -> None:
    folder, store = recorded
    running = Service(folder, store, "--insecure", token=None)
    try:
        answer = running.check({"records": STAFF_ROWS, "card": CLEAN_CARD}, token=None)
        assert answer.status_code == 200 and answer.json()["verdict"] == "pass"
    finally:
        running.stop()


@pytest.mark.postgres
def test_workers_share_a_postgresql_store(tmp_path: Path, pg_url: str) -> None:
    make_dataset(tmp_path, pg_url, [(CLAUDE_ROWS, CLAUDE), (STAFF_ROWS, STAFF)], card=None)
    running = Service(tmp_path, pg_url, "--workers", "2")
    try:
        bodies = [{"records": CLAUDE_ROWS, "card": SYNTHETIC_CARD}, {"records": STAFF_ROWS, "card": CLEAN_CARD}] * 10
        with ThreadPoolExecutor(max_workers=4) as pool:
            verdicts = list(pool.map(lambda b: running.check(b).json()["verdict"], bodies))
        assert verdicts == ["fail", "pass"] * 10
    finally:
        running.stop()


def test_the_registry_gate_example(tmp_path: Path) -> None:
    from tests.conftest import run_example

    folder = tmp_path / "registry-gate"
    result = run_example("registry-gate", folder)
    out = result.stdout
    assert "lineage gate exited with 1" in out
    assert "out/dataset/README.md:2: PUB002 [error] the card declares MIT" in out
    assert "updated out/dataset/README.md: license cc-by-nc-4.0" in out and "is up to date" in out
    assert out.count("publication: pass") == 1
    assert "service: commercial=True: fail {'LIC001': 4}" in out
    assert "service: commercial=False: pass {}" in out
    croissant = json.loads((folder / "out" / "croissant.json").read_text())
    assert croissant["license"] == ["https://spdx.org/licenses/CC-BY-NC-4.0.html"]
    # The example's own files are as they were: it worked on a copy.
    assert (folder / "dataset" / "README.md").read_text().startswith("---\nlicense: mit\n")
