"""Segments: the text fields of a training example, each with its role.

Lineage is recorded per segment, because in one example the prompt may be human-written and the
answer a model's output.

`extract_segments` reads one record in any of the layouts in `LAYOUTS` (or through an explicit field
mapping) and returns its segments in record order. Every layout ends in the same post-processing
step (top-level reasoning fields, `<think>` splitting), so that one conversation written in two
layouts gives the same completion-side fingerprints.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any, NamedTuple

from lineage.exceptions import LayoutError, UsageError
from lineage.fingerprints import fingerprint

# Roles whose text a model (or a dataset's author) produced: what an import attributes to the source.
COMPLETION_ROLES = frozenset(
    {"assistant", "tool_call", "reasoning", "completion", "output", "chosen", "rejected", "text"}
)
# Roles that carry what was asked: attributed only when the user names a prompt source.
PROMPT_ROLES = frozenset({"system", "user", "tool", "prompt", "instruction", "input"})
ROLES = COMPLETION_ROLES | PROMPT_ROLES


class Segment(NamedTuple):
    # A named tuple rather than a dataclass: millions are made per lint or import, and a tuple
    # is the cheapest immutable object Python builds.
    role: str
    text: str
    # Where the text sits in the record, e.g. "messages[2].content" or "output".
    field: str

    @property
    def side(self) -> str:
        return "completion" if self.role in COMPLETION_ROLES else "prompt"

    @property
    def fingerprint(self) -> bytes:
        return fingerprint(self.text)


LAYOUTS = ("openai-chat", "sharegpt", "alpaca", "prompt-completion", "text", "preference", "hh")

_LAYOUT_FIX = f"pass --layout NAME or --map ROLE=FIELD (layouts: {', '.join(LAYOUTS)})"
_MAP_FIX = "pass --map ROLE=FIELD to point at the text fields"
_PATH_FIX = "write each --map field as a dotted path, e.g. meta.answer or data.0.text"

# What a message's speaker (`role` in OpenAI chat, `from` in ShareGPT) means. One table serves both
# layouts: the names do not clash, and datasets converted by hand often mix them.
_SPEAKER_ROLES = {
    "system": "system",
    "developer": "system",
    "user": "user",
    "human": "user",
    "assistant": "assistant",
    "model": "assistant",
    "gpt": "assistant",
    "chatgpt": "assistant",
    "bing": "assistant",
    "bard": "assistant",
    "tool": "tool",
    "function": "tool",
    "ipython": "tool",
    "observation": "tool",
    "function_response": "tool",
    "function_call": "tool_call",
}

# Reasoning trace fields, on a message or at the top of a record. Only string values count: some
# APIs and datasets use the same names for objects or on/off flags.
_REASONING_KEYS = ("reasoning_content", "reasoning", "thinking")
_REASONING_SET = frozenset(_REASONING_KEYS)

# Content parts that carry the message's own text. Parts not listed here and not handled in _parts
# (images, audio, files, redacted thinking) hold nothing we can fingerprint as text.
_TEXT_PARTS = frozenset({"text", "input_text", "output_text"})

# Question/answer key pairs of the prompt-completion layout, in order of preference.
_COMPLETION_PAIRS = (
    ("prompt", "completion"),
    ("prompt", "response"),
    ("query", "response"),
    ("question", "answer"),
)

# Roles whose text may open with an inline DeepSeek-R1 style `<think>...</think>` trace.
_THINK_ROLES = frozenset({"assistant", "completion", "output", "chosen", "rejected", "text"})
_THINK_OPEN = "<think>"
_THINK_CLOSE = "</think>"

# Anthropic HH-RLHF transcripts: "\n\nHuman: ...\n\nAssistant: ...", tolerating a first "Human:"
# without the blank line. str.split cannot split on two markers and keep which one matched.
_HH_TURN = re.compile(r"(?:\A|\n\n)(Human|Assistant):")
_HH_ROLES = {"Human": "user", "Assistant": "assistant"}

_Reader = Callable[[Mapping[str, Any], list[Segment]], None]
_EMPTY: frozenset[str] = frozenset()  # returned by a preference side with no context turns


# --- Public API -------------------------------------------------------------------------------------


def extract_segments(
    record: Mapping[str, Any],
    *,
    layout: str | None = None,
    mapping: Mapping[str, str] | None = None,
) -> list[Segment]:
    """Return the non-blank text segments of `record`, in record order.

    `mapping` ({role: dotted.field.path}) wins over `layout`; `layout` forces one of `LAYOUTS`;
    with neither, the layout is detected. Raises LayoutError (with where=None: the caller knows the
    file and line) when the record cannot be read.
    """
    if mapping is None and layout is None and type(record) is dict:
        fast = _plain_chat(record)
        if fast is not None:
            new = _new_tuple
            return [s if type(s) is Segment else new(Segment, s) for s in fast]
    if not isinstance(record, Mapping):
        raise LayoutError(f"a record must be an object, got {_kind(record)}", fix=_LAYOUT_FIX)
    out: list[Segment] = []
    if mapping is not None:
        _read_mapped(record, mapping, out)
    else:
        name = detect_layout(record) if layout is None else layout
        reader = _READERS.get(name)
        if reader is None:
            raise LayoutError(f"unknown layout {name!r}", fix=f"use one of: {', '.join(LAYOUTS)}")
        reader(record, out)
        _insert_top_level_reasoning(record, out)
    return split_think(out)


_CHAT_FIELDS = tuple(f"messages[{i}].content" for i in range(256))
_new_tuple = tuple.__new__


def _plain_chat(record: dict[str, Any]) -> list[tuple[str, str, str]] | None:
    """The segments of the commonest record of all, OpenAI chat with only role and content per
    message and no reasoning fields; None for anything else, which takes the general path.

    Gives exactly what the general path gives, at a fraction of the cost: lint and import meet
    millions of these.
    """
    messages = record.get("messages")
    if type(messages) is not list or len(messages) > len(_CHAT_FIELDS) or not _REASONING_SET.isdisjoint(record):
        return None
    out: list[Segment] = []
    append = out.append
    roles = _SPEAKER_ROLES
    fields = _CHAT_FIELDS
    think = False
    for i, message in enumerate(messages):
        if type(message) is not dict or len(message) != 2:
            return None
        content = message.get("content")
        speaker = message.get("role")
        if type(content) is not str or type(speaker) is not str:
            return None
        role = roles.get(speaker)
        if role is None:
            return None
        if content and not content.isspace():
            first = content[0]
            if first == "<" or first.isspace():
                think = True  # it may open with a <think> trace: split_think decides
            append((role, content, fields[i]))
    return split_think(out) if think else out  # type: ignore[arg-type]


def segment_rows(
    record: Mapping[str, Any],
    *,
    layout: str | None = None,
    mapping: Mapping[str, str] | None = None,
) -> list[tuple[str, str, str]]:
    """`extract_segments` for hot loops that only index their segments: the same segments, as
    plain `(role, text, field)` tuples where that saves building Segment objects."""
    if mapping is None and layout is None and type(record) is dict:
        fast = _plain_chat(record)
        if fast is not None:
            return fast
    return extract_segments(record, layout=layout, mapping=mapping)  # type: ignore[return-value]


def check_mapping(mapping: Mapping[str, str]) -> None:
    """Refuse a field mapping that could never match, before any record is read."""
    for role, path in mapping.items():
        if role not in ROLES:
            raise UsageError(f"unknown role {role!r} in the field mapping", fix=f"use one of {', '.join(sorted(ROLES))}")
        if not isinstance(path, str) or not all(part.strip() for part in path.split(".")):
            raise UsageError(f"invalid field path {path!r} for role {role!r}", fix="use dotted names, e.g. meta.answer")


def detect_layout(record: Mapping[str, Any]) -> str:
    """Name the layout of `record` from its keys (and, for `text`, whether it holds HH turns)."""
    # A key holding None counts as absent: Parquet and Arrow rows carry every column of the schema.
    if _has(record, "messages"):
        return "openai-chat"
    if _has(record, "conversations") or _has(record, "conversation"):
        return "sharegpt"
    if _has(record, "chosen") and _has(record, "rejected"):
        return "preference"
    if _has(record, "instruction") and (_has(record, "output") or _has(record, "response")):
        return "alpaca"
    if _completion_pair(record) is not None:
        return "prompt-completion"
    text = record.get("text")
    if text is not None:
        return "hh" if isinstance(text, str) and _is_hh(text) else "text"
    keys = sorted(map(str, record))
    shown = (", ".join(keys[:12]) + (", ..." if len(keys) > 12 else "")) if keys else "none"
    raise LayoutError(f"cannot tell the layout of this record (keys seen: {shown})", fix=_LAYOUT_FIX)


# --- Layouts: one reader each, appending to `out` ----------------------------------------------------


def _read_openai_chat(record: Mapping[str, Any], out: list[Segment]) -> None:
    # A top-level `tools`/`functions` list is the tool schema offered, not text of the example.
    _read_chat(_require(record, "messages", "openai-chat"), "messages", out)


def _read_sharegpt(record: Mapping[str, Any], out: list[Segment]) -> None:
    key = "conversations" if _has(record, "conversations") else "conversation"
    # LLaMA-Factory's ShareGPT variant keeps the system prompt beside the turns.
    _add(out, "system", record.get("system"), "system")
    _read_chat(_require(record, key, "sharegpt"), key, out)


def _read_alpaca(record: Mapping[str, Any], out: list[Segment]) -> None:
    # Dolly-style records say context/response where Alpaca says input/output.
    output_key = "output" if _has(record, "output") or not _has(record, "response") else "response"
    input_key = "input" if _has(record, "input") or not _has(record, "context") else "context"
    instruction = _require(record, "instruction", "alpaca")
    output = _require(record, output_key, "alpaca")
    _add(out, "system", record.get("system"), "system")
    _add(out, "instruction", instruction, "instruction")
    _add(out, "input", record.get(input_key), input_key)  # often "", which _add skips
    _add(out, "output", output, output_key)


def _read_prompt_completion(record: Mapping[str, Any], out: list[Segment]) -> None:
    pair = _completion_pair(record)
    if pair is None:
        raise LayoutError(
            "the record has none of prompt+completion, prompt+response, query+response, "
            "question+answer, which layout prompt-completion needs",
            fix=_LAYOUT_FIX,
        )
    prompt_key, completion_key = pair
    # OpenAI's conversational prompt-completion format holds message lists on either side.
    _read_text_or_chat(record[prompt_key], "prompt", prompt_key, out)
    _read_text_or_chat(record[completion_key], "completion", completion_key, out)


def _read_text(record: Mapping[str, Any], out: list[Segment]) -> None:
    _add(out, "text", _require(record, "text", "text"), "text")


def _read_hh(record: Mapping[str, Any], out: list[Segment]) -> None:
    text = _require(record, "text", "hh")
    if not (isinstance(text, str) and _is_hh(text)):
        raise LayoutError(
            "the text field holds no Human:/Assistant: turns, which layout hh needs", fix=_LAYOUT_FIX
        )
    for n, (role, turn) in enumerate(_hh_turns(text)):
        _add(out, role, turn, f"text#turn{n}")


def _read_preference(record: Mapping[str, Any], out: list[Segment]) -> None:
    chosen = _require(record, "chosen", "preference")
    rejected = _require(record, "rejected", "preference")
    start = len(out)
    prompt = record.get("prompt")
    if prompt is not None:
        _read_text_or_chat(prompt, "prompt", "prompt", out)
    # chosen and rejected usually repeat the prompt, and each other's earlier turns: that shared
    # context is emitted once, from where it first appears.
    seen = {segment.text for segment in out[start:]}
    seen |= _read_preference_answer(chosen, "chosen", seen, out)
    _read_preference_answer(rejected, "rejected", seen, out)


_READERS: dict[str, _Reader] = {
    "openai-chat": _read_openai_chat,
    "sharegpt": _read_sharegpt,
    "alpaca": _read_alpaca,
    "prompt-completion": _read_prompt_completion,
    "text": _read_text,
    "preference": _read_preference,
    "hh": _read_hh,
}


# --- Preference answers --------------------------------------------------------------------------------


def _read_preference_answer(
    value: Any, key: str, seen: set[str], out: list[Segment]
) -> frozenset[str] | set[str]:
    """Append one side (`key` is "chosen" or "rejected"); return the context texts it emitted."""
    if isinstance(value, (list, tuple)):
        return _read_preference_messages(value, key, seen, out)
    if isinstance(value, str) and _is_hh(value):
        return _read_preference_hh(value, key, seen, out)
    _add(out, key, value, key)
    return _EMPTY


def _read_preference_messages(messages: Any, key: str, seen: set[str], out: list[Segment]) -> set[str]:
    # The trailing assistant message(s) are the answer being ranked; everything before is context.
    answer_start = len(messages)
    while answer_start and _speaker(messages[answer_start - 1], f"{key}[{answer_start - 1}]") == "assistant":
        answer_start -= 1
    start = len(out)
    for i in range(answer_start):
        _read_message(messages[i], f"{key}[{i}]", out, "assistant")
    out[start:] = [segment for segment in out[start:] if segment.text not in seen]
    context = {segment.text for segment in out[start:]}
    for i in range(answer_start, len(messages)):
        _read_message(messages[i], f"{key}[{i}]", out, key)
    return context


def _read_preference_hh(text: str, key: str, seen: set[str], out: list[Segment]) -> set[str]:
    turns = _hh_turns(text)
    answer_start = len(turns)
    while answer_start and turns[answer_start - 1][0] == "assistant":
        answer_start -= 1
    start = len(out)
    for n in range(answer_start):
        role, turn = turns[n]
        if turn not in seen:
            _add(out, role, turn, f"{key}#turn{n}")
    context = {segment.text for segment in out[start:]}
    for n in range(answer_start, len(turns)):
        _add(out, key, turns[n][1], f"{key}#turn{n}")
    return context


# --- Chat messages ------------------------------------------------------------------------------------


def _read_text_or_chat(value: Any, role: str, field: str, out: list[Segment]) -> None:
    if isinstance(value, (list, tuple)):
        _read_chat(value, field, out)
    else:
        _add(out, role, value, field)


def _read_chat(messages: Any, field: str, out: list[Segment]) -> None:
    if not isinstance(messages, (list, tuple)):
        raise LayoutError(
            f"{field} holds {_kind(messages)} where a list of messages was expected", fix=_MAP_FIX
        )
    for i, message in enumerate(messages):
        _read_message(message, _item(field, i), out, "assistant")


@lru_cache(maxsize=4096)
def _item(field: str, i: int) -> str:
    """`field[i]`, built once: every chat record names the same few message positions."""
    return f"{field}[{i}]"


@lru_cache(maxsize=4096)
def _content(field: str) -> str:
    return field + ".content"


def _read_message(message: Any, field: str, out: list[Segment], assistant_role: str) -> None:
    """Append one message's segments; its assistant text gets `assistant_role` (chosen/rejected)."""
    # Fast path for by far the commonest message, {"role": ..., "content": "..."}: imports and
    # lint runs meet millions of them, and the general path below costs several times more.
    if type(message) is dict and len(message) == 2:
        content = message.get("content")
        speaker = message.get("role")
        if type(content) is str and type(speaker) is str:
            role = _SPEAKER_ROLES.get(speaker)
            if role is not None:
                if content and not content.isspace():
                    out.append(Segment(assistant_role if role == "assistant" else role, content, _content(field)))
                return
    role = _speaker(message, field)
    if role == "assistant":
        role = assistant_role
    text_key = "value" if message.get("from") is not None else "content"
    # The model wrote its reasoning before its answer, whatever the key order of the message.
    for key in _REASONING_KEYS:
        value = message.get(key)
        if isinstance(value, str):
            _add(out, "reasoning", value, f"{field}.{key}")
    content = message.get(text_key)
    if isinstance(content, (list, tuple)):
        _read_parts(content, role, f"{field}.{text_key}", out)
    elif content is not None:
        _add(out, role, content, f"{field}.{text_key}")
    refusal = message.get("refusal")
    if refusal is not None:
        _add(out, role, refusal, f"{field}.refusal")
    calls = message.get("tool_calls")
    if calls:
        _read_tool_calls(calls, field, out)
    call = message.get("function_call")  # the legacy single-call form
    if call is not None:
        if not isinstance(call, Mapping):
            raise LayoutError(f"{field}.function_call holds {_kind(call)} where an object was expected")
        name = f"{field}.function_call"
        _add(out, "tool_call", _call_text(call.get("name"), call.get("arguments"), name), name)


def _speaker(message: Any, field: str) -> str:
    """The role (from ROLES) of a message's speaker, ShareGPT `from` or OpenAI `role`."""
    if not isinstance(message, Mapping):
        raise LayoutError(f"{field} holds {_kind(message)} where a message object was expected", fix=_MAP_FIX)
    speaker = message.get("from")
    if speaker is None:
        speaker = message.get("role")
    if isinstance(speaker, str):
        role = _SPEAKER_ROLES.get(speaker)
        if role is None:
            role = _SPEAKER_ROLES.get(speaker.lower())
        if role is not None:
            return role
    raise LayoutError(
        f"{field} has the unknown speaker {speaker!r}",
        fix=f"speakers understood: {', '.join(_SPEAKER_ROLES)}; or {_MAP_FIX}",
    )


def _read_parts(parts: Any, role: str, field: str, out: list[Segment]) -> None:
    """Append the text of a list of content parts (OpenAI or Anthropic style)."""
    for j, part in enumerate(parts):
        where = f"{field}[{j}]"
        if isinstance(part, str):
            _add(out, role, part, where)
            continue
        if not isinstance(part, Mapping):
            raise LayoutError(f"{where} holds {_kind(part)} where a content part was expected", fix=_MAP_FIX)
        kind = part.get("type")
        if kind in _TEXT_PARTS or (kind is None and "text" in part):
            _add(out, role, part.get("text"), f"{where}.text")
        elif kind == "thinking":
            _add(out, "reasoning", part.get("thinking"), f"{where}.thinking")
        elif kind == "tool_use":
            _add(out, "tool_call", _call_text(part.get("name"), part.get("input"), where), where)
        elif kind == "tool_result":
            content = part.get("content")
            if isinstance(content, (list, tuple)):
                _read_parts(content, "tool", f"{where}.content", out)
            else:
                _add(out, "tool", content, f"{where}.content")
        elif kind == "refusal":
            _add(out, role, part.get("refusal"), f"{where}.refusal")


def _read_tool_calls(calls: Any, field: str, out: list[Segment]) -> None:
    if not isinstance(calls, (list, tuple)):
        raise LayoutError(f"{field}.tool_calls holds {_kind(calls)} where a list was expected", fix=_MAP_FIX)
    for k, call in enumerate(calls):
        where = f"{field}.tool_calls[{k}]"
        if not isinstance(call, Mapping):
            raise LayoutError(f"{where} holds {_kind(call)} where a tool call was expected", fix=_MAP_FIX)
        # Some exports put name/arguments on the call itself instead of under "function".
        function = call.get("function")
        if function is None:
            function = call
        if not isinstance(function, Mapping):
            raise LayoutError(f"{where}.function holds {_kind(function)} where an object was expected")
        arguments = function.get("arguments")
        if arguments is None:
            arguments = function.get("input")
        _add(out, "tool_call", _call_text(function.get("name"), arguments, where), where)


def _call_text(name: Any, arguments: Any, field: str) -> str:
    """`name(arguments)`: argument strings kept as given, objects as sorted-key JSON.

    Sorted keys and json.dumps' default separators make an Anthropic `input` object print like the
    usual OpenAI `arguments` string, so the same call fingerprints alike in both.
    """
    if not isinstance(name, str) or not name:
        raise LayoutError(f"{field} is a tool call without a name", fix=_MAP_FIX)
    if arguments is None:
        arguments = ""
    elif not isinstance(arguments, str):
        arguments = json.dumps(arguments, sort_keys=True, ensure_ascii=False, default=str)
    return f"{name}({arguments})"


# --- HH transcripts -------------------------------------------------------------------------------------


def _is_hh(text: str) -> bool:
    # Only a transcript that *starts* with a Human turn: prose that quotes "Human:" stays text.
    return (text.startswith("\n\nHuman:") or text.startswith("Human:")) and "\n\nAssistant:" in text


def _hh_turns(text: str) -> list[tuple[str, str]]:
    """[(role, text)] of an HH transcript; _is_hh(text) must hold, so nothing precedes turn 0."""
    pieces = _HH_TURN.split(text)  # ["", speaker, text, speaker, text, ...]
    return [(_HH_ROLES[pieces[i]], pieces[i + 1].strip()) for i in range(1, len(pieces), 2)]


# --- Explicit field mapping ----------------------------------------------------------------------------


def _read_mapped(record: Mapping[str, Any], mapping: Mapping[str, str], out: list[Segment]) -> None:
    found = False
    for role, path in mapping.items():
        if role not in ROLES:
            raise LayoutError(
                f"unknown role {role!r} in the field mapping", fix=f"use one of: {', '.join(sorted(ROLES))}"
            )
        if not isinstance(path, str):
            raise LayoutError(f"the field mapping gives {_kind(path)} for role {role!r}", fix=_PATH_FIX)
        value = _resolve(record, _parse_path(path))
        if value is None:
            continue  # a field that only some records carry
        found = True
        if isinstance(value, (list, tuple)) and value and isinstance(value[0], Mapping):
            _read_chat(value, path, out)  # messages keep their own roles
        else:
            _add(out, role, value, path)
    if not found:
        fields = ", ".join(mapping.values()) or "none"
        keys = ", ".join(sorted(map(str, record))[:12]) or "none"
        raise LayoutError(
            f"none of the mapped fields is in this record (fields: {fields}; keys seen: {keys})",
            fix=_PATH_FIX,
        )


@lru_cache(maxsize=256)
def _parse_path(path: str) -> tuple[tuple[str, int | None], ...]:
    """Split a dotted path once per distinct path: each step is (key, list index or None)."""
    steps = path.split(".")
    if not all(steps):
        raise LayoutError(f"bad field path {path!r} in the field mapping", fix=_PATH_FIX)
    return tuple((step, int(step) if step.isdigit() else None) for step in steps)


def _resolve(record: Mapping[str, Any], steps: tuple[tuple[str, int | None], ...]) -> Any:
    value: Any = record
    for key, index in steps:
        if isinstance(value, Mapping):
            value = value.get(key)
        elif index is not None and isinstance(value, (list, tuple)):
            value = value[index] if index < len(value) else None
        else:
            return None
        if value is None:
            return None
    return value


# --- Post-processing shared by every layout -----------------------------------------------------------


def _insert_top_level_reasoning(record: Mapping[str, Any], out: list[Segment]) -> None:
    # Placed before the first completion-side segment: the trace precedes the answer it led to,
    # which is also where a <think> split or a message's reasoning_content puts it.
    if _REASONING_SET.isdisjoint(record):
        return
    found: list[Segment] = []
    for key in _REASONING_KEYS:
        value = record.get(key)
        if isinstance(value, str):
            _add(found, "reasoning", value, key)
    if found:
        at = next((i for i, segment in enumerate(out) if segment.role in COMPLETION_ROLES), len(out))
        out[at:at] = found


def split_think(segments: list[Segment]) -> list[Segment]:
    """Split a leading `<think>...</think>` off completion-side text into a reasoning segment.

    Done once here, for every layout, so an R1-style answer fingerprints the same as one whose trace
    sits in a separate reasoning field. An unclosed `<think>` (a truncated trace) is all reasoning.
    """
    result: list[Segment] | None = None
    # Indexing rather than attributes: segment_rows passes plain (role, text, field) tuples.
    for i, segment in enumerate(segments):
        role, text, field = segment[0], segment[1], segment[2]
        # Most texts start with neither "<" nor a space: one character settles it.
        first = text[:1]
        if (first != "<" and not first.isspace()) or role not in _THINK_ROLES or not _starts_with_think(text):
            if result is not None:
                result.append(segment)
            continue
        if result is None:
            result = segments[:i]
        start = text.index(_THINK_OPEN) + len(_THINK_OPEN)
        end = text.find(_THINK_CLOSE, start)
        if end < 0:
            reasoning, rest = text[start:], ""
        else:
            reasoning, rest = text[start:end], text[end + len(_THINK_CLOSE) :]
        _add(result, "reasoning", reasoning.strip(), f"{field}#think")
        _add(result, role, rest.strip(), field)
    return segments if result is None else result


def _starts_with_think(text: str) -> bool:
    return text.startswith(_THINK_OPEN) or (text[:1].isspace() and text.lstrip().startswith(_THINK_OPEN))


# --- Helpers ----------------------------------------------------------------------------------------------


def _add(out: list[Segment], role: str, value: Any, field: str) -> None:
    """Append a segment unless the text is missing (null) or blank. Anything else that is not a
    string (a number, NaN, a boolean, an object) is not text: the record is malformed, rather than
    its answer being taken to be "42" or "nan"."""
    if value is None:
        return
    if not isinstance(value, str):
        raise LayoutError(f"{field} holds {_kind(value)} where text was expected", fix=_MAP_FIX)
    if value and not value.isspace():
        out.append(Segment(role, value, field))


def _has(record: Mapping[str, Any], key: str) -> bool:
    return record.get(key) is not None


def _require(record: Mapping[str, Any], key: str, layout: str) -> Any:
    value = record.get(key)
    if value is None:
        raise LayoutError(f"the record has no {key!r} field, which layout {layout} needs", fix=_LAYOUT_FIX)
    return value


def _completion_pair(record: Mapping[str, Any]) -> tuple[str, str] | None:
    for pair in _COMPLETION_PAIRS:
        if _has(record, pair[0]) and _has(record, pair[1]):
            return pair
    return None


def _kind(value: Any) -> str:
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, (int, float)):
        shown = repr(value) if len(repr(value)) <= 20 else repr(value)[:17] + "..."
        return f"a number ({shown})"
    return f"a {type(value).__name__}"
