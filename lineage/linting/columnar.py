"""Lint's columnar path: plain chat rows judged a block at a time from their Arrow columns.

Rows of the commonest shape of all, `{"messages": [{"role": ..., "content": ...}, ...]}` with no
column that carries provenance or reasoning, need no per-row Python: the texts come from the
Arrow column, each distinct text is fingerprinted once and looked up once, and verdicts and
counts come from integer arrays. Only the examples that produce a finding, or that hold a text
recorded from several sources, go through the row path's own judging code, so the report is the
one the row path gives for the same rows (a test compares them whole).

`lint_chat` returns False, having changed nothing, for a block of any other shape, and for one
where a text opens with a `<think>` trace; the caller then reads the block as records.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lineage.blocks import Rows
from lineage.fingerprints import fingerprint
from lineage.linting.linter import SELF_ID, Linter, _hits, _Judge, reported_untracked
from lineage.linting.preload import NONE as _NONE
from lineage.readers import Record
from lineage.report.model import FileSummary, LintFinding
from lineage.segments import (
    _CHAT_FIELDS,
    _REASONING_SET,
    _SPEAKER_ROLES,
    COMPLETION_ROLES,
    _starts_with_think,
)

_STRINGS = (pa.string(), pa.large_string())
# First bytes after which a text can neither be blank nor open a <think> trace: printable ASCII
# other than "<". Texts starting otherwise are checked one by one, in Python.
_PLAIN_FIRST = np.zeros(256, dtype=bool)
_PLAIN_FIRST[0x21:0x7F] = True
_PLAIN_FIRST[ord("<")] = False
# Bytes that fingerprint() may change: whitespace it folds (str.split's ASCII whitespace other than
# the space) and every byte of a character beyond ASCII, which may need Unicode normalisation.
_CHANGING = np.zeros(256, dtype=bool)
_CHANGING[[0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x1C, 0x1D, 0x1E, 0x1F]] = True
_CHANGING[0x80:] = True


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
        offsets = _numpy(column.offsets)
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
        self.speaker = _numpy(encoded.indices)
        self.lengths = lengths
        self.texts = texts
        self.ok = True


def _completions(chat: _Chat) -> pa.Array:
    """The block's completion texts (assistant turns and the like)."""
    completion = np.array([r in COMPLETION_ROLES for r in chat.roles], dtype=bool)[chat.speaker]
    return chat.texts.filter(_arrow_mask(completion))


def _claims_self(texts: pa.Array) -> bool:
    """Whether any of the texts names a model or its maker as its author: a fast pass over the
    column for the names (RE2), then the full patterns on the few that hold one."""
    from lineage.selfid import keyword_pattern, self_identification

    named = pc.match_substring_regex(texts, keyword_pattern(), ignore_case=True)
    if not pc.any(named).as_py():
        return False
    return any(self_identification(t) for t in texts.filter(named).to_pylist())


def _numpy(array: pa.Array) -> np.ndarray:
    """An integer Arrow array with no nulls as a numpy view of its buffer. Not `to_numpy()`,
    whose first call imports pandas: a fifth of a second in every worker process."""
    if array.null_count or not pa.types.is_integer(array.type):
        return array.to_numpy(zero_copy_only=False)
    dtype = np.dtype(f"{'int' if pa.types.is_signed_integer(array.type) else 'uint'}{array.type.bit_width}")
    return np.frombuffer(array.buffers()[1], dtype=dtype, count=len(array), offset=array.offset * dtype.itemsize)


def _arrow_mask(mask: np.ndarray) -> pa.Array:
    """A numpy bool array as an Arrow one. Not `pa.array(mask)`, which imports pandas to check
    whether it was given a pandas object (as `to_numpy()` does, see `_numpy`)."""
    bits = np.packbits(mask, bitorder="little")
    return pa.Array.from_buffers(pa.bool_(), len(mask), [None, pa.py_buffer(bits)])


def _arrow_indices(indices: np.ndarray) -> pa.Array:
    """Numpy indices as an Arrow int64 array, without `pa.array` (see `_arrow_mask`)."""
    values = np.ascontiguousarray(indices, dtype=np.int64)
    return pa.Array.from_buffers(pa.int64(), len(values), [None, pa.py_buffer(values)])


def lint_chat(linter: Linter, rows: Rows, judge: _Judge, summary: FileSummary) -> bool:
    """Judge a block of plain chat rows into the linter's report; False if the block is not one."""
    chat = _Chat(rows.table, linter.excluded_columns)
    if not chat.ok:
        return False
    # Each distinct text once: a dataset repeats its system prompts in every example.
    encoded = chat.texts.dictionary_encode()
    unique = encoded.dictionary
    if judge.rules.codes.keeps(SELF_ID) and _claims_self(_completions(chat)):
        return False  # the row path reports which rows name a provider (LIN011)
    which = _numpy(encoded.indices)
    hashed = _fingerprints(unique)
    if hashed is None:
        return False
    fps, blank = hashed
    index = linter.index
    if index is None:
        keys = np.full(len(fps), _NONE, dtype=np.int64)
    elif index.table is not None:
        keys = index.table.lookup(fps)
    else:
        probed = index.find({fp for fp, b in zip(fps, blank.tolist()) if not b})  # noqa: B905
        keys = np.array([probed.get(fp, _NONE) for fp in fps], dtype=np.int64)
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
    if linter.settings.near_threshold is not None and index is not None and (untracked & completion).any() \
            and index.has_sketches:
        return False  # the row path looks for recorded near-duplicates of the untracked completions
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
    untracked_count = np.bincount(example[untracked], minlength=examples)
    # Examples the row path judges: a text from several sources, or untracked segments to report.
    loud = np.bincount(example[several], minlength=examples) > 0
    if reported_untracked(rules) is not None:
        loud |= untracked_count > 0
    outcome_at = np.full(len(which), -1, dtype=np.int64)
    outcome_at[single] = where

    # Every other example is counted here, in bulk; those with findings are reported below.
    bulk = ~loud[example]
    report = linter.report
    report.segments += int(np.count_nonzero(kept & bulk))
    report.segments_tracked += int(np.count_nonzero(tracked & bulk))
    report.segments_untracked += int(np.count_nonzero(untracked & bulk))
    counted = single & bulk
    chosen = outcome_at[counted]
    users = example[counted]
    if len(outcome_list):
        for n, count in enumerate(np.bincount(chosen, minlength=len(outcome_list)).tolist()):
            if count:
                outcome_list[n].use.segments += count
        _count_examples(outcome_list, users, chosen)
    stopped = np.array([o.blocked for o in outcome_list], dtype=bool)
    blocked = _any(users, stopped, chosen, examples)
    obliged = _any(users, binding, chosen, examples)
    unknown = _any(users, np.array([o.unknown for o in outcome_list], dtype=bool), chosen, examples)
    calm = ~loud
    # The same order as the row path: blocked, needs review, untracked, then allowed.
    known = calm & ~blocked & ~unknown
    verdicts = {
        "blocked": calm & blocked,
        "needs-review": calm & ~blocked & unknown,
        "untracked": known & (untracked_count > 0),
        "allowed-with-obligations": known & (untracked_count == 0) & obliged,
        "allowed": known & (untracked_count == 0) & ~obliged,
    }
    for verdict, which_examples in verdicts.items():
        count = int(np.count_nonzero(which_examples))
        if count:
            summary.verdicts[verdict] += count
            report.verdicts[verdict] += count
    summary.examples += int(np.count_nonzero(calm))

    work = np.flatnonzero(loud | _any(users, noisy, chosen, examples))
    if len(work):
        _one_by_one(linter, rows, judge, summary, chat, work, loud, outcome_at, outcome_list, which, blank, fps, keys)
    return True


def _one_by_one(
    linter: Linter, rows: Rows, judge: _Judge, summary: FileSummary, chat: _Chat, chosen: np.ndarray,
    loud: np.ndarray, outcome_at: np.ndarray, outcome_list: list[Any], which: np.ndarray, blank: np.ndarray,
    fps: list[bytes], keys: np.ndarray,
) -> None:
    """Findings of the examples that have any (`chosen`, in order), in example order: the loud
    ones through the row path, the others from their outcomes' findings (see `_quiet_findings`)."""
    quiet = chosen[~loud[chosen]]
    found, ends = _quiet_findings(rows, chat, quiet, outcome_at, outcome_list, which, blank, fps)
    report = linter.report
    if len(quiet) == len(chosen):
        report.extend(found)
        return
    offsets = chat.offsets.tolist()
    speaker, text_of, empty = chat.speaker.tolist(), which.tolist(), blank.tolist()
    origins = keys.tolist()
    # The loud examples' origins, as the row path looks them up.
    lookups: dict[bytes, int] = {}
    names = chat.roles
    path, first, split = rows.path, rows.first, rows.split
    pending: list[tuple[Any, ...]] = []
    done = 0  # quiet examples reported so far
    for e in chosen[loud[chosen]].tolist():
        # The quiet examples before this one first, in order.
        upto = int(np.searchsorted(quiet, e))
        if upto > done:
            if pending:
                linter._judge_examples((pending, lookups), judge, summary)
                pending = []
            report.extend(found[ends[done - 1] if done else 0 : ends[upto - 1]])
            done = upto
        start, end = offsets[e], offsets[e + 1]
        segments, example_fps = [], []
        for i in range(start, end):
            u = text_of[i]
            if not empty[u]:
                # No text: once fingerprinted, judging needs only the role and the field.
                segments.append((names[speaker[i]], None, _CHAT_FIELDS[i - start]))
                example_fps.append(fps[u])
                if origins[u] != _NONE:
                    lookups[fps[u]] = origins[u]
        pending.append((Record(path, first + e, None, split), segments, example_fps, None, None))
    if pending:
        linter._judge_examples((pending, lookups), judge, summary)
    if done < len(quiet):
        report.extend(found[ends[done - 1] if done else 0 :])


def _quiet_findings(
    rows: Rows, chat: _Chat, quiet: np.ndarray, outcome_at: np.ndarray, outcome_list: list[Any], which: np.ndarray,
    blank: np.ndarray, fps: list[bytes],
) -> tuple[list[LintFinding], list[int]]:
    """The findings of examples whose every tracked text has one origin, in example order, and
    where each example's end among them.

    What an example reports depends only on its run of messages: per message, its speaker,
    whether it is blank and which outcome judged it. Examples alike in those (in a dataset, most
    of those with findings) share one list of findings, worked out once as the row path would;
    per example there is only its line and its fingerprint to fill in.
    """
    if not len(quiet):
        return [], []
    names = chat.roles
    lengths = chat.lengths[quiet]
    width = int(lengths.max())
    position = np.arange(width)
    present = position < lengths[:, None]
    message = chat.offsets[quiet][:, None] + position
    at = np.where(present, message, 0)
    noisy = np.array([bool(o.findings) for o in outcome_list] + [False], dtype=bool)  # [-1]: no outcome
    judged = np.where(noisy[outcome_at], outcome_at, -1)
    empty = blank[which]
    token = ((judged + 1) * len(names) + chat.speaker) * 2 + empty
    _, representative, shape_of = np.unique(np.where(present, token[at], -1), axis=0, return_index=True,
                                            return_inverse=True)
    shape_of = shape_of.reshape(-1)
    templates: list[list[tuple[Any, ...]]] = []
    for n in representative.tolist():
        start, hits = int(chat.offsets[quiet[n]]), {}
        for j in range(int(lengths[n])):
            i = start + j
            if empty[i]:
                continue
            segment = (names[chat.speaker[i]], None, _CHAT_FIELDS[j])
            if judged[i] >= 0:
                _hits(hits, outcome_list[judged[i]], segment)
        templates.append([(f.code, f.severity, f.message, seg[0], seg[2], source, f.citation, count)
                          for f, seg, source, count in hits.values()])
    # Each example's fingerprint: sha256 over its texts' fingerprints, blank ones left out.
    kept = present & ~np.where(present, empty[at], True)
    digests = np.frombuffer(b"".join(fps), dtype=np.uint8).reshape(-1, 32)
    joined = memoryview(digests[which[message[kept]]].tobytes())
    bounds = (np.concatenate(([0], np.cumsum(kept.sum(axis=1)))) * 32).tolist()
    sha256 = hashlib.sha256
    new = tuple.__new__  # LintFinding(...) is a Python call per finding; every field is given here
    tail = tuple(LintFinding._field_defaults[f] for f in LintFinding._fields[LintFinding._fields.index("segments") + 1 :])
    path, split = rows.path, rows.split
    found: list[LintFinding] = []
    ends: list[int] = []
    for line, low, high, shape in zip((rows.first + quiet).tolist(), bounds, bounds[1:], shape_of.tolist()):  # noqa: B905
        example = sha256(joined[low:high]).hexdigest()
        found += [new(LintFinding, (path, line, code, severity, text, role, where, source, citation, example, split,
                                    count, *tail))
                  for code, severity, text, role, where, source, citation, count in templates[shape]]
        ends.append(len(found))
    return found, ends


def _fingerprints(texts: Any) -> tuple[list[bytes], np.ndarray] | None:
    """Per text, its fingerprint and whether it is blank (the row path skips those); None if a
    text opens with a <think> trace, which only the row path splits.

    A text that normalisation leaves as it is (ASCII, single spaces, no space at either end: most
    of them) is hashed straight from the Arrow buffer, without becoming a Python string; the
    others go through `fingerprint()`. Both give the same digest for the same text.
    """
    count = len(texts)
    blank = np.zeros(count, dtype=bool)
    buffers = texts.buffers()
    width = np.int64 if texts.type == pa.large_string() else np.int32
    bounds = np.frombuffer(buffers[1], dtype=width)[texts.offset : texts.offset + count + 1].astype(np.int64)
    data = np.frombuffer(buffers[2], dtype=np.uint8) if buffers[2] is not None else np.zeros(0, np.uint8)
    starts, ends = bounds[:-1], bounds[1:]
    lengths = ends - starts
    # Texts whose first byte is not printable ASCII other than "<" may be blank or open a trace.
    first = data[np.minimum(starts, max(len(data) - 1, 0))] if len(data) else np.zeros(count, np.uint8)
    plain = _PLAIN_FIRST[first] & (lengths > 0)
    odd = np.flatnonzero(~plain)
    if len(odd):
        for i, text in zip(odd.tolist(), pc.take(texts, _arrow_indices(odd)).to_pylist(), strict=True):
            if not text or text.isspace():
                blank[i] = True
            elif _starts_with_think(text):
                return None
    # Bytes that normalisation may change: whitespace other than a single space, anything not ASCII.
    if len(data):
        region = data[bounds[0] : bounds[-1]]
        changing = np.flatnonzero(_CHANGING[region] | _double_space(region)) + bounds[0]
        plain[np.searchsorted(ends, changing, side="right")] = False
        plain &= data[np.maximum(ends - 1, 0)] != 0x20
    fast = np.flatnonzero(plain)
    slow = np.flatnonzero(~plain)
    fps = np.empty(count, dtype=object)
    if len(fast):
        view = memoryview(buffers[2])  # type: ignore[arg-type]
        sha256 = hashlib.sha256
        fps[fast] = [sha256(view[a:b]).digest() for a, b in zip(starts[fast].tolist(), ends[fast].tolist())]  # noqa: B905
    if len(slow):
        fps[slow] = [fingerprint(t) for t in pc.take(texts, _arrow_indices(slow)).to_pylist()]
    return fps.tolist(), blank


def _double_space(region: np.ndarray) -> np.ndarray:
    pairs = np.zeros(len(region), dtype=bool)
    pairs[1:] = (region[1:] == 0x20) & (region[:-1] == 0x20)
    return pairs


def _any(users: np.ndarray, per_outcome: np.ndarray, chosen: np.ndarray, examples: int) -> np.ndarray:
    """Per example, whether any of its counted segments has an outcome for which `per_outcome` holds."""
    if not len(chosen):
        return np.zeros(examples, dtype=bool)
    return np.bincount(users[per_outcome[chosen]], minlength=examples) > 0


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
