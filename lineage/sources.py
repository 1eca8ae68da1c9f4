"""Sources: what produced content (a provider's API, an open model run locally, a dataset, people)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from lineage.exceptions import UsageError
from lineage.vocabulary import CHANNELS, KINDS

Kind = Literal["api", "open-model", "dataset", "human", "web", "unknown"]
__all__ = ["CHANNELS", "KINDS", "Kind", "SourceSpec", "infer_provider"]
# Model-name prefixes that identify the maker, for rows and responses that name only a model.
# Order matters: the first matching prefix wins, so longer, more specific ones come first.
_MODEL_PREFIXES: tuple[tuple[str, str], ...] = (
    ("gpt-oss", "openai"),
    ("gpt-", "openai"),
    ("chatgpt", "openai"),
    ("o1", "openai"),
    ("o3", "openai"),
    ("o4", "openai"),
    ("text-davinci", "openai"),
    ("davinci", "openai"),
    ("claude", "anthropic"),
    ("gemini", "google"),
    ("gemma", "google"),
    ("palm", "google"),
    ("grok", "xai"),
    ("llama", "meta"),
    ("meta-llama", "meta"),
    ("codellama", "meta"),
    ("mistral", "mistral"),
    ("mixtral", "mistral"),
    ("codestral", "mistral"),
    ("ministral", "mistral"),
    ("magistral", "mistral"),
    ("pixtral", "mistral"),
    ("deepseek", "deepseek"),
    ("kimi", "moonshot"),
    ("moonshot", "moonshot"),
    ("minimax", "minimax"),
    ("abab", "minimax"),
    ("qwen", "alibaba"),
    ("qwq", "alibaba"),
    ("phi-", "microsoft"),
    ("nemotron", "nvidia"),
    ("falcon", "tii"),
    ("stablelm", "stability"),
    ("command", "cohere"),
    ("c4ai", "cohere"),
    ("aya", "cohere"),
    ("glm", "zhipu"),
    ("chatglm", "zhipu"),
)


def infer_provider(model: str) -> str | None:
    """Guess the maker from a model name such as `claude-sonnet-4-5` or `meta-llama/Llama-3.1-8B`.

    Hub-style names (`org/model`) are judged by the model part, since the org is often a re-uploader.
    """
    name = model.strip().lower()
    if "/" in name:
        name = name.rsplit("/", 1)[1]
    # Bedrock ids look like `anthropic.claude-3-5-sonnet-...` or `us.anthropic.claude-...`.
    for part in name.split("."):
        for prefix, provider in _MODEL_PREFIXES:
            if part.startswith(prefix):
                return provider
    return None


class SourceSpec(BaseModel):
    """What produced a segment. Two specs with the same fields are the same source."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Kind = "unknown"
    provider: str | None = None
    model: str | None = None
    channel: str | None = None
    license: str | None = None
    # A dataset's name, or a group of people (e.g. "annotators-2025").
    name: str | None = None

    @field_validator("provider", "channel")
    @classmethod
    def _lower(cls, value: str | None) -> str | None:
        return value.strip().lower() if value and value.strip() else None

    @field_validator("model", "license", "name")
    @classmethod
    def _strip(cls, value: str | None) -> str | None:
        return value.strip() if value and value.strip() else None

    @model_validator(mode="after")
    def _check(self) -> SourceSpec:
        if self.channel is not None and self.channel not in CHANNELS:
            raise ValueError(f"unknown channel {self.channel!r}; use one of {', '.join(CHANNELS)}")
        # A licence alone is enough for a dataset: "may we train on CC-BY-NC-4.0 data?"
        if not (self.provider or self.model or self.name or (self.license and self.kind == "dataset")):
            raise ValueError("a source needs at least a provider, a model, a name or (for a dataset) a licence")
        return self

    @classmethod
    def build(
        cls,
        *,
        kind: str | None = None,
        provider: str | None = None,
        model: str | None = None,
        channel: str | None = None,
        license: str | None = None,
        name: str | None = None,
    ) -> SourceSpec:
        """Make a spec from loose user input, filling what can be inferred.

        A model with no provider gets the provider its name implies; the kind defaults to `api`
        for a provider's model and `dataset` for a named, licensed source; an API source reached
        with no channel named is taken to be the provider's own API.
        """
        if model and not provider:
            provider = infer_provider(model)
        if kind is None:
            if model or provider:
                kind = "api"
            elif license:
                kind = "dataset"
            else:
                kind = "unknown"
        if channel is None:
            channel = {"api": "api", "open-model": "self-hosted"}.get(kind)
        try:
            return cls(kind=kind, provider=provider, model=model, channel=channel, license=license, name=name)
        except ValueError as exc:
            raise UsageError(f"invalid source: {_first_error(exc)}", fix="see `lineage import --help`") from None

    @property
    def key(self) -> str:
        """A stable text key, unique per source, used to find the source's row in the store."""
        return "|".join(
            value or "" for value in (self.kind, self.provider, self.model, self.channel, self.license, self.name)
        )

    def label(self) -> str:
        """A short human name: `anthropic/claude-sonnet-4-5 (api)` or `dolly (dataset, CC-BY-SA-3.0)`."""
        head = "/".join(p for p in (self.provider, self.model) if p) or self.name or (
            "a dataset" if self.kind == "dataset" else "?")
        if self.name and (self.provider or self.model):
            head += f" [{self.name}]"
        extra = [self.kind]
        if self.channel and self.channel != self.kind:
            extra.append(self.channel)
        if self.license:
            extra.append(self.license)
        return f"{head} ({', '.join(extra)})"


def _first_error(exc: Exception) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        first = errors()[0]
        loc = ".".join(str(p) for p in first.get("loc", ()))
        msg = str(first.get("msg", exc)).removeprefix("Value error, ")
        return f"{loc}: {msg}" if loc else msg
    return str(exc)
