"""The audit trail, for auditors: oldest first, a page at a time, filtered by the store;
the same entries as CSV; and the hash chain's verification."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse

from api.audit import service
from api.audit.schemas import AuditPage, AuditVerification
from api.deps import Auditor, StoreDep
from api.errors import ERROR_RESPONSES
from graph.digest import verify_audit
from graph.store import AuditQuery

router = APIRouter(tags=["audit"], responses=ERROR_RESPONSES)

_TEXT = 200  # longest filter value (an account name, an id, an action)


def _filters(
    actor: Annotated[
        str | None, Query(max_length=_TEXT, description="who: the account (exact)")
    ] = None,
    entity_id: Annotated[
        str | None,
        Query(
            max_length=_TEXT,
            description="the entry's key, exactly, or one id of a comma-separated key",
        ),
    ] = None,
    kind: Annotated[
        str | None,
        Query(max_length=_TEXT, description="the entry's action (exact): read, hold_placed, ..."),
    ] = None,
    entry_class: Annotated[
        Literal["read", "write", "sign_in"] | None,
        Query(alias="class", description="read, write or sign_in (docs/API.md)"),
    ] = None,
    since: Annotated[
        str | None,
        Query(max_length=40, description="ISO date or date-time (UTC when no offset), inclusive"),
    ] = None,
    until: Annotated[
        str | None,
        Query(
            max_length=40,
            description="ISO date (that whole day included) or date-time (exclusive)",
        ),
    ] = None,
) -> AuditQuery:
    return service.audit_query(actor, entity_id, kind, entry_class, since, until)


Filters = Annotated[AuditQuery, Depends(_filters)]


@router.get("/audit", response_model=AuditPage)
def read_audit(
    caller: Auditor,
    store: StoreDep,
    request: Request,
    query: Filters,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[str | None, Query(pattern=r"^[0-9]{1,18}$")] = None,
) -> Any:
    """The entries the filters select, in seq order; the filters are optional and combine
    (all must hold); ``next_cursor`` continues the same filtered list."""
    request.app.state.access_log.flush()  # what this process recorded is readable at once
    entries, next_cursor = service.page(store, query, int(cursor) if cursor else 0, limit)
    return {"entries": entries, "next_cursor": next_cursor}


@router.get(
    "/audit.csv",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {"text/csv": {}},
            "description": "every entry the filters select (all pages), a header row first",
        }
    },
)
def export_audit(caller: Auditor, store: StoreDep, request: Request, query: Filters) -> Any:
    """The entries ``GET /audit`` pages through with the same filters, as one CSV."""
    request.app.state.access_log.flush()
    return StreamingResponse(
        service.csv_lines(store, query),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="audit.csv"'},
    )


@router.get("/audit/verify", response_model=AuditVerification)
def verify_trail(caller: Auditor, store: StoreDep, request: Request) -> Any:
    """The hash chain walked from the first entry to the head, and every stored row's
    coverage by an entry of it: what ``lotgraph audit verify --json`` reports."""
    request.app.state.access_log.flush()
    return verify_audit(store)
