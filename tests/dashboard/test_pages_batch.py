"""The batch release page, run with Streamlit's AppTest against the real API on loopback:
what it shows is compared with the API's own checklist, and every release made through
it is checked through the API afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from api.auth.schemas import Role
from dashboard.settings import DashboardSettings
from tests.dashboard.conftest import PASSWORD, ServedPlant
from tests.dashboard.release_plant import (
    QA,
    Candidates,
    add_account,
    answers_lost_on_post,
    checklist,
    input_lots,
    place_hold,
    plant_to_release,
    release_hold,
    segment,
    send,
)
from tests.dashboard.test_pages import button, is_signed_in, metrics, signed_in_at, texts


@pytest.fixture(scope="module")
def release_plant(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[ServedPlant, Candidates]]:
    with plant_to_release(tmp_path_factory.mktemp("release")) as found:
        yield found


@pytest.fixture
def plant(
    release_plant: tuple[ServedPlant, Candidates], monkeypatch: pytest.MonkeyPatch
) -> ServedPlant:
    monkeypatch.setenv("LOTGRAPH_API_URL", release_plant[0].api_url)
    return release_plant[0]


@pytest.fixture
def candidates(release_plant: tuple[ServedPlant, Candidates]) -> Candidates:
    return release_plant[1]


def fill_release_form(
    at: AppTest,
    password: str = PASSWORD,
    confirm: bool = True,
    reason: str = "",
    override: bool = False,
) -> AppTest:
    """Fill the release form as a person would and press its button."""
    fields = {str(t.label): t for t in at.text_input}
    fields["Your password, entered again"].input(password)
    areas = {str(t.label): t for t in at.text_area}
    next(iter(areas.values())).input(reason)
    boxes = {str(c.label): c for c in at.checkbox}
    if confirm:
        boxes["I confirm the statement above: this is my signature"].check()
    if override:
        next(c for label, c in boxes.items() if label.startswith("Override")).check()
    button(at, "Sign and release").click().run()
    assert not at.exception, at.exception
    return at


def release_state(at: AppTest) -> str:
    found = [m for m in texts(at.markdown) if m.startswith("Release state: **")]
    assert len(found) == 1, texts(at.markdown)
    return found[0].split("**")[1]


def findings_shown(at: AppTest) -> list[tuple[str, str]]:
    tables = [d.value for d in at.dataframe if list(d.value.columns)[:2] == ["kind", "id"]]
    if not tables:
        return []
    return list(zip(tables[0]["kind"], tables[0]["id"], strict=True))


def test_the_checklist_as_the_api_gives_it(plant: ServedPlant, candidates: Candidates) -> None:
    batch = (candidates.overridable or candidates.clean)[-1]["batch"]
    lot = input_lots(plant, batch)[0]
    place_hold(plant, lot, "checklist test")
    try:
        expected = checklist(plant, batch)
        at = signed_in_at(QA, "batch", id=batch)
        shown = metrics(at)
        assert release_state(at) == "awaiting release"
        assert shown["Findings"] == str(len(expected["findings"]))
        assert shown["Site"] == expected["site"]
        assert shown["Product"] == expected["product_material_id"]
        assert findings_shown(at) == [(f["kind"], f["id"]) for f in expected["findings"]]
        assert ("lot_on_hold", lot) in findings_shown(at)
        links = [d.value for d in at.dataframe if "link" in d.value.columns][0]["link"]
        for finding, link in zip(expected["findings"], links, strict=True):
            page = {"Lot": "lot?id=", "Document": "document?id="}.get(finding["label"], "search?q=")
            assert link == f"/{page}{segment(finding['id'])}"
        record = expected["batch_record"]
        assert any(f"/document?id={record['id']}" in m for m in texts(at.markdown))
        assert any(f"/custody?batch={batch}" in m for m in texts(at.markdown))
        statement = f"I, {QA}, release batch {batch} by signing version "
        statement += f"{record['current_version']} of {record['id']}"
        assert any(statement in m and record["content_sha256"] in m for m in texts(at.markdown))
        assert any(str(c.label).startswith("Override") for c in at.checkbox)  # can_override
    finally:
        release_hold(plant, lot, "checklist test over")


def test_a_released_batch_shows_its_signature_and_override(plant: ServedPlant) -> None:
    kpis = plant.get(QA, "/kpis")
    overridden = kpis["overrides"]["records"]
    plain = [b for b in kpis["right_first_time"]["records"] if b not in overridden]
    assert plain, "a dull plant: no batch released"
    expected = checklist(plant, plain[0])
    at = signed_in_at(QA, "batch", id=plain[0])
    assert release_state(at) == "released"
    signed = expected["release"]
    assert any(signed["signature_id"] in s and signed["signer_id"] in s for s in texts(at.success))
    assert not any("override" in w for w in texts(at.warning))
    assert not [b for b in at.button if b.label == "Sign and release"]  # nothing to release
    if overridden:  # the generator signs a share of the releases as overrides
        expected = checklist(plant, overridden[0])["release"]
        at = signed_in_at(QA, "batch", id=overridden[0])
        warned = [w for w in texts(at.warning) if "Released by override" in w]
        assert len(warned) == 1 and expected["override_reason"] in warned[0]
        assert all(f in warned[0] for f in expected["overridden_findings"])


def test_refused_while_a_hold_blocks_then_released(
    plant: ServedPlant, candidates: Candidates
) -> None:
    batch = candidates.clean[0]["batch"]
    lot = input_lots(plant, batch)[0]
    place_hold(plant, lot, "release page test")
    at = signed_in_at(QA, "batch", id=batch)
    assert ("lot_on_hold", lot) in findings_shown(at)

    fill_release_form(at, confirm=False)
    assert any("Tick the confirmation" in e for e in texts(at.error))
    fill_release_form(at, password=PASSWORD + "x")  # a wrong password does not sign out
    assert any(e.startswith("Release refused (401") for e in texts(at.error)), texts(at.error)
    assert is_signed_in(at)
    fill_release_form(at)
    refused = [e for e in texts(at.error) if e.startswith("Release refused (409")]
    assert len(refused) == 1 and f"lot_on_hold {lot}" in refused[0], texts(at.error)
    assert checklist(plant, batch)["release_state"] == "awaiting_release"  # nothing signed

    release_hold(plant, lot, "release page test over")
    at = signed_in_at(QA, "batch", id=batch)
    assert any("Nothing blocks the release" in s for s in texts(at.success))
    fill_release_form(at)
    after = checklist(plant, batch)
    assert after["release_state"] == "released"
    assert after["release"]["signer_id"] == QA and not after["release"]["override"]
    assert release_state(at) == "released"
    assert any(after["release"]["signature_id"] in s for s in texts(at.success))
    assert not at.session_state["lg_release_keys"].get(batch)  # a new release, a new key


def test_an_investigator_is_not_offered_the_release_and_the_author_told_why(
    plant: ServedPlant, candidates: Candidates
) -> None:
    batch = (candidates.clean[1:] + candidates.overridable)[0]["batch"]
    expected = checklist(plant, batch)
    investigator = add_account(plant, "inv-release", Role.INVESTIGATOR)
    at = signed_in_at(investigator, "batch", id=batch)
    assert not [b for b in at.button if b.label == "Sign and release"]
    assert any("Releasing a batch needs another role" in c for c in texts(at.caption))
    body = {"password": PASSWORD, "override": True, "reason": "not mine to sign"}
    refused = send(plant, investigator, f"/batches/{segment(batch)}/release", body)
    assert refused.status_code == 403, refused.text

    author = add_account(plant, expected["batch_record"]["version_author"])
    at = signed_in_at(author, "batch", id=batch)
    assert any("another qa person must release it" in w for w in texts(at.warning))
    assert not [b for b in at.button if b.label == "Sign and release"]
    body = {"password": PASSWORD, "override": True, "reason": "self-release"}
    answer = send(plant, author, f"/batches/{segment(batch)}/release", body)
    assert answer.status_code == 403, answer.text
    assert checklist(plant, batch)["release_state"] == "awaiting_release"


def test_released_by_override_once_even_after_a_lost_answer(
    plant: ServedPlant, candidates: Candidates
) -> None:
    batch = (candidates.clean[1:] + candidates.overridable)[0]["batch"]
    lot = input_lots(plant, batch)[0]
    if checklist(plant, batch)["can_release"]:  # nothing to override: a hold to override
        place_hold(plant, lot, "override test")
    before = checklist(plant, batch)
    assert before["can_override"] and before["findings"]
    reason = "the findings were assessed under the deviation procedure"

    at = signed_in_at(QA, "batch", id=batch)
    fill_release_form(at, override=True)
    assert any("an override needs the reason" in e for e in texts(at.error)), texts(at.error)

    # the API signs, but its answer is lost on the way: the key stays for the retry
    api = at.session_state["lg_settings"]
    with answers_lost_on_post(plant.api_url) as lossy:
        at.session_state["lg_settings"] = DashboardSettings(api_url=lossy)
        fill_release_form(at, override=True, reason=reason)
    assert any("No answer from the API" in e for e in texts(at.error)), texts(at.error)
    assert checklist(plant, batch)["release_state"] == "released"
    key = at.session_state["lg_release_keys"][batch]["key"]
    at.session_state["lg_settings"] = api
    fill_release_form(at, override=True, reason=reason)  # the retry: the first answer
    after = checklist(plant, batch)
    signed = after["release"]
    assert after["release_state"] == "released" and signed["override"]
    assert signed["override_reason"] == reason
    assert signed["overridden_findings"] == [f"{f['kind']} {f['id']}" for f in before["findings"]]
    assert any("Released by override" in w and reason in w for w in texts(at.warning))
    # the same key asks the same again: the first answer, not a second signature
    body: dict[str, Any] = {"password": PASSWORD, "override": True, "reason": reason}
    again = send(plant, QA, f"/batches/{segment(batch)}/release", body, key=key)
    assert again.status_code == 201 and again.json()["release"] == signed, again.text
    custody = plant.get(QA, f"/batches/{segment(batch)}/custody")
    releases = [s for s in custody["signatures"] if s["meaning"] == "released"]
    assert [s["signature_id"] for s in releases] == [signed["signature_id"]]  # signed once
