"""Every version of a provider's terms binds the outputs generated while it was in force: walking
each document's versions in date order, the day before a change is judged by the old text and the
day of the change by the new one. Concrete facts per provider pin what those texts say."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
import yaml

from lineage.policy import Evaluator, UseContext, load_pack, loader
from lineage.policy.engine import Evaluation
from lineage.policy.schema import Document
from lineage.sources import SourceSpec
from tests.conftest import STATED

TRAIN_ANY = {"purpose": "train"}


def at(day: date | str) -> datetime:
    value = date.fromisoformat(day) if isinstance(day, str) else day
    return datetime(value.year, value.month, value.day, 12, tzinfo=timezone.utc)


def provider_documents() -> dict[str, list[str]]:
    """Document ids of each policies/providers/*.yaml file, by file stem (the provider)."""
    found: dict[str, list[str]] = {}
    for path in sorted((loader.bundled_dir() / "providers").glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        found[path.stem] = [d["id"] for d in data.get("documents", [])]
    return found


PROVIDERS = provider_documents()
# The providers whose terms changed most, walked whatever their files hold, and every other
# provider file with a document of more than one version.
NAMED = ["openai", "anthropic", "google", "xai", "moonshot", "deepseek", "mistral"]
_DOCUMENTS = load_pack().documents
WALKED = sorted(set(NAMED) | {stem for stem, ids in PROVIDERS.items()
                              if any(len(_DOCUMENTS[i].versions) > 1 for i in ids)})


def source_for(document: Document) -> SourceSpec:
    """A source the document binds: its first provider, reached through its first channel."""
    providers = document.applies_to.providers or []
    channels = document.applies_to.channels or []
    assert providers and channels, f"{document.id}: a provider's terms name their provider and channels"
    return SourceSpec.build(provider=providers[0], channel=channels[0])


def evaluate(pack, source: SourceSpec, day: date | str, **context) -> Evaluation:  # type: ignore[no-untyped-def]
    return Evaluator(pack, UseContext(**{**STATED, **context})).evaluate(source, at(day))


def applied(evaluation: Evaluation, document_id: str) -> str | None:
    versions = [v for d, v in evaluation.terms if d == document_id]
    assert len(versions) <= 1, versions
    return versions[0] if versions else None


def codes(evaluation: Evaluation, severity: str | None = None) -> set[str]:
    return {f.code for f in evaluation.findings if severity is None or f.severity == severity}


def walk(pack, document: Document) -> list[tuple[date, str, str]]:  # type: ignore[no-untyped-def]
    """(day, version expected, version applied) on the day before and the day of each change."""
    source = source_for(document)
    seen = []
    versions = document.versions
    for index, version in enumerate(versions):
        before = version.effective - timedelta(days=1)
        expected_before = versions[index - 1].version if index else versions[0].version
        for day, expected in ((before, expected_before), (version.effective, version.version)):
            evaluation = evaluate(pack, source, day)
            seen.append((day, expected, applied(evaluation, document.id) or "none"))
            if day < versions[0].effective:
                # Generated before the earliest known version: that version, and LIN002 says so.
                assert "LIN002" in codes(evaluation), (document.id, day)
    return seen


def test_every_provider_with_versions_is_walked(pack) -> None:  # type: ignore[no-untyped-def]
    versioned = {stem for stem, ids in PROVIDERS.items()
                 if any(len(pack.documents[i].versions) > 1 for i in ids)}
    assert {"openai", "anthropic", "google", "xai", "moonshot", "deepseek"} <= versioned
    assert set(NAMED) <= set(PROVIDERS)


@pytest.mark.parametrize("provider", WALKED)
def test_each_version_binds_from_its_effective_date(pack, provider: str) -> None:  # type: ignore[no-untyped-def]
    documents = [pack.documents[i] for i in PROVIDERS.get(provider, [])]
    assert documents, f"no policies/providers/{provider}.yaml documents"
    for document in documents:
        if not document.applies_to.providers:
            continue  # an aggregator's terms (OpenRouter): they bind through a channel, not a provider
        dates = [v.effective for v in document.versions]
        assert dates == sorted(dates) and len(set(dates)) == len(dates), document.id
        for day, expected, got in walk(pack, document):
            assert got == expected, f"{document.id} on {day}: expected version {expected}, applied {got}"


# Concrete facts, per provider.

GPT = SourceSpec.build(provider="openai", model="gpt-4o-2024-08-06")
CHATGPT = SourceSpec.build(provider="openai", model="gpt-4o", channel="consumer-app")
CLAUDE = SourceSpec.build(provider="anthropic", model="claude-sonnet-4-5")
GEMINI = SourceSpec.build(provider="google", model="gemini-1.5-pro")
GEMINI_APP = SourceSpec.build(provider="google", model="gemini-1.5-pro", channel="consumer-app")
GROK = SourceSpec.build(provider="xai", model="grok-3")
GROK_APP = SourceSpec.build(provider="xai", model="grok-3", channel="consumer-app")
KIMI = SourceSpec.build(provider="moonshot", model="kimi-k2-instruct")
DEEPSEEK = SourceSpec.build(provider="deepseek", model="deepseek-chat")
MISTRAL = SourceSpec.build(provider="mistral", model="mistral-large-latest")


def test_openai_api_2023_is_the_terms_of_use_with_no_classifier_exception(pack) -> None:  # type: ignore[no-untyped-def]
    classifier = evaluate(pack, GPT, "2023-06-01", competes_with=["openai"], model_type="classifier")
    assert applied(classifier, "openai-services-agreement") == "2023-03-14 (Terms of Use)"
    assert "LIN002" not in codes(classifier)
    assert "OAI005" in codes(classifier, "error")
    assert "OAI004" not in codes(classifier)  # no Permitted Exception in the 2023 text
    assert classifier.verdict == "blocked"
    # A model that does not compete with OpenAI: nothing to say.
    assert not codes(evaluate(pack, GPT, "2023-06-01")) & {"OAI005", "OAI006"}


def test_openai_api_business_terms_are_not_confirmed(pack) -> None:  # type: ignore[no-untyped-def]
    assert applied(evaluate(pack, GPT, "2024-01-30"), "openai-services-agreement") == "2023-03-14 (Terms of Use)"
    evaluation = evaluate(pack, GPT, "2024-06-01", competes_with=["openai"])
    assert applied(evaluation, "openai-services-agreement") == "2024-01-31 (Business Terms)"
    # Unread: the rows need review, neither neighbour's text is applied.
    assert "OAI006" in codes(evaluation, "error") and evaluation.verdict == "needs-review"
    assert not codes(evaluation, "error") & {"OAI003", "OAI005"}
    assert {f.confidence for f in evaluation.findings if f.code == "OAI006"} == {"low"}


def test_openai_services_agreement_keeps_the_permitted_exception(pack) -> None:  # type: ignore[no-untyped-def]
    for day, version in (("2025-06-15", "2025-05-31"), ("2026-02-01", "2026-01-01")):
        generative = evaluate(pack, GPT, day, competes_with=["openai"])
        assert applied(generative, "openai-services-agreement") == version
        assert "OAI003" in codes(generative, "error")
        in_house = evaluate(pack, GPT, day, competes_with=["openai"], model_type="classifier")
        assert "OAI003" not in codes(in_house) and "OAI004" in codes(in_house)
    # ChatGPT outputs keep the consumer Terms of Use, whatever the API terms were.
    assert applied(evaluate(pack, CHATGPT, "2023-06-01"), "openai-terms-of-use") == "2023-03-14"
    assert applied(evaluate(pack, CHATGPT, "2023-06-01"), "openai-services-agreement") is None


def test_anthropic_usage_policy_2024_forbids_training_too(pack) -> None:  # type: ignore[no-untyped-def]
    old = evaluate(pack, CLAUDE, "2024-10-01")
    assert applied(old, "anthropic-usage-policy") == "2024-06-06"
    # (LIN002 here comes from the Commercial Terms, whose earliest version is 2025-06-17.)
    assert "ANT001" in codes(old, "error") and old.verdict == "blocked"
    assert {f.confidence for f in old.findings if f.code == "ANT001"} == {"low"}
    assert applied(evaluate(pack, CLAUDE, "2025-09-14"), "anthropic-usage-policy") == "2024-06-06"
    new = evaluate(pack, CLAUDE, "2025-09-15")
    assert applied(new, "anthropic-usage-policy") == "2025-09-15"
    assert {f.confidence for f in new.findings if f.code == "ANT001"} == {"medium"}  # read in a third-party copy of the page
    # Before the earliest version read: judged by it, and marked.
    assert "LIN002" in codes(evaluate(pack, CLAUDE, "2024-01-15"))


def test_anthropic_commercial_terms_quote_carries_the_approval_words(pack) -> None:  # type: ignore[no-untyped-def]
    (rule,) = [r for _, _, r in pack.rules("ANT002")]
    assert rule.section == "§D.4(a)"
    assert rule.quote.startswith("to build a competing product or service, including to train competing AI models")
    assert rule.quote.endswith("except as expressly approved by Anthropic")
    assert len(rule.quote.split()) <= 25
    assert "ANT002" in codes(evaluate(pack, CLAUDE, "2025-07-01", competes_with=["anthropic"]), "error")


def test_google_versions(pack) -> None:  # type: ignore[no-untyped-def]
    api = evaluate(pack, GEMINI, "2024-06-01", competes_with=["google"])
    assert applied(api, "google-gemini-api-terms") == "2024-03-20"
    assert "GOO001" in codes(api, "error")
    assert (applied(evaluate(pack, GEMINI_APP, "2024-05-21"), "google-consumer-terms") or "").startswith("2023-03-14")
    assert (applied(evaluate(pack, GEMINI_APP, "2024-05-22"), "google-consumer-terms") or "").startswith("2024-05-22")


def test_xai_versions_not_read_need_review_instead_of_borrowing_a_text(pack) -> None:  # type: ignore[no-untyped-def]
    aup = evaluate(pack, GROK, "2026-05-01")
    assert applied(aup, "xai-acceptable-use-policy") == "2026-04-08"
    # Unread: an unknown-terms finding (the Enterprise Terms block these API rows anyway).
    assert [f.unknown_terms for f in aup.findings if f.code == "XAI011"] == [True]
    assert not codes(aup) & {"XAI008", "XAI009", "XAI010"}  # the 2026-06-26 text is not applied early
    assert applied(evaluate(pack, GROK, "2026-04-07"), "xai-acceptable-use-policy") == "2025-01-02"

    app = evaluate(pack, GROK_APP, "2026-10-01", competes_with=["xai"])
    assert applied(app, "xai-consumer-terms") == "2026-09-11"
    assert "XAI012" in codes(app, "error")
    assert "XAI001" not in codes(app)  # the 2026-04-10 text is not applied silently
    assert "XAI008" in codes(app, "error")  # the Acceptable Use Policy still forbids it
    before = evaluate(pack, GROK_APP, "2026-09-10", competes_with=["xai"])
    assert applied(before, "xai-consumer-terms") == "2026-04-10" and "XAI001" in codes(before, "error")


@pytest.mark.parametrize(("day", "version"), [("2025-06-01", "2025-04-30"), ("2026-06-01", "2026-05-27"),
                                              ("2026-08-15", "2026-07-30")])
def test_kimi_compete_finding_on_every_version(pack, day: str, version: str) -> None:  # type: ignore[no-untyped-def]
    stated = evaluate(pack, KIMI, day)
    assert applied(stated, "moonshot-kimi-openplatform-terms") == version
    assert "MSH002" in codes(stated, "warning")
    competing = evaluate(pack, KIMI, day, competes_with=["moonshot"])
    assert "MSH001" in codes(competing)
    assert "MSH002" not in codes(competing)
    # Only the 2025 text, known by paraphrase alone, asks for review where the later texts forbid.
    assert competing.verdict == ("needs-review" if version == "2025-04-30" else "blocked")


def test_deepseek_versions(pack) -> None:  # type: ignore[no-untyped-def]
    assert applied(evaluate(pack, DEEPSEEK, "2025-01-19"), "deepseek-open-platform-terms") == "before 2025-01-20"
    allowed = evaluate(pack, DEEPSEEK, "2025-06-01", **TRAIN_ANY)
    assert applied(allowed, "deepseek-open-platform-terms") == "2025-01-20"
    assert allowed.verdict in ("allowed", "allowed-with-obligations")


def test_mistral_single_version_binds_from_its_date(pack) -> None:  # type: ignore[no-untyped-def]
    (version,) = pack.documents["mistral-commercial-terms"].versions
    on = evaluate(pack, MISTRAL, version.effective)
    assert applied(on, "mistral-commercial-terms") == version.version and "LIN002" not in codes(on)
    early = evaluate(pack, MISTRAL, version.effective - timedelta(days=1))
    assert applied(early, "mistral-commercial-terms") == version.version and "LIN002" in codes(early)
