"""The audit trail page in a real browser (Debian's Chromium, Playwright), as an auditor:
filter through the form, download the CSV, and check both against the API's own answers
for the same filters, on each store (the harness is tests/dashboard/browser.py)."""

from __future__ import annotations

import contextlib
import csv
import io
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from tests.dashboard.browser import ON_BOTH_STORES, WAIT_MS, Board
from tests.dashboard.conftest import ServedPlant

with contextlib.suppress(ImportError):  # the browser_present fixture skips or fails
    from playwright.sync_api import expect

pytestmark = [pytest.mark.timeout(900), pytest.mark.usefixtures("browser_present"), ON_BOTH_STORES]

AUDITOR = "auditor"


def _api(plant: ServedPlant, path: str, params: dict[str, Any]) -> httpx.Response:
    headers = {"Authorization": f"Bearer {plant.token(AUDITOR)}"}
    reply = httpx.get(f"{plant.api_url}{path}", headers=headers, params=params, timeout=60)
    reply.raise_for_status()
    return reply


def _every_entry(plant: ServedPlant, filters: dict[str, str]) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    cursor = None
    while True:
        params = {**filters, "limit": 2, **({"cursor": cursor} if cursor else {})}
        page = _api(plant, "/audit", params).json()
        entries += page["entries"]
        cursor = page["next_cursor"]
        if cursor is None:
            return entries


def test_an_auditor_filters_the_trail_and_downloads_it(
    board: Board, served_plant: ServedPlant
) -> None:
    lot = served_plant.meta["synthetic"]["planted"]["lot"]
    for _ in range(3):  # reads of the lot by an investigator, for the auditor to find
        served_plant.get("inv-all", f"/lots/{lot}")
    served_plant.get("inv-all", "/search", params={"q": lot})  # a read with another key

    page = board.open("/audit", AUDITOR)
    board.ready("Filter")
    assert "Audit trail intact" in board.text(), board.text()[:2000]

    page.get_by_role("textbox", name="Who (account)").fill("inv-all")
    page.get_by_role("textbox", name="Entity id").fill(lot)
    page.get_by_test_id("stSelectbox").filter(has_text="Class").click()
    page.get_by_role("option", name="read", exact=True).click()
    page.get_by_role("textbox", name="From").fill("2020-01-01")
    page.get_by_role("button", name="Filter", exact=True).click()
    expect(page).to_have_url(re.compile(r"[?&]actor=inv-all"), timeout=WAIT_MS)
    board.settle()
    query = {k: v[0] for k, v in parse_qs(urlparse(page.url).query).items()}
    filters = {"actor": "inv-all", "entity_id": lot, "class": "read", "since": "2020-01-01"}
    assert query == filters, page.url

    expected = _every_entry(served_plant, filters)
    assert len(expected) >= 4  # the three reads and the search
    assert {e["actor"] for e in expected} == {"inv-all"}
    shown = board.text()
    assert f"entries {expected[0]['seq']} to {expected[-1]['seq']}" in shown, shown[:2000]

    button = page.get_by_role("button", name="Download the filtered trail (audit.csv)")
    with page.expect_download(timeout=WAIT_MS) as info:
        button.click(timeout=WAIT_MS)
    download = info.value
    assert download.failure() is None, download.failure()
    assert download.suggested_filename == "audit.csv"
    data = Path(download.path()).read_bytes()
    assert data == _api(served_plant, "/audit.csv", filters).content  # the API's own export
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8"))))
    assert [int(r["seq"]) for r in rows] == [e["seq"] for e in expected]
    assert {(r["actor"], r["class"]) for r in rows} == {("inv-all", "read")}
    assert all(lot in r["key"].split(",") for r in rows)
    board.check_and_shoot("audit-filtered")
