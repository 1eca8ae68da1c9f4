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
)


class UseContext(BaseModel):
    """What the trained model and the dataset are for.

    The defaults are the stricter reading where it matters: a commercial fine-tune.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    purpose: Purpose = "fine-tune"
    commercial: bool = True
    # Providers whose products the trained model competes with; "*" for a general assistant.
    competes_with: tuple[str, ...] = ()
    # The model the training starts from (a Llama 3 derivative may learn from Llama 3 outputs).
    base_model: str | None = None
    distribute_model: bool = False
    model_name: str | None = None
    publish_dataset: bool = False
    model_type: ModelType = "generative"

    @field_validator("competes_with", mode="before")
    @classmethod
    def _providers(cls, value: Any) -> tuple[str, ...]:
        if value is None:
            return ()
        if isinstance(value, str):
            value = [value]
        return tuple(sorted({str(v).strip().lower() for v in value if str(v).strip()}))

    def competes(self, providers: list[str]) -> bool:
        return "*" in self.competes_with or any(p.lower() in self.competes_with for p in providers)

    def to_dict(self) -> dict[str, Any]:
        return {**self.model_dump(), "competes_with": list(self.competes_with)}


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
