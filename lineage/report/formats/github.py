"""`--format github`: GitHub Actions workflow commands, which the runner turns into annotations.

    ::error file=data/train.jsonl,line=12,title=ANT001::Anthropic's Usage Policy forbids ...
    tos-lineage: 24 examples, 6 blocked, 12 allowed, ...

Only jsonl and csv files (and non-dataset files such as the waivers file) number their lines;
for a .json array or a columnar file the element or row goes in the message instead, since a
`line=` there would point at the wrong place.
"""

from __future__ import annotations

from lineage.report.formats.sarif import relative_path
from lineage.report.model import LintFinding, Report

_COMMANDS = {"error": "error", "warning": "warning"}
LINE_FORMATS = frozenset({"jsonl", "csv"})


def escape_data(text: str) -> str:
    """A command's message, escaped as the runner unescapes it (`%`, CR and LF)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A command property value: as a message, and `:` and `,` too, which end a property."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(finding: LintFinding, fmt: str | None) -> str:
    """One `::error ...::message` (or `::warning`) line for one finding."""
    command = _COMMANDS.get(finding.severity, "notice")
    properties = [f"file={escape_property(relative_path(finding.path))}"]
    where = ""
    if finding.line is not None:
        if fmt is None or fmt in LINE_FORMATS:
            properties.append(f"line={finding.line}")
        else:
            where = f"element {finding.line}" if fmt == "json" else f"row {finding.line}"
    if finding.split:
        where = f"{finding.split} split, {where}" if where else f"{finding.split} split"
    properties.append(f"title={escape_property(finding.code)}")
    message = finding.message or finding.code
    details = [d for d in (where, finding.source.label() if finding.source else "") if d]
    if details:
        message += f" ({'; '.join(details)})"
    return f"::{command} {','.join(properties)}::{escape_data(message)}"


def summary_line(report: Report) -> str:
    summary = report.summary()
    counts = f"{summary['examples']} examples, {report.counts_text()}"
    line = (f"tos-lineage: {counts}; {summary['findings']} findings "
            f"({summary['errors']} errors, {summary['warnings']} warnings); judged by {report.pack_label()}")
    if report.truncated:
        line += f"; {report.findings_total - len(report.findings)} more findings not shown (--max-findings)"
    return line


def render(report: Report, **_options: object) -> str:
    lines = [annotation(finding, report.formats.get(finding.path)) for finding in report.findings]
    lines.append(summary_line(report))
    return "\n".join(lines) + "\n"
