"""Every SPDX licence id has terms: defined clause by clause or classed, never "unknown terms".

The list of ids is computed here from license-expression's own index, not copied, so a new
release of the library that knows a new licence fails this test until the pack classes it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from lineage.exceptions import ConfigError
from lineage.licenses import license_alternatives, normalise_license
from lineage.policy import Evaluator, UseContext, load_pack
from lineage.policy.waivers import Waiver, WaiverScope
from lineage.sources import SourceSpec
from tests.conftest import run_cli

SPDX_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.\-]*\+?$")


def _index() -> list[dict]:
    from license_expression import get_license_index

    return get_license_index()


def spdx_ids() -> list[str]:
    """Every licence id of the SPDX License List that license-expression knows: its licence
    keys (not exceptions, not `LicenseRef-scancode-`), their other SPDX spellings (deprecated
    ids such as GPL-2.0 and GPL-2.0+), the deprecated "licence with exception" ids it keeps as
    keys of their own (GPL-2.0-with-classpath-exception, eCos-2.0), and SPDX ids it reads as a
    ScanCode licence (Net-SNMP)."""
    index = _index()
    keys = {e["spdx_license_key"] for e in index
            if e.get("spdx_license_key") and not e["spdx_license_key"].startswith("LicenseRef-")
            and not e["is_exception"]}
    ids = set(keys)
    for entry in index:
        key = entry.get("spdx_license_key") or ""
        if not key:
            continue
        if not entry["is_exception"]:
            ids |= {o for o in entry.get("other_spdx_license_keys", [])
                    if not o.startswith("LicenseRef-") and SPDX_ID.match(o)}
        elif not key.startswith("LicenseRef-") and (
            entry.get("is_deprecated") or any(key.startswith(k + "-") for k in keys)
        ):
            ids.add(key)
    return sorted(ids, key=str.lower)


@pytest.fixture(scope="module")
def pack():  # type: ignore[no-untyped-def]
    return load_pack()


def test_the_list_is_the_whole_spdx_list() -> None:
    ids = spdx_ids()
    assert len(ids) >= 650, f"only {len(ids)} SPDX ids found: is license-expression's index complete?"
    for expected in ("MIT", "GPL-2.0+", "GPL-2.0", "CC-BY-3.0-DE", "CC-BY-NC-SA-2.0-UK", "CC-BY-3.0-IGO",
                     "CC0-1.0", "CC-PDDC", "ODbL-1.0", "CDLA-Permissive-1.0", "OGL-Canada-2.0", "C-UDA-1.0",
                     "DL-DE-ZERO-2.0", "etalab-2.0", "NLOD-2.0", "Community-Spec-1.0", "O-UDA-1.0",
                     "GPL-2.0-with-classpath-exception", "Net-SNMP"):
        assert expected in ids, expected


def test_every_spdx_id_has_terms(pack) -> None:  # type: ignore[no-untyped-def]
    """The walk: every id, as a user would write it, resolves to licences the pack defines."""
    missing: dict[str, list[str]] = {}
    for license_id in spdx_ids():
        normalised = normalise_license(license_id)
        assert (normalised and not normalised.startswith("LicenseRef-")) or license_id == "Net-SNMP", (
            f"{license_id} is not known to license-expression any more ({normalised})")
        for alternative in license_alternatives(license_id):
            undefined = sorted(i for i in alternative if i not in pack.licenses)
            if undefined:
                missing[license_id] = undefined
    assert not missing, (
        f"{len(missing)} SPDX ids have no definition or class in the policy pack: "
        + ", ".join(f"{k} (as {', '.join(v)})" if v != [k] else k for k, v in missing.items())
        + " - add them to policies/licenses/license-classes.yaml or define them in full"
    )


def test_every_class_member_has_its_scancode_category(pack) -> None:  # type: ignore[no-untyped-def]
    """A class rests on the ScanCode category it quotes: a member filed elsewhere by ScanCode
    belongs in another class, or in a definition of its own."""
    category = {e["spdx_license_key"]: e["category"] for e in _index() if e.get("spdx_license_key")}
    wrong = []
    for license_id, class_id in pack.license_class_of.items():
        expected = pack.license_classes[class_id].scancode_category
        if expected is not None and category.get(license_id) != expected:
            wrong.append(f"{license_id} ({category.get(license_id)}, in {class_id})")
    assert not wrong, "class members whose ScanCode category is not their class's: " + ", ".join(wrong)


def test_the_pack_defines_in_full_what_matters(pack) -> None:  # type: ignore[no-untyped-def]
    """Creative Commons in every version and port, the data licences, the main copyleft and
    the non-commercial ones cite their own clauses, not a class."""
    full = [i for i in spdx_ids() if i.startswith(("CC-", "CC0")) and i in pack.licenses]
    assert len(full) >= 55
    data = ["ODbL-1.0", "ODC-By-1.0", "PDDL-1.0", "CDLA-Permissive-1.0", "CDLA-Permissive-2.0", "CDLA-Sharing-1.0",
            "OGL-UK-1.0", "OGL-UK-2.0", "OGL-UK-3.0", "OGL-Canada-2.0", "OGC-1.0", "C-UDA-1.0", "O-UDA-1.0",
            "DL-DE-BY-2.0", "DL-DE-ZERO-2.0", "etalab-2.0", "NLOD-1.0", "NLOD-2.0", "Community-Spec-1.0", "CDL-1.0",
            "NCGL-UK-2.0", "OPL-UK-3.0", "GPL-3.0-or-later", "AGPL-3.0-or-later", "LGPL-2.1-or-later", "MPL-2.0",
            "PolyForm-Noncommercial-1.0.0", "BUSL-1.1", "Elastic-2.0", "SSPL-1.0"]
    for license_id in full + data:
        assert license_id not in pack.license_class_of, f"{license_id} is only classed"
        definition = pack.licenses[license_id]
        assert definition.url.startswith(("https://", "http://")), license_id
        for clause in definition.terms.values():
            assert clause.section and clause.quote and "category:" not in clause.quote, license_id
    for version in ("1.0", "2.0", "2.5", "3.0", "4.0"):
        for element in ("BY", "BY-SA", "BY-NC", "BY-ND", "BY-NC-ND", "BY-NC-SA"):
            license_id = f"CC-{element}-{version}"
            definition = pack.licenses[license_id]
            assert ("non_commercial" in definition.terms) == ("NC" in element), license_id
            assert ("share_alike" in definition.terms) == ("SA" in element), license_id
            assert ("no_derivatives" in definition.terms) == ("ND" in element), license_id
            assert "attribution" in definition.terms, license_id


def test_a_classed_licence_cites_its_class(pack) -> None:  # type: ignore[no-untyped-def]
    definition = pack.licenses["AFL-1.1"]
    assert pack.license_class_of["AFL-1.1"] == "permissive-notice"
    assert definition.url == "https://spdx.org/licenses/AFL-1.1.html"
    assert definition.name == "Academic Free License v1.1"
    clause = definition.terms["attribution"]
    assert clause.section.startswith("Licence class permissive-notice:")
    assert clause.quote == "category: Permissive"
    assert pack.licenses["LicenseRef-scancode-net-snmp"].url.startswith("https://scancode-licensedb.aboutcode.org/")


# -- end to end, through the real command ---------------------------------------------------

@pytest.mark.parametrize("license_,verdict,exit_code,codes", [
    ("CC-BY-NC-2.0", "blocked", 1, ["LIC001"]),
    ("CC-BY-NC-SA-3.0-DE", "blocked", 1, ["LIC001"]),
    ("CC-BY-NC-SA-2.0-UK", "blocked", 1, ["LIC001"]),
    ("CC-BY-NC-ND-3.0-IGO", "blocked", 1, ["LIC001", "LIC004"]),
    ("MIT", "allowed-with-obligations", 0, []),
    ("LicenseRef-anything", "needs-review", 1, ["LIN005"]),
    ("GPL-2.0+", "allowed-with-obligations", 0, []),
    ("CC-BY-ND-4.0", "allowed-with-obligations", 0, ["LIC004"]),
    ("ODbL-1.0", "allowed-with-obligations", 0, []),
    ("CDLA-Sharing-1.0", "allowed-with-obligations", 0, []),
    ("OGL-UK-3.0", "allowed-with-obligations", 0, []),
    # C-UDA 2.1 limits use to "Computational Use", which training is; it forbids no commercial use.
    ("C-UDA-1.0", "allowed-with-obligations", 0, []),
    ("CC-BY-3.0-IGO", "allowed-with-obligations", 0, []),
    ("NCGL-UK-2.0", "blocked", 1, ["LIC001"]),
    ("PolyForm-Noncommercial-1.0.0", "blocked", 1, ["LIC001"]),
    ("BUSL-1.1", "blocked", 1, ["LIC007"]),
    ("BSD-3-Clause-No-Military-License", "blocked", 1, ["LIC007"]),
    ("Unlicense", "allowed", 0, []),
    ("WTFPL", "allowed", 0, []),
    ("MIT AND CC-BY-NC-4.0", "blocked", 1, ["LIC001"]),
    ("GPL-2.0-only OR MIT", "allowed-with-obligations", 0, []),
])
def test_explain_a_commercial_fine_tune(tmp_path: Path, license_: str, verdict: str, exit_code: int,
                                         codes: list[str]) -> None:
    result = run_cli("explain", "--kind", "dataset", "--license", license_, "--purpose", "fine-tune", "--commercial",
                     "--format", "json", cwd=tmp_path)
    assert result.returncode == exit_code, result.stdout + result.stderr
    data = json.loads(result.stdout)
    assert data["verdict"] == verdict
    assert sorted(f["code"] for f in data["findings"]) == codes
    for finding in data["findings"]:
        if finding["code"].startswith("LIC"):
            cite = finding["citation"]
            assert cite["section"] and cite["quote"] and cite["url"].startswith(("https://", "http://"))


def test_explain_names_the_obligations_and_the_choice(tmp_path: Path) -> None:
    def explain(license_: str) -> dict:
        result = run_cli("explain", "--kind", "dataset", "--license", license_, "--purpose", "fine-tune",
                         "--commercial", "--format", "json", cwd=tmp_path)
        return json.loads(result.stdout)

    mit = explain("MIT")
    assert [(o["code"], o["type"]) for o in mit["obligations"]] == [("LIC002", "attribution")]
    gpl = explain("GPL-2.0+")
    assert gpl["license"] == "GPL-2.0-or-later"
    assert {o["type"] for o in gpl["obligations"]} == {"share-alike", "attribution"}
    assert explain("GPL-2.0-only OR MIT")["license_chosen"] == "MIT"
    ogl = explain("OGL-UK-3.0")
    assert ogl["obligations"][0]["text"] == "Contains public sector information licensed under the Open Government Licence v3.0."
    cuda = explain("C-UDA-1.0")
    assert {o["type"] for o in cuda["obligations"]} == {"attribution", "share-alike"}


def test_explain_text_shows_a_class_citation(tmp_path: Path) -> None:
    result = run_cli("explain", "--kind", "dataset", "--license", "BSD-3-Clause-No-Nuclear-License",
                     "--purpose", "fine-tune", "--commercial", cwd=tmp_path)
    assert result.returncode == 1
    assert "LIC007 [error]" in result.stdout
    assert 'Licence class free-restricted' in result.stdout and '"category: Free Restricted"' in result.stdout
    assert "https://spdx.org/licenses/BSD-3-Clause-No-Nuclear-License.html" in result.stdout


def test_non_commercial_use_of_restricted_licences(pack) -> None:  # type: ignore[no-untyped-def]
    source = SourceSpec.build(kind="dataset", name="assets", license="ASWF-Digital-Assets-1.1")
    result = Evaluator(pack, UseContext(commercial=False)).evaluate(source)
    assert [(f.code, f.severity) for f in result.findings] == [("LIC007", "warning")]
    assert result.verdict == "allowed-with-obligations"
    waiver = Waiver(id="aswf-read", codes=["LIC007"], scope=WaiverScope(name="assets"), approved_by="Legal",
                    reference="LEGAL-77")
    lifted = Evaluator(pack, UseContext(commercial=True), [waiver]).evaluate(source)
    assert lifted.verdict == "allowed-with-obligations"
    assert [w.code for w in lifted.waivers_applied] == ["LIC007"]


# -- the class form in a user's policy file -------------------------------------------------

def _policy(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "org.yaml"
    path.write_text(text)
    return path


def test_a_user_class_for_licenceref_ids(tmp_path: Path) -> None:
    path = _policy(tmp_path, """\
license_classes:
  - id: acme-approved
    name: Licences Acme Legal approved for training
    terms:
      attribution: credit the source in the model card
    basis: Acme legal review LEGAL-512
    quote: approved for training with attribution
    url: https://legal.acme.example/licences/{id}
    licenses: [LicenseRef-acme-data, LicenseRef-acme-images]
""")
    pack = load_pack([path])
    definition = pack.licenses["LicenseRef-acme-data"]
    assert definition.url == "https://legal.acme.example/licences/LicenseRef-acme-data"
    assert definition.terms["attribution"].quote == "approved for training with attribution"
    result = run_cli("explain", "--kind", "dataset", "--license", "LicenseRef-acme-images", "--policy", str(path),
                     "--format", "json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["verdict"] == "allowed-with-obligations"
    assert "Acme legal review LEGAL-512" in data["obligations"][0]["citation"]["section"]


def test_override_reclassifies_a_bundled_licence(tmp_path: Path) -> None:
    path = _policy(tmp_path, """\
licenses:
  - id: AFL-1.1
    name: Academic Free License v1.1
    url: https://opensource.org/license/afl-1-1
    override: true
    terms:
      share_alike:
        section: "Acme reading of section 1"
        quote: "Licensed under the Academic Free License version 1.1."
license_classes:
  - id: acme-research
    name: Research only at Acme
    terms: {research_only: "Acme uses these for research only"}
    basis: Acme policy R-3
    quote: research only
    override: true
    licenses: [CC-BY-4.0]
""")
    pack = load_pack([path])
    assert set(pack.licenses["AFL-1.1"].terms) == {"share_alike"}
    assert "AFL-1.1" not in pack.license_class_of
    assert pack.license_class_of["CC-BY-4.0"] == "acme-research"
    assert set(pack.overridden) == {"AFL-1.1", "CC-BY-4.0"}
    result = run_cli("explain", "--kind", "dataset", "--license", "CC-BY-4.0", "--policy", str(path),
                     "--commercial", "--format", "json", cwd=tmp_path)
    assert result.returncode == 1
    assert [f["code"] for f in json.loads(result.stdout)["findings"]] == ["LIC005"]


@pytest.mark.parametrize("text,message", [
    # Without override, a bundled id is defined twice.
    ("license_classes:\n  - id: mine\n    name: Mine\n    scancode_category: Permissive\n"
     "    licenses: [MIT]\n", "'MIT' in class 'mine' is defined twice"),
    ("licenses:\n  - id: AFL-1.1\n    name: AFL\n    url: https://x.example\n",
     "'AFL-1.1' is defined twice (in class 'permissive-notice')"),
    # An override must override something.
    ("licenses:\n  - id: LicenseRef-new\n    name: New\n    url: https://x.example\n    override: true\n",
     "overrides nothing"),
    # A bundled class id is taken.
    ("license_classes:\n  - id: permissive-notice\n    name: Mine\n    scancode_category: Permissive\n"
     "    licenses: [LicenseRef-x]\n    url: https://x.example/{id}\n", "licence class 'permissive-notice' is defined twice"),
    # Strict keys and values.
    ("license_classes:\n  - id: mine\n    name: Mine\n    scancode_category: Permissive\n    licences: [X]\n",
     "unknown key"),
    ("license_classes:\n  - id: mine\n    name: Mine\n    scancode_category: Permisive\n    licenses: [LicenseRef-x]\n",
     "scancode_category"),
    ("license_classes:\n  - id: mine\n    name: Mine\n    terms: {copyleft: x}\n    scancode_category: Permissive\n"
     "    licenses: [LicenseRef-x]\n    url: https://x.example/{id}\n", "terms.copyleft"),
    ("license_classes:\n  - id: mine\n    name: Mine\n    licenses: [LicenseRef-x]\n    url: https://x.example/{id}\n",
     "`scancode_category`, or `basis` and `quote`"),
    ("license_classes:\n  - id: mine\n    name: Mine\n    scancode_category: Permissive\n    licenses: [LicenseRef-x]\n",
     "needs a `url`"),
    ("license_classes:\n  - id: mine\n    name: Mine\n    scancode_category: Permissive\n    licenses: []\n",
     "at least one licence id"),
    ("license_classes:\n  - id: mine\n    name: Mine\n    scancode_category: Permissive\n    url: https://x.example/{id}\n"
     "    licenses: [LicenseRef-x, LicenseRef-x]\n", "listed twice"),
    ("license_classes:\n  - id: mine\n    name: Mine\n    scancode_category: Permissive\n    url: https://x.example/{id}\n"
     "    licenses:\n      LicenseRef-x: X\n      LicenseRef-x: Y\n", "listed twice in a class, "),
    ("license_classes:\n  - id: mine\n    name: Mine\n    scancode_category: Permissive\n    url: https://x.example/{id}\n"
     "    licenses: [not an id]\n", "not a licence id"),
    ("licenses:\n  - id: LicenseRef-y\n    name: Y\n    url: https://x.example\n    license_class: mine\n",
     "unknown key"),
])
def test_bad_class_files_are_refused(tmp_path: Path, text: str, message: str) -> None:
    path = _policy(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_pack([path])
    assert message in str(caught.value)
    if "listed twice in a class" in message:
        assert str(caught.value).endswith("org.yaml line 8: list each id once")
    result = run_cli("policies", "validate", str(path), cwd=tmp_path) if message == "unknown key" else None
    if result is not None:
        assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
