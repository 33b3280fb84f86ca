"""Sign-in, bearer tokens and API keys.

A token is a JWT (HS256) naming the account and the account's ``updated_at``: disabling
the account or rotating its secret ends every token issued before (the account is read on
every request; only the signature check of a token already seen is remembered, until the
token expires). API keys are checked
against their argon2 hash once, then remembered in this process for a short while by a
fast hash, so that a busy integration does not pay ~50 ms per request.

A dashboard session (docs/API.md, Sessions) is an opaque random id the browser keeps in a
cookie; the store keeps its SHA-256 with the account and expiry. Its tokens carry that
hash (``sid``), and every request with one reads the session: ending the session ends
them at once.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from api.auth.schemas import Caller, Role, SessionOut, SessionTokenOut, TokenOut
from api.auth.secrets import ApiKey, dummy_hash, verify_secret
from api.errors import NotAuthenticated, SignInRefused
from api.settings import ApiSettings
from graph.records import SESSION_ENDED, SESSION_STARTED, Account, BrowserSession
from graph.store import AuditEntry, GraphStore, format_utc

log = logging.getLogger("lotgraph.api.auth")
_ALGORITHM = "HS256"
_KNOWN_TOKENS = 10_000
SESSION_ID_PREFIX = "lgs_"
# One answer for every refused session id (unknown, ended, expired, account disabled or
# changed): the answer never tells which.
_SESSION_REFUSED = "the session is not valid (ended, expired or unknown); sign in again"


def session_sha256(session_id: str) -> str:
    """What the store keeps of a session id: the id is 256 random bits, so a fast hash
    suffices (nothing to guess), and a stolen store copy holds no usable id."""
    return hashlib.sha256(session_id.encode()).hexdigest()


def _session_audit(action: str, session: BrowserSession, reason: str) -> AuditEntry:
    # the audit names the session by a prefix of its hash: enough to pair start and end
    return AuditEntry(
        actor=session.account,
        action=action,
        entity="Account",
        key=session.account,
        old=None,
        new={
            "session": session.id_sha256[:16],
            "expires_at": session.expires_at,
            "ended_at": session.ended_at,
        },
        reason=reason,
        source="api",
    )


def _caller(account: Account) -> Caller:
    return Caller(account.name, Role(account.role), frozenset(account.sites))


class Authenticator:
    def __init__(self, store: GraphStore, settings: ApiSettings) -> None:
        self._store = store
        self._settings = settings
        self._secret = settings.secret_key.get_secret_value()
        self._known_keys: dict[str, tuple[str, str, float]] = {}  # digest -> name, hash, until
        self._known_tokens: dict[str, tuple[dict[str, Any], float]] = {}  # token -> claims, exp
        self._lock = threading.Lock()
        dummy_hash()  # made now, so the first unknown name costs what every other does

    # -- people -----------------------------------------------------------------------------
    def sign_in(self, username: str, password: str) -> TokenOut:
        return self.issue_token(self.check_password(username, password))

    def issue_token(self, account: Account, session: BrowserSession | None = None) -> TokenOut:
        """A token for the account; one of a session carries the session's hash and ends
        no later than the session."""
        now = datetime.now(UTC)
        expires = now + timedelta(minutes=self._settings.token_minutes)
        claims: dict[str, Any] = {"sub": account.name, "gen": account.updated_at, "iat": now}
        if session is not None:
            expires = min(expires, datetime.fromisoformat(session.expires_at))
            claims["sid"] = session.id_sha256
        claims["exp"] = expires
        token = jwt.encode(claims, self._secret, algorithm=_ALGORITHM)
        return TokenOut(access_token=token, expires_in=max(0, int((expires - now).total_seconds())))

    # -- dashboard sessions -----------------------------------------------------------------
    def start_session(self, username: str, password: str) -> SessionOut:
        """A new session for a right password: its id (returned this once) and a token."""
        account = self.check_password(username, password)
        session_id = SESSION_ID_PREFIX + secrets.token_urlsafe(32)
        now = datetime.now(UTC)
        expires = now + timedelta(minutes=self._settings.session_minutes)
        session = BrowserSession(
            id_sha256=session_sha256(session_id),
            account=account.name,
            created_at=format_utc(now),
            expires_at=format_utc(expires),
            account_updated_at=account.updated_at,
        )
        self._store.create_session(session, _session_audit(SESSION_STARTED, session, "signed in"))
        token = self.issue_token(account, session)
        return SessionOut(
            **token.model_dump(),
            session_id=session_id,
            session_expires_at=session.expires_at,
            session_expires_in=int((expires - now).total_seconds()),
            username=account.name,
        )

    def session_token(self, session_id: str) -> SessionTokenOut:
        """A fresh token for a live session; 401 (one answer) for any other id."""
        session, account = self._live_session(session_sha256(session_id))
        token = self.issue_token(account, session)
        return SessionTokenOut(**token.model_dump(), username=account.name)

    def end_session(self, session_id: str) -> str:
        """End the session (its tokens with it); the account's name. Ending one that has
        ended already changes nothing; an unknown id is 401."""
        id_sha256 = session_sha256(session_id)
        session = self._store.get_session(id_sha256)
        if session is None:
            raise NotAuthenticated(_SESSION_REFUSED)
        if session.ended_at is None:
            ended = replace(session, ended_at=format_utc(datetime.now(UTC)))
            audit = _session_audit(SESSION_ENDED, ended, "signed out")
            self._store.end_session(id_sha256, str(ended.ended_at), audit)
        return session.account

    def _live_session(self, id_sha256: str) -> tuple[BrowserSession, Account]:
        session = self._store.get_session(id_sha256)
        account = None if session is None else self._store.get_account(session.account)
        if (
            session is None
            or account is None
            or not session.live(format_utc(datetime.now(UTC)))
            or account.disabled
            or account.updated_at != session.account_updated_at
        ):
            raise NotAuthenticated(_SESSION_REFUSED)
        return session, account

    def check_password(self, username: str, password: str) -> Account:
        """The account, when the password is its own and it may sign in.

        Every refusal is the same SignInRefused (401, one body) after the same work: one
        argon2 verification, against a dummy hash for an unknown name, and made even for a
        disabled or locked account, so neither the answer nor its time tells whether the
        name exists or why it was refused. Each wrong password is counted by the store
        atomically (GraphStore.record_sign_in_failure); the lock is the store's too.
        """
        account = self._store.get_account(username)
        person = account if account is not None and account.kind == "password" else None
        matches = verify_secret(person.secret_hash if person else None, password)
        if person is None:
            log.warning("sign-in refused for unknown account %r", username)
            raise SignInRefused()
        now = datetime.now(UTC)
        at = format_utc(now)
        if not matches:
            lock_until = format_utc(now + timedelta(minutes=self._settings.lockout_minutes))
            failure = self._store.record_sign_in_failure(
                person.name, at, self._settings.sign_in_attempts, lock_until
            )
            locked = failure is not None and failure.locked
            if failure is None or not failure.counted:
                log.warning("sign-in refused for locked account %r (wrong password)", username)
            else:
                log.warning(
                    "failed sign-in for %r (%s)",
                    person.name,
                    f"locked until {failure.locked_until}"
                    if failure.locked_now
                    else f"{failure.failures} in a row",
                )
            raise SignInRefused(locked=locked)
        if person.disabled:
            log.warning("sign-in refused for disabled account %r", username)
            raise SignInRefused()
        # Checked and cleared in one store step: a lock that parallel failures set while
        # this password was being verified refuses it too.
        if not self._store.record_sign_in_success(person.name, at):
            log.warning("sign-in refused for locked account %r", username)
            raise SignInRefused(locked=True)
        return person

    # -- every request ----------------------------------------------------------------------
    def caller(self, bearer: str) -> Caller:
        key = ApiKey.parse(bearer)
        account = self._by_key(bearer, key) if key else self._by_token(bearer)
        if account.disabled:
            raise NotAuthenticated("the account is disabled")
        return _caller(account)

    def _by_token(self, token: str) -> Account:
        claims = self._claims(token)
        account = self._store.get_account(str(claims["sub"]))
        if account is None or claims.get("gen") != account.updated_at:
            raise NotAuthenticated("the token is no longer valid; sign in again")
        sid = claims.get("sid")
        if sid is not None:  # a session's token lives only as long as its session
            session, _ = self._live_session(str(sid))
            if session.account != account.name:
                raise NotAuthenticated(_SESSION_REFUSED)
        return account

    def _claims(self, token: str) -> dict[str, Any]:
        """The token's claims; a token verified before is not verified again until it expires."""
        known = self._known_tokens.get(token)
        if known is not None and known[1] > time.time():
            return known[0]
        try:
            claims = jwt.decode(
                token, self._secret, algorithms=[_ALGORITHM], options={"require": ["exp", "sub"]}
            )
        except jwt.ExpiredSignatureError:
            raise NotAuthenticated("the token has expired; sign in again") from None
        except jwt.InvalidTokenError:
            raise NotAuthenticated("the token is not valid") from None
        if len(self._known_tokens) >= _KNOWN_TOKENS:
            self._known_tokens.clear()  # crude, and rare: a process sees few live tokens
        self._known_tokens[token] = (claims, float(claims["exp"]))
        return claims

    def _by_key(self, text: str, key: ApiKey) -> Account:
        digest = hashlib.sha256(text.encode()).hexdigest()
        account = self._store.find_account_by_key_id(key.key_id)
        if account is None or account.kind != "api_key":
            raise NotAuthenticated("the API key is not valid")
        with self._lock:
            known = self._known_keys.get(digest)
        if known and known[1] == account.secret_hash and known[2] > time.monotonic():
            return account
        if not verify_secret(account.secret_hash, key.secret):
            raise NotAuthenticated("the API key is not valid")
        until = time.monotonic() + self._settings.api_key_cache_seconds
        with self._lock:
            self._known_keys[digest] = (account.name, account.secret_hash, until)
        return account
