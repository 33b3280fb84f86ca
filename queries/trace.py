"""Trace a lot forward (where it went) or backward (where it came from), DESIGN §4."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from enum import StrEnum

from pydantic import BaseModel

from graph.model import Label, RelType
from graph.store import GraphStore, TraceEdge, TraceSites
from queries.errors import NotFound


class Direction(StrEnum):
    FORWARD = "forward"
    BACKWARD = "backward"


class TraceNode(BaseModel):
    """A node of the trace: its label, hops from the root, and site (lots and batches)."""

    id: str
    label: str
    depth: int
    site: str | None = None


class TraceResult(BaseModel):
    root: str
    direction: Direction
    lots: list[str]
    batches: list[str]
    suppliers: list[str]
    customers: list[str]
    shipments: list[str]
    edges: list[tuple[str, str, str]]
    nodes: list[TraceNode]


Edge = TraceEdge
Sites = TraceSites


def trace(store: GraphStore, lot_id: str, direction: Direction) -> TraceResult:
    """The trace of ``lot_id``: one ``trace_reach``, which reads one state of the graph on
    its own (one query on Neo4j)."""
    edges, sites = _traced(store, [lot_id], direction, with_sites=True)
    if (Label.LOT, lot_id) not in sites:  # the root is always among the sites it exists
        raise NotFound("Lot", lot_id)
    return _result(lot_id, direction, edges, sites)


# The label at each end of the relationship types a trace follows.
_ENDS: dict[str, tuple[Label, Label]] = {
    RelType.CONSUMED_IN: (Label.LOT, Label.BATCH),
    RelType.PRODUCED: (Label.BATCH, Label.LOT),
    RelType.SHIPPED_IN: (Label.LOT, Label.SHIPMENT),
    RelType.TO: (Label.SHIPMENT, Label.CUSTOMER),
    RelType.SUPPLIED: (Label.SUPPLIER, Label.LOT),
}


def trace_nodes(
    root: str, direction: Direction, edges: Iterable[Edge], sites: Sites
) -> list[TraceNode]:
    """Every node of the edges (and the root) with its shortest hop count from the root."""
    forward = direction is Direction.FORWARD
    labels: dict[str, Label] = {root: Label.LOT}
    following: dict[str, list[str]] = {}
    for a, rel_type, b in edges:
        src_label, dst_label = _ENDS[rel_type]
        labels[a], labels[b] = src_label, dst_label
        near, far = (a, b) if forward else (b, a)
        following.setdefault(near, []).append(far)
    depth = {root: 0}
    queue = deque([root])
    while queue:
        here = queue.popleft()
        for there in following.get(here, ()):
            if there not in depth:
                depth[there] = depth[here] + 1
                queue.append(there)
    return [
        TraceNode(id=i, label=str(labels[i]), depth=depth[i], site=sites.get((labels[i], i)))
        for i in sorted(depth, key=lambda n: (depth[n], str(labels[n]), n))
    ]


def _result(root: str, direction: Direction, edges: set[Edge], sites: Sites) -> TraceResult:
    def ends(rel_type: RelType, head: bool) -> list[str]:
        picked = {e[2] if head else e[0] for e in edges if e[1] == rel_type}
        return sorted(picked)

    forward = direction is Direction.FORWARD
    lots = set(ends(RelType.PRODUCED, True) if forward else ends(RelType.CONSUMED_IN, False))
    lots.discard(root)
    return TraceResult(
        root=root,
        direction=direction,
        lots=sorted(lots),
        batches=ends(RelType.CONSUMED_IN, True) if forward else ends(RelType.PRODUCED, False),
        suppliers=[] if forward else ends(RelType.SUPPLIED, False),
        customers=ends(RelType.TO, True) if forward else [],
        shipments=ends(RelType.SHIPPED_IN, True) if forward else [],
        edges=sorted(edges),
        nodes=trace_nodes(root, direction, edges, sites),
    )


def trace_edges(store: GraphStore, lot_ids: Iterable[str], direction: Direction) -> set[Edge]:
    """The edges of the traces of ``lot_ids`` together: each node is visited once."""
    return _traced(store, lot_ids, direction, with_sites=False)[0]


def _traced(
    store: GraphStore, lot_ids: Iterable[str], direction: Direction, with_sites: bool
) -> tuple[set[Edge], Sites]:
    return store.trace_reach(
        sorted(set(lot_ids)), direction is Direction.FORWARD, with_sites=with_sites
    )
