"""Row models of the canonical bundle v1 (DESIGN §3): one pydantic model per CSV file.

Values arrive as strings (empty = absent). Timestamps are normalised to UTC ISO 8601 with
milliseconds; a timestamp without an offset takes the bundle's timezone, passed in the
validation context as ``timezone``.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from functools import lru_cache
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
)

from graph import model
from graph.store import format_utc

TIMESTAMP_FORMAT_NOTE = "ISO 8601, e.g. 2026-03-01T08:30:00+01:00"


def _blank_to_none(value: Any) -> Any:
    if isinstance(value, str) and not value.strip():
        return None
    return value


def _timestamp(value: Any, info: ValidationInfo) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected a timestamp ({TIMESTAMP_FORMAT_NOTE})")
    zone: tzinfo | None = (info.context or {}).get("timezone")
    return _normalise(value.strip(), zone)


@lru_cache(maxsize=65_536)
def _normalise(text: str, zone: tzinfo | None) -> str:
    """One timestamp text in UTC; cached, since exports repeat the same moments often."""
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"unparseable timestamp {text!r}; expected {TIMESTAMP_FORMAT_NOTE}"
        ) from None
    if parsed.tzinfo is None:
        if zone is None:
            raise ValueError(
                f"timestamp {text!r} has no UTC offset and bundle.json names no timezone"
            )
        parsed = parsed.replace(tzinfo=zone)
    return format_utc(parsed)


Key = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
OptKey = Annotated[Key | None, BeforeValidator(_blank_to_none)]
OptText = Annotated[Text | None, BeforeValidator(_blank_to_none)]
Quantity = Annotated[float, Field(ge=0, allow_inf_nan=False)]
OptQuantity = Annotated[Quantity | None, BeforeValidator(_blank_to_none)]
Number = Annotated[float, Field(allow_inf_nan=False)]
OptNumber = Annotated[Number | None, BeforeValidator(_blank_to_none)]
Timestamp = Annotated[str, AfterValidator(_timestamp)]
OptTimestamp = Annotated[Timestamp | None, BeforeValidator(_blank_to_none)]
Unit = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20)]


SupplierStatus = model.SupplierStatus
MaterialKind = model.MaterialKind
LotStatus = model.LotStatus
BatchStatus = model.BatchStatus
DocumentKind = model.DocumentKind
Meaning = model.SignatureMeaning
Severity = model.DeviationSeverity
DeviationStatus = model.DeviationStatus
DocumentTarget = model.DocumentTargetKind
DeviationTarget = model.DeviationTargetKind
TestTarget = model.TestTargetKind


class Row(BaseModel):
    """A bundle row; columns beyond the model's are kept as properties."""

    model_config = ConfigDict(extra="allow", frozen=False)


class SupplierRow(Row):
    supplier_id: Key
    name: Text
    country: OptText = None
    status: SupplierStatus


class MaterialRow(Row):
    material_id: Key
    name: Text
    kind: MaterialKind
    unit: Unit


class LotRow(Row):
    lot_id: Key
    material_id: Key
    supplier_id: OptKey = None
    supplier_lot: OptText = None
    site: Key
    quantity: Quantity
    unit: Unit
    status: LotStatus
    created_at: Timestamp
    expiry: OptTimestamp = None
    on_hand: OptQuantity = None


class BatchRow(Row):
    batch_id: Key
    product_material_id: Key
    site: Key
    equipment_id: OptKey = None
    started_at: Timestamp
    completed_at: OptTimestamp = None
    status: BatchStatus


class ConsumptionRow(Row):
    batch_id: Key
    lot_id: Key
    quantity: Quantity
    unit: Unit
    consumed_at: Timestamp


class OutputRow(Row):
    batch_id: Key
    lot_id: Key
    quantity: Quantity
    unit: Unit


class EquipmentRow(Row):
    equipment_id: Key
    name: Text
    kind: Text
    site: Key


class CustomerRow(Row):
    customer_id: Key
    name: Text
    country: OptText = None


class ShipmentRow(Row):
    shipment_id: Key
    lot_id: Key
    customer_id: Key
    quantity: Quantity
    unit: Unit
    shipped_at: Timestamp


class MovementRow(Row):
    lot_id: Key
    from_site: Key
    to_site: Key
    quantity: Quantity
    moved_at: Timestamp
    moved_by: OptKey = None


class PersonRow(Row):
    person_id: Key
    name: Text
    role: Text
    site: Key


class DocumentRow(Row):
    document_id: Key
    version: Annotated[int, Field(ge=1)]
    kind: DocumentKind
    title: Text
    content_sha256: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$", to_lower=True)]
    created_at: Timestamp
    created_by: Key
    status: Text


class DocumentLinkRow(Row):
    document_id: Key
    target_kind: DocumentTarget
    target_id: Key


class SignatureRow(Row):
    signature_id: Key
    document_id: Key
    document_version: Annotated[int, Field(ge=1)]
    signer_id: Key
    meaning: Meaning
    signed_at: Timestamp
    record_sha256: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$", to_lower=True)]


class DeviationRow(Row):
    deviation_id: Key
    severity: Severity
    category: Text
    status: DeviationStatus
    opened_at: Timestamp
    closed_at: OptTimestamp = None
    description: Text


class DeviationLinkRow(Row):
    deviation_id: Key
    target_kind: DeviationTarget
    target_id: Key


class TestResultRow(Row):
    result_id: Key
    target_kind: TestTarget
    target_id: Key
    analyte: Text
    value: Number
    unit: Unit
    lower_limit: OptNumber = None
    upper_limit: OptNumber = None
    method: Text
    tested_at: Timestamp
    document_id: OptKey = None


class SupplierChangeRow(Row):
    change_id: Key
    supplier_id: Key
    material_id: OptKey = None
    description: Text
    notified_at: Timestamp
    effective_at: Timestamp
