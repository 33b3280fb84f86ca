"""Batch release by exception through the screen, in a real browser (the harness is
tests/dashboard/browser.py), on each store, each result checked through the API afterwards.

The plant is one with batches to release (tests/dashboard/release_plant.py): a qa person
is refused a release while a hold blocks it, releases it once the hold is lifted, and
releases another batch over its findings by signing an override with a reason.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from tests.dashboard.browser import ON_BOTH_STORES, WAIT_MS, Board
from tests.dashboard.conftest import PASSWORD, ServedPlant, neo4j_for
from tests.dashboard.release_plant import (
    QA,
    Candidates,
    checklist,
    input_lots,
    place_hold,
    plant_to_release,
    release_hold,
)

try:
    from playwright.sync_api import expect
except ImportError:  # the browser_present fixture skips (locally) or fails (in CI)
    expect = None

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = [pytest.mark.timeout(900), pytest.mark.usefixtures("browser_present"), ON_BOTH_STORES]


@pytest.fixture(scope="module")
def release_plant(
    store_kind: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[ServedPlant, Candidates]]:
    home = tmp_path_factory.mktemp(f"browser-release-{store_kind}")
    with plant_to_release(home, neo4j_for(store_kind, request)) as found:
        yield found


@pytest.fixture(scope="module")
def served_plant(release_plant: tuple[ServedPlant, Candidates]) -> ServedPlant:
    """The plant the dashboard is started on: this one."""
    return release_plant[0]


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
    board: Board, release_plant: tuple[ServedPlant, Candidates]
) -> None:
    plant, candidates = release_plant
    batch = candidates.clean[0]["batch"]
    lot = input_lots(plant, batch)[0]
    place_hold(plant, lot, "browser release test")
    expected = checklist(plant, batch)
    assert [(f["kind"], f["id"]) for f in expected["findings"]] == [("lot_on_hold", lot)]

    page = board.open("/batch", QA, id=batch)
    board.ready("Release checklist")
    expect(page.get_by_text("Release state: awaiting release", exact=False)).to_be_visible()
    record = expected["batch_record"]
    statement = (
        f"I, {QA}, release batch {batch} by signing version {record['current_version']} of "
        f"{record['id']} — sha256 {record['content_sha256']}"
    )
    expect(page.get_by_text(statement)).to_be_visible()
    expect(page.get_by_role("link", name=lot)).to_have_attribute("href", f"/lot?id={lot}")
    sign_and_release(board)
    refusal = page.get_by_text("Release refused (409", exact=False)
    expect(refusal).to_be_visible(timeout=WAIT_MS)
    assert f"lot_on_hold {lot}" in board.text()
    assert checklist(plant, batch)["release_state"] == "awaiting_release"
    board.check_and_shoot("batch-release-refused")

    release_hold(plant, lot, "browser release test over")
    page.get_by_role("button", name="Show batch").click()  # asks the API again
    board.ready("Nothing blocks the release: every check on this batch has passed.")
    sign_and_release(board)
    after = checklist(plant, batch)
    assert after["release_state"] == "released"
    assert after["release"]["signer_id"] == QA and not after["release"]["override"]
    expect(page.get_by_text(f"Batch {batch} released (signature", exact=False)).to_be_visible()
    expect(page.get_by_text("Release state: released", exact=False)).to_be_visible()
    board.check_and_shoot("batch-released")


def test_release_by_override_with_a_reason(
    board: Board, release_plant: tuple[ServedPlant, Candidates]
) -> None:
    plant, candidates = release_plant
    batch = (candidates.clean[1:] + candidates.overridable)[0]["batch"]
    if checklist(plant, batch)["can_release"]:  # nothing to override: a hold to override
        place_hold(plant, input_lots(plant, batch)[0], "browser override test")
    before = checklist(plant, batch)
    assert before["can_override"] and before["findings"]
    reason = "assessed by QA: the findings do not affect the batch's quality"

    page = board.open("/batch", QA, id=batch)
    board.ready("Release checklist")
    sign_and_release(board, reason=reason, override=True)
    expect(page.get_by_text(f"Batch {batch} released by override", exact=False)).to_be_visible()
    after = checklist(plant, batch)
    signed = after["release"]
    assert after["release_state"] == "released" and signed["override"]
    assert signed["override_reason"] == reason and signed["signer_id"] == QA
    assert signed["overridden_findings"] == [f"{f['kind']} {f['id']}" for f in before["findings"]]
    expect(page.get_by_text("Released by override.", exact=False)).to_be_visible()
    assert reason in board.text()
    board.check_and_shoot("batch-release-override")


def test_the_home_page_is_the_work_queue(
    board: Board, release_plant: tuple[ServedPlant, Candidates]
) -> None:
    plant = release_plant[0]
    expected = plant.get(QA, "/work")
    kpis = plant.get(QA, "/kpis")
    page = board.open("/", QA)
    board.ready("Approvals outstanding, by age")
    assert page.url == f"{board.base_url}/work", page.url
    assert board.metric("Awaiting your signature") == str(len(expected["awaiting_signature"]))
    assert board.metric("Batches awaiting release") == str(
        len(expected["batches_awaiting_release"])
    )
    assert board.metric("Overrides") == str(kpis["overrides"]["count"])
    awaiting = expected["batches_awaiting_release"]
    if not awaiting:  # the tests before this one released every batch of the plant's
        assert "No batch awaits release." in board.text()
    else:
        rows = board.csv("batches-awaiting-release")
        assert [r["batch"] for r in rows] == [b["batch"] for b in awaiting]
        assert [r["open"] for r in rows] == [f"/batch?id={b['batch']}" for b in awaiting]
    board.check_and_shoot("work-queue")
