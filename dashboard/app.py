"""The lotgraph dashboard: ``streamlit run dashboard/app.py`` (or ``lotgraph dashboard``).

Every page has its own path and reads its question from the query string, so a link can
be shared: /recall?lot=L-1&lot=L-2, /impact?supplier=S, /impurity?analyte=A,
/custody?batch=B, /search?q=ID, /batch?id=B, /work (the home page). A link opened while
signed out asks for sign-in first, then opens the page it names; one opened in a browser
already signed in (a session cookie, dashboard/session.py) opens at once.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from dashboard import session

_VIEWS = Path(__file__).parent / "views"

st.set_page_config(page_title="lotgraph", layout="wide")

search = st.Page(_VIEWS / "search.py", title="Search", url_path="search")
work = st.Page(_VIEWS / "work.py", title="Work", url_path="work")


def _home() -> None:
    """The root URL: the work queue, at /work; a /?q= link (from before the work queue was
    the home page) still opens the search page, at /search, with the query string it had.
    (Streamlit serves the default page at / only, so a page that is the default cannot
    also answer links to its own path.)"""
    target = search if "q" in st.query_params else work
    st.switch_page(target, query_params={k: st.query_params.get_all(k) for k in st.query_params})


pages = [
    st.Page(_home, title="Home", url_path="home", default=True, visibility="hidden"),
    work,
    search,
    st.Page(_VIEWS / "recall.py", title="Recall", url_path="recall"),
    st.Page(_VIEWS / "impact.py", title="Supplier impact", url_path="impact"),
    st.Page(_VIEWS / "impurity.py", title="Impurity", url_path="impurity"),
    st.Page(_VIEWS / "custody.py", title="Chain of custody", url_path="custody"),
    st.Page(_VIEWS / "lot.py", title="Lot", url_path="lot"),
    st.Page(_VIEWS / "supplier.py", title="Supplier", url_path="supplier"),
    st.Page(_VIEWS / "audit.py", title="Audit trail", url_path="audit"),
    st.Page(_VIEWS / "document.py", title="Document", url_path="document"),
    st.Page(_VIEWS / "batch.py", title="Batch release", url_path="batch"),
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
