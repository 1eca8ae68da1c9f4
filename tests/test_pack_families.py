"""The open-weight families catalogued for 2026 (policies/catalogue/30-open-models-2026.yaml and the
additions to 10-open-models-main.yaml): each name resolves to its family and licence, and the
verdict is the one the licence text supports.

The shared context (STATED in tests/conftest.py) states every fact about the trained model but
`territory`: the tests here state it where a rule turns on it.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from lineage.policy import Evaluator, UseContext
from lineage.sources import SourceSpec
from tests.conftest import STATED, STATED_FLAGS, at, run_cli


def evaluate(pack, model: str, when: str | None = None, **context):  # type: ignore[no-untyped-def]
    use = UseContext(**{**STATED, **context})
    source = SourceSpec.build(kind="open-model", model=model)
    return Evaluator(pack, use, today=date(2026, 12, 7)).evaluate(source, at(when) if when else None)


def errors(result) -> list[str]:  # type: ignore[no-untyped-def]
    return [f.code for f in result.findings if f.severity == "error"]


# --- every catalogue name resolves to the expected family and licence -------------------------

HUNYUAN = "LicenseRef-tencent-hunyuan-community"
CATALOGUE = [
    # (name, family, provider, licence)
    ("deepseek-ai/DeepSeek-V3-0324", "deepseek", "deepseek", "MIT"),
    ("DeepSeek-V3.1", "deepseek", "deepseek", "MIT"),
    ("deepseek-ai/DeepSeek-V3.1-Terminus", "deepseek", "deepseek", "MIT"),
    ("deepseek-ai/DeepSeek-V3.2", "deepseek", "deepseek", "MIT"),
    ("deepseek-ai/DeepSeek-V3.2-Exp", "deepseek", "deepseek", "MIT"),
    ("DeepSeek-V3", "deepseek", "deepseek", "LicenseRef-deepseek-model-1.0"),
    ("deepseek-ai/DeepSeek-V3-Base", "deepseek", "deepseek", "LicenseRef-deepseek-model-1.0"),
    ("Qwen/QwQ-32B", "qwen", "alibaba", "Apache-2.0"),
    ("Qwen2-0.5B", "qwen", "alibaba", "Apache-2.0"),
    ("Qwen/Qwen2-1.5B-Instruct", "qwen", "alibaba", "Apache-2.0"),
    ("Qwen2-7B-Instruct", "qwen", "alibaba", "Apache-2.0"),
    ("Qwen/Qwen2-57B-A14B-Instruct", "qwen", "alibaba", "Apache-2.0"),
    ("Qwen2-72B-Instruct", "qwen", "alibaba", "LicenseRef-tongyi-qianwen"),
    ("Qwen2-VL-72B-Instruct", "qwen", "alibaba", "LicenseRef-qwen"),
    ("Qwen2.5-3B-Instruct", "qwen", "alibaba", "LicenseRef-qwen-research"),
    ("zai-org/GLM-4.5", "glm", "zhipu", "MIT"),
    ("zai-org/GLM-4.5-Air", "glm", "zhipu", "MIT"),
    ("zai-org/GLM-4.6", "glm", "zhipu", "MIT"),
    ("GLM-4.7", "glm", "zhipu", "MIT"),
    ("zai-org/GLM-5", "glm", "zhipu", "MIT"),
    ("THUDM/glm-4-9b-chat", "glm-4", "zhipu", "LicenseRef-glm-4"),
    ("MiniMaxAI/MiniMax-M1-80k", "minimax", "minimax", "Apache-2.0"),
    ("MiniMaxAI/MiniMax-Text-01", "minimax", "minimax", "LicenseRef-minimax-model"),
    ("MiniMaxAI/MiniMax-VL-01", "minimax", "minimax", "LicenseRef-minimax-model"),
    ("MiniMaxAI/MiniMax-M2", "minimax", "minimax", "LicenseRef-minimax-m2"),
    ("mistralai/Magistral-Small-2506", "mistral", "mistral", "Apache-2.0"),
    ("mistralai/Devstral-Small-2505", "mistral", "mistral", "Apache-2.0"),
    ("Devstral-Small-2507", "mistral", "mistral", "Apache-2.0"),
    ("mistralai/Devstral-Small-2-24B-Instruct-2512", "mistral", "mistral", "Apache-2.0"),
    ("mistralai/Devstral-2-123B-Instruct-2512", "mistral", "mistral", "LicenseRef-mistral-modified-mit"),
    ("mistralai/Mistral-Medium-3.5-128B", "mistral", "mistral", "LicenseRef-mistral-modified-mit"),
    ("openai/gpt-oss-safeguard-20b", "gpt-oss", "openai", "Apache-2.0 AND LicenseRef-gpt-oss-safeguard-usage-policy"),
    ("gpt-oss-safeguard-120b", "gpt-oss", "openai", "Apache-2.0 AND LicenseRef-gpt-oss-safeguard-usage-policy"),
    ("openai/gpt-oss-120b", "gpt-oss", "openai", "Apache-2.0 AND LicenseRef-gpt-oss-usage-policy"),
    ("ibm-granite/granite-3.3-8b-instruct", "granite", "ibm", "Apache-2.0"),
    ("ibm-granite/granite-4.0-h-small", "granite", "ibm", "Apache-2.0"),
    ("allenai/OLMo-2-1124-7B-Instruct", "olmo", "ai2", "Apache-2.0"),
    ("allenai/Olmo-3-7B-Think", "olmo", "ai2", "Apache-2.0"),
    ("baidu/ERNIE-4.5-21B-A3B-PT", "ernie", "baidu", "Apache-2.0"),
    ("ByteDance-Seed/Seed-OSS-36B-Instruct", "seed-oss", "bytedance", "Apache-2.0"),
    ("tencent/Hunyuan-A13B-Instruct", "hunyuan", "tencent", HUNYUAN),
    ("tencent/Hunyuan-7B-Instruct", "hunyuan", "tencent", HUNYUAN),
    ("tencent/Hunyuan-4B-Instruct", "hunyuan", "tencent", HUNYUAN),
    ("tencent/Hunyuan-1.8B-Instruct", "hunyuan", "tencent", HUNYUAN),
    ("tencent/Hunyuan-0.5B-Pretrain", "hunyuan", "tencent", HUNYUAN),
    ("tencent/Tencent-Hunyuan-Large", "hunyuan", "tencent", HUNYUAN),
    ("tencent/HunyuanVideo", "hunyuan", "tencent", HUNYUAN),
]


@pytest.mark.parametrize(("name", "family", "provider", "license_"), CATALOGUE, ids=[c[0] for c in CATALOGUE])
def test_catalogue_names_resolve(pack, name: str, family: str, provider: str, license_: str) -> None:  # type: ignore[no-untyped-def]
    entry = Evaluator(pack, UseContext()).catalogue.lookup(name)
    assert entry is not None, name
    assert (entry.family, entry.provider, entry.license) == (family, provider, license_)


@pytest.mark.parametrize("name", [
    # API names and other lines the new patterns must leave alone.
    "ernie-4.5-turbo-128k", "mistral-medium-2505", "glm-5.1", "GLM-4.5V", "Hunyuan3D-2", "MiniMax-M2.5",
])
def test_new_patterns_do_not_take_other_names(pack, name: str) -> None:  # type: ignore[no-untyped-def]
    entry = Evaluator(pack, UseContext()).catalogue.lookup(name)
    assert entry is None or entry.license not in ("MIT", "Apache-2.0", HUNYUAN), (name, entry)


# --- Tencent Hunyuan: output ban and territory ---------------------------------------------------

def test_hunyuan_outputs_into_a_llama_base_are_blocked(pack) -> None:  # type: ignore[no-untyped-def]
    result = evaluate(pack, "tencent/Hunyuan-A13B-Instruct", "2025-08-01", base_model="Llama-3.1-8B-Instruct",
                      territory=["us"])
    assert result.verdict == "blocked"
    assert "HUN100" in errors(result)
    finding = next(f for f in result.findings if f.code == "HUN100")
    assert finding.citation is not None and finding.citation.url.startswith("https://github.com/Tencent-Hunyuan/")


def test_hunyuan_outputs_into_a_hunyuan_base_are_not_blocked_by_the_output_ban(pack) -> None:  # type: ignore[no-untyped-def]
    result = evaluate(pack, "tencent/Hunyuan-A13B-Instruct", "2025-08-01", base_model="tencent/Hunyuan-7B-Instruct",
                      territory=["us"])
    assert "HUN100" not in errors(result)
    assert result.verdict in ("allowed", "allowed-with-obligations")


@pytest.mark.parametrize("territory", [["eu"], ["uk"], ["kr"], ["us", "eu"]])
def test_hunyuan_grants_nothing_in_the_eu_uk_and_korea(pack, territory: list[str]) -> None:  # type: ignore[no-untyped-def]
    result = evaluate(pack, "tencent/Hunyuan-7B-Instruct", "2025-09-01", base_model="tencent/Hunyuan-A13B-Instruct",
                      territory=territory)
    assert result.verdict == "blocked"
    assert "HUN101" in errors(result)


def test_hunyuan_in_the_us_is_not_blocked_by_the_territory_rule(pack) -> None:  # type: ignore[no-untyped-def]
    result = evaluate(pack, "tencent/Hunyuan-7B-Instruct", "2025-09-01", base_model="tencent/Hunyuan-A13B-Instruct",
                      territory=["us"])
    assert "HUN101" not in errors(result)
    assert result.verdict == "allowed"


def test_hunyuan_with_territory_unstated_needs_review(pack) -> None:  # type: ignore[no-untyped-def]
    result = evaluate(pack, "tencent/Hunyuan-A13B-Instruct", "2025-08-01", base_model="tencent/Hunyuan-7B-Instruct")
    assert result.verdict == "needs-review"
    lin014 = [f for f in result.findings if f.code == "LIN014"]
    assert lin014 and "territory" in lin014[0].message and "HUN101" in lin014[0].message


def test_hunyuan_distributed_derivative_carries_flow_down_and_notice(pack) -> None:  # type: ignore[no-untyped-def]
    result = evaluate(pack, "tencent/Hunyuan-A13B-Instruct", "2025-08-01", base_model="tencent/Hunyuan-7B-Instruct",
                      territory=["us"], distribute_model=True, purpose="distill")
    assert result.verdict == "allowed-with-obligations"
    types = {o.type for o in result.obligations}
    assert {"flow-down", "notice"} <= types


def test_hunyuan_video_2024_text_is_the_earliest_version(pack) -> None:  # type: ignore[no-untyped-def]
    result = evaluate(pack, "tencent/HunyuanVideo", "2025-01-10", territory=["us"])
    assert result.verdict == "blocked" and "HUN100" in errors(result)
    assert ("tencent-hunyuan-community-license", "HunyuanVideo 2024-12-03") in result.terms


# --- the MIT and Apache-2.0 families: allowed, no duty on outputs ------------------------------

@pytest.mark.parametrize("model", [
    "DeepSeek-V3.1", "deepseek-ai/DeepSeek-V3-0324", "deepseek-ai/DeepSeek-V3.2", "Qwen/QwQ-32B", "Qwen2-7B-Instruct",
    "zai-org/GLM-4.5-Air", "zai-org/GLM-5", "MiniMaxAI/MiniMax-M1-80k", "mistralai/Magistral-Small-2506",
    "mistralai/Devstral-Small-2507", "ibm-granite/granite-4.0-micro", "allenai/OLMo-2-1124-7B-Instruct",
    "baidu/ERNIE-4.5-0.3B-PT", "ByteDance-Seed/Seed-OSS-36B-Instruct",
])
def test_permissive_families_are_allowed(pack, model: str) -> None:  # type: ignore[no-untyped-def]
    result = evaluate(pack, model, "2026-01-15", base_model="Llama-3.1-8B-Instruct", distribute_model=True,
                      model_name="Llama-Acme-8B")
    assert result.verdict in ("allowed", "allowed-with-obligations"), [f.to_dict() for f in result.findings]
    assert not errors(result)
    assert all(o.type == "attribution" for o in result.obligations)


def test_deepseek_v31_is_mit_and_allowed(pack) -> None:  # type: ignore[no-untyped-def]
    result = evaluate(pack, "deepseek-ai/DeepSeek-V3.1", "2025-09-01")
    assert result.license == "MIT"
    assert result.verdict == "allowed"


def test_original_deepseek_v3_keeps_the_deepseek_license(pack) -> None:  # type: ignore[no-untyped-def]
    result = evaluate(pack, "DeepSeek-V3", "2025-02-01", distribute_model=True)
    assert any(f.code == "DSK100" for f in result.findings) or any(o.type == "flow-down" for o in result.obligations)


# --- gpt-oss-safeguard -------------------------------------------------------------------------

def test_gpt_oss_safeguard_is_allowed_under_its_usage_policy(pack) -> None:  # type: ignore[no-untyped-def]
    result = evaluate(pack, "openai/gpt-oss-safeguard-20b", "2025-11-15")
    assert result.verdict == "allowed"
    assert ("openai-gpt-oss-safeguard-usage-policy", "2025-10-28") in result.terms
    assert "OAI101" in [f.code for f in result.findings]


# --- MiniMax-01: an output ban until 2025-02-20, the MiniMax Model License after ----------------

def test_minimax_text_01_before_the_relicence_bans_training_other_llms(pack) -> None:  # type: ignore[no-untyped-def]
    result = evaluate(pack, "MiniMaxAI/MiniMax-Text-01", "2025-02-01")
    assert result.verdict == "blocked" and "MMX113" in errors(result)


def test_minimax_text_01_after_the_relicence_is_allowed(pack) -> None:  # type: ignore[no-untyped-def]
    result = evaluate(pack, "MiniMaxAI/MiniMax-Text-01", "2025-03-01")
    assert result.verdict == "allowed"
    assert ("minimax-model-license", "MiniMax-01 2025-02-20 (MiniMax Model License)") in result.terms


def test_minimax_text_01_early_outputs_into_a_minimax_model_need_the_prefix(pack) -> None:  # type: ignore[no-untyped-def]
    result = evaluate(pack, "MiniMaxAI/MiniMax-VL-01", "2025-02-01", base_model="MiniMaxAI/MiniMax-M1-80k",
                      distribute_model=True, model_name="acme-vl")
    assert result.verdict == "blocked" and "MMX116" in errors(result)


def test_minimax_m25_still_reads_its_own_version(pack) -> None:  # type: ignore[no-untyped-def]
    result = evaluate(pack, "MiniMaxAI/MiniMax-M2.5", "2026-03-01")
    assert ("minimax-model-license", "MiniMax-M2.5 2026-02-13") in result.terms


# --- Mistral: Devstral 2 / Medium 3.5 Modified MIT (text not confirmed) ----------------------

def test_devstral_2_is_never_simply_allowed_for_commercial_use(pack) -> None:  # type: ignore[no-untyped-def]
    result = evaluate(pack, "mistralai/Devstral-2-123B-Instruct-2512", "2026-01-10")
    assert result.verdict == "blocked" and "MIS120" in errors(result)
    rule_confidence = {
        rule.code: rule.confidence
        for document in pack.documents.values() for version in document.versions for rule in version.rules
    }
    assert rule_confidence["MIS120"] == "low"


def test_devstral_2_non_commercial_is_a_warning(pack) -> None:  # type: ignore[no-untyped-def]
    result = evaluate(pack, "mistralai/Devstral-2-123B-Instruct-2512", "2026-01-10", commercial=False)
    assert any(f.code == "MIS121" and f.severity == "warning" for f in result.findings)


def test_mistral_medium_3_has_no_open_weights_and_is_not_allowed_as_one(pack) -> None:  # type: ignore[no-untyped-def]
    result = evaluate(pack, "mistral-medium-2505", "2025-06-01")
    assert result.verdict != "allowed"


# --- through the CLI ---------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("args", "verdict"),
    [
        (["--model", "tencent/Hunyuan-A13B-Instruct", "--territory", "eu", "--base-model", "tencent/Hunyuan-7B-Instruct"],
         "blocked"),
        (["--model", "tencent/Hunyuan-A13B-Instruct", "--territory", "us"], "blocked"),
        (["--model", "tencent/Hunyuan-A13B-Instruct", "--territory", "us", "--base-model", "tencent/Hunyuan-7B-Instruct"],
         "allowed"),
        (["--model", "deepseek-ai/DeepSeek-V3.1", "--territory", "us"], "allowed"),
        (["--model", "zai-org/GLM-4.6", "--territory", "us"], "allowed"),
    ],
)
def test_explain_new_families(tmp_path: Path, args: list[str], verdict: str) -> None:
    # STATED_FLAGS says --base-model none; a later --base-model wins.
    result = run_cli("explain", "--kind", "open-model", *STATED_FLAGS, *args, "--generated-at", "2025-09-01",
                     "--format", "json", cwd=tmp_path)
    assert result.returncode == (1 if verdict == "blocked" else 0), result.stderr
    assert json.loads(result.stdout)["verdict"] == verdict


def test_explain_hunyuan_without_territory_says_what_is_not_stated(tmp_path: Path) -> None:
    result = run_cli("explain", "--kind", "open-model", "--model", "tencent/Hunyuan-A13B-Instruct", *STATED_FLAGS,
                     "--base-model", "tencent/Hunyuan-7B-Instruct", "--generated-at", "2025-09-01", cwd=tmp_path)
    assert "needs-review" in result.stdout
    assert "LIN014" in result.stdout and "territory" in result.stdout
