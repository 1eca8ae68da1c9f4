"""tos-lineage: record where every training example came from, and check it against provider terms."""

from __future__ import annotations

__version__ = "0.1.0"

from lineage.exceptions import LineageError
from lineage.fingerprints import fingerprint, fingerprint_hex, normalise
from lineage.segments import Segment, extract_segments
from lineage.sources import SourceSpec
from lineage.store import Store, open_store

__all__ = [
    "LineageError",
    "Segment",
    "SourceSpec",
    "Store",
    "__version__",
    "extract_segments",
    "fingerprint",
    "fingerprint_hex",
    "normalise",
    "open_store",
]
