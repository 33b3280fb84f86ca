"""Investigations over HTTP: the same answers as the CLI's ``--json`` (DESIGN §4, §4b)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from api.deps import Reader, StoreDep, in_snapshot, in_store
from api.errors import ERROR_RESPONSES
from api.investigations import redaction
from api.investigations.schemas import (
    AnalyteResultsOut,
    CustodyOut,
    DocumentLotsOut,
    ImpactOut,
    ImpurityOut,
    ImpurityRequest,
    RecallOut,
    RecallRequest,
    TraceOut,
)
from graph.model import Label
from queries.analyte import DEFAULT_LIMIT, analyte_results
from queries.custody import custody
from queries.documents import LotDocuments, documents_for_lot, lots_for_document
from queries.epcis_export import MEDIA_TYPE, epcis_document, render
from queries.impact import impact
from queries.impurity import impurity
from queries.recall import recall
from queries.trace import Direction, trace

# Impact and impurity read a supplier's or an analyte's whole history (seconds on a large
# plant): they stay plain `def`s, in the thread pool, so the event loop is never held.
router = APIRouter(tags=["investigations"], responses=ERROR_RESPONSES)


@router.get("/lots/{lot_id}/trace", response_model=TraceOut)
async def trace_lot(
    lot_id: str,
    caller: Reader,
    store: StoreDep,
    direction: Direction = Direction.FORWARD,
) -> TraceOut:
    """What a lot went into (forward) or came from (backward)."""
    answer = await in_store(store, trace, store, lot_id, direction)
    return redaction.trace_out(caller, answer)


@router.get(
    "/lots/{lot_id}/epcis",
    response_class=Response,
    responses={
        200: {
            "content": {MEDIA_TYPE: {}},
            "description": "the trace as a GS1 EPCIS 2.0 JSON-LD EPCISDocument",
        }
    },
)
async def lot_epcis(
    lot_id: str,
    caller: Reader,
    store: StoreDep,
    direction: Direction = Direction.FORWARD,
) -> Response:
    """The lot's trace as an EPCIS 2.0 JSON-LD document (docs/EPCIS.md "Export"); lots and
    batches at sites outside the caller's are reduced to their ids, as in the trace."""

    def exported() -> bytes:
        answer = trace(store, lot_id, direction)
        hidden = redaction.epcis_hidden(caller, answer)
        return render(epcis_document(store, [answer], hidden=hidden))

    return Response(await in_snapshot(store, exported), media_type=MEDIA_TYPE)


@router.post("/investigations/recall", response_model=RecallOut)
async def recall_lots(
    body: RecallRequest, caller: Reader, store: StoreDep, request: Request
) -> RecallOut:
    """Recall scope of one or more lots: affected lots, customers, mass balance."""
    request.state.access_keys = body.lot_ids

    def scope() -> RecallOut:
        redaction.check_sites(caller, store, Label.LOT, body.lot_ids)
        return redaction.recall_out(caller, recall(store, body.lot_ids))

    if caller.all_sites:  # no site check to read: the recall alone reads one state
        return await in_store(store, scope)
    return await in_snapshot(store, scope)


@router.get("/suppliers/{supplier_id}/impact", response_model=ImpactOut)
def supplier_impact(
    supplier_id: str,
    caller: Reader,
    store: StoreDep,
    since: Annotated[
        str | None, Query(description="ISO date or time; lots made from then on")
    ] = None,
    material: Annotated[str | None, Query(description="only lots of this material")] = None,
    change: Annotated[str | None, Query(description="a supplier change notice id")] = None,
) -> ImpactOut:
    """What a supplier's lots reached, open batches first."""
    answer = impact(store, supplier_id, material_id=material, since=since, change_id=change)
    return redaction.impact_out(caller, answer)


@router.post("/investigations/impurity", response_model=ImpurityOut)
def impurity_commonality(
    body: ImpurityRequest, caller: Reader, store: StoreDep, request: Request
) -> ImpurityOut:
    """Flagged results of an analyte and the factors its flagged units share."""
    request.state.access_keys = [body.analyte]
    return store.read_snapshot(
        lambda: redaction.impurity_out(
            caller,
            store,
            impurity(store, body.analyte, body.flag, body.baseline_until, body.top),
        )
    )


@router.get("/analytes/{analyte}/results", response_model=AnalyteResultsOut)
def analyte_series(
    analyte: str,
    caller: Reader,
    store: StoreDep,
    limit: Annotated[int, Query(ge=1, le=50_000, description="the latest N results")] = (
        DEFAULT_LIMIT
    ),
    baseline_until: Annotated[
        str | None,
        Query(
            max_length=40,
            description="control limits from the results tested before this date "
            "(default: the first 20 results of each series)",
        ),
    ] = None,
) -> AnalyteResultsOut:
    """An analyte's control charts (one per product and method) and its latest results,
    oldest first, each with why it is flagged."""
    return redaction.analyte_results_out(
        caller, analyte_results(store, analyte, limit, baseline_until)
    )


@router.get("/batches/{batch_id}/custody", response_model=CustodyOut)
async def batch_custody(batch_id: str, caller: Reader, store: StoreDep) -> CustodyOut:
    """Chain of custody of a batch: events in time order, signatures, findings."""

    def chain() -> CustodyOut:
        return redaction.custody_out(caller, store, custody(store, batch_id))

    return await in_snapshot(store, chain)


@router.get("/lots/{lot_id}/documents", response_model=LotDocuments)
async def lot_documents(lot_id: str, caller: Reader, store: StoreDep) -> LotDocuments:
    """Documents that concern a lot, its producing batch, or their deviations."""

    def found() -> LotDocuments:
        answer = documents_for_lot(store, lot_id)
        redaction.check_sites(caller, store, Label.LOT, [lot_id])
        return answer

    return await in_snapshot(store, found)


@router.get("/documents/{document_id}/lots", response_model=DocumentLotsOut)
async def document_lots(document_id: str, caller: Reader, store: StoreDep) -> DocumentLotsOut:
    """The lots a document concerns, directly or through batches and deviations."""
    answer = await in_store(store, lots_for_document, store, document_id)
    return redaction.document_lots_out(caller, answer)
