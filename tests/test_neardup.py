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


def test_bands_must_divide_the_permutations() -> None:
    with pytest.raises(ValueError, match="divide"):
        MinHasher(permutations=64, bands=10)
    assert MinHasher(permutations=32, bands=8).signatures([BASE]).shape == (1, 32)
    assert MinHasher().band_keys(np.zeros((2, 64), dtype=np.uint32)).shape == (2, 16)
