"""The record of what the pack encodes: its version in every report, the table of documents in
docs/policies.md, and `lineage policies show DOCUMENT`."""

from __future__ import annotations

import json
from pathlib import Path

from lineage.config import tomllib
from lineage.policy.loader import bundled_dir, load_pack
from lineage.policy.reference import with_documents_table
from tests.conftest import STATED_FLAGS, chat, run_cli, write_jsonl

ROOT = Path(__file__).resolve().parent.parent


def test_the_pack_version_moves_with_its_files() -> None:
    record = tomllib.loads((bundled_dir() / "pack.toml").read_text())
    pack = load_pack()
    assert pack.version == record["version"]
    assert record["sha256"] == pack.sha256, (
        f"the bundled pack changed: raise `version` in policies/pack.toml and set sha256 = \"{pack.sha256}\""
    )


def test_the_table_of_documents_is_current() -> None:
    text = (ROOT / "docs" / "policies.md").read_text()
    pack = load_pack()
    assert with_documents_table(text, pack) == text, "run: python -m lineage.policy.reference --documents"
    for document in pack.documents.values():
        for version in document.versions:
            assert f"| `{document.id}` | {document.publisher} | " in text
            assert str(version.effective) in text


def test_every_report_names_the_pack_version(tmp_path: Path) -> None:
    version = load_pack().version
    data = write_jsonl(tmp_path / "rows.jsonl", [chat("What is 2 + 2?", "It is 4.")])
    text = run_cli("lint", str(data), *STATED_FLAGS, cwd=tmp_path).stdout
    assert f"judged by policy pack {version} (sha256 " in text
    report = json.loads(run_cli("lint", str(data), "--format", "json", *STATED_FLAGS, cwd=tmp_path).stdout)
    assert report["policy_pack"]["version"] == version and len(report["policy_pack"]["sha256"]) == 64
    sarif = json.loads(run_cli("lint", str(data), "--format", "sarif", *STATED_FLAGS, cwd=tmp_path).stdout)
    assert sarif["runs"][0]["properties"]["policyPack"]["version"] == version
    for fmt in ("markdown", "github"):
        out = run_cli("lint", str(data), "--format", fmt, *STATED_FLAGS, cwd=tmp_path).stdout
        assert f"policy pack {version}" in out, fmt
    legal = run_cli("report", str(data), *STATED_FLAGS, cwd=tmp_path).stdout
    assert f"| policy pack | version {version}, sha256 " in legal
    run_cli("card", str(data), "--card", str(tmp_path / "README.md"), *STATED_FLAGS, cwd=tmp_path, check=True)
    assert f"policy pack {version} (sha256 " in (tmp_path / "README.md").read_text()
    explained = run_cli("explain", "--provider", "openai", "--model", "gpt-4o", *STATED_FLAGS, "--format", "json",
                        cwd=tmp_path)
    assert json.loads(explained.stdout)["policy_pack"]["version"] == version
    assert f"policy pack: {version} (sha256 " in run_cli("explain", "--provider", "openai", "--model", "gpt-4o",
                                                          *STATED_FLAGS, cwd=tmp_path).stdout


def test_policies_show_prints_a_documents_record(tmp_path: Path) -> None:
    pack = load_pack()
    document = pack.documents["openrouter-terms"]
    shown = run_cli("policies", "show", "openrouter-terms", cwd=tmp_path, check=True).stdout
    assert shown.startswith("openrouter-terms  OpenRouter Terms of Service (openrouter, terms)")
    for version in document.versions:
        assert f"version {version.version}, in force from {version.effective}" in shown
        assert version.url in shown
        if version.read:
            assert f"text last read {version.read.on} at {version.read.at}" in shown
    data = json.loads(run_cli("policies", "show", "openrouter-terms", "--format", "json", cwd=tmp_path,
                              check=True).stdout)
    assert data["pack_version"] == pack.version
    assert [v["version"] for v in data["versions"]] == [v.version for v in sorted(document.versions,
                                                                                    key=lambda v: v.effective)]
    assert {r["code"] for v in data["versions"] for r in v["rules"]} == {
        r.code for v in document.versions for r in v.rules}
    # A code still shows the rule; a name that is neither is one line and exit 2.
    assert run_cli("policies", "show", "ORT002", cwd=tmp_path, check=True).stdout.startswith("ORT002  ")
    missing = run_cli("policies", "show", "no-such-terms", cwd=tmp_path)
    assert missing.returncode == 2 and "Traceback" not in missing.stderr


def test_an_open_model_reached_through_openrouter_is_bound_by_openrouters_terms(tmp_path: Path) -> None:
    args = ("explain", "--kind", "open-model", "--model", "Llama-3.1-8B-Instruct", "--channel", "openrouter",
            "--territory", "us", "--format", "json")
    rival = json.loads(run_cli(*args, *STATED_FLAGS[2:], "--competes-with", "openrouter", cwd=tmp_path).stdout)
    assert "openrouter-terms" in {t["document"] for t in rival["terms"]}
    assert "llama-3.1-community-license" in {t["document"] for t in rival["terms"]}
    assert "ORT002" in {f["code"] for f in rival["findings"]}
    other = json.loads(run_cli(*args, *STATED_FLAGS, cwd=tmp_path).stdout)
    assert "ORT002" not in {f["code"] for f in other["findings"]}
    # Self-hosted, the same weights are bound by their licence alone.
    own = json.loads(run_cli("explain", "--kind", "open-model", "--model", "Llama-3.1-8B-Instruct", "--territory", "us",
                             *STATED_FLAGS, "--format", "json", cwd=tmp_path).stdout)
    assert {t["document"] for t in own["terms"]} == {"llama-3.1-community-license"}
