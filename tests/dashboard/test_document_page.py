"""The document page (/document?id=), run with Streamlit's AppTest against the real API on
loopback: what it shows is the API's own answer, and what it signs or adds is read back
from the API. The plant comes from a random seed; the document is written over the API."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from api.auth.schemas import Role
from dashboard.client import ApiClient, ApiFailure
from dashboard.signing import readable, statement
from tests.dashboard.conftest import PASSWORD, ServedPlant
from tests.dashboard.test_pages import app, button, metrics, sign_in, table, texts

PAGE = "views/document.py"
AUTHOR, SIGNER = "qa-author", "qa-signer"
CONTENT = {"title": "CoA", "results": [{"analyte": "Assay", "value": 99.5}], "lot": "S-1"}


def add_qa_accounts(plant: ServedPlant, *names: str) -> None:
    """qa accounts of every site, added to the served store beside the running API."""
    for name in names:
        plant.add_account(name, Role.QA)


def concerns_of(plant: ServedPlant) -> list[dict[str, str]]:
    lot = plant.meta["synthetic"]["planted"]["lot"]
    supplier = plant.meta["synthetic"]["planted"]["supplier"]
    batch = plant.csv_rows("batches.csv")[0]["batch_id"]
    return [
        {"target_kind": "lot", "target_id": lot},
        {"target_kind": "batch", "target_id": batch},
        {"target_kind": "supplier", "target_id": supplier},
    ]


def new_document(plant: ServedPlant, doc_id: str) -> dict[str, Any]:
    body = {
        "id": doc_id,
        "kind": "coa",
        "title": f"{doc_id} certificate",
        "content": CONTENT,
        "concerns": concerns_of(plant),
    }
    record: dict[str, Any] = plant.post(AUTHOR, "/documents", body)
    return record


@pytest.fixture
def api_env(served_plant: ServedPlant, monkeypatch: pytest.MonkeyPatch) -> Iterator[ServedPlant]:
    monkeypatch.setenv("LOTGRAPH_API_URL", served_plant.api_url)
    add_qa_accounts(served_plant, AUTHOR, SIGNER)
    yield served_plant


def open_document(account: str, doc_id: str) -> AppTest:
    at = sign_in(app(), account)
    at.query_params.clear()
    at.query_params["id"] = doc_id
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    return at


def sign(at: AppTest, meaning: str, *, confirm: bool = True, password: str = PASSWORD) -> None:
    at.radio(key=next(r.key for r in at.radio if r.label == "Meaning")).set_value(meaning).run()
    next(t for t in at.text_input if t.label == "Your password, entered again").input(password)
    next(c for c in at.checkbox if c.label == "I confirm").set_value(confirm)
    button(at, "Sign").click().run()
    assert not at.exception, at.exception


def record_of(plant: ServedPlant, doc_id: str) -> dict[str, Any]:
    found: dict[str, Any] = plant.get("auditor", f"/documents/{doc_id}")
    return found


def test_the_page_shows_the_record_as_the_api_gives_it(api_env: ServedPlant) -> None:
    doc_id = "DOC-PAGE-SHOW"
    new_document(api_env, doc_id)
    api_env.post(
        SIGNER,
        f"/documents/{doc_id}/versions/1/signatures",
        {"meaning": "reviewed", "password": PASSWORD},
    )
    second = {**CONTENT, "results": [{"analyte": "Assay", "value": 99.1}], "note": "retest"}
    api_env.post(AUTHOR, f"/documents/{doc_id}/versions", {"content": second, "reason": "retest"})
    record = record_of(api_env, doc_id)

    at = open_document("inv-all", doc_id)
    shown = metrics(at)
    assert shown["State"] == record["state"] == "draft"
    assert shown["Current version"] == "2" and shown["Versions"] == "2"
    assert shown["Signatures"] == str(len(record["signatures"]))
    assert f"coa {doc_id}" in texts(at.subheader)
    links = "\n".join(texts(at.markdown))
    for concern in record["concerns"]:
        prefix = {"lot": "/lot?id=", "batch": "/batch?id=", "supplier": "/supplier?id="}
        url = prefix[concern["target_kind"]] + concern["target_id"]
        assert f"[{concern['target_id']}]({url})" in links

    versions = table(at, "version", "created_by", "created_at", "reason", "content")
    assert list(versions["content_sha256"]) == [v["content_sha256"] for v in record["versions"]]
    assert list(versions["reason"]) == [v["reason"] for v in record["versions"]]
    assert list(versions["created_at"]) == [readable(v["created_at"]) for v in record["versions"]]
    assert all(t.endswith(" UTC") for t in versions["created_at"])

    signatures = table(at, "signature_id", "status", "meaning", "signer", "role", "signed_at")
    (signature,) = record["signatures"]
    row = signatures.iloc[0]
    assert (row["signature_id"], row["status"], row["signer"], row["role"]) == (
        signature["signature_id"],
        "superseded",
        signature["signer_name"],
        signature["signer_role"],
    )
    assert row["signed_at"] == readable(signature["signed_at"])
    assert any("replaced" in w and signature["signature_id"] in w for w in texts(at.warning))

    # an investigator adds versions but does not sign: only the version form is offered
    assert record["allowed_meanings"], record
    assert not [b for b in at.button if b.label == "Sign"]
    assert any("Signing needs another role" in c for c in texts(at.caption))
    assert [b for b in at.button if b.label == "Add version"]

    # the diff of the two stored versions, as the API computes it
    diff = api_env.get("auditor", f"/documents/{doc_id}/diff", params={"from": 1, "to": 2})
    changes = table(at, "path", "change", "old", "new")
    assert list(changes["path"]) == [c["path"] for c in diff["changes"]]
    assert list(changes["change"]) == [c["change"] for c in diff["changes"]]
    at.selectbox(key="diff-from").set_value(2).run()
    assert any("have the same content" in c for c in texts(at.caption))

    button(at, "Verify").click().run()
    assert any(f"every check of {doc_id} holds" in s for s in texts(at.success))
    checks = table(at, "check", "result", "detail")
    assert list(checks["result"]) == ["ok"] * len(checks) and len(checks) == 3

    # ingested documents keep only their hash: no diff, and the page says so
    ingested = api_env.csv_rows("signatures.csv")[0]["document_id"]
    at.query_params["id"] = ingested
    at.switch_page(PAGE).run()
    assert any("two versions with stored content" in c for c in texts(at.caption))
    expected = record_of(api_env, ingested)
    signers = table(at, "signature_id", "status", "meaning", "signer", "role")
    people = {p["person_id"]: p for p in api_env.csv_rows("people.csv")}
    for shown_row, signature in zip(signers.itertuples(), expected["signatures"], strict=True):
        assert shown_row.status == signature["status"]
        if signature["signer_id"] in people:
            assert shown_row.signer == people[signature["signer_id"]]["name"]
            assert shown_row.role == people[signature["signer_id"]]["role"]


def test_signing_on_screen_with_statement_password_and_confirmation(
    api_env: ServedPlant, monkeypatch: pytest.MonkeyPatch
) -> None:
    doc_id = "DOC-PAGE-SIGN"
    made = new_document(api_env, doc_id)
    sha = made["versions"][0]["content_sha256"]
    at = open_document(SIGNER, doc_id)
    meanings = next(r for r in at.radio if r.label == "Meaning").options
    assert meanings == made["allowed_meanings"]

    at.radio(key=next(r.key for r in at.radio if r.label == "Meaning")).set_value("reviewed").run()
    assert statement(SIGNER, "reviewed", 1, doc_id, sha) in texts(at.info)
    assert f"I, {SIGNER}, reviewed version 1 of {doc_id} — sha256 {sha}" in texts(at.info)

    # no confirmation, then a wrong password: nothing is signed, the session stays
    sign(at, "reviewed", confirm=False)
    assert any("I confirm" in e for e in texts(at.error))
    sign(at, "reviewed", password=PASSWORD + "x")
    assert any("Refused by the API (401" in e for e in texts(at.error))
    assert record_of(api_env, doc_id)["signatures"] == []
    assert "lg_token" in at.session_state

    # the request reaches the API and signs, but its answer is lost on the way back:
    # the page says so and keeps the key for the retry ...
    sent: list[str] = []
    real = ApiClient.sign_document

    def answer_lost(client: ApiClient, *args: Any) -> dict[str, Any]:
        sent.append(args[-1])
        real(client, *args)
        raise ApiFailure(None, "timeout", "the API did not answer in time")

    monkeypatch.setattr(ApiClient, "sign_document", answer_lost)
    sign(at, "reviewed")
    assert any("No answer from the API" in e for e in texts(at.error))
    ((intent, key),) = at.session_state["lg_write_intents"].values()
    assert intent == ("sign", doc_id, 1, "reviewed") and sent == [key]
    signed = record_of(api_env, doc_id)["signatures"]
    assert [s["meaning"] for s in signed] == ["reviewed"]
    # ... and the retry carries the same key: the first answer again, no second signature
    monkeypatch.setattr(ApiClient, "sign_document", real)
    sign(at, "reviewed")
    assert not at.error, texts(at.error)
    assert any(
        statement(SIGNER, "reviewed", 1, doc_id, sha) in s and "now in_review" in s
        for s in texts(at.success)
    )
    assert dict(at.session_state["lg_write_intents"]) == {}
    after = record_of(api_env, doc_id)
    assert [s["signature_id"] for s in after["signatures"]] == [signed[0]["signature_id"]]
    assert after["state"] == "in_review" and metrics(at)["State"] == "in_review"

    # the author may not approve: the API's 403 is shown as it is
    author = open_document(AUTHOR, doc_id)
    sign(author, "approved")
    assert any(
        e.startswith("Refused by the API (403 forbidden)") and "may not sign it approved" in e
        for e in texts(author.error)
    )
    assert record_of(api_env, doc_id)["state"] == "in_review"

    # another qa approves while the page still shows in_review: the API's 409 names the
    # state, and the page shows it over the document as it is now
    add_qa_accounts(api_env, "qa-third")
    api_env.post(
        "qa-third",
        f"/documents/{doc_id}/versions/1/signatures",
        {"meaning": "approved", "password": PASSWORD},
    )
    sign(at, "approved")
    assert any(
        e.startswith("Refused by the API (409 conflict)") and f"{doc_id} is approved" in e
        for e in texts(at.error)
    ), texts(at.error)
    assert [s["meaning"] for s in record_of(api_env, doc_id)["signatures"]] == [
        "reviewed",
        "approved",
    ]
    assert "lg_write_intents" not in at.session_state or not at.session_state["lg_write_intents"]
    assert metrics(at)["State"] == "approved"  # read again after the refusal
    assert [r.options for r in at.radio if r.label == "Meaning"] == [
        ["released", "rejected", "verified"]
    ]


def test_a_new_version_from_the_screen_needs_a_reason(api_env: ServedPlant) -> None:
    doc_id = "DOC-PAGE-VERSION"
    new_document(api_env, doc_id)
    at = open_document("inv-all", doc_id)
    area = next(t for t in at.text_area if t.label == "Content (a JSON object)")
    assert area.value.startswith("{") and '"Assay"' in area.value  # the latest content
    area.input('{"title": "CoA", "results": [], "lot": "S-2"}')
    button(at, "Add version").click().run()
    assert "Reason: required. Nothing was added." in texts(at.error)
    next(t for t in at.text_area if t.label == "Content (a JSON object)").input("[1, 2")
    next(t for t in at.text_input if t.label.startswith("Reason")).input("lot corrected")
    button(at, "Add version").click().run()
    assert any(e.startswith("Content: not JSON") for e in texts(at.error))
    assert record_of(api_env, doc_id)["current_version"] == 1

    next(t for t in at.text_area if t.label == "Content (a JSON object)").input(
        '{"title": "CoA", "results": [], "lot": "S-2"}'
    )
    next(t for t in at.text_input if t.label.startswith("Reason")).input("lot corrected")
    button(at, "Add version").click().run()
    assert not at.exception and not at.error, texts(at.error)
    record = record_of(api_env, doc_id)
    assert record["current_version"] == 2 and record["state"] == "draft"
    latest = record["versions"][-1]
    assert (latest["created_by"], latest["reason"]) == ("inv-all", "lot corrected")
    assert latest["content"] == {"title": "CoA", "results": [], "lot": "S-2"}
    assert any(f"Version 2 of {doc_id} added" in s for s in texts(at.success))
    assert metrics(at)["Current version"] == "2"


def test_search_links_a_document_to_its_page(api_env: ServedPlant) -> None:
    doc_id = api_env.csv_rows("documents.csv")[0]["document_id"]
    at = sign_in(app(), "inv-all")
    at.query_params.clear()
    at.query_params["q"] = doc_id
    at.switch_page("views/search.py").run()
    assert not at.exception, at.exception
    (link,) = [x for x in at.get("page_link") if "versions, signatures, state" in x.proto.label]
    assert link.proto.label == f"Document {doc_id}: versions, signatures, state"
    assert link.proto.page.endswith("document") and f"id={doc_id}" in link.proto.query_string
