"""The publication gate and the dataset-card writer, through the real CLI."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

import lineage
from lineage.importers import ImportRequest, import_paths
from lineage.importers.base import ImportOptions
from lineage.store import Store
from tests.conftest import chat, run_cli, state_facts, write_jsonl

NC_ROWS = [chat(f"Question nc {i}?", f"Answer from the NC set {i}.") for i in range(4)]
CLAUDE_ROWS = [chat(f"Question claude {i}?", f"Claude answer number {i}.") for i in range(3)]
WAIVERS = """\
waivers:
  - id: anthropic-research-2026
    codes: [ANT001]
    scope: {provider: anthropic}
    approved_by: "J. Doe, Legal"
    reference: "Anthropic written authorisation, 2026-11-02"
    expires: 2030-12-31
"""
USER_TEXT = "# Mixed answers\n\nWritten by the data team. Please cite our paper.\n"


def make_dataset(folder: Path, store_url: str, sources: list[tuple[list[dict], dict]], *, card: str | None,
                 untracked: tuple[dict, ...] = ()) -> Path:
    """data/train.jsonl holding every source's rows (each source recorded in the store) and the
    untracked rows, and data/README.md with `card` as its content."""
    rows: list[dict] = []
    with Store.open(store_url, create=True) as store:
        for n, (part, source) in enumerate(sources):
            path = write_jsonl(folder / f"part{n}.jsonl", part)
            dataset = source.get("kind") == "dataset"
            import_paths(store, [path], ImportRequest(
                source=source, generated_at=datetime(2025, 6, 1, tzinfo=timezone.utc),
                options=ImportOptions(all_segments=dataset),
            ))
            rows += part
    data = write_jsonl(folder / "data" / "train.jsonl", rows + list(untracked))
    if not (folder / "lineage.toml").exists():
        state_facts(folder)
    if card is not None:
        (data.parent / "README.md").write_text(card, encoding="utf-8")
    return data.parent


NC = {"kind": "dataset", "name": "nc-answers", "license": "CC-BY-NC-4.0"}
CLAUDE = {"provider": "anthropic", "model": "claude-sonnet-4-5"}


def gate(folder: Path, store: str, *args: str) -> tuple[int, str, str]:
    result = run_cli("gate", "data", "--store", store, *args, cwd=folder)
    return result.returncode, result.stdout, result.stderr


def gate_json(folder: Path, store: str, *args: str) -> tuple[int, dict]:
    code, out, err = gate(folder, store, "--format", "json", *args)
    assert code in (0, 1), err
    return code, json.loads(out)


def test_mit_card_over_non_commercial_and_claude_rows_fails_then_card_fixes_it(tmp_path: Path, store_url: str) -> None:
    make_dataset(tmp_path, store_url, [(NC_ROWS, NC), (CLAUDE_ROWS, CLAUDE)],
                          card=f"---\nlicense: mit\npretty_name: Mixed answers\n---\n{USER_TEXT}")
    (tmp_path / "waivers.yaml").write_text(WAIVERS)

    code, out, err = gate(tmp_path, store_url)
    assert code == 1, err
    # The card's licence drops the rows' non-commercial term, on the card's `license:` line.
    assert "data/README.md:2: PUB002 [error] the card declares MIT, but 4 examples (nc-answers" in out
    assert "which is non-commercial" in out and "declare `license: cc-by-nc-4.0`" in out
    # Claude's output may not be trained on, nor is it disclosed on the card.
    assert out.count("ANT001 [error]") == 3
    assert "PUB004 [warning] the data holds output of claude-sonnet-4-5 that the card does not disclose" in out
    assert "publication: fail" in out and "licence declared: MIT; licence the data carries: CC-BY-NC-4.0" in out

    result = run_cli("card", "data", "--store", store_url, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "updated data/README.md: license cc-by-nc-4.0, 2 source(s)\n"
    card = (tmp_path / "data" / "README.md").read_text()
    header, body = card.split("\n---\n", 1)
    assert "license: cc-by-nc-4.0" in header and "pretty_name: Mixed answers" in header
    assert "- synthetic" in header and "- extended|nc-answers" in header
    assert body.startswith(USER_TEXT), "what the user wrote stays, first"
    assert "## Provenance" in body and "| anthropic/claude-sonnet-4-5 | api | - | 3 | 2025-06-01 |" in body
    assert "anthropic-usage-policy" in body and "credit nc-answers" in body

    # Still blocked for a commercial use: the licence cannot fix what the terms forbid.
    code, report = gate_json(tmp_path, store_url)
    assert code == 1 and report["summary"]["findings_by_code"] == {"ANT001": 3, "LIC001": 4}
    # Non-commercial, with Anthropic's authorisation recorded: the gate passes.
    code, report = gate_json(tmp_path, store_url, "--non-commercial", "--waivers", "waivers.yaml")
    assert code == 0, report["findings"]
    publication = report["publication"]
    assert publication["verdict"] == "pass" and publication["declared_license"] == "CC-BY-NC-4.0"
    assert publication["data_license"] == "CC-BY-NC-4.0" and publication["model_generated"] is True
    assert report["use_context"]["publish_dataset"] is True
    assert report["waivers_applied"][0]["id"] == "anthropic-research-2026"

    # Writing the card again changes nothing, and --check says so.
    before = (tmp_path / "data" / "README.md").read_bytes()
    again = run_cli("card", "data", "--store", store_url, cwd=tmp_path)
    assert again.returncode == 0 and "is up to date" in again.stdout
    assert (tmp_path / "data" / "README.md").read_bytes() == before
    check = run_cli("card", "data", "--store", store_url, "--check", cwd=tmp_path)
    assert check.returncode == 0 and "is up to date" in check.stdout


def test_card_in_a_missing_folder_is_refused(tmp_path: Path) -> None:
    store = str(tmp_path / "lineage.db")
    make_dataset(tmp_path, store, [(NC_ROWS, NC)], card=None)
    result = run_cli("card", "data", "--card", "no/such/folder/README.md", "--store", store, cwd=tmp_path)
    assert result.returncode == 2 and result.stderr.startswith("Error: no such folder for the dataset card, no/such/folder")
    assert not (tmp_path / "no").exists()


def test_card_check_fails_on_a_stale_card(tmp_path: Path, store_url: str) -> None:
    make_dataset(tmp_path, store_url, [(NC_ROWS, NC)], card="---\nlicense: mit\n---\n# x\n")
    result = run_cli("card", "data", "--store", store_url, "--check", cwd=tmp_path)
    assert result.returncode == 1 and "is not up to date" in result.stdout
    assert (tmp_path / "data" / "README.md").read_text() == "---\nlicense: mit\n---\n# x\n"


@pytest.mark.parametrize(("declared", "code", "words"), [
    ("cc-by-4.0", "PUB002", "which is share-alike"),
    ("mit", "PUB002", "which is share-alike"),
    ("cc-by-sa-4.0", None, None),
    ("[cc-by-sa-4.0, mit]", None, None),
])
def test_share_alike_must_be_kept(tmp_path: Path, declared: str, code: str | None, words: str | None) -> None:
    store = str(tmp_path / "lineage.db")
    sa = {"kind": "dataset", "name": "sa-answers", "license": "CC-BY-SA-4.0"}
    make_dataset(tmp_path, store, [(NC_ROWS, sa)], card=f"---\nlicense: {declared}\ntags: [synthetic]\n---\n# x\n")
    exit_code, report = gate_json(tmp_path, store)
    codes = {f["code"] for f in report["findings"]}
    if code is None:
        assert exit_code == 0 and not codes & {"PUB001", "PUB002", "PUB003"}, report["findings"]
    else:
        assert exit_code == 1 and code in codes
        finding = next(f for f in report["findings"] if f["code"] == code)
        assert words in finding["message"] and finding["path"] == "data/README.md" and finding["line"] == 2


@pytest.mark.parametrize(("rows", "declared"), [("CC-BY-4.0", "mit"), ("CC-BY-NC-4.0", "cc-by-nc-sa-4.0")])
def test_a_card_that_keeps_the_terms_but_not_the_name_gets_a_warning(tmp_path: Path, rows: str, declared: str) -> None:
    store = str(tmp_path / "lineage.db")
    source = {"kind": "dataset", "name": "answers", "license": rows}
    make_dataset(tmp_path, store, [(NC_ROWS, source)], card=f"---\nlicense: {declared}\n---\n# x\n")
    code, report = gate_json(tmp_path, store, "--non-commercial")
    assert code == 0
    [finding] = [f for f in report["findings"] if f["code"] == "PUB003"]
    assert finding["severity"] == "warning" and f"does not name {rows}" in finding["message"]


def test_a_card_offering_a_looser_choice_fails(tmp_path: Path) -> None:
    store = str(tmp_path / "lineage.db")
    make_dataset(tmp_path, store, [(NC_ROWS, NC)], card="---\nlicense: mit OR cc-by-nc-4.0\n---\n# x\n")
    code, report = gate_json(tmp_path, store, "--non-commercial")
    assert code == 1 and report["summary"]["findings_by_code"] == {"PUB002": 1}


def test_no_card_or_no_licence_is_an_error(tmp_path: Path) -> None:
    store = str(tmp_path / "lineage.db")
    make_dataset(tmp_path, store, [(NC_ROWS, NC)], card=None)
    code, out, _ = gate(tmp_path, store, "--non-commercial")
    assert code == 1
    assert "data: PUB001 [error] no dataset card: write one with `lineage card` (it will declare " \
           "`license: cc-by-nc-4.0`" in out
    (tmp_path / "data" / "README.md").write_text("---\npretty_name: x\n---\n# x\n")
    code, out, _ = gate(tmp_path, store, "--non-commercial")
    assert code == 1 and "data/README.md: PUB001 [error] the card declares no licence" in out
    # `lineage card` on a folder with no card writes one.
    (tmp_path / "data" / "README.md").unlink()
    assert run_cli("card", "data", "--store", store, cwd=tmp_path).returncode == 0
    code, out, _ = gate(tmp_path, store, "--non-commercial")
    assert code == 0, out


def test_other_licence_needs_name_and_link(tmp_path: Path) -> None:
    store = str(tmp_path / "lineage.db")
    human = {"kind": "human", "name": "staff"}
    make_dataset(tmp_path, store, [(NC_ROWS, human)], card="---\nlicense: other\n---\n# x\n")
    code, report = gate_json(tmp_path, store)
    assert code == 0 and report["summary"]["findings_by_code"] == {"PUB006": 1}
    (tmp_path / "data" / "README.md").write_text(
        "---\nlicense: other\nlicense_name: acme-data\nlicense_link: https://example.org/licence\n---\n# x\n")
    code, report = gate_json(tmp_path, store)
    assert code == 0 and report["summary"]["findings_by_code"] == {}


def test_human_rows_take_the_publishers_licence(tmp_path: Path) -> None:
    store = str(tmp_path / "lineage.db")
    make_dataset(tmp_path, store, [(NC_ROWS, {"kind": "human", "name": "staff"})], card=None)
    result = run_cli("card", "data", "--store", store, cwd=tmp_path)
    assert result.returncode == 0 and "no licence (pass --license)" in result.stdout
    result = run_cli("card", "data", "--store", store, "--license", "CC-BY-4.0", cwd=tmp_path)
    assert result.returncode == 0 and "license cc-by-4.0" in result.stdout
    code, report = gate_json(tmp_path, store)
    assert code == 0 and report["publication"]["declared_license"] == "CC-BY-4.0"
    assert report["publication"]["data_license"] is None


def test_untracked_share_above_the_threshold_fails(tmp_path: Path) -> None:
    store = str(tmp_path / "lineage.db")
    stray = [chat(f"Stray {i}?", f"Nobody knows where this came from {i}.") for i in range(2)]
    make_dataset(tmp_path, store, [(NC_ROWS, NC)], card="---\nlicense: cc-by-nc-4.0\n---\n# x\n", untracked=tuple(stray))
    code, out, _ = gate(tmp_path, store, "--non-commercial")
    assert code == 1
    assert "data: PUB005 [error] 2 of 6 examples (33.3%) have no recorded origin, above the gate's 5.0%" in out
    code, _, _ = gate(tmp_path, store, "--non-commercial", "--max-untracked", "0.5")
    assert code == 0
    (tmp_path / "lineage.toml").write_text("[gate]\nmax_untracked = 0.4\n")
    assert gate(tmp_path, store, "--non-commercial")[0] == 0
    (tmp_path / "lineage.toml").write_text("[gate]\nmax_untracked = 'lots'\n")
    code, out, err = gate(tmp_path, store, "--non-commercial")
    assert code == 2 and err.strip().count("\n") == 0 and "gate.max_untracked must be a share" in err


def test_research_only_rows_may_not_be_redistributed(tmp_path: Path) -> None:
    store = str(tmp_path / "lineage.db")
    research = {"kind": "dataset", "name": "lab-set", "license": "LicenseRef-research-only"}
    make_dataset(tmp_path, store, [(NC_ROWS, research)], card="---\nlicense: other\nlicense_name: research-only\n"
                 "license_link: https://example.org/terms\n---\n# x\n")
    code, report = gate_json(tmp_path, store, "--non-commercial")
    assert code == 1 and report["summary"]["findings_by_code"].get("LIC006") == 4
    # lint, not publishing, does not raise it.
    lint = run_cli("lint", "data", "--store", store, "--non-commercial", "--format", "json", cwd=tmp_path)
    assert "LIC006" not in json.loads(lint.stdout)["summary"]["findings_by_code"]


def test_an_invalid_card_is_a_clear_error_and_is_left_alone(tmp_path: Path) -> None:
    store = str(tmp_path / "lineage.db")
    bad = "---\nlicense: [mit\n---\n# x\n"
    make_dataset(tmp_path, store, [(NC_ROWS, NC)], card=bad)
    for command in (["gate", "data"], ["card", "data"]):
        result = run_cli(*command, "--store", store, cwd=tmp_path)
        assert result.returncode == 2
        assert result.stderr.startswith("Error: the card's YAML header is invalid") and "Traceback" not in result.stderr
        assert result.stderr.strip().count("\n") == 0
        assert (tmp_path / "data" / "README.md").read_text() == bad


def test_gate_findings_in_every_format(tmp_path: Path) -> None:
    store = str(tmp_path / "lineage.db")
    make_dataset(tmp_path, store, [(NC_ROWS, NC)], card="---\nlicense: mit\n---\n# x\n")
    sarif = json.loads(gate(tmp_path, store, "--format", "sarif")[1])
    results = [r for r in sarif["runs"][0]["results"] if r["ruleId"] == "PUB002"]
    assert results[0]["locations"][0]["physicalLocation"]["region"]["startLine"] == 2
    assert any(rule["id"] == "PUB002" for rule in sarif["runs"][0]["tool"]["driver"]["rules"])
    github = gate(tmp_path, store, "--format", "github")[1]
    assert "::error file=data/README.md,line=2" in github and "PUB002" in github
    markdown = gate(tmp_path, store, "--format", "markdown")[1]
    assert "#### Publication: fail" in markdown and "license: cc-by-nc-4.0" in markdown


def test_python_api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = str(tmp_path / "lineage.db")
    make_dataset(tmp_path, store, [(NC_ROWS, NC), (CLAUDE_ROWS, CLAUDE)],
                 card="---\nlicense: cc-by-nc-4.0\ntags: [synthetic]\n---\n# x\n")
    monkeypatch.chdir(tmp_path)
    report = lineage.gate("data", store=store, commercial=False)
    assert report.exit_code == 1 and dict(report.findings_by_code) == {"ANT001": 3}
    assert report.publication.passed is False and report.publication.card_metadata["license"] == "cc-by-nc-4.0"
    assert report.publication.carried_expression == "CC-BY-NC-4.0"
    (tmp_path / "waivers.yaml").write_text(WAIVERS)
    report = lineage.gate("data", store=store, commercial=False, waivers="waivers.yaml", card="data/README.md")
    assert report.exit_code == 0 and report.publication.passed


@pytest.mark.parametrize("body", [
    "# x\n<!-- tos-lineage:provenance:start -->\nmine\n",
    "# x\n<!-- tos-lineage:provenance:end -->\nmine\n<!-- tos-lineage:provenance:start -->\n",
])
def test_card_with_broken_markers_is_refused_and_left_alone(tmp_path: Path, body: str) -> None:
    store = str(tmp_path / "lineage.db")
    content = f"---\nlicense: cc-by-nc-4.0\n---\n{body}"
    make_dataset(tmp_path, store, [(NC_ROWS, NC)], card=content)
    result = run_cli("card", "data", "--store", store, cwd=tmp_path)
    assert result.returncode == 2 and "provenance markers" in result.stderr
    assert result.stderr.strip().count("\n") == 0
    assert (tmp_path / "data" / "README.md").read_text() == content


def test_licences_the_hub_does_not_list_round_trip(tmp_path: Path) -> None:
    store = str(tmp_path / "lineage.db")
    sources = [(NC_ROWS[:2], {"kind": "dataset", "name": "a", "license": "LicenseRef-acme-1"}),
               (NC_ROWS[2:], {"kind": "dataset", "name": "b", "license": "LicenseRef-acme-2"})]
    make_dataset(tmp_path, store, sources, card=None)
    assert run_cli("card", "data", "--store", store, cwd=tmp_path).returncode == 0
    header = (tmp_path / "data" / "README.md").read_text().split("\n---\n")[0]
    assert "license: other" in header and "license_name: acme-1 AND acme-2" in header
    _, report = gate_json(tmp_path, store)
    codes = report["summary"]["findings_by_code"]
    assert not {"PUB001", "PUB002", "PUB003"} & set(codes), report["findings"]


def test_card_update_keeps_key_order_and_line_breaks(tmp_path: Path) -> None:
    store = str(tmp_path / "lineage.db")
    content = "---\r\npretty_name: Mixed\r\nlicense: mit\r\nlanguage: [en]\r\n---\r\n# Mixed\r\n\r\nOurs.\r\n"
    make_dataset(tmp_path, store, [(NC_ROWS, NC)], card=None)
    (tmp_path / "data" / "README.md").write_bytes(("\ufeff" + content).encode())
    result = run_cli("card", "data", "--store", store, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    # The licence the user declared and the data does not carry is named as dropped.
    assert "note: the card declared mit, which the data does not carry" in result.stderr
    written = (tmp_path / "data" / "README.md").read_bytes().decode()
    assert "\n" not in written.replace("\r\n", ""), "every line break is the card's own CRLF"
    lines = written.split("\r\n")
    assert lines[:4] == ["---", "pretty_name: Mixed", "license: cc-by-nc-4.0", "language:"]
    assert "# Mixed\r\n\r\nOurs.\r\n" in written and "## Provenance" in written
    assert not list((tmp_path / "data").glob(".card-*")), "no temporary file is left behind"


@pytest.mark.parametrize(("header", "words"), [
    ("license: 5", "`license` must be a string or a list of strings"),
    ("license: {a: 1}", "`license` must be a string or a list of strings"),
    ("tags: {a: 1}", "`tags` must be a string or a list of strings"),
    ("license: MIT OR", "the card's licence is not a licence expression"),
    ("- a list", "YAML header is invalid"),
])
def test_card_fields_of_the_wrong_type_are_refused(tmp_path: Path, header: str, words: str) -> None:
    store = str(tmp_path / "lineage.db")
    content = f"---\n{header}\n---\n# x\n"
    make_dataset(tmp_path, store, [(NC_ROWS, NC)], card=content)
    for command in ("gate", "card"):
        result = run_cli(command, "data", "--store", store, cwd=tmp_path)
        assert result.returncode == 2, (command, result.stdout)
        assert words in result.stderr and "data/README.md" in result.stderr and "Traceback" not in result.stderr
        assert result.stderr.strip().count("\n") == 0
    assert (tmp_path / "data" / "README.md").read_text() == content


def test_other_licence_named_in_the_card_is_compared_by_its_terms(tmp_path: Path) -> None:
    store = str(tmp_path / "lineage.db")
    make_dataset(tmp_path, store, [(NC_ROWS, NC)], card="---\nlicense: other\nlicense_name: CC-BY-NC-SA-4.0\n"
                 "license_link: https://creativecommons.org/licenses/by-nc-sa/4.0/\n---\n# x\n")
    code, report = gate_json(tmp_path, store, "--non-commercial")
    assert code == 0 and report["summary"]["findings_by_code"] == {"PUB003": 1}
