from __future__ import annotations

from pydantic import BaseModel


class FileCountsOut(BaseModel):
    rows_read: int
    accepted: int
    unchanged: int
    rejected: int
    updated: int


class RejectionOut(BaseModel):
    file: str
    row: int
    column: str
    reason: str


class NotMappedEventOut(BaseModel):
    event: str  # its eventID, else "event <position>"
    position: int  # 1-based, in the document's event list
    reason: str


class EventCountsOut(BaseModel):
    """An EPCIS ingest's events: ``read = accepted + unchanged + rejected``."""

    read: int
    accepted: int
    unchanged: int
    rejected: int
    not_mapped: list[NotMappedEventOut]  # unchanged events with no meaning in the graph


class IngestReportOut(BaseModel):
    """The CLI's `ingest --json` answer: every row accounted for."""

    ingest_id: str
    source: str
    bundle: str
    started_at: str
    rows_read: int
    accepted: int
    unchanged: int
    rejected: int
    updated: int
    unresolved: int
    files: dict[str, FileCountsOut]
    rejections: list[RejectionOut]
    events: EventCountsOut | None = None  # EPCIS ingests only


class StoredRejection(RejectionOut):
    ingest_id: str
    seq: int


class RejectionPage(BaseModel):
    rejections: list[StoredRejection]
    next_cursor: str | None  # pass as ?cursor= for the next page; null on the last
