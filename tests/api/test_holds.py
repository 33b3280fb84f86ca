"""QA holds on lots over the API, on both stores: placed and released by qa with the password
entered again, refused twice over, scoped to sites, audited, kept through a re-ingest of
lots.csv, and shown in the recall and custody answers — identically on both stores."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest

from api.documents.service import node, rel
from graph.embedded import EmbeddedStore
from graph.model import Label, RelType
from graph.neo4j_store import Neo4jStore
from graph.store import AuditEntry, GraphStore, NodeRef, WriteBatch, utc_now
from ingest.loader import ingest_bundle
from queries.custody import custody
from queries.recall import recall
from queries.trace import Direction, trace
from tests.api.conftest import PASSWORD, Api
from tests.bundles import MATERIALS, batch, consumption, lot, output, write_bundle


def _site_a_lot_with_a_batch(api: Api) -> tuple[str, str]:
    """A SITE-A lot that a SITE-A batch consumed, and that batch."""
    with open(api.meta_path("consumptions.csv"), encoding="utf-8") as fh:
        pairs = [(r["lot_id"], r["batch_id"]) for r in csv.DictReader(fh)]
    lots = api.store.fetch_nodes(Label.LOT, sorted({p[0] for p in pairs}))
    batches = api.store.fetch_nodes(Label.BATCH, sorted({p[1] for p in pairs}))
    for lot_id, batch_id in pairs:
        if (
            lots[lot_id].props.get("site") == "SITE-A"
            and batches[batch_id].props.get("site") == "SITE-A"
        ):
            return lot_id, batch_id
    raise AssertionError(f"seed {api.meta['seed']}: no SITE-A lot consumed at SITE-A")


def _lot_at(api: Api, site: str, skip: int = 0) -> str:
    with open(api.meta_path("lots.csv"), encoding="utf-8") as fh:
        return [r["lot_id"] for r in csv.DictReader(fh) if r["site"] == site][skip]


def _hold(api: Api, account: str, lot_id: str, reason: str, password: str = PASSWORD) -> Any:
    return api.post(account, f"/lots/{lot_id}/holds", json={"reason": reason, "password": password})


def _release(api: Api, account: str, lot_id: str, reason: str, password: str = PASSWORD) -> Any:
    return api.post(
        account, f"/lots/{lot_id}/holds/release", json={"reason": reason, "password": password}
    )


def _refused(reply: Any, status: int, *words: str) -> None:
    assert reply.status_code == status, reply.text
    body = reply.json()
    assert set(body) == {"error", "detail"}, body
    for word in words:
        assert word in body["detail"], body["detail"]


def _recall_lot(body: dict[str, Any], lot_id: str) -> dict[str, Any]:
    found: dict[str, Any] = next(x for x in body["lots"] if x["id"] == lot_id)
    return found


def test_qa_places_and_releases_a_hold_and_each_is_an_audited_signed_record(api: Api) -> None:
    lot_id = _lot_at(api, "SITE-A")
    before = utc_now()
    placed = _hold(api, "qa-a", lot_id, "OOS assay, investigation DEV-9")
    assert placed.status_code == 201, placed.text
    hold = placed.json()
    assert hold["lot"] == lot_id and hold["active"] is True
    assert (hold["reason"], hold["placed_by"], hold["placed_meaning"]) == (
        "OOS assay, investigation DEV-9",
        "qa-a",
        "placed on hold",
    )
    assert before <= hold["placed_at"] <= utc_now() and hold["released_at"] is None
    _refused(_hold(api, "qa-a2", lot_id, "again"), 409, "on hold already", hold["id"])
    listed = api.get("inv-a", f"/lots/{lot_id}/holds").json()
    assert listed == {"lot": lot_id, "active": hold, "holds": [hold]}
    (entry,) = [e for e in api.store.audit_entries() if e["action"] == "hold_placed"]
    assert (entry["actor"], entry["entity"], entry["key"], entry["old"]) == (
        "qa-a",
        "Lot",
        lot_id,
        None,
    )
    assert entry["new"]["hold_id"] == hold["id"] and entry["reason"] == hold["reason"]

    released = api.post(
        "qa-a2",
        f"/lots/{lot_id}/holds/release",
        json={"reason": "retest passed", "password": PASSWORD},
    )
    assert released.status_code == 200, released.text
    done = released.json()
    assert done["id"] == hold["id"] and done["active"] is False
    assert (done["released_by"], done["release_reason"], done["released_meaning"]) == (
        "qa-a2",
        "retest passed",
        "released from hold",
    )
    assert (done["placed_by"], done["placed_at"]) == (hold["placed_by"], hold["placed_at"])
    _refused(_release(api, "qa-a", lot_id, "again"), 409, "not on hold")
    (entry,) = [e for e in api.store.audit_entries() if e["action"] == "hold_released"]
    assert entry["actor"] == "qa-a2" and entry["key"] == lot_id
    assert entry["old"]["hold_id"] == hold["id"] and "released_at" not in entry["old"]
    assert entry["new"]["released_by"] == "qa-a2" and entry["reason"] == "retest passed"

    # a lot may be held again: a new hold, the first kept in the history
    again = _hold(api, "qa-a", lot_id, "second OOS")
    assert again.status_code == 201 and again.json()["id"] != hold["id"]
    history = api.get("auditor", f"/lots/{lot_id}/holds").json()
    assert [h["id"] for h in history["holds"]] == [hold["id"], again.json()["id"]]
    assert history["active"]["id"] == again.json()["id"]


def test_holds_are_qa_only_within_its_sites_and_need_the_right_password(api: Api) -> None:
    lot_a = _lot_at(api, "SITE-A")
    for account in ("inv-a", "inv-all", "auditor", "admin", "integrator"):
        _refused(_hold(api, account, lot_a, "r"), 403)
        _refused(_release(api, account, lot_a, "r"), 403)
    _refused(_hold(api, "qa-b", lot_a, "r"), 403, "SITE-A")  # a SITE-B qa, a SITE-A lot
    _refused(_hold(api, "qa-a", "NO-SUCH-LOT", "r"), 404, "NO-SUCH-LOT")
    _refused(_hold(api, "qa-a", lot_a, "r", password="not my password"), 401)
    account = api.store.get_account("qa-a")
    assert account is not None and account.failed_sign_ins == 1  # counts toward the lockout
    bad = api.post(
        "qa-a", f"/lots/{lot_a}/holds", json={"reason": "r", "password": PASSWORD, "by": "x"}
    )
    _refused(bad, 422, "by")
    _refused(api.post("qa-a", f"/lots/{lot_a}/holds", json={"password": PASSWORD}), 422, "reason")
    assert api.get("auditor", f"/lots/{lot_a}/holds").json()["holds"] == []
    _refused(api.get("inv-a", f"/lots/{_lot_at(api, 'SITE-B')}/holds"), 403, "SITE-B")
    # a right password after a wrong one clears the count
    assert _hold(api, "qa-a", lot_a, "r").status_code == 201
    account = api.store.get_account("qa-a")
    assert account is not None and account.failed_sign_ins == 0


def test_holds_show_in_recall_and_custody_and_survive_a_reingest(api: Api) -> None:
    lot_id, batch_id = _site_a_lot_with_a_batch(api)
    body = {"lot_ids": [lot_id]}
    assert (
        _recall_lot(api.post("qa-a", "/investigations/recall", json=body).json(), lot_id)["hold"]
        is None
    )
    hold = _hold(api, "qa-a", lot_id, "supplier notice SCN-1").json()
    answer = api.post("inv-all", "/investigations/recall", json=body).json()
    assert answer == recall(api.store, [lot_id]).model_dump(mode="json")
    assert _recall_lot(answer, lot_id)["hold"] == {
        "id": hold["id"],
        "reason": "supplier notice SCN-1",
        "by": "qa-a",
        "at": hold["placed_at"],
    }
    assert all(x["hold"] is None for x in answer["lots"] if x["id"] != lot_id)
    chain = api.get("auditor", f"/batches/{batch_id}/custody").json()
    assert chain == custody(api.store, batch_id).model_dump(mode="json")
    events = [e for e in chain["events"] if e["kind"].startswith("hold_")]
    assert events == [
        {
            "at": hold["placed_at"],
            "kind": "hold_placed",
            "id": hold["id"],
            "lot": lot_id,
            "by": "qa-a",
            "reason": "supplier notice SCN-1",
            "meaning": "placed on hold",
            "epcis_error": None,  # no EPCIS error declaration touches a hold
        }
    ]
    on_hold = [f for f in chain["findings"] if f["kind"] == "lot_on_hold"]
    assert [(f["id"], f["label"]) for f in on_hold] == [(lot_id, "Lot")]

    # the source system sends the lot again, with another status: the hold stays
    record = {**_lot_row(api, lot_id), "status": "released", "on_hand": "1"}
    events = {"source": "ERP", "timezone": api.meta["timezone"], "records": {"lots": [record]}}
    report = api.post("integrator", "/ingest/events", json=events).json()
    assert report["accepted"] == 1 and report["rejected"] == 0, report
    assert api.store.fetch_nodes(Label.LOT, [lot_id])[lot_id].props["status"] == "released"
    again = api.post("inv-all", "/investigations/recall", json=body).json()
    assert _recall_lot(again, lot_id)["hold"]["id"] == hold["id"]
    assert ingest_bundle(api.store, api.plant, actor="test").total("rows_read") > 0
    assert api.get("auditor", f"/lots/{lot_id}/holds").json()["active"]["id"] == hold["id"]

    released = _release(api, "qa-a2", lot_id, "cleared").json()
    answer = api.post("inv-all", "/investigations/recall", json=body).json()
    assert _recall_lot(answer, lot_id)["hold"] is None
    chain = api.get("auditor", f"/batches/{batch_id}/custody").json()
    assert [(e["kind"], e["at"], e["by"]) for e in chain["events"] if "hold" in e["kind"]] == [
        ("hold_placed", hold["placed_at"], "qa-a"),
        ("hold_released", released["released_at"], "qa-a2"),
    ]
    assert not [f for f in chain["findings"] if f["kind"] == "lot_on_hold"]
    # a caller who may not see the lot sees neither the hold nor its reason
    elsewhere = next(
        (
            x
            for x in trace(api.store, lot_id, Direction.FORWARD).nodes
            if x.label == "Lot" and x.site not in (None, "SITE-A")
        ),
        None,
    )
    if elsewhere is not None and elsewhere.site == "SITE-B":
        assert _hold(api, "qa-b", elsewhere.id, "held at B").status_code == 201
        scoped = api.post("inv-a", "/investigations/recall", json=body).json()
        assert _recall_lot(scoped, elsewhere.id) == {
            "id": elsewhere.id,
            "label": "Lot",
            "redacted": True,
        }


def _lot_row(api: Api, lot_id: str) -> dict[str, str]:
    with open(api.meta_path("lots.csv"), encoding="utf-8") as fh:
        row: dict[str, str] = next(r for r in csv.DictReader(fh) if r["lot_id"] == lot_id)
    return row


# -- the same holds, the same answers, on both stores --------------------------------------
def _small_plant(store: GraphStore, folder: Path) -> None:
    files = {
        "materials.csv": MATERIALS,
        "lots.csv": [
            lot("R1", "MAT-X"),
            lot("R2", "MAT-X", site="SITE-B"),
            lot("I1", "MAT-I", created_at="2026-02-02T09:00:00Z"),
        ],
        "batches.csv": [batch("B1")],
        "consumptions.csv": [
            consumption("B1", "R1", consumed_at="2026-02-01T09:00:00Z"),
            consumption("B1", "R2", consumed_at="2026-02-01T10:00:00Z"),
        ],
        "outputs.csv": [output("B1", "I1")],
    }
    report = ingest_bundle(store, write_bundle(folder, files), actor="test")
    assert report.total("rejected") == 0, report.as_dict()


def _write_hold(
    store: GraphStore, hold_id: str, lot_id: str, placed_at: str, released_at: str | None = None
) -> None:
    props: dict[str, Any] = {
        "lot_id": lot_id,
        "reason": f"reason {hold_id}",
        "placed_by": "qa-a",
        "placed_at": placed_at,
        "placed_meaning": "placed on hold",
    }
    if released_at is not None:
        props.update(
            released_by="qa-a2",
            released_at=released_at,
            release_reason="cleared",
            released_meaning="released from hold",
        )
    store.apply(
        WriteBatch(
            nodes=[node(Label.HOLD, hold_id, props)],
            rels=[rel(RelType.HOLDS, NodeRef(Label.HOLD, hold_id), NodeRef(Label.LOT, lot_id))],
            audit=[AuditEntry("qa-a", "hold_placed", "Lot", lot_id, None, props, "test", "api")],
        )
    )


@pytest.mark.neo4j
def test_both_stores_answer_holds_identically(
    embedded_store: EmbeddedStore, neo4j_store: Neo4jStore, tmp_path: Path
) -> None:
    answers = []
    for store in (embedded_store, neo4j_store):
        _small_plant(store, tmp_path / store.kind)
        _write_hold(store, "H-1", "R1", "2026-02-01T12:00:00.000Z", "2026-02-03T08:00:00.000Z")
        _write_hold(store, "H-2", "R1", "2026-02-04T12:00:00.000Z")
        _write_hold(store, "H-3", "I1", "2026-02-05T12:00:00.000Z")
        _write_hold(store, "H-4", "R2", "2026-01-30T12:00:00.000Z", "2026-01-31T12:00:00.000Z")
        answers.append((recall(store, ["R1", "R2"]), custody(store, "B1")))
    (recall_e, custody_e), (recall_n, custody_n) = answers
    assert recall_e == recall_n and custody_e == custody_n
    holds = {x.id: x.hold for x in recall_e.lots}
    assert holds["R2"] is None and holds["I1"] is not None and holds["I1"].id == "H-3"
    assert holds["R1"] is not None and holds["R1"].id == "H-2"
    assert holds["R1"].at == "2026-02-04T12:00:00.000Z" and holds["R1"].by == "qa-a"
    kinds = [(e.kind, e.id) for e in custody_e.events if e.kind.startswith("hold_")]
    assert kinds == [
        ("hold_placed", "H-4"),
        ("hold_released", "H-4"),
        ("hold_placed", "H-1"),
        ("hold_released", "H-1"),
        ("hold_placed", "H-2"),
        ("hold_placed", "H-3"),
    ]
    on_hold = sorted(f.id for f in custody_e.findings if f.kind == "lot_on_hold")
    assert on_hold == ["I1", "R1"]
