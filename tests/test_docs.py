"""The docs keep up with the CLI: every command and option is described."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from lineage.cli import main

DOCS = Path(__file__).resolve().parent.parent / "docs"


def _sections() -> dict[str, str]:
    text = (DOCS / "cli.md").read_text()
    parts = re.split(r"^## lineage (\S+)\s*$", text, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


@pytest.mark.parametrize("name", sorted(main.commands))
def test_every_command_has_help_and_a_docs_section(name: str) -> None:
    command = main.commands[name]
    assert command.help and len(command.help.strip()) > 20, f"lineage {name} needs --help text"
    sections = _sections()
    assert name in sections, f"docs/cli.md has no '## lineage {name}' section"
    for param in command.params:
        if isinstance(param, click.Option):
            assert param.help, f"lineage {name} {param.opts[0]} needs help text"
            assert any(f"`{opt}" in sections[name] for opt in param.opts if opt.startswith("--")), (
                f"docs/cli.md does not describe lineage {name} {param.opts[0]}"
            )


def test_docs_describe_no_command_that_does_not_exist() -> None:
    assert set(_sections()) <= set(main.commands)


def test_readme_links_exist() -> None:
    readme = (DOCS.parent / "README.md").read_text()
    for target in re.findall(r"\]\(([^)#]+)\)", readme):
        if "://" not in target:
            assert (DOCS.parent / target).exists(), f"README links to missing {target}"
