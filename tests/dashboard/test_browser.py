"""The dashboard's investigation pages in a real browser (tests/dashboard/browser.py), on
a plant served on each store.

Every id and figure the pages are checked for comes from the API's own answer to the same
question, never from a constant: the plant is new on every run.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

import httpx
import pytest

from tests.dashboard.browser import INVESTIGATOR as ACCOUNT
from tests.dashboard.browser import ON_BOTH_STORES, WAIT_MS, Board
from tests.dashboard.conftest import ServedPlant

try:
    from playwright.sync_api import expect
except ImportError:  # the browser_present fixture skips (locally) or fails (in CI)
    expect = None

pytestmark = [pytest.mark.timeout(900), pytest.mark.usefixtures("browser_present"), ON_BOTH_STORES]


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
