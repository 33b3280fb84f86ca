"""The audit trail, for auditors, oldest first, a page at a time."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from api.audit.schemas import AuditEntryOut, AuditPage
from api.deps import Auditor, StoreDep
from api.errors import ERROR_RESPONSES

router = APIRouter(tags=["audit"], responses=ERROR_RESPONSES)


@router.get("/audit", response_model=AuditPage)
def read_audit(
    caller: Auditor,
    store: StoreDep,
    request: Request,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[str | None, Query(pattern=r"^[0-9]{1,18}$")] = None,
) -> AuditPage:
    request.app.state.access_log.flush()  # what this process recorded is readable at once
    after = int(cursor) if cursor else 0
    rows = store.audit_entries(after=after, limit=limit + 1)
    entries = [AuditEntryOut(**r) for r in rows[:limit]]
    more = len(rows) > limit
    return AuditPage(entries=entries, next_cursor=str(entries[-1].seq) if more else None)
