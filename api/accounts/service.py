"""Accounts: add, list, show, disable, unlock, rotate. Used by `lotgraph users` and the admin endpoints.

Every change is one audit entry written in the account's own transaction.
"""

from __future__ import annotations

import re

from api.accounts.schemas import NAME_PATTERN, AccountDetail, AccountLock, AccountOut
from api.auth.schemas import ALL_SITES, Role
from api.auth.secrets import ApiKey, hash_secret
from api.errors import BadRequest, Conflict, NotFoundError
from graph.records import ACCOUNT_LOCKED, Account
from graph.store import AuditEntry, GraphStore, utc_now

MIN_PASSWORD = 12
_SITED = (Role.INVESTIGATOR, Role.QA)


def account_out(account: Account) -> AccountOut:
    return AccountOut(
        name=account.name,
        role=Role(account.role),
        sites=account.sites,
        kind=account.kind,
        disabled=account.disabled,
        created_at=account.created_at,
        updated_at=account.updated_at,
        locked_until=account.locked_until,
        failed_sign_ins=account.failed_sign_ins,
    )


def account_detail(account: Account, store: GraphStore) -> AccountDetail:
    """The account with its lock and the lock's cause, read from the audit trail."""
    lock = None
    if account.locked_until is not None:
        entries = store.audit_for_keys([account.name])
        setting = next(
            (
                e
                for e in reversed(entries)
                if e["entity"] == "Account"
                and e["action"] == ACCOUNT_LOCKED
                and (e.get("new") or {}).get("locked_until") == account.locked_until
            ),
            None,
        )
        lock = AccountLock(
            locked_until=account.locked_until,
            active=account.locked_until > utc_now(),
            cause=setting["reason"] if setting else None,
            locked_at=setting["at"] if setting else None,
            audit_seq=setting["seq"] if setting else None,
        )
    return AccountDetail(**account_out(account).model_dump(), lock=lock)


def _public(account: Account) -> dict[str, object]:
    return account_out(account).model_dump(mode="json")


class AccountService:
    def __init__(self, store: GraphStore) -> None:
        self._store = store

    def add(
        self,
        name: str,
        role: Role,
        sites: list[str],
        *,
        actor: str,
        password: str | None = None,
        api_key: bool = False,
    ) -> tuple[Account, str | None]:
        """The new account and, for an API key, the key (shown this once only)."""
        if not re.fullmatch(NAME_PATTERN, name):
            raise BadRequest(f"name: {name!r} must be 1-64 letters, digits or _.@- ")
        sites = sorted({s.strip() for s in sites if s.strip()})
        if role in _SITED and not sites:
            raise BadRequest(f"sites: a {role} account needs at least one site (or {ALL_SITES})")
        if (password is None) == (not api_key):
            raise BadRequest("password: give exactly one of a password or an API key")
        if self._store.get_account(name) is not None:
            raise Conflict(f"an account {name!r} exists already")
        key = ApiKey.new() if api_key else None
        now = utc_now()
        account = Account(
            name=name,
            role=str(role),
            sites=sites,
            kind="api_key" if key else "password",
            secret_hash=hash_secret(key.secret if key else _checked_password(password)),
            disabled=False,
            created_at=now,
            updated_at=now,
            key_id=key.key_id if key else None,
        )
        self._store.save_account(
            account, self._audit(actor, "account_added", account, None, "account added")
        )
        return account, key.text if key else None

    def list(self) -> list[Account]:
        return self._store.list_accounts()

    def get(self, name: str) -> Account:
        account = self._store.get_account(name)
        if account is None:
            raise NotFoundError(f"no account {name!r}")
        return account

    def disable(self, name: str, *, actor: str, reason: str = "disabled") -> Account:
        account = self.get(name)
        old = _public(account)
        account.disabled = True
        account.updated_at = utc_now()
        self._store.save_account(
            account, self._audit(actor, "account_disabled", account, old, reason)
        )
        return account

    def unlock(self, name: str, *, actor: str) -> Account:
        """End the account's lock and clear its failure count (audited, in the store's step)."""
        account = self._store.unlock_account(name, by=actor)
        if account is None:
            raise NotFoundError(f"no account {name!r}")
        return account

    def rotate(
        self, name: str, *, actor: str, password: str | None = None
    ) -> tuple[Account, str | None]:
        """A new password (given) or a new API key (returned once); old tokens stop working."""
        account = self.get(name)
        old = _public(account)
        key: ApiKey | None = None
        if account.kind == "api_key":
            if password is not None:
                raise BadRequest(
                    "password: an API-key account rotates to a new key, not a password"
                )
            key = ApiKey.new()
            account.key_id = key.key_id
            account.secret_hash = hash_secret(key.secret)
        else:
            account.secret_hash = hash_secret(_checked_password(password))
        account.failed_sign_ins = 0
        account.locked_until = None
        account.updated_at = utc_now()
        self._store.save_account(
            account, self._audit(actor, "account_rotated", account, old, "secret rotated")
        )
        return account, key.text if key else None

    @staticmethod
    def _audit(
        actor: str, action: str, account: Account, old: dict[str, object] | None, reason: str
    ) -> AuditEntry:
        return AuditEntry(
            actor=actor,
            action=action,
            entity="Account",
            key=account.name,
            old=old,
            new=_public(account),
            reason=reason,
            source="accounts",
        )


def _checked_password(password: str | None) -> str:
    if password is None or len(password) < MIN_PASSWORD:
        raise BadRequest(f"password: must be at least {MIN_PASSWORD} characters")
    return password
