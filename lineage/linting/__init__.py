"""Lint datasets against the terms of where their examples came from.

    import lineage
    report = lineage.lint("data/train.jsonl", purpose="fine-tune", competes_with=["*"])
    if report.exit_code:
        for finding in report.findings:
            print(finding.path, finding.line, finding.code, finding.message)
"""

from lineage.linting.linter import Linter
from lineage.linting.run import lint
from lineage.linting.settings import LintSettings, build_settings

__all__ = ["LintSettings", "Linter", "build_settings", "lint"]
