"""Placing and releasing a QA hold on a lot (qa; reason and password entered again), the
form the lot page and the recall page share."""

from __future__ import annotations

from typing import Any

import streamlit as st

from dashboard import intents, session, tables
from dashboard.client import ApiClient

HOLD_COLUMNS = [
    "id",
    "active",
    "reason",
    "placed_by",
    "placed_at",
    "released_by",
    "released_at",
    "release_reason",
]


def history(holds: dict[str, Any], key: str) -> None:
    """A lot's holds (``GET /lots/{id}/holds``): the active one first, then every hold."""
    active = holds.get("active")
    if active:
        st.warning(
            f"Lot {holds['lot']} is on hold ({active['id']}) since {active['placed_at']} "
            f"(placed by {active['placed_by']}): {active['reason']}"
        )
    else:
        st.caption(f"Lot {holds['lot']} is not on hold.")
    tables.show(
        tables.frame(holds["holds"], HOLD_COLUMNS),
        f"holds-{holds['lot']}",
        key=f"holds-{key}",
        empty="No hold was ever placed on this lot.",
    )


def form(lot: str, active: dict[str, Any] | None, key: str) -> None:
    """Place a hold on the lot, or release its active one: the qa signer's reason,
    password entered again and a deliberate confirmation."""
    if session.may_not("hold", "Placing or releasing a hold"):
        return
    release = active is not None
    intent = f"{'release' if release else 'place'}-hold-{lot}"
    intents.show_done(f"hold-{lot}")
    action = "release lot {lot} from its hold" if release else "place lot {lot} on hold"
    statement = f"I, {session.username()}, {action.format(lot=lot)}."
    with st.form(f"hold-{key}-{lot}", clear_on_submit=True):
        st.markdown(f"**{'Release the hold' if release else 'Place a hold'}** (qa only)")
        reason = st.text_area("Reason", key=f"hold-{key}-reason")
        password = st.text_input(
            "Your password, entered again to sign",
            type="password",
            autocomplete="current-password",
            key=f"hold-{key}-password",
        )
        confirmed = st.checkbox(statement, key=f"hold-{key}-confirm")
        submitted = st.form_submit_button(
            "Release hold" if release else "Place hold", type="primary"
        )
    if intents.pending_key(intent):
        st.caption("An earlier attempt got no answer: sending again is carried out once at most.")
    if not submitted:
        return
    if not reason.strip() or not password:
        st.error("Enter a reason and your password to sign.")
        return
    if not confirmed:
        st.error("Tick the statement to confirm that you sign it.")
        return
    work = ApiClient.release_hold if release else ApiClient.place_hold
    answer = intents.act(
        intent,
        f"{'Releasing' if release else 'Placing'} the hold on {lot}...",
        lambda client, idempotency_key: work(
            client, lot, reason.strip(), password, idempotency_key
        ),
    )
    if answer is not None:
        verb = "released from hold" if release else "placed on hold"
        intents.done(f"hold-{lot}", f"Lot {lot} {verb} ({answer['id']}).")
        st.rerun()
