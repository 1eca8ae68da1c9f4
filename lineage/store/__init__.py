"""The lineage store: where every segment's origin is recorded.

The names are loaded on first use: `lineage.store.location` and the read-only SQLite reader that
lint uses must not pull in SQLAlchemy, which costs more to import than a small lint takes.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__all__ = ["OriginInfo", "SourceSummary", "Store", "open_store"]

if TYPE_CHECKING:
    from lineage.store.store import OriginInfo, SourceSummary, Store, open_store


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module 'lineage.store' has no attribute {name!r}")
    value = getattr(import_module("lineage.store.store"), name)
    globals()[name] = value
    return value
