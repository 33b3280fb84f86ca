"""Batch release by exception through the screen, in a real browser (test_browser.py's
Chromium, dashboard and helpers), each result checked through the API afterwards.

The plant is one with batches to release (tests/dashboard/release_plant.py): a qa person
is refused a release while a hold blocks it, releases it once the hold is lifted, and
releases another batch over its findings by signing an override with a reason.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING
from urllib.parse import urlencode

import pytest

from tests.dashboard.conftest import PASSWORD, ServedPlant
from tests.dashboard.release_plant import (
    QA,
    Candidates,
    checklist,
    input_lots,
    place_hold,
    plant_to_release,
    release_hold,
)
from tests.dashboard.test_browser import (  # noqa: F401 - the fixtures this module uses
    WAIT_MS,
    WIDTH,
    Board,
    _browser_present,
    browser,
    dashboard_url,
    screenshots,
)

try:
    from playwright.sync_api import expect
except ImportError:  # test_browser's _browser_present skips (locally) or fails (in CI)
    expect = None

if TYPE_CHECKING:
    from pathlib import Path

    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.timeout(900)


@pytest.fixture(scope="module")
def release_plant(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[ServedPlant, Candidates]]:
    with plant_to_release(tmp_path_factory.mktemp("browser-release")) as found:
        yield found


@pytest.fixture(scope="module")
def served_plant(release_plant: tuple[ServedPlant, Candidates]) -> ServedPlant:
    """The plant the dashboard of test_browser.py is started on: this one."""
    return release_plant[0]


@pytest.fixture
def qa(
    browser: Browser,  # noqa: F811 - the fixture of test_browser.py
    dashboard_url: str,  # noqa: F811
    screenshots: Path,  # noqa: F811
    request: pytest.FixtureRequest,
) -> Iterator[Board]:
    """test_browser.py's board: a tab on the dashboard, a screenshot if the test fails."""
    context = browser.new_context(viewport={"width": WIDTH, "height": 1000}, accept_downloads=True)
    opened = Board(context.new_page(), dashboard_url, screenshots)
    try:
        yield opened
    finally:
        if not opened.shot:
            try:
                opened.screenshot(f"FAILED-{request.node.name}")
            except Exception as exc:  # best effort: the test has failed already
                print(f"no screenshot of the failed page: {exc}")
        context.close()


def open_as(board: Board, account: str, path: str, **query: str) -> Page:
    """Board.open, signed in as ``account``."""
    page = board.page
    board.opened = f"{board.base_url}{path}"
    page.goto(board.opened + (f"?{urlencode(query)}" if query else ""))
    page.get_by_label("Username").fill(account, timeout=WAIT_MS)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_label("Username")).to_have_count(0, timeout=WAIT_MS)
    board.settle()
    assert page.url.startswith(board.opened), page.url
    return page


def tick(page: Page, label: str) -> None:
    """Tick a Streamlit checkbox by its label, as a person clicks it (its label covers
    the input itself), unless it is ticked already."""
    box = page.get_by_role("checkbox", name=label)
    if not box.is_checked():
        page.get_by_text(label, exact=False).click()
    expect(box).to_be_checked()


def sign_and_release(board: Board, reason: str = "", override: bool = False) -> None:
    page = board.page
    if override:
        tick(page, "Override the ")
    if reason:
        page.get_by_role("textbox", name="Reason").fill(reason)
    page.get_by_label("Your password, entered again").fill(PASSWORD)
    tick(page, "I confirm the statement above")
    page.get_by_role("button", name="Sign and release").click()
    board.settle()


def test_release_refused_while_a_hold_blocks_then_released(
    qa: Board, release_plant: tuple[ServedPlant, Candidates]
) -> None:
    plant, candidates = release_plant
    batch = candidates.clean[0]["batch"]
    lot = input_lots(plant, batch)[0]
    place_hold(plant, lot, "browser release test")
    expected = checklist(plant, batch)
    assert [(f["kind"], f["id"]) for f in expected["findings"]] == [("lot_on_hold", lot)]

    page = open_as(qa, QA, "/batch", id=batch)
    qa.ready("Release checklist")
    expect(page.get_by_text("Release state: awaiting release", exact=False)).to_be_visible()
    record = expected["batch_record"]
    statement = (
        f"I, {QA}, release batch {batch} by signing version {record['current_version']} of "
        f"{record['id']} — sha256 {record['content_sha256']}"
    )
    expect(page.get_by_text(statement)).to_be_visible()
    expect(page.get_by_role("link", name=lot)).to_have_attribute("href", f"/lot?id={lot}")
    sign_and_release(qa)
    refusal = page.get_by_text("Release refused (409", exact=False)
    expect(refusal).to_be_visible(timeout=WAIT_MS)
    assert f"lot_on_hold {lot}" in qa.text()
    assert checklist(plant, batch)["release_state"] == "awaiting_release"
    qa.check_and_shoot("batch-release-refused")

    release_hold(plant, lot, "browser release test over")
    page.get_by_role("button", name="Show batch").click()  # asks the API again
    qa.ready("Nothing blocks the release: every check on this batch has passed.")
    sign_and_release(qa)
    after = checklist(plant, batch)
    assert after["release_state"] == "released"
    assert after["release"]["signer_id"] == QA and not after["release"]["override"]
    expect(page.get_by_text(f"Batch {batch} released (signature", exact=False)).to_be_visible()
    expect(page.get_by_text("Release state: released", exact=False)).to_be_visible()
    qa.check_and_shoot("batch-released")


def test_release_by_override_with_a_reason(
    qa: Board, release_plant: tuple[ServedPlant, Candidates]
) -> None:
    plant, candidates = release_plant
    batch = (candidates.clean[1:] + candidates.overridable)[0]["batch"]
    if checklist(plant, batch)["can_release"]:  # nothing to override: a hold to override
        place_hold(plant, input_lots(plant, batch)[0], "browser override test")
    before = checklist(plant, batch)
    assert before["can_override"] and before["findings"]
    reason = "assessed by QA: the findings do not affect the batch's quality"

    page = open_as(qa, QA, "/batch", id=batch)
    qa.ready("Release checklist")
    sign_and_release(qa, reason=reason, override=True)
    expect(page.get_by_text(f"Batch {batch} released by override", exact=False)).to_be_visible()
    after = checklist(plant, batch)
    signed = after["release"]
    assert after["release_state"] == "released" and signed["override"]
    assert signed["override_reason"] == reason and signed["signer_id"] == QA
    assert signed["overridden_findings"] == [f"{f['kind']} {f['id']}" for f in before["findings"]]
    expect(page.get_by_text("Released by override.", exact=False)).to_be_visible()
    assert reason in qa.text()
    qa.check_and_shoot("batch-release-override")


def test_the_home_page_is_the_work_queue(
    qa: Board, release_plant: tuple[ServedPlant, Candidates]
) -> None:
    plant = release_plant[0]
    expected = plant.get(QA, "/work")
    kpis = plant.get(QA, "/kpis")
    page = open_as(qa, QA, "/")
    qa.ready("Approvals outstanding, by age")
    assert page.url == f"{qa.base_url}/work", page.url
    assert qa.metric("Awaiting your signature") == str(len(expected["awaiting_signature"]))
    assert qa.metric("Batches awaiting release") == str(len(expected["batches_awaiting_release"]))
    assert qa.metric("Overrides") == str(kpis["overrides"]["count"])
    awaiting = expected["batches_awaiting_release"]
    if not awaiting:  # the tests before this one released every batch of the plant's
        assert "No batch awaits release." in qa.text()
    else:
        rows = qa.csv("batches-awaiting-release")
        assert [r["batch"] for r in rows] == [b["batch"] for b in awaiting]
        assert [r["open"] for r in rows] == [f"/batch?id={b['batch']}" for b in awaiting]
    qa.check_and_shoot("work-queue")
