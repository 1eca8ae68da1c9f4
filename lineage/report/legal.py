"""The lineage report: what legal and compliance review before a dataset is used or published.

Built from the same evaluation as `lineage lint` (one `Report`), the lineage graph, and what
makes the result checkable later: the dataset's hash, the policy pack's hash, the tool's version
and the state of the store. Rendered as Markdown or as one self-contained HTML page (the graph an
inline SVG; no script, no network). Given the same inputs and `timestamp`, both renderings are the
same bytes, so two reports can be diffed.

    report = build_report(["data/train.jsonl"], store="...", timestamp="2026-01-01T00:00:00Z")
    html = render_report(report, "html")
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lineage import __version__
from lineage.exceptions import UsageError

if TYPE_CHECKING:
    import networkx as nx

    from lineage.report.model import Report
    from lineage.store.store import Store

REPORT_FORMATS = ("md", "html")
# Example locations listed per rule; the count covers them all.
LOCATIONS_SHOWN = 5


@dataclass
class RuleGroup:
    """The findings of one rule code."""

    code: str
    severity: str
    title: str
    description: str
    help_uri: str
    findings: int
    examples: int
    citations: list[dict[str, str]]
    locations: list[str]
    sources: list[str]


@dataclass
class LineageReport:
    """Everything the rendered report shows, computed once."""

    title: str
    timestamp: str
    verdict: str
    lint: Report
    use_context: dict[str, Any]
    sources: list[dict[str, Any]]
    rules: list[RuleGroup]
    obligations: list[dict[str, Any]]
    waivers: list[dict[str, Any]]
    untracked: dict[str, Any]
    integrity: list[tuple[str, str]]
    graph: nx.DiGraph
    graph_root: str
    tree: str
    blocked_sources: set[str] = field(default_factory=set)

    @property
    def summary(self) -> dict[str, Any]:
        return self.lint.summary()


def report_timestamp(value: str | None) -> str:
    """The report's generation time: `value` (ISO 8601), else $SOURCE_DATE_EPOCH, else now; UTC."""
    if value is None and os.environ.get("SOURCE_DATE_EPOCH", "").isdigit():
        moment = datetime.fromtimestamp(int(os.environ["SOURCE_DATE_EPOCH"]), timezone.utc)
    elif value is None:
        moment = datetime.now(timezone.utc)
    else:
        from lineage.timeutil import parse_time

        try:
            moment = parse_time(value)
        except ValueError as exc:
            raise UsageError(f"--timestamp: {exc}", fix="use e.g. 2026-01-31T12:00:00Z") from None
    return moment.astimezone(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def build_report(
    report: Report, paths: list[str], *, store_url: str | None, timestamp: str | None = None,
) -> LineageReport:
    """The lineage report for a lint `report` of `paths`."""
    from lineage.graph import render_tree
    from lineage.readers import expand_paths, file_sha256

    files = [str(p) for p in expand_paths(paths)]
    # The store once, for the graph and for its state.
    store = None
    if store_url is not None:
        from lineage.store import Store

        store = Store.open(store_url)
    try:
        graph, root = _graph(report, files, store)
        state = _store_state(store)
    finally:
        if store is not None:
            store.close()

    errors = {use.evaluation.source.label() for use in report.sources if use.verdict == "blocked"}
    return LineageReport(
        title=", ".join(Path(f).name for f in files),
        timestamp=report_timestamp(timestamp),
        verdict=_verdict(report),
        lint=report,
        use_context=dict(sorted(report.use_context.items())),
        sources=[_source_row(use) for use in report.sources],
        rules=_rule_groups(report),
        obligations=report.obligations(),
        waivers=report.waivers_applied(),
        untracked=_untracked(report),
        integrity=_integrity(files, file_sha256, state, report.policy_pack),
        graph=graph,
        graph_root=root,
        tree=render_tree(graph, root),
        blocked_sources=errors,
    )


def _verdict(report: Report) -> str:
    if report.verdicts.get("blocked"):
        return "blocked"
    if report.verdicts.get("needs-review"):
        return "needs review: terms the policy pack cannot determine"
    if report.exit_code and not report.verdicts.get("malformed"):
        return "blocked"
    if report.verdicts.get("malformed"):
        return "not judged: malformed examples" if report.verdicts["malformed"] == report.examples else (
            "incomplete: some examples could not be read")
    if report.verdicts.get("untracked"):
        return "allowed, with untracked examples"
    if report.verdicts.get("allowed-with-obligations"):
        return "allowed with obligations"
    return "allowed"


def _source_row(use: Any) -> dict[str, Any]:
    source = use.evaluation.source
    return {
        "label": source.label(),
        "provider": source.provider or "",
        "model": source.model or source.name or "",
        "kind": source.kind,
        "channel": source.channel or "",
        "license": use.evaluation.license or source.license or "",
        "terms": [f"{document} {version}" for document, version in use.evaluation.terms],
        "segments": use.segments,
        "examples": use.examples,
        "generated": (f"{use.first_day.isoformat()} to {use.last_day.isoformat()}" if use.first_day else "not recorded"),
        "verdict": use.verdict,
    }


def _rule_groups(report: Report) -> list[RuleGroup]:
    by_code: dict[str, list[Any]] = {}
    for finding in report.findings:
        by_code.setdefault(finding.code, []).append(finding)
    groups = []
    order = {"error": 0, "warning": 1}
    for code in sorted(report.findings_by_code, key=lambda c: (order.get(report.code_severity.get(c, ""), 2), c)):
        found = by_code.get(code, [])
        info = report.rules.get(code)
        citations: dict[tuple[str, ...], dict[str, str]] = {}
        for finding in found:
            if finding.citation is not None:
                cited = finding.citation.to_dict()
                citations.setdefault(tuple(cited.values()), cited)
        places = list(dict.fromkeys(_place(f) for f in found if f.line is not None))
        sources = sorted({f.source.label() for f in found if f.source is not None})
        title, description = (info.title, info.description) if info else (code, "")
        if citations:
            # Named by the versions the findings cite, not the latest: legal reads the clause that bound.
            cited_list = list(citations.values())
            versions = ", ".join(dict.fromkeys(c["version"] for c in cited_list))
            title = f"{cited_list[0]['document']} {versions}, {cited_list[0]['section']}"
            description = next(f.message for f in found if f.citation is not None)
        groups.append(RuleGroup(
            code=code,
            severity=report.code_severity.get(code, "warning"),
            title=title,
            description=description,
            help_uri=info.help_uri if info else "",
            findings=report.findings_by_code[code],
            examples=len({(f.path, f.split, f.line) for f in found}) or report.findings_by_code[code],
            citations=list(citations.values()),
            locations=places[:LOCATIONS_SHOWN],
            sources=sources,
        ))
    return groups


def _place(finding: Any) -> str:
    split = f"[{finding.split}]" if finding.split else ""
    return f"{finding.path}{split}:{finding.line}"


def _untracked(report: Report) -> dict[str, Any]:
    segments = report.segments
    share = report.segments_untracked / segments if segments else 0.0
    return {
        "segments": report.segments_untracked,
        "of_segments": segments,
        "share": f"{share:.1%}",
        "examples": report.verdicts.get("untracked", 0),
        "of_examples": report.examples,
    }


def _integrity(files: list[str], sha256: Any, store_state: str, pack: dict[str, Any]) -> list[tuple[str, str]]:
    rows = [(f"sha256 of {path}", sha256(path)) for path in files]
    user_files = pack.get("user_files") or []
    rows.append(("policy pack", f"version {pack.get('version') or 'none'}, sha256 {pack.get('sha256', '')} "
                 f"(bundled with tos-lineage {__version__}"
                 + (f", with {', '.join(user_files)}" if user_files else "") + ")"))
    rows.append(("tool", f"tos-lineage {__version__}"))
    rows.append(("store", store_state))
    return rows


def _store_state(store: Store | None) -> str:
    if store is None:
        return "none read: only provenance inside the rows counted"
    stats = store.stats()
    return (f"{stats['store']}, schema version {stats['schema_version']}: {stats['origins']} origins from "
            f"{stats['sources']} sources, {stats['datasets']} datasets, last generated "
            f"{stats['last_generated_at'] or 'never'}")


def _graph(report: Report, files: list[str], store: Store | None) -> tuple[nx.DiGraph, str]:
    """The lineage of the dataset: the store's graph when the one file is a registered dataset, else
    the dataset and the sources lint found. Either way every source lint found is a node."""
    import networkx as nx

    graph: nx.DiGraph | None = None
    root = "dataset:report"
    if store is not None and len(files) == 1:
        from lineage.datasets import find_dataset
        from lineage.graph import dataset_node, lineage_of, load_graph

        with store.read() as conn:
            found = find_dataset(conn, files[0])
        if found is not None:
            root = dataset_node(found.id)
            graph = lineage_of(load_graph(store), root)
    if graph is None:
        graph = nx.DiGraph()
        graph.add_node(root, kind="dataset", number=0, name=", ".join(Path(f).name for f in files), path=None,
                       sha256="", license=None, origin=None, segments=report.segments,
                       untracked=report.segments_untracked)
    labels = {data["label"] for _, data in graph.nodes(data=True) if data["kind"] == "source"}
    for n, use in enumerate(report.sources, start=1):
        label = use.evaluation.source.label()
        if label in labels:
            continue
        labels.add(label)
        node = f"source:found-{n}"
        graph.add_node(node, kind="source", number=-n, label=label, spec=use.evaluation.source.model_dump())
        graph.add_edge(node, root, kind="produced", segments=use.segments,
                       first=use.first_day.isoformat() if use.first_day else None,
                       last=use.last_day.isoformat() if use.last_day else None)
    return graph, root


def render_report(report: LineageReport, fmt: str) -> str:
    """The report as Markdown (`md`) or a self-contained HTML page (`html`)."""
    if fmt not in REPORT_FORMATS:
        raise UsageError(f"unknown report format {fmt!r}", fix=f"use one of {', '.join(REPORT_FORMATS)}")
    import jinja2

    from lineage.report.svg import graph_svg

    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("lineage.report", "templates"),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default_for_string=False),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    environment.filters["md"] = _markdown_cell
    environment.filters["setting"] = _setting
    template = environment.get_template(f"report.{fmt}")
    svg = graph_svg(report.graph, report.graph_root, blocked=report.blocked_sources) if fmt == "html" else ""
    # A fence longer than any run of backticks in the tree, so that no name can close it.
    fence = "`" * max(3, 1 + max((len(run) for run in re.findall("`+", report.tree)), default=0))
    return template.render(r=report, s=report.summary, svg=jinja2.filters.Markup(svg), version=__version__,
                           fence=fence)


def _markdown_cell(value: Any) -> str:
    """Text safe inside Markdown, also in a table cell: names come from the data, and a name with
    markup, a pipe or a line break in it must not change the document."""
    text = " ".join(str(value).splitlines())
    for char, escaped in (("\\", "\\\\"), ("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ("|", "\\|")):
        text = text.replace(char, escaped)
    return text


def _setting(value: Any) -> str:
    """A use-context value as a reader would write it."""
    if value is None:
        return "not set"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value) or "none"
    return str(value)
