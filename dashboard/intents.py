"""A signed action from the screen, carried out once however often it is sent.

Each intended action (place a hold on lot L, decide on notice C, ...) gets an
Idempotency-Key when it is first sent, kept in the session's state until the API gives a
definite answer. A retry after a lost connection or a timeout sends the same key, so the
API answers with the first action's result instead of doing it twice. Any definite
answer — success or refusal — concludes the intent: the next action gets a new key (a
refusal is the key's answer on the API, and would be repeated to a new attempt with the
old key). Refusals are shown as the API gives them: status, code and detail.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import TypeVar

import streamlit as st

from dashboard import session
from dashboard.client import ApiClient, ApiFailure

T = TypeVar("T")
_KEYS = "lg_intent_keys"
_DONE = "lg_intent_done"
# A 401 to a signing request that means the password entered again was refused (or the
# account is now locked), not that the session's token is no longer valid.
_PASSWORD_REFUSED = ("wrong username or password", "too many wrong passwords")


def pending_key(intent: str) -> str | None:
    """The Idempotency-Key of an intent sent but not yet answered, if any."""
    keys: dict[str, str] = st.session_state.get(_KEYS, {})
    return keys.get(intent)


def _concluded(exc: ApiFailure) -> bool:
    if exc.status is None or exc.status >= 500:
        return False  # no answer, or none yet: the first request may still be carried out
    return not (exc.status == 409 and "still being carried out" in exc.detail)


def act(intent: str, what: str, work: Callable[[ApiClient, str], T]) -> T | None:
    """Send ``work(client, idempotency_key)``; the answer, or None after showing why not."""
    keys: dict[str, str] = st.session_state.setdefault(_KEYS, {})
    key = keys.setdefault(intent, uuid.uuid4().hex)
    try:
        with st.spinner(what):
            answer = work(session.client(), key)
    except ApiFailure as exc:
        if _concluded(exc):
            keys.pop(intent, None)
        if exc.status == 401 and not exc.detail.startswith(_PASSWORD_REFUSED):
            session.end_session("Your session has ended. Sign in again to continue.")
            st.rerun()
        if exc.status is None or exc.status >= 500:
            st.error(
                f"No answer from the API ({exc.code}): {exc.detail}. Send it again: "
                "it will be carried out once."
            )
        else:
            st.error(f"Refused by the API ({exc.status} {exc.code}): {exc.detail}")
        return None
    keys.pop(intent, None)
    session.forget_answers()  # what was read before the action is out of date now
    return answer


def done(intent: str, message: str) -> None:
    """Say ``message`` on the next run of the page (after the rerun that shows the result)."""
    st.session_state.setdefault(_DONE, {})[intent] = message


def show_done(intent: str) -> None:
    message = st.session_state.get(_DONE, {}).pop(intent, None)
    if message:
        st.success(message)
