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


SIGN_IN_ROUTE = "/auth/token"
# Questions posted as a body (their answer changes nothing): their access is a read.
READ_POSTS = frozenset({"/investigations/recall", "/investigations/impurity"})
# The entity a route is about, by the name of its path parameter; a parameter ``x_id`` not
# listed names ``X``. A route with none names the entity its body's ids are (``access_keys``).
_PARAM_ENTITIES = {
    "lot_id": "Lot",
    "batch_id": "Batch",
    "document_id": "Document",
    "supplier_id": "Supplier",
    "deviation_id": "Deviation",
    "change_id": "SupplierChange",
    "analyte": "Analyte",
    "name": "Account",
}
_ROUTE_ENTITIES = {
    "/investigations/recall": "Lot",
    "/investigations/impurity": "Analyte",
    "/documents": "Document",
    SIGN_IN_ROUTE: "Account",
}


def access_action(route: str, method: str, status: int) -> str:
    """``read``, ``write``, or for sign-in ``sign_in`` (a token issued) or
    ``sign_in_refused`` (any refusal: wrong password, locked, unknown name, bad form)."""
    if route == SIGN_IN_ROUTE and method == "POST":
        return "sign_in" if 200 <= status < 300 else "sign_in_refused"
    if method in ("GET", "HEAD") or (method == "POST" and route in READ_POSTS):
        return "read"
    return "write"


def access_entity(route: str, params: dict[str, Any]) -> str:
    """The kind of entity the request is about (``Batch``), else its route (``/audit``)."""
    for name in params:
        if name in _PARAM_ENTITIES:
            return _PARAM_ENTITIES[name]
        if name.endswith("_id"):
            return "".join(part.title() for part in name[: -len("_id")].split("_"))
    return _ROUTE_ENTITIES.get(route, route)


def _entry(scope: Scope, status: int) -> AuditEntry:
    """The access record: the entity by kind and concrete id(s) (``Batch``,
    ``B-2026-0001``), never the route template, which stays in ``new.route``."""
    state: dict[str, Any] = scope.get("state", {})
    caller = state.get("caller")
    route = scope.get("route")
    template = getattr(route, "path_format", None) or "(no route)"
    params: dict[str, Any] = scope.get("path_params", {})
    keys = [str(v) for v in params.values()] + [str(k) for k in state.get("access_keys", ())]
    method = scope["method"]
    actor = caller.name if caller else state.get("actor", "anonymous")
    if template == SIGN_IN_ROUTE and not keys and "actor" in state:
        keys = [str(state["actor"])]  # the account the sign-in is for
    return AuditEntry(
        actor=actor,
        action=access_action(template, method, status),
        entity=access_entity(template, params),
        key=",".join(keys),
        old=None,
        new={
            "method": method,
            "path": scope["path"],
            "route": template,
            "query": scope.get("query_string", b"").decode("latin-1"),
            "status": status,
        },
        reason="access",
        source="api",
    )
