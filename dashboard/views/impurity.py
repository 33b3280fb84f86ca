"""Impurity: an analyte over time, and what its high results have in common."""

from __future__ import annotations

import streamlit as st

from dashboard import figures, params, session, tables
from dashboard.client import ApiClient

st.title("Impurity investigation")
analyte = params.ask_for("analyte", "Analyte", params.one("analyte"), button="Investigate")
if not analyte:
    st.info('Enter an analyte (for example "Impurity B") to chart it and rank its causes.')
    st.stop()

answer = session.ask(
    f"Ranking what the high {analyte} results share...", ApiClient.impurity, analyte
)
if answer is None:
    st.stop()
series = session.ask(f"Reading the {analyte} results...", ApiClient.analyte_results, analyte)

cols = st.columns(3)
cols[0].metric("Units tested", answer["units_tested"])
cols[1].metric("Units above the limit", answer["units_flagged"])
cols[2].metric("Factors", len(answer["factors"]))

factors = answer["factors"]
choices = ["(none)"] + [f"{f['kind']} {f['id']}" for f in factors]
# The query string is the one source of the pick: a link (or the back button) sets the
# widget, and a pick reaches the query string in its callback, before the rerun reads it.
# (Without a key, the widget's identity changed with its index, and a second pick was lost.)
_PICK = f"factor-of-{analyte}"
wanted = params.one("factor")
if st.session_state.get(_PICK) != (shown := wanted if wanted in choices else "(none)"):
    st.session_state[_PICK] = shown


def _pick_to_query() -> None:
    st.query_params["factor"] = st.session_state[_PICK]


picked = st.selectbox(
    "Highlight the flagged units of a factor", choices, key=_PICK, on_change=_pick_to_query
)
if picked != "(none)":
    st.query_params["factor"] = picked
elif "factor" in st.query_params:
    del st.query_params["factor"]
factor = next((f for f in factors if f"{f['kind']} {f['id']}" == picked), None)
highlight = set(factor["flagged_units"]) if factor else set()

st.subheader(f"{analyte} over time")
if series is not None:
    points = [p for p in series["results"] if not p.get("redacted")]
    hidden = len(series["results"]) - len(points)
    st.plotly_chart(
        figures.control_chart(analyte, points, highlight, picked),
        key="control-chart",
        width="stretch",
    )
    notes = []
    if series["total"] > len(series["results"]):
        notes.append(f"the latest {len(series['results'])} of {series['total']} results")
    if hidden:
        notes.append(f"{hidden} result(s) at sites outside your access are not drawn")
    if factor:
        notes.append(
            f"{picked}: {factor['affected']} of its {factor['total']} units are above the limit"
        )
    if notes:
        st.caption("; ".join(notes))

st.subheader("Factors, strongest first")
factor_rows = [
    {
        **f,
        "rank": n,
        "flagged_share": round(100 * f["flagged_share"], 1),
        "unflagged_share": round(100 * f["unflagged_share"], 1),
        # no lift: the factor occurs only among flagged units
        "lift": f["lift"] if f["lift"] is not None else float("inf"),
    }
    for n, f in enumerate(factors, start=1)
]
tables.show(
    tables.frame(
        factor_rows,
        [
            "rank",
            "kind",
            "id",
            "affected",
            "total",
            "flagged_share",
            "unflagged_share",
            "lift",
            "p_value",
            "score",
        ],
    ),
    "factors",
    key="factors",
    empty=f"No {analyte} result is above its upper limit, so nothing is ranked.",
    column_config={
        "flagged_share": st.column_config.NumberColumn("% of flagged units", format="%.1f"),
        "unflagged_share": st.column_config.NumberColumn("% of other units", format="%.1f"),
        "p_value": st.column_config.NumberColumn("p-value", format="%.2e"),
        "score": st.column_config.NumberColumn("score (-log10 p)", format="%.2f"),
    },
)

st.subheader("Results above the limit")
tables.show(
    tables.frame(
        [{**f, "id": f.get("result_id", f.get("id"))} for f in answer["flagged"]],
        [
            "id",
            "target_kind",
            "target_id",
            "unit_kind",
            "unit_id",
            "value",
            "upper_limit",
            "result_unit",
            "tested_at",
        ],
    ),
    "flagged-results",
    key="flagged",
    empty=f"No {analyte} result is above its upper limit.",
)
