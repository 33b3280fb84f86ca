"""Ingest over HTTP: a bundle .zip, or JSON records under an Idempotency-Key.

Both go through the CLI's loader, so accounting, dead letter and audit are the CLI's. An
ingest that rejects rows still answers 200: the request was carried out and the report
accounts for every row (the CLI's exit 1 is the report's ``rejected`` > 0).
"""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Header, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from api.deps import IngestReader, Integrator, SettingsDep, StoreDep
from api.errors import (
    ERROR_RESPONSES,
    BadRequest,
    Conflict,
    ErrorBody,
    PayloadTooLarge,
    UnsupportedMediaType,
)
from api.ingest.schemas import IngestReportOut, RejectionPage, StoredRejection
from graph.records import IdempotencyRecord
from graph.store import utc_now
from ingest.bundle import BundleError
from ingest.events import EventsPayload, TooManyRecords, ingest_events
from ingest.loader import ingest_bundle

router = APIRouter(prefix="/ingest", tags=["ingest"], responses=ERROR_RESPONSES)

_ZIP = "application/zip"
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
    request: Request, caller: Integrator, store: StoreDep, settings: SettingsDep
) -> IngestReportOut:
    """Load a canonical bundle sent as the body (``Content-Type: application/zip``)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != _ZIP:
        raise UnsupportedMediaType(f"Content-Type: send the bundle as {_ZIP}")
    limit = settings.max_bundle_mb * 1024 * 1024
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"the bundle is larger than {settings.max_bundle_mb} MB")
    with tempfile.TemporaryDirectory(prefix="lotgraph-upload-") as folder:
        path = Path(folder) / "bundle.zip"
        size = 0
        with path.open("wb") as fh:
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise PayloadTooLarge(f"the bundle is larger than {settings.max_bundle_mb} MB")
                fh.write(chunk)
        if size == 0:
            raise BadRequest("body: empty; send a bundle .zip")
        try:
            report = await run_in_threadpool(ingest_bundle, store, path, actor=caller.name)
        except BundleError as exc:
            raise BadRequest(f"bundle: {exc}") from None
    out = report.as_dict()
    out["bundle"] = "upload.zip"  # not the server's temporary path
    return IngestReportOut(**out)


@router.post("/events", response_model=IngestReportOut, responses={409: {"model": ErrorBody}})
def ingest_event_records(
    body: EventsPayload,
    caller: Integrator,
    store: StoreDep,
    settings: SettingsDep,
    idempotency_key: Annotated[
        str | None,
        Header(
            min_length=1,
            max_length=200,
            description="Repeat a request safely: the same key and body answer the first result again.",
        ),
    ] = None,
) -> Any:
    """Load JSON records of the canonical kinds (DESIGN §3), at most once per Idempotency-Key."""
    digest = hashlib.sha256(
        orjson.dumps(body.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS)
    ).hexdigest()
    if idempotency_key is not None:
        earlier = store.fetch_idempotency(idempotency_key)
        if earlier is not None:
            return _replay(earlier, caller.name, digest)
    try:
        report = ingest_events(store, body, actor=caller.name, max_rows=settings.max_event_rows)
    except TooManyRecords as exc:
        raise PayloadTooLarge(f"records: {exc}") from None
    answer = IngestReportOut(**report.as_dict())
    if idempotency_key is not None:
        record = IdempotencyRecord(
            key=idempotency_key,
            actor=caller.name,
            request_sha256=digest,
            status_code=200,
            body=answer.model_dump(mode="json"),
            at=utc_now(),
        )
        stored = store.save_idempotency(record)
        if stored.request_sha256 != digest or stored.actor != caller.name:
            raise Conflict("Idempotency-Key: used at the same time for another request")
        return JSONResponse(stored.body, status_code=stored.status_code)
    return answer


def _replay(earlier: IdempotencyRecord, actor: str, digest: str) -> JSONResponse:
    if earlier.actor != actor or earlier.request_sha256 != digest:
        raise Conflict("Idempotency-Key: already used for a different request")
    return JSONResponse(earlier.body, status_code=earlier.status_code)


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
