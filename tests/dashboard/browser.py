"""The harness of the browser tests: Debian's Chromium, driven by Playwright, against the
dashboard `lotgraph dashboard` starts, over the API of a plant served by conftest.py on
either store.

``st.dataframe`` draws its cells on a canvas, so tables are checked through the page's CSV
downloads, and metrics, headings and messages through the page's text. Each page is also
checked for JavaScript errors, console errors and Streamlit exception boxes, and saved as a
full-page screenshot under ``$LOTGRAPH_TEST_OUTPUT/screenshots/<store>/`` (default
``test-output/screenshots``).

Without /usr/bin/chromium or the playwright package the browser tests skip, except in CI
(``CI=true``), where they fail: ``make test`` installs both.
"""

from __future__ import annotations

import csv
import io
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import pytest
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from tests.dashboard.conftest import PASSWORD

try:
    from playwright.sync_api import expect, sync_playwright
except ImportError:  # browser_missing() says so; the fixture skips (locally) or fails (CI)
    sync_playwright = None  # type: ignore[assignment]

if TYPE_CHECKING:
    from playwright.sync_api import Page

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    # Without these Chromium keeps calling home (updates, sync, field trials) on a network
    # that is closed here, which slows it down and fills the console.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
INVESTIGATOR = "inv-all"
WAIT_MS = 60_000
WIDTH = 1400

# A browser module runs every test once per store behind the API (the plant, the API and
# the dashboard are the module's, per store).
ON_BOTH_STORES = pytest.mark.parametrize(
    "store_kind",
    ["embedded", pytest.param("neo4j", marks=pytest.mark.neo4j)],
    indirect=True,
    scope="module",
)


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}


def output_dir() -> Path:
    return Path(os.environ.get("LOTGRAPH_TEST_OUTPUT") or REPO / "test-output")


def browser_missing() -> str | None:
    """Why no browser can be driven here, or None."""
    missing = []
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        missing.append(f"{CHROMIUM} is missing (`make browser` installs Debian's chromium)")
    if sync_playwright is None:
        missing.append("the playwright package is missing (`make install` adds it)")
    return "; ".join(missing) or None


class Runs:
    """The dashboard's script runs as this tab's Streamlit websocket reports them.

    The running indicator only shows once a run has taken half a second, so it cannot tell
    whether a quick rerun (after a click, say) has ended. The stream can: the browser asks
    for each run (BackMsg ``rerun_script``), and the server announces each start
    (``new_session``) and end (``script_finished``), or a chained run after ``st.rerun()``
    (an end FINISHED_EARLY_FOR_RERUN, then a start)."""

    def __init__(self) -> None:
        self.requested = self.started = self.finished = 0
        self.chained = False

    def watch(self, socket: Any) -> None:
        if socket.url.endswith("/_stcore/stream"):
            socket.on("framesent", self._sent)
            socket.on("framereceived", self._received)

    def _sent(self, payload: str | bytes) -> None:
        if (
            isinstance(payload, bytes)
            and BackMsg.FromString(payload).WhichOneof("type") == "rerun_script"
        ):
            self.requested += 1

    def _received(self, payload: str | bytes) -> None:
        if not isinstance(payload, bytes):
            return
        message = ForwardMsg.FromString(payload)
        kind = message.WhichOneof("type")
        if kind == "new_session":
            self.started += 1
        elif kind == "script_finished":
            self.finished += 1
            self.chained = message.script_finished == ForwardMsg.FINISHED_EARLY_FOR_RERUN

    @property
    def idle(self) -> bool:
        """Every run asked for has started and ended, and none is chained to come."""
        return (
            0 < self.started <= self.finished
            and self.requested <= self.started
            and not self.chained
        )

    def __repr__(self) -> str:
        return f"runs: {self.requested} asked, {self.started} started, {self.finished} ended" + (
            ", one more chained" if self.chained else ""
        )


class Board:
    """One browser tab on the dashboard, signed in afresh for every link it opens."""

    def __init__(self, page: Page, base_url: str, screenshots: Path) -> None:
        self.page = page
        self.base_url = base_url
        self.screenshots = screenshots
        self.problems: list[str] = []
        self.opened = ""
        self.shot = False
        self.runs = Runs()
        page.on("websocket", self.runs.watch)
        page.on("pageerror", lambda exc: self.problems.append(f"JavaScript error: {exc}"))
        page.on("console", self._console)

    def _console(self, message: Any) -> None:
        if message.type != "error":
            return
        url = message.location.get("url", "")
        # A link opened at /recall makes Streamlit's frontend look for the server's base
        # path: it asks /recall/_stcore/health and /recall/_stcore/host-config first, which
        # answer 404, then /_stcore/... The browser logs those 404s as console errors.
        probes = (f"{self.opened}/_stcore/health", f"{self.opened}/_stcore/host-config")
        if self.opened and url in probes and "404" in message.text:
            return
        self.problems.append(f"console error: {message.text} ({url})")

    def open(self, path: str, account: str = INVESTIGATOR, **query: str | list[str]) -> Page:
        """Open the link signed out, sign in as ``account``, and be on the page the link
        names. The browser's session cookie is forgotten first, as a different person at
        this browser would sign out before."""
        page = self.page
        page.context.clear_cookies()
        self.opened = f"{self.base_url}{path}"
        page.goto(self.opened + (f"?{urlencode(query, doseq=True)}" if query else ""))
        page.get_by_label("Username").fill(account, timeout=WAIT_MS)
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_label("Username")).to_have_count(0, timeout=WAIT_MS)
        self.settle()
        assert page.url.startswith(self.opened), page.url
        return page

    def settle(self) -> None:
        """Wait until the script has run to its end: no run pending, no running indicator,
        no spinner."""
        deadline = time.monotonic() + WAIT_MS / 1000
        while not self.runs.idle:
            assert time.monotonic() < deadline, f"the dashboard is still running ({self.runs})"
            self.page.wait_for_timeout(50)  # lets Playwright deliver the websocket frames
        expect(self.page.get_by_test_id("stStatusWidget")).to_have_count(0, timeout=WAIT_MS)
        expect(self.page.get_by_test_id("stSpinner")).to_have_count(0, timeout=WAIT_MS)

    def ready(self, last: str) -> None:
        """Wait for a text that only shows once the page has its answer, then for quiet."""
        expect(self.page.get_by_text(last, exact=True).first).to_be_visible(timeout=WAIT_MS)
        self.settle()

    def text(self) -> str:
        return self.page.get_by_test_id("stMain").inner_text()

    def metric(self, label: str) -> str:
        box = self.page.get_by_test_id("stMetric").filter(
            has=self.page.get_by_test_id("stMetricLabel").get_by_text(label, exact=True)
        )
        expect(box).to_have_count(1, timeout=WAIT_MS)
        return box.get_by_test_id("stMetricValue").inner_text().strip()

    def csv(self, name: str) -> list[dict[str, str]]:
        """The rows of the table offered as ``name``.csv, through its download button."""
        button = self.page.get_by_role("button", name=f"Download {name}.csv", exact=True)
        with self.page.expect_download(timeout=WAIT_MS) as info:
            button.click(timeout=WAIT_MS)
        download = info.value
        self.settle()  # a download click reruns the script
        assert download.failure() is None, download.failure()
        assert download.suggested_filename == f"{name}.csv", download.suggested_filename
        data = Path(download.path()).read_text(encoding="utf-8")
        return list(csv.DictReader(io.StringIO(data)))

    def check_and_shoot(self, name: str) -> None:
        """No exception box, no JavaScript or console error; then the full-page screenshot."""
        self.settle()
        exceptions = self.page.get_by_test_id("stException")
        assert exceptions.count() == 0, exceptions.all_inner_texts()
        self.screenshot(name)
        assert not self.problems, "\n".join(self.problems)

    def screenshot(self, name: str) -> Path:
        """The whole page: the app scrolls inside its main area, not the document, so the
        window is made as tall as that area's content before the shot."""
        page = self.page
        height = page.evaluate(
            """() => Math.max(document.documentElement.scrollHeight,
                ...[...document.querySelectorAll(
                    '[data-testid="stMain"], [data-testid="stAppViewContainer"]')]
                    .map(e => e.scrollHeight))"""
        )
        page.set_viewport_size({"width": WIDTH, "height": min(int(height) + 40, 16_000)})
        # Two animation frames: the charts and tables lay themselves out at the new size.
        page.evaluate(
            "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"
        )
        path = self.screenshots / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        self.shot = True
        return path
