"""The lint report and its output formats.

Every format is a module in `lineage.report.formats` with one function,
`render(report: Report, **options) -> str` (options a format does not know are ignored);
`render(report, name, **options)` picks one by name.
"""

from __future__ import annotations

from importlib import import_module

from lineage.report.model import REPORT_VERSION, LintFinding, Report, SourceUse

FORMATS = ("text", "json", "sarif", "github", "markdown")

__all__ = ["FORMATS", "REPORT_VERSION", "LintFinding", "Report", "SourceUse", "render"]


def render(report: Report, name: str = "text", **options: object) -> str:
    """The report in one of `FORMATS`."""
    if name not in FORMATS:
        raise ValueError(f"unknown report format {name!r}; use one of {', '.join(FORMATS)}")
    module = import_module(f"lineage.report.formats.{name}")
    return module.render(report, **options)
