"""A trace as a GS1 EPCIS 2.0 JSON-LD ``EPCISDocument`` (issue 15; docs/EPCIS.md "Export").

The events say what the trace's edges say, with the quantities and times the graph keeps:

- one ``TransformationEvent`` per batch of the trace (``transformationID`` = the batch's
  URN), its inputs and outputs the trace's consumption and output edges of that batch;
- one ``ObjectEvent`` (``shipping``) per shipment of the trace, its ``bizTransaction`` the
  shipment's URN and its destination ``owning_party`` the customer;
- one ``ObjectEvent`` (``receiving``, ``location`` source and destination) per movement of
  a lot of the document between two sites;
- one ``ObjectEvent`` (``ADD``, ``creating_class_instance``, with ILMD) per lot of the
  document that no batch of the document produced, its supplier as ``owning_party`` source.

Master data (``epcisHeader.epcisMasterData``) describes the lots and materials (EPCClass),
the sites (Location) and the suppliers and customers (Party). Ids that are not URIs travel
as ``urn:lotgraph:<kind>:<id>`` (``graph.identifiers.local_urn``).

Every read goes through the store's primitives (``fetch_nodes``, ``linked``,
``linked_rels``), in batches of ids: an export reads a handful of times whatever its size.
Event ids are ``urn:uuid:`` UUIDs derived from the event's content, and events, lists and
master data are in a fixed order, so the same graph gives the same bytes but for
``creationDate``.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Final

import orjson

from graph.identifiers import VTYPE_EPC_CLASS, VTYPE_LOCATION, VTYPE_PARTY, local_urn
from graph.model import Label, RelType
from graph.store import GraphStore, Props, StoredNode, utc_now
from queries.snapshot import one_snapshot
from queries.trace import Direction, TraceResult, trace

MEDIA_TYPE: Final = "application/ld+json"
GS1_CONTEXT: Final = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
LOTGRAPH_MDA: Final = "urn:lotgraph:mda#"
CONTEXT: Final = [GS1_CONTEXT, {"lotgraph": LOTGRAPH_MDA}]
CBV_MDA: Final = "urn:epcglobal:cbv:mda#"
# UN/CEFACT Recommendation 20 codes of the units lotgraph converts (ingest/units.py); a
# quantity in another unit ("ea") goes without uom: a count in the lot's own unit.
UOM: Final = {"kg": "KGM", "g": "GRM", "mg": "MGM", "L": "LTR", "mL": "MLT"}
# The time of an event whose time the reader may not see (a batch at a site outside its
# sites) or the graph does not know (a placeholder): EPCIS requires an eventTime.
UNKNOWN_TIME: Final = "1970-01-01T00:00:00.000Z"
# uuid5 namespace of lotgraph's event ids: uuid5(NAMESPACE_URL, "urn:lotgraph:epcis:event").
_EVENT_NAMESPACE: Final = uuid.uuid5(uuid.NAMESPACE_URL, "urn:lotgraph:epcis:event")
# Order of events that happen at the same moment: a lot exists, moves, is used, ships.
_CREATE, _MOVE, _TRANSFORM, _SHIP = range(4)


@dataclass(frozen=True)
class Hidden:
    """The lots and batches of the trace whose facts the reader may not see: each stays in
    the document as its id only (docs/EPCIS.md "Export", redaction)."""

    lots: frozenset[str] = frozenset()
    batches: frozenset[str] = frozenset()


@one_snapshot
def export_trace(
    store: GraphStore,
    lot_id: str,
    direction: Direction,
    *,
    creation_date: str | None = None,
) -> dict[str, Any]:
    """The trace of ``lot_id`` as an EPCIS 2.0 JSON-LD document (NotFound for an unknown
    lot); ``creation_date`` (default: now) is the one value that changes between runs."""
    return epcis_document(store, [trace(store, lot_id, direction)], creation_date=creation_date)


@one_snapshot
def epcis_document(
    store: GraphStore,
    traces: Sequence[TraceResult],
    *,
    creation_date: str | None = None,
    hidden: Hidden = Hidden(),
) -> dict[str, Any]:
    """The traces (of one lot, say both directions) as one EPCIS document: the union of
    their events; ``hidden`` lots and batches are reduced to their ids."""
    facts = _Facts.read(store, traces, hidden)
    events = [
        *_creation_events(facts),
        *_movement_events(facts),
        *_transformation_events(facts),
        *_shipment_events(facts),
    ]
    events.sort(key=lambda e: (_utc(e[1]["eventTime"]), e[0], e[1]["eventID"]))
    document: dict[str, Any] = {
        "@context": CONTEXT,
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": creation_date or utc_now(),
    }
    vocabularies = _master_data(facts)
    if vocabularies:
        document["epcisHeader"] = {"epcisMasterData": {"vocabularyList": vocabularies}}
    document["epcisBody"] = {"eventList": [body for _, body in events]}
    return document


def render(document: dict[str, Any]) -> bytes:
    """The one byte form of an export (the CLI's file, the API's answer, the evidence
    package's ``trace.epcis.jsonld``): indented UTF-8 JSON with a final newline."""
    return orjson.dumps(document, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE)


# -- what the document is made of ------------------------------------------------------------
Edge = tuple[str, str, str]


@dataclass
class _Facts:
    """Everything an export reads from the store, read once for all its ids."""

    edges: set[Edge]
    hidden: Hidden
    lots: dict[str, StoredNode]  # every lot of the document that exists (hidden ones too)
    lot_ids: list[str]
    batches: dict[str, StoredNode]
    batch_ids: list[str]
    consumed: dict[tuple[str, str], list[Props]]  # (lot, batch) -> each consumption
    produced: dict[tuple[str, str], list[Props]]  # (batch, lot) -> each output
    shipped: dict[tuple[str, str], list[Props]]  # (lot, shipment) -> each shipped quantity
    shipments: dict[str, StoredNode]
    customers_of: dict[str, list[str]]  # shipment -> customers
    suppliers_of: dict[str, list[str]]  # visible lot -> its suppliers
    movements: list[tuple[str, str, Props]]  # lot, to site, props
    materials: dict[str, StoredNode] = field(default_factory=dict)
    sites: dict[str, StoredNode] = field(default_factory=dict)
    suppliers: dict[str, StoredNode] = field(default_factory=dict)
    customers: dict[str, StoredNode] = field(default_factory=dict)

    @classmethod
    def read(cls, store: GraphStore, traces: Sequence[TraceResult], hidden: Hidden) -> _Facts:
        edge_set: set[Edge] = {(a, r, b) for t in traces for a, r, b in t.edges}
        lot_ids = sorted(
            {t.root for t in traces}
            | {a for a, r, _ in edge_set if r in (RelType.CONSUMED_IN, RelType.SHIPPED_IN)}
            | {b for _, r, b in edge_set if r == RelType.PRODUCED}
        )
        batch_ids = sorted(
            {b for _, r, b in edge_set if r == RelType.CONSUMED_IN}
            | {a for a, r, _ in edge_set if r == RelType.PRODUCED}
        )
        shipment_ids = sorted({b for _, r, b in edge_set if r == RelType.SHIPPED_IN})
        visible_lots = [i for i in lot_ids if i not in hidden.lots]

        def rel_props(label: Label, ids: list[str], rel_type: RelType, outgoing: bool) -> Any:
            found: dict[tuple[str, str], list[Props]] = defaultdict(list)
            for ref, props in store.linked_rels(label, ids, rel_type, outgoing):
                if (ref.src.id, str(rel_type), ref.dst.id) in edge_set:
                    found[(ref.src.id, ref.dst.id)].append(props)
            return found

        suppliers_of: dict[str, list[str]] = defaultdict(list)
        for supplier, lot, _ in store.linked(Label.LOT, visible_lots, RelType.SUPPLIED, False):
            suppliers_of[lot].append(supplier)
        customers_of: dict[str, list[str]] = defaultdict(list)
        for shipment, customer, _ in store.linked(Label.SHIPMENT, shipment_ids, RelType.TO, True):
            customers_of[shipment].append(customer)
        movements = [
            (ref.src.id, ref.dst.id, props)
            for ref, props in store.linked_rels(Label.LOT, visible_lots, RelType.MOVED_TO, True)
        ]
        facts = cls(
            edges=edge_set,
            hidden=hidden,
            lots=store.fetch_nodes(Label.LOT, lot_ids),
            lot_ids=lot_ids,
            batches=store.fetch_nodes(Label.BATCH, batch_ids),
            batch_ids=batch_ids,
            consumed=rel_props(Label.BATCH, batch_ids, RelType.CONSUMED_IN, False),
            produced=rel_props(Label.BATCH, batch_ids, RelType.PRODUCED, True),
            shipped=rel_props(Label.SHIPMENT, shipment_ids, RelType.SHIPPED_IN, False),
            shipments=store.fetch_nodes(Label.SHIPMENT, shipment_ids),
            customers_of=customers_of,
            suppliers_of=suppliers_of,
            movements=movements,
        )
        for shipment, node in facts.shipments.items():  # a shipment whose TO is missing
            named = node.props.get("customer_id")
            if not facts.customers_of.get(shipment) and named:
                facts.customers_of[shipment].append(str(named))
        facts.materials = store.fetch_nodes(
            Label.MATERIAL,
            sorted({str(m) for i in visible_lots if (m := facts.lot_prop(i, "material_id"))}),
        )
        sites = {s for i in visible_lots if (s := facts.lot_prop(i, "site"))}
        sites |= {s for i in batch_ids if (s := facts.batch_prop(i, "site"))}
        for _, to_site, props in movements:
            sites |= {to_site, str(props.get("from_site") or to_site)}
        facts.sites = store.fetch_nodes(Label.SITE, sorted(map(str, sites)))
        facts.suppliers = store.fetch_nodes(
            Label.SUPPLIER, sorted({s for found in suppliers_of.values() for s in found})
        )
        facts.customers = store.fetch_nodes(
            Label.CUSTOMER, sorted({c for found in customers_of.values() for c in found})
        )
        return facts

    def lot_prop(self, lot_id: str, name: str) -> Any:
        node = self.lots.get(lot_id)
        return None if node is None or lot_id in self.hidden.lots else node.props.get(name)

    def batch_prop(self, batch_id: str, name: str) -> Any:
        node = self.batches.get(batch_id)
        return None if node is None or batch_id in self.hidden.batches else node.props.get(name)

    def lot_unit(self, lot_id: str) -> str | None:
        unit = self.lot_prop(lot_id, "unit")
        return None if unit is None else str(unit)


# -- events ------------------------------------------------------------------------------------
Event = tuple[int, dict[str, Any]]  # (order among events of the same moment, body)


def _creation_events(facts: _Facts) -> Iterable[Event]:
    produced = {b for _, r, b in facts.edges if r == RelType.PRODUCED}
    for lot_id in facts.lot_ids:
        node = facts.lots.get(lot_id)
        created_at = facts.lot_prop(lot_id, "created_at")
        if lot_id in produced or lot_id in facts.hidden.lots or node is None or not created_at:
            continue  # made by a batch of the document, hidden, or a placeholder
        quantity = _quantity(lot_id, [node.props], facts.lot_unit(lot_id))
        body: dict[str, Any] = {
            "type": "ObjectEvent",
            **_when(str(created_at)),
            "quantityList": [quantity],
            "action": "ADD",
            "bizStep": "creating_class_instance",
            "disposition": "active",
            **_place(facts.lot_prop(lot_id, "site")),
        }
        suppliers = sorted(facts.suppliers_of.get(lot_id, ()))
        if suppliers:
            body["sourceList"] = [
                {"type": "owning_party", "source": local_urn("supplier", s)} for s in suppliers
            ]
        ilmd: dict[str, Any] = {"cbvmda:lotNumber": lot_id}
        for name, term in (("supplier_lot", "supplierLot"), ("expiry", "expiry")):
            if (value := facts.lot_prop(lot_id, name)) is not None:
                ilmd[f"lotgraph:{term}"] = value
        body["ilmd"] = ilmd
        yield _CREATE, _with_id(body)


def _movement_events(facts: _Facts) -> Iterable[Event]:
    for lot_id, to_site, props in sorted(facts.movements, key=lambda m: (m[0], m[1], _key(m[2]))):
        at = props.get("at")
        if not at:
            continue
        quantity_props = {"quantity": props.get("quantity"), "unit": facts.lot_unit(lot_id)}
        from_site = props.get("from_site")
        body: dict[str, Any] = {
            "type": "ObjectEvent",
            **_when(str(at)),
            "quantityList": [_quantity(lot_id, [quantity_props], facts.lot_unit(lot_id))],
            "action": "OBSERVE",
            "bizStep": "receiving",
            "disposition": "in_progress",
            **_place(to_site),
        }
        if from_site:
            body["sourceList"] = [{"type": "location", "source": local_urn("site", str(from_site))}]
        body["destinationList"] = [{"type": "location", "destination": local_urn("site", to_site)}]
        if props.get("by"):
            body["lotgraph:movedBy"] = str(props["by"])
        yield _MOVE, _with_id(body)


def _transformation_events(facts: _Facts) -> Iterable[Event]:
    inputs: dict[str, list[str]] = defaultdict(list)
    outputs: dict[str, list[str]] = defaultdict(list)
    for a, rel_type, b in sorted(facts.edges):
        if rel_type == RelType.CONSUMED_IN:
            inputs[b].append(a)
        elif rel_type == RelType.PRODUCED:
            outputs[a].append(b)
    for batch_id in facts.batch_ids:
        hidden = batch_id in facts.hidden.batches
        body: dict[str, Any] = {"type": "TransformationEvent"}
        body.update(_when(_batch_time(facts, batch_id, inputs[batch_id]) or UNKNOWN_TIME))
        if inputs[batch_id]:
            found = [facts.consumed.get((lot, batch_id), []) for lot in inputs[batch_id]]
            body["inputQuantityList"] = _elements(facts, inputs[batch_id], found, hidden)
        if outputs[batch_id]:
            found = [facts.produced.get((batch_id, lot), []) for lot in outputs[batch_id]]
            body["outputQuantityList"] = _elements(facts, outputs[batch_id], found, hidden)
        body["transformationID"] = local_urn("batch", batch_id)
        if hidden:
            body["lotgraph:redacted"] = True
        else:
            body["bizStep"] = "commissioning"
            body.update(_place(facts.batch_prop(batch_id, "site")))
            body.update(_batch_extensions(facts, batch_id))
        yield _TRANSFORM, _with_id(body)


def _elements(
    facts: _Facts, lots: list[str], found: list[list[Props]], hidden: bool
) -> list[dict[str, Any]]:
    """Quantity elements of a batch's lots; a hidden batch's (or lot's) without quantity."""
    return [
        {"epcClass": local_urn("lot", lot)}
        if hidden or lot in facts.hidden.lots
        else _quantity(lot, props, facts.lot_unit(lot))
        for lot, props in zip(lots, found, strict=True)
    ]


def _batch_time(facts: _Facts, batch_id: str, inputs: list[str]) -> str | None:
    """When a batch happened: completed, else started, else its last consumption of the
    traced ``inputs`` (a placeholder batch knows only its consumptions); None when hidden
    or unknown."""
    if batch_id in facts.hidden.batches:
        return None
    for name in ("completed_at", "started_at"):
        if value := facts.batch_prop(batch_id, name):
            return str(value)
    times = [
        str(p["at"])
        for lot in inputs
        for p in facts.consumed.get((lot, batch_id), [])
        if p.get("at")
    ]
    return max(times, key=_utc) if times else None


def _batch_extensions(facts: _Facts, batch_id: str) -> dict[str, Any]:
    extensions: dict[str, Any] = {}
    if product := facts.batch_prop(batch_id, "product_material_id"):
        extensions["lotgraph:product"] = local_urn("material", str(product))
    for name, term in (
        ("status", "status"),
        ("started_at", "startedAt"),
        ("completed_at", "completedAt"),
        ("equipment_id", "equipment"),
    ):
        if (value := facts.batch_prop(batch_id, name)) is not None:
            extensions[f"lotgraph:{term}"] = value
    if batch_id not in facts.batches or facts.batches[batch_id].unresolved:
        extensions["lotgraph:unresolved"] = True
    return extensions


def _shipment_events(facts: _Facts) -> Iterable[Event]:
    lots_of: dict[str, list[str]] = defaultdict(list)
    for lot, rel_type, shipment in sorted(facts.edges):
        if rel_type == RelType.SHIPPED_IN:
            lots_of[shipment].append(lot)
    for shipment_id in sorted(lots_of):
        node = facts.shipments.get(shipment_id)
        shipped_at = node.props.get("shipped_at") if node is not None else None
        lots = lots_of[shipment_id]
        body: dict[str, Any] = {
            "type": "ObjectEvent",
            **_when(str(shipped_at) if shipped_at else UNKNOWN_TIME),
            "quantityList": [
                {"epcClass": local_urn("lot", lot)}
                if lot in facts.hidden.lots
                else _quantity(lot, facts.shipped.get((lot, shipment_id), []), facts.lot_unit(lot))
                for lot in lots
            ],
            "action": "OBSERVE",
            "bizStep": "shipping",
            "disposition": "in_transit",
        }
        sites = sorted({str(s) for lot in lots if (s := facts.lot_prop(lot, "site"))})
        if len(sites) == 1 and not any(lot in facts.hidden.lots for lot in lots):
            body.update(_place(sites[0]))
        body["bizTransactionList"] = [
            {"type": "desadv", "bizTransaction": local_urn("shipment", shipment_id)}
        ]
        if sites:
            body["sourceList"] = [
                {"type": "location", "source": local_urn("site", s)} for s in sites
            ]
        customers = sorted(facts.customers_of.get(shipment_id, ()))
        if customers:
            body["destinationList"] = [
                {"type": "owning_party", "destination": local_urn("customer", c)} for c in customers
            ]
        if node is None or node.unresolved:
            body["lotgraph:unresolved"] = True
        yield _SHIP, _with_id(body)


def _quantity(lot_id: str, found: Sequence[Props], lot_unit: str | None) -> dict[str, Any]:
    """A quantity element: the lot's class and the sum of ``found`` quantities (exact, in
    decimal; each is in the lot's unit already), with the unit's UN/CEFACT code."""
    element: dict[str, Any] = {"epcClass": local_urn("lot", lot_id)}
    values = [p["quantity"] for p in found if p.get("quantity") is not None]
    if not values:
        return element
    total = sum((Decimal(repr(float(v))) for v in values), Decimal(0))
    element["quantity"] = float(total)
    unit = next((str(p["unit"]) for p in found if p.get("unit")), lot_unit)
    if unit in UOM:
        element["uom"] = UOM[unit]
    return element


def _when(at: str) -> dict[str, str]:
    """``eventTime`` as stored and ``eventTimeZoneOffset`` read from it."""
    moment = datetime.fromisoformat(at.replace("Z", "+00:00"))
    offset = moment.utcoffset()
    minutes = 0 if offset is None else int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    hours, rest = divmod(abs(minutes), 60)
    return {"eventTime": at, "eventTimeZoneOffset": f"{sign}{hours:02d}:{rest:02d}"}


def _utc(at: str) -> datetime:
    moment = datetime.fromisoformat(at.replace("Z", "+00:00"))
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _place(site: Any) -> dict[str, Any]:
    if not site:
        return {}
    location = {"id": local_urn("site", str(site))}
    return {"readPoint": dict(location), "bizLocation": location}


def _key(props: Props) -> bytes:
    return orjson.dumps(props, option=orjson.OPT_SORT_KEYS)


def _with_id(body: dict[str, Any]) -> dict[str, Any]:
    """The event with ``eventID`` first: a UUID (version 5) of its JSON with sorted keys,
    so the same facts give the same id in every export."""
    name = orjson.dumps(body, option=orjson.OPT_SORT_KEYS).decode()
    return {"eventID": f"urn:uuid:{uuid.uuid5(_EVENT_NAMESPACE, name)}", **body}


# -- master data -------------------------------------------------------------------------------
def _master_data(facts: _Facts) -> list[dict[str, Any]]:
    classes = [
        _element(local_urn("material", m), _material_attributes(node.props))
        for m, node in sorted(facts.materials.items())
        if not node.unresolved
    ]
    for lot_id in facts.lot_ids:
        node = facts.lots.get(lot_id)
        if node is None or node.unresolved or lot_id in facts.hidden.lots:
            continue
        classes.append(_element(local_urn("lot", lot_id), _lot_attributes(node.props)))
    locations = [
        _element(local_urn("site", s), _named(node.props, {}))
        for s, node in sorted(facts.sites.items())
    ]
    parties = [
        _element(local_urn("supplier", s), _named(node.props, {"status": "status"}))
        for s, node in sorted(facts.suppliers.items())
    ] + [
        _element(local_urn("customer", c), _named(node.props, {}))
        for c, node in sorted(facts.customers.items())
    ]
    vocabularies = []
    for vtype, elements in (
        (VTYPE_EPC_CLASS, classes),
        (VTYPE_LOCATION, locations),
        (VTYPE_PARTY, parties),
    ):
        if elements:
            vocabularies.append({"type": vtype, "vocabularyElementList": elements})
    return vocabularies


def _element(element_id: str, attributes: list[tuple[str, Any]]) -> dict[str, Any]:
    element: dict[str, Any] = {"id": element_id}
    if attributes:
        element["attributes"] = [{"id": a, "attribute": v} for a, v in attributes]
    return element


def _material_attributes(props: Props) -> list[tuple[str, Any]]:
    found = []
    if props.get("name") is not None:
        found.append((f"{CBV_MDA}descriptionShort", props["name"]))
    for name in ("kind", "unit"):
        if props.get(name) is not None:
            found.append((f"{LOTGRAPH_MDA}{name}", props[name]))
    return found


# A lot's properties that name another node travel as that node's URN.
_LOT_REFERENCES: Final = {
    "material_id": ("material", "material"),
    "site": ("site", "site"),
    "supplier_id": ("supplier", "supplier"),
}


def _lot_attributes(props: Props) -> list[tuple[str, Any]]:
    """Each property of the lot as ``urn:lotgraph:mda#<property>``; ``material``,
    ``site`` and ``supplier`` as URNs (the material's EPCClass, the site's Location, the
    supplier's Party)."""
    found: list[tuple[str, Any]] = []
    for name in sorted(props):
        value = props[name]
        if value is None or isinstance(value, (list, dict)):
            continue
        if name in _LOT_REFERENCES:
            attribute, kind = _LOT_REFERENCES[name]
            found.append((f"{LOTGRAPH_MDA}{attribute}", local_urn(kind, str(value))))
        else:
            found.append((f"{LOTGRAPH_MDA}{name}", value))
    return sorted(found)


def _named(props: Props, extra: dict[str, str]) -> list[tuple[str, Any]]:
    found: list[tuple[str, Any]] = []
    if props.get("name") is not None:
        found.append((f"{CBV_MDA}name", props["name"]))
    if props.get("country") is not None:
        found.append((f"{CBV_MDA}countryCode", props["country"]))
    for name, term in extra.items():
        if props.get(name) is not None:
            found.append((f"{LOTGRAPH_MDA}{term}", props[name]))
    return found
