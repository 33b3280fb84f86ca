from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class AuditEntryOut(BaseModel):
    seq: int
    at: str
    actor: str
    action: str
    entity: str
    key: str
    old: dict[str, Any] | None
    new: dict[str, Any] | None
    reason: str
    source: str


class AuditPage(BaseModel):
    entries: list[AuditEntryOut]
    next_cursor: str | None  # pass as ?cursor= for the next page; null on the last
