"""EPCIS import on the reference data (issue 15, "Done when"): every valid document with
lot-level identifiers imports with every event accounted for, the OpenTraceability
cross-document genealogy traces across its three documents in either order, the DSCSA
example gives its lots, packing hierarchy and shipment, and errorDeclaration marks what
the declared event wrote (batch custody shows it).

Expected lots, counts and ids are read from the files themselves, parsed here with
ElementTree/json independently of the reader; each rejection expected on the reference
data is listed per file and event, with the documented limitation it falls under.
"""

from __future__ import annotations

import copy
import json
import re
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from defusedxml import ElementTree as SafeElementTree

from graph.embedded import EmbeddedStore
from graph.model import Label, RelType
from graph.store import GraphStore, NodeRef, RelRef, format_utc
from ingest.epcis.document import read_document
from ingest.epcis.event_hash import event_hash
from ingest.epcis.importer import ingest_epcis
from ingest.epcis.mapping import map_document
from ingest.epcis.model import EpcisDocument, EpcisError, EpcisEvent
from queries.custody import custody
from queries.trace import Direction, trace
from tests.api.conftest import Api
from tests.epcis.reference import find_reference_dir, reference_dir
from tests.epcis.test_document import (
    FAULTY,
    INVALID,
    NOT_DOCUMENTS,
    REFUSED,
    VALID,
    _count_events,
)

REPO = Path(__file__).resolve().parents[2]
EPCIS_DOC = (REPO / "docs" / "EPCIS.md").read_text(encoding="utf-8")

# What makes a document lot-level, searched in its raw text: LGTIN classes, Digital Link
# lots (AI 10 after AI 01), GDST lot classes, ILMD lot numbers.
_LOT_LEVEL = re.compile(
    r"urn:epc:class:lgtin:|/01/\d{8,14}/10/|:product:lot:class:|lotNumber", re.IGNORECASE
)

# The documented limitations a rejection on valid reference data may fall under: each
# phrase is what the rejection's reason says, and must be in docs/EPCIS.md.
NOTHING_PLACED = "no event of the document commissions it"
READER = "reader"  # the reader's own checks (tests/epcis/test_document.py FAULTY)

# Per file, the events (0-based positions) expected to be rejected by the mapping, and why.
REJECTED_BY_MAPPING: dict[str, dict[int, str]] = {
    # a receiving/shipping ObjectEvent of SGTINs alone, none commissioned in the document:
    # nothing of it names a lot lotgraph could hold
    **{
        f"gs1-epcis/XML/WithEventHashID/event_with_identical_hash_id_{n}.xml": {0: NOTHING_PLACED}
        for n in range(1, 7)
    },
}


def _has_lot_identifiers(path: Path) -> bool:
    return bool(_LOT_LEVEL.search(path.read_bytes().decode("utf-8-sig", "replace")))


def _skip_reason(relative: str) -> str | None:
    """Why a valid example is not swept, or None."""
    if relative in NOT_DOCUMENTS:
        return f"not an EPCIS event document: {NOT_DOCUMENTS[relative]}"
    faulty = FAULTY.get(relative)
    if faulty is not None and faulty[0] == REFUSED:
        return f"refused by the reader: {faulty[1]}"
    if not _has_lot_identifiers(reference_dir() / relative):
        return "no lot-level identifier (LGTIN, Digital Link lot, GDST lot class, lotNumber)"
    return None


def _expected_rejections(relative: str) -> dict[int, str]:
    expected = dict(REJECTED_BY_MAPPING.get(relative, {}))
    problems = FAULTY.get(relative, (set(), ""))[0]
    if not isinstance(problems, str):  # REFUSED files are not swept
        expected.update({int(index): READER for index, _ in problems})
    return expected


def _ingest(store: GraphStore, data: bytes, name: str) -> dict[str, Any]:
    document = read_document(data, name=name)
    return ingest_epcis(store, document, actor="test", label=f"epcis:{name}").as_dict()


def _rejected_events(report: dict[str, Any]) -> dict[int, dict[str, Any]]:
    return {r["row"] - 1: r for r in report["rejections"] if r["file"] == "events"}


SWEPT = VALID if find_reference_dir() is not None else ["missing"]


def test_every_limitation_and_skip_is_written_down() -> None:
    reference_dir()
    assert NOTHING_PLACED in EPCIS_DOC
    assert set(REJECTED_BY_MAPPING) <= set(VALID)
    skipped = {f: _skip_reason(f) for f in VALID}
    swept = [f for f, why in skipped.items() if why is None]
    # the sweep covers the lot-level documents of every source
    for source in ("gs1-epcis/", "openepcis/", "opentraceability/", "epcis-event-hash-generator/"):
        assert any(f.startswith(source) for f in swept), source
    assert len(swept) >= 100
    # a skipped file is refused by the reader, or has no lot-level identifier at all
    for relative, why in skipped.items():
        if why is None or why.startswith("no lot-level"):
            continue
        with pytest.raises(EpcisError):
            read_document((reference_dir() / relative).read_bytes(), name=relative)


# The sweep runs on the embedded store only: ~140 documents, each imported twice; the
# mapping is the same code on both stores, and the genealogy, DSCSA and errorDeclaration
# tests below run on both.
@pytest.mark.parametrize("relative", SWEPT)
def test_a_valid_lot_level_document_imports_with_every_event_accounted_for(
    relative: str, embedded_store: EmbeddedStore
) -> None:
    path = reference_dir() / relative
    why = _skip_reason(relative)
    if why is not None:
        pytest.skip(why)
    data = path.read_bytes()
    report = _ingest(embedded_store, data, relative)
    counts = report["events"]
    assert counts["read"] == _count_events(path)
    assert counts["read"] == counts["accepted"] + counts["unchanged"] + counts["rejected"]
    # no record the loader refuses: every rejection names an event
    assert all(r["file"] == "events" for r in report["rejections"]), report["rejections"]
    expected = _expected_rejections(relative)
    rejected = _rejected_events(report)
    assert set(rejected) == set(expected), report["rejections"]
    assert counts["rejected"] == len(expected)
    for index, why in expected.items():
        reason = rejected[index]["reason"]
        assert rejected[index]["column"] and reason
        if why != READER:
            assert why in reason
    # every event the mapping left out of the graph, or in part, says why
    for note in counts["not_mapped"]:
        assert note["reason"]
    for partial in counts["partly_mapped"]:
        assert partial["unplaced"] and all(u["id"] and u["field"] for u in partial["unplaced"])
    again = _ingest(embedded_store, data, relative)
    assert again["accepted"] == again["updated"] == 0
    assert again["events"]["accepted"] == 0
    assert again["events"]["unchanged"] == counts["read"] - len(expected)
    assert set(_rejected_events(again)) == set(expected)


# -- the OpenTraceability cross-document genealogy -------------------------------------------

CROSS = ("primary-processor", "secondary-processor", "importer")


def _local(tag: Any) -> str:
    return str(tag).rsplit("}", 1)[-1]


def _xml_events(path: Path) -> list[dict[str, Any]]:
    """Each event of an EPCIS XML file, parsed here: its type, bizStep, eventTime, eventID,
    classes of its quantity lists, and its source/destination parties."""
    root = SafeElementTree.fromstring(path.read_bytes())
    found: list[dict[str, Any]] = []
    for event_list in (e for e in root.iter() if _local(e.tag) == "EventList"):
        for element in event_list:
            event: dict[str, Any] = {"type": _local(element.tag), "lists": {}}
            for child in element.iter():
                name = _local(child.tag)
                if name in ("bizStep", "eventTime", "eventID", "transformationID"):
                    event[name] = (child.text or "").strip()
                if name.endswith("uantityList"):
                    event["lists"][name] = [
                        (q.findtext("epcClass") or "").strip()
                        for q in child
                        if _local(q.tag) == "quantityElement"
                    ]
                if name in ("source", "destination") and child.get("type", "").endswith(
                    "owning_party"
                ):
                    event[name] = (child.text or "").strip()
                if name == "destination" and child.get("type", "").endswith("location"):
                    event["to_location"] = (child.text or "").strip()
            found.append(event)
    return found


def _genealogy(events: list[dict[str, Any]]) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """Parents and children of each lot by the TransformationEvents."""
    parents: dict[str, set[str]] = {}
    children: dict[str, set[str]] = {}
    for event in events:
        if event["type"] != "TransformationEvent":
            continue
        for out in event["lists"].get("outputQuantityList", []):
            for source in event["lists"].get("inputQuantityList", []):
                parents.setdefault(out, set()).add(source)
                children.setdefault(source, set()).add(out)
    return parents, children


def _closure(start: str, step: dict[str, set[str]]) -> set[str]:
    found: set[str] = set()
    todo = [start]
    while todo:
        for nxt in step.get(todo.pop(), set()) - found:
            found.add(nxt)
            todo.append(nxt)
    return found


def _cross_files() -> dict[str, Path]:
    folder = reference_dir() / "opentraceability" / "testserver-data" / "epcis-data"
    return {name: folder / f"{name}.xml" for name in CROSS}


@pytest.mark.parametrize("order", ["as_shipped", "reverse"])
def test_the_cross_document_genealogy_traces_across_the_three_documents(
    store: GraphStore, order: str
) -> None:
    files = _cross_files()
    parsed = {name: _xml_events(path) for name, path in files.items()}
    names = list(CROSS) if order == "as_shipped" else list(reversed(CROSS))
    for name in names:
        report = _ingest(store, files[name].read_bytes(), files[name].name)
        assert report["events"]["rejected"] == 0, report["rejections"]
        assert report["events"]["read"] == len(parsed[name])

    everything = [e for name in CROSS for e in parsed[name]]
    parents, children = _genealogy(everything)
    received_whole = {
        c
        for e in parsed["primary-processor"]
        if e.get("bizStep", "").endswith("receiving")
        for c in e["lists"].get("quantityList", [])
    }
    made_in_secondary = {
        c
        for e in parsed["secondary-processor"]
        if e["type"] == "TransformationEvent"
        for c in e["lists"].get("outputQuantityList", [])
    }
    importer_lots = {c for e in parsed["importer"] for c in e["lists"].get("quantityList", [])}
    canned = sorted(importer_lots & made_in_secondary)
    assert canned, "the importer handles a lot the secondary processor made"

    # backward from the importer's canned lot: through both processors to the whole fish
    backward = trace(store, canned[0], Direction.BACKWARD)
    ancestors = _closure(canned[0], parents)
    assert set(backward.lots) == ancestors
    assert received_whole & ancestors and received_whole & ancestors <= set(backward.lots)
    transformations = [
        e for name in CROSS for e in parsed[name] if e["type"] == "TransformationEvent"
    ]
    assert len(backward.batches) == sum(
        1
        for e in transformations
        if set(e["lists"]["outputQuantityList"]) & (ancestors | {canned[0]})
    )

    # forward from a whole-fish lot: to the canned lot and the importer's shipments/receipts
    whole = sorted(lot for lot in received_whole if canned[0] in _closure(lot, children))[0]
    forward = trace(store, whole, Direction.FORWARD)
    assert set(forward.lots) == _closure(whole, children)
    documents = {
        name: read_document(path.read_bytes(), name=path.name) for name, path in files.items()
    }
    importer_shipping = [
        e
        for e in documents["importer"].events
        if str(e.body.get("bizStep", "")).endswith("shipping")
        and {q["epcClass"] for q in e.body.get("quantityList", [])} & set(forward.lots)
    ]
    assert importer_shipping
    assert {event_hash(e.body) for e in importer_shipping} <= set(forward.shipments)
    shipped_to = {
        e["destination"]
        for e in parsed["importer"]
        if e.get("bizStep", "").endswith("shipping")
        and set(e["lists"].get("quantityList", [])) & set(forward.lots)
    }
    assert shipped_to <= set(forward.customers)
    # the importer's receipts of the canned lot: a movement to the importer's location
    received_at = {
        e["to_location"]
        for e in parsed["importer"]
        if e.get("bizStep", "").endswith("receiving") and canned[0] in e["lists"]["quantityList"]
    }
    moved_to = {site for _, site, _ in store.linked(Label.LOT, [canned[0]], RelType.MOVED_TO, True)}
    assert received_at and received_at <= moved_to


# -- the DSCSA example ---------------------------------------------------------------------------

DSCSA = "openepcis/1.2/EPCIS/XML/Capture/Documents/GS1_US_Pharma_Example_2_2_1_1.xml"


def _dscsa_facts(path: Path) -> dict[str, Any]:
    """What the file says, read with ElementTree: commissioned SGTINs and their ILMD, the
    aggregation parents and children, the shipped EPCs and the destination party."""
    root = SafeElementTree.fromstring(path.read_bytes())
    commissioned: dict[str, tuple[str, str]] = {}  # sgtin -> (lot number, expiry)
    packed: dict[str, list[str]] = {}  # parent -> children
    shipped: list[str] = []
    ship: dict[str, str] = {}
    names: dict[str, dict[str, str]] = {}
    for element in root.iter():
        name = _local(element.tag)
        if name == "VocabularyElement":
            names[element.get("id", "")] = {
                _local(a.get("id", "")).rsplit("#", 1)[-1]: (a.text or "").strip()
                for a in element
                if _local(a.tag) == "attribute"
            }
        if name == "ObjectEvent":
            epcs = [(e.text or "").strip() for e in element.iter() if _local(e.tag) == "epc"]
            lot = next((x.text for x in element.iter() if _local(x.tag) == "lotNumber"), None)
            expiry = next(
                (x.text for x in element.iter() if _local(x.tag) == "itemExpirationDate"), ""
            )
            step = next((x.text for x in element.iter() if _local(x.tag) == "bizStep"), "")
            if lot:
                commissioned.update({epc: (lot, expiry or "") for epc in epcs})
            if step and step.endswith("shipping"):
                shipped = epcs
                ship["time"] = next(x.text for x in element.iter() if _local(x.tag) == "eventTime")
                for x in element.iter():
                    kind = x.get("type", "")
                    if _local(x.tag) == "destination" and kind.endswith("owning_party"):
                        ship["customer"] = (x.text or "").strip()
                    if _local(x.tag) == "source" and kind.endswith("owning_party"):
                        ship["shipper"] = (x.text or "").strip()
        if name == "AggregationEvent":
            parent = next(x.text for x in element.iter() if _local(x.tag) == "parentID")
            packed[(parent or "").strip()] = [
                (e.text or "").strip() for e in element.iter() if _local(e.tag) == "epc"
            ]
    return {
        "commissioned": commissioned,
        "packed": packed,
        "shipped": shipped,
        "ship": ship,
        "names": names,
    }


def _lgtin_of(sgtin: str, lot: str) -> str:
    company, item, _ = sgtin.removeprefix("urn:epc:id:sgtin:").split(".", 2)
    return f"urn:epc:class:lgtin:{company}.{item}.{lot}"


def test_the_dscsa_example_gives_its_lots_packing_hierarchy_and_shipment(
    store: GraphStore,
) -> None:
    path = reference_dir() / DSCSA
    facts = _dscsa_facts(path)
    report = _ingest(store, path.read_bytes(), path.name)
    assert report["events"]["rejected"] == 0 and report["events"]["read"] == _count_events(path)

    by_lot: dict[str, set[str]] = {}
    for sgtin, (lot, _) in facts["commissioned"].items():
        by_lot.setdefault(_lgtin_of(sgtin, lot), set()).add(sgtin)
    assert len(by_lot) == 2  # the saleable units' GTIN and the cases' GTIN, both lot A123
    lots = store.fetch_nodes(Label.LOT, sorted(by_lot))
    assert set(lots) == set(by_lot)
    # which lot is the unit lot: the one whose instances are packed into the others
    cases = {p for p in facts["packed"] if p.startswith("urn:epc:id:sgtin:")}
    pallets = {p for p in facts["packed"] if p.startswith("urn:epc:id:sscc:")}
    assert len(cases) == 3 and len(pallets) == 1
    (unit_lot,) = [lot for lot, epcs in by_lot.items() if not epcs & cases]
    (case_lot,) = [lot for lot, epcs in by_lot.items() if epcs == cases]
    units = by_lot[unit_lot]
    assert len(units) == 12
    for lot_id, epcs in by_lot.items():
        props = lots[lot_id].props
        lot_number, expiry = facts["commissioned"][next(iter(epcs))]
        assert props["lot_number"] == lot_number == "A123"
        assert props["quantity"] == len(epcs) and props["unit"] == "ea"
        assert props["epcis_instances"].split() == sorted(epcs)
        # the expiry, a date, read in the event's time zone
        assert props["expiry"].startswith(str(datetime.fromisoformat(expiry).date()))
        assert (
            props["material_id"]
            == "urn:epc:idpat:sgtin:"
            + ".".join(lot_id.removeprefix("urn:epc:class:lgtin:").split(".")[:2])
            + ".*"
        )
    # the packing hierarchy: units in cases on the pallet; cases on the pallet
    assert lots[unit_lot].props["epcis_containers"].split() == sorted(cases | pallets)
    assert lots[case_lot].props["epcis_containers"].split() == sorted(pallets)
    assert all(set(facts["packed"][c]) <= units for c in cases)
    assert set(facts["packed"][next(iter(pallets))]) == cases

    # the shipment: the pallet, to the wholesaler of the destination list, with both lots
    assert facts["shipped"] == sorted(pallets)
    customer = facts["ship"]["customer"]
    shipped_at = format_utc(datetime.fromisoformat(facts["ship"]["time"].replace("Z", "+00:00")))
    for lot_id, count in ((unit_lot, 12), (case_lot, 3)):
        answer = trace(store, lot_id, Direction.FORWARD)
        assert answer.customers == [customer]
        (shipment,) = answer.shipments
        ref = RelRef(
            RelType.SHIPPED_IN, NodeRef(Label.LOT, lot_id), NodeRef(Label.SHIPMENT, shipment)
        )
        rel = store.fetch_rels([ref])[ref]
        assert rel["quantity"] == count and rel["unit"] == "ea"
        node = store.fetch_nodes(Label.SHIPMENT, [shipment])[shipment].props
        assert node["shipped_at"] == shipped_at
        assert set(rel["epcis_epcs"].split()) >= pallets
    # master data: the product's name from EPCClass, the wholesaler's from its location
    unit_product = lots[unit_lot].props["material_id"]
    material = store.fetch_nodes(Label.MATERIAL, [unit_product])[unit_product].props
    assert material["name"] == facts["names"][unit_product]["regulatedProductName"] == "Epcistra"
    party = store.fetch_nodes(Label.CUSTOMER, [customer])[customer].props
    assert party["name"] == facts["names"][customer]["name"]
    assert party["country"] == facts["names"][customer]["countryCode"]
    site = lots[unit_lot].props["site"]
    assert site in facts["names"] and facts["names"][site]["name"]


# -- errorDeclaration ----------------------------------------------------------------------------

ERROR_FILES = (
    "gs1-epcis/JSON/WithErrorDeclaration/ErrorDeclarationAndCorrectiveEvent.jsonld",
    "gs1-epcis/XML/WithErrorDeclaration/ErrorDeclarationAndCorrectiveEvent.xml",
)


@pytest.mark.parametrize("relative", ERROR_FILES)
def test_an_error_declaration_marks_what_the_event_wrote_and_custody_shows_it(
    store: GraphStore, relative: str
) -> None:
    path = reference_dir() / relative
    document = read_document(path.read_bytes(), name=path.name)
    declared = [e for e in document.events if e.body.get("errorDeclaration")]
    assert len(declared) == 1
    declaration = declared[0].body["errorDeclaration"]
    corrective_ids = sorted(declaration["correctiveEventIDs"])
    corrective = [e for e in document.events if e.event_id in corrective_ids]
    assert corrective

    report = ingest_epcis(store, document, actor="test", label="epcis:error").as_dict()
    assert report["events"]["rejected"] == 0
    assert report["events"]["accepted"] == len(document.events)
    # neither event has a transformationID: each is its own batch, keyed by its hash
    wrong = event_hash(declared[0].body)
    fixed = [event_hash(e.body) for e in corrective]
    batches = store.fetch_nodes(Label.BATCH, [wrong, *fixed])
    assert set(batches) == {wrong, *fixed}
    marked = batches[wrong].props
    declared_at = format_utc(datetime.fromisoformat(declaration["declarationTime"]))
    assert marked["epcis_error_declared_at"] == declared_at
    assert marked["epcis_error_reason"] == str(declaration["reason"]).rsplit(":", 1)[-1]
    assert marked["epcis_corrective_event_ids"].split() == corrective_ids
    for batch_id in fixed:  # the corrective events are imported, unmarked
        assert "epcis_error_declared_at" not in batches[batch_id].props

    shown = custody(store, wrong)
    steps = [e for e in shown.events if e.kind in ("batch_started", "batch_completed")]
    assert steps and all(e.epcis_error is not None for e in steps)
    assert all(e.epcis_error.corrective_event_ids == corrective_ids for e in steps if e.epcis_error)
    assert [f.kind for f in shown.findings].count("epcis_error_declared") == 1
    for batch_id in fixed:
        clean = custody(store, batch_id)
        assert all(e.epcis_error is None for e in clean.events)
        assert "epcis_error_declared" not in [f.kind for f in clean.findings]


def test_a_declaration_arriving_later_marks_the_stored_records(store: GraphStore) -> None:
    path = reference_dir() / ERROR_FILES[0]
    body = json.loads(path.read_bytes())
    original = copy.deepcopy(body)
    events = original["epcisBody"]["eventList"]
    declared_index = next(i for i, e in enumerate(events) if "errorDeclaration" in e)
    declaration = events[declared_index].pop("errorDeclaration")
    first = _ingest(store, json.dumps(original).encode(), "original.jsonld")
    assert first["events"]["rejected"] == 0
    read = read_document(json.dumps(original).encode(), name="original.jsonld")
    wrong = event_hash(read.events[declared_index].body)
    assert "epcis_error_declared_at" not in store.fetch_nodes(Label.BATCH, [wrong])[wrong].props
    # the declaration: the same event (same hash: errorDeclaration is not hashed), declared
    later = _ingest(store, path.read_bytes(), path.name)
    assert later["events"]["rejected"] == 0
    assert later["events"]["accepted"] == 1 and later["updated"] >= 1
    props = store.fetch_nodes(Label.BATCH, [wrong])[wrong].props
    assert props["epcis_corrective_event_ids"].split() == declaration["correctiveEventIDs"]
    shown = custody(store, wrong)
    assert any(e.kind == "batch_started" and e.epcis_error is not None for e in shown.events)


def test_the_api_report_names_the_objects_of_no_known_lot(api: Api) -> None:
    path = reference_dir() / ERROR_FILES[0]
    body = json.loads(path.read_bytes())
    reply = api.post(
        "integrator",
        "/ingest/epcis",
        content=path.read_bytes(),
        headers={"Content-Type": "application/ld+json"},
    )
    assert reply.status_code == 200, reply.text
    partly = reply.json()["events"]["partly_mapped"]
    events = body["epcisBody"]["eventList"]
    # every SGTIN of the file is commissioned nowhere in it, and no quantity names a lot
    # by a pattern with an ILMD lotNumber: each is named, with its field
    for position, event in enumerate(events, start=1):
        expected = {
            (key, epc) for key in ("inputEPCList", "outputEPCList") for epc in event.get(key, [])
        } | {
            (key, q["epcClass"])
            for key in ("inputQuantityList", "outputQuantityList")
            for q in event.get(key, [])
            if q["epcClass"].startswith("urn:epc:idpat:")
        }
        (entry,) = [p for p in partly if p["position"] == position]
        assert entry["event"] == event["eventID"]
        assert {(u["field"].split("[")[0], u["id"]) for u in entry["unplaced"]} == expected


# -- speed: linear in the number of events --------------------------------------------------


def _packed_plant(rounds: int) -> EpcisDocument:
    """A document of ``6 * rounds`` events: units and a case commissioned, packed into the
    case and onto a pallet, the pallet shipped, and a transformation, each round."""
    at = {"eventTime": "2026-01-01T00:00:00+00:00", "eventTimeZoneOffset": "+00:00"}
    lot_number = "{urn:epcglobal:cbv:mda}lotNumber"
    events: list[dict[str, Any]] = []
    for p in range(rounds):
        units = [f"urn:epc:id:sgtin:4012345.011111.{p}-{k}" for k in range(4)]
        case = f"urn:epc:id:sgtin:4012345.111111.{p}"
        pallet = f"urn:epc:id:sscc:4012345.{p:010d}"
        ilmd = {lot_number: f"L{p % 50}"}
        commissioning = {"type": "ObjectEvent", "action": "ADD", "bizStep": "commissioning"}
        events += [
            {**commissioning, "epcList": units, "ilmd": ilmd, **at},
            {**commissioning, "epcList": [case], "ilmd": ilmd, **at},
            {"type": "AggregationEvent", "action": "ADD", "parentID": case, "childEPCs": units}
            | at,
            {"type": "AggregationEvent", "action": "ADD", "parentID": pallet, "childEPCs": [case]}
            | at,
            {
                "type": "ObjectEvent",
                "action": "OBSERVE",
                "bizStep": "shipping",
                "epcList": [pallet],
                "destinationList": [
                    {"type": "owning_party", "destination": "urn:epc:id:pgln:4000001.00000"}
                ],
                **at,
            },
            {
                "type": "TransformationEvent",
                "transformationID": f"urn:lotgraph:batch:B{p}",
                "inputQuantityList": [
                    {"epcClass": f"urn:epc:class:lgtin:4012345.022222.R{p % 7}", "quantity": 2}
                ],
                "outputQuantityList": [
                    {"epcClass": f"urn:epc:class:lgtin:4012345.033333.O{p}", "quantity": 1}
                ],
                **at,
            },
        ]
    return EpcisDocument(
        "EPCISDocument", "2.0", None, [EpcisEvent(i, e) for i, e in enumerate(events)]
    )


def test_mapping_time_grows_linearly_with_the_events() -> None:
    def fastest(rounds: int) -> float:
        document = _packed_plant(rounds)
        best = float("inf")
        for _ in range(3):
            started = time.perf_counter()
            mapped = map_document(document)
            best = min(best, time.perf_counter() - started)
        assert len(mapped.records["shipments"]) == 2 * rounds  # the units' and the case's lot
        return best

    small, large = fastest(250), fastest(1000)
    # four times the events: about four times the time (a scan per event would be sixteen)
    assert large / small < 9, (small, large)


def test_a_declaration_in_the_same_document_as_its_event_marks_it(store: GraphStore) -> None:
    # EPCIS 2.0 §7.4.1.2: the declaration is the erroneous event again, errorDeclaration
    # added, under the same eventID; here it follows the event in one document
    body = json.loads((reference_dir() / ERROR_FILES[0]).read_bytes())
    events = body["epcisBody"]["eventList"]
    declared_index = next(i for i, e in enumerate(events) if "errorDeclaration" in e)
    declared = events[declared_index]
    original = {k: v for k, v in declared.items() if k != "errorDeclaration"}
    events[declared_index:declared_index] = [original]
    report = _ingest(store, json.dumps(body).encode(), "declared-later.jsonld")
    counts = report["events"]
    assert counts["read"] == len(events) and counts["rejected"] == 0, report["rejections"]
    (note,) = counts["not_mapped"]
    assert note["position"] == declared_index + 2 and "erroneous" in note["reason"]
    wrong = event_hash(read_document(json.dumps(body).encode(), name="x").events[0].body)
    props = store.fetch_nodes(Label.BATCH, [wrong])[wrong].props
    assert props["epcis_event_id"] == declared["eventID"]
    assert (
        props["epcis_corrective_event_ids"].split()
        == declared["errorDeclaration"]["correctiveEventIDs"]
    )
    # a copy with other content under the same eventID is still refused by name
    twin = copy.deepcopy(declared)
    twin["eventTime"] = "2020-01-14T01:00:00+01:00"
    events.append(twin)
    again = _ingest(store, json.dumps(body).encode(), "declared-twice.jsonld")
    (rejection,) = [r for r in again["rejections"] if r["file"] == "events"]
    assert rejection["row"] == len(events) and rejection["column"] == "eventID"


@pytest.mark.parametrize("relative", INVALID)
def test_an_invalid_example_writes_only_its_valid_events(relative: str, tmp_path: Path) -> None:
    """An invalid reference document through the import: refused whole with nothing
    written, or each faulty event dead-lettered (named, with its field) and the store then
    holding exactly what the document's valid events alone write."""
    path = reference_dir() / relative
    try:
        document = read_document(path.read_bytes(), name=relative)
    except EpcisError:
        return  # refused before any store is touched (the CLI's exit 2, the API's 400)
    store = EmbeddedStore(tmp_path / "invalid.sqlite")
    store.ensure_schema()
    report = ingest_epcis(store, document, actor="test", label=relative)
    assert report.events is not None
    counted = report.events["accepted"] + report.events["unchanged"] + report.events["rejected"]
    assert report.events["read"] == counted == _count_events(path)
    dead = {(r.row, r.column) for r in report.rejections if r.file == "events"}
    assert {(p.index + 1, p.field) for p in document.problems} <= dead
    alone = EmbeddedStore(tmp_path / "valid-alone.sqlite")
    alone.ensure_schema()
    valid_only = copy.copy(document)
    valid_only.problems = []
    ingest_epcis(alone, valid_only, actor="test", label=relative)
    assert store.content_sha256() == alone.content_sha256()
    store.close()
    alone.close()
