"""Lint's columnar path: plain chat rows judged a block at a time from their Arrow columns.

Rows of the commonest shape of all, `{"messages": [{"role": ..., "content": ...}, ...]}` with no
column that carries provenance or reasoning, need no per-row Python: the texts come from the
Arrow column, each distinct text is fingerprinted once and looked up once, and verdicts and
counts come from integer arrays. Only the examples that produce a finding, or that hold a text
recorded from several sources, go through the row path's own judging code, so the report is the
one the row path gives for the same rows (a test compares them whole).

`lint_chat` returns False, having changed nothing, for a block of any other shape, and for one
where a text may open with a `<think>` trace; the caller then reads the block as records.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lineage.blocks import Rows
from lineage.fingerprints import fingerprint
from lineage.readers import Record
from lineage.segments import _CHAT_FIELDS, _REASONING_SET, _SPEAKER_ROLES, COMPLETION_ROLES

if TYPE_CHECKING:
    from lineage.linting.linter import Linter, _Judge
    from lineage.report.model import FileSummary

_STRINGS = (pa.string(), pa.large_string())
# Not an origin key nor a handle: a fingerprint with no recorded origin.
_NONE = np.iinfo(np.int64).min
# First bytes after which a text can neither be blank nor open a <think> trace: printable ASCII
# other than "<". Texts starting otherwise are checked one by one.
_PLAIN_FIRST = np.zeros(256, dtype=bool)
_PLAIN_FIRST[0x21:0x7F] = True
_PLAIN_FIRST[ord("<")] = False


class _Chat:
    """The messages of a block: per example a run of messages, per message a speaker and a text."""

    def __init__(self, table: Any, excluded: frozenset[str]) -> None:
        self.ok = False
        names = table.schema.names
        if "messages" not in names or not excluded.isdisjoint(names) or not _REASONING_SET.isdisjoint(names):
            return
        column = table.column("messages")
        if isinstance(column, pa.ChunkedArray):
            column = column.combine_chunks()
        kind = column.type
        if not (pa.types.is_list(kind) or pa.types.is_large_list(kind)) or column.null_count:
            return
        item = kind.value_type
        if not pa.types.is_struct(item) or sorted(f.name for f in item) != ["content", "role"]:
            return
        if any(f.type not in _STRINGS for f in item):
            return
        offsets = column.offsets.to_numpy()
        self.offsets = offsets - offsets[0]
        lengths = np.diff(self.offsets)
        if len(lengths) and lengths.max() > len(_CHAT_FIELDS):
            return
        messages = column.flatten()
        if messages.null_count:
            return
        fields = dict(zip((f.name for f in item), messages.flatten(), strict=True))
        speakers, texts = fields["role"], fields["content"]
        if speakers.null_count or texts.null_count:
            return
        encoded = speakers.dictionary_encode()
        roles = [_SPEAKER_ROLES.get(s) for s in encoded.dictionary.to_pylist()]
        if None in roles:
            return
        self.roles: list[str] = roles  # type: ignore[assignment]
        self.speaker = encoded.indices.to_numpy()
        self.lengths = lengths
        self.texts = texts
        self.ok = True


def lint_chat(linter: Linter, rows: Rows, judge: _Judge, summary: FileSummary) -> bool:
    """Judge a block of plain chat rows into the linter's report; False if the block is not one."""
    chat = _Chat(rows.table, linter.excluded_columns)
    if not chat.ok:
        return False
    # Each distinct text once: a dataset repeats its system prompts in every example.
    encoded = chat.texts.dictionary_encode()
    unique = encoded.dictionary
    which = encoded.indices.to_numpy()
    blank = _blank(unique)
    if blank is None:
        return False
    texts = unique.to_pylist()
    fps = [fingerprint(t) for t in texts]
    index = linter.index
    if index is None:
        found: dict[bytes, int] = {}
    elif index.everything is not None:
        found = index.everything
    else:
        found = index.find({fp for fp, b in zip(fps, blank) if not b})  # noqa: B905
    get = found.get
    keys = np.array([get(fp, _NONE) for fp in fps], dtype=np.int64)
    keys[blank] = _NONE

    rules = judge.rules
    completion_roles = np.array([r in COMPLETION_ROLES for r in chat.roles], dtype=bool)
    message_keys = keys[which]
    kept = ~blank[which]
    completion = completion_roles[chat.speaker]
    example = np.repeat(np.arange(len(chat.lengths)), chat.lengths)
    has_origin = message_keys != _NONE
    tracked = kept & has_origin
    untracked = kept & ~has_origin & (completion | rules.all_segments)
    several = tracked & (message_keys < 0)
    single = tracked & ~several

    # Outcomes in the order the row path meets them, so that the report lists sources alike.
    distinct, first = np.unique(message_keys[tracked], return_index=True)
    outcomes = judge.outcomes
    for value in distinct[np.argsort(first)].tolist():
        for key in index.keys(value) if index is not None else (value,):
            if key not in outcomes:
                linter._outcome(judge, key)
    single_keys = np.unique(message_keys[single])
    outcome_list = [outcomes[k] for k in single_keys.tolist()]
    where = np.searchsorted(single_keys, message_keys[single])
    noisy = np.array([bool(o.findings) for o in outcome_list], dtype=bool)
    binding = np.array([o.obligations for o in outcome_list], dtype=bool)

    examples = len(chat.lengths)
    flagged_segment = several.copy()
    if len(outcome_list):
        flagged_segment[single] = noisy[where]
    flagged = np.bincount(example[flagged_segment], minlength=examples) > 0
    untracked_count = np.bincount(example[untracked], minlength=examples)
    reported = _untracked_severity(rules) is not None
    if reported:
        flagged |= untracked_count > 0

    # Everything not flagged is counted here, in bulk.
    quiet = ~flagged[example]
    report = linter.report
    report.segments += int(np.count_nonzero(kept & quiet))
    report.segments_tracked += int(np.count_nonzero(tracked & quiet))
    report.segments_untracked += int(np.count_nonzero(untracked & quiet))
    quiet_single = quiet[single]
    if len(outcome_list):
        chosen = where[quiet_single]
        for n, count in enumerate(np.bincount(chosen, minlength=len(outcome_list)).tolist()):
            if count:
                outcome_list[n].use.segments += count
        _count_examples(outcome_list, example[single][quiet_single], chosen)
        obliged = np.bincount(example[single][quiet_single][binding[chosen]], minlength=examples) > 0
    else:
        obliged = np.zeros(examples, dtype=bool)
    calm = ~flagged
    verdicts = {
        "untracked": int(np.count_nonzero(calm & (untracked_count > 0))),
        "allowed-with-obligations": int(np.count_nonzero(calm & (untracked_count == 0) & obliged)),
    }
    verdicts["allowed"] = int(np.count_nonzero(calm)) - sum(verdicts.values())
    for verdict, count in verdicts.items():
        if count:
            summary.verdicts[verdict] += count
            report.verdicts[verdict] += count
    summary.examples += int(np.count_nonzero(calm))

    # The rest, one by one, through the row path.
    loud = np.flatnonzero(flagged).tolist()
    if loud:
        items = []
        offsets = chat.offsets.tolist()
        speaker, text_of, empty = chat.speaker.tolist(), which.tolist(), blank.tolist()
        names = chat.roles
        for e in loud:
            start, end = offsets[e], offsets[e + 1]
            segments, example_fps = [], []
            for i in range(start, end):
                u = text_of[i]
                if not empty[u]:
                    segments.append((names[speaker[i]], texts[u], _CHAT_FIELDS[i - start]))
                    example_fps.append(fps[u])
            items.append((Record(rows.path, rows.first + e, None, rows.split), segments, example_fps, None, None))
        linter._judge_examples((items, found), judge, summary, 0)
    return True


def _untracked_severity(rules: Any) -> str | None:
    from lineage.linting.linter import _SEVERITY, UNTRACKED

    return _SEVERITY.get(rules.untracked) if rules.codes.keeps(UNTRACKED) else None


def _blank(texts: Any) -> np.ndarray | None:
    """Per text, whether it is blank (the row path skips those); None if one may open a <think>
    trace, which only the row path splits."""
    blank = np.zeros(len(texts), dtype=bool)
    if not len(texts):
        return blank
    buffers = texts.buffers()
    width = np.int64 if texts.type == pa.large_string() else np.int32
    bounds = np.frombuffer(buffers[1], dtype=width)[texts.offset : texts.offset + len(texts) + 1]
    data = np.frombuffer(buffers[2], dtype=np.uint8) if buffers[2] is not None and buffers[2].size else None
    if data is None:
        return ~blank  # every text is empty
    starts = bounds[:-1]
    lengths = np.diff(bounds)
    first = data[np.minimum(starts, len(data) - 1)]
    odd = np.flatnonzero(~(_PLAIN_FIRST[first] & (lengths > 0)))
    if len(odd):
        for i, text in zip(odd.tolist(), pc.take(texts, pa.array(odd)).to_pylist(), strict=True):
            if not text or text.isspace():
                blank[i] = True
            elif text[0] == "<" or text[0].isspace():
                return None
    return blank


def _count_examples(outcomes: list[Any], example: np.ndarray, chosen: np.ndarray) -> None:
    """Add to each source's example count the examples that used it (once each, whatever the
    number of their segments it produced)."""
    if not len(example):
        return
    uses: dict[int, int] = {}
    position = [uses.setdefault(id(o.use), len(uses)) for o in outcomes]
    objects = {id(o.use): o.use for o in outcomes}
    use_of = np.array(position, dtype=np.int64)[chosen]
    pairs = np.unique(example.astype(np.int64) * len(uses) + use_of)
    counts = np.bincount(pairs % len(uses), minlength=len(uses)).tolist()
    for ident, n in uses.items():
        objects[ident].examples += counts[n]
