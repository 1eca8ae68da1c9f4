"""The lineage graph: sources -> datasets -> derived datasets, as a networkx DiGraph.

Nodes are `source:<id>` (what produced content: a provider's model, an open model, people) and
`dataset:<id>` (a registered dataset). An edge source -> dataset says the dataset holds segments
that source produced and that no parent dataset holds (a root dataset's own sources, a rewrite's
model); an edge dataset -> dataset is a derivation, with its transform. Reading a dataset's
ancestors off the graph gives everything its content came from.

    graph = load_graph(store)
    sub = lineage_of(graph, "dataset:3")
    print(render_tree(sub, "dataset:3"))
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from lineage.sources import SourceSpec
from lineage.store.schema import DatasetRow, DerivationRow, SourceRow, dataset_segments, origins

if TYPE_CHECKING:
    import networkx as nx

    from lineage.store.store import Store

GRAPH_VERSION = 1


def dataset_node(ident: int) -> str:
    return f"dataset:{ident}"


def source_node(ident: int) -> str:
    return f"source:{ident}"


def load_graph(store: Store) -> nx.DiGraph:
    """The whole store's lineage graph."""
    import networkx as nx

    graph = nx.DiGraph()
    datasets, sources = DatasetRow.__table__, SourceRow.__table__
    members = dataset_segments.c
    with store.read() as conn:
        untracked = dict(conn.execute(
            select(members.dataset_id, func.count())
            .select_from(dataset_segments.outerjoin(origins, origins.c.fingerprint == members.fingerprint))
            .where(members.inherited.is_(False), origins.c.id.is_(None))
            .group_by(members.dataset_id)
        ).all())
        counts = dict(conn.execute(select(members.dataset_id, func.count()).group_by(members.dataset_id)).all())
        for row in conn.execute(select(datasets).order_by(datasets.c.id)):
            graph.add_node(
                dataset_node(row.id), kind="dataset", number=row.id, name=row.name, path=row.path, sha256=row.content_sha256,
                license=row.license, origin=row.origin, segments=counts.get(row.id, 0),
                untracked=untracked.get(row.id, 0),
            )
        used = conn.execute(
            select(members.dataset_id, origins.c.source_id, func.count(members.fingerprint.distinct()),
                   func.min(origins.c.generated_at), func.max(origins.c.generated_at))
            .select_from(dataset_segments.join(origins, origins.c.fingerprint == members.fingerprint))
            .where(members.inherited.is_(False))
            .group_by(members.dataset_id, origins.c.source_id)
        ).all()
        edges = conn.execute(select(DerivationRow.__table__).order_by(DerivationRow.__table__.c.id)).all()
        wanted = {source_id for _, source_id, *_ in used} | {e.by_source_id for e in edges if e.by_source_id}
        for row in conn.execute(select(sources).where(sources.c.id.in_(sorted(wanted))).order_by(sources.c.id)):
            spec = SourceSpec(kind=row.kind, provider=row.provider, model=row.model, channel=row.channel,
                              license=row.license, name=row.name)
            graph.add_node(source_node(row.id), kind="source", number=row.id, label=spec.label(), spec=spec.model_dump())
        for dataset_id, source_id, segments, first, last in used:
            graph.add_edge(source_node(source_id), dataset_node(dataset_id), kind="produced", segments=segments,
                           first=first.date().isoformat() if first else None,
                           last=last.date().isoformat() if last else None)
        for edge in edges:
            graph.add_edge(dataset_node(edge.parent_id), dataset_node(edge.dataset_id), kind="derived",
                           transform=edge.transform, by=source_node(edge.by_source_id) if edge.by_source_id else None)
    return graph


def lineage_of(graph: nx.DiGraph, node: str) -> nx.DiGraph:
    """The part of the graph `node` came from: it and all its ancestors."""
    import networkx as nx

    keep = nx.ancestors(graph, node) | {node}
    return graph.subgraph(keep).copy()


def _describe(graph: nx.DiGraph, node: str) -> str:
    data = graph.nodes[node]
    if data["kind"] == "source":
        return _one_line(data["label"])
    number = f"dataset #{data['number']}" if data["number"] > 0 else "not registered"
    facts = [number, f"licence {data['license'] or 'not declared'}",
             f"{data['segments']} segments"] + ([f"sha256 {data['sha256'][:12]}"] if data["sha256"] else [])
    if data["untracked"]:
        facts.insert(3, f"{data['untracked']} untracked")
    return f"{_one_line(data['name'])}  [{', '.join(facts)}]"


def _one_line(text: str) -> str:
    """A name on one line: a line break in a name must not look like another branch of the tree."""
    return " ".join(text.splitlines())


def render_tree(graph: nx.DiGraph, root: str) -> str:
    """The lineage of `root` as an indented tree, from the dataset up to its sources. A node met a
    second time (a diamond in the graph) is named, not expanded again."""
    lines = [_describe(graph, root)]
    shown: set[str] = {root}

    def walk(node: str, prefix: str) -> None:
        parents = sorted(graph.predecessors(node), key=lambda n: (graph.nodes[n]["kind"] != "source", n))
        for i, parent in enumerate(parents):
            last = i == len(parents) - 1
            edge = graph.edges[parent, node]
            if edge["kind"] == "produced":
                span = f", {edge['first']} to {edge['last']}" if edge["first"] else ""
                label = f"{_describe(graph, parent)}: {edge['segments']} segments{span}"
            else:
                by = f" by {graph.nodes[edge['by']]['label']}" if edge["by"] and edge["by"] in graph else ""
                label = f"{edge['transform']}{by} of {_describe(graph, parent)}"
            again = parent in shown and graph.nodes[parent]["kind"] == "dataset"
            lines.append(f"{prefix}{'└── ' if last else '├── '}{label}{' (shown above)' if again else ''}")
            if not again:
                shown.add(parent)
                walk(parent, prefix + ("    " if last else "│   "))

    walk(root, "")
    return "\n".join(lines) + "\n"


def to_json(graph: nx.DiGraph, root: str | None = None) -> str:
    """The graph as JSON: `graph_version`, `root`, `nodes` and `edges`, in a stable order."""
    nodes = [{**graph.nodes[n], "id": n} for n in sorted(graph.nodes, key=node_order)]
    edges = [{"from": a, "to": b, **graph.edges[a, b]} for a, b in _edges(graph)]
    return json.dumps({"graph_version": GRAPH_VERSION, "root": root, "nodes": nodes, "edges": edges}, indent=2) + "\n"


def to_dot(graph: nx.DiGraph) -> str:
    """The graph in Graphviz DOT, sources as ellipses and datasets as boxes."""
    out = ["digraph lineage {", "  rankdir=LR;"]
    for node in sorted(graph.nodes, key=node_order):
        data = graph.nodes[node]
        shape = "ellipse" if data["kind"] == "source" else "box"
        lines = [data["label"]] if data["kind"] == "source" else [data["name"], data["license"] or "no licence"]
        label = "\\n".join(_dot_escape(t) for t in lines)  # DOT's own line break
        out.append(f'  "{node}" [shape={shape}, label="{label}"];')
    for a, b in _edges(graph):
        edge = graph.edges[a, b]
        out.append(f'  "{a}" -> "{b}" [label="{_dot_escape(edge_label(edge))}"];')
    out.append("}")
    return "\n".join(out) + "\n"


def node_order(node: str) -> tuple[str, str]:
    """A stable sort key for nodes: by kind, then by number."""
    kind, _, ident = node.partition(":")
    return kind, ident.rjust(12, "0")


def edge_label(edge: dict) -> str:
    """What an edge says: a source's segment count, or a derivation's transform."""
    return f"{edge['segments']} segments" if edge["kind"] == "produced" else edge["transform"]


def _edges(graph: nx.DiGraph) -> list[tuple[str, str]]:
    return sorted(graph.edges, key=lambda e: (node_order(e[0]), node_order(e[1])))


def _dot_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')
