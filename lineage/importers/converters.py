"""Converters: from one record of an input file to the segments it holds and their sources."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from lineage.exceptions import LayoutError
from lineage.importers.base import Attributed, Converter, SkipRecord
from lineage.segments import extract_segments
from lineage.sources import SourceSpec
from lineage.timeutil import parse_time


def fixed_source(
    source: SourceSpec,
    *,
    generated_at: datetime | None = None,
    layout: str | None = None,
    mapping: Mapping[str, str] | None = None,
) -> Converter:
    """Every record's segments come from one source named by the user."""

    def convert(data: dict[str, Any]) -> Iterable[Attributed]:
        return (Attributed(source, extract_segments(data, layout=layout, mapping=mapping), generated_at),)

    return convert


@dataclass(frozen=True)
class SourceColumns:
    """Columns that name each row's source, as synthetic-data tools write them."""

    model: str | None = None
    provider: str | None = None
    generated_at: str | None = None

    def __bool__(self) -> bool:
        return bool(self.model or self.provider or self.generated_at)


def per_row_source(
    columns: SourceColumns,
    base: SourceSpec | None,
    base_fields: Mapping[str, str | None],
    *,
    generated_at: datetime | None = None,
    layout: str | None = None,
    mapping: Mapping[str, str] | None = None,
) -> Converter:
    """Each row names its model (and maybe provider and time) in columns; flags fill the rest.

    A row whose columns are empty falls back to the source given by flags, if any.
    """
    specs: dict[tuple[Any, Any], SourceSpec] = {}

    def source_for(data: dict[str, Any]) -> SourceSpec | None:
        model = _name(data, columns.model)
        provider = _name(data, columns.provider)
        if not model and not provider:
            return base
        key = (provider, model)
        spec = specs.get(key)
        if spec is None:
            fields = {**base_fields, "model": model or base_fields.get("model")}
            if provider:
                fields["provider"] = provider
            elif model:
                # The flag's provider is a default for rows, not an override of what a row's model implies.
                fields["provider"] = None
            spec = SourceSpec.build(**fields)
            if spec.provider is None and base_fields.get("provider"):
                spec = SourceSpec.build(**{**fields, "provider": base_fields["provider"]})
            specs[key] = spec
        return spec

    def convert(data: dict[str, Any]) -> Iterable[Attributed]:
        when = generated_at
        if columns.generated_at:
            value = _column(data, columns.generated_at)
            if value is not None:
                when = _time(value, f"column {columns.generated_at!r}")
        source = source_for(data)
        segments = extract_segments(data, layout=layout, mapping=mapping)
        if source is None:
            raise SkipRecord(f"no source in column {columns.model or columns.provider!r}")
        return (Attributed(source, segments, when),)

    return convert


def _column(data: Mapping[str, Any], name: str | None) -> Any:
    """A column's value; dotted names reach into nested objects (`_lineage.model`)."""
    if not name:
        return None
    value: Any = data
    for part in name.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    if isinstance(value, str):
        return value.strip() or None
    if value is None or (isinstance(value, (int, float)) and not isinstance(value, bool)):
        return value
    raise LayoutError(f"column {name!r} holds {type(value).__name__} where text or a number was expected")


def _name(data: Mapping[str, Any], name: str | None) -> str | None:
    """A column that names something (a model, a provider): text, never a number."""
    value = _column(data, name)
    return None if value is None else str(value)


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise LayoutError(f"{what} is {type(value).__name__ if value is not None else 'missing'}, not text")
    return value


def _time(value: Any, what: str) -> datetime | None:
    try:
        return parse_time(value)
    except ValueError as exc:
        raise LayoutError(f"{what}: {exc}") from None


def _objects(value: Any, what: str) -> list[Mapping[str, Any]]:
    """A list of JSON objects, or a LayoutError naming what was expected."""
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, Mapping) for item in value):
        raise LayoutError(f"{what} should be a list of objects")
    return value


# -- OpenAI Batch API output files ------------------------------------------------------------


def _api_sources(provider: str, channel: str) -> Callable[[str], SourceSpec]:
    """One source per model a provider's batch file names, built once per model."""
    specs: dict[str, SourceSpec] = {}

    def source_for(model: str) -> SourceSpec:
        spec = specs.get(model)
        if spec is None:
            spec = specs[model] = SourceSpec.build(kind="api", provider=provider, model=model, channel=channel)
        return spec

    return source_for


def openai_batch(*, channel: str = "batch-api") -> Converter:
    """Lines of an OpenAI Batch API output file: one response per request.

    The response body is a chat completion, a Responses API response or a legacy completion;
    the model is the one the body reports, the time its `created`/`created_at`, and the
    external id the line's `custom_id` (the key that joins it to the request file).
    """
    source_for = _api_sources("openai", channel)

    def convert(data: dict[str, Any]) -> Iterable[Attributed]:
        if "response" not in data and "error" not in data:
            raise LayoutError("not an OpenAI batch output line (no response or error)")
        response = data.get("response")
        if data.get("error") or not isinstance(response, dict):
            raise SkipRecord("failed request")
        if response.get("status_code", 200) != 200:
            raise SkipRecord(f"failed request (HTTP {response.get('status_code')})")
        body = response.get("body")
        if not isinstance(body, dict):
            raise LayoutError("an OpenAI batch line without response.body")
        spec = source_for(_text(body.get("model"), "the response's model"))
        when = _time(body.get("created") or body.get("created_at"), "the response's created time")
        external = data.get("custom_id") or response.get("request_id") or body.get("id")
        return (Attributed(spec, openai_body_segments(body), when, None if external is None else str(external)),)

    return convert


def openai_body_segments(body: Mapping[str, Any]) -> list:
    """Completion-side segments of an OpenAI response body (any of its three shapes)."""
    kind = body.get("object")
    if kind == "chat.completion" or ("choices" in body and kind != "text_completion"):
        choices = _objects(body.get("choices"), "the response's choices")
        return _assistant_segments(
            [_objects([c.get("message") or {}], "a choice's message")[0] for c in choices]
        )
    if kind == "response" or "output" in body:
        return _assistant_segments([_responses_message(_objects(body.get("output"), "the response's output"))])
    if kind == "text_completion":
        choices = [{"text": choice.get("text")} for choice in _objects(body.get("choices"), "the response's choices")]
        return [s for c in choices if c["text"] for s in extract_segments(c, mapping=_LEGACY_COMPLETION)]
    if kind in ("list", "embedding"):
        raise SkipRecord("embeddings carry no text")
    raise LayoutError(f"an OpenAI response body of unknown type {kind!r}")


# A legacy completion's text is a completion, whatever extract_segments would call a bare `text`.
_LEGACY_COMPLETION = {"completion": "text"}


def _responses_message(output: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Fold Responses API output items into one chat-style assistant message."""
    parts: list[dict[str, Any]] = []
    tool_calls: list[dict[str, Any]] = []
    reasoning: list[str] = []
    for item in output:
        kind = item.get("type")
        if kind == "message":
            parts.extend(
                {"type": "text", "text": part.get("text", "")}
                for part in _objects(item.get("content"), "a message's content")
                if part.get("type") in ("output_text", "text")
            )
        elif kind == "function_call":
            tool_calls.append({"type": "function", "function": {"name": item.get("name"), "arguments": item.get("arguments")}})
        elif kind == "reasoning":
            summary = _objects(item.get("summary"), "a reasoning item's summary")
            reasoning.extend(str(part["text"]) for part in summary if part.get("text"))
    message: dict[str, Any] = {"role": "assistant", "content": parts}
    if tool_calls:
        message["tool_calls"] = tool_calls
    if reasoning:
        message["reasoning_content"] = "\n\n".join(reasoning)
    return message


def _assistant_segments(messages: list[Mapping[str, Any]]) -> list:
    messages = [{**m, "role": m.get("role") or "assistant"} for m in messages if m]
    if not messages:
        return []
    return extract_segments({"messages": messages}, layout="openai-chat")


# -- Anthropic Message Batches result files ---------------------------------------------------


def anthropic_batch(*, channel: str = "batch-api", generated_at: datetime | None = None) -> Converter:
    """Lines of an Anthropic Message Batches results file: `{custom_id, result}`.

    Results carry no time of generation; it comes from `--generated-at` when given.
    """
    source_for = _api_sources("anthropic", channel)

    def convert(data: dict[str, Any]) -> Iterable[Attributed]:
        result = data.get("result")
        if not isinstance(result, dict):
            raise LayoutError("an Anthropic batch line without a result")
        if result.get("type") != "succeeded":
            raise SkipRecord(f"{result.get('type', 'unknown')} request")
        message = result.get("message")
        if not isinstance(message, dict):
            raise LayoutError("a succeeded Anthropic batch result without a message")
        spec = source_for(_text(message.get("model"), "the message's model"))
        content = message.get("content") or []
        if isinstance(content, str):
            content = [{"type": "text", "text": content}]
        segments = extract_segments({"messages": [{"role": "assistant", "content": content}]}, layout="openai-chat")
        external = data.get("custom_id") or message.get("id")
        return (Attributed(spec, segments, generated_at, None if external is None else str(external)),)

    return convert


def sniff_kind(data: Mapping[str, Any]) -> str:
    """Which import a first record calls for: `openai-batch`, `anthropic-batch` or `dataset`."""
    if "custom_id" in data:
        response = data.get("response")
        if (isinstance(response, dict) and "body" in response) or ("error" in data and "response" in data):
            return "openai-batch"
        if isinstance(data.get("result"), dict):
            return "anthropic-batch"
    return "dataset"

