"""The audit trail page, run with AppTest against the real API on loopback: every figure
is the API's own answer for the same filters, never written down here."""

from __future__ import annotations

from typing import Any

import pandas as pd
from streamlit.testing.v1 import AppTest

from dashboard.links import entity_link
from dashboard.settings import DashboardSettings
from tests.dashboard.conftest import ServedPlant, free_port
from tests.dashboard.test_pages import api_env, app, button, sign_in, texts  # noqa: F401

PAGE = "views/audit.py"


def audit_page(account: str, **params: str) -> AppTest:
    at = sign_in(app(), account)
    at.query_params.clear()
    at.query_params.update(params)
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    return at


def shown(at: AppTest) -> pd.DataFrame:
    (frame,) = [d.value for d in at.dataframe if "seq" in d.value.columns]
    return frame


def api_page(plant: ServedPlant, **params: Any) -> dict[str, Any]:
    found: dict[str, Any] = plant.get("auditor", "/audit", params=params)
    return found


def test_entity_links_go_to_the_entity_pages() -> None:
    assert entity_link("Lot", "L-1") == "/lot?id=L-1"
    assert entity_link("Batch", "B-2026-0001") == "/batch?id=B-2026-0001"
    assert entity_link("Document", "DOC-BR-1") == "/document?id=DOC-BR-1"
    assert entity_link("DocumentVersion", "DOC-BR-1@2") == "/document?id=DOC-BR-1"
    assert entity_link("Supplier", "SUP 1") == "/supplier?id=SUP%201"
    assert entity_link("Lot", "L-1,L-2") is None  # a recall of two lots: no one page
    assert entity_link("Account", "qa-1") is None and entity_link("Bundle", "x") is None


def test_the_auditor_sees_the_verified_chain_and_the_filtered_trail(
    api_env: ServedPlant,  # noqa: F811
) -> None:
    lot = api_env.meta["synthetic"]["planted"]["lot"]
    for _ in range(3):
        api_env.get("inv-all", f"/lots/{lot}")
    at = audit_page("auditor", actor="inv-all", entity_id=lot, **{"class": "read"})
    assert "Audit trail" in texts(at.title)
    assert any("Audit trail intact" in s for s in texts(at.success)), texts(at.success)
    assert api_env.get("auditor", "/audit/verify")["ok"] is True
    expected = api_page(api_env, actor="inv-all", entity_id=lot, limit=50, **{"class": "read"})
    table = shown(at)
    assert list(table["seq"]) == [e["seq"] for e in expected["entries"]]
    assert len(table) >= 3
    assert set(table["actor"]) == {"inv-all"} and set(table["class"]) == {"read"}
    assert set(table["open"]) == {f"/lot?id={lot}"}

    # the form puts its values in the query string and asks the API again
    fields = {t.label: t for t in at.text_input}
    fields["Who (account)"].input("auditor")
    fields["Entity id"].input("")
    fields["From"].input("2020-01-01")
    at.selectbox[0].select("read")
    button(at, "Filter").click().run()
    assert not at.exception, at.exception
    assert at.query_params.get("actor") == "auditor"
    assert at.query_params.get("since") == "2020-01-01"
    assert at.query_params.get("class") == "read"
    assert "entity_id" not in at.query_params
    assert set(shown(at)["actor"]) == {"auditor"}


def test_pages_go_forward_and_back_through_the_cursor(api_env: ServedPlant) -> None:  # noqa: F811
    at = audit_page("auditor", limit="3", kind="ingest_chunk")
    pages = [api_page(api_env, kind="ingest_chunk", limit=3)]
    pages.append(api_page(api_env, kind="ingest_chunk", limit=3, cursor=pages[0]["next_cursor"]))
    assert pages[1]["entries"], "the plant's ingest has more than 3 chunks"
    first = list(shown(at)["seq"])
    assert first == [e["seq"] for e in pages[0]["entries"]]
    button(at, "Next page").click().run()
    assert not at.exception, at.exception
    assert at.query_params.get("cursor") == pages[0]["next_cursor"]
    assert list(shown(at)["seq"]) == [e["seq"] for e in pages[1]["entries"]]
    button(at, "Previous page").click().run()
    assert "cursor" not in at.query_params
    assert list(shown(at)["seq"]) == first


def test_bad_filters_and_other_roles_get_the_apis_answer(api_env: ServedPlant) -> None:  # noqa: F811
    at = audit_page("auditor", since="soon")
    assert any("since" in e for e in texts(at.error)), texts(at.error)
    assert not [d for d in at.dataframe if "seq" in d.value.columns]
    at = audit_page("inv-all")
    assert any("may not read the audit trail" in w for w in texts(at.warning)), texts(at.warning)
    assert not at.dataframe and not at.success


def test_a_dead_api_is_an_error_message_on_the_audit_page(api_env: ServedPlant) -> None:  # noqa: F811
    at = sign_in(app(), "auditor")
    dead = f"http://127.0.0.1:{free_port()}"
    at.session_state["lg_settings"] = DashboardSettings(api_url=dead)
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    errors = texts(at.error)
    assert len(errors) == 1 and "cannot reach the API" in errors[0] and dead in errors[0], errors
    assert not at.dataframe and not at.success
