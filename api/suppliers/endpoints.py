"""Suppliers over HTTP: every reader sees a supplier, its lots (redacted outside its sites)
and its change notices; a qa person records a signed decision on a change notice."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.deps import AuthenticatorDep, ChangeDecider, Reader, StoreDep, in_snapshot
from api.errors import ERROR_RESPONSES
from api.idempotency import IdempotencyKey, run_once
from api.suppliers.schemas import DecisionRequest, SupplierOut
from api.suppliers.service import SupplierService
from queries.suppliers import ChangeDecision

router = APIRouter(prefix="/suppliers/{supplier_id}", tags=["suppliers"], responses=ERROR_RESPONSES)


@router.get("", response_model=SupplierOut)
async def get_supplier(supplier_id: str, caller: Reader, store: StoreDep) -> SupplierOut:
    """The supplier, its lots and its change notices, each with its decisions."""
    return await in_snapshot(store, SupplierService(store).supplier, caller, supplier_id)


@router.post("/changes/{change_id}/decisions", response_model=ChangeDecision, status_code=201)
def decide_change(
    supplier_id: str,
    change_id: str,
    body: DecisionRequest,
    caller: ChangeDecider,
    store: StoreDep,
    auth: AuthenticatorDep,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """Record a signed decision on the change notice; a later one supersedes an earlier
    (both kept). Once per Idempotency-Key."""
    service = SupplierService(store)
    return run_once(
        store,
        idempotency_key,
        caller.name,
        {
            "action": "decide_supplier_change",
            "supplier_id": supplier_id,
            "change_id": change_id,
            **body.model_dump(),
        },
        lambda once: service.decide(auth, caller, supplier_id, change_id, body, once),
        lambda answer: service.decision(answer["change_id"], answer["decision_id"]),
    )
