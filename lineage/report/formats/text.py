"""`--format text`: one line per finding, as ruff prints them, then a summary by code.

    data/train.jsonl:12: ANT001 [error] Anthropic forbids ... (anthropic/claude-sonnet-4-5 (api))
"""

from __future__ import annotations

from lineage.report.model import LintFinding, Report


def location(finding: LintFinding) -> str:
    """`path:line`, `path[split]:row N` for columnar rows, or the path alone."""
    if finding.line is None:
        return finding.path
    return f"{finding.path}:{finding.line}"


def finding_line(finding: LintFinding, fmt: str | None = None) -> str:
    where = location(finding)
    if finding.line is not None and fmt not in (None, "jsonl", "csv"):
        # Not a line an editor shows: an element of a JSON array, or a row of a columnar file.
        split = f"[{finding.split}]" if finding.split and not finding.path.endswith(f"[{finding.split}]") else ""
        unit = "element" if fmt == "json" else "row"
        where = f"{finding.path}{split}:{unit} {finding.line}"
    source = f" ({finding.source.label()})" if finding.source else ""
    return f"{where}: {finding.code} [{finding.severity}] {finding.message}{source}"


def statistics(report: Report) -> list[str]:
    """Counts by code, most frequent first, as `ruff --statistics` prints them."""
    return [
        f"{count:>8}  {code}  {report.code_severity.get(code, '')}".rstrip()
        for code, count in sorted(report.findings_by_code.items(), key=lambda item: (-item[1], item[0]))
    ]


def summary_lines(report: Report) -> list[str]:
    summary = report.summary()
    lines = [
        f"{summary['examples']} examples in {summary['files']} file(s): {report.counts_text()}",
        f"  judged by {report.pack_label()}",
    ]
    if report.store is None:
        lines.append("  no lineage store was read: only provenance inside the rows counts "
                     "(run `lineage init` and `lineage import`, or pass --store)")
    for use in report.sources:
        lines.append(f"  {use.evaluation.source.label()}: {use.examples} examples, {use.verdict}")
    obligations = report.obligations()
    if obligations:
        lines.append("obligations:")
        for item in obligations:
            text = f' "{item["text"]}"' if item["text"] else ""
            lines.append(f"  {item['code']} {item['type']}{text}: {item['message']} ({item['examples']} examples)")
    for applied in report.waivers_applied():
        lines.append(
            f"waiver {applied['id']} lifts {applied['code']} for {applied['examples']} examples "
            f"(approved by {applied['approved_by']}, {applied['reference']})"
        )
    return lines


def render(report: Report, *, show_statistics: bool = False, **_options: object) -> str:
    out: list[str] = []
    if show_statistics:
        out += statistics(report)
        out.append("")
        out += summary_lines(report)
        out += report.publication.summary_lines() if report.publication is not None else []
        return "\n".join(out) + "\n"
    for finding in report.findings:
        out.append(finding_line(finding, report.formats.get(finding.path)))
    if report.truncated:
        out.append(f"... {report.findings_total - len(report.findings)} more findings not shown (--max-findings)")
    if report.findings:
        out.append("")
    if report.findings_by_code:
        errors, warnings = report.errors, report.findings_by_severity.get("warning", 0)
        out.append(f"Found {report.findings_total} findings ({errors} errors, {warnings} warnings):")
        out += statistics(report)
    else:
        out.append("No findings.")
    out += summary_lines(report)
    out += report.publication.summary_lines() if report.publication is not None else []
    return "\n".join(out) + "\n"
