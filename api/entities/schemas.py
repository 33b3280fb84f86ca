from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from api.investigations.schemas import Redacted


class EntityOut(BaseModel):
    """One node: its key, label, whether it still waits for its data, and its properties."""

    id: str
    label: str
    unresolved: bool
    properties: dict[str, Any]


class SearchOut(BaseModel):
    """Every node whose id is the query, of the kinds an investigation starts from."""

    query: str
    matches: list[EntityOut | Redacted]
