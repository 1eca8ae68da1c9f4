"""Names are checked where they enter, and an import that reads nothing records nothing.

Each test runs the real CLI in a subprocess against a SQLite store it creates, and compares the
store's bytes before and after a refused command.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import chat, run_cli, write_jsonl

ROWS = [chat(f"Question {i}?", f"Answer {i}.") for i in range(3)]
LLAMA = "kind=open-model,model=meta-llama/Llama-3.1-8B-Instruct"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    run_cli("init", cwd=tmp_path, check=True)
    write_jsonl(tmp_path / "t.jsonl", ROWS)
    return tmp_path


def store_bytes(root: Path) -> bytes:
    return (root / ".lineage" / "lineage.db").read_bytes()


def refused(root: Path, *args: str) -> str:
    """Run a command that must be refused: exit 2, one line on stderr, the store untouched."""
    before = store_bytes(root)
    result = run_cli(*args, cwd=root)
    assert result.returncode == 2, (args, result.stdout, result.stderr)
    assert result.stdout == "" and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert store_bytes(root) == before, "a refused command changed the store"
    return result.stderr.strip()


def counts(root: Path) -> dict:
    stats = run_cli("stats", "--format", "json", cwd=root, check=True)
    return json.loads(stats.stdout)


def test_a_misspelt_provider_is_refused_naming_the_nearest(project: Path) -> None:
    line = refused(project, "import", "t.jsonl", "--provider", "antrhopic", "--model", "claude-sonnet-4-5")
    assert line.startswith("Error: unknown provider 'antrhopic', --provider: did you mean anthropic?")
    assert "--allow-unknown-provider" in line


def test_a_model_under_another_makers_name_is_refused_naming_both(project: Path) -> None:
    line = refused(project, "import", "t.jsonl", "--provider", "openai", "--model", "claude-sonnet-4-5")
    assert line.startswith("Error: model 'claude-sonnet-4-5' is anthropic's, not openai's, --provider")


def test_the_flag_records_an_unknown_provider_whose_rows_then_need_review(project: Path) -> None:
    result = run_cli("import", "t.jsonl", "--provider", "acme-labs", "--model", "acme-1",
                     "--allow-unknown-provider", cwd=project)
    assert result.returncode == 0, result.stderr
    lint = run_cli("lint", "t.jsonl", "--format", "json", cwd=project)
    assert lint.returncode == 1
    summary = json.loads(lint.stdout)["summary"]
    assert summary["needs_review"] == 3 and summary["allowed"] == 0


def test_a_provider_declared_in_the_users_policy_file_is_accepted(project: Path) -> None:
    policy = project / "acme.yaml"
    policy.write_text(
        "documents:\n  - id: acme-terms\n    title: Acme terms\n    publisher: acme-labs\n    kind: terms\n"
        "    applies_to: {providers: [acme-labs]}\n    versions:\n      - version: '1'\n"
        "        effective: 2025-01-01\n        url: https://acme.example/terms\n        rules: []\n"
    )
    result = run_cli("policies", "validate", "acme.yaml", cwd=project)
    assert result.returncode == 0, result.stdout + result.stderr
    refused(project, "import", "t.jsonl", "--provider", "acme-labs", "--model", "acme-1")
    (project / "lineage.toml").write_text('policies = ["acme.yaml"]\n')
    imported = run_cli("import", "t.jsonl", "--provider", "acme-labs", "--model", "acme-1", cwd=project)
    assert imported.returncode == 0, imported.stderr


def test_a_provider_or_model_column_is_checked_row_by_row(project: Path) -> None:
    write_jsonl(project / "p.jsonl", [
        {"prompt": "P0?", "completion": "C0.", "who": "anthropic", "model": "claude-sonnet-4-5"},
        {"prompt": "P1?", "completion": "C1.", "who": "openai", "model": "claude-sonnet-4-5"},
    ])
    line = refused(project, "import", "p.jsonl", "--provider-column", "who", "--model-column", "model")
    assert line.startswith("Error: model 'claude-sonnet-4-5' is anthropic's, not openai's, p.jsonl:2")
    write_jsonl(project / "q.jsonl", [{"prompt": "P?", "completion": "C.", "who": "gogle"}])
    line = refused(project, "import", "q.jsonl", "--provider-column", "who")
    assert line.startswith("Error: unknown provider 'gogle', q.jsonl:1: did you mean google?")


def test_the_prompt_source_is_checked_too(project: Path) -> None:
    line = refused(project, "import", "t.jsonl", "--provider", "anthropic", "--model", "claude-sonnet-4-5",
                   "--prompt-source", "provider=opneai,model=gpt-4o")
    assert line.startswith("Error: unknown provider 'opneai', --prompt-source: did you mean openai")


def test_derive_by_and_explain_check_names(project: Path) -> None:
    run_cli("import", "t.jsonl", "--provider", "anthropic", "--model", "claude-sonnet-4-5", cwd=project, check=True)
    write_jsonl(project / "r.jsonl", [chat(f"Question {i}?", f"Rewritten {i}.") for i in range(3)])
    line = refused(project, "derive", "r.jsonl", "--from", "t.jsonl", "--transform", "rewrite",
                   "--by", "provider=metaa,model=llama-x")
    assert "unknown provider 'metaa'" in line and "--by" in line
    explain = run_cli("explain", "--provider", "antrhopic", "--model", "claude-sonnet-4-5",
                      "--purpose", "fine-tune", cwd=project)
    assert explain.returncode == 2 and "did you mean anthropic?" in explain.stderr


@pytest.mark.parametrize("row,what", [
    ({"_lineage": {"provider": "antrhopic", "model": "claude-sonnet-4-5"}}, "unknown provider 'antrhopic'"),
    ({"_lineage": {"provider": "openai", "model": "claude-sonnet-4-5"}}, "model 'claude-sonnet-4-5' is anthropic's"),
])
def test_inline_provenance_names_are_checked(project: Path, row: dict, what: str) -> None:
    """A row that names a misspelt provider, or files a model under another maker, is not read as
    a source with those terms: the record is malformed (an error), never allowed."""
    write_jsonl(project / "inline.jsonl", [{**ROWS[0], **row}, ROWS[1]])
    lint = run_cli("lint", "inline.jsonl", "--format", "json", cwd=project)
    assert lint.returncode == 1, lint.stderr
    report = json.loads(lint.stdout)
    assert report["summary"]["allowed"] == 0 and report["summary"]["malformed"] == 1
    finding = next(f for f in report["findings"] if f["code"] == "LIN010")
    assert finding["severity"] == "error" and what in finding["message"] and finding["line"] == 1


def test_a_named_column_no_record_has_is_an_error(project: Path) -> None:
    for flag in ("--model-column", "--provider-column", "--time-column"):
        args = ["import", "t.jsonl", flag, "nosuchcol"]
        if flag != "--provider-column":
            args += ["--provider", "openai"]
        line = refused(project, *args)
        assert line.startswith("Error: no record has the column 'nosuchcol', t.jsonl: the records have messages")
    line = refused(project, "import", "t.jsonl", "--provider", "openai", "--map", "completion=answr")
    assert "answr" in line


@pytest.mark.parametrize("content,start,skipping", [
    (b"", "Error: no records, bad.jsonl", "Error: no records, bad.jsonl"),
    (b"{bad\n", "Error: malformed record (invalid JSON", "Error: none of the 1 record(s) could be read (line 1: invalid JSON"),
])
def test_empty_or_all_bad_input_records_nothing(project: Path, content: bytes, start: str, skipping: str) -> None:
    (project / "bad.jsonl").write_bytes(content)
    for extra, expected in (([], start), (["--skip-bad"], skipping)):
        line = refused(project, "import", "bad.jsonl", "--provider", "openai", "--model", "gpt-4o", *extra)
        assert line.startswith(expected), line
    assert counts(project)["capture_runs"] == 0 and counts(project)["datasets"] == 0


def test_a_reimport_that_adds_nothing_records_nothing(project: Path) -> None:
    args = ("import", "t.jsonl", "--provider", "anthropic", "--model", "claude-sonnet-4-5")
    first = run_cli(*args, cwd=project, check=True)
    assert "3 new origins" in first.stdout
    after_first = counts(project)
    assert after_first["capture_runs"] == 1 and after_first["origins"] == 3
    again = run_cli(*args, "--format", "json", cwd=project, check=True)
    result = json.loads(again.stdout)
    assert result["origins_added"] == 0 and result["run_ids"] == []
    assert counts(project) == after_first


def test_capture_checks_names_before_recording(tmp_path: Path) -> None:
    from lineage.exceptions import UsageError
    from lineage.store import Store

    url = str(tmp_path / "s.db")
    with Store.open(url, create=True) as store:
        with store.capture(kind="api", provider="antrhopic", model="claude-sonnet-4-5") as run, \
                pytest.raises(UsageError) as refused_run:
            run.record("An answer.")
        assert refused_run.value.what == "unknown provider 'antrhopic'"
        assert "did you mean anthropic" in (refused_run.value.fix or "")
        with store.capture(kind="api", provider="openai", model="claude-sonnet-4-5") as run, \
                pytest.raises(UsageError, match="is anthropic's, not openai's"):
            run.record("Another answer.")
        assert store.stats()["origins"] == 0
        with store.capture(kind="api", provider="acme-labs", model="acme-1", allow_unknown_provider=True) as run:
            run.record("A third answer.")
        with store.capture(kind="api", provider="anthropic", model="claude-sonnet-4-5") as run:
            run.record("A fourth answer.")
        assert store.stats()["origins"] == 2
