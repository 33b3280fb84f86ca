"""Signing a document and adding a version through the screen, in a real browser (Debian's
Chromium driven by Playwright) against the dashboard `lotgraph dashboard` starts, over the
API of a plant generated at test time on each store; every result is read back from the API.

The walk follows the state machine: authored (by the author), reviewed, approve refused
for the author (the API's 403 on screen), approved, verified, released by another qa; then a
new version with its reason (back to draft), and rejected.
"""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from dashboard.signing import statement
from tests.dashboard.browser import ON_BOTH_STORES, WAIT_MS, Board
from tests.dashboard.conftest import PASSWORD, ServedPlant
from tests.dashboard.test_document_page import AUTHOR, SIGNER, new_document

pytestmark = [pytest.mark.timeout(900), pytest.mark.usefixtures("browser_present"), ON_BOTH_STORES]
INVESTIGATOR = "inv-all"


def record(plant: ServedPlant, doc_id: str) -> dict[str, object]:
    found: dict[str, object] = plant.get("auditor", f"/documents/{doc_id}")
    return found


def sign_on_screen(
    board: Board,
    plant: ServedPlant,
    account: str,
    doc_id: str,
    meaning: str,
) -> str:
    """Open the document as ``account``, choose the meaning, read the statement, enter the
    password again, confirm and sign: the text of the page's answer."""
    board.open("/document", account, id=doc_id)
    board.ready("Meaning")
    page = board.page
    page.get_by_test_id("stRadio").get_by_text(meaning, exact=True).click()
    board.settle()
    now = plant.get("auditor", f"/documents/{doc_id}")
    latest = now["versions"][-1]
    declared = statement(account, meaning, latest["version"], doc_id, latest["content_sha256"])
    expect(page.get_by_text(declared, exact=True)).to_be_visible()
    page.get_by_label("Your password, entered again").fill(PASSWORD)
    page.get_by_test_id("stCheckbox").get_by_text("I confirm").click()
    page.get_by_role("button", name="Sign", exact=True).click()
    board.settle()
    alerts = page.get_by_test_id("stAlert")
    expect(
        alerts.filter(has_text="Signed: I,").or_(alerts.filter(has_text="Refused by the API")).first
    ).to_be_visible(timeout=WAIT_MS)
    return board.text()


def test_sign_along_the_state_machine_and_add_a_version(
    board: Board,
    served_plant: ServedPlant,
) -> None:
    for name in (AUTHOR, SIGNER):
        served_plant.add_account(name)
    doc_id = "DOC-BROWSER-1"
    new_document(served_plant, doc_id)

    walk = [
        (AUTHOR, "authored", "draft"),
        (SIGNER, "reviewed", "in_review"),
        (SIGNER, "approved", "approved"),
        (SIGNER, "verified", "approved"),
        (SIGNER, "released", "released"),
    ]
    for step, (account, meaning, state) in enumerate(walk):
        if meaning == "approved":
            # the author may not approve their own version: the API's refusal, as it is
            text = sign_on_screen(board, served_plant, AUTHOR, doc_id, "approved")
            assert "Refused by the API (403 forbidden)" in text, text
            assert f"{AUTHOR} authored version 1 of {doc_id}" in text
            assert record(served_plant, doc_id)["state"] == "in_review"
            board.check_and_shoot("document-approve-refused-for-author")
        text = sign_on_screen(board, served_plant, account, doc_id, meaning)
        assert f"Signed: I, {account}, {meaning} version 1 of {doc_id}" in text, text
        after = record(served_plant, doc_id)
        signatures = after["signatures"]
        assert isinstance(signatures, list) and len(signatures) == step + 1
        made = signatures[-1]
        assert (made["meaning"], made["signer_id"], made["signer_name"], made["version"]) == (
            meaning,
            account,
            account,
            1,
        )
        assert made["status"] == "valid" and after["state"] == state
        assert f"The document is now {state}." in text
        assert board.metric("State") == state
    board.check_and_shoot("document-released")

    # a new version from the screen, by an investigator, with its reason
    board.open("/document", INVESTIGATOR, id=doc_id)
    board.ready("Add version")
    content = {"title": "CoA", "results": [{"analyte": "Assay", "value": 98.9}], "lot": "S-1"}
    board.page.get_by_label("Content (a JSON object)").fill(json.dumps(content))
    board.page.get_by_label("Reason for the change (required)").fill("assay retested")
    board.page.get_by_role("button", name="Add version").click()
    board.settle()
    expect(board.page.get_by_text(f"Version 2 of {doc_id} added")).to_be_visible(timeout=WAIT_MS)
    after = record(served_plant, doc_id)
    versions = after["versions"]
    assert isinstance(versions, list) and len(versions) == 2
    assert (versions[1]["reason"], versions[1]["created_by"], versions[1]["content"]) == (
        "assay retested",
        INVESTIGATOR,
        content,
    )
    assert after["state"] == "draft"
    # the earlier signatures stay, superseded; the diff shows the retested value
    superseded = [s for s in after["signatures"] if s["status"] == "superseded"]  # type: ignore[union-attr]
    assert len(superseded) == len(walk)
    rows = board.csv("version-diff")
    diff = served_plant.get("auditor", f"/documents/{doc_id}/diff", params={"from": 1, "to": 2})
    assert [(r["path"], r["change"]) for r in rows] == [
        (c["path"], c["change"]) for c in diff["changes"]
    ]
    assert ("results[0].value", "changed") in [(r["path"], r["change"]) for r in rows]
    board.check_and_shoot("document-new-version")

    # rejected, on the new version
    text = sign_on_screen(board, served_plant, SIGNER, doc_id, "rejected")
    assert f"Signed: I, {SIGNER}, rejected version 2 of {doc_id}" in text, text
    final = record(served_plant, doc_id)
    assert final["state"] == "rejected" and final["allowed_meanings"] == []
    assert "No signature can be given: the document is rejected." in board.text()
    board.check_and_shoot("document-rejected")
