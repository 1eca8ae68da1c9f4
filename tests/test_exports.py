"""Exports of a dataset's lineage: Croissant 1.1 checked by the reference validator (mlcroissant)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.test_publication import CLAUDE, CLAUDE_ROWS, NC, NC_ROWS, make_dataset

STAMP = "2026-01-01T00:00:00Z"


@pytest.fixture
def dataset(tmp_path: Path) -> tuple[Path, str]:
    store = str(tmp_path / "lineage.db")
    make_dataset(tmp_path, store, [(NC_ROWS, NC), (CLAUDE_ROWS, CLAUDE)],
                 card="---\nlicense: cc-by-nc-4.0\npretty_name: Mixed answers\n---\n# Mixed answers\n")
    return tmp_path, store


def export(folder: Path, store: str, *args: str) -> tuple[int, str, str]:
    result = run_cli("export", "croissant", "data", "--store", store, "--timestamp", STAMP, *args, cwd=folder)
    return result.returncode, result.stdout, result.stderr


def test_croissant_is_valid_and_carries_the_lineage(dataset: tuple[Path, str]) -> None:
    import mlcroissant as mlc

    folder, store = dataset
    code, _, err = export(folder, store, "-o", "croissant.json", "--creator", "Data team")
    assert code == 0, err
    path = folder / "croissant.json"
    # The reference validator raises on any error; warnings are kept in the context's issues.
    parsed = mlc.Dataset(jsonld=str(path))
    assert not parsed.metadata.ctx.issues.errors, parsed.metadata.ctx.issues.report()
    assert parsed.metadata.name == "Mixed answers"

    doc = json.loads(path.read_text())
    assert doc["conformsTo"] == "http://mlcommons.org/croissant/1.1"
    assert doc["license"] == ["https://spdx.org/licenses/CC-BY-NC-4.0.html"]
    [file] = doc["distribution"]
    assert file["sha256"] == hashlib.sha256((folder / "data" / "train.jsonl").read_bytes()).hexdigest()
    assert file["encodingFormat"] == "application/jsonlines"
    [generation] = doc["prov:wasGeneratedBy"]
    assert generation["prov:startedAtTime"] == "2025-06-01"
    agents = {a["@id"]: a for a in doc["prov:wasAttributedTo"]}
    model = agents[generation["prov:wasAssociatedWith"]["@id"]]
    assert model["@type"] == "prov:SoftwareAgent" and model["name"] == "claude-sonnet-4-5"
    assert model["prov:actedOnBehalfOf"]["name"] == "anthropic"
    [source] = doc["prov:wasDerivedFrom"]
    assert source["name"] == "nc-answers" and source["license"] == ["https://spdx.org/licenses/CC-BY-NC-4.0.html"]
    terms = {t["name"] for t in doc["usageInfo"]}
    assert any(name.startswith("Anthropic") for name in terms)
    assert "Synthetic data" in doc["rai:dataCollectionType"]
    assert doc["rai:dataCollectionTimeframe"] == ["2025-06-01", "2025-06-01"]
    assert "3 examples from anthropic/claude-sonnet-4-5 (api)" in doc["rai:dataCollection"]
    assert "ANT001" in doc["rai:dataLimitations"]


def test_croissant_is_reproducible(dataset: tuple[Path, str]) -> None:
    folder, store = dataset
    first, second = export(folder, store)[1], export(folder, store)[1]
    assert first == second and json.loads(first)["datePublished"] == "2026-01-01"


def test_croissant_needs_a_licence(tmp_path: Path) -> None:
    store = str(tmp_path / "lineage.db")
    make_dataset(tmp_path, store, [(NC_ROWS, {"kind": "human", "name": "staff"})], card=None)
    code, out, err = export(tmp_path, store)
    assert code == 2 and out == "" and err.startswith("Error: no source of this dataset records a licence")
    assert err.strip().count("\n") == 0
    code, out, _ = export(tmp_path, store, "--license", "CC-BY-4.0")
    assert code == 0 and json.loads(out)["license"] == ["https://spdx.org/licenses/CC-BY-4.0.html"]
