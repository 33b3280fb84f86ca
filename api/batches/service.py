"""Batch release by exception (queries/batch_release.py has the rules).

A release is the ``released`` signature on the current version of the batch's batch record,
written by the document service's signing (create-only, its audit entry in the same
transaction, its key derived from the version and the state it leaves, so two releases at
once store one and the other is refused 409). With ``override`` a qa user releases over
open findings; the signature then records the reason and the findings it overrode.

The checklist is read just before the signature is written, not in its transaction: a
finding that appears in between (a hold placed that very moment) does not stop it. The
hold's own record still shows it, and the batch's page shows both.
"""

from __future__ import annotations

from api.auth.schemas import Caller
from api.auth.service import Authenticator
from api.auth.signing import confirm_signer
from api.documents.service import DocumentService, Unprocessable
from api.errors import Conflict
from api.idempotency import Once, no_key
from api.investigations.redaction import check_site, release_checklists_out
from graph.model import Label
from graph.store import GraphStore
from queries.batch_release import (
    ReleaseChecklist,
    ReleaseFinding,
    finding_text,
    overridden_text,
    release_checklist,
)
from queries.errors import NotFound


def _listed(findings: list[ReleaseFinding]) -> str:
    return "; ".join(f"{finding_text(f)} ({f.detail})" for f in findings)


class BatchReleaseService:
    def __init__(self, store: GraphStore) -> None:
        self._store = store

    def checklist(self, caller: Caller, batch_id: str) -> ReleaseChecklist:
        self._check_batch(caller, batch_id)
        (found,) = release_checklists_out(
            caller, self._store, [release_checklist(self._store, batch_id)]
        )
        return found

    def release(
        self,
        auth: Authenticator,
        caller: Caller,
        batch_id: str,
        password: str,
        reason: str | None,
        override: bool,
        once: Once = no_key,
    ) -> ReleaseChecklist:
        self._check_batch(caller, batch_id)
        if override and not reason:
            raise Unprocessable("reason: an override needs the reason it is signed for")
        confirm_signer(auth, self._store, caller, password)
        reservation = once()
        checklist = release_checklist(self._store, batch_id)
        if checklist.release_state != "awaiting_release":
            raise Conflict(
                f"batch {batch_id} is {checklist.release_state.replace('_', ' ')}: only a "
                "batch awaiting release (executed or in review) can be released"
            )
        findings = checklist.findings
        if findings and not override:
            raise Conflict(
                f"batch {batch_id} has {len(findings)} open finding(s) blocking its release: "
                f"{_listed(findings)}"
            )
        fixed = [f for f in findings if not f.overridable]
        if fixed:
            raise Conflict(
                f"batch {batch_id} cannot be released, not even by override: {_listed(fixed)}"
            )
        record = checklist.batch_record
        assert record is not None and record.current_version is not None  # no finding says so
        extra = {}
        why = reason or f"release of batch {batch_id}"
        if findings:
            extra = {"override_reason": reason, "overridden_findings": overridden_text(findings)}
            why = f"release override of batch {batch_id}: {reason}"
        DocumentService(self._store).sign_confirmed(
            caller,
            record.id,
            record.current_version,
            "released",
            reservation,
            extra=extra,
            why=why,
            answer={"batch_id": batch_id},
        )
        return self.checklist(caller, batch_id)

    def _check_batch(self, caller: Caller, batch_id: str) -> None:
        found = self._store.fetch_nodes(Label.BATCH, [batch_id])
        if batch_id not in found:
            raise NotFound(str(Label.BATCH), batch_id)
        check_site(caller, str(Label.BATCH), batch_id, found[batch_id].props.get("site"))
