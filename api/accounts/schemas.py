"""What an account looks like from outside: never its hash."""

from __future__ import annotations

from pydantic import BaseModel, Field

from api.auth.schemas import Role

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$"


class AccountOut(BaseModel):
    name: str
    role: Role
    sites: list[str]
    kind: str  # password or api_key
    disabled: bool
    created_at: str
    updated_at: str
    locked_until: str | None  # set while locked; kept after expiry until the next sign-in
    failed_sign_ins: int = 0  # wrong passwords in a row (at most the limit)


class AccountLock(BaseModel):
    """The lock an account carries, with the cause the audit trail recorded for it."""

    locked_until: str
    active: bool  # in force now; it ends by itself at locked_until, or by an unlock
    cause: str | None  # the reason of the audit entry that set it
    locked_at: str | None
    audit_seq: int | None  # that entry, in the audit trail (GET /audit)


class AccountDetail(AccountOut):
    """One account as an admin sees it: its sign-in failures and its lock."""

    lock: AccountLock | None


class AccountCreate(BaseModel):
    name: str = Field(pattern=NAME_PATTERN)
    role: Role
    sites: list[str] = Field(default_factory=list)
    password: str | None = Field(default=None, min_length=12, max_length=1024)
    api_key: bool = False


class AccountSecret(BaseModel):
    """Returned once, when an API key is made or rotated."""

    account: AccountOut
    api_key: str | None = None


class AccountPage(BaseModel):
    accounts: list[AccountOut]
