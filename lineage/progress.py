"""A progress bar on stderr for long runs: shown after two seconds, and only on a terminal."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def progress_bar(description: str, *, unit: str = " records", enabled: bool = True) -> Iterator[Callable[[int], None]]:
    """Yield a function that advances the bar by n."""
    if not enabled:
        yield lambda _n: None
        return
    from tqdm import tqdm

    # disable=None turns the bar off when stderr is not a terminal (CI logs, pre-commit).
    with tqdm(desc=description, unit=unit, unit_scale=True, delay=2.0, disable=None, file=sys.stderr, leave=False) as bar:
        yield bar.update
