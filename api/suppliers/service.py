"""Suppliers: the supplier's record, and signed qa decisions on its change notices.

A decision is a ``SupplierChangeDecision`` node, ``(SupplierChangeDecision)-[:DECIDES]->
(SupplierChange)`` (queries/suppliers.py), written create-only with its relationship and
its audit entry (entity ``SupplierChange``, the notice's id) in one transaction.

A second decision on the same notice is not refused: it is appended as a new record that
supersedes the previous one (``supersedes`` names it, the audit entry's ``old`` holds it),
and the history stays. A notice's n-th decision has a key derived from (notice, n), so of
two requests deciding at once one is stored and the other refused (409): nobody
supersedes a decision they have not seen.

Suppliers, their change notices and the decisions carry no site (shared reference data,
DESIGN §4b): every reader sees them, and any qa person may decide. The supplier's lots
at sites outside the caller's scope are shown as id and label only.
"""

from __future__ import annotations

import hashlib
from typing import Any

from api.auth.schemas import Caller
from api.auth.service import Authenticator
from api.auth.signing import confirm_signer
from api.documents.service import SOURCE, node, rel
from api.errors import Conflict, NotFoundError
from api.idempotency import Once, Reservation, no_key
from api.investigations.schemas import Redacted
from api.suppliers.schemas import DecisionRequest, SupplierOut
from graph.model import Label, RelType
from graph.store import AuditEntry, GraphStore, NodeRef, Props, WriteBatch, WriteConflict, utc_now
from queries.errors import NotFound
from queries.suppliers import ChangeDecision, decisions_of, supplier_record

DECIDED = "decided on the supplier change"


def decision_id(change_id: str, number: int) -> str:
    """The key of a notice's ``number``-th decision: two requests deciding it meet in the store."""
    digest = hashlib.sha256(f"{change_id}\n{number}".encode()).hexdigest()
    return f"SCD-{digest[:20].upper()}"


def _answer(reservation: Reservation | None, body: Props) -> Any:
    return None if reservation is None else reservation.answer(201, body)


class SupplierService:
    def __init__(self, store: GraphStore) -> None:
        self._store = store

    def supplier(self, caller: Caller, supplier_id: str) -> SupplierOut:
        record = supplier_record(self._store, supplier_id)
        lots = [
            lot if caller.sees(lot.site) else Redacted(id=lot.id, label="Lot")
            for lot in record.lots
        ]
        return SupplierOut(
            **{
                **dict(record),
                "lots": lots,
                "lots_hidden": sum(1 for lot in lots if isinstance(lot, Redacted)),
            }
        )

    def decide(
        self,
        auth: Authenticator,
        caller: Caller,
        supplier_id: str,
        change_id: str,
        body: DecisionRequest,
        once: Once = no_key,
    ) -> ChangeDecision:
        self._check_change(supplier_id, change_id)
        confirm_signer(auth, self._store, caller, body.password)
        reservation = once()
        history = decisions_of(self._store, [change_id]).get(change_id, [])
        previous = history[-1] if history else None
        new_id = decision_id(change_id, len(history) + 1)
        props: Props = {
            "change_id": change_id,
            "supplier_id": supplier_id,
            "number": len(history) + 1,
            "decision": body.decision,
            "reason": body.reason,
            "decided_by": caller.name,
            "decided_at": utc_now(),
            "meaning": DECIDED,
            "supersedes": previous.id if previous else None,
        }
        old = None if previous is None else previous.model_dump(exclude={"superseded_by"})
        batch = WriteBatch(
            nodes=[node(Label.SUPPLIER_CHANGE_DECISION, new_id, props)],
            rels=[
                rel(
                    RelType.DECIDES,
                    NodeRef(Label.SUPPLIER_CHANGE_DECISION, new_id),
                    NodeRef(Label.SUPPLIER_CHANGE, change_id),
                )
            ],
            audit=[
                AuditEntry(
                    actor=caller.name,
                    action="supplier_change_decided",
                    entity=str(Label.SUPPLIER_CHANGE),
                    key=change_id,
                    old=old,
                    new={"decision_id": new_id, **props},
                    reason=body.reason,
                    source=SOURCE,
                )
            ],
            answer=_answer(
                reservation,
                {"supplier_id": supplier_id, "change_id": change_id, "decision_id": new_id},
            ),
        )
        try:
            self._store.apply(batch)
        except WriteConflict:
            raise Conflict(
                f"another decision on change notice {change_id} was recorded meanwhile; "
                "read it again before deciding"
            ) from None
        return self.decision(change_id, new_id)

    def decision(self, change_id: str, decision: str) -> ChangeDecision:
        """One decision on the notice as it is now (the answer to a decision request)."""
        history = decisions_of(self._store, [change_id]).get(change_id, [])
        return next(d for d in history if d.id == decision)

    def _check_change(self, supplier_id: str, change_id: str) -> None:
        if supplier_id not in self._store.fetch_nodes(Label.SUPPLIER, [supplier_id]):
            raise NotFound(str(Label.SUPPLIER), supplier_id)
        change = self._store.fetch_nodes(Label.SUPPLIER_CHANGE, [change_id]).get(change_id)
        if change is None or change.props.get("supplier_id") != supplier_id:
            raise NotFoundError(f"no change notice {change_id!r} of supplier {supplier_id!r}")
