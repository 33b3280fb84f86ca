"""The dashboard in a real browser: Debian's Chromium, driven by Playwright, against the
dashboard started by `lotgraph dashboard`'s own command over the API of a random plant.

Every id and figure the pages are checked for comes from the API's own answer to the same
question, never from a constant: the plant is new on every run. ``st.dataframe`` draws its
cells on a canvas, so tables are checked through the page's CSV downloads, and metrics,
headings and messages through the page's text. Each page is also checked for JavaScript
errors, console errors and Streamlit exception boxes, and saved as a full-page screenshot
under ``$LOTGRAPH_TEST_OUTPUT/screenshots`` (default ``test-output/screenshots``).

Without /usr/bin/chromium or the playwright package the test skips, except in CI
(``CI=true``), where it fails: ``make test`` installs both.
"""

from __future__ import annotations

import csv
import io
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

import httpx
import pytest
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from lotgraph.cli_dashboard import dashboard_command
from tests.dashboard.conftest import PASSWORD, ServedPlant, free_port, wait_until_up

try:
    from playwright.sync_api import expect, sync_playwright
except ImportError:  # the _browser_present fixture skips (locally) or fails (in CI)
    sync_playwright = None

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.timeout(900)

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
ACCOUNT = "inv-all"
WAIT_MS = 60_000
WIDTH = 1400


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}


def _output_dir() -> Path:
    return Path(os.environ.get("LOTGRAPH_TEST_OUTPUT") or REPO / "test-output")


@pytest.fixture(scope="module", autouse=True)
def _browser_present() -> None:
    """First of all (before the plant is generated): is there a browser to drive?"""
    missing = []
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        missing.append(f"{CHROMIUM} is missing (`make browser` installs Debian's chromium)")
    if sync_playwright is None:
        missing.append("the playwright package is missing (`make install` adds it)")
    if missing:
        reason = "; ".join(missing)
        if _in_ci():
            pytest.fail(f"the browser test must run in CI: {reason}", pytrace=False)
        pytest.skip(reason)


@pytest.fixture(scope="module")
def screenshots() -> Path:
    folder = _output_dir() / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.png"):  # a run's folder shows that run only
        stale.unlink()
    return folder


@pytest.fixture(scope="module")
def dashboard_url(
    served_plant: ServedPlant, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The dashboard, as `lotgraph dashboard` runs it, on a free loopback port."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = tmp_path_factory.mktemp("dashboard") / "streamlit.log"
    env = {**os.environ, "LOTGRAPH_API_URL": served_plant.api_url}
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            dashboard_command("127.0.0.1", port),
            env=env,
            cwd=REPO,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            try:
                wait_until_up(f"{url}/_stcore/health", seconds=90)
            except AssertionError:
                pytest.fail(
                    f"the dashboard did not start (exit {process.poll()}):\n"
                    + log_path.read_text(encoding="utf-8", errors="replace")[-4000:]
                )
            yield url
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
    # What the dashboard logged is worth seeing when a page went wrong.
    print(log_path.read_text(encoding="utf-8", errors="replace")[-4000:])


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert sync_playwright is not None
    with sync_playwright() as driver:
        launched = driver.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            launched.close()


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
    """One browser tab on the dashboard, signed in afresh for every link it opens (the
    token lives in the Streamlit session, and each opened link is a new session)."""

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

    def open(self, path: str, **query: str | list[str]) -> Page:
        """Open the link while signed out, sign in, and be on the page the link names."""
        page = self.page
        self.opened = f"{self.base_url}{path}"
        page.goto(self.opened + (f"?{urlencode(query, doseq=True)}" if query else ""))
        page.get_by_label("Username").fill(ACCOUNT, timeout=WAIT_MS)
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


@pytest.fixture
def board(
    browser: Browser, dashboard_url: str, screenshots: Path, request: pytest.FixtureRequest
) -> Iterator[Board]:
    context = browser.new_context(viewport={"width": WIDTH, "height": 1000}, accept_downloads=True)
    opened = Board(context.new_page(), dashboard_url, screenshots)
    try:
        yield opened
    finally:
        if not opened.shot:  # the test stopped early: keep what the page showed then
            try:
                opened.screenshot(f"FAILED-{request.node.name}")
            except Exception as exc:  # best effort: the test has failed already
                print(f"no screenshot of the failed page: {exc}")
        context.close()


def _ids(rows: list[dict[str, str]], column: str = "id") -> list[str]:
    return [row[column] for row in rows]


def _segment(value: str) -> str:
    return quote(value, safe="")


# -- the pages --------------------------------------------------------------------------


def test_recall_of_the_planted_lot(board: Board, served_plant: ServedPlant) -> None:
    lot = served_plant.meta["synthetic"]["planted"]["lot"]
    answer = served_plant.post(ACCOUNT, "/investigations/recall", {"lot_ids": [lot]})
    assert answer["lots"] and answer["batches"] and answer["customers"], "a dull plant"

    board.open("/recall", lot=lot)
    board.ready("Download batches.csv")
    assert board.metric("Affected lots") == str(len(answer["lots"]))
    assert board.metric("Batches") == str(len(answer["batches"]))
    assert board.metric("Customers") == str(len(answer["customers"]))
    on_hand = sum(1 for x in answer["lots"] if x["on_hand"] > 0)
    assert board.metric("Lots with stock on hand") == str(on_hand)

    assert sorted(_ids(board.csv("affected-lots"))) == sorted(_ids(answer["lots"]))
    assert sorted(_ids(board.csv("batches"))) == sorted(_ids(answer["batches"]))
    customers = board.csv("customers")
    assert sorted(_ids(customers)) == sorted(_ids(answer["customers"]))
    balance = board.csv("mass-balance")
    assert _ids(balance, "lot") == [b["lot"] for b in answer["mass_balance"]]
    expect(board.page.get_by_test_id("stPlotlyChart")).to_be_visible()  # the trace graph
    board.check_and_shoot("recall-planted-lot")


def test_recall_of_a_lot_with_a_mass_balance_shortfall(
    board: Board, served_plant: ServedPlant
) -> None:
    lot = served_plant.meta["synthetic"]["mass_balance_shortfalls"][0]
    answer = served_plant.post(ACCOUNT, "/investigations/recall", {"lot_ids": [lot]})
    short = [b for b in answer["mass_balance"] if not b["balanced"]]
    assert lot in [b["lot"] for b in short], answer["mass_balance"]

    board.open("/recall", lot=lot)
    board.ready("Download mass-balance.csv")
    text = board.text()
    for balance in short:
        assert f"Shortfall: lot {balance['lot']} accounts for" in text
        if balance["percent_accounted"] is not None:
            assert f"{balance['percent_accounted']:.1f} %" in text
    assert "Every root lot is fully accounted for." not in text
    assert board.metric("Affected lots") == str(len(answer["lots"]))

    rows = {row["lot"]: row for row in board.csv("mass-balance")}
    assert sorted(rows) == sorted(b["lot"] for b in answer["mass_balance"])
    for balance in answer["mass_balance"]:
        assert rows[balance["lot"]]["balanced"] == str(balance["balanced"])
    assert sorted(_ids(board.csv("affected-lots"))) == sorted(_ids(answer["lots"]))
    board.check_and_shoot("recall-shortfall-lot")


def test_impact_of_the_planted_supplier(board: Board, served_plant: ServedPlant) -> None:
    supplier = served_plant.meta["synthetic"]["planted"]["supplier"]
    answer = served_plant.get(ACCOUNT, f"/suppliers/{_segment(supplier)}/impact")
    assert answer["lots"] and answer["downstream_lots"], "a dull plant"

    board.open("/impact", supplier=supplier)
    board.ready("Customers reached")
    expect(board.page.get_by_text(f"Supplier {answer['supplier']}").first).to_be_visible()
    for label, key in (
        ("Open batches", "open_batches"),
        ("Supplier lots", "lots"),
        ("Batches", "batches"),
        ("Downstream lots", "downstream_lots"),
        ("Customers", "customers"),
    ):
        assert board.metric(label) == str(len(answer[key])), label
    for name, key in (
        ("lots", "lots"),
        ("batches", "batches"),
        ("downstream-lots", "downstream_lots"),
        ("customers", "customers"),
    ):
        if answer[key]:
            assert sorted(_ids(board.csv(name))) == sorted(answer[key]), name
    if answer["open_batches"]:
        rows = board.csv("open-batches")
        assert sorted(_ids(rows)) == sorted(_ids(answer["open_batches"]))
        assert all(row["custody"] == f"/custody?batch={row['id']}" for row in rows)
    else:
        assert "No batch that used this supplier's lots is still open." in board.text()
    board.check_and_shoot("impact-planted-supplier")


def test_impurity_out_of_trend(board: Board, served_plant: ServedPlant) -> None:
    """The impurity page flagging out of trend: its control charts (OOT points, centre line,
    control and specification limits named in each legend), the drift's supplier lot among
    the factors, and the strongest factor's units circled."""
    drift = served_plant.meta["synthetic"]["drift"]
    analyte = drift["analyte"]
    answer = served_plant.post(
        ACCOUNT, "/investigations/impurity", {"analyte": analyte, "flag": "oot"}
    )
    results = served_plant.get(
        ACCOUNT, f"/analytes/{_segment(analyte)}/results", params={"limit": 5000}
    )
    assert answer["factors"] and answer["flagged"], "a dull plant"
    top = answer["factors"][0]
    picked = f"{top['kind']} {top['id']}"

    board.open("/impurity", analyte=analyte, flag="oot", factor=picked)
    board.ready("Flagged results")
    assert "flag=oot" in board.page.url
    expect(board.page.get_by_text(f"{analyte} over time")).to_be_visible()
    assert board.metric("Units tested") == str(answer["units_tested"])
    assert board.metric("Units flagged") == str(answer["units_flagged"])
    assert board.metric("Factors tested") == str(answer["factors_tested"])
    caption = (
        f"{picked}: {top['affected']} of the {top['total']} {top['product']} units that "
        "have it are flagged (out of trend)"
    )
    expect(board.page.get_by_text(caption)).to_be_visible()
    text = board.text()
    assert f"q: p corrected for testing {answer['factors_tested']} factors at once" in text

    # one chart per series with drawn results; each legend names its lines (plotly draws
    # legend entries as SVG text)
    drawn = {p["series"] for p in results["results"] if not p.get("redacted")}
    charts = board.page.get_by_test_id("stPlotlyChart")
    expect(charts).to_have_count(len(drawn), timeout=WAIT_MS)
    legends = board.page.locator("[data-testid=stPlotlyChart] g.legend text.legendtext")
    names = legends.all_text_contents()
    for series in results["series"]:
        label = f"{series['product']} / {series['method']}"
        if label not in drawn:
            continue
        product = series["product"]
        for limit in series["spec_upper"]:
            assert f"upper spec {product} {limit:g}" in names, (label, names)
        if series["evaluated"]:
            assert f"centre {series['centre']:.3g}" in names
            assert f"upper control limit (+3σ) {series['upper_control']:.3g}" in names
            assert f"lower control limit (-3σ) {series['lower_control']:.3g}" in names
        if series["oot"]:
            assert "out of trend (OOT)" in names
        if series["baseline_points"]:
            assert f"baseline ({series['baseline_points']} results)" in names
    assert picked in names  # the strongest factor's units, circled
    # the drift's chart comes first, with its out-of-trend points as triangles
    drift_label = f"{drift['product']} / {drift['method']}"
    assert drift_label in text
    first = charts.first.locator("g.legend text.legendtext").all_text_contents()
    assert "out of trend (OOT)" in first
    assert charts.first.locator("path.point").count() > 0

    factors = board.csv("factors")
    assert [(row["kind"], row["id"]) for row in factors] == [
        (f["kind"], f["id"]) for f in answer["factors"]
    ]
    assert [row["rank"] for row in factors] == [str(n) for n in range(1, len(factors) + 1)]
    assert [float(row["q_value"]) for row in factors] == [f["q_value"] for f in answer["factors"]]
    drift_rows = [row for row in factors if row["id"] == drift["lot"]]
    assert len(drift_rows) == 1 and drift_rows[0]["supplier_lot"] == drift["supplier_lot"]
    assert drift_rows[0]["kind"] == "supplier_lot"
    flagged = board.csv("flagged-results")
    assert sorted(_ids(flagged)) == sorted(f["result_id"] for f in answer["flagged"])
    assert {row["reason"] for row in flagged} <= {f"oot:{n}" for n in (1, 2, 3, 4)}
    board.check_and_shoot("impurity-out-of-trend")


def _batch_with_a_tampered_signature(plant: ServedPlant) -> tuple[str, dict[str, Any]]:
    """A batch whose custody shows a signature that does not match its record, found by
    asking the API; the batches the planted signatures' documents name are asked first."""
    tampered = set(plant.meta["synthetic"]["tampered_signatures"])
    documents = {
        row["document_id"]
        for row in plant.csv_rows("signatures.csv")
        if row["signature_id"] in tampered
    }
    named = [
        row["target_id"]
        for row in plant.csv_rows("document_links.csv")
        if row["document_id"] in documents and row["target_kind"] == "batch"
    ]
    batches = [row["batch_id"] for row in plant.csv_rows("batches.csv")]
    headers = {"Authorization": f"Bearer {plant.token(ACCOUNT)}"}
    with httpx.Client(base_url=plant.api_url, headers=headers, timeout=60) as api:
        for batch in dict.fromkeys(named + batches):
            reply = api.get(f"/batches/{_segment(batch)}/custody")
            reply.raise_for_status()
            answer = reply.json()
            if any(s["status"] == "hash_mismatch" for s in answer["signatures"]):
                return batch, answer
    raise AssertionError(f"no batch shows a tampered signature (planted: {sorted(tampered)})")


def test_custody_of_a_batch_with_a_tampered_signature(
    board: Board, served_plant: ServedPlant
) -> None:
    batch, answer = _batch_with_a_tampered_signature(served_plant)
    mismatched = [s["signature_id"] for s in answer["signatures"] if s["status"] == "hash_mismatch"]

    board.open("/custody", batch=batch)
    board.ready("Download custody-events.csv")
    message = f"{len(mismatched)} signature(s) do not match the record they sign: " + ", ".join(
        mismatched
    )
    expect(board.page.get_by_test_id("stAlert").filter(has_text=message)).to_be_visible()
    assert board.metric("Status") == (answer["status"] or "-")
    assert board.metric("Findings") == str(len(answer["findings"]))
    text = board.text()
    for finding in answer["findings"]:
        assert finding["id"] in text

    signatures = {row["signature_id"]: row["status"] for row in board.csv("signatures")}
    assert signatures == {s["signature_id"]: s["status"] for s in answer["signatures"]}
    events = board.csv("custody-events")
    assert _ids(events) == [e["id"] for e in answer["events"]]
    board.check_and_shoot("custody-tampered-batch")


def test_search_of_a_lot(board: Board, served_plant: ServedPlant) -> None:
    lot = served_plant.meta["synthetic"]["planted"]["lot"]
    found = served_plant.get(ACCOUNT, "/search", params={"q": lot})
    documents = served_plant.get(ACCOUNT, f"/lots/{_segment(lot)}/documents")["documents"]
    assert found["matches"] and documents, "a dull plant"

    board.open("/search", q=lot)
    board.ready(f"Documents concerning lot {lot}")
    for match in found["matches"]:
        heading = board.page.get_by_role("heading", name=f"{match['label']} {match['id']}")
        expect(heading).to_be_visible()
    expect(board.page.get_by_role("link", name=f"Recall of lot {lot}")).to_be_visible()
    rows = board.csv(f"documents-of-{lot}")
    assert sorted(_ids(rows, "document_id")) == sorted(d["document_id"] for d in documents)
    board.check_and_shoot("search-lot")


def _document_of_some_lots(plant: ServedPlant) -> tuple[str, list[dict[str, Any]]]:
    """A document that concerns at least one lot, as the API says: of the planted lot's
    documents, the first that does."""
    lot = plant.meta["synthetic"]["planted"]["lot"]
    for document in plant.get(ACCOUNT, f"/lots/{_segment(lot)}/documents")["documents"]:
        lots = plant.get(ACCOUNT, f"/documents/{_segment(document['document_id'])}/lots")
        if lots["lots"]:
            return document["document_id"], lots["lots"]
    raise AssertionError(f"no document of lot {lot} concerns a lot")


def test_search_of_a_document(board: Board, served_plant: ServedPlant) -> None:
    document, lots = _document_of_some_lots(served_plant)
    found = served_plant.get(ACCOUNT, "/search", params={"q": document})
    assert [m["id"] for m in found["matches"]] == [document]

    board.open("/search", q=document)
    board.ready(f"Lots that document {document} concerns")
    expect(board.page.get_by_role("heading", name=f"Document {document}")).to_be_visible()
    rows = board.csv(f"lots-of-{document}")
    assert sorted(_ids(rows, "lot_id")) == sorted(x["lot_id"] for x in lots)
    board.check_and_shoot("search-document")


def test_the_root_url_opens_search_with_its_query(board: Board, served_plant: ServedPlant) -> None:
    """Search is served at /search, so / forwards there and keeps the query string."""
    lot = served_plant.meta["synthetic"]["planted"]["lot"]
    board.open("/", q=lot)
    board.ready(f"Documents concerning lot {lot}")
    assert board.page.url == f"{board.base_url}/search?{urlencode({'q': lot})}"
    expect(board.page.get_by_role("heading", name=f"Lot {lot}")).to_be_visible()
    board.check_and_shoot("search-from-root")
