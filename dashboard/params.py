"""The question a page answers, kept in its query string so a link can be shared."""

from __future__ import annotations

import re

import streamlit as st

from dashboard import session

_SEPARATORS = re.compile(r"[\s,;]+")


def split(text: str) -> list[str]:
    """Ids typed or linked together, separated by commas, semicolons or blanks."""
    found: list[str] = []
    for value in _SEPARATORS.split(text):
        if value and value not in found:
            found.append(value)
    return found


def ids(name: str) -> list[str]:
    """Every value of a repeated parameter, each also split at commas and blanks."""
    return split(" ".join(st.query_params.get_all(name)))


def one(name: str) -> str:
    return (st.query_params.get(name) or "").strip()


def ask_for(name: str, label: str, current: str, *, button: str, help: str | None = None) -> str:
    """A form for the page's question; submitting it puts the answer in the query string."""
    with st.form(f"ask-{name}"):
        text = st.text_input(label, value=current, help=help)
        submitted = st.form_submit_button(button, type="primary")
    if submitted:
        session.forget_answers()  # asking again means: ask the API again
        text = text.strip()
        if text:
            st.query_params[name] = text
        else:
            st.query_params.pop(name, None)
        return text
    return current
