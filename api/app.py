"""The FastAPI application: built by :func:`create_app`, its store opened at start-up."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from api.accounts.endpoints import router as accounts_router
from api.audit.access_log import AccessLog
from api.audit.endpoints import router as audit_router
from api.audit.middleware import AccessAuditMiddleware
from api.auth.endpoints import router as auth_router
from api.auth.service import Authenticator
from api.batches.endpoints import router as batches_router
from api.documents.endpoints import router as documents_router
from api.entities.endpoints import router as entities_router
from api.errors import install_error_handlers
from api.evidence.endpoints import router as evidence_router
from api.holds.endpoints import router as holds_router
from api.ingest.child import IngestProcess
from api.ingest.endpoints import router as ingest_router
from api.investigations.endpoints import router as investigations_router
from api.lot_links import LotLinkMiddleware
from api.settings import ApiSettings
from api.suppliers.endpoints import router as suppliers_router
from api.work.endpoints import router as work_router
from graph.store import GraphStore, StoreUnavailable

StoreFactory = Callable[[], GraphStore]


class StoreHealth(BaseModel):
    kind: str
    ok: bool
    error: str | None = None


class Health(BaseModel):
    status: str
    store: StoreHealth


def create_app(open_store: StoreFactory, settings: ApiSettings | None = None) -> FastAPI:
    """The app; ``open_store`` is called once at start-up and its store closed at shutdown."""
    settings = settings or ApiSettings()
    settings.refuse_insecure()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        store = open_store()
        access_log = AccessLog(store, settings.access_flush_seconds, settings.access_buffer_max)
        app.state.store = store
        app.state.settings = settings
        app.state.authenticator = Authenticator(store, settings)
        app.state.access_log = access_log
        app.state.ingest_process = ingest_process = IngestProcess()
        try:
            yield
        finally:
            ingest_process.close()
            access_log.close()
            store.close()

    app = FastAPI(
        title="lotgraph",
        summary="Traceability and investigations for pharmaceutical intermediates",
        version="0.1.0",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    app.add_middleware(AccessAuditMiddleware)
    # outermost: the access audit and the routes see the lot's URN, not its Digital Link
    app.add_middleware(LotLinkMiddleware)

    @app.get(
        "/health",
        response_model=Health,
        tags=["health"],
        responses={503: {"model": Health, "description": "the store does not answer"}},
    )
    async def health() -> Any:
        """Whether the service can answer: its store is asked a trivial read (no sign-in)."""
        store: GraphStore = app.state.store
        try:
            await run_in_threadpool(store.check)
        except StoreUnavailable as exc:
            down = Health(
                status="unavailable", store=StoreHealth(kind=exc.kind, ok=False, error=str(exc))
            )
            return JSONResponse(
                down.model_dump(),
                status_code=503,
                headers={"Retry-After": str(exc.retry_after_s)},
            )
        return Health(status="ok", store=StoreHealth(kind=store.kind, ok=True))

    for router in (
        auth_router,
        entities_router,
        documents_router,
        holds_router,
        batches_router,
        work_router,
        investigations_router,
        evidence_router,
        ingest_router,
        audit_router,
        accounts_router,
        suppliers_router,
    ):
        app.include_router(router)
    return app
