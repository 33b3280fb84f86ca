"""Suppliers as the API takes and gives them: the record of queries/suppliers.py, with the
lots at sites outside the caller's scope redacted, and the signed change decision."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from api.documents.schemas import Password, Reason
from api.investigations.schemas import Redacted
from graph.model import SupplierChangeDecisionKind
from queries.suppliers import SupplierLot, SupplierRecord


class SupplierOut(SupplierRecord):
    """The supplier, its lots (those outside the caller's sites as id and label only, and
    counted in ``lots_hidden``), and its change notices with their decisions."""

    lots: list[SupplierLot | Redacted]  # type: ignore[assignment]
    lots_hidden: int = 0


class DecisionRequest(BaseModel):
    """The decision, why, and the signer's password entered again (an e-signed record)."""

    model_config = ConfigDict(extra="forbid")

    decision: SupplierChangeDecisionKind = Field(
        description="accepted, extra_testing or requalification_required"
    )
    reason: Reason
    password: Password = Field(description="the signer's own password, entered again")
