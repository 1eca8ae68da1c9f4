"""Tests for lineage.segments: every layout, detection, forced layouts, mappings, reasoning splits."""

from __future__ import annotations

import json
import re

import pytest

from lineage.exceptions import LayoutError
from lineage.fingerprints import fingerprint
from lineage.segments import LAYOUTS, ROLES, Segment, detect_layout, extract_segments

LAYOUT_FIX = (
    "pass --layout NAME or --map ROLE=FIELD "
    "(layouts: openai-chat, sharegpt, alpaca, prompt-completion, text, preference, hh)"
)


def triples(segments: list[Segment]) -> list[tuple[str, str, str]]:
    return [(s.role, s.text, s.field) for s in segments]


def completion_prints(segments: list[Segment]) -> set[tuple[str, bytes]]:
    return {(s.side, s.fingerprint) for s in segments if s.side == "completion"}


def prompt_prints(segments: list[Segment]) -> set[tuple[str, bytes]]:
    return {(s.side, s.fingerprint) for s in segments if s.side == "prompt"}


# --- openai-chat --------------------------------------------------------------------------------------


def test_openai_chat_with_tool_calls_and_parts() -> None:
    record = {
        "id": "ex-1",
        "model": "gpt-4o-2024-08-06",
        "tools": [
            {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}
        ],
        "messages": [
            {"role": "system", "content": "You are a weather assistant."},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What's the weather in Paris?"},
                    {"type": "image_url", "image_url": {"url": "https://example.com/paris.png"}},
                ],
            },
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_abc",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city": "Paris", "unit": "c"}'},
                    },
                    {
                        "id": "call_def",
                        "type": "function",
                        "function": {"name": "get_time", "arguments": {"tz": "Europe/Paris"}},
                    },
                ],
            },
            {"role": "tool", "tool_call_id": "call_abc", "content": '{"temp": 18}'},
            {"role": "assistant", "content": "It is 18 °C in Paris.", "weight": 1},
        ],
    }
    assert triples(extract_segments(record)) == [
        ("system", "You are a weather assistant.", "messages[0].content"),
        ("user", "What's the weather in Paris?", "messages[1].content[0].text"),
        ("tool_call", 'get_weather({"city": "Paris", "unit": "c"})', "messages[2].tool_calls[0]"),
        ("tool_call", 'get_time({"tz": "Europe/Paris"})', "messages[2].tool_calls[1]"),
        ("tool", '{"temp": 18}', "messages[3].content"),
        ("assistant", "It is 18 °C in Paris.", "messages[4].content"),
    ]
    assert detect_layout(record) == "openai-chat"


def test_openai_chat_role_aliases_input_output_parts_and_legacy_function_call() -> None:
    record = {
        "messages": [
            {"role": "developer", "content": "Answer in French."},
            {"role": "human", "content": [{"type": "input_text", "text": "Convert 3 km."}]},
            {
                "role": "model",
                "content": "",
                "function_call": {"name": "convert", "arguments": {"value": 3, "unit": "km", "to": "mi"}},
            },
            {"role": "function", "name": "convert", "content": "1.864"},
            {"role": "gpt", "content": [{"type": "output_text", "text": "3 km font 1,86 miles."}]},
            {"role": "ipython", "content": "ok"},
        ]
    }
    assert triples(extract_segments(record)) == [
        ("system", "Answer in French.", "messages[0].content"),
        ("user", "Convert 3 km.", "messages[1].content[0].text"),
        ("tool_call", 'convert({"to": "mi", "unit": "km", "value": 3})', "messages[2].function_call"),
        ("tool", "1.864", "messages[3].content"),
        ("assistant", "3 km font 1,86 miles.", "messages[4].content[0].text"),
        ("tool", "ok", "messages[5].content"),
    ]


def test_anthropic_style_parts() -> None:
    record = {
        "messages": [
            {"role": "user", "content": "Look up order 42."},
            {
                "role": "assistant",
                "content": [
                    {"type": "thinking", "thinking": "I should call the order tool.", "signature": "abc"},
                    {"type": "redacted_thinking", "data": "ENCRYPTED"},
                    {"type": "text", "text": "Let me check."},
                    {"type": "tool_use", "id": "toolu_1", "name": "get_order", "input": {"id": 42}},
                ],
            },
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_1", "content": "shipped"},
                    {
                        "type": "tool_result",
                        "tool_use_id": "toolu_2",
                        "content": [
                            {"type": "text", "text": "tracking: XY123"},
                            {"type": "image", "source": {"type": "base64", "data": "..."}},
                        ],
                    },
                ],
            },
            {"role": "assistant", "content": [{"type": "text", "text": "Order 42 has shipped."}]},
        ]
    }
    assert triples(extract_segments(record)) == [
        ("user", "Look up order 42.", "messages[0].content"),
        ("reasoning", "I should call the order tool.", "messages[1].content[0].thinking"),
        ("assistant", "Let me check.", "messages[1].content[2].text"),
        ("tool_call", 'get_order({"id": 42})', "messages[1].content[3]"),
        ("tool", "shipped", "messages[2].content[0].content"),
        ("tool", "tracking: XY123", "messages[2].content[1].content[0].text"),
        ("assistant", "Order 42 has shipped.", "messages[3].content[0].text"),
    ]


def test_message_level_reasoning_fields_come_before_the_answer() -> None:
    record = {
        "messages": [
            {"role": "user", "content": "2+2?"},
            {"role": "assistant", "content": "4", "reasoning_content": "Two plus two is four."},
            {"role": "user", "content": "3+3?"},
            {"role": "assistant", "content": "6", "reasoning": "Three plus three.", "thinking": "Six."},
            # An object under a reasoning name (as some APIs emit) is not a trace: ignored.
            {"role": "assistant", "content": "done", "reasoning": {"effort": "low"}},
        ]
    }
    assert triples(extract_segments(record)) == [
        ("user", "2+2?", "messages[0].content"),
        ("reasoning", "Two plus two is four.", "messages[1].reasoning_content"),
        ("assistant", "4", "messages[1].content"),
        ("user", "3+3?", "messages[2].content"),
        ("reasoning", "Three plus three.", "messages[3].reasoning"),
        ("reasoning", "Six.", "messages[3].thinking"),
        ("assistant", "6", "messages[3].content"),
        ("assistant", "done", "messages[4].content"),
    ]


def test_chat_errors_for_unknown_speaker_and_bad_content() -> None:
    with pytest.raises(LayoutError, match=r"messages\[1\] has the unknown speaker 'narrator'"):
        extract_segments(
            {"messages": [{"role": "user", "content": "a"}, {"role": "narrator", "content": "b"}]}
        )
    with pytest.raises(LayoutError, match=r"messages\[0\]\.content holds an object where text was expected"):
        extract_segments({"messages": [{"role": "user", "content": {"text": "a"}}]})
    with pytest.raises(LayoutError, match="messages holds a str where a list of messages was expected"):
        extract_segments({"messages": "hello"})
    with pytest.raises(LayoutError, match="tool call without a name"):
        extract_segments(
            {"messages": [{"role": "assistant", "tool_calls": [{"function": {"arguments": "{}"}}]}]}
        )


# --- sharegpt -----------------------------------------------------------------------------------------


def test_sharegpt_from_value() -> None:
    record = {
        "id": "identity_0",
        "conversations": [
            {"from": "system", "value": "You can call functions."},
            {"from": "human", "value": "Book a table for two."},
            {"from": "function_call", "value": '{"name": "book", "arguments": {"people": 2}}'},
            {"from": "observation", "value": '{"status": "booked"}'},
            {"from": "gpt", "value": "Your table for two is booked."},
            {"from": "Human", "value": "Thanks!"},
            {"from": "chatgpt", "value": "  "},
            {"from": "bard", "value": "You're welcome."},
        ],
    }
    assert triples(extract_segments(record)) == [
        ("system", "You can call functions.", "conversations[0].value"),
        ("user", "Book a table for two.", "conversations[1].value"),
        ("tool_call", '{"name": "book", "arguments": {"people": 2}}', "conversations[2].value"),
        ("tool", '{"status": "booked"}', "conversations[3].value"),
        ("assistant", "Your table for two is booked.", "conversations[4].value"),
        ("user", "Thanks!", "conversations[5].value"),
        ("assistant", "You're welcome.", "conversations[7].value"),
    ]
    assert detect_layout(record) == "sharegpt"


def test_sharegpt_conversation_key_with_role_content_and_top_level_system() -> None:
    record = {
        "system": "Be terse.",
        "conversation": [
            {"role": "user", "content": "Capital of Peru?"},
            {"role": "assistant", "content": "Lima."},
            {"role": "tool", "content": "lookup ok"},
            {"role": "function_response", "content": "done"},
            {"role": "bing", "content": "Lima, Peru."},
        ],
    }
    assert detect_layout(record) == "sharegpt"
    assert triples(extract_segments(record)) == [
        ("system", "Be terse.", "system"),
        ("user", "Capital of Peru?", "conversation[0].content"),
        ("assistant", "Lima.", "conversation[1].content"),
        ("tool", "lookup ok", "conversation[2].content"),
        ("tool", "done", "conversation[3].content"),
        ("assistant", "Lima, Peru.", "conversation[4].content"),
    ]


# --- alpaca -------------------------------------------------------------------------------------------


def test_alpaca_with_input() -> None:
    record = {
        "instruction": "Translate the sentence to German.",
        "input": "The cat sleeps.",
        "output": "Die Katze schläft.",
        "source": "alpaca_gpt4",
    }
    assert detect_layout(record) == "alpaca"
    assert triples(extract_segments(record)) == [
        ("instruction", "Translate the sentence to German.", "instruction"),
        ("input", "The cat sleeps.", "input"),
        ("output", "Die Katze schläft.", "output"),
    ]


def test_alpaca_empty_input_is_skipped_and_system_is_kept() -> None:
    record = {
        "system": "You are a poet.",
        "instruction": "Write a haiku about rain.",
        "input": "",
        "output": "Soft rain on the roof\nthe kettle starts to whisper\nnobody is home",
    }
    segments = extract_segments(record)
    assert [s.role for s in segments] == ["system", "instruction", "output"]
    assert [s.field for s in segments] == ["system", "instruction", "output"]
    assert segments[-1].side == "completion"
    assert segments[0].side == "prompt"


# --- prompt-completion ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prompt_key", "completion_key"),
    [("prompt", "completion"), ("prompt", "response"), ("query", "response"), ("question", "answer")],
)
def test_prompt_completion_string_pairs(prompt_key: str, completion_key: str) -> None:
    record = {prompt_key: "What is the boiling point of water?", completion_key: "100", "meta": {"id": 7}}
    assert detect_layout(record) == "prompt-completion"
    assert triples(extract_segments(record)) == [
        ("prompt", "What is the boiling point of water?", prompt_key),
        ("completion", "100", completion_key),
    ]


def test_prompt_completion_message_lists() -> None:
    record = {
        "prompt": [
            {"role": "system", "content": "You are a math tutor."},
            {"role": "user", "content": "Is 17 prime?"},
        ],
        "completion": [{"role": "assistant", "content": "Yes, 17 is prime."}],
    }
    assert triples(extract_segments(record)) == [
        ("system", "You are a math tutor.", "prompt[0].content"),
        ("user", "Is 17 prime?", "prompt[1].content"),
        ("assistant", "Yes, 17 is prime.", "completion[0].content"),
    ]


def test_prompt_completion_string_prompt_with_message_completion() -> None:
    record = {"prompt": "Name a prime.", "completion": [{"role": "assistant", "content": "Seven."}]}
    assert triples(extract_segments(record)) == [
        ("prompt", "Name a prime.", "prompt"),
        ("assistant", "Seven.", "completion[0].content"),
    ]


# --- text and hh ---------------------------------------------------------------------------------------


def test_text() -> None:
    record = {"text": "The quick brown fox jumps over the lazy dog.", "url": "https://example.com"}
    assert detect_layout(record) == "text"
    assert triples(extract_segments(record)) == [
        ("text", "The quick brown fox jumps over the lazy dog.", "text")
    ]


def test_text_quoting_human_mid_document_stays_text() -> None:
    record = {"text": "A transcript follows.\n\nHuman: hi\n\nAssistant: hello"}
    assert detect_layout(record) == "text"
    assert [s.role for s in extract_segments(record)] == ["text"]


def test_hh_text() -> None:
    record = {
        "text": "\n\nHuman: How do I boil an egg?\n\nAssistant: Put it in boiling water for 9 minutes."
        "\n\nHuman: Soft-boiled?\n\nAssistant: About 6 minutes."
    }
    assert detect_layout(record) == "hh"
    assert triples(extract_segments(record)) == [
        ("user", "How do I boil an egg?", "text#turn0"),
        ("assistant", "Put it in boiling water for 9 minutes.", "text#turn1"),
        ("user", "Soft-boiled?", "text#turn2"),
        ("assistant", "About 6 minutes.", "text#turn3"),
    ]


def test_hh_text_with_leading_human_without_newlines_and_empty_last_turn() -> None:
    record = {
        "text": "Human: Tell me a joke.\n\nAssistant: Why did the chicken cross the road?\n\nAssistant:"
    }
    assert detect_layout(record) == "hh"
    assert triples(extract_segments(record)) == [
        ("user", "Tell me a joke.", "text#turn0"),
        ("assistant", "Why did the chicken cross the road?", "text#turn1"),
    ]


# --- preference -----------------------------------------------------------------------------------------


def test_preference_strings_with_prompt() -> None:
    record = {
        "prompt": "Write a limerick about a cat.",
        "chosen": "There once was a cat from Peru...",
        "rejected": "Cats are nice.",
        "score_chosen": 8.5,
    }
    assert detect_layout(record) == "preference"
    assert triples(extract_segments(record)) == [
        ("prompt", "Write a limerick about a cat.", "prompt"),
        ("chosen", "There once was a cat from Peru...", "chosen"),
        ("rejected", "Cats are nice.", "rejected"),
    ]


def test_preference_strings_without_prompt() -> None:
    segments = extract_segments({"chosen": "good answer", "rejected": "bad answer"})
    assert triples(segments) == [("chosen", "good answer", "chosen"), ("rejected", "bad answer", "rejected")]
    assert {s.side for s in segments} == {"completion"}


def test_preference_message_lists_repeating_the_prompt() -> None:
    # UltraFeedback-binarized style: prompt string, chosen/rejected are full conversations.
    record = {
        "prompt_id": "abc",
        "prompt": "How many legs does a spider have?",
        "chosen": [
            {"role": "user", "content": "How many legs does a spider have?"},
            {"role": "assistant", "content": "Eight."},
        ],
        "rejected": [
            {"role": "user", "content": "How many legs does a spider have?"},
            {"role": "assistant", "content": "Six."},
        ],
    }
    assert triples(extract_segments(record)) == [
        ("prompt", "How many legs does a spider have?", "prompt"),
        ("chosen", "Eight.", "chosen[1].content"),
        ("rejected", "Six.", "rejected[1].content"),
    ]


def test_preference_conversational_prompt_list() -> None:
    # TRL conversational preference: prompt messages, answers as assistant-only lists.
    record = {
        "prompt": [
            {"role": "system", "content": "Be kind."},
            {"role": "user", "content": "Review my poem."},
        ],
        "chosen": [{"role": "assistant", "content": "It has lovely imagery."}],
        "rejected": [{"role": "assistant", "content": "It is bad."}],
    }
    assert triples(extract_segments(record)) == [
        ("system", "Be kind.", "prompt[0].content"),
        ("user", "Review my poem.", "prompt[1].content"),
        ("chosen", "It has lovely imagery.", "chosen[0].content"),
        ("rejected", "It is bad.", "rejected[0].content"),
    ]


def test_preference_multi_turn_lists_without_prompt() -> None:
    context = [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello! How can I help?"},
        {"role": "user", "content": "Recommend a book."},
    ]
    record = {
        "chosen": [*context, {"role": "assistant", "content": "Try 'Dune'."}],
        "rejected": [*context, {"role": "assistant", "content": "No."}],
    }
    assert triples(extract_segments(record)) == [
        ("user", "Hi", "chosen[0].content"),
        ("assistant", "Hello! How can I help?", "chosen[1].content"),
        ("user", "Recommend a book.", "chosen[2].content"),
        ("chosen", "Try 'Dune'.", "chosen[3].content"),
        ("rejected", "No.", "rejected[3].content"),
    ]


def test_preference_hh_strings() -> None:
    # Anthropic/hh-rlhf as published: no prompt, two full transcripts.
    shared = "\n\nHuman: What's a good name for a dog?\n\nAssistant: Max or Bella.\n\nHuman: Something rarer?"
    record = {
        "chosen": shared + "\n\nAssistant: How about Juniper?",
        "rejected": shared + "\n\nAssistant: I don't know.",
    }
    assert detect_layout(record) == "preference"
    assert triples(extract_segments(record)) == [
        ("user", "What's a good name for a dog?", "chosen#turn0"),
        ("assistant", "Max or Bella.", "chosen#turn1"),
        ("user", "Something rarer?", "chosen#turn2"),
        ("chosen", "How about Juniper?", "chosen#turn3"),
        ("rejected", "I don't know.", "rejected#turn3"),
    ]


def test_preference_context_differing_between_sides_is_kept() -> None:
    record = {
        "chosen": "\n\nHuman: A?\n\nAssistant: yes",
        "rejected": "\n\nHuman: B?\n\nAssistant: no",
    }
    assert triples(extract_segments(record)) == [
        ("user", "A?", "chosen#turn0"),
        ("chosen", "yes", "chosen#turn1"),
        ("user", "B?", "rejected#turn0"),
        ("rejected", "no", "rejected#turn1"),
    ]


# --- reasoning ------------------------------------------------------------------------------------------


def test_top_level_reasoning_goes_before_the_answer() -> None:
    record = {
        "instruction": "Is 91 prime?",
        "output": "No: 91 = 7 * 13.",
        "reasoning": "Try small primes: 91 / 7 = 13.",
        "thinking": True,  # a flag under a reasoning name is not text
    }
    assert triples(extract_segments(record)) == [
        ("instruction", "Is 91 prime?", "instruction"),
        ("reasoning", "Try small primes: 91 / 7 = 13.", "reasoning"),
        ("output", "No: 91 = 7 * 13.", "output"),
    ]


@pytest.mark.parametrize("key", ["reasoning", "reasoning_content", "thinking"])
def test_top_level_reasoning_in_every_layout(key: str) -> None:
    for record in (
        {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]},
        {"conversations": [{"from": "human", "value": "q"}, {"from": "gpt", "value": "a"}]},
        {"prompt": "q", "completion": "a"},
        {"prompt": "q", "chosen": "a", "rejected": "b"},
        {"text": "a"},
    ):
        segments = extract_segments({**record, key: "the trace"})
        assert ("reasoning", "the trace", key) in triples(segments)
        assert segments[[s.role for s in segments].index("reasoning") + 1].text == "a"


def test_think_split_in_output() -> None:
    record = {
        "instruction": "What is 12 * 12?",
        "output": "<think>\n12 * 12 = 144.\n</think>\n\nThe answer is 144.",
    }
    assert triples(extract_segments(record)) == [
        ("instruction", "What is 12 * 12?", "instruction"),
        ("reasoning", "12 * 12 = 144.", "output#think"),
        ("output", "The answer is 144.", "output"),
    ]


def test_think_split_applies_to_completion_side_roles_only_and_only_at_the_start() -> None:
    record = {
        "messages": [
            {"role": "user", "content": "<think>not a trace</think> why?"},
            {"role": "assistant", "content": "  \n<think>because</think>Because."},
            {"role": "user", "content": "and?"},
            {"role": "assistant", "content": "Tags like <think>x</think> are markup."},
        ]
    }
    assert triples(extract_segments(record)) == [
        ("user", "<think>not a trace</think> why?", "messages[0].content"),
        ("reasoning", "because", "messages[1].content#think"),
        ("assistant", "Because.", "messages[1].content"),
        ("user", "and?", "messages[2].content"),
        ("assistant", "Tags like <think>x</think> are markup.", "messages[3].content"),
    ]


def test_think_split_unclosed_and_empty() -> None:
    assert triples(extract_segments({"prompt": "q", "completion": "<think>still thinking when cut off"})) == [
        ("prompt", "q", "prompt"),
        ("reasoning", "still thinking when cut off", "completion#think"),
    ]
    assert triples(
        extract_segments({"prompt": "q", "completion": "<think>\n\n</think>\n\nJust the answer."})
    ) == [
        ("prompt", "q", "prompt"),
        ("completion", "Just the answer.", "completion"),
    ]


def test_think_split_in_preference_and_hh_turns() -> None:
    record = {
        "prompt": "Pick a colour.",
        "chosen": "<think>Blue is calm.</think>Blue.",
        "rejected": "\n\nHuman: Pick a colour.\n\nAssistant: <think>Any.</think> Red.",
    }
    assert triples(extract_segments(record)) == [
        ("prompt", "Pick a colour.", "prompt"),
        ("reasoning", "Blue is calm.", "chosen#think"),
        ("chosen", "Blue.", "chosen"),
        ("reasoning", "Any.", "rejected#turn1#think"),
        ("rejected", "Red.", "rejected#turn1"),
    ]


def test_think_split_in_text() -> None:
    assert triples(extract_segments({"text": "<think>plan</think>Essay."})) == [
        ("reasoning", "plan", "text#think"),
        ("text", "Essay.", "text"),
    ]


# --- the key property: fingerprints do not depend on the layout ------------------------------------------


QUESTION = "Explain why the sky is blue."
TRACE = "Rayleigh scattering goes as 1/wavelength^4."
ANSWER = "Air molecules scatter short (blue) wavelengths of sunlight\nmuch more than long ones."


def same_conversation_in_every_layout() -> dict[str, dict]:
    inline = f"<think>\n{TRACE}\n</think>\n\n{ANSWER}"
    return {
        "openai-chat": {
            "messages": [
                {"role": "user", "content": QUESTION},
                {"role": "assistant", "content": ANSWER, "reasoning_content": TRACE},
            ]
        },
        "openai-chat-parts": {
            "messages": [
                {"role": "user", "content": [{"type": "text", "text": QUESTION}]},
                {
                    "role": "assistant",
                    "content": [{"type": "thinking", "thinking": TRACE}, {"type": "text", "text": ANSWER}],
                },
            ]
        },
        "sharegpt": {
            "conversations": [{"from": "human", "value": QUESTION}, {"from": "gpt", "value": inline}]
        },
        "alpaca": {"instruction": QUESTION, "input": "", "output": inline},
        "prompt-completion": {"prompt": QUESTION, "completion": ANSWER, "reasoning": TRACE},
        "prompt-completion-lists": {
            "prompt": [{"role": "user", "content": QUESTION}],
            "completion": [{"role": "assistant", "content": inline}],
        },
        "hh": {"text": f"\n\nHuman: {QUESTION}\n\nAssistant: {inline}", "thinking": None},
        "mapping": {"q": QUESTION, "a": {"text": inline}},
    }


def test_same_conversation_gives_same_fingerprints_in_every_layout() -> None:
    records = same_conversation_in_every_layout()
    results = {
        name: extract_segments(
            record, mapping={"user": "q", "assistant": "a.text"} if name == "mapping" else None
        )
        for name, record in records.items()
    }
    expected = {("completion", fingerprint(TRACE)), ("completion", fingerprint(ANSWER))}
    for name, segments in results.items():
        assert completion_prints(segments) == expected, name
        assert prompt_prints(segments) == {("prompt", fingerprint(QUESTION))}, name
    # Reformatting whitespace does not matter either.
    reflowed = extract_segments({"prompt": QUESTION, "completion": "  " + ANSWER.replace("\n", "  ") + "\n"})
    assert ("completion", fingerprint(ANSWER)) in completion_prints(reflowed)


def test_same_tool_call_fingerprints_alike_in_openai_and_anthropic_form() -> None:
    openai = {
        "messages": [
            {
                "role": "assistant",
                "tool_calls": [
                    {
                        "type": "function",
                        "function": {"name": "search", "arguments": '{"k": 3, "query": "größe"}'},
                    }
                ],
            }
        ]
    }
    anthropic = {
        "messages": [
            {
                "role": "assistant",
                "content": [{"type": "tool_use", "name": "search", "input": {"query": "größe", "k": 3}}],
            }
        ]
    }
    assert completion_prints(extract_segments(openai)) == completion_prints(extract_segments(anthropic))
    assert extract_segments(anthropic)[0].text == 'search({"k": 3, "query": "größe"})'


# --- blanks, scalars ---------------------------------------------------------------------------------------


def test_blank_segments_are_skipped_and_numbers_are_not_text() -> None:
    record = {"instruction": "   \n\t", "input": None, "output": "42"}
    assert triples(extract_segments(record)) == [("output", "42", "output")]
    # A number where an answer should be is a malformed record, not the answer "42" or "nan".
    for value, shown in ((42, "42"), (float("nan"), "nan"), (True, "true"), (10**40, "10000000000000000...")):
        with pytest.raises(LayoutError, match=rf"output holds a (number|boolean) \({re.escape(shown)}\) where text"):
            extract_segments({"instruction": "q", "output": value})


def test_object_where_text_expected_is_an_error() -> None:
    with pytest.raises(LayoutError, match="output holds an object where text was expected"):
        extract_segments({"instruction": "q", "output": {"answer": "a"}})
    with pytest.raises(LayoutError, match="text holds a list where text was expected"):
        extract_segments({"text": ["a", "b"]})


# --- detection -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("record", "layout"),
    [
        ({"messages": [], "conversations": [], "chosen": "a", "rejected": "b", "text": "t"}, "openai-chat"),
        (
            {"conversations": [], "chosen": "a", "rejected": "b", "instruction": "i", "output": "o"},
            "sharegpt",
        ),
        ({"conversation": [], "prompt": "p", "completion": "c"}, "sharegpt"),
        ({"prompt": "p", "chosen": "a", "rejected": "b", "completion": "c"}, "preference"),
        ({"instruction": "i", "output": "o", "prompt": "p", "completion": "c", "text": "t"}, "alpaca"),
        ({"prompt": "p", "completion": "c", "text": "t"}, "prompt-completion"),
        ({"question": "q", "answer": "a", "text": "t"}, "prompt-completion"),
        ({"chosen": "a", "text": "t"}, "text"),  # chosen without rejected is not a preference
        ({"instruction": "i", "text": "t"}, "text"),  # instruction without output is not alpaca
        ({"prompt": "p", "text": "\n\nHuman: x\n\nAssistant: y"}, "hh"),
        # Parquet rows carry every column; a None column is an absent one.
        (
            {"messages": None, "conversations": None, "prompt": "p", "completion": "c", "text": None},
            "prompt-completion",
        ),
    ],
)
def test_detection_precedence(record: dict, layout: str) -> None:
    assert detect_layout(record) == layout


def test_unknown_layout_error_names_the_keys() -> None:
    with pytest.raises(LayoutError) as caught:
        extract_segments({"zeta": 1, "alpha": "x", "meta": {}})
    error = caught.value
    assert error.what == "cannot tell the layout of this record (keys seen: alpha, meta, zeta)"
    assert error.fix == LAYOUT_FIX
    assert error.where is None


def test_unknown_layout_error_lists_at_most_twelve_keys() -> None:
    record = {f"k{n:02d}": n for n in range(15)}
    with pytest.raises(LayoutError) as caught:
        detect_layout(record)
    assert caught.value.what == (
        "cannot tell the layout of this record "
        "(keys seen: k00, k01, k02, k03, k04, k05, k06, k07, k08, k09, k10, k11, ...)"
    )


def test_record_that_is_not_an_object() -> None:
    with pytest.raises(LayoutError, match="a record must be an object, got a list"):
        extract_segments(["not", "a", "record"])  # type: ignore[arg-type]


def test_layouts_tuple() -> None:
    assert LAYOUTS == ("openai-chat", "sharegpt", "alpaca", "prompt-completion", "text", "preference", "hh")


# --- forced layout -----------------------------------------------------------------------------------------


def test_forced_text_keeps_hh_transcript_whole() -> None:
    record = {"text": "\n\nHuman: hi\n\nAssistant: hello"}
    assert triples(extract_segments(record, layout="text")) == [("text", record["text"], "text")]


def test_forced_layout_overrides_detection() -> None:
    record = {"prompt": "p", "completion": "c", "instruction": "i", "output": "o"}
    assert [s.field for s in extract_segments(record, layout="prompt-completion")] == ["prompt", "completion"]
    assert [s.field for s in extract_segments(record)] == ["instruction", "output"]


def test_forced_layout_that_does_not_fit_names_the_missing_key() -> None:
    chat = {"messages": [{"role": "user", "content": "q"}]}
    with pytest.raises(LayoutError, match="the record has no 'instruction' field, which layout alpaca needs"):
        extract_segments(chat, layout="alpaca")
    with pytest.raises(LayoutError, match="no 'rejected' field"):
        extract_segments({"chosen": "a"}, layout="preference")
    with pytest.raises(LayoutError, match="prompt\\+completion, prompt\\+response"):
        extract_segments(chat, layout="prompt-completion")
    with pytest.raises(LayoutError, match="no Human:/Assistant: turns"):
        extract_segments({"text": "plain prose"}, layout="hh")
    with pytest.raises(LayoutError, match=r"no 'conversations?' field"):
        extract_segments(chat, layout="sharegpt")


def test_unknown_layout_name() -> None:
    with pytest.raises(LayoutError) as caught:
        extract_segments({"text": "x"}, layout="jsonl")
    assert caught.value.what == "unknown layout 'jsonl'"
    assert caught.value.fix is not None
    for name in LAYOUTS:
        assert name in caught.value.fix


# --- mapping ----------------------------------------------------------------------------------------------


def test_mapping_nested_path_and_list_index() -> None:
    record = {
        "meta": {"question": "Largest planet?", "answer": "Jupiter."},
        "data": [{"text": "Jupiter is a gas giant."}, {"text": "second"}],
        "messages": [{"role": "user", "content": "ignored, not mapped"}],
    }
    segments = extract_segments(
        record, mapping={"user": "meta.question", "assistant": "meta.answer", "reasoning": "data.0.text"}
    )
    assert triples(segments) == [
        ("user", "Largest planet?", "meta.question"),
        ("assistant", "Jupiter.", "meta.answer"),
        ("reasoning", "Jupiter is a gas giant.", "data.0.text"),
    ]


def test_mapping_ignores_layout_and_top_level_reasoning_but_splits_think() -> None:
    record = {
        "instruction": "unmapped",
        "output": "unmapped",
        "reasoning": "top-level trace, not mapped",
        "resp": "<think>hmm</think>Final.",
    }
    assert triples(extract_segments(record, layout="alpaca", mapping={"completion": "resp"})) == [
        ("reasoning", "hmm", "resp#think"),
        ("completion", "Final.", "resp"),
    ]


def test_mapping_messages_list_keeps_message_roles() -> None:
    record = {
        "sample": {
            "dialog": [
                {"role": "user", "content": "Ping?"},
                {"role": "assistant", "content": "Pong."},
            ]
        }
    }
    assert triples(extract_segments(record, mapping={"assistant": "sample.dialog"})) == [
        ("user", "Ping?", "sample.dialog[0].content"),
        ("assistant", "Pong.", "sample.dialog[1].content"),
    ]


def test_mapping_bad_role() -> None:
    with pytest.raises(LayoutError, match="unknown role 'answer' in the field mapping"):
        extract_segments({"a": "x"}, mapping={"answer": "a"})


def test_mapping_bad_path() -> None:
    with pytest.raises(LayoutError, match=r"bad field path 'meta\.\.answer'"):
        extract_segments({"meta": {"answer": "x"}}, mapping={"assistant": "meta..answer"})


def test_mapping_missing_fields() -> None:
    record = {"q": "Hello?", "other": 1}
    # One field missing: skipped silently.
    assert triples(extract_segments(record, mapping={"user": "q", "assistant": "a.b"})) == [
        ("user", "Hello?", "q")
    ]
    # A list index past the end, or a key into a string, is missing too.
    assert extract_segments(record, mapping={"user": "q", "assistant": "q.0", "output": "other.x"}) != []
    # None of the fields present: an error naming them.
    with pytest.raises(LayoutError) as caught:
        extract_segments(record, mapping={"assistant": "a.b", "output": "data.3.text"})
    assert "a.b, data.3.text" in caught.value.what
    assert "keys seen: other, q" in caught.value.what


def test_mapping_roles_are_the_segment_roles() -> None:
    record = {f"f{n}": f"value {n}" for n in range(len(ROLES))}
    mapping = {role: f"f{n}" for n, role in enumerate(sorted(ROLES))}
    segments = extract_segments(record, mapping=mapping)
    assert [s.role for s in segments] == sorted(ROLES)


# --- Segment ----------------------------------------------------------------------------------------------


def test_segment_side_and_fingerprint() -> None:
    assert Segment("tool_call", "f()", "x").side == "completion"
    assert Segment("reasoning", "r", "x").side == "completion"
    assert Segment("tool", "r", "x").side == "prompt"
    assert Segment("user", "a  b", "x").fingerprint == fingerprint("a b")


def test_dict_arguments_serialise_with_sorted_keys_and_unicode() -> None:
    record = {
        "messages": [
            {
                "role": "assistant",
                "tool_calls": [
                    {"type": "function", "function": {"name": "f", "arguments": {"b": "é", "a": [1]}}}
                ],
            }
        ]
    }
    text = extract_segments(record)[0].text
    assert text == "f(" + json.dumps({"a": [1], "b": "é"}, ensure_ascii=False) + ")"
    assert "é" in text


def test_dolly_instruction_context_response_reads_as_alpaca() -> None:
    record = {"instruction": "Summarise.", "context": "A long text.", "response": "Short.", "category": "summarization"}
    assert detect_layout(record) == "alpaca"
    segments = extract_segments(record)
    assert [(s.role, s.text, s.field) for s in segments] == [
        ("instruction", "Summarise.", "instruction"),
        ("input", "A long text.", "context"),
        ("output", "Short.", "response"),
    ]


def test_booleans_are_not_text() -> None:
    with pytest.raises(LayoutError, match="where text was expected"):
        extract_segments({"text": True})
