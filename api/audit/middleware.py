"""Records every request to lot data in the access audit, whatever its outcome."""

from __future__ import annotations

from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import ServiceUnavailable, error_response
from graph.store import AuditEntry

UNAUDITED = ("/health", "/openapi.json", "/docs", "/redoc")
RETRY_AFTER_S = 5


class AccessAuditMiddleware:
    """Pure ASGI (no body buffering): reads the route, the caller and the status afterwards."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(UNAUDITED):
            await self.app(scope, receive, send)
            return
        access_log = scope["app"].state.access_log
        if not access_log.admit():
            # no place to record the access: refuse the request rather than serve it unaudited
            full = ServiceUnavailable(
                f"the access audit has {access_log.capacity} entries waiting for the store; "
                "try again when they are written",
                RETRY_AFTER_S,
                code="access_audit_full",
            )
            await error_response(full)(scope, receive, send)
            return
        status = 500

        async def remember_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, remember_status)
        finally:
            access_log.record(_entry(scope, status))


def _entry(scope: Scope, status: int) -> AuditEntry:
    state: dict[str, Any] = scope.get("state", {})
    caller = state.get("caller")
    route = scope.get("route")
    template = getattr(route, "path_format", None) or "(no route)"
    params: dict[str, Any] = scope.get("path_params", {})
    keys = [str(v) for v in params.values()] + [str(k) for k in state.get("access_keys", ())]
    method = scope["method"]
    return AuditEntry(
        actor=caller.name if caller else state.get("actor", "anonymous"),
        action="read" if method in ("GET", "HEAD") else "write",
        entity=template,
        key=",".join(keys),
        old=None,
        new={
            "method": method,
            "path": scope["path"],
            "query": scope.get("query_string", b"").decode("latin-1"),
            "status": status,
        },
        reason="access",
        source="api",
    )
