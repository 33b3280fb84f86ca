"""QA holds on lots (written by api/holds): the record of each hold, and a lot's active one.

A hold is its own ``Hold`` node, ``(Hold)-[:HOLDS]->(Lot)``, never a property of the lot:
a later ingest of lots.csv replaces a lot's whole content, and a hold must survive it.
One node per hold: placing it writes ``reason``, ``placed_by``, ``placed_at``; releasing
it adds ``released_by``, ``released_at``, ``release_reason`` (the old and new content go
to the audit trail). A lot is on hold while one of its holds has no ``released_at``.

The store only gives (hold, lot) pairs (its ``linked`` primitive); the records are built here from the Hold nodes'
content, so both answer identically.
"""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel

from graph.model import Label, RelType
from graph.store import GraphStore, Props

PLACED = "placed on hold"
RELEASED = "released from hold"


class ActiveHold(BaseModel):
    """The hold a lot is under now, as recall shows it."""

    id: str
    reason: str | None
    by: str | None
    at: str | None


class HoldRecord(BaseModel):
    """One hold of a lot, from its placing to its release (``null`` while active)."""

    id: str
    lot: str
    active: bool
    reason: str | None
    placed_by: str | None
    placed_at: str | None
    placed_meaning: str = PLACED
    released_by: str | None = None
    released_at: str | None = None
    release_reason: str | None = None
    released_meaning: str | None = None


def hold_record(hold_id: str, lot_id: str, props: Props) -> HoldRecord:
    released = props.get("released_at") is not None
    return HoldRecord(
        id=hold_id,
        lot=lot_id,
        active=not released,
        reason=props.get("reason"),
        placed_by=props.get("placed_by"),
        placed_at=props.get("placed_at"),
        released_by=props.get("released_by"),
        released_at=props.get("released_at"),
        release_reason=props.get("release_reason"),
        released_meaning=RELEASED if released else None,
    )


def _order(record: HoldRecord) -> tuple[bool, str, str]:
    return (record.placed_at is None, record.placed_at or "", record.id)


def records(
    pairs_found: Iterable[tuple[str, str]], nodes: dict[str, Props]
) -> dict[str, list[HoldRecord]]:
    """Each lot's holds, oldest first, from (hold, lot) pairs and the Hold nodes' content."""
    by_lot: dict[str, list[HoldRecord]] = {}
    for hold_id, lot_id in sorted(set(pairs_found)):
        by_lot.setdefault(lot_id, []).append(hold_record(hold_id, lot_id, nodes.get(hold_id, {})))
    return {lot: sorted(found, key=_order) for lot, found in by_lot.items()}


def active_hold(found: Iterable[HoldRecord]) -> ActiveHold | None:
    """The latest hold not released yet, or None."""
    active = sorted((h for h in found if h.active), key=_order)
    if not active:
        return None
    h = active[-1]
    return ActiveHold(id=h.id, reason=h.reason, by=h.placed_by, at=h.placed_at)


def hold_pairs(store: GraphStore, lot_ids: Iterable[str]) -> list[tuple[str, str]]:
    """(hold id, lot id) of every hold on the lots."""
    wanted = sorted(set(lot_ids))
    if not wanted:
        return []
    return [(hold, lot) for hold, lot, _ in store.linked(Label.LOT, wanted, RelType.HOLDS, False)]


def holds_of(store: GraphStore, lot_ids: Iterable[str]) -> dict[str, list[HoldRecord]]:
    """Each lot's holds, oldest first (lots without any are left out)."""
    found = hold_pairs(store, lot_ids)
    nodes = store.fetch_nodes(Label.HOLD, sorted({h for h, _ in found}))
    return records(found, {i: n.props for i, n in nodes.items()})
