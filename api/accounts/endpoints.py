"""Accounts for the admin role (the CLI's `lotgraph users` does the same)."""

from __future__ import annotations

from fastapi import APIRouter

from api.accounts.schemas import AccountCreate, AccountDetail, AccountPage, AccountSecret
from api.accounts.service import AccountService, account_detail, account_out
from api.deps import Admin, StoreDep
from api.errors import ERROR_RESPONSES

router = APIRouter(prefix="/accounts", tags=["accounts"], responses=ERROR_RESPONSES)


@router.get("", response_model=AccountPage)
def list_accounts(caller: Admin, store: StoreDep) -> AccountPage:
    return AccountPage(accounts=[account_out(a) for a in AccountService(store).list()])


@router.post("", response_model=AccountSecret, status_code=201)
def add_account(body: AccountCreate, caller: Admin, store: StoreDep) -> AccountSecret:
    """A new account; an API key is in this answer and nowhere else, ever."""
    account, key = AccountService(store).add(
        body.name,
        body.role,
        body.sites,
        actor=caller.name,
        password=body.password,
        api_key=body.api_key,
    )
    return AccountSecret(account=account_out(account), api_key=key)


@router.post("/{name}/disable", response_model=AccountSecret)
def disable_account(name: str, caller: Admin, store: StoreDep) -> AccountSecret:
    return AccountSecret(
        account=account_out(AccountService(store).disable(name, actor=caller.name))
    )


@router.get("/{name}", response_model=AccountDetail)
def get_account(name: str, caller: Admin, store: StoreDep) -> AccountDetail:
    """One account with its failed sign-ins, its lock and the lock's cause."""
    return account_detail(AccountService(store).get(name), store)


@router.post("/{name}/unlock", response_model=AccountSecret)
def unlock_account(name: str, caller: Admin, store: StoreDep) -> AccountSecret:
    """End a lockout now: the lock and the failure count are cleared, and audited."""
    return AccountSecret(account=account_out(AccountService(store).unlock(name, actor=caller.name)))
