"""Licence expressions: SPDX ids and `LicenseRef-`s, parsed with the license-expression library."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from lineage.exceptions import UsageError

# Hugging Face dataset-card licence ids that are not spelled as SPDX ids.
_HF_IDS = {
    "odc-by": "ODC-By-1.0",
    "odbl": "ODbL-1.0",
    "pddl": "PDDL-1.0",
    "cc": "LicenseRef-cc-unspecified",
    "apple-ascl": "LicenseRef-apple-ascl",
}
_NOT_A_LICENCE = {"", "unknown", "none", "noassertion"}
_REF_UNSAFE = re.compile(r"[^A-Za-z0-9.\-]+")


@lru_cache(maxsize=1)
def _licensing() -> Any:
    from license_expression import get_spdx_licensing

    return get_spdx_licensing()


def license_ref(name: str) -> str:
    """A `LicenseRef-` id for a licence SPDX does not list (`llama3.1` -> `LicenseRef-llama3.1`)."""
    return "LicenseRef-" + (_REF_UNSAFE.sub("-", name.strip()).strip("-") or "unnamed")


@lru_cache(maxsize=1024)
def normalise_license(value: str) -> str | None:
    """The canonical form of a licence expression, or None for "unknown".

    Known SPDX ids get their canonical spelling (`cc-by-sa-3.0` -> `CC-BY-SA-3.0`), AND/OR are
    kept, and any other id becomes a `LicenseRef-` so that policies can still name it.
    """
    text = value.strip()
    if text.lower() in _NOT_A_LICENCE:
        return None
    text = _HF_IDS.get(text.lower(), text)
    licensing = _licensing()
    try:
        parsed = licensing.parse(text, validate=False)
    except Exception as exc:
        raise UsageError(
            f"invalid licence expression {value!r} ({exc})",
            fix="use SPDX ids joined by AND/OR, e.g. 'CC-BY-SA-3.0' or 'MIT OR Apache-2.0'",
        ) from None
    unknown = set(licensing.unknown_license_keys(parsed))
    if not unknown:
        return parsed.render()
    rendered = parsed.render()
    for key in sorted(unknown, key=len, reverse=True):
        if not key.startswith("LicenseRef-"):
            rendered = re.sub(rf"(?<![\w.\-]){re.escape(key)}(?![\w.\-])", license_ref(key), rendered)
    return rendered


def card_license(data: dict[str, Any]) -> str | None:
    """The licence a Hugging Face dataset card declares in its YAML header, normalised.

    `license: other` defers to `license_name`; a list of licences means the data carries all of
    them, so they are joined with AND.
    """
    declared = data.get("license")
    values = declared if isinstance(declared, list) else [declared] if declared else []
    parts = []
    for item in values:
        item = str(item)
        if item.lower() == "other":
            name = data.get("license_name")
            parts.append(license_ref(str(name)) if name else "LicenseRef-other")
        else:
            norm = normalise_license(item)
            if norm:
                parts.append(norm)
    if not parts:
        return None
    return " AND ".join(f"({p})" if " OR " in p else p for p in parts)


def license_alternatives(expression: str | None) -> list[frozenset[str]]:
    """The ways a licence expression can be satisfied, as sets of licence ids.

    `A AND B` is one alternative holding both; `A OR B` is two, of which the user may pick
    either. `MIT AND (CC-BY-4.0 OR CC-BY-SA-4.0)` gives {MIT, CC-BY-4.0} and {MIT, CC-BY-SA-4.0}.
    """
    if not expression:
        return [frozenset()]
    normalised = normalise_license(expression)
    if normalised is None:
        return [frozenset()]
    return _alternatives(_licensing().parse(normalised, validate=False))


@lru_cache(maxsize=1024)
def _alternatives(node: Any) -> list[frozenset[str]]:
    kind = type(node).__name__
    if kind == "AND":
        combined = [frozenset()]
        for arg in node.args:
            combined = [a | b for a in combined for b in _alternatives(arg)]
        return combined
    if kind == "OR":
        return [alt for arg in node.args for alt in _alternatives(arg)]
    if kind == "LicenseWithExceptionSymbol":
        return [frozenset({node.license_symbol.key})]
    return [frozenset({node.key})]
