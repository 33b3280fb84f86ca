"""Documents over HTTP: create, add versions, sign, read the whole record, verify it.

Who may do what (docs/API.md): investigators and qa write documents and their versions
(within their sites, for what a document concerns); only qa signs, with its password
entered again; every reader reads and verifies.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request

from api.auth.schemas import Caller, Role
from api.deps import AuthenticatorDep, Reader, StoreDep, in_store, require
from api.documents.schemas import DocumentCreate, DocumentSigned, SignatureCreate, VersionCreate
from api.documents.service import DocumentService
from api.errors import ERROR_RESPONSES
from queries.document_record import DocumentRecord, DocumentVerification, verify

router = APIRouter(prefix="/documents", tags=["documents"], responses=ERROR_RESPONSES)

Author = Annotated[
    Caller, Depends(require(frozenset({Role.INVESTIGATOR, Role.QA}), "write documents"))
]
Signer = Annotated[Caller, Depends(require(frozenset({Role.QA}), "sign documents"))]
VersionNumber = Annotated[int, Path(ge=1, le=1_000_000, description="the version's number")]


@router.post("", response_model=DocumentRecord, status_code=201)
def create_document(
    body: DocumentCreate, caller: Author, store: StoreDep, request: Request
) -> DocumentRecord:
    """A new document and its version 1; the service computes the version's content_sha256."""
    request.state.access_keys = [body.id]
    return DocumentService(store).create(caller, body)


@router.post("/{document_id}/versions", response_model=DocumentRecord, status_code=201)
def add_version(
    document_id: str, body: VersionCreate, caller: Author, store: StoreDep
) -> DocumentRecord:
    """The document's next version (append-only); it puts the document back to draft."""
    return DocumentService(store).add_version(caller, document_id, body.content, body.reason)


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
) -> DocumentSigned:
    """An e-signature on the latest version, bound to its content_sha256; time from the server."""
    return DocumentService(store).sign(
        auth, caller, document_id, version, body.meaning, body.password
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
