"""A lot: its status and quantities, its documents, its holds (placed and released here by
qa), and where it came from and went to."""

from __future__ import annotations

from typing import Any

import streamlit as st

from dashboard import holds, params, session, tables
from dashboard.client import ApiClient

st.title("Lot")
lot = params.ask_for("id", "Lot id", params.one("id"), button="Open")
if not lot:
    st.info("Enter a lot id to see its status, documents, holds and trace.")
    st.stop()

entity = session.ask(f"Opening lot {lot}...", ApiClient.lot, lot)
if entity is None:
    st.stop()
props: dict[str, Any] = entity["properties"]
if entity.get("unresolved"):
    st.warning(f"Lot {lot} is referenced but its own record has not arrived.")
unit = props.get("unit") or ""


def _amount(value: Any) -> str:
    return "unknown" if value is None else f"{value} {unit}".strip()


cols = st.columns(4)
cols[0].metric("Status", props.get("status") or "unknown")
cols[1].metric("Quantity", _amount(props.get("quantity")))
cols[2].metric("On hand", _amount(props.get("on_hand")))
cols[3].metric("Site", props.get("site") or "none")
st.caption(
    f"Material {props.get('material_id') or 'unknown'}"
    + (f", created {props['created_at']}" if props.get("created_at") else "")
    + (f", expires {props['expiry']}" if props.get("expiry") else "")
)
links = st.columns(2)
links[0].page_link("views/recall.py", label=f"Recall of lot {lot}", query_params={"lot": lot})
links[1].page_link("views/search.py", label=f"Search {lot}", query_params={"q": lot})

st.subheader("Holds")
found = session.ask(f"Reading the holds of {lot}...", ApiClient.lot_holds, lot)
if found is not None:
    holds.history(found, "lot")
    holds.form(lot, found.get("active"), "lot")

st.subheader("Documents")
docs = session.ask(f"Finding the documents of {lot}...", ApiClient.lot_documents, lot)
if docs is not None:
    rows = [
        {**d, "open": f"/document?id={d['document_id']}", "via": [" -> ".join(v) for v in d["via"]]}
        for d in docs["documents"]
    ]
    tables.show(
        tables.frame(rows, ["document_id", "open", "kind", "title", "current_version", "via"]),
        f"documents-of-{lot}",
        key="documents",
        empty="No document concerns this lot.",
        column_config={"open": st.column_config.LinkColumn("open", display_text="open document")},
    )


def _linked(ids: list[str], page: str, label: str) -> Any:
    table = tables.frame([{"id": i, "open": f"/{page}={i}"} for i in ids], ["id", "open"])
    return table, {"open": st.column_config.LinkColumn("open", display_text=label)}


st.subheader("Trace")
for direction, title in (("backward", "Where it came from"), ("forward", "What it went into")):
    answer = session.ask(f"Tracing {lot} {direction}...", ApiClient.trace, lot, direction)
    if answer is None:
        continue
    hidden = sum(1 for n in answer.get("nodes", []) if n.get("redacted"))
    st.markdown(
        f"**{title}** ({direction}): {len(answer['lots'])} lot(s), "
        f"{len(answer['batches'])} batch(es)"
        + (f", {hidden} node(s) hidden at sites outside your access" if hidden else "")
    )
    parts = [("lots", "lot?id", "open lot"), ("batches", "custody?batch", "open custody")]
    parts.append(
        ("suppliers", "supplier?id", "open supplier")
        if direction == "backward"
        else ("customers", "search?q", "search")
    )
    for key, page, label in parts:
        ids = answer.get(key) or []
        if not ids:
            continue
        table, config = _linked(ids, page, label)
        st.caption(key.capitalize())
        tables.show(
            table,
            f"{direction}-{key}-of-{lot}",
            key=f"{direction}-{key}",
            empty="",
            column_config=config,
        )
