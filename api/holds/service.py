"""QA holds on lots: placed and released by a qa person, each an e-signed, audited record.

A hold is a ``Hold`` node linked to its lot, ``(Hold)-[:HOLDS]->(Lot)`` (queries/holds.py),
never the lot's ``status``: an ingest of lots.csv replaces a lot's whole content from its
source, and must not lift a hold QA placed. Placing writes the node, its relationship and
the audit entry in one transaction; releasing rewrites the node with the release added
(the old and new content in its audit entry). Audit entries name the lot (entity ``Lot``),
so a lot's audit extract shows its holds.

Races are settled by the store, whatever the number of processes: the n-th hold of a lot
has a key derived from (lot, n) and is created only if absent, so of two requests placing
a hold at once one is stored and the other answered 409; a release states the hold's
content it read, so of two releases one is stored and the other refused (409).
"""

from __future__ import annotations

import hashlib
from typing import Any

from api.auth.schemas import Caller
from api.auth.service import Authenticator
from api.auth.signing import confirm_signer
from api.documents.service import SOURCE, node, rel
from api.errors import Conflict
from api.holds.schemas import LotHolds
from api.idempotency import Once, Reservation, no_key
from api.investigations.redaction import check_site
from graph.model import Label, RelType
from graph.store import (
    AuditEntry,
    GraphStore,
    NodeRef,
    Props,
    WriteBatch,
    WriteConflict,
    fingerprint,
    utc_now,
)
from queries.errors import NotFound
from queries.holds import PLACED, RELEASED, HoldRecord, holds_of


def hold_id(lot_id: str, number: int) -> str:
    """The key of a lot's ``number``-th hold: two requests placing it meet in the store."""
    digest = hashlib.sha256(f"{lot_id}\n{number}".encode()).hexdigest()
    return f"HOLD-{digest[:20].upper()}"


def _answer(reservation: Reservation | None, status: int, body: Props) -> Any:
    return None if reservation is None else reservation.answer(status, body)


class HoldService:
    def __init__(self, store: GraphStore) -> None:
        self._store = store

    def holds(self, caller: Caller, lot_id: str) -> LotHolds:
        self._check_lot(caller, lot_id)
        return self._holds(lot_id)

    def place(
        self,
        auth: Authenticator,
        caller: Caller,
        lot_id: str,
        reason: str,
        password: str,
        once: Once = no_key,
    ) -> HoldRecord:
        self._check_lot(caller, lot_id)
        confirm_signer(auth, self._store, caller, password)
        reservation = once()
        holds = self._holds(lot_id)
        active = holds.active
        if active is not None:
            raise Conflict(
                f"lot {lot_id} is on hold already ({active.id}, placed {active.placed_at} "
                f"by {active.placed_by})"
            )
        new_id = hold_id(lot_id, len(holds.holds) + 1)
        props: Props = {
            "lot_id": lot_id,
            "reason": reason,
            "placed_by": caller.name,
            "placed_at": utc_now(),
            "placed_meaning": PLACED,
        }
        batch = WriteBatch(
            nodes=[node(Label.HOLD, new_id, props)],
            rels=[rel(RelType.HOLDS, NodeRef(Label.HOLD, new_id), NodeRef(Label.LOT, lot_id))],
            audit=[
                _audit(caller, "hold_placed", lot_id, None, {"hold_id": new_id, **props}, reason)
            ],
            answer=_answer(reservation, 201, {"lot_id": lot_id, "hold_id": new_id}),
        )
        try:
            self._store.apply(batch)
        except WriteConflict:
            raise Conflict(
                f"lot {lot_id} was put on hold by another request meanwhile; read it again"
            ) from None
        return self.record(lot_id, new_id)

    def release(
        self,
        auth: Authenticator,
        caller: Caller,
        lot_id: str,
        reason: str,
        password: str,
        once: Once = no_key,
    ) -> HoldRecord:
        self._check_lot(caller, lot_id)
        confirm_signer(auth, self._store, caller, password)
        reservation = once()
        active = self._holds(lot_id).active
        if active is None:
            raise Conflict(f"lot {lot_id} is not on hold: there is no hold to release")
        old = self._store.fetch_nodes(Label.HOLD, [active.id])[active.id].props
        if old.get("released_at") is not None:
            # released between the two reads: the content this release would replace (and
            # expect) is already a release, so writing over it would release it twice
            raise Conflict(
                f"hold {active.id} of lot {lot_id} was released by another request "
                "meanwhile; read it again"
            )
        props: Props = {
            **old,
            "released_by": caller.name,
            "released_at": utc_now(),
            "release_reason": reason,
            "released_meaning": RELEASED,
        }
        batch = WriteBatch(
            # only the content read above may be replaced: a concurrent release loses
            nodes=[node(Label.HOLD, active.id, props, fingerprint(old))],
            audit=[
                _audit(
                    caller,
                    "hold_released",
                    lot_id,
                    {"hold_id": active.id, **old},
                    {"hold_id": active.id, **props},
                    reason,
                )
            ],
            answer=_answer(reservation, 200, {"lot_id": lot_id, "hold_id": active.id}),
        )
        try:
            self._store.apply(batch)
        except WriteConflict:
            raise Conflict(
                f"hold {active.id} of lot {lot_id} was released by another request "
                "meanwhile; read it again"
            ) from None
        return self.record(lot_id, active.id)

    # -- helpers --------------------------------------------------------------------------
    def _check_lot(self, caller: Caller, lot_id: str) -> None:
        found = self._store.fetch_nodes(Label.LOT, [lot_id])
        if lot_id not in found:
            raise NotFound(str(Label.LOT), lot_id)
        check_site(caller, str(Label.LOT), lot_id, found[lot_id].props.get("site"))

    def _holds(self, lot_id: str) -> LotHolds:
        found = holds_of(self._store, [lot_id]).get(lot_id, [])
        active = [h for h in found if h.active]
        return LotHolds(lot=lot_id, active=active[-1] if active else None, holds=found)

    def record(self, lot_id: str, hold: str) -> HoldRecord:
        """One hold of the lot as it is now (the answer to a place or release request)."""
        return next(h for h in self._holds(lot_id).holds if h.id == hold)


def _audit(
    caller: Caller, action: str, lot_id: str, old: Props | None, new: Props, reason: str
) -> AuditEntry:
    return AuditEntry(
        actor=caller.name,
        action=action,
        entity=str(Label.LOT),
        key=lot_id,
        old=old,
        new=new,
        reason=reason,
        source=SOURCE,
    )
