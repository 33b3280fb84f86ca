"""How the pages say things (dashboard/display.py): redacted rows and hidden counts, times
with their timezone, signers, wide columns and the trace drawing's labels and arrows.

AppTest against the real API on loopback over a plant from a random seed (the fixtures and
helpers of test_pages.py); every expectation is read from the API's own answers.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from pydantic import ValidationError

from dashboard import display
from dashboard.settings import DashboardSettings
from tests.dashboard.conftest import ServedPlant
from tests.dashboard.test_pages import (  # noqa: F401 - api_env is a fixture
    api_env,
    figure,
    metrics,
    open_page,
    signed_in_at,
    table,
)

ZONE = "Europe/Zurich"


def _local(moment: str, zone: str = ZONE) -> str:
    """The moment as the page should write it, worked out here independently."""
    parsed = datetime.fromisoformat(moment.replace("Z", "+00:00")).astimezone(ZoneInfo(zone))
    return parsed.strftime("%Y-%m-%d %H:%M:%S %Z")


def test_times_counts_and_people_read_as_people_read_them() -> None:
    assert display.when("2025-06-30T00:48:41.000Z", ZONE) == "2025-06-30 02:48:41 CEST"
    assert display.when("2025-01-10T20:24:39.000Z", ZONE) == "2025-01-10 21:24:39 CET"
    assert display.when("2025-01-10T20:24:39Z") == "2025-01-10 20:24:39 UTC"
    assert display.when("2025-01-10T20:24:39+02:00") == "2025-01-10 18:24:39 UTC"
    for kept in ("2025-01-10", None, "redacted", 12, ""):
        assert display.when(kept, ZONE) == kept
    assert display.count(7, 0) == "7"
    assert display.count(7, 3) == "7 visible, 3 hidden"
    assert display.person("U-004", "Ana Ruiz", "qa") == "Ana Ruiz (qa, U-004)"
    assert display.person("U-004") == "U-004"
    with pytest.raises(ValidationError, match="IANA timezone"):
        DashboardSettings(display_timezone="Mars/Olympus_Mons")


class _As:
    """The API as one account, signed in once (ServedPlant signs in on every call)."""

    def __init__(self, plant: ServedPlant, account: str) -> None:
        self.client = httpx.Client(
            base_url=plant.api_url,
            headers={"Authorization": f"Bearer {plant.token(account)}"},
            timeout=60,
        )

    def get(self, path: str, **kw: Any) -> Any:
        reply = self.client.get(path, **kw)
        reply.raise_for_status()
        return reply.json()

    def post(self, path: str, body: Any) -> Any:
        reply = self.client.post(path, json=body)
        reply.raise_for_status()
        return reply.json()


def _with_zone(at: Any, plant: ServedPlant) -> None:
    at.session_state["lg_settings"] = DashboardSettings(
        api_url=plant.api_url, display_timezone=ZONE
    )


def test_recall_for_a_site_scoped_user_says_redacted_and_counts_what_is_hidden(
    api_env: ServedPlant,  # noqa: F811
) -> None:
    site_a = [r["lot_id"] for r in api_env.csv_rows("lots.csv") if r["site"] == "SITE-A"]
    api = _As(api_env, "inv-a")
    for lot in site_a[:60]:
        answer = api.post("/investigations/recall", {"lot_ids": [lot]})
        if any(x.get("redacted") for x in answer["lots"]):
            break
    else:
        pytest.fail(f"seed {api_env.seed}: no SITE-A lot's recall reaches another site")
    hidden = [x["id"] for x in answer["lots"] if x.get("redacted")]
    visible = len(answer["lots"]) - len(hidden)
    hidden_batches = sum(1 for b in answer["batches"] if b.get("redacted"))

    at = signed_in_at("inv-a", "recall", lot=lot)
    shown = metrics(at)
    assert shown["Affected lots"] == f"{visible} visible, {len(hidden)} hidden"
    assert shown["Batches"] == display.count(
        len(answer["batches"]) - hidden_batches, hidden_batches
    )
    lots = table(at, "id", "status", "material_id", "site", "unit")
    assert list(lots["id"]) == [x["id"] for x in answer["lots"]]
    redacted = lots[lots["id"].isin(hidden)]
    assert len(redacted) == len(hidden)
    for column in ("status", "material_id", "site", "unit", "quantity", "on_hand"):
        assert set(redacted[column]) == {"redacted"}, (column, list(redacted[column]))
    assert list(lots["redacted"]) == [bool(x.get("redacted")) for x in answer["lots"]]
    # a visible row shows its own values, never the word
    seen = lots[~lots["id"].isin(hidden)]
    assert "redacted" not in set(seen["status"])
    if answer["customers"]:  # which of a customer's lots are hidden, or "none"; never empty
        customers = table(at, "id", "name", "lots", "shipments")
        assert list(customers["redacted_lots"]) == [
            ", ".join(c["redacted_lots"]) or "none" for c in answer["customers"]
        ]


def test_custody_times_in_the_chosen_timezone_signers_and_wide_columns(
    api_env: ServedPlant,  # noqa: F811
) -> None:
    api = _As(api_env, "inv-all")
    batch = next(
        r["batch_id"]
        for r in api_env.csv_rows("batches.csv")
        if api.get(f"/batches/{r['batch_id']}/custody")["signatures"]
    )
    expected = api.get(f"/batches/{batch}/custody")
    at = signed_in_at("inv-all", "search")
    _with_zone(at, api_env)
    open_page(at, "custody", batch=batch)

    events = table(at, "at", "kind", "id", "details")
    assert list(events["at"]) == [
        _local(e["at"]) if e.get("at") else None for e in expected["events"]
    ]
    assert all(" CET" in t or " CEST" in t for t in events["at"] if t)
    signatures = table(at, "signature_id", "status", "meaning", "signer", "signed_at")
    assert list(signatures["signed_at"]) == [_local(s["signed_at"]) for s in expected["signatures"]]
    assert list(signatures["signer"]) == [
        f"{s['signer_name']} ({s['signer_role']}, {s['signer_id']})"
        if s["signer_name"]
        else s["signer_id"]
        for s in expected["signatures"]
    ]
    assert any(s["signer_name"] for s in expected["signatures"])  # people by name and role

    # the long details column is given a fixed wide width, so it cannot push others away
    (events_table,) = [d for d in at.dataframe if list(d.value.columns)[:2] == ["at", "kind"]]
    config = json.loads(events_table.proto.columns)
    assert config["details"]["width"] == "large", config


def test_the_trace_of_a_small_graph_is_labelled_and_shows_direction(
    api_env: ServedPlant,  # noqa: F811
) -> None:
    api = _As(api_env, "inv-all")
    for row in api_env.csv_rows("lots.csv"):
        trace = api.get(f"/lots/{row['lot_id']}/trace", params={"direction": "forward"})
        if 3 <= len(trace["nodes"]) <= 30 and len(trace["edges"]) >= 2:
            lot = row["lot_id"]
            break
    else:
        pytest.fail(f"seed {api_env.seed}: no lot has a forward trace of 3 to 30 nodes")
    at = signed_in_at("inv-all", "recall", lot=lot)
    spec = figure(at, "trace-graph")

    where: dict[str, tuple[float, float]] = {}
    for drawn in spec["data"]:
        ids = [c[0] for c in drawn.get("customdata") or []]
        if not ids:
            continue
        assert drawn["mode"] == "markers+text", drawn["mode"]  # every node named
        assert drawn["text"] == ids
        where.update(zip(ids, zip(drawn["x"], drawn["y"], strict=True), strict=True))
    assert {n["id"] for n in trace["nodes"]} <= set(where)

    arrows = {
        ((a["ax"], a["ay"]), (a["x"], a["y"]))
        for a in spec["layout"].get("annotations", [])
        if a.get("showarrow") and a.get("axref") == "x"
    }
    edges = {(where[source], where[target]) for source, _, target in trace["edges"]}
    assert arrows == edges  # one arrow per link, pointing from its source to its target
    assert any("along the arrows" in c.value for c in at.caption)


def test_search_shows_a_lots_times_in_the_chosen_timezone(
    api_env: ServedPlant,  # noqa: F811
) -> None:
    lot = api_env.meta["synthetic"]["planted"]["lot"]
    found = _As(api_env, "inv-all").get("/search", params={"q": lot})
    properties = found["matches"][0]["properties"]
    assert properties.get("created_at"), properties
    at = signed_in_at("inv-all", "search")
    _with_zone(at, api_env)
    open_page(at, "search", q=lot)
    shown = dict(
        zip(*(table(at, "property", "value")[c] for c in ("property", "value")), strict=True)
    )
    assert shown["created_at"] == _local(properties["created_at"])
    assert shown["quantity"] == str(properties["quantity"])  # other values as they are


def _wide_table() -> None:
    import pandas as pd

    from dashboard import tables

    ids = ", ".join(f"L-2026-{n:06d}" for n in range(40))
    table = pd.DataFrame(
        [{"id": "CUST-01", "lots": ids, "shipments": ids, "quantity": 12.5, "unit": "kg"}]
    )
    tables.show(table, "wide", key="wide", empty="")


def test_long_text_columns_go_last_at_a_fixed_width_and_the_csv_keeps_its_order() -> None:
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_function(_wide_table).run()
    assert not at.exception
    (shown,) = at.dataframe
    assert list(shown.proto.column_order) == ["id", "quantity", "unit", "lots", "shipments"]
    config = json.loads(shown.proto.columns)
    assert config["lots"]["width"] == config["shipments"]["width"] == "medium", config
    assert "quantity" not in config  # short columns keep their natural width
    assert list(shown.value.columns) == ["id", "lots", "shipments", "quantity", "unit"]
