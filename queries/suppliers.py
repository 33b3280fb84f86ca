"""A supplier's record: its lots, its change notices, and the qa decisions on each notice.

A decision on a change notice is its own ``SupplierChangeDecision`` node,
``(SupplierChangeDecision)-[:DECIDES]->(SupplierChange)`` (written by api/suppliers),
never a property of the notice: an ingest of supplier_changes.csv replaces a notice's
content from its source, and must not wipe what QA decided. Decisions are appended: a
later one supersedes the earlier (``supersedes`` names it), and every one is kept, so a
notice's ``decision`` is its latest and ``decisions`` its history, oldest first.

Both stores only fetch ids; the records are built here from the nodes' content, so both
answer identically.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from graph.model import Label, RelType
from graph.store import GraphStore, Props
from queries.errors import NotFound
from queries.snapshot import one_snapshot


class SupplierLot(BaseModel):
    id: str
    material_id: str | None
    site: str | None
    status: str | None
    quantity: float | None
    unit: str | None
    created_at: str | None
    supplier_lot: str | None


class ChangeDecision(BaseModel):
    """One signed qa decision on a change notice."""

    id: str
    change: str
    supplier: str
    number: int
    decision: str
    reason: str | None
    decided_by: str | None
    decided_at: str | None
    meaning: str | None
    supersedes: str | None
    superseded_by: str | None = None


class SupplierChangeNotice(BaseModel):
    id: str
    supplier: str
    material_id: str | None
    description: str | None
    notified_at: str | None
    effective_at: str | None
    decision: ChangeDecision | None  # the latest, which is in force
    decisions: list[ChangeDecision]  # every one, oldest first


class SupplierRecord(BaseModel):
    id: str
    name: str | None
    country: str | None
    status: str | None
    unresolved: bool
    lots: list[SupplierLot]
    changes: list[SupplierChangeNotice]


def decision_record(decision_id: str, change_id: str, props: Props) -> ChangeDecision:
    return ChangeDecision(
        id=decision_id,
        change=change_id,
        supplier=props.get("supplier_id", ""),
        number=int(props.get("number", 0)),
        decision=props.get("decision", ""),
        reason=props.get("reason"),
        decided_by=props.get("decided_by"),
        decided_at=props.get("decided_at"),
        meaning=props.get("meaning"),
        supersedes=props.get("supersedes"),
    )


def _ids(store: GraphStore, supplier_id: str) -> tuple[list[str], list[str], list[Any]]:
    """The supplier's lots, change notices and (decision, notice) pairs, by the store's
    ``linked`` read (the same on both stores)."""
    lots = [
        lot for _, lot, _ in store.linked(Label.SUPPLIER, [supplier_id], RelType.SUPPLIED, True)
    ]
    changes = [c for c, _, _ in store.linked(Label.SUPPLIER, [supplier_id], RelType.BY, False)]
    return lots, changes, change_decision_pairs(store, changes)


def decisions_of(store: GraphStore, change_ids: list[str]) -> dict[str, list[ChangeDecision]]:
    """Each change notice's decisions, oldest first (notices without any are left out)."""
    return _decisions(store, change_decision_pairs(store, change_ids))


def change_decision_pairs(store: GraphStore, change_ids: list[str]) -> list[tuple[str, str]]:
    """(decision id, change id) of every decision on the notices."""
    wanted = sorted(set(change_ids))
    if not wanted:
        return []
    return [
        (d, c) for d, c, _ in store.linked(Label.SUPPLIER_CHANGE, wanted, RelType.DECIDES, False)
    ]


def _decisions(store: GraphStore, found: list[tuple[str, str]]) -> dict[str, list[ChangeDecision]]:
    nodes = store.fetch_nodes(Label.SUPPLIER_CHANGE_DECISION, sorted({d for d, _ in found}))
    by_change: dict[str, list[ChangeDecision]] = {}
    for decision_id, change_id in sorted(set(found)):
        props = nodes[decision_id].props if decision_id in nodes else {}
        by_change.setdefault(change_id, []).append(decision_record(decision_id, change_id, props))
    for history in by_change.values():
        history.sort(key=lambda d: (d.number, d.decided_at or "", d.id))
        for earlier, later in zip(history, history[1:], strict=False):
            earlier.superseded_by = later.id
    return by_change


@one_snapshot
def supplier_record(store: GraphStore, supplier_id: str) -> SupplierRecord:
    supplier = store.fetch_nodes(Label.SUPPLIER, [supplier_id]).get(supplier_id)
    if supplier is None:
        raise NotFound(str(Label.SUPPLIER), supplier_id)
    lot_ids, change_ids, decided = _ids(store, supplier_id)
    lots = store.fetch_nodes(Label.LOT, sorted(set(lot_ids)))
    changes = store.fetch_nodes(Label.SUPPLIER_CHANGE, sorted(set(change_ids)))
    decisions = _decisions(store, decided)
    notices = [
        SupplierChangeNotice(
            id=c,
            supplier=supplier_id,
            material_id=p.get("material_id"),
            description=p.get("description"),
            notified_at=p.get("notified_at"),
            effective_at=p.get("effective_at"),
            decision=decisions[c][-1] if decisions.get(c) else None,
            decisions=decisions.get(c, []),
        )
        for c, p in ((c, changes[c].props if c in changes else {}) for c in sorted(set(change_ids)))
    ]
    notices.sort(key=lambda n: (n.notified_at or "", n.id))
    return SupplierRecord(
        id=supplier_id,
        name=supplier.props.get("name"),
        country=supplier.props.get("country"),
        status=supplier.props.get("status"),
        unresolved=supplier.unresolved,
        lots=[
            SupplierLot(
                id=i,
                material_id=p.get("material_id"),
                site=p.get("site"),
                status=p.get("status"),
                quantity=p.get("quantity"),
                unit=p.get("unit"),
                created_at=p.get("created_at"),
                supplier_lot=p.get("supplier_lot"),
            )
            for i, p in ((i, lots[i].props if i in lots else {}) for i in sorted(set(lot_ids)))
        ],
        changes=notices,
    )
