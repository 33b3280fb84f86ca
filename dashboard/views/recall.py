"""Recall: what the lots went into, who received it, and how much is still here."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import display, figures, holds, params, session, tables
from dashboard.client import ApiClient

st.title("Recall")
wanted = params.ids("lot")
asked = params.ask_for(
    "lot",
    "Lot ids",
    " ".join(wanted),
    button="Investigate",
    help="One or more lot ids, separated by blanks or commas.",
)
wanted = params.split(asked)
if not wanted:
    st.info("Enter one or more lot ids to see what they went into and who received them.")
    st.stop()

answer = session.ask(f"Working out the recall of {', '.join(wanted)}...", ApiClient.recall, wanted)
if answer is None:
    st.stop()

visible_lots = [lot for lot in answer["lots"] if not lot.get("redacted")]
hidden = [lot["id"] for lot in answer["lots"] if lot.get("redacted")]
hidden_batches = sum(1 for b in answer["batches"] if b.get("redacted"))
cols = st.columns(4)
cols[0].metric("Affected lots", display.count(len(visible_lots), len(hidden)))
cols[1].metric("Batches", display.count(len(answer["batches"]) - hidden_batches, hidden_batches))
cols[2].metric("Customers", len(answer["customers"]))
cols[3].metric("Lots with stock on hand", sum(1 for lot in visible_lots if lot["on_hand"] > 0))
if hidden:
    st.caption(
        f"{len(hidden)} lot(s) are at sites outside your access and are shown redacted: "
        + ", ".join(hidden[:20])
        + (" ..." if len(hidden) > 20 else "")
    )

st.subheader("Mass balance")
short = [b for b in answer["mass_balance"] if not b["balanced"]]
for balance in short:
    percent = balance["percent_accounted"]
    st.error(
        f"Shortfall: lot {balance['lot']} accounts for "
        + (f"{percent:.1f} %" if percent is not None else "an unknown share")
        + f" of {balance['expected']} {balance['unit'] or ''}"
        + (
            f"; {balance['shortfall']} {balance['unit'] or ''} unaccounted"
            if balance["shortfall"]
            else ""
        )
    )
if answer["mass_balance"] and not short:
    st.success("Every root lot is fully accounted for.")
balance_table = tables.frame(
    answer["mass_balance"],
    [
        "lot",
        "unit",
        "expected",
        "consumed",
        "shipped",
        "on_hand",
        "accounted",
        "percent_accounted",
        "shortfall",
        "balanced",
    ],
)


def _shortfall_rows(row: pd.Series) -> list[str]:
    return ["background-color: #ffd6d6" if not row["balanced"] else "" for _ in row]


tables.show(
    balance_table,
    "mass-balance",
    key="balance",
    empty="No root lot has a known quantity.",
    styled=lambda t: t.style.apply(_shortfall_rows, axis=1),
)

st.subheader("Affected lots")
tables.show(
    tables.frame(
        answer["lots"],
        [
            "id",
            "status",
            "material_id",
            "site",
            "unit",
            "quantity",
            "consumed",
            "shipped",
            "on_hand",
            "root",
        ],
    ),
    "affected-lots",
    key="lots",
    empty="No lots are affected.",
)

st.subheader("Holds")
# the roots first, then every affected lot the caller can see (qa places and releases)
holdable = sorted(visible_lots, key=lambda lot: (not lot.get("root"), lot["id"]))
on_hold = [lot["id"] for lot in holdable if lot.get("hold")]
st.caption(
    f"{len(on_hold)} of {len(holdable)} visible affected lot(s) on hold"
    + (": " + ", ".join(on_hold[:20]) + (" ..." if len(on_hold) > 20 else "") if on_hold else ".")
)
if holdable:
    by_id = {lot["id"]: lot for lot in holdable}
    chosen = st.selectbox(
        "Lot to place on hold or release",
        list(by_id),
        format_func=lambda i: (
            f"{i}"
            + (" (root)" if by_id[i].get("root") else "")
            + (" - on hold" if by_id[i].get("hold") else "")
        ),
        key="hold-lot",
    )
    held = by_id[chosen].get("hold")
    if held:
        st.warning(
            f"Lot {chosen} is on hold since {held['at']} (placed by {held['by']}): {held['reason']}"
        )
    st.page_link(
        "views/lot.py", label=f"Open lot {chosen} and its holds", query_params={"id": chosen}
    )
    holds.form(chosen, held, "recall")

st.subheader("Customers")
customer_rows = [
    {
        **c,
        "quantity": c["quantity"] if c["quantity"] is not None else "partial: lots redacted",
        "redacted_lots": c.get("redacted_lots") or "none",
    }
    for c in answer["customers"]
]
tables.show(
    tables.frame(customer_rows, ["id", "name", "lots", "shipments", "quantity", "redacted_lots"]),
    "customers",
    key="customers",
    empty="No affected lot was shipped to a customer.",
)

st.subheader("Batches")
tables.show(
    tables.frame(answer["batches"], ["id", "status", "site", "product_material_id"]),
    "batches",
    key="batches",
    empty="No batch used the affected lots.",
)
st.subheader("Evidence package")
st.caption(
    "A zip with the recall as JSON and CSV, the trace as GraphML, the documents with their "
    "signatures, the audit extract, a report and a manifest of SHA-256 hashes "
    "(`lotgraph evidence verify FILE.zip` checks it)."
)
for root in answer["roots"]:
    kept = f"evidence-{root}"
    if st.button(f"Prepare the evidence package of {root}", key=f"prepare-{kept}"):
        package = session.ask(
            f"Building the evidence package of {root}...", ApiClient.evidence, root
        )
        if package is not None:
            st.session_state[kept] = package
    if kept in st.session_state:
        st.download_button(
            f"Download evidence-{root}.zip",
            st.session_state[kept],
            file_name=f"evidence-{root}.zip",
            mime="application/zip",
            key=f"download-{kept}",
            on_click="ignore",
        )

if answer.get("open_deviations"):
    st.subheader("Open deviations in scope")
    tables.show(
        tables.frame(
            answer["open_deviations"], ["id", "severity", "status", "category", "affects"]
        ),
        "open-deviations",
        key="deviations",
        empty="",
    )

st.subheader("Trace")
traces = []
for root in answer["roots"]:
    found = session.ask(f"Tracing {root} forward...", ApiClient.trace, root, "forward")
    if found is not None:
        traces.append(found)
statuses = {
    **{lot["id"]: lot.get("status") for lot in visible_lots},
    **{b["id"]: b.get("status") for b in answer["batches"] if not b.get("redacted")},
}
if traces:
    figure, shown = figures.trace_graph(traces, statuses)
    event = st.plotly_chart(
        figure, key="trace-graph", on_select="rerun", selection_mode="points", width="stretch"
    )
    st.caption(
        "Material flows left to right, along the arrows. Colour shows the kind of node, "
        "the marker its status. Click a node to open it."
    )
    picked = (
        [p["customdata"] for p in event.selection.points if p.get("customdata")] if event else []
    )
    if picked:
        node_id, label = picked[0][0], picked[0][1]
        if label == "Batch":
            st.page_link(
                "views/custody.py",
                label=f"Open chain of custody of batch {node_id}",
                query_params={"batch": node_id},
            )
        elif label == "Lot":
            st.page_link(
                "views/recall.py",
                label=f"Open the recall of lot {node_id}",
                query_params={"lot": node_id},
            )
            st.page_link(
                "views/search.py",
                label=f"Open lot {node_id} and its documents",
                query_params={"q": node_id},
            )
            st.page_link(
                "views/lot.py",
                label=f"Open lot {node_id}: holds and trace",
                query_params={"id": node_id},
            )
        else:
            st.write(f"{label} {node_id}")
