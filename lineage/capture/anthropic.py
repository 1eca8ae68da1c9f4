"""Record every response an official Anthropic SDK client returns.

    import anthropic
    from lineage.capture.anthropic import record_anthropic

    with store.capture() as run:
        client = record_anthropic(anthropic.Anthropic(), run)
        client.messages.create(model="claude-sonnet-4-5", max_tokens=1024, messages=[...])

Covered, on the client passed in (and only on it): `messages.create` (also with `stream=True`),
`messages.parse`, and the `messages.stream(...)` context manager. Async clients likewise, and the
Bedrock / Vertex / Foundry clients. See docs/capture.md for what is not covered.
"""

from __future__ import annotations

import functools
import json
from typing import Any

from lineage.capture._common import (
    STATE_ATTR,
    Captured,
    Recorder,
    StreamTap,
    Texts,
    attach,
    channel_from_class,
    check_channel,
    content_texts,
    get,
    message_prompts,
    patch_copies,
    patch_method,
    require_run,
    tap_async_stream,
    tap_sync_stream,
    text_or_none,
    warn,
)
from lineage.capture.run import CaptureRun
from lineage.exceptions import UsageError

__all__ = ["record_anthropic"]

PROVIDER = "anthropic"
# By class name, without the `Async` prefix. `AnthropicAWS` and `AnthropicGoogleCloud` (Anthropic's
# own API billed through a cloud marketplace) are Anthropic's API, so they keep the default `api`.
_CLASS_CHANNELS = {
    "AnthropicBedrock": "bedrock",
    "AnthropicBedrockMantle": "bedrock",
    "AnthropicVertex": "vertex",
    "AnthropicFoundry": "azure",
}
_TOOL_USE_TYPES = ("tool_use", "server_tool_use")
_PROMPT_PARTS = ("text",)


def record_anthropic(client: Any, run: CaptureRun, *, channel: str | None = None) -> Any:
    """Instrument `client` (`anthropic.Anthropic`, `AsyncAnthropic` or a cloud variant) and return it.

    Every message its covered methods return is recorded in `run`, attributed to
    `anthropic/<model the response names>` on `channel` (by default `api`, or `bedrock` / `vertex` /
    `azure` for `AnthropicBedrock` / `AnthropicVertex` / `AnthropicFoundry`). Only this client changes.
    """
    require_run(run)
    from_sdk = any(cls.__module__.split(".")[0] == "anthropic" for cls in type(client).__mro__)
    if not from_sdk or getattr(client, "messages", None) is None:
        raise UsageError(
            f"record_anthropic() needs an Anthropic SDK client, got {type(client).__name__}",
            fix="pass anthropic.Anthropic(...) or anthropic.AsyncAnthropic(...)",
        )
    channel = check_channel(PROVIDER, channel or channel_from_class(client, _CLASS_CHANNELS) or "api")
    return attach(client, run, PROVIDER, channel, _instrument)


def _instrument(client: Any, recorder: Recorder) -> None:
    import anthropic

    is_async = isinstance(client, anthropic.AsyncAnthropic) or any(
        cls.__name__ == "AsyncAPIClient" for cls in type(client).__mro__
    )
    messages = client.messages
    after = _after(recorder)
    for name in ("create", "parse"):
        patch_method(messages, name, is_async=is_async, after=after, what="message")
    _patch_stream_helper(messages, recorder, is_async=is_async)
    patch_copies(client, lambda copied: _instrument(copied, recorder))
    setattr(client, STATE_ATTR, recorder)


def _after(recorder: Recorder) -> Any:
    def after(result: Any, kwargs: dict[str, Any]) -> None:
        import anthropic
        from anthropic.types import Message

        if isinstance(result, (anthropic.Stream, anthropic.AsyncStream)):
            _tap(result, recorder, kwargs)
        elif isinstance(result, Message):
            prompts = _prompts(kwargs) if recorder.run.prompt_source is not None else []
            recorder.record(
                _extract(result),
                request_id=getattr(result, "_request_id", None),
                requested_model=kwargs.get("model"),
                prompts=prompts,
            )
        # Anything else (e.g. a raw response from `.with_raw_response`) is not recorded.

    return after


def _tap(stream: Any, recorder: Recorder, kwargs: dict[str, Any]) -> None:
    import anthropic

    prompts = _prompts(kwargs) if recorder.run.prompt_source is not None else []
    request_id = stream.response.headers.get("request-id")
    acc = _MessageStream()

    def finish() -> None:
        captured = acc.captured()
        if captured is not None:
            recorder.record(
                captured, request_id=request_id, requested_model=kwargs.get("model"), prompts=prompts
            )

    tap = StreamTap("a streamed message", acc.add, finish)
    if isinstance(stream, anthropic.AsyncStream):
        tap_async_stream(stream, tap)
    else:
        tap_sync_stream(stream, tap)


def _tool_use_text(block: Any) -> str | None:
    name = get(block, "name")
    if not isinstance(name, str) or not name:
        return None
    return f"{name}({json.dumps(get(block, 'input'), sort_keys=True, ensure_ascii=False)})"


def _block_output(block: Any) -> tuple[str, str] | None:
    kind = get(block, "type")
    if kind == "text":
        text = text_or_none(get(block, "text"))
        return ("assistant", text) if text else None
    if kind == "thinking":
        text = text_or_none(get(block, "thinking"))
        return ("reasoning", text) if text else None
    if kind in _TOOL_USE_TYPES:
        text = _tool_use_text(block)
        return ("tool_call", text) if text else None
    return None


def _extract(message: Any) -> Captured:
    outputs = [out for out in map(_block_output, get(message, "content") or ()) if out is not None]
    # Messages carry no creation time: the recording time (now) is used.
    return Captured(outputs, get(message, "model"), None, get(message, "id"))


def _prompts(kwargs: dict[str, Any]) -> Texts:
    prompts: Texts = [("system", text) for text in content_texts(kwargs.get("system"), _PROMPT_PARTS)]
    prompts.extend(message_prompts(kwargs.get("messages"), _PROMPT_PARTS))
    return prompts


class _MessageStream:
    """Accumulates raw message stream events (`message_start`, `content_block_*`, ...)."""

    def __init__(self) -> None:
        self.model: str | None = None
        self.id: str | None = None
        self.started = False
        # index -> {"type", "text" pieces, "name", "input", "json" pieces}
        self.blocks: dict[int, dict[str, Any]] = {}

    def add(self, event: Any) -> None:
        kind = get(event, "type")
        if kind == "message_start":
            self.started = True
            message = get(event, "message")
            self.model = get(message, "model") or self.model
            self.id = get(message, "id") or self.id
            for index, block in enumerate(get(message, "content") or ()):
                self._start(index, block)
        elif kind == "content_block_start":
            self._start(get(event, "index") or 0, get(event, "content_block"))
        elif kind == "content_block_delta":
            block = self.blocks.get(get(event, "index") or 0)
            delta = get(event, "delta")
            if block is None or delta is None:
                return
            delta_type = get(delta, "type")
            if delta_type == "text_delta":
                block["pieces"].append(get(delta, "text") or "")
            elif delta_type == "thinking_delta":
                block["pieces"].append(get(delta, "thinking") or "")
            elif delta_type == "input_json_delta":
                block["json"].append(get(delta, "partial_json") or "")

    def _start(self, index: int, block: Any) -> None:
        kind = get(block, "type")
        first = get(block, "thinking") if kind == "thinking" else get(block, "text")
        self.blocks[index] = {
            "type": kind,
            "pieces": [first] if isinstance(first, str) else [],
            "name": get(block, "name"),
            "input": get(block, "input"),
            "json": [],
        }

    def captured(self) -> Captured | None:
        if not self.started:
            return None
        outputs: Texts = []
        for index in sorted(self.blocks):
            block = self.blocks[index]
            if block["type"] in _TOOL_USE_TYPES:
                raw = "".join(block["json"])
                if raw.strip():
                    try:
                        block_input = json.loads(raw)
                    except ValueError:
                        # The stream ended inside the arguments: there is no whole tool call.
                        continue
                else:
                    block_input = block["input"] if block["input"] is not None else {}
                out = _block_output({"type": block["type"], "name": block["name"], "input": block_input})
            else:
                out = _block_output(
                    {
                        "type": block["type"],
                        "text": "".join(block["pieces"]),
                        "thinking": "".join(block["pieces"]),
                    }
                )
            if out is not None:
                outputs.append(out)
        return Captured(outputs, self.model, None, self.id)


# -- messages.stream(...) --------------------------------------------------------------------------


def _patch_stream_helper(messages: Any, recorder: Recorder, *, is_async: bool) -> None:
    """Wrap `messages.stream`, which posts by itself rather than through `create`.

    The manager it returns is handed back inside a thin proxy whose `__enter__` taps the raw event
    stream under the SDK's `MessageStream`; the caller still gets the SDK's own `MessageStream`.
    """
    original = getattr(messages, "stream", None)
    if original is None or not callable(original):
        return

    @functools.wraps(original)
    def stream(*args: Any, **kwargs: Any) -> Any:
        manager = original(*args, **kwargs)
        return (
            _AsyncManager(manager, recorder, kwargs) if is_async else _SyncManager(manager, recorder, kwargs)
        )

    messages.stream = stream


class _Manager:
    def __init__(self, manager: Any, recorder: Recorder, kwargs: dict[str, Any]) -> None:
        self._manager = manager
        self._recorder = recorder
        self._kwargs = kwargs

    def _tap_message_stream(self, message_stream: Any) -> None:
        try:
            _tap(message_stream._raw_stream, self._recorder, self._kwargs)
        except Exception as exc:
            warn("a message stream", exc)

    def __getattr__(self, name: str) -> Any:
        if name == "_manager":
            raise AttributeError(name)
        return getattr(self._manager, name)


class _SyncManager(_Manager):
    def __enter__(self) -> Any:
        message_stream = self._manager.__enter__()
        self._tap_message_stream(message_stream)
        return message_stream

    def __exit__(self, *exc: Any) -> Any:
        return self._manager.__exit__(*exc)


class _AsyncManager(_Manager):
    async def __aenter__(self) -> Any:
        message_stream = await self._manager.__aenter__()
        self._tap_message_stream(message_stream)
        return message_stream

    async def __aexit__(self, *exc: Any) -> Any:
        return await self._manager.__aexit__(*exc)
