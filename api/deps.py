"""The dependencies endpoints declare: the store, the caller, and the role it needs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.auth.schemas import READERS, Caller, Role
from api.auth.service import Authenticator
from api.errors import Forbidden, NotAuthenticated
from api.settings import ApiSettings
from graph.store import GraphStore

_bearer = HTTPBearer(
    auto_error=False,
    description="A token from POST /auth/token, or an API key (lgk_...).",
)


def get_store(request: Request) -> GraphStore:
    store: GraphStore = request.app.state.store
    return store


def get_settings(request: Request) -> ApiSettings:
    settings: ApiSettings = request.app.state.settings
    return settings


def get_authenticator(request: Request) -> Authenticator:
    auth: Authenticator = request.app.state.authenticator
    return auth


StoreDep = Annotated[GraphStore, Depends(get_store)]
SettingsDep = Annotated[ApiSettings, Depends(get_settings)]
AuthenticatorDep = Annotated[Authenticator, Depends(get_authenticator)]


def get_caller(
    request: Request,
    auth: AuthenticatorDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Caller:
    if credentials is None:
        raise NotAuthenticated("sign in first: send Authorization: Bearer <token or API key>")
    caller = auth.caller(credentials.credentials)
    request.state.caller = caller
    return caller


def require(roles: frozenset[Role], what: str) -> Callable[[Caller], Caller]:
    def check(caller: Annotated[Caller, Depends(get_caller)]) -> Caller:
        if caller.role not in roles:
            raise Forbidden(f"the {caller.role} role may not {what}")
        return caller

    return check


Reader = Annotated[Caller, Depends(require(READERS, "read investigations"))]
Integrator = Annotated[Caller, Depends(require(frozenset({Role.INTEGRATOR}), "ingest"))]
Auditor = Annotated[Caller, Depends(require(frozenset({Role.AUDITOR}), "read the audit trail"))]
Admin = Annotated[Caller, Depends(require(frozenset({Role.ADMIN}), "manage accounts"))]
IngestReader = Annotated[
    Caller,
    Depends(require(frozenset({Role.INTEGRATOR, Role.AUDITOR}), "read ingest rejections")),
]
