"""The lint report: one object that every output format reads.

`Report.to_dict()` is the public JSON interface (`lineage lint --format json`), versioned by
`REPORT_VERSION`: fields are only ever added within a version.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from functools import partial
from typing import Any, NamedTuple

from lineage.policy.engine import Citation, Evaluation, Finding, verdict_of
from lineage.sources import SourceSpec

# 1.1 added the `needs-review` verdict (summary.needs_review, files[].needs_review) for examples
# whose sources' terms the policy pack cannot determine.
REPORT_VERSION = "1.1"
VERDICTS = ("blocked", "needs-review", "allowed", "allowed-with-obligations", "untracked", "malformed")


class LintFinding(NamedTuple):
    """One rule outcome for one example (or, with no line, for the run as a whole).

    A named tuple: a large dataset has hundreds of thousands, made in lint's hot loop and sent
    back from worker processes, and a tuple is the cheapest to build and to pickle.
    """

    path: str
    # 1-based line (or element index) for jsonl/json/csv; 0-based row index for columnar files.
    line: int | None
    code: str
    severity: str  # error | warning
    message: str
    role: str | None = None
    field: str | None = None
    source: SourceSpec | None = None
    citation: Citation | None = None
    # sha256 over the example's segment fingerprints: stable across reformatting and re-ordering.
    example_fingerprint: str | None = None
    split: str | None = None
    # How many segments of the example this finding covers (same source, same rule).
    segments: int = 1
    # How the source was found when it was not recorded for this text: "near-duplicate" (LIN012),
    # with the similarity to the recorded text it was inferred from.
    derived: str | None = None
    similarity: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "line": self.line,
            "split": self.split,
            "code": self.code,
            "severity": self.severity,
            "message": self.message,
            "role": self.role,
            "field": self.field,
            "segments": self.segments,
            "source": self.source.model_dump() if self.source else None,
            "source_label": self.source.label() if self.source else None,
            "citation": self.citation.to_dict() if self.citation else None,
            "example_fingerprint": self.example_fingerprint,
            # Only on inferred origins: a field for every one of a million findings would be noise.
            **({"derived": self.derived, "similarity": self.similarity} if self.derived else {}),
        }


@dataclass(frozen=True)
class RuleInfo:
    """What a rule code means, for formats that describe their rules (SARIF)."""

    code: str
    # One line: the document and section the rule rests on, or what an engine code means.
    title: str
    # The rule's message, which names the fix.
    description: str
    severity: str
    help_uri: str
    quote: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "title": self.title, "description": self.description,
                "severity": self.severity, "help_uri": self.help_uri, "quote": self.quote}


@dataclass(eq=False)
class SourceUse:
    """One source as the dataset uses it: its evaluation and how much of the data it produced.

    A source appears once per distinct evaluation (use context and terms versions in force), so
    an evaluation set on `evals/**` and the same source in `train/` are two entries. `findings`
    are the evaluation's errors and warnings that the run's rule selection keeps.
    """

    evaluation: Evaluation
    findings: list[Finding] = field(default_factory=list)
    segments: int = 0
    examples: int = 0
    # The first and last day its segments in the dataset were generated, where recorded.
    first_day: date | None = None
    last_day: date | None = None

    def saw(self, day: date | None) -> None:
        """Widen the generation date range to take in `day`."""
        if day is None:
            return
        if self.first_day is None or day < self.first_day:
            self.first_day = day
        if self.last_day is None or day > self.last_day:
            self.last_day = day

    def signature(self) -> bytes:
        """Equal for two uses that say the same (source, terms, outcome), wherever they were made."""
        import orjson

        return orjson.dumps([self.evaluation.to_dict(), [f.to_dict() for f in self.findings]],
                            option=orjson.OPT_SORT_KEYS)

    @property
    def verdict(self) -> str:
        # From the findings the run keeps, and needs-review whether or not an unknown-terms finding
        # is reported: leaving a code out of the report does not make the terms known.
        verdict = verdict_of(self.findings, bool(self.evaluation.obligations))
        if verdict != "blocked" and self.evaluation.unknown_terms:
            return "needs-review"
        return verdict

    def to_dict(self) -> dict[str, Any]:
        evaluation = self.evaluation
        return {
            "source": evaluation.source.model_dump(),
            "label": evaluation.source.label(),
            "verdict": self.verdict,
            "segments": self.segments,
            "examples": self.examples,
            "license": evaluation.license,
            "generated": {
                "first": self.first_day.isoformat() if self.first_day else None,
                "last": self.last_day.isoformat() if self.last_day else None,
            },
            "terms": [{"document": d, "version": v} for d, v in evaluation.terms],
            "findings": [f.to_dict() for f in self.findings],
            "notes": [f.to_dict() for f in evaluation.findings if f.severity == "info"],
            "obligations": [o.to_dict() for o in evaluation.obligations],
            "waivers_applied": [w.to_dict() for w in evaluation.waivers_applied],
        }


@dataclass
class FileSummary:
    path: str
    format: str
    examples: int = 0
    verdicts: Counter[str] = field(default_factory=Counter)
    # Of the columns the command line named, those no record of the file has had so far, and
    # some of the keys its records do have (for the error that names the closest one).
    unseen_columns: set[str] = field(default_factory=set)
    keys_seen: set[str] = field(default_factory=set)

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "format": self.format, "examples": self.examples,
                **{v.replace("-", "_"): self.verdicts.get(v, 0) for v in VERDICTS}}


@dataclass
class Report:
    """Everything a lint run found, in the order the files were read."""

    findings: list[LintFinding] = field(default_factory=list)
    # Every finding is counted, also those beyond max_findings that are not kept.
    findings_by_code: Counter[str] = field(default_factory=Counter)
    findings_by_severity: Counter[str] = field(default_factory=Counter)
    # The most severe level each code was reported at.
    code_severity: dict[str, str] = field(default_factory=dict)
    verdicts: Counter[str] = field(default_factory=Counter)
    segments: int = 0
    segments_tracked: int = 0
    segments_untracked: int = 0
    files: list[FileSummary] = field(default_factory=list)
    sources: list[SourceUse] = field(default_factory=list)
    max_findings: int | None = None
    store: str | None = None
    # The URL of the store read (`store` is how it is shown), for what reads it again (the report).
    store_url: str | None = None
    use_context: dict[str, Any] = field(default_factory=dict)
    # Formats per path, for output formats that place findings on lines.
    formats: dict[str, str] = field(default_factory=dict)
    # What each code found means, for every code in findings_by_code.
    rules: dict[str, RuleInfo] = field(default_factory=dict)
    # The policy pack judged by: the bundled pack's version, its sha256 and the user's own files in it.
    policy_pack: dict[str, Any] = field(default_factory=dict)
    # The pack itself (not serialised), for what judges the report further (the publication gate).
    pack: Any = field(default=None, repr=False, compare=False)
    # The run's rule selection (select/ignore), for findings added after the lint.
    code_filter: Any = field(default=None, repr=False, compare=False)
    # Set by `lineage gate`: the card checked and the metadata it should have (lineage.publication).
    publication: Any = None

    def __getstate__(self) -> dict[str, Any]:
        # Findings as plain tuples: a named tuple is pickled and unpickled through a Python call
        # each, which for the findings a worker process sends back costs more than making them.
        state = self.__dict__.copy()
        state["findings"] = list(map(tuple, self.findings))
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state["findings"] = list(map(partial(tuple.__new__, LintFinding), state["findings"]))
        self.__dict__.update(state)

    @property
    def examples(self) -> int:
        return sum(self.verdicts.values())

    @property
    def errors(self) -> int:
        return self.findings_by_severity.get("error", 0)

    @property
    def exit_code(self) -> int:
        """As ruff: 1 when an error finding remains, else 0."""
        return 1 if self.errors else 0

    @property
    def findings_total(self) -> int:
        return sum(self.findings_by_code.values())

    @property
    def truncated(self) -> bool:
        return self.findings_total > len(self.findings)

    def add(self, finding: LintFinding) -> None:
        self.findings_by_code[finding.code] += 1
        self.findings_by_severity[finding.severity] += 1
        if self.code_severity.get(finding.code) != "error":
            self.code_severity[finding.code] = finding.severity
        if self.max_findings is None or len(self.findings) < self.max_findings:
            self.findings.append(finding)

    def extend(self, findings: list[LintFinding]) -> None:
        """`add` each of the findings, in order (counted once per code, for a block of them)."""
        for (code, severity), count in Counter((f.code, f.severity) for f in findings).items():
            self.findings_by_code[code] += count
            self.findings_by_severity[severity] += count
            if self.code_severity.get(code) != "error":
                self.code_severity[code] = severity
        room = len(findings) if self.max_findings is None else max(0, self.max_findings - len(self.findings))
        self.findings += findings[:room]

    def pack_label(self, *, files: bool = True) -> str:
        """The pack judged by, as every format names it: `policy pack 2026.12.0 (sha256 1a2b3c4d5e6f)`,
        with the user's policy files in it unless `files` is false (a dataset card names no path)."""
        pack = self.policy_pack
        version = pack.get("version") or "of your files alone"
        user = (pack.get("user_files") or []) if files else []
        extra = f", with {', '.join(user)}" if user else ""
        return f"policy pack {version} (sha256 {str(pack.get('sha256', ''))[:12]}{extra})"

    def counts_text(self) -> str:
        """The examples per verdict in words, as every text format prints them."""
        verdicts = self.verdicts
        text = (f"{verdicts.get('blocked', 0)} blocked, {verdicts.get('needs-review', 0)} needs review, "
                f"{verdicts.get('allowed', 0)} allowed, {verdicts.get('allowed-with-obligations', 0)} allowed with "
                f"obligations, {verdicts.get('untracked', 0)} untracked")
        return text + (f", {verdicts['malformed']} malformed" if verdicts.get("malformed") else "")

    def obligations(self) -> list[dict[str, Any]]:
        """Each distinct obligation once, with the sources and example counts it comes from."""
        return self._per_source(lambda use: [
            ((o.code, o.type, o.text), o.to_dict()) for o in use.evaluation.obligations
        ])

    def waivers_applied(self) -> list[dict[str, Any]]:
        """Each waiver and code it lifted once, with the sources and example counts it covers."""
        return self._per_source(lambda use: [
            ((w.waiver.id, w.code), w.to_dict()) for w in use.evaluation.waivers_applied
        ])

    def _per_source(
        self, items: Callable[[SourceUse], list[tuple[tuple[Any, ...], dict[str, Any]]]]
    ) -> list[dict[str, Any]]:
        merged: dict[tuple[Any, ...], dict[str, Any]] = {}
        for use in self.sources:
            label = use.evaluation.source.label()
            for key, item in items(use):
                entry = merged.setdefault(key, {**item, "sources": [], "examples": 0})
                if label not in entry["sources"]:
                    entry["sources"].append(label)
                entry["examples"] += use.examples
        return list(merged.values())

    def summary(self) -> dict[str, Any]:
        return {
            "examples": self.examples,
            "blocked": self.verdicts.get("blocked", 0),
            "needs_review": self.verdicts.get("needs-review", 0),
            "allowed": self.verdicts.get("allowed", 0),
            "allowed_with_obligations": self.verdicts.get("allowed-with-obligations", 0),
            "untracked": self.verdicts.get("untracked", 0),
            "malformed": self.verdicts.get("malformed", 0),
            "segments": self.segments,
            "segments_tracked": self.segments_tracked,
            "segments_untracked": self.segments_untracked,
            "findings": self.findings_total,
            "findings_shown": len(self.findings),
            "errors": self.errors,
            "warnings": self.findings_by_severity.get("warning", 0),
            "findings_by_code": dict(sorted(self.findings_by_code.items())),
            "files": len(self.files),
            "exit_code": self.exit_code,
        }

    def to_dict(self) -> dict[str, Any]:
        from lineage import __version__

        return {
            "report_version": REPORT_VERSION,
            "tool": {"name": "tos-lineage", "version": __version__},
            "store": self.store,
            "policy_pack": self.policy_pack,
            "use_context": self.use_context,
            "summary": self.summary(),
            "files": [f.to_dict() for f in self.files],
            "sources": [s.to_dict() for s in self.sources],
            "obligations": self.obligations(),
            "waivers_applied": self.waivers_applied(),
            "rules": {code: info.to_dict() for code, info in sorted(self.rules.items())},
            "findings": [f.to_dict() for f in self.findings],
            **({"publication": self.publication.to_dict()} if self.publication is not None else {}),
        }
