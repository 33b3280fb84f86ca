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


class UnplacedObjectOut(BaseModel):
    field: str  # e.g. inputEPCList[0]
    id: str  # the EPC or class that names no lot lotgraph can place it in


class PartlyMappedEventOut(BaseModel):
    event: str  # its eventID, else "event <position>"
    position: int  # 1-based, in the document's event list
    unplaced: list[UnplacedObjectOut]


class EventCountsOut(BaseModel):
    """An EPCIS ingest's events: ``read = accepted + unchanged + rejected``."""

    read: int
    accepted: int
    unchanged: int
    rejected: int
    not_mapped: list[NotMappedEventOut]  # unchanged events with no meaning in the graph
    # mapped events some of whose objects name no lot (docs/EPCIS.md "Objects without a lot")
    partly_mapped: list[PartlyMappedEventOut] = []


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
