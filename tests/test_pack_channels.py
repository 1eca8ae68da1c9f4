"""Channels the bundled pack once had no terms for: Gemini reached through Vertex AI is bound by the
Google Cloud Service Specific Terms (AI/ML Services, §17), not by the Gemini API terms."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

from lineage.policy import Evaluator, UseContext
from lineage.sources import SourceSpec
from tests.conftest import STATED, STATED_FLAGS, run_cli

GEMINI_VERTEX = SourceSpec.build(provider="google", model="gemini-2.5-pro", channel="vertex")
AFTER = datetime(2026, 10, 1, tzinfo=timezone.utc)


def evaluate(pack, **context):  # type: ignore[no-untyped-def]
    return Evaluator(pack, UseContext(**{**STATED, **context})).evaluate(GEMINI_VERTEX, AFTER)


def codes(result, severity: str) -> set[str]:  # type: ignore[no-untyped-def]
    return {f.code for f in result.findings if f.severity == severity}


def test_vertex_is_bound_by_the_cloud_terms_not_the_gemini_api_terms(pack) -> None:  # type: ignore[no-untyped-def]
    result = evaluate(pack, model_type="classifier")
    assert "LIN008" not in {f.code for f in result.findings}
    cited = {f.citation.document for f in result.findings if f.citation is not None}
    assert cited, [f.to_dict() for f in result.findings]
    assert not any("Gemini API" in document for document in cited), cited
    for finding in result.findings:
        if finding.citation is not None:
            assert finding.citation.url == "https://cloud.google.com/terms/service-terms"


def test_a_non_competing_classifier_is_allowed_with_a_warning(pack) -> None:  # type: ignore[no-untyped-def]
    result = evaluate(pack, competes_with=[], model_type="classifier")
    assert result.verdict == "allowed", [f.to_dict() for f in result.findings]
    assert codes(result, "warning") == {"GOO007"}
    assert not codes(result, "error")


def test_a_classifier_that_competes_with_everyone_is_blocked_by_17a(pack) -> None:  # type: ignore[no-untyped-def]
    result = evaluate(pack, competes_with=["*"], model_type="classifier")
    assert result.verdict == "blocked"
    assert codes(result, "error") == {"GOO005"}


def test_competing_with_google_is_blocked(pack) -> None:  # type: ignore[no-untyped-def]
    result = evaluate(pack, competes_with=["google"], model_type="embedding")
    assert result.verdict == "blocked"
    assert "GOO005" in codes(result, "error")


def test_a_generative_model_is_blocked_by_17b_even_when_it_competes_with_nobody(pack) -> None:  # type: ignore[no-untyped-def]
    quiet = evaluate(pack, competes_with=[], model_type="generative")
    assert quiet.verdict == "blocked"
    assert codes(quiet, "error") == {"GOO006"}
    loud = evaluate(pack, competes_with=["*"], model_type="generative")
    assert codes(loud, "error") == {"GOO005", "GOO006"}


def test_evaluation_is_not_training(pack) -> None:  # type: ignore[no-untyped-def]
    result = evaluate(pack, purpose="evaluate", competes_with=["*"])
    assert not codes(result, "error") and not codes(result, "warning")


def test_unstated_model_type_needs_review(pack) -> None:  # type: ignore[no-untyped-def]
    result = Evaluator(pack, UseContext(competes_with=[], base_model="none", distribute_model=False)).evaluate(
        GEMINI_VERTEX, AFTER)
    assert result.verdict == "needs-review"
    assert "LIN014" in {f.code for f in result.findings}


def test_no_rule_of_the_cloud_terms_claims_high_confidence(pack) -> None:  # type: ignore[no-untyped-def]
    document = pack.documents["google-cloud-service-terms"]
    for version in document.versions:
        assert version.read is not None
        assert {rule.confidence for rule in version.rules} <= {"medium", "low"}


def test_explain_gemini_on_vertex(tmp_path: Path) -> None:
    result = run_cli("explain", "--provider", "google", "--model", "gemini-2.5-pro", "--channel", "vertex",
                     "--generated-at", "2026-10-01", *STATED_FLAGS, "--format", "json", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    data = json.loads(result.stdout)
    found = {f["code"] for f in data["findings"]}
    assert data["verdict"] == "blocked"
    assert "GOO006" in found and "LIN008" not in found
