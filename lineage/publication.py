"""The publication gate: may this dataset be published, under the licence its card declares?

The data is linted with `publish_dataset = true` (so licences that forbid redistribution and
rules about sharing outputs apply), then the card is held against what the data carries:

- the licence the data carries: every licence of licensed rows (datasets, people, the web;
  not a model's weights licence, which binds its outputs through its own rules), joined with AND;
- a card that declares no licence, or one that drops a term the data's licences carry
  (non-commercial, share-alike, no-derivatives, research-only, no-redistribution), is an error;
  one that does not name a licence the data carries, without dropping such a term, a warning;
- model-generated content the card does not disclose is a warning; more untracked examples
  than `gate.max_untracked` allows, an error.

    report = gate(["data/"], card="data/README.md")
    report.exit_code, report.publication.card_metadata

The findings join the lint's in one Report, so every lint output format shows them.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lineage.cards import SYNTHETIC_TAG, Card, find_card, read_card
from lineage.exceptions import ConfigError, UsageError
from lineage.licenses import hf_license_id, license_alternatives, license_key
from lineage.policy.engine import GATE_CODES
from lineage.report.model import LintFinding, Report

# Terms a card's licence must keep when rows carry them; attribution alone may be restated.
RESTRICTIVE_TERMS = ("non_commercial", "share_alike", "no_derivatives", "research_only", "no_redistribution")
_TERM_WORDS = {
    "non_commercial": "non-commercial", "share_alike": "share-alike", "no_derivatives": "no-derivatives",
    "research_only": "research-only", "no_redistribution": "no-redistribution",
}
DEFAULT_MAX_UNTRACKED = 0.05
_LICENSED_KINDS = ("dataset", "human", "web", "unknown")
_GENERATED_KINDS = ("api", "open-model")


@dataclass
class CarriedLicence:
    """One licence some rows of the dataset carry."""

    id: str
    examples: int = 0
    sources: list[str] = field(default_factory=list)
    # The restrictive terms the policy pack knows it to carry (empty for a licence it does not define).
    terms: tuple[str, ...] = ()
    url: str | None = None
    name: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "examples": self.examples, "sources": self.sources, "terms": list(self.terms),
                "url": self.url}


@dataclass
class Publication:
    """What the gate concluded about a dataset and its card."""

    card: str | None
    card_found: bool
    declared: str | None
    carried: list[CarriedLicence]
    generated: bool
    untracked: int
    examples: int
    max_untracked: float
    card_metadata: dict[str, Any]
    passed: bool = False
    # Examples nobody could judge: records that could not be read, and sources whose terms the
    # pack cannot determine. Either fails the gate unless the user lowered it.
    malformed: int = 0
    needs_review: int = 0

    @property
    def carried_expression(self) -> str | None:
        """The licence of the data as one expression (`CC-BY-NC-4.0 AND CC-BY-SA-3.0`)."""
        return " AND ".join(c.id for c in self.carried) or None

    @property
    def untracked_share(self) -> float:
        return self.untracked / self.examples if self.examples else 0.0

    def metadata_yaml(self) -> str:
        """The card metadata the data calls for, as the YAML a card's header holds."""
        import yaml

        return yaml.safe_dump(self.card_metadata, sort_keys=False, allow_unicode=True).rstrip("\n")

    def summary_lines(self) -> list[str]:
        """What the gate concluded, in a few lines of plain text."""
        card = self.card if self.card_found else f"{self.card} (missing)" if self.card else "none found"
        lines = [
            f"publication: {'pass' if self.passed else 'fail'}",
            f"  dataset card: {card}",
            f"  licence declared: {self.declared or 'none'}; licence the data carries: "
            f"{self.carried_expression or 'none recorded (the publisher chooses)'}",
            f"  untracked: {self.untracked} of {self.examples} examples ({self.untracked_share:.1%}; "
            f"at most {self.max_untracked:.1%} allowed)",
        ]
        if self.malformed or self.needs_review:
            lines.append(f"  not judged: {self.malformed} malformed (unreadable) and {self.needs_review} needing "
                         f"review (terms unknown) of {self.examples} examples")
        if self.card_metadata:
            lines.append("  the card's YAML header should hold:")
            lines += [f"    {line}" for line in self.metadata_yaml().splitlines()]
        return lines

    def to_dict(self) -> dict[str, Any]:
        return {
            "verdict": "pass" if self.passed else "fail",
            "card": self.card,
            "card_found": self.card_found,
            "declared_license": self.declared,
            "data_license": self.carried_expression,
            "licenses": [c.to_dict() for c in self.carried],
            "model_generated": self.generated,
            "untracked": {"examples": self.untracked, "share": round(self.untracked_share, 6),
                          "max_share": self.max_untracked},
            "malformed": self.malformed,
            "needs_review": self.needs_review,
            "card_metadata": self.card_metadata,
        }


def carried_licences(report: Report) -> list[CarriedLicence]:
    """Every licence that licensed rows of the dataset carry, most rows first."""
    pack = report.pack
    found: dict[str, CarriedLicence] = {}
    for use in report.sources:
        evaluation = use.evaluation
        if evaluation.source.kind not in _LICENSED_KINDS or not evaluation.license or not use.examples:
            continue
        # Of an OR, the alternative the evaluation took is the one the data is used under.
        ids = sorted(evaluation.license_chosen.split(" AND ")) if evaluation.license_chosen else \
            sorted(license_alternatives(evaluation.license)[0])
        for license_id in ids:
            entry = found.get(license_id)
            if entry is None:
                definition = pack.licenses.get(license_id) if pack is not None else None
                entry = found[license_id] = CarriedLicence(
                    license_id,
                    terms=tuple(t for t in RESTRICTIVE_TERMS if definition is not None and t in definition.terms),
                    url=definition.url if definition is not None else None,
                    name=definition.name if definition is not None else None,
                )
            entry.examples += use.examples
            label = evaluation.source.label()
            if label not in entry.sources:
                entry.sources.append(label)
    return sorted(found.values(), key=lambda c: (-c.examples, c.id))


def card_metadata(card: Card, carried: list[CarriedLicence], generated: bool, report: Report) -> dict[str, Any]:
    """The YAML header fields the card should have (the rest of its header is the user's)."""
    metadata: dict[str, Any] = {}
    if carried:
        hub_ids = [hf_license_id(c.id) for c in carried]
        known = [h for h in hub_ids if h]
        others = [c for c, h in zip(carried, hub_ids, strict=True) if not h]
        if others:
            # The Hub takes one `other`, named and linked; the known ids go beside it.
            known.append("other")
            metadata["license_name"] = " AND ".join(o.id.removeprefix("LicenseRef-") for o in others)
            name = metadata["license_name"]
            # The card's own link stays only while it names the same licence.
            link = others[0].url or (card.data.get("license_link") if card.data.get("license_name") == name else None)
            if link:
                metadata["license_link"] = link
        metadata["license"] = known[0] if len(known) == 1 else known
    elif card.data.get("license"):
        metadata["license"] = card.data["license"]
    tags = list(card.tags)
    if generated and SYNTHETIC_TAG not in tags:
        tags.append(SYNTHETIC_TAG)
    if tags:
        metadata["tags"] = tags
    names = sorted({u.evaluation.source.name for u in report.sources
                    if u.evaluation.source.kind == "dataset" and u.evaluation.source.name and u.examples})
    if names:
        existing = card.data.get("source_datasets") or []
        existing = existing if isinstance(existing, list) else [existing]
        wanted = [f"extended|{n}" for n in names]
        metadata["source_datasets"] = list(dict.fromkeys([*map(str, existing), *wanted]))
    return metadata


def card_metadata_for(report: Report, card: Card, extra_license: str | None = None) -> dict[str, Any]:
    """The card metadata for a lint report, with `extra_license` (the licence of rows the
    publisher wrote) declared beside the licences the data carries."""
    from lineage.licenses import normalise_license

    carried = carried_licences(report)
    if extra_license:
        normalised = normalise_license(extra_license)
        if normalised is None:
            raise UsageError(f"--license {extra_license!r} is not a licence", fix="use an SPDX id, e.g. CC-BY-4.0")
        for license_id in sorted(license_alternatives(normalised)[0]):
            if all(license_key(c.id) != license_key(license_id) for c in carried):
                definition = report.pack.licenses.get(license_id) if report.pack is not None else None
                carried.append(CarriedLicence(license_id, url=definition.url if definition else None))
    return card_metadata(card, carried, _generated(report), report)


def _generated(report: Report) -> bool:
    return any(u.evaluation.source.kind in _GENERATED_KINDS and u.examples for u in report.sources)


def check_publication(
    report: Report, card: Card | None, *, max_untracked: float = DEFAULT_MAX_UNTRACKED, data_path: str | None = None,
) -> Publication:
    """Add the gate's findings to a lint `report` (made with publish_dataset = true) and return
    what it concluded; `report.publication` is set to the same."""
    if not 0 <= max_untracked <= 1:
        raise UsageError(f"max_untracked must be a share between 0 and 1, not {max_untracked}",
                         fix="e.g. 0.05 for five per cent")
    the_card = card or Card(Path("README.md"), exists=False)
    carried = carried_licences(report)
    generated = _generated(report)
    publication = Publication(
        card=str(the_card.path) if card is not None else None,
        card_found=card is not None and card.exists,
        declared=the_card.license,
        carried=carried,
        generated=generated,
        untracked=report.verdicts.get("untracked", 0),
        examples=report.examples,
        max_untracked=max_untracked,
        card_metadata=card_metadata(the_card, carried, generated, report),
        malformed=report.verdicts.get("malformed", 0),
        needs_review=report.verdicts.get("needs-review", 0),
    )
    where = str(the_card.path) if card is not None else (data_path or "dataset")
    keeps = _keeps(report)

    def add(code: str, message: str, line: int | None = None, path: str | None = None) -> None:
        if keeps(code):
            report.add(LintFinding(path or where, line, code, GATE_CODES[code][0], message))

    suggestion = _license_text(publication.card_metadata)
    if not the_card.exists:
        add("PUB001", f"no dataset card: write one with `lineage card` (it will declare {suggestion})"
            if suggestion else "no dataset card: write one with `lineage card --license ID`")
    elif publication.declared is None:
        add("PUB001", f"the card declares no licence: set {suggestion} (`lineage card` writes it)"
            if suggestion else "the card declares no licence: set `license:` to the licence you publish under",
            the_card.license_line)
    else:
        _check_licence(the_card, carried, suggestion, report.pack, add)
    declared_ids = the_card.data.get("license")
    declared_ids = declared_ids if isinstance(declared_ids, list) else [declared_ids]
    if the_card.exists and any(str(v).lower() == "other" for v in declared_ids) and not (
        the_card.data.get("license_name") and the_card.data.get("license_link")
    ):
        add("PUB006", "the card says `license: other` but not which: add license_name and license_link",
            the_card.license_line)
    if generated and not the_card.discloses_generation():
        models = sorted({u.evaluation.source.model or u.evaluation.source.label() for u in report.sources
                         if u.evaluation.source.kind in _GENERATED_KINDS and u.examples})
        add("PUB004", f"the data holds output of {', '.join(models)} that the card does not disclose: add the "
            f"`{SYNTHETIC_TAG}` tag and a provenance section (`lineage card` writes both)")
    if publication.untracked_share > max_untracked:
        add("PUB005", f"{publication.untracked} of {publication.examples} examples "
            f"({publication.untracked_share:.1%}) have no recorded origin, above the gate's "
            f"{max_untracked:.1%}: record where they came from (`lineage import`) or remove them",
            path=data_path)
    _refresh_rules(report)
    publication.passed = report.exit_code == 0
    report.publication = publication
    return publication


def _check_licence(card: Card, carried: list[CarriedLicence], suggestion: str, pack: Any, add: Any) -> None:
    alternatives = license_alternatives(card.license)
    declared = " OR ".join(" AND ".join(sorted(a)) for a in alternatives)

    # By comparison key, so a card's `license_name: CC-BY-NC-SA-2.0` finds the pack's definition.
    definitions = {license_key(i): d for i, d in pack.licenses.items()} if pack is not None else {}

    def terms(license_id: str) -> set[str]:
        definition = definitions.get(license_key(license_id))
        return {t for t in RESTRICTIVE_TERMS if definition is not None and t in definition.terms}

    for licence in carried:
        who = f"{licence.examples} examples ({', '.join(licence.sources)})"
        # The card may offer a choice (OR): each choice must keep what the rows carry.
        for alternative in alternatives:
            if license_key(licence.id) in {license_key(i) for i in alternative}:
                continue
            kept = set().union(*(terms(i) for i in alternative))
            dropped = [t for t in licence.terms if t not in kept]
            if dropped:
                words = ", ".join(_TERM_WORDS[t] for t in dropped)
                add("PUB002", f"the card declares {declared}, but {who} are licensed {licence.id}, which is "
                    f"{words}: the card's licence must keep that; declare {suggestion}", card.license_line)
            else:
                add("PUB003", f"the card declares {declared} and does not name {licence.id}, which {who} carry: "
                    f"name it too ({suggestion})", card.license_line)
            break


def _license_text(metadata: dict[str, Any]) -> str:
    value = metadata.get("license")
    if not value:
        return ""
    text = f"license: {value}" if isinstance(value, str) else f"license: [{', '.join(value)}]"
    if metadata.get("license_name"):
        text += f", license_name: {metadata['license_name']}"
    return f"`{text}`"


def _keeps(report: Report) -> Any:
    codes = report.code_filter
    return codes.keeps if codes is not None else (lambda code: True)


def _refresh_rules(report: Report) -> None:
    from lineage.linting.run import rule_info

    if report.pack is not None:
        report.rules = rule_info(report.pack, report.findings_by_code)


def max_untracked_setting(config: Any, flag: float | None) -> float:
    """`--max-untracked`, else `[tool.lineage.gate] max_untracked`, else the default."""
    if flag is not None:
        return flag
    table = config.get("gate") or {}
    if not isinstance(table, dict):
        raise ConfigError("[gate] must be a table", where=str(config.path), fix="e.g. [tool.lineage.gate]")
    value = table.get("max_untracked", DEFAULT_MAX_UNTRACKED)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise ConfigError("gate.max_untracked must be a share between 0 and 1", where=str(config.path),
                          fix="e.g. max_untracked = 0.05")
    return float(value)


def for_publication(lint_options: dict[str, Any]) -> dict[str, Any]:
    """Lint options with publish_dataset = true, in the settings or as a keyword: publication is
    the use being judged, whatever the caller or the configuration say of it."""
    options = dict(lint_options)
    if "settings" in options and options["settings"] is not None:
        from dataclasses import replace

        settings = options["settings"]
        rules = replace(settings.rules, context=settings.rules.context.model_copy(update={"publish_dataset": True}))
        options["settings"] = replace(settings, rules=rules)
    else:
        options.pop("settings", None)
        options["publish_dataset"] = True
    return options


def gate(
    inputs: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    card: str | os.PathLike[str] | None = None,
    max_untracked: float | None = None,
    **lint_options: Any,
) -> Report:
    """Lint `inputs` for publication and check their dataset card; the Report's `publication`
    says what was concluded and which card metadata the data calls for."""
    from lineage.config import find_config
    from lineage.linting import lint

    config = lint_options.get("config") or find_config()
    lint_options["config"] = config
    report = lint(inputs, **for_publication(lint_options))
    paths = [str(inputs)] if isinstance(inputs, (str, os.PathLike)) else [str(p) for p in inputs]
    found = find_card(paths, str(card) if card is not None else None)
    return _with_card(report, found, max_untracked_setting(config, max_untracked), paths)


def _with_card(report: Report, found: Path | None, max_untracked: float, paths: list[str]) -> Report:
    the_card = read_card(found) if found is not None else None
    check_publication(report, the_card, max_untracked=max_untracked, data_path=paths[0] if paths else None)
    return report


__all__ = [
    "DEFAULT_MAX_UNTRACKED", "CarriedLicence", "Publication", "carried_licences",
    "check_publication", "gate",
]
