"""Datasets, derivations and the lineage graph, through the real CLI on both store back ends."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

import lineage
from lineage.datasets import derive, register_dataset
from lineage.fingerprints import fingerprint
from lineage.importers import ImportRequest, import_paths
from lineage.linting.origins import OriginIndex
from lineage.store import Store
from lineage.store.location import normalise_url
from tests.conftest import chat, run_cli, write_jsonl

CLAUDE = [chat(f"Question A{i}?", f"Claude answer A{i}.") for i in range(4)]
HUMAN = [chat(f"Question B{i}?", f"Human answer B{i}.") for i in range(3)]
LLAMA = "kind=open-model,model=meta-llama/Llama-3.1-8B-Instruct"


def cli(folder: Path, store: str, *args: str) -> tuple[int, str, str]:
    result = run_cli(*args, "--store", store, cwd=folder)
    return result.returncode, result.stdout, result.stderr


def paraphrase(rows: list[dict]) -> list[dict]:
    return [chat(r["messages"][0]["content"], "In other words: " + r["messages"][1]["content"]) for r in rows]


@pytest.fixture
def pipeline(tmp_path: Path, store_url: str) -> tuple[Path, str]:
    """Two upstream datasets (Claude outputs; human answers under CC-BY-SA-4.0), a mix of three
    Claude rows and the human rows, and a Llama paraphrase of the mix."""
    # Through the library, to keep the tests quick; `test_the_first_steps_from_the_cli` runs them
    # through the command line.
    claude = write_jsonl(tmp_path / "claude.jsonl", CLAUDE)
    human = write_jsonl(tmp_path / "human.jsonl", HUMAN)
    write_jsonl(tmp_path / "mixed.jsonl", CLAUDE[:3] + HUMAN)
    write_jsonl(tmp_path / "para.jsonl", paraphrase(CLAUDE[:3] + HUMAN))
    with Store.open(store_url, create=True) as store:
        import_paths(store, [claude], ImportRequest(source={"provider": "anthropic", "model": "claude-sonnet-4-5"},
                                                    generated_at=datetime(2025, 6, 1, tzinfo=timezone.utc)))
        register_dataset(store, human, license="CC-BY-SA-4.0", origin="https://example.org/human")
        derive(store, tmp_path / "mixed.jsonl", [str(claude), str(human)], "mix")
    return tmp_path, store_url


def test_the_first_steps_from_the_cli(tmp_path: Path, store_url: str) -> None:
    Store.open(store_url, create=True).close()
    write_jsonl(tmp_path / "claude.jsonl", CLAUDE)
    write_jsonl(tmp_path / "human.jsonl", HUMAN)
    write_jsonl(tmp_path / "mixed.jsonl", CLAUDE[:3] + HUMAN)
    steps = [
        ["import", "claude.jsonl", "--provider", "anthropic", "--model", "claude-sonnet-4-5"],
        ["dataset", "add", "human.jsonl", "--license", "cc-by-sa-4.0", "--origin", "https://example.org/human"],
        ["derive", "mixed.jsonl", "--from", "claude.jsonl", "--from", "human.jsonl", "--transform", "mix"],
    ]
    outputs = []
    for step in steps:
        code, out, err = cli(tmp_path, store_url, *step)
        assert code == 0, err
        outputs.append(out)
    assert "Registered human.jsonl as dataset #2: 6 distinct segments, licence CC-BY-SA-4.0" in outputs[1]
    assert "as a mix of claude.jsonl (#1), human.jsonl (#2): 6 rows, 12 segments" in outputs[2]
    assert "12 segments from its inputs" in outputs[2]


def test_derive_matches_segments_to_inputs(pipeline: tuple[Path, str]) -> None:
    folder, store = pipeline
    code, out, err = cli(folder, store, "derive", "para.jsonl", "--from", "mixed.jsonl", "--transform", "rewrite",
                         "--by", LLAMA, "--format", "json")
    assert code == 0, err
    result = json.loads(out)
    # Six rows of a user prompt (kept) and an answer (rewritten).
    assert (result["rows"], result["segments"], result["inherited"], result["rewritten"]) == (6, 12, 6, 6)
    assert result["untracked"] == 0 and result["declared"] == 0
    assert [p["name"] for p in result["parents"]] == ["mixed.jsonl"]
    code, out, _ = cli(folder, store, "dataset", "list", "--format", "json")
    listed = {d["name"]: d for d in json.loads(out)}
    assert listed["human.jsonl"]["license"] == "CC-BY-SA-4.0"
    assert listed["human.jsonl"]["origin"] == "https://example.org/human"
    assert listed["mixed.jsonl"]["segments"] == 12 and listed["para.jsonl"]["segments"] == 12


def test_the_mix_says_what_is_new(pipeline: tuple[Path, str]) -> None:
    folder, store = pipeline
    write_jsonl(folder / "more.jsonl", [*CLAUDE[:1], chat("A new question?", "A new answer.")])
    code, out, err = cli(folder, store, "derive", "more.jsonl", "--from", "claude.jsonl", "--transform", "filter",
                         "--format", "json")
    assert code == 0, err
    result = json.loads(out)
    assert (result["inherited"], result["untracked"]) == (2, 2)
    code, out, _ = cli(folder, store, "derive", "more.jsonl", "--from", "claude.jsonl", "--transform", "mix",
                       "--by", "kind=human,name=annotators", "--format", "json")
    assert json.loads(out)["declared"] == 2


def test_a_rewrite_is_bound_by_its_originals(pipeline: tuple[Path, str], monkeypatch: pytest.MonkeyPatch) -> None:
    folder, store = pipeline
    code, _, err = cli(folder, store, "derive", "para.jsonl", "--from", "mixed.jsonl", "--transform", "rewrite",
                       "--by", LLAMA)
    assert code == 0, err
    code, out, err = cli(folder, store, "lint", "para.jsonl", "--format", "json")
    assert code == 1, err
    report = json.loads(out)
    # The three paraphrased Claude answers carry Claude's terms; the human rows the licence's duties.
    assert report["summary"]["findings_by_code"] == {"ANT001": 3}
    assert report["summary"]["blocked"] == 3
    assert sorted(f["line"] for f in report["findings"]) == [1, 2, 3]
    providers = {s["source"].get("provider") for s in report["sources"]}
    assert {"anthropic", "meta"} <= providers
    # Both ways of reading the store agree.
    wanted = [fingerprint(r["messages"][1]["content"]) for r in paraphrase(CLAUDE[:3])]
    values = []
    for preload in (True, False):
        index = OriginIndex(normalise_url(store), preload=preload)
        found = index.find(wanted)
        values.append([sorted(index.sources[k // 10_000_000].provider for k in index.keys(found[fp])) for fp in wanted])
        index.close()
    assert values[0] == values[1] == [["anthropic", "meta"]] * 3
    monkeypatch.chdir(folder)
    assert lineage.lint(["para.jsonl"], store=store).summary()["blocked"] == 3


def test_graph_formats(pipeline: tuple[Path, str]) -> None:
    folder, store = pipeline
    cli(folder, store, "derive", "para.jsonl", "--from", "mixed.jsonl", "--transform", "rewrite",
        "--by", LLAMA)
    code, tree, err = cli(folder, store, "graph", "para.jsonl")
    assert code == 0, err
    lines = tree.splitlines()
    assert lines[0].startswith("para.jsonl  [dataset #")
    assert any("rewrite by meta/meta-llama/Llama-3.1-8B-Instruct" in line and "mixed.jsonl" in line for line in lines)
    assert any("mix of human.jsonl" in line and "CC-BY-SA-4.0" in line for line in lines)
    assert any("anthropic/claude-sonnet-4-5 (api): 4 segments, 2025-06-01 to 2025-06-01" in line for line in lines)
    code, out, _ = cli(folder, store, "graph", "para.jsonl", "--format", "json")
    graph = json.loads(out)
    assert graph["graph_version"] == 1
    kinds = sorted((n["kind"], n.get("name") or n.get("label")) for n in graph["nodes"])
    assert [k for k, _ in kinds].count("dataset") == 4
    sources = sorted(label for kind, label in kinds if kind == "source")
    assert sources == [
        "anthropic/claude-sonnet-4-5 (api)",
        "human.jsonl (dataset, CC-BY-SA-4.0)",
        "meta/meta-llama/Llama-3.1-8B-Instruct (open-model, self-hosted)",
    ]
    derived = sorted(e["transform"] for e in graph["edges"] if e["kind"] == "derived")
    assert derived == ["mix", "mix", "rewrite"]
    code, dot, _ = cli(folder, store, "graph", "para.jsonl", "--format", "dot")
    assert dot.startswith("digraph lineage {") and dot.count("->") == len(graph["edges"])
    # The graph of an upstream dataset holds only what it came from.
    code, out, _ = cli(folder, store, "graph", "human.jsonl", "--format", "json")
    assert [n["kind"] for n in json.loads(out)["nodes"]] == ["dataset", "source"]


def test_a_diamond_is_shown_once(pipeline: tuple[Path, str]) -> None:
    folder, store = pipeline
    write_jsonl(folder / "part1.jsonl", CLAUDE[:2])
    write_jsonl(folder / "part2.jsonl", CLAUDE[2:])
    for part in ("part1.jsonl", "part2.jsonl"):
        assert cli(folder, store, "derive", part, "--from", "claude.jsonl", "--transform", "split")[0] == 0
    write_jsonl(folder / "joined.jsonl", CLAUDE)
    code, _, err = cli(folder, store, "derive", "joined.jsonl", "--from", "part1.jsonl", "--from", "part2.jsonl",
                       "--transform", "mix")
    assert code == 0, err
    tree = cli(folder, store, "graph", "joined.jsonl")[1]
    assert tree.count("claude.jsonl") == 2 and tree.count("(shown above)") == 1
    assert tree.count("anthropic/claude-sonnet-4-5") == 1


def test_bad_input_changes_nothing(pipeline: tuple[Path, str]) -> None:
    folder, store = pipeline
    before = cli(folder, store, "dataset", "list", "--format", "json")[1]
    (folder / "broken.jsonl").write_text(json.dumps(CLAUDE[0]) + "\n{not json\n")
    write_jsonl(folder / "short.jsonl", paraphrase(CLAUDE[:2]))
    cases = [
        (["dataset", "add", "broken.jsonl"], "broken.jsonl line 2"),
        (["derive", "short.jsonl", "--from", "mixed.jsonl", "--transform", "rewrite", "--by", "gpt-4o"], "fewer rows"),
        (["derive", "short.jsonl", "--from", "nothing-here", "--transform", "mix"], "no registered dataset"),
        (["derive", "short.jsonl", "--from", "mixed.jsonl", "--transform", "rewrite"], "--by"),
        (["derive", "mixed.jsonl", "--from", "mixed.jsonl", "--transform", "filter"], "its own input"),
        (["graph", "nothing-here"], "no registered dataset"),
    ]
    for args, words in cases:
        code, _, err = cli(folder, store, *args)
        assert code == 2, (args, err)
        assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
        assert words in err, err
    assert cli(folder, store, "dataset", "list", "--format", "json")[1] == before


def test_registering_again_adds_nothing(pipeline: tuple[Path, str]) -> None:
    folder, store = pipeline
    code, out, _ = cli(folder, store, "dataset", "add", "human.jsonl", "--format", "json")
    assert code == 0
    (again,) = json.loads(out)
    listed = json.loads(cli(folder, store, "dataset", "list", "--format", "json")[1])
    assert [d["name"] for d in listed].count("human.jsonl") == 1
    assert again["segments"] == 6 and again["license"] == "CC-BY-SA-4.0"


def test_a_version_1_store_is_upgraded(store_url: str) -> None:
    from sqlalchemy import inspect, text

    from lineage.store.schema import SCHEMA_VERSION

    Store.open(store_url, create=True).close()
    store = Store(store_url)
    with store.engine.begin() as conn:
        conn.execute(text("DROP TABLE lineage_dataset_segments"))
        conn.execute(text("DROP TABLE lineage_derivations"))
        conn.execute(text("DROP INDEX ix_lineage_origins_with_parents"))
        conn.execute(text("ALTER TABLE lineage_datasets DROP COLUMN origin"))
        conn.execute(text("UPDATE lineage_meta SET value = '1' WHERE key = 'schema_version'"))
    store.close()
    opened = Store.open(store_url)
    with opened.engine.connect() as conn:
        names = set(inspect(conn).get_table_names())
        columns = {c["name"] for c in inspect(conn).get_columns("lineage_datasets")}
        indexes = {i["name"] for i in inspect(conn).get_indexes("lineage_origins")}
    assert {"lineage_dataset_segments", "lineage_derivations"} <= names
    assert "origin" in columns and "ix_lineage_origins_with_parents" in indexes
    assert opened.stats()["schema_version"] == SCHEMA_VERSION == 2
    opened.close()
