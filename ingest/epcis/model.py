"""An EPCIS document as lotgraph reads it, whatever syntax it came in.

Each event is kept in the EPCIS 2.0 JSON form (the keys and shapes of the official JSON
schema: ``type``, ``eventTime``, ``epcList``, ``quantityList`` items with ``epcClass``,
``quantity`` and ``uom``, ``bizStep``, ``sourceList`` items with ``type`` and ``source``, ...):
an XML document, of EPCIS 2.0 or 1.2, is converted to that form when it is read, so that
mapping and hashing see one shape. CBV values are kept as given (``shipping`` or
``urn:epcglobal:cbv:bizstep:shipping``); :func:`cbv_term` gives the bare term.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from graph.identifiers import (  # noqa: F401 - the reader's and the mapping's vocabulary
    VTYPE_BUSINESS_LOCATION,
    VTYPE_EPC_CLASS,
    VTYPE_LOCATION,
    VTYPE_PARTY,
    VTYPE_READ_POINT,
)

DocumentType = Literal["EPCISDocument", "EPCISQueryDocument"]
EVENT_TYPES = (
    "ObjectEvent",
    "AggregationEvent",
    "TransactionEvent",
    "TransformationEvent",
    "AssociationEvent",
)


@dataclass(frozen=True)
class EpcisEvent:
    """One event of a document: its 0-based position in the document's event list and its
    body in the EPCIS 2.0 JSON form."""

    index: int
    body: dict[str, Any]

    @property
    def type(self) -> str:
        return str(self.body.get("type", ""))

    @property
    def event_id(self) -> str | None:
        value = self.body.get("eventID")
        return str(value) if value else None

    def describe(self) -> str:
        """How an error message names the event: its id, else its position."""
        return self.event_id or f"event {self.index + 1}"


@dataclass(frozen=True)
class VocabularyElement:
    """A master-data element: its id, its attributes by full attribute URI (e.g.
    ``urn:epcglobal:cbv:mda#name``), and the ids of its children."""

    id: str
    attributes: dict[str, Any]
    children: tuple[str, ...] = ()


@dataclass(frozen=True)
class EventProblem:
    """Why one event of a document cannot be taken: the event (position and id), the field
    and the reason. The other events of the document are still read."""

    index: int
    event_id: str | None
    field: str
    reason: str

    def __str__(self) -> str:
        name = self.event_id or f"event {self.index + 1}"
        return f"{name}: {self.field}: {self.reason}"


@dataclass
class EpcisDocument:
    """What :func:`ingest.epcis.document.read_document` reads."""

    document_type: DocumentType
    schema_version: str  # "2.0" or "1.2" (or what the document declares)
    creation_date: str | None
    events: list[EpcisEvent]
    # master data, by vocabulary type as the standard spells it (the VTYPE_ constants);
    # a type given in another case ("urn:epcglobal:epcis:vtype:epcclass") is normalised
    vocabularies: dict[str, list[VocabularyElement]] = field(default_factory=dict)
    # events that could not be read (each is left out of ``events``)
    problems: list[EventProblem] = field(default_factory=list)


class EpcisError(ValueError):
    """A document that cannot be read at all (not JSON or XML, not an EPCIS document, an
    unsupported schema version): nothing of it is written. ``field`` names where."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


_CBV_PREFIXES = (
    "urn:epcglobal:cbv:bizstep:",
    "urn:epcglobal:cbv:disp:",
    "urn:epcglobal:cbv:btt:",
    "urn:epcglobal:cbv:sdt:",
    "urn:epcglobal:cbv:er:",
    "https://ref.gs1.org/cbv/BizStep-",
    "https://ref.gs1.org/cbv/Disp-",
    "https://ref.gs1.org/cbv/BTT-",
    "https://ref.gs1.org/cbv/SDT-",
    "https://ref.gs1.org/cbv/ER-",
    "https://gs1.org/voc/BizStep-",
    "https://gs1.org/voc/Disp-",
)


def cbv_term(value: object) -> str | None:
    """The bare CBV term of a CBV value given as a term or as one of its URIs
    (``urn:epcglobal:cbv:bizstep:shipping`` -> ``shipping``); other URIs as they are."""
    if value is None:
        return None
    text = str(value)
    for prefix in _CBV_PREFIXES:
        if text.startswith(prefix):
            return text[len(prefix) :]
    return text
