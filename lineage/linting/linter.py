"""The linter: segments of every example, their origins, and what the terms say about them.

Records are read in batches. For each batch the segments are extracted and fingerprinted, the
distinct fingerprints are looked up in the store at once, and each example is then judged from
outcomes cached per (rules, source, day): the policy engine runs once per distinct source and
terms version, never per example.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from itertools import islice
from pathlib import Path
from typing import Any

from lineage.blocks import Rows
from lineage.exceptions import LayoutError
from lineage.fingerprints import fingerprint
from lineage.linting.inline import InlineReader
from lineage.linting.origins import INLINE_BASE, OriginIndex, split_key
from lineage.linting.settings import LintSettings, Rules
from lineage.policy.engine import Evaluator, Finding
from lineage.policy.loader import Pack
from lineage.policy.waivers import Waiver
from lineage.readers import BadRecord, Record
from lineage.report.model import FileSummary, LintFinding, Report, SourceUse
from lineage.segments import COMPLETION_ROLES, segment_rows
from lineage.sources import SourceSpec

# Lint's own codes; their text is in ENGINE_CODES, with the engine's.
UNTRACKED = "LIN009"
MALFORMED = "LIN010"
SELF_ID = "LIN011"
NEAR_DUPLICATE = "LIN012"
_SEVERITY = {"warn": "warning", "error": "error"}
_NO_INLINE = (None, None)


@dataclass
class Outcome:
    """What one source on one day means for an example under one set of rules."""

    use: SourceUse
    findings: tuple[Finding, ...]
    blocked: bool
    obligations: bool
    # The pack could not determine some of the source's terms: the example needs review.
    unknown: bool = False
    # Segments counted since they were last added to `use` (once per batch).
    segments: int = 0


@dataclass
class _Judge:
    """The evaluator and caches for one set of rules (the base rules, or an override's)."""

    rules: Rules
    evaluator: Evaluator
    outcomes: dict[int, Outcome] = field(default_factory=dict)
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
        self.inline = InlineReader(settings.inline, base.evaluator.catalogue, pack) if settings.inline.enabled else None
        self._system_fps: dict[str, bytes] = {}
        self._uses: dict[bytes, SourceUse] = {}
        # Columns whose presence sends a block of rows down the row path: they carry provenance.
        self.excluded_columns = self.inline.keys if self.inline is not None else frozenset()
        self._columnar: bool | None = None
        # Completions of the batch whose origin was inferred from a near-duplicate:
        # {fingerprint: (origins, similarity)}. Kept apart from the batch's look-ups, so that a
        # prompt with the same text does not take the inferred origin.
        self._near: dict[bytes, tuple[Any, float]] = {}

    @property
    def columnar(self) -> bool:
        """Whether blocks of plain chat rows can be judged from their columns (see
        lineage.linting.columnar). Asked only for large inputs: it imports pyarrow and numpy."""
        if self._columnar is None:
            settings = self.settings
            self._columnar = settings.layout is None and settings.mapping is None and _columnar_available()
        return self._columnar

    def close(self) -> None:
        """Let go of the store."""
        if self.index is not None:
            self.index.close()

    # -- judges ------------------------------------------------------------------------------

    def _judge(self, rules: Rules) -> _Judge:
        judge = self._judges.get(rules)
        if judge is None:
            evaluator = Evaluator(
                self.pack, rules.context, self.waivers, today=self.today, unknown_terms=rules.unknown_terms
            )
            judge = self._judges[rules] = _Judge(rules, evaluator)
        return judge

    def _outcome(self, judge: _Judge, key: int) -> Outcome:
        ident, day = split_key(key)
        spec = self.inline.specs[ident] if ident >= INLINE_BASE else self.index.sources[ident]  # type: ignore[union-attr]
        evaluation = judge.evaluator.evaluate(spec, day)
        use = judge.uses.get(id(evaluation))
        codes = judge.rules.codes
        kept = tuple(f for f in evaluation.findings if f.severity != "info" and codes.keeps(f.code))
        if use is None:
            # Two rule sets (an override and the base rules) that judge a source alike share one
            # entry, as reports merged from worker processes do.
            fresh = SourceUse(evaluation, findings=list(kept))
            signature = fresh.signature()
            use = self._uses.get(signature)
            if use is None:
                use = self._uses[signature] = fresh
                self.report.sources.append(use)
            judge.uses[id(evaluation)] = use
        use.saw(day)
        outcome = judge.outcomes[key] = Outcome(
            use, kept, any(f.severity == "error" and not f.unknown_terms for f in kept),
            bool(evaluation.obligations), evaluation.unknown_terms,
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
        progress: Callable[[int], None] | None = None,
    ) -> FileSummary:
        """Lint one file's records (or a part of them)."""
        summary, judge = self._start_file(path, fmt)
        self._judge_records(records, judge, summary, progress)
        return summary

    def lint_blocks(
        self,
        blocks: Iterable[Rows],
        path: str,
        fmt: str,
        *,
        progress: Callable[[int], None] | None = None,
    ) -> FileSummary:
        """Lint one file (or a part of it) read as blocks of rows (see `lineage.blocks`)."""
        summary, judge = self._start_file(path, fmt)
        for block in blocks:
            if summary.unseen_columns and block.table is not None and self.inline is not None:
                self.inline.saw(block.table.column_names)
            if block.table is None or not self.columnar or not lint_chat(self, block, judge, summary):
                self._judge_records(block.records(), judge, summary, None)
            if progress is not None:
                progress(block.size)
        return summary

    def _start_file(self, path: str, fmt: str) -> tuple[FileSummary, _Judge]:
        summary = FileSummary(path, fmt)
        if self.inline is not None:
            summary.unseen_columns.update(self.settings.inline.named)
            self.inline.watch(summary.unseen_columns, summary.keys_seen)
        self.report.files.append(summary)
        self.report.formats[path] = fmt
        return summary, self._judge(self.settings.rules_for(path))

    def _judge_records(
        self, records: Iterable[Record | BadRecord], judge: _Judge, summary: FileSummary,
        progress: Callable[[int], None] | None,
    ) -> None:
        iterator = iter(records)
        size = self.settings.batch_size
        while batch := list(islice(iterator, size)):
            self._judge_examples(self._prepare(batch), judge, summary)
            if progress is not None:
                progress(len(batch))

    def _prepare(self, batch: list[Record | BadRecord]) -> tuple[list[tuple[Any, ...]], Mapping[bytes, Any]]:
        """Segments, fingerprints and inline origins of a batch, and the store's origins for it."""
        settings = self.settings
        layout, mapping = settings.layout, settings.mapping
        inline = self.inline
        index = self.index
        # The batch's distinct fingerprints go to the store (or its preloaded table) at once.
        collect = index is not None
        wanted: set[bytes] = set()
        system_fps = self._system_fps
        completion_roles = COMPLETION_ROLES
        prepared: list[tuple[Any, ...]] = []
        for record in batch:
            if type(record) is BadRecord:
                prepared.append((record, None, record.error))
                continue
            data = record.data
            try:
                segments = segment_rows(data, layout=layout, mapping=mapping)
                completion, prompt = inline.read(data) if inline is not None else _NO_INLINE
            except LayoutError as exc:
                prepared.append((record, None, exc.what + (f" ({exc.fix})" if exc.fix else "")))
                continue
            fps = []
            for segment in segments:
                if segment[0] == "system":
                    # A dataset repeats a handful of system prompts in every example.
                    fp = system_fps.get(segment[1])
                    if fp is None:
                        if len(system_fps) > 1000:
                            system_fps.clear()
                        fp = system_fps[segment[1]] = fingerprint(segment[1])
                else:
                    fp = fingerprint(segment[1])
                fps.append(fp)
            if collect:
                for segment, fp in zip(segments, fps):  # noqa: B905 - same length by construction
                    if (completion if segment[0] in completion_roles else prompt) is None:
                        wanted.add(fp)
            prepared.append((record, segments, fps, completion, prompt))
        found = index.find(wanted) if wanted else {}  # type: ignore[union-attr]
        self._near = {}
        if settings.near_threshold is not None and wanted:
            self._infer_near(prepared, found)
        return prepared, found

    def _infer_near(self, prepared: list[tuple[Any, ...]], found: dict[bytes, Any]) -> None:
        """Give completions with no recorded origin the origin of a recorded near-duplicate, where
        the store holds sketches; remember which, for their LIN012 finding."""
        index = self.index
        assert index is not None
        missing: dict[bytes, str] = {}
        for item in prepared:
            if item[1] is None or item[3] is not None:
                continue
            for segment, fp in zip(item[1], item[2]):  # noqa: B905 - same length by construction
                if segment[0] in COMPLETION_ROLES and fp not in found:
                    missing.setdefault(fp, segment[1])
        if not missing or not index.has_sketches:
            return
        near = index.near(missing, self.settings.near_threshold)  # type: ignore[arg-type]
        matched = index.find({fp for fp, _ in near.values()}) if near else {}
        for fp, (recorded, similarity) in near.items():
            if recorded in matched:
                self._near[fp] = (matched[recorded], similarity)

    def _judge_examples(
        self,
        batch: tuple[list[tuple[Any, ...]], Mapping[bytes, Any]],
        judge: _Judge,
        summary: FileSummary,
    ) -> None:
        prepared, found = batch
        near, self._near = self._near, {}
        # Completions look up inferred origins too; prompts only their own.
        get_prompt = found.get
        get = get_prompt if not near else (
            lambda fp: found[fp] if fp in found else (near[fp][0] if fp in near else None)
        )
        report = self.report
        path = summary.path
        rules = judge.rules
        outcomes = judge.outcomes
        outcome_for = self._outcome
        untracked_severity = reported_untracked(rules)
        self_ids = rules.codes.keeps(SELF_ID)
        all_segments = rules.all_segments
        completion_roles = COMPLETION_ROLES
        verdicts = summary.verdicts
        report_verdicts = report.verdicts
        segments_total = tracked = untracked_total = 0
        counts = dict.fromkeys(("blocked", "needs-review", "untracked", "allowed-with-obligations", "allowed"), 0)
        for item in prepared:
            record = item[0]
            segments = item[1]
            if segments is None:
                self._malformed(record, record.line, item[2], summary, rules)
                continue
            fps, completion, prompt = item[2], item[3], item[4]
            segments_total += len(segments)
            untracked = 0
            first_untracked = None
            # (origins, segment) of each tracked segment; most examples have exactly one.
            touched: list[tuple[Any, tuple[str, str, str]]] | None = None
            for segment, fp in zip(segments, fps):  # noqa: B905 - same length by construction
                if segment[0] in completion_roles:
                    keys = get(fp) if completion is None else completion
                    if keys is None:
                        untracked += 1
                        if first_untracked is None:
                            first_untracked = segment
                        continue
                else:
                    keys = get_prompt(fp) if prompt is None else prompt
                    if keys is None:
                        if all_segments:
                            untracked += 1
                            if first_untracked is None:
                                first_untracked = segment
                        continue
                if keys < 0 and self.index.from_unrecorded(keys) and (all_segments or segment[0] in completion_roles):  # type: ignore[union-attr]
                    # Derived from a text with no recorded origin: untracked, and still bound by its sources.
                    untracked += 1
                    tracked -= 1  # counted once, as untracked, when `touched` is added below
                    if first_untracked is None:
                        first_untracked = segment
                if touched is None:
                    touched = [(keys, segment)]
                else:
                    touched.append((keys, segment))
            blocked = obligations = unknown = False
            hits = None
            if touched is not None:
                tracked += len(touched)
                if len(touched) == 1 and touched[0][0] >= 0:
                    # The common case: one tracked segment from one source.
                    key, segment = touched[0]
                    outcome = outcomes.get(key) or outcome_for(judge, key)
                    outcome.segments += 1
                    outcome.use.examples += 1
                    blocked, obligations, unknown = outcome.blocked, outcome.obligations, outcome.unknown
                    if outcome.findings:
                        hits = _hits({}, outcome, segment)
                else:
                    blocked, obligations, unknown, hits = self._judge_segments(touched, judge)
            untracked_total += untracked
            if self_ids:
                self._self_identification(record, segments, fps, completion, get, path)
            if near:
                self._near_finding(record, segments, fps, get, path, near, rules)
            if hits or (untracked and untracked_severity is not None):
                blocked = self._report_example(
                    record, record.line, fps, hits, untracked, first_untracked, untracked_severity, path,
                ) or blocked
            if blocked:
                counts["blocked"] += 1
            elif unknown:
                counts["needs-review"] += 1
            elif untracked:
                counts["untracked"] += 1
            elif obligations:
                counts["allowed-with-obligations"] += 1
            else:
                counts["allowed"] += 1
        for verdict, count in counts.items():
            if count:
                verdicts[verdict] += count
                report_verdicts[verdict] += count
        summary.examples += len(prepared)
        report.segments += segments_total
        report.segments_tracked += tracked
        report.segments_untracked += untracked_total
        for outcome in outcomes.values():
            outcome.use.segments += outcome.segments
            outcome.segments = 0

    def _judge_segments(
        self, touched: list[tuple[Any, tuple[str, str, str]]], judge: _Judge
    ) -> tuple[bool, bool, bool, dict[tuple[int, str, str | None], list[Any]] | None]:
        """(blocked, obligations, unknown terms, findings) of an example with several tracked
        segments or origins."""
        outcomes = judge.outcomes
        blocked = obligations = unknown = False
        hits: dict[tuple[int, str, str | None], list[Any]] | None = None
        uses: set[SourceUse] = set()
        for keys, segment in touched:
            # One origin is the rule; a text recorded from several sources has a handle (< 0).
            for key in (keys,) if keys >= 0 else self.index.multi[~keys]:  # type: ignore[union-attr]
                outcome = outcomes.get(key) or self._outcome(judge, key)
                outcome.segments += 1
                uses.add(outcome.use)
                blocked = blocked or outcome.blocked
                obligations = obligations or outcome.obligations
                unknown = unknown or outcome.unknown
                if outcome.findings:
                    hits = _hits(hits if hits is not None else {}, outcome, segment)
        for use in uses:
            use.examples += 1
        return blocked, obligations, unknown, hits

    def _report_example(
        self, record: Record, line: int, fps: list[bytes], hits: dict[tuple[str, str], list[Any]] | None,
        untracked: int, first_untracked: tuple[str, str, str] | None, untracked_severity: str | None, path: str,
    ) -> bool:
        """Add an example's findings to the report; True when the untracked finding is an error."""
        report = self.report
        example_fp = _example_fingerprint(fps)
        for finding, segment, source, count in (hits or {}).values():
            report.add(LintFinding(
                path, line, finding.code, finding.severity, finding.message, segment[0], segment[2],
                source, finding.citation, example_fp, record.split, count,
            ))
        if untracked and untracked_severity is not None and first_untracked is not None:
            report.add(LintFinding(
                path, line, UNTRACKED, untracked_severity,
                f"{untracked} segment(s) with no recorded origin: record where they came from "
                "(`lineage import`, or a `_lineage` field in the row), or drop them",
                first_untracked[0], first_untracked[2], None, None, example_fp, record.split, untracked,
            ))
            return untracked_severity == "error"
        return False

    def _self_identification(
        self, record: Record, segments: list[tuple[str, str, str]], fps: list[bytes], completion: Any,
        get: Callable[[bytes], Any], path: str,
    ) -> None:
        """LIN011 for the first completion whose text claims a provider it is not recorded from."""
        from lineage.selfid import self_identification

        for segment, fp in zip(segments, fps):  # noqa: B905 - same length by construction
            # No text: a row the columnar path judged, having found no claim in its block.
            if segment[0] not in COMPLETION_ROLES or segment[1] is None:
                continue
            claim = self_identification(segment[1])
            if claim is None:
                continue
            keys = get(fp) if completion is None else completion
            sources = self._sources_of(keys)
            if any(s.provider == claim.provider for s in sources):
                continue
            name = claim.provider_name
            recorded = f"; it is recorded as {sources[0].label()}" if sources else "; it has no recorded origin"
            self.report.add(LintFinding(
                path, record.line, SELF_ID, "warning",
                f"the text says \"{claim.phrase}\": possibly undeclared {name} output{recorded}. A model naming "
                f"{name} points to where the content came from ({name}'s models, or a model distilled from their "
                "outputs), not to who generated this row: check its source, and record it (`lineage import`)",
                segment[0], segment[2], sources[0] if sources else None, None, _example_fingerprint(fps),
                record.split,
            ))
            return

    def _near_finding(
        self, record: Record, segments: list[tuple[str, str, str]], fps: list[bytes], get: Callable[[bytes], Any],
        path: str, near: dict[bytes, tuple[Any, float]], rules: Rules,
    ) -> None:
        """LIN012 for an example with a completion whose origin was inferred from a near-duplicate."""
        if not rules.codes.keeps(NEAR_DUPLICATE):
            return
        for segment, fp in zip(segments, fps):  # noqa: B905 - same length by construction
            inferred = near.get(fp)
            if inferred is None or segment[0] not in COMPLETION_ROLES:
                continue
            similarity = inferred[1]
            sources = self._sources_of(get(fp))
            # Every source behind it is applied (a text recorded from several, or derived): all named.
            label = ", ".join(dict.fromkeys(s.label() for s in sources)) or "a recorded source"
            self.report.add(LintFinding(
                path, record.line, NEAR_DUPLICATE, "warning",
                f"inferred origin: the text is a near-duplicate (similarity {similarity:.2f}) of an output recorded "
                f"from {label}, and that source's terms are applied to it; if it came from elsewhere, record its "
                "own origin (`lineage import`)",
                segment[0], segment[2], sources[0] if sources else None, None, _example_fingerprint(fps), record.split,
                derived="near-duplicate", similarity=round(similarity, 4),
            ))
            return

    def _sources_of(self, keys: Any) -> list[SourceSpec]:
        """The recorded sources behind a look-up's value (none for None)."""
        if keys is None:
            return []
        out = []
        for key in (keys,) if keys >= 0 else self.index.multi[~keys]:  # type: ignore[union-attr]
            ident, _ = split_key(key)
            out.append(self.inline.specs[ident] if ident >= INLINE_BASE else self.index.sources[ident])  # type: ignore[union-attr]
        return out

    def _malformed(self, record: Record | BadRecord, line: int, error: str, summary: FileSummary, rules: Rules) -> None:
        # A record that could not be read was not judged: an error, unless the user chose to skip
        # bad records (they are still counted, as `malformed`).
        skip = self.settings.skip_bad
        severity = "warning" if skip else "error"
        summary.verdicts["malformed"] += 1
        self.report.verdicts["malformed"] += 1
        # An ignored error would pass silently: only a warning may be left out.
        if skip and not rules.codes.keeps(MALFORMED):
            return
        self.report.add(LintFinding(
            # One line, whatever the record held: keys and values may carry newlines.
            summary.path, line, MALFORMED, severity, "malformed record: " + " ".join(error.split()),
            split=record.split,
        ))


def reported_untracked(rules: Rules) -> str | None:
    """The severity of LIN009 findings under these rules; None when they are not reported."""
    return _SEVERITY.get(rules.untracked) if rules.codes.keeps(UNTRACKED) else None


def _hits(hits: dict[tuple[int, str, str | None], list[Any]], outcome: Outcome, segment: tuple[str, str, str]) -> dict[tuple[int, str, str | None], list[Any]]:
    """Add an outcome's findings to an example's: one per (source, code, rule), counting its
    segments (a source may need review on several rules, each a LIN014 of its own)."""
    source = outcome.use.evaluation.source
    for finding in outcome.findings:
        key = (id(outcome.use), finding.code, finding.rule)
        hit = hits.get(key)
        if hit is None:
            hits[key] = [finding, segment, source, 1]
        else:
            hit[3] += 1
    return hits


def _example_fingerprint(fps: list[bytes]) -> str:
    return hashlib.sha256(b"".join(fps)).hexdigest()


def lint_chat(linter: Linter, block: Rows, judge: _Judge, summary: FileSummary) -> bool:
    from lineage.linting.columnar import lint_chat as columnar

    return columnar(linter, block, judge, summary)


def _columnar_available() -> bool:
    try:
        import numpy  # noqa: F401
        import pyarrow.compute
        import pyarrow.json  # noqa: F401
    except ImportError:
        return False
    return True


def file_size(path: str | Path) -> int:
    p = Path(path)
    if p.is_file():
        return p.stat().st_size
    return sum(f.stat().st_size for f in p.rglob("*") if f.is_file())
