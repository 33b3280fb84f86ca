"""GET /kpis and GET /work against a direct computation from the generated plant's own files.

The generator records each batch's completion, its batch record's versions and signatures
(release times among them), the signed release overrides (bundle.json ``synthetic``) and
the deviations; the figures here are computed from those CSV rows alone, with the
definitions of docs/WORKFLOW.md, and must equal the API's, for an all-sites reader and for
one scoped to a site.
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from tests.api.conftest import Api


def _rows(api: Api, name: str) -> list[dict[str, str]]:
    with open(api.meta_path(name), encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


class _Plant:
    def __init__(self, api: Api) -> None:
        meta = json.loads(api.meta_path("bundle.json").read_text())
        self.zone = ZoneInfo(meta["timezone"])
        self.overrides = set(meta["synthetic"]["release_overrides"])
        self.batches = {r["batch_id"]: r for r in _rows(api, "batches.csv")}
        self.versions: dict[str, dict[int, dict[str, str]]] = defaultdict(dict)
        kinds: dict[str, str] = {}
        for r in _rows(api, "documents.csv"):
            self.versions[r["document_id"]][int(r["version"])] = r
            kinds[r["document_id"]] = r["kind"]
        self.record_of = {
            r["target_id"]: r["document_id"]
            for r in _rows(api, "document_links.csv")
            if r["target_kind"] == "batch" and kinds.get(r["document_id"]) == "batch_record"
        }
        self.signatures: dict[str, list[dict[str, str]]] = defaultdict(list)
        for r in _rows(api, "signatures.csv"):
            self.signatures[r["document_id"]].append(r)
        self.deviations = _rows(api, "deviations.csv")

    def time(self, text: str) -> datetime | None:
        if not text:
            return None
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        local = moment if moment.tzinfo else moment.replace(tzinfo=self.zone)
        # in UTC: two times of one ZoneInfo subtract as wall clocks, across a DST change too
        return local.astimezone(UTC)

    def release(self, batch: str) -> dict[str, str] | None:
        """The valid released signature on the current version of the batch's record, when
        the record's last state change there is that release."""
        doc = self.record_of.get(batch)
        if doc is None:
            return None
        current = max(self.versions[doc])
        sha = self.versions[doc][current]["content_sha256"]
        valid = [
            s
            for s in self.signatures[doc]
            if int(s["document_version"]) == current and s["record_sha256"] == sha
        ]
        changes = sorted(
            (s for s in valid if s["meaning"] in ("reviewed", "approved", "released", "rejected")),
            key=lambda s: (self.time(s["signed_at"]), s["signature_id"]),
        )
        if not changes or changes[-1]["meaning"] != "released":
            return None
        return changes[-1]

    def reviewed_then_changed(self, batch: str) -> bool:
        doc = self.record_of[batch]
        reviews = [
            self.time(s["signed_at"]) for s in self.signatures[doc] if s["meaning"] == "reviewed"
        ]
        if not reviews:
            return False
        first = min(r for r in reviews if r is not None)
        return any(
            (self.time(v["created_at"]) or first) > first for v in self.versions[doc].values()
        )


def _figures(values: dict[str, float]) -> dict[str, Any]:
    data = np.array(list(values.values()))
    return {
        "count": len(values),
        "median": round(float(np.percentile(data, 50)), 2) if values else None,
        "p90": round(float(np.percentile(data, 90)), 2) if values else None,
        "records": sorted(values),
    }


def _expected(plant: _Plant, sites: set[str] | None, since: datetime) -> dict[str, Any]:
    hours: dict[str, float] = {}
    right, not_right, overridden = [], [], []
    for batch_id, row in sorted(plant.batches.items()):
        if sites is not None and row["site"] not in sites:
            continue
        release = plant.release(batch_id)
        if release is None:
            continue
        at = plant.time(release["signed_at"])
        assert at is not None
        if at < since:
            continue
        completed = plant.time(row["completed_at"])
        if completed is not None:
            hours[batch_id] = (at - completed).total_seconds() / 3600
        override = release["signature_id"] in plant.overrides
        assert override == bool(release["override_reason"]), release
        if override:
            overridden.append(batch_id)
        if not override and not plant.reviewed_then_changed(batch_id):
            right.append(batch_id)
        else:
            not_right.append(batch_id)
    closure = {}
    if sites is None:  # deviations' sites come from what they affect: checked unscoped
        for d in plant.deviations:
            closed, opened = plant.time(d["closed_at"]), plant.time(d["opened_at"])
            if closed is not None and opened is not None and closed >= since:
                closure[d["deviation_id"]] = (closed - opened).total_seconds() / 86400
    released = len(right) + len(not_right)
    return {
        "release_hours": _figures(hours),
        "right_first_time": {
            "released": released,
            "right_first_time": len(right),
            "percent": round(100 * len(right) / released, 2) if released else None,
            "records": right,
            "not_right_first_time": not_right,
        },
        "overrides": {"count": len(overridden), "records": overridden},
        "deviation_closure_days": _figures(closure),
    }


def test_kpis_equal_a_direct_computation_from_the_plants_files(api: Api) -> None:
    plant = _Plant(api)
    since = datetime(2025, 3, 1, tzinfo=UTC)
    for account, sites in (("inv-all", None), ("inv-a", {"SITE-A"})):
        reply = api.get(account, "/kpis", params={"since": "2025-03-01"})
        assert reply.status_code == 200, reply.text
        got = reply.json()
        want = _expected(plant, sites, since)
        for key, figure in want.items():
            if key == "deviation_closure_days" and sites is not None:
                continue
            assert got[key] == figure, (api.meta["seed"], account, key)
    unscoped = api.get("inv-all", "/kpis").json()
    assert unscoped["overrides"]["count"] == len(
        {
            b
            for b in plant.batches
            if (r := plant.release(b)) and r["signature_id"] in plant.overrides
        }
    )
    assert unscoped["overrides"]["count"] > 0, f"seed {api.meta['seed']}: no override to count"


def test_kpis_period_bounds_and_bad_input(api: Api) -> None:
    whole = api.get("inv-all", "/kpis").json()
    first = api.get("inv-all", "/kpis", params={"until": "2026-01-01"}).json()
    second = api.get("inv-all", "/kpis", params={"since": "2026-01-01"}).json()
    # [since, until) halves partition the releases
    assert (
        sorted(first["release_hours"]["records"] + second["release_hours"]["records"])
        == (whole["release_hours"]["records"])
    )
    reply = api.get("inv-all", "/kpis", params={"since": "2026-02-01", "until": "2026-01-01"})
    assert reply.status_code == 400 and "until" in reply.json()["detail"]
    assert api.get("inv-all", "/kpis", params={"since": "yesterday"}).status_code == 422


def test_evidence_exports_are_counted_from_the_access_audit(api: Api) -> None:
    lot = _rows(api, "lots.csv")[0]["lot_id"]
    before = api.get("inv-all", "/kpis").json()["evidence_exports"]
    for _ in range(2):
        assert api.get("inv-all", f"/lots/{lot}/evidence").status_code == 200
    after = api.get("inv-all", "/kpis").json()["evidence_exports"]
    assert after["count"] == before["count"] + 2
    assert after["records"].count(lot) == before["records"].count(lot) + 2


def test_the_work_queue_shows_what_waits_within_the_callers_sites(api: Api) -> None:
    plant = _Plant(api)
    everything = api.get("inv-all", "/work").json()
    scoped = api.get("inv-a", "/work").json()
    awaiting = {c["batch"] for c in everything["batches_awaiting_release"]}
    want = {
        b
        for b, r in plant.batches.items()
        if r["status"] in ("executed", "in_review") and plant.release(b) is None
    }
    assert awaiting == want, api.meta["seed"]
    assert {c["batch"] for c in scoped["batches_awaiting_release"]} == {
        b for b in want if plant.batches[b]["site"] == "SITE-A"
    }
    assert everything["awaiting_signature"] == [] and scoped["awaiting_signature"] == []
    mismatched = {m["signature_id"] for m in everything["hash_mismatches"]}
    tampered = set(
        json.loads(api.meta_path("bundle.json").read_text())["synthetic"]["tampered_signatures"]
    )
    assert tampered <= mismatched
    open_devs = {d["deviation_id"] for d in everything["open_deviations"]}
    assert open_devs == {
        d["deviation_id"] for d in plant.deviations if d["status"] in ("open", "investigating")
    }
    qa = api.get("qa-a", "/work").json()
    for item in qa["awaiting_signature"]:
        record = api.get("qa-a", f"/documents/{item['document_id']}").json()
        assert record["state"] == item["state"]
        current = next(v for v in record["versions"] if v["version"] == record["current_version"])
        assert current["created_by"] != "qa-a" or item["meaning"] == "reviewed"
