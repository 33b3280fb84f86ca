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

An event is written whole or not at all (docs/EPCIS.md "Each event whole or not at all"):
before anything is written, every record is checked as the loader will check it
(``ingest.epcis.precheck``), and an event with a problem or a record the loader would
reject is left out, with the rest of the document mapped again without it (a record it
shared with good events is theirs alone). Its rejection has ``file`` ``"events"``, its
position as ``row``, ``<kind>.<field>`` as ``column``, and a reason that names it.

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

from collections.abc import Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, replace
from typing import Any

from graph.model import Label, RelType
from graph.store import GraphStore, NodeRef, RelRef
from ingest.epcis.mapping import MappedDocument, Record, map_document
from ingest.epcis.model import EpcisDocument, EventProblem
from ingest.epcis.precheck import RecordProblem, precheck
from ingest.events import DEFAULT_MAX_ROWS, EventsPayload, TooManyRecords, ingest_events
from ingest.loader import CheckedRows, IngestReport, Rejection, cyclic_gc_paused

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
    pause_gc: bool = False,
) -> IngestReport:
    """Ingest the document's events and master data; every event is accounted for in the
    report's ``events``. Raises TooManyRecords (nothing written) when the document holds
    more than ``max_rows`` events or maps to more records.

    ``pause_gc`` is ``ingest_bundle``'s, for the whole import (mapping, pre-check, load):
    about a third less CPU, for a process that runs nothing else (the CLI), never a server.
    """
    read = len(document.events) + len(document.problems)
    if read > max_rows:
        raise TooManyRecords(read, max_rows)
    with cyclic_gc_paused() if pause_gc else nullcontext():
        return _ingest(store, document, actor=actor, label=label, source=source, max_rows=max_rows)


def _ingest(
    store: GraphStore,
    document: EpcisDocument,
    *,
    actor: str,
    label: str,
    source: str,
    max_rows: int,
) -> IngestReport:
    mapped, left_out, checked = _whole_events(store, document)
    records = {kind: rows for kind, rows in mapped.records.items() if rows}
    payload = EventsPayload.model_validate({"source": source, "timezone": None, "records": records})

    def finish(report: IngestReport) -> None:
        _account(report, document.problems, mapped, left_out)

    return ingest_events(
        store,
        payload,
        actor=actor,
        max_rows=max_rows,
        label=label,
        track_rows=True,
        finish=finish,
        checked=checked,
    )


def _whole_events(
    store: GraphStore, document: EpcisDocument
) -> tuple[MappedDocument, dict[int, _LeftOut], dict[str, CheckedRows]]:
    """The document mapped without the events that cannot be written whole, and those.

    An event is left out when the mapping finds a problem in it or the loader would reject
    one of its records (``precheck``); the rest of the document is then mapped again
    without it, so a record it shared with other events (a lot, a batch) is what those
    alone make of it. Repeated until no event is left out: what is loaded is the mapping of
    the document without the events left out, as the last check validated and planned it.
    """
    left_out: dict[int, _LeftOut] = {}
    while True:
        events = [e for e in document.events if e.index not in left_out]
        mapped = map_document(replace(document, events=events), store.fetch_lot_units)
        _keep_new_master_data(store, mapped)
        _keep_first_event_ids(store, mapped)
        found: dict[int, _LeftOut] = {}
        for m in mapped.events:
            if m.problem is not None:
                found[m.index] = _LeftOut(_event_name(m.index, m.event_id), [m.problem], [])
        names = {m.index: _event_name(m.index, m.event_id) for m in mapped.events}
        checked = precheck(store, mapped)
        for problem in checked.problems:
            for index in problem.events:
                found.setdefault(index, _LeftOut(names[index], [], [])).records.append(problem)
        if not found:
            return mapped, left_out, checked.checked
        left_out.update(found)


@dataclass
class _LeftOut:
    """An event left out of the import: what the mapping or the loader found in it."""

    name: str
    problems: list[EventProblem]
    records: list[RecordProblem]

    def rejections(self, index: int) -> list[Rejection]:
        """Each as a rejection of the event (``file`` ``events``, ``row`` its position)."""
        out = [
            Rejection("events", index + 1, p.field, f"{self.name}: {p.reason}")
            for p in self.problems
        ]
        for r in self.records:
            what = f"its {r.kind} record" + (f" ({r.key})" if r.key else "")
            out.append(
                Rejection(
                    "events",
                    index + 1,
                    f"{r.kind}.{r.column}",
                    f"{self.name}: {what} is rejected, so the event is not written: {r.reason}",
                )
            )
        return out


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


def _account(
    report: IngestReport,
    unread: Sequence[EventProblem],
    mapped: MappedDocument,
    left_out: Mapping[int, _LeftOut],
) -> None:
    """The report's event-level view: rejections naming events, and the ``events`` block."""
    names = {m.index: _event_name(m.index, m.event_id) for m in mapped.events}
    rejected: set[int] = set(left_out)
    rejections: list[Rejection] = []
    for problem in [*unread, *(m.problem for m in mapped.events if m.problem)]:
        rejected.add(problem.index)
        reason = f"{_event_name(problem.index, problem.event_id)}: {problem.reason}"
        rejections.append(Rejection("events", problem.index + 1, problem.field, reason))
    for index, left in left_out.items():
        rejections.extend(left.rejections(index))
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
    positions = {m.index for m in mapped.events} | {p.index for p in unread} | set(left_out)
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
