"""The evaluator's semantics, on small policy files written by the tests (the bundled pack is
tested in test_policy_pack.py)."""

from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path

import pytest

from lineage.exceptions import ConfigError
from lineage.policy import Evaluator, UseContext, load_file, load_pack
from lineage.policy.waivers import Waiver, WaiverScope
from lineage.sources import SourceSpec

PACK = """
documents:
  - id: acme-terms
    title: Acme Terms
    publisher: acme
    kind: terms
    applies_to: {providers: [acme], channels: [api, bedrock]}
    versions:
      - version: "2024-01-01"
        effective: 2024-01-01
        url: https://acme.example/terms/2024
        rules:
          - code: ACM001
            effect: forbid
            when: {purpose: [train, fine-tune, distill]}
            message: no training at all
            section: "§1"
            quote: you may not train models
      - version: "2025-01-01"
        effective: 2025-01-01
        url: https://acme.example/terms/2025
        rules:
          - code: ACM002
            effect: forbid
            when: {competes_with: [acme]}
            unless: {model_type: [classifier], distribute_model: false}
            message: no competing models
            section: "§2"
            quote: you may not develop competing models
  - id: aws
    title: AWS Service Terms
    publisher: aws
    kind: terms
    applies_to: {channels: [bedrock]}
    versions:
      - version: "2024"
        effective: 2024-01-01
        url: https://aws.example
        rules:
          - code: AWS001
            effect: info
            message: the model seller's terms apply
            section: "50.x"
            quote: third-party model terms apply
  - id: open-licence
    title: Open Model Licence
    publisher: open
    kind: model-license
    applies_to: {licenses: [LicenseRef-open]}
    versions:
      - version: "1"
        effective: 2024-01-01
        url: https://open.example/licence
        rules:
          - code: OPN100
            effect: forbid
            when: {purpose: [train, fine-tune, distill]}
            unless: {base_model_family: [open-1]}
            message: only open-1 derivatives may learn from open-1 outputs
            section: "1.b"
            quote: not to improve any other large language model
          - code: OPN101
            effect: require
            when: {distribute_model: true}
            obligation: {type: name-prefix, prefix: Open}
            message: a distributed model's name must start with Open
            section: "1.c"
            quote: include Open at the beginning of the name
licenses:
  - id: CC-BY-NC-4.0
    name: CC BY-NC 4.0
    url: https://creativecommons.org/licenses/by-nc/4.0/legalcode
    terms:
      non_commercial: {section: "1(i)", quote: "NonCommercial means not primarily intended for commercial advantage"}
      attribution: {section: "3(a)", quote: "You must give appropriate credit"}
  - id: MIT
    name: MIT License
    url: https://opensource.org/license/mit
    terms:
      attribution: {section: "", quote: "The above copyright notice shall be included"}
models:
  - pattern: '^open-1-'
    family: open-1
    provider: open
    license: LicenseRef-open
    examples: [Open-1-7B]
"""

ACME = SourceSpec.build(provider="acme", model="acme-large")
OPEN = SourceSpec.build(kind="open-model", model="open-1-7b")


@pytest.fixture
def pack(tmp_path: Path):  # type: ignore[no-untyped-def]
    path = tmp_path / "pack.yaml"
    path.write_text(PACK)
    return load_pack([path], bundled=False)


# The facts about the trained model that a context must state (else LIN014): a model that competes
# with nobody, starts from no catalogued model, generates text, is not distributed, made in the US.
STATED = {"competes_with": [], "base_model": "none", "model_type": "generative", "distribute_model": False,
          "territory": ["us"]}


def evaluate(pack, source, when=None, **context):  # type: ignore[no-untyped-def]
    return Evaluator(pack, UseContext(**{**STATED, **context}), today=date(2026, 1, 1)).evaluate(source, when)


def codes(result) -> list[str]:  # type: ignore[no-untyped-def]
    return [f.code for f in result.findings]


def test_the_version_in_force_binds(pack) -> None:  # type: ignore[no-untyped-def]
    old = evaluate(pack, ACME, datetime(2024, 6, 1, tzinfo=timezone.utc))
    assert old.verdict == "blocked" and codes(old) == ["ACM001"]
    assert old.findings[0].citation.version == "2024-01-01"
    assert old.findings[0].citation.url == "https://acme.example/terms/2024"
    new = evaluate(pack, ACME, datetime(2025, 6, 1, tzinfo=timezone.utc))
    assert new.verdict == "allowed"
    assert evaluate(pack, ACME, datetime(2025, 6, 1), competes_with=["acme"]).verdict == "blocked"
    assert evaluate(pack, ACME, datetime(2025, 6, 1), competes_with=["*"]).verdict == "blocked"
    assert evaluate(pack, ACME, datetime(2025, 6, 1), competes_with=["aws"]).verdict == "allowed"
    # A provider the pack does not know would compete with nobody: refused, with the closest name.
    with pytest.raises(ConfigError, match="unknown provider 'acmee' in competes_with"):
        evaluate(pack, ACME, datetime(2025, 6, 1), competes_with=["acmee"])


def test_no_date_takes_the_latest_and_says_so(pack) -> None:  # type: ignore[no-untyped-def]
    result = evaluate(pack, ACME, None, competes_with=["acme"])
    assert codes(result) == ["ACM002", "LIN001"]


def test_before_the_earliest_version(pack) -> None:  # type: ignore[no-untyped-def]
    result = evaluate(pack, ACME, datetime(2023, 1, 1))
    assert codes(result) == ["ACM001", "LIN002"]


def test_unless_needs_every_key(pack) -> None:  # type: ignore[no-untyped-def]
    when = datetime(2025, 6, 1)
    assert evaluate(pack, ACME, when, competes_with=["acme"], model_type="classifier").verdict == "allowed"
    distributed = evaluate(pack, ACME, when, competes_with=["acme"], model_type="classifier", distribute_model=True)
    assert distributed.verdict == "blocked"


def test_pass_through_channel_binds_both(pack) -> None:  # type: ignore[no-untyped-def]
    via_bedrock = SourceSpec.build(provider="acme", model="acme-large", channel="bedrock")
    result = evaluate(pack, via_bedrock, datetime(2024, 6, 1))
    assert [d for d, _ in result.terms] == ["acme-terms", "aws"]
    assert codes(result) == ["ACM001", "AWS001"]


def test_model_licence_family_exemption_and_name_prefix(pack) -> None:  # type: ignore[no-untyped-def]
    assert evaluate(pack, OPEN).verdict == "blocked"
    # A base model this pack's catalogue cannot place is no answer to "is it an Open-1 model?".
    unplaced = evaluate(pack, OPEN, base_model="mistral-7b")
    assert unplaced.verdict == "needs-review"
    assert "'mistral-7b' is in no catalogued family" in next(f.message for f in unplaced.findings if f.code == "LIN014")
    assert evaluate(pack, OPEN, base_model="none").verdict == "blocked"
    derived = evaluate(pack, OPEN, base_model="Open-1-7B")
    assert derived.verdict == "allowed"
    named = evaluate(pack, OPEN, base_model="Open-1-7B", distribute_model=True, model_name="Open-Acme")
    assert named.verdict == "allowed-with-obligations"
    assert [o.prefix for o in named.obligations] == ["Open"]
    wrong = evaluate(pack, OPEN, base_model="Open-1-7B", distribute_model=True, model_name="acme-7b")
    assert wrong.verdict == "blocked"
    assert "does not start with 'Open'" in wrong.findings[0].message


def test_unknown_open_model_suggests_names(pack) -> None:  # type: ignore[no-untyped-def]
    result = evaluate(pack, SourceSpec.build(kind="open-model", model="open1-7b"))
    assert codes(result) == ["LIN003"]
    assert "Open-1-7B" in result.findings[0].message


def test_dataset_licence_terms(pack) -> None:  # type: ignore[no-untyped-def]
    nc = SourceSpec.build(kind="dataset", name="nc-data", license="CC-BY-NC-4.0")
    commercial = evaluate(pack, nc)
    assert commercial.verdict == "blocked" and codes(commercial) == ["LIC001"]
    research = evaluate(pack, nc, commercial=False)
    assert research.verdict == "allowed-with-obligations"
    assert sorted(o.type for o in research.obligations) == ["attribution", "non-commercial"]


def test_or_lets_the_user_choose_and_and_needs_both(pack) -> None:  # type: ignore[no-untyped-def]
    either = SourceSpec.build(kind="dataset", name="d", license="CC-BY-NC-4.0 OR MIT")
    assert evaluate(pack, either).verdict == "allowed-with-obligations"
    both = SourceSpec.build(kind="dataset", name="d", license="CC-BY-NC-4.0 AND MIT")
    assert evaluate(pack, both).verdict == "blocked"


def test_unknown_licence_and_no_licence(pack) -> None:  # type: ignore[no-untyped-def]
    assert codes(evaluate(pack, SourceSpec.build(kind="dataset", name="d", license="LicenseRef-mystery"))) == ["LIN005"]
    assert codes(evaluate(pack, SourceSpec.build(kind="dataset", name="d"))) == ["LIN004"]


def test_unknown_provider(pack) -> None:  # type: ignore[no-untyped-def]
    assert codes(evaluate(pack, SourceSpec.build(provider="nobody", model="x"))) == ["LIN008"]


def test_waivers_lift_expire_and_go_unused(pack) -> None:  # type: ignore[no-untyped-def]
    when = datetime(2024, 6, 1)
    valid = Waiver(id="w1", codes=["ACM001"], scope=WaiverScope(provider="acme"), approved_by="Legal",
                   reference="MSA-1", expires=date(2026, 6, 30))
    unused = Waiver(id="w2", codes=["opn100"], approved_by="Legal", reference="x")
    evaluator = Evaluator(pack, UseContext(), [valid, unused], today=date(2026, 1, 1))
    result = evaluator.evaluate(ACME, when)
    assert result.verdict == "allowed"
    assert [(a.waiver.id, a.code) for a in result.waivers_applied] == [("w1", "ACM001")]
    assert [f.message.split("'")[1] for f in evaluator.unused_waivers()] == ["w2"]

    late = Evaluator(pack, UseContext(), [valid], today=date(2026, 7, 1)).evaluate(ACME, when)
    assert late.verdict == "blocked"
    assert codes(late) == ["ACM001", "LIN006"]


def test_evaluation_is_cached_per_source_version_and_context(pack) -> None:  # type: ignore[no-untyped-def]
    evaluator = Evaluator(pack, UseContext())
    first = evaluator.evaluate(ACME, datetime(2024, 3, 1))
    assert evaluator.evaluate(ACME, datetime(2024, 9, 1)) is first  # same version in force
    assert evaluator.evaluate(ACME, datetime(2025, 3, 1)) is not first


def test_invalid_files_name_file_line_and_key(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    text = PACK.replace("            section: \"§2\"", "            sectoin: \"§2\"")
    path.write_text(text)
    line = text.splitlines().index("            sectoin: \"§2\"") + 1
    with pytest.raises(ConfigError) as caught:
        load_file(path)
    message = caught.value.message
    assert f"bad.yaml line {line}" in message
    assert "sectoin" in message and "unknown key" in message


def test_duplicate_codes_across_documents_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "pack.yaml"
    path.write_text(PACK.replace("OPN100", "ACM001"))
    with pytest.raises(ConfigError, match="ACM001 is used by both"):
        load_pack([path], bundled=False)


def test_open_weights_behind_an_api_carry_their_licence(pack) -> None:  # type: ignore[no-untyped-def]
    served = SourceSpec.build(provider="open", model="open-1-7b", channel="bedrock")
    result = evaluate(pack, served)
    assert "open-licence" in [d for d, _ in result.terms]
    assert "OPN100" in codes(result)


def test_name_prefix_ignores_separators(pack) -> None:  # type: ignore[no-untyped-def]
    spaced = evaluate(pack, OPEN, base_model="Open-1-7B", distribute_model=True, model_name="open_acme")
    assert spaced.verdict == "allowed-with-obligations"


def test_waivers_with_unknown_codes_are_refused(pack) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError, match="unknown rule code"):
        Evaluator(pack, UseContext(), [Waiver(id="w", codes=["ZZZ999"], approved_by="a", reference="b")])


def test_an_expired_waiver_beside_a_valid_one_is_reported_as_expired(pack) -> None:  # type: ignore[no-untyped-def]
    old = Waiver(id="old", codes=["ACM001"], approved_by="Legal", reference="2024", expires=date(2025, 1, 1))
    new = Waiver(id="new", codes=["ACM001"], approved_by="Legal", reference="2026", expires=date(2027, 1, 1))
    evaluator = Evaluator(pack, UseContext(), [old, new], today=date(2026, 1, 1))
    result = evaluator.evaluate(ACME, datetime(2024, 6, 1))
    assert result.verdict == "allowed"
    assert codes(result) == ["LIN006"]
    assert evaluator.unused_waivers() == []


def test_cache_keeps_dates_before_the_first_version_apart(pack) -> None:  # type: ignore[no-untyped-def]
    evaluator = Evaluator(pack, UseContext())
    assert "LIN002" in codes(evaluator.evaluate(ACME, datetime(1999, 1, 1)))
    assert "LIN002" not in codes(evaluator.evaluate(ACME, datetime(2024, 6, 1)))


def test_or_prefers_fewer_warnings_and_says_which(pack, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    either = SourceSpec.build(kind="dataset", name="d", license="LicenseRef-mystery OR MIT")
    result = evaluate(pack, either)
    assert result.license_chosen == "MIT"
    assert "LIN005" not in codes(result)


def test_licence_terms_bind_data_not_model_outputs(pack) -> None:  # type: ignore[no-untyped-def]
    mit_model = SourceSpec.build(kind="open-model", model="some-model", license="MIT")
    assert evaluate(pack, mit_model).obligations == []
    mit_data = SourceSpec.build(kind="dataset", name="d", license="MIT")
    assert [o.code for o in evaluate(pack, mit_data).obligations] == ["LIC002"]


def bare(pack, source, when=None, **context):  # type: ignore[no-untyped-def]
    """Evaluate with only the facts given: the others are not stated."""
    return Evaluator(pack, UseContext(**context), today=date(2026, 1, 1)).evaluate(source, when)


def test_a_rule_that_turns_on_an_unstated_fact_needs_review(pack) -> None:  # type: ignore[no-untyped-def]
    when = datetime(2025, 6, 1)
    result = bare(pack, ACME, when)
    assert result.verdict == "needs-review" and codes(result) == ["LIN014"]
    finding = result.findings[0]
    assert finding.severity == "error"
    # It names the fact, the rule and its clause, what each answer gives and how to state it.
    assert "ACM002 (Acme Terms §2) turns on `competes_with`" in finding.message
    assert 'blocks them with competes_with = ["*"]' in finding.message
    assert "it does not with competes_with = []" in finding.message
    assert "--competes-with" in finding.message
    assert finding.citation.section == "§2" and finding.citation.version == "2025-01-01"
    # Stating the fact, even as "nobody", gives the verdict.
    assert bare(pack, ACME, when, competes_with=[]).verdict == "allowed"
    assert bare(pack, ACME, when, competes_with=["none"]).verdict == "allowed"
    assert bare(pack, ACME, when, competes_with=["acme"]).verdict == "needs-review"  # model_type still open
    assert bare(pack, ACME, when, competes_with=["acme"], model_type="generative").verdict == "blocked"
    # A rule whose outcome no unstated fact changes is judged as before.
    assert bare(pack, ACME, datetime(2024, 6, 1)).verdict == "blocked"


def test_unknown_terms_warn_makes_the_unstated_fact_a_warning(pack) -> None:  # type: ignore[no-untyped-def]
    result = Evaluator(pack, UseContext(), today=date(2026, 1, 1), unknown_terms="warn").evaluate(
        ACME, datetime(2025, 6, 1))
    assert result.verdict == "needs-review" and [(f.code, f.severity) for f in result.findings] == [
        ("LIN014", "warning")]


def test_an_unstated_base_model_names_the_exempt_family(pack) -> None:  # type: ignore[no-untyped-def]
    result = bare(pack, OPEN)
    assert result.verdict == "needs-review" and "LIN014" in codes(result)
    message = next(f.message for f in result.findings if f.code == "LIN014")
    assert "`base_model`" in message and "a base model of the open-1 family" in message
    assert bare(pack, OPEN, base_model="none").verdict == "blocked"


def test_a_duty_that_may_apply_is_listed_when_distribution_is_unstated(pack) -> None:  # type: ignore[no-untyped-def]
    result = bare(pack, OPEN, base_model="Open-1-7B")
    assert [o.code for o in result.obligations] == ["OPN101"]
    # Distributed under a name nobody gave, the naming duty would be broken: that needs review.
    assert result.verdict == "needs-review"
    (question,) = [f for f in result.findings if f.code == "LIN014"]
    assert question.rule == "OPN101" and "`distribute_model`" in question.message
    assert "with distribute_model = false there is no breach" in question.message
    assert bare(pack, OPEN, base_model="Open-1-7B", distribute_model=False).verdict == "allowed"
    wrong = bare(pack, OPEN, base_model="Open-1-7B", model_name="Acme-7B")
    assert wrong.verdict == "needs-review" and "'Acme-7B'" in next(
        f.message for f in wrong.findings if f.code == "LIN014")


TERRITORY_PACK = """
documents:
  - id: regional-licence
    title: Regional Model Licence
    publisher: region
    kind: model-license
    applies_to: {licenses: [LicenseRef-regional]}
    versions:
      - version: "1"
        effective: 2024-01-01
        url: https://region.example/licence
        rules:
          - code: REG001
            effect: forbid
            when: {territory: [eu, uk]}
            message: the licence grants nothing in the EU or the UK
            section: "Territory"
            quote: does not apply in the European Union and the United Kingdom
models:
  - pattern: '^regional-'
    family: regional
    provider: region
    license: LicenseRef-regional
"""


def test_territory_rules_need_the_territory_stated(tmp_path: Path) -> None:
    path = tmp_path / "pack.yaml"
    path.write_text(TERRITORY_PACK)
    pack = load_pack([path], bundled=False)
    source = SourceSpec.build(kind="open-model", model="regional-7b")
    unstated = bare(pack, source)
    assert unstated.verdict == "needs-review"
    message = unstated.findings[0].message
    assert "`territory`" in message and "--territory" in message
    assert 'territory = ["eu"]' in message and "a territory other than eu, uk" in message
    assert bare(pack, source, territory=["EU"]).verdict == "blocked"
    assert bare(pack, source, territory=["us", "uk"]).verdict == "blocked"
    assert bare(pack, source, territory=["us"]).verdict == "allowed"
    # A member state is in the EU, and the UK's ISO code is the UK.
    assert bare(pack, source, territory=["de"]).verdict == "blocked"
    assert bare(pack, source, territory=["gb"]).verdict == "blocked"
    assert bare(pack, source, territory="us,fr").verdict == "blocked"
    for bad in (["European Union"], ["xx"], []):
        with pytest.raises(ValueError, match="territory"):
            UseContext(territory=bad)


def test_a_stated_breach_keeps_the_open_question_beside_it(tmp_path: Path) -> None:
    path = tmp_path / "pack.yaml"
    path.write_text(PACK.replace("""          - code: ACM002""", """          - code: ACM003
            effect: forbid
            when: {purpose: [train, fine-tune, distill]}
            message: no training
            section: "§3"
            quote: you may not train
          - code: ACM002"""))
    pack = load_pack([path], bundled=False)
    when = datetime(2025, 6, 1)
    # Blocked by the stated breach; the open question stays, since lint may ignore ACM003's code.
    blocked = bare(pack, ACME, when)
    assert blocked.verdict == "blocked" and codes(blocked) == ["ACM003", "LIN014"]
    # Once that breach is waived, the open question remains; a waiver of the rule answers it too.
    waive = Waiver(id="w", codes=["ACM003"], approved_by="Legal", reference="letter")
    lifted = Evaluator(pack, UseContext(), [waive], today=date(2026, 1, 1)).evaluate(ACME, when)
    assert lifted.verdict == "needs-review" and codes(lifted) == ["LIN014"]
    both = Waiver(id="w2", codes=["ACM003", "ACM002"], approved_by="Legal", reference="letter")
    cleared = Evaluator(pack, UseContext(), [both], today=date(2026, 1, 1)).evaluate(ACME, when)
    assert cleared.verdict == "allowed"
    assert sorted(a.code for a in cleared.waivers_applied) == ["ACM002", "ACM003"]


def test_an_unknown_date_is_not_todays_text() -> None:
    """MiniMax-01 first shipped under an agreement that forbade training other models on its outputs,
    then under one that does not: with no generation date the rows need review; a date settles it."""
    real = load_pack()
    minimax = SourceSpec.build(kind="open-model", model="MiniMax-Text-01")
    context = UseContext(competes_with=[], base_model="none", model_type="generative", distribute_model=False,
                         territory=["us"])
    undated = Evaluator(real, context).evaluate(minimax)
    assert undated.verdict == "needs-review"
    (finding,) = [f for f in undated.findings if f.code == "LIN015"]
    assert "2025-01-14" in finding.message and "blocked" in finding.message and finding.severity == "error"
    assert Evaluator(real, context).evaluate(minimax, datetime(2025, 2, 1)).verdict == "blocked"
    assert Evaluator(real, context).evaluate(minimax, datetime(2025, 3, 1)).verdict == "allowed"
    # When the latest text is already the strictest, nothing is added.
    claude = Evaluator(real, context).evaluate(SourceSpec.build(provider="anthropic", model="claude-sonnet-4-5"))
    assert claude.verdict == "blocked" and "LIN015" not in codes(claude)
    warned = Evaluator(real, context, unknown_terms="warn").evaluate(minimax)
    assert [f.severity for f in warned.findings if f.code == "LIN015"] == ["warning"]


def test_a_review_rule_makes_rows_need_review(tmp_path: Path) -> None:
    path = tmp_path / "pack.yaml"
    path.write_text(PACK.replace("""          - code: ACM002""", """          - code: ACM009
            effect: review
            when: {purpose: [train, fine-tune, distill]}
            message: this version's text was not read
            section: whole text
            quote: not read
          - code: ACM002"""))
    pack = load_pack([path], bundled=False)
    when = datetime(2025, 6, 1)
    result = bare(pack, ACME, when, competes_with=[], model_type="generative", distribute_model=False,
                  base_model="none")
    assert result.verdict == "needs-review"
    (finding,) = [f for f in result.findings if f.code == "ACM009"]
    assert finding.severity == "error" and finding.unknown_terms
    warned = Evaluator(pack, UseContext(competes_with=[], model_type="generative", distribute_model=False,
                                        base_model="none"), unknown_terms="warn").evaluate(ACME, when)
    assert warned.verdict == "needs-review"
    assert [f.severity for f in warned.findings if f.code == "ACM009"] == ["warning"]
    # A waiver of the rule is the answer legal gives once it has read the text.
    waiver = Waiver(id="read", codes=["ACM009"], approved_by="Legal", reference="memo")
    read = Evaluator(pack, UseContext(competes_with=[], model_type="generative", distribute_model=False,
                                      base_model="none"), [waiver], today=date(2026, 1, 1)).evaluate(ACME, when)
    assert read.verdict == "allowed"
