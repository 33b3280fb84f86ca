"""Documents over HTTP: create, add versions, sign, read the whole record, verify it.

Who may do what (docs/API.md): investigators and qa write documents and their versions
(within their sites, for what a document concerns); only qa signs, with its password
entered again; every reader reads and verifies.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request

from api.deps import AuthenticatorDep, DocumentWriter, Reader, Signer, StoreDep, in_store
from api.documents.schemas import DocumentCreate, DocumentSigned, SignatureCreate, VersionCreate
from api.documents.service import DocumentService
from api.errors import ERROR_RESPONSES, Conflict
from api.idempotency import IdempotencyKey, run_once
from graph.store import GraphStore
from queries.document_diff import ContentNotStored, DocumentDiff, version_diff
from queries.document_record import DocumentRecord, DocumentVerification, verify

router = APIRouter(prefix="/documents", tags=["documents"], responses=ERROR_RESPONSES)

VersionNumber = Annotated[int, Path(ge=1, le=1_000_000, description="the version's number")]


@router.post("", response_model=DocumentRecord, status_code=201)
def create_document(
    body: DocumentCreate,
    caller: DocumentWriter,
    store: StoreDep,
    request: Request,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """A new document and its version 1; the service computes the version's content_sha256."""
    request.state.access_keys = [body.id]
    service = DocumentService(store)
    return run_once(
        store,
        idempotency_key,
        caller.name,
        {"action": "create_document", **body.model_dump(mode="json")},
        lambda once: service.create(caller, body, once),
        lambda answer: service.record(answer["document_id"]),
    )


@router.post("/{document_id}/versions", response_model=DocumentRecord, status_code=201)
def add_version(
    document_id: str,
    body: VersionCreate,
    caller: DocumentWriter,
    store: StoreDep,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """The document's next version (append-only); it puts the document back to draft.

    Concurrent requests each get their own number; with an Idempotency-Key, a retry adds
    nothing and answers the document again."""
    service = DocumentService(store)
    return run_once(
        store,
        idempotency_key,
        caller.name,
        {"action": "add_version", "document_id": document_id, **body.model_dump(mode="json")},
        lambda once: service.add_version(caller, document_id, body.content, body.reason, once),
        lambda answer: service.record(answer["document_id"]),
    )


@router.post(
    "/{document_id}/versions/{version}/signatures",
    response_model=DocumentSigned,
    status_code=201,
)
def sign_version(
    document_id: str,
    version: VersionNumber,
    body: SignatureCreate,
    caller: Signer,
    store: StoreDep,
    auth: AuthenticatorDep,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """An e-signature on the latest version, bound to its content_sha256; time from the server.

    At most one per Idempotency-Key: a retry answers the signature the first request made."""
    service = DocumentService(store)
    request = {"action": "sign", "document_id": document_id, "version": version}
    return run_once(
        store,
        idempotency_key,
        caller.name,
        {**request, **body.model_dump(mode="json")},
        lambda once: service.sign(
            auth, caller, document_id, version, body.meaning, body.password, once
        ),
        lambda answer: service.signed(answer["document_id"], answer["signature_id"]),
    )


@router.get("/{document_id}", response_model=DocumentRecord)
async def get_document(document_id: str, caller: Reader, store: StoreDep) -> DocumentRecord:
    """The document, its state, every version and every signature with its status."""
    return await in_store(store, DocumentService(store).record, document_id)


@router.get("/{document_id}/verify", response_model=DocumentVerification)
async def verify_document(
    document_id: str, caller: Reader, store: StoreDep
) -> DocumentVerification:
    """Each version's hash recomputed from its stored content; each signature's binding."""
    return await in_store(store, verify, store, document_id)


def _diff(store: GraphStore, document_id: str, from_version: int, to_version: int) -> DocumentDiff:
    try:
        return version_diff(store, document_id, from_version, to_version)
    except ContentNotStored as exc:
        raise Conflict(str(exc)) from None


@router.get("/{document_id}/diff", response_model=DocumentDiff)
async def diff_versions(
    document_id: str,
    caller: Reader,
    store: StoreDep,
    from_version: Annotated[
        int, Query(alias="from", ge=1, le=1_000_000, description="the older version's number")
    ],
    to_version: Annotated[
        int, Query(alias="to", ge=1, le=1_000_000, description="the newer version's number")
    ],
) -> DocumentDiff:
    """What changed from one version's content to another's, field by field (409 when a
    version has no stored content: versions from ingest keep only their hash)."""
    return await in_store(store, _diff, store, document_id, from_version, to_version)
