"""Chain of custody of a batch: its timeline, its signatures and what is wrong with them."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import streamlit as st

from dashboard import display, params, session, tables
from dashboard.client import ApiClient

_MAIN = {"at", "kind", "id", "redacted"}
_STATUS_COLOURS = {"hash_mismatch": "#ffd6d6", "superseded": "#fff1c2"}

st.title("Chain of custody")
batch = params.ask_for("batch", "Batch id", params.one("batch"), button="Show custody")
if not batch:
    st.info("Enter a batch id to see who did and signed what, in time order.")
    st.stop()

answer = session.ask(f"Reading the custody of {batch}...", ApiClient.custody, batch)
if answer is None:
    st.stop()

cols = st.columns(4)
cols[0].metric("Status", answer.get("status") or "-")
cols[1].metric("Product", answer.get("product_material_id") or "-")
cols[2].metric("Site", answer.get("site") or "-")
cols[3].metric("Findings", len(answer["findings"]))

st.subheader("Findings")
if not answer["findings"]:
    st.success("No findings: every signature holds, every input has its CoA.")
for finding in answer["findings"]:
    text = f"**{finding['kind'].replace('_', ' ')}** - {finding['label']} {finding['id']}: {finding['detail']}"
    if finding["kind"] in ("signature_hash_mismatch", "released_without_approval"):
        st.error(text)
    else:
        st.warning(text)

st.subheader("Signatures")
signatures = answer["signatures"]
mismatched = [s["signature_id"] for s in signatures if s["status"] == "hash_mismatch"]
superseded = [s["signature_id"] for s in signatures if s["status"] == "superseded"]
if mismatched:
    st.error(
        f"{len(mismatched)} signature(s) do not match the record they sign: {', '.join(mismatched)}"
    )
if superseded:
    st.warning(
        f"{len(superseded)} signature(s) sign a version that a later one replaced: "
        + ", ".join(superseded)
    )
signature_table = tables.frame(
    [
        # people by name and role where the answer gives them, else by id
        {
            **s,
            "signer": display.person(
                s.get("signer_id"), s.get("signer_name"), s.get("signer_role")
            ),
        }
        for s in signatures
    ],
    [
        "signature_id",
        "status",
        "meaning",
        "signer",
        "signed_at",
        "document_id",
        "document_version",
        "current_version",
        "document_kind",
    ],
)


def _by_status(row: pd.Series) -> list[str]:
    colour = _STATUS_COLOURS.get(row["status"])
    return [f"background-color: {colour}" if colour else "" for _ in row]


tables.show(
    signature_table,
    "signatures",
    key="signatures",
    empty="No document about this batch has been signed.",
    styled=lambda t: t.style.apply(_by_status, axis=1),
)

st.subheader("Timeline")
events = answer["events"]
rows = []
for event in events:
    details = {k: v for k, v in event.items() if k not in _MAIN and v not in (None, [], "")}
    rows.append(
        {
            "at": display.when(event.get("at"), session.settings().display_timezone),
            "kind": event["kind"],
            "id": event["id"],
            "details": "redacted (outside your sites)"
            if event.get("redacted")
            else "; ".join(
                f"{k}: {', '.join(map(str, v)) if isinstance(v, list) else v}"
                for k, v in details.items()
            ),
        }
    )
timeline = pd.DataFrame(rows, columns=["at", "kind", "id", "details"])
timed = pd.DataFrame(
    [{**row, "at": event.get("at")} for row, event in zip(rows, events, strict=True)],
    columns=["at", "kind", "id", "details"],
).dropna(subset=["at"])  # the chart places the moments as the API gives them
if not timed.empty:
    chart = px.scatter(
        timed, x="at", y="kind", color="kind", hover_data=["id", "details"], height=340
    )
    chart.update_layout(showlegend=False, margin={"l": 10, "r": 10, "t": 10, "b": 10})
    chart.update_traces(marker={"size": 11})
    st.plotly_chart(chart, key="timeline-chart", width="stretch")
tables.show(
    timeline, "custody-events", key="events", empty="No events are recorded for this batch."
)
