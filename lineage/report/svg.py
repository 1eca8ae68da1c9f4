"""The lineage graph as an SVG picture: columns from sources (left) to the dataset (right).

Drawn here rather than by Graphviz: the report must render with nothing installed and no
network, and a graph of a few sources and datasets needs only columns. A node's column is one past
its deepest parent; a source sits in the column just left of the first dataset it feeds.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

from lineage.graph import edge_label, node_order

if TYPE_CHECKING:
    import networkx as nx

_COLUMN, _ROW = 290, 84
_WIDTH, _HEIGHT = 230, 58
_MARGIN = 24
_CHARS = 34  # per line at the font size used


def _columns(graph: nx.DiGraph) -> dict[str, int]:
    import networkx as nx

    # Columns need an order: a cycle (recorded by hand, or by an older version) is drawn with the
    # edges that close it left out of the layout.
    layout = nx.DiGraph(graph)
    while not nx.is_directed_acyclic_graph(layout):
        layout.remove_edge(*nx.find_cycle(layout)[-1][:2])
    column: dict[str, int] = {}
    for node in nx.topological_sort(layout):
        parents = [column[p] for p in layout.predecessors(node) if graph.nodes[p]["kind"] == "dataset"]
        column[node] = max(parents) + 1 if parents else 0
    # Datasets start after a column of sources; each source sits left of its first dataset.
    for node, data in graph.nodes(data=True):
        if data["kind"] == "dataset":
            column[node] += 1
    for node, data in graph.nodes(data=True):
        if data["kind"] == "source":
            children = [column[c] for c in graph.successors(node)]
            column[node] = min(children) - 1 if children else 0
    return column


def _short(text: str) -> str:
    return text if len(text) <= _CHARS else text[: _CHARS - 1] + "…"


def graph_svg(graph: nx.DiGraph, root: str, *, blocked: set[str] = frozenset()) -> str:  # type: ignore[assignment]
    """An SVG of `graph`, the dataset `root` highlighted, sources whose label is in `blocked` marked."""
    column = _columns(graph)
    rows: dict[int, list[str]] = {}
    for node in sorted(graph.nodes, key=lambda n: (column[n], node_order(n))):
        rows.setdefault(column[node], []).append(node)
    place = {node: (col, i) for col, nodes in rows.items() for i, node in enumerate(nodes)}
    width = _MARGIN * 2 + (max(rows) + 1) * _COLUMN - (_COLUMN - _WIDTH) if rows else 100
    height = _MARGIN * 2 + max((len(n) for n in rows.values()), default=1) * _ROW - (_ROW - _HEIGHT)

    def box(node: str) -> tuple[float, float]:
        col, row = place[node]
        return _MARGIN + col * _COLUMN, _MARGIN + row * _ROW

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="lineage-graph" role="img" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" font-family="sans-serif" font-size="12">',
        "<title>Lineage graph</title>",
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#555"/></marker></defs>',
    ]
    for a, b in sorted(graph.edges, key=lambda e: (node_order(e[0]), node_order(e[1]))):
        (ax, ay), (bx, by) = box(a), box(b)
        x1, y1, x2, y2 = ax + _WIDTH, ay + _HEIGHT / 2, bx, by + _HEIGHT / 2
        middle = (x1 + x2) / 2
        edge = graph.edges[a, b]
        label = edge_label(edge)
        out.append(
            f'<g class="edge {edge["kind"]}"><path d="M {x1} {y1} C {middle} {y1}, {middle} {y2}, {x2} {y2}" '
            f'fill="none" stroke="#555" stroke-width="1.2" marker-end="url(#arrow)"/>'
            f'<text x="{middle}" y="{(y1 + y2) / 2 - 4}" text-anchor="middle" fill="#333">{escape(label)}</text></g>'
        )
    for node in sorted(graph.nodes, key=node_order):
        data = graph.nodes[node]
        x, y = box(node)
        if data["kind"] == "source":
            lines = [data["label"], "source"]
            stop = data["label"] in blocked
            fill, stroke = ("#fde2e1", "#b42318") if stop else ("#e8f1fb", "#2e5c8a")
            shape = (f'<rect x="{x}" y="{y}" width="{_WIDTH}" height="{_HEIGHT}" rx="{_HEIGHT / 2}" '
                     f'fill="{fill}" stroke="{stroke}"/>')
            kind = "source blocked" if stop else "source"
        else:
            lines = [data["name"], f"licence {data['license'] or 'not declared'}"]
            emphasis = "2.5" if node == root else "1.2"
            shape = (f'<rect x="{x}" y="{y}" width="{_WIDTH}" height="{_HEIGHT}" rx="4" fill="#f4f4f0" '
                     f'stroke="#444" stroke-width="{emphasis}"/>')
            kind = "dataset root" if node == root else "dataset"
        weights = [' font-weight="bold"', ""]
        text = "".join(
            f'<text x="{x + 12}" y="{y + 24 + 18 * i}" fill="#111"{weights[i]}>{escape(_short(line))}</text>'
            for i, line in enumerate(lines)
        )
        out.append(f'<g class="node {kind}" data-node="{escape(node)}"><title>{escape(lines[0])}</title>{shape}{text}</g>')
    out.append("</svg>")
    return "\n".join(out) + "\n"
