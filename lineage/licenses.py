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
    "openrail++": "LicenseRef-openrail-pp",
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
            parts.append(_named(str(name)) if name else "LicenseRef-other")
        else:
            norm = normalise_license(item)
            if norm:
                parts.append(norm)
    if not parts:
        return None
    return " AND ".join(f"({p})" if " OR " in p else p for p in parts)


def _named(name: str) -> str:
    """A card's `license_name`: an expression where it parses as one (`a AND b`), else one name."""
    try:
        return normalise_license(name) or license_ref(name)
    except UsageError:
        return license_ref(name)


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


# The licence ids a Hugging Face dataset card's `license` field takes (the Hub's list); any other
# licence is written as `license: other` with `license_name` and `license_link`.
HF_LICENSE_IDS = frozenset(["apache-2.0", "mit", "openrail", "bigscience-openrail-m", "creativeml-openrail-m", "bigscience-bloom-rail-1.0", "bigcode-openrail-m", "afl-3.0", "artistic-2.0", "bsl-1.0", "bsd", "bsd-2-clause", "bsd-3-clause", "bsd-3-clause-clear", "c-uda", "cc", "cc0-1.0", "cc-by-2.0", "cc-by-2.5", "cc-by-3.0", "cc-by-4.0", "cc-by-sa-3.0", "cc-by-sa-4.0", "cc-by-nc-2.0", "cc-by-nc-3.0", "cc-by-nc-4.0", "cc-by-nd-4.0", "cc-by-nc-nd-3.0", "cc-by-nc-nd-4.0", "cc-by-nc-sa-2.0", "cc-by-nc-sa-3.0", "cc-by-nc-sa-4.0", "cdla-sharing-1.0", "cdla-permissive-1.0", "cdla-permissive-2.0", "wtfpl", "ecl-2.0", "epl-1.0", "epl-2.0", "etalab-2.0", "eupl-1.1", "eupl-1.2", "agpl-3.0", "gfdl", "gpl", "gpl-2.0", "gpl-3.0", "lgpl", "lgpl-2.1", "lgpl-3.0", "isc", "h-research", "intel-research", "lppl-1.3c", "ms-pl", "apple-ascl", "apple-amlr", "mpl-2.0", "odc-by", "odbl", "openrail++", "osl-3.0", "postgresql", "ofl-1.1", "ncsa", "unlicense", "zlib", "pddl", "lgpl-lr", "deepfloyd-if-license", "fair-noncommercial-research-license", "llama2", "llama3", "llama3.1", "llama3.2", "llama3.3", "llama4", "grok2-community", "gemma"])
# Hub ids whose SPDX spelling is not the id in lower case.
_HF_SPELLING = {
    "agpl-3.0-only": "agpl-3.0", "gpl-2.0-only": "gpl-2.0", "gpl-3.0-only": "gpl-3.0",
    "lgpl-2.1-only": "lgpl-2.1", "lgpl-3.0-only": "lgpl-3.0", "odc-by-1.0": "odc-by", "odbl-1.0": "odbl",
    "pddl-1.0": "pddl", "licenseref-llama-2": "llama2", "licenseref-llama-3": "llama3",
    "licenseref-cc-unspecified": "cc", "licenseref-openrail-pp": "openrail++",
}


def hf_license_id(license_id: str) -> str | None:
    """The dataset-card id of one licence (`CC-BY-NC-4.0` -> `cc-by-nc-4.0`), or None if the Hub
    has none (the card then says `other`)."""
    key = license_id.lower()
    key = _HF_SPELLING.get(key, key)
    if key.startswith("licenseref-"):
        key = key[len("licenseref-"):]
    return key if key in HF_LICENSE_IDS else None


def license_key(license_id: str) -> str:
    """A comparison key under which the SPDX and Hub spellings of a licence are equal."""
    key = license_id.lower()
    key = _HF_SPELLING.get(key, key)
    return key[len("licenseref-"):] if key.startswith("licenseref-") else key
