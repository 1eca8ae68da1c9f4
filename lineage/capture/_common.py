"""Shared plumbing for the SDK wrappers in `lineage.capture.openai` and `lineage.capture.anthropic`.

The wrappers replace a few methods on one client's own resource objects (never on a class), record
what each call returned, and hand the SDK's own return value back untouched. Recording never breaks
a call: anything that goes wrong while recording is logged on the `lineage.capture` logger.
"""

from __future__ import annotations

import functools
import logging
import weakref
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from lineage.exceptions import UsageError
from lineage.sources import SourceSpec

if TYPE_CHECKING:
    from lineage.capture.run import CaptureRun

logger = logging.getLogger("lineage.capture")

# Where a wrapped client keeps its recorder, so that wrapping it twice re-points it instead of
# recording every response twice.
STATE_ATTR = "_lineage_recorder"

Texts = list[tuple[str, str]]  # (role, text) pairs


@dataclass
class Captured:
    """What one response produced, ready to record."""

    outputs: Texts = field(default_factory=list)
    model: str | None = None
    created: datetime | None = None
    response_id: str | None = None


@dataclass
class Recorder:
    """Records the responses of one instrumented client into a capture run."""

    run: CaptureRun
    provider: str
    channel: str

    def source(self, model: str | None) -> SourceSpec:
        return SourceSpec.build(kind="api", provider=self.provider, model=model, channel=self.channel)

    def record(
        self,
        captured: Captured,
        *,
        request_id: str | None,
        requested_model: Any,
        prompts: Texts,
    ) -> None:
        model = captured.model or (requested_model if isinstance(requested_model, str) else None)
        source = self.source(model)
        when = captured.created or datetime.now(timezone.utc)
        external_id = request_id or captured.response_id
        for role, text in captured.outputs:
            self.run.record(text, role=role, generated_at=when, source=source, request_id=external_id)
        prompt_source = self.run.prompt_source
        if prompt_source is not None:
            for role, text in prompts:
                self.run.record(text, role=role, source=prompt_source, request_id=external_id)


def check_channel(provider: str, channel: str) -> str:
    """Fail early, when the client is wrapped, on a channel the store would refuse."""
    SourceSpec.build(kind="api", provider=provider, channel=channel)
    return channel


def channel_from_class(client: object, names: Mapping[str, str]) -> str | None:
    """The channel implied by the client's class (or a base class), by class name.

    Names are compared without an `Async` prefix, so `AsyncAzureOpenAI` counts as `AzureOpenAI`.
    Matching by name keeps the optional cloud extras (botocore, google-auth) from being imported.
    """
    for cls in type(client).__mro__:
        name = cls.__name__.removeprefix("Async")
        if name in names:
            return names[name]
    return None


def warn(what: str, exc: BaseException) -> None:
    logger.warning(
        "lineage: could not record %s (%s: %s); the SDK's result is returned unchanged",
        what,
        type(exc).__name__,
        exc,
        exc_info=logger.isEnabledFor(logging.DEBUG),
    )


def epoch_to_utc(value: Any) -> datetime | None:
    """A response's `created` / `created_at` (epoch seconds) as an aware UTC datetime."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        return None
    try:
        return datetime.fromtimestamp(value, timezone.utc)
    except (OverflowError, OSError, ValueError):
        return None


def text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def get(obj: Any, name: str, default: Any = None) -> Any:
    """`obj.name` for SDK models (extra fields included), `obj[name]` for plain mappings."""
    if isinstance(obj, Mapping):
        return obj.get(name, default)
    return getattr(obj, name, default)


def prompt_role(role: Any) -> str | None:
    """The lineage role for a request message's role, for the prompt side only."""
    if role in ("system", "developer"):
        return "system"
    if role == "user":
        return "user"
    return None


def content_texts(content: Any, part_types: Iterable[str]) -> list[str]:
    """The text of a message's content: a string, or the text parts of a list of parts."""
    if isinstance(content, str):
        return [content]
    texts = []
    if isinstance(content, (list, tuple)):
        wanted = set(part_types)
        for part in content:
            if get(part, "type") in wanted and isinstance(get(part, "text"), str):
                texts.append(get(part, "text"))
    return texts


def message_prompts(messages: Any, part_types: Iterable[str]) -> Texts:
    """(role, text) for the user and system messages of a request's message list."""
    prompts: Texts = []
    if not isinstance(messages, (list, tuple)):
        return prompts
    for message in messages:
        role = prompt_role(get(message, "role"))
        if role is not None:
            prompts.extend((role, text) for text in content_texts(get(message, "content"), part_types))
    return prompts


class StreamTap:
    """Watches the items of one stream as the caller reads them, and records once at the end.

    `add` sees every item; `finish` is called exactly once, when the stream is exhausted, fails,
    or is closed, with whatever was accumulated.
    """

    def __init__(self, what: str, add: Callable[[Any], None], finish: Callable[[], None]) -> None:
        self.what = what
        self._add = add
        self._finish = finish
        self._broken = False
        self._done = False

    def add(self, item: Any) -> None:
        if self._broken:
            return
        try:
            self._add(item)
        except Exception as exc:
            # A stream we cannot follow is not recorded at all, rather than recorded wrongly.
            self._broken = True
            warn(self.what, exc)

    def finish(self) -> None:
        if self._done:
            return
        self._done = True
        if self._broken:
            return
        try:
            self._finish()
        except Exception as exc:
            warn(self.what, exc)


def tap_sync_stream(stream: Any, tap: StreamTap) -> None:
    """Route a sync SDK `Stream` through `tap`, keeping the object (and its type) the caller gets.

    Both SDKs iterate a stream through its `_iterator` and release it through `close()`, so those
    two are replaced on this one instance. Nothing here holds the stream itself strongly, so a
    dropped stream is still freed (and its connection closed) as soon as it is unreferenced.
    """
    original = stream._iterator
    close_of_class = type(stream).close
    ref = weakref.ref(stream)

    def iterate() -> Any:
        try:
            for item in original:
                tap.add(item)
                yield item
        finally:
            tap.finish()

    @functools.wraps(close_of_class)
    def close() -> None:
        try:
            target = ref()
            if target is not None:
                close_of_class(target)
        finally:
            tap.finish()

    stream._iterator = iterate()
    stream.close = close


def tap_async_stream(stream: Any, tap: StreamTap) -> None:
    """`tap_sync_stream` for an SDK `AsyncStream`."""
    original = stream._iterator
    close_of_class = type(stream).close
    ref = weakref.ref(stream)

    async def iterate() -> Any:
        try:
            async for item in original:
                tap.add(item)
                yield item
        finally:
            tap.finish()

    @functools.wraps(close_of_class)
    async def close() -> None:
        try:
            target = ref()
            if target is not None:
                await close_of_class(target)
        finally:
            tap.finish()

    stream._iterator = iterate()
    stream.close = close


def patch_method(
    resource: Any,
    name: str,
    *,
    is_async: bool,
    after: Callable[[Any, dict[str, Any]], None],
    what: str,
) -> None:
    """Replace `resource.name` on this instance with a wrapper that calls `after(result, kwargs)`.

    The SDK's return value and exceptions pass through untouched; `after` failing is logged.
    """
    if resource is None:
        return
    original = getattr(resource, name, None)
    if original is None or not callable(original):
        return

    def observe(result: Any, kwargs: dict[str, Any]) -> None:
        try:
            after(result, kwargs)
        except Exception as exc:
            warn(what, exc)

    if is_async:

        @functools.wraps(original)
        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            result = await original(*args, **kwargs)
            observe(result, kwargs)
            return result

        setattr(resource, name, async_wrapper)
    else:

        @functools.wraps(original)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            result = original(*args, **kwargs)
            observe(result, kwargs)
            return result

        setattr(resource, name, wrapper)


def patch_copies(client: Any, instrument: Callable[[Any], None]) -> None:
    """Make `client.copy()` and `client.with_options()` return clients that record as well.

    Both SDKs build a fresh client there, whose resources would otherwise be uninstrumented, and
    `client.with_options(timeout=...).chat.completions.create(...)` is a common idiom.
    """
    for name in ("copy", "with_options"):
        original = getattr(client, name, None)
        if original is None or not callable(original):
            continue

        def make(original: Callable[..., Any]) -> Callable[..., Any]:
            @functools.wraps(original)
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                new_client = original(*args, **kwargs)
                try:
                    instrument(new_client)
                except Exception as exc:
                    warn("calls of a copied client", exc)
                return new_client

            return wrapper

        setattr(client, name, make(original))


def existing_recorder(client: Any) -> Recorder | None:
    recorder = vars(client).get(STATE_ATTR)
    return recorder if isinstance(recorder, Recorder) else None


def require_run(run: Any) -> None:
    from lineage.capture.run import CaptureRun

    if not isinstance(run, CaptureRun):
        raise UsageError(
            f"expected a CaptureRun, got {type(run).__name__}",
            fix="pass the run from `store.capture(...)`",
        )


def attach(
    client: Any, run: CaptureRun, provider: str, channel: str, instrument: Callable[[Any, Recorder], None]
) -> Any:
    """Instrument `client` once; wrapping it again points its recorder at the new run instead."""
    recorder = existing_recorder(client)
    if recorder is not None:
        recorder.run = run
        recorder.channel = channel
        return client
    instrument(client, Recorder(run, provider, channel))
    return client
