"""Models built on other makers' models and the clauses that follow them: Cohere Command A and Aya
weights, NVIDIA's Llama-based Nemotron models (NVIDIA Open Model License AND the Llama licence),
Gemma Model Derivatives, the Llama Acceptable Use Policies' EU clause, and first-party citations
for the Kimi and Grok 2 licences."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from urllib.parse import urlparse

import pytest

from lineage.policy import Evaluator, UseContext
from lineage.sources import SourceSpec
from tests.conftest import STATED, STATED_FLAGS, at, run_cli


def evaluate(pack, model: str, when: str, **context):  # type: ignore[no-untyped-def]
    evaluator = Evaluator(pack, UseContext(**{**STATED, **context}), today=date(2026, 12, 7))
    return evaluator.evaluate(SourceSpec.build(kind="open-model", model=model), at(when))


def codes(result, severity: str | None = None) -> set[str]:  # type: ignore[no-untyped-def]
    return {f.code for f in result.findings if severity is None or f.severity == severity}


# --- 1. Cohere Command A and Aya -----------------------------------------------------------------

@pytest.mark.parametrize("model", [
    "CohereLabs/c4ai-command-a-03-2025", "CohereLabs/command-a-reasoning-08-2025",
    "CohereLabs/command-a-vision-07-2025", "CohereLabs/command-a-translate-08-2025",
    "CohereLabs/aya-expanse-8b", "CohereLabs/aya-expanse-32b", "CohereLabs/aya-vision-8b",
    "CohereLabs/aya-vision-32b", "CohereForAI/aya-23-8B", "CohereForAI/aya-23-35B",
])
def test_cohere_labs_weights_are_non_commercial_under_the_aup(pack, model: str) -> None:  # type: ignore[no-untyped-def]
    entry = Evaluator(pack, UseContext()).catalogue.lookup(model)
    assert entry is not None and entry.license == "CC-BY-NC-4.0 AND LicenseRef-cohere-aup", model
    commercial = evaluate(pack, model, "2025-09-01")
    assert commercial.verdict == "blocked"
    # The AUP's synthetic-data clause decides (CC-BY-NC's own terms bind the weights, not the outputs).
    assert "COH100" in codes(commercial, "error")
    research = evaluate(pack, model, "2025-09-01", commercial=False)
    assert "COH100" not in codes(research)


@pytest.mark.parametrize("model", ["CohereLabs/command-a-plus-05-2026", "CohereForAI/aya-101"])
def test_apache_cohere_weights_are_not_caught(pack, model: str) -> None:  # type: ignore[no-untyped-def]
    entry = Evaluator(pack, UseContext()).catalogue.lookup(model)
    assert entry is None or "cohere-aup" not in (entry.license or "")


def test_the_cohere_aup_cites_the_cohere_labs_address(pack) -> None:  # type: ignore[no-untyped-def]
    version = pack.documents["cohere-labs-acceptable-use-policy"].versions[-1]
    assert version.url == "https://docs.cohere.com/docs/cohere-labs-acceptable-use-policy"
    assert "c4ai" not in version.url
    # Read only in a third party's copy: not of high confidence.
    assert version.read is not None and urlparse(version.read.at).netloc == "github.com"
    assert all(rule.confidence != "high" for rule in version.rules)


# --- 2. NVIDIA Llama-based Nemotron ----------------------------------------------------------------

@pytest.mark.parametrize(("model", "llama"), [
    ("nvidia/Llama-3_3-Nemotron-Super-49B-v1", "llama-3.3"),
    ("nvidia/Llama-3_1-Nemotron-Ultra-253B-v1", "llama-3.1"),
    ("nvidia/Llama-3.1-Nemotron-Nano-8B-v1", "llama-3.1"),
    ("nvidia/Llama-3.1-Nemotron-Nano-4B-v1.1", "llama-3.1"),
])
def test_llama_nemotron_carries_both_licences(pack, model: str, llama: str) -> None:  # type: ignore[no-untyped-def]
    entry = Evaluator(pack, UseContext()).catalogue.lookup(model)
    assert entry is not None and entry.family == "nemotron"
    assert entry.license == f"LicenseRef-nvidia-open-model AND LicenseRef-{llama}"
    result = evaluate(pack, model, "2025-06-01", distribute_model=True, model_name="Acme-49B")
    applied = {doc for doc, _ in result.terms}
    assert {"nvidia-open-model-license", f"{llama}-community-license"} <= applied
    # The Llama naming duty of that Llama version: the distributed model's name must start with "Llama".
    digit = {"llama-3.1": "2", "llama-3.3": "4"}[llama]
    assert result.verdict == "blocked"
    assert f"META1{digit}2" in codes(result, "error")
    assert any(o.text == "Built with Llama" for o in result.obligations)
    renamed = evaluate(pack, model, "2025-06-01", distribute_model=True, model_name="Llama-Acme-49B")
    assert renamed.verdict == "allowed-with-obligations", [f.to_dict() for f in renamed.findings]
    assert "NVD100" in codes(renamed)


def test_llama_nemotron_70b_is_under_the_llama_licence_only(pack) -> None:  # type: ignore[no-untyped-def]
    entry = Evaluator(pack, UseContext()).catalogue.lookup("nvidia/Llama-3.1-Nemotron-70B-Instruct-HF")
    assert entry is not None and entry.license == "LicenseRef-llama-3.1"
    result = evaluate(pack, "nvidia/Llama-3.1-Nemotron-70B-Instruct-HF", "2025-06-01")
    assert {doc for doc, _ in result.terms} == {"llama-3.1-community-license"}


def test_fine_tuning_a_nemotron_model_gets_nvidias_notice(pack) -> None:  # type: ignore[no-untyped-def]
    result = evaluate(pack, "nvidia/Llama-3_3-Nemotron-Super-49B-v1", "2025-06-01", distribute_model=True,
                      model_name="Llama-Acme", base_model="nvidia/Llama-3_3-Nemotron-Super-49B-v1")
    assert any(o.code == "NVD101" for o in result.obligations)


# --- 3. Gemma Model Derivatives ------------------------------------------------------------------

@pytest.mark.parametrize("distribute", [True, False])
def test_gemma_use_restrictions_bind_a_derivative_even_if_not_distributed(pack, distribute: bool) -> None:  # type: ignore[no-untyped-def]
    result = evaluate(pack, "gemma-2-9b-it", "2025-06-01", purpose="distill", distribute_model=distribute)
    restriction = [o for o in result.obligations if o.code == "GOO104"]
    assert restriction and restriction[0].type == "flow-down"
    assert restriction[0].citation is not None and restriction[0].citation.section.startswith("§3.2")
    assert result.verdict == "allowed-with-obligations"
    assert any(o.code == "GOO103" for o in result.obligations) is distribute


# --- 4. Llama Acceptable Use Policies: the EU clause ---------------------------------------------

LLAMA4 = "meta-llama/Llama-4-Scout-17B-16E-Instruct"


def test_llama4_is_forbidden_in_the_eu(pack) -> None:  # type: ignore[no-untyped-def]
    eu = evaluate(pack, LLAMA4, "2025-06-01", territory=["eu"])
    assert eu.verdict == "blocked" and "META156" in codes(eu, "error")
    us = evaluate(pack, LLAMA4, "2025-06-01", territory=["us"])
    assert us.verdict in ("allowed", "allowed-with-obligations")
    assert "META156" not in codes(us)
    unstated = evaluate(pack, LLAMA4, "2025-06-01")
    assert unstated.verdict == "needs-review"
    assert any(f.code == "LIN014" and f.rule == "META156" for f in unstated.findings)


def test_llama32_vision_is_forbidden_in_the_eu_and_text_models_are_not(pack) -> None:  # type: ignore[no-untyped-def]
    vision = evaluate(pack, "meta-llama/Llama-3.2-11B-Vision-Instruct", "2025-01-01", territory=["eu"])
    assert vision.verdict == "blocked" and "META137" in codes(vision, "error")
    text = evaluate(pack, "meta-llama/Llama-3.2-3B-Instruct", "2025-01-01", territory=["eu"])
    assert text.verdict in ("allowed", "allowed-with-obligations")
    assert "META136" in codes(text, "info") and "META137" not in codes(text)
    assert evaluate(pack, "meta-llama/Llama-3.2-3B-Instruct", "2025-01-01").verdict != "needs-review"


def test_llama33_is_text_only_so_the_eu_clause_does_not_bite(pack) -> None:  # type: ignore[no-untyped-def]
    result = evaluate(pack, "meta-llama/Llama-3.3-70B-Instruct", "2025-01-01", territory=["eu"])
    assert result.verdict in ("allowed", "allowed-with-obligations")
    note = next(f for f in result.findings if f.code == "META146")
    assert note.severity == "info" and "text-only" in note.message
    assert "META146" not in codes(evaluate(pack, "meta-llama/Llama-3.3-70B-Instruct", "2025-01-01", territory=["us"]))


def test_explain_llama4_in_the_eu(tmp_path: Path) -> None:
    args = ("explain", "--kind", "open-model", "--model", LLAMA4, "--generated-at", "2025-06-01", *STATED_FLAGS)
    eu = run_cli(*args, "--territory", "eu", "--format", "json", cwd=tmp_path)
    assert eu.returncode == 1, eu.stderr
    data = json.loads(eu.stdout)
    assert data["verdict"] == "blocked"
    finding = next(f for f in data["findings"] if f["code"] == "META156")
    assert finding["citation"]["url"].startswith("https://github.com/meta-llama/")
    us = run_cli(*args, "--territory", "us", "--format", "json", cwd=tmp_path)
    assert us.returncode == 0, us.stdout + us.stderr
    unstated = run_cli(*args, cwd=tmp_path)
    assert "territory" in unstated.stdout and "LIN014" in unstated.stdout


# --- 5. First-party citations for the Kimi and Grok 2 licences -----------------------------------

@pytest.mark.parametrize(("document", "owners"), [
    ("moonshot-kimi-k2-license", ("huggingface.co/moonshotai", "github.com/moonshotai")),
    ("moonshot-kimi-k3-license", ("huggingface.co/moonshotai", "github.com/moonshotai")),
    ("xai-community-license", ("huggingface.co/xai-org", "github.com/xai-org")),
])
def test_model_licences_cite_the_licensor(pack, document: str, owners: tuple[str, ...]) -> None:  # type: ignore[no-untyped-def]
    for version in pack.documents[document].versions:
        parsed = urlparse(version.url)
        assert f"{parsed.netloc}/{parsed.path.strip('/').split('/')[0]}".lower() in owners, version.url
        assert "orsonteodoro" not in version.url
        assert version.read is not None
        if "orsonteodoro" in version.read.at:
            assert all(rule.confidence != "high" for rule in version.rules), document
