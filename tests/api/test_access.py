"""Who may call what: 401 without a valid bearer, 403 across roles and sites, and redaction
of out-of-scope nodes; on both stores, over a plant generated at test time."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from graph.identifiers import local_urn
from graph.model import Label
from queries.analyte import analyte_results
from queries.epcis_export import MEDIA_TYPE, UNKNOWN_TIME, export_trace
from queries.recall import recall
from queries.trace import Direction, trace
from tests.api.conftest import ACCOUNTS, PASSWORD, SECRET, Api
from tests.epcis.schema import assert_valid

READERS = ("inv-all", "qa-b", "auditor")
NOT_READERS = ("integrator", "admin")
EVERYONE = ("inv-a", "inv-all", "qa-a", "qa-b", "auditor", "integrator", "admin")
# the audit trail's reads, the auditor's only
AUDIT_PATHS = ("/audit", "/audit.csv", "/audit/verify")
_LD_JSON = {"Content-Type": "application/ld+json"}
_EPCIS = (
    b'{"@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],'
    b' "type": "EPCISDocument", "schemaVersion": "2.0", "epcisBody": {"eventList": []}}'
)


def _lots_by_site(api: Api) -> dict[str, list[str]]:
    with open(api.meta_path("lots.csv"), encoding="utf-8") as fh:
        ids = [row["lot_id"] for row in csv.DictReader(fh)]
    found = api.store.fetch_nodes(Label.LOT, ids)
    by_site: dict[str, list[str]] = {}
    for lot_id in ids:
        by_site.setdefault(found[lot_id].props["site"], []).append(lot_id)
    return by_site


def _read_calls(api: Api, lot: str) -> list[tuple[str, str, dict[str, Any]]]:
    """One call of every read endpoint, rooted at ``lot`` or what it reaches."""
    nodes = [*trace(api.store, lot, Direction.BACKWARD).nodes]
    nodes += trace(api.store, lot, Direction.FORWARD).nodes
    site = next(n.site for n in nodes if n.id == lot)
    batches = [n for n in nodes if n.label == "Batch"]
    # a batch at the lot's own site when there is one (lots move between sites)
    batch = next((b.id for b in batches if b.site == site), batches[0].id)
    supplier = api.meta["synthetic"]["planted"]["supplier"]
    analyte = api.meta["synthetic"]["planted"]["analyte"]
    with open(api.meta_path("documents.csv"), encoding="utf-8") as fh:
        document = next(csv.DictReader(fh))["document_id"]
    return [
        ("GET", f"/documents/{document}", {}),
        ("GET", f"/documents/{document}/verify", {}),
        ("GET", f"/documents/{document}/lots", {}),
        ("GET", f"/lots/{lot}/holds", {}),
        ("GET", f"/lots/{lot}", {}),
        ("GET", f"/batches/{batch}", {}),
        ("GET", f"/lots/{lot}/trace", {"params": {"direction": "backward"}}),
        ("GET", f"/lots/{lot}/epcis", {"params": {"direction": "forward"}}),
        ("GET", f"/lots/{lot}/documents", {}),
        ("POST", "/investigations/recall", {"json": {"lot_ids": [lot]}}),
        ("GET", f"/suppliers/{supplier}/impact", {"params": {"since": "2025-01-01"}}),
        ("GET", f"/suppliers/{supplier}", {}),
        ("POST", "/investigations/impurity", {"json": {"analyte": analyte}}),
        ("GET", f"/batches/{batch}/custody", {}),
        ("GET", "/search", {"params": {"q": lot}}),
        ("GET", f"/analytes/{analyte}/results", {}),
        ("GET", f"/batches/{batch}/release", {}),
        ("GET", "/work", {}),
        ("GET", "/kpis", {"params": {"since": "2025-01-01"}}),
    ]


def _lot_calls(api: Api, lot: str) -> list[tuple[str, str, dict[str, Any]]]:
    """The calls rooted at the lot itself."""
    return [
        c for c in _read_calls(api, lot) if lot in c[1] or c[2].get("json") == {"lot_ids": [lot]}
    ]


def _call(api: Api, account: str | None, method: str, path: str, kw: dict[str, Any]) -> Any:
    return api.get(account, path, **kw) if method == "GET" else api.post(account, path, **kw)


def _assert_error(reply: Any, status: int, code: str) -> None:
    assert reply.status_code == status, (reply.request.url, reply.text)
    body = reply.json()
    assert set(body) == {"error", "detail"} and body["error"] == code and body["detail"], body


def test_every_endpoint_answers_401_without_or_with_a_bad_bearer(api: Api) -> None:
    lot = _lots_by_site(api)["SITE-A"][0]
    now = datetime.now(UTC)
    expired = jwt.encode({"sub": "auditor", "exp": now - timedelta(minutes=1)}, SECRET, "HS256")
    forged = jwt.encode(
        {"sub": "auditor", "exp": now + timedelta(minutes=5)}, "another-secret" * 4, "HS256"
    )
    # a token of a dashboard session that has ended since (signed out)
    started = api.client.post("/auth/sessions", data={"username": "auditor", "password": PASSWORD})
    ended = started.json()["access_token"]
    session = {"session_id": started.json()["session_id"]}
    assert api.client.post("/auth/sessions/end", json=session).status_code == 204
    calls = [
        *_read_calls(api, lot),
        *_write_calls(lot, "DOC-ANY"),
        _decision_call(api),
        *[("GET", path, {}) for path in AUDIT_PATHS],
        ("GET", "/documents/DOC-ANY/diff", {"params": {"from": 1, "to": 2}}),
        ("GET", "/accounts", {}),
        ("POST", "/batches/B-ANY/release", {"json": {"password": PASSWORD}}),
        ("POST", "/ingest/epcis", {"content": _EPCIS}),  # 401 whatever the media type
        ("GET", "/auth/me", {}),
    ]
    for method, path, kw in calls:
        _assert_error(_call(api, None, method, path, kw), 401, "not_authenticated")
        for bearer in ("nonsense", expired, forged, "lgk_0000_notakey", ended):
            headers = {"Authorization": f"Bearer {bearer}"}
            reply = api.client.request(method, path, headers=headers, **kw)
            _assert_error(reply, 401, "not_authenticated")
    assert api.client.get("/health").status_code == 200


def _with_batch_at_its_site(api: Api, lots: list[str]) -> str:
    for lot in lots:
        calls = _read_calls(api, lot)
        batch = next(path.split("/")[2] for _, path, _ in calls if path.startswith("/batches/"))
        found = api.store.fetch_nodes(Label.BATCH, [batch])
        if (
            found[batch].props.get("site")
            == api.store.fetch_nodes(Label.LOT, [lot])[lot].props["site"]
        ):
            return lot
    raise AssertionError(f"seed {api.meta['seed']}: no lot with a batch at its own site")


def test_each_role_reaches_only_its_endpoints(api: Api) -> None:
    # a lot at qa-b's site whose batch is there too; inv-all and the auditor see all
    lot = _with_batch_at_its_site(api, _lots_by_site(api)["SITE-B"])
    for method, path, kw in _read_calls(api, lot):
        for account in READERS:
            reply = _call(api, account, method, path, kw)
            assert reply.status_code == 200, (account, path, reply.text)
        for account in NOT_READERS:
            _assert_error(_call(api, account, method, path, kw), 403, "forbidden")
    for path in AUDIT_PATHS:
        assert api.get("auditor", path).status_code == 200, path
        for account in ("inv-a", "inv-all", "qa-a", "qa-b", "integrator", "admin"):
            _assert_error(api.get(account, path), 403, "forbidden")
    assert api.get("admin", "/accounts").status_code == 200
    for account in ("inv-all", "qa-b", "auditor", "integrator"):
        _assert_error(api.get(account, "/accounts"), 403, "forbidden")
        _assert_error(api.post(account, "/accounts/auditor/disable"), 403, "forbidden")
    for account in ("integrator", "auditor"):
        assert api.get(account, "/ingest/rejections").status_code == 200
    events = {"source": "T", "records": {"customers": [{"customer_id": "C-NEW", "name": "N"}]}}
    for account in ("inv-all", "qa-b", "admin"):
        _assert_error(api.get(account, "/ingest/rejections"), 403, "forbidden")
    for account in ("inv-all", "qa-b", "auditor", "admin"):
        _assert_error(api.post(account, "/ingest/events", json=events), 403, "forbidden")
        _assert_error(
            api.post(account, "/ingest/epcis", content=_EPCIS, headers=_LD_JSON), 403, "forbidden"
        )
        _assert_error(
            api.post(
                account,
                "/ingest/bundles",
                content=b"PK",
                headers={"Content-Type": "application/zip"},
            ),
            403,
            "forbidden",
        )
    assert api.post("integrator", "/ingest/events", json=events).json()["accepted"] == 1
    reply = api.post("integrator", "/ingest/epcis", content=_EPCIS, headers=_LD_JSON)
    assert reply.status_code == 200 and reply.json()["events"]["read"] == 0


def _write_calls(lot: str, document: str) -> list[tuple[str, str, dict[str, Any]]]:
    """One call of every write of documents, signatures and holds."""
    sign = {"password": PASSWORD}
    return [
        (
            "POST",
            "/documents",
            {"json": {"id": document, "kind": "sop", "title": "t", "content": {"a": 1}}},
        ),
        ("POST", f"/documents/{document}/versions", {"json": {"content": {"a": 2}, "reason": "r"}}),
        (
            "POST",
            f"/documents/{document}/versions/2/signatures",
            {"json": {"meaning": "reviewed", **sign}},
        ),
        ("POST", f"/lots/{lot}/holds", {"json": {"reason": "r", **sign}}),
        ("POST", f"/lots/{lot}/holds/release", {"json": {"reason": "r", **sign}}),
    ]


def test_each_role_reaches_only_its_write_endpoints(api: Api) -> None:
    """Documents and versions: investigator and qa; signatures and holds: qa only."""
    lot = _lots_by_site(api)["SITE-A"][0]
    allowed = {
        "/documents": {"inv-a", "inv-all", "qa-a", "qa-b"},
        "/documents/{id}/versions": {"inv-a", "inv-all", "qa-a", "qa-b"},
        "/documents/{id}/versions/{v}/signatures": {"qa-a", "qa-b"},
        "/lots/{id}/holds": {"qa-a"},  # qa-b is qa too, but of SITE-B: 403 by site
        "/lots/{id}/holds/release": {"qa-a"},
    }
    routes = list(allowed)
    for account in EVERYONE:
        document = f"DOC-ACCESS-{account}"
        calls = _write_calls(lot, document)
        if account not in allowed["/documents"]:  # a document for it to try the rest on
            create = calls[0][2]["json"]
            assert api.post("inv-all", "/documents", json=create).status_code == 201
            assert api.post("inv-all", *calls[1][1:2], **calls[1][2]).status_code == 201
        for route, (method, path, kw) in zip(routes, calls, strict=True):
            reply = _call(api, account, method, path, kw)
            if account in allowed[route]:
                assert reply.status_code in (200, 201), (account, path, reply.text)
            else:
                _assert_error(reply, 403, "forbidden")
    assert api.get("auditor", f"/lots/{lot}/holds").json()["active"] is None


def _decision_call(api: Api) -> tuple[str, str, dict[str, Any]]:
    """A signed decision on a change notice of the plant."""
    with open(api.meta_path("supplier_changes.csv"), encoding="utf-8") as fh:
        notice = next(csv.DictReader(fh))
    body = {"decision": "accepted", "reason": "r", "password": PASSWORD}
    path = f"/suppliers/{notice['supplier_id']}/changes/{notice['change_id']}/decisions"
    return ("POST", path, {"json": body})


def test_only_qa_decides_on_supplier_changes_whatever_its_sites(api: Api) -> None:
    """Suppliers carry no site: a qa person of any site decides; nobody else does."""
    method, path, kw = _decision_call(api)
    decided = []
    for account in EVERYONE:
        reply = _call(api, account, method, path, kw)
        if account in ("qa-a", "qa-b"):
            assert reply.status_code == 201, (account, reply.text)
            decided.append(reply.json()["decided_by"])
        else:
            _assert_error(reply, 403, "forbidden")
    assert decided == ["qa-a", "qa-b"]


def test_a_root_outside_the_callers_sites_is_403_and_inside_is_200(api: Api) -> None:
    by_site = _lots_by_site(api)
    outside = [lot for site, lots in by_site.items() if site != "SITE-A" for lot in lots[:2]]
    for lot in outside:
        for method, path, kw in _lot_calls(api, lot):
            _assert_error(_call(api, "inv-a", method, path, kw), 403, "forbidden")
    for lot in by_site["SITE-A"][:3]:
        for method, path, kw in _lot_calls(api, lot):
            assert _call(api, "inv-a", method, path, kw).status_code == 200, path
    # a recall naming one lot outside the scope is refused as a whole
    mixed = {"lot_ids": [by_site["SITE-A"][0], outside[0]]}
    _assert_error(api.post("inv-a", "/investigations/recall", json=mixed), 403, "forbidden")


def _objects(value: Any) -> Any:
    if isinstance(value, dict):
        yield value
        for v in value.values():
            yield from _objects(v)
    elif isinstance(value, list):
        for v in value:
            yield from _objects(v)


def test_out_of_scope_nodes_are_redacted_to_id_and_label(api: Api) -> None:
    by_site = _lots_by_site(api)
    all_lots = [lot for lots in by_site.values() for lot in lots]
    sites = {i: n.props.get("site") for i, n in api.store.fetch_nodes(Label.LOT, all_lots).items()}
    # SITE-A lots whose forward trace reaches other sites: what inv-a may start from
    roots = [
        lot
        for lot in by_site["SITE-A"]
        if any(
            n.site not in (None, "SITE-A") for n in trace(api.store, lot, Direction.FORWARD).nodes
        )
    ][:4]
    assert roots, f"seed {api.meta['seed']}: no SITE-A lot reaches another site"
    redacted_seen = 0
    for lot in roots:
        full = trace(api.store, lot, Direction.FORWARD)
        hidden = {n.id for n in full.nodes if n.site not in (None, "SITE-A")}
        bodies = [
            api.get("inv-a", f"/lots/{lot}/trace", params={"direction": "forward"}).json(),
            api.post("inv-a", "/investigations/recall", json={"lot_ids": [lot]}).json(),
        ]
        for body in bodies:
            for obj in _objects(body):
                key = obj.get("id", obj.get("lot_id"))
                if key in hidden and ("label" in obj or "status" in obj or "site" in obj):
                    assert obj == {"id": key, "label": obj["label"], "redacted": True}, obj
                    redacted_seen += 1
        trace_body, recall_body = bodies
        assert {n["id"] for n in trace_body["nodes"] if n.get("redacted")} == hidden
        assert sorted(trace_body["lots"]) == full.lots  # ids stay: the graph can be read
        # the same question from a caller who sees every site has nothing redacted
        whole = api.post("inv-all", "/investigations/recall", json={"lot_ids": [lot]}).json()
        assert whole == recall(api.store, [lot]).model_dump(mode="json")
        for customer in recall_body["customers"]:
            hidden_lots = sorted(hidden.intersection(customer["lots"]))
            if hidden_lots:
                assert customer["quantity"] is None and customer["redacted_lots"] == hidden_lots
            else:
                assert customer["quantity"] is not None
        for redacted in (o for o in recall_body["lots"] if o.get("redacted")):
            assert sites[redacted["id"]] != "SITE-A"
    assert redacted_seen > 0


def test_the_epcis_export_hides_what_the_trace_redacts(api: Api) -> None:
    """GET /lots/{id}/epcis for a caller of one site: a lot or batch the trace redacts is
    in the document as its id only (docs/EPCIS.md "Export", redaction)."""
    by_site = _lots_by_site(api)
    roots = [
        lot
        for lot in by_site["SITE-A"]
        if any(
            n.site not in (None, "SITE-A") for n in trace(api.store, lot, Direction.FORWARD).nodes
        )
    ][:3]
    assert roots, f"seed {api.meta['seed']}: no SITE-A lot reaches another site"
    for lot in roots:
        full = trace(api.store, lot, Direction.FORWARD)
        hidden = {n.id: n.label for n in full.nodes if n.site not in (None, "SITE-A")}
        reply = api.get("inv-a", f"/lots/{lot}/epcis", params={"direction": "forward"})
        assert reply.status_code == 200 and reply.headers["content-type"] == MEDIA_TYPE
        document = reply.json()
        assert_valid(document)
        hidden_lots = {local_urn("lot", i) for i, label in hidden.items() if label == "Lot"}
        hidden_batches = {local_urn("batch", i) for i, label in hidden.items() if label == "Batch"}
        assert hidden_lots or hidden_batches
        named = set()
        for event in document["epcisBody"]["eventList"]:
            elements = [
                e
                for key in ("quantityList", "inputQuantityList", "outputQuantityList")
                for e in event.get(key, [])
            ]
            named |= {e["epcClass"] for e in elements}
            for element in elements:  # a hidden lot: its class, no quantity
                if element["epcClass"] in hidden_lots or event.get("lotgraph:redacted"):
                    assert element == {"epcClass": element["epcClass"]}, element
            if event.get("transformationID") in hidden_batches:
                assert event["lotgraph:redacted"] is True
                assert event["eventTime"] == UNKNOWN_TIME
                assert not {"bizLocation", "readPoint", "bizStep"} & set(event), event
            else:
                assert "lotgraph:redacted" not in event
            if event.get("bizStep") in ("creating_class_instance", "receiving"):
                assert event["quantityList"][0]["epcClass"] not in hidden_lots
        # the ids stay (the graph can be read), the master data of hidden lots goes
        assert {local_urn("lot", i) for i in full.lots} <= named
        described = {
            element["id"]
            for vocabulary in document["epcisHeader"]["epcisMasterData"]["vocabularyList"]
            for element in vocabulary["vocabularyElementList"]
        }
        assert not described & hidden_lots
        # a caller who sees every site gets the whole export
        whole = api.get("inv-all", f"/lots/{lot}/epcis", params={"direction": "forward"}).json()
        expected = export_trace(api.store, lot, Direction.FORWARD)
        assert {**whole, "creationDate": None} == {**expected, "creationDate": None}
        assert not any(e.get("lotgraph:redacted") for e in whole["epcisBody"]["eventList"])


def test_no_answer_carries_properties_of_an_out_of_scope_node(api: Api) -> None:
    by_site = _lots_by_site(api)
    hidden_lots = {lot for site, lots in by_site.items() if site != "SITE-A" for lot in lots}
    with open(api.meta_path("batches.csv"), encoding="utf-8") as fh:
        batch_rows = list(csv.DictReader(fh))
    batch_sites = {
        b: n.props.get("site")
        for b, n in api.store.fetch_nodes(Label.BATCH, [r["batch_id"] for r in batch_rows]).items()
    }
    hidden = hidden_lots | {b for b, site in batch_sites.items() if site != "SITE-A"}
    planted = api.meta["synthetic"]["planted"]
    with open(api.meta_path("documents.csv"), encoding="utf-8") as fh:
        documents = sorted({r["document_id"] for r in csv.DictReader(fh)})[:15]
    site_a_batches = [b for b, site in batch_sites.items() if site == "SITE-A"][:5]
    bodies = [
        api.get("inv-a", f"/suppliers/{planted['supplier']}/impact").json(),
        api.get("inv-a", f"/suppliers/{planted['supplier']}").json(),
        api.post("inv-a", "/investigations/impurity", json={"analyte": planted["analyte"]}).json(),
        *(api.get("inv-a", f"/documents/{d}/lots").json() for d in documents),
        *(api.get("inv-a", f"/batches/{b}/custody").json() for b in site_a_batches),
    ]
    redacted = 0
    for body in bodies:
        assert "error" not in body, body
        for obj in _objects(body):
            if obj.get("redacted"):
                redacted += 1
                assert set(obj) <= {"id", "label", "kind", "redacted"}, obj
                continue
            for key in ("id", "lot_id", "unit_id", "target_id", "lot", "target"):
                value = obj.get(key)
                if value in hidden and len(set(obj) - {key}) > 0 and key in ("lot_id", "unit_id"):
                    raise AssertionError(f"{value} is out of scope but shown: {obj}")
                if key == "id" and value in hidden and ("site" in obj or "status" in obj):
                    raise AssertionError(f"{value} is out of scope but shown: {obj}")
                if key in ("lot", "target") and value in hidden:
                    raise AssertionError(f"an event about {value} is shown: {obj}")
    # the same questions from a caller who sees every site redact nothing
    whole = api.post(
        "inv-all", "/investigations/impurity", json={"analyte": planted["analyte"]}
    ).json()
    assert not any(o.get("redacted") for o in _objects(whole))
    assert redacted > 0, f"seed {api.meta['seed']}: nothing out of scope was reached"


def test_search_and_the_result_series_redact_what_is_out_of_scope(api: Api) -> None:
    by_site = _lots_by_site(api)
    hidden = next(lot for site, lots in by_site.items() if site != "SITE-A" for lot in lots)
    visible = by_site["SITE-A"][0]
    matches = api.get("inv-a", "/search", params={"q": hidden}).json()["matches"]
    assert matches == [{"id": hidden, "label": "Lot", "redacted": True}]
    (whole,) = api.get("inv-all", "/search", params={"q": hidden}).json()["matches"]
    assert whole["properties"]["site"] not in (None, "SITE-A")
    (mine,) = api.get("inv-a", "/search", params={"q": f" {visible} "}).json()["matches"]
    assert (mine["id"], mine["label"], mine["properties"]["site"]) == (visible, "Lot", "SITE-A")
    assert api.get("inv-a", "/search", params={"q": "NO-SUCH-ID"}).json()["matches"] == []

    analyte = api.meta["synthetic"]["planted"]["analyte"]
    full = analyte_results(api.store, analyte)
    assert api.get("inv-all", f"/analytes/{analyte}/results").json() == full.model_dump(mode="json")
    scoped = api.get("inv-a", f"/analytes/{analyte}/results").json()["results"]
    assert len(scoped) == len(full.results)
    for point, truth in zip(scoped, full.results, strict=True):
        if truth.site == "SITE-A":
            assert point == truth.model_dump(mode="json")
        else:
            assert point == {"id": truth.result_id, "label": "TestResult", "redacted": True}
    assert any(p.get("redacted") for p in scoped) and not all(p.get("redacted") for p in scoped)
    reply = api.get("inv-a", f"/analytes/{analyte}/results", params={"limit": 0})
    _assert_error(reply, 422, "invalid_request")
    _assert_error(api.get("inv-a", "/analytes/No such analyte/results"), 404, "not_found")


def test_impurity_flags_and_units_a_scoped_caller_can_see(api: Api) -> None:
    """The flag and the baseline reach the investigation; a site-scoped caller's units_tested
    counts the units it can see and units_hidden the others."""
    drift = api.meta["synthetic"]["drift"]
    body = {"analyte": drift["analyte"], "flag": "oot", "top": 3}
    whole = api.post("inv-all", "/investigations/impurity", json=body).json()
    assert whole["flag"] == "oot" and len(whole["factors"]) <= 3
    assert whole["units_hidden"] == 0
    assert whole["units_tested"] == sum(whole["units_by_site"].values())
    assert all(f["reason"].startswith("oot:") for f in whole["flagged"])
    mine = api.post("inv-a", "/investigations/impurity", json=body).json()
    assert set(mine["units_by_site"]) <= {"SITE-A", ""}
    assert mine["units_tested"] == sum(mine["units_by_site"].values())
    assert mine["units_tested"] + mine["units_hidden"] == whole["units_tested"]
    assert mine["units_hidden"] > 0, f"seed {api.meta['seed']}: every unit is at SITE-A"
    for bad in ({"flag": "high"}, {"baseline_until": "soon"}, {"top": 0}):
        refused = api.post("inv-all", "/investigations/impurity", json={**body, **bad})
        assert refused.status_code in (400, 422), (bad, refused.text)
        assert refused.json()["error"] and refused.json()["detail"]
    series = api.get(
        "inv-all",
        f"/analytes/{drift['analyte']}/results",
        params={"baseline_until": "2025-03-01", "limit": 10},
    ).json()
    assert series["baseline_until"] == "2025-03-01T00:00:00.000Z"
    assert {s["product"] for s in series["series"]} >= {drift["product"]}
    assert len(series["results"]) == 10 and series["total"] > 10


def test_work_and_kpis_name_nothing_outside_the_callers_sites(api: Api) -> None:
    lots = api.store.fetch_nodes(Label.LOT, api.store.node_ids(Label.LOT))
    batches = api.store.fetch_nodes(Label.BATCH, api.store.node_ids(Label.BATCH))
    hidden = {i for i, n in [*lots.items(), *batches.items()] if n.props.get("site") != "SITE-A"}
    for account in ("inv-a", "qa-a"):
        work = api.get(account, "/work").json()
        kpis = api.get(account, "/kpis").json()
        for checklist in work["batches_awaiting_release"]:
            assert checklist["batch"] not in hidden and checklist["site"] == "SITE-A"
            for finding in checklist["findings"]:
                if finding["target"] in hidden or finding["id"] in hidden:
                    assert finding["redacted"] and finding["detail"] == "redacted", finding
        for hold in work["active_holds"]:
            assert hold["lot"] not in hidden
        for figure in ("release_hours", "right_first_time", "overrides"):
            assert not hidden.intersection(kpis[figure]["records"]), figure
        assert not hidden.intersection(kpis["right_first_time"]["not_right_first_time"])
    whole = api.get("inv-all", "/work").json()
    assert not any(f["redacted"] for c in whole["batches_awaiting_release"] for f in c["findings"])
    scoped = {c["batch"] for c in api.get("inv-a", "/work").json()["batches_awaiting_release"]}
    assert scoped == {
        c["batch"] for c in whole["batches_awaiting_release"] if c["site"] == "SITE-A"
    }


def test_every_reader_and_only_readers_diff_a_documents_versions(api: Api) -> None:
    """A document is shared reference data to read: its diff as its record (any reader,
    whatever the sites of what it concerns); the roles that read nothing are refused."""
    lot = _lots_by_site(api)["SITE-A"][0]
    body = {
        "id": "DOC-ACCESS-DIFF",
        "kind": "qc_report",
        "title": "diff access",
        "content": {"value": 1},
        "concerns": [{"target_kind": "lot", "target_id": lot}],
    }
    assert api.post("qa-a", "/documents", json=body).status_code == 201
    version = {"content": {"value": 2}, "reason": "retest"}
    assert api.post("qa-a", "/documents/DOC-ACCESS-DIFF/versions", json=version).status_code == 201
    path, query = "/documents/DOC-ACCESS-DIFF/diff", {"params": {"from": 1, "to": 2}}
    for account in (*READERS, "inv-a", "qa-a"):
        reply = api.get(account, path, **query)
        assert reply.status_code == 200, (account, reply.text)
        assert reply.json()["changes"] == [
            {"path": "value", "change": "changed", "old": 1, "new": 2}
        ]
    for account in NOT_READERS:
        _assert_error(api.get(account, path, **query), 403, "forbidden")


def _probes(api: Api) -> dict[str, tuple[str, str, dict[str, Any]]]:
    """For each action, a request that only its roles get past the role check with: it names
    nothing that exists (or is refused for its body), so it writes nothing either way."""
    sign = {"password": PASSWORD}
    return {
        "read": ("GET", "/lots/L-NOT-THERE", {}),
        "write_documents": ("POST", "/documents/DOC-NOT-THERE/versions", {"json": {}}),
        "sign": (
            "POST",
            "/documents/DOC-NOT-THERE/versions/1/signatures",
            {"json": {"meaning": "reviewed", **sign}},
        ),
        "hold": ("POST", "/lots/L-NOT-THERE/holds", {"json": {"reason": "r", **sign}}),
        "release": ("POST", "/batches/B-NOT-THERE/release", {"json": sign}),
        "decide_supplier_change": (
            "POST",
            "/suppliers/SUP-NOT-THERE/changes/SCN-NOT-THERE/decisions",
            {"json": {"decision": "accepted", "reason": "r", **sign}},
        ),
        "ingest": ("POST", "/ingest/events", {"json": {}}),
        "read_ingest_rejections": ("GET", "/ingest/rejections", {"params": {"limit": 0}}),
        "read_audit": ("GET", "/audit", {"params": {"limit": 0}}),
        "manage_accounts": ("GET", "/accounts/NOBODY", {}),
    }


def test_auth_me_names_the_caller_and_exactly_the_actions_its_role_passes(api: Api) -> None:
    probes = _probes(api)
    for account, (role, sites) in ACCOUNTS.items():
        me = api.get(account, "/auth/me").json()
        assert (me["username"], me["role"], me["sites"]) == (account, role, sorted(sites))
        assert set(me["may"]) <= set(probes), me
        for action, (method, path, kw) in probes.items():
            reply = _call(api, account, method, path, kw)
            if action in me["may"]:
                assert reply.status_code != 403, (account, action, reply.text)
            else:
                _assert_error(reply, 403, "forbidden")
