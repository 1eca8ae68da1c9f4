"""Hugging Face dataset cards: read what a card declares, and write the metadata and the
provenance section the data calls for, keeping everything else the user wrote.

Cards are read and written through huggingface_hub's `DatasetCard`, so that what is written is
what the Hub parses. The provenance section sits between two HTML comments (invisible on the
Hub) and is replaced as a whole on each update; nothing outside it is touched.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lineage.exceptions import InputError, UsageError
from lineage.licenses import card_license

if TYPE_CHECKING:
    from lineage.report.model import Report

CARD_NAME = "README.md"
SECTION_START = "<!-- tos-lineage:provenance:start -->"
SECTION_END = "<!-- tos-lineage:provenance:end -->"
# Card fields that disclose model-generated content, besides the provenance section.
MACHINE_GENERATED = "machine-generated"
SYNTHETIC_TAG = "synthetic"
_PROVENANCE_HEADING = re.compile(r"^#{1,6}\s.*\bprovenance\b", re.I | re.M)


@dataclass
class Card:
    """What a dataset card says, with the line of its `license` key for findings to point at."""

    path: Path
    data: dict[str, Any] = field(default_factory=dict)
    text: str = ""
    exists: bool = True
    license_line: int | None = None

    @property
    def license(self) -> str | None:
        """The declared licence as an expression (`license: other` as its `LicenseRef-` name)."""
        return card_license(self.data)

    @property
    def tags(self) -> list[str]:
        tags = self.data.get("tags") or []
        return [str(t) for t in (tags if isinstance(tags, list) else [tags])]

    def discloses_generation(self) -> bool:
        """Whether the card tells a reader that some content is model-generated."""
        creators = []
        for key in ("annotations_creators", "language_creators"):
            value = self.data.get(key) or []
            creators += [str(v) for v in (value if isinstance(value, list) else [value])]
        return (
            SYNTHETIC_TAG in self.tags or MACHINE_GENERATED in creators
            or SECTION_START in self.text or bool(_PROVENANCE_HEADING.search(self.text))
        )


def _hub_card() -> Any:
    try:
        from huggingface_hub import DatasetCard
    except ImportError:
        raise UsageError(
            "dataset cards need huggingface_hub", fix="reinstall tos-lineage: huggingface-hub is one of its dependencies"
        ) from None
    # A card with no YAML header is a card with no metadata, not something to warn about.
    logging.getLogger("huggingface_hub.repocard").setLevel(logging.ERROR)
    return DatasetCard


def find_card(paths: list[str], card: str | None) -> Path | None:
    """The card named, else README.md in the dataset's folder (as on the Hub), else None."""
    if card is not None:
        return Path(card)
    for value in paths:
        p = Path(value)
        folder = p if p.is_dir() else p.parent
        if (folder / CARD_NAME).is_file():
            return folder / CARD_NAME
    return None


def read_card(path: Path) -> Card:
    """Parse a dataset card; a card that does not exist yet reads as empty."""
    if not path.exists():
        return Card(path, exists=False)
    if path.is_dir():
        path = path / CARD_NAME
        if not path.exists():
            return Card(path, exists=False)
    try:
        content = read_content(path)
    except UnicodeDecodeError as exc:
        raise InputError(f"the dataset card is not UTF-8 (byte {exc.start})", where=str(path),
                         fix="save it as UTF-8") from None
    except OSError as exc:
        raise InputError(f"cannot read the dataset card ({exc.strerror})", where=str(path)) from None
    _check_header_closed(content, path)
    hub_card = _hub_card()
    try:
        parsed = hub_card(content)
    except Exception as exc:  # yaml's and the Hub's errors alike: the header is not valid metadata
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(
            f"the card's YAML header is invalid ({first})", where=str(path),
            fix="fix the block between the two --- lines (it must be a YAML mapping)",
        ) from None
    card = Card(path, parsed.data.to_dict(), parsed.text, True, _key_line(content, "license"))
    _check_fields(card)
    return card


def _check_header_closed(content: str, path: Path) -> None:
    """A card that opens a YAML header (`---` on its first line) must close it: the Hub's parser
    would take the whole card for text, and an update would put a new, empty header above it,
    dropping the licence the card declared."""
    lines = content.splitlines()
    if lines and lines[0].rstrip() == "---" and not any(line.rstrip() == "---" for line in lines[1:]):
        raise InputError(
            "the card's YAML header is not closed: the --- on line 1 has no closing --- line", where=f"{path}:1",
            fix="add a line holding only --- after the last line of the header",
        )


def _check_fields(card: Card) -> None:
    """Refuse header values of a type the Hub would not take, naming the key."""
    def texts(key: str, *, single: bool = False) -> None:
        value = card.data.get(key)
        ok = value is None or isinstance(value, str) or (
            not single and isinstance(value, list) and all(isinstance(v, str) for v in value))
        if not ok:
            shape = "a string" if single else "a string or a list of strings"
            raise InputError(f"the card's `{key}` must be {shape}", where=str(card.path),
                             fix=f"e.g. {key}: cc-by-4.0" if key == "license" else f"fix `{key}` in the YAML header")

    for key in ("license", "tags", "source_datasets", "annotations_creators", "language_creators"):
        texts(key)
    for key in ("license_name", "license_link", "pretty_name"):
        texts(key, single=True)
    try:
        card.license  # noqa: B018 - parsed here so that a bad expression is reported with the card's name
    except UsageError as exc:
        raise InputError(f"the card's licence is not a licence expression ({exc.what})", where=str(card.path),
                         fix="use Hub licence ids, e.g. license: cc-by-4.0, or a list of them") from None


def write_card(path: Path, content: str) -> None:
    """Replace the card in one step: a reader, or a failure half-way, never sees half a card."""
    import contextlib
    import os
    import tempfile

    if not path.parent.is_dir():
        raise InputError("no such folder for the dataset card", where=str(path.parent),
                         fix="create it, or check the path given to --card")
    try:
        mode = path.stat().st_mode & 0o7777
    except FileNotFoundError:
        # A new card gets what any new file would: 0666 less the umask (read without changing it).
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    except OSError as exc:
        raise InputError(f"cannot read the dataset card ({exc.strerror})", where=str(path)) from None
    handle, temporary = tempfile.mkstemp(prefix=".card-", suffix=".md", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            out.write(content)
        # mkstemp makes the file 0600: the card keeps the mode it had, so a README stays readable.
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise InputError(f"cannot write the dataset card ({exc.strerror})", where=str(path)) from None


def _key_line(content: str, key: str) -> int | None:
    """The 1-based line of a top-level key in the card's YAML header."""
    lines = content.splitlines()
    if not lines or lines[0].strip() != "---":
        return None
    for n, line in enumerate(lines[1:], 2):
        if line.strip() == "---":
            return None
        if re.match(rf"{re.escape(key)}\s*:", line):
            return n
    return None


def provenance_section(report: Report) -> str:
    """The card's provenance section, from a lint report: sources, models, terms, obligations.

    No time or path goes in it, so updating a card twice from the same data changes nothing.
    """
    lines = [
        SECTION_START,
        "## Provenance",
        "",
        "Where the examples of this dataset came from, as recorded in its lineage store and checked by "
        f"[tos-lineage](https://github.com/tos-lineage/tos-lineage) against the terms of each source "
        f"({report.pack_label(files=False)}).",
        "",
        "| source | kind | licence | examples | generated | terms applied |",
        "|---|---|---|---:|---|---|",
    ]
    for use in sorted(report.sources, key=lambda u: (-u.examples, u.evaluation.source.label())):
        source = use.evaluation.source
        head = "/".join(p for p in (source.provider, source.model) if p) or source.name or "?"
        days = sorted({d.isoformat() for d in (use.first_day, use.last_day) if d})
        terms = ", ".join(f"{d} {v}" for d, v in use.evaluation.terms) or "-"
        lines.append(
            f"| {_cell(head)} | {source.kind} | {_cell(use.evaluation.license or '-')} | {use.examples} | "
            f"{' to '.join(days) or '-'} | {_cell(terms)} |"
        )
    untracked = report.verdicts.get("untracked", 0)
    if untracked:
        lines += ["", f"{untracked} of {report.examples} examples have no recorded origin."]
    models = sorted({use.evaluation.source.model for use in report.sources
                     if use.evaluation.source.kind in ("api", "open-model") and use.evaluation.source.model})
    if models:
        lines += ["", "Model-generated content: " + ", ".join(f"`{m}`" for m in models) + "."]
    obligations = report.obligations()
    if obligations:
        lines += ["", "### Obligations", ""]
        for item in obligations:
            text = f' "{item["text"]}"' if item["text"] and item["type"] == "attribution" else ""
            lines.append(f"- {item['message']}{text}")
    waivers = report.waivers_applied()
    if waivers:
        lines += ["", "### Authorisations", ""]
        for item in waivers:
            lines.append(f"- `{item['code']}` lifted by waiver `{item['id']}`, approved by {item['approved_by']} "
                         f"({item['reference']})")
    lines.append(SECTION_END)
    return "\n".join(lines)


def _cell(text: str) -> str:
    return " ".join(str(text).replace("|", "\\|").split())


def updated_card(card: Card, metadata: dict[str, Any], section: str) -> str:
    """The card's new content: `metadata` set in its YAML header and the provenance section
    replaced (or added at the end); the rest as the user wrote it, in its key order and line breaks."""
    hub_card = _hub_card()
    content = read_content(card.path) if card.exists else ""
    parsed = hub_card(content) if content.strip() else hub_card("---\n---\n")
    eol = "\r\n" if "\r\n" in content else "\n"
    data = parsed.data
    for key, value in metadata.items():
        setattr(data, key, value)
    declared = metadata.get("license")
    if declared is not None and "other" not in (declared if isinstance(declared, list) else [declared]):
        # Only `license: other` is named and linked separately.
        data.pop("license_name", None)
        data.pop("license_link", None)
    text = parsed.text
    start, end = text.find(SECTION_START), text.find(SECTION_END)
    if text.count(SECTION_START) > 1 or text.count(SECTION_END) > 1 or (start < 0) != (end < 0) or end < start:
        raise InputError(
            "the card's provenance markers are not one start followed by one end", where=str(card.path),
            fix=f"keep one {SECTION_START} and one {SECTION_END} after it, or remove both",
        )
    section = section.replace("\n", eol)
    if start >= 0:
        text = text[:start] + section + text[end + len(SECTION_END):]
    else:
        title = "" if text.strip() else f"# {card.path.parent.resolve().name}{eol}{eol}"
        text = title + text.rstrip("\r\n") + (eol * 2 if text.strip() else "") + section + eol
    parsed.text = text
    return parsed.content


def read_content(path: Path) -> str:
    """A card's text as written (line breaks kept), without a byte-order mark."""
    with open(path, encoding="utf-8", newline="") as handle:
        return handle.read().removeprefix("\ufeff")
