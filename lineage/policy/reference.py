"""The rule reference (docs/rules.md), generated from the pack so that it cannot drift.

    python -m lineage.policy.reference > docs/rules.md
"""

from __future__ import annotations

import sys

from lineage.policy.engine import ENGINE_CODES, GATE_CODES, LICENSE_TERM_CODES, LICENSE_TERM_TEXT
from lineage.policy.loader import Pack, load_pack


def _cell(text: str) -> str:
    return " ".join(text.replace("|", "\\|").split())


def render(pack: Pack) -> str:
    lines = [
        "# Rule reference",
        "",
        "Generated from the bundled policy pack by `python -m lineage.policy.reference`; do not edit by hand.",
        "Each rule cites its clause; `lineage policies show CODE` prints it with every version.",
        "",
    ]
    by_document: dict[str, list[str]] = {}
    for code in sorted(pack.codes):
        by_document.setdefault(pack.codes[code], []).append(code)
    for document_id in sorted(by_document, key=lambda d: (pack.documents[d].publisher, pack.documents[d].title)):
        document = pack.documents[document_id]
        versions = ", ".join(v.version for v in document.versions)
        lines += [f"## {document.title}", "", f"Publisher: {document.publisher}. Versions: {versions}.", ""]
        lines += ["| code | effect | versions | section | message |", "|---|---|---|---|---|"]
        for code in by_document[document_id]:
            found = pack.rules(code)
            _, _, rule = found[-1]
            seen = ", ".join(v for _, v, _ in found)
            lines.append(
                f"| `{code}` | {rule.effect} ({rule.effective_severity}) | {seen} | {_cell(rule.section)} | "
                f"{_cell(rule.message)} |"
            )
        lines.append("")
    lines += ["## Licence terms", "", "| code | meaning | licences |", "|---|---|---|"]
    for term, code in LICENSE_TERM_CODES.items():
        ids = [i for i, d in sorted(pack.licenses.items()) if term in d.terms]
        lines.append(f"| `{code}` | {LICENSE_TERM_TEXT[code]} | {', '.join(ids) or '-'} |")
    lines += ["", "## Engine", "", "| code | severity | meaning |", "|---|---|---|"]
    for code, (severity, text) in ENGINE_CODES.items():
        lines.append(f"| `{code}` | {severity} | {text} |")
    lines += ["", "## Publication gate", "", "Given by `lineage gate` (see docs/gate.md).", "",
              "| code | severity | meaning |", "|---|---|---|"]
    for code, (severity, text) in GATE_CODES.items():
        lines.append(f"| `{code}` | {severity} | {_cell(text)} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render(load_pack()))
