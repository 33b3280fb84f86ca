"""Writes made on screen (signatures, versions) and what they show: the statement a signer
makes, times as people read them, and one Idempotency-Key per intended write.

A write is never retried blindly: each intended signature or version gets one
Idempotency-Key, kept in this session until the API has answered it, so pressing the
button again after a lost connection repeats the same request and the API acts once.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

import streamlit as st

from dashboard import session
from dashboard.client import ApiFailure

INTENTS = "lg_write_intents"
_REFUSAL = "lg_write_refusal"


def show_refusal() -> None:
    """The API's refusal of the last write, as it is (kept over the rerun that reads the
    page again)."""
    refusal = st.session_state.pop(_REFUSAL, None)
    if refusal:
        st.error(refusal)


def readable(at: str | None) -> str:
    """An ISO time as people read it, with its timezone ('2026-01-05 09:00:00 UTC')."""
    if not at:
        return "-"
    try:
        when = datetime.fromisoformat(at)
    except ValueError:
        return at
    if when.tzinfo is None:
        return f"{when:%Y-%m-%d %H:%M:%S} (no timezone given)"
    return f"{when:%Y-%m-%d %H:%M:%S} {when.tzname()}"


def statement(name: str, meaning: str, version: int, document: str, sha: str | None) -> str:
    """What the signer declares, spelled out before the signature is made."""
    return f"I, {name}, {meaning} version {version} of {document} — sha256 {sha or '(none)'}"


def key_for(intent: tuple[Any, ...]) -> str:
    """The Idempotency-Key of this intended write: the same until it is answered; another
    intent (another meaning, version, content) abandons the one before."""
    slot = intent[:2]  # one write of each kind per document at a time
    kept = st.session_state.get(INTENTS, {}).get(slot)
    if kept is None or kept[0] != intent:
        kept = (intent, str(uuid.uuid4()))
        st.session_state.setdefault(INTENTS, {})[slot] = kept
    key: str = kept[1]
    return key


def unknown_outcome(exc: ApiFailure) -> bool:
    """No answer, a server failure or a request still being carried out: the write may
    yet happen, so a retry must carry the same key."""
    return (
        exc.status is None
        or exc.status >= 500
        or (exc.status == 409 and "still being carried out" in exc.detail)
    )


def write(
    what: str, intent: tuple[Any, ...], work: Callable[..., dict[str, Any]], *args: Any
) -> dict[str, Any] | None:
    """One write under its intent's key; on refusal the API's answer is shown as it is."""
    key = key_for(intent)
    try:
        with st.spinner(what):
            answer = work(session.client(), *args, key)
    except ApiFailure as exc:
        if exc.status is None:
            st.error(
                f"No answer from the API ({exc.detail}). Press the button again: the "
                "same request is sent, and it is carried out at most once."
            )
            return None
        if not unknown_outcome(exc) and exc.status != 401:
            # answered: a retry would only repeat the refusal, so the key is spent
            st.session_state[INTENTS].pop(intent[:2], None)
        # the refusal may say the document changed meanwhile (409): the page is read again
        # and shows it as it is now, with the refusal on top
        st.session_state[_REFUSAL] = f"Refused by the API ({exc.status} {exc.code}): {exc.detail}"
        session.forget_answers()
        st.rerun()
    st.session_state[INTENTS].pop(intent[:2], None)
    session.forget_answers()
    return answer
