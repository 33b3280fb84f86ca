"""Signers by name and role in the custody answer, on both stores: as the plant's
people.csv names them, and by id only for a signer at a site the caller may not see."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from ingest.loader import ingest_bundle
from tests.api.conftest import Api
from tests.bundles import write_bundle


def _rows(api: Api, name: str) -> list[dict[str, str]]:
    with open(api.meta_path(name), encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _custody(api: Api, account: str, batch: str) -> dict[str, Any]:
    reply = api.get(account, f"/batches/{batch}/custody")
    assert reply.status_code == 200, reply.text
    answer: dict[str, Any] = reply.json()
    return answer


def test_custody_names_signers_and_hides_those_outside_the_callers_sites(api: Api) -> None:
    people = {p["person_id"]: p for p in _rows(api, "people.csv")}
    batches = [b["batch_id"] for b in _rows(api, "batches.csv") if b["site"] == "SITE-A"]
    named = hidden = 0
    for batch in batches[:40]:
        everything = _custody(api, "auditor", batch)
        scoped = _custody(api, "inv-a", batch)
        for full, seen in zip(everything["signatures"], scoped["signatures"], strict=True):
            assert full["signature_id"] == seen["signature_id"]
            person = people.get(full["signer_id"])
            if person is None:  # a signer whose row has not arrived: its id only
                assert full["signer_name"] is None and full["signer_role"] is None
                continue
            assert (full["signer_name"], full["signer_role"]) == (person["name"], person["role"])
            named += 1
            if person["site"] == "SITE-A":
                assert (seen["signer_name"], seen["signer_role"]) == (
                    person["name"],
                    person["role"],
                )
            else:
                hidden += 1
                assert seen["signer_name"] is None and seen["signer_role"] is None, seen
                assert seen["signer_id"] == full["signer_id"]
    assert named, f"seed {api.meta['seed']}: no signature on the first SITE-A batches"
    print(f"signers named: {named}, hidden from inv-a: {hidden}")


def test_a_signer_who_moved_to_another_site_is_named_by_id_only(api: Api, tmp_path: Path) -> None:
    people = {p["person_id"]: p for p in _rows(api, "people.csv")}
    batches = [b["batch_id"] for b in _rows(api, "batches.csv") if b["site"] == "SITE-A"]
    batch, signer = next(
        (batch, s["signer_id"])
        for batch in batches
        for s in _custody(api, "auditor", batch)["signatures"]
        if s["signer_id"] in people and people[s["signer_id"]]["site"] == "SITE-A"
    )
    moved = {**people[signer], "site": "SITE-B"}  # people.csv again, the signer elsewhere
    report = ingest_bundle(
        api.store, write_bundle(tmp_path / "moved", {"people.csv": [moved]}), actor="test"
    )
    assert report.total("rejected") == 0
    scoped = _custody(api, "inv-a", batch)["signatures"]
    full = _custody(api, "auditor", batch)["signatures"]
    theirs = [s for s in scoped if s["signer_id"] == signer]
    assert theirs and all(s["signer_name"] is None and s["signer_role"] is None for s in theirs)
    assert {(s["signer_name"], s["signer_role"]) for s in full if s["signer_id"] == signer} == {
        (moved["name"], moved["role"])
    }
    # ... and the answer's text holds the name nowhere (unless a visible namesake signed)
    if moved["name"] not in {s["signer_name"] for s in scoped}:
        assert moved["name"] not in api.get("inv-a", f"/batches/{batch}/custody").text
