"""`lineage init`, `import`, `sources`, `show` and `stats` through the real CLI in a subprocess."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest

from lineage.fingerprints import fingerprint, fingerprint_hex
from lineage.store import Store
from tests.conftest import chat, run_cli, write_jsonl

CLAUDE_FLAGS = ("--provider", "anthropic", "--model", "claude-sonnet-4-5", "--kind", "api")


def sources_json(store: str, cwd: Path | None = None) -> list[dict]:
    result = run_cli("sources", "--format", "json", "--store", store, cwd=cwd, check=True)
    return json.loads(result.stdout)


@pytest.fixture
def answers(tmp_path: Path) -> Path:
    return write_jsonl(tmp_path / "answers.jsonl", [chat(f"Question {i}?", f"Answer {i}.") for i in range(50)])


def test_init_import_sources_and_reimport(tmp_path: Path, store_url: str, answers: Path) -> None:
    run_cli("init", "--store", store_url, check=True)
    first = run_cli("import", str(answers), *CLAUDE_FLAGS, "--store", store_url, check=True)
    assert "50 new origins" in first.stdout
    (source,) = sources_json(store_url)
    assert (source["provider"], source["model"], source["kind"], source["channel"]) == (
        "anthropic",
        "claude-sonnet-4-5",
        "api",
        "api",
    )
    assert source["segments"] == 50
    again = run_cli("import", str(answers), *CLAUDE_FLAGS, "--store", store_url, check=True)
    assert "0 new origins, 50 already recorded" in again.stdout
    assert sources_json(store_url)[0]["segments"] == 50


def test_init_makes_dot_lineage_here_and_commands_find_it_from_below(tmp_path: Path, answers: Path) -> None:
    created = run_cli("init", cwd=tmp_path, check=True)
    assert (tmp_path / ".lineage" / "lineage.db").is_file()
    assert "Created lineage store" in created.stdout
    assert "Using existing" in run_cli("init", cwd=tmp_path, check=True).stdout
    below = tmp_path / "data" / "deeper"
    below.mkdir(parents=True)
    run_cli("import", str(answers), *CLAUDE_FLAGS, cwd=below, check=True)
    listed = run_cli("sources", "--format", "json", cwd=below, check=True)
    assert json.loads(listed.stdout)[0]["segments"] == 50


def test_store_from_environment_and_config(tmp_path: Path, answers: Path) -> None:
    env_store = tmp_path / "env.db"
    run_cli("init", env={"LINEAGE_STORE": str(env_store)}, cwd=tmp_path, check=True)
    assert env_store.is_file()
    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text('[tool.lineage]\nstore = "meta/lineage.db"\n')
    run_cli("init", cwd=project, check=True)
    assert (project / "meta" / "lineage.db").is_file()
    run_cli("import", str(answers), *CLAUDE_FLAGS, cwd=project, check=True)
    with Store.open(str(project / "meta" / "lineage.db")) as opened:
        assert opened.sources()[0].segments == 50


def test_show_finds_text_and_fingerprint(tmp_path: Path, answers: Path) -> None:
    store = str(tmp_path / "s.db")
    run_cli("init", "--store", store, check=True)
    run_cli("import", str(answers), *CLAUDE_FLAGS, "--generated-at", "2025-06-01", "--store", store, check=True)
    by_text = run_cli("show", "Answer  7.", "--store", store, check=True)
    assert "anthropic/claude-sonnet-4-5" in by_text.stdout
    assert "2025-06-01T00:00:00Z" in by_text.stdout
    by_fp = run_cli("show", fingerprint_hex("Answer 7."), "--format", "json", "--store", store, check=True)
    data = json.loads(by_fp.stdout)
    assert data["fingerprint"] == fingerprint_hex("Answer 7.")
    assert data["origins"][0]["role"] == "assistant"
    assert data["origins"][0]["run"]["kind"] == "import"
    missing = run_cli("show", "never said", "--store", store)
    assert missing.returncode == 1
    assert "no recorded origin" in missing.stdout


def test_stats(tmp_path: Path, answers: Path) -> None:
    store = str(tmp_path / "s.db")
    run_cli("init", "--store", store, check=True)
    run_cli("import", str(answers), *CLAUDE_FLAGS, "--prompt-source", "kind=human,name=staff", "--store", store, check=True)
    data = json.loads(run_cli("stats", "--format", "json", "--store", store, check=True).stdout)
    assert data["origins"] == 100
    assert data["origins_by_kind"] == {"api": 50, "human": 50}
    assert data["datasets"] == 1
    text = run_cli("stats", "--store", store, check=True).stdout
    assert "origins: 100" in text


def test_prompt_side_is_left_unrecorded_unless_named(tmp_path: Path, answers: Path) -> None:
    store = str(tmp_path / "s.db")
    run_cli("init", "--store", store, check=True)
    result = run_cli("import", str(answers), *CLAUDE_FLAGS, "--store", store, check=True)
    assert "50 prompt-side segments left unrecorded" in result.stdout
    with Store.open(store) as opened:
        assert opened.lookup([fingerprint("Question 3?")]) == {}
    run_cli("import", str(answers), *CLAUDE_FLAGS, "--prompt-source", "human", "--store", store, check=True)
    with Store.open(store) as opened:
        (origin,) = opened.lookup([fingerprint("Question 3?")])[fingerprint("Question 3?")]
        assert origin.source.kind == "human" and origin.role == "user"


def test_dataset_with_licence_and_all_segments(tmp_path: Path) -> None:
    rows = [
        {"instruction": "Name a colour.", "input": "", "output": "Blue.", "category": "open_qa"},
        {"instruction": "Add the numbers.", "input": "2 and 3", "output": "5", "category": "math"},
    ]
    data = write_jsonl(tmp_path / "dolly.jsonl", rows)
    store = str(tmp_path / "s.db")
    run_cli("init", "--store", store, check=True)
    run_cli(
        "import", str(data), "--kind", "dataset", "--name", "dolly", "--license", "cc-by-sa-3.0",
        "--all-segments", "--store", store, check=True,
    )
    (source,) = sources_json(store)
    assert (source["kind"], source["name"], source["license"]) == ("dataset", "dolly", "CC-BY-SA-3.0")
    assert source["segments"] == 5  # two instructions, one non-empty input, two outputs


def test_per_row_model_column(tmp_path: Path) -> None:
    rows = [
        {"prompt": "p1", "completion": "c1", "model_name": "gpt-4o-2024-08-06", "ts": "2025-01-02T03:04:05Z"},
        {"prompt": "p2", "completion": "c2", "model_name": "claude-3-5-sonnet-20241022", "ts": 1735787045},
        {"prompt": "p3", "completion": "c3", "model_name": "meta-llama/Llama-3.1-70B-Instruct", "ts": None},
        {"prompt": "p4", "completion": "c4", "model_name": "gpt-4o-2024-08-06", "ts": None},
    ]
    data = write_jsonl(tmp_path / "synth.jsonl", rows)
    store = str(tmp_path / "s.db")
    run_cli("init", "--store", store, check=True)
    run_cli("import", str(data), "--model-column", "model_name", "--time-column", "ts", "--store", store, check=True)
    by_model = {s["model"]: s for s in sources_json(store)}
    assert by_model["gpt-4o-2024-08-06"]["provider"] == "openai"
    assert by_model["gpt-4o-2024-08-06"]["segments"] == 2
    assert by_model["claude-3-5-sonnet-20241022"]["provider"] == "anthropic"
    assert by_model["meta-llama/Llama-3.1-70B-Instruct"]["provider"] == "meta"
    assert by_model["gpt-4o-2024-08-06"]["first_generated_at"] == "2025-01-02T03:04:05Z"


def test_parquet_dataset(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({"prompt": [f"q{i}" for i in range(300)], "completion": [f"a{i}" for i in range(300)]})
    path = tmp_path / "d.parquet"
    pq.write_table(table, path, row_group_size=100)
    store = str(tmp_path / "s.db")
    run_cli("init", "--store", store, check=True)
    run_cli("import", str(path), "--provider", "openai", "--model", "gpt-4o", "--store", store, check=True)
    assert sources_json(store)[0]["segments"] == 300


def test_same_text_in_another_layout_and_format_is_the_same_origin(tmp_path: Path) -> None:
    store = str(tmp_path / "s.db")
    run_cli("init", "--store", store, check=True)
    chat_file = write_jsonl(tmp_path / "chat.jsonl", [chat("What is 2+2?", "It is  4.")])
    alpaca = tmp_path / "alpaca.csv"
    alpaca.write_text('instruction,input,output\n"What is 2+2?",,"It is 4."\n')
    run_cli("import", str(chat_file), *CLAUDE_FLAGS, "--store", store, check=True)
    second = run_cli("import", str(alpaca), *CLAUDE_FLAGS, "--store", store, check=True)
    assert "0 new origins, 1 already recorded" in second.stdout


def test_openai_batch_output_is_recognised(tmp_path: Path) -> None:
    lines = [
        {
            "id": "batch_req_1",
            "custom_id": "request-1",
            "response": {
                "status_code": 200,
                "request_id": "req_abc",
                "body": {
                    "id": "chatcmpl-1",
                    "object": "chat.completion",
                    "created": 1735689600,
                    "model": "gpt-4o-mini-2024-07-18",
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": "Batch answer one."}}],
                },
            },
            "error": None,
        },
        {
            "id": "batch_req_2",
            "custom_id": "request-2",
            "response": {
                "status_code": 200,
                "request_id": "req_def",
                "body": {
                    "id": "resp_2",
                    "object": "response",
                    "created_at": 1735689700,
                    "model": "o3-2025-04-16",
                    "output": [
                        {"type": "reasoning", "summary": [{"type": "summary_text", "text": "Think about it."}]},
                        {"type": "message", "content": [{"type": "output_text", "text": "Batch answer two."}]},
                    ],
                },
            },
            "error": None,
        },
        {"id": "batch_req_3", "custom_id": "request-3", "response": None, "error": {"code": "server_error"}},
    ]
    path = write_jsonl(tmp_path / "batch_output.jsonl", lines)
    store = str(tmp_path / "s.db")
    run_cli("init", "--store", store, check=True)
    result = run_cli("import", str(path), "--store", store, check=True)
    assert "skipped 1 records: failed request" in result.stdout
    by_model = {s["model"]: s for s in sources_json(store)}
    assert by_model["gpt-4o-mini-2024-07-18"]["channel"] == "batch-api"
    assert by_model["gpt-4o-mini-2024-07-18"]["segments"] == 1
    assert by_model["o3-2025-04-16"]["segments"] == 2
    with Store.open(store) as opened:
        (origin,) = opened.lookup([fingerprint("Batch answer one.")])[fingerprint("Batch answer one.")]
        assert origin.external_id == "request-1"
        assert origin.generated_at.isoformat() == "2025-01-01T00:00:00+00:00"
        (thought,) = opened.lookup([fingerprint("Think about it.")])[fingerprint("Think about it.")]
        assert thought.role == "reasoning"


def test_anthropic_batch_results_are_recognised(tmp_path: Path) -> None:
    lines = [
        {
            "custom_id": "my-first-request",
            "result": {
                "type": "succeeded",
                "message": {
                    "id": "msg_014VwiXbi91y3JMjcpyGBHX5",
                    "type": "message",
                    "role": "assistant",
                    "model": "claude-sonnet-4-5-20250929",
                    "content": [
                        {"type": "thinking", "thinking": "Let me consider.", "signature": "x"},
                        {"type": "text", "text": "Hello again! How can I help?"},
                    ],
                    "stop_reason": "end_turn",
                    "usage": {"input_tokens": 11, "output_tokens": 36},
                },
            },
        },
        {"custom_id": "my-second-request", "result": {"type": "errored", "error": {"type": "invalid_request"}}},
        {"custom_id": "my-third-request", "result": {"type": "expired"}},
    ]
    path = write_jsonl(tmp_path / "results.jsonl", lines)
    store = str(tmp_path / "s.db")
    run_cli("init", "--store", store, check=True)
    result = run_cli("import", str(path), "--generated-at", "2025-10-01T10:00:00Z", "--store", store, check=True)
    assert "skipped 1 records: errored request" in result.stdout
    assert "skipped 1 records: expired request" in result.stdout
    (source,) = sources_json(store)
    assert (source["provider"], source["model"], source["channel"], source["segments"]) == (
        "anthropic",
        "claude-sonnet-4-5-20250929",
        "batch-api",
        2,
    )
    assert source["first_generated_at"] == "2025-10-01T10:00:00Z"


def test_hugging_face_saved_dataset_takes_licence_from_card(tmp_path: Path) -> None:
    from datasets import Dataset

    folder = tmp_path / "my_dataset"
    Dataset.from_list([{"instruction": f"Do {i}", "output": f"Done {i}"} for i in range(20)]).save_to_disk(folder)
    (folder / "README.md").write_text(
        "---\nlicense: cc-by-nc-4.0\npretty_name: Tiny Instructions\n---\n# Tiny Instructions\n"
    )
    store = str(tmp_path / "s.db")
    run_cli("init", "--store", store, check=True)
    run_cli("import", str(folder), "--store", store, check=True)
    (source,) = sources_json(store)
    assert (source["kind"], source["name"], source["license"]) == ("dataset", "Tiny Instructions", "CC-BY-NC-4.0")
    assert source["segments"] == 20
    # A flag overrides the card.
    run_cli("import", str(folder), "--license", "MIT", "--store", store, check=True)
    assert {s["license"] for s in sources_json(store)} == {"CC-BY-NC-4.0", "MIT"}


def test_hugging_face_snapshot_folder_of_parquet_files(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = tmp_path / "snapshot"
    (folder / "data").mkdir(parents=True)
    for split in ("train", "test"):
        pq.write_table(
            pa.table({"text": [f"{split} document {i}" for i in range(10)]}), folder / "data" / f"{split}.parquet"
        )
    (folder / "README.md").write_text("---\nlicense: other\nlicense_name: acme-research\n---\n")
    store = str(tmp_path / "s.db")
    run_cli("init", "--store", store, check=True)
    run_cli("import", str(folder), "--store", store, check=True)
    (source,) = sources_json(store)
    assert (source["name"], source["license"], source["segments"]) == ("snapshot", "LicenseRef-acme-research", 20)


def test_explicit_mapping_and_forced_layout(tmp_path: Path) -> None:
    data = write_jsonl(tmp_path / "qa.jsonl", [{"q": "Why?", "meta": {"a": "Because."}}])
    store = str(tmp_path / "s.db")
    run_cli("init", "--store", store, check=True)
    bad = run_cli("import", str(data), *CLAUDE_FLAGS, "--store", store)
    assert bad.returncode == 2
    assert "keys seen: meta, q" in bad.stderr
    assert "qa.jsonl line 1" in bad.stderr
    run_cli(
        "import", str(data), *CLAUDE_FLAGS, "--map", "prompt=q", "--map", "completion=meta.a", "--store", store,
        check=True,
    )
    with Store.open(store) as opened:
        assert fingerprint("Because.") in opened.lookup([fingerprint("Because.")])


def test_json_output_of_import(tmp_path: Path, answers: Path) -> None:
    store = str(tmp_path / "s.db")
    run_cli("init", "--store", store, check=True)
    result = run_cli("import", str(answers), *CLAUDE_FLAGS, "--format", "json", "--store", store, check=True)
    data = orjson.loads(result.stdout)
    assert data["records"] == 50 and data["origins_added"] == 50 and data["segments_unattributed"] == 50


def test_openai_batch_legacy_completions(tmp_path: Path) -> None:
    line = {
        "custom_id": "c-1",
        "response": {
            "status_code": 200,
            "body": {"object": "text_completion", "created": 1735689600, "model": "gpt-3.5-turbo-instruct",
                     "choices": [{"text": " Legacy text."}, {"text": ""}]},
        },
        "error": None,
    }
    path = write_jsonl(tmp_path / "legacy.jsonl", [line])
    store = str(tmp_path / "s.db")
    run_cli("init", "--store", store, check=True)
    run_cli("import", str(path), "--store", store, check=True)
    with Store.open(store) as opened:
        (origin,) = opened.lookup([fingerprint("Legacy text.")])[fingerprint("Legacy text.")]
    assert origin.role == "completion"
    assert origin.source.model == "gpt-3.5-turbo-instruct"
