"""The signing ceremony of e-signatures and holds: the signer enters their password again.

21 CFR 11.200(a): a signature made outside one continuous session of controlled access is
made with both of its components; here the bearer token is the first, and the password
entered again at the moment of signing the second. Only a person signs: an API key never
does, whatever its role. A wrong password is refused like a wrong sign-in and counts
toward the account's lockout (Authenticator.check_password); a signer whose account is
locked is told so, which sign-in never tells.
"""

from __future__ import annotations

from api.auth.schemas import Caller
from api.auth.service import Authenticator
from api.errors import Forbidden, NotAuthenticated, SignInRefused
from graph.records import Account
from graph.store import GraphStore


def confirm_signer(
    auth: Authenticator, store: GraphStore, caller: Caller, password: str
) -> Account:
    """The caller's account when ``password`` is its own; 403 for an API key, 401 else."""
    account = store.get_account(caller.name)
    if account is None or account.kind != "password":
        raise Forbidden("an API key cannot sign: a person signs with their own password")
    try:
        return auth.check_password(caller.name, password)
    except SignInRefused as refused:
        if not refused.locked:
            raise
        # The bearer already proved who is signing, so saying why reveals nothing to a
        # stranger (sign-in itself never says it) and tells the signer what to do.
        locked = store.get_account(caller.name)
        until = locked.locked_until if locked is not None else None
        raise NotAuthenticated(
            f"too many wrong passwords; your account is locked until {until} "
            "(or until an administrator unlocks it)"
        ) from None
