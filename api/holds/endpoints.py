"""Holds over HTTP: a qa person puts a lot on hold and releases it, signing each with
their password entered again; every reader sees a lot's holds."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.deps import AuthenticatorDep, HoldWriter, Reader, StoreDep, in_snapshot
from api.errors import ERROR_RESPONSES
from api.holds.schemas import HoldRequest, LotHolds
from api.holds.service import HoldService
from api.idempotency import IdempotencyKey, run_once
from queries.holds import HoldRecord

router = APIRouter(prefix="/lots/{lot_id}/holds", tags=["holds"], responses=ERROR_RESPONSES)


@router.post("", response_model=HoldRecord, status_code=201)
def place_hold(
    lot_id: str,
    body: HoldRequest,
    caller: HoldWriter,
    store: StoreDep,
    auth: AuthenticatorDep,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """Put the lot on hold (409 when it is on hold already); once per Idempotency-Key."""
    service = HoldService(store)
    return run_once(
        store,
        idempotency_key,
        caller.name,
        {"action": "place_hold", "lot_id": lot_id, **body.model_dump()},
        lambda once: service.place(auth, caller, lot_id, body.reason, body.password, once),
        lambda answer: service.record(answer["lot_id"], answer["hold_id"]),
    )


@router.post("/release", response_model=HoldRecord)
def release_hold(
    lot_id: str,
    body: HoldRequest,
    caller: HoldWriter,
    store: StoreDep,
    auth: AuthenticatorDep,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """Release the lot's active hold (409 when it is not on hold); once per Idempotency-Key."""
    service = HoldService(store)
    return run_once(
        store,
        idempotency_key,
        caller.name,
        {"action": "release_hold", "lot_id": lot_id, **body.model_dump()},
        lambda once: service.release(auth, caller, lot_id, body.reason, body.password, once),
        lambda answer: service.record(answer["lot_id"], answer["hold_id"]),
    )


@router.get("", response_model=LotHolds)
async def lot_holds(lot_id: str, caller: Reader, store: StoreDep) -> LotHolds:
    """The lot's holds, oldest first, and the active one."""
    return await in_snapshot(store, HoldService(store).holds, caller, lot_id)
