"""Ingest over HTTP: bundles, idempotent event records, limits and the dead letter."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from api.deps import get_settings
from tests.api.conftest import Api, settings
from tests.bundles import (
    MATERIALS,
    add_column,
    append_text,
    copy_bundle,
    lot,
    rename_suppliers,
    write_bundle,
    zip_bomb,
    zip_bundle,
)

ZIP = {"Content-Type": "application/zip"}


@contextmanager
def _settings(api: Api, **overrides: Any) -> Iterator[None]:
    """The app's settings changed for the requests made inside."""
    app = api.client.app
    app.dependency_overrides[get_settings] = lambda: settings(**overrides)  # type: ignore[attr-defined]
    try:
        yield
    finally:
        app.dependency_overrides.clear()  # type: ignore[attr-defined]


def _ingests(api: Api) -> int:
    return sum(1 for e in api.store.audit_entries() if e["action"] == "ingest")


def test_a_bundle_zip_is_ingested_with_the_clis_accounting(api: Api, tmp_path: Path) -> None:
    folder = write_bundle(
        tmp_path / "upload",
        {
            "materials.csv": MATERIALS,
            "lots.csv": [lot("UP-1"), lot("UP-2", quantity="-5"), lot("UP-3", status="shiny")],
        },
    )
    data = zip_bundle(folder, tmp_path / "upload.zip").read_bytes()
    headers = {**api.headers("integrator"), **ZIP}
    first = api.client.post("/ingest/bundles", content=data, headers=headers)
    assert first.status_code == 200, first.text
    report = first.json()
    assert report["rows_read"] == len(MATERIALS) + 3
    assert report["rows_read"] == report["accepted"] + report["unchanged"] + report["rejected"]
    assert sorted((r["file"], r["row"], r["column"]) for r in report["rejections"]) == [
        ("lots.csv", 3, "quantity"),
        ("lots.csv", 4, "status"),
    ]
    assert report["bundle"] == "upload.zip"
    assert api.get("auditor", "/lots/UP-1").status_code == 200
    assert api.get("auditor", "/lots/UP-2").status_code == 404
    again = api.client.post("/ingest/bundles", content=data, headers=headers).json()
    assert again["accepted"] == 0 and again["unchanged"] == report["accepted"]
    # the dead letter, a page at a time, for integrators and auditors
    pages: list[dict[str, Any]] = []
    cursor = None
    while True:
        params = {"limit": 1, **({"cursor": cursor} if cursor else {})}
        page = api.get("auditor", "/ingest/rejections", params=params).json()
        pages += page["rejections"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    mine = [r for r in pages if r["ingest_id"] in (report["ingest_id"], again["ingest_id"])]
    assert [(r["ingest_id"], r["row"]) for r in mine] == [
        (report["ingest_id"], 3),
        (report["ingest_id"], 4),
        (again["ingest_id"], 3),
        (again["ingest_id"], 4),
    ] or [(r["ingest_id"], r["row"]) for r in mine] == sorted(
        (r["ingest_id"], r["row"]) for r in mine
    )
    assert len(mine) == 4
    assert api.get("integrator", "/ingest/rejections").status_code == 200
    assert api.get("inv-all", "/ingest/rejections").status_code == 403


def test_bundle_uploads_are_refused_whole_when_oversized_or_not_a_zip(
    api: Api, tmp_path: Path
) -> None:
    headers = {**api.headers("integrator"), **ZIP}
    before = _ingests(api)
    with _settings(api, max_bundle_mb=1):
        big = api.client.post("/ingest/bundles", content=b"\0" * (1024 * 1024 + 1), headers=headers)
    assert big.status_code == 413 and big.json()["error"] == "payload_too_large"
    not_zip = api.client.post("/ingest/bundles", content=b"lot_id\nX\n", headers=headers)
    assert not_zip.status_code == 400 and not_zip.json()["detail"].startswith("bundle:")
    wrong_type = api.client.post(
        "/ingest/bundles",
        content=b"x",
        headers={**api.headers("integrator"), "Content-Type": "text/csv"},
    )
    assert wrong_type.status_code == 415
    assert _ingests(api) == before
    for reader in ("inv-all", "auditor", "admin"):
        refused = api.client.post(
            "/ingest/bundles", content=b"x", headers={**api.headers(reader), **ZIP}
        )
        assert refused.status_code == 403, reader


def _events(*lots: dict[str, Any]) -> dict[str, Any]:
    return {
        "source": "ERP-TEST",
        "timezone": "UTC",
        "records": {"materials": MATERIALS, "lots": list(lots)},
    }


def test_events_are_ingested_once_per_idempotency_key(api: Api) -> None:
    body = _events(lot("EV-1"), lot("EV-2", quantity="lots"))
    key = {"Idempotency-Key": "etl-run-42"}
    first = api.post(
        "integrator", "/ingest/events", json=body, headers={**api.headers("integrator"), **key}
    )
    assert first.status_code == 200, first.text
    report = first.json()
    assert report["bundle"] == "events:ERP-TEST"
    assert [(r["file"], r["row"], r["column"]) for r in report["rejections"]] == [
        ("lots", 2, "quantity")
    ]
    ingests = _ingests(api)
    replay = api.client.post(
        "/ingest/events", json=body, headers={**api.headers("integrator"), **key}
    )
    assert replay.status_code == 200 and replay.json() == report  # the first answer, again
    assert _ingests(api) == ingests  # and nothing ingested twice
    other = _events(lot("EV-3"))
    clash = api.client.post(
        "/ingest/events", json=other, headers={**api.headers("integrator"), **key}
    )
    assert clash.status_code == 409 and clash.json()["error"] == "conflict"
    assert api.get("auditor", "/lots/EV-3").status_code == 404
    # without a key every request is carried out: the second finds everything unchanged
    plain = api.client.post("/ingest/events", json=body, headers=api.headers("integrator")).json()
    assert plain["ingest_id"] != report["ingest_id"] and plain["unchanged"] == report["accepted"]


def test_event_payloads_are_checked_whole(api: Api) -> None:
    headers = api.headers("integrator")
    unknown = api.client.post(
        "/ingest/events", json={"source": "X", "records": {"widgets": [{"a": 1}]}}, headers=headers
    )
    assert unknown.status_code == 422 and "widgets" in unknown.text
    nested = api.client.post(
        "/ingest/events",
        json={"source": "X", "records": {"lots": [{"lot_id": {"a": 1}}]}},
        headers=headers,
    )
    assert nested.status_code == 422 and nested.json()["error"] == "invalid_request"
    with _settings(api, max_event_rows=2):
        many = api.client.post("/ingest/events", json=_events(lot("EV-9")), headers=headers)
    assert many.status_code == 413 and "records" in many.json()["detail"]
    assert api.get("auditor", "/lots/EV-9").status_code == 404


def test_a_bundle_refused_for_structure_is_400_listing_every_problem_and_writes_nothing(
    api: Api, tmp_path: Path
) -> None:
    folder = copy_bundle(api.plant, tmp_path / "spoiled")
    rename_suppliers(folder)  # rows an ingest would write first, if it wrote anything
    add_column(folder / "lots.csv", "site", "SITE-B")
    quote_line = append_text(folder / "lots.csv", 'L-NEVER,"unterminated')
    data = zip_bundle(folder, tmp_path / "spoiled.zip").read_bytes()
    before = (api.store.content_sha256(), _ingests(api))
    answer = api.client.post(
        "/ingest/bundles", content=data, headers={**api.headers("integrator"), **ZIP}
    )
    assert answer.status_code == 400, answer.text
    body = answer.json()
    assert body["error"] == "bad_request" and body["detail"].startswith("bundle: refused")
    problems = {(p["file"], p["line"]) for p in body["problems"]}
    assert problems == {("lots.csv", 1), ("lots.csv", quote_line)}, body
    for problem in body["problems"]:
        assert problem["reason"] in body["detail"]
    assert (api.store.content_sha256(), _ingests(api)) == before


def test_a_zip_bomb_is_413_naming_the_limit_within_a_second(api: Api, tmp_path: Path) -> None:
    headers = {**api.headers("integrator"), **ZIP}
    before = (api.store.content_sha256(), _ingests(api))
    bomb = zip_bomb(tmp_path / "bomb.zip", rows=500_000).read_bytes()
    # the API key's slow hash is checked once and then cached: not part of the refusal
    assert api.get("integrator", "/ingest/rejections", params={"limit": 1}).status_code == 200
    started = time.perf_counter()
    answer = api.client.post("/ingest/bundles", content=bomb, headers=headers)
    assert time.perf_counter() - started < 1.0
    assert answer.status_code == 413, answer.text
    body = answer.json()
    assert body["error"] == "payload_too_large"
    assert "LOTGRAPH_MAX_COMPRESSION_RATIO" in body["detail"]
    assert [p["file"] for p in body["problems"]] == ["lots.csv"]
    # the row limit, counted while the plant is read
    plant = zip_bundle(api.plant, tmp_path / "plant.zip").read_bytes()
    with _settings(api, max_bundle_rows=100):
        rows = api.client.post("/ingest/bundles", content=plant, headers=headers)
    assert rows.status_code == 413 and "LOTGRAPH_MAX_BUNDLE_ROWS" in rows.json()["detail"]
    assert (api.store.content_sha256(), _ingests(api)) == before
