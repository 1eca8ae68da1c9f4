"""The policy file format: terms documents with dated versions and rules, licence definitions,
and the model catalogue. Validated by pydantic; unknown keys are errors.

A policy file is YAML with any of four top-level lists:

    documents:        terms of service, usage policies, model licences, organisation rules
    licenses:         licence definitions (SPDX ids and LicenseRef-s) by the terms they carry, each
                      term cited to its clause
    license_classes:  licences classed together (permissive, copyleft, ...): the terms the class
                      carries, the ids in it, and what the classification rests on
    models:           the model catalogue: model-name patterns -> provider, family, licence

See docs/policies.md for the reference and examples.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from lineage.vocabulary import CHANNELS, KINDS, region_code

# `review`: the clause may bar the use but its text was not read (a version known to exist whose
# wording nobody could check): like the engine's unknown-terms findings, the rows need review.
Effect = Literal["forbid", "require", "warn", "info", "review"]
Severity = Literal["error", "warning", "info"]
Purpose = Literal["train", "fine-tune", "distill", "evaluate", "retrieval"]
ModelType = Literal["generative", "classifier", "embedding"]
DocumentKind = Literal["terms", "usage-policy", "model-license", "org-policy"]
ObligationType = Literal[
    "attribution", "name-prefix", "notice", "flow-down", "non-commercial", "share-alike", "license-copy", "display"
]
# What a licence definition may say about using the licensed content. `restricted_use` is for
# what none of the others says: a licence that limits its fields of use (no military use, "solely
# for education, training, research ..."), who may use it (small businesses, internal business
# purposes), or production and competing use (source-available licences). Left out, such a
# licence would read as permissive and a commercial use of it would pass unseen.
LicenseTerm = Literal[
    "non_commercial", "attribution", "share_alike", "no_derivatives", "research_only", "no_redistribution",
    "restricted_use",
]
# The license categories of the ScanCode LicenseDB (scancode-licensedb.aboutcode.org), which
# license-expression's index carries for every licence: what a bundled class rests on.
ScanCodeCategory = Literal[
    "Permissive", "Public Domain", "Copyleft", "Copyleft Limited", "Free Restricted", "Proprietary Free",
    "Source-available", "Unstated License", "Commercial", "Patent License", "CLA",
]
# A licence id: an SPDX id or a LicenseRef- (letters, digits, `.`, `-`, `+`).
LICENSE_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.+\-]*$")

CODE_PATTERN = re.compile(r"^[A-Z]{2,5}[0-9]{3}$")
MAX_QUOTE_WORDS = 25
DEFAULT_SEVERITY: dict[str, Severity] = {"forbid": "error", "warn": "warning", "require": "info", "info": "info",
                                        "review": "error"}


def check_quote(value: str) -> str:
    """Quotes are short: enough to find the clause, not a copy of it."""
    words = len(value.split())
    if not words or words > MAX_QUOTE_WORDS:
        raise ValueError(f"a quote has 1 to {MAX_QUOTE_WORDS} words, this one has {words}")
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Condition(_Strict):
    """Tests on the use context and the source; every key given must hold (AND).

    `competes_with` holds when the trained model competes with any provider listed (a use
    context competing with "*" competes with everyone); `base_model_family` when the model
    being trained starts from one of these families (see the catalogue).
    """

    purpose: list[Purpose] | None = None
    commercial: bool | None = None
    competes_with: list[str] | None = None
    base_model_family: list[str] | None = None
    distribute_model: bool | None = None
    publish_dataset: bool | None = None
    model_type: list[ModelType] | None = None
    # Holds when any territory of the use context is listed (region codes: eu, uk, kr, ...).
    territory: list[str] | None = None
    # Tests on the source itself, mostly for organisation rules.
    provider: list[str] | None = None
    kind: list[str] | None = None
    channel: list[str] | None = None
    license: list[str] | None = None
    license_term: list[LicenseTerm] | None = None

    @field_validator("kind")
    @classmethod
    def _kinds(cls, value: list[str] | None) -> list[str] | None:
        for item in value or ():
            if item not in KINDS:
                raise ValueError(f"unknown kind {item!r}; use one of {', '.join(KINDS)}")
        return value

    @field_validator("channel")
    @classmethod
    def _channels(cls, value: list[str] | None) -> list[str] | None:
        for item in value or ():
            if item not in CHANNELS:
                raise ValueError(f"unknown channel {item!r}; use one of {', '.join(CHANNELS)}")
        return value

    @field_validator("territory")
    @classmethod
    def _territories(cls, value: list[str] | None) -> list[str] | None:
        # A misspelt region would make the rule never fire: refuse it instead.
        if value is not None and not value:
            raise ValueError("`territory: []` never holds; name the regions, such as [eu, uk]")
        return None if value is None else sorted({region_code(item) for item in value})


class Obligation(_Strict):
    """What a `require` rule asks of whoever uses the content."""

    type: ObligationType
    # The text to show or ship: "Built with Llama", a NOTICE line, the licence to pass on.
    text: str | None = None
    # For name-prefix: what a distributed model's name must start with.
    prefix: str | None = None

    @model_validator(mode="after")
    def _prefix(self) -> Obligation:
        if self.type == "name-prefix" and not self.prefix:
            raise ValueError("a name-prefix obligation needs `prefix`")
        return self


class Rule(_Strict):
    code: str
    effect: Effect
    severity: Severity | None = None
    # The rule applies when `when` holds (a list means any of them) and no `unless` holds.
    when: Condition | list[Condition] = Field(default_factory=Condition)
    unless: Condition | list[Condition] = Field(default_factory=list)
    message: str
    section: str
    quote: str
    obligation: Obligation | None = None
    # How sure the fact sheet is of the clause: high, medium or low.
    confidence: Literal["high", "medium", "low"] = "high"

    @field_validator("code")
    @classmethod
    def _code(cls, value: str) -> str:
        if not CODE_PATTERN.match(value):
            raise ValueError(f"rule codes are 2-5 capital letters and 3 digits (e.g. ANT001), got {value!r}")
        return value

    _quote = field_validator("quote")(lambda cls, value: check_quote(value))

    @model_validator(mode="after")
    def _when_not_empty(self) -> Rule:
        if isinstance(self.when, list) and not self.when:
            raise ValueError("`when: []` never holds; leave `when` out for a rule that always applies")
        return self

    @model_validator(mode="after")
    def _obligation(self) -> Rule:
        if self.effect == "require" and self.obligation is None:
            raise ValueError("a `require` rule needs an `obligation`")
        return self

    @property
    def effective_severity(self) -> Severity:
        return self.severity or DEFAULT_SEVERITY[self.effect]

    @property
    def when_any(self) -> list[Condition]:
        return self.when if isinstance(self.when, list) else [self.when]

    @property
    def unless_any(self) -> list[Condition]:
        return self.unless if isinstance(self.unless, list) else [self.unless]


class Read(_Strict):
    """When and where a version's text was last read and checked against its rules."""

    on: date
    # The copy read: the licensor's own page or repository file (or an archive snapshot of it), or
    # a third party's copy (a mirror, a quoting note), which lowers every rule of the version.
    at: str

    @model_validator(mode="before")
    @classmethod
    def _on_key(cls, value: Any) -> Any:
        # YAML 1.1, which PyYAML reads, takes a bare `on:` key for the boolean true.
        if isinstance(value, dict) and True in value and "on" not in value:
            value = {("on" if key is True else key): item for key, item in value.items()}
        return value


class Version(_Strict):
    version: str
    effective: date
    # The licensor's own page or repository file for this version (docs/policies.md).
    url: str
    rules: list[Rule] = Field(default_factory=list)
    read: Read | None = None
    # A version known to exist whose text could not be read: evaluated with its rules (often a
    # `warn` that says so) and marked in reports.
    note: str | None = None


class AppliesTo(_Strict):
    """Which sources a document binds; every list given must match (AND), an absent one matches all."""

    providers: list[str] | None = None
    kinds: list[str] | None = None
    channels: list[str] | None = None
    # Licence ids (SPDX or LicenseRef-) whose presence in a source's licence brings the document in.
    licenses: list[str] | None = None

    @field_validator("kinds")
    @classmethod
    def _kinds(cls, value: list[str] | None) -> list[str] | None:
        return Condition._kinds(value)  # type: ignore[operator]

    @field_validator("channels")
    @classmethod
    def _channels(cls, value: list[str] | None) -> list[str] | None:
        return Condition._channels(value)  # type: ignore[operator]


class Document(_Strict):
    id: str
    title: str
    publisher: str
    kind: DocumentKind
    applies_to: AppliesTo
    versions: list[Version]

    @field_validator("versions")
    @classmethod
    def _versions(cls, value: list[Version]) -> list[Version]:
        if not value:
            raise ValueError("a document needs at least one version")
        dates = [v.effective for v in value]
        if dates != sorted(dates) or len(set(dates)) != len(dates):
            raise ValueError("versions must be listed oldest first, with distinct effective dates")
        return value


class LicenseClause(_Strict):
    """Where a licence says one of the things a licence definition lists."""

    section: str
    quote: str

    _quote = field_validator("quote")(lambda cls, value: check_quote(value))


class LicenseDefinition(_Strict):
    id: str
    name: str
    url: str
    version: str = "current"
    effective: date | None = None
    # Each term the licence carries, with the clause that says it.
    terms: dict[LicenseTerm, LicenseClause] = Field(default_factory=dict)
    # Text to credit, for licences with an attribution term ("Data from X, CC-BY-4.0").
    attribution_text: str | None = None
    # Replace the definition or class an earlier file (the bundled pack) gives this id; without
    # it, an id defined twice is an error.
    override: bool = False


SPDX_URL = "https://spdx.org/licenses/{id}.html"
SCANCODE_URL = "https://scancode-licensedb.aboutcode.org/{key}.html"


class LicenseClass(_Strict):
    """Licences classed together by the terms they carry, rather than defined clause by clause.

    Each id listed becomes a licence definition with the class's terms. Its citation is the
    licence's own page (`url`, by default its SPDX License List entry) and what the
    classification rests on: the ScanCode LicenseDB category the ids share (quoted as
    `category: Permissive`), or, for a class of your own, `basis` and `quote`.
    """

    id: str
    name: str
    description: str | None = None
    # Each term the class carries, with what it means for a licence of the class.
    terms: dict[LicenseTerm, str] = Field(default_factory=dict)
    # What the classification rests on: a ScanCode LicenseDB category, or a basis and a quote
    # of it of your own (e.g. "Legal review LEGAL-512", "approved for training use").
    scancode_category: ScanCodeCategory | None = None
    basis: str | None = None
    quote: str | None = None
    # The licence's page; `{id}` is replaced by the licence id. Default: its SPDX entry (and the
    # LicenseDB page for a `LicenseRef-scancode-` id).
    url: str | None = None
    # The ids in the class: a list, or a mapping of id -> the licence's full name.
    licenses: list[str] | dict[str, str | None]
    # Replace the definitions or classes earlier files (the bundled pack) give these ids.
    override: bool = False

    _quote = field_validator("quote")(lambda cls, value: value if value is None else check_quote(value))

    @field_validator("licenses")
    @classmethod
    def _licenses(cls, value: list[str] | dict[str, str | None]) -> list[str] | dict[str, str | None]:
        ids = list(value)
        if not ids:
            raise ValueError("a licence class lists at least one licence id")
        bad = [i for i in ids if not isinstance(i, str) or not LICENSE_ID_PATTERN.match(i)]
        if bad:
            raise ValueError(f"not a licence id: {bad[0]!r}")
        seen: set[str] = set()
        for item in ids:
            if item in seen:
                raise ValueError(f"{item} is listed twice")
            seen.add(item)
        return value

    @model_validator(mode="after")
    def _basis(self) -> LicenseClass:
        if self.scancode_category is None and not (self.basis and self.quote):
            raise ValueError("a licence class says what it rests on: `scancode_category`, or `basis` and `quote`")
        if self.url is None and any(i.startswith("LicenseRef-") and not i.startswith("LicenseRef-scancode-")
                                    for i in self.licenses):
            raise ValueError("a class with LicenseRef- ids needs a `url` (e.g. https://example.org/licences/{id})")
        return self

    @property
    def section_basis(self) -> str:
        return self.basis or "by its ScanCode LicenseDB category, not clause by clause"

    @property
    def basis_quote(self) -> str:
        return self.quote or f"category: {self.scancode_category}"

    def license_url(self, license_id: str) -> str:
        if self.url is not None:
            return self.url.replace("{id}", license_id)
        if license_id.startswith("LicenseRef-scancode-"):
            return SCANCODE_URL.format(key=license_id.removeprefix("LicenseRef-scancode-"))
        return SPDX_URL.format(id=license_id)

    def clauses(self) -> dict[LicenseTerm, LicenseClause]:
        """The clause each term of the class cites: the class and its basis."""
        return {
            term: LicenseClause.model_construct(
                section=f"Licence class {self.id}: {meaning} ({self.section_basis})", quote=self.basis_quote)
            for term, meaning in self.terms.items()
        }

    def definitions(self) -> list[LicenseDefinition]:
        """One licence definition per id, carrying the class's terms (built without re-validating)."""
        clauses = self.clauses()
        names = self.licenses if isinstance(self.licenses, dict) else {}
        return [
            LicenseDefinition.model_construct(
                id=license_id, name=" ".join((names.get(license_id) or license_id).split()),
                url=self.license_url(license_id), version="current", effective=None, terms=clauses,
                attribution_text=None, override=self.override,
            )
            for license_id in self.licenses
        ]


class ModelEntry(_Strict):
    """A catalogue entry: model names matching `pattern` (a regular expression over the
    normalised name: lower case, org prefix removed, `_` and spaces as `-`)."""

    pattern: str
    family: str
    provider: str
    # The licence of the weights, as an SPDX expression or LicenseRef-; absent for API-only models.
    license: str | None = None
    # A few real names, used for "did you mean" suggestions and tests.
    examples: list[str] = Field(default_factory=list)

    @field_validator("pattern")
    @classmethod
    def _pattern(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"invalid regular expression: {exc}") from None
        return value


class PolicyFile(_Strict):
    documents: list[Document] = Field(default_factory=list)
    licenses: list[LicenseDefinition] = Field(default_factory=list)
    license_classes: list[LicenseClass] = Field(default_factory=list)
    models: list[ModelEntry] = Field(default_factory=list)
