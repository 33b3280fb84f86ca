"""One error body for every failure: ``{"error": CODE, "detail": TEXT}``."""

from __future__ import annotations

import logging
import secrets
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from graph.store import StoreUnavailable
from queries.errors import InvalidQuery, NotFound

log = logging.getLogger("lotgraph.api")


class Problem(BaseModel):
    """One structural fault of a refused bundle."""

    file: str
    line: int | None = None  # None: the file as a whole
    reason: str


class ErrorBody(BaseModel):
    error: str
    detail: str
    # Only on a refused bundle (400, 413): each fault, as the detail lists them in words.
    problems: list[Problem] | None = None


class ApiError(Exception):
    """Base of every error the API answers on purpose."""

    status = 400
    code = "bad_request"
    headers: dict[str, str] | None = None

    def __init__(self, detail: str, problems: list[dict[str, Any]] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.problems = problems

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": self.code, "detail": self.detail}
        if self.problems is not None:
            body["problems"] = self.problems
        return body


class BadRequest(ApiError):
    pass


class NotAuthenticated(ApiError):
    status = 401
    code = "not_authenticated"
    headers = {"WWW-Authenticate": "Bearer"}


class SignInRefused(NotAuthenticated):
    """A password refused: unknown name, wrong password, disabled or locked account alike.

    The client always gets the same answer; ``locked`` is for callers that already know who
    is asking (the signing ceremony of an authenticated person), never for the body.
    """

    def __init__(self, *, locked: bool = False) -> None:
        super().__init__("wrong username or password")
        self.locked = locked


class Forbidden(ApiError):
    status = 403
    code = "forbidden"


class NotFoundError(ApiError):
    status = 404
    code = "not_found"


class Conflict(ApiError):
    status = 409
    code = "conflict"


class PayloadTooLarge(ApiError):
    status = 413
    code = "payload_too_large"


class UnsupportedMediaType(ApiError):
    status = 415
    code = "unsupported_media_type"


class ServiceUnavailable(ApiError):
    """The service cannot carry the request out now, through nobody's fault: try later."""

    status = 503
    code = "unavailable"

    def __init__(self, detail: str, retry_after_s: int, code: str = "unavailable") -> None:
        super().__init__(detail)
        self.code = code
        self.headers = {"Retry-After": str(retry_after_s)}

    @classmethod
    def of_store(cls, exc: StoreUnavailable) -> ServiceUnavailable:
        return cls(str(exc), exc.retry_after_s, code="store_unavailable")


_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    503: "unavailable",
}

ERROR_RESPONSES: dict[int | str, dict[str, object]] = {
    status: {"model": ErrorBody, "description": code}
    for status, code in _CODES.items()
    if status not in (405, 415)
}


def _body(
    status: int, code: str, detail: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse({"error": code, "detail": detail}, status_code=status, headers=headers)


def _validation_detail(exc: RequestValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error.get("loc", ()) if p != "body") or "body"
        parts.append(f"{where}: {error.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request"


def error_response(exc: ApiError) -> JSONResponse:
    """The answer to an ApiError, also for middleware outside the exception handlers."""
    return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(StoreUnavailable)
    async def store_unavailable(request: Request, exc: StoreUnavailable) -> JSONResponse:
        # the store went away (connection loss only: every other store error is a bug)
        log.warning("%s %s: %s", request.method, request.url.path, exc)
        return error_response(ServiceUnavailable.of_store(exc))

    @app.exception_handler(NotFound)
    async def not_found(_: Request, exc: NotFound) -> JSONResponse:
        return _body(404, "not_found", str(exc))

    @app.exception_handler(InvalidQuery)
    async def invalid_query(_: Request, exc: InvalidQuery) -> JSONResponse:
        return _body(400, "bad_request", str(exc))

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return _body(422, "invalid_request", _validation_detail(exc))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _CODES.get(exc.status_code, "error")
        return _body(exc.status_code, code, str(exc.detail), getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def bug(request: Request, exc: Exception) -> JSONResponse:
        # a bug: the caller gets a reference, the log gets the traceback
        reference = secrets.token_hex(6)
        log.exception("unhandled error %s on %s %s", reference, request.method, request.url.path)
        return _body(500, "internal_error", f"internal error; reference {reference}")
