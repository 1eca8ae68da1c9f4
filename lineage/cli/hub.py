"""`lineage hub`: check a Hugging Face dataset repository, and push one only when the gate passes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from lineage.cli.publish import gate_options, run_gate, show_gate
from lineage.exceptions import PublicationRefused

_REPO = "REPO_ID"


@click.group()
def hub() -> None:
    """Check a Hugging Face Hub dataset repository against the publication gate, or push a
    dataset to one only if it passes."""


@hub.command()
@click.argument("repo_id", metavar=_REPO)
@click.option("--local-dir", type=click.Path(file_okay=False, path_type=Path), metavar="DIR",
              help="Download the snapshot into DIR (or, with --offline, read the snapshot already there).")
@click.option("--offline", is_flag=True,
              help="Do not reach the Hub: read --local-dir, or the Hugging Face cache (also with HF_HUB_OFFLINE=1).")
@click.option("--revision", metavar="REV", help="A branch, tag or commit of the repository (default: main).")
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when the gate fails.")
@gate_options
def check(repo_id: str, local_dir: Path | None, offline: bool, revision: str | None, exit_zero: bool,
          max_untracked: float | None, output_format: str, output: Path | None, statistics: bool,
          max_findings: int | None, jobs: int, **evaluation: Any) -> None:
    """Run the publication gate over a dataset repository on the Hub: its data files, with its
    README.md as the dataset card. Origins come from the rows and from your lineage store.

    \b
    Examples:
      lineage hub check acme/answers
      lineage hub check acme/answers --local-dir snapshot/ --offline

    Exits 1 when the gate fails, 2 when the repository cannot be read.
    """
    import os

    from lineage.hub import repo_data_files, snapshot

    offline = offline or os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes")
    folder = snapshot(repo_id, local_dir=local_dir, revision=revision, offline=offline)
    files = repo_data_files(repo_id, folder, revision=revision, offline=offline)
    linted = run_gate(tuple(files), folder / "README.md", max_untracked=max_untracked, max_findings=max_findings,
                      jobs=jobs, evaluation=evaluation)
    show_gate(linted, output_format, output, statistics)
    if linted.exit_code and not exit_zero:
        raise SystemExit(linted.exit_code)


@hub.command()
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.argument("repo_id", metavar=_REPO)
@click.option("--card", type=click.Path(path_type=Path), metavar="FILE",
              help="The dataset card to check and upload as README.md (default: README.md beside the data).")
@click.option("--private", is_flag=True, help="Create the repository as private (when it does not exist yet).")
@click.option("--message", "commit_message", metavar="TEXT", help="The commit message.")
@gate_options
def push(path: Path, repo_id: str, card: Path | None, private: bool, commit_message: str | None,
         max_untracked: float | None, output_format: str, output: Path | None, statistics: bool,
         max_findings: int | None, jobs: int, **evaluation: Any) -> None:
    """Upload a dataset (a file or a folder) and its card to a Hub dataset repository, in one
    commit, if the publication gate passes; if it fails, print why and upload nothing. The token
    is huggingface_hub's (HF_TOKEN, or `hf auth login`).

    \b
    Examples:
      lineage hub push data/ acme/answers
      lineage hub push data/train.jsonl acme/answers --card README.md --non-commercial

    Exits 1 when the gate fails (nothing is uploaded), 2 on bad input or when the Hub refuses.
    """
    from lineage.cli.publish import _card_path
    from lineage.hub import upload

    linted = run_gate((str(path),), card, max_untracked=max_untracked, max_findings=max_findings, jobs=jobs,
                      evaluation=evaluation)
    if linted.exit_code:
        show_gate(linted, output_format, output, statistics)
        raise PublicationRefused(linted, where=repo_id)
    found = _card_path((str(path),), card, linted)
    assert found is not None  # no card is PUB001, an error
    pushed = upload([str(path)], found, repo_id, linted, private=private, commit_message=commit_message)
    click.echo(f"pushed {len(pushed.files)} file(s) to {repo_id}" + (f": {pushed.commit_url}" if pushed.commit_url else ""))
