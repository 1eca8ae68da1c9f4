"""Exports of a dataset's lineage: Croissant 1.1 checked by the reference validator (mlcroissant)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from lineage.policy import load_pack
from tests.conftest import run_cli
from tests.test_publication import CLAUDE, CLAUDE_ROWS, NC, NC_ROWS, make_dataset

STAMP = "2026-01-01T00:00:00Z"
ROOT = Path(__file__).resolve().parent.parent


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
    code, out, err = export(tmp_path, store, "--license", "MIT OR Apache-2.0")
    assert code == 2 and "is not one licence" in err


def openlineage(folder: Path, store: str, *args: str) -> tuple[int, str, str]:
    result = run_cli("export", "openlineage", "data", "--store", store, "--timestamp", STAMP, *args, cwd=folder)
    return result.returncode, result.stdout, result.stderr


def _facet_validator() -> Any:
    """A validator for our facet's schema, with the two OpenLineage definitions it refers to."""
    import jsonschema
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    schema = json.loads((ROOT / "schemas" / "facets" / "1-0-0" / "TosLintProvenanceDatasetFacet.json").read_text())
    # From the OpenLineage 2-0-2 spec: every facet names its producer and its schema.
    spec = {"$defs": {
        "BaseFacet": {"type": "object", "required": ["_producer", "_schemaURL"],
                      "properties": {"_producer": {"type": "string", "format": "uri"},
                                     "_schemaURL": {"type": "string", "format": "uri"}}},
        "DatasetFacet": {"allOf": [{"$ref": "#/$defs/BaseFacet"},
                                   {"type": "object", "properties": {"_deleted": {"type": "boolean"}}}]},
    }}
    registry = Registry().with_resource("https://openlineage.io/spec/2-0-2/OpenLineage.json",
                                        Resource.from_contents(spec, default_specification=DRAFT202012))
    return jsonschema.Draft202012Validator(schema, registry=registry)


def test_openlineage_events_carry_the_lineage(dataset: tuple[Path, str]) -> None:
    folder, store = dataset
    code, out, err = openlineage(folder, store, "--non-commercial")
    assert code == 0, err
    start, complete = (json.loads(line) for line in out.splitlines())
    assert (start["eventType"], complete["eventType"]) == ("START", "COMPLETE")
    assert start["run"]["runId"] == complete["run"]["runId"] and start["eventTime"] == STAMP
    assert complete["schemaURL"].startswith("https://openlineage.io/spec/2-0-2/OpenLineage.json")
    inputs = {(i["namespace"], i["name"]) for i in complete["inputs"]}
    assert inputs == {("https://api.anthropic.com", "claude-sonnet-4-5"), ("lineage://dataset", "nc-answers")}
    [output] = complete["outputs"]
    train = folder / "data" / "train.jsonl"
    assert output["namespace"] == "file" and output["name"] == str(train.resolve())
    assert output["facets"]["version"]["datasetVersion"] == hashlib.sha256(train.read_bytes()).hexdigest()
    facet = output["facets"]["tosLint_provenance"]
    _facet_validator().validate({"tosLint_provenance": facet})
    assert facet["summary"]["examples"] == 7 and facet["summary"]["blocked"] == 3
    assert facet["useContext"]["commercial"] is False
    assert facet["policyPackVersion"] == load_pack().version and len(facet["policyPackSha256"]) == 64
    claude = next(s for s in facet["sources"] if s["source"].get("provider") == "anthropic")
    assert claude["verdict"] == "blocked" and claude["findings"] == ["ANT001"]
    assert any(t["document"].startswith("anthropic") and t["url"] for t in claude["terms"])
    # Same data, use and time: the same run; another use is another run.
    assert openlineage(folder, store, "--non-commercial")[1] == out
    other = json.loads(openlineage(folder, store)[1].splitlines()[0])
    assert other["run"]["runId"] != start["run"]["runId"]


def test_the_facet_schema_rejects_a_facet_without_its_fields() -> None:
    import jsonschema

    bad = {"tosLint_provenance": {"_producer": "https://example.org", "_schemaURL": "https://example.org/s",
                                  "toolVersion": "0", "reportVersion": "1.0", "useContext": {}, "sources": []}}
    with pytest.raises(jsonschema.ValidationError, match="summary"):
        _facet_validator().validate(bad)


class _Receiver:
    """An OpenLineage endpoint on 127.0.0.1 that keeps what it is sent."""

    def __init__(self, status: int = 201) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        received = self.received = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append((self.path, self.headers.get("Authorization"), json.loads(body)))
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_openlineage_events_sent_over_http(dataset: tuple[Path, str]) -> None:
    folder, store = dataset
    receiver = _Receiver()
    try:
        code, out, err = openlineage(folder, store, "--url", receiver.url, "--api-key", "s3cret")
    finally:
        receiver.close()
    assert code == 0, err
    assert out == f"sent 2 events to {receiver.url}/api/v1/lineage\n"
    assert [(p, a, e["eventType"]) for p, a, e in receiver.received] == [
        ("/api/v1/lineage", "Bearer s3cret", "START"), ("/api/v1/lineage", "Bearer s3cret", "COMPLETE"),
    ]
    assert "tosLint_provenance" in receiver.received[1][2]["outputs"][0]["facets"]


def test_openlineage_server_errors_are_one_line(dataset: tuple[Path, str]) -> None:
    folder, store = dataset
    receiver = _Receiver(status=400)
    try:
        code, out, err = openlineage(folder, store, "--url", receiver.url)
    finally:
        receiver.close()
    assert code == 2 and out == ""
    assert err.startswith(f"Error: cannot send the OpenLineage events to {receiver.url}") and "400" in err
    assert err.strip().count("\n") == 0


def test_a_source_that_needs_review_is_a_valid_facet(tmp_path: Path) -> None:
    rows = [{"messages": [{"role": "user", "content": "Hi?"}, {"role": "assistant", "content": "Hello."}],
             "_lineage": {"kind": "open-model", "model": "SomeLab/Uncatalogued-7B"}}]
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "rows.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    result = run_cli("export", "openlineage", "data", "--timestamp", STAMP, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    facet = json.loads(result.stdout.splitlines()[-1])["outputs"][0]["facets"]["tosLint_provenance"]
    _facet_validator().validate({"tosLint_provenance": facet})
    assert facet["summary"]["needs_review"] == 1
    assert [s["verdict"] for s in facet["sources"]] == ["needs-review"]
