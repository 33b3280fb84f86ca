"""The dependencies endpoints declare: the store, the caller, and the role it needs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial
from typing import Annotated, ParamSpec, TypeVar

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.auth.schemas import MAY, REFUSED, Action, Caller
from api.auth.service import Authenticator
from api.errors import Forbidden, NotAuthenticated
from api.settings import ApiSettings
from graph.store import GraphStore

_bearer = HTTPBearer(
    auto_error=False,
    description="A token from POST /auth/token, or an API key (lgk_...).",
)


# Dependencies that only read app state are `async def`: FastAPI runs a plain `def`
# dependency in the thread pool, and a hop per dependency cost more than the question.


async def get_store(request: Request) -> GraphStore:
    store: GraphStore = request.app.state.store
    return store


async def get_settings(request: Request) -> ApiSettings:
    settings: ApiSettings = request.app.state.settings
    return settings


async def get_authenticator(request: Request) -> Authenticator:
    auth: Authenticator = request.app.state.authenticator
    return auth


P = ParamSpec("P")
T = TypeVar("T")


async def in_store(store: GraphStore, work: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run store work in the thread pool, never on the event loop.

    A store call may wait: on Neo4j for the network, on the embedded store for a read
    connection or the write lock an ingest holds for a whole chunk. Run on the event loop,
    that wait would stall every other request, /health included.
    """
    return await run_in_threadpool(partial(work, *args, **kwargs))


async def in_snapshot(
    store: GraphStore, work: Callable[P, T], *args: P.args, **kwargs: P.kwargs
) -> T:
    """Like :func:`in_store`, with all of ``work``'s reads in one snapshot of the store:
    for an endpoint that answers from several reads (an investigation, then redaction)."""
    return await run_in_threadpool(store.read_snapshot, partial(work, *args, **kwargs))


StoreDep = Annotated[GraphStore, Depends(get_store)]
SettingsDep = Annotated[ApiSettings, Depends(get_settings)]
AuthenticatorDep = Annotated[Authenticator, Depends(get_authenticator)]


async def get_caller(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Caller:
    if credentials is None:
        raise NotAuthenticated("sign in first: send Authorization: Bearer <token or API key>")
    # app state read directly, not through sub-dependencies: this runs on every request
    store: GraphStore = request.app.state.store
    auth: Authenticator = request.app.state.authenticator
    caller = await in_store(store, auth.caller, credentials.credentials)
    request.state.caller = caller
    return caller


def require(action: Action) -> Callable[[Caller], Awaitable[Caller]]:
    """A caller whose role may take ``action`` (auth/schemas.py MAY), else 403."""
    roles = MAY[action]

    async def check(caller: Annotated[Caller, Depends(get_caller)]) -> Caller:
        if caller.role not in roles:
            raise Forbidden(f"the {caller.role} role may not {REFUSED[action]}")
        return caller

    return check


SignedIn = Annotated[Caller, Depends(get_caller)]
Reader = Annotated[Caller, Depends(require(Action.READ))]
Integrator = Annotated[Caller, Depends(require(Action.INGEST))]
Auditor = Annotated[Caller, Depends(require(Action.READ_AUDIT))]
Admin = Annotated[Caller, Depends(require(Action.MANAGE_ACCOUNTS))]
IngestReader = Annotated[Caller, Depends(require(Action.READ_INGEST_REJECTIONS))]
DocumentWriter = Annotated[Caller, Depends(require(Action.WRITE_DOCUMENTS))]
Signer = Annotated[Caller, Depends(require(Action.SIGN))]
HoldWriter = Annotated[Caller, Depends(require(Action.HOLD))]
Releaser = Annotated[Caller, Depends(require(Action.RELEASE))]
ChangeDecider = Annotated[Caller, Depends(require(Action.DECIDE_SUPPLIER_CHANGE))]
