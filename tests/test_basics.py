"""Fingerprints, source specs, licences, times, configuration and store location."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from lineage.config import find_config
from lineage.exceptions import ConfigError, UsageError
from lineage.fingerprints import fingerprint, fingerprint_hex, normalise, parse_fingerprint
from lineage.licenses import card_license, normalise_license
from lineage.sources import SourceSpec, infer_provider
from lineage.store.location import locate_store, normalise_url
from lineage.timeutil import parse_time


def test_normalisation_folds_whitespace_and_composes_unicode() -> None:
    assert normalise("  Hello,\n\tworld  ") == "Hello, world"
    assert normalise("Cafe\u0301") == "Caf\u00e9"
    assert fingerprint("Cafe\u0301  au lait") == fingerprint("Caf\u00e9 au lait")
    assert fingerprint("Hello") != fingerprint("hello")
    assert len(fingerprint("x")) == 32
    assert parse_fingerprint(fingerprint_hex("x").upper()) == fingerprint("x")
    with pytest.raises(ValueError):
        parse_fingerprint("abc")


@pytest.mark.parametrize(
    ("model", "provider"),
    [
        ("claude-sonnet-4-5-20250929", "anthropic"),
        ("gpt-4o-mini-2024-07-18", "openai"),
        ("o3-2025-04-16", "openai"),
        ("gpt-oss-120b", "openai"),
        ("meta-llama/Llama-3.1-8B-Instruct", "meta"),
        ("us.anthropic.claude-3-5-sonnet-20241022-v2:0", "anthropic"),
        ("gemini-2.5-pro", "google"),
        ("google/gemma-2-9b-it", "google"),
        ("grok-4", "xai"),
        ("Qwen/Qwen2.5-72B-Instruct", "alibaba"),
        ("deepseek-ai/DeepSeek-R1", "deepseek"),
        ("moonshotai/Kimi-K2-Instruct", "moonshot"),
        ("mistralai/Mixtral-8x7B-Instruct-v0.1", "mistral"),
        ("my-own-model", None),
    ],
)
def test_provider_is_inferred_from_model_names(model: str, provider: str | None) -> None:
    assert infer_provider(model) == provider


def test_source_spec_defaults_and_key() -> None:
    api = SourceSpec.build(model="claude-sonnet-4-5")
    assert (api.kind, api.provider, api.channel) == ("api", "anthropic", "api")
    dataset = SourceSpec.build(name="dolly", license="CC-BY-SA-3.0")
    assert (dataset.kind, dataset.channel) == ("dataset", None)
    local = SourceSpec.build(kind="open-model", model="Llama-3.1-8B")
    assert (local.provider, local.channel) == ("meta", "self-hosted")
    assert api.key != SourceSpec.build(model="claude-sonnet-4-5", channel="bedrock").key
    assert SourceSpec.build(provider=" OpenAI ", model="gpt-4o").provider == "openai"
    with pytest.raises(UsageError, match="channel"):
        SourceSpec.build(model="gpt-4o", channel="carrier-pigeon")
    with pytest.raises(UsageError):
        SourceSpec.build(kind="human")


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("cc-by-sa-3.0", "CC-BY-SA-3.0"),
        ("mit OR apache-2.0", "MIT OR Apache-2.0"),
        ("llama3.1", "LicenseRef-llama3.1"),
        ("odc-by", "ODC-By-1.0"),
        ("LicenseRef-acme", "LicenseRef-acme"),
        ("unknown", None),
    ],
)
def test_licences_are_canonical(given: str, expected: str | None) -> None:
    assert normalise_license(given) == expected


def test_card_licences() -> None:
    assert card_license({"license": "cc-by-nc-4.0"}) == "CC-BY-NC-4.0"
    assert card_license({"license": ["mit", "cc-by-4.0"]}) == "MIT AND CC-BY-4.0"
    assert card_license({"license": "other", "license_name": "acme research"}) == "LicenseRef-acme-research"
    assert card_license({}) is None


def test_times() -> None:
    assert parse_time("2025-03-01") == datetime(2025, 3, 1, tzinfo=timezone.utc)
    assert parse_time("2025-03-01T12:00:00+02:00") == datetime(2025, 3, 1, 10, tzinfo=timezone.utc)
    assert parse_time("2025-03-01T12:00:00Z") == datetime(2025, 3, 1, 12, tzinfo=timezone.utc)
    assert parse_time(1735689600) == datetime(2025, 1, 1, tzinfo=timezone.utc)
    assert parse_time(1735689600000) == datetime(2025, 1, 1, tzinfo=timezone.utc)
    assert parse_time("") is None
    with pytest.raises(ValueError):
        parse_time("yesterday")


def test_store_location_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LINEAGE_STORE", raising=False)
    project = tmp_path / "project"
    deep = project / "a" / "b"
    deep.mkdir(parents=True)
    assert locate_store(start=deep) is None
    (project / ".lineage").mkdir()
    (project / ".lineage" / "lineage.db").touch()
    assert locate_store(start=deep) == normalise_url(str(project / ".lineage" / "lineage.db"))
    assert locate_store(start=deep, search=False) is None
    (project / "lineage.toml").write_text('store = "elsewhere.db"\n')
    config = find_config(deep)
    assert locate_store(config=config, start=deep) == normalise_url(str(project / "elsewhere.db"))
    monkeypatch.setenv("LINEAGE_STORE", "postgresql://u@h/db")
    assert locate_store(config=config, start=deep) == "postgresql+psycopg://u@h/db"
    assert locate_store("flag.db", config=config, start=deep) == normalise_url("flag.db")


def test_lineage_toml_wins_over_pyproject_and_bad_toml_is_clear(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.lineage]\nstore = "a.db"\n')
    assert find_config(tmp_path).get("store") == "a.db"
    (tmp_path / "lineage.toml").write_text('[tool.lineage]\nstore = "b.db"\n')
    assert find_config(tmp_path).get("store") == "b.db"
    (tmp_path / "lineage.toml").write_text("store = \n")
    with pytest.raises(ConfigError, match="invalid TOML"):
        find_config(tmp_path)


def test_the_command_line_imports_no_heavy_module_until_a_command_needs_it() -> None:
    """A pre-commit hook on a small file must start fast: loading the CLI, and linting a small file
    against no store, import none of SQLAlchemy, networkx, jinja2, pyarrow or datasets."""
    import subprocess
    import sys

    heavy = ["sqlalchemy", "networkx", "jinja2", "pyarrow", "datasets", "numpy"]
    probe = (
        "import sys, lineage.cli; from click.testing import CliRunner; "
        "import tempfile, pathlib, json; d = pathlib.Path(tempfile.mkdtemp()); "
        "(d / 'a.jsonl').write_text(json.dumps({'messages': [{'role': 'user', 'content': 'q'}]}) + '\\n'); "
        "CliRunner().invoke(lineage.cli.main, ['lint', str(d / 'a.jsonl')]); "
        f"print(','.join(m for m in {heavy!r} if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                            env={"PATH": "/usr/bin:/bin", "HOME": "/nonexistent"})
    assert result.stdout.strip() == ""
