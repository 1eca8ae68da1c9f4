"""Tests for lineage.capture.openai / .anthropic: the real SDK clients against a local HTTP server.

No network: every client is pointed at a `http.server` on 127.0.0.1 that answers with realistic
JSON bodies and SSE streams, including the providers' request-id headers.
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import sys
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import anthropic
import openai
import pytest
from anthropic.types import Message
from openai.types import Completion
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from openai.types.responses import Response

from lineage.capture.anthropic import record_anthropic
from lineage.capture.openai import record_openai
from lineage.exceptions import UsageError
from lineage.fingerprints import fingerprint
from lineage.sources import SourceSpec
from lineage.store.store import OriginInfo, Store

# --- a local server speaking just enough of both APIs --------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        self.server.requests.append({"path": self.path, "body": json.loads(raw) if raw else None})
        if self.server.replies:
            status, headers, payload = self.server.replies.pop(0)
        else:
            status, headers, payload = 500, {}, {"error": {"message": "no reply queued", "type": "test"}}
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        if isinstance(payload, list):  # an SSE stream, one write per event
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.end_headers()
            for event in payload:
                self.wfile.write(event)
                self.wfile.flush()
        else:
            data = json.dumps(payload).encode()
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.replies: list[tuple[int, dict[str, str], Any]] = []
        self.requests: list[dict[str, Any]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that closes a stream early leaves the handler writing to a closed socket.
        if isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            return
        super().handle_error(request, client_address)

    def reply(self, payload: Any, *, status: int = 200, **headers: str) -> None:
        self.replies.append((status, {k.replace("_", "-"): v for k, v in headers.items()}, payload))


@pytest.fixture(scope="module")
def _server() -> Iterator[_Server]:
    server = _Server()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def server(_server: _Server) -> _Server:
    _server.replies.clear()
    _server.requests.clear()
    return _server


@pytest.fixture
def store(tmp_path: Any) -> Iterator[Store]:
    opened = Store.open(str(tmp_path / "l.db"), create=True)
    yield opened
    opened.close()


def openai_client(server: _Server, cls: Any = openai.OpenAI, **kwargs: Any) -> Any:
    return cls(api_key="sk-test", base_url=f"{server.url}/v1", max_retries=0, **kwargs)


def anthropic_client(server: _Server, cls: Any = anthropic.Anthropic, **kwargs: Any) -> Any:
    return cls(api_key="sk-ant-test", base_url=server.url, max_retries=0, **kwargs)


def sse_data(chunks: list[dict[str, Any]], *, done: bool = True) -> list[bytes]:
    events = [f"data: {json.dumps(chunk)}\n\n".encode() for chunk in chunks]
    return [*events, b"data: [DONE]\n\n"] if done else events


def sse_named(events: list[dict[str, Any]]) -> list[bytes]:
    return [f"event: {event['type']}\ndata: {json.dumps(event)}\n\n".encode() for event in events]


def origins(store: Store, text: str) -> list[OriginInfo]:
    return store.lookup([fingerprint(text)]).get(fingerprint(text), [])


def only_origin(store: Store, text: str) -> OriginInfo:
    found = origins(store, text)
    assert len(found) == 1, (text, found)
    return found[0]


def assert_recorded(store: Store, roles: dict[str, str], source: SourceSpec, external_id: str) -> list[OriginInfo]:
    """Each text is recorded once, with its role, the source and the request id; returns the origins."""
    found = []
    for text, role in roles.items():
        origin = only_origin(store, text)
        assert (origin.role, origin.source, origin.external_id) == (role, source, external_id), text
        found.append(origin)
    return found


def origin_count(store: Store) -> int:
    return store.stats()["origins"]


CREATED = 1_700_000_000
CREATED_AT = datetime.fromtimestamp(CREATED, timezone.utc)

# --- OpenAI payloads ----------------------------------------------------------------------------------

CHAT_BODY = {
    "id": "chatcmpl-AbC123",
    "object": "chat.completion",
    "created": CREATED,
    "model": "gpt-4o-2024-08-06",
    "system_fingerprint": "fp_50cad350e4",
    "choices": [
        {
            "index": 0,
            "message": {
                "role": "assistant",
                "content": "Paris is the capital of France.",
                "refusal": None,
                "reasoning_content": "The user asks for the capital of France.",
            },
            "logprobs": None,
            "finish_reason": "stop",
        },
        {
            "index": 1,
            "message": {
                "role": "assistant",
                "content": None,
                "refusal": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                    }
                ],
            },
            "logprobs": None,
            "finish_reason": "tool_calls",
        },
    ],
    "usage": {"prompt_tokens": 21, "completion_tokens": 30, "total_tokens": 51},
}
CHAT_MESSAGES = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": [{"type": "text", "text": "What is the capital of France?"}]},
]


def chat_chunk(delta: dict[str, Any], *, finish: str | None = None, model: str = "gpt-4o-2024-08-06") -> dict:
    return {
        "id": "chatcmpl-S7r3am",
        "object": "chat.completion.chunk",
        "created": CREATED + 60,
        "model": model,
        "system_fingerprint": "fp_50cad350e4",
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
    }


CHAT_STREAM = [
    chat_chunk({"role": "assistant", "content": "", "refusal": None}),
    chat_chunk({"reasoning_content": "Greet "}),
    chat_chunk({"reasoning_content": "briefly."}),
    chat_chunk({"content": "Hel"}),
    chat_chunk({"content": "lo, "}),
    chat_chunk({"content": "world!"}),
    chat_chunk(
        {
            "tool_calls": [
                {
                    "index": 0,
                    "id": "call_9",
                    "type": "function",
                    "function": {"name": "lookup", "arguments": ""},
                }
            ]
        }
    ),
    chat_chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"q": '}}]}),
    chat_chunk({"tool_calls": [{"index": 0, "function": {"arguments": '"größe"}'}}]}),
    chat_chunk({}, finish="stop", model="gpt-4o-2024-08-06-final"),
    {
        "id": "chatcmpl-S7r3am",
        "object": "chat.completion.chunk",
        "created": CREATED + 60,
        "model": "gpt-4o-2024-08-06-final",
        "choices": [],
        "usage": {"prompt_tokens": 5, "completion_tokens": 9, "total_tokens": 14},
    },
]
STREAM_CREATED_AT = datetime.fromtimestamp(CREATED + 60, timezone.utc)


def response_body(status: str = "completed", output: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "id": "resp_67ccd2bed1ec8190",
        "object": "response",
        "created_at": CREATED + 120,
        "status": status,
        "error": None,
        "incomplete_details": None,
        "instructions": None,
        "max_output_tokens": None,
        "model": "gpt-4o-2024-08-06",
        "output": RESPONSE_OUTPUT if output is None else output,
        "parallel_tool_calls": True,
        "previous_response_id": None,
        "reasoning": {"effort": None, "summary": None},
        "store": True,
        "temperature": 1.0,
        "text": {"format": {"type": "text"}},
        "tool_choice": "auto",
        "tools": [],
        "top_p": 1.0,
        "truncation": "disabled",
        "usage": None,
        "user": None,
        "metadata": {},
    }


RESPONSE_OUTPUT = [
    {
        "type": "reasoning",
        "id": "rs_1",
        "summary": [{"type": "summary_text", "text": "Compared both fares."}],
    },
    {
        "type": "message",
        "id": "msg_1",
        "status": "completed",
        "role": "assistant",
        "content": [{"type": "output_text", "text": "The train is cheaper.", "annotations": []}],
    },
    {
        "type": "function_call",
        "id": "fc_1",
        "call_id": "call_7",
        "name": "book",
        "arguments": '{"mode": "train"}',
        "status": "completed",
    },
]

# --- Anthropic payloads -------------------------------------------------------------------------------

CLAUDE = "claude-opus-4-5-20251101"
MESSAGE_BODY = {
    "id": "msg_01XFDUDYJgAACzvnptvVoYEL",
    "type": "message",
    "role": "assistant",
    "model": CLAUDE,
    "content": [
        {"type": "thinking", "thinking": "I should call the order tool.", "signature": "EqQBCgIYAhIM"},
        {"type": "text", "text": "Let me check."},
        {"type": "tool_use", "id": "toolu_01", "name": "get_order", "input": {"id": 42, "größe": "L"}},
    ],
    "stop_reason": "tool_use",
    "stop_sequence": None,
    "usage": {"input_tokens": 25, "output_tokens": 40},
}
TOOL_USE_TEXT = 'get_order({"größe": "L", "id": 42})'

MESSAGE_STREAM = [
    {
        "type": "message_start",
        "message": {
            "id": "msg_01Str3am",
            "type": "message",
            "role": "assistant",
            "model": CLAUDE,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": 12, "output_tokens": 1},
        },
    },
    {
        "type": "content_block_start",
        "index": 0,
        "content_block": {"type": "thinking", "thinking": "", "signature": ""},
    },
    {"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "Search, "}},
    {
        "type": "content_block_delta",
        "index": 0,
        "delta": {"type": "thinking_delta", "thinking": "then answer."},
    },
    {"type": "content_block_delta", "index": 0, "delta": {"type": "signature_delta", "signature": "EqQB"}},
    {"type": "content_block_stop", "index": 0},
    {"type": "ping"},
    {"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}},
    {"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": "Hello"}},
    {"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": " there."}},
    {"type": "content_block_stop", "index": 1},
    {
        "type": "content_block_start",
        "index": 2,
        "content_block": {"type": "tool_use", "id": "toolu_02", "name": "search", "input": {}},
    },
    {"type": "content_block_delta", "index": 2, "delta": {"type": "input_json_delta", "partial_json": ""}},
    {
        "type": "content_block_delta",
        "index": 2,
        "delta": {"type": "input_json_delta", "partial_json": '{"query": "gr'},
    },
    {
        "type": "content_block_delta",
        "index": 2,
        "delta": {"type": "input_json_delta", "partial_json": 'öße", "k": 3}'},
    },
    {"type": "content_block_stop", "index": 2},
    {
        "type": "message_delta",
        "delta": {"stop_reason": "tool_use", "stop_sequence": None},
        "usage": {"output_tokens": 31},
    },
    {"type": "message_stop"},
]
STREAM_TOOL_TEXT = 'search({"k": 3, "query": "größe"})'


# --- OpenAI: chat completions ------------------------------------------------------------------------------


def test_chat_completion_records_every_choice_with_the_reported_model_time_and_request_id(
    server: _Server, store: Store
) -> None:
    server.reply(CHAT_BODY, x_request_id="req_chat_1")
    server.reply(CHAT_BODY, x_request_id="req_chat_plain")
    run = store.capture()
    client = record_openai(openai_client(server), run)
    result = client.chat.completions.create(model="gpt-4o", messages=CHAT_MESSAGES)
    plain = openai_client(server).chat.completions.create(model="gpt-4o", messages=CHAT_MESSAGES)
    run.close()

    # The caller gets the SDK's own object, exactly as an uninstrumented client returns it.
    assert type(result) is ChatCompletion
    assert result._request_id == "req_chat_1"
    assert result.model_dump() == plain.model_dump()
    assert server.requests[0]["body"]["model"] == "gpt-4o"

    expected = {
        "Paris is the capital of France.": "assistant",
        "The user asks for the capital of France.": "reasoning",
        'get_weather({"city": "Paris"})': "tool_call",
    }
    source = SourceSpec(kind="api", provider="openai", model="gpt-4o-2024-08-06", channel="api")
    recorded = assert_recorded(store, expected, source, "req_chat_1")
    assert {o.generated_at for o in recorded} == {CREATED_AT}
    # Outputs only: no prompt source, so the request's messages are not recorded.
    assert origin_count(store) == 3
    assert origins(store, "What is the capital of France?") == []


def test_a_second_client_is_not_instrumented(server: _Server, store: Store) -> None:
    run = store.capture()
    wrapped = record_openai(openai_client(server), run)
    plain = openai_client(server)
    assert "create" in vars(wrapped.chat.completions)
    assert "create" not in vars(plain.chat.completions)
    assert plain.chat.completions.create.__func__ is openai.resources.chat.Completions.create

    server.reply(CHAT_BODY, x_request_id="req_plain")
    plain.chat.completions.create(model="gpt-4o", messages=CHAT_MESSAGES)
    run.close()
    assert run.recorded == 0
    assert origin_count(store) == 0


def test_wrapping_twice_does_not_record_twice_and_repoints_the_run(server: _Server, store: Store) -> None:
    first = store.capture()
    second = store.capture()
    client = openai_client(server)
    assert record_openai(client, first) is client
    assert record_openai(client, second) is client
    server.reply(CHAT_BODY, x_request_id="req_twice")
    client.chat.completions.create(model="gpt-4o", messages=CHAT_MESSAGES)
    first.close()
    second.close()
    assert first.recorded == 0
    assert second.recorded == 3
    assert len(origins(store, "Paris is the capital of France.")) == 1


def test_request_id_falls_back_to_the_response_id(server: _Server, store: Store) -> None:
    server.reply(CHAT_BODY)  # no x-request-id header
    run = store.capture()
    client = record_openai(openai_client(server), run)
    result = client.chat.completions.create(model="gpt-4o", messages=CHAT_MESSAGES)
    run.close()
    assert result._request_id is None
    assert only_origin(store, "Paris is the capital of France.").external_id == "chatcmpl-AbC123"


def test_chat_stream_is_iterated_unchanged_and_recorded_when_exhausted(server: _Server, store: Store) -> None:
    server.reply(sse_data(CHAT_STREAM), x_request_id="req_stream_1")
    run = store.capture()
    client = record_openai(openai_client(server), run)
    stream = client.chat.completions.create(model="gpt-4o", messages=CHAT_MESSAGES, stream=True)
    assert isinstance(stream, openai.Stream)

    chunks = []
    for chunk in stream:
        chunks.append(chunk)
        if len(chunks) == 4:
            assert run.recorded == 0  # nothing until the stream is done
    assert all(type(chunk) is ChatCompletionChunk for chunk in chunks)
    assert len(chunks) == len(CHAT_STREAM)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Hello, world!"
    assert run.recorded == 3
    run.close()

    source = SourceSpec(kind="api", provider="openai", model="gpt-4o-2024-08-06-final", channel="api")
    recorded = assert_recorded(
        store,
        {
        "Hello, world!": "assistant",
        "Greet briefly.": "reasoning",
        'lookup({"q": "größe"})': "tool_call",
        },
        source,
        "req_stream_1",
    )
    assert {o.generated_at for o in recorded} == {STREAM_CREATED_AT}
    assert origin_count(store) == 3


def test_chat_stream_closed_early_records_what_was_read(server: _Server, store: Store) -> None:
    server.reply(sse_data(CHAT_STREAM), x_request_id="req_stream_2")
    run = store.capture()
    client = record_openai(openai_client(server), run)
    with client.chat.completions.create(model="gpt-4o", messages=CHAT_MESSAGES, stream=True) as stream:
        for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content == "lo, ":
                break
    assert run.recorded == 2  # recorded on close, not left to the garbage collector
    run.close()
    assert only_origin(store, "Hello, ").role == "assistant"
    assert only_origin(store, "Greet briefly.").role == "reasoning"


def test_chat_completions_stream_helper_is_recorded(server: _Server, store: Store) -> None:
    server.reply(sse_data(CHAT_STREAM), x_request_id="req_helper")
    run = store.capture()
    client = record_openai(openai_client(server), run)
    with client.chat.completions.stream(model="gpt-4o", messages=CHAT_MESSAGES) as stream:
        final = stream.get_final_completion()
    run.close()
    assert final.choices[0].message.content == "Hello, world!"
    origin = only_origin(store, "Hello, world!")
    assert origin.external_id == "req_helper"
    assert origin.source.model == "gpt-4o-2024-08-06-final"
    assert server.requests[0]["body"]["stream"] is True


def test_chat_completions_parse_is_recorded(server: _Server, store: Store) -> None:
    body = copy.deepcopy(CHAT_BODY)
    body["choices"] = [body["choices"][0]]
    body["choices"][0]["message"]["content"] = '{"city": "Paris"}'
    server.reply(body, x_request_id="req_parse")
    run = store.capture()
    client = record_openai(openai_client(server), run)
    result = client.chat.completions.parse(model="gpt-4o", messages=CHAT_MESSAGES)
    run.close()
    assert isinstance(result, ChatCompletion)
    assert only_origin(store, '{"city": "Paris"}').external_id == "req_parse"


def test_prompts_are_recorded_against_the_prompt_source(server: _Server, store: Store) -> None:
    annotators = SourceSpec.build(kind="human", name="annotators-2025")
    server.reply(CHAT_BODY, x_request_id="req_prompts")
    run = store.capture(prompt_source=annotators)
    client = record_openai(openai_client(server), run)
    messages = [
        *CHAT_MESSAGES,
        {"role": "assistant", "content": "An earlier answer."},
        {"role": "developer", "content": "Answer in one line."},
    ]
    client.chat.completions.create(model="gpt-4o", messages=messages)
    run.close()
    assert_recorded(
        store,
        {
        "You are terse.": "system",
        "What is the capital of France?": "user",
        "Answer in one line.": "system",
        },
        annotators,
        "req_prompts",
    )
    assert origins(store, "An earlier answer.") == []  # history is not a prompt, and not this call's output
    assert only_origin(store, "Paris is the capital of France.").source.provider == "openai"


def test_sdk_errors_pass_through_untouched(server: _Server, store: Store) -> None:
    error = {
        "error": {"message": "bad model", "type": "invalid_request_error", "param": "model", "code": None}
    }
    server.reply(error, status=400, x_request_id="req_bad")
    run = store.capture()
    client = record_openai(openai_client(server), run)
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="nope", messages=CHAT_MESSAGES)
    run.close()
    assert caught.value.request_id == "req_bad"
    assert run.recorded == 0


def test_a_failure_while_recording_never_breaks_the_call(
    server: _Server, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    run = store.capture()
    client = record_openai(openai_client(server), run)
    run.close()  # recording into a closed run raises inside the wrapper
    server.reply(CHAT_BODY, x_request_id="req_closed")
    server.reply(sse_data(CHAT_STREAM), x_request_id="req_closed_stream")
    with caplog.at_level(logging.WARNING, logger="lineage.capture"):
        result = client.chat.completions.create(model="gpt-4o", messages=CHAT_MESSAGES)
        chunks = list(client.chat.completions.create(model="gpt-4o", messages=CHAT_MESSAGES, stream=True))
    assert type(result) is ChatCompletion
    assert result.choices[0].message.content == "Paris is the capital of France."
    assert len(chunks) == len(CHAT_STREAM)
    warnings = [r for r in caplog.records if r.name == "lineage.capture" and r.levelno == logging.WARNING]
    assert len(warnings) == 2
    assert all("closed" in r.getMessage() for r in warnings)
    assert origin_count(store) == 0


# --- OpenAI: responses and legacy completions ----------------------------------------------------------------


def test_responses_create_records_messages_tool_calls_and_reasoning_summaries(
    server: _Server, store: Store
) -> None:
    server.reply(response_body(), x_request_id="req_resp_1")
    run = store.capture()
    client = record_openai(openai_client(server), run)
    result = client.responses.create(model="gpt-4o", input="Train or plane to Lyon?")
    run.close()
    assert type(result) is Response
    assert result.output_text == "The train is cheaper."
    source = SourceSpec(kind="api", provider="openai", model="gpt-4o-2024-08-06", channel="api")
    recorded = assert_recorded(
        store,
        {
        "The train is cheaper.": "assistant",
        'book({"mode": "train"})': "tool_call",
        "Compared both fares.": "reasoning",
        },
        source,
        "req_resp_1",
    )
    assert {o.generated_at for o in recorded} == {datetime.fromtimestamp(CREATED + 120, timezone.utc)}
    assert origin_count(store) == 3


def responses_stream_events(pieces: tuple[str, ...] = ("The train ", "is cheaper.")) -> list[dict[str, Any]]:
    started = response_body("in_progress", output=[])
    message = copy.deepcopy(RESPONSE_OUTPUT[1])
    message["content"][0]["text"] = "".join(pieces)
    part = {"type": "output_text", "text": "", "annotations": []}
    where = {"item_id": "msg_1", "output_index": 0, "content_index": 0}
    events: list[dict[str, Any]] = [
        {"type": "response.created", "response": started},
        {"type": "response.in_progress", "response": started},
        {
            "type": "response.output_item.added",
            "output_index": 0,
            "item": {**message, "status": "in_progress", "content": []},
        },
        {"type": "response.content_part.added", **where, "part": part},
        *(
            {"type": "response.output_text.delta", **where, "delta": piece, "logprobs": []}
            for piece in pieces
        ),
        {"type": "response.output_text.done", **where, "text": "".join(pieces), "logprobs": []},
        {"type": "response.content_part.done", **where, "part": message["content"][0]},
        {"type": "response.output_item.done", "output_index": 0, "item": message},
        {"type": "response.completed", "response": response_body(output=[message])},
    ]
    return [{**event, "sequence_number": n} for n, event in enumerate(events)]


def test_responses_stream_records_the_final_response(server: _Server, store: Store) -> None:
    server.reply(sse_named(responses_stream_events()), x_request_id="req_resp_stream")
    server.reply(
        sse_named(responses_stream_events(("The plane ", "is faster."))), x_request_id="req_resp_helper"
    )
    run = store.capture()
    client = record_openai(openai_client(server), run)
    stream = client.responses.create(model="gpt-4o", input="Train or plane?", stream=True)
    deltas = [e.delta for e in stream if e.type == "response.output_text.delta"]
    assert run.recorded == 1
    with client.responses.stream(model="gpt-4o", input="Train or plane?") as helper:
        final = helper.get_final_response()
    run.close()
    assert isinstance(stream, openai.Stream)
    assert "".join(deltas) == "The train is cheaper."
    assert final.output_text == "The plane is faster."
    for text, request_id in (
        ("The train is cheaper.", "req_resp_stream"),
        ("The plane is faster.", "req_resp_helper"),
    ):
        origin = only_origin(store, text)
        assert (origin.role, origin.external_id, origin.source.model) == (
            "assistant",
            request_id,
            "gpt-4o-2024-08-06",
        )
        assert origin.generated_at == datetime.fromtimestamp(CREATED + 120, timezone.utc)
    assert origin_count(store) == 2


def test_responses_stream_closed_before_completion_records_the_text_read(
    server: _Server, store: Store
) -> None:
    server.reply(sse_named(responses_stream_events()), x_request_id="req_resp_cut")
    run = store.capture()
    client = record_openai(openai_client(server), run)
    with client.responses.create(model="gpt-4o", input="Train or plane?", stream=True) as stream:
        for event in stream:
            if event.type == "response.output_text.delta":
                break
    run.close()
    origin = only_origin(store, "The train")
    assert (origin.role, origin.external_id, origin.source.model) == (
        "assistant",
        "req_resp_cut",
        "gpt-4o-2024-08-06",
    )
    assert origin_count(store) == 1


def test_legacy_completions_record_each_choice_as_completion(server: _Server, store: Store) -> None:
    body = {
        "id": "cmpl-uqkvlQyYK7bGYrRHQ0eXlWi7",
        "object": "text_completion",
        "created": CREATED,
        "model": "gpt-3.5-turbo-instruct:20230824-v2",
        "choices": [
            {"text": "\n\nThis is indeed a test", "index": 0, "logprobs": None, "finish_reason": "length"},
            {"text": "\n\nAnother test.", "index": 1, "logprobs": None, "finish_reason": "stop"},
        ],
        "usage": {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12},
    }
    server.reply(body, x_request_id="req_legacy")
    run = store.capture()
    client = record_openai(openai_client(server), run)
    result = client.completions.create(model="gpt-3.5-turbo-instruct", prompt="Say this is a test", n=2)
    run.close()
    assert type(result) is Completion
    for choice in result.choices:
        origin = only_origin(store, choice.text)
        assert origin.role == "completion"
        assert origin.source.model == "gpt-3.5-turbo-instruct:20230824-v2"
        assert origin.external_id == "req_legacy"
        assert origin.generated_at == CREATED_AT
    assert origin_count(store) == 2


def test_legacy_completion_stream_and_prompts(server: _Server, store: Store) -> None:
    def chunk(text: str) -> dict[str, Any]:
        return {
            "id": "cmpl-str3am",
            "object": "text_completion",
            "created": CREATED,
            "model": "gpt-3.5-turbo-instruct:20230824-v2",
            "choices": [{"text": text, "index": 0, "logprobs": None, "finish_reason": None}],
        }

    server.reply(sse_data([chunk("Once upon"), chunk(" a time.")]), x_request_id="req_legacy_stream")
    run = store.capture(prompt_source=SourceSpec.build(kind="human", name="writers"))
    client = record_openai(openai_client(server), run)
    stream = client.completions.create(model="gpt-3.5-turbo-instruct", prompt="Begin a story.", stream=True)
    text = "".join(c.choices[0].text for c in stream)
    run.close()
    assert text == "Once upon a time."
    origin = only_origin(store, "Once upon a time.")
    assert (origin.role, origin.external_id, origin.generated_at) == (
        "completion",
        "req_legacy_stream",
        CREATED_AT,
    )
    prompt = only_origin(store, "Begin a story.")
    assert (prompt.role, prompt.source.name, prompt.external_id) == ("prompt", "writers", "req_legacy_stream")


def test_responses_prompts_are_instructions_and_input_messages(server: _Server, store: Store) -> None:
    server.reply(response_body(), x_request_id="req_resp_prompts")
    run = store.capture(prompt_source=SourceSpec.build(kind="human", name="ops"))
    client = record_openai(openai_client(server), run)
    client.responses.create(
        model="gpt-4o",
        instructions="Be frugal.",
        input=[
            {"role": "user", "content": [{"type": "input_text", "text": "Train or plane to Lyon?"}]},
            {"type": "function_call_output", "call_id": "call_0", "output": "{}"},
        ],
    )
    run.close()
    assert only_origin(store, "Be frugal.").role == "system"
    assert only_origin(store, "Train or plane to Lyon?").role == "user"
    assert origin_count(store) == 5  # three outputs, two prompts


def test_copies_from_with_options_record_too(server: _Server, store: Store) -> None:
    server.reply(CHAT_BODY, x_request_id="req_copy")
    server.reply(MESSAGE_BODY, request_id="req_copy_ant")
    run = store.capture()
    client = record_openai(openai_client(server), run)
    claude = record_anthropic(anthropic_client(server), run)
    result = client.with_options(timeout=30).chat.completions.create(model="gpt-4o", messages=CHAT_MESSAGES)
    message = claude.with_options(max_retries=0).messages.create(
        model="claude-opus-4-5", max_tokens=64, messages=[{"role": "user", "content": "x"}]
    )
    run.close()
    assert type(result) is ChatCompletion and type(message) is Message
    assert only_origin(store, "Paris is the capital of France.").external_id == "req_copy"
    assert only_origin(store, "Let me check.").external_id == "req_copy_ant"


def test_raw_responses_pass_through_and_are_not_recorded(server: _Server, store: Store) -> None:
    server.reply(CHAT_BODY, x_request_id="req_raw")
    run = store.capture()
    client = record_openai(openai_client(server), run)
    raw = client.chat.completions.with_raw_response.create(model="gpt-4o", messages=CHAT_MESSAGES)
    run.close()
    assert raw.headers["x-request-id"] == "req_raw"
    assert raw.parse().choices[0].message.content == "Paris is the capital of France."
    assert run.recorded == 0


def test_async_openai_client_records_calls_and_streams(server: _Server, store: Store) -> None:
    server.reply(CHAT_BODY, x_request_id="req_async_1")
    server.reply(sse_data(CHAT_STREAM), x_request_id="req_async_2")
    run = store.capture()
    client = record_openai(openai_client(server, openai.AsyncOpenAI), run)

    async def main() -> tuple[ChatCompletion, str]:
        result = await client.chat.completions.create(model="gpt-4o", messages=CHAT_MESSAGES)
        stream = await client.chat.completions.create(model="gpt-4o", messages=CHAT_MESSAGES, stream=True)
        assert isinstance(stream, openai.AsyncStream)
        pieces = [c.choices[0].delta.content or "" async for c in stream if c.choices]
        await client.close()
        return result, "".join(pieces)

    result, text = asyncio.run(main())
    run.close()
    assert type(result) is ChatCompletion
    assert text == "Hello, world!"
    assert only_origin(store, "Paris is the capital of France.").external_id == "req_async_1"
    streamed = only_origin(store, "Hello, world!")
    assert (streamed.external_id, streamed.source.model) == ("req_async_2", "gpt-4o-2024-08-06-final")
    assert origin_count(store) == 6


def test_channel_is_detected_or_given(server: _Server, store: Store) -> None:
    run = store.capture()
    azure = openai.AzureOpenAI(
        api_key="k", azure_endpoint=server.url, api_version="2024-10-21", max_retries=0
    )
    record_openai(azure, run)
    server.reply(CHAT_BODY, x_request_id="req_azure")
    azure.chat.completions.create(model="my-deployment", messages=CHAT_MESSAGES)

    proxied = record_openai(openai_client(server), run, channel="openrouter")
    body = copy.deepcopy(CHAT_BODY)
    body["choices"][0]["message"]["content"] = "Via a router."
    server.reply(body, x_request_id="req_router")
    proxied.chat.completions.create(model="openai/gpt-4o", messages=CHAT_MESSAGES)
    run.close()

    assert "/openai/deployments/my-deployment/" in server.requests[0]["path"]
    azure_origin = only_origin(store, "Paris is the capital of France.")
    assert (azure_origin.source.channel, azure_origin.source.model) == ("azure", "gpt-4o-2024-08-06")
    assert only_origin(store, "Via a router.").source.channel == "openrouter"
    with pytest.raises(UsageError, match="unknown channel"):
        record_openai(openai_client(server), run, channel="carrier-pigeon")


# --- Anthropic ---------------------------------------------------------------------------------------------


def test_anthropic_message_records_text_thinking_and_tool_use(server: _Server, store: Store) -> None:
    server.reply(MESSAGE_BODY, request_id="req_011CSHoEeqs5C35K2UUqR7Fy")
    server.reply(MESSAGE_BODY, request_id="req_plain")
    run = store.capture()
    client = record_anthropic(anthropic_client(server), run)
    before = datetime.now(timezone.utc) - timedelta(seconds=1)
    result = client.messages.create(
        model="claude-opus-4-5", max_tokens=1024, messages=[{"role": "user", "content": "Where is order 42?"}]
    )
    after = datetime.now(timezone.utc) + timedelta(seconds=1)
    plain = anthropic_client(server).messages.create(
        model="claude-opus-4-5", max_tokens=1024, messages=[{"role": "user", "content": "Where is order 42?"}]
    )
    run.close()

    assert type(result) is Message
    assert result._request_id == "req_011CSHoEeqs5C35K2UUqR7Fy"
    assert result.model_dump() == plain.model_dump()
    assert "create" not in vars(anthropic_client(server).messages)
    assert server.requests[0]["body"]["model"] == "claude-opus-4-5"

    source = SourceSpec(kind="api", provider="anthropic", model=CLAUDE, channel="api")
    recorded = assert_recorded(
        store,
        {
        "Let me check.": "assistant",
        "I should call the order tool.": "reasoning",
        TOOL_USE_TEXT: "tool_call",
        },
        source,
        "req_011CSHoEeqs5C35K2UUqR7Fy",
    )
    assert all(o.generated_at is not None and before <= o.generated_at <= after for o in recorded)
    assert origin_count(store) == 3


def test_anthropic_create_stream_records_the_accumulated_message(server: _Server, store: Store) -> None:
    server.reply(sse_named(MESSAGE_STREAM), request_id="req_ant_stream")
    run = store.capture()
    client = record_anthropic(anthropic_client(server), run)
    stream = client.messages.create(
        model="claude-opus-4-5", max_tokens=1024, messages=[{"role": "user", "content": "hi"}], stream=True
    )
    assert isinstance(stream, anthropic.Stream)
    events = list(stream)
    run.close()
    assert [e.type for e in events] == [e["type"] for e in MESSAGE_STREAM if e["type"] != "ping"]
    text = "".join(
        e.delta.text for e in events if e.type == "content_block_delta" and e.delta.type == "text_delta"
    )
    assert text == "Hello there."
    source = SourceSpec(kind="api", provider="anthropic", model=CLAUDE, channel="api")
    assert_recorded(
        store,
        {
        "Hello there.": "assistant",
        "Search, then answer.": "reasoning",
        STREAM_TOOL_TEXT: "tool_call",
        },
        source,
        "req_ant_stream",
    )
    assert origin_count(store) == 3


def test_anthropic_messages_stream_helper_records_the_final_message(server: _Server, store: Store) -> None:
    server.reply(sse_named(MESSAGE_STREAM), request_id="req_helper_stream")
    run = store.capture(prompt_source=SourceSpec.build(kind="human", name="support-team"))
    client = record_anthropic(anthropic_client(server), run)
    with client.messages.stream(
        model="claude-opus-4-5",
        max_tokens=1024,
        system="Be brief.",
        messages=[{"role": "user", "content": [{"type": "text", "text": "Find größe."}]}],
    ) as stream:
        assert type(stream) is anthropic.MessageStream
        final = stream.get_final_message()
    run.close()
    assert final.content[1].text == "Hello there."
    assert only_origin(store, "Hello there.").external_id == "req_helper_stream"
    assert only_origin(store, STREAM_TOOL_TEXT).role == "tool_call"
    assert only_origin(store, "Be brief.").role == "system"
    prompt = only_origin(store, "Find größe.")
    assert (prompt.role, prompt.source.name) == ("user", "support-team")
    assert origin_count(store) == 5


def test_anthropic_async_client_create_and_stream(server: _Server, store: Store) -> None:
    server.reply(MESSAGE_BODY, request_id="req_async_msg")
    server.reply(sse_named(MESSAGE_STREAM), request_id="req_async_helper")
    run = store.capture()
    client = record_anthropic(anthropic_client(server, anthropic.AsyncAnthropic), run)
    messages = [{"role": "user", "content": "hi"}]

    async def main() -> tuple[Message, str]:
        result = await client.messages.create(model="claude-opus-4-5", max_tokens=64, messages=messages)
        async with client.messages.stream(
            model="claude-opus-4-5", max_tokens=64, messages=messages
        ) as stream:
            text = "".join([piece async for piece in stream.text_stream])
        await client.close()
        return result, text

    result, text = asyncio.run(main())
    run.close()
    assert type(result) is Message
    assert text == "Hello there."
    assert only_origin(store, "Let me check.").external_id == "req_async_msg"
    assert only_origin(store, "Hello there.").external_id == "req_async_helper"
    assert origin_count(store) == 6


def test_anthropic_recording_failure_and_sdk_errors_leave_calls_alone(
    server: _Server, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    run = store.capture()
    client = record_anthropic(anthropic_client(server), run)
    error = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    server.reply(error, status=529, request_id="req_overloaded")
    with pytest.raises(anthropic.OverloadedError):
        client.messages.create(
            model="claude-opus-4-5", max_tokens=64, messages=[{"role": "user", "content": "x"}]
        )
    run.close()
    server.reply(MESSAGE_BODY, request_id="req_after_close")
    with caplog.at_level(logging.WARNING, logger="lineage.capture"):
        result = client.messages.create(
            model="claude-opus-4-5", max_tokens=64, messages=[{"role": "user", "content": "x"}]
        )
    assert type(result) is Message and result.content[1].text == "Let me check."
    assert any(r.name == "lineage.capture" and "closed" in r.getMessage() for r in caplog.records)
    assert origin_count(store) == 0


CLOUD_CLIENTS = {
    "openai-azure": (
        lambda url: openai.AzureOpenAI(
            api_key="k", azure_endpoint=url, api_version="2024-10-21", max_retries=0
        ),
        "azure",
    ),
    "openai-bedrock-class": (
        lambda url: openai.BedrockOpenAI(api_key="k", base_url=f"{url}/v1", max_retries=0),
        "bedrock",
    ),
    "openai-bedrock-provider": (
        lambda url: openai.OpenAI(
            provider=openai.providers.bedrock(region="us-east-1", api_key="k", base_url=f"{url}/v1"),
            max_retries=0,
        ),
        "bedrock",
    ),
    "openai-vertex-provider": (
        lambda url: openai.OpenAI(
            provider=openai.providers.vertex(
                project="p", location="us-central1", token_provider=lambda: "tok", base_url=f"{url}/v1"
            ),
            max_retries=0,
        ),
        "vertex",
    ),
    "anthropic-bedrock": (
        lambda url: anthropic.AnthropicBedrock(
            api_key="k", aws_region="us-east-1", base_url=url, max_retries=0
        ),
        "bedrock",
    ),
    "anthropic-vertex": (
        lambda url: anthropic.AnthropicVertex(
            region="us-east5", project_id="proj", access_token="ya29.token", base_url=url, max_retries=0
        ),
        "vertex",
    ),
    "anthropic-foundry": (
        lambda url: anthropic.AsyncAnthropicFoundry(api_key="k", base_url=url, max_retries=0),
        "azure",
    ),
}


@pytest.mark.parametrize("name", sorted(CLOUD_CLIENTS))
def test_cloud_clients_get_their_channel(server: _Server, store: Store, name: str) -> None:
    make, channel = CLOUD_CLIENTS[name]
    client = make(server.url)
    run = store.capture()
    if name.startswith("openai"):
        record_openai(client, run)
        server.reply(CHAT_BODY, x_request_id="req_cloud")
        client.chat.completions.create(model="gpt-4o", messages=CHAT_MESSAGES)
        text, provider, model = "Paris is the capital of France.", "openai", "gpt-4o-2024-08-06"
    else:
        record_anthropic(client, run)
        server.reply(MESSAGE_BODY, request_id="req_cloud")
        call = client.messages.create(
            model="claude-opus-4-5", max_tokens=64, messages=[{"role": "user", "content": "x"}]
        )
        if asyncio.iscoroutine(call):
            asyncio.run(call)
        text, provider, model = "Let me check.", "anthropic", CLAUDE
    run.close()
    origin = only_origin(store, text)
    assert origin.source == SourceSpec(kind="api", provider=provider, model=model, channel=channel)
    assert origin.external_id == "req_cloud"


def test_wrappers_refuse_the_other_sdk_and_unknown_channels(server: _Server, store: Store) -> None:
    run = store.capture()
    with pytest.raises(UsageError, match="needs an OpenAI SDK client"):
        record_openai(anthropic_client(server), run)
    with pytest.raises(UsageError, match="needs an Anthropic SDK client"):
        record_anthropic(openai_client(server), run)
    with pytest.raises(UsageError, match="unknown channel"):
        record_anthropic(anthropic_client(server), run, channel="carrier-pigeon")
    with pytest.raises(UsageError, match="expected a CaptureRun"):
        record_openai(openai_client(server), store)  # type: ignore[arg-type]
