"""Capture: record outputs in the lineage store as they are generated."""

from lineage.capture.run import CaptureRun

__all__ = ["CaptureRun"]
