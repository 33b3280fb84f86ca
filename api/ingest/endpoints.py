"""Ingest over HTTP: a bundle .zip, or JSON records under an Idempotency-Key.

Both go through the CLI's loader, so accounting, dead letter and audit are the CLI's. An
ingest that rejects rows still answers 200: the request was carried out and the report
accounts for every row (the CLI's exit 1 is the report's ``rejected`` > 0).
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from api.deps import IngestReader, Integrator, SettingsDep, StoreDep
from api.errors import (
    ERROR_RESPONSES,
    ApiError,
    BadRequest,
    ErrorBody,
    PayloadTooLarge,
    ServiceUnavailable,
    UnsupportedMediaType,
)
from api.idempotency import IdempotencyKey, reserve
from api.ingest.child import IngestProcess
from api.ingest.schemas import IngestReportOut, RejectionPage, StoredRejection
from api.settings import ApiSettings
from graph.records import IdempotencyRecord
from graph.store import GraphStore
from ingest.bundle import Bundle, BundleError, BundleTooLarge
from ingest.epcis.document import read_document
from ingest.epcis.importer import ingest_epcis
from ingest.epcis.model import EpcisError
from ingest.events import EventsPayload, TooManyRecords, ingest_events
from ingest.loader import RowsKeptChanging
from ingest.mapping import FILES_BY_NAME

router = APIRouter(prefix="/ingest", tags=["ingest"], responses=ERROR_RESPONSES)

_ZIP = "application/zip"
_BUSY_RETRY_AFTER_S = 2
_BUNDLE_BODY = {
    "required": True,
    "content": {_ZIP: {"schema": {"type": "string", "format": "binary"}}},
}
_UNSUPPORTED: dict[int | str, dict[str, Any]] = {
    415: {"model": ErrorBody, "description": "not application/zip"}
}


@router.post(
    "/bundles",
    response_model=IngestReportOut,
    openapi_extra={"requestBody": _BUNDLE_BODY},
    responses=_UNSUPPORTED,
)
async def ingest_bundle_zip(
    request: Request,
    caller: Integrator,
    store: StoreDep,
    settings: SettingsDep,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """Load a canonical bundle sent as the body (``Content-Type: application/zip``), at most
    once per Idempotency-Key (the key and the bundle's SHA-256 name the request)."""
    if _media_type(request) != _ZIP:
        raise UnsupportedMediaType(f"Content-Type: send the bundle as {_ZIP}")
    with tempfile.TemporaryDirectory(prefix="lotgraph-upload-") as folder:
        path = Path(folder) / "bundle.zip"
        with path.open("wb") as fh:
            digest = await _receive(request, settings, "bundle", "a bundle .zip", fh.write)

        ingest_process: IngestProcess = request.app.state.ingest_process

        def work() -> IngestReportOut:
            try:
                limits = settings.bundle_limits()
                # what the zip declares is checked here, in milliseconds, so a zip bomb is
                # refused before a child process is even asked for
                Bundle(path, FILES_BY_NAME, limits).close()
                out = ingest_process.ingest(store, path, caller.name, limits)
            except BundleError as exc:
                raise refused_bundle(exc) from None
            out["bundle"] = "upload.zip"  # not the server's temporary path
            return IngestReportOut(**out)

        request_id = {"bundle_sha256": digest}
        return await run_in_threadpool(
            _ingest_once, store, idempotency_key, caller.name, request_id, work
        )


@router.post("/events", response_model=IngestReportOut, responses={409: {"model": ErrorBody}})
def ingest_event_records(
    body: EventsPayload,
    caller: Integrator,
    store: StoreDep,
    settings: SettingsDep,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """Load JSON records of the canonical kinds (DESIGN §3), at most once per Idempotency-Key.

    The key is reserved before the first write; a retry meanwhile is 409, after it the
    first report again."""

    def work() -> IngestReportOut:
        try:
            report = ingest_events(store, body, actor=caller.name, max_rows=settings.max_event_rows)
        except TooManyRecords as exc:
            raise PayloadTooLarge(f"records: {exc}") from None
        return IngestReportOut(**report.as_dict())

    request_id = body.model_dump(mode="json")
    try:
        return _ingest_once(store, idempotency_key, caller.name, request_id, work)
    except RowsKeptChanging as exc:
        raise _busy(exc, "records") from None


_EPCIS_TYPES = ("application/ld+json", "application/json", "application/xml")
_EPCIS_BODY = {
    "required": True,
    # application/json is taken too; the schema names the two media types GS1 registers
    "content": {
        t: {"schema": {"type": "string", "format": "binary"}}
        for t in ("application/ld+json", "application/xml")
    },
}


@router.post(
    "/epcis",
    response_model=IngestReportOut,
    openapi_extra={"requestBody": _EPCIS_BODY},
    responses={
        409: {"model": ErrorBody},
        415: {"model": ErrorBody, "description": "not an EPCIS media type"},
    },
)
async def ingest_epcis_document(
    request: Request,
    caller: Integrator,
    store: StoreDep,
    settings: SettingsDep,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """Load a GS1 EPCIS document (``application/ld+json`` or ``application/json`` for EPCIS
    2.0 JSON, ``application/xml`` for XML), at most once per Idempotency-Key (the key and
    the document's SHA-256 name the request). The report accounts for every event in
    ``events``; an event that cannot be taken is a rejection naming it and its field."""
    content_type = _media_type(request)
    if content_type not in _EPCIS_TYPES:
        raise UnsupportedMediaType(f"Content-Type: send the document as {', '.join(_EPCIS_TYPES)}")
    body = bytearray()
    digest = await _receive(request, settings, "document", "an EPCIS document", body.extend)
    data = bytes(body)

    def work() -> IngestReportOut:
        try:
            document = read_document(data, name="body", media_type=content_type)
            report = ingest_epcis(
                store,
                document,
                actor=caller.name,
                label="epcis:upload",
                max_rows=settings.max_event_rows,
            )
        except EpcisError as exc:
            raise BadRequest(f"document: refused, nothing written: {exc}") from None
        except TooManyRecords as exc:
            raise PayloadTooLarge(f"document: {exc}") from None
        return IngestReportOut(**report.as_dict())

    request_id = {"epcis_sha256": digest}
    try:
        return await run_in_threadpool(
            _ingest_once, store, idempotency_key, caller.name, request_id, work
        )
    except RowsKeptChanging as exc:
        raise _busy(exc, "document") from None


def _busy(exc: RowsKeptChanging, what: str) -> ServiceUnavailable:
    """Concurrent writers kept changing the rows this ingest was writing: 503, to be sent
    again (an Idempotency-Key stays reserved, as when the store is unavailable)."""
    return ServiceUnavailable(
        f"{what}: other writers kept changing the same rows ({exc}); what was written is "
        f"audited; send the {what} again to complete it",
        retry_after_s=_BUSY_RETRY_AFTER_S,
    )


def _media_type(request: Request) -> str:
    """The body's media type as sent, without parameters, in lower case."""
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


async def _receive(
    request: Request, settings: ApiSettings, what: str, send: str, write: Callable[[bytes], Any]
) -> str:
    """Stream the body to ``write``, at most ``max_bundle_mb`` MB (413 naming ``what``, as
    soon as the declared or the received length passes it; 400 when empty, asking to
    ``send`` one), and give its SHA-256: what names the request under an Idempotency-Key."""
    limit = settings.max_bundle_mb * 1024 * 1024
    too_large = f"the {what} is larger than {settings.max_bundle_mb} MB"
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(too_large)
    size = 0
    digest = hashlib.sha256()
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(too_large)
        digest.update(chunk)
        write(chunk)
    if size == 0:
        raise BadRequest(f"body: empty; send {send}")
    return digest.hexdigest()


def refused_bundle(exc: BundleError) -> ApiError:
    """A bundle refused whole: 413 naming the limit it passed, else 400 with every fault."""
    problems = [p.as_dict() for p in exc.problems]
    error = PayloadTooLarge if isinstance(exc, BundleTooLarge) else BadRequest
    return error(f"bundle: refused, nothing written: {exc}", problems)


def _ingest_once(
    store: GraphStore,
    key: str | None,
    actor: str,
    request: dict[str, Any],
    work: Callable[[], IngestReportOut],
) -> Any:
    """An ingest under an Idempotency-Key: reserved first, the report recorded as its answer
    (an ingest writes many transactions, so the answer is recorded after the last)."""
    held = reserve(store, key, actor, request)
    if isinstance(held, IdempotencyRecord):
        return JSONResponse(held.body, status_code=held.status_code)
    try:
        answer = work()
    except ApiError as exc:
        if held is not None:
            store.complete_idempotency(held.answer(exc.status, exc.body()))
        raise
    if held is not None:
        store.complete_idempotency(held.answer(200, answer.model_dump(mode="json")))
    return answer


@router.get("/rejections", response_model=RejectionPage)
def read_rejections(
    caller: IngestReader,
    store: StoreDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[str | None, Query(pattern=r"^[^:]{1,100}:[0-9]{1,9}$")] = None,
) -> RejectionPage:
    """Dead-letter rows of every ingest, oldest ingest first, a page at a time."""
    after = None
    if cursor:
        ingest_id, _, seq = cursor.rpartition(":")
        after = (ingest_id, int(seq))
    rows = store.rejections_page(after, limit + 1)
    page = [StoredRejection(**r) for r in rows[:limit]]
    last = page[-1] if page and len(rows) > limit else None
    return RejectionPage(
        rejections=page, next_cursor=f"{last.ingest_id}:{last.seq}" if last else None
    )
