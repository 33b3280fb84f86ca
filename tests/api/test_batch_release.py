"""Batch release by exception over the API, on both stores: the checklist, a release refused
while a finding is open and allowed once it closes, a signed override, the findings no
override lifts, roles and sites, and one release per Idempotency-Key."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

from graph.model import Label, RelType
from ingest.loader import ingest_bundle
from queries.document_record import document_record
from tests.api.conftest import PASSWORD, Api
from tests.bundles import write_ready_batch

_made = itertools.count(1)


def ready_batch(
    api: Api,
    folder: Path,
    site: str = "SITE-A",
    meanings: tuple[str, ...] = ("authored", "reviewed", "approved"),
    with_record: bool = True,
) -> dict[str, Any]:
    """A batch in review whose batch record was authored, reviewed and approved by people
    of its source, with one intermediate input lot and nothing else open: ingested into the
    generated plant, so its checklist is empty. Its checklist."""
    n = next(_made)
    b = f"B-READY-{n}"
    path = write_ready_batch(folder / f"ready-{n}", b, site, meanings, with_record)
    result = ingest_bundle(api.store, path, actor="test")
    assert result.rejections == [], result.rejections
    checklist: dict[str, Any] = api.get("inv-all", f"/batches/{b}/release").json()
    if with_record and meanings[-1] == "approved":
        assert checklist["can_release"] is True, checklist
    return checklist


def _inputs(api: Api, batch: str) -> list[str]:
    return [lot for lot, _, _ in api.store.linked(Label.BATCH, [batch], RelType.CONSUMED_IN, False)]


def _release(api: Api, account: str, batch: str, **body: Any) -> Any:
    headers = {"Idempotency-Key": body.pop("key")} if "key" in body else {}
    return api.post(
        account,
        f"/batches/{batch}/release",
        json={"password": PASSWORD, **body},
        headers=headers,
    )


def _signatures(api: Api, document: str) -> list[Any]:
    return document_record(api.store, document).signatures


def _refused(reply: Any, status: int, *words: str) -> None:
    assert reply.status_code == status, reply.text
    body = reply.json()
    assert set(body) == {"error", "detail"}, body
    for word in words:
        assert word in body["detail"], body["detail"]


def test_a_release_is_the_batch_records_released_signature_once(api: Api, tmp_path: Path) -> None:
    checklist = ready_batch(api, tmp_path)
    batch, record = checklist["batch"], checklist["batch_record"]
    assert checklist["release_state"] == "awaiting_release" and checklist["findings"] == []
    assert record["state"] == "approved"
    before = len(_signatures(api, record["id"]))

    reply = _release(api, "qa-a", batch, reason="batch record reviewed", key="release-1")
    assert reply.status_code == 201, reply.text
    released = reply.json()
    assert released["release_state"] == "released"
    release = released["release"]
    assert release["signer_id"] == "qa-a" and release["override"] is False
    assert release["document_id"] == record["id"]
    assert release["version"] == record["current_version"]
    signatures = _signatures(api, record["id"])
    assert len(signatures) == before + 1
    signed = next(s for s in signatures if s.signature_id == release["signature_id"])
    assert signed.meaning == "released" and signed.status == "valid"
    assert signed.record_sha256 == record["content_sha256"]
    audit = api.store.audit_for_keys([release["signature_id"]])
    assert [e["action"] for e in audit] == ["signature_added"]
    assert audit[0]["reason"] == "batch record reviewed"

    again = _release(api, "qa-a", batch, reason="batch record reviewed", key="release-1")
    assert again.status_code == 201 and again.json() == released  # the first answer
    _refused(_release(api, "qa-a", batch), 409, batch, "released")
    assert len(_signatures(api, record["id"])) == before + 1


def test_an_open_finding_refuses_the_release_until_it_closes(api: Api, tmp_path: Path) -> None:
    checklist = ready_batch(api, tmp_path)
    batch, record = checklist["batch"], checklist["batch_record"]
    lot = _inputs(api, batch)[0]
    held = api.post("qa-a", f"/lots/{lot}/holds", json={"reason": "OOS", "password": PASSWORD})
    assert held.status_code == 201, held.text

    now = api.get("inv-all", f"/batches/{batch}/release").json()
    assert [(f["kind"], f["id"], f["overridable"]) for f in now["findings"]] == [
        ("lot_on_hold", lot, True)
    ]
    assert now["can_release"] is False and now["can_override"] is True
    before = len(_signatures(api, record["id"]))
    _refused(_release(api, "qa-a", batch), 409, "lot_on_hold", lot)
    _refused(_release(api, "qa-a", batch, override=True), 422, "reason")
    assert len(_signatures(api, record["id"])) == before  # a refusal writes nothing

    lifted = api.post(
        "qa-a", f"/lots/{lot}/holds/release", json={"reason": "retest ok", "password": PASSWORD}
    )
    assert lifted.status_code == 200, lifted.text
    reply = _release(api, "qa-a", batch)
    assert reply.status_code == 201, reply.text
    assert reply.json()["release"]["override"] is False


def test_an_override_is_a_signed_release_over_the_findings_it_names(
    api: Api, tmp_path: Path
) -> None:
    checklist = ready_batch(api, tmp_path)
    batch = checklist["batch"]
    lot = _inputs(api, batch)[0]
    held = api.post("qa-a", f"/lots/{lot}/holds", json={"reason": "check", "password": PASSWORD})
    assert held.status_code == 201, held.text

    reply = _release(api, "qa-a", batch, override=True, reason="risk assessed: no impact")
    assert reply.status_code == 201, reply.text
    release = reply.json()["release"]
    assert release["override"] is True
    assert release["override_reason"] == "risk assessed: no impact"
    assert release["overridden_findings"] == [f"lot_on_hold {lot}"]
    (entry,) = api.store.audit_for_keys([release["signature_id"]])
    assert entry["new"]["override_reason"] == "risk assessed: no impact"
    assert "override" in entry["reason"]
    kpis = api.get("inv-all", "/kpis").json()
    assert batch in kpis["overrides"]["records"]
    assert batch not in kpis["right_first_time"]["records"]


def test_no_override_releases_a_batch_record_that_is_not_approved(api: Api, tmp_path: Path) -> None:
    reviewed = ready_batch(api, tmp_path, meanings=("authored", "reviewed"))
    missing = ready_batch(api, tmp_path, with_record=False)
    for checklist, kind in (
        (reviewed, "batch_record_not_approved"),
        (missing, "batch_record_missing"),
    ):
        assert [f["kind"] for f in checklist["findings"]] == [kind], checklist
        assert checklist["can_release"] is False and checklist["can_override"] is False
        _refused(_release(api, "qa-a", checklist["batch"]), 409, kind)
        _refused(
            _release(api, "qa-a", checklist["batch"], override=True, reason="urgent"),
            409,
            "not even by override",
            kind,
        )


def test_only_qa_at_the_batchs_site_releases_with_its_own_password(
    api: Api, tmp_path: Path
) -> None:
    ready = ready_batch(api, tmp_path)["batch"]
    _refused(_release(api, "inv-all", ready), 403, "release")
    _refused(_release(api, "auditor", ready), 403, "release")
    _refused(_release(api, "qa-b", ready), 403, "SITE-A")
    reply = api.post("qa-a", f"/batches/{ready}/release", json={"password": "not the password"})
    assert reply.status_code == 401, reply.text
    _refused(_release(api, "qa-a", "B-NOT-THERE"), 404, "B-NOT-THERE")
    assert api.get("inv-all", f"/batches/{ready}/release").json()["release_state"] == (
        "awaiting_release"
    )
    unknown = api.post("qa-a", f"/batches/{ready}/release", json={"password": PASSWORD, "x": 1})
    assert unknown.status_code == 422
