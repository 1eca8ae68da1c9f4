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
from tests.conftest import chat, run_cli, state_facts, write_jsonl

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
    state_facts(tmp_path)
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


def _downgrade_to_version_1(store_url: str) -> None:
    """Make a store look as schema version 1 left it: without what versions 2 and 3 added."""
    from sqlalchemy import text

    store = Store(store_url)
    with store.engine.begin() as conn:
        conn.execute(text("DROP TABLE lineage_sketch_bands"))
        conn.execute(text("DROP TABLE lineage_sketches"))
        conn.execute(text("DROP TABLE lineage_dataset_segments"))
        conn.execute(text("DROP TABLE lineage_derivations"))
        conn.execute(text("DROP INDEX ix_lineage_origins_with_parents"))
        conn.execute(text("ALTER TABLE lineage_datasets DROP COLUMN origin"))
        conn.execute(text("UPDATE lineage_meta SET value = '1' WHERE key = 'schema_version'"))
    store.close()


def test_a_version_1_store_is_upgraded(store_url: str) -> None:
    from sqlalchemy import inspect

    from lineage.store.schema import SCHEMA_VERSION

    Store.open(store_url, create=True).close()
    _downgrade_to_version_1(store_url)
    opened = Store.open(store_url)
    with opened.engine.connect() as conn:
        names = set(inspect(conn).get_table_names())
        columns = {c["name"] for c in inspect(conn).get_columns("lineage_datasets")}
        indexes = {i["name"] for i in inspect(conn).get_indexes("lineage_origins")}
    assert {"lineage_dataset_segments", "lineage_derivations", "lineage_sketches", "lineage_sketch_bands"} <= names
    assert "origin" in columns and "ix_lineage_origins_with_parents" in indexes
    assert opened.stats()["schema_version"] == SCHEMA_VERSION == 3
    opened.close()


# -- what a hostile review found ---------------------------------------------------------------------


def _lint_blocked(folder: Path, store: str, path: str) -> int:
    code, out, err = cli(folder, store, "lint", path, "--format", "json")
    assert code in (0, 1), err
    return json.loads(out)["summary"]["blocked"]


def test_a_rewrite_that_drops_or_adds_a_turn_keeps_its_binding(tmp_path: Path, store_url: str) -> None:
    Store.open(store_url, create=True).close()
    original = [{"messages": [{"role": "system", "content": "You are helpful."},
                              {"role": "user", "content": f"Q{i}?"},
                              {"role": "assistant", "content": f"Claude answer {i}."}]} for i in range(3)]
    write_jsonl(tmp_path / "a.jsonl", original)
    cli(tmp_path, store_url, "import", "a.jsonl", "--provider", "anthropic", "--model", "claude-sonnet-4-5")
    dropped = [chat(f"Q{i}?", f"Paraphrase {i}.") for i in range(3)]  # the system turn is gone
    write_jsonl(tmp_path / "b.jsonl", dropped)
    code, out, err = cli(tmp_path, store_url, "derive", "b.jsonl", "--from", "a.jsonl", "--transform", "rewrite",
                         "--by", LLAMA, "--format", "json")
    assert code == 0, err
    assert json.loads(out)["rewritten"] == 3 and json.loads(out)["declared"] == 0
    assert _lint_blocked(tmp_path, store_url, "b.jsonl") == 3
    added = [{"messages": [{"role": "system", "content": "Be brief."}, *r["messages"]]} for r in dropped]
    write_jsonl(tmp_path / "c.jsonl", added)
    assert cli(tmp_path, store_url, "derive", "c.jsonl", "--from", "b.jsonl", "--transform", "rewrite",
               "--by", LLAMA)[0] == 0
    assert _lint_blocked(tmp_path, store_url, "c.jsonl") == 3


def test_a_rewrite_to_a_text_already_recorded_keeps_its_parents(tmp_path: Path, store_url: str) -> None:
    Store.open(store_url, create=True).close()
    write_jsonl(tmp_path / "a.jsonl", CLAUDE[:3])
    cli(tmp_path, store_url, "import", "a.jsonl", "--provider", "anthropic", "--model", "claude-sonnet-4-5")
    write_jsonl(tmp_path / "b.jsonl", paraphrase(CLAUDE[:3]))
    # The rewrite's outputs were already imported from the rewriting model's batch file.
    cli(tmp_path, store_url, "import", "b.jsonl", "--provider", "openai", "--model", "gpt-4o")
    assert _lint_blocked(tmp_path, store_url, "b.jsonl") == 0
    assert cli(tmp_path, store_url, "derive", "b.jsonl", "--from", "a.jsonl", "--transform", "rewrite",
               "--by", "gpt-4o")[0] == 0
    assert _lint_blocked(tmp_path, store_url, "b.jsonl") == 3
    # One text that two originals (Claude's, and a non-commercial dataset's) were rewritten to.
    write_jsonl(tmp_path / "nc.jsonl", [chat("Q nc?", "A non-commercial answer.")])
    cli(tmp_path, store_url, "dataset", "add", "nc.jsonl", "--license", "CC-BY-NC-4.0")
    write_jsonl(tmp_path / "two.jsonl", [CLAUDE[0], chat("Q nc?", "A non-commercial answer.")])
    write_jsonl(tmp_path / "same.jsonl", [chat(CLAUDE[0]["messages"][0]["content"], "Same."), chat("Q nc?", "Same.")])
    cli(tmp_path, store_url, "derive", "two.jsonl", "--from", "a.jsonl", "--from", "nc.jsonl", "--transform", "mix")
    assert cli(tmp_path, store_url, "derive", "same.jsonl", "--from", "two.jsonl", "--transform", "rewrite",
               "--by", "gpt-4o")[0] == 0
    report = json.loads(cli(tmp_path, store_url, "lint", "same.jsonl", "--format", "json")[1])
    assert {"ANT001", "LIC001"} <= set(report["summary"]["findings_by_code"])


def test_graph_json_ids_match_its_edges(pipeline: tuple[Path, str]) -> None:
    folder, store = pipeline
    graph = json.loads(cli(folder, store, "graph", "mixed.jsonl", "--format", "json")[1])
    ids = [n["id"] for n in graph["nodes"]]
    assert len(set(ids)) == len(ids) and all(i.split(":")[0] in ("dataset", "source") for i in ids)
    assert {e["from"] for e in graph["edges"]} | {e["to"] for e in graph["edges"]} <= set(ids)
    assert graph["root"] in ids


def test_a_cycle_is_refused(pipeline: tuple[Path, str]) -> None:
    folder, store = pipeline
    code, _, err = cli(folder, store, "derive", "claude.jsonl", "--from", "mixed.jsonl", "--transform", "filter")
    assert code == 2 and "cycle" in err and len(err.strip().splitlines()) == 1


def test_generic_prompts_of_a_licensed_dataset_do_not_bind_other_data(tmp_path: Path, store_url: str) -> None:
    Store.open(store_url, create=True).close()
    nc = {"messages": [{"role": "system", "content": "You are a helpful assistant."},
                       {"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Thanks!"}]}
    write_jsonl(tmp_path / "nc.jsonl", [nc])
    cli(tmp_path, store_url, "dataset", "add", "nc.jsonl", "--license", "CC-BY-NC-4.0")
    mine = {"messages": [nc["messages"][0], {"role": "user", "content": "Mine?"},
                         {"role": "assistant", "content": "My own answer."}]}
    write_jsonl(tmp_path / "mine.jsonl", [mine])
    assert _lint_blocked(tmp_path, store_url, "mine.jsonl") == 0
    assert _lint_blocked(tmp_path, store_url, "nc.jsonl") == 1
    # Unless asked for: then the dataset is the source of its prompts too.
    cli(tmp_path, store_url, "dataset", "add", "nc.jsonl", "--license", "CC-BY-NC-4.0", "--all-segments")
    assert _lint_blocked(tmp_path, store_url, "mine.jsonl") == 1


def test_registering_with_a_corrected_licence_replaces_the_old(pipeline: tuple[Path, str]) -> None:
    folder, store = pipeline
    write_jsonl(folder / "typo.jsonl", [chat("Q t?", "A t.")])
    cli(folder, store, "dataset", "add", "typo.jsonl", "--license", "CC-BY-NC-4.0")
    assert _lint_blocked(folder, store, "typo.jsonl") == 1
    cli(folder, store, "dataset", "add", "typo.jsonl", "--license", "CC-BY-4.0")
    report = json.loads(cli(folder, store, "lint", "typo.jsonl", "--format", "json")[1])
    assert report["summary"]["blocked"] == 0
    assert [s["source"]["license"] for s in report["sources"]] == ["CC-BY-4.0"]


def test_a_rewrite_refuses_an_input_changed_since_it_was_registered(pipeline: tuple[Path, str]) -> None:
    folder, store = pipeline
    text = (folder / "mixed.jsonl").read_text()
    (folder / "mixed.jsonl").write_text(text.replace("Claude answer", "Edited answer"))
    code, _, err = cli(folder, store, "derive", "para.jsonl", "--from", "mixed.jsonl", "--transform", "rewrite",
                       "--by", LLAMA)
    assert code == 2 and "changed since" in err, err


def test_a_rewrite_from_another_folder_and_a_named_input(pipeline: tuple[Path, str]) -> None:
    folder, store = pipeline
    (folder / "sub").mkdir()
    (folder / "mixed.jsonl").rename(folder / "sub" / "mixed.jsonl")  # moved, by name still
    sub = folder / "sub"
    code, out, err = cli(sub, store, "derive", "../para.jsonl", "--from", "mixed.jsonl", "--transform", "rewrite",
                         "--by", LLAMA, "--format", "json")
    assert code == 0, err
    assert json.loads(out)["rewritten"] == 6


def test_a_name_is_found_even_beside_a_folder_of_that_name(pipeline: tuple[Path, str]) -> None:
    folder, store = pipeline
    cli(folder, store, "dataset", "add", "claude.jsonl", "--name", "upstream")
    (folder / "upstream").mkdir()
    assert cli(folder, store, "graph", "upstream")[0] == 0


def test_deriving_again_another_way_replaces_the_edge(pipeline: tuple[Path, str]) -> None:
    folder, store = pipeline
    cli(folder, store, "derive", "para.jsonl", "--from", "mixed.jsonl", "--transform", "mix")
    cli(folder, store, "derive", "para.jsonl", "--from", "mixed.jsonl", "--transform", "rewrite", "--by", LLAMA)
    graph = json.loads(cli(folder, store, "graph", "para.jsonl", "--format", "json")[1])
    (edge,) = [e for e in graph["edges"] if e["kind"] == "derived" and e["from"] == "dataset:3"]
    assert edge["transform"] == "rewrite" and edge["by"] is not None


def test_dataset_add_of_several_files_is_one_transaction(pipeline: tuple[Path, str]) -> None:
    folder, store = pipeline
    write_jsonl(folder / "good.jsonl", [chat("Q g?", "A g.")])
    (folder / "bad.jsonl").write_text('{"messages": []}\n{bad\n')
    code, _, err = cli(folder, store, "dataset", "add", "good.jsonl", "bad.jsonl", "--license", "MIT")
    assert code == 2 and "bad.jsonl line 2" in err
    names = [d["name"] for d in json.loads(cli(folder, store, "dataset", "list", "--format", "json")[1])]
    assert "good.jsonl" not in names


def test_lint_reads_a_version_1_store_without_writing_it(store_url: str, tmp_path: Path) -> None:
    from sqlalchemy import text

    Store.open(store_url, create=True).close()
    write_jsonl(tmp_path / "a.jsonl", CLAUDE[:1])
    cli(tmp_path, store_url, "import", "a.jsonl", "--provider", "anthropic", "--model", "claude-sonnet-4-5")
    _downgrade_to_version_1(store_url)
    assert _lint_blocked(tmp_path, store_url, "a.jsonl") == 1
    store = Store(store_url)
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT value FROM lineage_meta WHERE key = 'schema_version'")).scalar() == "1"
    store.close()


def test_a_long_chain_of_rewrites_is_followed_both_ways(tmp_path: Path) -> None:
    from lineage.sources import SourceSpec

    url = str(tmp_path / "lineage.db")
    rows = CLAUDE[:2]
    path = write_jsonl(tmp_path / "d0.jsonl", rows)
    with Store.open(url, create=True) as store:
        import_paths(store, [path], ImportRequest(source={"provider": "anthropic", "model": "claude-sonnet-4-5"}))
        for n in range(1, 21):
            rows = [chat(r["messages"][0]["content"], f"Take {n}: " + r["messages"][1]["content"]) for r in rows]
            new = write_jsonl(tmp_path / f"d{n}.jsonl", rows)
            derive(store, new, [str(path)], "rewrite", by=SourceSpec.build(model="gpt-4o"))
            path = new
    last = [fingerprint(r["messages"][1]["content"]) for r in rows]
    for preload in (True, False):
        index = OriginIndex(normalise_url(url), preload=preload)
        found = index.find(last)
        providers = [{index.sources[k // 10_000_000].provider for k in index.keys(found[fp])} for fp in last]
        index.close()
        assert providers == [{"anthropic", "openai"}] * 2, preload
