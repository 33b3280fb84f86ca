from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class AuditEntryOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    seq: int
    at: str
    actor: str
    action: str
    # read, write or sign_in: what the action is (GET /audit?class=)
    entry_class: str = Field(alias="class")
    entity: str
    key: str
    old: dict[str, Any] | None
    new: dict[str, Any] | None
    reason: str
    source: str
    prev_hash: str | None = None  # the hash chain (graph/audit_chain.py)
    hash: str | None = None


class AuditPage(BaseModel):
    entries: list[AuditEntryOut]
    next_cursor: str | None  # pass as ?cursor= for the next page; null on the last


class ChainHead(BaseModel):
    seq: int
    hash: str


class Coverage(BaseModel):
    nodes: int
    relationships: int
    uncovered: int
    uncovered_rows: list[str]


class AuditVerification(BaseModel):
    """What ``lotgraph audit verify --json`` reports."""

    ok: bool  # the chain holds and every stored row is covered
    chain_ok: bool
    entries: int
    first_bad: int | None  # the first entry that fails, or the first seq missing
    reason: str | None
    head: ChainHead | None
    coverage: Coverage
