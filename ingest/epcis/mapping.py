"""An EPCIS document as records of the canonical bundle's kinds (DESIGN §3, docs/EPCIS.md
"Import mapping").

:func:`map_document` turns each event into the records it means (TransformationEvents
sharing a ``transformationID`` -> one batch with consumptions and outputs; an ObjectEvent
that adds objects with ILMD -> lots; shipping -> shipments to a customer; receiving between
two locations -> movements) and master data into suppliers, materials and customers. What
it cannot map is an :class:`EventProblem` naming the event, the field and the reason; the
other events are still mapped. Every record keys on content (EPC classes, transformationID,
event hash), never on ``eventID``, so the same event under another id maps the same.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import unquote

from graph.identifiers import from_local_urn
from graph.identifiers import local_urn as _uncached_local_urn
from graph.identifiers import to_class_urn as _uncached_class_urn
from graph.store import format_utc
from ingest.epcis.event_hash import event_hash
from ingest.epcis.model import (
    EVENT_TYPES,
    VTYPE_EPC_CLASS,
    VTYPE_LOCATION,
    VTYPE_PARTY,
    EpcisDocument,
    EpcisEvent,
    EventProblem,
    VocabularyElement,
)
from ingest.epcis.model import cbv_term as _uncached_cbv_term
from ingest.units import UnitError, convert

Record = dict[str, str | float | None]

# UN/CEFACT Rec. 20 codes lotgraph converts, and the lotgraph unit each is.
UOM_UNITS: dict[str, str] = {
    "KGM": "kg",
    "GRM": "g",
    "MGM": "mg",
    "LTR": "L",
    "MLT": "mL",
    "H87": "ea",  # piece
    "C62": "ea",  # one
    "EA": "ea",
}

# Documented defaults for what a bundle requires and EPCIS does not say (docs/EPCIS.md).
DEFAULT_LOT_STATUS = "quarantine"
DEFAULT_BATCH_STATUS = "executed"
DEFAULT_SUPPLIER_STATUS = "conditional"
UNKNOWN_SITE = "EPCIS-UNKNOWN-SITE"
COUNT_UNIT = "ea"
_DISPOSITION_STATUS = {
    "conformant": "released",
    "sellable_accessible": "released",
    "sellable_not_accessible": "released",
    "available": "released",
    "non_conformant": "rejected",
    "damaged": "rejected",
    "destroyed": "rejected",
    "disposed": "rejected",
    "recalled": "on_hold",
    "expired": "on_hold",
    "stolen": "on_hold",
}

MDA = "urn:epcglobal:cbv:mda#"
LOTGRAPH_MDA = "urn:lotgraph:mda#"
_EXPANDED_LOTGRAPH = "{" + LOTGRAPH_MDA + "}"
# A lot's properties that lotgraph's own exports state in its master data (the rest of the
# lot's attributes are kept as extra properties); references travel as URNs.
_LOT_FIELDS = {"material": "material_id", "site": "site", "supplier": "supplier_id"}
_LOT_REFERENCE_KINDS = {"material_id": "material", "site": "site", "supplier_id": "supplier"}
_BATCH_FIELDS = {
    "product": "product_material_id",
    "status": "status",
    "startedAt": "started_at",
    "completedAt": "completed_at",
    "equipment": "equipment_id",
}

_SGTIN = re.compile(r"^urn:epc:id:sgtin:([0-9]+)\.([0-9]+)\.(.+)$")
_LGTIN = re.compile(r"^urn:epc:class:lgtin:([0-9]+)\.([0-9]+)\.(.+)$")
_SGTIN_PATTERN = re.compile(r"^urn:epc:idpat:sgtin:([0-9]+)\.([0-9]+)\.\*$")
_SSCC = re.compile(r"^urn:epc:id:sscc:")
_LOCAL_NAME = re.compile(r"[:#}/]")  # what separates a namespace from a local name
_GDST_LOT = re.compile(r"^(urn:gdst:[^:]+:product:)lot:class:([^.]+\.[^.]*)\.(.+)$")


to_class_urn = functools.lru_cache(maxsize=1 << 16)(_uncached_class_urn)
local_urn = functools.lru_cache(maxsize=1 << 16)(_uncached_local_urn)
_cached_cbv_term = functools.lru_cache(maxsize=4096)(_uncached_cbv_term)


def cbv_term(value: object) -> str | None:
    """``model.cbv_term``, cached for text (what a document repeats in every event)."""
    return _cached_cbv_term(value) if isinstance(value, str) else _uncached_cbv_term(value)


class Unmappable(Exception):
    """An event (or one of its fields) that cannot be mapped: the field and the reason."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class Unplaced(Unmappable):
    """An object of an event that names no lot lotgraph can place it in (an SGTIN no event
    of the document commissions, a product class without a lot number, another kind of
    EPC): the event's other objects are still mapped, this one is listed as unplaced."""

    def __init__(self, field: str, reason: str, identifier: str) -> None:
        super().__init__(field, reason)
        self.identifier = identifier


@dataclass
class MappedEvent:
    """What one event became: its hash, and either nothing (``note`` says why, e.g. an
    observation with no genealogy meaning) or a problem. Its records are in the document's
    ``records``, each listing the events it came from in ``origins``."""

    index: int
    event_id: str | None
    event_hash: str
    problem: EventProblem | None = None
    note: str | None = None
    # objects of the event that name no lot lotgraph can place them in: (field, identifier)
    unplaced: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class MappedDocument:
    events: list[MappedEvent]
    # records by kind (the bundle's file stems), and for each the event positions it came
    # from (empty for master data)
    records: dict[str, list[Record]] = field(default_factory=dict)
    origins: dict[str, list[tuple[int, ...]]] = field(default_factory=dict)

    def add(self, kind: str, record: Record, origin: Iterable[int]) -> None:
        self.records.setdefault(kind, []).append(record)
        self.origins.setdefault(kind, []).append(tuple(sorted(set(origin))))


LotUnits = Callable[[Sequence[str]], Mapping[str, str]]


@dataclass
class _Amount:
    lot: str
    quantity: float | None  # None: the event names the lot but not how much
    unit: str | None  # None: a count in the lot's own unit
    instances: tuple[str, ...] = ()  # instance EPCs (SGTIN) this amount rolls up
    containers: tuple[str, ...] = ()  # what they are packed in (SSCC, SGTIN cases), nested


@dataclass
class _LotAcc:
    lot_id: str
    material_id: str
    site: str
    created_at: str
    status: str
    origins: set[int]
    hashes: set[str]
    ids: set[str]
    quantity: float = 0.0
    unit: str | None = None
    expiry: str | None = None
    best_before: str | None = None
    lot_number: str | None = None
    supplier_id: str | None = None
    instances: set[str] = field(default_factory=set)
    containers: set[str] = field(default_factory=set)
    erroneous: list[EpcisEvent] = field(default_factory=list)  # with an errorDeclaration


# The pure functions of one value below are cached: a document names the same lots, sites,
# parties, offsets and times in many events.
@functools.lru_cache(maxsize=1 << 16)
def _local(value: str, kind: str) -> str:
    """A lotgraph id read back from its ``urn:lotgraph:<kind>:`` URN; other values as given."""
    local = from_local_urn(value)
    if local is not None and local[0] == kind:
        return local[1]
    return value


@functools.lru_cache(maxsize=4096)
def _bare_name(key: str) -> str:
    return _LOCAL_NAME.split(key)[-1]


def _ilmd_value(ilmd: Any, name: str) -> Any:
    """An ILMD field by its bare name, whichever prefix carries it (``cbvmda:lotNumber``,
    ``{urn:epcglobal:cbv:mda}lotNumber`` as XML and expanded JSON-LD give it,
    ``urn:epcglobal:cbv:mda#lotNumber``, ``lotNumber``)."""
    if not isinstance(ilmd, dict):
        return None
    for key, value in ilmd.items():
        if _bare_name(key) == name:
            return value
    return None


def _offset(event: dict[str, Any]) -> timezone | None:
    text = event.get("eventTimeZoneOffset")
    if not isinstance(text, str):
        return None
    return _zone(text)


@functools.lru_cache(maxsize=1024)
def _zone(text: str) -> timezone | None:
    match = re.fullmatch(r"([+-])(\d{2}):(\d{2})", text.strip())
    if not match:
        return None
    sign = -1 if match.group(1) == "-" else 1
    return timezone(sign * timedelta(hours=int(match.group(2)), minutes=int(match.group(3))))


def _moment(value: Any, field_name: str, zone: timezone | None) -> str:
    """A time of the event in UTC (``format_utc``); a time without offset (or a date) is
    read in the event's ``eventTimeZoneOffset``."""
    if not isinstance(value, str) or not value.strip():
        raise Unmappable(field_name, "missing or not a time")
    return _utc(value, field_name, zone)


@functools.lru_cache(maxsize=1 << 16)
def _utc(value: str, field_name: str, zone: timezone | None) -> str:
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise Unmappable(field_name, f"unparseable time {value!r}") from None
    if moment.tzinfo is None:
        if zone is None:
            raise Unmappable(
                field_name, f"{value!r} has no UTC offset and the event no eventTimeZoneOffset"
            )
        moment = moment.replace(tzinfo=zone)
    return format_utc(moment)


def _unit_of(uom: Any, field_name: str) -> str | None:
    if uom is None or uom == "":
        return None
    unit = UOM_UNITS.get(str(uom).strip().upper())
    if unit is None:
        known = ", ".join(UOM_UNITS)
        raise Unmappable(field_name, f"uom {uom!r} is not one lotgraph converts ({known})")
    return unit


def _quantity(value: Any, field_name: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise Unmappable(field_name, f"not a number: {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise Unmappable(field_name, f"not a number: {value!r}") from None
    if number != number or number in (float("inf"), float("-inf")) or number < 0:
        raise Unmappable(field_name, f"not a quantity >= 0: {value!r}")
    return number


def _location(event: dict[str, Any]) -> str | None:
    for key in ("bizLocation", "readPoint"):
        place = event.get(key)
        if isinstance(place, dict) and place.get("id"):
            return _local(str(place["id"]), "site")
    return None


def _party(entries: Any, kind: str, roles: tuple[str, ...]) -> str | None:
    """The first party of ``sourceList``/``destinationList`` of the first role found."""
    if not isinstance(entries, list):
        return None
    key = "source" if kind == "source" else "destination"
    for role in roles:
        for entry in entries:
            if isinstance(entry, dict) and cbv_term(entry.get("type")) == role and entry.get(key):
                return str(entry[key])
    return None


def _lot_number_of(lot_id: str, ilmd_lot: str | None) -> str | None:
    """The lot number of a created lot: the ILMD ``lotNumber``, unless the lot's class
    names another lot itself (an event creating several lots gives one ILMD for all)."""
    match = _LGTIN.match(lot_id) or _GDST_LOT.match(lot_id)
    named = unquote(match.group(3)) if match else None
    if ilmd_lot and (named is None or named.casefold() == ilmd_lot.casefold()):
        return ilmd_lot
    return named


def _error_columns(declarations: Sequence[tuple[dict[str, Any], timezone | None]]) -> Record:
    """The marks of records written from events that carry an ``errorDeclaration``
    (docs/EPCIS.md "Error declarations"): when it was declared (the latest declaration),
    why (CBV error reason terms) and the corrective events' ids; none for other events."""
    declared: list[str] = []
    reasons: set[str] = set()
    corrective: set[str] = set()
    for declaration, zone in declarations:
        try:
            declared.append(
                _moment(
                    declaration.get("declarationTime"), "errorDeclaration.declarationTime", zone
                )
            )
        except Unmappable:
            declared.append("unknown")  # the reader checks the time: not expected
        reason = cbv_term(declaration.get("reason"))
        if reason:
            reasons.add(reason)
        ids = declaration.get("correctiveEventIDs")
        if isinstance(ids, list):
            corrective.update(str(i) for i in ids if i)
    if not declared:
        return {}
    record: Record = {"epcis_error_declared_at": max(declared)}
    if reasons:
        record["epcis_error_reason"] = " ".join(sorted(reasons))
    if corrective:
        record["epcis_corrective_event_ids"] = " ".join(sorted(corrective))
    return record


def _product_of_unplaced(unplaced: Sequence[Unplaced]) -> str | None:
    """The product of a transformation's outputs that name no lot: a product class as
    given, an SGTIN's product class; None when none says what product it is."""
    for item in unplaced:
        pattern = _SGTIN_PATTERN.match(item.identifier)
        if pattern:
            return item.identifier
        sgtin = _SGTIN.match(item.identifier)
        if sgtin:
            return f"urn:epc:idpat:sgtin:{sgtin.group(1)}.{sgtin.group(2)}.*"
    return None


def _class_element(
    classes: Mapping[str, VocabularyElement], kind: str, node_id: str
) -> VocabularyElement | None:
    """The EPCClass master data of a lot or material, by the id lotgraph reads it as."""
    return classes.get(local_urn(kind, node_id))


def lotgraph_fields(values: Mapping[str, Any]) -> dict[str, Any]:
    """lotgraph's own fields among an event's keys or an element's attributes, by bare
    name: ``urn:lotgraph:mda#site``, or ``{urn:lotgraph:mda#}status`` as the reader expands
    a ``lotgraph:status`` key (docs/EPCIS.md, Export)."""
    found: dict[str, Any] = {}
    for key, value in values.items():
        for prefix in (_EXPANDED_LOTGRAPH, LOTGRAPH_MDA):
            if key.startswith(prefix):
                found[key[len(prefix) :]] = value
    return found


def _product_of(lot_id: str, classes: Mapping[str, VocabularyElement]) -> str:
    """The material of a lot (docs/EPCIS.md): the LGTIN's product class; the EPCClass master
    data's ``urn:lotgraph:mda#material``; a GDST lot class's product class; else the lot's
    class itself (the document says no more about what it is)."""
    element = _class_element(classes, "lot", lot_id)
    if element is not None:
        material = element.attributes.get(f"{LOTGRAPH_MDA}material")
        if material:
            return _local(str(material), "material")
    match = _LGTIN.match(lot_id)
    if match:
        return f"urn:epc:idpat:sgtin:{match.group(1)}.{match.group(2)}.*"
    match = _GDST_LOT.match(lot_id)
    if match:
        return f"{match.group(1)}class:{match.group(2)}"
    return _local(lot_id, "material")


class _Mapper:
    def __init__(self, document: EpcisDocument, lot_units: LotUnits) -> None:
        self.document = document
        self.lot_units = lot_units
        self.classes = {e.id: e for e in document.vocabularies.get(VTYPE_EPC_CLASS, [])}
        self.parties = {e.id: e for e in document.vocabularies.get(VTYPE_PARTY, [])}
        self.locations = {e.id: e for e in document.vocabularies.get(VTYPE_LOCATION, [])}
        self.out = MappedDocument(events=[])
        self.lots: dict[str, _LotAcc] = {}
        self.sgtin_lots: dict[str, str] = {}  # SGTIN -> its lot (ILMD of its commissioning)
        # container (an aggregation's parentID as given) -> the events packing into it
        self.containers: dict[str, list[tuple[int, str, dict[str, Any]]]] = {}
        self.contents_cache: dict[str, list[_Amount]] = {}
        self.received_from: dict[str, tuple[str, int]] = {}  # lot -> (party, event)
        self.produced: set[str] = set()  # materials made by a transformation here
        self.used_parties: dict[str, str] = {}  # party -> "supplier" or "customer"
        self.by_index: dict[int, MappedEvent] = {}
        # event position -> the errorDeclaration a later copy of it in the document makes
        self.declared: dict[int, dict[str, Any]] = {}

    # -- identifiers --------------------------------------------------------------------

    def lot_of_class(self, value: Any, field_name: str, lot_number: str | None) -> str:
        """The lot a quantity element's ``epcClass`` names."""
        if not isinstance(value, str) or not value.strip():
            raise Unmappable(field_name, "missing epcClass")
        cls = to_class_urn(value.strip())
        pattern = _SGTIN_PATTERN.match(cls)
        if pattern:
            if not lot_number:
                raise Unplaced(
                    field_name,
                    f"{cls} is a product class, and the event's ilmd has no lotNumber",
                    cls,
                )
            return f"urn:epc:class:lgtin:{pattern.group(1)}.{pattern.group(2)}.{lot_number}"
        return _local(cls, "lot")

    def created_lot(self, value: Any, field_name: str, lot_number: str | None) -> str:
        """A lot an event creates: its class must name the lot (an LGTIN, a GDST lot class,
        a lotgraph lot) or the event's ILMD must give its lot number."""
        lot = self.lot_of_class(value, field_name, lot_number)
        names_a_lot = (
            _LGTIN.match(lot) or _GDST_LOT.match(lot) or not lot.startswith(("urn:", "http"))
        )
        if not names_a_lot and not lot_number:
            raise Unmappable(
                "ilmd.lotNumber",
                f"missing: the output class {lot} does not name a lot, and the event gives "
                "no lot number",
            )
        return lot

    def sgtin_lot(self, epc: str, field_name: str, lot_number: str | None) -> str:
        epc = to_class_urn(epc)
        match = _SGTIN.match(epc)
        if match is None:
            raise Unmappable(field_name, f"{epc} is not an SGTIN")
        if lot_number:
            return f"urn:epc:class:lgtin:{match.group(1)}.{match.group(2)}.{lot_number}"
        known = self.sgtin_lots.get(epc)
        if known is None:
            raise Unplaced(
                field_name,
                f"the lot of {epc} is unknown: no event of the document commissions it with "
                "an ILMD lotNumber",
                epc,
            )
        return known

    def instance_amounts(
        self,
        epcs: Any,
        field_name: str,
        lot_number: str | None = None,
        expand: bool = True,
        first: int = 0,
    ) -> list[_Amount]:
        """Instance EPCs rolled up to their lots (docs/EPCIS.md): an SGTIN through its lot
        number; a Digital Link with a lot is of that lot; whatever aggregation events pack
        into an EPC (an SSCC pallet, an SGTIN case) rolls up with it unless ``expand`` is
        False (an event commissioning a case creates the case, not its contents)."""
        amounts: list[_Amount] = []
        if not isinstance(epcs, list):
            return amounts
        for i, raw in enumerate(epcs, start=first):
            amounts.extend(
                self.epc_amounts(str(raw), f"{field_name}[{i}]", lot_number, expand, frozenset())
            )
        return amounts

    def epc_amounts(
        self,
        raw: str,
        field_name: str,
        lot_number: str | None,
        expand: bool,
        seen: frozenset[str],
    ) -> list[_Amount]:
        raw = raw.strip()
        epc = to_class_urn(raw)
        if raw in seen:
            raise Unmappable(field_name, f"{raw} contains itself (aggregation cycle)")
        amounts: list[_Amount] = []
        if _SGTIN.match(epc):
            lot = self.sgtin_lot(epc, field_name, lot_number)
            amounts.append(_Amount(lot, 1.0, COUNT_UNIT, (epc,)))
        elif _LGTIN.match(epc) and epc != raw:
            amounts.append(_Amount(epc, 1.0, COUNT_UNIT, (raw,)))  # a Digital Link instance
        elif not expand or raw not in self.containers:
            if _SSCC.match(epc):
                raise Unplaced(
                    field_name,
                    f"{epc}: no AggregationEvent of the document packs anything into it",
                    raw,
                )
            raise Unplaced(
                field_name, f"{epc}: not an SGTIN or SSCC lotgraph can roll up to a lot", raw
            )
        if expand and raw in self.containers:
            amounts.extend(self.contents(raw, field_name, seen | {raw}))
        return amounts

    def contents(self, container: str, field_name: str, seen: frozenset[str]) -> list[_Amount]:
        """What the aggregation events of the document pack into ``container``, nested,
        each amount naming the containers it sits in (computed once per container)."""
        amounts = self.contents_cache.get(container)
        if amounts is not None:
            return [_Amount(a.lot, a.quantity, a.unit, a.instances, a.containers) for a in amounts]
        amounts = []
        for _, _, event in self.containers[container]:
            for epc in event.get("childEPCs") or []:
                for inner in self.epc_amounts(str(epc), field_name, None, True, seen):
                    inner.containers = (*inner.containers, container)
                    amounts.append(inner)
            for j, item in enumerate(event.get("childQuantityList") or []):
                amount = self.class_amount(item, f"{field_name}.childQuantityList[{j}]", None)
                amount.containers = (container,)
                amounts.append(amount)
        self.contents_cache[container] = amounts
        return [_Amount(a.lot, a.quantity, a.unit, a.instances, a.containers) for a in amounts]

    def class_amount(
        self, item: Any, field_name: str, lot_number: str | None, create: bool = False
    ) -> _Amount:
        if not isinstance(item, dict):
            raise Unmappable(field_name, "not an object")
        cls = item.get("epcClass")
        lot = (
            self.created_lot(cls, f"{field_name}.epcClass", lot_number)
            if create
            else self.lot_of_class(cls, f"{field_name}.epcClass", lot_number)
        )
        return _Amount(
            lot,
            _quantity(item.get("quantity"), f"{field_name}.quantity"),
            _unit_of(item.get("uom"), f"{field_name}.uom"),
        )

    def amounts(
        self,
        event: dict[str, Any],
        epc_key: str,
        qty_key: str,
        lot_number: str | None,
        create: bool = False,
        unplaced: list[Unplaced] | None = None,
    ) -> list[_Amount]:
        """The lots an event's quantity list and EPC list name, with amounts. With
        ``unplaced`` given, an object that names no lot is added to it instead of raising
        (any other fault still raises)."""
        found: list[_Amount] = []
        for i, item in enumerate(event.get(qty_key) or []):
            try:
                found.append(self.class_amount(item, f"{qty_key}[{i}]", lot_number, create))
            except Unplaced as exc:
                if unplaced is None:
                    raise
                unplaced.append(exc)
        epcs = event.get(epc_key)
        for i, raw in enumerate(epcs if isinstance(epcs, list) else []):
            try:
                found.extend(
                    self.instance_amounts([raw], epc_key, lot_number, expand=not create, first=i)
                )
            except Unplaced as exc:
                if unplaced is None:
                    raise
                unplaced.append(exc)
        return found

    def objects(self, event: EpcisEvent, unplaced: list[Unplaced] | None = None) -> list[_Amount]:
        """What a shipping or receiving event moves: its EPCs and quantities, and for an
        AggregationEvent its children and its parent (with what is packed in it)."""
        body = event.body
        amounts = self.amounts(body, "epcList", "quantityList", None, unplaced=unplaced)
        if event.type == "AggregationEvent":
            amounts += self.amounts(body, "childEPCs", "childQuantityList", None, unplaced=unplaced)
            if body.get("parentID"):
                try:
                    amounts += self.instance_amounts([body["parentID"]], "parentID")
                except Unplaced as exc:
                    if unplaced is None:
                        raise
                    unplaced.append(exc)
        return amounts

    def placed_objects(self, event: EpcisEvent, what: str) -> list[_Amount]:
        """The objects of a shipping or receiving event that name lots; those that do not
        are noted on the event (docs/EPCIS.md); none at all is a problem."""
        unplaced: list[Unplaced] = []
        amounts = self.objects(event, unplaced)
        if not amounts:
            if unplaced:
                raise unplaced[0]
            raise Unmappable("epcList", f"a {what} event that names no object")
        self.note_unplaced(event, unplaced)
        return amounts

    def declarations(
        self, events: Iterable[EpcisEvent]
    ) -> list[tuple[dict[str, Any], timezone | None]]:
        """The error declarations of the events (their own, or a later copy's), each with
        the event's time zone."""
        found = []
        for event in events:
            declaration = event.body.get("errorDeclaration") or self.declared.get(event.index)
            if isinstance(declaration, dict):
                found.append((declaration, _offset(event.body)))
        return found

    def unplaced_column(self, event: EpcisEvent) -> Record:
        unplaced = sorted({i for _, i in self.by_index[event.index].unplaced})
        return {"epcis_unplaced": " ".join(unplaced)} if unplaced else {}

    def note_unplaced(self, event: EpcisEvent, unplaced: list[Unplaced]) -> None:
        self.by_index[event.index].unplaced.extend((u.field, u.identifier) for u in unplaced)

    # -- master data --------------------------------------------------------------------

    def party_name(self, party: str) -> str:
        element = self.parties.get(party) or self.locations.get(party)
        if element is not None:
            for attr in ("name", "descriptionShort"):
                value = element.attributes.get(f"{MDA}{attr}")
                if value:
                    return str(value)
        return _local(_local(party, "customer"), "supplier")

    def party_country(self, party: str) -> str | None:
        element = self.parties.get(party) or self.locations.get(party)
        value = element.attributes.get(f"{MDA}countryCode") if element else None
        return str(value) if value else None

    # -- passes -------------------------------------------------------------------------

    def index(self, events: list[tuple[EpcisEvent, str]]) -> None:
        """What later events need of earlier (or later) ones: SGTIN lots, SSCC contents,
        who a lot was received from."""
        for event, _ in events:
            body = event.body
            lot_number = _ilmd_value(body.get("ilmd"), "lotNumber")
            epc_keys = ("epcList", "outputEPCList") if body.get("ilmd") is not None else ()
            for key in epc_keys:
                for epc in body.get(key) or []:
                    match = _SGTIN.match(str(epc))
                    if match and lot_number:
                        self.sgtin_lots[str(epc)] = (
                            f"urn:epc:class:lgtin:{match.group(1)}.{match.group(2)}.{lot_number}"
                        )
            if (
                event.type == "AggregationEvent"
                and body.get("action") == "ADD"
                and body.get("parentID")
            ):
                self.containers.setdefault(str(body["parentID"]).strip(), []).append(
                    (event.index, "", body)
                )

    def receipts(self, events: list[tuple[EpcisEvent, str]]) -> None:
        for event, _ in events:
            body = event.body
            # a receipt names who the lot came from; so does the event that made the lot
            # known here (lotgraph's exports: creating_class_instance from its supplier)
            creates = body.get("action") == "ADD" and bool(body.get("ilmd"))
            if cbv_term(body.get("bizStep")) != "receiving" and not creates:
                continue
            party = _party(body.get("sourceList"), "source", ("owning_party", "possessing_party"))
            if party is None:
                continue
            try:
                amounts = self.objects(event, [])
            except Unmappable:
                continue  # the event's own mapping reports it
            for amount in amounts:
                self.received_from.setdefault(amount.lot, (party, event.index))

    def map(self) -> MappedDocument:
        events: list[tuple[EpcisEvent, str]] = []
        seen_ids: dict[str, tuple[int, str]] = {}
        seen_hashes: dict[str, int] = {}
        for event in self.document.events:
            digest = event_hash(event.body)
            mapped = MappedEvent(event.index, event.event_id, digest)
            self.out.events.append(mapped)
            if event.type not in EVENT_TYPES:
                mapped.problem = self.problem(event, "type", f"unknown event type {event.type!r}")
                continue
            if event.event_id is not None and event.event_id in seen_ids:
                first, first_hash = seen_ids[event.event_id]
                if first_hash != digest:
                    mapped.problem = self.problem(
                        event,
                        "eventID",
                        f"duplicate eventID {event.event_id!r}: event {first + 1} has it with "
                        "other content",
                    )
                    continue
            if digest in seen_hashes:
                first = seen_hashes[digest]
                declaration = event.body.get("errorDeclaration")
                if isinstance(declaration, dict) and first not in self.declared:
                    self.declared[first] = declaration
                    mapped.note = f"declares event {first + 1} erroneous: what it wrote is marked"
                else:
                    mapped.note = f"repeats event {first + 1} (same event hash)"
                continue
            if event.event_id is not None:
                seen_ids.setdefault(event.event_id, (event.index, digest))
            seen_hashes[digest] = event.index
            events.append((event, digest))
        self.index(events)
        self.receipts(events)
        by_index = self.by_index = {m.index: m for m in self.out.events}
        transformations: dict[str, list[tuple[EpcisEvent, str]]] = {}
        for event, digest in events:
            if event.type == "TransformationEvent":
                tid = event.body.get("transformationID")
                transformations.setdefault(str(tid) if tid else digest, []).append((event, digest))
                continue
            try:
                by_index[event.index].note = self.map_event(event, digest)
            except Unmappable as exc:
                by_index[event.index].problem = self.problem(event, exc.field, exc.reason)
        for key, group in transformations.items():
            self.map_transformation(key, group, by_index)
        self.finish_lots(by_index)
        self.master_records()
        return self.out

    def problem(self, event: EpcisEvent, field_name: str, reason: str) -> EventProblem:
        return EventProblem(event.index, event.event_id, field_name, reason)

    # -- events -------------------------------------------------------------------------

    def map_event(self, event: EpcisEvent, digest: str) -> str | None:
        """Records of one non-transformation event; a note when it maps to none."""
        body = event.body
        step = cbv_term(body.get("bizStep"))
        action = body.get("action")
        zone = _offset(body)
        at = _moment(body.get("eventTime"), "eventTime", zone)
        if event.type == "ObjectEvent" and action == "ADD" and body.get("ilmd") is not None:
            self.create_lots(event, digest, "quantityList", at)
            return None
        if step == "shipping" and event.type in (
            "ObjectEvent",
            "AggregationEvent",
            "TransactionEvent",
        ):
            return self.shipment(event, digest, at)
        if step == "receiving":
            return self.movement(event, digest, at)
        if event.type == "AggregationEvent" and action == "ADD":
            return None  # its contents roll up to lots (see container_amounts, finish_lots)
        return f"no genealogy meaning in lotgraph ({event.type}, bizStep {step or 'none'}, action {action or 'none'})"

    def event_columns(self, events: Iterable[tuple[EpcisEvent, str]]) -> Record:
        pairs = list(events)
        hashes = " ".join(sorted({d for _, d in pairs}))
        ids = " ".join(sorted({e.event_id for e, _ in pairs if e.event_id}))
        record: Record = {"epcis_event_hash": hashes}
        if ids:
            record["epcis_event_id"] = ids
        return record | _error_columns(self.declarations(e for e, _ in pairs))

    def create_lots(
        self,
        event: EpcisEvent,
        digest: str,
        qty_key: str,
        at: str,
        amounts: list[_Amount] | None = None,
    ) -> list[_Amount]:
        """The lots the event creates (its ``amounts``, else its epcList and quantityList),
        with what its ILMD says of them."""
        body = event.body
        ilmd = body.get("ilmd")
        zone = _offset(body)
        lot_number = _ilmd_value(ilmd, "lotNumber")
        lot_number = str(lot_number) if lot_number not in (None, "") else None
        if amounts is None:
            amounts = self.amounts(body, "epcList", qty_key, lot_number, create=True)
        expiry_raw = _ilmd_value(ilmd, "itemExpirationDate")
        best_raw = _ilmd_value(ilmd, "bestBeforeDate")
        expiry = _moment(expiry_raw, "ilmd.itemExpirationDate", zone) if expiry_raw else None
        best = _moment(best_raw, "ilmd.bestBeforeDate", zone) if best_raw else None
        site = _location(body) or UNKNOWN_SITE
        disposition = cbv_term(body.get("disposition"))
        status = _DISPOSITION_STATUS.get(disposition or "", DEFAULT_LOT_STATUS)
        merged: dict[str, _Amount] = {}
        for amount in amounts:
            merged[amount.lot] = self.add_amount(merged.get(amount.lot), amount, qty_key)
        for lot_id, amount in merged.items():
            acc = self.lots.get(lot_id)
            if acc is None:
                acc = self.lots[lot_id] = _LotAcc(
                    lot_id=lot_id,
                    material_id=_product_of(lot_id, self.classes),
                    site=site,
                    created_at=at,
                    status=status,
                    origins=set(),
                    hashes=set(),
                    ids=set(),
                )
            acc.origins.add(event.index)
            acc.hashes.add(digest)
            if self.declarations([event]):
                acc.erroneous.append(event)
            if event.event_id:
                acc.ids.add(event.event_id)
            acc.created_at = min(acc.created_at, at)
            if amount.quantity is not None:
                if acc.unit is None or amount.unit is None or amount.unit == acc.unit:
                    acc.unit = acc.unit or amount.unit
                    acc.quantity += amount.quantity
                else:
                    try:
                        acc.quantity += convert(amount.quantity, amount.unit, acc.unit)
                    except UnitError as exc:
                        raise Unmappable(f"{qty_key}.uom", str(exc)) from None
            acc.expiry = acc.expiry or expiry
            acc.best_before = acc.best_before or best
            acc.lot_number = acc.lot_number or _lot_number_of(lot_id, lot_number)
            acc.instances.update(amount.instances)
        return list(merged.values())

    @staticmethod
    def add_amount(total: _Amount | None, amount: _Amount, field_name: str) -> _Amount:
        if total is None:
            return _Amount(
                amount.lot, amount.quantity, amount.unit, amount.instances, amount.containers
            )
        quantity = amount.quantity
        if quantity is not None and total.quantity is not None:
            if amount.unit != total.unit and amount.unit and total.unit:
                try:
                    quantity = convert(quantity, amount.unit, total.unit)
                except UnitError as exc:
                    raise Unmappable(f"{field_name}.uom", str(exc)) from None
            total.quantity += quantity
        total.instances = (*total.instances, *amount.instances)
        total.containers = (*total.containers, *amount.containers)
        return total

    def merged_amounts(self, amounts: list[_Amount], field_name: str) -> list[_Amount]:
        merged: dict[str, _Amount] = {}
        for amount in amounts:
            merged[amount.lot] = self.add_amount(merged.get(amount.lot), amount, field_name)
        return list(merged.values())

    def shipment(self, event: EpcisEvent, digest: str, at: str) -> str | None:
        body = event.body
        customer = _party(
            body.get("destinationList"), "destination", ("owning_party", "possessing_party")
        )
        if customer is None:
            return "shipping without a destination owning_party or possessing_party: no customer to ship to"
        shipper = _party(body.get("sourceList"), "source", ("owning_party", "possessing_party"))
        shipment_id = digest
        for transaction in body.get("bizTransactionList") or []:
            value = transaction.get("bizTransaction") if isinstance(transaction, dict) else None
            local = from_local_urn(str(value)) if value else None
            if local is not None and local[0] == "shipment":
                shipment_id = local[1]
                break
        amounts = self.placed_objects(event, "shipping")
        customer_id = _local(customer, "customer")
        self.used_parties.setdefault(customer, "customer")
        for amount in self.merged_amounts(amounts, "quantityList"):
            record: Record = {
                "shipment_id": shipment_id,
                "lot_id": amount.lot,
                "customer_id": customer_id,
                "quantity": amount.quantity,
                "unit": amount.unit,
                "shipped_at": at,
            }
            if shipper:
                record["shipper"] = _local(shipper, "supplier")
            if amount.instances or amount.containers:
                shipped = {*amount.instances, *amount.containers}
                record["epcis_epcs"] = " ".join(sorted(shipped))
            record |= self.unplaced_column(event)
            self.out.add("shipments", record | self.event_columns([(event, digest)]), [event.index])
        return None

    def movement(self, event: EpcisEvent, digest: str, at: str) -> str | None:
        body = event.body
        source = _party(body.get("sourceList"), "source", ("location",))
        target = _party(body.get("destinationList"), "destination", ("location",)) or _location(
            body
        )
        if source is None or target is None:
            if any(i == event.index for _, i in self.received_from.values()):
                return None  # it names the supplier of a lot (finish_lots)
            return (
                "receiving without a source location (and a destination location or "
                "bizLocation): not a movement between sites"
            )
        amounts = self.placed_objects(event, "receiving")
        for amount in self.merged_amounts(amounts, "quantityList"):
            record: Record = {
                "lot_id": amount.lot,
                "from_site": _local(source, "site"),
                "to_site": _local(target, "site"),
                "quantity": amount.quantity,
                "unit": amount.unit,
                "moved_at": at,
            }
            receiver = _party(
                body.get("destinationList"), "destination", ("owning_party", "possessing_party")
            )
            if receiver:
                record["moved_by"] = receiver
            record |= self.unplaced_column(event)
            self.out.add("movements", record | self.event_columns([(event, digest)]), [event.index])
        return None

    def map_transformation(
        self, key: str, group: list[tuple[EpcisEvent, str]], by_index: dict[int, MappedEvent]
    ) -> None:
        """One batch from the TransformationEvents sharing a transformationID (or one alone)."""
        good: list[tuple[EpcisEvent, str, str, list[_Amount], list[_Amount]]] = []
        unplaced_in: list[Unplaced] = []
        unplaced_out: list[Unplaced] = []
        for event, digest in group:
            try:
                body = event.body
                at = _moment(body.get("eventTime"), "eventTime", _offset(body))
                lot_number = _ilmd_value(body.get("ilmd"), "lotNumber")
                lot_number = str(lot_number) if lot_number not in (None, "") else None
                ins: list[Unplaced] = []
                outs: list[Unplaced] = []
                inputs = self.amounts(body, "inputEPCList", "inputQuantityList", None, unplaced=ins)
                outputs = self.amounts(
                    body,
                    "outputEPCList",
                    "outputQuantityList",
                    lot_number,
                    create=True,
                    unplaced=outs,
                )
                good.append((event, digest, at, inputs, outputs))
                self.note_unplaced(event, [*ins, *outs])
                unplaced_in += ins
                unplaced_out += outs
            except Unmappable as exc:
                by_index[event.index].problem = self.problem(event, exc.field, exc.reason)
                by_index[event.index].unplaced = []
        if not good:
            return
        outputs_all = [a for *_, outs_ in good for a in outs_]
        stated = lotgraph_fields(good[0][0].body)
        product = (
            _local(str(stated["product"]), "material")
            if stated.get("product")
            else _product_of_unplaced(unplaced_out)
        )
        if not outputs_all and product is None:
            for event, *_ in good:
                first = next((u for u in unplaced_out if u.identifier), None)
                by_index[event.index].problem = self.problem(
                    event,
                    first.field if first else "outputQuantityList",
                    "the transformation has no output lot or product, so it is no batch "
                    "lotgraph can hold" + (f" ({first.reason})" if first else ""),
                )
                by_index[event.index].unplaced = []
            return
        for event, digest, at, _, outputs in good:
            self.create_lots(event, digest, "outputQuantityList", at, outputs)
        first_event = good[0][0]
        tid = first_event.body.get("transformationID")
        batch_id = _local(str(tid), "batch") if tid else key
        times = sorted(at for _, _, at, _, _ in good)
        origin = [e.index for e, *_ in good]
        if outputs_all:
            product = self.lots[outputs_all[0].lot].material_id
        assert product is not None
        self.produced.add(product)
        batch: Record = {
            "batch_id": batch_id,
            "product_material_id": product,
            "site": _location(first_event.body) or UNKNOWN_SITE,
            "started_at": times[0],
            "completed_at": times[-1],
            "status": DEFAULT_BATCH_STATUS,
        }
        if stated.get("startedAt") and not stated.get("completedAt"):
            batch["completed_at"] = None  # lotgraph's export of a batch still running
        for name, value in stated.items():
            column = _BATCH_FIELDS.get(name)
            if column == "product_material_id":
                batch[column] = _local(str(value), "material")
            elif column is not None:
                batch[column] = value
        step = cbv_term(first_event.body.get("bizStep"))
        if step:
            batch["epcis_biz_step"] = step
        if unplaced_in:
            batch["epcis_unplaced_inputs"] = " ".join(sorted({u.identifier for u in unplaced_in}))
        if unplaced_out:
            batch["epcis_unplaced_outputs"] = " ".join(sorted({u.identifier for u in unplaced_out}))
        self.out.add("batches", batch | self.event_columns((e, d) for e, d, *_ in good), origin)
        for event, digest, at, inputs, outputs in good:
            columns = self.event_columns([(event, digest)])
            for amount in self.merged_amounts(inputs, "inputQuantityList"):
                consumption: Record = {
                    "batch_id": batch_id,
                    "lot_id": amount.lot,
                    "quantity": amount.quantity,
                    "unit": amount.unit,
                    "consumed_at": at,
                }
                self.out.add("consumptions", consumption | columns, [event.index])
            for amount in self.merged_amounts(outputs, "outputQuantityList"):
                output: Record = {
                    "batch_id": batch_id,
                    "lot_id": amount.lot,
                    "quantity": amount.quantity,
                    "unit": amount.unit,
                }
                self.out.add("outputs", output | columns, [event.index])

    # -- finishing ----------------------------------------------------------------------

    def finish_lots(self, by_index: dict[int, MappedEvent]) -> None:
        # the containers (SSCC pallets, SGTIN cases) a lot was packed into, nested
        for container, children in self.containers.items():
            packers = [i for i, _, _ in children if by_index[i].problem is None]
            try:
                contents = self.contents(container, "parentID", frozenset({container}))
            except Unmappable:
                continue  # an unresolvable container: its shipping event reports it
            for amount in contents:
                acc = self.lots.get(amount.lot)
                if acc is not None:
                    acc.containers.update(amount.containers)
                    acc.origins.update(packers)
        for acc in self.lots.values():
            received = self.received_from.get(acc.lot_id)
            if received is not None:
                acc.supplier_id = _local(received[0], "supplier")
                self.used_parties.setdefault(received[0], "supplier")
                acc.origins.add(received[1])
            unit = acc.unit or self.material_unit(acc.material_id) or COUNT_UNIT
            record: Record = {
                "lot_id": acc.lot_id,
                "material_id": acc.material_id,
                "supplier_id": acc.supplier_id,
                "site": acc.site,
                "quantity": acc.quantity,
                "unit": unit,
                "status": acc.status,
                "created_at": acc.created_at,
                "expiry": acc.expiry or acc.best_before,
            }
            if acc.best_before:
                record["best_before"] = acc.best_before
            if acc.lot_number:
                record["lot_number"] = acc.lot_number
            if acc.instances:
                record["epcis_instances"] = " ".join(sorted(acc.instances))
            if acc.containers:
                record["epcis_containers"] = " ".join(sorted(acc.containers))
            record |= self.stated_lot(acc.lot_id)
            record["epcis_event_hash"] = " ".join(sorted(acc.hashes))
            if acc.ids:
                record["epcis_event_id"] = " ".join(sorted(acc.ids))
            record |= _error_columns(self.declarations(acc.erroneous))
            self.out.add("lots", record, acc.origins)
        self.fill_units()

    def stated_lot(self, lot_id: str) -> Record:
        """The lot's properties its EPCClass master data states in lotgraph's own terms (an
        export of lotgraph's): they are what the lot is, over what its events suggest."""
        element = _class_element(self.classes, "lot", lot_id)
        if element is None:
            return {}
        stated: Record = {}
        for name, value in lotgraph_fields(element.attributes).items():
            column = _LOT_FIELDS.get(name, name)
            kind = _LOT_REFERENCE_KINDS.get(column)
            stated[column] = _local(str(value), kind) if kind else value
        return stated

    def material_unit(self, material_id: str) -> str | None:
        element = _class_element(self.classes, "material", material_id)
        value = element.attributes.get(f"{LOTGRAPH_MDA}unit") if element else None
        return str(value) if value else None

    def fill_units(self) -> None:
        """A quantity without uom is a count in its lot's unit: the lot's here, else the
        stored lot's, else ``ea``."""
        here = {str(r["lot_id"]): str(r["unit"]) for r in self.out.records.get("lots", [])}
        missing = sorted(
            {
                str(r["lot_id"])
                for kind in ("consumptions", "outputs", "shipments", "movements")
                for r in self.out.records.get(kind, [])
                if r.get("unit") is None and str(r["lot_id"]) not in here
            }
        )
        stored = dict(self.lot_units(missing)) if missing else {}
        for kind in ("consumptions", "outputs", "shipments", "movements"):
            for record in self.out.records.get(kind, []):
                lot = str(record["lot_id"])
                if record.get("unit") is None:
                    record["unit"] = here.get(lot) or stored.get(lot) or COUNT_UNIT
                if record.get("quantity") is None:
                    record["quantity"] = 0.0
                    record["quantity_unknown"] = "true"

    def master_records(self) -> None:
        """Materials (EPCClass master data of the lots' materials), suppliers and customers
        (Party master data of the parties the events name)."""
        materials = {str(r["material_id"]) for r in self.out.records.get("lots", [])}
        units = {str(r["material_id"]): str(r["unit"]) for r in self.out.records.get("lots", [])}
        for material in sorted(materials):
            element = _class_element(self.classes, "material", material)
            if element is None:
                continue  # nothing says what it is: a placeholder until a bundle does
            attrs = element.attributes
            name = (
                attrs.get(f"{MDA}descriptionShort")
                or attrs.get(f"{MDA}regulatedProductName")
                or attrs.get(f"{MDA}name")
                or material
            )
            kind = attrs.get(f"{LOTGRAPH_MDA}kind") or (
                "intermediate" if material in self.produced else "raw"
            )
            unit = attrs.get(f"{LOTGRAPH_MDA}unit") or units[material]
            self.out.add(
                "materials",
                {"material_id": material, "name": str(name), "kind": str(kind), "unit": str(unit)},
                (),
            )
        for party, role in sorted(self.used_parties.items()):  # role: supplier or customer
            record: Record = {
                f"{role}_id": _local(party, role),
                "name": self.party_name(party),
                "country": self.party_country(party),
            }
            if role == "supplier":
                record["status"] = DEFAULT_SUPPLIER_STATUS
            self.out.add(f"{role}s", record, ())


def map_document(document: EpcisDocument, lot_units: LotUnits | None = None) -> MappedDocument:
    """The document's events and master data as canonical records (docs/EPCIS.md).

    ``lot_units`` gives the stored unit of lots the document only refers to (a quantity
    without ``uom`` is a count in its lot's unit)."""
    return _Mapper(document, lot_units or (lambda ids: {})).map()
