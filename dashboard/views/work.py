"""The work queue, the home page: what waits for the signed-in person, oldest first, and
the signed workflow's KPIs over a period, each figure with the records it counts."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import streamlit as st

from dashboard import links, session, tables
from dashboard.client import ApiClient

_OPEN = st.column_config.LinkColumn("open", display_text="open")


def _linked(rows: list[dict[str, Any]], link: Callable[[dict[str, Any]], str]) -> list[dict]:
    return [{**row, "open": link(row)} for row in rows]


def _show(rows: list[dict[str, Any]], columns: list[str], name: str, empty: str) -> None:
    tables.show(
        tables.frame(rows, [*columns, "open"]),
        name,
        key=name,
        empty=empty,
        column_config={"open": _OPEN},
    )


st.title("Work")
queue = session.ask("Reading your work queue...", ApiClient.work)
if queue is None:
    st.stop()
st.caption(f"As of {queue['as_of']}, oldest first.")

awaiting = queue["awaiting_signature"]
batches = queue["batches_awaiting_release"]
deviations = queue["open_deviations"]
holds = queue["active_holds"]
mismatches = queue["hash_mismatches"]
cols = st.columns(5)
cols[0].metric("Awaiting your signature", len(awaiting))
cols[1].metric("Batches awaiting release", len(batches))
cols[2].metric("Open deviations", len(deviations))
cols[3].metric("Active holds", len(holds))
cols[4].metric("Hash mismatches", len(mismatches))

st.subheader("Awaiting your signature")
meanings = sorted({a["meaning"] for a in awaiting})
if meanings:
    st.markdown(
        " · ".join(f"**{m}**: {sum(1 for a in awaiting if a['meaning'] == m)}" for m in meanings)
    )
by_meaning = sorted(awaiting, key=lambda a: (a["meaning"], -(a.get("age_days") or 0.0)))
_show(
    _linked(by_meaning, lambda a: links.document(a["document_id"])),
    ["document_id", "meaning", "age_days", "waiting_since", "kind", "title", "state", "version"],
    "awaiting-signature",
    "Nothing awaits your signature (only a qa person signs).",
)

st.subheader("Batches awaiting release")
released_ok = sum(1 for b in batches if b["can_release"])
if batches:
    st.markdown(
        f"{released_ok} of {len(batches)} can be released now; the others have findings "
        "blocking their release."
    )
_show(
    _linked(
        [
            {
                **b,
                "findings": len(b["findings"]),
                "blocking": "; ".join(f"{f['kind']} {f['id']}" for f in b["findings"]),
            }
            for b in batches
        ],
        lambda b: links.batch(b["batch"]),
    ),
    [
        "batch",
        "completed_at",
        "findings",
        "blocking",
        "can_release",
        "can_override",
        "site",
        "product_material_id",
    ],
    "batches-awaiting-release",
    "No batch awaits release.",
)

st.subheader("Open deviations")
_show(
    _linked(deviations, lambda d: links.search(d["deviation_id"])),
    ["deviation_id", "age_days", "opened_at", "severity", "category", "status"],
    "open-deviations",
    "No deviation is open.",
)

st.subheader("Active holds")
_show(
    _linked(holds, lambda h: links.lot(h["lot"])),
    ["hold_id", "lot", "age_days", "placed_at", "placed_by", "reason"],
    "active-holds",
    "No lot is on hold.",
)

st.subheader("Hash mismatches")
if mismatches:
    st.warning(
        f"{len(mismatches)} signature(s) do not match the version they sign: the record "
        "changed after it was signed."
    )
_show(
    _linked(mismatches, lambda m: links.document(m["document_id"])),
    ["signature_id", "document_id", "version", "meaning", "signer_id", "signed_at"],
    "hash-mismatches",
    "Every signature matches the version it signs.",
)

# -- KPIs -----------------------------------------------------------------------------------
st.header("KPIs")


def _day(name: str) -> date | None:
    try:
        return date.fromisoformat(st.query_params.get(name) or "")
    except ValueError:
        return None


with st.form("kpi-period"):
    period_cols = st.columns(2)
    since = period_cols[0].date_input("Since (inclusive)", value=_day("since"), format="YYYY-MM-DD")
    until = period_cols[1].date_input(
        "Until (not inclusive)", value=_day("until"), format="YYYY-MM-DD"
    )
    if st.form_submit_button("Show KPIs"):
        session.forget_answers()
        for name, value in (("since", since), ("until", until)):
            if isinstance(value, date):
                st.query_params[name] = value.isoformat()
            else:
                st.query_params.pop(name, None)

period = (st.query_params.get("since") or None, st.query_params.get("until") or None)
kpis = session.ask("Computing the KPIs...", ApiClient.kpis, *period)
if kpis is None:
    st.stop()
st.caption(
    f"Over [{kpis.get('since') or 'the beginning'}, {kpis.get('until') or 'now'}): each "
    "figure's records are listed under it."
)


def _value(number: float | None, unit: str = "") -> str:
    return "-" if number is None else f"{number:g}{unit}"


def _records(title: str, ids: list[str], link: Callable[[str], str], name: str) -> None:
    with st.expander(f"{title}: {len(ids)} record(s)"):
        _show(
            [{"record": i, "open": link(i)} for i in ids],
            ["record"],
            f"kpi-{name}",
            "No record is counted.",
        )


hours = kpis["release_hours"]
rft = kpis["right_first_time"]
closure = kpis["deviation_closure_days"]
release_cols = st.columns(4)
release_cols[0].metric("Release time, median", _value(hours["median"], " h"))
release_cols[1].metric("Release time, p90", _value(hours["p90"], " h"))
release_cols[2].metric("Right first time", _value(rft["percent"], " %"))
release_cols[3].metric("Overrides", kpis["overrides"]["count"])
_records("Release time (completion to release)", hours["records"], links.batch, "release-hours")
_records("Released right first time", rft["records"], links.batch, "right-first-time")
_records("Released, not right first time", rft["not_right_first_time"], links.batch, "not-right")
_records("Released by override", kpis["overrides"]["records"], links.batch, "overrides")

closure_cols = st.columns(3)
closure_cols[0].metric("Deviation closure, median", _value(closure["median"], " d"))
closure_cols[1].metric("Deviation closure, p90", _value(closure["p90"], " d"))
closure_cols[2].metric("Evidence exports", kpis["evidence_exports"]["count"])
_records("Deviations closed", closure["records"], links.search, "deviation-closure")
_records(
    "Evidence packages exported (lots)", kpis["evidence_exports"]["records"], links.lot, "exports"
)

st.subheader("Approvals outstanding, by age")
bands = kpis["approvals_outstanding"]
for col, band in zip(st.columns(len(bands) or 1), bands, strict=False):
    col.metric(f"In review {band['band']}", band["count"])
for band in bands:
    _records(
        f"In review {band['band']}",
        band["records"],
        links.document,
        f"band-{band['band'].replace(' ', '')}",
    )
