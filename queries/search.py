"""Find a node by its id, whatever it is: the entry point of the dashboard's search.

Decisions: a query matches an id exactly (ids are the identifiers people copy from labels,
CoAs and ERP screens); surrounding blanks are ignored. Only the kinds an investigation
starts from are searched, in a fixed order.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from graph.model import Label
from graph.store import GraphStore

SEARCHED = (Label.LOT, Label.BATCH, Label.DOCUMENT, Label.SUPPLIER, Label.DEVIATION)


class Match(BaseModel):
    id: str
    label: str
    unresolved: bool
    properties: dict[str, Any]


def find_by_id(store: GraphStore, text: str) -> list[Match]:
    key = text.strip()
    if not key:
        return []
    matches = []
    for label in SEARCHED:
        node = store.fetch_nodes(label, [key]).get(key)
        if node is not None:
            matches.append(
                Match(id=key, label=str(label), unresolved=node.unresolved, properties=node.props)
            )
    return matches
