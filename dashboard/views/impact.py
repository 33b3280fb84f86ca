"""Supplier impact: what a supplier's lots reached, open batches first."""

from __future__ import annotations

import streamlit as st

from dashboard import params, session, tables
from dashboard.client import ApiClient

st.title("Supplier impact")
supplier = params.ask_for("supplier", "Supplier id", params.one("supplier"), button="Investigate")
since = params.one("since") or None
if not supplier:
    st.info("Enter a supplier id to see what its lots reached.")
    st.stop()

answer = session.ask(f"Following the lots of {supplier}...", ApiClient.impact, supplier, since)
if answer is None:
    st.stop()

st.caption(
    f"Supplier {answer['supplier']}"
    + (f", lots made from {answer['since']}" if answer.get("since") else "")
    + (f", material {answer['material']}" if answer.get("material") else "")
)
cols = st.columns(5)
cols[0].metric("Open batches", len(answer["open_batches"]))
cols[1].metric("Supplier lots", len(answer["lots"]))
cols[2].metric("Batches", len(answer["batches"]))
cols[3].metric("Downstream lots", len(answer["downstream_lots"]))
cols[4].metric("Customers", len(answer["customers"]))

st.subheader("Open batches")
open_table = tables.frame(answer["open_batches"], ["id", "status", "site", "started_at"])
if not open_table.empty:
    open_table.insert(1, "custody", [f"/custody?batch={i}" for i in open_table["id"]])
tables.show(
    open_table,
    "open-batches",
    key="open",
    empty="No batch that used this supplier's lots is still open.",
    column_config={"custody": st.column_config.LinkColumn("custody", display_text="open custody")},
)
for title, key, empty in (
    ("Supplier lots", "lots", "The supplier supplied no lots in this period."),
    ("Batches that used them", "batches", "No batch used the supplier's lots."),
    ("Downstream lots", "downstream_lots", "No lot was made from the supplier's lots."),
    ("Customers reached", "customers", "No customer received anything made from them."),
):
    st.subheader(title)
    tables.show(
        tables.frame([{"id": i} for i in answer[key]], ["id"]),
        key.replace("_", "-"),
        key=key,
        empty=empty,
    )
