"""Plotly figures: the trace graph and the impurity control charts.

The trace is drawn with a networkx layered layout in plotly rather than a graph component:
plotly ships with Streamlit's own chart element (no third-party front-end to maintain or
trust), its point selection reaches Python through ``st.plotly_chart(on_select=...)``, the
layout is deterministic (the same trace always looks the same), and a lot's forward trace is
a layered flow (lot -> batch -> lot -> customer) that a left-to-right layout shows best.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
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


LABEL_LIMIT = 60  # nodes: a graph this small has each node's id written beside it
ARROW_LIMIT = 400  # edges: up to this many each has its arrow; beyond, the flow reads left to right


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
    arrows = graph.number_of_edges() <= ARROW_LIMIT
    for source, target in sorted(graph.edges):
        (x0, y0), (x1, y1) = positions[source], positions[target]
        edge_x += [float(x0), float(x1), None]
        edge_y += [float(y0), float(y1), None]
        if arrows:  # the direction of each edge (the flow of material), head at the target
            figure.add_annotation(
                x=float(x1),
                y=float(y1),
                ax=float(x0),
                ay=float(y0),
                xref="x",
                yref="y",
                axref="x",
                ayref="y",
                text="",
                showarrow=True,
                arrowhead=2,
                arrowsize=1.2,
                arrowwidth=1,
                arrowcolor="#888888",
                standoff=8,  # stop at the marker's edge, not under it
                startstandoff=8,
                captureevents=False,
            )
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
                mode="markers+text" if len(graph) <= LABEL_LIMIT else "markers",
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


# Nelson's rules as the control chart applies them (queries/trend.py)
RULES = {
    1: "a point beyond 3 sigma",
    2: "9 points in a row on one side of the centre line",
    3: "6 points in a row rising or falling",
    4: "14 points in a row alternating up and down",
}
IN_TREND, OUT_OF_TREND, OUT_OF_SPEC = (
    "in specification, in trend",
    "out of trend (OOT)",
    "out of specification (OOS)",
)


def series_label(product: str | None, method: str | None) -> str:
    """A control chart's name, as the API labels its results ("product / method")."""
    return f"{product or '(no product)'} / {method or '(no method)'}"


def readable_p(score: float | None) -> str:
    """A p-value from its score (-log10 p) as people read it: "1", "0.041", "3.2e-12".
    (From the score, not from p: a p too small for a float still reads right.)"""
    if score is None or math.isnan(score):
        return ""
    if score <= 0:
        return "1"
    if score < 4:
        return f"{10**-score:.2g}"
    exponent = math.ceil(score)
    mantissa = round(10 ** (exponent - score), 1)
    if mantissa >= 10:  # 9.96 rounds to 10: one power of ten less
        mantissa, exponent = mantissa / 10, exponent - 1
    return f"{mantissa:g}e-{exponent}"


def _rules_text(point: Mapping[str, Any]) -> str:
    reasons = []
    if point.get("oos"):
        reasons.append("out of specification")
    reasons += [f"rule {rule}: {RULES.get(rule, '?')}" for rule in point.get("oot") or []]
    return "; ".join(reasons) or "in specification, in trend"


def control_chart(
    series: Mapping[str, Any],
    points: Sequence[Mapping[str, Any]],
    highlight: set[str],
    highlight_name: str,
) -> go.Figure:
    """One series' individuals control chart: its results over time (out of trend as
    orange triangles, out of specification as red diamonds), the centre line and the
    +-3 sigma control limits over the series' time span, its baseline shaded, the
    specification limits named with their product, and the points of the highlighted units
    circled. ``points`` are the series' own results."""
    figure = go.Figure()
    timed = sorted(
        (p for p in points if p.get("tested_at") and p.get("value") is not None),
        key=lambda p: p["tested_at"],
    )
    groups = (
        (IN_TREND, [p for p in timed if not p.get("flagged")], "#1f77b4", "circle", 6),
        (
            OUT_OF_TREND,
            [p for p in timed if p.get("oot") and not p.get("oos")],
            "#ff7f0e",
            "triangle-up",
            10,
        ),
        (OUT_OF_SPEC, [p for p in timed if p.get("oos")], "#d62728", "diamond", 11),
    )
    for name, members, colour, symbol, size in groups:
        if not members and name != IN_TREND:
            continue
        figure.add_trace(
            go.Scatter(
                x=[p["tested_at"] for p in members],
                y=[p["value"] for p in members],
                mode="markers",
                name=name,
                marker={
                    "color": colour,
                    "symbol": symbol,
                    "size": size,
                    "line": {"width": 0.5, "color": "#333333"},
                },
                customdata=[
                    [p["result_id"], p["target_id"], ", ".join(p["units"]), _rules_text(p)]
                    for p in members
                ],
                hovertemplate=(
                    "%{y} on %{x}<br>result %{customdata[0]} on %{customdata[1]}"
                    "<br>units %{customdata[2]}<br>%{customdata[3]}<extra></extra>"
                ),
            )
        )
    span = [timed[0]["tested_at"], timed[-1]["tested_at"]] if timed else []
    product = series.get("product") or "(no product)"

    def level(y: float | None, name: str, colour: str, dash: str, width: float = 1.5) -> None:
        if y is None or not span:
            return
        figure.add_trace(
            go.Scatter(
                x=span,
                y=[y, y],
                mode="lines",
                line={"color": colour, "dash": dash, "width": width},
                name=name,
                hovertemplate=f"{name}<extra></extra>",
            )
        )

    if series.get("centre") is not None:
        level(series["centre"], f"centre {series['centre']:.3g}", "#2ca02c", "solid")
    if series.get("evaluated"):
        upper, lower = series["upper_control"], series["lower_control"]
        level(upper, f"upper control limit (+3σ) {upper:.3g}", "#7f7f7f", "dash")
        level(lower, f"lower control limit (-3σ) {lower:.3g}", "#7f7f7f", "dash")
    for limit in series.get("spec_upper") or []:
        level(limit, f"upper spec {product} {limit:g}", "#d62728", "dashdot", 2)
    for limit in series.get("spec_lower") or []:
        level(limit, f"lower spec {product} {limit:g}", "#d62728", "dashdot", 2)
    if series.get("baseline_from") and series.get("baseline_to"):
        figure.add_vrect(
            x0=series["baseline_from"],
            x1=series["baseline_to"],
            fillcolor="#2ca02c",
            opacity=0.08,
            line_width=0,
            layer="below",
            name=f"baseline ({series['baseline_points']} results)",
            showlegend=True,
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
                    "size": 18,
                    "color": "rgba(0,0,0,0)",
                    "line": {"width": 2.5, "color": "#9467bd"},
                },
                hoverinfo="skip",
            )
        )
    unit = next((p.get("unit") for p in timed if p.get("unit")), None)
    analyte = series.get("analyte") or ""
    figure.update_layout(
        height=380,
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        yaxis_title=f"{analyte} ({unit})" if unit else analyte,
        legend={"orientation": "h", "yanchor": "top", "y": -0.12, "x": 0},
        hovermode="closest",
    )
    return figure
