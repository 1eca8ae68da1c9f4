"""Import throughput against a floor measured in the same run.

Writes a synthetic chat dataset (user prompt + assistant answer per record), imports it through
the same code path `lineage import` uses (`lineage.importers.import_paths`), and compares with two
floors on the same machine, same store schema and same SQLite settings:

  parse+hash+insert  read the file with orjson, fingerprint both texts, and insert the same rows
                     with plain sqlite3 executemany in one transaction: the least work any import
                     of this file must do. Goal: ratio <= 1.5.
  insert only        plain sqlite3 executemany of the same, already built rows.

With a PostgreSQL URL (--pg or LINEAGE_TEST_PG_URL), the same import into PostgreSQL is timed too.

    python benchmarks/import_bench.py                  # 1,000,000 segments
    python benchmarks/import_bench.py --segments 200000
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sqlite3
import sys
import tempfile
import time
import unicodedata
import uuid
from pathlib import Path

import orjson

from lineage.importers import ImportRequest, import_paths
from lineage.importers.base import ImportOptions
from lineage.sources import SourceSpec
from lineage.store import Store

WORDS = [
    *["model", "data", "answer", "question", "policy", "source", "licence", "terms", "output", "prompt", "example", "train", "fine", "tune"],
    *["dataset", "lineage", "record", "provider", "channel", "version", "origin", "segment", "role", "store", "batch", "import"],
]


def make_dataset(path: Path, records: int) -> None:
    with path.open("wb") as handle:
        for i in range(records):
            words = " ".join(WORDS[(i * 7 + k) % len(WORDS)] for k in range(12))
            record = {
                "messages": [
                    {"role": "user", "content": f"Question {i}: what about {words}?"},
                    {"role": "assistant", "content": f"Answer {i}. The {words} matter because of {i % 97}."},
                ]
            }
            handle.write(orjson.dumps(record) + b"\n")


def fingerprint(text: str) -> bytes:
    if not text.isascii():
        text = unicodedata.normalize("NFC", text)
    return hashlib.sha256(" ".join(text.split()).encode()).digest()


def floor_rows(path: Path, answer_source: int, prompt_source: int, run_id: int) -> list[tuple]:
    rows = []
    with path.open("rb") as handle:
        for line in handle:
            messages = orjson.loads(line)["messages"]
            rows.append((fingerprint(messages[0]["content"]), prompt_source, None, "user", run_id, None, None, None))
            rows.append((fingerprint(messages[1]["content"]), answer_source, None, "assistant", run_id, None, None, None))
    return rows


def prepare_floor_store(path: Path) -> sqlite3.Connection:
    """A store with the real schema, opened with plain sqlite3 and the store's own settings."""
    Store.open(str(path), create=True).close()
    conn = sqlite3.connect(path, isolation_level=None)
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", "cache_size=-65536"):
        conn.execute(f"PRAGMA {pragma}")
    conn.execute("BEGIN IMMEDIATE")
    for i, (kind, name) in enumerate((("api", "claude"), ("human", "staff")), start=1):
        conn.execute(
            "INSERT INTO lineage_sources (id, key, kind, name, created_at) VALUES (?, ?, ?, ?, '2025-01-01')",
            (i, f"{kind}|{name}", kind, name),
        )
    conn.execute(
        "INSERT INTO lineage_capture_runs (id, kind, tool_version, started_at, segments_seen, origins_added, "
        "records_skipped) VALUES (1, 'import', 'floor', '2025-01-01', 0, 0, 0)"
    )
    conn.execute("COMMIT")
    return conn


INSERT = (
    "INSERT INTO lineage_origins (fingerprint, source_id, generated_at, role, run_id, parents, external_id, text) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (fingerprint, source_id) DO NOTHING"
)


def time_floor(data: Path, store_path: Path) -> tuple[float, float]:
    """(parse+hash+insert seconds, insert-only seconds)."""
    conn = prepare_floor_store(store_path)
    start = time.perf_counter()
    rows = floor_rows(data, 1, 2, 1)
    conn.execute("BEGIN IMMEDIATE")
    conn.executemany(INSERT, rows)
    conn.execute("COMMIT")
    full = time.perf_counter() - start
    conn.close()

    conn = prepare_floor_store(store_path.with_name("floor-insert.db"))
    conn.execute("BEGIN IMMEDIATE")
    start = time.perf_counter()
    conn.executemany(INSERT, rows)
    conn.execute("COMMIT")
    insert_only = time.perf_counter() - start
    conn.close()
    return full, insert_only


def time_import(data: Path, url: str) -> tuple[float, int]:
    store = Store.open(url, create=True)
    request = ImportRequest(
        source={"provider": "anthropic", "model": "claude-sonnet-4-5"},
        options=ImportOptions(prompt_source=SourceSpec.build(kind="human", name="staff")),
    )
    start = time.perf_counter()
    result = import_paths(store, [data], request)
    elapsed = time.perf_counter() - start
    store.close()
    return elapsed, result.origins_added


def pg_schema_url(base: str) -> tuple[str, str]:
    from sqlalchemy import create_engine, text

    schema = f"lineage_bench_{uuid.uuid4().hex[:8]}"
    engine = create_engine(base)
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    separator = "&" if "?" in base else "?"
    return f"{base}{separator}options=-csearch_path%3D{schema}", schema


def drop_pg_schema(base: str, schema: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(base)
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--segments", type=int, default=1_000_000, help="segments to import (two per record)")
    parser.add_argument("--pg", default=os.environ.get("LINEAGE_TEST_PG_URL"), help="PostgreSQL URL to time too")
    parser.add_argument("--goal", type=float, default=1.5, help="largest acceptable ratio against the floor")
    parser.add_argument("--repeat", type=int, default=2, help="runs of each measurement; the best counts")
    args = parser.parse_args()
    records = args.segments // 2
    segments = records * 2
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        data = folder / "synthetic.jsonl"
        make_dataset(data, records)
        size = data.stat().st_size / 2**20
        print(f"dataset: {records:,} records, {segments:,} segments, {size:.0f} MiB")

        # Read the file once so that neither side pays for a cold page cache.
        data.read_bytes()
        floors, inserts, runs = [], [], []
        for attempt in range(args.repeat):
            run_dir = folder / f"run{attempt}"
            run_dir.mkdir()
            floor_time, insert_time = time_floor(data, run_dir / "floor.db")
            ours_time, added = time_import(data, str(run_dir / "lineage.db"))
            if added != segments:
                print(f"error: the import added {added} origins, expected {segments}", file=sys.stderr)
                return 2
            floors.append(floor_time)
            inserts.append(insert_time)
            runs.append(ours_time)
        floor, insert_only, ours = min(floors), min(inserts), min(runs)
        ratio = ours / floor
        print(f"best of {args.repeat} runs each")
        print(f"floor (parse+hash+sqlite3 executemany): {floor:7.2f} s  {segments / floor:>10,.0f} segments/s")
        print(f"floor (sqlite3 executemany only):       {insert_only:7.2f} s  {segments / insert_only:>10,.0f} segments/s")
        print(f"lineage import, SQLite:                 {ours:7.2f} s  {segments / ours:>10,.0f} segments/s")
        print(f"ratio against parse+hash+insert floor:  {ratio:.2f}  (goal <= {args.goal})")
        print(f"ratio against insert-only floor:        {ours / insert_only:.2f}")

        if args.pg:
            url, schema = pg_schema_url(args.pg)
            try:
                pg_time, pg_added = time_import(data, url)
            finally:
                drop_pg_schema(args.pg, schema)
            if pg_added != segments:
                print(f"error: the PostgreSQL import added {pg_added} origins, expected {segments}", file=sys.stderr)
                return 2
            print(f"lineage import, PostgreSQL:             {pg_time:7.2f} s  {segments / pg_time:>10,.0f} segments/s")
            print(f"PostgreSQL against the SQLite floor:    {pg_time / floor:.2f}")
        else:
            print("PostgreSQL: not timed (pass --pg URL or set LINEAGE_TEST_PG_URL)")
    return 0 if ratio <= args.goal else 1


if __name__ == "__main__":
    raise SystemExit(main())
