"""The FastAPI application: built by :func:`create_app`, its store opened at start-up."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI
from pydantic import BaseModel

from api.accounts.endpoints import router as accounts_router
from api.audit.access_log import AccessLog
from api.audit.endpoints import router as audit_router
from api.audit.middleware import AccessAuditMiddleware
from api.auth.endpoints import router as auth_router
from api.auth.service import Authenticator
from api.documents.endpoints import router as documents_router
from api.entities.endpoints import router as entities_router
from api.errors import install_error_handlers
from api.evidence.endpoints import router as evidence_router
from api.holds.endpoints import router as holds_router
from api.ingest.endpoints import router as ingest_router
from api.investigations.endpoints import router as investigations_router
from api.settings import ApiSettings
from graph.store import GraphStore

StoreFactory = Callable[[], GraphStore]


class Health(BaseModel):
    status: str
    store: str


def create_app(open_store: StoreFactory, settings: ApiSettings | None = None) -> FastAPI:
    """The app; ``open_store`` is called once at start-up and its store closed at shutdown."""
    settings = settings or ApiSettings()
    settings.refuse_insecure()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        store = open_store()
        access_log = AccessLog(store, settings.access_flush_seconds)
        app.state.store = store
        app.state.settings = settings
        app.state.authenticator = Authenticator(store, settings)
        app.state.access_log = access_log
        try:
            yield
        finally:
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

    @app.get("/health", response_model=Health, tags=["health"])
    async def health() -> Health:
        return Health(status="ok", store=app.state.store.kind)

    for router in (
        auth_router,
        entities_router,
        documents_router,
        holds_router,
        investigations_router,
        evidence_router,
        ingest_router,
        audit_router,
        accounts_router,
    ):
        app.include_router(router)
    return app
