"""Waivers: recorded authorisations that lift a rule for a scope, counted and never silent."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from lineage.exceptions import ConfigError
from lineage.sources import SourceSpec


class WaiverScope(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    provider: str | None = None
    model: str | None = None
    kind: str | None = None
    # A dataset or group name (a source's `name`).
    name: str | None = None

    def matches(self, source: SourceSpec) -> bool:
        for key in ("provider", "model", "kind", "name"):
            wanted = getattr(self, key)
            if wanted is not None and (getattr(source, key) or "").lower() != wanted.lower():
                return False
        return True


class Waiver(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    codes: list[str] = Field(min_length=1)
    scope: WaiverScope = Field(default_factory=WaiverScope)
    approved_by: str
    reference: str
    expires: date | None = None
    reason: str | None = None

    @field_validator("codes")
    @classmethod
    def _upper(cls, codes: list[str]) -> list[str]:
        return [code.strip().upper() for code in codes]

    def expired(self, today: date) -> bool:
        return self.expires is not None and self.expires < today

    def to_dict(self) -> dict[str, object]:
        return {**self.model_dump(mode="json")}


class WaiverFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    waivers: list[Waiver] = Field(default_factory=list)


def load_waivers(path: str | Path) -> list[Waiver]:
    # The same reading and YAML handling as policy files.
    from lineage.policy.loader import parse_yaml, read_yaml_text, validation_error

    path = Path(path)
    text = read_yaml_text(path, "waivers file", "check the path in --waivers")
    data = parse_yaml(text, path) or {}
    try:
        waivers = WaiverFile.model_validate(data).waivers
    except ValidationError as exc:
        raise validation_error(exc, text, path, WaiverFile, "invalid waiver", "see docs/policies.md#waivers") from None
    ids = [w.id for w in waivers]
    duplicate = next((i for i in ids if ids.count(i) > 1), None)
    if duplicate:
        raise ConfigError(f"waiver {duplicate!r} is defined twice", where=str(path))
    return waivers
