"""`--format sarif`: SARIF 2.1.0 for GitHub code scanning (`github/codeql-action/upload-sarif`).

One run, one reportingDescriptor per rule code (sorted, so the file is stable), one result per
finding. Where a finding sits:

- jsonl and csv files, and files that are not datasets (a waivers file): `region.startLine` is
  the finding's line.
- a .json array file: startLine 1, `properties.elementIndex` the 1-based element and
  `properties.rowIndex` the 0-based one.
- columnar files (parquet, arrow, hf-disk, an in-memory dataset): startLine 1 and
  `properties.rowIndex` the 0-based row, `properties.split` the split.

`partialFingerprints.primaryLocationLineHash` is built from the example's fingerprint, not from
its line, so an alert survives reformatting and re-ordering the file.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections import Counter
from pathlib import Path, PurePath
from typing import Any
from urllib.parse import quote

import orjson

from lineage.report.model import LintFinding, Report, RuleInfo

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/tos-lineage/tos-lineage"
RULES_URI = "https://github.com/tos-lineage/tos-lineage/blob/main/docs/rules.md"
# Formats whose `line` is a line of the file; every other dataset format numbers records instead.
LINE_FORMATS = frozenset({"jsonl", "csv"})
ELEMENT_FORMATS = frozenset({"json"})
# SARIF limits nothing, but GitHub truncates (and some viewers reject) longer short descriptions.
_SHORT_MAX = 1024
_LEVELS = {"error": "error", "warning": "warning"}
_PRECISION = {"high": "high", "medium": "medium", "low": "low"}


def render(report: Report, *, cwd: str | os.PathLike[str] | None = None, **_options: object) -> str:
    return orjson.dumps(sarif_log(report, cwd=cwd), option=orjson.OPT_INDENT_2).decode() + "\n"


def sarif_log(report: Report, *, cwd: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """The SARIF log as a dict; `cwd` is the folder artifact URIs are relative to (default: the current one)."""
    from lineage import __version__

    base = Path(cwd) if cwd is not None else Path.cwd()
    codes = sorted(set(report.rules) | set(report.findings_by_code) | {f.code for f in report.findings})
    rule_index = {code: i for i, code in enumerate(codes)}
    confidence = _confidence_by_code(report)
    names = _rule_names(codes, report.rules)
    rules = [
        reporting_descriptor(code, report.rules.get(code), names[code], report.code_severity.get(code),
                             confidence.get(code))
        for code in codes
    ]
    seen: Counter[str] = Counter()
    results = [_result(finding, rule_index[finding.code], report, base, seen) for finding in report.findings]
    summary = report.summary()
    invocation: dict[str, Any] = {"executionSuccessful": True}
    if report.truncated:
        # Code scanning shows tool notifications on the analysis, so a cut list is not mistaken for a full one.
        hidden = report.findings_total - len(report.findings)
        invocation["toolExecutionNotifications"] = [{
            "level": "warning",
            "message": {"text": f"{hidden} more findings were not listed (--max-findings); "
                                f"the summary counts all {report.findings_total}."},
            "descriptor": {"id": "truncated"},
        }]
    run_properties: dict[str, Any] = {"summary": summary, "truncated": report.truncated,
                                      "policyPack": report.policy_pack}
    if report.use_context:
        run_properties["useContext"] = report.use_context
    return {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "tos-lineage",
                "version": __version__,
                "semanticVersion": __version__,
                "informationUri": INFORMATION_URI,
                "rules": rules,
            }},
            "invocations": [invocation],
            "results": results,
            "properties": run_properties,
        }],
    }


def reporting_descriptor(code: str, info: RuleInfo | None, name: str, severity: str | None = None,
                         confidence: str | None = None) -> dict[str, Any]:
    """One rule; a code the report has no RuleInfo for still gets non-empty descriptions."""
    title = (info.title if info else "") or code
    description = (info.description if info else "") or title
    help_uri = (info.help_uri if info else "") or RULES_URI
    quote_text = info.quote if info else None
    level = _LEVELS.get(severity or (info.severity if info else ""), "note")
    text = [description]
    markdown = [_md_escape(description)]
    if quote_text:
        text.append(f'"{quote_text}"')
        markdown.append("> " + _md_escape(quote_text).replace("\n", "\n> "))
    # Engine codes have one text for title and description: say it once.
    link_text = title if title != description else "Rule reference"
    text.append(f"{link_text}: {help_uri}")
    markdown.append(f"[{_md_escape(link_text).replace('[', '(').replace(']', ')')}]({help_uri})")
    return {
        "id": code,
        "name": name,
        "shortDescription": {"text": _truncate(title, _SHORT_MAX)},
        "fullDescription": {"text": description},
        "help": {"text": "\n\n".join(text), "markdown": "\n\n".join(markdown)},
        "helpUri": help_uri,
        "defaultConfiguration": {"level": level},
        "properties": {"tags": tags(code), "precision": precision(code, confidence)},
    }


def tags(code: str) -> list[str]:
    """Code-scanning filter tags by code family."""
    if code.startswith("LIC"):
        return ["compliance", "licence"]
    if code.startswith("LIN"):
        return ["compliance", "lineage"]
    return ["compliance", "terms-of-service"]


def precision(code: str, confidence: str | None = None) -> str:
    """Engine codes are exact checks; policy rules are as sure as the pack says its reading is."""
    if code.startswith("LIN"):
        return "very-high"
    return _PRECISION.get(confidence or "", "high")


def relative_path(path: str, base: Path | None = None) -> str:
    """`path` relative to `base` (default: the current folder) with forward slashes when inside it, else as given."""
    base = base if base is not None else Path.cwd()
    candidate = Path(path)
    absolute = candidate if candidate.is_absolute() else base / candidate
    try:
        relative = PurePath(os.path.relpath(absolute, base))
    except ValueError:  # another drive on Windows
        return candidate.as_posix()
    if relative.parts and relative.parts[0] != "..":
        return relative.as_posix()
    return candidate.as_posix()


def artifact_uri(path: str, base: Path | None = None) -> str:
    """`relative_path`, percent-encoded: a URI may not hold spaces, brackets (`name[split]`) or `%`."""
    # GitHub decodes the escapes before matching the path against the repository.
    return quote(relative_path(path, base), safe="/:@!$&'()*+,;=-._~") or "."


def _result(finding: LintFinding, index: int, report: Report, base: Path, seen: Counter[str]) -> dict[str, Any]:
    fmt = report.formats.get(finding.path)
    properties: dict[str, Any] = {}
    start_line = finding.line if finding.line is not None and finding.line >= 1 else 1
    where = ""
    if finding.line is not None and fmt is not None and fmt not in LINE_FORMATS:
        start_line = 1
        if fmt in ELEMENT_FORMATS:
            properties["elementIndex"] = finding.line
            properties["rowIndex"] = finding.line - 1
            where = f"element {finding.line}"
        else:
            properties["rowIndex"] = finding.line
            where = f"row {finding.line}"
    if finding.split:
        properties["split"] = finding.split
        where = f"{finding.split} split, {where}" if where else f"{finding.split} split"
    for key, value in (("role", finding.role), ("field", finding.field)):
        if value:
            properties[key] = value
    properties["segments"] = finding.segments
    if finding.source is not None:
        properties["source"] = finding.source.label()
    if finding.citation is not None:
        properties["citation"] = finding.citation.to_dict()
    if finding.derived:
        properties["derived"], properties["similarity"] = finding.derived, finding.similarity
    text = finding.message or finding.code
    details = [d for d in (where, finding.source.label() if finding.source else "") if d]
    if details:
        text += f" ({'; '.join(details)})"
    return {
        "ruleId": finding.code,
        "ruleIndex": index,
        "level": _LEVELS.get(finding.severity, "note"),
        "message": {"text": text},
        "locations": [{"physicalLocation": {
            "artifactLocation": {"uri": artifact_uri(finding.path, base)},
            "region": {"startLine": start_line},
        }}],
        "partialFingerprints": _fingerprints(finding, seen),
        "properties": properties,
    }


def _fingerprints(finding: LintFinding, seen: Counter[str]) -> dict[str, str]:
    """`hash:n`, n counting earlier results with the same hash and code, as CodeQL numbers its own."""
    if finding.example_fingerprint:
        digest = finding.example_fingerprint[:16]
    else:
        # A malformed record or a run-level finding has no example to fingerprint: its place will do.
        digest = hashlib.sha256(f"{finding.path}\0{finding.line}\0{finding.code}".encode()).hexdigest()[:16]
    key = f"{digest}:{finding.code}"
    seen[key] += 1
    prints = {"primaryLocationLineHash": f"{digest}:{seen[key]}"}
    if finding.example_fingerprint:
        prints["exampleFingerprint/v1"] = finding.example_fingerprint
    return prints


def _confidence_by_code(report: Report) -> dict[str, str]:
    """The least confident reading the pack gives of each code among the run's sources."""
    order = {"low": 0, "medium": 1, "high": 2}
    found: dict[str, str] = {}
    for use in report.sources:
        for finding in use.findings:
            level, current = finding.confidence, found.get(finding.code)
            if level in order and (current is None or order[level] < order[current]):
                found[finding.code] = level
    return found


def _rule_names(codes: list[str], rules: dict[str, RuleInfo]) -> dict[str, str]:
    """PascalCase names from the rule titles, made unique by the code where two collide."""
    names = {code: _pascal(rules[code].title if code in rules else "") or code for code in codes}
    counts = Counter(names.values())
    return {code: name if counts[name] == 1 or name == code else f"{name}{code}" for code, name in names.items()}


def _pascal(title: str, max_words: int = 6) -> str:
    # The part before the first comma or bracket names the rule; versions and dates say nothing.
    head = re.split(r"[,(:]", title, maxsplit=1)[0]
    words = [w for w in re.findall(r"[A-Za-z0-9]+", head) if not w.isdigit()][:max_words]
    return "".join(w[:1].upper() + w[1:] for w in words)


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _md_escape(text: str) -> str:
    # Rule texts quote code (`lineage import`) on purpose; only what would start markup mid-text is escaped.
    return text.replace("<", "&lt;").replace(">", "&gt;")
