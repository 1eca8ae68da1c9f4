"""Record every response an official OpenAI SDK client returns.

    import openai
    from lineage.capture.openai import record_openai

    with store.capture() as run:
        client = record_openai(openai.OpenAI(), run)
        client.chat.completions.create(model="gpt-4o", messages=[...])

Covered, on the client passed in (and only on it): `chat.completions.create` (also with
`stream=True`), `chat.completions.parse` and `.stream`, `responses.create` (also streamed),
`responses.parse` and `.stream`, and the legacy `completions.create` (also streamed). Async
clients likewise. See docs/capture.md for what is not covered.
"""

from __future__ import annotations

from typing import Any, Protocol

from lineage.capture._common import (
    STATE_ATTR,
    Captured,
    Recorder,
    StreamTap,
    Texts,
    attach,
    channel_from_class,
    check_channel,
    epoch_to_utc,
    get,
    message_prompts,
    patch_copies,
    patch_method,
    require_run,
    tap_async_stream,
    tap_sync_stream,
    text_or_none,
)
from lineage.capture.run import CaptureRun
from lineage.exceptions import UsageError

__all__ = ["record_openai"]

PROVIDER = "openai"
_CLASS_CHANNELS = {"AzureOpenAI": "azure", "BedrockOpenAI": "bedrock"}
# Names of the SDK's `provider=` factories (openai.providers.bedrock / .vertex) that are channels.
_PROVIDER_CHANNELS = {"bedrock": "bedrock", "vertex": "vertex", "azure": "azure"}
_PROMPT_PARTS = ("text", "input_text")


def record_openai(client: Any, run: CaptureRun, *, channel: str | None = None) -> Any:
    """Instrument `client` (an `openai.OpenAI`, `AsyncOpenAI` or Azure/Bedrock variant) and return it.

    Every response its covered methods return is recorded in `run`, attributed to
    `openai/<model the response names>` on `channel` (by default `api`, or `azure` / `bedrock` /
    `vertex` when the client is one of those). Only this client instance changes.
    """
    import openai

    require_run(run)
    if not isinstance(client, (openai.OpenAI, openai.AsyncOpenAI)):
        raise UsageError(
            f"record_openai() needs an OpenAI SDK client, got {type(client).__name__}",
            fix="pass openai.OpenAI(...) or openai.AsyncOpenAI(...)",
        )
    channel = check_channel(PROVIDER, channel or _detect_channel(client))
    return attach(client, run, PROVIDER, channel, _instrument)


def _instrument(client: Any, recorder: Recorder) -> None:
    import openai

    is_async = isinstance(client, openai.AsyncOpenAI)
    endpoints = (
        (("chat", "completions"), ("create", "parse"), "chat completion", _chat),
        (("responses",), ("create", "parse"), "response", _responses),
        (("completions",), ("create",), "completion", _legacy),
    )
    for path, names, what, endpoint in endpoints:
        resource = _resource(client, *path)
        for name in names:
            patch_method(resource, name, is_async=is_async, after=_after(recorder, what, endpoint), what=what)
    patch_copies(client, lambda copied: _instrument(copied, recorder))
    setattr(client, STATE_ATTR, recorder)


def _resource(client: Any, *path: str) -> Any:
    obj = client
    for name in path:
        obj = getattr(obj, name, None)
        if obj is None:
            return None
    return obj


def _detect_channel(client: Any) -> str:
    by_class = channel_from_class(client, _CLASS_CHANNELS)
    if by_class:
        return by_class
    runtime = getattr(client, "_provider_runtime", None)
    name = getattr(runtime, "name", None)
    if isinstance(name, str) and name.lower() in _PROVIDER_CHANNELS:
        return _PROVIDER_CHANNELS[name.lower()]
    return "api"


class _Endpoint(Protocol):
    """How to read one endpoint: its response type, its stream accumulator and its prompts."""

    def response_type(self) -> type: ...

    def extract(self, response: Any) -> Captured: ...

    def accumulator(self) -> Any: ...

    def prompts(self, kwargs: dict[str, Any]) -> Texts: ...


def _after(recorder: Recorder, what: str, endpoint: _Endpoint) -> Any:
    def after(result: Any, kwargs: dict[str, Any]) -> None:
        import openai

        prompts = endpoint.prompts(kwargs) if recorder.run.prompt_source is not None else []
        requested = kwargs.get("model")
        if isinstance(result, (openai.Stream, openai.AsyncStream)):
            request_id = result.response.headers.get("x-request-id")
            acc = endpoint.accumulator()

            def finish() -> None:
                captured = acc.captured()
                if captured is not None:
                    recorder.record(
                        captured, request_id=request_id, requested_model=requested, prompts=prompts
                    )

            tap = StreamTap(f"a streamed {what}", acc.add, finish)
            if isinstance(result, openai.AsyncStream):
                tap_async_stream(result, tap)
            else:
                tap_sync_stream(result, tap)
        elif isinstance(result, endpoint.response_type()):
            captured = endpoint.extract(result)
            request_id = getattr(result, "_request_id", None)
            recorder.record(captured, request_id=request_id, requested_model=requested, prompts=prompts)
        # Anything else (e.g. a raw response from `.with_raw_response`) is not recorded.

    return after


def _tool_call_text(name: Any, arguments: Any) -> str | None:
    if not isinstance(name, str) or not name:
        return None
    return f"{name}({arguments if isinstance(arguments, str) else ''})"


# -- chat completions ------------------------------------------------------------------------------


class _ChatEndpoint:
    def response_type(self) -> type:
        from openai.types.chat import ChatCompletion

        return ChatCompletion

    def extract(self, response: Any) -> Captured:
        outputs: Texts = []
        for choice in response.choices or ():
            message = choice.message
            if message is None:
                continue
            outputs.extend(_message_outputs(message))
        return Captured(outputs, response.model, epoch_to_utc(response.created), response.id)

    def accumulator(self) -> _ChatStream:
        return _ChatStream()

    def prompts(self, kwargs: dict[str, Any]) -> Texts:
        return message_prompts(kwargs.get("messages"), _PROMPT_PARTS)


def _message_outputs(message: Any) -> Texts:
    outputs: Texts = []
    reasoning = text_or_none(get(message, "reasoning_content"))
    if reasoning:
        outputs.append(("reasoning", reasoning))
    for field in ("content", "refusal"):
        text = text_or_none(get(message, field))
        if text:
            outputs.append(("assistant", text))
    for call in get(message, "tool_calls") or ():
        kind = get(call, "type")
        if kind == "custom":
            custom = get(call, "custom")
            text = _tool_call_text(get(custom, "name"), get(custom, "input"))
        else:
            function = get(call, "function")
            text = _tool_call_text(get(function, "name"), get(function, "arguments"))
        if text:
            outputs.append(("tool_call", text))
    function_call = get(message, "function_call")
    if function_call is not None:
        text = _tool_call_text(get(function_call, "name"), get(function_call, "arguments"))
        if text:
            outputs.append(("tool_call", text))
    return outputs


class _ChoiceParts:
    def __init__(self) -> None:
        self.reasoning: list[str] = []
        self.content: list[str] = []
        self.refusal: list[str] = []
        # index -> [name, argument pieces]
        self.tool_calls: dict[int, list[Any]] = {}
        self.function_call: list[Any] = ["", []]


class _ChatStream:
    """Accumulates `ChatCompletionChunk`s into what the whole completion said."""

    def __init__(self) -> None:
        self.model: str | None = None
        self.id: str | None = None
        self.created: Any = None
        self.choices: dict[int, _ChoiceParts] = {}

    def add(self, chunk: Any) -> None:
        # The last chunk's model and id win: the final word on what served the request.
        self.model = get(chunk, "model") or self.model
        self.id = get(chunk, "id") or self.id
        self.created = get(chunk, "created") or self.created
        for choice in get(chunk, "choices") or ():
            delta = get(choice, "delta")
            if delta is None:
                continue
            parts = self.choices.setdefault(get(choice, "index") or 0, _ChoiceParts())
            for name, bucket in (
                ("reasoning_content", parts.reasoning),
                ("content", parts.content),
                ("refusal", parts.refusal),
            ):
                piece = get(delta, name)
                if isinstance(piece, str):
                    bucket.append(piece)
            for call in get(delta, "tool_calls") or ():
                slot = parts.tool_calls.setdefault(get(call, "index") or 0, ["", []])
                _add_call_delta(slot, get(call, "function"))
            function_call = get(delta, "function_call")
            if function_call is not None:
                _add_call_delta(parts.function_call, function_call)

    def captured(self) -> Captured | None:
        if self.model is None and not self.choices:
            return None
        outputs: Texts = []
        for index in sorted(self.choices):
            parts = self.choices[index]
            message: dict[str, Any] = {
                "reasoning_content": "".join(parts.reasoning),
                "content": "".join(parts.content),
                "refusal": "".join(parts.refusal),
                "tool_calls": [
                    {"type": "function", "function": {"name": name, "arguments": "".join(pieces)}}
                    for name, pieces in (parts.tool_calls[i] for i in sorted(parts.tool_calls))
                ],
            }
            if parts.function_call[0]:
                message["function_call"] = {
                    "name": parts.function_call[0],
                    "arguments": "".join(parts.function_call[1]),
                }
            outputs.extend(_message_outputs(message))
        return Captured(outputs, self.model, epoch_to_utc(self.created), self.id)


def _add_call_delta(slot: list[Any], function: Any) -> None:
    if function is None:
        return
    name = get(function, "name")
    # The name comes whole in the first delta; some servers repeat it, so it is not concatenated.
    if isinstance(name, str) and name and not slot[0]:
        slot[0] = name
    arguments = get(function, "arguments")
    if isinstance(arguments, str):
        slot[1].append(arguments)


# -- responses -------------------------------------------------------------------------------------


class _ResponsesEndpoint:
    def response_type(self) -> type:
        from openai.types.responses import Response

        return Response

    def extract(self, response: Any) -> Captured:
        outputs: Texts = []
        for item in get(response, "output") or ():
            outputs.extend(_item_outputs(item))
        return Captured(
            outputs, get(response, "model"), epoch_to_utc(get(response, "created_at")), get(response, "id")
        )

    def accumulator(self) -> _ResponsesStream:
        return _ResponsesStream(self)

    def prompts(self, kwargs: dict[str, Any]) -> Texts:
        prompts: Texts = []
        instructions = kwargs.get("instructions")
        if isinstance(instructions, str):
            prompts.append(("system", instructions))
        request_input = kwargs.get("input")
        if isinstance(request_input, str):
            prompts.append(("user", request_input))
        elif isinstance(request_input, (list, tuple)):
            messages = [item for item in request_input if get(item, "type") in (None, "message")]
            prompts.extend(message_prompts(messages, _PROMPT_PARTS))
        return prompts


def _item_outputs(item: Any) -> Texts:
    kind = get(item, "type")
    outputs: Texts = []
    if kind == "message":
        for part in get(item, "content") or ():
            field = {"output_text": "text", "refusal": "refusal"}.get(get(part, "type"))
            text = text_or_none(get(part, field)) if field else None
            if text:
                outputs.append(("assistant", text))
    elif kind == "function_call":
        text = _tool_call_text(get(item, "name"), get(item, "arguments"))
        if text:
            outputs.append(("tool_call", text))
    elif kind == "custom_tool_call":
        text = _tool_call_text(get(item, "name"), get(item, "input"))
        if text:
            outputs.append(("tool_call", text))
    elif kind == "reasoning":
        for part in [*(get(item, "summary") or ()), *(get(item, "content") or ())]:
            text = text_or_none(get(part, "text"))
            if text:
                outputs.append(("reasoning", text))
    return outputs


_FINAL_EVENTS = ("response.completed", "response.incomplete", "response.failed")
_START_EVENTS = ("response.created", "response.in_progress", "response.queued")


class _ResponsesStream:
    """Accumulates Responses stream events.

    The final event (`response.completed`, `.incomplete` or `.failed`) carries the whole response,
    which is what is recorded. A stream closed before it records the output items already marked
    done, and the text of the message parts still being written.
    """

    def __init__(self, endpoint: _ResponsesEndpoint) -> None:
        self.endpoint = endpoint
        self.final: Any = None
        self.latest: Any = None
        self.done_items: dict[int, Any] = {}
        self.text: dict[int, list[str]] = {}

    def add(self, event: Any) -> None:
        kind = get(event, "type")
        if kind in _FINAL_EVENTS:
            self.final = get(event, "response")
        elif kind in _START_EVENTS:
            self.latest = get(event, "response")
        elif kind == "response.output_item.done":
            self.done_items[get(event, "output_index") or 0] = get(event, "item")
        elif kind == "response.output_text.delta":
            delta = get(event, "delta")
            if isinstance(delta, str):
                self.text.setdefault(get(event, "output_index") or 0, []).append(delta)

    def captured(self) -> Captured | None:
        if self.final is not None:
            return self.endpoint.extract(self.final)
        if self.latest is None and not self.done_items and not self.text:
            return None
        outputs: Texts = []
        for index in sorted({*self.done_items, *self.text}):
            if index in self.done_items:
                outputs.extend(_item_outputs(self.done_items[index]))
            else:
                text = text_or_none("".join(self.text[index]))
                if text:
                    outputs.append(("assistant", text))
        latest = self.latest
        return Captured(
            outputs,
            get(latest, "model") if latest is not None else None,
            epoch_to_utc(get(latest, "created_at")) if latest is not None else None,
            get(latest, "id") if latest is not None else None,
        )


# -- legacy completions ----------------------------------------------------------------------------


class _LegacyEndpoint:
    def response_type(self) -> type:
        from openai.types import Completion

        return Completion

    def extract(self, response: Any) -> Captured:
        outputs: Texts = []
        for choice in response.choices or ():
            text = text_or_none(get(choice, "text"))
            if text:
                outputs.append(("completion", text))
        return Captured(outputs, response.model, epoch_to_utc(response.created), response.id)

    def accumulator(self) -> _LegacyStream:
        return _LegacyStream()

    def prompts(self, kwargs: dict[str, Any]) -> Texts:
        prompt = kwargs.get("prompt")
        if isinstance(prompt, str):
            return [("prompt", prompt)]
        if isinstance(prompt, (list, tuple)):
            return [("prompt", p) for p in prompt if isinstance(p, str)]
        return []


class _LegacyStream:
    def __init__(self) -> None:
        self.model: str | None = None
        self.id: str | None = None
        self.created: Any = None
        self.texts: dict[int, list[str]] = {}

    def add(self, chunk: Any) -> None:
        self.model = get(chunk, "model") or self.model
        self.id = get(chunk, "id") or self.id
        self.created = get(chunk, "created") or self.created
        for choice in get(chunk, "choices") or ():
            text = get(choice, "text")
            if isinstance(text, str):
                self.texts.setdefault(get(choice, "index") or 0, []).append(text)

    def captured(self) -> Captured | None:
        if self.model is None and not self.texts:
            return None
        outputs: Texts = []
        for index in sorted(self.texts):
            text = text_or_none("".join(self.texts[index]))
            if text:
                outputs.append(("completion", text))
        return Captured(outputs, self.model, epoch_to_utc(self.created), self.id)


_chat = _ChatEndpoint()
_responses = _ResponsesEndpoint()
_legacy = _LegacyEndpoint()
