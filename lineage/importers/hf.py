"""Local Hugging Face datasets: `save_to_disk` folders and repository snapshots with a card."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lineage.exceptions import InputError, LineageError
from lineage.licenses import card_license


def read_card(folder: Path) -> dict[str, Any]:
    """The YAML metadata of the folder's dataset card (README.md), or {} when there is none."""
    readme = folder / "README.md"
    if not readme.is_file():
        return {}
    try:
        from huggingface_hub import DatasetCard
    except ImportError:
        raise InputError(
            "reading a dataset card needs huggingface_hub",
            where=str(readme),
            fix="reinstall tos-lineage (huggingface-hub is a dependency), or pass --license and --name",
        ) from None
    try:
        return DatasetCard.load(readme).data.to_dict()
    except Exception as exc:
        detail = " ".join(str(exc).split())
        raise InputError(
            f"cannot read the dataset card ({detail})",
            where=str(readme),
            fix="fix its YAML header, or pass --name and --license to do without it",
        ) from None


def card_source_fields(folder: Path) -> dict[str, str | None]:
    """The name and licence a dataset card declares, as source fields."""
    data = read_card(folder)
    if not data:
        return {}
    name = data.get("pretty_name")
    try:
        license_ = card_license(data)
    except LineageError as exc:
        raise InputError(exc.what, where=str(folder / "README.md"), fix=exc.fix) from None
    return {"name": str(name) if name else None, "license": license_}
