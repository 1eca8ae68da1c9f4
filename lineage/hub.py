"""The Hugging Face Hub: check a dataset repository before anyone trains on it, and push a
dataset only when the publication gate passes.

    report = check_repo("acme/answers")                       # downloads a snapshot
    report = check_repo("acme/answers", local_dir="snap/", offline=True)
    push(["data/"], "acme/answers", card="data/README.md")    # PublicationRefused if the gate fails
    gated_push_to_hub(dataset, "acme/answers", card="README.md", store="...")

Everything goes through `huggingface_hub` (its endpoint, token and offline settings:
`HF_ENDPOINT`, `HF_TOKEN`, `HF_HUB_OFFLINE`), imported only here.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lineage.cards import CARD_NAME
from lineage.exceptions import HubError, InputError, PublicationRefused, UsageError
from lineage.report.model import Report


def _hub() -> Any:
    try:
        import huggingface_hub
        from huggingface_hub.utils import disable_progress_bars
    except ImportError:
        raise UsageError("the Hub commands need huggingface_hub", fix="reinstall tos-lineage: huggingface-hub is one of its dependencies") from None
    # Progress goes to a terminal; the CLI's own output is what a CI log should hold.
    disable_progress_bars()
    return huggingface_hub


def _hub_error(what: str, repo_id: str, exc: Exception) -> HubError:
    import re

    reason = " ".join(str(exc).split())
    # No query strings (presigned upload URLs) and no credentials in URLs reach the message.
    reason = re.sub(r"(https?://)[^/\s@]+@", r"\1", reason)
    reason = re.sub(r"(https?://[^\s?'\")]+)\?[^\s'\")]*", r"\1", reason)
    reason = reason.split(" For more information")[0].split(" Please make sure")[0][:240]
    return HubError(f"{what} ({reason})", where=repo_id,
                    fix="check the repository id, HF_TOKEN and the network, or use --local-dir with a snapshot")


def snapshot(repo_id: str, *, local_dir: str | os.PathLike[str] | None = None, revision: str | None = None,
             token: str | None = None, offline: bool = False) -> Path:
    """A local copy of a dataset repository: `local_dir` as it is when offline, else downloaded
    (into `local_dir`, or the Hugging Face cache)."""
    if offline and local_dir is not None:
        folder = Path(local_dir)
        if not folder.is_dir():
            raise InputError("no snapshot in this folder", where=str(folder),
                             fix="download one first (`lineage hub check REPO --local-dir DIR` while online)")
        return folder
    hub = _hub()
    try:
        path = hub.snapshot_download(
            repo_id, repo_type="dataset", revision=revision, local_dir=local_dir, token=token,
            local_files_only=offline,
        )
    except Exception as exc:  # the client's many errors: not found, refused, offline with nothing cached
        raise _hub_error("cannot download the dataset repository", repo_id, exc) from None
    return Path(path)


def check_repo(
    repo_id: str, *, local_dir: str | os.PathLike[str] | None = None, revision: str | None = None,
    token: str | None = None, offline: bool = False, **gate_options: Any,
) -> Report:
    """The publication gate over a Hub dataset repository: its data files, its README.md as card."""
    from lineage.publication import gate

    folder = snapshot(repo_id, local_dir=local_dir, revision=revision, token=token, offline=offline)
    files = repo_data_files(repo_id, folder, revision=revision, token=token, offline=offline)
    return gate(files, card=str(folder / CARD_NAME), **gate_options)


def repo_data_files(repo_id: str, folder: Path, *, revision: str | None = None, token: str | None = None,
                    offline: bool = False) -> list[str]:
    """The dataset files of a snapshot: those the repository's revision lists (a reused
    `--local-dir` may hold others), or, offline, every dataset file in the folder; not hidden
    files, nor metadata such as dataset_infos.json (`is_metadata_file`)."""
    from lineage.readers import DATASET_EXTENSIONS, is_metadata_file

    if offline:
        return [str(folder)]
    try:
        listed = _hub().HfApi(token=token).list_repo_files(repo_id, repo_type="dataset", revision=revision)
    except Exception as exc:
        raise _hub_error("cannot list the dataset repository", repo_id, exc) from None
    files = [str(folder / name) for name in sorted(listed)
             if name.lower().endswith(DATASET_EXTENSIONS) and not any(p.startswith(".") for p in name.split("/"))
             and not is_metadata_file(folder / name)]
    if not files:
        raise InputError("the repository holds no dataset files", where=repo_id,
                         fix="push JSONL, JSON, CSV or Parquet files to it")
    return files


@dataclass
class Pushed:
    """What a push uploaded."""

    repo_id: str
    files: list[str]
    commit_url: str | None
    report: Report


def _repo_files(paths: Sequence[str | os.PathLike[str]]) -> list[tuple[str, Path]]:
    """(path in the repository, local file) for the data: relative to the folder named, or to
    the files' common folder."""
    from lineage.readers import expand_paths

    files = [p for p in expand_paths(paths) if p.name != CARD_NAME]
    if not files:
        raise InputError("no dataset files to push", where=", ".join(map(str, paths)))
    roots = [Path(p) for p in paths if Path(p).is_dir()]
    base = roots[0] if len(roots) == 1 and len(paths) == 1 else Path(os.path.commonpath([f.parent for f in files]))
    out = []
    for f in files:
        if f.is_dir():
            raise InputError("a save_to_disk folder cannot be pushed as files", where=str(f),
                             fix="push it from Python with gated_push_to_hub(load_from_disk(...), ...)")
        out.append((f.relative_to(base).as_posix(), f))
    return out


def push(
    paths: Sequence[str | os.PathLike[str]], repo_id: str, *, card: str | os.PathLike[str] | None = None,
    token: str | None = None, private: bool = False, commit_message: str | None = None, **gate_options: Any,
) -> Pushed:
    """Upload dataset files and their card to a Hub dataset repository, if the publication gate
    passes; else raise PublicationRefused (its `report` holds the findings) and upload nothing."""
    from lineage.cards import find_card
    from lineage.publication import gate

    targets = [str(p) for p in paths]
    card_path = find_card(targets, str(card) if card is not None else None)
    report = gate(targets, card=str(card_path) if card_path else None, **gate_options)
    if report.exit_code:
        raise PublicationRefused(report, where=repo_id)
    assert card_path is not None  # a missing card is PUB001, an error
    return upload(targets, card_path, repo_id, report, token=token, private=private, commit_message=commit_message)


def upload(
    paths: Sequence[str | os.PathLike[str]], card_path: Path, repo_id: str, report: Report, *,
    token: str | None = None, private: bool = False, commit_message: str | None = None,
) -> Pushed:
    """Upload dataset files and their card in one commit (after the gate passed: see `push`)."""
    files = _repo_files(paths)
    hub = _hub()
    api = hub.HfApi(token=token)
    operations = [hub.CommitOperationAdd(path_in_repo=CARD_NAME, path_or_fileobj=str(card_path))]
    operations += [hub.CommitOperationAdd(path_in_repo=name, path_or_fileobj=str(local)) for name, local in files]
    try:
        api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
        commit = api.create_commit(
            repo_id, operations=operations, repo_type="dataset",
            commit_message=commit_message or f"Publish {len(files)} file(s); tos-lineage gate passed",
        )
    except Exception as exc:
        raise _hub_error("the Hub refused the upload", repo_id, exc) from None
    return Pushed(repo_id, [CARD_NAME, *(name for name, _ in files)], getattr(commit, "commit_url", None), report)


def gated_push_to_hub(
    dataset: Any, repo_id: str, *, card: str | os.PathLike[str] | None = None, token: str | None = None,
    private: bool = False, commit_message: str | None = None, max_untracked: float | None = None,
    **lint_options: Any,
) -> Pushed:
    """`dataset.push_to_hub(repo_id)` for an in-memory `datasets.Dataset` or `DatasetDict`, if
    the publication gate passes for it and its `card`; else PublicationRefused, and nothing is
    uploaded. The card is uploaded first; `push_to_hub` adds the data and its `dataset_info` and
    `configs` to it, so the Hub's viewer finds the data under the gated card."""
    from lineage.cards import read_card
    from lineage.config import find_config
    from lineage.linting import lint
    from lineage.publication import check_publication, for_publication, max_untracked_setting

    config = lint_options.pop("config", None) or find_config()
    report = lint(dataset, config=config, **for_publication(lint_options))
    the_card = read_card(Path(card)) if card is not None else None
    check_publication(report, the_card, max_untracked=max_untracked_setting(config, max_untracked),
                      data_path=repo_id)
    if report.exit_code:
        raise PublicationRefused(report, where=repo_id)
    assert the_card is not None  # no card is PUB001, an error
    hub = _hub()
    from datasets.utils.logging import disable_progress_bar

    disable_progress_bar()
    try:
        api = hub.HfApi(token=token)
        # The gated card goes first, so the data is never public under another: push_to_hub then
        # adds its `dataset_info` and `configs` to the card it finds, and keeps the rest.
        api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
        api.upload_file(path_or_fileobj=str(the_card.path), path_in_repo=CARD_NAME, repo_id=repo_id,
                        repo_type="dataset", commit_message="Dataset card; tos-lineage gate passed")
        commit = dataset.push_to_hub(repo_id, token=token, private=private, commit_message=commit_message)
        files = sorted(api.list_repo_files(repo_id, repo_type="dataset"))
    except Exception as exc:
        raise _hub_error("the Hub refused the upload", repo_id, exc) from None
    return Pushed(repo_id, files, getattr(commit, "commit_url", None) or str(commit), report)
