"""Sign-in, bearer tokens and API keys.

A token is a JWT (HS256) naming the account and the account's ``updated_at``: disabling
the account or rotating its secret ends every token issued before (the account is read on
every request; only the signature check of a token already seen is remembered, until the
token expires). API keys are checked
against their argon2 hash once, then remembered in this process for a short while by a
fast hash, so that a busy integration does not pay ~50 ms per request.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from api.auth.schemas import Caller, Role, TokenOut
from api.auth.secrets import ApiKey, verify_secret
from api.errors import NotAuthenticated
from api.settings import ApiSettings
from graph.records import Account
from graph.store import AuditEntry, GraphStore, format_utc

log = logging.getLogger("lotgraph.api.auth")
_ALGORITHM = "HS256"
_KNOWN_TOKENS = 10_000


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

    # -- people -----------------------------------------------------------------------------
    def sign_in(self, username: str, password: str) -> TokenOut:
        return self.issue_token(self.check_password(username, password))

    def issue_token(self, account: Account) -> TokenOut:
        minutes = self._settings.token_minutes
        now = datetime.now(UTC)
        claims = {
            "sub": account.name,
            "gen": account.updated_at,
            "iat": now,
            "exp": now + timedelta(minutes=minutes),
        }
        token = jwt.encode(claims, self._secret, algorithm=_ALGORITHM)
        return TokenOut(access_token=token, expires_in=minutes * 60)

    def check_password(self, username: str, password: str) -> Account:
        """The account, when the password is its own; each failure counts toward the lock."""
        account = self._store.get_account(username)
        refused = NotAuthenticated("wrong username or password")
        if account is None or account.kind != "password":
            verify_secret(None, password)  # the same cost as a known name
            log.warning("sign-in refused for unknown account %r", username)
            raise refused
        now = datetime.now(UTC)
        if account.locked_until and account.locked_until > format_utc(now):
            log.warning("sign-in refused for locked account %r", username)
            raise NotAuthenticated(
                f"too many failed sign-ins; the account is locked until {account.locked_until}"
            )
        if account.disabled:
            log.warning("sign-in refused for disabled account %r", username)
            raise refused
        if not verify_secret(account.secret_hash, password):
            self._count_failure(account, now)
            raise refused
        if account.failed_sign_ins or account.locked_until:
            account.failed_sign_ins = 0
            account.locked_until = None
            self._store.save_account(account, None)
        return account

    def _count_failure(self, account: Account, now: datetime) -> None:
        account.failed_sign_ins += 1
        locked = account.failed_sign_ins >= self._settings.sign_in_attempts
        if locked:
            account.locked_until = format_utc(
                now + timedelta(minutes=self._settings.lockout_minutes)
            )
            account.failed_sign_ins = 0
        log.warning(
            "failed sign-in for %r (%s)",
            account.name,
            f"locked until {account.locked_until}"
            if locked
            else f"{account.failed_sign_ins} in a row",
        )
        entry = AuditEntry(
            actor=account.name,
            action="sign_in_failed",
            entity="Account",
            key=account.name,
            old=None,
            new={"failed_sign_ins": account.failed_sign_ins, "locked_until": account.locked_until},
            reason="wrong password",
            source="api",
        )
        self._store.save_account(account, entry)

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
