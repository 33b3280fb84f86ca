"""The dashboard's own links to a record's page, by the kind of record."""

from __future__ import annotations

from urllib.parse import urlencode


def page(path: str, **query: str) -> str:
    return f"/{path}?{urlencode(query)}"


def lot(lot_id: str) -> str:
    return page("lot", id=lot_id)


def document(document_id: str) -> str:
    return page("document", id=document_id)


def batch(batch_id: str) -> str:
    return page("batch", id=batch_id)


def custody(batch_id: str) -> str:
    return page("custody", batch=batch_id)


def search(query: str) -> str:
    return page("search", q=query)


def of_label(label: str, node_id: str) -> str:
    """A finding's record, by its graph label: a lot and a document have their own page,
    anything else is found by search."""
    if label == "Lot":
        return lot(node_id)
    if label == "Document":
        return document(node_id)
    return search(node_id)


def markdown(label: str, node_id: str) -> str:
    """``[id](link)`` for st.markdown, the id's markdown characters escaped."""
    shown = node_id.replace("[", "\\[").replace("]", "\\]").replace("_", "\\_")
    return f"[{shown}]({of_label(label, node_id)})"
