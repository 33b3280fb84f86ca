"""Sign-in: the OAuth2 password flow."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request

from api.auth.schemas import TokenOut
from api.deps import AuthenticatorDep
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
