"""Suppliers over the API, on both stores: the supplier's record as the plant has it, its
lots redacted outside the caller's sites, and signed qa decisions on its change notices —
recorded with signer, time, reason and audit entry, appended (a later one supersedes, the
history stays), refused without writing anything, and carried out once per key."""

from __future__ import annotations

import csv
from typing import Any

from api.documents.service import node
from api.suppliers.service import decision_id
from graph.audit_chain import verify_store
from graph.digest import coverage
from graph.model import Label
from graph.store import AuditEntry, WriteBatch
from queries.impact import impact
from tests.api.conftest import PASSWORD, Api

DECIDED = "supplier_change_decided"


def _rows(api: Api, name: str) -> list[dict[str, str]]:
    with open(api.meta_path(name), encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _change(api: Api) -> tuple[str, str]:
    """(supplier, change notice) of the planted change."""
    planted = api.meta["synthetic"]["planted"]["supplier"]
    rows = _rows(api, "supplier_changes.csv")
    row = next((r for r in rows if r["supplier_id"] == planted), rows[0])
    return row["supplier_id"], row["change_id"]


def _decide(
    api: Api,
    account: str,
    supplier: str,
    change: str,
    decision: str = "extra_testing",
    reason: str = "new route: three batches with extended impurity testing",
    password: str = PASSWORD,
    **kw: Any,
) -> Any:
    body = {"decision": decision, "reason": reason, "password": password}
    return api.post(account, f"/suppliers/{supplier}/changes/{change}/decisions", json=body, **kw)


def _refused(reply: Any, status: int, *words: str) -> None:
    assert reply.status_code == status, reply.text
    body = reply.json()
    assert set(body) == {"error", "detail"}, body
    for word in words:
        assert word in body["detail"], body["detail"]


def _decided_entries(api: Api) -> list[dict[str, Any]]:
    return [e for e in api.store.audit_entries() if e["action"] == DECIDED]


def _stored_decisions(api: Api) -> int:
    return api.store.stats().nodes.get(str(Label.SUPPLIER_CHANGE_DECISION), 0)


def test_the_supplier_record_is_the_plants(api: Api) -> None:
    supplier, change = _change(api)
    body = api.get("inv-all", f"/suppliers/{supplier}").json()
    (row,) = [r for r in _rows(api, "suppliers.csv") if r["supplier_id"] == supplier]
    assert (body["id"], body["name"], body["status"]) == (supplier, row["name"], row["status"])
    assert body["country"] == (row["country"] or None)
    lots = {r["lot_id"]: r for r in _rows(api, "lots.csv") if r["supplier_id"] == supplier}
    assert [lot["id"] for lot in body["lots"]] == sorted(lots), f"seed {api.meta['seed']}"
    assert body["lots_hidden"] == 0
    for lot in body["lots"]:
        assert (lot["material_id"], lot["site"]) == (
            lots[lot["id"]]["material_id"],
            lots[lot["id"]]["site"],
        )
    notices = {r["change_id"]: r for r in _rows(api, "supplier_changes.csv")}
    assert {c["id"] for c in body["changes"]} == {
        i for i, r in notices.items() if r["supplier_id"] == supplier
    }
    mine = next(c for c in body["changes"] if c["id"] == change)
    assert mine["description"] == notices[change]["description"]
    assert (mine["material_id"] or "") == notices[change]["material_id"]
    assert (mine["decision"], mine["decisions"]) == (None, [])
    _refused(api.get("inv-all", "/suppliers/NO-SUCH-SUPPLIER"), 404, "NO-SUCH-SUPPLIER")


def test_a_scoped_reader_sees_other_sites_lots_as_ids_only(api: Api) -> None:
    by_supplier: dict[str, set[str]] = {}
    for r in _rows(api, "lots.csv"):
        if r["supplier_id"]:
            by_supplier.setdefault(r["supplier_id"], set()).add(r["site"])
    supplier = next(
        (s for s, sites in sorted(by_supplier.items()) if "SITE-A" in sites and len(sites) > 1),
        None,
    )
    assert supplier, f"seed {api.meta['seed']}: no supplier delivers to SITE-A and elsewhere"
    whole = api.get("inv-all", f"/suppliers/{supplier}").json()
    scoped = api.get("inv-a", f"/suppliers/{supplier}").json()
    sites = {lot["id"]: lot["site"] for lot in whole["lots"]}
    assert [lot["id"] for lot in scoped["lots"]] == [lot["id"] for lot in whole["lots"]]
    for lot, full in zip(scoped["lots"], whole["lots"], strict=True):
        if sites[lot["id"]] == "SITE-A":
            assert lot == full
        else:
            assert lot == {"id": lot["id"], "label": "Lot", "redacted": True}
    assert scoped["lots_hidden"] == sum(1 for s in sites.values() if s != "SITE-A") > 0
    # suppliers and their change notices carry no site: shared reference data
    assert scoped["changes"] == whole["changes"]


def test_qa_decides_and_a_later_decision_supersedes_the_earlier_kept_in_history(
    api: Api,
) -> None:
    supplier, change = _change(api)
    first = _decide(api, "qa-a", supplier, change)
    assert first.status_code == 201, first.text
    one = first.json()
    assert (one["change"], one["supplier"], one["number"], one["decision"]) == (
        change,
        supplier,
        1,
        "extra_testing",
    )
    assert (one["decided_by"], one["supersedes"], one["superseded_by"]) == ("qa-a", None, None)
    assert one["reason"] == "new route: three batches with extended impurity testing"
    assert one["meaning"] and one["decided_at"]
    (entry,) = _decided_entries(api)
    assert (entry["actor"], entry["entity"], entry["key"], entry["old"]) == (
        "qa-a",
        "SupplierChange",
        change,
        None,
    )
    assert entry["new"]["decision_id"] == one["id"] and entry["reason"] == one["reason"]
    assert entry["new"]["decided_at"] == one["decided_at"]

    second = _decide(api, "qa-b", supplier, change, "accepted", "three batches passed")
    assert second.status_code == 201, second.text
    two = second.json()
    assert (two["number"], two["supersedes"], two["decided_by"]) == (2, one["id"], "qa-b")
    notice = next(
        c for c in api.get("inv-a", f"/suppliers/{supplier}").json()["changes"] if c["id"] == change
    )
    assert notice["decision"] == two
    assert [d["id"] for d in notice["decisions"]] == [one["id"], two["id"]]
    assert notice["decisions"][0] == {**one, "superseded_by": two["id"]}
    entries = _decided_entries(api)
    assert len(entries) == 2 and entries[1]["old"]["id"] == one["id"]
    assert entries[1]["old"]["decision"] == "extra_testing"
    assert entries[1]["new"]["supersedes"] == one["id"]
    # the chain holds, and covers every node and relationship the decisions stored
    write_ids: set[str] = set()
    assert verify_store(api.store, write_ids=write_ids).ok
    assert coverage(api.store, write_ids).uncovered == 0


def test_refused_decisions_write_nothing(api: Api) -> None:
    supplier, change = _change(api)
    others = [r for r in _rows(api, "supplier_changes.csv") if r["supplier_id"] != supplier]
    entries_before = len(api.store.audit_entries())
    for account in ("inv-a", "inv-all", "auditor", "admin", "integrator"):
        _refused(_decide(api, account, supplier, change), 403)
    _refused(_decide(api, "qa-a", "NO-SUCH-SUPPLIER", change), 404, "NO-SUCH-SUPPLIER")
    _refused(_decide(api, "qa-a", supplier, "SCN-NONE"), 404, "SCN-NONE")
    if others:  # a notice of another supplier is not this supplier's
        _refused(_decide(api, "qa-a", supplier, others[0]["change_id"]), 404, supplier)
    _refused(_decide(api, "qa-a", supplier, change, decision="approved"), 422, "decision")
    _refused(_decide(api, "qa-a", supplier, change, reason="   "), 422, "reason")
    path = f"/suppliers/{supplier}/changes/{change}/decisions"
    extra = {"decision": "accepted", "reason": "r", "password": PASSWORD, "decided_by": "x"}
    _refused(api.post("qa-a", path, json=extra), 422, "decided_by")
    _refused(_decide(api, "qa-a", supplier, change, password="not my password"), 401)
    assert _stored_decisions(api) == 0 and _decided_entries(api) == []
    # only sign-in failures were recorded (the wrong password counts toward the lockout)
    new = api.store.audit_entries()[entries_before:]
    assert all(e["action"] != DECIDED for e in new)
    notice = next(
        c
        for c in api.get("auditor", f"/suppliers/{supplier}").json()["changes"]
        if c["id"] == change
    )
    assert notice["decisions"] == []


def test_a_retry_with_the_same_key_answers_the_first_decision(api: Api) -> None:
    supplier, change = _change(api)
    key = {"Idempotency-Key": "decide-once-1"}
    first = _decide(api, "qa-a", supplier, change, headers=key)
    again = _decide(api, "qa-a", supplier, change, headers=key)
    assert first.status_code == again.status_code == 201, again.text
    assert again.json() == first.json()
    assert _stored_decisions(api) == 1 and len(_decided_entries(api)) == 1
    other = _decide(api, "qa-a", supplier, change, "accepted", headers=key)
    _refused(other, 409, "Idempotency-Key")
    # a refusal under a key is its answer too: the retry is refused the same way
    bad = {"Idempotency-Key": "decide-once-2"}
    _refused(_decide(api, "qa-a", supplier, "SCN-NONE", headers=bad), 404)
    _refused(_decide(api, "qa-a", supplier, "SCN-NONE", headers=bad), 404)
    assert _stored_decisions(api) == 1


def test_the_impact_of_a_change_with_filters_is_the_investigations(api: Api) -> None:
    supplier, change = _change(api)
    notice = next(r for r in _rows(api, "supplier_changes.csv") if r["change_id"] == change)
    path = f"/suppliers/{supplier}/impact"
    answer = api.get("inv-all", path, params={"change": change}).json()
    assert answer == impact(api.store, supplier, change_id=change).model_dump(mode="json")
    assert answer["change"] == change and answer["since"]
    assert (answer["material"] or "") == notice["material_id"]
    narrower = api.get("inv-all", path, params={"change": change, "since": "2100-01-01"}).json()
    assert narrower["lots"] == [] and narrower["since"].startswith("2100-01-01")


def test_a_decision_number_taken_meanwhile_is_refused_409_and_writes_nothing(api: Api) -> None:
    """Two requests deciding at once both number their decision n: the store creates the
    n-th only once. Here the n-th is stored before the request writes (as a concurrent one
    would be), without its link, so the request reads no decision and numbers 1."""
    supplier, change = _change(api)
    taken = decision_id(change, 1)
    api.store.apply(
        WriteBatch(
            nodes=[node(Label.SUPPLIER_CHANGE_DECISION, taken, {"decision": "accepted"})],
            audit=[
                AuditEntry("test", "race", "SupplierChange", change, None, {"id": taken}, "r", "t")
            ],
        )
    )
    before = len(api.store.audit_entries())
    _refused(_decide(api, "qa-a", supplier, change), 409, "meanwhile")
    assert len(api.store.audit_entries()) == before and _decided_entries(api) == []
    assert api.store.stats().relationships.get("DECIDES", 0) == 0
