"""Impurity: an analyte's control charts, and what its flagged results have in common.

The question is the query string: ``analyte``, ``flag`` (oos, oot or any: which results
flag a unit; any when absent), ``baseline_until`` (a date: the control limits come from
the results before it; the first 20 of each series when absent) and ``factor`` (the factor
whose flagged units the charts circle).
"""

from __future__ import annotations

import math
from datetime import date
from typing import Any, cast

import pandas as pd
import streamlit as st

from dashboard import display, figures, params, session, tables
from dashboard.client import ApiClient

FLAGS = {
    "any": "any flag",
    "oos": "out of specification (oos)",
    "oot": "out of trend (oot)",
}
FLAG_WORDS = {
    "any": "out of specification or out of trend",
    "oos": "out of specification",
    "oot": "out of trend",
}
RESULTS_DRAWN = 5_000
_FLAG, _BASELINE = "impurity-flag", "impurity-baseline-until"

st.title("Impurity investigation")
analyte = params.ask_for("analyte", "Analyte", params.one("analyte"), button="Investigate")
if not analyte:
    st.info('Enter an analyte (for example "Impurity B") to chart it and rank its causes.')
    st.stop()

# -- flag and baseline: the query string is the one source, as for the factor below ------
flag = params.one("flag") or "any"
if flag not in FLAGS:
    st.warning(f'flag "{flag}" is not one of oos, oot, any: any is shown.')
    flag = "any"
    st.query_params.pop("flag", None)
baseline_text = params.one("baseline_until")
baseline: date | None = None
if baseline_text:
    try:
        baseline = date.fromisoformat(baseline_text)
    except ValueError:
        st.warning(
            f'baseline_until "{baseline_text}" is not a date (YYYY-MM-DD): the first 20 '
            "results of each series are the baseline."
        )
        st.query_params.pop("baseline_until", None)
baseline_until = baseline.isoformat() if baseline else None
for key, value in ((_FLAG, flag), (_BASELINE, baseline)):
    if key not in st.session_state or st.session_state[key] != value:
        st.session_state[key] = value


def _flag_to_query() -> None:
    picked = st.session_state[_FLAG] or "any"
    if picked == "any":
        st.query_params.pop("flag", None)
    else:
        st.query_params["flag"] = picked


def _baseline_to_query() -> None:
    picked = st.session_state[_BASELINE]
    if picked:
        st.query_params["baseline_until"] = picked.isoformat()
    else:
        st.query_params.pop("baseline_until", None)


choose = st.columns([3, 2])
choose[0].radio(
    "Flag a unit when one of its results is",
    list(FLAGS),
    format_func=FLAGS.__getitem__,
    key=_FLAG,
    horizontal=True,
    on_change=_flag_to_query,
    help="out of specification: outside a specification limit; out of trend: within "
    "specification, but breaking one of Nelson's rules 1-4 on its series' control chart",
)
choose[1].date_input(
    "Baseline until (optional)",
    value=None,
    key=_BASELINE,
    on_change=_baseline_to_query,
    format="YYYY-MM-DD",
    help="Each series' centre line and control limits come from its in-specification "
    "results tested before this date; when empty, from its first 20.",
)

answer = session.ask(
    f"Ranking what the flagged {analyte} results share...",
    ApiClient.impurity,
    analyte,
    flag,
    baseline_until,
)
if answer is None:
    st.stop()
results = session.ask(
    f"Reading the {analyte} results...",
    ApiClient.analyte_results,
    analyte,
    RESULTS_DRAWN,
    baseline_until,
)

cols = st.columns(3)
cols[0].metric("Units tested", display.count(answer["units_tested"], answer.get("units_hidden", 0)))
if answer.get("units_hidden"):
    cols[0].caption(
        f"{answer['units_tested']} visible, {answer['units_hidden']} at sites outside your access"
    )
cols[1].metric("Units flagged", answer["units_flagged"])
# the API counts flagged units (and the factors' units) at every site, hidden ones too
cols[1].caption(FLAG_WORDS[flag] + (", at all sites" if answer.get("units_hidden") else ""))
cols[2].metric("Factors tested", answer["factors_tested"])
if len(answer["factors"]) < answer["factors_tested"]:
    cols[2].caption(f"the strongest {len(answer['factors'])} are listed")

factors = answer["factors"]
choices = ["(none)"] + [f"{f['kind']} {f['id']}" for f in factors]
by_choice = {f"{f['kind']} {f['id']}": f for f in factors}
# The query string is the one source of the pick: a link (or the back button) sets the
# widget, and a pick reaches the query string in its callback, before the rerun reads it.
# (Without a key, the widget's identity changed with its index, and a second pick was lost.)
_PICK = f"factor-of-{analyte}"
wanted = params.one("factor")
if st.session_state.get(_PICK) != (shown := wanted if wanted in choices else "(none)"):
    st.session_state[_PICK] = shown


def _pick_to_query() -> None:
    st.query_params["factor"] = st.session_state[_PICK]


def _choice_text(choice: str) -> str:
    f = by_choice.get(choice)
    if f is None:
        return choice
    own = f" ({f['supplier_lot']})" if f.get("supplier_lot") else ""
    return f"{choice}{own}: {f['affected']} of {f['total']} {f['product'] or ''} units"


picked = st.selectbox(
    "Highlight the flagged units of a factor",
    choices,
    key=_PICK,
    on_change=_pick_to_query,
    format_func=_choice_text,
)
if picked != "(none)":
    st.query_params["factor"] = picked
elif "factor" in st.query_params:
    del st.query_params["factor"]
factor = by_choice.get(picked)
highlight = set(factor["flagged_units"]) if factor else set()
if factor:
    st.caption(
        f"{picked}: {factor['affected']} of the {factor['total']} {factor['product'] or ''} "
        f"units that have it are flagged ({FLAG_WORDS[flag]}); they are circled below."
    )


# -- the control charts -------------------------------------------------------------------
def _day(moment: str | None) -> str:
    return (moment or "?")[:10]


def _flag_count(series: dict[str, Any]) -> int:
    return {"oos": series["oos"], "oot": series["oot"]}.get(flag, series["oos"] + series["oot"])


st.subheader(f"{analyte} over time")
if results is not None:
    points = [p for p in results["results"] if not p.get("redacted")]
    hidden = len(results["results"]) - len(points)
    most = f"those with most {FLAG_WORDS[flag]} results"
    notes = [
        "one individuals control chart per product and method, "
        + (f"the one with the circled units first, then {most}" if factor else f"{most} first")
    ]
    if results["total"] > len(results["results"]):
        notes.append(f"the latest {len(results['results'])} of {results['total']} results")
    if hidden:
        notes.append(f"{hidden} result(s) at sites outside your access are not drawn")
    st.caption("; ".join(notes))
    of_series: dict[str, list[dict[str, Any]]] = {}
    for p in points:
        of_series.setdefault(p["series"], []).append(p)
    labelled = [(figures.series_label(s["product"], s["method"]), s) for s in results["series"]]
    # the series with the highlighted units first, then the most flagged, else as the API
    labelled.sort(
        key=lambda item: (
            not any(highlight.intersection(p["units"]) for p in of_series.get(item[0], [])),
            -_flag_count(item[1]),
        )
    )
    for label, series in labelled:
        drawn = of_series.get(label, [])
        st.markdown(
            f"**{label}** · {series['results']} results, {series['oos']} out of "
            f"specification, {series['oot']} out of trend"
        )
        if drawn:
            st.plotly_chart(
                figures.control_chart(series, drawn, highlight, picked),
                key=f"control-chart-{label}",
                width="stretch",
            )
        else:
            st.caption("None of its results is drawn (outside your access, or older).")
        if series["baseline_points"]:
            which = f"before {baseline_until}" if baseline_until else "the first"
            about = (
                f"Baseline: {series['baseline_points']} in-specification results ({which}), "
                f"{_day(series['baseline_from'])} to {_day(series['baseline_to'])}"
            )
        else:
            about = "Baseline: no in-specification result" + (
                f" before {baseline_until}" if baseline_until else ""
            )
        if series["evaluated"]:
            about += (
                f"; centre {series['centre']:.3g}, sigma {series['sigma']:.3g}, control "
                f"limits {series['lower_control']:.3g} to {series['upper_control']:.3g}."
            )
        else:
            about += f"; not evaluated: {series['note'] or 'no control limits'}."
        st.caption(about)

# -- the factors -------------------------------------------------------------------------
st.subheader("Factors, strongest first")
factor_rows = [{**f, "rank": n} for n, f in enumerate(factors, start=1)]
_FACTOR_COLUMNS = [
    "rank",
    "kind",
    "id",
    "supplier_lot",
    "product",
    "depth",
    "affected",
    "total",
    "lift",
    "p_value",
    "q_value",
    "score",
    "q_score",
    "units_with_it",
    "flagged_share",
    "unflagged_share",
    "products_tested",
]
_FACTORS_SHOWN = (
    "rank",
    "kind",
    "id",
    "supplier_lot",
    "product",
    "depth",
    "affected",
    "total",
    "lift",
    "p",
    "q",
)


def _lift_text(lift: object) -> str:
    value = cast(float, lift)
    return "only in flagged units" if math.isinf(value) else f"{value:.3g}"


def _p_text(log_p: object) -> str:
    return figures.readable_p(-cast(float, log_p))


def _readable(table: pd.DataFrame) -> Any:
    """The factors as people read them; the download keeps the raw numbers. A factor found
    only among flagged units has no lift: shown so, held as infinite (it sorts so); ``p``
    and ``q`` hold log10 p and log10 q (sorting them sorts p and q), shown as p and q."""
    shown = table.assign(
        lift=table["lift"].astype(float).fillna(math.inf),
        p=-table["score"],
        q=-table["q_score"],
    )
    # a factor that is not a supplier lot has no supplier lot number: shown empty
    return shown.style.format({"lift": _lift_text, "p": _p_text, "q": _p_text}, na_rep="")


tables.show(
    tables.frame(factor_rows, _FACTOR_COLUMNS),
    "factors",
    key="factors",
    empty=f"No {analyte} result is flagged {FLAG_WORDS[flag]}, so nothing is ranked.",
    styled=_readable,
    column_order=_FACTORS_SHOWN,
    column_config={
        "supplier_lot": st.column_config.TextColumn(
            "supplier lot", help="the supplier's own lot number"
        ),
        "product": st.column_config.TextColumn(
            "product",
            help="the product whose units show the evidence: affected and total count its units",
        ),
        "depth": st.column_config.NumberColumn(
            "depth",
            help="generations upstream of the flagged units: 0 their own batch or equipment, "
            "1 their input lots, ...",
        ),
        "affected": st.column_config.NumberColumn("affected", help="flagged units that have it"),
        "total": st.column_config.NumberColumn("total", help="units that have it"),
        "lift": st.column_config.Column(
            "lift",
            width=150,
            help="share of flagged units that have it / share of other units that have it",
        ),
        "p": st.column_config.Column("p", help="one-sided Fisher exact test, within its product"),
        "q": st.column_config.Column("q", help="Benjamini-Hochberg adjusted p"),
    },
)
if factors:
    st.caption(
        "p: how likely at least this many of its units would be flagged were the flags "
        "spread at random (one-sided Fisher exact test)."
    )
    st.caption(
        f"q: p corrected for testing {answer['factors_tested']} factors at once "
        "(Benjamini-Hochberg): the expected share of false leads among factors this strong "
        "or stronger."
    )

# -- the flagged results -----------------------------------------------------------------
st.subheader("Flagged results")
_FLAGGED_COLUMNS = [
    "id",
    "reason",
    "series",
    "unit_kind",
    "unit_id",
    "target_kind",
    "target_id",
    "value",
    "lower_limit",
    "upper_limit",
    "result_unit",
    "tested_at",
    "reasons",
]
_REDACTED_TEXT = ("reason", "series", "unit_kind", "unit_id", "target_kind", "target_id")
flagged_rows = [
    {"id": f["id"], **dict.fromkeys(_REDACTED_TEXT, "redacted"), "hidden": True}
    if f.get("redacted")
    else {**f, "id": f["result_id"], "hidden": False}
    for f in answer["flagged"]
]
any_hidden = any(r["hidden"] for r in flagged_rows)
tables.show(
    tables.frame(flagged_rows, _FLAGGED_COLUMNS + (["hidden"] if any_hidden else [])).rename(
        columns={"hidden": "redacted"}
    ),
    "flagged-results",
    key="flagged",
    empty=f"No {analyte} result is {FLAG_WORDS[flag]}.",
)
if answer["flagged"]:
    st.caption(
        "reason: oos = outside a specification limit; oot:N = Nelson rule N on its series' "
        "control chart: "
        + "; ".join(f"{rule} {text}" for rule, text in figures.RULES.items())
        + "."
    )
