"""A supplier: its status, its lots, its change notices with the impact of each, and the
signed qa decision on a change notice."""

from __future__ import annotations

from typing import Any

import streamlit as st

from dashboard import intents, params, session, tables
from dashboard.client import ApiClient

DECISIONS = {
    "accepted": "Accepted",
    "extra_testing": "Extra testing",
    "requalification_required": "Requalification required",
}
DECISION_COLUMNS = ["id", "number", "decision", "reason", "decided_by", "decided_at", "supersedes"]

st.title("Supplier")
supplier = params.ask_for("id", "Supplier id", params.one("id"), button="Open")
if not supplier:
    st.info("Enter a supplier id to see its lots, its change notices and their impact.")
    st.stop()

record = session.ask(f"Opening supplier {supplier}...", ApiClient.supplier, supplier)
if record is None:
    st.stop()

st.subheader(f"{record['name'] or supplier} ({record['id']})")
visible = [lot for lot in record["lots"] if not lot.get("redacted")]
cols = st.columns(4)
cols[0].metric("Status", record["status"] or "unknown")
cols[1].metric("Country", record["country"] or "unknown")
cols[2].metric("Lots", len(record["lots"]))
cols[3].metric("Change notices", len(record["changes"]))
st.caption(f"Lots: {len(visible)} visible, {record['lots_hidden']} hidden.")

st.subheader("Lots")
if record["lots_hidden"]:
    st.caption(
        f"{record['lots_hidden']} lot(s) are at sites outside your access: their ids are "
        "shown, marked redacted."
    )
lot_table = tables.frame(
    record["lots"],
    ["id", "material_id", "site", "status", "quantity", "unit", "created_at", "supplier_lot"],
)
if not lot_table.empty:
    lot_table.insert(1, "open", [f"/lot?id={i}" for i in lot_table["id"]])
tables.show(
    lot_table,
    f"lots-of-{supplier}",
    key="lots",
    empty="The supplier supplied no lots.",
    column_config={"open": st.column_config.LinkColumn("open", display_text="open lot")},
)

st.subheader("Change notices")
changes: list[dict[str, Any]] = record["changes"]
rows = [
    {
        **c,
        "decision": (c["decision"] or {}).get("decision", "undecided"),
        "decided_by": (c["decision"] or {}).get("decided_by"),
        "decided_at": (c["decision"] or {}).get("decided_at"),
    }
    for c in changes
]
tables.show(
    tables.frame(
        rows,
        [
            "id",
            "material_id",
            "description",
            "notified_at",
            "effective_at",
            "decision",
            "decided_by",
            "decided_at",
        ],
    ),
    f"changes-of-{supplier}",
    key="changes",
    empty="The supplier has sent no change notice.",
)
if not changes:
    st.stop()

ids = [c["id"] for c in changes]
wanted = params.one("change")
picked = st.selectbox(
    "Change notice",
    ids,
    index=ids.index(wanted) if wanted in ids else 0,
    format_func=lambda i: f"{i}: {next(c for c in changes if c['id'] == i)['description']}",
)
if picked != wanted:
    st.query_params["change"] = picked
change = next(c for c in changes if c["id"] == picked)

st.subheader(f"Impact of change {picked}")
st.caption(
    "The supplier's lots made from the notice's effective date "
    f"({change['effective_at'] or 'not given'}), of the material it concerns "
    f"({change['material_id'] or 'any'}), and everything downstream of them (as "
    "`lotgraph impact --change` answers). Narrow it with a later date or another material; "
    "blank keeps the notice's own."
)
# the fields start from the link's filters; keyed, so what is typed survives the rerun that
# the link's change causes
for name in ("since", "material"):
    st.session_state.setdefault(f"impact-{name}", params.one(name))
with st.form("impact-filters"):
    since_text = st.text_input("Since (ISO date or time)", key="impact-since")
    material_text = st.text_input("Material", key="impact-material")
    if st.form_submit_button("Show impact", type="primary"):
        session.forget_answers()
        for name, value in (("since", since_text.strip()), ("material", material_text.strip())):
            if value:
                st.query_params[name] = value
            else:
                st.query_params.pop(name, None)
since = params.one("since") or None
material = params.one("material") or None
impact = session.ask(
    f"Following the lots of {supplier} since change {picked}...",
    ApiClient.impact,
    supplier,
    since,
    material,
    picked,
)
if impact is not None:
    st.caption(
        f"Lots made from {impact['since'] or 'any time'}"
        + (f", material {impact['material']}" if impact.get("material") else ", any material")
    )
    figures = st.columns(5)
    figures[0].metric("Open batches", len(impact["open_batches"]))
    figures[1].metric("Supplier lots", len(impact["lots"]))
    figures[2].metric("Batches", len(impact["batches"]))
    figures[3].metric("Downstream lots", len(impact["downstream_lots"]))
    figures[4].metric("Customers", len(impact["customers"]))
    open_table = tables.frame(impact["open_batches"], ["id", "status", "site", "started_at"])
    if not open_table.empty:
        open_table.insert(1, "custody", [f"/custody?batch={i}" for i in open_table["id"]])
    tables.show(
        open_table,
        f"impact-{picked}-open-batches",
        key="impact-open",
        empty="No batch that used these lots is still open.",
        column_config={
            "custody": st.column_config.LinkColumn("custody", display_text="open custody")
        },
    )
    affected = tables.frame(
        [{"id": i, "open": f"/lot?id={i}", "kind": "supplier lot"} for i in impact["lots"]]
        + [
            {"id": i, "open": f"/lot?id={i}", "kind": "downstream lot"}
            for i in impact["downstream_lots"]
        ],
        ["id", "open", "kind"],
    )
    tables.show(
        affected,
        f"impact-{picked}-lots",
        key="impact-lots",
        empty="No lot of the supplier falls under this change.",
        column_config={"open": st.column_config.LinkColumn("open", display_text="open lot")},
    )

st.subheader(f"Decision on change {picked}")
intents.show_done(f"decision-{picked}")
current = change["decision"]
if current:
    st.info(
        f"In force: {DECISIONS.get(current['decision'], current['decision'])}, decided by "
        f"{current['decided_by']} at {current['decided_at']}: {current['reason']}"
    )
else:
    st.caption("No decision has been recorded on this change notice.")
tables.show(
    tables.frame(change["decisions"], DECISION_COLUMNS),
    f"decisions-{picked}",
    key="decisions",
    empty="",
)
if session.may_not("decide_supplier_change", "Recording a decision"):
    st.stop()
intent = f"decision-{supplier}-{picked}"
with st.form("decision", clear_on_submit=True):
    st.markdown(
        "**Record a decision** (qa only)"
        + (": it supersedes the one in force, which stays in the history" if current else "")
    )
    decision = st.selectbox("Decision", list(DECISIONS), format_func=DECISIONS.__getitem__)
    reason = st.text_area("Reason", key="decision-reason")
    password = st.text_input(
        "Your password, entered again to sign",
        type="password",
        autocomplete="current-password",
        key="decision-password",
    )
    confirmed = st.checkbox(
        f"I, {session.username()}, sign this decision on change notice {picked} of "
        f"supplier {supplier}.",
        key="decision-confirm",
    )
    submitted = st.form_submit_button("Sign decision", type="primary")
if intents.pending_key(intent):
    st.caption("An earlier attempt got no answer: sending again is carried out once at most.")
if submitted:
    if not reason.strip() or not password:
        st.error("Enter a reason and your password to sign.")
    elif not confirmed:
        st.error("Tick the statement to confirm that you sign it.")
    else:
        answer = intents.act(
            intent,
            f"Recording the decision on {picked}...",
            lambda client, key: ApiClient.decide_supplier_change(
                client, supplier, picked, decision, reason.strip(), password, key
            ),
        )
        if answer is not None:
            intents.done(
                f"decision-{picked}",
                f"Decision recorded on {picked}: {DECISIONS[answer['decision']]} ({answer['id']}).",
            )
            st.rerun()
