"""The auditor's trail: filters applied by the store, pages through them, the CSV export,
the chain's verification over HTTP, and what the access records say; on both stores."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from api.audit import service
from graph.model import Label
from queries.trace import Direction, trace
from tests.api.conftest import PASSWORD, Api
from tests.test_audit_chain import Tamper

# The classes as docs/API.md defines them, written out here rather than taken from the code
READS = {"read"}
SIGN_INS = {"sign_in", "sign_in_refused", "sign_in_failed", "account_locked"}
CSV_COLUMNS = [
    "seq",
    "at",
    "actor",
    "action",
    "class",
    "entity",
    "key",
    "old",
    "new",
    "reason",
    "source",
    "prev_hash",
    "hash",
]


def _class(action: str) -> str:
    return "read" if action in READS else "sign_in" if action in SIGN_INS else "write"


def _walk(api: Api, params: dict[str, Any], limit: int = 1000) -> list[dict[str, Any]]:
    """Every entry the filters select, page after page through the cursor."""
    entries: list[dict[str, Any]] = []
    cursor: str | None = str(params.pop("cursor", 0))
    while cursor is not None:
        reply = api.get("auditor", "/audit", params={**params, "limit": limit, "cursor": cursor})
        assert reply.status_code == 200, reply.text
        page = reply.json()
        assert len(page["entries"]) <= limit
        assert page["next_cursor"] is None or len(page["entries"]) == limit
        entries += page["entries"]
        cursor = page["next_cursor"]
    return entries


def _site_a_lots(api: Api) -> list[str]:
    with open(api.meta_path("lots.csv"), encoding="utf-8") as fh:
        ids = [row["lot_id"] for row in csv.DictReader(fh)]
    found = api.store.fetch_nodes(Label.LOT, ids)
    return [i for i in ids if found[i].props.get("site") == "SITE-A"]


def _sign_in(api: Api, name: str, password: str | None) -> int:
    form = {"username": name} | ({} if password is None else {"password": password})
    return int(api.client.post("/auth/token", data=form).status_code)


def _activity(api: Api) -> dict[str, str]:
    """Reads, a write, sign-ins and refusals by several accounts; the ids they name."""
    lot = api.meta["synthetic"]["planted"]["lot"]
    batch = trace(api.store, lot, Direction.FORWARD).batches[0]
    held = _site_a_lots(api)[0]
    assert api.get("inv-all", f"/lots/{lot}").status_code == 200
    assert api.get("inv-all", f"/batches/{batch}/custody").status_code == 200
    assert api.post("inv-all", "/investigations/recall", json={"lot_ids": [lot]}).status_code == 200
    hold = {"reason": "audit browser test", "password": PASSWORD}
    assert api.post("qa-a", f"/lots/{held}/holds", json=hold).status_code == 201
    assert api.get("qa-a", f"/lots/{held}/holds").status_code == 200
    assert _sign_in(api, "qa-b", PASSWORD) == 200
    assert _sign_in(api, "qa-b", "not the password") == 401
    assert _sign_in(api, "qa-b", None) == 422
    assert api.get("integrator", f"/lots/{lot}").status_code == 403
    assert api.get(None, "/lots/L-NOPE").status_code == 401
    return {"lot": lot, "batch": batch, "held": held}


def test_access_entries_name_the_entity_and_classify_the_request(api: Api) -> None:
    start = _walk(api, {})[-1]["seq"]
    ids = _activity(api)
    lot, batch, held = ids["lot"], ids["batch"], ids["held"]
    entries = [e for e in _walk(api, {"cursor": start}) if e["seq"] > start]
    access = [
        (e["actor"], e["action"], e["class"], e["entity"], e["key"], e["new"]["status"])
        for e in entries
        if e["reason"] == "access" and e["actor"] != "auditor"  # the test's own reads
    ]
    assert access[:10] == [
        ("inv-all", "read", "read", "Lot", lot, 200),
        ("inv-all", "read", "read", "Batch", batch, 200),
        ("inv-all", "read", "read", "Lot", lot, 200),  # a recall is a question: a read
        ("qa-a", "write", "write", "Lot", held, 201),
        ("qa-a", "read", "read", "Lot", held, 200),
        ("qa-b", "sign_in", "sign_in", "Account", "qa-b", 200),
        ("qa-b", "sign_in_refused", "sign_in", "Account", "qa-b", 401),
        ("anonymous", "sign_in_refused", "sign_in", "Account", "", 422),
        ("integrator", "read", "read", "Lot", lot, 403),
        ("anonymous", "read", "read", "Lot", "L-NOPE", 401),
    ], access
    custody = next(e for e in entries if e["entity"] == "Batch")
    assert custody["new"]["path"] == f"/batches/{batch}/custody"
    assert custody["new"]["route"] == "/batches/{batch_id}/custody"
    # no access record names a route template in place of an entity
    assert not any("{" in e["entity"] or "{" in e["key"] for e in entries), entries
    written = [(e["action"], e["class"], e["key"]) for e in entries if e["reason"] != "access"]
    assert ("hold_placed", "write", held) in written
    assert ("sign_in_failed", "sign_in", "qa-b") in written


def test_each_filter_and_their_combination_page_through_what_the_store_selects(
    api: Api,
) -> None:
    ids = _activity(api)
    trail = _walk(api, {})
    last = trail[-1]["seq"]  # later entries are this test's own reads of the trail
    assert [e["seq"] for e in trail] == list(range(1, last + 1))
    middle, later = trail[len(trail) // 3], trail[2 * len(trail) // 3]
    today = datetime.now(UTC).date()

    def expected(keep: Any) -> list[int]:
        return [e["seq"] for e in trail if keep(e)]

    def listed(e: dict[str, Any], key: str) -> bool:
        return e["key"] == key or key in e["key"].split(",")

    cases: list[tuple[dict[str, Any], list[int]]] = [
        ({"actor": "qa-a"}, expected(lambda e: e["actor"] == "qa-a")),
        ({"actor": "nobody"}, []),
        ({"entity_id": ids["lot"]}, expected(lambda e: listed(e, ids["lot"]))),
        ({"entity_id": ids["batch"]}, expected(lambda e: listed(e, ids["batch"]))),
        ({"kind": "hold_placed"}, expected(lambda e: e["action"] == "hold_placed")),
        ({"kind": "ingest_chunk"}, expected(lambda e: e["action"] == "ingest_chunk")),
        *[
            ({"class": c}, expected(lambda e, c=c: _class(e["action"]) == c))
            for c in ("read", "write", "sign_in")
        ],
        ({"since": middle["at"]}, expected(lambda e: e["at"] >= middle["at"])),
        ({"until": later["at"]}, expected(lambda e: e["at"] < later["at"])),
        (
            {"since": middle["at"], "until": later["at"]},
            expected(lambda e: middle["at"] <= e["at"] < later["at"]),
        ),
        # a date covers its whole day, from and to
        ({"since": today.isoformat(), "until": today.isoformat()}, expected(lambda e: True)),
        ({"until": (today - timedelta(days=1)).isoformat()}, []),
        (
            {"actor": "inv-all", "class": "read", "entity_id": ids["lot"]},
            expected(
                lambda e: (
                    e["actor"] == "inv-all"
                    and _class(e["action"]) == "read"
                    and listed(e, ids["lot"])
                )
            ),
        ),
        (
            {"actor": "qa-a", "kind": "write", "entity_id": ids["held"], "since": middle["at"]},
            expected(
                lambda e: (
                    e["actor"] == "qa-a"
                    and e["action"] == "write"
                    and listed(e, ids["held"])
                    and e["at"] >= middle["at"]
                )
            ),
        ),
        ({"class": "sign_in", "actor": "qa-b"}, expected(lambda e: e["actor"] == "qa-b")),
    ]
    for params, seqs in cases:
        if params.get("actor") != "nobody" and params.get("until") != str(today - timedelta(1)):
            assert seqs, (params, api.meta["seed"])  # each filter is tried on something real
        for limit in (3, 1000):  # small pages: the cursor carries the filters' place
            found = [e["seq"] for e in _walk(api, dict(params), limit) if e["seq"] <= last]
            assert found == seqs, (params, limit, api.meta["seed"])
    assert {e["class"] for e in trail} == {"read", "write", "sign_in"}


def test_bad_filters_name_the_field(api: Api) -> None:
    cases = [
        ({"since": "soon"}, 400, "bad_request", "since"),
        ({"until": "2026-13-01"}, 400, "bad_request", "until"),
        ({"since": "2026-03-02", "until": "2026-03-01"}, 400, "bad_request", "until"),
        ({"class": "delete"}, 422, "invalid_request", "class"),
        ({"actor": "x" * 201}, 422, "invalid_request", "actor"),
    ]
    for params, status, code, field in cases:
        for path in ("/audit", "/audit.csv"):
            reply = api.get("auditor", path, params=params)
            assert reply.status_code == status, (path, params, reply.text)
            body = reply.json()
            assert body["error"] == code and field in body["detail"], body


def _csv_entries(text: str) -> list[dict[str, Any]]:
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == CSV_COLUMNS
    entries = []
    for row in rows[1:]:
        entry: dict[str, Any] = dict(zip(CSV_COLUMNS, row, strict=True))
        entry["seq"] = int(entry["seq"])
        for name in ("old", "new"):
            entry[name] = json.loads(entry[name]) if entry[name] else None
        entries.append(entry)
    return entries


def test_the_csv_export_is_every_page_of_the_same_filtered_entries(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    _activity(api)
    monkeypatch.setattr(service, "CSV_PAGE", 4)  # the export reads the store 4 entries a time
    for params in ({"actor": "qa-a"}, {"class": "sign_in"}, {"kind": "ingest_chunk"}):
        pages = _walk(api, dict(params), limit=2)
        reply = api.get("auditor", "/audit.csv", params=params)
        assert reply.status_code == 200 and reply.headers["content-type"].startswith("text/csv")
        assert "audit.csv" in reply.headers["content-disposition"]
        assert _csv_entries(reply.text) == pages, params
    # the whole trail: the CSV read after the pages has them all, then the reads between
    pages = _walk(api, {}, limit=500)
    whole = _csv_entries(api.get("auditor", "/audit.csv").text)
    assert whole[: len(pages)] == pages and len(pages) > 4 * 5  # many pages of the export
    assert all(e["actor"] == "auditor" for e in whole[len(pages) :])


def test_verify_reports_an_intact_chain_then_the_entry_tampered_with(api: Api) -> None:
    _activity(api)
    reply = api.get("auditor", "/audit/verify")
    assert reply.status_code == 200
    report = reply.json()
    assert report["ok"] is True and report["chain_ok"] is True, report
    assert report["first_bad"] is None and report["reason"] is None
    assert report["head"]["seq"] == report["entries"] > 10
    assert report["coverage"]["uncovered"] == 0 and report["coverage"]["nodes"] > 0
    victim = _walk(api, {"kind": "hold_placed"})[0]["seq"]
    Tamper(api.store).set(victim, reason="nothing to see")
    report = api.get("auditor", "/audit/verify").json()
    assert report["ok"] is False and report["chain_ok"] is False, report
    assert report["first_bad"] == victim and "altered" in report["reason"], report
    # the tampered entry reads as it is now: the auditor sees what the verifier flagged
    assert _walk(api, {"kind": "hold_placed"})[0]["reason"] == "nothing to see"
