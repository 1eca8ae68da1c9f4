"""`--format markdown`: a short summary to post as a pull-request comment.

A heading with the verdict, counts per verdict, findings per code, the sources, obligations and
waivers, then the first findings with their place. GitHub renders the tables; everything taken
from data (paths, labels, messages) is escaped so a `|` or a `<` in it cannot break the layout.
"""

from __future__ import annotations

import re

from lineage.report.model import VERDICTS, LintFinding, Report

MAX_LISTED = 20
LINE_FORMATS = frozenset({"jsonl", "csv"})


def escape(text: str) -> str:
    """Inline text: HTML-looking parts and markup characters shown as themselves."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    # One pass, so a backslash this adds is not escaped again.
    text = re.sub(r"([\\`*_\[\]#|~])", r"\\\1", text)
    return " ".join(text.splitlines())


def prose(text: str) -> str:
    """A message: escaped as `escape`, but its `code spans` kept, as rule texts write commands that way."""
    parts = re.split(r"(`[^`\n]+`)", " ".join(text.splitlines()))
    return "".join(part if i % 2 else escape(part) for i, part in enumerate(parts))


def cell(text: object) -> str:
    """A table cell: escaped, on one line (`escape` already turns `|` into `\\|`)."""
    return escape(str(text)) or " "


def code(text: str) -> str:
    """A code span that holds any text, backticks included (CommonMark: a longer fence)."""
    text = " ".join(text.splitlines())
    runs = [len(m) for m in re.findall(r"`+", text)]
    fence = "`" * (max(runs, default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def location(finding: LintFinding, fmt: str | None) -> str:
    """`path:line`, `path[split]:row N` for columnar rows, `path:element N` for a .json array."""
    if finding.line is None:
        return finding.path
    if fmt is None or fmt in LINE_FORMATS:
        return f"{finding.path}:{finding.line}"
    split = f"[{finding.split}]" if finding.split and not finding.path.endswith(f"[{finding.split}]") else ""
    unit = "element" if fmt == "json" else "row"
    return f"{finding.path}{split}:{unit} {finding.line}"


def verdict(report: Report) -> str:
    if not report.exit_code:
        return "passed"
    if report.verdicts.get("blocked") or not report.verdicts.get("needs-review"):
        return "blocked"
    return "needs review"


def _table(header: tuple[str, ...], rows: list[tuple[object, ...]], right: tuple[int, ...] = ()) -> list[str]:
    align = ["---:" if i in right else "---" for i in range(len(header))]
    out = ["| " + " | ".join(header) + " |", "| " + " | ".join(align) + " |"]
    out += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return out


def _findings_by_code(report: Report) -> list[str]:
    rows: list[str] = []
    header = _table(("code", "severity", "count", "what it means"), [], right=(2,))
    for name, count in sorted(report.findings_by_code.items(), key=lambda item: (-item[1], item[0])):
        info = report.rules.get(name)
        shown = escape(name)
        if info is not None and info.help_uri:
            shown = f"[{shown}]({info.help_uri})"
        meaning = cell(info.title) if info is not None else " "
        rows.append(f"| {shown} | {cell(report.code_severity.get(name, ''))} | {count} | {meaning} |")
    return header + rows


def render(report: Report, **_options: object) -> str:
    summary = report.summary()
    out = [f"### tos-lineage: {verdict(report)}", ""]
    out.append(
        f"{summary['examples']} examples in {summary['files']} file(s); {summary['findings']} findings "
        f"({summary['errors']} errors, {summary['warnings']} warnings); judged by {escape(report.pack_label())}."
    )
    out.append("")
    out += _table(("verdict", "examples"), [(v, report.verdicts.get(v, 0)) for v in VERDICTS], right=(1,))
    if report.findings_by_code:
        out += ["", "#### Findings by code", ""]
        out += _findings_by_code(report)
    if report.sources:
        out += ["", "#### Sources", ""]
        out += _table(("source", "examples", "verdict"),
                      [(u.evaluation.source.label(), u.examples, u.verdict) for u in report.sources], right=(1,))
    obligations = report.obligations()
    if obligations:
        out += ["", "#### Obligations", ""]
        for item in obligations:
            text = f" {code(item['text'])}" if item["text"] else ""
            out.append(f"- **{escape(item['code'])}** {escape(item['type'])}{text}: {prose(item['message'])} "
                       f"({item['examples']} examples; {escape(', '.join(item['sources']))})")
    waivers = report.waivers_applied()
    if waivers:
        out += ["", "#### Waivers applied", ""]
        for applied in waivers:
            expires = f", expires {escape(str(applied['expires']))}" if applied.get("expires") else ""
            out.append(
                f"- {code(str(applied['id']))} lifts **{escape(applied['code'])}** for {applied['examples']} "
                f"examples (approved by {escape(str(applied['approved_by']))}, "
                f"{escape(str(applied['reference']))}{expires})"
            )
    publication = report.publication
    if publication is not None:
        out += ["", f"#### Publication: {'pass' if publication.passed else 'fail'}", ""]
        out.append(f"Licence declared on the card: {code(publication.declared or 'none')}; licence the data "
                   f"carries: {code(publication.carried_expression or 'none recorded')}.")
        if publication.card_metadata:
            out += ["", "The card's YAML header should hold:", "", "```yaml", publication.metadata_yaml(), "```"]
    if report.findings:
        listed = report.findings[:MAX_LISTED]
        out += ["", f"#### Findings (first {len(listed)} of {report.findings_total})" if
                report.findings_total > len(listed) else "#### Findings", ""]
        said: set[tuple[str, str]] = set()
        for finding in listed:
            # A long rule text repeated on every row buries the places: give each text once.
            key = (finding.code, finding.message)
            message = f": {prose(finding.message)}" if key not in said else ""
            said.add(key)
            source = f" ({escape(finding.source.label())})" if finding.source else ""
            out.append(f"- {code(location(finding, report.formats.get(finding.path)))} "
                       f"**{escape(finding.code)}** {escape(finding.severity)}{source}{message}")
        more = report.findings_total - len(listed)
        if more:
            out += ["", f"... and {more} more findings (`lineage lint` lists them)."]
    return "\n".join(out) + "\n"
