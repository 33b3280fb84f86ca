"""The lot and supplier pages, and holds from the lot and recall pages, run with Streamlit's
AppTest against the real API on loopback. Every action done on a page is checked through
the API; every expectation comes from the API's own answers over a plant of a random seed.
"""

from __future__ import annotations

from typing import Any

import httpx
from streamlit.testing.v1 import AppTest

from tests.dashboard.conftest import PASSWORD, ServedPlant
from tests.dashboard.test_pages import api_env, app, button, metrics, sign_in, table, texts

__all__ = ["api_env"]  # the fixture, used by name

PAGES = {"lot": "views/lot.py", "supplier": "views/supplier.py", "recall": "views/recall.py"}
QA = "qa-all"


def at_page(account: str, page: str, **params: str) -> AppTest:
    at = sign_in(app(), account)
    at.query_params.clear()
    at.query_params.update(params)
    at.switch_page(PAGES[page]).run()
    assert not at.exception, at.exception
    return at


def _lot_at(plant: ServedPlant, skip: int = 0) -> str:
    return [r["lot_id"] for r in plant.csv_rows("lots.csv")][skip]


def _sign(
    at: AppTest, prefix: str, reason: str, password: str = PASSWORD, confirm: bool = True
) -> None:
    at.text_area(key=f"{prefix}-reason").input(reason)
    at.text_input(key=f"{prefix}-password").input(password)
    if confirm:
        at.checkbox(key=f"{prefix}-confirm").check()


def _holds(plant: ServedPlant, lot: str) -> dict[str, Any]:
    found: dict[str, Any] = plant.get("auditor", f"/lots/{lot}/holds")
    return found


def test_the_lot_page_shows_the_lot_and_its_documents_and_trace(api_env: ServedPlant) -> None:
    lot = api_env.meta["synthetic"]["planted"]["lot"]
    entity = api_env.get("inv-all", f"/lots/{lot}")["properties"]
    at = at_page("inv-all", "lot", id=lot)
    shown = metrics(at)
    assert shown["Status"] == entity["status"] and shown["Site"] == entity["site"]
    assert shown["Quantity"] == f"{entity['quantity']} {entity['unit']}"
    docs = api_env.get("inv-all", f"/lots/{lot}/documents")["documents"]
    if docs:
        shown_docs = table(at, "document_id", "open")
        assert list(shown_docs["document_id"]) == [d["document_id"] for d in docs]
        assert set(shown_docs["open"]) == {f"/document?id={d['document_id']}" for d in docs}
    backward = api_env.get("inv-all", f"/lots/{lot}/trace", params={"direction": "backward"})
    assert backward["suppliers"], f"seed {api_env.seed}: the planted lot has no supplier"
    suppliers = [
        d.value
        for d in at.dataframe
        if list(d.value.get("open", [])) and "supplier?id" in str(d.value["open"].iloc[0])
    ]
    assert len(suppliers) == 1 and list(suppliers[0]["id"]) == backward["suppliers"]
    assert any("is not on hold" in c for c in texts(at.caption))


def test_qa_places_and_releases_a_hold_on_the_lot_page(api_env: ServedPlant) -> None:
    lot = _lot_at(api_env, 3)
    at = at_page(QA, "lot", id=lot)
    # no confirmation ticked: nothing is sent
    _sign(at, "hold-lot", "OOS assay on retest", confirm=False)
    button(at, "Place hold").click().run()
    assert "Tick the statement to confirm that you sign it." in texts(at.error)
    assert _holds(api_env, lot)["active"] is None

    _sign(at, "hold-lot", "OOS assay on retest")
    button(at, "Place hold").click().run()
    assert not at.exception and not at.error, texts(at.error)
    active = _holds(api_env, lot)["active"]
    assert active and (active["placed_by"], active["reason"]) == (QA, "OOS assay on retest")
    assert f"Lot {lot} placed on hold ({active['id']})." in texts(at.success)
    assert any(active["id"] in w and "OOS assay" in w for w in texts(at.warning))
    assert list(table(at, "id", "active", "reason")["id"]) == [active["id"]]
    assert at.session_state["lg_intent_keys"] == {}  # the intent is concluded

    # a wrong password is refused as the API refuses it, and the session stays
    _sign(at, "hold-lot", "retest passed", password="not my password")
    button(at, "Release hold").click().run()
    assert any("401" in e and "wrong username or password" in e for e in texts(at.error))
    assert _holds(api_env, lot)["active"] is not None and "lg_token" in at.session_state

    _sign(at, "hold-lot", "retest passed")
    button(at, "Release hold").click().run()
    assert not at.error, texts(at.error)
    held = _holds(api_env, lot)
    assert held["active"] is None
    (record,) = held["holds"]
    assert (record["released_by"], record["release_reason"]) == (QA, "retest passed")
    assert f"Lot {lot} released from hold ({record['id']})." in texts(at.success)


def test_a_refused_hold_is_shown_as_the_api_gives_it(api_env: ServedPlant) -> None:
    lot = _lot_at(api_env, 5)
    # an investigator is not offered the form (GET /auth/me), and the API refuses anyway
    at = at_page("inv-all", "lot", id=lot)
    assert not [b for b in at.button if b.label == "Place hold"]
    assert any("Placing or releasing a hold needs another role" in c for c in texts(at.caption))
    refused = httpx.post(
        f"{api_env.api_url}/lots/{lot}/holds",
        headers={"Authorization": f"Bearer {api_env.token('inv-all')}"},
        json={"reason": "not mine to place", "password": PASSWORD},
    )
    assert refused.status_code == 403, refused.text
    assert _holds(api_env, lot)["holds"] == []
    # a hold placed meanwhile by someone else: the page's form is refused 409
    at = at_page(QA, "lot", id=lot)
    api_env.post(QA, f"/lots/{lot}/holds", {"reason": "elsewhere", "password": PASSWORD})
    _sign(at, "hold-lot", "again")
    button(at, "Place hold").click().run()
    assert any("409" in e and "on hold already" in e for e in texts(at.error))
    assert len(_holds(api_env, lot)["holds"]) == 1


def _hold_errors(at: AppTest) -> list[str]:
    """The page's errors but the recall's own mass-balance findings (a plant may have a
    shortfall in the planted lot's scope): what the hold form said went wrong."""
    return [e for e in texts(at.error) if not e.startswith("Shortfall:")]


def test_a_hold_from_the_recall_page(api_env: ServedPlant) -> None:
    lot = api_env.meta["synthetic"]["planted"]["lot"]
    at = at_page(QA, "recall", lot=lot)
    assert at.selectbox(key="hold-lot").value == lot  # the root first
    _sign(at, "hold-recall", "recall of the planted lot")
    button(at, "Place hold").click().run()
    assert not _hold_errors(at), texts(at.error)
    active = _holds(api_env, lot)["active"]
    assert active and active["reason"] == "recall of the planted lot"
    recall = api_env.post(QA, "/investigations/recall", {"lot_ids": [lot]})
    root = next(x for x in recall["lots"] if x["id"] == lot)
    assert root["hold"]["id"] == active["id"]
    assert any(lot in c and "on hold" in c for c in texts(at.caption))

    # an affected lot downstream of the root, picked from the list
    downstream = next(
        x["id"] for x in recall["lots"] if not x.get("root") and not x.get("redacted")
    )
    at.selectbox(key="hold-lot").select(downstream).run()
    _sign(at, "hold-recall", "downstream of the planted lot")
    button(at, "Place hold").click().run()
    assert not _hold_errors(at), texts(at.error)
    assert _holds(api_env, downstream)["active"]["reason"] == "downstream of the planted lot"
    at.selectbox(key="hold-lot").select(lot).run()
    _sign(at, "hold-recall", "cleared")
    button(at, "Release hold").click().run()
    assert not _hold_errors(at), texts(at.error)
    assert _holds(api_env, lot)["active"] is None


def _planted_change(plant: ServedPlant) -> tuple[str, str]:
    supplier = plant.meta["synthetic"]["planted"]["supplier"]
    rows = plant.csv_rows("supplier_changes.csv")
    row = next((r for r in rows if r["supplier_id"] == supplier), rows[0])
    return row["supplier_id"], row["change_id"]


def test_the_supplier_page_shows_lots_changes_and_the_impact_of_a_change(
    api_env: ServedPlant,
) -> None:
    supplier, change = _planted_change(api_env)
    record = api_env.get("inv-a", f"/suppliers/{supplier}")
    at = at_page("inv-a", "supplier", id=supplier, change=change)
    shown = metrics(at)
    visible = [lot for lot in record["lots"] if not lot.get("redacted")]
    assert shown["Lots"] == str(len(record["lots"]))
    assert f"Lots: {len(visible)} visible, {record['lots_hidden']} hidden." in texts(at.caption)
    assert shown["Status"] == record["status"]
    assert shown["Change notices"] == str(len(record["changes"]))
    lots = table(at, "id", "open", "material_id")
    assert list(lots["id"]) == [lot["id"] for lot in record["lots"]]
    assert list(lots["open"]) == [f"/lot?id={lot['id']}" for lot in record["lots"]]
    changes = table(at, "id", "material_id", "description")
    assert list(changes["id"]) == [c["id"] for c in record["changes"]]

    impact = api_env.get("inv-a", f"/suppliers/{supplier}/impact", params={"change": change})
    shown = metrics(at)
    assert shown["Supplier lots"] == str(len(impact["lots"]))
    assert shown["Open batches"] == str(len(impact["open_batches"]))
    # the filters are in the form, and put into the link
    notice = next(c for c in record["changes"] if c["id"] == change)
    later = "2100-01-01"
    fields = {t.label: t for t in at.text_input}
    fields["Since (ISO date or time)"].input(later)
    button(at, "Show impact").click().run()
    assert not at.exception and at.query_params.get("since") == later
    assert metrics(at)["Supplier lots"] == "0"
    assert any(later in c for c in texts(at.caption))
    fields = {t.label: t for t in at.text_input}
    fields["Since (ISO date or time)"].input("")
    fields["Material"].input(notice["material_id"] or "MAT-NONE")
    button(at, "Show impact").click().run()
    assert "since" not in at.query_params
    narrowed = api_env.get(
        "inv-a",
        f"/suppliers/{supplier}/impact",
        params={"change": change, "material": notice["material_id"] or "MAT-NONE"},
    )
    assert metrics(at)["Supplier lots"] == str(len(narrowed["lots"]))


def test_qa_records_and_supersedes_a_supplier_change_decision(api_env: ServedPlant) -> None:
    supplier, change = _planted_change(api_env)
    at = at_page(QA, "supplier", id=supplier, change=change)
    decision = next(s for s in at.selectbox if s.label == "Decision")
    decision.select("extra_testing")
    _sign(at, "decision", "route change: extended impurity testing on three batches")
    button(at, "Sign decision").click().run()
    assert not at.error, texts(at.error)
    notice = next(
        c for c in api_env.get("auditor", f"/suppliers/{supplier}")["changes"] if c["id"] == change
    )
    first = notice["decision"]
    assert (first["decision"], first["decided_by"]) == ("extra_testing", QA)
    assert first["reason"] == "route change: extended impurity testing on three batches"
    assert any(first["id"] in s for s in texts(at.success))
    assert any("Extra testing" in i for i in texts(at.info))

    decision = next(s for s in at.selectbox if s.label == "Decision")
    decision.select("accepted")
    _sign(at, "decision", "three batches passed")
    button(at, "Sign decision").click().run()
    assert not at.error, texts(at.error)
    notice = next(
        c for c in api_env.get("auditor", f"/suppliers/{supplier}")["changes"] if c["id"] == change
    )
    assert [d["decision"] for d in notice["decisions"]] == ["extra_testing", "accepted"]
    assert notice["decision"]["supersedes"] == first["id"]
    history = table(at, "id", "number", "decision")
    assert list(history["id"]) == [d["id"] for d in notice["decisions"]]

    # an investigator is not offered the form, the API refuses it, and nothing is written
    at = at_page("inv-all", "supplier", id=supplier, change=change)
    assert not [b for b in at.button if b.label == "Sign decision"]
    assert any("Recording a decision needs another role" in c for c in texts(at.caption))
    refused = httpx.post(
        f"{api_env.api_url}/suppliers/{supplier}/changes/{change}/decisions",
        headers={"Authorization": f"Bearer {api_env.token('inv-all')}"},
        json={"decision": "accepted", "reason": "not mine", "password": PASSWORD},
    )
    assert refused.status_code == 403, refused.text
    after = api_env.get("auditor", f"/suppliers/{supplier}")["changes"]
    assert len(next(c for c in after if c["id"] == change)["decisions"]) == 2


def test_a_retry_after_a_lost_answer_places_no_second_hold(api_env: ServedPlant) -> None:
    """The first attempt reached the API and placed the hold, but its answer was lost: the
    page kept the intent's key, so sending again answers with that hold, never a second."""
    lot = _lot_at(api_env, 9)
    at = at_page(QA, "lot", id=lot)  # the page as the user sees it: not on hold
    assert any("is not on hold" in c for c in texts(at.caption))
    key = f"lost-answer-{lot}"
    reason = "answer lost on the way"
    headers = {"Authorization": f"Bearer {api_env.token(QA)}", "Idempotency-Key": key}
    first = httpx.post(
        f"{api_env.api_url}/lots/{lot}/holds",
        json={"reason": reason, "password": PASSWORD},
        headers=headers,
    )
    assert first.status_code == 201, first.text
    at.session_state["lg_intent_keys"] = {f"place-hold-{lot}": key}  # kept: no answer came

    _sign(at, "hold-lot", reason)
    button(at, "Place hold").click().run()
    assert not at.error, texts(at.error)
    hold = first.json()
    assert f"Lot {lot} placed on hold ({hold['id']})." in texts(at.success)
    assert [h["id"] for h in _holds(api_env, lot)["holds"]] == [hold["id"]]
    assert at.session_state["lg_intent_keys"] == {}
