"""The work queue and the KPIs for one caller: their roles decide what they may sign, their
sites what they see (queries/work.py computes both)."""

from __future__ import annotations

from datetime import datetime

from api.auth.schemas import Caller, Role
from api.investigations.redaction import release_checklists_out
from graph.store import AuditQuery, GraphStore
from queries.work import Kpis, WorkQueue, kpis, work_queue

EVIDENCE_ROUTE = "/lots/{lot_id}/evidence"
EXPORT_PAGE = 10_000


def evidence_exports(store: GraphStore) -> list[tuple[str, str]]:
    """(lot, time) of each evidence package served, from the access audit's reads."""
    found = []
    after = 0
    while page := store.audit_page(AuditQuery(action="read"), after, EXPORT_PAGE):
        for entry in page:
            new = entry.get("new") or {}
            if new.get("route") == EVIDENCE_ROUTE and new.get("status") == 200:
                found.append((str(entry.get("key")), str(entry.get("at"))))
        after = page[-1]["seq"]
    return found


class WorkService:
    def __init__(self, store: GraphStore) -> None:
        self._store = store

    def queue(self, caller: Caller) -> WorkQueue:
        signer = caller.name if caller.role is Role.QA else None
        queue = work_queue(self._store, caller.sees, signer)
        batches = release_checklists_out(caller, self._store, queue.batches_awaiting_release)
        return queue.model_copy(update={"batches_awaiting_release": batches})

    def kpis(self, caller: Caller, since: datetime | None, until: datetime | None) -> Kpis:
        return kpis(self._store, caller.sees, since, until, evidence_exports(self._store))
