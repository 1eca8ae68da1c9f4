"""`--format json`: the versioned report object (see docs/lint.md#json-report)."""

from __future__ import annotations

import orjson

from lineage.report.model import Report


def render(report: Report, **_options: object) -> str:
    return orjson.dumps(report.to_dict(), option=orjson.OPT_INDENT_2).decode() + "\n"
