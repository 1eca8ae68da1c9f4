"""Settings and policy files: a typo, an impossible date or a YAML bomb is one line and exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import chat, run_cli, write_jsonl


def _one_line(result: object, start: str) -> None:
    assert result.returncode == 2, result.stdout  # type: ignore[attr-defined]
    err = result.stderr  # type: ignore[attr-defined]
    assert err.startswith(start), err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


@pytest.mark.parametrize("setting,closest", [
    ('untraked = "error"', "untracked"),
    ("comercial = false", "commercial"),
    ("strickt = true", "strict"),
    ('unknown_term = "warn"', "unknown_terms"),
    ("[tool.lineage.gate]\nmax_untraked = 0.1", "gate.max_untracked"),
])
def test_an_unknown_setting_names_the_closest_known_one(tmp_path: Path, setting: str, closest: str) -> None:
    (tmp_path / "pyproject.toml").write_text(f"[tool.lineage]\n{setting}\n")
    write_jsonl(tmp_path / "data.jsonl", [chat("q", "a")])
    for command in (["lint", "data.jsonl"], ["gate", "data.jsonl"], ["explain", "--kind", "human", "--name", "x"]):
        result = run_cli(*command, cwd=tmp_path)
        wrong = setting.split("\n")[-1].split(" ")[0]
        prefix = "gate." if "gate" in setting else ""
        _one_line(result, f"Error: unknown setting `{prefix}{wrong}`, {tmp_path / 'pyproject.toml'}: "
                          f"did you mean `{closest}`?")


def test_lineage_toml_is_checked_too(tmp_path: Path) -> None:
    (tmp_path / "lineage.toml").write_text('untracked = "error"\nselekt = ["ANT"]\n')
    _one_line(run_cli("lint", "x.jsonl", cwd=tmp_path), "Error: unknown setting `selekt`")


WAIVER = "waivers:\n  - id: w\n    codes: [ANT001]\n    scope: {{provider: anthropic}}\n    approved_by: me\n" \
         "    reference: x\n    expires: {expires}\n"
POLICY = ("documents:\n  - id: x\n    title: X\n    publisher: x\n    kind: terms\n    versions:\n"
          '      - version: "1"\n        effective: {effective}\n        url: https://example.com\n        rules: []\n')


def _bomb() -> str:
    lines = ['a: &a ["x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    for previous, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{previous}"] * 9) + "]")
    return "\n".join(lines) + "\nwaivers: *i\n"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    write_jsonl(tmp_path / "data.jsonl", [chat("q", "a")])
    (tmp_path / "waivers-date.yaml").write_text(WAIVER.format(expires="2026-13-45"))
    (tmp_path / "policy-date.yaml").write_text(POLICY.format(effective="2025-02-30"))
    (tmp_path / "bomb.yaml").write_text(_bomb())
    (tmp_path / "broken.yaml").write_text("waivers: [\n")
    return tmp_path


@pytest.mark.parametrize("command", [
    ["lint", "data.jsonl", "--waivers", "waivers-date.yaml"],
    ["gate", "data.jsonl", "--waivers", "waivers-date.yaml"],
    ["explain", "--kind", "human", "--name", "x", "--waivers", "waivers-date.yaml"],
])
def test_an_impossible_waiver_date(folder: Path, command: list[str]) -> None:
    _one_line(run_cli(*command, cwd=folder),
              "Error: invalid value '2026-13-45' (month must be in 1..12), waivers-date.yaml line 7: write dates")


@pytest.mark.parametrize("command", [
    ["policies", "validate", "policy-date.yaml"],
    ["lint", "data.jsonl", "--policy", "policy-date.yaml"],
    ["serve", "--insecure", "--port", "0", "--policy", "policy-date.yaml"],
])
def test_an_impossible_effective_date(folder: Path, command: list[str]) -> None:
    _one_line(run_cli(*command, cwd=folder),
              "Error: invalid value '2025-02-30' (day is out of range for month), policy-date.yaml line 8")


@pytest.mark.parametrize("command", [
    ["lint", "data.jsonl", "--waivers", "bomb.yaml"],
    ["policies", "validate", "bomb.yaml"],
    ["serve", "--insecure", "--port", "0", "--waivers", "bomb.yaml"],
])
def test_a_yaml_bomb_is_refused_before_it_expands(folder: Path, command: list[str]) -> None:
    _one_line(run_cli(*command, cwd=folder), "Error: the YAML expands to more than 1,000,000 values")


def test_broken_yaml_names_the_line(folder: Path) -> None:
    _one_line(run_cli("lint", "data.jsonl", "--waivers", "broken.yaml", cwd=folder), "Error: invalid YAML (")


@pytest.mark.parametrize("name,text,start", [
    ("waivers.yaml", WAIVER.format(expires="2027-01-01").replace("    reference: x\n", "    refrence: x\n"),
     "Error: invalid waiver: waivers.0.refrence: unknown key (and 1 more), waivers.yaml line 6: did you mean `reference`?"),
    ("waivers.yaml", WAIVER.format(expires="2027-01-01").replace("{provider: anthropic}", "{provder: anthropic}"),
     "Error: invalid waiver: waivers.0.scope.provder: unknown key, waivers.yaml line 4: did you mean `provider`?"),
    ("policy.yaml", POLICY.format(effective="2025-01-01").replace("    publisher: x\n", "    publsher: x\n"),
     "Error: invalid policy file: documents.0.publsher: unknown key"),
    ("policy.yaml", POLICY.format(effective="2025-01-01").replace("        url:", "        ulr:"),
     "Error: invalid policy file: documents.0.versions.0.ulr: unknown key"),
])
def test_an_unknown_key_in_a_policy_or_waivers_file_names_the_closest(tmp_path: Path, name: str, text: str,
                                                                      start: str) -> None:
    write_jsonl(tmp_path / "data.jsonl", [chat("q", "a")])
    (tmp_path / name).write_text(text)
    flag = "--waivers" if name.startswith("waivers") else "--policy"
    result = run_cli("lint", "data.jsonl", flag, name, cwd=tmp_path)
    _one_line(result, start)
    expected = {"publsher": "publisher", "ulr": "url"}
    for typo, key in expected.items():
        if typo in text:
            assert f"did you mean `{key}`?" in result.stderr
