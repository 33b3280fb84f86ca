"""Who is signed in, and every API call made on their behalf.

The token lives only in this browser session's state. The session ends when the token
does: at its expiry time, or as soon as the API refuses it (account disabled, secret
rotated). API errors become messages on the page, never tracebacks.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

import httpx
import streamlit as st

from dashboard.client import ApiClient, ApiFailure
from dashboard.settings import DashboardSettings

T = TypeVar("T")
_TOKEN, _EXPIRES, _USER, _NOTICE = "lg_token", "lg_expires_at", "lg_username", "lg_notice"
_ANSWERS = "lg_answers"
# Streamlit reruns the page on every click (picking a factor, opening a node): the answers
# of the last questions are kept a while so a click does not ask the API again.
ANSWER_SECONDS = 300
KEPT_ANSWERS = 16


@st.cache_resource
def _pool(api_url: str, timeout: float) -> httpx.Client:
    """One connection pool per API for every session of this dashboard process."""
    return httpx.Client(base_url=api_url, timeout=timeout)


def settings() -> DashboardSettings:
    if "lg_settings" not in st.session_state:
        st.session_state["lg_settings"] = DashboardSettings()
    found: DashboardSettings = st.session_state["lg_settings"]
    return found


def _client(token: str | None) -> ApiClient:
    conf = settings()
    return ApiClient(_pool(conf.api_url.rstrip("/"), conf.api_timeout_seconds), token)


def username() -> str | None:
    return st.session_state.get(_USER)


def signed_in() -> bool:
    token = st.session_state.get(_TOKEN)
    if token is None:
        return False
    if time.time() >= st.session_state.get(_EXPIRES, 0):
        end_session("Your session has ended. Sign in again to continue.")
        return False
    return True


def forget_answers() -> None:
    """The next question goes to the API even if it was asked a moment ago."""
    st.session_state.pop(_ANSWERS, None)


def end_session(notice: str | None = None) -> None:
    for key in (_TOKEN, _EXPIRES, _USER, _ANSWERS):
        st.session_state.pop(key, None)
    if notice:
        st.session_state[_NOTICE] = notice


def sign_in_form() -> None:
    """The sign-in form; on success the page the link named opens with its parameters."""
    st.title("lotgraph")
    notice = st.session_state.pop(_NOTICE, None)
    if notice:
        st.info(notice)
    with st.form("sign-in"):
        st.subheader("Sign in")
        name = st.text_input("Username", autocomplete="username")
        password = st.text_input("Password", type="password", autocomplete="current-password")
        submitted = st.form_submit_button("Sign in", type="primary")
    if not submitted:
        return
    if not name or not password:
        st.error("Enter your username and password.")
        return
    try:
        with st.spinner("Signing in..."):
            token = _client(None).sign_in(name, password)
    except ApiFailure as exc:
        if exc.status is None:  # no answer: nothing was refused
            st.error(f"Cannot sign in now: {exc.detail}")
        else:
            st.error(f"Sign-in refused: {exc.detail}")
        return
    st.session_state[_TOKEN] = token.access_token
    st.session_state[_EXPIRES] = time.time() + token.expires_in
    st.session_state[_USER] = name
    st.rerun()


def ask(
    what: str,
    work: Callable[..., T],
    *args: Any,
) -> T | None:
    """Call the API with a spinner (or reuse its recent answer); on failure show why and
    return None."""
    if not signed_in():
        st.rerun()
    answers: dict[tuple[str, ...], tuple[float, Any]] = st.session_state.setdefault(_ANSWERS, {})
    token = st.session_state[_TOKEN]
    key = (settings().api_url, token, work.__qualname__, repr(args))  # the bearer's answers
    kept = answers.get(key)
    if kept is not None and time.monotonic() - kept[0] < ANSWER_SECONDS:
        answer: T = kept[1]
        return answer
    try:
        with st.spinner(what):
            answer = work(_client(token), *args)
    except ApiFailure as exc:
        if exc.signed_out:
            end_session("Your session has ended. Sign in again to continue.")
            st.rerun()
        if exc.status == 404:
            st.info(f"Nothing found: {exc.detail}.")
        elif exc.status == 403:
            st.warning(f"Not allowed: {exc.detail}.")
        else:
            st.error(f"The API could not answer ({exc.code}): {exc.detail}")
        return None
    answers.pop(key, None)
    answers[key] = (time.monotonic(), answer)
    while len(answers) > KEPT_ANSWERS:
        answers.pop(next(iter(answers)))
    return answer


def client() -> ApiClient:
    """The signed-in caller's client, for a write the page makes itself (a write is never
    answered from the kept answers, and its refusal is the page's to show)."""
    if not signed_in():
        st.rerun()
    return _client(st.session_state[_TOKEN])


def deferred(work: Callable[..., T], *args: Any) -> Callable[[], T]:
    """``work`` as the signed-in user, to run later and outside the page (a download's
    data, made when it is clicked): no spinner, no message, an ApiFailure raised."""
    client = _client(st.session_state[_TOKEN])
    return lambda: work(client, *args)


def act(what: str, work: Callable[..., T], *args: Any) -> T:
    """Carry out a signed action now (never a kept answer); the page shows a refusal as the
    API gave it. A 401 here may be the password entered again, not the session: the
    session ends only when a later read is refused."""
    if not signed_in():
        st.rerun()
    with st.spinner(what):
        answer = work(_client(st.session_state[_TOKEN]), *args)
    forget_answers()  # what was read before the action is out of date
    return answer
