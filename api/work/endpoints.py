"""The work queue (``GET /work``) and the workflow's KPIs (``GET /kpis``), for every reader
within their sites."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Annotated

from fastapi import APIRouter, Query, Request

from api.deps import Reader, StoreDep, in_snapshot
from api.errors import ERROR_RESPONSES, BadRequest
from api.work.service import WorkService
from queries.work import Kpis, WorkQueue

router = APIRouter(tags=["work"], responses=ERROR_RESPONSES)

When = Annotated[
    date | datetime | None,
    Query(description="a date (midnight UTC) or an ISO 8601 time; since inclusive, until not"),
]


def _moment(value: date | datetime | None) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return datetime.combine(value, time(0), UTC)


@router.get("/work", response_model=WorkQueue)
async def work(caller: Reader, store: StoreDep) -> WorkQueue:
    """What waits for the caller: documents to sign (qa), batches awaiting release with their
    blocking findings, open deviations, active holds and hash mismatches, oldest first."""
    return await in_snapshot(store, WorkService(store).queue, caller)


@router.get("/kpis", response_model=Kpis)
async def workflow_kpis(
    caller: Reader, store: StoreDep, request: Request, since: When = None, until: When = None
) -> Kpis:
    """Release times, right first time, deviation closure, approvals outstanding, overrides
    and evidence exports over ``[since, until)``; each figure with the records it counts."""
    start, end = _moment(since), _moment(until)
    if start is not None and end is not None and end <= start:
        raise BadRequest("until: must be later than since")
    request.app.state.access_log.flush()  # exports this process served count at once
    return await in_snapshot(store, WorkService(store).kpis, caller, start, end)
