"""One error body, answers equal to the CLI's, and the access audit; on both stores."""

from __future__ import annotations

import csv

from fastapi.testclient import TestClient

from queries.custody import custody
from queries.documents import documents_for_lot, lots_for_document
from queries.impact import impact
from queries.impurity import impurity
from queries.recall import recall
from queries.trace import Direction, trace
from tests.api.conftest import Api


def _first(api: Api, file: str, column: str) -> str:
    with open(api.meta_path(file), encoding="utf-8") as fh:
        return next(csv.DictReader(fh))[column]


def test_answers_are_the_cli_json_answers(api: Api) -> None:
    planted = api.meta["synthetic"]["planted"]
    lot = planted["lot"]
    down = trace(api.store, lot, Direction.FORWARD)
    batch = down.batches[0]
    document = _first(api, "documents.csv", "document_id")
    expected = {
        f"/lots/{lot}/trace?direction=forward": down,
        f"/lots/{lot}/trace?direction=backward": trace(api.store, lot, Direction.BACKWARD),
        f"/batches/{batch}/custody": custody(api.store, batch),
        f"/lots/{lot}/documents": documents_for_lot(api.store, lot),
        f"/documents/{document}/lots": lots_for_document(api.store, document),
        f"/suppliers/{planted['supplier']}/impact?since=2025-06-01": impact(
            api.store, planted["supplier"], since="2025-06-01"
        ),
    }
    for path, answer in expected.items():
        reply = api.get("auditor", path)
        assert reply.status_code == 200, path
        assert reply.json() == answer.model_dump(mode="json"), path
    posted = {
        "/investigations/recall": (
            {"lot_ids": down.lots[:2] + [lot]},
            recall(api.store, down.lots[:2] + [lot]),
        ),
        "/investigations/impurity": (
            {"analyte": planted["analyte"]},
            impurity(api.store, planted["analyte"]),
        ),
    }
    for path, (body, answer) in posted.items():
        reply = api.post("auditor", path, json=body)
        assert reply.status_code == 200, path
        assert reply.json() == answer.model_dump(mode="json"), path
    entity = api.get("auditor", f"/lots/{lot}").json()
    assert entity["id"] == lot and entity["label"] == "Lot" and entity["unresolved"] is False
    assert entity["properties"]["site"] == api.store.fetch_nodes(*_lot(lot))[lot].props["site"]


def _lot(lot: str) -> tuple[object, list[str]]:
    from graph.model import Label

    return Label.LOT, [lot]


def test_errors_share_one_body(api: Api) -> None:
    cases = [
        (api.get("auditor", "/lots/L-NOPE"), 404, "not_found", "L-NOPE"),
        (api.get("auditor", "/lots/L-NOPE/trace"), 404, "not_found", "L-NOPE"),
        (api.get("auditor", "/batches/B-NOPE/custody"), 404, "not_found", "B-NOPE"),
        (api.get("auditor", "/documents/D-NOPE/lots"), 404, "not_found", "D-NOPE"),
        (api.get("auditor", "/suppliers/S-NOPE/impact"), 404, "not_found", "S-NOPE"),
        (
            api.post("auditor", "/investigations/recall", json={"lot_ids": ["L-NOPE"]}),
            404,
            "not_found",
            "L-NOPE",
        ),
        (
            api.get("auditor", "/lots/X/trace?direction=sideways"),
            422,
            "invalid_request",
            "direction",
        ),
        (
            api.post("auditor", "/investigations/recall", json={"lot_ids": []}),
            422,
            "invalid_request",
            "lot_ids",
        ),
        (
            api.post("auditor", "/investigations/recall", content=b"{not json"),
            422,
            "invalid_request",
            "",
        ),
        (
            api.post("auditor", "/investigations/impurity", json={}),
            422,
            "invalid_request",
            "analyte",
        ),
        (
            api.get(
                "auditor",
                f"/suppliers/{api.meta['synthetic']['planted']['supplier']}/impact?since=soon",
            ),
            400,
            "bad_request",
            "since",
        ),
        (api.get("auditor", "/audit?limit=0"), 422, "invalid_request", "limit"),
        (api.get("auditor", "/no/such/path"), 404, "not_found", ""),
    ]
    for reply, status, code, mention in cases:
        assert reply.status_code == status, (reply.request.url, reply.text)
        body = reply.json()
        assert set(body) == {"error", "detail"} and body["error"] == code, body
        assert mention in body["detail"], body


def test_a_bug_is_a_500_without_its_story(api: Api) -> None:
    def explode() -> None:
        raise RuntimeError("MATCH (l:Lot {id: $id}) failed at line 3 of secret.py")

    api.client.app.add_api_route("/explode", explode)  # type: ignore[attr-defined]
    reply = TestClient(api.client.app, raise_server_exceptions=False).get("/explode")
    assert reply.status_code == 500
    body = reply.json()
    assert body["error"] == "internal_error" and body["detail"].startswith(
        "internal error; reference "
    )
    assert (
        "MATCH" not in reply.text
        and "secret.py" not in reply.text
        and "Traceback" not in reply.text
    )


def test_every_request_to_lot_data_is_in_the_access_audit(api: Api) -> None:
    lot = api.meta["synthetic"]["planted"]["lot"]
    before = api.get("auditor", "/audit?limit=1000").json()["entries"]
    start = before[-1]["seq"] if before else 0
    api.get("inv-a", f"/lots/{lot}/trace")
    api.get("integrator", f"/lots/{lot}")
    api.post("inv-all", "/investigations/recall", json={"lot_ids": [lot]})
    api.get(None, "/lots/L-NOPE")
    entries = []
    cursor = str(start)
    while cursor:
        page = api.get("auditor", f"/audit?limit=2&cursor={cursor}").json()
        entries += page["entries"]
        cursor = page["next_cursor"]
    access = [e for e in entries if e["reason"] == "access"]
    seen = [(e["actor"], e["action"], e["entity"], e["key"], e["new"]["status"]) for e in access]
    inv_a_status = 200 if _site_a(api, lot) else 403
    assert seen[:6] == [
        # the request that read `before`, recorded after it
        ("auditor", "read", "/audit", "", 200),
        ("inv-a", "read", "Lot", lot, inv_a_status),
        ("integrator", "read", "Lot", lot, 403),
        ("inv-all", "read", "Lot", lot, 200),  # a question posted as a body is a read
        ("anonymous", "read", "Lot", "L-NOPE", 401),
        ("auditor", "read", "/audit", "", 200),
    ], seen
    routes = [(e["new"]["route"], e["new"]["path"]) for e in access[1:5]]
    assert routes == [
        ("/lots/{lot_id}/trace", f"/lots/{lot}/trace"),
        ("/lots/{lot_id}", f"/lots/{lot}"),
        ("/investigations/recall", "/investigations/recall"),
        ("/lots/{lot_id}", "/lots/L-NOPE"),
    ]
    assert [e["seq"] for e in entries] == sorted(e["seq"] for e in entries)
    assert all(e["action"] == "read" for e in access if e["new"]["method"] == "GET")


def _site_a(api: Api, lot: str) -> bool:
    from graph.model import Label

    return api.store.fetch_nodes(Label.LOT, [lot])[lot].props.get("site") == "SITE-A"
