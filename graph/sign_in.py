"""The audit entries of the sign-in counter, written by a store in the counter's transaction.

Both stores build them here from what their one atomic statement returned, so the audit
trail says the same on either store: each counted failure is a ``sign_in_failed`` entry,
and the failure that reaches the limit adds an ``account_locked`` entry naming the cause.
"""

from __future__ import annotations

from graph.records import (
    ACCOUNT_LOCKED,
    ACCOUNT_UNLOCKED,
    SIGN_IN_FAILED,
    SignInFailure,
    lock_cause,
)
from graph.store import AuditEntry

_ENTITY = "Account"


def failure_audit(name: str, failure: SignInFailure, limit: int) -> list[AuditEntry]:
    """The entries of one counted failure (none for an attempt on a locked account)."""
    if not failure.counted:
        return []
    counted = {"failed_sign_ins": failure.failures, "locked_until": failure.locked_until}
    entries = [
        AuditEntry(
            actor=name,
            action=SIGN_IN_FAILED,
            entity=_ENTITY,
            key=name,
            old=None,
            new=counted,
            reason="wrong password",
            source="api",
        )
    ]
    if failure.locked_now:
        entries.append(
            AuditEntry(
                actor=name,
                action=ACCOUNT_LOCKED,
                entity=_ENTITY,
                key=name,
                old={"locked_until": None},
                new={**counted, "limit": limit},
                reason=lock_cause(limit),
                source="api",
            )
        )
    return entries


def unlock_audit(name: str, by: str, failures: int, locked_until: str | None) -> AuditEntry:
    """The entry of an administrator's unlock, with the count and lock it cleared."""
    return AuditEntry(
        actor=by,
        action=ACCOUNT_UNLOCKED,
        entity=_ENTITY,
        key=name,
        old={"failed_sign_ins": failures, "locked_until": locked_until},
        new={"failed_sign_ins": 0, "locked_until": None},
        reason="unlocked by an administrator",
        source="accounts",
    )
