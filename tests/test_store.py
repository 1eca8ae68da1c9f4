"""The lineage store on SQLite and PostgreSQL: creation, versions, idempotent writes, reads."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import update

from lineage.exceptions import SchemaVersionError, StoreError, StoreNotFoundError
from lineage.fingerprints import fingerprint
from lineage.sources import SourceSpec
from lineage.store import Store
from lineage.store.schema import SCHEMA_VERSION, StoreMeta

CLAUDE = SourceSpec.build(provider="anthropic", model="claude-sonnet-4-5")
LLAMA = SourceSpec.build(kind="open-model", provider="meta", model="Llama-3.1-8B-Instruct", license="LicenseRef-llama3.1")


def test_open_missing_sqlite_store_names_the_fix(tmp_path: Path) -> None:
    with pytest.raises(StoreNotFoundError) as caught:
        Store.open(str(tmp_path / "nope.db"))
    assert "lineage init" in caught.value.message
    assert str(tmp_path / "nope.db") in caught.value.message
    assert not (tmp_path / "nope.db").exists()


def test_create_then_reopen(store_url: str) -> None:
    Store.open(store_url, create=True).close()
    with Store.open(store_url) as reopened:
        assert reopened.stats()["schema_version"] == SCHEMA_VERSION
        assert reopened.sources() == []


def test_a_file_that_is_not_a_database_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "lineage.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError) as caught:
        Store.open(str(path))
    assert "not a lineage store, or a damaged one" in caught.value.message
    assert path.read_bytes() == b"this is not sqlite" * 100


def test_a_database_without_lineage_tables_is_not_taken_for_a_store(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("create table t (x)")
    with pytest.raises(StoreNotFoundError) as caught:
        Store.open(str(path))
    assert "no lineage tables" in caught.value.message


@pytest.mark.parametrize(("version", "words"), [(SCHEMA_VERSION + 1, "newer"), (0, "older")])
def test_schema_version_mismatch_is_a_clear_error(store_url: str, version: int, words: str) -> None:
    with Store.open(store_url, create=True) as created:
        table = StoreMeta.__table__
        created.write(
            lambda conn: conn.execute(
                update(table).where(table.c.key == "schema_version").values(value=str(version))
            )
        )
    with pytest.raises(SchemaVersionError) as caught:
        Store.open(store_url)
    assert f"schema version {version}" in caught.value.message
    assert words in caught.value.message


def test_recording_twice_adds_nothing_and_two_sources_keep_both(store: Store) -> None:
    with store.capture(CLAUDE) as run:
        run.record("The answer is 4.")
        run.record("The  answer is 4. ")  # same text once normalised
    with store.capture(CLAUDE) as again:
        again.record("The answer is 4.")
    with store.capture(LLAMA) as other:
        other.record("The answer is 4.")
    assert (run.added, again.added, other.added) == (1, 0, 1)
    counts = {s.source.model: s.segments for s in store.sources()}
    assert counts == {"claude-sonnet-4-5": 1, "Llama-3.1-8B-Instruct": 1}
    origins = store.lookup([fingerprint("The answer is 4.")])[fingerprint("The answer is 4.")]
    assert sorted(o.source.provider for o in origins) == ["anthropic", "meta"]
    assert store.stats()["distinct_fingerprints"] == 1


def test_origin_fields_round_trip(store: Store) -> None:
    when = datetime(2025, 3, 1, 12, 30, tzinfo=timezone.utc)
    parent = fingerprint("Le résultat est 4.")
    with store.capture(CLAUDE, store_text=True) as run:
        run.record("The answer is 4.", generated_at=when, parents=[parent], request_id="req_123", role="assistant")
    (origin,) = store.lookup([fingerprint("The answer is 4.")])[fingerprint("The answer is 4.")]
    assert origin.generated_at == when
    assert origin.parents == (parent,)
    assert origin.external_id == "req_123"
    assert origin.text == "The answer is 4."
    assert origin.source == CLAUDE
    info = store.run_info(origin.run_id)
    assert info is not None and info["kind"] == "capture" and info["origins_added"] == 1
    assert info["finished_at"] is not None


def test_text_is_not_stored_unless_asked(store: Store) -> None:
    with store.capture(CLAUDE) as run:
        run.record("private words")
    (origin,) = store.lookup([fingerprint("private words")])[fingerprint("private words")]
    assert origin.text is None


def test_times_with_other_zones_are_stored_in_utc(store: Store) -> None:
    from datetime import timedelta

    paris = timezone(timedelta(hours=1))
    with store.capture(CLAUDE) as run:
        run.record("x", generated_at=datetime(2025, 1, 1, 13, 0, tzinfo=paris))
    (origin,) = store.lookup([fingerprint("x")])[fingerprint("x")]
    assert origin.generated_at == datetime(2025, 1, 1, 12, 0, tzinfo=timezone.utc)


def test_lookup_is_bulk_and_reports_only_known(store: Store) -> None:
    texts = [f"answer number {i}" for i in range(1200)]
    with store.capture(CLAUDE) as run:
        for text in texts:
            run.record(text)
    wanted = [fingerprint(t) for t in texts[::3]] + [fingerprint("never recorded")]
    found = store.lookup(wanted)
    assert len(found) == 400
    assert fingerprint("never recorded") not in found


def test_capture_example_splits_prompt_and_completion(store: Store) -> None:
    human = SourceSpec.build(kind="human", name="annotators")
    example = {"messages": [{"role": "user", "content": "Hi?"}, {"role": "assistant", "content": "Hello!"}]}
    with store.capture(CLAUDE) as run:
        run.record(example=example)
    assert store.lookup([fingerprint("Hi?")]) == {}
    with store.capture(CLAUDE, prompt_source=human) as run:
        run.record(example=example)
    (prompt,) = store.lookup([fingerprint("Hi?")])[fingerprint("Hi?")]
    assert prompt.source == human and prompt.role == "user"
    (answer,) = store.lookup([fingerprint("Hello!")])[fingerprint("Hello!")]
    assert answer.source == CLAUDE and answer.role == "assistant"


def test_capture_flushes_in_batches(store: Store) -> None:
    run = store.capture(CLAUDE)
    run.batch_size = 10
    for i in range(25):
        run.record(f"line {i}")
    # Two full batches are already in the store before the run is closed.
    assert sum(s.segments for s in store.sources()) == 20
    run.close()
    assert sum(s.segments for s in store.sources()) == 25
    run.close()  # closing twice is harmless


def test_stats_counts(store: Store) -> None:
    with store.capture(CLAUDE) as run:
        run.record("a")
        run.record("b", role="reasoning")
    stats = store.stats()
    assert stats["origins"] == 2
    assert stats["sources"] == 1
    assert stats["capture_runs"] == 1
    assert stats["origins_by_role"] == {"assistant": 1, "reasoning": 1}
    assert stats["origins_by_kind"] == {"api": 2}


def test_captured_think_answer_matches_the_same_answer_imported(store: Store) -> None:
    from lineage.segments import extract_segments

    answer = "<think>Two and two make four.</think>The answer is 4."
    with store.capture(CLAUDE) as run:
        recorded = run.record(answer)
    imported = [s.fingerprint for s in extract_segments({"prompt": "2+2?", "completion": answer}) if s.side == "completion"]
    assert sorted(recorded) == sorted(imported)
    roles = {o.role for fp in recorded for o in store.lookup([fp])[fp]}
    assert roles == {"reasoning", "assistant"}


def test_capture_refuses_parents_that_are_not_fingerprints(store: Store) -> None:
    from lineage.exceptions import UsageError

    with store.capture(CLAUDE) as run:
        with pytest.raises(UsageError, match="parent must be a fingerprint"):
            run.record("x", parents=[b"abc"])
        with pytest.raises(UsageError, match="parent must be a fingerprint"):
            run.record("x", parents=["zz"])
        run.record("y", parents=[fingerprint("a").hex()])
    (origin,) = store.lookup([fingerprint("y")])[fingerprint("y")]
    assert origin.parents == (fingerprint("a"),)


@pytest.mark.postgres
def test_errors_on_the_drivers_own_cursor_reach_the_store_as_its_own(pg_url: str) -> None:
    """Bulk writes on PostgreSQL COPY through psycopg's cursor; a deadlock there must still be
    seen by the store's retry, and any other error become its one-line message."""
    from sqlalchemy.exc import DBAPIError

    from lineage.store.engine import is_busy
    from lineage.store.writes import driver_errors

    store = Store.open(pg_url, create=True)
    try:
        with store.engine.connect() as conn:
            cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
            with pytest.raises(DBAPIError) as caught, driver_errors(conn, "SELECT"):
                cursor.execute("DO $$ BEGIN RAISE EXCEPTION 'deadlock' USING ERRCODE = '40P01'; END $$")
        assert is_busy(caught.value)

        def failing(conn) -> None:  # type: ignore[no-untyped-def]
            cursor = conn.connection.dbapi_connection.cursor()
            with driver_errors(conn, "SELECT"):
                cursor.execute("SELECT 1/0")

        with pytest.raises(StoreError) as error:
            store.write(failing)
        assert "division by zero" in str(error.value)
    finally:
        store.close()
