"""Trace a lot forward (where it went) or backward (where it came from), DESIGN §4."""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Iterable
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel

from graph.cypher_files import read_cypher
from graph.embedded import EmbeddedStore
from graph.model import Label, RelType
from graph.neo4j_store import Neo4jStore
from graph.store import GraphStore
from queries.errors import NotFound
from queries.snapshot import one_snapshot

_HERE = Path(__file__).parent


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


Edge = tuple[str, str, str]
Sites = dict[tuple[str, str], str | None]  # (label, id) of each lot and batch -> its site


@one_snapshot
def trace(store: GraphStore, lot_id: str, direction: Direction) -> TraceResult:
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
    roots = sorted(set(lot_ids))
    if isinstance(store, Neo4jStore):
        rows = store.read(read_cypher(f"trace_{direction}", _HERE), lot_ids=roots)
        edges = {(a, t, b) for row in rows for a, t, b in row["edges"]}
        sites = {(label, i): site for row in rows for label, i, site in row["sites"]}
        return edges, sites
    if isinstance(store, EmbeddedStore):
        edges = _embedded_edges(store, roots, direction)
        return edges, _embedded_sites(store, roots, edges) if with_sites else {}
    raise TypeError(f"no trace for store {type(store).__name__}")  # pragma: no cover


# -- embedded ----------------------------------------------------------------------------
_SITES = """
SELECT n.id, json_extract(n.props, '$.site') FROM json_each(?) AS j
CROSS JOIN nodes AS n ON n.label = ? AND n.id = j.value
"""


def _embedded_sites(store: EmbeddedStore, roots: list[str], edges: set[Edge]) -> Sites:
    wanted: dict[Label, set[str]] = {Label.LOT: set(roots), Label.BATCH: set()}
    for a, rel_type, b in edges:
        src, dst = _ENDS[rel_type]
        for label, node in ((src, a), (dst, b)):
            if label in wanted:
                wanted[label].add(node)
    sites: Sites = {}
    with store.reading() as conn:
        for label, ids in wanted.items():
            ordered = sorted(ids)
            for start in range(0, len(ordered), 5_000):
                chunk = json.dumps(ordered[start : start + 5_000])
                for node_id, site in conn.execute(_SITES, (chunk, str(label))):
                    sites[(label, node_id)] = site
    return sites


# One statement per trace: a recursive walk over lots and batches (UNION keeps each node
# once, so a diamond is expanded once), then the edges at every node reached. CROSS JOIN
# keeps the reached set as the outer loop, one index seek per node.
_EMBEDDED_FORWARD = """
WITH RECURSIVE reach(label, id) AS (
    SELECT 'Lot', value FROM json_each(?1)
    UNION
    SELECT 'Batch', r.dst_id FROM reach
    CROSS JOIN rels AS r ON r.src_label = 'Lot' AND r.src_id = reach.id AND r.type = 'CONSUMED_IN'
    WHERE reach.label = 'Lot'
    UNION
    SELECT 'Lot', r.dst_id FROM reach
    CROSS JOIN rels AS r ON r.src_label = 'Batch' AND r.src_id = reach.id AND r.type = 'PRODUCED'
    WHERE reach.label = 'Batch'
)
SELECT r.src_id, r.type, r.dst_id FROM reach
CROSS JOIN rels AS r ON r.src_label = 'Lot' AND r.src_id = reach.id
    AND r.type IN ('CONSUMED_IN', 'SHIPPED_IN')
WHERE reach.label = 'Lot'
UNION
SELECT r.src_id, r.type, r.dst_id FROM reach
CROSS JOIN rels AS r ON r.src_label = 'Batch' AND r.src_id = reach.id AND r.type = 'PRODUCED'
WHERE reach.label = 'Batch'
UNION
SELECT t.src_id, t.type, t.dst_id FROM reach
CROSS JOIN rels AS s ON s.src_label = 'Lot' AND s.src_id = reach.id AND s.type = 'SHIPPED_IN'
CROSS JOIN rels AS t ON t.src_label = 'Shipment' AND t.src_id = s.dst_id AND t.type = 'TO'
WHERE reach.label = 'Lot'
"""
_EMBEDDED_BACKWARD = """
WITH RECURSIVE reach(label, id) AS (
    SELECT 'Lot', value FROM json_each(?1)
    UNION
    SELECT 'Batch', r.src_id FROM reach
    CROSS JOIN rels AS r ON r.dst_label = 'Lot' AND r.dst_id = reach.id AND r.type = 'PRODUCED'
    WHERE reach.label = 'Lot'
    UNION
    SELECT 'Lot', r.src_id FROM reach
    CROSS JOIN rels AS r ON r.dst_label = 'Batch' AND r.dst_id = reach.id
        AND r.type = 'CONSUMED_IN'
    WHERE reach.label = 'Batch'
)
SELECT r.src_id, r.type, r.dst_id FROM reach
CROSS JOIN rels AS r ON r.dst_label = 'Lot' AND r.dst_id = reach.id
    AND r.type IN ('PRODUCED', 'SUPPLIED')
WHERE reach.label = 'Lot'
UNION
SELECT r.src_id, r.type, r.dst_id FROM reach
CROSS JOIN rels AS r ON r.dst_label = 'Batch' AND r.dst_id = reach.id AND r.type = 'CONSUMED_IN'
WHERE reach.label = 'Batch'
"""


def _embedded_edges(store: EmbeddedStore, lot_ids: list[str], direction: Direction) -> set[Edge]:
    query = _EMBEDDED_FORWARD if direction is Direction.FORWARD else _EMBEDDED_BACKWARD
    with store.reading() as conn:
        return set(conn.execute(query, (json.dumps(lot_ids),)))
