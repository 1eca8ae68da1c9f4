"""The lineage report and the NOTICE text, from the CLI, and the HTML page in a real browser."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import struct
import zlib
from datetime import datetime, timezone
from pathlib import Path

import pytest

from lineage.datasets import derive, register_dataset
from lineage.importers import ImportRequest, import_paths
from lineage.store import Store
from lineage.store.version import SCHEMA_VERSION
from tests.conftest import chat, run_cli, run_example, state_facts, write_jsonl

CLAUDE = [chat(f"Question A{i}?", f"Claude answer A{i}.") for i in range(4)]
HUMAN = [chat(f"Question B{i}?", f"Human answer B{i}.") for i in range(3)]
LLAMA = {"kind": "open-model", "model": "meta-llama/Llama-3.1-8B-Instruct"}
STAMP = "2026-01-01T00:00:00Z"


def paraphrase(rows: list[dict]) -> list[dict]:
    return [chat(r["messages"][0]["content"], "In other words: " + r["messages"][1]["content"]) for r in rows]


@pytest.fixture
def pipeline(tmp_path: Path, store_url: str) -> tuple[Path, str]:
    """Two upstream datasets, a mix of them, and a Llama rewrite of the mix (the three steps)."""
    from lineage.sources import SourceSpec

    claude = write_jsonl(tmp_path / "claude.jsonl", CLAUDE)
    human = write_jsonl(tmp_path / "human.jsonl", HUMAN)
    mixed = write_jsonl(tmp_path / "mixed.jsonl", CLAUDE[:3] + HUMAN)
    para = write_jsonl(tmp_path / "para.jsonl", paraphrase(CLAUDE[:3] + HUMAN))
    with Store.open(store_url, create=True) as store:
        import_paths(store, [claude], ImportRequest(source={"provider": "anthropic", "model": "claude-sonnet-4-5"},
                                                    generated_at=datetime(2025, 6, 1, tzinfo=timezone.utc)))
        register_dataset(store, human, license="CC-BY-SA-4.0")
        derive(store, mixed, [str(claude), str(human)], "mix")
        derive(store, para, [str(mixed)], "rewrite", by=SourceSpec.build(**LLAMA),
               generated_at=datetime(2025, 7, 2, tzinfo=timezone.utc))
    state_facts(tmp_path)
    return tmp_path, store_url


def cli(folder: Path, store: str, *args: str) -> tuple[int, str, str]:
    result = run_cli(*args, "--store", store, cwd=folder)
    return result.returncode, result.stdout, result.stderr


def test_markdown_report_says_what_the_terms_say(pipeline: tuple[Path, str]) -> None:
    folder, store = pipeline
    code, md, err = cli(folder, store, "report", "para.jsonl", "--timestamp", STAMP)
    assert code == 0, err
    assert md.startswith("# Lineage report: para.jsonl\n\n**Verdict: blocked.** 6 examples: 3 blocked")
    assert "| purpose | fine-tune |" in md and "| commercial | yes |" in md
    rows = {tuple(line.split(" | ")[:2]): line for line in md.splitlines() if line.startswith("| ")}
    claude = rows["| anthropic", "claude-sonnet-4-5"]
    # Generated 2025-06-01: the Usage Policy of 2024-06-06 was in force.
    assert "| api | api | - | anthropic-usage-policy 2024-06-06" in claude
    assert "| 3 | 3 | 2025-06-01 to 2025-06-01 | blocked |" in claude
    llama = rows["| meta", "meta-llama/Llama-3.1-8B-Instruct"]
    assert "| open-model | self-hosted |" in llama and "llama-3.1-community-license" in llama
    assert "2025-07-02 to 2025-07-02" in llama
    assert "| dataset | - | CC-BY-SA-4.0 |" in rows["| -", "human.jsonl"]
    # Findings grouped by rule, with the citation's document, version, section, URL and quote.
    assert "### ANT001 (error): Anthropic Usage Policy 2024-06-06" in md
    assert "- 3 finding(s) in 3 example(s), from anthropic/claude-sonnet-4-5 (api)." in md
    assert "- Examples at: para.jsonl:1, para.jsonl:2, para.jsonl:3." in md
    assert "(https://www.anthropic.com/legal/archive/89e829b9-91a1-44e1-8915-d08ce3007cfe)" in md
    assert "> Unauthorized utilization of prompts and completions to train an AI model" in md
    # Obligations that came down the graph from the CC-BY-SA dataset.
    assert '**LIC002 attribution**: "Contains data from human.jsonl, licensed under CC-BY-SA-4.0."' in md
    assert "**LIC003 share-alike**" in md
    assert "0 of 12 segments (0.0%) have no recorded origin" in md
    # The lineage tree: all three steps.
    assert "rewrite by meta/meta-llama/Llama-3.1-8B-Instruct" in md and "mix of human.jsonl" in md
    # Integrity: the file's real hash, the pack's hash as lint reports it, the tool and the store.
    digest = hashlib.sha256((folder / "para.jsonl").read_bytes()).hexdigest()
    assert f"| sha256 of para.jsonl | {digest} |" in md
    linted = json.loads(cli(folder, store, "lint", "para.jsonl", "--format", "json")[1])
    assert f"sha256 {linted['policy_pack']['sha256']}" in md
    assert f"schema version {SCHEMA_VERSION}" in md and f"| generated | {STAMP} |" in md


@pytest.mark.parametrize("fmt", ["md", "html"])
def test_report_is_the_same_bytes_for_the_same_inputs(pipeline: tuple[Path, str], fmt: str) -> None:
    folder, store = pipeline
    runs = [cli(folder, store, "report", "para.jsonl", "--format", fmt, "--timestamp", STAMP)[1] for _ in range(2)]
    assert runs[0] == runs[1] and len(runs[0]) > 1000
    later = cli(folder, store, "report", "para.jsonl", "--format", fmt, "--timestamp", "2026-02-01T10:00:00+01:00")[1]
    assert later != runs[0] and later.replace("2026-02-01T09:00:00Z", STAMP) == runs[0]


def test_waivers_and_an_unregistered_dataset(pipeline: tuple[Path, str]) -> None:
    folder, store = pipeline
    waivers = folder / "waivers.yaml"
    waivers.write_text(
        "waivers:\n  - id: anthropic-deal\n    codes: [ANT001]\n    scope: {provider: anthropic}\n"
        "    approved_by: Legal (J. Doe)\n    reference: CONTRACT-42\n    expires: 2027-06-30\n"
    )
    write_jsonl(folder / "loose.jsonl", CLAUDE + HUMAN)  # never registered
    code, md, err = cli(folder, store, "report", "loose.jsonl", "--waivers", str(waivers), "--timestamp", STAMP)
    assert code == 0, err
    assert "**Verdict: allowed with obligations.**" in md
    assert "| anthropic-deal | ANT001 | Legal (J. Doe) | CONTRACT-42 | 2027-06-30 | anthropic/claude-sonnet-4-5 (api) | 4 |" in md
    # Untracked counts the completion side unless asked for all segments (the prompts: nobody recorded them).
    assert "0 of 14 segments (0.0%) have no recorded origin" in md
    every = cli(folder, store, "report", "loose.jsonl", "--waivers", str(waivers), "--all-segments")[1]
    assert "7 of 14 segments (50.0%) have no recorded origin; 7 of 7 examples are untracked" in every
    # Not registered: the graph is the file and the sources lint found in it.
    assert "loose.jsonl  [not registered, licence not declared, 14 segments]" in md
    assert "anthropic/claude-sonnet-4-5 (api): 4 segments" in md


def test_notice_lists_every_credit(pipeline: tuple[Path, str]) -> None:
    folder, store = pipeline
    code, _, err = cli(folder, store, "notice", "para.jsonl", "-o", "NOTICE")
    assert code == 0, err
    text = (folder / "NOTICE").read_text()
    assert text.startswith("NOTICE for para.jsonl\n")
    assert "- Contains data from human.jsonl, licensed under CC-BY-SA-4.0. (human.jsonl (dataset, CC-BY-SA-4.0))" in text
    assert "release it and what is derived from it under CC-BY-SA-4.0" in text
    assert "- anthropic/claude-sonnet-4-5 (api)\n- meta/meta-llama/Llama-3.1-8B-Instruct" in text
    # Rows with no duties say so.
    write_jsonl(folder / "plain.jsonl", [chat("q?", "An answer nobody recorded.")])
    assert "No source of this dataset asks for attribution" in cli(folder, store, "notice", "plain.jsonl")[1]


def test_bad_report_options_are_one_line(pipeline: tuple[Path, str]) -> None:
    folder, store = pipeline
    for args, words in [
        (["report", "para.jsonl", "--timestamp", "yesterday"], "--timestamp"),
        (["report", "missing.jsonl"], "missing.jsonl"),
        (["report", "para.jsonl", "-o", str(folder / "no" / "such" / "dir" / "r.md")], "cannot write"),
    ]:
        code, _, err = cli(folder, store, *args)
        assert code == 2, (args, err)
        assert "Traceback" not in err and len(err.strip().splitlines()) == 1 and words in err, err


# -- the HTML page in a real browser -----------------------------------------------------------------


def _chromium() -> str:
    found = os.environ.get("LINEAGE_TEST_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        message = "the HTML report test needs Chromium (Debian's `chromium` package, or LINEAGE_TEST_CHROMIUM)"
        if os.environ.get("CI") == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return found


def _png_colours(png: bytes) -> int:
    """How many distinct colours an 8-bit RGB(A) PNG holds (enough of a decoder for a screenshot)."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    at, chunks, header = 8, [], b""
    while at < len(png):
        (length,), kind = struct.unpack(">I", png[at : at + 4]), png[at + 4 : at + 8]
        body = png[at + 8 : at + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            chunks.append(body)
        at += 12 + length
    width, height, depth, colour = struct.unpack(">IIBB", header[:10])
    assert depth == 8 and colour in (2, 6) and header[12] == 0  # 8-bit RGB or RGBA, not interlaced
    size = 3 if colour == 2 else 4
    raw, stride = zlib.decompress(b"".join(chunks)), width * size
    previous, colours = bytearray(stride), set()
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for i in range(stride):
            left = line[i - size] if i >= size else 0
            up, corner = previous[i], previous[i - size] if i >= size else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - corner
                best = min((abs(p - left), 0, left), (abs(p - up), 1, up), (abs(p - corner), 2, corner))[2]
                line[i] = (line[i] + best) & 0xFF
        colours.update(bytes(line[i : i + 3]) for i in range(0, stride, size * 7))
        previous = line
    return len(colours)


def test_html_report_in_a_real_browser(pipeline: tuple[Path, str]) -> None:
    chromium = _chromium()
    from playwright.sync_api import sync_playwright

    folder, store = pipeline
    page_path = folder / "report.html"
    code, _, err = cli(folder, store, "report", "para.jsonl", "--format", "html", "-o", str(page_path),
                       "--timestamp", STAMP)
    assert code == 0, err
    html = page_path.read_text()
    assert "<script" not in html and "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    linted = json.loads(cli(folder, store, "lint", "para.jsonl", "--format", "json")[1])
    expected = sorted(s["label"] for s in linted["sources"])
    assert len(expected) == 3
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run",
        ])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            problems: list[str] = []
            page.on("console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else None)
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url}"))
            requests: list[str] = []
            page.on("request", lambda r: requests.append(r.url))
            response = page.goto(page_path.as_uri())
            assert response is not None and response.ok
            assert problems == []
            assert requests == [page_path.as_uri()]  # nothing fetched but the page itself
            assert page.locator("#verdict").inner_text() == "Verdict: blocked"
            # A node per source, each drawn with its name; the blocked one marked.
            nodes = page.locator("svg.lineage-graph g.node.source")
            assert nodes.count() == len(expected)
            assert sorted(nodes.nth(i).locator("title").text_content() for i in range(nodes.count())) == expected
            assert page.locator("svg.lineage-graph g.node.source.blocked title").text_content() == (
                "anthropic/claude-sonnet-4-5 (api)"
            )
            assert page.locator("svg.lineage-graph g.node.dataset").count() == 4
            box = page.locator("svg.lineage-graph").bounding_box()
            assert box is not None and box["width"] > 600 and box["height"] > 100
            assert page.locator("tr.source-row").count() == 3
            shot = page.screenshot(full_page=True)
            assert _png_colours(shot) > 20  # text, boxes and the red of the blocked source: not blank
            # Printable: the print stylesheet applies and the page prints.
            page.emulate_media(media="print")
            assert page.evaluate("getComputedStyle(document.querySelector('.graph')).borderStyle") == "none"
            pdf = page.pdf()
            assert pdf.startswith(b"%PDF") and pdf.count(b"/Type /Page") >= 2
        finally:
            browser.close()


def test_the_pipeline_example(tmp_path: Path) -> None:
    folder = tmp_path / "pipeline"
    result = run_example("lineage-pipeline", folder)
    assert "└── rewrite by meta/meta-llama/Llama-3.1-8B-Instruct" in result.stdout
    assert "lineage lint exited with 1" in result.stdout
    md = (folder / "out" / "report.md").read_text()
    assert "**Verdict: blocked.** 9 examples: 3 blocked, 0 needs review, 0 allowed, 4 allowed with obligations, 2 untracked" in md
    assert "### ANT001 (error)" in md and "- Examples at: paraphrased.jsonl:1, paraphrased.jsonl:2, paraphrased.jsonl:3." in md
    assert "Section 3(b)(1)](https://creativecommons.org/licenses/by-sa/4.0/legalcode)" in md
    assert '**META121 attribution**: "Built with Llama"' in md and "**META122 name-prefix**" in md
    html = (folder / "out" / "report.html").read_text()
    assert html.count('<g class="node source') == 3 and html.count('<g class="node dataset') == 4
    notice = (folder / "out" / "NOTICE").read_text()
    assert "- Built with Llama (" in notice and "Contains data from community-qa.jsonl" in notice
    assert (folder / "out" / "lineage.dot").read_text().startswith("digraph lineage {")


def test_names_from_the_data_cannot_change_the_report(tmp_path: Path, store_url: str) -> None:
    Store.open(store_url, create=True).close()
    write_jsonl(tmp_path / "odd.jsonl", [chat("Q?", "An answer.")])
    cli(tmp_path, store_url, "dataset", "add", "odd.jsonl", "--name", "<b>x</b> | y\nz", "--license", "CC-BY-4.0")
    md = cli(tmp_path, store_url, "report", "odd.jsonl", "--timestamp", STAMP)[1]
    before, tree, after = md.split("```")
    assert "<b>" not in before + after and "&lt;b&gt;x&lt;/b&gt; \\| y z" in before + after
    # Inside the code block the tree shows the name as it is, on one line.
    assert "<b>x</b> | y z" in tree
    html = cli(tmp_path, store_url, "report", "odd.jsonl", "--format", "html", "--timestamp", STAMP)[1]
    assert "<b>x</b>" not in html and "&lt;b&gt;x&lt;/b&gt;" in html


def test_a_file_of_malformed_rows_is_not_called_allowed(tmp_path: Path) -> None:
    # Nothing in it could be read, so nothing was judged: an error in the input, not a report.
    (tmp_path / "bad.jsonl").write_text("{bad\n")
    result = run_cli("report", "bad.jsonl", "--timestamp", STAMP, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    assert result.stderr.startswith("Error: none of the 1 record(s) could be read (line 1: invalid JSON")
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_a_report_with_some_malformed_rows_says_it_is_incomplete(tmp_path: Path) -> None:
    (tmp_path / "some.jsonl").write_text('{bad\n{"prompt": "p", "completion": "c"}\n')
    result = run_cli("report", "some.jsonl", "--timestamp", STAMP, "--skip-bad", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "**Verdict: incomplete: some examples could not be read.**" in result.stdout
    assert "1 malformed" in result.stdout


@pytest.mark.parametrize("command", ["report", "notice"])
def test_no_dataset_files_is_one_line(tmp_path: Path, command: str) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "lineage.toml").write_text('paths = ["data/"]\n')
    result = run_cli(command, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith("Error: no dataset files in the configured paths")
    assert len(result.stderr.strip().splitlines()) == 1
