"""Documents, versions and e-signatures as the API takes and gives them.

The answers are the record of queries/document_record.py. Write bodies refuse fields they
do not know (422): a content hash, a time or a signer is never taken from the client.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from graph.model import DocumentKind, DocumentTargetKind, SignatureMeaning
from queries.document_record import DocumentRecord, SignatureOut

DOCUMENT_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$"


def _unicode(value: str) -> str:
    """JSON can carry lone surrogates (``"\\ud800"``), which no store or hash can take."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text (no lone surrogates)") from None
    return value


Unicode = AfterValidator(_unicode)
Reason = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000), Unicode
]
Password = Annotated[str, Field(min_length=1, max_length=1024), Unicode]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ConcernIn(_Body):
    """What the document is about, as document_links.csv names it."""

    target_kind: DocumentTargetKind
    target_id: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), Unicode
    ]


class DocumentCreate(_Body):
    id: Annotated[str, Field(pattern=DOCUMENT_ID_PATTERN)]
    kind: DocumentKind
    title: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500), Unicode
    ]
    content: dict[str, Any] = Field(description="version 1's content: any JSON object")
    concerns: list[ConcernIn] = Field(default_factory=list, max_length=200)
    reason: Reason = "document created"


class VersionCreate(_Body):
    content: dict[str, Any] = Field(description="the new version's content: any JSON object")
    reason: Reason


class SignatureCreate(_Body):
    meaning: SignatureMeaning
    password: Password = Field(description="the signer's own password, entered again")


class DocumentSigned(BaseModel):
    """The signature just recorded, and the document as it is now."""

    signature: SignatureOut
    document: DocumentRecord
