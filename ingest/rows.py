"""Row models of the canonical bundle v1 (DESIGN §3): one pydantic model per CSV file.

Values arrive as strings (empty = absent). Timestamps are normalised to UTC ISO 8601 with
milliseconds; a timestamp without an offset takes the bundle's timezone, passed in the
validation context as ``timezone``.

:func:`validate_columns` validates a chunk's rows column by column for the common, valid
case, giving what the models would give; the rows it cannot vouch for are validated with
their model one by one, whose errors name the column and the reason.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from datetime import datetime, tzinfo
from functools import cache, lru_cache
from itertools import repeat
from operator import itemgetter
from typing import Annotated, Any, ClassVar, Literal, get_args, get_origin, get_type_hints

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
# a store keeps 64-bit integers: a larger version is a rejected row, not a failed write
Version = Annotated[int, Field(ge=1, le=2**63 - 1)]
Sha256 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$", to_lower=True)]


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
    version: Version
    kind: DocumentKind
    title: Text
    content_sha256: Sha256
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
    document_version: Version
    signer_id: Key
    meaning: Meaning
    signed_at: Timestamp
    record_sha256: Sha256


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


# -- column by column ---------------------------------------------------------------------

_BAD: Any = object()  # a value the column check cannot vouch for: its row goes to the model

# What pydantic reads as these numbers and Python's float()/int() read the same (pydantic
# also takes surrounding spaces and ``1_0``: those rows go to the model).
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_COUNT = re.compile(r"[0-9]{1,18}")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_SEP = "\x00"  # joins a column's values into one text (no value holds it: _joined)

Column = list[Any]
# a column's values, the same joined by _SEP (None when one is absent or holds _SEP), and
# the bundle's timezone -> the values as the model gives them, _BAD where it may not
ColumnCheck = Callable[[Column, "str | None", "tzinfo | None"], Column]


def _joined(values: Column) -> str | None:
    try:
        text = _SEP.join(values)
    except TypeError:  # None: the column is not in the file
        return None
    return text if text.count(_SEP) == len(values) - 1 else None


def _trimmed(values: Column) -> bool:
    """No value starts or ends with whitespace (Python's, which includes pydantic's)."""
    return list(map(str.strip, values)) == values


def _text_column(max_length: int | None, optional: bool) -> ColumnCheck:
    """Key, Text, Unit (and optional): a value without whitespace at either end (which
    stripping leaves as it is) of the length."""

    def check(values: Column, text: str | None, _: tzinfo | None) -> Column:
        if (
            text is not None
            and all(values)
            and _trimmed(values)
            and (max_length is None or max(map(len, values)) <= max_length)
        ):
            return values
        out: Column = []
        for v in values:
            if v is None:  # the column is not in the file
                out.append(None if optional else _BAD)
            elif v and not v[0].isspace() and not v[-1].isspace():
                out.append(v if max_length is None or len(v) <= max_length else _BAD)
            else:
                out.append(None if optional and not v.strip() else _BAD)
        return out

    return check


def _number_column(non_negative: bool, optional: bool) -> ColumnCheck:
    def check(values: Column, text: str | None, _: tzinfo | None) -> Column:
        # float() reads what pydantic reads, and more: spaces, "_", other digits, inf, nan
        if text is not None and text.isascii() and "_" not in text and _trimmed(values):
            numbers: list[float | None]
            try:
                numbers = [float(v) if v else None for v in values]
            except ValueError:
                numbers = []
            present = [x for x in numbers if x is not None]
            if (
                numbers
                and (optional or len(present) == len(values))
                and all(map(math.isfinite, present))
                and (not non_negative or not present or min(present) >= 0)
            ):
                return numbers
        out: Column = []
        match = _DECIMAL.fullmatch
        for v in values:
            if v is None:
                out.append(None if optional else _BAD)
            elif match(v):
                x = float(v)
                ok = math.isfinite(x) and (x >= 0 or not non_negative)
                out.append(x if ok else _BAD)
            else:
                out.append(None if optional and not v.strip() else _BAD)
        return out

    return check


def _version_column(values: Column, text: str | None, _: tzinfo | None) -> Column:
    if (
        text is not None
        and text.isascii()
        and all(values)
        and max(map(len, values)) <= 18
        and text.replace(_SEP, "").isdigit()
    ):
        numbers = list(map(int, values))
        if min(numbers) >= 1:
            return numbers
    match = _COUNT.fullmatch
    out: Column = []
    for v in values:
        n = int(v) if v is not None and match(v) else 0
        out.append(n if n >= 1 else _BAD)
    return out


def _sha256_column(values: Column, text: str | None, _: tzinfo | None) -> Column:
    if text is not None and set(map(len, values)) == {64}:
        digits = text.replace(_SEP, "")
        if digits.isascii() and digits.isalnum() and digits.lower() == digits:
            try:
                bytes.fromhex(digits)  # 0-9 a-f only, given the above
                return values
            except ValueError:
                pass
    match = _HEX64.fullmatch
    return [v if v is not None and match(v) else _BAD for v in values]


def _timestamp_column(optional: bool) -> ColumnCheck:
    def check(values: Column, text: str | None, zone: tzinfo | None) -> Column:
        if text is not None and all(values) and _trimmed(values):
            try:
                return list(map(_normalise, values, repeat(zone)))
            except ValueError:
                pass  # which one: below
        out: Column = []
        for v in values:
            if v is None or not v.strip():  # absent, or blank: None when optional
                out.append(None if optional else _BAD)
                continue
            try:
                out.append(_normalise(v.strip(), zone))
            except ValueError:
                out.append(_BAD)
        return out

    return check


def _literal_column(allowed: frozenset[str]) -> ColumnCheck:
    def check(values: Column, _: str | None, __: tzinfo | None) -> Column:
        if allowed.issuperset(values):
            return values
        return [v if v in allowed else _BAD for v in values]

    return check


_CHECKS: list[tuple[Any, ColumnCheck]] = [
    (Key, _text_column(200, False)),
    (OptKey, _text_column(200, True)),
    (Text, _text_column(None, False)),
    (OptText, _text_column(None, True)),
    (Unit, _text_column(20, False)),
    (Quantity, _number_column(True, False)),
    (OptQuantity, _number_column(True, True)),
    (Number, _number_column(False, False)),
    (OptNumber, _number_column(False, True)),
    (Timestamp, _timestamp_column(False)),
    (OptTimestamp, _timestamp_column(True)),
    (Version, _version_column),
    (Sha256, _sha256_column),
]


class ValidRow:
    """A row the column checks passed: what its model's validation gives (the declared
    fields in ``__dict__``, the extra columns in ``model_extra``), read as a model is read
    by ``ingest.mapping``, without building the model."""

    __slots__ = ("__dict__", "model_extra")
    model_fields: ClassVar[dict[str, Any]] = {}

    def __init__(self, fields: dict[str, Any], extra: dict[str, Any]) -> None:
        self.__dict__ = fields
        self.model_extra = extra


class _Columns:
    """How one row model's columns are checked."""

    def __init__(self, model: type[Row], checks: dict[str, ColumnCheck]) -> None:
        self.checks = checks
        self.fields = list(checks)
        self.row_type = type(
            f"Valid{model.__name__}",
            (ValidRow,),
            {"__slots__": (), "model_fields": model.model_fields},
        )


@cache
def _columns_of(model: type[Row]) -> _Columns | None:
    """The column checks of every declared field, or None when a field has a type they do
    not cover (its rows are then validated with the model)."""
    hints = get_type_hints(model, include_extras=True)
    checks: dict[str, ColumnCheck] = {}
    for name in model.model_fields:
        hint = hints[name]
        check = next((c for alias, c in _CHECKS if hint is alias), None)
        if check is None and get_origin(hint) is Literal:
            check = _literal_column(frozenset(get_args(hint)))
        if check is None:
            return None
        checks[name] = check
    return _Columns(model, checks)


def validate_columns(
    model: type[Row], records: Sequence[dict[str, str]], zone: tzinfo | None
) -> list[ValidRow | None]:
    """Each record validated as ``model`` validates it, column by column: a
    :class:`ValidRow` where every column check passed, None for a row the checks cannot
    vouch for (to be validated with the model, whose errors name the column and reason).

    The records are a file's rows: the same columns in the same order, every value text.
    """
    if not records:
        return []
    columns = _columns_of(model)
    header = list(records[0])
    width = len(header)
    if columns is None or any(len(r) != width for r in records):
        return [None] * len(records)
    try:
        cells = {name: list(map(itemgetter(name), records)) for name in header}
    except KeyError:  # rows with other columns than the first
        return [None] * len(records)
    absent: Column = [None] * len(records)
    fields: list[Column] = []
    bad: set[int] = set()
    for name, check in columns.checks.items():
        values = cells.get(name, absent)
        text = None if values is absent else _joined(values)
        checked = check(values, text, zone)
        if values is not absent and not _encodable(text or _SEP.join(values)):
            checked = [c if _encodable(v) else _BAD for c, v in zip(checked, values, strict=True)]
        if checked is not values and _BAD in checked:  # a column passed whole is its values
            bad.update(i for i, v in enumerate(checked) if v is _BAD)
        fields.append(checked)
    extras = [name for name in header if name not in columns.checks]
    names = columns.fields
    row_type = columns.row_type
    out: list[ValidRow | None]
    if extras:
        extra_rows = zip(*(cells[name] for name in extras), strict=True)
        out = [
            row_type(dict(zip(names, row, strict=True)), dict(zip(extras, extra, strict=True)))
            for row, extra in zip(zip(*fields, strict=True), extra_rows, strict=True)
        ]
    else:
        out = [
            row_type(dict(zip(names, row, strict=True)), {}) for row in zip(*fields, strict=True)
        ]
    for i in bad:
        out[i] = None
    return out


def _encodable(text: str) -> bool:
    """Text pydantic takes as a string (no lone surrogate)."""
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
