"""Who is signed in, and every API call made on their behalf.

Signing in starts a session in the API (POST /auth/sessions): its opaque id goes into a
cookie of this browser, and the token into this tab's Streamlit state only. A refresh or
a link opened in another tab starts a new Streamlit session, which finds the cookie
(``st.context.cookies``) and asks the API for a token for it; no token or id is ever
put in a URL. Signing out ends the session in the API and deletes the cookie; the other
tabs see the cookie go and reload (a page script), and any question they ask meanwhile is
refused by the API (docs/DASHBOARD.md, Sessions). API errors become messages on the page,
never tracebacks.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any, TypeVar

import httpx
import streamlit as st

from dashboard.client import ApiClient, ApiFailure, Token
from dashboard.settings import DashboardSettings

T = TypeVar("T")
_TOKEN, _EXPIRES, _USER, _NOTICE = "lg_token", "lg_expires_at", "lg_username", "lg_notice"
_ANSWERS = "lg_answers"
_SESSION, _SESSION_ENDS = "lg_session_id", "lg_session_expires_at"
_REFUSED, _FORGET_COOKIE = "lg_refused_session", "lg_forget_cookie"
COOKIE = "lotgraph_session"
_ENDED = "Your session has ended. Sign in again to continue."
_COOKIE_VALUE = re.compile(r"[A-Za-z0-9_-]{1,256}")  # what a session id is made of
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
    """Whether this tab has a live token; when not, one is asked for the session this tab
    or the browser's cookie holds (a refresh, a link opened in a new tab, an expired
    token)."""
    token = st.session_state.get(_TOKEN)
    if token is not None and time.time() < st.session_state.get(_EXPIRES, 0):
        return True
    st.session_state.pop(_TOKEN, None)
    if _resume():
        return True
    # (a session the API could not be asked about is kept, to be asked again next run)
    if token is not None and _SESSION not in st.session_state:
        end_session(_ENDED)
    return False


def _cookie_session() -> str | None:
    value = st.context.cookies.get(COOKIE)
    # (not a str where no browser connected: under AppTest, say)
    return value if isinstance(value, str) and _COOKIE_VALUE.fullmatch(value) else None


def _resume() -> bool:
    session_id = st.session_state.get(_SESSION) or _cookie_session()
    if not session_id or session_id == st.session_state.get(_REFUSED):
        return False
    try:
        token, name = _client(None).session_token(session_id)
    except ApiFailure as exc:
        if exc.status == 401:  # ended, expired or unknown: this cookie is of no more use
            end_session(_ENDED)
            st.session_state[_REFUSED] = session_id
            st.session_state[_FORGET_COOKIE] = True
        else:
            st.session_state[_NOTICE] = f"Cannot resume your session now: {exc.detail}"
        return False
    _keep(token, name)
    st.session_state[_SESSION] = session_id
    return True


def _keep(token: Token, name: str) -> None:
    st.session_state[_TOKEN] = token.access_token
    st.session_state[_EXPIRES] = time.time() + token.expires_in
    st.session_state[_USER] = name


# The page's part of a session (a cookie can only be set by the page). ``write`` sets the
# cookie: SameSite=Strict (never sent with a request another site starts), Secure when the
# page is served over https; HttpOnly cannot be set from a script (docs/DASHBOARD.md).
# ``watch`` reloads this tab once the cookie no longer holds its session (signed out in
# another tab, expired, or replaced by a new sign-in), so every tab of the browser follows.
_COOKIE_JS = """<script>(function () {
  var name = "%(name)s", id = "%(id)s", maxAge = %(max_age)d;
  var write = %(write)s, watch = %(watch)s;
  if (window.lotgraphSessionWatch) { clearInterval(window.lotgraphSessionWatch); }
  window.lotgraphSessionWatch = null;
  if (write) {
    var secure = window.location.protocol === "https:" ? "; Secure" : "";
    document.cookie = name + "=" + id + "; Path=/; Max-Age=" + maxAge + "; SameSite=Strict"
      + secure;
  }
  if (!watch) { return; }
  function current() {
    var found = document.cookie.split("; ").filter(function (c) {
      return c.indexOf(name + "=") === 0;
    });
    return found.length ? found[0].slice(name.length + 1) : "";
  }
  window.lotgraphSessionWatch = setInterval(function () {
    if (current() !== id) {
      clearInterval(window.lotgraphSessionWatch);
      window.location.reload();
    }
  }, %(every_ms)d);
})();</script>"""
WATCH_MS = 1000


def sync_cookie() -> None:
    """The browser's cookie as this tab's session has it: written when this tab started
    the session, deleted once it no longer opens one, and watched while it does."""
    session_id = st.session_state.get(_SESSION)
    ends = st.session_state.get(_SESSION_ENDS)
    if st.session_state.pop(_FORGET_COOKIE, False):
        _cookie_script("", 0, write=True, watch=False)
    elif session_id and _COOKIE_VALUE.fullmatch(session_id):
        max_age = max(0, int(ends - time.time())) if ends else 0
        _cookie_script(session_id, max_age, write=ends is not None, watch=True)


def _cookie_script(value: str, max_age: int, *, write: bool, watch: bool) -> None:
    fields = {
        "name": COOKIE,
        "id": value,  # a session id: letters, digits, - and _ only (_COOKIE_VALUE)
        "max_age": max_age,
        "write": "true" if write else "false",
        "watch": "true" if watch else "false",
        "every_ms": WATCH_MS,
    }
    st.html(_COOKIE_JS % fields, unsafe_allow_javascript=True, width="content")


def sign_out() -> None:
    """End the session in the API and in this browser (the cookie goes on the next run)."""
    session_id = st.session_state.get(_SESSION)
    notice = "You have signed out."
    if session_id:
        st.session_state[_REFUSED] = session_id
        try:
            _client(None).end_session(session_id)
        except ApiFailure as exc:
            if exc.status != 401:  # 401: it had ended already
                notice = (
                    "You have signed out of this browser, but the API could not be told "
                    f"({exc.detail}): the session stays valid until it expires."
                )
    st.session_state[_FORGET_COOKIE] = True
    end_session(notice)


def forget_answers() -> None:
    """The next question goes to the API even if it was asked a moment ago."""
    st.session_state.pop(_ANSWERS, None)


def end_session(notice: str | None = None) -> None:
    """Forget this tab's token (a live session in the cookie may give another)."""
    for key in (_TOKEN, _EXPIRES, _USER, _ANSWERS, _SESSION, _SESSION_ENDS):
        st.session_state.pop(key, None)
    if notice:
        st.session_state[_NOTICE] = notice


def sign_in_form() -> None:
    """The sign-in form; on success the page the link named opens with its parameters."""
    st.title("lotgraph")
    notice = st.session_state.pop(_NOTICE, None)
    if notice:
        st.info(notice)
    sync_cookie()  # a cookie whose session has ended is deleted
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
            started = _client(None).start_session(name, password)
    except ApiFailure as exc:
        if exc.status is None:  # no answer: nothing was refused
            st.error(f"Cannot sign in now: {exc.detail}")
        else:
            st.error(f"Sign-in refused: {exc.detail}")
        return
    _keep(started.token, started.username)
    st.session_state[_SESSION] = started.session_id
    st.session_state[_SESSION_ENDS] = time.time() + started.expires_in
    st.session_state.pop(_FORGET_COOKIE, None)
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
        if exc.signed_out:  # the next run asks for a token for the session, if it lives
            st.session_state.pop(_TOKEN, None)
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


def may(action: str) -> bool:
    """Whether the signed-in person's role may take ``action`` (GET /auth/me's ``may``):
    pages show a form only to those who may use it. The API still decides every request;
    when it cannot be asked, the form is shown and the API's answer is what counts."""
    me = ask("Checking what you may do...", ApiClient.me)
    return me is None or action in me.get("may", ())


def may_not(action: str, what: str) -> bool:
    """True, with a note saying so, when the signed-in person may not take ``action``."""
    if may(action):
        return False
    st.caption(f"{what} needs another role than yours: the form is not shown.")
    return True


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
