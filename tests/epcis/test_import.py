"""EPCIS import through the bundle loader, on both stores: genealogy, dead letter per event,
idempotency whatever the eventID, duplicate eventIDs, units, and POST /ingest/epcis.

Expected lots and counts are derived from the documents' own events, never written down."""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path
from typing import Any

from graph.model import Label, RelType
from graph.store import GraphStore, NodeRef, RelRef
from ingest.epcis.document import read_document
from ingest.epcis.event_hash import event_hash
from ingest.epcis.importer import ingest_epcis
from ingest.epcis.mapping import UOM_UNITS
from ingest.epcis.model import EpcisDocument
from queries.trace import Direction, trace
from tests.api.conftest import Api

DATA = Path(__file__).resolve().parents[1] / "data" / "epcis" / "opentraceability"
TRACEBACK = DATA / "traceback_tests.jsonld"
MISSING_LOT = DATA / "gdst_processing_missing_lot_number.jsonld"


def _json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def _document(body: dict[str, Any], name: str = "test.jsonld") -> EpcisDocument:
    return read_document(json.dumps(body).encode(), name=name)


def _events(body: dict[str, Any]) -> list[dict[str, Any]]:
    return body["epcisBody"]["eventList"]  # type: ignore[no-any-return]


def _ingest(store: GraphStore, body: dict[str, Any]) -> dict[str, Any]:
    return ingest_epcis(store, _document(body), actor="test", label="epcis:test").as_dict()


def _ancestors(events: list[dict[str, Any]], lot: str) -> set[str]:
    """Every input class upstream of ``lot`` by the file's TransformationEvents."""
    inputs_of: dict[str, set[str]] = {}
    for event in events:
        if event["type"] == "TransformationEvent":
            ins = {q["epcClass"] for q in event.get("inputQuantityList", [])}
            for out in event.get("outputQuantityList", []):
                inputs_of.setdefault(out["epcClass"], set()).update(ins)
    found: set[str] = set()
    todo = [lot]
    while todo:
        for parent in inputs_of.get(todo.pop(), set()) - found:
            found.add(parent)
            todo.append(parent)
    return found


def test_the_traceback_genealogy_traces_from_the_final_lot_to_feed_mill_and_hatchery(
    store: GraphStore,
) -> None:
    body = _json(TRACEBACK)
    events = _events(body)
    outputs = {
        q["epcClass"]
        for e in events
        if e["type"] == "TransformationEvent"
        for q in e["outputQuantityList"]
    }
    inputs = {
        q["epcClass"]
        for e in events
        if e["type"] == "TransformationEvent"
        for q in e["inputQuantityList"]
    }
    (final,) = outputs - inputs  # the lot no transformation of the file consumes
    report = _ingest(store, body)
    counts = report["events"]
    assert counts["read"] == len(events)
    assert counts["read"] == counts["accepted"] + counts["unchanged"] + counts["rejected"]
    answer = trace(store, final, Direction.BACKWARD)
    expected = _ancestors(events, final)
    assert any("feedmill" in lot for lot in expected) and any("hatchery" in lot for lot in expected)
    assert set(answer.lots) == expected
    tids = {e["transformationID"] for e in events if e.get("transformationID")}
    assert tids <= set(answer.batches)
    assert len(answer.batches) == sum(1 for e in events if e["type"] == "TransformationEvent")
    # every stored lot carries the hash of the event that made it (the event as read:
    # the hash is of its namespaces resolved, as the CBV 2.0 algorithm defines it)
    made = store.fetch_nodes(Label.LOT, [final])[final].props
    read = read_document(TRACEBACK.read_bytes(), name=TRACEBACK.name).events
    maker = next(
        e.body
        for e in read
        if e.type == "TransformationEvent"
        and final in {q["epcClass"] for q in e.body["outputQuantityList"]}
    )
    assert made["epcis_event_hash"] == event_hash(maker)
    assert made["epcis_event_id"] == maker["eventID"]
    assert made["lot_number"] == next(
        v for k, v in maker["ilmd"].items() if k.endswith("lotNumber")
    )
    # the file repeats eventIDs with other content: each later one is dead-lettered by name
    ids = [e.get("eventID") for e in events]
    repeated = [i for i, eid in enumerate(ids) if eid in ids[:i]]
    assert repeated
    dead = {r["row"]: r for r in report["rejections"] if r["file"] == "events"}
    for i in repeated:
        assert dead[i + 1]["column"] == "eventID" and ids[i] in dead[i + 1]["reason"]
    assert counts["rejected"] == len(repeated)


def test_a_processing_event_without_lot_number_is_dead_lettered_and_the_others_kept(
    store: GraphStore,
) -> None:
    bad = _events(_json(MISSING_LOT))[0]
    good = _json(TRACEBACK)
    kept = [e for e in _events(good) if e["type"] == "TransformationEvent"]
    _events(good)[:] = [*kept, bad]
    report = _ingest(store, good)
    (rejection,) = [r for r in report["rejections"] if r["file"] == "events"]
    assert rejection["row"] == len(kept) + 1
    assert rejection["column"] == "ilmd.lotNumber"
    assert rejection["reason"].startswith(f"event {len(kept) + 1}:")
    assert report["events"]["rejected"] == 1
    assert report["events"]["accepted"] == len(kept)
    produced = {q["epcClass"] for e in kept for q in e["outputQuantityList"]}
    assert set(store.fetch_nodes(Label.LOT, sorted(produced))) == produced
    bad_outputs = [q["epcClass"] for q in bad["outputQuantityList"]]
    assert not store.fetch_nodes(Label.LOT, bad_outputs)
    stored = [r for r in store.rejections_page(None, 100) if r["ingest_id"] == report["ingest_id"]]
    assert [(r["file"], r["row"], r["column"]) for r in stored] == [
        ("events", len(kept) + 1, "ilmd.lotNumber")
    ]


def test_the_same_document_again_and_an_event_under_another_id_change_nothing(
    store: GraphStore,
) -> None:
    body = _json(TRACEBACK)
    ids = [e.get("eventID") for e in _events(body)]
    # the events whose eventID the file does not repeat (a repeated one is dead-lettered)
    _events(body)[:] = [e for e in _events(body) if ids.count(e.get("eventID")) == 1]
    first = _ingest(store, body)
    assert first["events"]["accepted"] > 0 and first["events"]["rejected"] == 0
    again = _ingest(store, body)
    assert again["accepted"] == 0 and again["updated"] == 0
    assert again["events"]["accepted"] == 0
    assert (
        again["events"]["unchanged"] == first["events"]["accepted"] + first["events"]["unchanged"]
    )
    renamed = copy.deepcopy(body)
    for event in _events(renamed):
        event["eventID"] = f"urn:uuid:renamed-{random.randrange(10**9)}"
    third = _ingest(store, renamed)
    assert third["accepted"] == 0 and third["updated"] == 0 and third["rejected"] == 0
    assert third["events"]["unchanged"] == third["events"]["read"] == len(ids_kept := _events(body))
    lots = [r for r in store.fetch_nodes(Label.LOT, store.node_ids(Label.LOT)).values()]
    stored_ids = {p for n in lots for p in str(n.props.get("epcis_event_id", "")).split()}
    assert stored_ids <= {e["eventID"] for e in ids_kept}  # the ids first imported stay


def test_duplicate_event_ids_keep_the_first_and_name_the_later_ones(store: GraphStore) -> None:
    body = _json(TRACEBACK)
    transformations = [e for e in _events(body) if e["type"] == "TransformationEvent"]
    twin = copy.deepcopy(transformations[0])
    twin["eventTime"] = "2022-03-01T00:00:00.000+00:00"  # other content, same eventID
    same = copy.deepcopy(transformations[1])  # the very same event twice
    _events(body)[:] = [*transformations, twin, same]
    report = _ingest(store, body)
    dead = [r for r in report["rejections"] if r["file"] == "events"]
    # both later ones are named, the other content and the repeat alike; the first is kept
    assert [(r["row"], r["column"]) for r in dead] == [
        (len(transformations) + 1, "eventID"),
        (len(transformations) + 2, "eventID"),
    ]
    assert twin["eventID"] in dead[0]["reason"] and "other content" in dead[0]["reason"]
    assert same["eventID"] in dead[1]["reason"] and "the same content" in dead[1]["reason"]
    counts = report["events"]
    assert counts["read"] == len(transformations) + 2
    assert counts["rejected"] == 2 and counts["accepted"] == len(transformations)


def test_quantities_are_converted_from_their_uom_to_the_lots_unit(store: GraphStore) -> None:
    rng = random.Random()
    seed = rng.randrange(10**6)
    print(f"seed {seed}")
    rng.seed(seed)
    grams = rng.randrange(1, 10**6)
    body = {
        "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2026-01-01T00:00:00Z",
        "epcisBody": {
            "eventList": [
                {
                    "type": "ObjectEvent",
                    "eventTime": "2026-01-01T08:00:00+01:00",
                    "eventTimeZoneOffset": "+01:00",
                    "action": "ADD",
                    "bizStep": "commissioning",
                    "quantityList": [
                        {
                            "epcClass": "urn:epc:class:lgtin:4012345.011111.A1",
                            "quantity": 2,
                            "uom": "KGM",
                        }
                    ],
                    "ilmd": {"cbvmda:lotNumber": "A1", "cbvmda:itemExpirationDate": "2027-01-01"},
                    "bizLocation": {"id": "urn:epc:id:sgln:4012345.00001.0"},
                },
                {
                    "type": "TransformationEvent",
                    "eventTime": "2026-01-02T08:00:00-05:00",
                    "eventTimeZoneOffset": "-05:00",
                    "transformationID": "urn:lotgraph:batch:B-EPCIS-1",
                    "inputQuantityList": [
                        {
                            "epcClass": "urn:epc:class:lgtin:4012345.011111.A1",
                            "quantity": grams,
                            "uom": "GRM",
                        }
                    ],
                    "outputQuantityList": [
                        {
                            "epcClass": "urn:epc:idpat:sgtin:4012345.022222.*",
                            "quantity": 3,
                            "uom": "LTR",
                        }
                    ],
                    "ilmd": {"cbvmda:lotNumber": "OUT-7"},
                    "bizLocation": {"id": "urn:lotgraph:site:SITE-X"},
                },
            ]
        },
    }
    report = _ingest(store, body)
    assert report["rejected"] == 0 and report["events"]["accepted"] == 2, report
    lot = "urn:epc:class:lgtin:4012345.011111.A1"
    out = "urn:epc:class:lgtin:4012345.022222.OUT-7"
    lots = store.fetch_nodes(Label.LOT, [lot, out])
    assert lots[lot].props["unit"] == UOM_UNITS["KGM"] and lots[lot].props["quantity"] == 2
    assert lots[lot].props["created_at"] == "2026-01-01T07:00:00.000Z"
    # a date without offset is read in the event's eventTimeZoneOffset (+01:00)
    assert lots[lot].props["expiry"] == "2026-12-31T23:00:00.000Z"
    assert lots[out].props["unit"] == "L" and lots[out].props["quantity"] == 3
    assert lots[out].props["material_id"] == "urn:epc:idpat:sgtin:4012345.022222.*"
    answer = trace(store, out, Direction.BACKWARD)
    assert answer.batches == ["B-EPCIS-1"] and answer.lots == [lot]
    batch = store.fetch_nodes(Label.BATCH, ["B-EPCIS-1"])["B-EPCIS-1"].props
    assert batch["site"] == "SITE-X" and batch["started_at"] == "2026-01-02T13:00:00.000Z"
    consumed = [e for e in answer.edges if e[1] == "CONSUMED_IN"]
    assert consumed == [(lot, "CONSUMED_IN", "B-EPCIS-1")]
    ref = RelRef(
        RelType.CONSUMED_IN,
        NodeRef(Label.LOT, lot),
        NodeRef(Label.BATCH, "B-EPCIS-1"),
        "2026-01-02T13:00:00.000Z",
    )
    props = store.fetch_rels([ref])[ref]
    assert props["unit"] == "kg" and props["quantity"] == grams / 1000


def test_post_ingest_epcis_round_trip(api: Api) -> None:
    data = TRACEBACK.read_bytes()
    headers = {"Content-Type": "application/ld+json", "Idempotency-Key": "epcis-1"}
    reply = api.post("integrator", "/ingest/epcis", content=data, headers=headers)
    assert reply.status_code == 200, reply.text
    report = reply.json()
    events = _events(_json(TRACEBACK))
    assert report["events"]["read"] == len(events)
    assert report["bundle"] == "epcis:upload"
    again = api.post("integrator", "/ingest/epcis", content=data, headers=headers)
    assert again.json() == report  # the first answer, not a second ingest
    fresh = api.post(
        "integrator", "/ingest/epcis", content=data, headers={"Content-Type": "application/json"}
    )
    assert fresh.json()["accepted"] == 0 and fresh.json()["events"]["accepted"] == 0
    bad = api.post(
        "integrator", "/ingest/epcis", content=b"{", headers={"Content-Type": "application/json"}
    )
    assert bad.status_code == 400 and set(bad.json()) == {"error", "detail"}
    wrong = api.post(
        "integrator", "/ingest/epcis", content=data, headers={"Content-Type": "text/plain"}
    )
    assert wrong.status_code == 415
    for account in ("inv-all", "qa-b", "auditor", "admin"):
        denied = api.post(account, "/ingest/epcis", content=data, headers=headers)
        assert denied.status_code == 403


def test_lotgraph_ingest_takes_an_epcis_file(tmp_path: Path) -> None:
    from tests.test_cli import run

    bad = run(["ingest", str(MISSING_LOT), "--json"], tmp_path)
    assert bad.returncode == 1, bad.stderr
    report = json.loads(bad.stdout)
    assert report["events"] == {
        "read": 1,
        "accepted": 0,
        "unchanged": 0,
        "rejected": 1,
        "not_mapped": [],
        "partly_mapped": [],
    }
    assert report["rejections"][0]["column"] == "ilmd.lotNumber"
    garbage = tmp_path / "garbage.json"
    garbage.write_text("{", encoding="utf-8")
    refused = run(["ingest", str(garbage)], tmp_path)
    assert refused.returncode == 2 and "nothing was written" in refused.stderr
