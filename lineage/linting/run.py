"""`lint()`: the whole run, from paths (or an in-memory dataset) to a Report.

    import lineage
    report = lineage.lint(["data/train.jsonl"])
    report.exit_code, report.summary(), report.findings

With `jobs` above 1, a large input is cut into pieces (JSONL files into byte ranges that start
at line starts, Parquet files into runs of row groups, other files whole) that worker processes lint; their reports are merged in input
order, so the result is the same as with one process.
"""

from __future__ import annotations

import gc
import itertools
import multiprocessing
import os
import signal
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

from lineage.blocks import Rows, iter_jsonl_blocks, iter_parquet_blocks
from lineage.config import Config, find_config
from lineage.exceptions import InputError, LineageError, UsageError
from lineage.linting.linter import Linter, file_size
from lineage.linting.origins import OriginIndex
from lineage.linting.settings import LintSettings, build_settings
from lineage.policy.engine import Finding
from lineage.policy.waivers import Waiver, load_waivers
from lineage.readers import (
    TEXT_FORMATS,
    BadRecord,
    Record,
    check_text_encoding,
    detect_format,
    expand_paths,
    iter_jsonl_range,
    iter_parquet_groups,
    iter_records,
    jsonl_chunks,
    looks_like_jsonl,
    parquet_chunks,
)
from lineage.report.model import FileSummary, LintFinding, Report, RuleInfo, SourceUse

# Below this much input, worker processes cost more than they save.
_PARALLEL_MIN_BYTES = 4 << 20
# Below this much JSONL, rows are read one by one: the columnar path's imports (pyarrow, numpy)
# would cost a pre-commit hook more than they save.
_COLUMNAR_MIN_BYTES = 4 << 20


@dataclass(frozen=True)
class Piece:
    """A unit of work: a whole file, a byte range of a JSONL file, or row groups of a Parquet file."""

    path: str
    format: str
    # With end >= 0: bytes [start, end) of JSONL, or row groups [start, end) of Parquet; first_line
    # is then the line (JSONL) or row index (Parquet) the piece starts at.
    start: int = 0
    end: int = -1
    first_line: int = 1

    def records(self, settings: LintSettings) -> Iterator[Record | BadRecord]:
        if self.end >= 0 and self.format == "parquet":
            return iter_parquet_groups(self.path, self.start, self.end, self.first_line, batch_size=settings.batch_size)
        if self.end >= 0:
            return iter_jsonl_range(self.path, self.start, self.end, self.first_line)
        return iter_records(self.path, format=self.format, batch_size=settings.batch_size)

    def blocks(self, linter: Linter) -> Iterator[Rows] | None:
        """The piece as blocks of Arrow rows, where the linter's columnar path may take them."""
        whole = self.end < 0
        if self.format == "parquet" and linter.columnar:
            return iter_parquet_blocks(
                self.path, self.start, self.end, 0 if whole else self.first_line, batch_size=linter.settings.batch_size,
            )
        # A piece of a file is linted in a worker, for a large input: whatever its size.
        if self.format == "jsonl" and (not whole or file_size(self.path) >= _COLUMNAR_MIN_BYTES) and linter.columnar:
            return iter_jsonl_blocks(self.path, self.start, self.end, self.first_line)
        return None

    def lint(self, linter: Linter, progress: Callable[[int], None] | None = None) -> int:
        """Lint the piece into the linter's report; for a byte range of a JSONL file, return the
        lines in it (the next range's first line is this one's plus those), else 0."""
        blocks = self.blocks(linter)
        lines = 0
        if blocks is not None:

            def counted(blocks: Iterator[Rows]) -> Iterator[Rows]:
                nonlocal lines
                for block in blocks:
                    lines += block.lines
                    yield block

            linter.lint_blocks(counted(blocks), self.path, self.format, progress=progress)
            return lines if self.format == "jsonl" and self.end >= 0 else 0
        linter.lint_records(self.records(linter.settings), self.path, self.format, progress=progress)
        return _lines_in(self.path, self.start, self.end) if self.format == "jsonl" and self.end >= 0 else 0


def _lines_in(path: str, start: int, end: int) -> int:
    """The newlines in bytes [start, end) of a file."""
    from lineage.readers import _read_error

    lines = 0
    try:
        with open(path, "rb") as handle:
            handle.seek(start)
            left = end - start
            while left > 0 and (chunk := handle.read(min(left, 8 << 20))):
                lines += chunk.count(b"\n")
                left -= len(chunk)
    except OSError as exc:
        raise _read_error(exc, path) from None
    return lines


@dataclass
class LintJob:
    """Everything a lint needs, in a form a worker process can be sent."""

    settings: LintSettings
    policy_paths: list[str] = field(default_factory=list)
    waivers: list[Waiver] = field(default_factory=list)
    waivers_path: str | None = None
    store_url: str | None = None
    today: date | None = None
    max_findings: int | None = None
    input_bytes: int | None = None
    preload: bool | None = None
    # The origin table the parent loads for forked workers (lineage.linting.preload.SharedTable).
    shared: Any = field(default=None, repr=False, compare=False)
    # The policy pack, once loaded: forked workers inherit it rather than each reading the YAML again.
    loaded_pack: Any = field(default=None, repr=False, compare=False)

    def pack(self) -> Any:
        if self.loaded_pack is None:
            from lineage.policy import load_pack

            self.loaded_pack = load_pack(self.policy_paths)
        return self.loaded_pack

    def index(self) -> OriginIndex | None:
        if self.store_url is None:
            return None
        return OriginIndex(self.store_url, input_bytes=self.input_bytes, preload=self.preload, shared=self.shared)

    def linter(self) -> Linter:
        pack = self.pack()
        index = self.index()
        return Linter(
            self.settings, pack, index=index, waivers=self.waivers, today=self.today, max_findings=self.max_findings
        )


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause Python's cycle collector for a run (used as a decorator), and restore it after.

    A lint makes millions of short-lived tuples while the report's findings pile up: the collector
    keeps walking every live object, a third of the run on a large file, to find cycles that lint
    does not make.
    """
    # Counted, for a service linting in several threads at once: the collector is back on when
    # the last lint ends, if it was on when the first began.
    global _PAUSED, _WAS_ENABLED
    with _PAUSE_LOCK:
        if _PAUSED == 0:
            _WAS_ENABLED = gc.isenabled()
            gc.disable()
        _PAUSED += 1
    try:
        yield
    finally:
        with _PAUSE_LOCK:
            _PAUSED -= 1
            if _PAUSED == 0 and _WAS_ENABLED:
                gc.enable()


_PAUSE_LOCK = threading.Lock()
_PAUSED = 0
_WAS_ENABLED = True


@_collector_paused()
def lint(
    inputs: str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | Any,
    *,
    settings: LintSettings | None = None,
    config: Config | None = None,
    store: str | None = None,
    use_store: bool = True,
    policies: Sequence[str | os.PathLike[str]] = (),
    waivers: str | os.PathLike[str] | Sequence[Waiver] | None = None,
    today: date | None = None,
    max_findings: int | None = None,
    jobs: int = 1,
    progress: Callable[[int], None] | None = None,
    pack: Any = None,
    **context: Any,
) -> Report:
    """Lint dataset files, folders or globs, or an in-memory `datasets.Dataset`/`DatasetDict`.

    Settings come from `settings`, else from the project configuration (`config`, else the one
    found from the current directory) with `context` keywords (`purpose="fine-tune"`,
    `commercial=False`, `competes_with=["*"]`, ...) on top. The store is `store` (path or URL),
    else the one the project uses if there is one; with `use_store=False`, only inline provenance
    counts. A service that lints many datasets passes its policy `pack`, loaded once, to skip
    reading the YAML again (`policies` are then ignored), and `waivers` as a list already loaded.
    """
    config = config if config is not None else find_config()
    if settings is None:
        settings = build_settings(config, context_flags=context)
    elif context:
        raise UsageError("pass use-context keywords or settings, not both")
    if jobs < 1:
        raise UsageError(f"jobs must be at least 1, not {jobs}")
    loaded = list(waivers) if isinstance(waivers, (list, tuple)) else None
    waivers_path = None if loaded is not None else str(waivers) if waivers else config.resolved("waivers")
    job = LintJob(
        settings=settings,
        policy_paths=config.resolved_list("policies") + [str(p) for p in policies],
        waivers=loaded if loaded is not None else load_waivers(waivers_path) if waivers_path else [],
        waivers_path=waivers_path,
        store_url=_store_url(store, config) if use_store else None,
        today=today,
        max_findings=max_findings,
        loaded_pack=pack,
    )
    dataset = _as_dataset(inputs)
    if dataset is not None:
        linter = job.linter()
        try:
            _lint_dataset(linter, dataset, progress)
        finally:
            linter.close()
        return _finish(job, linter.report, [linter.unused_waivers()], linter.pack)
    paths = [inputs] if isinstance(inputs, (str, os.PathLike)) else list(inputs)
    if not paths:
        raise UsageError("no dataset files to lint", fix="name files, folders or glob patterns")
    files = expand_paths(paths)
    pieces = [Piece(str(p), _format(p, settings.input_format)) for p in files]
    job.input_bytes = sum(file_size(p) for p in files)
    if jobs > 1 and job.input_bytes >= _PARALLEL_MIN_BYTES:
        return _lint_parallel(job, pieces, jobs, progress)
    linter = job.linter()
    try:
        for piece in pieces:
            piece.lint(linter, progress)
    finally:
        linter.close()
    return _finish(job, linter.report, [linter.unused_waivers()], linter.pack)


def _format(path: Path, forced: str | None) -> str:
    fmt = forced or detect_format(path)
    if fmt in TEXT_FORMATS:
        check_text_encoding(path)
    # A .json file that holds JSON lines is read as JSONL, with line numbers rather than indexes.
    return "jsonl" if fmt == "json" and looks_like_jsonl(path) else fmt


def _store_url(flag: str | None, config: Config) -> str | None:
    """The store named by flag, variable or configuration, or found by walking up; None if none.

    A store that is named must exist (an error says so); one that is only looked for may not.
    """
    from lineage.store.location import locate_store

    return locate_store(flag, config=config)


def _as_dataset(inputs: Any) -> Any:
    module = type(inputs).__module__
    if module.startswith("datasets"):
        return inputs
    return None


def _lint_dataset(linter: Linter, dataset: Any, progress: Callable[[int], None] | None) -> None:
    name = getattr(getattr(dataset, "info", None), "dataset_name", None) or "<dataset>"
    splits = list(dataset.items()) if hasattr(dataset, "keys") and not hasattr(dataset, "features") else [(None, dataset)]
    if not splits:
        raise InputError("the dataset has no splits", where=name)
    for split, ds in splits:
        label = f"{name}[{split}]" if split is not None else name
        linter.lint_blocks(_dataset_blocks(ds, label, split, linter.settings.batch_size), label, "dataset",
                           progress=progress)


def _dataset_blocks(ds: Any, label: str, split: str | None, batch_size: int) -> Iterator[Rows]:
    row = 0
    for table in ds.with_format("arrow").iter(batch_size=batch_size):
        yield Rows(label, row, table=table, split=split)
        row += table.num_rows


# -- parallel ------------------------------------------------------------------------------------------

_WORKER: Linter | None = None


def _start_worker(job: LintJob, part: int = 0) -> None:
    global _WORKER
    gc.disable()  # as in the parent: see _collector_paused
    # Ctrl-C reaches the whole process group: the parent stops the pool and says so, once.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # A preloaded table comes from the parent (job.shared) at the first look-up, after this
    # worker has read its part of the store for it; without fork, each worker reads it itself.
    _WORKER = job.linter()
    if part and job.shared is not None and _WORKER.index is not None:
        _WORKER.index.stage(job.shared, part)


def _run_piece(piece: Piece) -> tuple[Report, list[str], int]:
    """A piece's report, the waivers that lifted nothing in it, and its lines (see Piece.lint)."""
    linter = _WORKER
    assert linter is not None
    linter.report = Report(max_findings=linter.report.max_findings, use_context=linter.report.use_context)
    linter._uses.clear()
    for judge in linter._judges.values():
        judge.uses.clear()
        judge.outcomes.clear()
    lines = piece.lint(linter)
    return linter.report, [f.message for f in linter.unused_waivers()], lines


def _lint_parallel(
    job: LintJob, pieces: list[Piece], jobs: int, progress: Callable[[int], None] | None
) -> Report:
    def work() -> Iterator[Piece]:
        # A generator: workers start on the first pieces while the parent counts lines for the rest.
        for piece in pieces:
            if piece.format == "jsonl" and not _is_gzip(piece.path):
                yield from (Piece(piece.path, "jsonl", s, e, n) for s, e, n in jsonl_chunks(piece.path, jobs * 8))
            elif piece.format == "parquet":
                yield from (Piece(piece.path, "parquet", s, e, n) for s, e, n in parquet_chunks(piece.path, jobs * 8))
            else:
                yield piece

    # fork where there is one: workers start without importing anything again, and share the
    # origins the parent loads. Elsewhere a pool of spawned workers, each reading the store.
    if _can_fork():
        return _lint_forked(job, pieces, jobs, progress)
    context = multiprocessing.get_context("spawn")
    if job.store_url is not None:
        # A store that cannot be opened fails here, with its message, rather than in every worker.
        OriginIndex(job.store_url, preload=False).close()
    results: list[tuple[Report, list[str]]] = []
    with context.Pool(jobs, initializer=_start_worker, initargs=(job,)) as pool:
        for report, unused, _ in pool.imap(_run_piece, work()):
            results.append((report, unused))
            if progress is not None:
                progress(report.examples)
    merged = _merge([r for r, _ in results], job.max_findings)
    # A waiver lifted nothing when it lifted nothing in every piece; kept in the waivers file's order.
    still = [m for m in results[0][1] if all(m in unused for _, unused in results)] if results else []
    linter_unused = [Finding("LIN007", "warning", message) for message in still]
    return _finish(job, merged, [linter_unused], job.pack())


def _can_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


@dataclass
class _Plan:
    """The pieces of a forked run, known before the fork: every worker claims the next one."""

    pieces: list[Piece]
    # Per piece, whether its first line is known from the start: the first range of a JSONL
    # file, and every other piece. The first line of a later range is known only once the lines
    # of the ranges before it are counted, which their readers do as they go.
    counted: list[bool]


def _plan(pieces: list[Piece], jobs: int) -> _Plan:
    planned: list[Piece] = []
    counted: list[bool] = []
    for piece in pieces:
        if piece.format == "jsonl" and not _is_gzip(piece.path):
            from lineage.readers import jsonl_bounds

            bounds = jsonl_bounds(piece.path, jobs * 8, taper=jobs)
            for n, (start, end) in enumerate(itertools.pairwise(bounds)):
                planned.append(Piece(piece.path, "jsonl", start, end, 1))
                counted.append(n == 0)
        elif piece.format == "parquet":
            planned += [Piece(piece.path, "parquet", s, e, n) for s, e, n in parquet_chunks(piece.path, jobs * 8)]
            counted += [True] * (len(planned) - len(counted))
        else:
            planned.append(piece)
            counted.append(True)
    return _Plan(planned, counted)


class _Lines:
    """The first line of every piece, worked out as the pieces are linted.

    A JSONL range after a file's first is linted before the lines ahead of it are counted, with
    line numbers from 1; its reader counts its own lines. Whoever finishes a range then knows its
    first line if every range before it in the file has been counted, and moves its findings'
    lines there; the parent moves what is left when all are in. In memory the processes share:
    each writes only the entries of the pieces it linted.
    """

    def __init__(self, plan: _Plan, context: Any) -> None:
        self.plan = plan
        self.first = context.Array("q", [p.first_line for p in plan.pieces], lock=False)
        self.known = context.Array("b", plan.counted, lock=False)
        self.counts = context.Array("q", [-1] * len(plan.pieces), lock=False)

    def start(self, n: int) -> int:
        """The line piece n is linted from: its own if known, else 1."""
        return self.first[n] if self.known[n] else 1

    def finished(self, n: int, lines: int) -> int | None:
        """Record that piece n holds `lines` lines; its first line, if it can be told yet."""
        self.counts[n] = lines
        if self.known[n]:
            return self.first[n]
        m, ahead = n, 0
        while not self.known[m]:
            m -= 1
            if self.counts[m] < 0:
                return None
            ahead += self.counts[m]
        self.first[n] = self.first[m] + ahead
        self.known[n] = True
        return self.first[n]

    def final(self) -> list[int]:
        """Every piece's first line, once all have been counted."""
        first: list[int] = []
        for n, counted in enumerate(self.plan.counted):
            first.append(self.plan.pieces[n].first_line if counted else first[-1] + self.counts[n - 1])
        return first


def _shift_lines(report: Report, by: int) -> None:
    """Move every finding with a line `by` lines down."""
    if by:
        new = tuple.__new__  # not LintFinding(...), a Python call per finding
        report.findings = [f if f[1] is None else new(LintFinding, (f[0], f[1] + by, *f[2:])) for f in report.findings]


def _lint_forked(job: LintJob, pieces: list[Piece], jobs: int, progress: Callable[[int], None] | None) -> Report:
    """`jobs` processes lint the pieces, the parent one of them: it forks jobs - 1 workers, loads
    the store's origins into memory they share while they start, then takes pieces too.

    Each process claims the next piece from a shared counter, so a slow piece holds up no one.
    """
    import queue

    context = multiprocessing.get_context("fork")
    job.pack()  # loaded once, inherited by the workers
    _warm_up()
    plan = _plan(pieces, jobs)
    total = len(plan.pieces)
    lines = _Lines(plan, context)
    claimed = context.Value("i", 0)
    # Set when any process or thread fails: the others stop claiming pieces.
    stop = context.Value("b", 0, lock=False)
    worker_job = job
    shared = None
    if job.store_url is not None:
        # A store that cannot be opened fails here, with its message, rather than in every worker.
        probe = OriginIndex(job.store_url, preload=False)
        probe.close()
        if job.preload if job.preload is not None else probe.worth_preloading(job.input_bytes):
            from lineage.linting.preload import SharedTable

            # Room for origins recorded while the run starts: pages never written cost nothing.
            shared = SharedTable(probe.size + probe.size // 20 + 4096, context, parts=jobs, ids=probe.size)
            shared.give_up = lambda: bool(stop.value)  # a worker that died reads no part
            worker_job = replace(job, preload=True, shared=shared)
    results: queue.SimpleQueue[Any] = queue.SimpleQueue()
    outbox = context.SimpleQueue()
    progress_lock = threading.Lock()

    def claim() -> tuple[int, Piece] | None:
        with claimed.get_lock():
            n = claimed.value
            claimed.value += 1
        if n >= total or stop.value:
            return None
        return n, replace(plan.pieces[n], first_line=lines.start(n))

    def work(send: Callable[[Any], None]) -> None:
        while (claimed_piece := claim()) is not None:
            n, piece = claimed_piece
            report, unused, count = _run_piece(piece)
            first = lines.finished(n, count)
            if first is not None:
                _shift_lines(report, first - piece.first_line)
            send((n, (report, unused, piece.first_line if first is None else first)))

    def collect(item: tuple[int, Any]) -> None:
        results.put(item)
        if item[0] < 0:
            stop.value = 1
        elif progress is not None:
            with progress_lock:  # called from the parent's loop and from the drain thread
                progress(item[1][0].examples)

    def worker(part: int) -> None:
        try:
            _start_worker(worker_job, part)
            work(outbox.put)
        except BaseException as exc:  # sent to the parent, which raises it
            try:
                outbox.put((-1, exc))
            except Exception:  # an exception that does not pickle: its text, then
                outbox.put((-1, LineageError(f"a worker process failed ({type(exc).__name__}: {exc})")))
        finally:
            outbox.put(("done", os.getpid()))

    processes = [context.Process(target=worker, args=(part,), daemon=True) for part in range(1, jobs)]
    for process in processes:
        process.start()
    try:
        drain = threading.Thread(target=_drain, args=(outbox, processes, collect), daemon=True)
        drain.start()
        index = _load_shared(job.store_url, shared, keep=True) if shared is not None else job.index()  # type: ignore[arg-type]
        global _WORKER
        _WORKER = Linter(job.settings, job.pack(), index=index, waivers=job.waivers, today=job.today,
                         max_findings=job.max_findings)
        try:
            work(collect)
        finally:
            _WORKER.close()
            _WORKER = None
        drain.join()
    except BaseException:
        stop.value = 1
        for process in processes:
            process.terminate()
        raise
    finally:
        for process in processes:
            process.join()
    done: dict[int, tuple[Report, list[str], int]] = {}
    while not results.empty():
        n, outcome = results.get()
        if n < 0:
            raise outcome
        done[n] = outcome
    ordered = [done[n] for n in range(total)]
    for (report, _, applied), first in zip(ordered, lines.final(), strict=True):
        _shift_lines(report, first - applied)
    merged = _merge([r for r, _, _ in ordered], job.max_findings)
    still = [m for m in ordered[0][1] if all(m in unused for _, unused, _ in ordered)] if ordered else []
    return _finish(job, merged, [[Finding("LIN007", "warning", message) for message in still]], job.pack())


def _warm_up() -> None:
    """What every process would load at its first piece, loaded once before the fork instead:
    the columnar path's modules, the self-identification patterns and the SPDX licence list."""
    import contextlib

    from lineage import selfid
    from lineage.licenses import _licensing

    with contextlib.suppress(ImportError):
        import pyarrow.compute
        import pyarrow.json  # noqa: F401

        import lineage.linting.columnar  # noqa: F401
    selfid.compile_patterns()
    _licensing()


def _drain(outbox: Any, processes: list[Any], collect: Callable[[Any], None]) -> None:
    """Take the workers' results as they come (a worker blocks on a full pipe), until each has
    said it is done or has died; a death is an error the parent raises."""
    from multiprocessing.connection import wait

    done: set[int] = set()
    alive = {p.sentinel: p for p in processes}
    reader = outbox._reader
    while alive:
        ready = wait([reader, *alive])
        if reader in ready:
            item = outbox.get()
            if isinstance(item, tuple) and item and item[0] == "done":
                done.add(item[1])
            else:
                try:
                    collect(item)
                except BaseException as exc:  # a progress callback that failed: stop the run, say why
                    collect((-1, exc))
            continue
        for sentinel in ready:
            process = alive.pop(sentinel)
            process.join()
            if process.pid not in done and not reader.poll():
                collect((-1, LineageError(f"a worker process ended unexpectedly (exit code {process.exitcode})",
                                          fix="see its messages above, or run with --jobs 1")))
            elif process.pid not in done:
                alive[sentinel] = process  # its last messages are still in the pipe


def _load_shared(url: str, shared: Any, *, keep: bool = False) -> OriginIndex | None:
    """Load every origin for the workers (taking the parts of the store they read), while they
    parse their first blocks; with `keep`, the index that loaded them is returned open, for the
    parent's own pieces."""
    try:
        index = OriginIndex(url, preload=True, staged=shared)
    except BaseException:
        shared.fail()  # the workers load it themselves, and fail with the same message
        raise
    try:
        shared.fill(index.table, index.multi)
    except BaseException:
        index.close()
        raise
    if keep:
        return index
    index.close()
    return None


def _is_gzip(path: str) -> bool:
    with open(path, "rb") as f:
        return f.read(2) == b"\x1f\x8b"


def _merge(reports: list[Report], max_findings: int | None) -> Report:
    merged = Report(max_findings=max_findings, use_context=reports[0].use_context if reports else {})
    files: dict[str, FileSummary] = {}
    uses: dict[bytes, SourceUse] = {}
    for report in reports:
        room = len(report.findings) if max_findings is None else max(0, max_findings - len(merged.findings))
        merged.findings += report.findings[:room]
        # Every finding was counted where it was found, kept or not.
        merged.findings_by_code.update(report.findings_by_code)
        merged.findings_by_severity.update(report.findings_by_severity)
        for code, severity in report.code_severity.items():
            if merged.code_severity.get(code) != "error":
                merged.code_severity[code] = severity
        merged.verdicts.update(report.verdicts)
        merged.segments += report.segments
        merged.segments_tracked += report.segments_tracked
        merged.segments_untracked += report.segments_untracked
        for summary in report.files:
            into = files.get(summary.path)
            if into is None:
                files[summary.path] = into = FileSummary(summary.path, summary.format)
                merged.files.append(into)
                merged.formats[summary.path] = summary.format
            if into.examples or into.verdicts:
                into.unseen_columns &= summary.unseen_columns  # seen in any part is seen
            else:
                into.unseen_columns = set(summary.unseen_columns)
            into.keys_seen |= summary.keys_seen
            into.examples += summary.examples
            into.verdicts.update(summary.verdicts)
        for use in report.sources:
            key = use.signature()
            into_use = uses.get(key)
            if into_use is None:
                uses[key] = into_use = SourceUse(use.evaluation, findings=list(use.findings))
                merged.sources.append(into_use)
            into_use.segments += use.segments
            into_use.examples += use.examples
            into_use.saw(use.first_day)
            into_use.saw(use.last_day)
    return merged


def _finish(job: LintJob, report: Report, unused: Iterable[list[Finding]], pack: Any) -> Report:
    """Run-level findings (waivers that lifted nothing) and the report's header fields."""
    from lineage.store.location import describe

    _check_readable(report)
    report.store = describe(job.store_url) if job.store_url else None
    report.store_url = job.store_url
    codes = job.settings.rules.codes
    for findings in unused:
        for finding in findings:
            if codes.keeps(finding.code):
                report.add(LintFinding(
                    job.waivers_path or "waivers", _waiver_line(job, finding.message), finding.code,
                    finding.severity, finding.message,
                ))
    report.rules = rule_info(pack, report.findings_by_code)
    report.policy_pack = pack_info(pack)
    report.pack = pack
    report.code_filter = job.settings.rules.codes
    return report


def _check_columns(summary: FileSummary) -> None:
    """A column named on the command line that no record of a file has is a typo: refused, as
    `lineage import` refuses it, and not read as "this row says nothing"."""
    if not summary.unseen_columns or summary.examples == summary.verdicts.get("malformed", 0):
        return
    from rapidfuzz import process

    column = sorted(summary.unseen_columns)[0]
    keys = sorted(summary.keys_seen)
    close = process.extractOne(column, keys, score_cutoff=50) if keys else None
    hint = f"did you mean {close[0]!r}? " if close else ""
    raise InputError(f"no record has the column {column!r}", where=summary.path,
                     fix=f"{hint}the records have {', '.join(keys[:12]) or 'no columns'}")


def _check_readable(report: Report) -> None:
    """A file none of whose records could be read was not linted at all: that is an error in the
    input (exit 2), not a pass and not a finding about the data. An empty split of an in-memory
    dataset is fine; an empty file is not."""
    for summary in report.files:
        malformed = summary.verdicts.get("malformed", 0)
        if summary.examples != malformed or (summary.format == "dataset" and not malformed):
            _check_columns(summary)
            continue
        if not malformed:
            raise InputError("no records", where=summary.path,
                             fix="the file is empty: add records, or leave it out of the lint")
        first = next((f for f in report.findings if f.path == summary.path and f.code == "LIN010"), None)
        reason = f" (line {first.line}: {first.message.removeprefix('malformed record: ')})" if first else ""
        raise InputError(
            f"none of the {malformed} record(s) could be read{reason}", where=summary.path,
            fix="check the file's format and encoding (UTF-8 JSON lines, JSON, CSV or Parquet)",
        )


def pack_info(pack: Any) -> dict[str, Any]:
    """The bundled pack's version, the sha256 of the pack in force and the user's policy files in it."""
    from lineage.policy.loader import bundled_dir

    bundled = bundled_dir().resolve()
    return {"version": pack.version, "sha256": pack.sha256, "user_files": [str(p) for p in pack.files if not Path(p).resolve().is_relative_to(bundled)]}


RULES_URL = "https://github.com/tos-lineage/tos-lineage/blob/main/docs/rules.md"


def rule_info(pack: Any, codes: Iterable[str]) -> dict[str, RuleInfo]:
    """What each code means: the pack's rule (latest version), or an engine or licence-term code."""
    from lineage.policy.engine import ENGINE_CODES, GATE_CODES, LICENSE_TERM_CODES, LICENSE_TERM_TEXT

    info: dict[str, RuleInfo] = {}
    term_codes = set(LICENSE_TERM_CODES.values())
    for code in codes:
        found = pack.rules(code)
        if found:
            document, version, rule = found[-1]
            url = next(v.url for v in document.versions if v.version == version)
            info[code] = RuleInfo(
                code, f"{document.title} {version}, {rule.section}", rule.message, rule.effective_severity, url,
                rule.quote,
            )
        elif code in ENGINE_CODES:
            severity, text = ENGINE_CODES[code]
            info[code] = RuleInfo(code, text, text, severity, f"{RULES_URL}#engine")
        elif code in GATE_CODES:
            severity, text = GATE_CODES[code]
            info[code] = RuleInfo(code, text, text, severity, f"{RULES_URL}#publication-gate")
        elif code in term_codes:
            text = LICENSE_TERM_TEXT[code]
            info[code] = RuleInfo(code, text, text, "warning", f"{RULES_URL}#licence-terms")
    return info


def _waiver_line(job: LintJob, message: str) -> int | None:
    """The line of the waiver a LIN007 message names, for editors and code scanning."""
    if not job.waivers_path:
        return None
    try:
        lines = Path(job.waivers_path).read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    for waiver in job.waivers:
        if f"waiver {waiver.id!r}" in message:
            for n, text in enumerate(lines, 1):
                stripped = text.strip().lstrip("- ").strip()
                if stripped.startswith("id:") and stripped[3:].strip().strip("'\"") == waiver.id:
                    return n
    return None
