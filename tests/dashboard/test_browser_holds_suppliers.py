"""Signed actions through the screen in a real browser (Debian's Chromium, Playwright): a
qa person places and releases a hold on the lot page and on the recall page, and records
a supplier-change decision on the supplier page; each result is checked through the API.

On each store, over a plant of its own (random seed, printed); the harness is
tests/dashboard/browser.py.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.dashboard.browser import ON_BOTH_STORES, Board
from tests.dashboard.conftest import PASSWORD, ServedPlant

pytestmark = [pytest.mark.timeout(900), pytest.mark.usefixtures("browser_present"), ON_BOTH_STORES]
QA = "qa-all"


def sign(board: Board, statement: str, reason: str, button: str) -> None:
    """Fill the signing form: reason, password entered again, the statement ticked; send."""
    page = board.page
    page.get_by_label("Reason").fill(reason)
    page.get_by_label("Your password, entered again to sign").fill(PASSWORD)
    page.get_by_text(statement).click()
    page.get_by_role("button", name=button).click()
    board.settle()


def _holds(plant: ServedPlant, lot: str) -> dict[str, Any]:
    found: dict[str, Any] = plant.get("auditor", f"/lots/{lot}/holds")
    return found


def test_a_hold_placed_and_released_on_the_lot_page(
    board: Board, served_plant: ServedPlant
) -> None:
    lot = served_plant.csv_rows("lots.csv")[7]["lot_id"]
    entity = served_plant.get(QA, f"/lots/{lot}")["properties"]
    board.open("/lot", QA, id=lot)
    board.ready(f"Lot {lot} is not on hold.")
    assert board.metric("Status") == entity["status"]
    assert board.metric("Site") == entity["site"]

    sign(board, f"place lot {lot} on hold", "OOS assay on retest", "Place hold")
    board.ready("Release the hold")
    active = _holds(served_plant, lot)["active"]
    assert active and (active["placed_by"], active["reason"]) == (QA, "OOS assay on retest")
    text = board.text()
    assert f"Lot {lot} placed on hold ({active['id']})." in text
    assert [r["id"] for r in board.csv(f"holds-{lot}")] == [active["id"]]
    board.check_and_shoot("lot-on-hold")

    sign(board, f"release lot {lot} from its hold", "retest passed", "Release hold")
    board.ready(f"Lot {lot} is not on hold.")
    (record,) = _holds(served_plant, lot)["holds"]
    assert record["active"] is False and record["released_by"] == QA
    assert record["release_reason"] == "retest passed"
    assert f"Lot {lot} released from hold ({record['id']})." in board.text()
    board.check_and_shoot("lot-hold-released")


def test_a_hold_placed_and_released_on_the_recall_page(
    board: Board, served_plant: ServedPlant
) -> None:
    lot = served_plant.meta["synthetic"]["planted"]["lot"]
    board.open("/recall", QA, lot=lot)
    board.ready("Place a hold")
    sign(board, f"place lot {lot} on hold", "recall of the planted lot", "Place hold")
    board.ready("Release the hold")
    active = _holds(served_plant, lot)["active"]
    assert active and active["reason"] == "recall of the planted lot"
    assert f"Lot {lot} placed on hold ({active['id']})." in board.text()
    recall = served_plant.post(QA, "/investigations/recall", {"lot_ids": [lot]})
    assert next(x for x in recall["lots"] if x["id"] == lot)["hold"]["id"] == active["id"]
    board.check_and_shoot("recall-root-on-hold")

    sign(board, f"release lot {lot} from its hold", "scope cleared", "Release hold")
    board.ready("Place a hold")
    assert _holds(served_plant, lot)["active"] is None
    assert f"Lot {lot} released from hold ({active['id']})." in board.text()
    board.check_and_shoot("recall-root-released")


def test_a_supplier_change_decision_on_the_supplier_page(
    board: Board, served_plant: ServedPlant
) -> None:
    supplier = served_plant.meta["synthetic"]["planted"]["supplier"]
    rows = served_plant.csv_rows("supplier_changes.csv")
    notice = next((r for r in rows if r["supplier_id"] == supplier), rows[0])
    supplier, change = notice["supplier_id"], notice["change_id"]
    record = served_plant.get(QA, f"/suppliers/{supplier}")
    impact = served_plant.get(QA, f"/suppliers/{supplier}/impact", params={"change": change})
    board.open("/supplier", QA, id=supplier, change=change)
    board.ready("No decision has been recorded on this change notice.")
    assert board.metric("Change notices") == str(len(record["changes"]))
    assert board.metric("Supplier lots") == str(len(impact["lots"]))
    assert [r["id"] for r in board.csv(f"lots-of-{supplier}")] == [x["id"] for x in record["lots"]]

    sign(
        board,
        f"sign this decision on change notice {change}",
        "route change qualified on three batches",
        "Sign decision",
    )
    board.ready("Download decisions-" + change + ".csv")
    notices = served_plant.get("auditor", f"/suppliers/{supplier}")["changes"]
    decided = next(c for c in notices if c["id"] == change)["decision"]
    assert decided and (decided["decision"], decided["decided_by"]) == ("accepted", QA)
    assert decided["reason"] == "route change qualified on three batches"
    assert f"Decision recorded on {change}: Accepted ({decided['id']})." in board.text()
    assert [r["id"] for r in board.csv(f"decisions-{change}")] == [decided["id"]]
    board.check_and_shoot("supplier-change-decided")
