"""A progress bar on stderr for long runs: shown after two seconds, and only on a terminal."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from lineage.config import seconds_from_env


def delay() -> float:
    """Seconds a run goes on before its bar appears: LINEAGE_PROGRESS_DELAY, else two."""
    return seconds_from_env("LINEAGE_PROGRESS_DELAY")


@contextmanager
def progress_bar(description: str, *, unit: str = " records") -> Iterator[Callable[[int], None]]:
    """Yield a function that advances the bar by n; it appears after `delay()` seconds. (The CLI
    has checked LINEAGE_PROGRESS_DELAY before the command started: a bad value stops nothing here.)"""
    wait = delay()
    from tqdm import tqdm

    # disable=None turns the bar off when stderr is not a terminal (CI logs, pre-commit).
    with tqdm(desc=description, unit=unit, unit_scale=True, delay=wait, disable=None, file=sys.stderr, leave=False) as bar:
        yield bar.update
