"""MinHash signatures and the band-key index (lineage.neardup)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from lineage.neardup import MinHasher, SketchIndex, estimate_similarity, words

BASE = ("The fern needs water once a week. Keep it in bright, indirect light. Mist the leaves when the "
        "air is dry, and repot it every spring.")
OTHER = "The cactus needs water once a month. Keep it in full sun and let the soil dry between waterings."


def test_changes_that_never_matter_leave_the_signature_alone() -> None:
    hasher = MinHasher()
    same = [BASE, BASE.upper(), BASE.replace(".", "!"), "  ".join(BASE.split()) + "\n"]
    signatures = hasher.signatures(same)
    assert all((s == signatures[0]).all() for s in signatures)
    assert words("Hello,  WORLD!") == ["hello", "world"]


def test_similarity_falls_with_the_size_of_the_change() -> None:
    hasher = MinHasher()
    one_typo = BASE.replace("water", "watr")
    dropped = BASE.replace("Keep it in bright, indirect light. ", "")
    halved = BASE[: len(BASE) // 2]
    base, typo, drop, half, other = hasher.signatures([BASE, one_typo, dropped, halved, OTHER])
    assert 1 > estimate_similarity(base, typo) > estimate_similarity(base, half)
    assert estimate_similarity(base, drop) > 0.5
    assert estimate_similarity(base, other) < 0.3


def test_the_index_finds_the_recorded_text_of_a_changed_copy() -> None:
    hasher = MinHasher()
    index = SketchIndex(hasher)
    index.add(hasher.signatures([OTHER, BASE]), ids=[101, 202])
    found = index.query(hasher.signatures([BASE.replace("water", "watr"), "Completely unrelated words here."]))
    assert [(m.query, m.id) for m in found] == [(0, 202)]
    assert 0.5 <= found[0].similarity < 1
    # More added later is found too; an empty index or query finds nothing.
    index.add(hasher.signatures(["A third text about ovens and bread dough rising."]), ids=[303])
    assert [m.id for m in index.query(hasher.signatures(["a third text about ovens and bread dough rising"]))] == [303]
    assert SketchIndex(hasher).query(hasher.signatures([BASE])) == []
    assert len(index) == 3


def test_signatures_are_the_same_in_every_process() -> None:
    # Stored sketches must match the ones a later lint computes: no per-process hash seed.
    code = ("from lineage.neardup import MinHasher; import sys; "
            "sys.stdout.write(MinHasher().signatures([sys.argv[1], '']).tobytes().hex())")
    runs = {subprocess.run([sys.executable, "-c", code, BASE], capture_output=True, text=True, check=True).stdout
            for _ in range(2)}
    assert len(runs) == 1
    assert bytes.fromhex(runs.pop()) == MinHasher().signatures([BASE, ""]).tobytes()


def test_signatures_do_not_change_between_releases() -> None:
    # Stored sketches are only useful while the same text gets the same signature: pinned here,
    # whatever NumPy's random generators or Python's hash seed do.
    signature = MinHasher().signatures(["the fern needs water once a week"])[0]
    assert signature[:6].tolist() == [1847169219, 1241658311, 528331576, 863164885, 47627665, 152126648]


def test_short_texts_are_not_sketched_nor_matched(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from lineage.neardup import sketchable
    from tests.conftest import run_cli, write_jsonl

    assert not sketchable("Yes.") and not sketchable("OK, thanks a lot") and sketchable(BASE)
    write_jsonl(tmp_path / "short.jsonl", chat_rows(["Yes.", "Sure, happy to help!"]))
    write_jsonl(tmp_path / "train.jsonl", chat_rows(["yes", "Sure! Happy to help."]))
    store = str(tmp_path / "lineage.db")
    assert run_cli("init", "--store", store, cwd=tmp_path).returncode == 0
    result = run_cli("import", "short.jsonl", "--provider", "anthropic", "--model", "claude-sonnet-4-5",
                     "--sketch", "--store", store, cwd=tmp_path)
    assert "0 near-duplicate sketches written" in result.stdout
    assert "LIN012" not in _lint(tmp_path, store)["summary"]["findings_by_code"]


def test_bands_must_divide_the_permutations() -> None:
    with pytest.raises(ValueError, match="divide"):
        MinHasher(permutations=64, bands=10)
    assert MinHasher(permutations=32, bands=8).signatures([BASE]).shape == (1, 32)
    assert MinHasher().band_keys(np.zeros((2, 64), dtype=np.uint32)).shape == (2, 16)


# -- in the store and in lint ------------------------------------------------------------------

RECORDED = [
    "Water the fern once a week and keep it in bright, indirect light. Mist the leaves when the air is dry, "
    "and repot it every second spring in a peat-free mix.",
    "The printing press spread books across Europe within fifty years. Cheaper books made reading common, "
    "and pamphlets carried new ideas faster than any preacher could.",
]
EDITED = [
    # A typo fixed the other way, casing and punctuation changed, a sentence dropped.
    "water the fern once a week and keep it in bright indirect light! mist the leavs when the air is dry, "
    "and repot it every second spring",
    "The printing press spread books across Europe within fifty years. Cheaper books made reading common.",
]
UNRELATED = "A sourdough starter needs flour and water every day, and a warm corner of the kitchen."


def chat_rows(answers: list[str]) -> list[dict]:
    from tests.conftest import chat

    return [chat(f"Question {n}?", a) for n, a in enumerate(answers)]


def _setup(folder, store_url: str, *import_flags: str) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import run_cli, write_jsonl

    write_jsonl(folder / "claude.jsonl", chat_rows(RECORDED))
    write_jsonl(folder / "train.jsonl", chat_rows([*EDITED, UNRELATED]))
    assert run_cli("init", "--store", store_url, cwd=folder).returncode == 0
    result = run_cli("import", "claude.jsonl", "--provider", "anthropic", "--model", "claude-sonnet-4-5",
                     "--store", store_url, *import_flags, cwd=folder)
    assert result.returncode == 0, result.stderr
    if "--sketch" in import_flags:
        assert "2 near-duplicate sketches written" in result.stdout
        again = run_cli("import", "claude.jsonl", "--provider", "anthropic", "--model", "claude-sonnet-4-5",
                        "--store", store_url, *import_flags, cwd=folder)
        assert "0 near-duplicate sketches written" in again.stdout, "known ones are not written twice"


def _lint(folder, store_url: str, *args: str) -> dict:  # type: ignore[no-untyped-def]
    import json

    from tests.conftest import run_cli

    result = run_cli("lint", "train.jsonl", "--store", store_url, "--format", "json", *args, cwd=folder)
    assert result.returncode in (0, 1), result.stderr
    return json.loads(result.stdout)


def test_edited_copies_take_the_recorded_origin(tmp_path, store_url: str) -> None:  # type: ignore[no-untyped-def]
    import json

    from tests.conftest import run_cli

    _setup(tmp_path, store_url, "--sketch")
    report = _lint(tmp_path, store_url)
    codes = report["summary"]["findings_by_code"]
    # Both edited copies are Claude's, and judged so; the unrelated answer stays untracked.
    assert codes["LIN012"] == 2 and codes["ANT001"] == 2 and codes["LIN009"] == 1
    assert report["summary"]["blocked"] == 2 and report["summary"]["untracked"] == 1
    inferred = [f for f in report["findings"] if f["code"] == "LIN012"]
    assert [f["line"] for f in inferred] == [1, 2]
    assert all(f["severity"] == "warning" and f["source"]["provider"] == "anthropic" for f in inferred)
    assert "near-duplicate (similarity 0." in inferred[0]["message"]
    # The mark and the similarity as fields too, for tools that read the report.
    assert all(f["derived"] == "near-duplicate" and 0.5 <= f["similarity"] < 1 for f in inferred)
    assert f"similarity {inferred[0]['similarity']:.2f}" in inferred[0]["message"]
    assert not any("derived" in f for f in report["findings"] if f["code"] != "LIN012")
    sarif = json.loads(run_cli("lint", "train.jsonl", "--store", store_url, "--format", "sarif", cwd=tmp_path).stdout)
    marked = [r["properties"] for r in sarif["runs"][0]["results"] if r["ruleId"] == "LIN012"]
    assert [m["derived"] for m in marked] == ["near-duplicate"] * 2
    assert [m["similarity"] for m in marked] == [f["similarity"] for f in inferred]
    # Turned off in the configuration, or too high a bar: nothing is inferred.
    (tmp_path / "lineage.toml").write_text("near_duplicates = false\n")
    assert "LIN012" not in _lint(tmp_path, store_url)["summary"]["findings_by_code"]
    (tmp_path / "lineage.toml").write_text("near_duplicate_threshold = 0.99\n")
    assert "LIN012" not in _lint(tmp_path, store_url)["summary"]["findings_by_code"]


def test_without_sketches_nothing_is_inferred(tmp_path, store_url: str) -> None:  # type: ignore[no-untyped-def]
    _setup(tmp_path, store_url)
    codes = _lint(tmp_path, store_url)["summary"]["findings_by_code"]
    assert "LIN012" not in codes and codes["LIN009"] == 3


def test_stored_text_is_rescored_with_rapidfuzz(tmp_path) -> None:  # type: ignore[no-untyped-def]
    store = str(tmp_path / "lineage.db")
    _setup(tmp_path, store, "--sketch", "--store-text")
    report = _lint(tmp_path, store)
    inferred = {f["line"]: f["message"] for f in report["findings"] if f["code"] == "LIN012"}
    assert set(inferred) == {1, 2}
    from rapidfuzz import fuzz

    from lineage.neardup import words

    expected = fuzz.ratio(" ".join(words(EDITED[1])), " ".join(words(RECORDED[1]))) / 100
    assert f"similarity {expected:.2f}" in inferred[2]


def test_bad_threshold_is_a_clear_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import run_cli

    store = str(tmp_path / "lineage.db")
    _setup(tmp_path, store, "--sketch")
    (tmp_path / "lineage.toml").write_text("near_duplicate_threshold = 2\n")
    result = run_cli("lint", "train.jsonl", "--store", store, cwd=tmp_path)
    assert result.returncode == 2 and "near_duplicate_threshold must be a similarity" in result.stderr


def test_columnar_path_leaves_inference_to_the_row_path(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import json

    import lineage.blocks as blocks
    import lineage.linting.linter as linter_module
    import lineage.linting.run as run
    from lineage.report import render
    from tests.conftest import write_jsonl

    store = str(tmp_path / "lineage.db")
    _setup(tmp_path, store, "--sketch")
    rows = chat_rows([f"Plain answer number {i} about nothing in particular." for i in range(2000)])
    rows[700] = chat_rows(EDITED)[0]
    write_jsonl(tmp_path / "big.jsonl", rows)
    monkeypatch.chdir(tmp_path)
    with monkeypatch.context() as patch:
        patch.setattr(run, "_COLUMNAR_MIN_BYTES", 0)
        patch.setattr(blocks, "BLOCK_BYTES", 20000)
        fast = json.loads(render(run.lint(["big.jsonl"], store=store), "json"))
    with monkeypatch.context() as patch:
        patch.setattr(linter_module, "_columnar_available", lambda: False)
        slow = json.loads(render(run.lint(["big.jsonl"], store=store), "json"))
    assert [f["line"] for f in fast["findings"] if f["code"] == "LIN012"] == [701]
    assert fast["summary"] == slow["summary"]


def test_a_version_2_store_has_no_sketches_and_upgrades(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import sqlite3

    from lineage.store import Store
    from lineage.store.version import SCHEMA_VERSION

    store = str(tmp_path / "lineage.db")
    _setup(tmp_path, store)
    conn = sqlite3.connect(store)
    conn.executescript("DROP TABLE lineage_sketch_bands; DROP TABLE lineage_sketches; "
                       "UPDATE lineage_meta SET value = '2' WHERE key = 'schema_version';")
    conn.commit()
    conn.close()
    # Lint reads it as it is (no sketch tables: nothing to infer from) ...
    assert _lint(tmp_path, store)["summary"]["findings_by_code"]["LIN009"] == 3
    # ... and opening it to write upgrades it, tables and all.
    with Store.open(store) as opened:
        assert opened.schema_version == SCHEMA_VERSION
    names = {r[0] for r in sqlite3.connect(store).execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"lineage_sketches", "lineage_sketch_bands"} <= names


def test_an_inferred_origin_is_a_completions_only(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import json

    from tests.conftest import chat, run_cli, write_jsonl

    store = str(tmp_path / "lineage.db")
    _setup(tmp_path, store, "--sketch")
    # The same edited text as a prompt in row 1 and as the answer in row 2, one batch.
    write_jsonl(tmp_path / "mixed.jsonl", [chat(EDITED[0], "Thanks, noted and understood."),
                                           chat("What should I do with my fern?", EDITED[0])])
    result = run_cli("lint", "mixed.jsonl", "--store", store, "--all-segments", "--format", "json", cwd=tmp_path)
    report = json.loads(result.stdout)
    by_code = {}
    for finding in report["findings"]:
        by_code.setdefault(finding["code"], []).append(finding["line"])
    assert by_code["ANT001"] == [2] and by_code["LIN012"] == [2]
    assert by_code["LIN009"] == [1, 2]  # row 1's prompt and answer, row 2's prompt: no recorded origin


def test_sketches_are_kept_in_their_key_trees_in_sqlite(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import sqlite3

    store = str(tmp_path / "lineage.db")
    _setup(tmp_path, store, "--sketch")
    conn = sqlite3.connect(store)
    tables = dict(conn.execute("SELECT name, sql FROM sqlite_master WHERE name LIKE 'lineage_sketch%'"))
    # A rowid table would keep each of the millions of band rows twice: in the table and its key's index.
    assert all("WITHOUT ROWID" in tables[name] for name in ("lineage_sketches", "lineage_sketch_bands"))
    bands, sketches = (conn.execute(f"SELECT count(*) FROM {name}").fetchone()[0]
                       for name in ("lineage_sketch_bands", "lineage_sketches"))
    conn.close()
    assert sketches == 2 and bands == 2 * 16


def test_chinese_and_japanese_texts_are_compared_by_characters() -> None:
    from lineage.neardup import MinHasher, SketchIndex, sketchable, words

    # No spaces between words: each character is a word, so pairs are character bigrams.
    assert words("我是助手。Hello, world!") == ["我", "是", "助", "手", "hello", "world"]
    recorded = ["植物需要充足的阳光和水分。每周浇水一次\uff0c并保持土壤排水良好。春天是换盆的最佳时间。",
                "毎日少しずつ水をあげてください。日当たりの良い窓辺に置くと、葉がよく育ちます。"]
    edited = ["植物需要充足的阳光和水份。每周浇水一次,并保持土壤排水良好。春天是换盆的最佳时机。",
              "毎日少しずつ水をあげてください。日当たりの良い窓辺に置くと葉がよく育ちます"]
    unrelated = "这家餐厅的菜很好吃\uff0c价格也很合理\uff0c我们下次还会再来。"
    assert all(sketchable(t) for t in [*recorded, *edited, unrelated]) and not sketchable("好的。")
    hasher = MinHasher()
    index = SketchIndex(hasher)
    index.add(hasher.signatures(recorded), ids=[1, 2])
    found = index.query(hasher.signatures([*edited, unrelated]))
    assert [(m.query, m.id) for m in found] == [(0, 1), (1, 2)]
