"""The use context: what a dataset will be used for, from configuration and flags."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from lineage.config import Config
from lineage.exceptions import ConfigError, UsageError
from lineage.policy.schema import ModelType, Purpose

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


# ISO 3166-1 alpha-2 country codes (as assigned; the UK is "gb", which is also written "uk").
COUNTRIES = frozenset("""
ad ae af ag ai al am ao aq ar as at au aw ax az ba bb bd be bf bg bh bi bj bl bm bn bo bq br bs
bt bv bw by bz ca cc cd cf cg ch ci ck cl cm cn co cr cu cv cw cx cy cz de dj dk dm do dz ec ee
eg eh er es et fi fj fk fm fo fr ga gb gd ge gf gg gh gi gl gm gn gp gq gr gs gt gu gw gy hk hm
hn hr ht hu id ie il im in io iq ir is it je jm jo jp ke kg kh ki km kn kp kr kw ky kz la lb lc
li lk lr ls lt lu lv ly ma mc md me mf mg mh mk ml mm mn mo mp mq mr ms mt mu mv mw mx my mz na
nc ne nf ng ni nl no np nr nu nz om pa pe pf pg ph pk pl pm pn pr ps pt pw py qa re ro rs ru rw
sa sb sc sd se sg sh si sj sk sl sm sn so sr ss st sv sx sy sz tc td tf tg th tj tk tl tm tn to
tr tt tv tw tz ua ug um us uy uz va vc ve vg vi vn vu wf ws ye yt za zm zw
""".split())  # noqa: SIM905
# The European Union's member states: a country among them is in the "eu" the licences name.
EU_MEMBERS = frozenset("at be bg hr cy cz dk ee fi fr de gr hu ie it lv lt lu mt nl pl pt ro sk si es se".split())  # noqa: SIM905
# Names for a region that the licences write otherwise ("gb" is the ISO code of the UK).
REGION_ALIASES = {"gb": "uk"}


def territories(values: list[str]) -> tuple[str, ...]:
    """Region codes as rules name them: ISO 3166-1 alpha-2 country codes and "eu", lower case; a
    member state brings "eu" with it. Anything else is refused: a territory no rule recognises
    would read as "none of the regions a licence withholds", a verdict resting on a typo."""
    regions: set[str] = set()
    for value in values:
        code = value.strip().lower()
        if not code:
            continue
        if len(code) != 2 or not code.isascii() or not code.isalpha():
            raise ValueError(f"unknown territory {value.strip()!r}: give region codes such as eu, uk, kr, us, de "
                             "(ISO 3166-1 alpha-2, or eu)")
        if code not in COUNTRIES and code not in ("eu", "uk"):
            raise ValueError(f"unknown territory {value.strip()!r}: give region codes such as eu, uk, kr, us, de "
                             "(ISO 3166-1 alpha-2, or eu)")
        code = REGION_ALIASES.get(code, code)
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
            f"invalid use context: {key}: {error['msg']}", where=str(config.path if config else "config"),
            fix="see docs/policies.md for the use-context keys",
        ) from None
    given = {k: v for k, v in flags.items() if v is not None}
    try:
        return base.model_copy(update=UseContext(**{**base.model_dump(), **given}).model_dump())
    except ValidationError as exc:
        error = exc.errors()[0]
        key = ".".join(str(p) for p in error["loc"])
        raise UsageError(f"invalid --{key.replace('_', '-')}: {error['msg']}") from None
