"""The linter: segments of every example, their origins, and what the terms say about them.

Records are read in batches. For each batch the segments are extracted and fingerprinted, the
distinct fingerprints are looked up in the store at once, and each example is then judged from
outcomes cached per (rules, source, day): the policy engine runs once per distinct source and
terms version, never per example.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from lineage.exceptions import LayoutError
from lineage.fingerprints import fingerprint
from lineage.linting.inline import InlineReader
from lineage.linting.origins import OriginIndex
from lineage.linting.settings import LintSettings, Rules
from lineage.policy.engine import Evaluator, Finding
from lineage.policy.loader import Pack
from lineage.policy.waivers import Waiver
from lineage.readers import BadRecord, Record
from lineage.report.model import FileSummary, LintFinding, Report, SourceUse
from lineage.segments import COMPLETION_ROLES, extract_segments
from lineage.sources import SourceSpec

# Lint's own codes; their text is in ENGINE_CODES, with the engine's.
UNTRACKED = "LIN009"
MALFORMED = "LIN010"
_SEVERITY = {"warn": "warning", "error": "error"}


@dataclass
class Outcome:
    """What one source on one day means for an example under one set of rules."""

    use: SourceUse
    findings: tuple[Finding, ...]
    blocked: bool
    obligations: bool


@dataclass
class _Judge:
    """The evaluator and caches for one set of rules (the base rules, or an override's)."""

    rules: Rules
    evaluator: Evaluator
    outcomes: dict[tuple[Any, Any], Outcome] = field(default_factory=dict)
    uses: dict[int, SourceUse] = field(default_factory=dict)


class Linter:
    """Lints records into one Report. Not thread-safe; one per process."""

    def __init__(
        self,
        settings: LintSettings,
        pack: Pack,
        *,
        index: OriginIndex | None = None,
        waivers: Iterable[Waiver] = (),
        today: date | None = None,
        max_findings: int | None = None,
    ) -> None:
        self.settings = settings
        self.pack = pack
        self.index = index
        self.waivers = list(waivers)
        self.today = today
        self.report = Report(max_findings=max_findings, use_context=settings.rules.context.to_dict())
        self._judges: dict[Rules, _Judge] = {}
        base = self._judge(settings.rules)
        self.inline = InlineReader(settings.inline, base.evaluator.catalogue) if settings.inline.enabled else None

    # -- judges ------------------------------------------------------------------------------

    def _judge(self, rules: Rules) -> _Judge:
        judge = self._judges.get(rules)
        if judge is None:
            evaluator = Evaluator(self.pack, rules.context, self.waivers, today=self.today)
            judge = self._judges[rules] = _Judge(rules, evaluator)
        return judge

    def _outcome(self, judge: _Judge, key: tuple[Any, Any]) -> Outcome:
        ident, day = key
        spec = self.index.sources[ident] if isinstance(ident, int) else self.inline.specs[ident]  # type: ignore[union-attr]
        evaluation = judge.evaluator.evaluate(spec, day)
        use = judge.uses.get(id(evaluation))
        codes = judge.rules.codes
        kept = tuple(f for f in evaluation.findings if f.severity != "info" and codes.keeps(f.code))
        if use is None:
            use = judge.uses[id(evaluation)] = SourceUse(evaluation, findings=list(kept))
            self.report.sources.append(use)
        outcome = judge.outcomes[key] = Outcome(
            use, kept, any(f.severity == "error" for f in kept), bool(evaluation.obligations)
        )
        return outcome

    def unused_waivers(self) -> list[Finding]:
        """LIN007 for waivers that lifted nothing under any of the rules used."""
        unused: dict[str, Finding] | None = None
        for judge in self._judges.values():
            found = {f.message: f for f in judge.evaluator.unused_waivers()}
            unused = found if unused is None else {m: f for m, f in unused.items() if m in found}
        return list((unused or {}).values())

    # -- reading -------------------------------------------------------------------------------

    def lint_records(
        self,
        records: Iterable[Record | BadRecord],
        path: str,
        fmt: str,
        *,
        rules: Rules | None = None,
        line_offset: int = 0,
        progress: Callable[[int], None] | None = None,
    ) -> FileSummary:
        """Lint one file's records (or a slice of them); `line_offset` is added to every line."""
        summary = FileSummary(path, fmt)
        self.report.files.append(summary)
        self.report.formats[path] = fmt
        judge = self._judge(rules or self.settings.rules_for(path))
        for batch in _batches(records, self.settings.batch_size):
            self._lint_batch(batch, judge, summary, line_offset)
            if progress is not None:
                progress(len(batch))
        return summary

    def _lint_batch(self, batch: list[Record | BadRecord], judge: _Judge, summary: FileSummary, offset: int) -> None:
        settings = self.settings
        layout, mapping = settings.layout, settings.mapping
        inline = self.inline
        prepared: list[tuple[Any, ...]] = []
        wanted: set[bytes] = set()
        add_wanted = wanted.add
        completion_roles = COMPLETION_ROLES
        for record in batch:
            if type(record) is BadRecord:
                prepared.append((record, None, record.error))
                continue
            data = record.data
            try:
                segments = extract_segments(data, layout=layout, mapping=mapping)
                completion, prompt = inline.read(data) if inline is not None else (None, None)
            except LayoutError as exc:
                prepared.append((record, None, exc.what + (f" ({exc.fix})" if exc.fix else "")))
                continue
            fps = [fingerprint(s.text) for s in segments]
            if self.index is not None:
                for segment, fp in zip(segments, fps, strict=True):
                    own = completion if segment.role in completion_roles else prompt
                    if own is None:
                        add_wanted(fp)
            prepared.append((record, segments, fps, completion, prompt))
        found = self.index.find(wanted) if wanted else {}
        self._judge_examples(prepared, found, judge, summary, offset)

    def _judge_examples(
        self,
        prepared: list[tuple[Any, ...]],
        found: dict[bytes, tuple[Any, ...]],
        judge: _Judge,
        summary: FileSummary,
        offset: int,
    ) -> None:
        report = self.report
        path = summary.path
        rules = judge.rules
        outcomes = judge.outcomes
        outcome_for = self._outcome
        untracked_severity = _SEVERITY.get(rules.untracked) if rules.codes.keeps(UNTRACKED) else None
        all_segments = rules.all_segments
        completion_roles = COMPLETION_ROLES
        verdicts = summary.verdicts
        report_verdicts = report.verdicts
        segments_total = tracked = untracked_total = 0
        for item in prepared:
            record = item[0]
            line = record.line + offset
            if item[1] is None:
                self._malformed(record, line, item[2], summary, rules)
                continue
            _, segments, fps, completion, prompt = item
            segments_total += len(segments)
            blocked = obligations = False
            untracked = 0
            first_untracked = None
            hits: dict[tuple[str, str], list[Any]] | None = None
            used: set[SourceUse] = set()
            for segment, fp in zip(segments, fps, strict=True):
                is_completion = segment.role in completion_roles
                own = completion if is_completion else prompt
                keys = (own,) if own is not None else found.get(fp)
                if keys is None:
                    if is_completion or all_segments:
                        untracked += 1
                        if first_untracked is None:
                            first_untracked = segment
                    continue
                tracked += 1
                for key in keys:
                    outcome = outcomes.get(key)
                    if outcome is None:
                        outcome = outcome_for(judge, key)
                    use = outcome.use
                    use.segments += 1
                    used.add(use)
                    if outcome.blocked:
                        blocked = True
                    if outcome.obligations:
                        obligations = True
                    if outcome.findings:
                        if hits is None:
                            hits = {}
                        label = use.evaluation.source.key
                        for finding in outcome.findings:
                            hit = hits.get((label, finding.code))
                            if hit is None:
                                hits[(label, finding.code)] = [finding, segment, use.evaluation.source, 1]
                            else:
                                hit[3] += 1
            for use in used:
                use.examples += 1
            untracked_total += untracked
            example_fp = None
            if hits:
                example_fp = _example_fingerprint(fps)
                for finding, segment, source, count in hits.values():
                    report.add(LintFinding(
                        path, line, finding.code, finding.severity, finding.message, segment.role, segment.field,
                        source, finding.citation, example_fp, record.split, count,
                    ))
            if untracked and untracked_severity is not None:
                if untracked_severity == "error":
                    blocked = True
                report.add(LintFinding(
                    path, line, UNTRACKED, untracked_severity,
                    f"{untracked} segment(s) with no recorded origin: record where they came from "
                    "(`lineage import`, or a `_lineage` field in the row), or drop them",
                    first_untracked.role, first_untracked.field, None, None,  # type: ignore[union-attr]
                    example_fp or _example_fingerprint(fps), record.split, untracked,
                ))
            if blocked:
                verdict = "blocked"
            elif untracked:
                verdict = "untracked"
            elif obligations:
                verdict = "allowed-with-obligations"
            else:
                verdict = "allowed"
            verdicts[verdict] += 1
            report_verdicts[verdict] += 1
        summary.examples += len(prepared)
        report.segments += segments_total
        report.segments_tracked += tracked
        report.segments_untracked += untracked_total

    def _malformed(self, record: Record | BadRecord, line: int, error: str, summary: FileSummary, rules: Rules) -> None:
        strict = self.settings.strict
        severity = "error" if strict else "warning"
        verdict = "blocked" if strict else "malformed"
        summary.verdicts[verdict] += 1
        self.report.verdicts[verdict] += 1
        # --strict makes a malformed record an error, and an ignored error would pass silently.
        if not strict and not rules.codes.keeps(MALFORMED):
            return
        self.report.add(LintFinding(
            summary.path, line, MALFORMED, severity, f"malformed record: {error}",
            split=record.split,
        ))


def _example_fingerprint(fps: list[bytes]) -> str:
    return hashlib.sha256(b"".join(fps)).hexdigest()


def _batches(records: Iterable[Record | BadRecord], size: int) -> Iterator[list[Record | BadRecord]]:
    batch: list[Record | BadRecord] = []
    for record in records:
        batch.append(record)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def source_label(spec: SourceSpec | None) -> str:
    return spec.label() if spec is not None else "-"


def file_size(path: str | Path) -> int:
    p = Path(path)
    if p.is_file():
        return p.stat().st_size
    return sum(f.stat().st_size for f in p.rglob("*") if f.is_file())
