"""Each event of an EPCIS import is written whole or not at all, on both stores.

An event one of whose later-kind records the loader rejects (here a consumption whose unit
cannot be converted to its lot's) leaves no trace: the store holds what the same document
without that event gives (compared by ``content_sha256`` with a store that was sent that
document), and the report rejects the event naming it, the kind and the field. A lot the
rejected event shares with a good one is the good event's alone (docs/EPCIS.md "Each event
whole or not at all"). The quantities and lot numbers are drawn from a printed seed.
"""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path
from typing import Any

from graph.embedded import EmbeddedStore
from graph.model import Label
from graph.store import GraphStore
from ingest.epcis.document import read_document
from ingest.epcis.importer import ingest_epcis

PREFIX = "4012345"


def _lgtin(product: str, lot: str) -> str:
    return f"urn:epc:class:lgtin:{PREFIX}.{product}.{lot}"


def _amount(epc_class: str, quantity: float, uom: str) -> dict[str, Any]:
    return {"epcClass": epc_class, "quantity": quantity, "uom": uom}


def _commissioning(event_id: str, epc_class: str, lot: str, kg: float) -> dict[str, Any]:
    return {
        "type": "ObjectEvent",
        "eventID": event_id,
        "eventTime": "2026-01-01T08:00:00Z",
        "eventTimeZoneOffset": "+00:00",
        "action": "ADD",
        "bizStep": "commissioning",
        "quantityList": [_amount(epc_class, kg, "KGM")],
        "ilmd": {"cbvmda:lotNumber": lot},
        "bizLocation": {"id": "urn:lotgraph:site:SITE-W"},
    }


def _transformation(
    event_id: str, batch: str, inputs: list[dict[str, Any]], outputs: list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "type": "TransformationEvent",
        "eventID": event_id,
        "eventTime": "2026-01-02T08:00:00Z",
        "eventTimeZoneOffset": "+00:00",
        "transformationID": f"urn:lotgraph:batch:{batch}",
        "inputQuantityList": inputs,
        "outputQuantityList": outputs,
        "bizLocation": {"id": "urn:lotgraph:site:SITE-W"},
    }


def _document(events: list[dict[str, Any]]) -> bytes:
    body = {
        "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2026-01-03T00:00:00Z",
        "epcisBody": {"eventList": events},
    }
    return json.dumps(body).encode()


def _ingest(store: GraphStore, events: list[dict[str, Any]]) -> dict[str, Any]:
    document = read_document(_document(events), name="test.jsonld")
    return ingest_epcis(store, document, actor="test", label="epcis:test").as_dict()


def _reference(tmp_path: Path, events: list[dict[str, Any]]) -> str:
    """The content a fresh store holds after the document of ``events``."""
    reference = EmbeddedStore(tmp_path / "reference.sqlite")
    try:
        reference.ensure_schema()
        report = _ingest(reference, events)
        assert report["rejected"] == 0 and report["events"]["rejected"] == 0, report
        return reference.content_sha256()
    finally:
        reference.close()


def _plant(rng: random.Random) -> dict[str, Any]:
    """A raw lot in kg, a good batch that uses it, and a bad batch that uses it in litres
    (which the loader rejects: kg cannot be converted to L)."""
    raw_lot, good_lot, bad_lot = (f"{p}{rng.randrange(10**6)}" for p in ("R", "G", "X"))
    raw = _lgtin("011111", raw_lot)
    kg = round(rng.uniform(100, 1000), 3)
    return {
        "raw": raw,
        "commission": _commissioning("urn:uuid:commission", raw, raw_lot, kg),
        "good": _transformation(
            "urn:uuid:good",
            f"B-GOOD-{rng.randrange(10**6)}",
            [_amount(raw, round(kg / 4, 3), "KGM")],
            [_amount(_lgtin("022222", good_lot), round(rng.uniform(1, 50), 3), "KGM")],
        ),
        "bad": _transformation(
            "urn:uuid:bad",
            f"B-BAD-{rng.randrange(10**6)}",
            [_amount(raw, round(rng.uniform(1, 20), 3), "LTR")],
            [_amount(_lgtin("033333", bad_lot), round(rng.uniform(1, 50), 3), "KGM")],
        ),
    }


def _seeded() -> random.Random:
    seed = random.randrange(2**32)
    print(f"seed {seed}")
    return random.Random(seed)


def _the_rejection(report: dict[str, Any], position: int) -> dict[str, Any]:
    (rejection,) = [r for r in report["rejections"] if r["file"] == "events"]
    assert rejection["row"] == position
    assert rejection["column"] == "consumptions.unit"
    assert rejection["reason"].startswith("urn:uuid:bad: its consumptions record")
    return rejection


def test_an_event_whose_later_record_is_rejected_leaves_no_trace(
    store: GraphStore, tmp_path: Path
) -> None:
    plant = _plant(_seeded())
    events = [plant["commission"], plant["good"], plant["bad"]]
    expected = _reference(tmp_path, events[:2])

    report = _ingest(store, events)
    assert store.content_sha256() == expected
    _the_rejection(report, 3)
    assert report["events"] == report["events"] | {"read": 3, "accepted": 2, "rejected": 1}
    bad = plant["bad"]
    bad_batch = bad["transformationID"].rsplit(":", 1)[1]
    assert not store.fetch_nodes(Label.BATCH, [bad_batch])
    assert not store.fetch_nodes(Label.LOT, [bad["outputQuantityList"][0]["epcClass"]])
    # the dead letter holds the event's rejection, and sending the document again
    # changes nothing and rejects the same event
    stored = [r for r in store.rejections_page(None, 100) if r["ingest_id"] == report["ingest_id"]]
    assert [(r["file"], r["row"], r["column"]) for r in stored] == [
        ("events", 3, "consumptions.unit")
    ]
    again = _ingest(store, events)
    assert again["accepted"] == 0 and again["events"]["rejected"] == 1
    assert store.content_sha256() == expected


def test_a_lot_the_rejected_event_shares_is_the_good_events_alone(
    store: GraphStore, tmp_path: Path
) -> None:
    """The bad batch makes more of the good batch's output lot: rejected, it adds nothing
    to that lot (not its quantity, not its event hash or id)."""
    plant = _plant(_seeded())
    bad = copy.deepcopy(plant["bad"])
    shared = plant["good"]["outputQuantityList"][0]["epcClass"]
    bad["outputQuantityList"] = [_amount(shared, 7.5, "KGM")]
    events = [plant["commission"], plant["good"], bad]
    expected = _reference(tmp_path, events[:2])

    report = _ingest(store, events)
    assert store.content_sha256() == expected
    _the_rejection(report, 3)
    lot = store.fetch_nodes(Label.LOT, [shared])[shared].props
    assert lot["quantity"] == plant["good"]["outputQuantityList"][0]["quantity"]
    assert "urn:uuid:bad" not in str(lot.get("epcis_event_id"))


def test_a_document_without_a_rejected_record_loads_as_before(store: GraphStore) -> None:
    """The check finds nothing where the loader rejects nothing: every event is accepted
    and each record the loader reports matches the document's."""
    plant = _plant(_seeded())
    report = _ingest(store, [plant["commission"], plant["good"]])
    assert report["rejected"] == 0 and report["rejections"] == []
    assert report["events"] == report["events"] | {"read": 2, "accepted": 2, "rejected": 0}


def test_an_event_the_mapping_rejects_adds_nothing_to_a_lot_it_names(
    store: GraphStore, tmp_path: Path
) -> None:
    """A second commissioning of the raw lot in litres cannot be added to its kilograms:
    the event is rejected, and the lot is the first commissioning's alone."""
    plant = _plant(_seeded())
    raw_lot = plant["commission"]["ilmd"]["cbvmda:lotNumber"]
    litres = _commissioning("urn:uuid:litres", plant["raw"], raw_lot, 3.0)
    litres["quantityList"][0]["uom"] = "LTR"
    events = [plant["commission"], litres, plant["good"]]
    expected = _reference(tmp_path, [plant["commission"], plant["good"]])

    report = _ingest(store, events)
    assert store.content_sha256() == expected
    (rejection,) = [r for r in report["rejections"] if r["file"] == "events"]
    assert (rejection["row"], rejection["column"]) == (2, "quantityList.uom")
    assert rejection["reason"].startswith("urn:uuid:litres:")


def test_a_rejected_record_of_several_events_rejects_every_one_of_them(
    store: GraphStore, tmp_path: Path
) -> None:
    """Two TransformationEvents of one transformationID make one batch; the first states a
    batch status lotgraph has not: the batch record is rejected, and with it both events,
    their output lots and consumptions too (the loader cannot tell whose part is wrong)."""
    plant = _plant(_seeded())
    first = copy.deepcopy(plant["good"])
    first["urn:lotgraph:mda#status"] = "not-a-status"
    second = copy.deepcopy(plant["good"])
    second["eventID"] = "urn:uuid:good-2"
    second["eventTime"] = "2026-01-02T09:00:00Z"
    second["outputQuantityList"] = [_amount(_lgtin("044444", "SECOND"), 2.0, "KGM")]
    events = [plant["commission"], first, second]
    expected = _reference(tmp_path, [plant["commission"]])

    report = _ingest(store, events)
    assert store.content_sha256() == expected
    rejections = [r for r in report["rejections"] if r["file"] == "events"]
    assert [(r["row"], r["column"]) for r in rejections] == [
        (2, "batches.status"),
        (3, "batches.status"),
    ]
    assert report["events"] == report["events"] | {"read": 3, "accepted": 1, "rejected": 2}
