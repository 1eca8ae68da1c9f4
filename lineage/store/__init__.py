"""The lineage store: where every segment's origin is recorded."""

from lineage.store.store import OriginInfo, SourceSummary, Store, open_store

__all__ = ["OriginInfo", "SourceSummary", "Store", "open_store"]
