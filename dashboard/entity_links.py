"""Links from an entity's kind and id to its page: /lot?id=, /batch?id=, /document?id=,
/supplier?id= (a document version opens its document)."""

from __future__ import annotations

from urllib.parse import quote

_PAGES = {"Lot": "lot", "Batch": "batch", "Document": "document", "Supplier": "supplier"}


def entity_link(entity: str, key: str) -> str | None:
    """The page of the entity ``key`` names, when it names one entity that has a page."""
    if not key or "," in key:
        return None
    if entity == "DocumentVersion":
        entity, key = "Document", key.rpartition("@")[0] or key
    page = _PAGES.get(entity)
    return f"/{page}?id={quote(key, safe='')}" if page else None
