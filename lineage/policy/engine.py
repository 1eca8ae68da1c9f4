"""The evaluator: which terms bind a source, and what they say about this use of it.

Evaluation runs once per distinct (source, terms versions in force, use context) and is cached:
a dataset has millions of examples and a handful of sources.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from lineage.exceptions import ConfigError
from lineage.licenses import license_alternatives
from lineage.policy.catalogue import Catalogue
from lineage.policy.context import NO_BASE_MODEL, UseContext
from lineage.policy.loader import Pack
from lineage.policy.schema import Condition, Document, LicenseDefinition, Rule, Version
from lineage.policy.waivers import Waiver
from lineage.sources import SourceSpec

SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}
# Channels through which a third party serves a model it did not make.
PASS_THROUGH_CHANNELS = frozenset({"bedrock", "vertex", "azure", "openrouter"})
# Codes the engine itself gives, documented with the pack's in docs/rules.md.
ENGINE_CODES: dict[str, tuple[str, str]] = {
    "LIN001": ("info", "The generation date is unknown: the latest version of the terms was applied."),
    "LIN002": ("info", "Generated before the earliest version of the terms in the pack: that version was applied."),
    "LIN003": ("error", "An open model the catalogue does not know: its licence cannot be checked "
               "(unknown terms: verdict needs-review; severity set by `unknown_terms`)."),
    "LIN004": ("error", "A dataset or open model with no licence recorded (unknown terms: verdict needs-review; "
               "severity set by `unknown_terms`)."),
    "LIN005": ("error", "A licence the policy pack does not define (unknown terms: verdict needs-review; "
               "severity set by `unknown_terms`)."),
    "LIN006": ("warning", "A waiver that has expired: it no longer lifts its rule."),
    "LIN007": ("warning", "A waiver that lifted nothing."),
    "LIN008": ("error", "An API provider whose terms the policy pack does not cover through the channel used "
               "(unknown terms: verdict needs-review; severity set by `unknown_terms`)."),
    # Given by `lineage lint` rather than by evaluating a source.
    "LIN009": ("warning", "A segment with no recorded origin (severity set by `untracked`: ignore, warn, error)."),
    "LIN010": ("error", "A record that cannot be read: invalid JSON or UTF-8, not an object, an unknown layout, "
               "or unreadable inline provenance. It was not judged, so it fails the run (a warning with "
               "`skip_bad`, still counted as malformed)."),
    "LIN011": ("warning", "A completion in which a model names itself or its maker (\"I'm Claude\", \"developed by "
               "OpenAI\") that is not recorded as that provider's: possibly undeclared output. It points to the "
               "content's lineage, not to who generated the row, and never blocks."),
    "LIN012": ("warning", "A completion with no exact recorded origin whose origin was inferred from a near-duplicate "
               "(an edited copy) of a recorded output: that source's terms are applied to it."),
    "LIN013": ("error", "A source of unknown kind: which terms bind it cannot be determined (unknown terms: verdict "
               "needs-review; severity set by `unknown_terms`)."),
    "LIN014": ("error", "A rule applies or not depending on a fact about the trained model that the use context "
               "does not state (`competes_with`, `distribute_model`, `base_model`, `model_type`, `territory`), or on a "
               "base model the catalogue cannot place: the finding names the fact, the clause and what each answer "
               "gives (unknown terms: verdict needs-review; severity set by `unknown_terms`)."),
    "LIN015": ("error", "The generation date is unknown and an earlier version of the terms, in force at some time, "
               "gives these rows a worse verdict than the latest: record generated_at (unknown terms: verdict "
               "needs-review; severity set by `unknown_terms`)."),
}
# Findings that say the pack cannot determine a source's terms. They never make a source
# `allowed`: its verdict is `needs-review`, and their severity is the `unknown_terms` setting
# (error by default, so that lint fails and the gate refuses what nobody has judged).
UNKNOWN_TERMS_CODES = frozenset({"LIN003", "LIN004", "LIN005", "LIN008", "LIN013", "LIN014", "LIN015"})
# Verdicts from best to worst: an earlier version of the terms that would give a worse one
# makes an undated source need review (LIN015).
_VERDICT_RANK = {"allowed": 0, "allowed-with-obligations": 1, "needs-review": 2, "blocked": 3}
# Which use-context fact each condition key tests, and the ways of stating that fact.
_FACT_OF_KEY = {"competes_with": "competes_with", "distribute_model": "distribute_model",
                "base_model_family": "base_model", "model_type": "model_type", "territory": "territory"}
# A territory no rule names: the answer "somewhere else".
_ELSEWHERE = "elsewhere"
_MODEL_TYPES = ("generative", "classifier", "embedding")
UNKNOWN_TERMS_MODES = ("error", "warn")
# Codes `lineage gate` gives about a dataset and its card before publication (docs/gate.md).
GATE_CODES: dict[str, tuple[str, str]] = {
    "PUB001": ("error", "The dataset card declares no licence."),
    "PUB002": ("error", "The dataset card's licence is looser than the data's: it drops a non-commercial, "
               "share-alike, no-derivatives, research-only or no-redistribution term that rows carry."),
    "PUB003": ("warning", "The dataset card does not name a licence that rows of the data carry."),
    "PUB004": ("warning", "Model-generated content that the dataset card does not disclose (no `synthetic` tag, "
               "machine-generated creators or provenance section)."),
    "PUB005": ("error", "More of the dataset is untracked than the gate allows (`gate.max_untracked`)."),
    "PUB006": ("warning", "A card licence of `other` without `license_name` and `license_link`."),
}
# Licence terms -> (code, what the engine makes of them); see docs/policies.md.
LICENSE_TERM_CODES = {
    "non_commercial": "LIC001",
    "attribution": "LIC002",
    "share_alike": "LIC003",
    "no_derivatives": "LIC004",
    "research_only": "LIC005",
    "no_redistribution": "LIC006",
    "restricted_use": "LIC007",
}
LICENSE_TERM_TEXT = {
    "LIC001": "The licence allows non-commercial use only.",
    "LIC002": "The licence requires attribution.",
    "LIC003": "The licence requires derived data to carry the same licence (share-alike).",
    "LIC004": "The licence allows no derivatives; a model or dataset made from it may be one.",
    "LIC005": "The licence allows research use only.",
    "LIC006": "The licence does not allow the data to be redistributed.",
    "LIC007": "The licence restricts uses the other terms do not cover (fields of use, who may use it, production or "
              "competing use): an error for a commercial use until reviewed, a warning otherwise.",
}


@dataclass(frozen=True)
class Citation:
    document: str
    version: str
    section: str
    url: str
    quote: str

    def to_dict(self) -> dict[str, str]:
        return {
            "document": self.document,
            "version": self.version,
            "section": self.section,
            "url": self.url,
            "quote": self.quote,
        }


@dataclass(frozen=True)
class Finding:
    code: str
    severity: str
    message: str
    citation: Citation | None = None
    confidence: str | None = None
    # For LIN014, the pack rule whose outcome turns on the unstated fact: a waiver of it lifts both.
    rule: str | None = None
    # A pack rule of effect `review`: terms nobody could read, which make the rows need review.
    unknown: bool = False

    @property
    def unknown_terms(self) -> bool:
        """Whether this finding says the terms cannot be determined (verdict needs-review)."""
        return self.unknown or self.code in UNKNOWN_TERMS_CODES

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "severity": self.severity,
            "message": self.message,
            "citation": self.citation.to_dict() if self.citation else None,
            "confidence": self.confidence,
            "rule": self.rule,
        }


@dataclass(frozen=True)
class Obligation:
    code: str
    type: str
    text: str | None
    message: str
    citation: Citation | None = None
    prefix: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "type": self.type,
            "text": self.text,
            "prefix": self.prefix,
            "message": self.message,
            "citation": self.citation.to_dict() if self.citation else None,
        }


@dataclass(frozen=True)
class AppliedWaiver:
    waiver: Waiver
    code: str

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, **self.waiver.to_dict()}


@dataclass
class Evaluation:
    """What the terms say about one source under one use context."""

    source: SourceSpec
    findings: list[Finding] = field(default_factory=list)
    obligations: list[Obligation] = field(default_factory=list)
    waivers_applied: list[AppliedWaiver] = field(default_factory=list)
    # (document id, version) pairs that were applied.
    terms: list[tuple[str, str]] = field(default_factory=list)
    license: str | None = None
    # For an OR expression, the alternative the evaluation took (the least restrictive).
    license_chosen: str | None = None

    @property
    def verdict(self) -> str:
        return verdict_of(self.findings, bool(self.obligations))

    @property
    def unknown_terms(self) -> bool:
        """Whether the pack could not determine some of the terms that bind the source."""
        return any(f.unknown_terms for f in self.findings)

    @property
    def errors(self) -> int:
        return sum(f.severity == "error" for f in self.findings)

    def to_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "source": self.source.model_dump(),
            "license": self.license,
            "license_chosen": self.license_chosen,
            "terms": [{"document": d, "version": v} for d, v in self.terms],
            "findings": [f.to_dict() for f in self.findings],
            "obligations": [o.to_dict() for o in self.obligations],
            "waivers_applied": [w.to_dict() for w in self.waivers_applied],
        }


def verdict_of(findings: Iterable[Finding], obligations: bool) -> str:
    """The verdict of a source from its findings: a breach blocks; terms the pack cannot
    determine need review, whatever their severity; else allowed, with or without obligations."""
    unknown = False
    for finding in findings:
        if finding.unknown_terms:
            unknown = True
        elif finding.severity == "error":
            return "blocked"
    if unknown:
        return "needs-review"
    return "allowed-with-obligations" if obligations else "allowed"


class Evaluator:
    """Evaluates sources against a policy pack for one use context.

    `unknown_terms` is the severity of the findings that say the pack cannot determine a
    source's terms ("error", the default, or "warn"); their verdict is `needs-review` either way.
    """

    def __init__(
        self,
        pack: Pack,
        context: UseContext,
        waivers: list[Waiver] | tuple[Waiver, ...] = (),
        *,
        today: date | None = None,
        unknown_terms: str = "error",
    ) -> None:
        if unknown_terms not in UNKNOWN_TERMS_MODES:
            raise ConfigError(f"`unknown_terms` must be one of {', '.join(UNKNOWN_TERMS_MODES)}, not {unknown_terms!r}",
                              fix='e.g. unknown_terms = "error"')
        self.pack = pack
        self.context = context
        self.unknown_severity = "error" if unknown_terms == "error" else "warning"
        self.waivers = list(waivers)
        self.today = today or date.today()
        self.catalogue = Catalogue(pack.models)
        self.base_family = (self.catalogue.family(context.base_model)
                            if context.base_model not in (None, NO_BASE_MODEL) else None)
        # The facts the context leaves unset, as the condition keys that test them. A base model
        # the catalogue cannot place is no answer either: which family's rules bind it is unknown.
        self._unstated = {key for key, fact in _FACT_OF_KEY.items() if getattr(context, fact) is None}
        self._unknown_base = (context.base_model if context.base_model not in (None, NO_BASE_MODEL)
                              and self.base_family is None else None)
        if self._unknown_base:
            self._unstated.add("base_model_family")
        self._check_competitors()
        self._cache: dict[tuple[Any, ...], Evaluation] = {}
        self._used_waivers: set[str] = set()
        known = set(pack.codes) | set(LICENSE_TERM_CODES.values()) | set(ENGINE_CODES) | set(GATE_CODES)
        for waiver in self.waivers:
            unknown = [code for code in waiver.codes if code not in known]
            if unknown:
                raise ConfigError(
                    f"waiver {waiver.id!r} names unknown rule code(s) {', '.join(unknown)}",
                    fix="use codes from `lineage policies list`",
                )

    def _check_competitors(self) -> None:
        """A misspelt provider in competes_with would compete with nobody: refuse it."""
        from lineage.policy.names import known_providers

        known = known_providers(self.pack)
        for name in self.context.competes_with or ():
            if name != "*" and name not in known:
                from rapidfuzz import process

                close = [n for n, _, _ in process.extract(name, sorted(known), limit=3, score_cutoff=60)]
                hint = f"did you mean {' or '.join(close)}? " if close else ""
                raise ConfigError(f"unknown provider {name!r} in competes_with", where="the use context",
                                  fix=f"{hint}name providers the policy pack knows (`lineage policies list`), "
                                      "\"*\" for every one, or none")

    # -- public ------------------------------------------------------------------------------

    def evaluate(self, source: SourceSpec, generated_at: datetime | date | None = None) -> Evaluation:
        day = generated_at.date() if isinstance(generated_at, datetime) else generated_at
        documents, license_expr, notes = self._documents(source)
        chosen = tuple(_version_at(d, day) for d in documents)
        # LIN001/LIN002 depend on the date too: unknown, or before a document's first version.
        early = tuple(day is not None and day < d.versions[0].effective for d in documents)
        key = (source.key, chosen, early, day is None)
        cached = self._cache.get(key)
        if cached is None:
            cached = self._evaluate(source, documents, chosen, license_expr, notes, day)
            if day is None:
                self._earlier_versions(cached, source, documents, chosen, license_expr, notes)
            self._cache[key] = cached
        return cached

    def _earlier_versions(self, evaluation: Evaluation, source: SourceSpec, documents: list[Document],
                          chosen: tuple[int, ...], license_expr: str | None, notes: list[Finding]) -> None:
        """With no generation date the latest versions were applied; if an earlier version of one
        document, in force at some time, gives a worse verdict, the rows need review (LIN015)."""
        used = set(self._used_waivers)
        worst: tuple[int, Document, Version, str] | None = None
        for position, document in enumerate(documents):
            for index in range(len(document.versions) - 1):
                alternative = (*chosen[:position], index, *chosen[position + 1:])
                verdict = self._evaluate(source, documents, alternative, license_expr, notes, None).verdict
                rank = _VERDICT_RANK[verdict]
                if rank > _VERDICT_RANK[evaluation.verdict] and (worst is None or rank > worst[0]):
                    worst = (rank, document, document.versions[index], verdict)
        # What an alternative lifted is not what this evaluation used.
        self._used_waivers = used
        if worst is None:
            return
        _, document, version, verdict = worst
        evaluation.findings.append(Finding(
            "LIN015", self.unknown_severity,
            f"the generation date is unknown: the latest terms were applied, but under {document.title} "
            f"{version.version} (in force from {version.effective}) these rows are {verdict}, so they need review: "
            "record generated_at (lineage import --generated-at, or a generated_at field in the row) so the "
            "version in force is applied",
        ))
        evaluation.findings.sort(key=lambda f: (SEVERITY_ORDER[f.severity], f.code))

    def unused_waivers(self) -> list[Finding]:
        """LIN007 for every waiver that lifted nothing in the evaluations so far."""
        return [
            Finding(
                "LIN007",
                "warning",
                f"waiver {w.id!r} ({', '.join(w.codes)}, approved by {w.approved_by}) lifted nothing: "
                "remove it from the waivers file, or check its codes and scope",
            )
            for w in self.waivers
            if w.id not in self._used_waivers
        ]

    # -- which terms bind the source ---------------------------------------------------------

    def _documents(self, source: SourceSpec) -> tuple[list[Document], str | None, list[Finding]]:
        notes: list[Finding] = []
        license_expr = source.license
        # Open weights bind by their licence however they are reached: Llama served on Bedrock
        # carries the Llama licence as well as Amazon's terms. Through the maker's own API or app
        # its API terms govern instead (grok-2 in xAI's app is not the grok-2 weights).
        served_by_others = source.kind == "api" and source.channel in PASS_THROUGH_CHANNELS
        wants_licence = source.kind == "open-model" or served_by_others
        entry = self.catalogue.lookup(source.model) if source.model and wants_licence else None
        if license_expr is None and entry is not None:
            license_expr = entry.license
        if source.kind == "open-model" and entry is None and source.model and source.license is None:
            close = self.catalogue.suggest(source.model)
            hint = f"did you mean {', '.join(close)}? " if close else ""
            notes.append(Finding(
                "LIN003", self.unknown_severity,
                f"open model {source.model!r} is not in the model catalogue, so its licence is unknown: "
                f"{hint}its terms are unknown, so these rows need review: name the licence with --license, or add the "
                "model to a policy file",
            ))
        if source.kind == "unknown":
            notes.append(Finding(
                "LIN013", self.unknown_severity,
                f"{source.label()} is of unknown kind, so which terms bind it cannot be determined: record what "
                "produced it (--kind api, open-model, dataset, human or web)",
            ))
        # Crawled text has terms too (each site's), and with no licence recorded nobody has judged them.
        if source.kind in ("open-model", "dataset", "web") and not license_expr and not notes:
            notes.append(Finding(
                "LIN004", self.unknown_severity,
                f"{source.label()} has no licence recorded, so its terms are unknown and these rows need review: "
                "record it (--license) so its terms can be checked",
            ))
        documents = [d for d in self.pack.documents.values() if self._binds(d, source, license_expr)]
        if source.kind == "api" and source.provider and not any(
            (d.applies_to.providers and source.provider in d.applies_to.providers) or d.applies_to.licenses
            for d in documents
        ):
            notes.append(Finding(
                "LIN008", self.unknown_severity,
                f"the policy pack has no terms for {source.provider} reached through {source.channel or 'its API'}, so "
                "these rows need review: check the terms by hand and add them in a policy file (or record a waiver)",
            ))
        return documents, license_expr, notes

    def _binds(self, document: Document, source: SourceSpec, license_expr: str | None) -> bool:
        scope = document.applies_to
        if scope.licenses is not None:
            ids = set().union(*license_alternatives(license_expr))
            if not ids & set(scope.licenses):
                return False
        if scope.providers is not None and source.provider not in scope.providers:
            return False
        if scope.kinds is not None and source.kind not in scope.kinds:
            return False
        return not (scope.channels is not None and source.channel not in scope.channels)

    # -- evaluation ----------------------------------------------------------------------------

    def _evaluate(
        self,
        source: SourceSpec,
        documents: list[Document],
        chosen: tuple[int, ...],
        license_expr: str | None,
        notes: list[Finding],
        day: date | None,
    ) -> Evaluation:
        # Each way of satisfying the licence expression is evaluated; the user may pick the best.
        best: Evaluation | None = None
        for ids in license_alternatives(license_expr):
            candidate = Evaluation(source=source, license=license_expr, findings=list(notes))
            for document, index in zip(documents, chosen, strict=True):
                if document.applies_to.licenses is not None and not ids & set(document.applies_to.licenses):
                    continue
                version = document.versions[index]
                candidate.terms.append((document.id, version.version))
                self._date_notes(candidate, document, index, day)
                for rule in version.rules:
                    self._apply_rule(candidate, document, version, rule, source, ids)
            for license_id in sorted(ids):
                definition = self.pack.licenses.get(license_id)
                if definition is not None:
                    # A licence's terms bind the licensed data itself. A model's outputs are not
                    # the licensed weights: what a model licence says of outputs is in its
                    # model-license document, not in the generic licence terms.
                    if source.kind not in ("open-model", "api"):
                        self._apply_license(candidate, definition, source)
                elif not any(
                    d.applies_to.licenses and license_id in d.applies_to.licenses for d in documents
                ):
                    candidate.findings.append(Finding(
                        "LIN005", self.unknown_severity,
                        f"licence {license_id} is not defined in the policy pack, so its terms are unknown and these "
                        "rows need review: define it in a policy file so its terms are checked",
                    ))
            if best is None or _rank(candidate) < _rank(best):
                best = candidate
                best.license_chosen = " AND ".join(sorted(ids)) or None
        assert best is not None
        self._apply_waivers(best, source)
        # LIN014 stays beside a stated breach: lint may ignore that breach's code, and the
        # question must not go with it.
        best.findings.sort(key=lambda f: (SEVERITY_ORDER[f.severity], f.code))
        return best

    def _date_notes(self, evaluation: Evaluation, document: Document, index: int, day: date | None) -> None:
        if len(document.versions) < 2 and day is not None and day >= document.versions[0].effective:
            return
        version = document.versions[index]
        if day is None:
            if any(f.code == "LIN001" for f in evaluation.findings):
                return
            evaluation.findings.append(Finding(
                "LIN001", "info",
                "generation date unknown: the latest version of each document was applied "
                f"(e.g. {document.title} {version.version}); record generated_at to apply the version in force",
            ))
        elif day < document.versions[0].effective:
            evaluation.findings.append(Finding(
                "LIN002", "info",
                f"generated before the earliest version of {document.title} in the pack "
                f"({version.version}): that version was applied",
            ))

    def _apply_rule(
        self,
        evaluation: Evaluation,
        document: Document,
        version: Version,
        rule: Rule,
        source: SourceSpec,
        ids: frozenset[str],
    ) -> None:
        citation = Citation(document.title, version.version, rule.section, version.url, rule.quote)
        answers = self._answers(rule, source, ids)
        applies = [fires for _, fires in answers]
        if not any(applies):
            return
        if not all(applies) and rule.effect != "require":
            # A note that may not apply is left out; a breach that may apply needs review.
            if rule.effective_severity != "info":
                evaluation.findings.append(
                    _unstated_finding(rule, answers, citation, self.unknown_severity, self._unknown_base))
            return
        if rule.effect == "review":
            evaluation.findings.append(Finding(rule.code, self.unknown_severity, rule.message, citation,
                                               rule.confidence, unknown=True))
            return
        # A duty that holds for some answers is listed: naming it costs nothing, missing it may.
        if rule.effect != "require":
            evaluation.findings.append(
                Finding(rule.code, rule.effective_severity, rule.message, citation, rule.confidence)
            )
            return
        obligation = rule.obligation
        assert obligation is not None
        contradiction = self._contradicts(obligation.type, obligation.prefix, self.context.distribute_model)
        if self.context.distribute_model is None and obligation.type == "name-prefix":
            # Whether the name breaks the duty turns on distribution, which nobody stated.
            if_distributed = self._contradicts(obligation.type, obligation.prefix, True)
            if if_distributed:
                evaluation.findings.append(Finding(
                    "LIN014", self.unknown_severity,
                    f"{rule.code} ({citation.document} {citation.section}) turns on `distribute_model`, which the "
                    f"use context does not state, so these rows need review: with distribute_model = true, "
                    f"{if_distributed}; with distribute_model = false there is no breach. {rule.message} "
                    "State it under [tool.lineage] or with --distribute-model/--no-distribute-model",
                    citation, rule.confidence, rule=rule.code,
                ))
        if contradiction:
            evaluation.findings.append(
                Finding(rule.code, "error", f"{rule.message} ({contradiction})", citation, rule.confidence)
            )
        evaluation.obligations.append(
            Obligation(rule.code, obligation.type, obligation.text, rule.message, citation, obligation.prefix)
        )

    def _contradicts(self, kind: str, prefix: str | None, distributed: bool | None) -> str | None:
        """Why the use context already breaks an obligation of this kind, if it does (with the
        model distributed or not as `distributed` says)."""
        context = self.context
        if kind == "name-prefix" and prefix and distributed:
            name = context.model_name
            if not name:
                return f"the distributed model's name must start with {prefix!r}; set --model-name to check it"
            if not _squash(name).startswith(_squash(prefix)):
                return f"the distributed model is named {name!r}, which does not start with {prefix!r}"
        if kind == "non-commercial" and context.commercial:
            return "the use is commercial"
        return None

    def _answers(self, rule: Rule, source: SourceSpec, ids: frozenset[str]) -> list[tuple[dict[str, Any], bool]]:
        """Whether the rule applies, for each way of stating the facts its conditions test that
        the context leaves unset: one ({}, applies) when it tests none of them."""
        conditions = [*rule.when_any, *rule.unless_any]
        keys = sorted({key for c in conditions for key in self._unstated if getattr(c, key) is not None})
        choices: list[list[Any]] = []
        for key in keys:
            if key == "competes_with":
                choices.append([("*",), ()])
            elif key == "distribute_model":
                choices.append([True, False])
            elif key == "model_type":
                choices.append(list(_MODEL_TYPES))
            elif key == "territory":
                named_regions = {t for c in conditions for t in (c.territory or ())}
                choices.append([(t,) for t in sorted(named_regions)] + [(_ELSEWHERE,)])
            else:  # a family the rule names, or none of them
                named = {f for c in conditions for f in (c.base_model_family or ())}
                choices.append([*sorted(named), None])
        out = []
        for values in itertools.product(*choices):
            facts = dict(zip(keys, values, strict=True))
            fires = any(self._holds(c, source, ids, facts) for c in rule.when_any) and not any(
                self._holds(c, source, ids, facts) for c in rule.unless_any if c != Condition()
            )
            out.append((facts, fires))
        return out

    def _holds(self, condition: Condition, source: SourceSpec, ids: frozenset[str],
               facts: dict[str, Any] | None = None) -> bool:
        """Whether the condition holds; `facts` stands in for what the context leaves unset."""
        context = self.context
        facts = facts or {}
        competes = facts.get("competes_with", context.competes_with) or ()
        family = facts.get("base_model_family", self.base_family)
        distribute = facts.get("distribute_model", context.distribute_model)
        model_type = facts.get("model_type", context.model_type)
        regions = facts.get("territory", context.territory) or ()
        checks = (
            (condition.purpose, lambda v: context.purpose in v),
            (condition.commercial, lambda v: context.commercial == v),
            (condition.competes_with, lambda v: "*" in competes or any(p.lower() in competes for p in v)),
            (condition.base_model_family, lambda v: family in v),
            (condition.distribute_model, lambda v: distribute == v),
            (condition.publish_dataset, lambda v: context.publish_dataset == v),
            (condition.model_type, lambda v: model_type in v),
            (condition.territory, lambda v: any(t in v for t in regions)),
            (condition.provider, lambda v: source.provider in v),
            (condition.kind, lambda v: source.kind in v),
            (condition.channel, lambda v: source.channel in v),
            (condition.license, lambda v: bool(ids & set(v))),
            (condition.license_term, lambda v: any(
                term in self.pack.licenses[i].terms for i in ids if i in self.pack.licenses for term in v
            )),
        )
        return all(test(value) for value, test in checks if value is not None)

    def _apply_license(self, evaluation: Evaluation, definition: LicenseDefinition, source: SourceSpec) -> None:
        context = self.context
        for term, clause in definition.terms.items():
            code = LICENSE_TERM_CODES[term]
            citation = Citation(definition.name, definition.version, clause.section, definition.url, clause.quote)
            who = source.name or source.model or "the data"
            if term in ("non_commercial", "research_only"):
                if context.commercial:
                    what = "non-commercial use only" if term == "non_commercial" else "research use only"
                    evaluation.findings.append(Finding(
                        code, "error",
                        f"{who} is licensed under {definition.id}, which allows {what}: "
                        "drop these rows from a commercial dataset, or get a commercial licence",
                        citation,
                    ))
                else:
                    evaluation.obligations.append(Obligation(
                        code, "non-commercial", None,
                        f"{definition.id}: the data and what is made from it may be used non-commercially only",
                        citation,
                    ))
            elif term == "attribution":
                text = definition.attribution_text or (
                    f"Contains data from {who}, licensed under {definition.id}." if who != "the data"
                    else f"Contains data licensed under {definition.id}.")
                evaluation.obligations.append(Obligation(
                    code, "attribution", text, f"{definition.id} requires attribution: credit {who}", citation
                ))
            elif term == "share_alike":
                evaluation.obligations.append(Obligation(
                    code, "share-alike", definition.id,
                    f"{definition.id} is share-alike: data derived from {who} must be released under {definition.id}",
                    citation,
                ))
            elif term == "no_derivatives":
                evaluation.findings.append(Finding(
                    code, "warning",
                    f"{who} is licensed under {definition.id}, which allows no derivatives: a dataset or model "
                    "made from it may be one; have it reviewed before use",
                    citation,
                ))
            elif term == "no_redistribution" and context.publish_dataset:
                evaluation.findings.append(Finding(
                    code, "error",
                    f"{definition.id} does not allow {who} to be redistributed: remove these rows before publishing",
                    citation,
                ))
            elif term == "restricted_use":
                # What these licences allow depends on who uses them and for what: nothing the
                # pack can decide. A commercial use fails until someone has read the licence.
                if context.commercial:
                    evaluation.findings.append(Finding(
                        code, "error",
                        f"{who} is licensed under {definition.id}, which restricts how it may be used in ways the "
                        "pack cannot check: have the licence reviewed for this commercial use and record a waiver "
                        f"for {code}, or drop these rows",
                        citation,
                    ))
                else:
                    evaluation.findings.append(Finding(
                        code, "warning",
                        f"{who} is licensed under {definition.id}, which restricts how it may be used: check that "
                        "this use is within what it allows",
                        citation,
                    ))

    def _apply_waivers(self, evaluation: Evaluation, source: SourceSpec) -> None:
        if not self.waivers:
            return
        kept: list[Finding] = []
        extra: list[Finding] = []
        for finding in evaluation.findings:
            if finding.severity == "info":
                kept.append(finding)
                continue
            matching = [w for w in self.waivers
                        if (finding.code in w.codes or finding.rule in w.codes) and w.scope.matches(source)]
            valid = [w for w in matching if not w.expired(self.today)]
            if valid:
                waiver = valid[0]
                self._used_waivers.add(waiver.id)
                code = finding.code if finding.code in waiver.codes else finding.rule
                evaluation.waivers_applied.append(AppliedWaiver(waiver, code or finding.code))
            else:
                kept.append(finding)
            for waiver in matching:
                if not waiver.expired(self.today):
                    continue
                self._used_waivers.add(waiver.id)
                extra.append(Finding(
                    "LIN006", "warning",
                    f"waiver {waiver.id!r} for {finding.code} expired on {waiver.expires} and no longer lifts it: "
                    f"renew it with {waiver.approved_by} ({waiver.reference}) or remove the rows",
                ))
        evaluation.findings = kept + extra


_FLAG_OF_FACT = {"competes_with": "--competes-with", "distribute_model": "--distribute-model/--no-distribute-model",
                 "base_model_family": "--base-model", "model_type": "--model-type", "territory": "--territory"}


def _stated(key: str, value: Any, regions: tuple[str, ...] = ()) -> str:
    """One way of stating a fact, as the configuration writes it (`regions`: those the rule names)."""
    if key == "competes_with":
        return 'competes_with = ["*"]' if value else "competes_with = []"
    if key == "distribute_model":
        return f"distribute_model = {'true' if value else 'false'}"
    if key == "model_type":
        return f'model_type = "{value}"'
    if key == "territory":
        if value == (_ELSEWHERE,):
            return f"a territory other than {', '.join(regions)}" if regions else "any other territory"
        return f'territory = ["{value[0]}"]'
    return f"a base model of the {value} family" if value else 'base_model = "none" (or another family)'


def _choices_of(answers: list[tuple[dict[str, Any], bool]]) -> dict[str, list[Any]]:
    choices: dict[str, list[Any]] = {}
    for facts, _ in answers:
        for key, value in facts.items():
            if value not in choices.setdefault(key, []):
                choices[key].append(value)
    return choices


def _unstated_finding(rule: Rule, answers: list[tuple[dict[str, Any], bool]], citation: Citation,
                      severity: str, unknown_base: str | None = None) -> Finding:
    """LIN014: the rule's outcome turns on facts the context does not state (or a base model the
    catalogue cannot place, `unknown_base`)."""
    keys = sorted({k for facts, _ in answers for k in facts})
    names = ", ".join(f"`{'base_model' if k == 'base_model_family' else k}`" for k in keys)
    if unknown_base and "base_model_family" in keys:
        names += f" (base model {unknown_base!r} is in no catalogued family: name a catalogued model, or \"none\")"
    outcome = {tuple(facts.items()): fires for facts, fires in answers}
    firing = next(facts for facts, fires in answers if fires)
    regions = tuple(v[0] for v in _choices_of(answers).get("territory", []) if v != (_ELSEWHERE,))
    applies = ", ".join(_stated(k, v, regions) for k, v in firing.items())
    # The single changes to that answer that take the rule away: what the user may state instead.
    lifts = []
    for key, values in _choices_of(answers).items():
        lifting = [v for v in values if v != firing[key] and not outcome[tuple({**firing, key: v}.items())]]
        if key == "base_model_family" and len([v for v in lifting if v]) > 1:
            families = [v for v in lifting if v]
            lifts.append(f"a base model of the {', '.join(families[:-1])} or {families[-1]} family")
            lifts.extend(_stated(key, v) for v in lifting if not v)
        else:
            lifts.extend(_stated(key, v, regions) for v in lifting)
    spares = f"; it does not with {' or '.join(lifts)}" if lifts else ""
    flags = ", ".join(_FLAG_OF_FACT[k] for k in keys)
    verb = "blocks" if rule.effective_severity == "error" else "warns of"
    return Finding(
        "LIN014", severity,
        f"{rule.code} ({citation.document} {citation.section}) turns on {names}, which the use context does not "
        f"state, so these rows need review: it {verb} them with {applies}{spares}. "
        f"{rule.message} State it under [tool.lineage] or with {flags}",
        citation, rule.confidence, rule=rule.code,
    )


def _rank(evaluation: Evaluation) -> tuple[int, int, int, int]:
    """How bad a licence alternative is: errors, then warnings, undefined licences, obligations."""
    warnings = sum(f.severity == "warning" for f in evaluation.findings)
    undefined = sum(f.code == "LIN005" for f in evaluation.findings)
    return (evaluation.errors, warnings, undefined, len(evaluation.obligations))


def _squash(name: str) -> str:
    """A name for prefix checks: case, spaces, `-` and `_` do not count ("Llama 3" = "llama-3")."""
    return re.sub(r"[\s_\-]+", "", name.lower())


def _version_at(document: Document, day: date | None) -> int:
    """The index of the version in force on `day`: the latest one effective by then."""
    if day is None:
        return len(document.versions) - 1
    index = 0
    for i, version in enumerate(document.versions):
        if version.effective <= day:
            index = i
    return index
