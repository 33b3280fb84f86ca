"""Batch release by exception over HTTP: every reader reads a batch's release checklist;
a qa person releases it, signing with their password entered again."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.batches.schemas import ReleaseRequest
from api.batches.service import BatchReleaseService
from api.deps import AuthenticatorDep, Reader, Releaser, StoreDep, in_snapshot
from api.errors import ERROR_RESPONSES
from api.idempotency import IdempotencyKey, run_once
from queries.batch_release import ReleaseChecklist
from queries.batch_release import release_checklist as checklist_of

router = APIRouter(prefix="/batches/{batch_id}", tags=["batches"], responses=ERROR_RESPONSES)


@router.get("/release", response_model=ReleaseChecklist)
async def release_checklist(batch_id: str, caller: Reader, store: StoreDep) -> ReleaseChecklist:
    """The batch's release state, its batch record and every finding blocking its release."""
    return await in_snapshot(store, BatchReleaseService(store).checklist, caller, batch_id)


@router.post("/release", response_model=ReleaseChecklist, status_code=201)
def release_batch(
    batch_id: str,
    body: ReleaseRequest,
    caller: Releaser,
    store: StoreDep,
    auth: AuthenticatorDep,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """Sign the batch record ``released``: 409 listing the findings while any is open,
    unless ``override`` (with a ``reason``) signs over the overridable ones."""
    service = BatchReleaseService(store)
    return run_once(
        store,
        idempotency_key,
        caller.name,
        {"action": "release_batch", "batch_id": batch_id, **body.model_dump()},
        lambda once: service.release(
            auth, caller, batch_id, body.password, body.reason, body.override, once
        ),
        lambda answer: checklist_of(store, answer["batch_id"]),
    )
