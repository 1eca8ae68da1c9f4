"""Local Hugging Face datasets: `save_to_disk` folders and repository snapshots with a card."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lineage.exceptions import InputError
from lineage.licenses import card_license

_SAVED_MARKERS = ("dataset_dict.json", "state.json")


def is_saved_dataset(path: Path) -> bool:
    """A folder written by `Dataset.save_to_disk` or `DatasetDict.save_to_disk`."""
    return path.is_dir() and any((path / marker).is_file() for marker in _SAVED_MARKERS)


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
            fix="pip install 'tos-lineage[hf]', or pass --license and --name",
        ) from None
    try:
        return DatasetCard.load(readme).data.to_dict()
    except Exception as exc:
        raise InputError(
            f"cannot read the dataset card ({exc})", where=str(readme), fix="fix its YAML header"
        ) from None


def card_source_fields(folder: Path) -> dict[str, str | None]:
    """The name and licence a dataset card declares, as source fields."""
    data = read_card(folder)
    if not data:
        return {}
    name = data.get("pretty_name")
    return {"name": str(name) if name else None, "license": card_license(data)}
