"""Plotly figures: the trace graph and the impurity control chart.

The trace is drawn with a networkx layered layout in plotly rather than a graph component:
plotly ships with Streamlit's own chart element (no third-party front-end to maintain or
trust), its point selection reaches Python through ``st.plotly_chart(on_select=...)``, the
layout is deterministic (the same trace always looks the same), and a lot's forward trace is
a layered flow (lot -> batch -> lot -> customer) that a left-to-right layout shows best.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import networkx as nx
import plotly.graph_objects as go

KIND_COLOURS = {
    "Lot": "#1f77b4",
    "Batch": "#ff7f0e",
    "Customer": "#2ca02c",
    "Supplier": "#9467bd",
    "Shipment": "#8c564b",
}
STATUS_SYMBOLS = {
    "released": "circle",
    "quarantine": "square",
    "on_hold": "diamond",
    "rejected": "x",
    "consumed": "circle-open",
    "in_progress": "triangle-up",
    "planned": "triangle-up-open",
    "executed": "star",
    "in_review": "hexagon",
    "redacted": "circle-x-open",
}


def trace_graph(
    traces: Iterable[Mapping[str, Any]], statuses: Mapping[str, str | None]
) -> tuple[go.Figure, list[dict[str, Any]]]:
    """The union of some traces as a left-to-right graph; also the nodes it shows, in the
    order their points carry (for opening a clicked node)."""
    graph = nx.DiGraph()
    for answer in traces:
        for node in answer["nodes"]:
            depth = node.get("depth", 0)
            known = graph.nodes.get(node["id"])
            if known is None or depth < known["layer"]:
                graph.add_node(
                    node["id"],
                    label=node["label"],
                    layer=depth,
                    site=node.get("site"),
                    redacted=bool(node.get("redacted")),
                )
        for source, kind, target in answer["edges"]:
            graph.add_edge(source, target, kind=kind)
    # redacted nodes carry no depth: place them after what leads to them
    for node_id in nx.topological_sort(graph) if nx.is_directed_acyclic_graph(graph) else []:
        before = [graph.nodes[p]["layer"] for p in graph.predecessors(node_id)]
        if graph.nodes[node_id].get("redacted") and before:
            graph.nodes[node_id]["layer"] = max(before) + 1
    for node_id in list(graph.nodes):
        graph.nodes[node_id].setdefault("layer", 0)
        graph.nodes[node_id].setdefault("label", "?")
    positions = nx.multipartite_layout(graph, subset_key="layer") if graph else {}

    figure = go.Figure()
    edge_x: list[float | None] = []
    edge_y: list[float | None] = []
    for source, target in graph.edges:
        (x0, y0), (x1, y1) = positions[source], positions[target]
        edge_x += [float(x0), float(x1), None]
        edge_y += [float(y0), float(y1), None]
    figure.add_trace(
        go.Scatter(
            x=edge_x,
            y=edge_y,
            mode="lines",
            line={"width": 0.7, "color": "#aaaaaa"},
            hoverinfo="skip",
            showlegend=False,
        )
    )
    shown: list[dict[str, Any]] = []
    groups: dict[tuple[str, str], list[str]] = {}
    for node_id, data in graph.nodes(data=True):
        status = "redacted" if data["redacted"] else (statuses.get(node_id) or "")
        groups.setdefault((data["label"], status), []).append(node_id)
    for (label, status), ids in sorted(groups.items()):
        ids.sort()
        points = []
        for node_id in ids:
            data = graph.nodes[node_id]
            points.append({"id": node_id, "label": label, "status": status or None})
            shown.append(points[-1])
        figure.add_trace(
            go.Scatter(
                x=[float(positions[i][0]) for i in ids],
                y=[float(positions[i][1]) for i in ids],
                mode="markers+text" if len(graph) <= 60 else "markers",
                text=ids,
                textposition="top center",
                textfont={"size": 9},
                customdata=[[i, label] for i in ids],
                hovertemplate="%{customdata[1]} %{customdata[0]}<extra>"
                + (status or "")
                + "</extra>",
                marker={
                    "size": 14 if label != "Batch" else 12,
                    "color": KIND_COLOURS.get(label, "#7f7f7f"),
                    "symbol": STATUS_SYMBOLS.get(status, "circle"),
                    "line": {"width": 1, "color": "#333333"},
                },
                name=f"{label} · {status}" if status else label,
            )
        )
    figure.update_layout(
        height=max(360, min(900, 28 * _widest_layer(graph))),
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        xaxis={"visible": False},
        yaxis={"visible": False},
        clickmode="event+select",
        legend={"orientation": "h"},
    )
    return figure, shown


def _widest_layer(graph: nx.DiGraph) -> int:
    layers: dict[int, int] = {}
    for _, layer in graph.nodes(data="layer"):
        layers[layer] = layers.get(layer, 0) + 1
    return max(layers.values(), default=1)


def control_chart(
    analyte: str, points: list[Mapping[str, Any]], highlight: set[str], highlight_name: str
) -> go.Figure:
    """An analyte's results over time with its upper limit, flagged points in red, and the
    points of the highlighted units circled."""
    figure = go.Figure()
    timed = [p for p in points if p.get("tested_at") and p.get("value") is not None]
    groups = (
        ("within limits", [p for p in timed if not p["flagged"]], "#1f77b4", "circle", 7),
        ("above the upper limit", [p for p in timed if p["flagged"]], "#d62728", "diamond", 10),
    )
    for name, members, colour, symbol, size in groups:
        figure.add_trace(
            go.Scatter(
                x=[p["tested_at"] for p in members],
                y=[p["value"] for p in members],
                mode="markers",
                name=name,
                marker={"color": colour, "symbol": symbol, "size": size},
                customdata=[
                    [p["result_id"], p["target_id"], ", ".join(p["units"])] for p in members
                ],
                hovertemplate=(
                    "%{y} on %{x}<br>result %{customdata[0]} on %{customdata[1]}"
                    "<br>units %{customdata[2]}<extra></extra>"
                ),
            )
        )
    # one line per limit (batches and lots of one analyte may have different limits),
    # drawn across the time its results span
    spans: dict[float, list[str]] = {}
    for p in timed:
        if p.get("upper_limit") is not None:
            spans.setdefault(float(p["upper_limit"]), []).append(p["tested_at"])
    for limit, times in sorted(spans.items()):
        figure.add_trace(
            go.Scatter(
                x=[min(times), max(times)],
                y=[limit, limit],
                mode="lines",
                line={"color": "#d62728", "dash": "dash"},
                name=f"upper limit {limit:g}",
                hoverinfo="skip",
            )
        )
    picked = [p for p in timed if highlight.intersection(p["units"])]
    if picked:
        figure.add_trace(
            go.Scatter(
                x=[p["tested_at"] for p in picked],
                y=[p["value"] for p in picked],
                mode="markers",
                name=highlight_name,
                marker={
                    "size": 17,
                    "color": "rgba(0,0,0,0)",
                    "line": {"width": 2.5, "color": "#ff9900"},
                },
                hoverinfo="skip",
            )
        )
    unit = next((p.get("unit") for p in timed if p.get("unit")), None)
    figure.update_layout(
        height=440,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        yaxis_title=f"{analyte} ({unit})" if unit else analyte,
        xaxis_title="tested at",
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0},
    )
    return figure
