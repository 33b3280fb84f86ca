"""Trace a lot forward (where it went) or backward (where it came from), DESIGN §4."""

from __future__ import annotations

import json
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

_HERE = Path(__file__).parent
_IN_CHUNK = 5_000


class Direction(StrEnum):
    FORWARD = "forward"
    BACKWARD = "backward"


class TraceResult(BaseModel):
    root: str
    direction: Direction
    lots: list[str]
    batches: list[str]
    suppliers: list[str]
    customers: list[str]
    shipments: list[str]
    edges: list[tuple[str, str, str]]


def trace(store: GraphStore, lot_id: str, direction: Direction) -> TraceResult:
    if not store.fetch_nodes(Label.LOT, [lot_id]):
        raise NotFound("Lot", lot_id)
    if isinstance(store, Neo4jStore):
        edges = _neo4j_edges(store, lot_id, direction)
    elif isinstance(store, EmbeddedStore):
        edges = _embedded_edges(store, lot_id, direction)
    else:  # pragma: no cover - a new store must implement every investigation
        raise TypeError(f"no trace for store {type(store).__name__}")
    return _result(lot_id, direction, edges)


def _result(root: str, direction: Direction, edges: set[tuple[str, str, str]]) -> TraceResult:
    def ends(rel_type: RelType, head: bool) -> list[str]:
        picked = {e[2] if head else e[0] for e in edges if e[1] == rel_type}
        return sorted(picked)

    forward = direction is Direction.FORWARD
    lots = {*ends(RelType.PRODUCED, True)} if forward else {*ends(RelType.CONSUMED_IN, False)}
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
    )


def _neo4j_edges(store: Neo4jStore, lot_id: str, direction: Direction) -> set[tuple[str, str, str]]:
    query = read_cypher(f"trace_{direction}", _HERE)
    rows = store.read(query, lot_id=lot_id)
    return {(a, t, b) for row in rows for a, t, b in row["edges"]}


# -- embedded ----------------------------------------------------------------------------
_OUT = """
SELECT src_id, dst_id FROM rels
WHERE src_label = ? AND type = ? AND src_id IN (SELECT value FROM json_each(?))
"""
_IN = """
SELECT src_id, dst_id FROM rels
WHERE dst_label = ? AND type = ? AND dst_id IN (SELECT value FROM json_each(?))
"""


def _step(
    store: EmbeddedStore, ids: Iterable[str], label: Label, rel_type: RelType, outgoing: bool
) -> list[tuple[str, str]]:
    ordered = sorted(ids)
    found: list[tuple[str, str]] = []
    with store.reading() as conn:
        for start in range(0, len(ordered), _IN_CHUNK):
            param = json.dumps(ordered[start : start + _IN_CHUNK])
            found.extend(
                conn.execute(_OUT if outgoing else _IN, (str(label), str(rel_type), param))
            )
    return found


def _embedded_edges(
    store: EmbeddedStore, lot_id: str, direction: Direction
) -> set[tuple[str, str, str]]:
    forward = direction is Direction.FORWARD
    edges: set[tuple[str, str, str]] = set()
    lots: set[str] = {lot_id}
    batches: set[str] = set()
    frontier = {lot_id}
    while frontier:
        if forward:
            step = _step(store, frontier, Label.LOT, RelType.CONSUMED_IN, True)
            new_batches = {b for _, b in step} - batches
        else:
            step = _step(store, frontier, Label.LOT, RelType.PRODUCED, False)
            new_batches = {b for b, _ in step} - batches
        edges.update((a, RelType.CONSUMED_IN if forward else RelType.PRODUCED, b) for a, b in step)
        batches |= new_batches
        if forward:
            step = _step(store, new_batches, Label.BATCH, RelType.PRODUCED, True)
            new_lots = {lot for _, lot in step} - lots
        else:
            step = _step(store, new_batches, Label.BATCH, RelType.CONSUMED_IN, False)
            new_lots = {lot for lot, _ in step} - lots
        edges.update((a, RelType.PRODUCED if forward else RelType.CONSUMED_IN, b) for a, b in step)
        lots |= new_lots
        frontier = new_lots
    if forward:
        shipped = _step(store, lots, Label.LOT, RelType.SHIPPED_IN, True)
        edges.update((a, RelType.SHIPPED_IN, b) for a, b in shipped)
        delivered = _step(store, {s for _, s in shipped}, Label.SHIPMENT, RelType.TO, True)
        edges.update((a, RelType.TO, b) for a, b in delivered)
    else:
        supplied = _step(store, lots, Label.LOT, RelType.SUPPLIED, False)
        edges.update((a, RelType.SUPPLIED, b) for a, b in supplied)
    return {(a, str(t), b) for a, t, b in edges}
