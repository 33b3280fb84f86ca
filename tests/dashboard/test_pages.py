"""Every dashboard page, run with Streamlit's AppTest against the real API on loopback.

The plant comes from a random seed, so every expectation is read from the API's own
answers (or the plant's bundle.json), never written down here.
"""

from __future__ import annotations

import io
import json
import time
import zipfile
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
from streamlit import dataframe_util
from streamlit.testing.v1 import AppTest

from dashboard import display, figures
from dashboard.settings import DashboardSettings
from queries.evidence import verify_evidence
from tests.dashboard.conftest import PASSWORD, ServedPlant, free_port, serve_plant

APP = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"
PAGES = {
    "search": "views/search.py",
    "recall": "views/recall.py",
    "impact": "views/impact.py",
    "impurity": "views/impurity.py",
    "custody": "views/custody.py",
    "work": "views/work.py",
    "batch": "views/batch.py",
}

# --------------------------------------------------------------------------- helpers


@pytest.fixture
def api_env(served_plant: ServedPlant, monkeypatch: pytest.MonkeyPatch) -> Iterator[ServedPlant]:
    """The dashboard pointed at the served plant's API."""
    monkeypatch.setenv("LOTGRAPH_API_URL", served_plant.api_url)
    yield served_plant


def app() -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()
    assert not at.exception
    return at


def sign_in(at: AppTest, account: str, password: str = PASSWORD) -> AppTest:
    fields = {t.label: t for t in at.text_input}
    fields["Username"].input(account)
    fields["Password"].input(password)
    button(at, "Sign in").click().run()
    assert not at.exception, at.exception
    return at


def open_page(at: AppTest, page: str, **params: str | list[str]) -> AppTest:
    """Switch to a page with these query parameters (and no others) and run it."""
    at.query_params.clear()
    at.query_params.update(params)
    at.switch_page(PAGES[page]).run()
    assert not at.exception, at.exception
    return at


def signed_in_at(account: str, page: str, **params: str | list[str]) -> AppTest:
    at = sign_in(app(), account)
    assert is_signed_in(at)
    return open_page(at, page, **params)


def button(at: AppTest, label: str) -> Any:
    found = [b for b in at.button if b.label == label]
    assert len(found) == 1, f"{label!r} not among {[b.label for b in at.button]}"
    return found[0]


def is_signed_in(at: AppTest) -> bool:
    labels = [b.label for b in at.button]
    return "Sign out" in labels and "Sign in" not in labels


def shows_sign_in_form(at: AppTest) -> bool:
    return [t.label for t in at.text_input] == ["Username", "Password"] and [
        b.label for b in at.button
    ] == ["Sign in"]


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def table(at: AppTest, *columns: str) -> pd.DataFrame:
    """The one table on the page whose columns start with these."""
    found = [
        d.value
        for d in at.dataframe
        if [str(c) for c in d.value.columns][: len(columns)] == list(columns)
    ]
    shown = [list(d.value.columns) for d in at.dataframe]
    assert len(found) == 1, f"no single table starting {columns}; tables: {shown}"
    frame: pd.DataFrame = found[0]
    return frame


def texts(elements: Any) -> list[str]:
    return [str(e.value) for e in elements]


def subheaders(at: AppTest) -> list[str]:
    return texts(at.subheader)


def figure(at: AppTest, key: str) -> dict[str, Any]:
    charts = [c for c in at.get("plotly_chart") if c.key == key]
    assert len(charts) == 1, f"no chart {key!r}"
    spec: dict[str, Any] = json.loads(charts[0].proto.spec)
    return spec


def traces_named(spec: dict[str, Any], name: str) -> list[dict[str, Any]]:
    return [t for t in spec["data"] if t.get("name") == name]


def refused(plant: ServedPlant, account: str, path: str, **kw: Any) -> int | None:
    """The HTTP status with which the API refuses this GET, or None if it answers."""
    try:
        plant.get(account, path, **kw)
    except httpx.HTTPStatusError as exc:
        return exc.response.status_code
    return None


def planted(plant: ServedPlant) -> dict[str, str]:
    found: dict[str, str] = plant.meta["synthetic"]["planted"]
    return found


# --------------------------------------------------------------------------- sign-in


def test_sign_in_form_refuses_a_wrong_password(api_env: ServedPlant) -> None:
    at = app()
    assert shows_sign_in_form(at)
    assert not at.error

    # one failure only (five lock the account), and on an account no other test signs in
    sign_in(at, "auditor", PASSWORD + "x")
    assert at.error and "Sign-in refused" in at.error[0].value
    assert shows_sign_in_form(at)
    assert "lg_token" not in at.session_state

    # nothing typed is refused before the API is asked
    for field in at.text_input:
        field.input("")
    button(at, "Sign in").click().run()
    assert texts(at.error) == ["Enter your username and password."]
    assert shows_sign_in_form(at)

    # the right password (which also clears the failure count)
    sign_in(at, "auditor")
    assert is_signed_in(at)
    assert not at.error
    assert at.session_state["lg_username"] == "auditor"


def test_sign_in_then_sign_out(api_env: ServedPlant) -> None:
    at = sign_in(app(), "inv-all")
    assert is_signed_in(at)
    assert not at.error
    assert at.session_state["lg_username"] == "inv-all"
    assert any("inv-all" in c for c in texts(at.caption))
    assert "Work" in texts(at.title)  # the default page

    session_id = at.session_state["lg_session_id"]
    button(at, "Sign out").click().run()
    assert not at.exception
    assert shows_sign_in_form(at)
    assert "lg_token" not in at.session_state
    assert any("signed out" in i for i in texts(at.info))
    # the API has ended the session: its id opens nothing any more
    reply = httpx.post(f"{api_env.api_url}/auth/sessions/token", json={"session_id": session_id})
    assert reply.status_code == 401


def _end_in_the_api(plant: ServedPlant, at: AppTest) -> None:
    """Sign the tab's session out elsewhere (another tab, or its expiry): the API ends it."""
    session_id = at.session_state["lg_session_id"]
    reply = httpx.post(f"{plant.api_url}/auth/sessions/end", json={"session_id": session_id})
    assert reply.status_code == 204, reply.text


def test_an_expired_token_is_renewed_while_its_session_lives(api_env: ServedPlant) -> None:
    lot = planted(api_env)["lot"]
    at = signed_in_at("inv-all", "recall", lot=lot)
    assert metrics(at)
    first = at.session_state["lg_token"]

    at.session_state["lg_expires_at"] = time.time() - 1
    at.run()
    assert not at.exception
    assert is_signed_in(at) and metrics(at)
    assert at.session_state["lg_token"] != first  # a new token for the same session

    # once the session has ended, an expired token asks to sign in again
    _end_in_the_api(api_env, at)
    at.session_state["lg_expires_at"] = time.time() - 1
    at.run()
    assert not at.exception
    assert shows_sign_in_form(at)
    assert not at.metric
    assert any("session has ended" in i for i in texts(at.info))
    assert "lg_token" not in at.session_state and "lg_session_id" not in at.session_state


def test_a_token_the_api_refuses_ends_the_session(api_env: ServedPlant) -> None:
    lot = planted(api_env)["lot"]
    at = signed_in_at("inv-all", "recall", lot=lot)
    # a token refused while its session lives (the API's secret changed, say): a new one
    at.session_state["lg_token"] = "not-a-token"
    at.run()
    assert not at.exception
    assert is_signed_in(at) and metrics(at)

    # the session ended in another tab: the next question is refused, and the form shown
    _end_in_the_api(api_env, at)
    other = next(r["lot_id"] for r in api_env.csv_rows("lots.csv") if r["lot_id"] != lot)
    open_page(at, "recall", lot=other)  # a question not asked yet: it goes to the API
    assert shows_sign_in_form(at)
    assert any("session has ended" in i for i in texts(at.info))
    assert "lg_token" not in at.session_state


def test_a_session_the_api_cannot_be_asked_about_is_kept_for_later(
    api_env: ServedPlant,
) -> None:
    lot = planted(api_env)["lot"]
    at = signed_in_at("inv-all", "recall", lot=lot)
    session_id = at.session_state["lg_session_id"]
    at.session_state["lg_settings"] = DashboardSettings(api_url=f"http://127.0.0.1:{free_port()}")
    at.session_state["lg_expires_at"] = time.time() - 1  # a new token is needed: no answer
    at.run()
    assert not at.exception
    assert shows_sign_in_form(at)
    assert any("Cannot resume your session now" in i for i in texts(at.info))
    assert at.session_state["lg_session_id"] == session_id
    # the API answers again: the same session, signed in, without the password
    at.session_state["lg_settings"] = DashboardSettings(api_url=api_env.api_url)
    at.run()
    assert not at.exception
    assert is_signed_in(at) and metrics(at)


def test_a_link_opened_signed_out_opens_its_page_after_sign_in(api_env: ServedPlant) -> None:
    lot = planted(api_env)["lot"]
    expected = api_env.post("inv-all", "/investigations/recall", {"lot_ids": [lot]})
    at = app()
    at.query_params["lot"] = lot
    at.switch_page(PAGES["recall"]).run()
    assert shows_sign_in_form(at)
    assert not at.metric

    sign_in(at, "inv-all")
    assert is_signed_in(at)
    assert "Recall" in texts(at.title)
    assert at.query_params.get("lot") == lot
    assert metrics(at)["Affected lots"] == str(len(expected["lots"]))


# --------------------------------------------------------------------------- recall


def check_recall(at: AppTest, expected: dict[str, Any]) -> None:
    shown = metrics(at)
    assert shown["Affected lots"] == str(len(expected["lots"]))
    assert shown["Batches"] == str(len(expected["batches"]))
    assert shown["Customers"] == str(len(expected["customers"]))
    on_hand = sum(1 for lot in expected["lots"] if lot["on_hand"] > 0)
    assert shown["Lots with stock on hand"] == str(on_hand)
    lots = table(at, "id", "status", "material_id", "site", "unit")
    assert list(lots["id"]) == [lot["id"] for lot in expected["lots"]]
    if expected["customers"]:
        customers = table(at, "id", "name", "lots", "shipments")
        assert list(customers["id"]) == [c["id"] for c in expected["customers"]]
    else:
        assert "No affected lot was shipped to a customer." in texts(at.caption)
    if expected["batches"]:
        batches = table(at, "id", "status", "site", "product_material_id")
        assert list(batches["id"]) == [b["id"] for b in expected["batches"]]
    short = [b["lot"] for b in expected["mass_balance"] if not b["balanced"]]
    errors = [e for e in texts(at.error) if e.startswith("Shortfall")]
    assert len(errors) == len(short)
    for lot, error in zip(short, errors, strict=True):
        assert f"lot {lot} " in error
    balance = table(at, "lot", "unit", "expected")
    assert list(balance["lot"]) == [b["lot"] for b in expected["mass_balance"]]
    # the trace graph draws every node of the roots' forward traces
    spec = figure(at, "trace-graph")
    drawn = {c[0] for t in spec["data"] for c in t.get("customdata") or []}
    assert set(expected["roots"]) <= drawn
    assert {lot["id"] for lot in expected["lots"]} <= drawn


def test_recall_of_the_planted_lot(api_env: ServedPlant) -> None:
    lot = planted(api_env)["lot"]
    expected = api_env.post("inv-all", "/investigations/recall", {"lot_ids": [lot]})
    at = signed_in_at("inv-all", "recall", lot=lot)
    assert expected["roots"] == [lot]
    check_recall(at, expected)
    assert [t.value for t in at.text_input if t.label == "Lot ids"] == [lot]


def test_recall_of_several_lots_by_repeated_and_comma_separated_params(
    api_env: ServedPlant,
) -> None:
    first = planted(api_env)["lot"]
    second = next(s for s in api_env.meta["synthetic"]["mass_balance_shortfalls"] if s != first)
    expected = api_env.post("inv-all", "/investigations/recall", {"lot_ids": [first, second]})
    assert sorted(expected["roots"]) == sorted([first, second])

    at = signed_in_at("inv-all", "recall", lot=[first, second])
    check_recall(at, expected)
    assert at.text_input[0].value == f"{first} {second}"

    open_page(at, "recall", lot=f"{first},{second}")
    check_recall(at, expected)
    open_page(at, "recall", lot=f"{first}, {second};{first}")  # blanks, semicolons, repeats
    check_recall(at, expected)


def test_recall_shows_a_mass_balance_shortfall(api_env: ServedPlant) -> None:
    shortfalls = api_env.meta["synthetic"]["mass_balance_shortfalls"]
    assert shortfalls
    at = signed_in_at("inv-all", "recall")
    for lot in shortfalls:
        expected = api_env.post("inv-all", "/investigations/recall", {"lot_ids": [lot]})
        balance = next(b for b in expected["mass_balance"] if b["lot"] == lot)
        assert not balance["balanced"]
        open_page(at, "recall", lot=lot)
        errors = [e for e in texts(at.error) if e.startswith("Shortfall")]
        assert len(errors) == 1 and f"lot {lot} " in errors[0]
        assert f"{balance['shortfall']} {balance['unit']} unaccounted" in errors[0]
        assert not at.success
        check_recall(at, expected)


def test_recall_of_a_balanced_lot_says_so(api_env: ServedPlant) -> None:
    shortfalls = set(api_env.meta["synthetic"]["mass_balance_shortfalls"])
    lot = planted(api_env)["lot"]
    expected = api_env.post("inv-all", "/investigations/recall", {"lot_ids": [lot]})
    if lot in shortfalls or not all(b["balanced"] for b in expected["mass_balance"]):
        pytest.skip("the planted lot is short in this plant")
    at = signed_in_at("inv-all", "recall", lot=lot)
    assert not [e for e in texts(at.error) if e.startswith("Shortfall")]
    assert any("fully accounted" in s for s in texts(at.success))


def test_recall_of_an_unknown_lot_and_of_no_lot(api_env: ServedPlant) -> None:
    at = signed_in_at("inv-all", "recall", lot="L-NO-SUCH-LOT")
    assert any(
        i.startswith("Nothing found: no lot") and "L-NO-SUCH-LOT" in i for i in texts(at.info)
    )
    assert not at.metric and not at.error

    # one known and one unknown lot: the unknown one is named
    open_page(at, "recall", lot=[planted(api_env)["lot"], "L-NO-SUCH-LOT"])
    assert any("L-NO-SUCH-LOT" in i for i in texts(at.info))
    assert not at.metric

    open_page(at, "recall")
    assert any(i.startswith("Enter one or more lot ids") for i in texts(at.info))
    assert not at.metric and not at.error


def test_recall_form_puts_the_lots_in_the_query_string(api_env: ServedPlant) -> None:
    lot = planted(api_env)["lot"]
    expected = api_env.post("inv-all", "/investigations/recall", {"lot_ids": [lot]})
    at = signed_in_at("inv-all", "recall")
    at.text_input[0].input(f" {lot} ")
    button(at, "Investigate").click().run()
    assert not at.exception
    assert at.query_params.get("lot") == lot
    check_recall(at, expected)


# --------------------------------------------------------------------------- impact


def check_impact(at: AppTest, expected: dict[str, Any]) -> None:
    shown = metrics(at)
    assert shown["Open batches"] == str(len(expected["open_batches"]))
    assert shown["Supplier lots"] == str(len(expected["lots"]))
    assert shown["Batches"] == str(len(expected["batches"]))
    assert shown["Downstream lots"] == str(len(expected["downstream_lots"]))
    assert shown["Customers"] == str(len(expected["customers"]))
    if expected["open_batches"]:
        open_table = table(at, "id", "custody", "status")
        assert list(open_table["id"]) == [b["id"] for b in expected["open_batches"]]
        assert list(open_table["custody"]) == [
            f"/custody?batch={b['id']}" for b in expected["open_batches"]
        ]
    else:
        assert any("still open" in c for c in texts(at.caption))
    id_tables = [list(d.value["id"]) for d in at.dataframe if list(d.value.columns) == ["id"]]
    wanted = [
        expected[key]
        for key in ("lots", "batches", "downstream_lots", "customers")
        if expected[key]
    ]
    assert id_tables == wanted


def test_impact_of_the_planted_supplier(api_env: ServedPlant) -> None:
    supplier = planted(api_env)["supplier"]
    expected = api_env.get("inv-all", f"/suppliers/{supplier}/impact")
    assert expected["lots"]
    at = signed_in_at("inv-all", "impact", supplier=supplier)
    check_impact(at, expected)
    assert any(c.startswith(f"Supplier {supplier}") for c in texts(at.caption))


def test_impact_since_a_date(api_env: ServedPlant) -> None:
    supplier = planted(api_env)["supplier"]
    lots = sorted(
        row["created_at"][:10]
        for row in api_env.csv_rows("lots.csv")
        if row["supplier_id"] == supplier
    )
    since = lots[len(lots) // 2]
    expected = api_env.get("inv-all", f"/suppliers/{supplier}/impact", params={"since": since})
    at = signed_in_at("inv-all", "impact", supplier=supplier, since=since)
    check_impact(at, expected)
    assert any("lots made from" in c for c in texts(at.caption))

    # a date the API cannot read is its 400, shown as an error
    open_page(at, "impact", supplier=supplier, since="not-a-date")
    assert any("could not answer" in e and "not-a-date" in e for e in texts(at.error))
    assert not at.metric


def test_impact_of_an_unknown_supplier(api_env: ServedPlant) -> None:
    at = signed_in_at("inv-all", "impact", supplier="SUP-NO-SUCH")
    assert any(i.startswith("Nothing found") and "SUP-NO-SUCH" in i for i in texts(at.info))
    assert not at.metric and not at.error
    open_page(at, "impact")
    assert any(i.startswith("Enter a supplier id") for i in texts(at.info))


# --------------------------------------------------------------------------- impurity

DRIFT_LOTS = 2_000  # the planted drift stands out on a plant of this size (not of 300 lots)


@pytest.fixture(scope="module")
def drift_plant(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedPlant]:
    """A 2,000-lot plant from a random seed, with the API on loopback: its in-specification
    drift has enough tested units to rank first when units are flagged out of trend."""
    with serve_plant(tmp_path_factory.mktemp("drift"), DRIFT_LOTS) as served:
        yield served


@pytest.fixture
def drift_env(drift_plant: ServedPlant, monkeypatch: pytest.MonkeyPatch) -> ServedPlant:
    monkeypatch.setenv("LOTGRAPH_API_URL", drift_plant.api_url)
    return drift_plant


def drawn_points(series: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        p
        for p in series["results"]
        if not p.get("redacted") and p.get("tested_at") and p.get("value") is not None
    ]


def series_label(series: dict[str, Any]) -> str:
    return f"{series['product'] or '(no product)'} / {series['method'] or '(no method)'}"


def control_charts(at: AppTest) -> dict[str, dict[str, Any]]:
    """The page's control charts by series label (their keys are control-chart-LABEL)."""
    return {
        c.key.removeprefix("control-chart-"): json.loads(c.proto.spec)
        for c in at.get("plotly_chart")
        if c.key and c.key.startswith("control-chart-")
    }


def shown_cells(at: AppTest, *columns: str) -> pd.DataFrame:
    """The text a styled table shows (its Styler's display values), for the one table
    whose columns start with these."""
    found = [
        d
        for d in at.dataframe
        if [str(c) for c in d.value.columns][: len(columns)] == list(columns)
    ]
    assert len(found) == 1
    frame: pd.DataFrame = dataframe_util.convert_arrow_bytes_to_pandas_df(
        found[0].proto.arrow_data.styler.display_values
    )
    return frame


def impurity_answer(
    plant: ServedPlant, account: str, analyte: str, flag: str = "any", until: str | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The API's own answers to the page's two questions."""
    answer = plant.post(
        account,
        "/investigations/impurity",
        {"analyte": analyte, "flag": flag, **({"baseline_until": until} if until else {})},
    )
    params: dict[str, Any] = {"limit": 5000, **({"baseline_until": until} if until else {})}
    results = plant.get(account, f"/analytes/{analyte}/results", params=params)
    return answer, results


def check_impurity(at: AppTest, answer: dict[str, Any], results: dict[str, Any]) -> None:
    """The page shows these answers: metrics, factors, flagged results, one control chart
    per series with its limits and points."""
    shown = metrics(at)
    assert shown["Units tested"] == display.count(answer["units_tested"], answer["units_hidden"])
    assert shown["Units flagged"] == str(answer["units_flagged"])
    assert shown["Factors tested"] == str(answer["factors_tested"])
    factors = answer["factors"]
    if factors:
        ranked = table(at, "rank", "kind", "id", "supplier_lot", "product", "depth")
        for column in ("kind", "id", "supplier_lot", "product", "depth", "affected", "total"):
            assert list(ranked[column]) == [f[column] for f in factors], column
        assert list(ranked["rank"]) == list(range(1, len(factors) + 1))
        cells = shown_cells(at, "rank", "kind", "id")
        assert list(cells["p"]) == [figures.readable_p(f["score"]) for f in factors]
        assert list(cells["q"]) == [figures.readable_p(f["q_score"]) for f in factors]
        assert not any("e+" in text or text == "0" for text in [*cells["p"], *cells["q"]])
        assert list(cells["lift"]) == [
            "only in flagged units" if f["lift"] is None else f"{f['lift']:.3g}" for f in factors
        ]
        q_line = (
            f"q: p corrected for testing {answer['factors_tested']} factors at once "
            "(Benjamini-Hochberg): the expected share of false leads among factors this "
            "strong or stronger."
        )
        assert q_line in texts(at.caption)
    if answer["flagged"]:
        flagged = table(at, "id", "reason", "series")
        assert list(flagged["id"]) == [f.get("result_id", f.get("id")) for f in answer["flagged"]]
        assert list(flagged["reason"]) == [f.get("reason", "redacted") for f in answer["flagged"]]
        assert list(flagged["series"]) == [f.get("series", "redacted") for f in answer["flagged"]]

    points = drawn_points(results)
    charts = control_charts(at)
    drawn_series = {p["series"] for p in points}
    assert set(charts) == drawn_series
    for series in results["series"]:
        label = series_label(series)
        if label not in charts:
            continue
        spec = charts[label]
        mine = [p for p in points if p["series"] == label]
        names = [t["name"] for t in spec["data"]]
        [within] = traces_named(spec, "in specification, in trend")
        assert len(within["x"]) == sum(1 for p in mine if not p["flagged"])
        oot = [p for p in mine if p["oot"] and not p["oos"]]
        oos = [p for p in mine if p["oos"]]
        for name, members, symbol in (
            ("out of trend (OOT)", oot, "triangle-up"),
            ("out of specification (OOS)", oos, "diamond"),
        ):
            found = traces_named(spec, name)
            if members:
                assert len(found) == 1 and found[0]["marker"]["symbol"] == symbol
                assert sorted(found[0]["y"]) == sorted(p["value"] for p in members)
            else:
                assert not found
        times = sorted(p["tested_at"] for p in mine)
        lines = {t["name"]: t for t in spec["data"] if t.get("mode") == "lines"}
        expected_lines = {}
        if series["centre"] is not None:
            expected_lines[f"centre {series['centre']:.3g}"] = series["centre"]
        if series["evaluated"]:
            upper, lower = series["upper_control"], series["lower_control"]
            expected_lines[f"upper control limit (+3σ) {upper:.3g}"] = upper
            expected_lines[f"lower control limit (-3σ) {lower:.3g}"] = lower
        product = series["product"] or "(no product)"
        for limit in series["spec_upper"]:
            expected_lines[f"upper spec {product} {limit:g}"] = limit
        for limit in series["spec_lower"]:
            expected_lines[f"lower spec {product} {limit:g}"] = limit
        assert set(lines) == set(expected_lines), names
        for name, level in expected_lines.items():
            assert lines[name]["y"] == [level, level], name
            assert lines[name]["x"] == [times[0], times[-1]], name  # the series' time span
        shaded = [
            (shape["x0"], shape["x1"])
            for shape in spec["layout"].get("shapes", [])
            if shape.get("name") == f"baseline ({series['baseline_points']} results)"
        ]
        if series["baseline_from"]:
            assert shaded == [(series["baseline_from"], series["baseline_to"])]
        assert baseline_caption(series, answer["baseline_until"]) in texts(at.caption)


def baseline_caption(series: dict[str, Any], until: str | None) -> str:
    """What the page says under a series' chart about its baseline and limits."""
    day = until[:10] if until else None
    if series["baseline_points"]:
        which = f"before {day}" if day else "the first"
        text = (
            f"Baseline: {series['baseline_points']} in-specification results ({which}), "
            f"{series['baseline_from'][:10]} to {series['baseline_to'][:10]}"
        )
    else:
        text = "Baseline: no in-specification result" + (f" before {day}" if day else "")
    if series["evaluated"]:
        return text + (
            f"; centre {series['centre']:.3g}, sigma {series['sigma']:.3g}, control limits "
            f"{series['lower_control']:.3g} to {series['upper_control']:.3g}."
        )
    return text + f"; not evaluated: {series['note']}."


def test_readable_p_values() -> None:
    assert figures.readable_p(0.0) == "1"
    assert figures.readable_p(-0.5) == "1"
    assert figures.readable_p(1.3872161) == "0.041"
    assert figures.readable_p(0.3) == "0.5"
    assert figures.readable_p(11.49485) == "3.2e-12"
    assert figures.readable_p(12.0) == "1e-12"
    assert figures.readable_p(4.0) == "1e-4"
    assert figures.readable_p(11.0001) == "1e-11"  # 9.998e-12 reads as 1e-11
    assert figures.readable_p(400.2) == "6.3e-401"  # far below what a float holds


def test_impurity_of_the_planted_analyte(api_env: ServedPlant) -> None:
    analyte = planted(api_env)["analyte"]
    expected, results = impurity_answer(api_env, "inv-all", analyte)
    factors = expected["factors"]
    assert factors and expected["flag"] == "any"

    at = signed_in_at("inv-all", "impurity", analyte=analyte)
    check_impurity(at, expected, results)
    assert at.radio[0].value == "any" and at.date_input[0].value is None
    assert "flag" not in at.query_params and "baseline_until" not in at.query_params
    assert at.selectbox[0].value == "(none)"
    assert "factor" not in at.query_params
    points = drawn_points(results)
    charts = control_charts(at)
    names = {t["name"] for spec in charts.values() for t in spec["data"]}

    # pick factors one after another (each pick must land, not just the first): the
    # first, one with other flagged units (or the second), then the first again
    first = factors[0]
    other = next(
        (f for f in factors[1:] if set(f["flagged_units"]) != set(first["flagged_units"])),
        factors[1] if len(factors) > 1 else first,
    )
    assert f"{first['kind']} {first['id']}" not in names
    for factor in [first, other, first]:
        name = f"{factor['kind']} {factor['id']}"
        at.selectbox[0].select(name).run()
        assert not at.exception
        assert at.query_params.get("factor") == name
        units = set(factor["flagged_units"])
        circled = [t for spec in control_charts(at).values() for t in traces_named(spec, name)]
        hits = [p for p in points if units.intersection(p["units"])]
        assert sum(len(t["x"]) for t in circled) == len(hits)
        assert sorted(y for t in circled for y in t["y"]) == sorted(p["value"] for p in hits)
        note = (
            f"{name}: {factor['affected']} of the {factor['total']} {factor['product']} "
            "units that have it are flagged"
        )
        assert any(note in c for c in texts(at.caption))
        if hits:  # the chart with the circled units comes first
            keys = [c.key for c in at.get("plotly_chart")]
            assert keys[0] in {f"control-chart-{p['series']}" for p in hits}
    # the first factor is the planted cause: it does flag drawn points
    assert any(set(factors[0]["flagged_units"]).intersection(p["units"]) for p in points)

    # back to none: the parameter goes, the highlight too
    at.selectbox[0].select("(none)").run()
    assert "factor" not in at.query_params
    assert {t["name"] for spec in control_charts(at).values() for t in spec["data"]} == names


def test_impurity_out_of_trend_ranks_the_drift_first(drift_env: ServedPlant) -> None:
    drift = drift_env.meta["synthetic"]["drift"]
    cause = drift_env.meta["synthetic"]["planted"]
    analyte = drift["analyte"]
    # the baseline an investigator picks for a suspected change: the results before it
    every = drift_env.get("inv-all", f"/analytes/{analyte}/results", params={"limit": 50_000})
    until = min(
        p["tested_at"] for p in every["results"] if set(drift["units"]).intersection(p["units"])
    )[:10]
    expected, results = impurity_answer(drift_env, "inv-all", analyte, "oot", until)

    at = signed_in_at("inv-all", "impurity", analyte=analyte, flag="oot", baseline_until=until)
    assert at.radio[0].value == "oot"
    check_impurity(at, expected, results)
    ranked = table(at, "rank", "kind", "id", "supplier_lot")
    top = ranked.iloc[0]
    assert (top["kind"], top["id"], top["supplier_lot"]) == (
        "supplier_lot",
        drift["lot"],
        drift["supplier_lot"],
    ), f"seed {drift_env.seed}"
    assert top["product"] == drift["product"]
    # every flagged result is out of trend (within specification)
    assert all(f["reason"].startswith("oot:") for f in expected["flagged"])
    assert set(table(at, "id", "reason", "series")["reason"]) <= {f"oot:{n}" for n in (1, 2, 3, 4)}
    # the drift's units are out of trend on their chart, which comes first once its lot
    # is picked
    drift_label = f"{drift['product']} / {drift['method']}"
    [trending] = traces_named(control_charts(at)[drift_label], "out of trend (OOT)")
    drift_values = [
        p["value"]
        for p in drawn_points(results)
        if p["series"] == drift_label and set(drift["units"]).intersection(p["units"])
    ]
    assert drift_values and set(drift_values) <= set(trending["y"])
    at.selectbox[0].select(f"supplier_lot {drift['lot']}").run()
    assert at.get("plotly_chart")[0].key == f"control-chart-{drift_label}"
    [circled] = traces_named(control_charts(at)[drift_label], f"supplier_lot {drift['lot']}")
    assert sorted(circled["y"]) == sorted(drift_values)

    # the flag is a widget too: out of specification ranks the planted cause first
    at.radio[0].set_value("oos").run()
    assert not at.exception
    assert at.query_params.get("flag") == "oos"
    expected, results = impurity_answer(drift_env, "inv-all", analyte, "oos", until)
    check_impurity(at, expected, results)
    top = table(at, "rank", "kind", "id", "supplier_lot").iloc[0]
    assert (top["kind"], top["id"]) == ("supplier_lot", cause["lot"]), f"seed {drift_env.seed}"

    # any: the default, which the query string leaves out
    at.radio[0].set_value("any").run()
    assert "flag" not in at.query_params
    check_impurity(at, *impurity_answer(drift_env, "inv-all", analyte, "any", until))


def test_impurity_baseline_until_a_date(api_env: ServedPlant) -> None:
    analyte = planted(api_env)["analyte"]
    _, results = impurity_answer(api_env, "inv-all", analyte)
    times = sorted(p["tested_at"] for p in drawn_points(results))
    until = times[len(times) // 2][:10]  # half-way through the results

    at = signed_in_at("inv-all", "impurity", analyte=analyte)
    at.date_input[0].set_value(date.fromisoformat(until)).run()
    assert not at.exception
    assert at.query_params.get("baseline_until") == until
    expected, results = impurity_answer(api_env, "inv-all", analyte, "any", until)
    assert expected["baseline_until"].startswith(until)
    check_impurity(at, expected, results)
    evaluated = [s for s in results["series"] if s["evaluated"]]
    assert evaluated
    for series in evaluated:
        assert series["baseline_to"] < until
    assert any(f"(before {until})" in c for c in texts(at.caption))

    # a link with the date and a flag opens the same question
    at = signed_in_at("inv-all", "impurity", analyte=analyte, flag="oot", baseline_until=until)
    assert at.radio[0].value == "oot" and at.date_input[0].value == date.fromisoformat(until)
    check_impurity(at, *impurity_answer(api_env, "inv-all", analyte, "oot", until))

    # cleared: the parameter goes, the first 20 results are the baseline again
    at.date_input[0].set_value(None).run()
    assert "baseline_until" not in at.query_params
    check_impurity(at, *impurity_answer(api_env, "inv-all", analyte, "oot"))


def test_impurity_link_with_a_wrong_flag_or_date(api_env: ServedPlant) -> None:
    analyte = planted(api_env)["analyte"]
    at = signed_in_at("inv-all", "impurity", analyte=analyte, flag="high", baseline_until="soon")
    warnings = texts(at.warning)
    assert any('flag "high"' in w for w in warnings)
    assert any('baseline_until "soon"' in w for w in warnings)
    assert "flag" not in at.query_params and "baseline_until" not in at.query_params
    check_impurity(at, *impurity_answer(api_env, "inv-all", analyte))


def test_impurity_link_with_a_factor_preselects_it(api_env: ServedPlant) -> None:
    analyte = planted(api_env)["analyte"]
    expected = api_env.post("inv-all", "/investigations/impurity", {"analyte": analyte})
    factor = expected["factors"][-1]
    name = f"{factor['kind']} {factor['id']}"
    at = signed_in_at("inv-all", "impurity", analyte=analyte, factor=name)
    assert at.selectbox[0].value == name
    assert at.query_params.get("factor") == name

    # a factor the answer does not have is dropped
    open_page(at, "impurity", analyte=analyte, factor="supplier NO-SUCH")
    assert at.selectbox[0].value == "(none)"
    assert "factor" not in at.query_params


def test_impurity_hides_results_outside_the_callers_sites(api_env: ServedPlant) -> None:
    analyte = planted(api_env)["analyte"]
    expected, results = impurity_answer(api_env, "inv-a", analyte)
    everything, _ = impurity_answer(api_env, "inv-all", analyte)
    hidden = sum(1 for p in results["results"] if p.get("redacted"))
    assert expected["units_hidden"] > 0, "SITE-A has every unit"
    assert expected["units_tested"] + expected["units_hidden"] == everything["units_tested"]

    at = signed_in_at("inv-a", "impurity", analyte=analyte)
    check_impurity(at, expected, results)
    caption = (
        f"{expected['units_tested']} visible, {expected['units_hidden']} at sites outside "
        "your access"
    )
    assert caption in texts(at.caption)
    drawn = sum(
        len(t["x"])
        for spec in control_charts(at).values()
        for t in spec["data"]
        if t.get("mode") == "markers"
    )
    assert drawn == len(drawn_points(results))
    notes = [c for c in texts(at.caption) if "not drawn" in c]
    if hidden:
        assert len(notes) == 1 and f"{hidden} result(s)" in notes[0]
    else:
        assert not notes
    # a flagged result at another site stays in its table, and says so
    redacted = [f["id"] for f in expected["flagged"] if f.get("redacted")]
    flagged = table(at, "id", "reason", "series")
    if redacted:
        rows = flagged[flagged["id"].isin(redacted)]
        assert len(rows) == len(redacted)
        assert set(rows["reason"]) == {"redacted"} and set(rows["series"]) == {"redacted"}
        assert list(flagged["redacted"]) == [bool(f.get("redacted")) for f in expected["flagged"]]
    else:
        assert "redacted" not in flagged.columns


def test_impurity_of_an_unknown_analyte(api_env: ServedPlant) -> None:
    at = signed_in_at("inv-all", "impurity", analyte="Impurity NO-SUCH")
    assert any(i.startswith("Nothing found") and "NO-SUCH" in i for i in texts(at.info))
    assert not at.metric and not at.error and not at.get("plotly_chart")
    open_page(at, "impurity")
    assert any(i.startswith("Enter an analyte") for i in texts(at.info))


# --------------------------------------------------------------------------- custody


def tampered_batch(plant: ServedPlant) -> tuple[str, dict[str, Any]]:
    """A batch one of whose signatures does not match what it signs, and its custody."""
    tampered = set(plant.meta["synthetic"]["tampered_signatures"])
    assert tampered
    documents = {
        r["document_id"] for r in plant.csv_rows("signatures.csv") if r["signature_id"] in tampered
    }
    batches = sorted(
        r["target_id"]
        for r in plant.csv_rows("document_links.csv")
        if r["target_kind"] == "batch" and r["document_id"] in documents
    )
    for batch in batches:
        custody = plant.get("inv-all", f"/batches/{batch}/custody")
        if any(s["status"] == "hash_mismatch" for s in custody["signatures"]):
            return batch, custody
    for row in plant.csv_rows("batches.csv"):
        custody = plant.get("inv-all", f"/batches/{row['batch_id']}/custody")
        if any(s["status"] == "hash_mismatch" for s in custody["signatures"]):
            return row["batch_id"], custody
    raise AssertionError("no batch has a tampered signature")


def test_custody_of_a_batch_with_a_tampered_signature(api_env: ServedPlant) -> None:
    batch, expected = tampered_batch(api_env)
    mismatched = [
        s["signature_id"] for s in expected["signatures"] if s["status"] == "hash_mismatch"
    ]
    assert set(mismatched) <= set(api_env.meta["synthetic"]["tampered_signatures"])

    at = signed_in_at("inv-all", "custody", batch=batch)
    errors = [e for e in texts(at.error) if "do not match the record they sign" in e]
    assert len(errors) == 1
    for signature in mismatched:
        assert signature in errors[0]
    assert errors[0].startswith(f"{len(mismatched)} signature(s)")
    signatures = table(at, "signature_id", "status")
    assert list(signatures["signature_id"]) == [s["signature_id"] for s in expected["signatures"]]
    assert list(signatures["status"]) == [s["status"] for s in expected["signatures"]]

    shown = metrics(at)
    assert shown["Findings"] == str(len(expected["findings"]))
    assert shown["Site"] == (expected.get("site") or "-")
    assert shown["Status"] == (expected.get("status") or "-")
    finding_texts = texts(at.error) + texts(at.warning)
    for finding in expected["findings"]:
        assert any(finding["id"] in t and finding["detail"] in t for t in finding_texts)
    assert any(
        f["kind"] == "signature_hash_mismatch" and f["id"] in mismatched
        for f in expected["findings"]
    )
    events = table(at, "at", "kind", "id", "details")
    assert list(events["id"]) == [e["id"] for e in expected["events"]]


def test_custody_of_a_clean_batch(api_env: ServedPlant) -> None:
    tampered = set(api_env.meta["synthetic"]["tampered_signatures"])
    for row in api_env.csv_rows("batches.csv"):
        expected = api_env.get("inv-all", f"/batches/{row['batch_id']}/custody")
        statuses = {s["status"] for s in expected["signatures"]}
        if expected["signatures"] and statuses == {"valid"}:
            batch = row["batch_id"]
            break
    else:
        raise AssertionError("no batch has only valid signatures")
    assert not tampered.intersection(s["signature_id"] for s in expected["signatures"])

    at = signed_in_at("inv-all", "custody", batch=batch)
    assert not [e for e in texts(at.error) if "do not match" in e or "hash mismatch" in e]
    signatures = table(at, "signature_id", "status")
    assert set(signatures["status"]) == {"valid"}
    assert list(signatures["signature_id"]) == [s["signature_id"] for s in expected["signatures"]]
    assert metrics(at)["Findings"] == str(len(expected["findings"]))
    if not expected["findings"]:
        assert any("No findings" in s for s in texts(at.success))


def test_custody_of_an_unknown_batch_and_outside_the_callers_sites(api_env: ServedPlant) -> None:
    at = signed_in_at("inv-all", "custody", batch="B-NO-SUCH")
    assert any(i.startswith("Nothing found") and "B-NO-SUCH" in i for i in texts(at.info))
    assert not at.metric and not at.error
    open_page(at, "custody")
    assert any(i.startswith("Enter a batch id") for i in texts(at.info))

    elsewhere = next(
        r["batch_id"] for r in api_env.csv_rows("batches.csv") if r["site"] != "SITE-A"
    )
    assert refused(api_env, "inv-a", f"/batches/{elsewhere}/custody") == 403
    at = signed_in_at("inv-a", "custody", batch=elsewhere)
    assert any(w.startswith("Not allowed") and elsewhere in w for w in texts(at.warning))
    assert not at.metric and not at.error


# --------------------------------------------------------------------------- search


def test_search_a_lot_shows_its_documents(api_env: ServedPlant) -> None:
    candidates = [planted(api_env)["lot"]] + [r["lot_id"] for r in api_env.csv_rows("lots.csv")]
    for lot in candidates:
        expected = api_env.get("inv-all", f"/lots/{lot}/documents")
        if expected["documents"]:
            break
    else:
        raise AssertionError("no lot has documents")
    at = signed_in_at("inv-all", "search", q=lot)
    assert f"Lot {lot}" in subheaders(at)
    docs = table(at, "document_id", "kind", "title")
    assert list(docs["document_id"]) == [d["document_id"] for d in expected["documents"]]
    props = table(at, "property", "value")
    found = api_env.get("inv-all", "/search", params={"q": lot})
    assert set(props["property"]) == set(found["matches"][0]["properties"])


def test_search_a_document_shows_its_lots(api_env: ServedPlant) -> None:
    documents = sorted(
        {
            r["document_id"]
            for r in api_env.csv_rows("document_links.csv")
            if r["target_kind"] == "batch"
        }
    )
    for document in documents:
        expected = api_env.get("inv-all", f"/documents/{document}/lots")
        if expected["lots"]:
            break
    else:
        raise AssertionError("no document concerns a lot")
    at = signed_in_at("inv-all", "search", q=document)
    assert f"Document {document}" in subheaders(at)
    lots = table(at, "lot_id", "status", "material_id")
    assert list(lots["lot_id"]) == [lot.get("lot_id", lot.get("id")) for lot in expected["lots"]]


def test_search_a_supplier_a_batch_and_nothing(api_env: ServedPlant) -> None:
    supplier = planted(api_env)["supplier"]
    batch = api_env.csv_rows("batches.csv")[0]["batch_id"]
    at = signed_in_at("inv-all", "search", q=supplier)
    assert f"Supplier {supplier}" in subheaders(at)
    props = table(at, "property", "value")
    found = api_env.get("inv-all", "/search", params={"q": supplier})
    assert set(props["property"]) == set(found["matches"][0]["properties"])

    open_page(at, "search", q=batch)
    assert f"Batch {batch}" in subheaders(at)

    open_page(at, "search", q="NO-SUCH-ID-123")
    assert any(
        "No lot, batch, document, supplier or deviation has the id" in i and "NO-SUCH-ID-123" in i
        for i in texts(at.info)
    )
    assert not at.dataframe

    open_page(at, "search")
    assert any(i.startswith("Enter an id") for i in texts(at.info))


def test_search_a_lot_outside_the_callers_sites(api_env: ServedPlant) -> None:
    lot = next(r["lot_id"] for r in api_env.csv_rows("lots.csv") if r["site"] != "SITE-A")
    assert api_env.get("inv-all", f"/lots/{lot}")["properties"]["site"] != "SITE-A"
    assert refused(api_env, "inv-a", f"/lots/{lot}") == 403

    at = signed_in_at("inv-a", "search", q=lot)
    assert f"Lot {lot}" in subheaders(at)
    assert any(lot in w and "outside your access" in w for w in texts(at.warning))
    assert not at.dataframe  # neither its properties nor its documents


# --------------------------------------------------------------------------- API errors


def test_a_dead_api_is_an_error_message_on_every_page(api_env: ServedPlant) -> None:
    at = signed_in_at("inv-all", "search")
    dead = f"http://127.0.0.1:{free_port()}"
    at.session_state["lg_settings"] = DashboardSettings(api_url=dead)
    asks = {
        "search": {"q": planted(api_env)["lot"]},
        "recall": {"lot": planted(api_env)["lot"]},
        "impact": {"supplier": planted(api_env)["supplier"]},
        "impurity": {"analyte": planted(api_env)["analyte"]},
        "custody": {"batch": api_env.csv_rows("batches.csv")[0]["batch_id"]},
        "batch": {"id": api_env.csv_rows("batches.csv")[0]["batch_id"]},
        "work": {},
    }
    for page, params in asks.items():
        open_page(at, page, **params)
        errors = texts(at.error)
        assert len(errors) == 1, (page, errors)
        assert "cannot reach the API" in errors[0] and dead in errors[0], (page, errors)
        assert not at.metric and not at.dataframe
        assert is_signed_in(at)  # an unreachable API does not end the session


def test_a_dead_api_at_sign_in_is_an_error_message(
    served_plant: ServedPlant, monkeypatch: pytest.MonkeyPatch
) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("LOTGRAPH_API_URL", dead)
    at = sign_in(app(), "inv-all")
    assert any("cannot reach the API" in e and dead in e for e in texts(at.error))
    assert not any(e.startswith("Sign-in refused") for e in texts(at.error))
    assert shows_sign_in_form(at)
    assert "lg_token" not in at.session_state


def impurity_asks(plant: ServedPlant, account: str, analyte: str) -> int:
    """How often ``account`` has asked the API for the impurity investigation of
    ``analyte``: the API's own access audit (GET /audit writes what it holds first)."""
    entries: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params = {"limit": 1000, **({"cursor": cursor} if cursor else {})}
        page = plant.get("auditor", "/audit", params=params)
        entries += page["entries"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    return sum(
        1
        for e in entries
        if e["actor"] == account
        and (e["new"] or {}).get("route") == "/investigations/impurity"
        and e["key"] == analyte
    )


def test_clicks_reuse_the_answer_and_asking_again_asks_the_api(api_env: ServedPlant) -> None:
    analyte = planted(api_env)["analyte"]
    factors = api_env.post("inv-all", "/investigations/impurity", {"analyte": analyte})["factors"]
    before = impurity_asks(api_env, "inv-a", analyte)
    at = signed_in_at("inv-a", "impurity", analyte=analyte)
    assert impurity_asks(api_env, "inv-a", analyte) == before + 1
    at.selectbox[0].select(f"{factors[0]['kind']} {factors[0]['id']}").run()
    assert not at.exception
    assert impurity_asks(api_env, "inv-a", analyte) == before + 1  # a click is not a question
    button(at, "Investigate").click().run()
    assert impurity_asks(api_env, "inv-a", analyte) == before + 2  # asking again is


def test_recall_prepares_an_evidence_package_that_verifies(api_env: ServedPlant) -> None:
    lot = planted(api_env)["lot"]
    at = signed_in_at("auditor", "recall", lot=lot)
    assert not [b for b in at.get("download_button") if "evidence" in b.proto.label]
    button(at, f"Prepare the evidence package of {lot}").click().run()
    assert not at.exception and not at.error
    package = at.session_state[f"evidence-{lot}"]
    check = verify_evidence(package)
    assert check.ok, check
    with zipfile.ZipFile(io.BytesIO(package)) as zipped:
        manifest = json.loads(zipped.read("manifest.json"))
    assert (manifest["lot"], manifest["created_by"]) == (lot, "auditor")
    labels = [b.proto.label for b in at.get("download_button")]
    assert f"Download evidence-{lot}.zip" in labels


# --------------------------------------------------------------------------- work queue


def expander_records(at: AppTest, title: str) -> list[str]:
    """The record ids listed under the KPI expander whose label starts with ``title:``."""
    found = [e for e in at.expander if str(e.label).startswith(f"{title}:")]
    assert len(found) == 1, [e.label for e in at.expander]
    tables_in = found[0].dataframe
    if not len(tables_in):
        return []
    return [str(r) for r in tables_in[0].value["record"]]


def _figure(number: float | None, unit: str) -> str:
    return "-" if number is None else f"{number:g}{unit}"


def check_kpis(at: AppTest, expected: dict[str, Any]) -> None:
    shown = metrics(at)
    hours, rft = expected["release_hours"], expected["right_first_time"]
    closure = expected["deviation_closure_days"]
    assert shown["Release time, median"] == _figure(hours["median"], " h")
    assert shown["Release time, p90"] == _figure(hours["p90"], " h")
    assert shown["Right first time"] == _figure(rft["percent"], " %")
    assert shown["Overrides"] == str(expected["overrides"]["count"])
    assert shown["Deviation closure, median"] == _figure(closure["median"], " d")
    assert shown["Deviation closure, p90"] == _figure(closure["p90"], " d")
    assert shown["Evidence exports"] == str(expected["evidence_exports"]["count"])
    records = {
        "Release time (completion to release)": hours["records"],
        "Released right first time": rft["records"],
        "Released, not right first time": rft["not_right_first_time"],
        "Released by override": expected["overrides"]["records"],
        "Deviations closed": closure["records"],
        "Evidence packages exported (lots)": expected["evidence_exports"]["records"],
    }
    for band in expected["approvals_outstanding"]:
        assert shown[f"In review {band['band']}"] == str(band["count"])
        records[f"In review {band['band']}"] = band["records"]
    for title, ids in records.items():
        assert expander_records(at, title) == ids, title


def test_the_work_queue_is_the_home_page(api_env: ServedPlant) -> None:
    expected = api_env.get("inv-all", "/work")
    kpis = api_env.get("inv-all", "/kpis")
    assert kpis["release_hours"]["count"], f"seed {api_env.seed}: a plant without releases"
    at = sign_in(app(), "inv-all")  # the page a sign-in without a link opens
    assert texts(at.title)[0] == "Work"
    shown = metrics(at)
    assert shown["Batches awaiting release"] == str(len(expected["batches_awaiting_release"]))
    assert shown["Open deviations"] == str(len(expected["open_deviations"]))
    assert shown["Active holds"] == str(len(expected["active_holds"]))
    assert shown["Hash mismatches"] == str(len(expected["hash_mismatches"]))
    assert shown["Awaiting your signature"] == "0"  # an investigator signs nothing

    if not expected["batches_awaiting_release"]:  # a plant (seed) with none in review
        assert "No batch awaits release." in texts(at.caption)
        return
    batches = table(at, "batch", "completed_at", "findings", "blocking")
    assert list(batches["batch"]) == [b["batch"] for b in expected["batches_awaiting_release"]]
    assert list(batches["findings"]) == [
        len(b["findings"]) for b in expected["batches_awaiting_release"]
    ]
    assert list(batches["open"]) == [
        f"/batch?id={b['batch']}" for b in expected["batches_awaiting_release"]
    ]
    deviations = expected["open_deviations"]
    if deviations:
        shown_devs = table(at, "deviation_id", "age_days")
        assert list(shown_devs["deviation_id"]) == [d["deviation_id"] for d in deviations]
        assert list(shown_devs["open"]) == [f"/search?q={d['deviation_id']}" for d in deviations]
    mismatches = expected["hash_mismatches"]
    if mismatches:
        shown_sigs = table(at, "signature_id", "document_id")
        assert list(shown_sigs["signature_id"]) == [m["signature_id"] for m in mismatches]
        assert list(shown_sigs["open"]) == [f"/document?id={m['document_id']}" for m in mismatches]
    check_kpis(at, kpis)


def test_the_work_queue_of_a_qa_person_lists_what_awaits_their_signature(
    api_env: ServedPlant,
) -> None:
    from tests.dashboard.release_plant import add_account

    account = add_account(api_env, "qa-work")
    expected = api_env.get(account, "/work")["awaiting_signature"]
    assert expected, "a dull plant: nothing awaits a qa signature"
    at = signed_in_at(account, "work")
    assert metrics(at)["Awaiting your signature"] == str(len(expected))
    shown = table(at, "document_id", "meaning", "age_days")
    by_meaning = sorted(expected, key=lambda a: (a["meaning"], -(a["age_days"] or 0.0)))
    assert list(shown["document_id"]) == [a["document_id"] for a in by_meaning]
    assert list(shown["meaning"]) == [a["meaning"] for a in by_meaning]
    assert list(shown["open"]) == [f"/document?id={a['document_id']}" for a in by_meaning]


def test_the_kpis_over_a_period_from_the_form(api_env: ServedPlant) -> None:
    everything = api_env.get("inv-all", "/kpis")
    released = sorted(everything["release_hours"]["records"])
    assert released, "a dull plant: no batch released"
    # a period that holds some releases: from the median completion date of the plant
    days = sorted(
        r["completed_at"][:10] for r in api_env.csv_rows("batches.csv") if r["completed_at"]
    )
    since, until = date.fromisoformat(days[len(days) // 2]), date.fromisoformat(days[-1])
    expected = api_env.get(
        "inv-all", "/kpis", params={"since": since.isoformat(), "until": until.isoformat()}
    )

    at = signed_in_at("inv-all", "work")
    fields = {str(d.label): d for d in at.date_input}
    fields["Since (inclusive)"].set_value(since)
    fields["Until (not inclusive)"].set_value(until)
    button(at, "Show KPIs").click().run()
    assert not at.exception, at.exception
    assert at.query_params.get("since") == since.isoformat()
    assert at.query_params.get("until") == until.isoformat()
    check_kpis(at, expected)
    assert expected["release_hours"]["count"] < everything["release_hours"]["count"]

    # a link with the period opens the same figures
    at = signed_in_at("inv-all", "work", since=since.isoformat(), until=until.isoformat())
    check_kpis(at, expected)


def test_the_root_url_opens_the_work_queue_or_a_search(api_env: ServedPlant) -> None:
    """A /?q= link from before the work queue was the home page still searches."""
    lot = planted(api_env)["lot"]
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.query_params["q"] = lot
    at.run()
    sign_in(at, "inv-all")
    assert texts(at.title)[0] == "Search"
    assert f"Lot {lot}" in subheaders(at)
    assert at.query_params.get("q") == lot
