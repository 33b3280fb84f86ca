"""Recall scope of one or more lots (DESIGN §4): what they went into, who received what,
how much is still here, and whether each root's quantity is fully accounted for.

Decisions: quantities are summed exactly (decimal) in the lot's unit, which ingest already
converted them to; a root whose consumed + shipped + on_hand falls short of its quantity is
reported with its shortfall, never rounded away; an ``on_hand`` that was never reported
counts as 0 and is flagged ``on_hand_reported: false``; each lot carries its active QA
hold (``hold: {id, reason, by, at}``, ``null`` when it is not on hold; queries/holds.py),
read from its Hold nodes, which no ingest of lots.csv touches.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from pydantic import BaseModel

from graph.model import Label
from graph.store import GraphStore, RecallView, StoredNode
from queries.errors import InvalidQuery, NotFound
from queries.holds import ActiveHold, active_hold
from queries.holds import records as hold_records

OPEN_DEVIATION = ("open", "investigating")


class RecallLot(BaseModel):
    id: str
    material_id: str | None
    status: str | None
    site: str | None
    unit: str | None
    quantity: float | None
    consumed: float
    shipped: float
    on_hand: float
    on_hand_reported: bool
    root: bool
    unresolved: bool
    hold: ActiveHold | None = None


class RecallBatch(BaseModel):
    id: str
    status: str | None
    site: str | None
    product_material_id: str | None


class RecallCustomer(BaseModel):
    id: str
    name: str | None
    lots: list[str]
    shipments: list[str]
    quantity: float


class MassBalance(BaseModel):
    lot: str
    unit: str | None
    expected: float | None
    consumed: float
    shipped: float
    on_hand: float
    accounted: float
    percent_accounted: float | None
    shortfall: float | None
    balanced: bool


class ScopeDeviation(BaseModel):
    id: str
    severity: str | None
    status: str | None
    category: str | None
    affects: list[str]


class ScopeDocument(BaseModel):
    id: str
    kind: str | None
    title: str | None
    concerns: list[str]


class RecallResult(BaseModel):
    roots: list[str]
    lots: list[RecallLot]
    batches: list[RecallBatch]
    customers: list[RecallCustomer]
    mass_balance: list[MassBalance]
    open_deviations: list[ScopeDeviation]
    documents: list[ScopeDocument]


def recall(store: GraphStore, lot_ids: Iterable[str]) -> RecallResult:
    """The recall of ``lot_ids``, from one read of the store (``GraphStore.recall_view``:
    one state of the graph, one query on Neo4j)."""
    roots = sorted(set(lot_ids))
    if not roots:
        raise InvalidQuery("a recall needs at least one lot id")
    view = store.recall_view(roots)
    missing = [r for r in roots if r not in view.lots]
    if missing:
        raise NotFound("Lot", ", ".join(missing))
    return _assemble(roots, view)


def _exact(value: Any) -> Decimal:
    return Decimal(repr(float(value))) if value is not None else Decimal(0)


def _props(nodes: dict[str, StoredNode], node_id: str) -> dict[str, Any]:
    node = nodes.get(node_id)
    return node.props if node else {}


def _assemble(roots: list[str], view: RecallView) -> RecallResult:
    facts, lots = view.facts, view.lots
    consumed: dict[str, Decimal] = defaultdict(Decimal)
    for lot, _, quantity in facts.consumed:
        consumed[lot] += _exact(quantity)
    shipped: dict[str, Decimal] = defaultdict(Decimal)
    by_customer: dict[str, dict[str, Any]] = {}
    for lot, shipment, customer, quantity in facts.shipped:
        shipped[lot] += _exact(quantity)
        if customer is None:
            continue
        entry = by_customer.setdefault(
            customer, {"lots": set(), "shipments": set(), "quantity": Decimal(0)}
        )
        entry["lots"].add(lot)
        entry["shipments"].add(shipment)
        entry["quantity"] += _exact(quantity)
    root_set = set(roots)
    recall_lots: list[RecallLot] = []
    balances: list[MassBalance] = []
    for lot_id in sorted(lots):
        node = lots[lot_id]
        props = node.props
        on_hand = props.get("on_hand")
        recall_lots.append(
            RecallLot(
                id=lot_id,
                material_id=props.get("material_id"),
                status=props.get("status"),
                site=props.get("site"),
                unit=props.get("unit"),
                quantity=props.get("quantity"),
                consumed=float(consumed[lot_id]),
                shipped=float(shipped[lot_id]),
                on_hand=float(_exact(on_hand)),
                on_hand_reported=on_hand is not None,
                root=lot_id in root_set,
                unresolved=node.unresolved,
            )
        )
        if lot_id in root_set:
            balances.append(_balance(lot_id, props, consumed[lot_id], shipped[lot_id]))
    hold_nodes = view.named.get(Label.HOLD, {})
    holds = hold_records(facts.holds, {i: n.props for i, n in hold_nodes.items()})
    for recall_lot in recall_lots:
        recall_lot.hold = active_hold(holds.get(recall_lot.id, []))
    customers_found = view.named.get(Label.CUSTOMER, {})
    customers = [
        RecallCustomer(
            id=cid,
            name=_props(customers_found, cid).get("name"),
            lots=sorted(entry["lots"]),
            shipments=sorted(entry["shipments"]),
            quantity=float(entry["quantity"]),
        )
        for cid, entry in sorted(by_customer.items())
    ]
    return RecallResult(
        roots=roots,
        lots=recall_lots,
        batches=[
            RecallBatch(
                id=b,
                status=p.get("status"),
                site=p.get("site"),
                product_material_id=p.get("product_material_id"),
            )
            for b in sorted(view.batches)
            for p in [view.batches[b].props]
        ],
        customers=customers,
        mass_balance=balances,
        open_deviations=_open_deviations(view.named.get(Label.DEVIATION, {}), facts.deviations),
        documents=_documents(view.named.get(Label.DOCUMENT, {}), facts.documents),
    )


def _balance(
    lot_id: str, props: dict[str, Any], consumed: Decimal, shipped: Decimal
) -> MassBalance:
    on_hand = _exact(props.get("on_hand"))
    accounted = consumed + shipped + on_hand
    quantity = props.get("quantity")
    expected = _exact(quantity) if quantity is not None else None
    percent = (
        float(round(accounted * 100 / expected, 2)) if expected is not None and expected else None
    )
    return MassBalance(
        lot=lot_id,
        unit=props.get("unit"),
        expected=float(expected) if expected is not None else None,
        consumed=float(consumed),
        shipped=float(shipped),
        on_hand=float(on_hand),
        accounted=float(accounted),
        percent_accounted=percent,
        shortfall=float(expected - accounted) if expected is not None else None,
        balanced=expected is not None and accounted == expected,
    )


def _open_deviations(
    found: dict[str, StoredNode], links: list[tuple[str, str, str]]
) -> list[ScopeDeviation]:
    affects: dict[str, set[str]] = defaultdict(set)
    for deviation, _, target in links:
        affects[deviation].add(target)
    result = []
    for dev_id in sorted(affects):
        props = _props(found, dev_id)
        # a deviation not yet arrived (placeholder) cannot be shown closed, so it stays listed
        if props.get("status") not in OPEN_DEVIATION and props:
            continue
        result.append(
            ScopeDeviation(
                id=dev_id,
                severity=props.get("severity"),
                status=props.get("status"),
                category=props.get("category"),
                affects=sorted(affects[dev_id]),
            )
        )
    return result


def _documents(
    found: dict[str, StoredNode], links: list[tuple[str, str, str]]
) -> list[ScopeDocument]:
    concerns: dict[str, set[str]] = defaultdict(set)
    for document, _, target in links:
        concerns[document].add(target)
    return [
        ScopeDocument(
            id=doc_id,
            kind=props.get("kind"),
            title=props.get("title"),
            concerns=sorted(concerns[doc_id]),
        )
        for doc_id in sorted(concerns)
        for props in [_props(found, doc_id)]
    ]
