"""The audit trail, for auditors: the chain's verification, filters, pages and the CSV.

Every role sees the page; the API answers only auditors, and anyone else reads its 403.
The filters live in the query string (``/audit?actor=qa-1&class=write&since=2026-03-01``),
so a filtered trail is a link; ``cursor`` is the page's place in it and ``limit`` the rows
per page (50 unless the link says).
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import streamlit as st

from dashboard import params, session
from dashboard.client import ApiClient
from dashboard.links import entity_link

PAGE_SIZE = 50
# query parameter -> the form's label (the API's filter of the same name)
FILTERS = {
    "actor": "Who (account)",
    "entity_id": "Entity id",
    "kind": "Kind (action)",
    "class": "Class",
    "since": "From",
    "until": "To",
}
CLASSES = ("", "read", "write", "sign_in")
_BACK = "lg_audit_back"  # the cursors of the pages before this one, for "Previous page"


def _details(entry: dict[str, Any]) -> str:
    shown = {k: entry[k] for k in ("old", "new") if entry.get(k) is not None}
    return json.dumps(shown, sort_keys=True, ensure_ascii=False)


def _verification(report: dict[str, Any]) -> None:
    covered = report["coverage"]
    rows = f"{covered['nodes']} nodes and {covered['relationships']} relationships"
    if report["chain_ok"]:
        head = report["head"]
        last = f"; last entry {head['seq']}, hash `{head['hash']}`" if head else ""
        st.success(f"**Audit trail intact**: {report['entries']} entries{last}.")
    else:
        st.error(
            f"**Audit trail broken** at entry {report['first_bad']}: {report['reason']} "
            f"({report['entries']} entries read)."
        )
    if covered["uncovered"]:
        first = ", ".join(covered["uncovered_rows"][:10])
        st.error(
            f"**{covered['uncovered']} stored rows are covered by no audit entry** "
            f"(covered: {rows}); first: {first}."
        )
    else:
        st.caption(f"Every stored row is covered by an entry of the chain: {rows}.")


def _filter_form(current: dict[str, str]) -> None:
    with st.form("audit-filters"):
        cols = st.columns(3)
        actor = cols[0].text_input(FILTERS["actor"], value=current.get("actor", ""))
        entity = cols[1].text_input(
            FILTERS["entity_id"], value=current.get("entity_id", ""), help="exact id"
        )
        kind = cols[2].text_input(
            FILTERS["kind"],
            value=current.get("kind", ""),
            help="an action: read, write, sign_in, hold_placed, signature_added, ingest, ...",
        )
        cols = st.columns(3)
        chosen = current.get("class", "")
        entry_class = cols[0].selectbox(
            FILTERS["class"],
            CLASSES,
            index=CLASSES.index(chosen) if chosen in CLASSES else 0,
            format_func=lambda c: c or "any",
        )
        since = cols[1].text_input(
            FILTERS["since"],
            value=current.get("since", ""),
            help="a date (from its start) or a date-time, UTC unless it has an offset",
        )
        until = cols[2].text_input(
            FILTERS["until"],
            value=current.get("until", ""),
            help="a date (that whole day included) or a date-time (excluded)",
        )
        submitted = st.form_submit_button("Filter", type="primary")
    if not submitted:
        return
    chosen_filters = {
        "actor": actor,
        "entity_id": entity,
        "kind": kind,
        "class": entry_class,
        "since": since,
        "until": until,
    }
    session.forget_answers()  # filtering again means: ask the API again
    st.session_state.pop(_BACK, None)
    st.query_params.pop("cursor", None)
    for name, value in chosen_filters.items():
        if value.strip():
            st.query_params[name] = value.strip()
        else:
            st.query_params.pop(name, None)
    st.rerun()


def _go(cursor: str | None) -> None:
    if cursor:
        st.query_params["cursor"] = cursor
    else:
        st.query_params.pop("cursor", None)
    st.rerun()


st.title("Audit trail")
report = session.ask("Verifying the audit trail's hash chain...", ApiClient.audit_verify)
if report is None:  # refused (only auditors read the trail) or the API is down: said above
    st.stop()
_verification(report)

filters = {name: params.one(name) for name in FILTERS if params.one(name)}
_filter_form(filters)
cursor = params.one("cursor") or None
size = params.one("limit")  # rows per page, from a link (?limit=20); the API allows 1 to 1000
page_size = int(size) if size.isdigit() and 1 <= int(size) <= 1000 else PAGE_SIZE
page = session.ask("Reading the audit trail...", ApiClient.audit, filters, cursor, page_size)
if page is None:
    st.stop()

entries = page["entries"]
back: dict[str, list[str]] = st.session_state.setdefault(_BACK, {})
trail_of = json.dumps(filters, sort_keys=True)  # the cursors belong to these filters
earlier = back.setdefault(trail_of, [])
if entries:
    number = len(earlier) + 1
    st.caption(
        f"Page {number}: entries {entries[0]['seq']} to {entries[-1]['seq']} "
        f"({len(entries)} shown{', more follow' if page['next_cursor'] else ''})."
    )
table = pd.DataFrame(
    [
        {
            "seq": e["seq"],
            "at": e["at"],
            "actor": e["actor"],
            "action": e["action"],
            "class": e["class"],
            "entity": e["entity"],
            "key": e["key"],
            "open": entity_link(e["entity"], e["key"]) or "",  # no page: an empty cell
            "status": (e.get("new") or {}).get("status") if e["reason"] == "access" else None,
            "reason": e["reason"],
            "details": _details(e),
        }
        for e in entries
    ],
    columns=[
        "seq",
        "at",
        "actor",
        "action",
        "class",
        "entity",
        "key",
        "open",
        "status",
        "reason",
        "details",
    ],
)
if table.empty:
    st.info("No audit entry matches these filters.")
else:
    st.dataframe(
        table,
        hide_index=True,
        key="table-audit",
        column_config={
            "open": st.column_config.LinkColumn(
                "open", display_text=r"id=(.*)$", width="medium", help="the entity's page"
            ),
            "details": st.column_config.TextColumn("details", width="large"),
        },
    )

cols = st.columns(3)
if cols[0].button("Previous page", disabled=cursor is None, key="audit-previous"):
    _go(earlier.pop() if earlier else None)  # a shared link has no history: the first page
if cols[1].button("Next page", disabled=not page["next_cursor"], key="audit-next"):
    earlier.append(cursor or "")
    _go(page["next_cursor"])
cols[2].download_button(
    "Download the filtered trail (audit.csv)",
    session.deferred(ApiClient.audit_csv, filters),
    file_name="audit.csv",
    mime="text/csv",
    key="download-audit",
    on_click="ignore",  # a download is not a question: the page is not run again
)
