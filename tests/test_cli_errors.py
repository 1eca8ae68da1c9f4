"""Bad input gets one clear line, exit code 2, and a store that is as it was."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lineage.store import Store
from tests.conftest import chat, run_cli, write_jsonl

FLAGS = ("--provider", "anthropic", "--model", "claude-sonnet-4-5")


def assert_clean_error(result, *needles: str) -> None:  # type: ignore[no-untyped-def]
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    for needle in needles:
        assert needle in lines[0], lines[0]


@pytest.fixture
def store(tmp_path: Path) -> str:
    path = str(tmp_path / "s.db")
    run_cli("init", "--store", path, check=True)
    return path


def _count(store: str) -> int:
    with Store.open(store) as opened:
        return sum(s.segments for s in opened.sources())


def test_no_store_anywhere(tmp_path: Path) -> None:
    assert_clean_error(run_cli("sources", cwd=tmp_path), "no lineage store found", "lineage init")


def test_missing_input_file(store: str, tmp_path: Path) -> None:
    assert_clean_error(
        run_cli("import", str(tmp_path / "nope.jsonl"), *FLAGS, "--store", store), "nope.jsonl", "check the path"
    )


def test_malformed_line_rolls_back_everything(store: str, tmp_path: Path) -> None:
    good = write_jsonl(tmp_path / "good.jsonl", [chat("q1", "a1")])
    run_cli("import", str(good), *FLAGS, "--store", store, check=True)
    data = tmp_path / "bad.jsonl"
    data.write_text(
        json.dumps(chat("q2", "a2")) + "\n" + json.dumps(chat("q3", "a3")) + "\n" + '{"messages": [oops\n'
    )
    result = run_cli("import", str(data), *FLAGS, "--store", store)
    assert_clean_error(result, "malformed record", "bad.jsonl line 3", "--skip-bad")
    assert _count(store) == 1
    with Store.open(store) as opened:
        assert opened.stats()["capture_runs"] == 1


def test_skip_bad_imports_the_good_rows_and_reports_the_rest(store: str, tmp_path: Path) -> None:
    data = tmp_path / "bad.jsonl"
    data.write_bytes(
        json.dumps(chat("q1", "a1")).encode() + b"\n"
        + b"not json\n"
        + b'{"text": "caf\xe9"}\n'
        + b"[1, 2]\n"
        + json.dumps(chat("q2", "a2")).encode() + b"\n"
    )
    result = run_cli("import", str(data), *FLAGS, "--skip-bad", "--store", store)
    assert result.returncode == 0, result.stderr
    assert "skipped 3 malformed records" in result.stderr
    assert "bad.jsonl line 2" in result.stderr
    assert "bad.jsonl line 3: not valid UTF-8" in result.stderr
    assert "bad.jsonl line 4" in result.stderr
    assert _count(store) == 2


def test_unknown_layout_names_keys_and_line(store: str, tmp_path: Path) -> None:
    data = write_jsonl(tmp_path / "odd.jsonl", [{"foo": "x", "bar": "y"}])
    assert_clean_error(
        run_cli("import", str(data), *FLAGS, "--store", store), "keys seen: bar, foo", "odd.jsonl line 1", "--map"
    )


def test_no_source_named(store: str, tmp_path: Path) -> None:
    data = write_jsonl(tmp_path / "d.jsonl", [chat("q", "a")])
    assert_clean_error(run_cli("import", str(data), "--store", store), "no source given", "--provider")


def test_bad_generated_at(store: str, tmp_path: Path) -> None:
    data = write_jsonl(tmp_path / "d.jsonl", [chat("q", "a")])
    assert_clean_error(
        run_cli("import", str(data), *FLAGS, "--generated-at", "last tuesday", "--store", store), "--generated-at"
    )


def test_bad_licence_expression(store: str, tmp_path: Path) -> None:
    data = write_jsonl(tmp_path / "d.jsonl", [chat("q", "a")])
    assert_clean_error(
        run_cli("import", str(data), "--name", "x", "--license", "MIT AND (", "--store", store), "invalid licence"
    )


def test_invalid_config_file(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.lineage\nstore = 1\n")
    assert_clean_error(run_cli("sources", cwd=tmp_path), "invalid TOML", "pyproject.toml")


def test_store_that_is_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "junk.db"
    path.write_bytes(b"\x00junk" * 1000)
    assert_clean_error(run_cli("stats", "--store", str(path)), "damaged", "junk.db", "backup")
    assert path.read_bytes() == b"\x00junk" * 1000


def test_unreachable_postgres(tmp_path: Path) -> None:
    result = run_cli("sources", "--store", "postgresql://postgres@127.0.0.1:1/nothing")
    assert_clean_error(result, "cannot connect to the store", "127.0.0.1:1")


def test_csv_that_is_not_utf8(store: str, tmp_path: Path) -> None:
    data = tmp_path / "latin.csv"
    data.write_bytes("prompt,completion\nq,caf\xe9 cr\xe8me\n".encode("latin-1"))
    assert_clean_error(run_cli("import", str(data), *FLAGS, "--store", store), "UTF-8", "latin.csv")
    assert _count(store) == 0


def test_batch_file_refuses_source_flags(store: str, tmp_path: Path) -> None:
    line = {"custom_id": "a", "result": {"type": "succeeded", "message": {"model": "claude-x", "content": []}}}
    data = write_jsonl(tmp_path / "r.jsonl", [line])
    assert_clean_error(run_cli("import", str(data), "--model", "gpt-4o", "--store", store), "--type dataset")


def test_a_foreign_sqlite_database_is_neither_changed_nor_taken_over(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "foreign.db"
    with sqlite3.connect(path) as conn:
        conn.execute("create table notes (body text)")
    before = path.read_bytes()
    assert_clean_error(run_cli("stats", "--store", str(path)), "no lineage tables")
    assert_clean_error(run_cli("init", "--store", str(path)), "other tables (notes)", "another --store")
    assert path.read_bytes() == before
    assert not Path(f"{path}-wal").exists()


def test_store_path_that_is_a_folder_or_under_a_file(tmp_path: Path) -> None:
    (tmp_path / "folder").mkdir()
    assert_clean_error(run_cli("init", "--store", str(tmp_path / "folder")), "is a folder")
    (tmp_path / "plain").write_text("x")
    assert_clean_error(run_cli("init", "--store", str(tmp_path / "plain" / "s.db")), "cannot create the store's folder")


def test_read_only_store_names_permissions_not_reinit(tmp_path: Path) -> None:
    import shutil

    store = tmp_path / "s.db"
    run_cli("init", "--store", str(store), check=True)
    store.chmod(0o444)
    data = write_jsonl(tmp_path / "d.jsonl", [chat("q", "a")])
    setpriv = shutil.which("setpriv")
    assert setpriv, "setpriv (util-linux) is needed to drop root's permission override"
    # Root ignores file modes; drop the capabilities that let it, as an ordinary user would lack them.
    prefix = [setpriv, "--inh-caps=-all", "--bounding-set=-dac_override,-dac_read_search", "--"]
    import subprocess
    import sys

    result = subprocess.run(
        [*prefix, sys.executable, "-m", "lineage", "import", str(data), *FLAGS, "--store", str(store)],
        capture_output=True, text=True,
    )
    assert_clean_error(result, "readonly database", "permissions")
    assert "lineage init" not in result.stderr


def _batch_line(**body: object) -> dict:
    return {"custom_id": "x", "response": {"status_code": 200, "body": {"object": "chat.completion", **body}},
            "error": None}


def test_odd_shapes_in_batch_files_are_bad_records_not_crashes(store: str, tmp_path: Path) -> None:
    good = _batch_line(model="gpt-4o", created=1735689600,
                       choices=[{"message": {"role": "assistant", "content": "fine"}}])
    lines = [
        good,
        _batch_line(model="gpt-4o", created="yesterday", choices=[]),
        _batch_line(model="gpt-4o", created=1, choices=["oops"]),
        _batch_line(model=["gpt-4o"], created=1, choices=[]),
        _batch_line(model=123, created=1, choices=[]),
        {"custom_id": "y", "response": {"status_code": 200, "body": {"object": "response", "model": "o3",
                                                                     "output": ["x"]}}, "error": None},
    ]
    data = write_jsonl(tmp_path / "batch.jsonl", lines)
    strict = run_cli("import", str(data), "--store", store)
    assert_clean_error(strict, "batch.jsonl line 2", "--skip-bad")
    assert _count(store) == 0
    lenient = run_cli("import", str(data), "--skip-bad", "--store", store)
    assert lenient.returncode == 0, lenient.stderr
    assert "Traceback" not in lenient.stderr
    assert "skipped 5 malformed records" in lenient.stderr
    assert _count(store) == 1


def test_odd_values_in_source_columns_are_bad_records(store: str, tmp_path: Path) -> None:
    rows = [
        {"prompt": "p", "completion": "c1", "m": "gpt-4o", "t": "2025-01-01"},
        {"prompt": "p", "completion": "c2", "m": ["gpt-4o"], "t": None},
        {"prompt": "p", "completion": "c3", "m": "gpt-4o", "t": 99999999999999999999},
    ]
    data = tmp_path / "d.jsonl"
    # orjson cannot write the 20-digit integer; the standard library can, and the reader must read it.
    data.write_text("".join(json.dumps(row) + "\n" for row in rows))
    result = run_cli("import", str(data), "--model-column", "m", "--time-column", "t", "--skip-bad", "--store", store)
    assert result.returncode == 0, result.stderr
    assert "d.jsonl line 2: column 'm' holds list" in result.stderr
    assert "d.jsonl line 3: column 't'" in result.stderr
    assert _count(store) == 1


def test_out_of_range_time_flag(store: str, tmp_path: Path) -> None:
    data = write_jsonl(tmp_path / "d.jsonl", [chat("q", "a")])
    assert_clean_error(
        run_cli("import", str(data), *FLAGS, "--generated-at", "9999-12-31T23:59:59-05:00", "--store", store),
        "--generated-at",
    )


def test_wrong_type_is_an_error_not_an_empty_import(store: str, tmp_path: Path) -> None:
    data = write_jsonl(tmp_path / "chat.jsonl", [chat("q", "a")])
    assert_clean_error(
        run_cli("import", str(data), "--type", "openai-batch", "--store", store), "not an OpenAI batch output line"
    )


def test_broken_dataset_card(store: str, tmp_path: Path) -> None:
    from datasets import Dataset

    folder = tmp_path / "ds"
    Dataset.from_list([{"text": "a document"}]).save_to_disk(folder)
    (folder / "README.md").write_text("---\nlicense: [mit\npretty_name: x: y:\n---\n")
    assert_clean_error(run_cli("import", str(folder), "--store", store), "dataset card", "README.md", "--license")
    ok = run_cli("import", str(folder), "--name", "ds", "--license", "MIT", "--store", store)
    assert ok.returncode == 0, ok.stderr
    (folder / "README.md").write_text("---\npretty_name: Docs\n---\n")
    run_cli("import", str(folder), "--store", store, check=True)
    with Store.open(store) as opened:
        kinds = {s.source.name: s.source.kind for s in opened.sources()}
    assert kinds == {"ds": "dataset", "Docs": "dataset"}


def test_bad_layout_and_mapping_are_refused_up_front(store: str, tmp_path: Path) -> None:
    data = write_jsonl(tmp_path / "d.jsonl", [chat("q", "a")])
    bad_layout = run_cli("import", str(data), *FLAGS, "--layout", "nope", "--skip-bad", "--store", store)
    assert bad_layout.returncode == 2 and "'nope' is not one of" in bad_layout.stderr
    assert_clean_error(
        run_cli("import", str(data), *FLAGS, "--map", "bogus=prompt", "--skip-bad", "--store", store),
        "unknown role 'bogus'",
    )
    assert_clean_error(
        run_cli("import", str(data), *FLAGS, "--map", "completion=a..b", "--store", store), "invalid field path"
    )
    assert _count(store) == 0


def test_bad_prompt_source_names_the_option(store: str, tmp_path: Path) -> None:
    data = write_jsonl(tmp_path / "d.jsonl", [chat("q", "a")])
    assert_clean_error(run_cli("import", str(data), *FLAGS, "--prompt-source", "garbage", "--store", store),
                       "--prompt-source", "kind=human")
    assert_clean_error(run_cli("import", str(data), *FLAGS, "--prompt-source", "kind=robot", "--store", store),
                       "--prompt-source")


def test_empty_arguments(store: str) -> None:
    assert_clean_error(run_cli("show", "", "--store", store), "nothing to show")
    assert_clean_error(run_cli("sources", "--store", ""), "--store is empty")


@pytest.mark.parametrize(
    ("name", "content", "needle"),
    [
        ("lineage.toml", "store = 1\n", "`store` must be a path"),
        ("lineage.toml", 'tool = "x"\n', "[tool] must be a table"),
        ("lineage.toml", "[tool]\nlineage = 3\n", "[tool.lineage] must be a table"),
        ("pyproject.toml", "tool = 5\n", "[tool] must be a table"),
        ("pyproject.toml", "[tool.lineage]\ncompetes_with = 5\n", "`competes_with` must be a list of strings"),
        ("pyproject.toml", "[tool.lineage]\npolicies = [5]\n", "`policies` must be a list of strings"),
        ("pyproject.toml", "[tool.lineage]\nwaivers = 5\n", "`waivers` must be a string"),
        ("pyproject.toml", "[tool.lineage]\ncommercial = \"yes\"\n", "`commercial` must be true or false"),
    ],
)
def test_config_with_wrong_types(tmp_path: Path, name: str, content: str, needle: str) -> None:
    (tmp_path / name).write_text(content)
    assert_clean_error(run_cli("sources", cwd=tmp_path), needle, name)


def test_interrupted_import_exits_130_and_lands_nothing(store: str, tmp_path: Path) -> None:
    import signal
    import sys

    from tests.conftest import OnTerminal

    big = write_jsonl(tmp_path / "big.jsonl", [chat(f"q{i}", f"answer {i}") for i in range(200_000)])
    # Interrupted once its progress bar shows: the import is then reading records in its transaction.
    with OnTerminal([sys.executable, "-m", "lineage", "import", str(big), *FLAGS, "--store", store],
                    env={"LINEAGE_PROGRESS_DELAY": "0.5"}) as run:
        run.read_until(b"importing", timeout=120)
        assert run.process.poll() is None, "the import finished before it could be interrupted"
        run.process.send_signal(signal.SIGINT)
        code, seen = run.finish()
    assert code == 130
    assert b"Interrupted." in seen and b"Traceback" not in seen, seen[-2000:]
    assert _count(store) == 0
    with Store.open(store) as opened:  # no source, no capture run either
        assert opened.sources() == [] and opened.stats()["capture_runs"] == 0
