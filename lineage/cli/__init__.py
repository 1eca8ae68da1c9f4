"""The `lineage` command: a thin layer over the library."""

from __future__ import annotations

import gc

import click

from lineage import __version__
from lineage.cli.common import LineageGroup
from lineage.cli.datasets import dataset, derive, graph
from lineage.cli.exports import export
from lineage.cli.hub import hub
from lineage.cli.imports import import_
from lineage.cli.lint import lint
from lineage.cli.policies import explain, policies
from lineage.cli.publish import card, gate
from lineage.cli.reports import notice, report
from lineage.cli.serve import serve
from lineage.cli.store import init, show, sources, stats


@click.group(cls=LineageGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="tos-lineage")
def main() -> None:
    """Record where every training example came from, and check it against provider terms."""


for command in (init, import_, lint, sources, show, stats, policies, explain, dataset, derive, graph, report, notice,
                gate, card, export, hub, serve):
    main.add_command(command)



def run() -> None:
    """The installed command (and `python -m lineage`): the group, then a quick exit."""
    try:
        main(prog_name="lineage")
    finally:
        # The process ends here. Its last garbage collection would walk every object a large lint
        # made (a tenth of a second after the output); frozen ones are left to the exit itself.
        gc.freeze()


__all__ = ["main", "run"]
