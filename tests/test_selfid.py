"""Provider self-identification: the detector, and LIN011 in lint on both paths."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import lineage.blocks as blocks
import lineage.linting.linter as linter_module
import lineage.linting.run as run
from lineage.report import render
from lineage.selfid import self_identification
from tests.conftest import chat, run_cli, state_facts, write_jsonl


@pytest.mark.parametrize(("text", "provider"), [
    ("Hello! I'm Claude, an AI assistant made by Anthropic.", "anthropic"),
    ("As an AI language model developed by OpenAI, I cannot browse the web.", "openai"),
    ("I am Gemini, a large language model from Google.", "google"),
    ("I was trained by Google.", "google"),
    ("I am Llama 3, developed by Meta.", "meta"),
    ("My name is Grok.", "xai"),
    ("I'm DeepSeek-V3, happy to help.", "deepseek"),
    ("Soy Gemini, un modelo de Google.", "google"),
    ("Je suis Claude, un assistant créé par Anthropic.", "anthropic"),
    ("Ich bin ChatGPT, ein Sprachmodell von OpenAI.", "openai"),
    ("Sou o ChatGPT.", "openai"),
    ("Sono Claude, un assistente creato da Anthropic.", "anthropic"),
    ("我是通义千问\uff0c由阿里云开发的大模型。", "alibaba"),
    ("我是由智谱AI训练的语言模型。", "zhipu"),
    ("私はClaudeです。", "anthropic"),
    ("Я — Claude, ИИ-ассистент.", "anthropic"),
    ("Меня зовут Grok.", "xai"),
])
def test_claims_in_several_languages(text: str, provider: str) -> None:
    claim = self_identification(text)
    assert claim is not None and claim.provider == provider, claim


@pytest.mark.parametrize("text", [
    "Claude is an assistant made by Anthropic.",  # about a model, not by one
    "OpenAI released GPT-4 in 2023.",
    "This is Gemini's latest release.",
    "The llama is a domesticated South American camelid.",
    "I am a llama farmer in Peru.",
    "Such tools, as the ones developed by OpenAI, are popular.",
    "Water the fern weekly.",
])
def test_texts_that_only_mention_a_provider_are_not_claims(text: str) -> None:
    assert self_identification(text) is None


ROWS = [
    chat("Who are you?", "Hello! I'm Claude, an AI assistant made by Anthropic."),  # recorded as staff
    chat("Who made you?", "I'm Claude, made by Anthropic."),  # recorded as Claude's: consistent
    chat("Can you browse?", "As an AI language model developed by OpenAI, I cannot browse."),  # untracked
    chat("What is a fern?", "A fern is a plant that reproduces by spores."),  # recorded as staff
]


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    staff = write_jsonl(tmp_path / "staff.jsonl", [ROWS[0], ROWS[3]])
    claude = write_jsonl(tmp_path / "claude.jsonl", [ROWS[1]])
    write_jsonl(tmp_path / "train.jsonl", ROWS)
    assert run_cli("init", cwd=tmp_path).returncode == 0
    assert run_cli("import", str(staff), "--kind", "human", "--name", "staff", cwd=tmp_path).returncode == 0
    assert run_cli("import", str(claude), "--provider", "anthropic", "--model", "claude-sonnet-4-5",
                   "--generated-at", "2025-06-01", cwd=tmp_path).returncode == 0
    state_facts(tmp_path)
    return tmp_path


def test_lint_warns_of_undeclared_provider_output(dataset: Path) -> None:
    result = run_cli("lint", "train.jsonl", "--format", "json", "--ignore", "ANT", cwd=dataset)
    assert result.returncode == 0, result.stdout  # a warning: it never blocks on its own
    report = json.loads(result.stdout)
    found = [f for f in report["findings"] if f["code"] == "LIN011"]
    assert [(f["line"], f["severity"]) for f in found] == [(1, "warning"), (3, "warning")]
    first, third = found
    assert first["message"].startswith('the text says "I\'m Claude": possibly undeclared Anthropic output; '
                                       "it is recorded as staff (human)")
    assert "points to where the content came from" in first["message"]
    assert "not to who generated this row" in first["message"]
    assert first["source"]["name"] == "staff" and first["role"] == "assistant"
    assert "possibly undeclared OpenAI output; it has no recorded origin" in third["message"]
    assert third["source"] is None
    assert report["summary"]["blocked"] == 0
    assert "LIN011" in report["rules"]
    quiet = json.loads(run_cli("lint", "train.jsonl", "--format", "json", "--ignore", "ANT,LIN011",
                               cwd=dataset).stdout)
    assert "LIN011" not in quiet["summary"]["findings_by_code"]


def test_columnar_and_row_paths_agree(dataset: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(dataset)
    # Many blocks of plain chat rows, a few of which name a provider.
    rows = [chat(f"Question {i}?", f"Plain answer number {i}.") for i in range(3000)]
    rows[1234] = ROWS[0]
    rows[2500] = ROWS[2]
    # Spelt with a dotted capital I, which Python's case-blind re takes for i and RE2 does not.
    rows[2900] = chat("Who are you?", "Hello! I am GEM\u0130N\u0130.")
    write_jsonl(dataset / "big.jsonl", rows)
    with monkeypatch.context() as patch:
        patch.setattr(run, "_COLUMNAR_MIN_BYTES", 0)
        patch.setattr(blocks, "BLOCK_BYTES", 20000)
        fast = json.loads(render(run.lint(["big.jsonl"]), "json"))
    with monkeypatch.context() as patch:
        patch.setattr(linter_module, "_columnar_available", lambda: False)
        slow = json.loads(render(run.lint(["big.jsonl"]), "json"))
    lines = [f["line"] for f in fast["findings"] if f["code"] == "LIN011"]
    assert lines == [1235, 2501, 2901]
    assert fast["summary"] == slow["summary"] and fast["findings"] == slow["findings"]


def test_the_first_pass_keeps_every_spelling_of_every_name() -> None:
    from lineage.selfid import MAKERS, NAMES, _keywords, _literal_prefix

    assert _literal_prefix(r"gpt-?[345](?:\.5)?") == "gpt" and _literal_prefix(r"x\.ai") == "x.ai"
    assert _literal_prefix(r"llama(?: ?\d(?:\.\d)?)?") == "llama" and _literal_prefix("Claude") == "claude"
    # Every spelling, literal or pattern, as a text may write it, holds one of the first pass's words.
    written = ["GPT4", "gpt-3.5-turbo", "ChatGPT", "Llama3.1", "X.AI", "Palm 2", *(
        s for table in (NAMES, MAKERS) for spellings in table.values() for s in spellings if s.isalpha() or " " in s
    )]
    for text in written:
        assert any(k in text.lower() for k in _keywords()), text
    assert self_identification("I am GPT4, made by OpenAI.") is not None
    # Letters the full patterns' case-blind matching takes for others: the first pass does too.
    for text in ("I am GEM\u0130N\u0130.", "I am Gem\u0131n\u0131.", "I am Mi\u017ftral, made by Mi\u017ftral AI."):
        assert self_identification(text) is not None, text
