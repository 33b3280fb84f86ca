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
    locked_until: str | None


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
