"""Nothing the tool could not judge is called allowed: unknown terms, unreadable records and files.

Each test runs the real CLI in a subprocess against a store it fills itself.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import chat, run_cli, state_facts, write_jsonl

INTERNAL = [chat(f"Internal question {i}?", f"Internal answer {i}.") for i in range(3)]
STAFF = [chat(f"Staff question {i}?", f"Staff answer {i}.") for i in range(2)]
UNTRACKED = chat("A question nobody recorded?", "An answer nobody recorded.")


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store with a dataset under a licence the pack does not define, and people's own writing."""
    root = tmp_path_factory.mktemp("fail-closed")
    run_cli("init", cwd=root, check=True)
    write_jsonl(root / "internal.jsonl", INTERNAL)
    run_cli("import", "internal.jsonl", "--kind", "dataset", "--name", "acme-internal",
            "--license", "LicenseRef-acme-internal", "--all-segments", cwd=root, check=True)
    write_jsonl(root / "staff.jsonl", STAFF)
    run_cli("import", "staff.jsonl", "--kind", "human", "--name", "staff", "--all-segments", cwd=root, check=True)
    write_jsonl(root / "data.jsonl", [*INTERNAL, *STAFF])
    return root


def lint_json(root: Path, *args: str) -> tuple[int, dict]:
    result = run_cli("lint", *args, "--format", "json", cwd=root)
    assert result.returncode in (0, 1), result.stderr
    return result.returncode, json.loads(result.stdout)


def test_an_undefined_licence_needs_review_and_fails_the_lint(project: Path) -> None:
    code, report = lint_json(project, "data.jsonl")
    assert code == 1
    summary = report["summary"]
    assert report["report_version"] == "1.1"
    assert (summary["needs_review"], summary["allowed"], summary["blocked"]) == (3, 2, 0)
    assert summary["findings_by_code"] == {"LIN005": 3}
    assert {f["severity"] for f in report["findings"]} == {"error"}
    assert "need review" in report["findings"][0]["message"]
    assert report["files"][0]["needs_review"] == 3
    verdicts = {s["label"]: s["verdict"] for s in report["sources"]}
    assert verdicts == {"acme-internal (dataset, LicenseRef-acme-internal)": "needs-review", "staff (human)": "allowed"}
    text = run_cli("lint", "data.jsonl", cwd=project)
    assert text.returncode == 1
    assert "5 examples in 1 file(s): 0 blocked, 3 needs review, 2 allowed" in text.stdout


@pytest.mark.parametrize("fmt", ["sarif", "github", "markdown"])
def test_every_format_fails_on_unknown_terms(project: Path, fmt: str) -> None:
    result = run_cli("lint", "data.jsonl", "--format", fmt, cwd=project)
    assert result.returncode == 1
    assert "LIN005" in result.stdout
    if fmt == "github":
        assert "3 needs review" in result.stdout and "::error " in result.stdout
    if fmt == "markdown":
        assert result.stdout.startswith("### tos-lineage: needs review\n")
        assert "| needs-review | 3 |" in result.stdout


def test_unknown_terms_warn_lowers_the_severity_but_never_allows(project: Path) -> None:
    code, report = lint_json(project, "data.jsonl", "--unknown-terms", "warn")
    assert code == 0
    assert report["summary"]["needs_review"] == 3 and report["summary"]["allowed"] == 2
    assert {f["severity"] for f in report["findings"]} == {"warning"}
    # Leaving the code out hides the finding, not the verdict.
    code, report = lint_json(project, "data.jsonl", "--unknown-terms", "warn", "--ignore", "LIN005")
    assert code == 0 and report["summary"]["findings"] == 0
    assert report["summary"]["needs_review"] == 3
    assert {s["verdict"] for s in report["sources"]} == {"needs-review", "allowed"}


def test_the_setting_and_strict(project: Path, tmp_path: Path) -> None:
    folder = tmp_path / "p"
    folder.mkdir()
    (folder / "lineage.toml").write_text(f'store = "{project / ".lineage" / "lineage.db"}"\nunknown_terms = "warn"\n')
    write_jsonl(folder / "data.jsonl", INTERNAL)
    code, report = lint_json(folder, "data.jsonl")
    assert code == 0 and report["summary"]["needs_review"] == 3
    code, report = lint_json(folder, "data.jsonl", "--strict")
    assert code == 1 and report["summary"]["errors"] == 3
    (folder / "lineage.toml").write_text(f'store = "{project / ".lineage" / "lineage.db"}"\nunknown_terms = "maybe"\n')
    bad = run_cli("lint", "data.jsonl", cwd=folder)
    assert bad.returncode == 2
    assert bad.stderr.startswith("Error: `unknown_terms` must be one of error, warn, not 'maybe'")
    assert len(bad.stderr.strip().splitlines()) == 1


def test_a_per_path_override_sets_unknown_terms(project: Path, tmp_path: Path) -> None:
    folder = tmp_path / "o"
    (folder / "scratch").mkdir(parents=True)
    (folder / "lineage.toml").write_text(
        f'store = "{project / ".lineage" / "lineage.db"}"\n[[overrides]]\npaths = ["scratch/**"]\nunknown_terms = "warn"\n'
    )
    write_jsonl(folder / "scratch" / "data.jsonl", INTERNAL)
    write_jsonl(folder / "train.jsonl", INTERNAL)
    assert lint_json(folder, "scratch/data.jsonl")[0] == 0
    assert lint_json(folder, "train.jsonl")[0] == 1


def test_needs_review_beats_untracked_and_blocked_beats_needs_review(project: Path, tmp_path: Path) -> None:
    # One example: an answer under the undefined licence and one nobody recorded.
    mixed = {"messages": [*INTERNAL[0]["messages"], {"role": "user", "content": "And?"},
                          {"role": "assistant", "content": "An answer nobody recorded."}]}
    write_jsonl(project / "mixed.jsonl", [mixed])
    code, report = lint_json(project, "mixed.jsonl")
    assert code == 1
    assert report["summary"]["needs_review"] == 1 and report["summary"]["untracked"] == 0
    assert report["summary"]["findings_by_code"] == {"LIN005": 1, "LIN009": 1}
    # The same example with its second answer recorded as Claude's is blocked (a store of its
    # own, so the module's store stays as the other tests expect).
    claude = tmp_path / "claude.jsonl"
    write_jsonl(claude, [chat("x", "An answer nobody recorded.")])
    run_cli("init", "--store", str(tmp_path / "s.db"), check=True, cwd=tmp_path)
    run_cli("import", str(claude), "--provider", "anthropic", "--model", "claude-sonnet-4-5", "--store",
            str(tmp_path / "s.db"), check=True, cwd=tmp_path)
    run_cli("import", str(project / "internal.jsonl"), "--kind", "dataset", "--name", "acme-internal",
            "--license", "LicenseRef-acme-internal", "--store", str(tmp_path / "s.db"), check=True, cwd=tmp_path)
    code, report = lint_json(project, "mixed.jsonl", "--store", str(tmp_path / "s.db"))
    assert code == 1
    assert report["summary"]["blocked"] == 1 and report["summary"]["needs_review"] == 0


def test_the_columnar_path_counts_needs_review_as_the_row_path(project: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [*INTERNAL, *STAFF, UNTRACKED] * 40
    write_jsonl(project / "many.jsonl", rows)
    pq.write_table(pa.Table.from_pylist(rows), project / "many.parquet")
    _, by_rows = lint_json(project, "many.jsonl")
    _, by_columns = lint_json(project, "many.parquet")
    keys = ("examples", "blocked", "needs_review", "allowed", "untracked", "errors", "findings_by_code")
    assert {k: by_columns["summary"][k] for k in keys} == {k: by_rows["summary"][k] for k in keys}
    assert by_rows["summary"]["needs_review"] == 120 and by_rows["summary"]["untracked"] == 40


def test_a_waiver_for_the_code_lifts_it_and_is_counted(project: Path, tmp_path: Path) -> None:
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text(
        "waivers:\n  - id: acme-licence-read\n    codes: [LIN005]\n    scope: {name: acme-internal}\n"
        "    approved_by: legal@example.com\n    reference: LEGAL-42\n"
    )
    code, report = lint_json(project, "data.jsonl", "--waivers", str(waivers))
    assert code == 0
    assert report["summary"]["needs_review"] == 0 and report["summary"]["allowed"] == 5
    (applied,) = report["waivers_applied"]
    assert applied["id"] == "acme-licence-read" and applied["examples"] == 3


def test_explain_an_undefined_licence(project: Path, tmp_path: Path) -> None:
    result = run_cli("explain", "--kind", "dataset", "--name", "x", "--license", "LicenseRef-anything",
                     "--purpose", "fine-tune", "--commercial", cwd=tmp_path)
    assert result.returncode == 1
    assert "verdict: needs-review" in result.stdout and "LIN005 [error]" in result.stdout
    (tmp_path / "lineage.toml").write_text('unknown_terms = "warn"\n')
    result = run_cli("explain", "--kind", "dataset", "--name", "x", "--license", "LicenseRef-anything",
                     "--format", "json", cwd=tmp_path)
    assert result.returncode == 0
    assert json.loads(result.stdout)["verdict"] == "needs-review"


@pytest.mark.parametrize("kind,args,code", [
    ("dataset", ["--name", "scraped"], "LIN004"),
    ("web", ["--name", "crawl-2025"], "LIN004"),
    ("unknown", ["--name", "mystery"], "LIN013"),
])
def test_no_licence_or_no_kind_needs_review(tmp_path: Path, kind: str, args: list[str], code: str) -> None:
    result = run_cli("explain", "--kind", kind, *args, "--format", "json", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    data = json.loads(result.stdout)
    assert data["verdict"] == "needs-review"
    assert [f["code"] for f in data["findings"]] == [code]


def _store_bytes(root: Path) -> bytes:
    return (root / ".lineage" / "lineage.db").read_bytes()


@pytest.mark.parametrize("content,first", [
    (b"", "Error: no records, empty.jsonl"),
    (b"{bad\nnot json\n", "Error: none of the 2 record(s) could be read (line 1: invalid JSON"),
])
def test_a_file_with_no_readable_record_is_exit_2(project: Path, content: bytes, first: str) -> None:
    path = project / "empty.jsonl"
    path.write_bytes(content)
    before = _store_bytes(project)
    for args in (["lint", "empty.jsonl"], ["lint", "empty.jsonl", "--skip-bad"], ["gate", "empty.jsonl"]):
        result = run_cli(*args, cwd=project)
        assert result.returncode == 2, (args, result.stdout)
        assert result.stderr.startswith(first.replace("empty.jsonl", "empty.jsonl")), result.stderr
        assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert _store_bytes(project) == before


def test_a_malformed_row_fails_lint_and_the_gate_unless_skipped(project: Path, tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "train.jsonl").write_text(
        "\n".join(json.dumps(r) for r in STAFF) + "\n{broken\n"
    )
    (folder / "README.md").write_text("---\nlicense: cc0-1.0\n---\n# Staff answers\n")
    store = str(project / ".lineage" / "lineage.db")
    lint = run_cli("lint", str(folder / "train.jsonl"), "--store", store, cwd=tmp_path)
    assert lint.returncode == 1 and "LIN010 [error]" in lint.stdout
    gate = run_cli("gate", str(folder), "--store", store, cwd=tmp_path)
    assert gate.returncode == 1
    assert "publication: fail" in gate.stdout
    assert "not judged: 1 malformed (unreadable) and 0 needing review (terms unknown) of 3 examples" in gate.stdout
    skipped = run_cli("gate", str(folder), "--store", store, "--skip-bad", "--format", "json", cwd=tmp_path)
    report = json.loads(skipped.stdout)
    assert report["publication"]["malformed"] == 1
    assert report["summary"]["malformed"] == 1
    assert report["summary"]["findings_by_code"].get("LIN010") == 1
    strict = run_cli("gate", str(folder), "--store", store, "--skip-bad", "--strict", cwd=tmp_path)
    assert strict.returncode == 1 and "publication: fail" in strict.stdout


def test_the_gate_fails_on_unknown_terms(project: Path, tmp_path: Path) -> None:
    folder = tmp_path / "internal"
    folder.mkdir()
    write_jsonl(folder / "train.jsonl", INTERNAL)
    (folder / "README.md").write_text("---\nlicense: other\nlicense_name: acme-internal\nlicense_link: LICENSE\n---\n")
    gate = run_cli("gate", str(folder), "--store", str(project / ".lineage" / "lineage.db"), cwd=tmp_path)
    assert gate.returncode == 1
    assert "publication: fail" in gate.stdout and "3 needing review" in gate.stdout


def test_a_rewrite_of_unrecorded_text_stays_untracked(tmp_path: Path) -> None:
    """Derivation does not launder: rows rewritten from texts nobody recorded are untracked in the
    result, at any depth, while the rewriting model's terms still bind every row."""
    run_cli("init", cwd=tmp_path, check=True)
    state_facts(tmp_path)
    mixed = [chat(f"Mixed question {i}?", f"Mixed answer {i}.") for i in range(4)]
    write_jsonl(tmp_path / "known.jsonl", mixed[:2])
    run_cli("import", "known.jsonl", "--provider", "openai", "--model", "gpt-4o", cwd=tmp_path, check=True)
    write_jsonl(tmp_path / "mixed.jsonl", mixed)
    llama = "kind=open-model,model=meta-llama/Llama-3.1-8B-Instruct"
    paraphrased = [chat(f"Mixed question {i}?", f"Paraphrase {i}.") for i in range(4)]
    write_jsonl(tmp_path / "para.jsonl", paraphrased)
    run_cli("derive", "para.jsonl", "--from", "mixed.jsonl", "--transform", "rewrite", "--by", llama,
            cwd=tmp_path, check=True)
    again = [chat(f"Mixed question {i}?", f"Second paraphrase {i}.") for i in range(4)]
    write_jsonl(tmp_path / "again.jsonl", again)
    run_cli("derive", "again.jsonl", "--from", "para.jsonl", "--transform", "rewrite", "--by", llama,
            cwd=tmp_path, check=True)
    for name in ("mixed.jsonl", "para.jsonl", "again.jsonl"):
        _, report = lint_json(tmp_path, name)
        summary = report["summary"]
        assert summary["untracked"] == 2, (name, summary)
        assert summary["allowed"] == 2, (name, summary)
        untracked_lines = sorted(f["line"] for f in report["findings"] if f["code"] == "LIN009")
        assert untracked_lines == [3, 4], (name, untracked_lines)
    _, report = lint_json(tmp_path, "again.jsonl")
    llama_rows = next(s for s in report["sources"] if "Llama" in s["label"])
    assert llama_rows["examples"] == 4, "the rewriting model binds the untracked rows too"
    failing = run_cli("lint", "again.jsonl", "--untracked", "error", cwd=tmp_path)
    assert failing.returncode == 1 and "LIN009 [error]" in failing.stdout


@pytest.mark.parametrize("encoding,name,what,how", [
    ("utf-16", "rows.jsonl", "UTF-16 (little-endian, with a byte-order mark)", "iconv -f UTF-16 -t UTF-8 rows.jsonl"),
    ("utf-16-be", "rows.jsonl", "UTF-16 (big-endian, no byte-order mark)", "iconv -f UTF-16BE -t UTF-8"),
    ("utf-16-le", "rows.json", "UTF-16 (little-endian, no byte-order mark)", "iconv -f UTF-16LE -t UTF-8"),
    ("utf-32", "rows.jsonl", "UTF-32 (little-endian, with a byte-order mark)", "iconv -f UTF-32 -t UTF-8"),
    ("utf-16", "rows.csv", "UTF-16 (little-endian, with a byte-order mark)", "iconv -f UTF-16 -t UTF-8 rows.csv"),
    ("utf-16", "rows.jsonl.gz", "UTF-16 (little-endian, with a byte-order mark)", "gzip -dc rows.jsonl.gz | iconv"),
])
def test_a_utf16_or_utf32_file_is_refused_saying_how_to_convert_it(
    project: Path, tmp_path: Path, encoding: str, name: str, what: str, how: str,
) -> None:
    import gzip

    if name.endswith(".csv"):
        text = "prompt,completion\n" + "".join(f"Q{i}?,A{i}.\n" for i in range(3))
    else:
        text = "".join(json.dumps(r) + "\n" for r in STAFF)
    data = text.encode(encoding)
    (tmp_path / name).write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    (tmp_path / "README.md").write_text("---\nlicense: cc0-1.0\n---\n# Rows\n")
    store = str(project / ".lineage" / "lineage.db")
    before = _store_bytes(project)
    for args in (["lint", name], ["lint", name, "--skip-bad"], ["gate", "."],
                 ["import", name, "--provider", "openai", "--model", "gpt-4o"]):
        result = run_cli(*args, "--store", store, cwd=tmp_path)
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        line = result.stderr.strip()
        assert line.startswith(f"Error: the file is {what}, not UTF-8, "), line
        assert how in line and len(line.splitlines()) == 1 and result.stdout == ""
    assert _store_bytes(project) == before


def test_utf8_with_a_byte_order_mark_and_crlf_are_read(project: Path, tmp_path: Path) -> None:
    text = "".join(json.dumps(r) + "\r\n" for r in STAFF)
    (tmp_path / "rows.jsonl").write_bytes(b"\xef\xbb\xbf" + text.encode())
    store = str(project / ".lineage" / "lineage.db")
    result = run_cli("lint", "rows.jsonl", "--store", store, "--format", "json", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout)["summary"]["allowed"] == 2


def _card_folder(tmp_path: Path, card: str | None) -> Path:
    folder = tmp_path / "data"
    folder.mkdir()
    write_jsonl(folder / "train.jsonl", STAFF)
    if card is not None:
        (folder / "README.md").write_text(card)
    return folder


@pytest.mark.parametrize("mode", [0o644, 0o664, 0o600])
def test_card_keeps_the_files_mode(project: Path, tmp_path: Path, mode: int) -> None:
    folder = _card_folder(tmp_path, "---\nlicense: cc0-1.0\n---\n# Staff answers\n")
    (folder / "README.md").chmod(mode)
    store = str(project / ".lineage" / "lineage.db")
    result = run_cli("card", "data", "--store", store, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Provenance" in (folder / "README.md").read_text()
    assert (folder / "README.md").stat().st_mode & 0o777 == mode


def test_a_new_card_gets_the_umask_mode(project: Path, tmp_path: Path) -> None:
    import os

    folder = _card_folder(tmp_path, None)
    store = str(project / ".lineage" / "lineage.db")
    umask = os.umask(0o022)
    try:
        result = run_cli("card", "data", "--store", store, cwd=tmp_path)
    finally:
        os.umask(umask)
    assert result.returncode == 0, result.stderr
    assert (folder / "README.md").stat().st_mode & 0o777 == 0o644


def test_card_refuses_an_unterminated_header_and_keeps_the_card(project: Path, tmp_path: Path) -> None:
    text = "---\nlicense: mit\npretty_name: Staff\n# Staff answers\n"
    folder = _card_folder(tmp_path, text)
    store = str(project / ".lineage" / "lineage.db")
    for args in (["card", "data"], ["gate", "data"]):
        result = run_cli(*args, "--store", store, cwd=tmp_path)
        assert result.returncode == 2, (args, result.stdout)
        line = result.stderr.strip()
        assert line.startswith("Error: the card's YAML header is not closed: the --- on line 1 has no closing --- line")
        assert "README.md:1: add a line holding only ---" in line and len(line.splitlines()) == 1
    assert (folder / "README.md").read_text() == text


@pytest.mark.parametrize("command,writes", [
    (["card", "data"], "card"), (["report", "data/train.jsonl"], "report"),
    (["notice", "data/train.jsonl"], "notice"), (["export", "croissant", "data", "--license", "CC0-1.0"], "export"),
])
def test_documents_refuse_data_they_could_not_read(project: Path, tmp_path: Path, command: list[str],
                                                    writes: str) -> None:
    card = "---\nlicense: cc0-1.0\n---\n# Staff answers\n"
    folder = _card_folder(tmp_path, card)
    with (folder / "train.jsonl").open("a") as f:
        f.write("{broken\n")
    store = str(project / ".lineage" / "lineage.db")
    result = run_cli(*command, "--store", store, cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    line = result.stderr.strip()
    assert line.startswith("Error: 1 record(s) could not be read (invalid JSON"), line
    assert f"so the {writes} would leave them out, " in line and "train.jsonl:3: " in line and "--skip-bad" in line
    assert result.stdout == "" and (folder / "README.md").read_text() == card
    skipped = run_cli(*command, "--store", store, "--skip-bad", cwd=tmp_path)
    assert skipped.returncode == 0, skipped.stderr


def test_explain_answers_for_a_licence_alone(tmp_path: Path) -> None:
    """"May we train on CC-BY-NC-4.0 data?" needs no dataset name."""
    commercial = run_cli("explain", "--kind", "dataset", "--license", "CC-BY-NC-4.0", "--purpose", "fine-tune",
                         "--commercial", cwd=tmp_path)
    assert commercial.returncode == 1, commercial.stderr
    assert "verdict: blocked" in commercial.stdout
    research = run_cli("explain", "--kind", "dataset", "--license", "CC-BY-NC-4.0", "--purpose", "fine-tune",
                       "--non-commercial", cwd=tmp_path)
    assert research.returncode == 0, research.stderr
    assert "verdict: allowed-with-obligations" in research.stdout


def test_an_open_question_survives_select_and_ignore(tmp_path: Path) -> None:
    """Hunyuan outputs with the territory unstated: ignoring the stated breach (or selecting only
    the territory rule) must not turn the unanswered territory question into `allowed`."""
    row = {**chat("Hi?", "Hello."), "_lineage": {"kind": "open-model", "model": "tencent/Hunyuan-A13B-Instruct"}}
    data = write_jsonl(tmp_path / "d.jsonl", [row])
    facts = ("--competes-with", "none", "--base-model", "none", "--model-type", "generative", "--no-distribute-model")
    for narrowing in (("--ignore", "HUN100"), ("--select", "HUN101,LIN014")):
        result = run_cli("lint", str(data), *facts, *narrowing, "--format", "json", cwd=tmp_path)
        assert result.returncode == 1, (narrowing, result.stdout)
        summary = json.loads(result.stdout)["summary"]
        assert summary["allowed"] == 0 and summary["needs_review"] == 1, narrowing
    # Stated, the territory answers it: blocked in the EU, not in the US.
    eu = run_cli("lint", str(data), *facts, "--territory", "de", "--ignore", "HUN100", "--format", "json",
                 cwd=tmp_path)
    assert json.loads(eu.stdout)["summary"]["blocked"] == 1
    us = run_cli("lint", str(data), *facts, "--territory", "us", "--ignore", "HUN100", "--format", "json",
                 cwd=tmp_path)
    assert us.returncode == 0 and json.loads(us.stdout)["summary"]["allowed"] == 1


def test_each_open_question_of_a_source_is_listed(tmp_path: Path) -> None:
    row = {**chat("Hi?", "Hello."), "_lineage": {"kind": "open-model", "model": "tencent/Hunyuan-A13B-Instruct"}}
    data = write_jsonl(tmp_path / "d.jsonl", [row])
    result = run_cli("lint", str(data), "--competes-with", "none", "--model-type", "generative",
                     "--no-distribute-model", cwd=tmp_path)
    questions = [line for line in result.stdout.splitlines() if ": LIN014 [error]" in line]
    # base_model (HUN100) and territory (HUN101): two questions, both shown.
    assert len(questions) == 2, result.stdout
    assert any(line.split(": LIN014 [error] ")[1].startswith("HUN100") for line in questions)
    assert any(line.split(": LIN014 [error] ")[1].startswith("HUN101") for line in questions)


def test_a_territory_nobody_can_read_is_one_line(tmp_path: Path) -> None:
    for value in ("European Union", "xx"):
        result = run_cli("explain", "--provider", "openai", "--model", "gpt-4o", "--territory", value, cwd=tmp_path)
        assert result.returncode == 2 and "Traceback" not in result.stderr
        assert f"unknown territory '{value}'" in result.stderr
    (tmp_path / "lineage.toml").write_text("territory = []\n")
    empty = run_cli("explain", "--provider", "openai", "--model", "gpt-4o", cwd=tmp_path)
    assert empty.returncode == 2 and "territory names no region" in empty.stderr
