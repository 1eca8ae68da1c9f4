"""tos-lineage: record where every training example came from, and check it against provider terms.

The names below are loaded on first use, so that `import lineage.fingerprints` or a CLI command
that needs no database does not pay for SQLAlchemy and pydantic at start-up.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "LineageError": "lineage.exceptions",
    "Segment": "lineage.segments",
    "extract_segments": "lineage.segments",
    "SourceSpec": "lineage.sources",
    "Store": "lineage.store",
    "open_store": "lineage.store",
    "fingerprint": "lineage.fingerprints",
    "fingerprint_hex": "lineage.fingerprints",
    "normalise": "lineage.fingerprints",
    "lint": "lineage.linting",
    "gate": "lineage.publication",
    "gated_push_to_hub": "lineage.hub",
    "Report": "lineage.report",
}

__all__ = [
    "LineageError",
    "Report",
    "Segment",
    "SourceSpec",
    "Store",
    "__version__",
    "extract_segments",
    "fingerprint",
    "fingerprint_hex",
    "gate",
    "gated_push_to_hub",
    "lint",
    "normalise",
    "open_store",
]

if TYPE_CHECKING:
    from lineage.exceptions import LineageError
    from lineage.fingerprints import fingerprint, fingerprint_hex, normalise
    from lineage.hub import gated_push_to_hub
    from lineage.linting import lint
    from lineage.publication import gate
    from lineage.report import Report
    from lineage.segments import Segment, extract_segments
    from lineage.sources import SourceSpec
    from lineage.store import Store, open_store


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'lineage' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value
