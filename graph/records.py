"""Service records both stores keep beside the graph: accounts and idempotency records.

They are not part of the traceability graph (DESIGN §2): no store counts them in its
statistics and no investigation reads them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

ACCOUNT_KINDS = ("password", "api_key")


class KeyIdInUse(Exception):
    """An account was saved with the ``key_id`` another account already holds."""

    def __init__(self, key_id: str | None) -> None:
        super().__init__(f"key_id {key_id!r} belongs to another account")
        self.key_id = key_id


@dataclass(slots=True)
class Account:
    """A person (password) or an integration (API key) allowed to call the API.

    Only a slow hash of the secret is ever stored. ``key_id`` is the public lookup prefix
    of an API key, unique among accounts when set.
    """

    name: str
    role: str
    sites: list[str]
    kind: str
    secret_hash: str
    disabled: bool
    created_at: str
    updated_at: str
    failed_sign_ins: int = 0
    locked_until: str | None = None
    key_id: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in ACCOUNT_KINDS:
            raise ValueError(f"kind must be one of {ACCOUNT_KINDS}, not {self.kind!r}")


@dataclass(slots=True)
class IdempotencyRecord:
    """The answer given to the first request under an ``Idempotency-Key``."""

    key: str
    actor: str
    request_sha256: str
    status_code: int
    body: dict[str, Any]
    at: str
    # of an answer: the token of the reservation it completes; the store completes the
    # record only while that reservation holds it (not after another took it over)
    reservation: str | None = None


def reservation_body(token: str) -> dict[str, Any]:
    """The body of a reservation: a record with status 0 whose work has not committed."""
    return {"reservation": token}


@dataclass(frozen=True, slots=True)
class SignInFailure:
    """What one wrong password did to its account, as the store counted it atomically.

    ``counted`` is False when the account was locked already: a locked account counts
    nothing more, so at most the limit of failures is ever counted before a lock.
    ``locked_until`` is the lock in force after this failure (None: not locked).
    ``locked_now`` says this very failure reached the limit and set the lock.
    """

    failures: int
    locked_until: str | None
    counted: bool
    locked_now: bool

    @property
    def locked(self) -> bool:
        return self.locked_until is not None


SIGN_IN_FAILED = "sign_in_failed"
ACCOUNT_LOCKED = "account_locked"
ACCOUNT_UNLOCKED = "account_unlocked"


def lock_cause(limit: int) -> str:
    """Why a lock was set, as the audit trail and the admin's view of the account say it."""
    return f"{limit} failed sign-ins in a row (the limit)"


class SessionExists(Exception):
    """A session was created under an ``id_sha256`` that is stored already."""


@dataclass(slots=True)
class BrowserSession:
    """A dashboard sign-in kept by the browser as an opaque id (a cookie); the store keeps
    only the id's SHA-256, never the id itself.

    Created once and never rewritten, except that ending it sets ``ended_at`` (once).
    ``account_updated_at`` is the account's ``updated_at`` when the session began:
    disabling the account or changing its secret ends the session, as it ends tokens.
    """

    id_sha256: str
    account: str
    created_at: str
    expires_at: str
    account_updated_at: str
    ended_at: str | None = None

    def live(self, at: str) -> bool:
        return self.ended_at is None and at < self.expires_at


SESSION_STARTED = "session_started"
SESSION_ENDED = "session_ended"
