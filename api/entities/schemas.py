from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class EntityOut(BaseModel):
    """One node: its key, label, whether it still waits for its data, and its properties."""

    id: str
    label: str
    unresolved: bool
    properties: dict[str, Any]
