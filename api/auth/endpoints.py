"""Sign-in: the OAuth2 password flow."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request, Response

from api.auth.schemas import MeOut, SessionIdIn, SessionOut, SessionTokenOut, TokenOut, allowed
from api.deps import AuthenticatorDep, SignedIn, StoreDep, in_store
from api.errors import ERROR_RESPONSES

router = APIRouter(tags=["auth"], responses=ERROR_RESPONSES)


@router.post("/auth/token", response_model=TokenOut)
def sign_in(
    request: Request,
    auth: AuthenticatorDep,
    username: Annotated[str, Form(min_length=1, max_length=64)],
    password: Annotated[str, Form(min_length=1, max_length=1024)],
) -> TokenOut:
    """A short-lived bearer token for a person's username and password."""
    request.state.actor = username
    return auth.sign_in(username, password)


@router.get("/auth/me", response_model=MeOut)
def me(caller: SignedIn) -> MeOut:
    """Who the bearer is, their sites, and the actions their role may take."""
    return MeOut(
        username=caller.name,
        role=caller.role,
        sites=sorted(caller.sites),
        may=allowed(caller.role),
    )


# -- dashboard sessions (docs/API.md, Sessions) ----------------------------------------------
@router.post("/auth/sessions", response_model=SessionOut, status_code=201)
async def start_session(
    request: Request,
    auth: AuthenticatorDep,
    store: StoreDep,
    username: Annotated[str, Form(min_length=1, max_length=64)],
    password: Annotated[str, Form(min_length=1, max_length=1024)],
) -> SessionOut:
    """Sign in for a session: its opaque id (shown this once) and a first token."""
    request.state.actor = username
    return await in_store(store, auth.start_session, username, password)


@router.post("/auth/sessions/token", response_model=SessionTokenOut)
async def session_token(
    request: Request, auth: AuthenticatorDep, store: StoreDep, body: SessionIdIn
) -> SessionTokenOut:
    """A short-lived token for a live session; 401 once it has ended or expired."""
    token = await in_store(store, auth.session_token, body.session_id)
    request.state.actor = token.username
    return token


@router.post("/auth/sessions/end", status_code=204, response_class=Response)
async def end_session(
    request: Request, auth: AuthenticatorDep, store: StoreDep, body: SessionIdIn
) -> Response:
    """Sign out: end the session and every token it gave."""
    request.state.actor = await in_store(store, auth.end_session, body.session_id)
    return Response(status_code=204)
