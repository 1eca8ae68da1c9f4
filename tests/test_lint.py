"""`lineage lint` end to end: a dataset mixing Claude, OpenAI, Llama 3.1 and human rows.

The store is filled through the import API; lint runs through the real CLI in a subprocess,
and the same rows reformatted (Parquet, Alpaca layout, keys and rows reordered) must give the
same counts.
"""

from __future__ import annotations

import json
import random
import re
import sys
from collections import Counter
from pathlib import Path

import orjson
import pytest

from lineage.importers import import_paths
from lineage.store import Store
from tests.conftest import chat, run_cli, write_jsonl

CLAUDE = [chat(f"Claude question {i}?", f"Claude answer {i}.") for i in range(4)]
OPENAI = [chat(f"OpenAI question {i}?", f"GPT answer {i}.") for i in range(3)]
LLAMA = [chat(f"Llama question {i}?", f"Llama answer {i}.") for i in range(2)]
HUMAN = [chat(f"Staff question {i}?", f"Staff answer {i}.") for i in range(2)]
UNTRACKED = chat("Nobody asked?", "Nobody recorded this.")
# Claude rows at lines 1, 5, 9, 13; a broken line 7; the untracked row at line 8.
MIXED = [CLAUDE[0], OPENAI[0], HUMAN[0], LLAMA[0], CLAUDE[1], OPENAI[1], UNTRACKED, CLAUDE[2], LLAMA[1],
         OPENAI[2], HUMAN[1], CLAUDE[3]]
BROKEN_LINE = 7
CLAUDE_LINES = [1, 5, 9, 13]

# Distributed as a Llama-named model: Llama 3.1 outputs are allowed with obligations.
PYPROJECT = """
[tool.lineage]
purpose = "fine-tune"
competes_with = []
base_model = "none"
model_type = "generative"
distribute_model = true
model_name = "Llama-acme-8b"
"""
EXPECTED = {"blocked": 4, "needs_review": 0, "allowed": 5, "allowed_with_obligations": 2, "untracked": 1, "malformed": 1}
EXPECTED_CODES = {"ANT001": 4, "LIN009": 1, "LIN010": 1}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("project")
    (root / "pyproject.toml").write_text(PYPROJECT)
    store = Store.open(str(root / ".lineage" / "lineage.db"), create=True)
    sources = {
        "claude": (CLAUDE, {"provider": "anthropic", "model": "claude-sonnet-4-5"}),
        "openai": (OPENAI, {"provider": "openai", "model": "gpt-4o"}),
        "llama": (LLAMA, {"kind": "open-model", "model": "meta-llama/Llama-3.1-8B-Instruct"}),
    }
    from datetime import datetime, timezone

    from lineage.importers import ImportRequest
    from lineage.importers.base import ImportOptions

    when = datetime(2025, 6, 1, tzinfo=timezone.utc)
    for name, (rows, fields) in sources.items():
        path = write_jsonl(root / "origins" / f"{name}.jsonl", rows)
        import_paths(store, [path], ImportRequest(source=fields, generated_at=when))
    path = write_jsonl(root / "origins" / "human.jsonl", HUMAN)
    import_paths(store, [path], ImportRequest(source={"kind": "human", "name": "staff"},
                                              options=ImportOptions(all_segments=True)))
    store.close()
    lines = [orjson.dumps(r).decode() for r in MIXED]
    lines.insert(BROKEN_LINE - 1, '{"messages": [broken')
    (root / "data").mkdir()
    (root / "data" / "train.jsonl").write_text("\n".join(lines) + "\n")
    return root


def lint(project: Path, *args: str) -> tuple[int, str, str]:
    result = run_cli("lint", *args, cwd=project)
    return result.returncode, result.stdout, result.stderr


def test_json_report_counts_every_verdict_and_code(project: Path) -> None:
    code, out, err = lint(project, "data/train.jsonl", "--format", "json")
    assert code == 1, err
    report = json.loads(out)
    assert report["report_version"] == "1.1"
    summary = report["summary"]
    assert {k: summary[k] for k in EXPECTED} == EXPECTED
    assert summary["examples"] == len(MIXED) + 1
    assert summary["findings_by_code"] == EXPECTED_CODES
    claude = [f for f in report["findings"] if f["code"] == "ANT001"]
    assert [f["line"] for f in claude] == CLAUDE_LINES
    first = claude[0]
    assert first["path"] == "data/train.jsonl"
    assert first["severity"] == "error"
    assert first["role"] == "assistant" and first["field"] == "messages[1].content"
    assert first["source"]["provider"] == "anthropic"
    assert first["citation"]["url"].startswith("https://")
    assert first["citation"]["quote"]
    assert "waiver" in first["message"] or "remove" in first["message"]  # the message names the fix
    (broken,) = [f for f in report["findings"] if f["code"] == "LIN010"]
    assert broken["line"] == BROKEN_LINE and "invalid JSON" in broken["message"]
    # The Llama obligations reach the report, with the examples they cover.
    obligations = {o["code"]: o for o in report["obligations"]}
    assert obligations["META121"]["text"] == "Built with Llama"
    assert obligations["META121"]["examples"] == 2
    verdicts = {s["label"]: s["verdict"] for s in report["sources"]}
    assert verdicts["anthropic/claude-sonnet-4-5 (api)"] == "blocked"
    assert verdicts["staff (human)"] == "allowed"


def test_text_report_lists_findings_like_ruff(project: Path) -> None:
    code, out, _ = lint(project, "data/train.jsonl")
    assert code == 1
    lines = [line for line in out.splitlines() if re.match(r"^data/train\.jsonl:\d+: ", line)]
    assert Counter(re.search(r": (\w+\d+) \[", line).group(1) for line in lines) == EXPECTED_CODES
    assert "data/train.jsonl:1: ANT001 [error]" in out
    assert "13 examples in 1 file(s): 4 blocked, 0 needs review, 5 allowed, 2 allowed with obligations, 1 untracked, 1 malformed" in out


def test_statistics_prints_counts_only(project: Path) -> None:
    code, out, _ = lint(project, "data/train.jsonl", "--statistics")
    assert code == 1
    assert "data/train.jsonl:1:" not in out
    assert re.search(r"^\s+4\s+ANT001\s+error$", out, re.M)
    assert re.search(r"^\s+1\s+LIN010\s+error$", out, re.M)


def test_sarif_github_and_markdown_count_the_same(project: Path) -> None:
    code, out, _ = lint(project, "data/train.jsonl", "--format", "sarif")
    assert code == 1
    sarif = json.loads(out)
    results = sarif["runs"][0]["results"]
    assert Counter(r["ruleId"] for r in results) == EXPECTED_CODES
    lines = sorted(r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in results if r["ruleId"] == "ANT001")
    assert lines == CLAUDE_LINES

    code, out, _ = lint(project, "data/train.jsonl", "--format", "github")
    assert code == 1
    annotations = [line for line in out.splitlines() if line.startswith("::")]
    assert Counter(re.search(r"title=([A-Z]+\d+)", a).group(1) for a in annotations) == EXPECTED_CODES
    assert sum(a.startswith("::error ") for a in annotations) == 5  # the Claude rows and the malformed one

    code, out, _ = lint(project, "data/train.jsonl", "--format", "markdown")
    assert code == 1
    assert "ANT001" in out and "blocked" in out.lower()
    assert re.search(r"\|\s*blocked\s*\|\s*4\s*\|", out, re.I)


def _convert(rows: list[dict], *, alpaca: bool = False, seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    out = []
    for row in rows:
        user, assistant = row["messages"]
        if alpaca:
            record = {"instruction": user["content"], "input": "", "output": assistant["content"]}
        else:
            messages = [dict(reversed(list(m.items()))) for m in row["messages"]]
            record = {"messages": messages}
        items = list(record.items())
        rng.shuffle(items)
        out.append(dict(items))
    rng.shuffle(out)
    return out


def _counts(project: Path, path: str) -> tuple[dict, dict]:
    code, out, err = lint(project, path, "--format", "json")
    assert code == 1, err
    summary = json.loads(out)["summary"]
    return {k: summary[k] for k in EXPECTED}, summary["findings_by_code"]


GOOD = {**EXPECTED, "malformed": 0}
GOOD_CODES = {k: v for k, v in EXPECTED_CODES.items() if k != "LIN010"}


@pytest.mark.parametrize("variant", ["reordered", "alpaca", "parquet", "csv"])
def test_reformatted_rows_give_the_same_counts(project: Path, variant: str) -> None:
    rows = _convert(MIXED, alpaca=variant in ("alpaca", "csv"), seed=len(variant))
    folder = project / "variants"
    folder.mkdir(exist_ok=True)
    if variant == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        path = folder / "train.parquet"
        pq.write_table(pa.Table.from_pylist(rows), path)
    elif variant == "csv":
        import csv

        path = folder / "train.csv"
        with path.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=["output", "instruction", "input"])
            writer.writeheader()
            writer.writerows(rows)
    else:
        path = write_jsonl(folder / f"{variant}.jsonl", rows)
    assert _counts(project, str(path.relative_to(project))) == (GOOD, GOOD_CODES)


def test_directories_and_globs(project: Path) -> None:
    code, out, _ = lint(project, "data", "--format", "json")
    assert code == 1
    assert json.loads(out)["summary"]["examples"] == len(MIXED) + 1
    code, out, _ = lint(project, "data/*.jsonl", "--format", "json")
    assert code == 1
    assert json.loads(out)["summary"]["files"] == 1


def test_exit_codes_select_ignore_and_exit_zero(project: Path) -> None:
    # The malformed line was not judged: it fails the run until the user chooses to skip it.
    assert lint(project, "data/train.jsonl", "--ignore", "ANT")[0] == 1
    assert lint(project, "data/train.jsonl", "--ignore", "ANT", "--skip-bad")[0] == 0
    code, out, _ = lint(project, "data/train.jsonl", "--select", "LIN009,LIN010", "--format", "json")
    assert code == 1
    assert json.loads(out)["summary"]["findings_by_code"] == {"LIN009": 1, "LIN010": 1}
    code, out, _ = lint(project, "data/train.jsonl", "--select", "LIN009,LIN010", "--skip-bad", "--format", "json")
    assert code == 0
    summary = json.loads(out)["summary"]
    assert summary["findings_by_code"] == {"LIN009": 1, "LIN010": 1} and summary["malformed"] == 1
    assert lint(project, "data/train.jsonl", "--exit-zero")[0] == 0
    assert lint(project, "data/train.jsonl", "--ignore", "ANT001", "--skip-bad", "--untracked", "error")[0] == 1
    # --strict lowers nothing, --skip-bad included.
    assert lint(project, "data/train.jsonl", "--ignore", "ANT001", "--skip-bad", "--strict")[0] == 1


def test_an_ignored_malformed_record_still_fails_unless_skipped(project: Path) -> None:
    code, out, _ = lint(project, "data/train.jsonl", "--ignore", "ANT,LIN010", "--format", "json")
    assert code == 1
    assert json.loads(out)["summary"]["findings_by_code"] == {"LIN009": 1, "LIN010": 1}
    code, out, _ = lint(project, "data/train.jsonl", "--ignore", "ANT,LIN010", "--skip-bad", "--format", "json")
    assert code == 0
    summary = json.loads(out)["summary"]
    assert summary["findings_by_code"] == {"LIN009": 1} and summary["malformed"] == 1


def test_max_findings_and_output_file(project: Path, tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    code, out, _ = lint(project, "data/train.jsonl", "--format", "json", "--max-findings", "2", "-o", str(target))
    assert code == 1 and out == ""
    report = json.loads(target.read_text())
    assert len(report["findings"]) == 2
    assert report["summary"]["findings"] == sum(EXPECTED_CODES.values())
    assert report["summary"]["findings_by_code"] == EXPECTED_CODES


def test_flags_override_the_config(project: Path) -> None:
    # Not distributed any more: the Llama rows carry no obligations.
    code, out, _ = lint(project, "data/train.jsonl", "--format", "json", "--no-distribute-model")
    assert code == 1
    summary = json.loads(out)["summary"]
    assert summary["allowed_with_obligations"] == 0 and summary["allowed"] == 7
    # Distributed under a name that breaks the Llama 3.1 naming duty: those rows are blocked.
    code, out, _ = lint(project, "data/train.jsonl", "--format", "json", "--model-name", "acme-8b")
    assert code == 1
    summary = json.loads(out)["summary"]
    assert summary["blocked"] == 6 and summary["findings_by_code"]["META122"] == 2


def test_waivers_lift_rules_and_unused_ones_are_findings(project: Path, tmp_path: Path) -> None:
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text(
        "waivers:\n"
        "  - id: anthropic-contract\n"
        "    codes: [ANT001]\n"
        "    scope: {provider: anthropic}\n"
        "    approved_by: legal@example.com\n"
        "    reference: MSA-2025-17\n"
        "  - id: unused-one\n"
        "    codes: [ANT001]\n"
        "    scope: {provider: xai}\n"
        "    approved_by: legal@example.com\n"
        "    reference: none\n"
    )
    code, out, _ = lint(project, "data/train.jsonl", "--format", "json", "--waivers", str(waivers), "--skip-bad")
    assert code == 0
    report = json.loads(out)
    assert report["summary"]["blocked"] == 0
    (applied,) = report["waivers_applied"]
    assert applied["id"] == "anthropic-contract" and applied["examples"] == 4
    (unused,) = [f for f in report["findings"] if f["code"] == "LIN007"]
    assert "unused-one" in unused["message"]
    assert unused["path"] == str(waivers) and unused["line"] == 7


def test_per_path_overrides(project: Path) -> None:
    evals = project / "evals"
    evals.mkdir(exist_ok=True)
    write_jsonl(evals / "claude.jsonl", CLAUDE)
    config = project / "lineage.toml"
    config.write_text(PYPROJECT.replace("[tool.lineage]", "") + '\n[[overrides]]\npaths = ["evals/**"]\nignore = ["ANT001"]\n')
    try:
        code, out, _ = lint(project, "evals/claude.jsonl", "data/train.jsonl", "--format", "json")
    finally:
        config.unlink()
    report = json.loads(out)
    files = {f["path"]: f for f in report["files"]}
    assert files["evals/claude.jsonl"]["blocked"] == 0
    assert files["evals/claude.jsonl"]["allowed"] == len(CLAUDE)
    assert not [f for f in report["findings"] if f["path"] == "evals/claude.jsonl"]
    assert files["data/train.jsonl"]["blocked"] == 4
    assert code == 1


def test_inline_provenance_wins_over_the_store(project: Path) -> None:
    rows = [
        {**CLAUDE[0], "_lineage": {"kind": "human", "name": "staff"}},  # the row says a person wrote it
        {**chat("Inline q?", "Inline Claude answer."), "_lineage": {"provider": "anthropic", "model": "claude-opus-4-1",
                                                                       "generated_at": "2025-07-01"}},
        {**chat("Column q?", "Column answer."), "model": "gpt-4o-mini"},
        {**chat("Llama q?", "Llama column answer."), "model_name": "meta-llama/Llama-3.1-8B-Instruct"},
        {**chat("Bad q?", "Bad answer."), "_lineage": {"kind": "robot"}},
    ]
    path = write_jsonl(project / "inline" / "rows.jsonl", rows)
    code, out, _ = lint(project, str(path.relative_to(project)), "--format", "json")
    assert code == 1
    report = json.loads(out)
    assert report["summary"]["blocked"] == 1
    assert report["summary"]["malformed"] == 1
    assert report["summary"]["allowed_with_obligations"] == 1
    (blocked,) = [f for f in report["findings"] if f["code"] == "ANT001"]
    assert blocked["line"] == 2 and blocked["source"]["model"] == "claude-opus-4-1"
    labels = {s["label"] for s in report["sources"]}
    assert "openai/gpt-4o-mini (api)" in labels
    assert any(label.startswith("meta/meta-llama/Llama-3.1-8B-Instruct (open-model") for label in labels)


def test_no_store_means_untracked(project: Path, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "rows.jsonl", CLAUDE)
    result = run_cli("lint", str(path), "--format", "json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["store"] is None
    assert report["summary"]["untracked"] == len(CLAUDE)
    assert report["summary"]["findings_by_code"] == {"LIN009": len(CLAUDE)}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.jsonl"], "no such file or directory, missing.jsonl"),
        (["data/train.jsonl", "--store", "nowhere/lineage.db"], "no lineage store"),
        (["data/train.jsonl", "--waivers", "nope.yaml"], "no such waivers file"),
        ([], "no dataset files named"),
    ],
)
def test_bad_usage_is_one_line_and_exit_2(project: Path, args: list[str], message: str) -> None:
    code, out, err = lint(project, *args)
    assert code == 2 and out == ""
    assert message in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_bad_config_is_exit_2(project: Path, tmp_path: Path) -> None:
    (tmp_path / "lineage.toml").write_text('untracked = "sometimes"\n')
    write_jsonl(tmp_path / "rows.jsonl", CLAUDE)
    result = run_cli("lint", "rows.jsonl", cwd=tmp_path)
    assert result.returncode == 2
    assert "`untracked` must be one of ignore, warn, error" in result.stderr


def test_paths_from_the_config(project: Path) -> None:
    config = project / "lineage.toml"
    config.write_text(PYPROJECT.replace("[tool.lineage]", "") + 'paths = ["data/"]\n')
    try:
        code, out, _ = lint(project, "--format", "json")
    finally:
        config.unlink()
    assert code == 1
    assert json.loads(out)["files"][0]["path"] == "data/train.jsonl"


def test_library_api_takes_paths_and_datasets(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import datasets

    import lineage

    monkeypatch.chdir(project)
    report = lineage.lint("data/train.jsonl")
    assert report.exit_code == 1
    assert {k: report.summary()[k] for k in EXPECTED} == EXPECTED
    good = [r for r in MIXED]
    dataset = datasets.Dataset.from_list(good)
    report = lineage.lint(dataset)
    assert {k: report.summary()[k] for k in GOOD} == GOOD
    split = datasets.DatasetDict({"train": dataset, "test": datasets.Dataset.from_list(CLAUDE)})
    report = lineage.lint(split, distribute_model=False)
    assert report.summary()["blocked"] == 4 + len(CLAUDE)
    assert {f.split for f in report.findings if f.code == "ANT001"} == {"train", "test"}


def write_mixed(path: Path, times: int) -> None:
    """The mixed rows, `times` over: several megabytes, large enough for --jobs to split."""
    path.parent.mkdir(exist_ok=True)
    lines = [orjson.dumps(r) for r in MIXED]
    with path.open("wb") as handle:
        for _ in range(times):
            handle.write(b"\n".join(lines) + b"\n")
    assert path.stat().st_size > 4 << 20


def test_jobs_give_the_same_report(project: Path, tmp_path: Path) -> None:
    # Large enough to be split: several megabytes of the mixed rows, repeated; and a second file
    # under an override, with waivers that lift nothing, so that merging has work to do.
    write_mixed(project / "jobs" / "big.jsonl", 4000)
    write_jsonl(project / "jobs" / "claude.jsonl", CLAUDE)
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text("waivers:\n" + "".join(
        f"  - id: {name}\n    codes: [ANT001]\n    scope: {{provider: xai}}\n    approved_by: a\n    reference: b\n"
        for name in ("zeta", "alpha")
    ))
    config = project / "lineage.toml"
    config.write_text(PYPROJECT.replace("[tool.lineage]", "") + '\n[[overrides]]\npaths = ["jobs/claude*"]\nuntracked = "error"\n')
    args = ["jobs/big.jsonl", "jobs/claude.jsonl", "--format", "json", "--waivers", str(waivers)]
    try:
        one = json.loads(lint(project, *args)[1])
        two = json.loads(lint(project, *args, "--jobs", "2")[1])
    finally:
        config.unlink()
    assert one["summary"]["blocked"] == 4 * 4000 + len(CLAUDE)
    assert one == two
    assert [f["message"].split("'")[1] for f in one["findings"] if f["code"] == "LIN007"] == ["zeta", "alpha"]


def test_jobs_number_lines_alike_on_the_row_path(project: Path) -> None:
    # A forced layout sends every block down the row path, which counts a range's lines itself.
    write_mixed(project / "jobs" / "rows.jsonl", 4000)
    args = ["jobs/rows.jsonl", "--format", "json", "--layout", "openai-chat"]
    one = json.loads(lint(project, *args)[1])
    two = json.loads(lint(project, *args, "--jobs", "2")[1])
    assert one == two
    claude = [n + 1 for n, row in enumerate(MIXED) if row in CLAUDE]
    assert [f["line"] for f in two["findings"] if f["code"] == "ANT001"] == [
        n * len(MIXED) + line for n in range(4000) for line in claude
    ]


@pytest.mark.skipif(sys.platform == "win32", reason="forked workers")
def test_a_range_finished_before_the_one_ahead_of_it_gets_its_lines_at_the_end() -> None:
    import multiprocessing

    from lineage.linting.run import Piece, _Lines, _Plan, _shift_lines
    from lineage.report.model import LintFinding, Report

    plan = _Plan([Piece("a.jsonl", "jsonl", 0, 10, 1), Piece("a.jsonl", "jsonl", 10, 20, 1),
                  Piece("a.jsonl", "jsonl", 20, 30, 1), Piece("b.parquet", "parquet", 0, 1, 0)],
                 [True, False, False, True])
    lines = _Lines(plan, multiprocessing.get_context("fork"))
    assert [lines.start(n) for n in range(4)] == [1, 1, 1, 0]
    assert lines.finished(2, 7) is None  # ranges 0 and 1 not yet counted
    assert lines.finished(0, 5) == 1
    assert lines.finished(1, 3) == 6  # after range 0's five lines
    assert lines.start(1) == 6
    assert lines.finished(3, 0) == 0
    assert lines.final() == [1, 6, 9, 0]
    # Several ranges counted before the first: the last one to finish walks back over them all.
    lines = _Lines(_Plan([Piece("a.jsonl", "jsonl", n, n + 1, 1) for n in range(4)], [True, False, False, False]),
                   multiprocessing.get_context("fork"))
    assert [lines.finished(n, 10 + n) for n in (1, 2)] == [None, None]
    assert lines.finished(0, 10) == 1
    assert lines.finished(3, 13) == 1 + 10 + 11 + 12
    assert lines.final() == [1, 11, 22, 34]
    report = Report(findings=[LintFinding("a.jsonl", 2, "ANT001", "error", "m"), LintFinding("a.jsonl", None, "X", "warning", "m")])
    _shift_lines(report, 8)
    assert [f.line for f in report.findings] == [10, None]
    assert report.findings[0][2:] == ("ANT001", "error", "m", None, None, None, None, None, None, 1, None, None)


def test_a_report_pickles_with_its_findings(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import pickle

    import lineage
    from lineage.report.model import LintFinding

    monkeypatch.chdir(project)
    report = lineage.lint("data/train.jsonl")
    back = pickle.loads(pickle.dumps(report))
    assert back.findings == report.findings and len(back.findings) == sum(EXPECTED_CODES.values())
    assert {type(f) for f in back.findings} == {LintFinding}
    assert back.findings[0].source == report.findings[0].source and back.summary() == report.summary()


def test_an_empty_configured_folder_is_not_an_error(tmp_path: Path) -> None:
    (tmp_path / "lineage.toml").write_text('paths = ["data/"]\n')
    (tmp_path / "data").mkdir()
    result = run_cli("lint", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "No dataset files in the configured paths." in result.stdout
    # A folder named on the command line must hold data, as before.
    assert run_cli("lint", "data", cwd=tmp_path).returncode == 2


def test_text_report_says_when_no_store_was_read(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "rows.jsonl", CLAUDE)
    result = run_cli("lint", "rows.jsonl", cwd=tmp_path)
    assert "no lineage store was read" in result.stdout


def test_jobs_split_parquet_by_row_groups(project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    import lineage.linting.run as run
    from lineage.readers import parquet_chunks

    rows = MIXED * 500
    path = tmp_path / "big.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path, row_group_size=1000)
    assert len(parquet_chunks(path, 8)) == 6  # 6 row groups, one run each
    monkeypatch.chdir(project)
    monkeypatch.setattr(run, "_PARALLEL_MIN_BYTES", 0)  # small enough to split here
    one = run.lint([str(path)])
    two = run.lint([str(path)], jobs=2)
    assert one.summary() == two.summary()
    assert one.summary()["blocked"] == 4 * 500
    assert [(f.line, f.code) for f in one.findings] == [(f.line, f.code) for f in two.findings]
    assert max(f.line for f in two.findings) == len(rows) - 1  # row indexes of the whole file
    assert [(f.path, f.examples) for f in two.files] == [(str(path), len(rows))]
    # Where there is no fork (macOS, Windows), a pool of spawned workers gives the same report.
    monkeypatch.setattr(run, "_can_fork", lambda: False)
    spawned = run.lint([str(path)], jobs=2)
    assert spawned.summary() == one.summary()
    assert [(f.line, f.code) for f in spawned.findings] == [(f.line, f.code) for f in one.findings]


def test_flags_beat_override_selection_and_ignore_all(project: Path) -> None:
    config = project / "lineage.toml"
    config.write_text(PYPROJECT.replace("[tool.lineage]", "") + 'select = ["LIN"]\n[[overrides]]\npaths = ["*"]\nselect = ["LIN010"]\n')
    try:
        code, out, _ = lint(project, "data/train.jsonl", "--select", "ANT", "--format", "json")
        assert code == 1
        # The malformed record is an error, and an error is never left out of the report.
        assert json.loads(out)["summary"]["findings_by_code"] == {"ANT001": 4, "LIN010": 1}
        code, out, _ = lint(project, "data/train.jsonl", "--ignore", "ALL", "--skip-bad", "--format", "json")
        assert code == 0 and json.loads(out)["summary"]["findings"] == 0
    finally:
        config.unlink()


def test_a_json_file_of_json_lines_reports_lines(project: Path) -> None:
    path = project / "data" / "lines.json"
    path.write_text(orjson.dumps(CLAUDE[0]).decode() + "\n\n" + orjson.dumps(CLAUDE[1]).decode() + "\n")
    try:
        code, out, _ = lint(project, "data/lines.json")
    finally:
        path.unlink()
    assert code == 1
    assert "data/lines.json:1: ANT001" in out and "data/lines.json:3: ANT001" in out


@pytest.mark.parametrize(
    ("config", "args", "message"),
    [
        ("", ["--map", "bogus=x"], "unknown role 'bogus'"),
        ('layout = "bogus"\n', [], "`layout` must be one of"),
        ("map = {}\n", [], "`map` is empty"),
        ('[[overrides]]\npaths = ["*"]\ncompetes_with = 5\n', [], "`competes_with` must be a list of strings"),
        ('[[overrides]]\npaths = ["*"]\ncommercial = "yes"\n', [], "`commercial` must be true or false"),
    ],
)
def test_bad_settings_are_exit_2(tmp_path: Path, config: str, args: list[str], message: str) -> None:
    (tmp_path / "lineage.toml").write_text(config)
    write_jsonl(tmp_path / "rows.jsonl", CLAUDE)
    result = run_cli("lint", "rows.jsonl", *args, cwd=tmp_path)
    assert result.returncode == 2, result.stdout
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_click_usage_errors_are_one_line(tmp_path: Path) -> None:
    result = run_cli("lint", "--jobs", "0", "x.jsonl", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "Error: Invalid value for '--jobs' / '-j': 0 is not in the range x>=1, lineage lint: see `lineage lint --help`"
    ]


def test_bad_inline_licence_is_a_malformed_row(project: Path, tmp_path: Path) -> None:
    rows = [{**chat("q?", "a."), "_lineage": {"kind": "dataset", "name": "x", "license": "not (an spdx"}}, CLAUDE[0]]
    path = write_jsonl(tmp_path / "rows.jsonl", rows)
    code, out, err = lint(project, str(path), "--format", "json")
    assert code == 1, err
    report = json.loads(out)
    (bad,) = [f for f in report["findings"] if f["code"] == "LIN010"]
    assert bad["line"] == 1 and "invalid licence expression" in bad["message"]


def test_dataset_dict_names_each_split_once(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import datasets

    import lineage
    from lineage.report import render

    monkeypatch.chdir(project)
    report = lineage.lint(datasets.DatasetDict({"train": datasets.Dataset.from_list(CLAUDE)}))
    text = render(report, "text")
    assert "<dataset>[train]:row 0: ANT001" in text and "[train][train]" not in text


def test_lint_restores_the_cycle_collector(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import gc

    import lineage

    monkeypatch.chdir(project)
    assert gc.isenabled()
    lineage.lint("data/train.jsonl")
    assert gc.isenabled()
    gc.disable()
    try:
        lineage.lint("data/train.jsonl")
        assert not gc.isenabled()  # left as the caller had it
    finally:
        gc.enable()
