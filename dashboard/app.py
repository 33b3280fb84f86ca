"""The lotgraph dashboard: ``streamlit run dashboard/app.py`` (or ``lotgraph dashboard``).

Every page has its own path and reads its question from the query string, so a link can
be shared: /recall?lot=L-1&lot=L-2, /impact?supplier=S, /impurity?analyte=A,
/custody?batch=B, /search?q=ID. A link opened while signed out asks for sign-in first,
then opens the page it names; one opened in a browser already signed in (a session
cookie, dashboard/session.py) opens at once.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from dashboard import session

_VIEWS = Path(__file__).parent / "views"

st.set_page_config(page_title="lotgraph", layout="wide")

search = st.Page(_VIEWS / "search.py", title="Search", url_path="search")


def _home() -> None:
    """The root URL: the search page, at /search, with the query string the link had.
    (Streamlit serves the default page at / only, so Search itself cannot be the default
    and still answer the /search?q= links.)"""
    st.switch_page(search, query_params={k: st.query_params.get_all(k) for k in st.query_params})


pages = [
    st.Page(_home, title="Home", url_path="home", default=True, visibility="hidden"),
    search,
    st.Page(_VIEWS / "recall.py", title="Recall", url_path="recall"),
    st.Page(_VIEWS / "impact.py", title="Supplier impact", url_path="impact"),
    st.Page(_VIEWS / "impurity.py", title="Impurity", url_path="impurity"),
    st.Page(_VIEWS / "custody.py", title="Chain of custody", url_path="custody"),
]

if not session.signed_in():
    st.navigation(pages, position="hidden")
    session.sign_in_form()
    st.stop()

page = st.navigation(pages)
with st.sidebar:
    st.caption(f"Signed in as **{session.username()}**")
    session.sync_cookie()
    if st.button("Sign out"):
        session.sign_out()
        st.rerun()
page.run()
