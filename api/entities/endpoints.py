"""One node by its key: lots, batches, documents."""

from __future__ import annotations

from fastapi import APIRouter

from api.auth.schemas import Caller
from api.deps import Reader, StoreDep, in_store
from api.entities.schemas import EntityOut
from api.errors import ERROR_RESPONSES
from api.investigations.redaction import check_site
from graph.model import Label
from graph.store import GraphStore
from queries.errors import NotFound

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


@router.get("/documents/{document_id}", response_model=EntityOut)
async def get_document(document_id: str, caller: Reader, store: StoreDep) -> EntityOut:
    return await in_store(store, _entity, store, caller, Label.DOCUMENT, document_id)
