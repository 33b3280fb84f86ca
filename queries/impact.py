"""Supplier change impact (DESIGN §4): a supplier's lots, optionally of one material and
since a moment or a supplier change notice, and everything downstream of them.

Decisions: ``since`` compares with the lot's ``created_at`` (a date means its midnight UTC;
a time without an offset is read as UTC). A change notice sets the material it concerns and
``since`` to its ``effective_at``. ``batches`` are every batch downstream, ``direct_batches``
those that consumed a supplier lot; ``open_batches`` are the downstream batches not yet
released or rejected, the ones that can still be stopped, earliest start first.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from pydantic import BaseModel

from graph.model import Label, RelType
from graph.store import GraphStore, Hop, Shape, format_utc
from queries.errors import InvalidQuery, NotFound
from queries.snapshot import one_snapshot
from queries.trace import Direction, trace_edges

CLOSED_BATCH = ("released", "rejected")


class OpenBatch(BaseModel):
    id: str
    status: str | None
    site: str | None
    started_at: str | None


class ImpactResult(BaseModel):
    supplier: str
    material: str | None
    since: str | None
    change: str | None
    lots: list[str]
    batches: list[str]
    direct_batches: list[str]
    downstream_lots: list[str]
    customers: list[str]
    shipments: list[str]
    open_batches: list[OpenBatch]


def parse_since(value: str) -> str:
    """``value`` (ISO date or date-time) as the graph's UTC timestamp text."""
    text = value.strip()
    try:
        if len(text) == 10:
            moment = datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC)
        else:
            moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidQuery(f"since: {value!r} is not an ISO 8601 date or date-time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return format_utc(moment)


@one_snapshot
def impact(
    store: GraphStore,
    supplier_id: str,
    *,
    material_id: str | None = None,
    since: str | None = None,
    change_id: str | None = None,
) -> ImpactResult:
    if change_id is not None:
        change = store.fetch_nodes(Label.SUPPLIER_CHANGE, [change_id]).get(change_id)
        if change is None:
            raise NotFound("SupplierChange", change_id)
        if change.props.get("supplier_id") not in (None, supplier_id):
            raise InvalidQuery(
                f"change: {change_id} is a notice of {change.props['supplier_id']}, "
                f"not of {supplier_id}"
            )
        material_id = material_id or change.props.get("material_id")
        since = since or change.props.get("effective_at")
    since_text = parse_since(since) if since else None
    lots = _supplier_lots(store, supplier_id, material_id, since_text)
    edges = trace_edges(store, lots, Direction.FORWARD)
    batches = sorted({b for _, t, b in edges if t == RelType.CONSUMED_IN})
    supplier_lots = set(lots)
    batch_props = {b: node.props for b, node in store.fetch_nodes(Label.BATCH, batches).items()}
    open_batches = [
        OpenBatch(id=b, status=p.get("status"), site=p.get("site"), started_at=p.get("started_at"))
        for b in batches
        if (p := batch_props.get(b, {})).get("status") not in CLOSED_BATCH
    ]
    open_batches.sort(key=lambda b: (b.started_at or "", b.id))
    return ImpactResult(
        supplier=supplier_id,
        material=material_id,
        since=since_text,
        change=change_id,
        lots=lots,
        batches=batches,
        direct_batches=sorted(
            {b for a, t, b in edges if t == RelType.CONSUMED_IN and a in supplier_lots}
        ),
        downstream_lots=sorted({b for _, t, b in edges if t == RelType.PRODUCED} - supplier_lots),
        customers=sorted({b for _, t, b in edges if t == RelType.TO}),
        shipments=sorted({b for _, t, b in edges if t == RelType.SHIPPED_IN}),
        open_batches=open_batches,
    )


# The supplier itself (whether it exists) and each lot it supplied, with their content.
_SUPPLIED: tuple[Shape, ...] = ((), (Hop(RelType.SUPPLIED, True, Label.LOT),))


def _supplier_lots(
    store: GraphStore, supplier_id: str, material_id: str | None, since: str | None
) -> list[str]:
    """The supplier's lots, of ``material_id`` and created at or after ``since`` when given:
    one read (``GraphStore.paths``)."""
    found = store.paths(Label.SUPPLIER, [supplier_id], _SUPPLIED, with_nodes=True)
    if supplier_id not in found.nodes.get(Label.SUPPLIER, {}):
        raise NotFound("Supplier", supplier_id)
    lots = found.nodes.get(Label.LOT, {})
    return sorted(
        lot
        for _, lot in found.of_shape(1)
        if (material_id is None or lots[lot].props.get("material_id") == material_id)
        and (since is None or lots[lot].props.get("created_at", "") >= since)
    )
