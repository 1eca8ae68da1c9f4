"""Record outputs as they are generated.

    store = lineage.open_store()
    with store.capture(provider="anthropic", model="claude-sonnet-4-5") as run:
        run.record(answer_text)                 # one completion
        run.record(example={"messages": [...]})  # every completion-side segment of an example

Records are buffered and written in batches, each batch in its own transaction, so a crash
loses at most the last unwritten batch and never leaves a half-written one.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, update

from lineage import __version__
from lineage.exceptions import UsageError
from lineage.fingerprints import FINGERPRINT_SIZE, parse_fingerprint
from lineage.fingerprints import fingerprint as fingerprint_of
from lineage.segments import ROLES, Segment, extract_segments, split_think
from lineage.sources import SourceSpec
from lineage.store.schema import CaptureRunRow, utcnow
from lineage.store.writes import OriginWriter, SourceIds

if TYPE_CHECKING:
    from lineage.store.store import Store


@dataclass(frozen=True, slots=True)
class _Pending:
    fingerprint: bytes
    source: SourceSpec
    role: str
    generated_at: datetime
    parents: tuple[bytes, ...]
    external_id: str | None
    text: str | None


class CaptureRun:
    """A run of generation whose outputs are recorded in the store."""

    def __init__(
        self,
        store: Store,
        source: SourceSpec | None = None,
        *,
        description: str | None = None,
        prompt_source: SourceSpec | None = None,
        store_text: bool = False,
        batch_size: int = 1000,
        allow_unknown_provider: bool = False,
    ) -> None:
        self.store = store
        self.source = source
        self.prompt_source = prompt_source
        self.description = description or (source.label() if source else "capture")
        self.store_text = store_text
        self.batch_size = batch_size
        self.run_id: int | None = None
        self.recorded = 0
        self.added = 0
        self._pending: list[_Pending] = []
        # SDK wrappers may be used from several threads at once.
        self._lock = threading.Lock()
        self._closed = False
        # Names are checked as at import (lineage.policy.names), once per source.
        self._allow_unknown = allow_unknown_provider
        self._names: Any = None
        self._checked: set[str] = set()

    def __enter__(self) -> CaptureRun:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _check_names(self, source: SourceSpec) -> None:
        """Refuse a provider the policy pack does not know, or a model under another maker's
        name, before anything of it is recorded (unless the run allows unknown providers)."""
        if self._allow_unknown or not source.provider or source.key in self._checked:
            return
        from lineage.policy.names import NameCheck, check_source_names

        if self._names is None:
            from lineage.config import find_config
            from lineage.policy import load_pack

            self._names = NameCheck(load_pack(find_config().resolved_list("policies")))
        check_source_names(self._names, provider=source.provider, model=source.model, where="capture")
        self._checked.add(source.key)

    def record(
        self,
        text: str | None = None,
        *,
        example: Mapping[str, Any] | None = None,
        role: str = "assistant",
        generated_at: datetime | None = None,
        source: SourceSpec | None = None,
        parents: Iterable[bytes | str] = (),
        request_id: str | None = None,
        layout: str | None = None,
        mapping: Mapping[str, str] | None = None,
    ) -> list[bytes]:
        """Record one output (`text`) or the segments of a whole training example.

        For an example, completion-side segments go to the source and prompt-side ones to the
        run's prompt source, if it has one. `parents` are fingerprints (bytes or hex) of what
        this text was derived from. Returns the fingerprints recorded.
        """
        if self._closed:
            raise UsageError("this capture run is closed", fix="start a new one with store.capture(...)")
        if (text is None) == (example is None):
            raise UsageError("record() takes either text or example=, not both or neither")
        source = source or self.source
        if source is None:
            raise UsageError("no source to record against", fix="pass source= or start the run with one")
        if role not in ROLES:
            raise UsageError(f"unknown role {role!r}", fix=f"use one of {', '.join(sorted(ROLES))}")
        self._check_names(source)
        if example is not None and self.prompt_source is not None:
            self._check_names(self.prompt_source)
        when = generated_at or datetime.now(timezone.utc)
        parent_fps = tuple(_parent(p) for p in parents)
        if text is not None:
            # A leading <think>...</think> is split off as in imports, so a captured R1-style
            # answer has the same fingerprints as the same answer read from a dataset file.
            items = [(s.role, s.text, source) for s in split_think([Segment(role, text, "text")])]
        else:
            items = []
            for segment in extract_segments(example, layout=layout, mapping=mapping):  # type: ignore[arg-type]
                owner = source if segment.side == "completion" else self.prompt_source
                if owner is not None:
                    items.append((segment.role, segment.text, owner))
        recorded = []
        with self._lock:
            for item_role, item_text, owner in items:
                if not item_text.strip():
                    continue
                fp = fingerprint_of(item_text)
                self._pending.append(
                    _Pending(
                        fp, owner, item_role, when, parent_fps, request_id, item_text if self.store_text else None
                    )
                )
                recorded.append(fp)
            self.recorded += len(recorded)
            if len(self._pending) >= self.batch_size:
                self._flush_locked()
        return recorded

    def flush(self) -> None:
        """Write what is buffered now."""
        with self._lock:
            self._flush_locked()

    def close(self) -> None:
        """Write what is left and mark the run finished. Safe to call twice."""
        with self._lock:
            if self._closed:
                return
            self._flush_locked(finish=True)
            self._closed = True

    def _flush_locked(self, *, finish: bool = False) -> None:
        if not self._pending and not (finish and self.run_id is not None):
            return
        pending = self._pending

        def write(conn: Connection) -> tuple[int, int]:
            run_id = self.run_id if self.run_id is not None else _start_run(conn, self.description)
            added = 0
            if pending:
                source_ids = SourceIds(conn)
                writer = OriginWriter(conn, run_id)
                for item in pending:
                    writer.add(
                        item.fingerprint,
                        source_ids(item.source),
                        item.role,
                        item.generated_at,
                        parents=item.parents,
                        external_id=item.external_id,
                        text=item.text,
                    )
                writer.flush()
                added = writer.added
            table = CaptureRunRow.__table__
            values: dict[str, Any] = {
                "segments_seen": table.c.segments_seen + len(pending),
                "origins_added": table.c.origins_added + added,
            }
            if finish:
                values["finished_at"] = utcnow()
            conn.execute(update(table).where(table.c.id == run_id).values(**values))
            return run_id, added

        self.run_id, added = self.store.write(write)
        self.added += added
        self._pending = []


def _parent(value: bytes | str) -> bytes:
    """A parent fingerprint given as 32 bytes or 64 hex characters."""
    if isinstance(value, bytes) and len(value) == FINGERPRINT_SIZE:
        return value
    if isinstance(value, str):
        try:
            return parse_fingerprint(value)
        except ValueError:
            pass
    raise UsageError(
        f"a parent must be a fingerprint (32 bytes or 64 hex characters), got {value!r:.80}",
        fix="pass lineage.fingerprint(text) or its .hex()",
    )


def _start_run(conn: Connection, description: str) -> int:
    table = CaptureRunRow.__table__
    result = conn.execute(
        table.insert().values(kind="capture", description=description, tool_version=__version__, started_at=utcnow())
    )
    return result.inserted_primary_key[0]
