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
from api.auth.secrets import ApiKey, dummy_hash, verify_secret
from api.errors import NotAuthenticated, SignInRefused
from api.settings import ApiSettings
from graph.records import Account
from graph.store import GraphStore, format_utc

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
        dummy_hash()  # made now, so the first unknown name costs what every other does

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
