"""The dashboard's own links to a record's page, by the kind of record: /lot?id=,
/batch?id=, /document?id=, /supplier?id= (a document version opens its document);
anything else is found by search."""

from __future__ import annotations

from urllib.parse import quote, urlencode

_PAGES = {"Lot": "lot", "Batch": "batch", "Document": "document", "Supplier": "supplier"}


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


def entity_link(entity: str, key: str) -> str | None:
    """The page of the entity ``key`` names, when it names one entity that has a page."""
    if not key or "," in key:
        return None
    if entity == "DocumentVersion":
        entity, key = "Document", key.rpartition("@")[0] or key
    found = _PAGES.get(entity)
    return f"/{found}?id={quote(key, safe='')}" if found else None


def of_label(label: str, node_id: str) -> str:
    """A record's page by its graph label, else its search."""
    return entity_link(label, node_id) or search(node_id)


def markdown(label: str, node_id: str) -> str:
    """``[id](link)`` for st.markdown, the id's markdown characters escaped."""
    shown = node_id.replace("[", "\\[").replace("]", "\\]").replace("_", "\\_")
    return f"[{shown}]({of_label(label, node_id)})"
