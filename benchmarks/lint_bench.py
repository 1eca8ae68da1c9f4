"""Lint throughput against a floor measured in the same run.

Makes a chat dataset (system, user and assistant turns per example), records the assistant turns
in a store as coming from five sources, one of which breaches the default use context (Claude,
under Anthropic's ban on training with its outputs: a fifth of the examples), then measures:

  floor          a plain loop over the same file that parses each line with orjson, takes the
                 message texts and fingerprints them (normalise + sha256): the least work any lint
                 of this file must do.
  lint, 1 job    `lineage.lint(...)` in this process. Goal: <= 1.5x the floor. Both are timed in
                 CPU seconds of this process: on a shared machine wall time swings by half from
                 one run to the next with what other tenants do.
  --jobs 1 / 2   the real CLI in a fresh process each. Goal: --jobs 2 at least 1.6x faster.
                 Taken in rounds, a run of each back to back (which goes first alternates);
                 the speed-up is the median of the rounds' ratios. The machine's speed
                 swings from one minute to the next as well, so the best --jobs 1 and the
                 best --jobs 2 may come from different spells; and a tenant that takes one of
                 two cores for a while slows --jobs 2 and leaves --jobs 1 as it was.
  two halves     two fresh CLI processes at once, each linting half the file: what two
                 processes get from this machine with no coordination at all, a baseline for
                 --jobs 2's speed-up (each pays its own start-up and reads the whole store, so
                 --jobs 2, which reads it once between them, can beat it).
  peak memory    of the CLI's process tree (all workers together). Goal: under 1 GB.
  small file     `lineage lint` on a 1,000-example file in a fresh process, against the same
                 store. Goal: under 0.5 s wall, import time included.

    python benchmarks/lint_bench.py                    # 1,000,000 examples
    python benchmarks/lint_bench.py --examples 200000
    python benchmarks/lint_bench.py --rounds 9        # more CLI rounds on a busy machine
"""

from __future__ import annotations

import argparse
import compileall
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

import orjson

import lineage
from lineage.fingerprints import fingerprint
from lineage.importers import ImportRequest, import_paths
from lineage.linting import lint
from lineage.segments import extract_segments
from lineage.store import Store

WORDS = [
    *["model", "data", "answer", "question", "policy", "source", "licence", "terms", "output", "prompt", "example"],
    *["dataset", "lineage", "record", "provider", "channel", "version", "origin", "segment", "role", "store", "batch"],
]
# Five sources; the first breaches the default use context (a commercial fine-tune).
SOURCES = [
    {"provider": "anthropic", "model": "claude-sonnet-4-5"},
    {"provider": "openai", "model": "gpt-4o"},
    {"kind": "open-model", "model": "meta-llama/Llama-3.1-8B-Instruct"},
    {"kind": "dataset", "name": "open-answers", "license": "CC-BY-4.0"},
    {"kind": "human", "name": "staff"},
]
SYSTEMS = [f"You are assistant number {n}. Answer briefly and cite sources." for n in range(5)]


def example(i: int) -> dict:
    words = " ".join(WORDS[(i * 7 + k) % len(WORDS)] for k in range(12))
    return {
        "messages": [
            {"role": "system", "content": SYSTEMS[i % 5]},
            {"role": "user", "content": f"Question {i}: what about {words}?"},
            {"role": "assistant", "content": f"Answer {i}. The {words} matter because of {i % 97}."},
        ]
    }


def make_data(folder: Path, examples: int) -> tuple[Path, list[Path]]:
    """The dataset, and one file per source holding that source's assistant turns."""
    data = folder / "train.jsonl"
    parts = [folder / f"source{n}.jsonl" for n in range(len(SOURCES))]
    handles = [p.open("wb") for p in parts]
    with data.open("wb") as out:
        for i in range(examples):
            record = example(i)
            line = orjson.dumps(record) + b"\n"
            out.write(line)
            answer = record["messages"][2]["content"]
            handles[i % len(SOURCES)].write(orjson.dumps({"text": answer}) + b"\n")
    for handle in handles:
        handle.close()
    return data, parts


def fill_store(url: str, parts: list[Path]) -> None:
    store = Store.open(url, create=True)
    when = datetime(2025, 6, 1, tzinfo=timezone.utc)
    for fields, part in zip(SOURCES, parts, strict=True):
        import_paths(store, [part], ImportRequest(source=fields, generated_at=when))
    store.close()


def cpu_seconds(work: Callable[[], object]) -> float:
    """CPU time of `work` in this process. On a shared machine wall time also counts what other
    tenants take, which swings from run to run; the CPU time of single-threaded work does not."""
    start = time.process_time()
    work()
    return time.process_time() - start


def floor(data: Path) -> None:
    with data.open("rb") as handle:
        for line in handle:
            for message in orjson.loads(line)["messages"]:
                fingerprint(message["content"])


def extract_floor(data: Path) -> None:
    """The floor with the library's layout-independent segment extraction instead of the plain
    loop's `messages[i]["content"]`: what is left above it is lint's own work."""
    with data.open("rb") as handle:
        for line in handle:
            for segment in extract_segments(orjson.loads(line)):
                fingerprint(segment.text)


def _tree_rss(pid: int) -> int:
    """Resident memory of a process and its descendants, in bytes (Linux /proc)."""
    total = 0
    stack = [pid]
    while stack:
        current = stack.pop()
        try:
            with open(f"/proc/{current}/status") as handle:
                for line in handle:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as handle:
                    stack += [int(child) for child in handle.read().split()]
        except (OSError, ValueError):
            continue
    return total


def run_cli(args: list[str], cwd: Path) -> tuple[float, int, int]:
    """(wall seconds, exit code, peak resident memory of the process tree in bytes)."""
    env = {**os.environ, "LINEAGE_STORE": str(cwd / "lineage.db")}
    start = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "lineage", "lint", *args], cwd=cwd, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _tree_rss(process.pid))
            done.wait(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, err = process.communicate()
    elapsed = time.perf_counter() - start
    done.set()
    sampler.join()
    if process.returncode not in (0, 1):
        raise SystemExit(f"lineage lint failed ({process.returncode}): {err.decode()[-2000:]}")
    return elapsed, process.returncode, peak


def run_halves(halves: list[Path], cwd: Path) -> float:
    """Wall seconds for two CLI processes at once, one per half of the dataset."""
    env = {**os.environ, "LINEAGE_STORE": str(cwd / "lineage.db")}
    start = time.perf_counter()
    processes = [
        subprocess.Popen([sys.executable, "-m", "lineage", "lint", str(half), "--statistics"], cwd=cwd, env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for half in halves
    ]
    outcomes = [(process, process.communicate()[1]) for process in processes]
    elapsed = time.perf_counter() - start
    for process, err in outcomes:
        if process.returncode not in (0, 1):
            raise SystemExit(f"lineage lint failed ({process.returncode}): {err.decode()[-2000:]}")
    return elapsed


def split_halves(data: Path, examples: int) -> list[Path]:
    halves = [data.with_name("half1.jsonl"), data.with_name("half2.jsonl")]
    with data.open("rb") as source, halves[0].open("wb") as first, halves[1].open("wb") as second:
        for n, line in enumerate(source):
            (first if n < examples // 2 else second).write(line)
    return halves


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--examples", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each in-process timing; the best counts")
    parser.add_argument("--rounds", type=int, default=5,
                        help="rounds of the CLI timings (--jobs 1 and 2 back to back, then two halves)")
    parser.add_argument("--ratio-goal", type=float, default=1.5)
    parser.add_argument("--speedup-goal", type=float, default=1.6)
    parser.add_argument("--memory-goal", type=float, default=1024, help="MiB")
    parser.add_argument("--small-goal", type=float, default=0.5, help="seconds")
    args = parser.parse_args()
    if args.repeat < 1 or args.rounds < 1:
        parser.error("--repeat and --rounds must be at least 1")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        data, parts = make_data(folder, args.examples)
        fill_store(str(folder / "lineage.db"), parts)
        small = folder / "small.jsonl"
        with data.open("rb") as source, small.open("wb") as out:
            for _ in range(1000):
                out.write(source.readline())
        halves = split_halves(data, args.examples)
        size = data.stat().st_size / 2**20
        print(f"dataset: {args.examples:,} examples, {3 * args.examples:,} segments, {size:.0f} MiB; "
              f"store: {args.examples:,} origins from {len(SOURCES)} sources")
        data.read_bytes()  # a warm page cache for both sides

        floors, extract_floors, ours = [], [], []
        reports = []
        store = str(folder / "lineage.db")
        for _ in range(args.repeat):
            floors.append(cpu_seconds(lambda: floor(data)))
            extract_floors.append(cpu_seconds(lambda: extract_floor(data)))
            ours.append(cpu_seconds(lambda: reports.append(lint([str(data)], store=store))))
        report = reports[-1]
        expected_blocked = len(range(0, args.examples, len(SOURCES)))
        if report.summary()["blocked"] != expected_blocked:
            print(f"error: {report.summary()['blocked']} blocked, expected {expected_blocked}", file=sys.stderr)
            return 2
        floor_time, one = min(floors), min(ours)
        ratio = one / floor_time

        # Bytecode as any installed package has it (pip compiles on install, and Python caches it
        # on first import unless PYTHONDONTWRITEBYTECODE is set, as it may be on CI machines).
        compileall.compile_dir(str(Path(lineage.__file__).parent), quiet=1)
        # Taken in rounds, the two runs of a round back to back (in turns, which goes first), so
        # that both see the same spell of a busy or a quiet machine; the speed-up is each round's
        # ratio, and the goal is judged on their median.
        runs1, runs2, pairs = [], [], []
        for n in range(args.rounds):
            one_job = [str(data), "--statistics", "--jobs", "1"]
            two_jobs = [str(data), "--statistics", "--jobs", "2"]
            if n % 2:
                runs2.append(run_cli(two_jobs, folder))
                runs1.append(run_cli(one_job, folder))
            else:
                runs1.append(run_cli(one_job, folder))
                runs2.append(run_cli(two_jobs, folder))
            pairs.append(run_halves(halves, folder))
        jobs1, jobs2 = min(runs1), min(runs2)
        round_speedups = [a[0] / b[0] for a, b in zip(runs1, runs2, strict=True)]
        speedup = statistics.median(round_speedups)
        # The same median for the two independent halves (named for what it was thought to be:
        # the most two processes can get; --jobs 2 reads the store once between them, and can beat it).
        ceiling = statistics.median(a[0] / pair for a, pair in zip(runs1, pairs, strict=True))
        peak = max(run[2] for run in runs1 + runs2) / 2**20
        smalls = [run_cli([str(small)], folder)[0] for _ in range(5)]
        small_time = min(smalls)

        print(f"best of {args.repeat} runs each in this process, of {args.rounds} rounds of the CLI")
        print(f"floor (orjson parse + fingerprint):   {floor_time:7.2f} s  {args.examples / floor_time:>10,.0f} examples/s (CPU)")
        print(f"lineage.lint, one process:            {one:7.2f} s  {args.examples / one:>10,.0f} examples/s (CPU)")
        print(f"ratio against the floor:              {ratio:7.2f}    (goal <= {args.ratio_goal})")
        print(f"ratio against parse + extract_segments + fingerprint: {one / min(extract_floors):.2f}")
        print(f"lineage lint --jobs 1 (fresh process): {jobs1[0]:6.2f} s  {args.examples / jobs1[0]:>10,.0f} examples/s")
        print(f"lineage lint --jobs 2 (fresh process): {jobs2[0]:6.2f} s  {args.examples / jobs2[0]:>10,.0f} examples/s")
        print(f"two lints of half the file at once:    {min(pairs):6.2f} s  (best of the rounds)")
        print(f"--jobs 2 speed-up per round:          {', '.join(f'{r:.2f}' for r in round_speedups)}")
        print(f"--jobs 2 speed-up:                    {speedup:7.2f}x   (median of the rounds; goal >= "
              f"{args.speedup_goal}; two independent half-file lints: {ceiling:.2f}x; best against best: "
              f"{jobs1[0] / jobs2[0]:.2f}x)")
        print(f"peak memory (process tree):           {peak:7.0f} MiB  (goal < {args.memory_goal:.0f})")
        print(f"lineage lint, 1,000 examples:         {small_time:7.2f} s    (goal < {args.small_goal}; "
              f"runs: {', '.join(f'{t:.2f}' for t in smalls)})")
        met = (
            ratio <= args.ratio_goal and speedup >= args.speedup_goal
            and peak < args.memory_goal and small_time < args.small_goal
        )
        print("all goals met" if met else "GOAL MISSED")
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
