"""The investigation answers as the API sends them: the CLI's ``--json`` answers, where an
entry at a site the caller may not see is replaced by a :class:`Redacted` one."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field

from graph.identifiers import to_class_urn
from queries.analyte import AnalyteResults, ResultPoint
from queries.custody import CustodyEvent, CustodyResult
from queries.documents import DocumentLot, DocumentLots
from queries.impact import ImpactResult, OpenBatch
from queries.impurity import DEFAULT_TOP, FlaggedResult, ImpurityResult
from queries.recall import RecallBatch, RecallCustomer, RecallLot, RecallResult
from queries.trace import TraceNode, TraceResult


class Redacted(BaseModel):
    """A node at a site outside the caller's scope: its id and label, nothing else."""

    id: str
    label: str
    redacted: Literal[True] = True


class RedactedEvent(BaseModel):
    """A custody event about a lot outside the caller's scope."""

    kind: str
    id: str
    redacted: Literal[True] = True


class PartialCustomer(BaseModel):
    """A customer that received lots the caller may not see: no quantity is given."""

    id: str
    name: str | None
    lots: list[str]
    shipments: list[str]
    quantity: None = None
    redacted_lots: list[str]


class TraceOut(TraceResult):
    nodes: list[TraceNode | Redacted]  # type: ignore[assignment]


class RecallRequest(BaseModel):
    lot_ids: list[Annotated[str, AfterValidator(to_class_urn)]] = Field(
        min_length=1,
        max_length=1000,
        description=(
            "The lots to recall: each by its id, or by its GS1 Digital Link "
            "(`https://id.gs1.org/01/<GTIN>/10/<LOT>`, any host), read as the lot's "
            "`urn:epc:class:lgtin:` id."
        ),
    )


class RecallOut(RecallResult):
    lots: list[RecallLot | Redacted]  # type: ignore[assignment]
    batches: list[RecallBatch | Redacted]  # type: ignore[assignment]
    customers: list[RecallCustomer | PartialCustomer]  # type: ignore[assignment]


class ImpactOut(ImpactResult):
    open_batches: list[OpenBatch | Redacted]  # type: ignore[assignment]


class ImpurityRequest(BaseModel):
    analyte: str = Field(min_length=1, max_length=200)
    flag: Literal["oos", "oot", "any"] = Field(
        "any", description="which results flag a unit: out of specification, out of trend, any"
    )
    baseline_until: str | None = Field(
        None,
        max_length=40,
        description="control limits from the results tested before this date "
        "(default: the first 20 results of each series)",
    )
    top: int = Field(DEFAULT_TOP, ge=1, le=1000, description="how many factors to list")


class ImpurityOut(ImpurityResult):
    flagged: list[FlaggedResult | Redacted]  # type: ignore[assignment]


class CustodyOut(CustodyResult):
    events: list[CustodyEvent | RedactedEvent]  # type: ignore[assignment]


class DocumentLotsOut(DocumentLots):
    lots: list[DocumentLot | Redacted]  # type: ignore[assignment]


class AnalyteResultsOut(AnalyteResults):
    results: list[ResultPoint | Redacted]  # type: ignore[assignment]
