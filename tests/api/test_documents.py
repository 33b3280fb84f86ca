"""Documents, append-only versions and e-signatures over the API, on both stores: hashes
computed by the service, signatures bound to them, the password entered again, no
self-approval, one signer/one meaning/one version, superseded signatures shown, the state
machine, verification that detects a changed stored content, and an audit entry for every
write."""

from __future__ import annotations

import csv
import json
import sqlite3
from contextlib import closing
from typing import Any

from api.auth.secrets import ApiKey, hash_secret
from graph.canonical import canonical_json, sha256_hex
from graph.embedded import EmbeddedStore
from graph.model import Label
from graph.neo4j_store import Neo4jStore
from graph.records import Account
from graph.store import GraphStore, utc_now
from queries.custody import custody
from queries.documents import documents_for_lot, lots_for_document
from tests.api.conftest import PASSWORD, Api

CONTENT = {"title": "Batch record", "steps": [{"n": 1, "text": "Charge R-101", "kg": 12.5}]}
CONTENT_2 = {"title": "Batch record", "steps": [{"n": 1, "text": "Charge R-101", "kg": 12.75}]}


def _lots_at(api: Api, site: str) -> list[str]:
    with open(api.meta_path("lots.csv"), encoding="utf-8") as fh:
        ids = [row["lot_id"] for row in csv.DictReader(fh)]
    found = api.store.fetch_nodes(Label.LOT, ids)
    return [i for i in ids if found[i].props.get("site") == site]


def _batch_at(api: Api, site: str) -> str:
    with open(api.meta_path("batches.csv"), encoding="utf-8") as fh:
        return next(r["batch_id"] for r in csv.DictReader(fh) if r["site"] == site)


def _create(
    api: Api,
    account: str,
    doc_id: str,
    content: dict[str, Any] = CONTENT,
    concerns: list[dict[str, str]] | None = None,
    kind: str = "batch_record",
) -> Any:
    body = {"id": doc_id, "kind": kind, "title": f"{doc_id} title", "content": content}
    if concerns is not None:
        body["concerns"] = concerns
    return api.post(account, "/documents", json=body)


def _version(api: Api, account: str, doc_id: str, content: dict[str, Any], reason: str) -> Any:
    return api.post(
        account, f"/documents/{doc_id}/versions", json={"content": content, "reason": reason}
    )


def _sign(
    api: Api, account: str, doc_id: str, version: int, meaning: str, password: str = PASSWORD
) -> Any:
    return api.post(
        account,
        f"/documents/{doc_id}/versions/{version}/signatures",
        json={"meaning": meaning, "password": password},
    )


def _ok(reply: Any, status: int = 201) -> dict[str, Any]:
    assert reply.status_code == status, reply.text
    body: dict[str, Any] = reply.json()
    return body


def _refused(reply: Any, status: int, *words: str) -> str:
    assert reply.status_code == status, reply.text
    body = reply.json()
    assert set(body) == {"error", "detail"}, body
    for word in words:
        assert word in body["detail"], body["detail"]
    detail: str = body["detail"]
    return detail


def _state(api: Api, doc_id: str) -> str:
    state: str = _ok(api.get("auditor", f"/documents/{doc_id}"), 200)["state"]
    return state


def _audit(api: Api, action: str, key: str) -> list[dict[str, Any]]:
    return [e for e in api.store.audit_entries() if e["action"] == action and e["key"] == key]


def _tamper(store: GraphStore, label: Label, key: str, prop: str, value: str) -> None:
    """Change one stored property behind the service's back, as an attacker with the store would."""
    if isinstance(store, EmbeddedStore):
        # a connection of its own, as an attacker's: the store's readers refuse writes
        with closing(sqlite3.connect(store.path, isolation_level=None)) as conn:
            conn.execute(
                "UPDATE nodes SET props = json_set(props, ?, ?) WHERE label = ? AND id = ?",
                (f"$.{prop}", value, str(label), key),
            )
    elif isinstance(store, Neo4jStore):
        with store.driver.session(database=store.database) as session:
            session.run(
                f"MATCH (n:`{label}` {{id: $key}}) SET n[$prop] = $value",
                key=key,
                prop=prop,
                value=value,
            ).consume()
    else:  # pragma: no cover
        raise TypeError(type(store).__name__)


def test_a_document_is_created_and_versioned_with_hashes_the_service_computes(api: Api) -> None:
    lot = _lots_at(api, "SITE-A")[0]
    batch = _batch_at(api, "SITE-A")
    concerns = [
        {"target_kind": "lot", "target_id": lot},
        {"target_kind": "batch", "target_id": batch},
    ]
    created = _ok(_create(api, "inv-a", "DOC-API-1", concerns=concerns))
    assert created["state"] == "draft" and created["current_version"] == 1
    assert (created["kind"], created["created_by"]) == ("batch_record", "inv-a")
    assert sorted((c["target_kind"], c["target_id"]) for c in created["concerns"]) == sorted(
        [("lot", lot), ("batch", batch)]
    )
    (v1,) = created["versions"]
    assert v1["id"] == "DOC-API-1@1" and v1["content"] == CONTENT and v1["content_stored"]
    assert v1["content_sha256"] == sha256_hex(CONTENT) and v1["created_by"] == "inv-a"
    stored = api.store.fetch_nodes(Label.DOCUMENT_VERSION, ["DOC-API-1@1"])["DOC-API-1@1"].props
    assert stored["content"] == canonical_json(CONTENT).decode()  # RFC 8785 text
    assert stored["content_sha256"] == sha256_hex(CONTENT)

    # the hash is never the client's, nor is anything the schema does not name
    body = {
        "id": "DOC-API-X",
        "kind": "sop",
        "title": "t",
        "content": {},
        "content_sha256": "0" * 64,
    }
    _refused(api.post("qa-a", "/documents", json=body), 422, "content_sha256")
    _refused(_create(api, "qa-a", "DOC-API-1"), 409, "DOC-API-1")
    _refused(
        _create(api, "qa-a", "DOC-API-2", concerns=[{"target_kind": "lot", "target_id": "NOPE"}]),
        404,
        "NOPE",
    )
    other_site = _lots_at(api, "SITE-B")[0]
    _refused(
        _create(
            api, "inv-a", "DOC-API-3", concerns=[{"target_kind": "lot", "target_id": other_site}]
        ),
        403,
        other_site,
    )
    _refused(_create(api, "qa-a", "DOC-API-4", content={"n": 2**80}), 422, "content")
    assert api.store.fetch_nodes(Label.DOCUMENT, ["DOC-API-2", "DOC-API-3", "DOC-API-4"]) == {}

    second = _ok(_version(api, "qa-a", "DOC-API-1", CONTENT_2, "corrected the charge"))
    assert second["current_version"] == 2 and second["state"] == "draft"
    first, latest = second["versions"]
    assert first == v1  # append-only: version 1 is untouched
    assert (latest["version"], latest["created_by"], latest["reason"]) == (
        2,
        "qa-a",
        "corrected the charge",
    )
    assert latest["content_sha256"] == sha256_hex(CONTENT_2) != v1["content_sha256"]
    _refused(_version(api, "qa-a", "NO-SUCH-DOC", CONTENT, "r"), 404, "NO-SUCH-DOC")
    # to write or sign a document, one must see all it concerns (reading it is for anyone)
    _refused(_version(api, "qa-b", "DOC-API-1", CONTENT, "r"), 403, "SITE-A")
    _refused(_sign(api, "qa-b", "DOC-API-1", 2, "reviewed"), 403, "SITE-A")
    assert api.get("qa-b", "/documents/DOC-API-1").status_code == 200
    reply = api.post("qa-a", "/documents/DOC-API-1/versions", json={"content": CONTENT})
    _refused(reply, 422, "reason")

    # the investigations read what the API wrote
    assert api.get("auditor", "/documents/DOC-API-1").json() == second
    assert any(d.document_id == "DOC-API-1" for d in documents_for_lot(api.store, lot).documents)
    assert lot in {x.lot_id for x in lots_for_document(api.store, "DOC-API-1").lots}

    # every write has its audit entry: who, what, old, new, why
    (made,) = _audit(api, "document_created", "DOC-API-1")
    assert (made["actor"], made["entity"], made["old"]) == ("inv-a", "Document", None)
    assert made["new"]["kind"] == "batch_record" and made["reason"] == "document created"
    (added_1,) = _audit(api, "document_version_added", "DOC-API-1@1")
    (added_2,) = _audit(api, "document_version_added", "DOC-API-1@2")
    assert added_1["new"]["content_sha256"] == sha256_hex(CONTENT)
    assert (added_2["actor"], added_2["reason"]) == ("qa-a", "corrected the charge")
    assert added_2["old"] == {"current_version": 1, "state": "draft"}
    assert added_2["new"]["content_sha256"] == sha256_hex(CONTENT_2)


def test_a_signature_binds_to_its_versions_hash_and_verify_detects_a_changed_content(
    api: Api,
) -> None:
    _ok(_create(api, "qa-a", "DOC-SIG-1"))
    before = utc_now()
    signed = _ok(_sign(api, "qa-a2", "DOC-SIG-1", 1, "reviewed"))
    after = utc_now()
    signature = signed["signature"]
    assert signature["record_sha256"] == sha256_hex(CONTENT)
    assert signature["record_sha256"] == signed["document"]["versions"][0]["content_sha256"]
    assert (signature["signer_id"], signature["meaning"], signature["status"]) == (
        "qa-a2",
        "reviewed",
        "valid",
    )
    assert before <= signature["signed_at"] <= after  # the server's UTC clock
    assert signature["signed_at"].endswith("Z")
    assert signed["document"]["state"] == "in_review"
    # the client names neither the time nor the hash
    reply = api.post(
        "qa-a2",
        "/documents/DOC-SIG-1/versions/1/signatures",
        json={"meaning": "verified", "password": PASSWORD, "signed_at": "2020-01-01T00:00:00Z"},
    )
    _refused(reply, 422, "signed_at")
    (entry,) = _audit(api, "signature_added", signature["signature_id"])
    assert (entry["actor"], entry["entity"], entry["old"]) == (
        "qa-a2",
        "Signature",
        {"state": "draft"},
    )
    assert entry["new"]["record_sha256"] == sha256_hex(CONTENT)
    assert entry["new"]["state"] == "in_review"

    # the signature is a graph node: (Person)-[:SIGNED]->(Signature)-[:SIGNS]->(version)
    person = api.store.fetch_nodes(Label.PERSON, ["qa-a2"])
    assert person and not person["qa-a2"].unresolved

    verified = _ok(api.get("inv-a", "/documents/DOC-SIG-1/verify"), 200)
    assert verified["ok"] is True
    (version,) = verified["versions"]
    assert version["ok"] is True and version["recomputed_sha256"] == sha256_hex(CONTENT)
    (check,) = verified["signatures"]
    assert check["ok"] is True and check["record_sha256"] == check["version_sha256"]

    # someone with access to the store changes the content; its hash stays as it was
    altered = canonical_json({**CONTENT, "steps": []}).decode()
    _tamper(api.store, Label.DOCUMENT_VERSION, "DOC-SIG-1@1", "content", altered)
    tampered = _ok(api.get("auditor", "/documents/DOC-SIG-1/verify"), 200)
    assert tampered["ok"] is False
    (version,) = tampered["versions"]
    assert version["ok"] is False and version["recomputed_sha256"] == sha256_hex(
        json.loads(altered)
    )
    assert version["recomputed_sha256"] != version["content_sha256"]
    assert tampered["signatures"][0]["ok"] is False

    # and a signature whose recorded hash was changed is a hash_mismatch everywhere
    _ok(_create(api, "qa-a", "DOC-SIG-2"))
    sig_id = _ok(_sign(api, "qa-a2", "DOC-SIG-2", 1, "verified"))["signature"]["signature_id"]
    _tamper(api.store, Label.SIGNATURE, sig_id, "record_sha256", "9" * 64)
    record = _ok(api.get("auditor", "/documents/DOC-SIG-2"), 200)
    assert [s["status"] for s in record["signatures"]] == ["hash_mismatch"]
    checked = _ok(api.get("auditor", "/documents/DOC-SIG-2/verify"), 200)
    assert checked["ok"] is False and checked["versions"][0]["ok"] is True
    assert checked["signatures"][0]["ok"] is False


def test_an_ingested_document_keeps_its_sources_hash_and_says_no_content_stored(
    api: Api,
) -> None:
    with open(api.meta_path("documents.csv"), encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    doc_id = rows[0]["document_id"]
    mine = [r for r in rows if r["document_id"] == doc_id]
    record = _ok(api.get("inv-all", f"/documents/{doc_id}"), 200)
    assert record["kind"] == mine[0]["kind"] and record["title"] == mine[0]["title"]
    assert [v["version"] for v in record["versions"]] == sorted(int(r["version"]) for r in mine)
    for version, row in zip(
        record["versions"], sorted(mine, key=lambda r: int(r["version"])), strict=True
    ):
        assert version["content_sha256"] == row["content_sha256"]
        assert version["content_stored"] is False and version["content"] is None
        assert version["source_status"] == row["status"]
    checked = _ok(api.get("inv-all", f"/documents/{doc_id}/verify"), 200)
    for version in checked["versions"]:
        assert version["ok"] is None and "no content stored" in version["detail"]
    assert checked["ok"] == all(s["ok"] for s in checked["signatures"])
    _refused(api.get("inv-all", "/documents/NO-SUCH-DOC"), 404, "NO-SUCH-DOC")
    _refused(api.get("inv-all", "/documents/NO-SUCH-DOC/verify"), 404, "NO-SUCH-DOC")


def test_signature_statuses_are_the_custody_answers(api: Api) -> None:
    """For every document of a batch's custody, GET /documents/{id} gives each signature the
    status custody gives it (valid, hash_mismatch, superseded)."""
    with open(api.meta_path("batches.csv"), encoding="utf-8") as fh:
        batches = [r["batch_id"] for r in csv.DictReader(fh)][:20]
    compared = 0
    for batch in batches:
        for s in custody(api.store, batch).signatures:
            record = api.get("auditor", f"/documents/{s.document_id}").json()
            mine = next(x for x in record["signatures"] if x["signature_id"] == s.signature_id)
            assert (mine["status"], mine["version"], mine["meaning"]) == (
                s.status,
                s.document_version,
                s.meaning,
            )
            compared += 1
    assert compared > 0


def test_a_wrong_password_is_401_and_counts_toward_the_lockout(api: Api) -> None:
    _ok(_create(api, "qa-a", "DOC-PW-1"))
    attempts = api.client.app.state.settings.sign_in_attempts  # type: ignore[attr-defined]
    for n in range(1, attempts):
        _refused(_sign(api, "qa-a2", "DOC-PW-1", 1, "reviewed", "not my password"), 401)
        account = api.store.get_account("qa-a2")
        assert account is not None and account.failed_sign_ins == n
    failed = [e for e in api.store.audit_entries() if e["action"] == "sign_in_failed"]
    assert len([e for e in failed if e["key"] == "qa-a2"]) == attempts - 1
    _refused(_sign(api, "qa-a2", "DOC-PW-1", 1, "reviewed", "not my password"), 401)
    account = api.store.get_account("qa-a2")
    assert account is not None and account.locked_until is not None
    # locked: even the right password is refused, and nothing was signed
    _refused(_sign(api, "qa-a2", "DOC-PW-1", 1, "reviewed"), 401, "locked")
    assert _ok(api.get("auditor", "/documents/DOC-PW-1"), 200)["signatures"] == []


def test_the_author_may_not_approve_or_release_their_own_version(api: Api) -> None:
    _ok(_create(api, "qa-a", "DOC-SELF-1"))
    _refused(_sign(api, "qa-a2", "DOC-SELF-1", 1, "authored"), 403, "author")
    _ok(_sign(api, "qa-a", "DOC-SELF-1", 1, "authored"))
    _ok(_sign(api, "qa-a", "DOC-SELF-1", 1, "reviewed"))  # an author may review
    _refused(_sign(api, "qa-a", "DOC-SELF-1", 1, "approved"), 403, "qa-a", "authored")
    _ok(_sign(api, "qa-a2", "DOC-SELF-1", 1, "approved"))
    _refused(_sign(api, "qa-a", "DOC-SELF-1", 1, "released"), 403, "qa-a")
    released = _ok(_sign(api, "qa-a2", "DOC-SELF-1", 1, "released"))
    assert released["document"]["state"] == "released"
    # the author of version 2 is the one who may not approve it
    _ok(_version(api, "qa-a2", "DOC-SELF-1", CONTENT_2, "revision"))
    _ok(_sign(api, "qa-a", "DOC-SELF-1", 2, "reviewed"))
    _refused(_sign(api, "qa-a2", "DOC-SELF-1", 2, "approved"), 403, "qa-a2")
    assert _ok(_sign(api, "qa-a", "DOC-SELF-1", 2, "approved"))["document"]["state"] == "approved"


def test_one_signer_one_meaning_one_version(api: Api) -> None:
    _ok(_create(api, "inv-a", "DOC-ONE-1"))
    _ok(_sign(api, "qa-a2", "DOC-ONE-1", 1, "verified"))
    _refused(_sign(api, "qa-a2", "DOC-ONE-1", 1, "verified"), 409, "already")
    _ok(_sign(api, "qa-a", "DOC-ONE-1", 1, "verified"))  # another signer
    _ok(_sign(api, "qa-a2", "DOC-ONE-1", 1, "reviewed"))  # another meaning
    _ok(_version(api, "inv-a", "DOC-ONE-1", CONTENT_2, "revision"))
    _ok(_sign(api, "qa-a2", "DOC-ONE-1", 2, "verified"))  # another version
    # only the latest version may be signed
    _refused(_sign(api, "qa-a", "DOC-ONE-1", 1, "reviewed"), 409, "latest")
    _refused(_sign(api, "qa-a", "DOC-ONE-1", 3, "reviewed"), 404, "version 3")
    _refused(_sign(api, "qa-a", "NO-SUCH-DOC", 1, "reviewed"), 404, "NO-SUCH-DOC")
    signatures = _ok(api.get("auditor", "/documents/DOC-ONE-1"), 200)["signatures"]
    assert len(signatures) == 4


def test_a_new_version_supersedes_earlier_signatures_which_stay_shown(api: Api) -> None:
    batch = _batch_at(api, "SITE-A")
    _ok(_create(api, "qa-a", "DOC-SUP-1", concerns=[{"target_kind": "batch", "target_id": batch}]))
    _ok(_sign(api, "qa-a", "DOC-SUP-1", 1, "reviewed"))
    _ok(_sign(api, "qa-a2", "DOC-SUP-1", 1, "approved"))
    assert _state(api, "DOC-SUP-1") == "approved"
    newer = _ok(_version(api, "qa-a", "DOC-SUP-1", CONTENT_2, "changed after approval"))
    assert newer["state"] == "draft"
    statuses = {(s["version"], s["meaning"]): s["status"] for s in newer["signatures"]}
    assert statuses == {(1, "reviewed"): "superseded", (1, "approved"): "superseded"}
    _ok(_sign(api, "qa-a2", "DOC-SUP-1", 2, "reviewed"))
    record = _ok(api.get("auditor", "/documents/DOC-SUP-1"), 200)
    assert [(s["version"], s["status"]) for s in record["signatures"]] == [
        (1, "superseded"),
        (1, "superseded"),
        (2, "valid"),
    ]
    # the custody of the batch the document concerns shows the same, nothing hidden
    answer = api.get("auditor", f"/batches/{batch}/custody").json()
    mine = [s for s in answer["signatures"] if s["document_id"] == "DOC-SUP-1"]
    assert [(s["document_version"], s["status"]) for s in mine] == [
        (1, "superseded"),
        (1, "superseded"),
        (2, "valid"),
    ]
    assert all(s["signer_id"] in ("qa-a", "qa-a2") for s in mine)


def test_the_state_machine_refuses_invalid_transitions_with_the_current_state(api: Api) -> None:
    _ok(_create(api, "qa-a", "DOC-SM-1"))
    _refused(_sign(api, "qa-a2", "DOC-SM-1", 1, "approved"), 409, "is draft", "in_review")
    _refused(_sign(api, "qa-a2", "DOC-SM-1", 1, "released"), 409, "is draft", "approved")
    assert _state(api, "DOC-SM-1") == "draft"
    _ok(_sign(api, "qa-a2", "DOC-SM-1", 1, "reviewed"))
    _refused(_sign(api, "qa-a2", "DOC-SM-1", 1, "released"), 409, "is in_review")
    _refused(_sign(api, "qa-a", "DOC-SM-1", 1, "reviewed"), 409, "is in_review")
    _ok(_sign(api, "qa-a2", "DOC-SM-1", 1, "approved"))
    assert _state(api, "DOC-SM-1") == "approved"
    _ok(_sign(api, "qa-a", "DOC-SM-1", 1, "rejected"))  # rejected from approved
    assert _state(api, "DOC-SM-1") == "rejected"
    _refused(_sign(api, "qa-b", "DOC-SM-1", 1, "approved"), 409, "is rejected", "new version")
    _refused(_sign(api, "qa-b", "DOC-SM-1", 1, "verified"), 409, "is rejected")
    # a new version starts again from draft; rejected from draft and from in_review
    _ok(_version(api, "qa-a", "DOC-SM-1", CONTENT_2, "rework"))
    assert _state(api, "DOC-SM-1") == "draft"
    _ok(_sign(api, "qa-a2", "DOC-SM-1", 2, "rejected"))
    assert _state(api, "DOC-SM-1") == "rejected"
    _ok(_version(api, "qa-a", "DOC-SM-1", CONTENT, "rework again"))
    _ok(_sign(api, "qa-a2", "DOC-SM-1", 3, "reviewed"))
    _ok(_sign(api, "qa-b", "DOC-SM-1", 3, "rejected"))
    assert _state(api, "DOC-SM-1") == "rejected"
    # released is final for this version: no rejection after release
    _ok(_version(api, "qa-a", "DOC-SM-1", CONTENT_2, "final"))
    _ok(_sign(api, "qa-a2", "DOC-SM-1", 4, "reviewed"))
    _ok(_sign(api, "qa-a2", "DOC-SM-1", 4, "approved"))
    _ok(_sign(api, "qa-b", "DOC-SM-1", 4, "released"))
    _ok(_sign(api, "qa-a2", "DOC-SM-1", 4, "verified"))  # verified changes no state
    assert _state(api, "DOC-SM-1") == "released"
    _refused(_sign(api, "qa-a2", "DOC-SM-1", 4, "rejected"), 409, "is released")
    _refused(_sign(api, "qa-b", "DOC-SM-1", 4, "approved"), 409, "is released")
    # every accepted signature is one audit entry naming the state before and after
    entries = [e for e in api.store.audit_entries() if e["action"] == "signature_added"]
    mine = [e for e in entries if e["new"]["document_id"] == "DOC-SM-1"]
    assert len(mine) == 10
    assert [(e["old"]["state"], e["new"]["state"]) for e in mine[-4:]] == [
        ("draft", "in_review"),
        ("in_review", "approved"),
        ("approved", "released"),
        ("released", "released"),
    ]


def test_only_qa_signs(api: Api) -> None:
    _ok(_create(api, "qa-a", "DOC-ROLE-1"))
    for account in ("inv-a", "inv-all", "auditor", "admin", "integrator"):
        _refused(_sign(api, account, "DOC-ROLE-1", 1, "reviewed"), 403)
    assert _ok(api.get("auditor", "/documents/DOC-ROLE-1"), 200)["signatures"] == []


def test_who_may_write_documents_and_that_an_api_key_never_signs(api: Api) -> None:
    for account in ("auditor", "admin", "integrator"):
        _refused(_create(api, account, f"DOC-W-{account}"), 403)
    _ok(_create(api, "inv-a", "DOC-W-1"))
    for account in ("auditor", "admin", "integrator"):
        _refused(_version(api, account, "DOC-W-1", CONTENT_2, "r"), 403)
    _ok(_version(api, "inv-a", "DOC-W-1", CONTENT_2, "r"))
    # a qa account that is an API key: its role would sign, but a key is not a person
    key = ApiKey.new()
    now = utc_now()
    api.store.save_account(
        Account(
            "qa-key",
            "qa",
            ["*"],
            "api_key",
            hash_secret(key.secret),
            False,
            now,
            now,
            key_id=key.key_id,
        ),
        None,
    )
    reply = api.client.post(
        "/documents/DOC-W-1/versions/2/signatures",
        json={"meaning": "reviewed", "password": key.secret},
        headers={"Authorization": f"Bearer {key.text}"},
    )
    _refused(reply, 403, "API key")
    assert _ok(api.get("auditor", "/documents/DOC-W-1"), 200)["signatures"] == []


# -- signer names, allowed meanings, the version diff (issue 14) ------------------------
def _people(api: Api) -> dict[str, dict[str, str]]:
    with open(api.meta_path("people.csv"), encoding="utf-8") as fh:
        return {row["person_id"]: row for row in csv.DictReader(fh)}


def test_each_signature_names_its_signer_and_role(api: Api) -> None:
    # signed over the API: the person the API writes for the account
    _ok(_create(api, "qa-a", "DOC-NAMES-1"))
    _ok(_sign(api, "qa-a", "DOC-NAMES-1", 1, "authored"))
    _ok(_sign(api, "qa-a2", "DOC-NAMES-1", 1, "reviewed"))
    record = _ok(api.get("auditor", "/documents/DOC-NAMES-1"), 200)
    assert [(s["signer_id"], s["signer_name"], s["signer_role"]) for s in record["signatures"]] == [
        ("qa-a", "qa-a", "qa"),
        ("qa-a2", "qa-a2", "qa"),
    ]
    # ingested: people.csv names the signer
    people = _people(api)
    with open(api.meta_path("signatures.csv"), encoding="utf-8") as fh:
        row = next(r for r in csv.DictReader(fh) if r["signer_id"] in people)
    ingested = _ok(api.get("inv-all", f"/documents/{row['document_id']}"), 200)
    named = [s for s in ingested["signatures"] if s["signer_id"] in people]
    assert named
    for s in named:
        person = people[s["signer_id"]]
        assert (s["signer_name"], s["signer_role"]) == (person["name"], person["role"])
    # a signer with no person of that id: the API account of that name, else nothing
    version = {
        "document_id": "DOC-NAMES-2",
        "version": 1,
        "kind": "sop",
        "title": "An SOP from the source",
        "content_sha256": "a" * 64,
        "created_at": "2026-01-05T08:00:00",
        "created_by": "someone",
        "status": "effective",
    }
    signature = {
        "document_id": "DOC-NAMES-2",
        "document_version": 1,
        "meaning": "reviewed",
        "signed_at": "2026-01-05T09:00:00",
        "record_sha256": "a" * 64,
    }
    events = {
        "source": "EDMS",
        "timezone": "UTC",
        "records": {
            "documents": [version],
            "signatures": [
                {**signature, "signature_id": "SIG-NAMES-1", "signer_id": "qa-b"},
                {**signature, "signature_id": "SIG-NAMES-2", "signer_id": "NOBODY-1"},
            ],
        },
    }
    report = _ok(api.post("integrator", "/ingest/events", json=events), 200)
    assert report["rejected"] == 0, report
    signers = {
        s["signer_id"]: (s["signer_name"], s["signer_role"])
        for s in _ok(api.get("auditor", "/documents/DOC-NAMES-2"), 200)["signatures"]
    }
    assert signers == {"qa-b": ("qa-b", "qa"), "NOBODY-1": (None, None)}


def test_allowed_meanings_are_those_the_state_machine_accepts(api: Api) -> None:
    """At each state of a walk through the machine, every meaning the record does not list
    is refused with 409 naming the state, and the listed one taken next is accepted."""
    _ok(_create(api, "qa-a", "DOC-ALLOWED-1"))
    walk = [
        ("qa-a", "authored"),
        ("qa-a2", "reviewed"),
        ("qa-a2", "approved"),
        ("qa-b", "verified"),
        ("qa-b", "released"),
    ]
    meanings = ("authored", "reviewed", "approved", "released", "rejected", "verified")
    for signer, meaning in [*walk, (None, None)]:
        record = _ok(api.get("inv-all", "/documents/DOC-ALLOWED-1"), 200)
        allowed = record["allowed_meanings"]
        assert set(allowed) <= set(meanings)
        for refused in sorted(set(meanings) - set(allowed)):
            # the author probes authored (only the author may), another qa the rest
            prober = "qa-a" if refused == "authored" else "qa-b"
            detail = _refused(_sign(api, prober, "DOC-ALLOWED-1", 1, refused), 409)
            assert f"is {record['state']}" in detail or "already" in detail, detail
        if meaning is None:
            break
        assert meaning in allowed, (record["state"], allowed)
        _ok(_sign(api, str(signer), "DOC-ALLOWED-1", 1, meaning))
    assert record["state"] == "released" and record["allowed_meanings"] == ["verified"]
    # a rejection ends the machine for the version until a new one
    _ok(_version(api, "qa-a", "DOC-ALLOWED-1", CONTENT_2, "rework"))
    assert _ok(api.get("inv-all", "/documents/DOC-ALLOWED-1"), 200)["allowed_meanings"] == [
        "authored",
        "reviewed",
        "rejected",
        "verified",
    ]
    _ok(_sign(api, "qa-a2", "DOC-ALLOWED-1", 2, "rejected"))
    assert _ok(api.get("inv-all", "/documents/DOC-ALLOWED-1"), 200)["allowed_meanings"] == []


def test_the_diff_of_two_versions_field_by_field(api: Api) -> None:
    first = {"title": "CoA", "results": [{"analyte": "Assay", "value": 99.5}], "lot": "S-1"}
    second = {
        "title": "CoA",
        "results": [{"analyte": "Assay", "value": 99.1}, {"analyte": "Water", "value": 0.1}],
        "remark": "retested",
    }
    _ok(_create(api, "inv-a", "DOC-DIFF-1", content=first))
    record = _ok(_version(api, "inv-a", "DOC-DIFF-1", second, "retest"))
    sha = {v["version"]: v["content_sha256"] for v in record["versions"]}
    diff = _ok(api.get("qa-b", "/documents/DOC-DIFF-1/diff", params={"from": 1, "to": 2}), 200)
    assert (diff["document"], diff["from_version"], diff["to_version"]) == ("DOC-DIFF-1", 1, 2)
    assert (diff["from_sha256"], diff["to_sha256"]) == (sha[1], sha[2])
    assert diff["changes"] == [
        {"path": "lot", "change": "removed", "old": "S-1", "new": None},
        {"path": "remark", "change": "added", "old": None, "new": "retested"},
        {"path": "results[0].value", "change": "changed", "old": 99.5, "new": 99.1},
        {
            "path": "results[1]",
            "change": "added",
            "old": None,
            "new": {"analyte": "Water", "value": 0.1},
        },
    ]
    back = _ok(api.get("auditor", "/documents/DOC-DIFF-1/diff?from=2&to=1"), 200)
    assert [(c["path"], c["change"]) for c in back["changes"]] == [
        ("lot", "added"),
        ("remark", "removed"),
        ("results[0].value", "changed"),
        ("results[1]", "removed"),
    ]
    same = _ok(api.get("auditor", "/documents/DOC-DIFF-1/diff?from=2&to=2"), 200)
    assert same["changes"] == []

    # refusals name what is wrong
    _refused(api.get("auditor", "/documents/DOC-DIFF-1/diff?from=1&to=3"), 404, "DOC-DIFF-1@3")
    _refused(api.get("auditor", "/documents/NO-SUCH-DOC/diff?from=1&to=2"), 404, "NO-SUCH-DOC")
    _refused(api.get("auditor", "/documents/DOC-DIFF-1/diff?from=1"), 422, "to")
    _refused(api.get("auditor", "/documents/DOC-DIFF-1/diff?from=0&to=1"), 422, "from")
    _refused(api.get("auditor", "/documents/DOC-DIFF-1/diff?from=x&to=1"), 422, "from")
    # an ingested version keeps only its hash: nothing to compare
    with open(api.meta_path("documents.csv"), encoding="utf-8") as fh:
        ingested = next(csv.DictReader(fh))["document_id"]
    path = f"/documents/{ingested}/diff?from=1&to=1"
    _refused(api.get("auditor", path), 409, "no stored content", ingested)
    # the diff works from the stored content: an altered one is refused, not compared
    _tamper(api.store, Label.DOCUMENT_VERSION, "DOC-DIFF-1@1", "content", "{not json")
    _refused(api.get("auditor", "/documents/DOC-DIFF-1/diff?from=1&to=2"), 409, "altered")
    assert api.get("integrator", "/documents/DOC-DIFF-1/diff?from=1&to=2").status_code == 403
