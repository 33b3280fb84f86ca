"""Search: any lot, batch, document, supplier or deviation by its id, and what it links to."""

from __future__ import annotations

from typing import Any

import streamlit as st

from dashboard import display, params, session, tables
from dashboard.client import ApiClient

st.title("Search")
query = params.ask_for(
    "q",
    "Id of a lot, batch, document, supplier or deviation",
    params.one("q"),
    button="Search",
)
if not query:
    st.info(
        "Enter an id to open it. Investigations: Recall (a lot), Supplier impact, "
        "Impurity (an analyte), Chain of custody (a batch)."
    )
    st.stop()

found = session.ask(f"Looking for {query}...", ApiClient.search, query)
if found is None:
    st.stop()
if not found["matches"]:
    st.info(f"No lot, batch, document, supplier or deviation has the id {query!r}.")
    st.stop()


def _value(name: str, value: Any) -> str:
    if display.is_time_column(name):
        value = display.when(value, session.settings().display_timezone)
    return str(value)


def _properties(match: dict[str, Any]) -> None:
    props = match["properties"]
    if match.get("unresolved"):
        st.warning(
            f"{match['label']} {match['id']} is referenced but its own record has not arrived."
        )
    st.dataframe(
        tables.frame(
            [{"property": k, "value": _value(k, v)} for k, v in sorted(props.items())],
            ["property", "value"],
        ),
        hide_index=True,
        key=f"props-{match['label']}",
    )


def _lot(match: dict[str, Any]) -> None:
    lot = match["id"]
    st.page_link("views/recall.py", label=f"Recall of lot {lot}", query_params={"lot": lot})
    st.page_link("views/lot.py", label=f"Lot {lot}: holds and trace", query_params={"id": lot})
    docs = session.ask(f"Finding the documents of {lot}...", ApiClient.lot_documents, lot)
    if docs is None:
        return
    st.markdown(f"**Documents concerning lot {lot}**")
    rows = [{**d, "via": [" -> ".join(v) for v in d["via"]]} for d in docs["documents"]]
    tables.show(
        tables.frame(rows, ["document_id", "kind", "title", "current_version", "via"]),
        f"documents-of-{lot}",
        key=f"docs-{lot}",
        empty=f"No document concerns lot {lot}, its batch or their deviations.",
    )


def _document(match: dict[str, Any]) -> None:
    document = match["id"]
    st.page_link(
        "views/document.py",
        label=f"Document {document}: versions, signatures, state",
        query_params={"id": document},
    )
    answer = session.ask(f"Finding the lots of {document}...", ApiClient.document_lots, document)
    if answer is None:
        return
    st.markdown(f"**Lots that document {document} concerns**")
    rows = [
        {
            **lot,
            "lot_id": lot.get("lot_id", lot.get("id")),
            "via": [" -> ".join(v) for v in lot.get("via", [])],
        }
        for lot in answer["lots"]
    ]
    tables.show(
        tables.frame(rows, ["lot_id", "status", "material_id", "site", "via"]),
        f"lots-of-{document}",
        key=f"lots-{document}",
        empty=f"Document {document} concerns no lot.",
    )


def _batch(match: dict[str, Any]) -> None:
    batch = match["id"]
    st.page_link(
        "views/custody.py",
        label=f"Chain of custody of batch {batch}",
        query_params={"batch": batch},
    )


def _supplier(match: dict[str, Any]) -> None:
    supplier = match["id"]
    st.page_link(
        "views/impact.py",
        label=f"Impact of supplier {supplier}",
        query_params={"supplier": supplier},
    )
    st.page_link(
        "views/supplier.py",
        label=f"Supplier {supplier}: lots and change notices",
        query_params={"id": supplier},
    )


FOLLOW = {"Lot": _lot, "Document": _document, "Batch": _batch, "Supplier": _supplier}

for match in found["matches"]:
    st.subheader(f"{match['label']} {match['id']}")
    if match.get("redacted"):
        st.warning(
            f"{match['label']} {match['id']} is at a site outside your access; only its id is shown."
        )
        continue
    follow = FOLLOW.get(match["label"])
    if follow:
        follow(match)
    _properties(match)
