"""The use context: what a dataset will be used for, from configuration and flags."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from lineage.config import Config
from lineage.exceptions import ConfigError, UsageError
from lineage.policy.schema import ModelType, Purpose
from lineage.vocabulary import EU_MEMBERS, region_code

CONTEXT_KEYS = (
    "purpose",
    "commercial",
    "competes_with",
    "base_model",
    "distribute_model",
    "model_name",
    "publish_dataset",
    "model_type",
    "territory",
)


# Facts about the trained model that no default may stand in for: a rule whose outcome turns on
# one of them, left unset, gives a finding that names it (LIN014) and not a guess.
UNSTATED_FIELDS = ("competes_with", "distribute_model", "base_model", "model_type", "territory")
# What `base_model` says for a model trained from scratch (or from no catalogued family).
NO_BASE_MODEL = "none"


def territories(values: list[str]) -> tuple[str, ...]:
    """The regions of a use context: each value a region code (see `region_code`); a member state
    of the European Union brings "eu" with it. Anything else, or nothing, is refused: a territory
    no rule recognises would read as "none of the regions a licence withholds"."""
    regions: set[str] = set()
    for value in values:
        if not value.strip():
            continue
        code = region_code(value)
        regions.add(code)
        if code in EU_MEMBERS:
            regions.add("eu")
    if not regions:
        raise ValueError("territory names no region: give at least one, such as us or eu")
    return tuple(sorted(regions))


class UseContext(BaseModel):
    """What the trained model and the dataset are for.

    `purpose` and `commercial` default to the stricter reading (a commercial fine-tune). The
    facts in UNSTATED_FIELDS default to None, "not stated": `competes_with = []` says the
    model competes with nobody, `base_model = "none"` that it starts from no catalogued model.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    purpose: Purpose = "fine-tune"
    commercial: bool = True
    # Providers whose products the trained model competes with; "*" for a general assistant.
    competes_with: tuple[str, ...] | None = None
    # The model the training starts from (a Llama 3 derivative may learn from Llama 3 outputs).
    base_model: str | None = None
    distribute_model: bool | None = None
    model_name: str | None = None
    publish_dataset: bool = False
    model_type: ModelType | None = None
    # Where the organisation that trains and uses the model is established and where the model is
    # offered: region codes such as "eu", "uk", "kr", "us" (licences that grant nothing in a
    # territory, or withhold rights from companies domiciled there).
    territory: tuple[str, ...] | None = None

    @field_validator("competes_with", mode="before")
    @classmethod
    def _providers(cls, value: Any) -> tuple[str, ...] | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = [value]
        names = {str(v).strip().lower() for v in value if str(v).strip()}
        # "none" on the command line is the empty list of the configuration: nobody.
        return tuple(sorted(names - {"none"}))

    @field_validator("territory", mode="before")
    @classmethod
    def _regions(cls, value: Any) -> tuple[str, ...] | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = [value]
        return territories([part for v in value for part in str(v).split(",")])

    @field_validator("base_model", mode="before")
    @classmethod
    def _base(cls, value: Any) -> Any:
        if isinstance(value, str) and value.strip().lower() == NO_BASE_MODEL:
            return NO_BASE_MODEL
        return value

    def competes(self, providers: list[str]) -> bool:
        chosen = self.competes_with or ()
        return "*" in chosen or any(p.lower() in chosen for p in providers)

    def unstated(self) -> list[str]:
        """The facts of UNSTATED_FIELDS this context leaves unset."""
        return [name for name in UNSTATED_FIELDS if getattr(self, name) is None]

    def to_dict(self) -> dict[str, Any]:
        data = self.model_dump()
        lists = {key: list(getattr(self, key)) if getattr(self, key) is not None else None
                 for key in ("competes_with", "territory")}
        return {**data, **lists}


def build_context(config: Config | None = None, **flags: Any) -> UseContext:
    """The use context from `[tool.lineage]` (or lineage.toml), with flags (not None) on top."""
    values: dict[str, Any] = {}
    if config is not None:
        values.update({k: config.data[k] for k in CONTEXT_KEYS if k in config.data})
    try:
        base = UseContext(**values)
    except ValidationError as exc:
        error = exc.errors()[0]
        key = ".".join(str(p) for p in error["loc"])
        raise ConfigError(
            f"invalid use context: {key}: {error['msg'].removeprefix('Value error, ')}",
            where=str(config.path if config else "config"),
            fix="see docs/policies.md for the use-context keys",
        ) from None
    given = {k: v for k, v in flags.items() if v is not None}
    try:
        return base.model_copy(update=UseContext(**{**base.model_dump(), **given}).model_dump())
    except ValidationError as exc:
        error = exc.errors()[0]
        key = ".".join(str(p) for p in error["loc"])
        message = error["msg"].removeprefix("Value error, ")
        fix = "give region codes such as eu, uk, kr, us, de" if key == "territory" else None
        raise UsageError(f"invalid --{key.replace('_', '-')}: {message}", fix=fix) from None
