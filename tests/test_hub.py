"""`lineage hub` and `gated_push_to_hub` against a local stand-in for the Hugging Face Hub."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.hub_standin import HubStandIn
from tests.test_publication import CLAUDE, CLAUDE_ROWS, NC, NC_ROWS, WAIVERS, make_dataset

PASSING = ("--non-commercial", "--waivers", "waivers.yaml")


@pytest.fixture
def hub() -> Iterator[HubStandIn]:
    standin = HubStandIn()
    yield standin
    standin.close()


def hub_env(hub: HubStandIn, folder: Path) -> dict[str, str]:
    # The client's own settings: the stand-in as endpoint, a cache of the test's own, and plain
    # Git LFS uploads (the stand-in speaks no Xet).
    return {"HF_ENDPOINT": hub.url, "HF_TOKEN": "hf_test_token", "HF_HOME": str(folder / "hf-home"),
            "HF_HUB_DISABLE_XET": "1", "HF_HUB_DISABLE_TELEMETRY": "1"}


@pytest.fixture
def dataset(tmp_path: Path) -> tuple[Path, str]:
    store = str(tmp_path / "lineage.db")
    make_dataset(tmp_path, store, [(NC_ROWS, NC), (CLAUDE_ROWS, CLAUDE)], card="---\nlicense: mit\n---\n# Answers\n")
    (tmp_path / "waivers.yaml").write_text(WAIVERS)
    return tmp_path, store


def test_push_is_refused_when_the_gate_fails_and_nothing_is_uploaded(dataset: tuple[Path, str], hub: HubStandIn) -> None:
    folder, store = dataset
    result = run_cli("hub", "push", "data", "acme/answers", "--store", store, *PASSING, cwd=folder,
                     env=hub_env(hub, folder))
    assert result.returncode == 1
    assert "data/README.md:2: PUB002 [error] the card declares MIT" in result.stdout
    assert result.stderr.strip() == ("Error: the publication gate failed, so nothing was uploaded, acme/answers: fix "
                                     "the findings (`lineage gate` lists them) and push again")
    assert hub.requests == [] and hub.repos == {}


def test_push_then_check_the_repository(dataset: tuple[Path, str], hub: HubStandIn) -> None:
    folder, store = dataset
    env = hub_env(hub, folder)
    assert run_cli("card", "data", "--store", store, cwd=folder).returncode == 0
    (folder / "data" / ".scratch.jsonl").write_text('{"text": "not for the Hub"}\n')
    (folder / "data" / "dataset_info.json").write_text('{"description": "", "features": {}}')
    result = run_cli("hub", "push", "data", "acme/answers", "--store", store, *PASSING, cwd=folder, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("pushed 2 file(s) to acme/answers: ")
    files = hub.repos["acme/answers"]
    assert sorted(files) == ["README.md", "train.jsonl"], "hidden files and metadata are not pushed"
    assert len(hub.commits["acme/answers"]) == 2, "the card and the data land in one commit"
    assert files["train.jsonl"] == (folder / "data" / "train.jsonl").read_bytes()
    assert b"license: cc-by-nc-4.0" in files["README.md"]
    assert set(hub.tokens) == {"Bearer hf_test_token"}

    # The repository as the Hub has it passes the gate for the same use, and fails a commercial one.
    snap = folder / "snapshot"
    check = run_cli("hub", "check", "acme/answers", "--local-dir", str(snap), "--store", store, *PASSING,
                    "--format", "json", cwd=folder, env=env)
    assert check.returncode == 0, check.stderr
    report = json.loads(check.stdout)
    assert report["publication"]["verdict"] == "pass" and report["summary"]["examples"] == 7
    # A file in the folder that the repository does not hold is not the repository's: not judged;
    # nor is the metadata a repository may hold beside its data.
    (snap / "stray.jsonl").write_text("{not json\n")
    files["dataset_infos.json"] = b'{"default": {"description": "", "features": {}}}'
    hub.commits["acme/answers"].append("f" * 40)  # as a commit of it would
    commercial = run_cli("hub", "check", "acme/answers", "--local-dir", str(snap), "--store", store,
                         "--statistics", cwd=folder, env=env)
    assert commercial.returncode == 1 and "ANT001  error" in commercial.stdout and "LIN010" not in commercial.stdout
    assert (snap / "dataset_infos.json").is_file() and "7 examples in 1 file(s)" in commercial.stdout, commercial.stdout

    # Offline, the snapshot is read as it is: with the stand-in gone, nothing is asked of it, so
    # the stray file is judged too, and a file with no readable record is an error, not a pass.
    hub.close()
    stray = run_cli("hub", "check", "acme/answers", "--local-dir", str(snap), "--offline", "--store", store,
                    *PASSING, cwd=folder, env=env)
    assert stray.returncode == 2 and "stray.jsonl" in stray.stderr and stray.stdout == ""
    (snap / "stray.jsonl").unlink()
    offline = run_cli("hub", "check", "acme/answers", "--local-dir", str(snap), "--offline", "--store", store,
                      *PASSING, cwd=folder, env=env)
    assert offline.returncode == 0, offline.stderr
    assert "publication: pass" in offline.stdout


def test_check_errors_are_one_line(dataset: tuple[Path, str], hub: HubStandIn) -> None:
    folder, store = dataset
    env = hub_env(hub, folder)
    missing = run_cli("hub", "check", "acme/nothing", "--store", store, cwd=folder, env=env)
    assert missing.returncode == 2 and missing.stdout == ""
    assert missing.stderr.startswith("Error: cannot download the dataset repository (")
    assert "acme/nothing" in missing.stderr and missing.stderr.strip().count("\n") == 0
    no_snapshot = run_cli("hub", "check", "acme/answers", "--local-dir", str(folder / "nowhere"), "--offline",
                          "--store", store, cwd=folder, env=env)
    assert no_snapshot.returncode == 2 and no_snapshot.stderr.startswith("Error: no snapshot in this folder")


GATED_PUSH = r"""
import json, sys
import datasets
import lineage

rows = [json.loads(line) for line in open("data/train.jsonl")]
ds = datasets.DatasetDict({"train": datasets.Dataset.from_list(rows)})
use = {"commercial": False, "waivers": "waivers.yaml"} if sys.argv[2] == "authorised" else {}
try:
    pushed = lineage.gated_push_to_hub(ds, "acme/py", card="data/README.md", store=sys.argv[1], **use)
except lineage.LineageError as exc:
    print(json.dumps({"refused": type(exc).__name__, "codes": dict(exc.report.findings_by_code)}))
else:
    print(json.dumps({"files": pushed.files, "passed": pushed.report.publication.passed}))
"""


def test_gated_push_to_hub(dataset: tuple[Path, str], hub: HubStandIn) -> None:
    folder, store = dataset
    assert run_cli("card", "data", "--store", store, cwd=folder).returncode == 0
    env = {**{k: v for k, v in os.environ.items() if k != "LINEAGE_STORE"}, **hub_env(hub, folder)}

    def run(use: str) -> dict:
        result = subprocess.run([sys.executable, "-c", GATED_PUSH, store, use], cwd=folder, env=env,
                                capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    # A commercial use: refused, and nothing reached the Hub.
    assert run("commercial") == {"refused": "PublicationRefused", "codes": {"ANT001": 3, "LIC001": 4}}
    assert hub.requests == []
    pushed = run("authorised")
    assert pushed["passed"] is True
    assert pushed["files"] == ["README.md", "data/train-00000-of-00001.parquet"]
    card = hub.repos["acme/py"]["README.md"].decode()
    header = card.split("\n---\n")[0]
    # The gated card, with the data layout push_to_hub wrote kept for the Hub's viewer.
    assert "license: cc-by-nc-4.0" in header and "- synthetic" in header
    assert "dataset_info:" in header and "configs:" in header and "path: data/train-*" in header
    assert "## Provenance" in card
