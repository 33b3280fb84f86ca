"""A dashboard session in a real browser (Debian's Chromium, Playwright): it survives a
refresh and a shared link opened in another tab of the same browser, never shows its
token or id in a URL, and signing out ends it in every tab and in the API.

On each store; the fixtures are tests/dashboard/conftest.py's, the harness
tests/dashboard/browser.py.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from dashboard.session import COOKIE
from tests.dashboard.browser import INVESTIGATOR as ACCOUNT
from tests.dashboard.browser import ON_BOTH_STORES, WAIT_MS, WIDTH, Board
from tests.dashboard.conftest import ServedPlant

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext

try:
    from playwright.sync_api import expect
except ImportError:  # the browser_present fixture skips (locally) or fails (in CI)
    expect = None

pytestmark = [pytest.mark.timeout(900), pytest.mark.usefixtures("browser_present"), ON_BOTH_STORES]


def _session_cookie(context: BrowserContext) -> dict[str, Any]:
    found = [c for c in context.cookies() if c["name"] == COOKIE]
    assert len(found) == 1, context.cookies()
    return dict(found[0])


def _exchange(plant: ServedPlant, session_id: str) -> httpx.Response:
    return httpx.post(
        f"{plant.api_url}/auth/sessions/token", json={"session_id": session_id}, timeout=30
    )


def _signed_in(board: Board) -> None:
    assert expect is not None
    page = board.page
    expect(page.get_by_role("button", name="Sign out")).to_be_visible(timeout=WAIT_MS)
    expect(page.get_by_label("Username")).to_have_count(0)
    board.settle()


def _shows_sign_in_form(board: Board) -> None:
    assert expect is not None
    expect(board.page.get_by_label("Username")).to_be_visible(timeout=WAIT_MS)
    expect(board.page.get_by_role("button", name="Sign out")).to_have_count(0)


def test_a_session_survives_refresh_and_new_tabs_and_sign_out_ends_it_everywhere(
    browser: Browser,
    dashboard_url: str,
    served_plant: ServedPlant,
    screenshots: Path,
) -> None:
    assert expect is not None
    lot = served_plant.meta["synthetic"]["planted"]["lot"]
    recall = served_plant.post(ACCOUNT, "/investigations/recall", {"lot_ids": [lot]})
    batch = recall["batches"][0]["id"]
    context = browser.new_context(viewport={"width": WIDTH, "height": 1000})
    urls: list[str] = []  # every URL any tab of this browser asks for, websockets included
    context.on("request", lambda request: urls.append(request.url))
    context.on("websocket", lambda socket: urls.append(socket.url))
    try:
        first = Board(context.new_page(), dashboard_url, screenshots)
        first.page.on("websocket", lambda socket: urls.append(socket.url))
        first.open("/recall", lot=lot)
        assert first.metric("Affected lots") == str(len(recall["lots"]))

        # the cookie: the session's id, for the session's lifetime, Strict, on every path
        cookie = _session_cookie(context)
        session_id = str(cookie["value"])
        assert session_id.startswith("lgs_")
        assert cookie["sameSite"] == "Strict" and cookie["path"] == "/"
        assert not cookie["secure"]  # served over http here; over https it is Secure
        lifetime = float(cookie["expires"]) - time.time()
        assert 14 * 60 < lifetime <= 15 * 60 + 5, lifetime  # the API's 15 minutes
        assert _exchange(served_plant, session_id).json()["username"] == ACCOUNT

        # a refresh keeps the user signed in, on the same page with its answer
        first.page.reload()
        _signed_in(first)
        assert first.page.url.startswith(f"{dashboard_url}/recall")
        assert first.metric("Affected lots") == str(len(recall["lots"]))
        assert f"Signed in as {ACCOUNT}" in first.page.get_by_test_id("stSidebar").inner_text()

        # a shared link opened in a new tab of the same browser opens signed in
        second = Board(context.new_page(), dashboard_url, screenshots)
        second.opened = f"{dashboard_url}/custody"
        second.page.goto(f"{dashboard_url}/custody?batch={batch}")
        _signed_in(second)
        custody = served_plant.get(ACCOUNT, f"/batches/{batch}/custody")
        assert second.metric("Findings") == str(len(custody["findings"]))
        assert second.metric("Status") == (custody["status"] or "-")
        second.check_and_shoot("session-shared-link")

        # no token and no session id in any URL the browser asked for
        urls.extend([first.page.url, second.page.url])
        assert urls
        for url in urls:
            assert session_id not in url and session_id[4:] not in url, url
            assert "lgs_" not in url and "eyJ" not in url, url  # no session id, no JWT

        # sign out in the first tab: the sign-in form there, and the cookie is gone
        first.page.get_by_role("button", name="Sign out").click()
        _shows_sign_in_form(first)
        expect(first.page.get_by_text("You have signed out.")).to_be_visible(timeout=WAIT_MS)
        deadline = time.monotonic() + WAIT_MS / 1000
        while any(c["name"] == COOKIE for c in context.cookies()):
            assert time.monotonic() < deadline, context.cookies()
            first.page.wait_for_timeout(100)
        # ... the other tab follows without being touched, and a refresh stays signed out
        _shows_sign_in_form(second)
        first.page.reload()
        _shows_sign_in_form(first)
        second.page.reload()
        _shows_sign_in_form(second)
        first.check_and_shoot("session-signed-out")
        # ... and the API refuses the old session id
        refused = _exchange(served_plant, session_id)
        assert refused.status_code == 401, refused.text
        assert refused.json()["error"] == "not_authenticated"
    finally:
        context.close()
