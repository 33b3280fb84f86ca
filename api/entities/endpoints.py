"""One node by its key (lots, batches), and search by id over every kind.

A document's whole record (versions, signatures, state) is api/documents.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from api.auth.schemas import Caller
from api.deps import Reader, StoreDep, in_snapshot, in_store
from api.entities.schemas import EntityOut, SearchOut
from api.errors import ERROR_RESPONSES
from api.investigations.redaction import check_site
from api.investigations.schemas import Redacted
from graph.model import Label
from graph.store import GraphStore
from queries.errors import NotFound
from queries.search import find_by_id

router = APIRouter(tags=["entities"], responses=ERROR_RESPONSES)


def _entity(store: GraphStore, caller: Caller, label: Label, key: str) -> EntityOut:
    node = store.fetch_nodes(label, [key]).get(key)
    if node is None:
        raise NotFound(str(label), key)
    check_site(caller, str(label), key, node.props.get("site"))
    return EntityOut(id=key, label=str(label), unresolved=node.unresolved, properties=node.props)


@router.get("/lots/{lot_id}", response_model=EntityOut)
async def get_lot(lot_id: str, caller: Reader, store: StoreDep) -> EntityOut:
    return await in_store(store, _entity, store, caller, Label.LOT, lot_id)


@router.get("/batches/{batch_id}", response_model=EntityOut)
async def get_batch(batch_id: str, caller: Reader, store: StoreDep) -> EntityOut:
    return await in_store(store, _entity, store, caller, Label.BATCH, batch_id)


def _search(store: GraphStore, caller: Caller, query: str) -> SearchOut:
    matches: list[EntityOut | Redacted] = [
        EntityOut(**dict(m))
        if caller.sees(m.properties.get("site"))
        else Redacted(id=m.id, label=m.label)
        for m in find_by_id(store, query)
    ]
    return SearchOut(query=query, matches=matches)


@router.get("/search", response_model=SearchOut)
async def search(
    q: Annotated[str, Query(min_length=1, max_length=200, description="an id of any kind")],
    caller: Reader,
    store: StoreDep,
    request: Request,
) -> SearchOut:
    """Lots, batches, documents, suppliers and deviations whose id is ``q``; none is 200."""
    request.state.access_keys = [q]
    return await in_snapshot(store, _search, store, caller, q)
