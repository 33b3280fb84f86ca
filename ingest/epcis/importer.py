"""Ingest an EPCIS document through the bundle's loader (docs/EPCIS.md "Import mapping").

The document is mapped to canonical records (``ingest.epcis.mapping``) which go through
``ingest.events.ingest_events``, that is the bundle loader itself: validation, accounting,
placeholders, the dead letter (``store.record_ingest``), the audit trail and idempotency are
a bundle's. On top, the report gets an ``events`` block that accounts for every event of
the document (``read = accepted + unchanged + rejected``), and the rejections name events:

- an event the mapping cannot take (or that the document reader could not read) is a
  rejection with ``file`` ``"events"``, ``row`` its 1-based position in the document,
  ``column`` the field, and a reason that starts with the event's id (or position);
- a record the loader rejects keeps its kind and position, and its reason starts with the
  events it came from.

An event is rejected when it has a problem or one of its records is rejected, accepted when
one of its records created or changed something, else unchanged (an event that maps to
nothing in the graph, listed in ``events.not_mapped`` with the reason, is unchanged).

Two rules keep a re-import idempotent and master data safe:

- master data (suppliers, materials, customers) from EPCIS only creates what the store does
  not hold yet (or fills a placeholder); a supplier a bundle already holds, with its
  qualification status, is never overwritten by a partner's master data;
- ``epcis_event_id`` is the id under which an event was first imported: when the stored lot,
  batch, shipment or movement carries the same ``epcis_event_hash``, its stored
  ``epcis_event_id`` is kept, so the same event re-sent under another ``eventID`` is
  ``unchanged``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from graph.model import Label, RelType
from graph.store import GraphStore, NodeRef, RelRef
from ingest.epcis.mapping import MappedDocument, Record, map_document
from ingest.epcis.model import EpcisDocument, EventProblem
from ingest.events import DEFAULT_MAX_ROWS, EventsPayload, TooManyRecords, ingest_events
from ingest.loader import IngestReport, Rejection

DEFAULT_SOURCE = "EPCIS"
_MASTER = {
    "suppliers": (Label.SUPPLIER, "supplier_id"),
    "materials": (Label.MATERIAL, "material_id"),
    "customers": (Label.CUSTOMER, "customer_id"),
}
_EVENT_NODES = {"lots": (Label.LOT, "lot_id"), "batches": (Label.BATCH, "batch_id")}


def ingest_epcis(
    store: GraphStore,
    document: EpcisDocument,
    *,
    actor: str,
    label: str,
    source: str = DEFAULT_SOURCE,
    max_rows: int = DEFAULT_MAX_ROWS,
) -> IngestReport:
    """Ingest the document's events and master data; every event is accounted for in the
    report's ``events``. Raises TooManyRecords (nothing written) when the document holds
    more than ``max_rows`` events or maps to more records."""
    read = len(document.events) + len(document.problems)
    if read > max_rows:
        raise TooManyRecords(read, max_rows)
    mapped = map_document(document, store.fetch_lot_units)
    _keep_new_master_data(store, mapped)
    _keep_first_event_ids(store, mapped)
    records = {kind: rows for kind, rows in mapped.records.items() if rows}
    payload = EventsPayload.model_validate({"source": source, "timezone": None, "records": records})

    def finish(report: IngestReport) -> None:
        _account(report, document.problems, mapped)

    return ingest_events(
        store,
        payload,
        actor=actor,
        max_rows=max_rows,
        label=label,
        track_rows=True,
        finish=finish,
    )


def _keep_new_master_data(store: GraphStore, mapped: MappedDocument) -> None:
    """Drop master-data records of entities the store already holds in full."""
    for kind, (label, column) in _MASTER.items():
        rows = mapped.records.get(kind)
        if not rows:
            continue
        stored = store.fetch_node_fingerprints(label, sorted({str(r[column]) for r in rows}))
        keep = [i for i, r in enumerate(rows) if stored.get(str(r[column])) is None]
        mapped.records[kind] = [rows[i] for i in keep]
        mapped.origins[kind] = [mapped.origins[kind][i] for i in keep]


def _keep_first_event_ids(store: GraphStore, mapped: MappedDocument) -> None:
    """Where the stored record came from the same event content, keep its eventID."""
    for kind, (label, column) in _EVENT_NODES.items():
        rows = mapped.records.get(kind, [])
        if rows:
            stored = store.fetch_nodes(label, sorted({str(r[column]) for r in rows}))
            for row in rows:
                node = stored.get(str(row[column]))
                if node is not None:
                    _first_id(row, node.props)
    refs: list[tuple[Record, RelRef]] = []
    for row in mapped.records.get("shipments", []):
        lot = NodeRef(Label.LOT, str(row["lot_id"]))
        shipment = NodeRef(Label.SHIPMENT, str(row["shipment_id"]))
        refs.append((row, RelRef(RelType.SHIPPED_IN, lot, shipment)))
    for row in mapped.records.get("movements", []):
        lot = NodeRef(Label.LOT, str(row["lot_id"]))
        site = NodeRef(Label.SITE, str(row["to_site"]))
        refs.append((row, RelRef(RelType.MOVED_TO, lot, site, str(row["moved_at"]))))
    if refs:
        stored_rels = store.fetch_rels([ref for _, ref in refs])
        for row, ref in refs:
            props = stored_rels.get(ref)
            if props is not None:
                _first_id(row, props)


def _first_id(row: Record, stored: dict[str, Any]) -> None:
    if stored.get("epcis_event_hash") != row.get("epcis_event_hash"):
        return
    first = stored.get("epcis_event_id")
    if first:
        row["epcis_event_id"] = str(first)
    else:
        row.pop("epcis_event_id", None)


def _event_name(index: int, event_id: str | None) -> str:
    return event_id or f"event {index + 1}"


def _account(report: IngestReport, unread: Sequence[EventProblem], mapped: MappedDocument) -> None:
    """The report's event-level view: rejections naming events, and the ``events`` block."""
    names = {m.index: _event_name(m.index, m.event_id) for m in mapped.events}
    rejected: set[int] = set()
    rejections: list[Rejection] = []
    for problem in [*unread, *(m.problem for m in mapped.events if m.problem)]:
        rejected.add(problem.index)
        reason = f"{_event_name(problem.index, problem.event_id)}: {problem.reason}"
        rejections.append(Rejection("events", problem.index + 1, problem.field, reason))
    for rejection in report.rejections:
        origins = mapped.origins.get(rejection.file)
        if origins is None or not 0 < rejection.row <= len(origins):
            rejections.append(rejection)
            continue
        events = origins[rejection.row - 1]
        rejected.update(events)
        if events:
            named = ", ".join(names[i] for i in events)
            rejection = Rejection(
                rejection.file, rejection.row, rejection.column, f"{named}: {rejection.reason}"
            )
        rejections.append(rejection)
    report.rejections = sorted(rejections, key=lambda r: (r.file != "events", r.file, r.row))
    accepted: set[int] = set()
    for kind, rows in report.accepted_rows.items():
        origins = mapped.origins.get(kind, [])
        for row in rows:
            if 0 < row <= len(origins):
                accepted.update(origins[row - 1])
    accepted -= rejected
    positions = {m.index for m in mapped.events} | {p.index for p in unread}
    report.events = {
        "read": len(positions),
        "accepted": len(accepted),
        "unchanged": len(positions - accepted - rejected),
        "rejected": len(rejected),
        "not_mapped": [
            {"event": names[m.index], "position": m.index + 1, "reason": m.note}
            for m in mapped.events
            if m.note and m.problem is None and m.index not in rejected
        ],
        # events mapped without some of their objects: those name no lot lotgraph can
        # place them in (docs/EPCIS.md "Objects without a lot")
        "partly_mapped": [
            {
                "event": names[m.index],
                "position": m.index + 1,
                "unplaced": [{"field": f, "id": i} for f, i in m.unplaced],
            }
            for m in mapped.events
            if m.unplaced and m.problem is None and m.index not in rejected
        ],
    }


__all__ = ["DEFAULT_SOURCE", "TooManyRecords", "ingest_epcis"]
