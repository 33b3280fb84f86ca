"""The CBV 2.0 event hash (GS1 CBV 2.0 §8.9.2): a content-based id of an EPCIS event.

An event is reduced to a *pre-hash string*: its fields in a fixed order, each written
``name=value``, with identifiers as canonical GS1 Digital Link URIs, times in UTC at
millisecond precision, CBV values as their web URIs, numbers without leading or trailing
zeros, lists sorted, and the fields the standard leaves out (``eventID``, ``recordTime``,
``errorDeclaration``, comments) left out; user extensions follow, sorted. The hash is the
SHA-256 of that string, written ``ni:///sha-256;<hex>?ver=CBV2.0``.

The details follow GS1's reference implementation (github.com/RalphTro/epcis-event-hash-
generator), which the standard cites and whose examples the tests check: the event is first
seen as the tree its XML form would have (lists as elements with one child per item, so the
JSON form and the XML form of an event hash alike), then written in the order below.
Elements of that tree are consumed as they are written, so what is left after the ordered
fields (extensions, ``ilmd``, the source/destination/business-transaction lists, unknown
fields) is written after them, sorted. Events of the common shapes (:func:`direct_prehash`:
lotgraph's exports, most partners' events) are written directly to the same string instead,
without the tree.

The body is an event in the EPCIS 2.0 JSON form as :mod:`ingest.epcis.document` reads it:
user-extension keys as ``{namespace}local`` (``prefix:local`` when the prefix is unknown).
"""

from __future__ import annotations

import functools
import hashlib
import math
import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, Union

from graph.identifiers import to_digital_link

HASH_VERSION = "CBV2.0"

# A tree element: (name, text, children); the items of a source, destination or business
# transaction list are pairs of elements (type, value) whose order is kept.
Element = tuple[str, str, list[Any]]
Pair = tuple[Element, Element]
Node = Union[Element, Pair]  # noqa: UP007 - a type alias evaluated at run time


def _words(text: str) -> list[str]:
    return text.split()


_ORDER_QUANTITY = [("epcClass", None), ("quantity", None), ("uom", None)]
_SENSOR_METADATA = [
    (n, None)
    for n in _words(
        "time startTime endTime deviceID deviceMetadata rawData dataProcessingMethod bizRules"
    )
]
_SENSOR_REPORT = [
    (n, None)
    for n in _words(
        "type exception deviceID deviceMetadata rawData dataProcessingMethod time microorganism"
        " chemicalSubstance value component stringValue booleanValue hexBinaryValue uriValue"
        " minValue maxValue meanValue sDev percRank percValue uom coordinateReferenceSystem"
    )
]
# The order of an event's fields in the pre-hash string (CBV 2.0 §8.9.2 table): a field name
# and, for a field with children, the order of its children.
Order = list[tuple[str, Any]]
FIELD_ORDER: Order = [
    ("eventTime", None),
    ("eventTimeZoneOffset", None),
    ("certificationInfo", None),
    ("parentID", None),
    ("epcList", [("epc", None)]),
    ("inputEPCList", [("epc", None)]),
    ("childEPCs", [("epc", None)]),
    ("quantityList", [("quantityElement", _ORDER_QUANTITY)]),
    ("childQuantityList", [("quantityElement", _ORDER_QUANTITY)]),
    ("inputQuantityList", [("quantityElement", _ORDER_QUANTITY)]),
    ("outputEPCList", [("epc", None)]),
    ("outputQuantityList", [("quantityElement", _ORDER_QUANTITY)]),
    ("action", None),
    ("transformationID", None),
    ("bizStep", None),
    ("disposition", None),
    ("persistentDisposition", [("set", None), ("unset", None)]),
    ("readPoint", [("id", None)]),
    ("bizLocation", [("id", None)]),
    # the three typed lists are matched by no element name here (their items are pairs), so
    # they are written with the remaining fields, after the sensor data, as the reference does
    ("bizTransactionList", []),
    ("sourceList", []),
    ("destinationList", []),
    (
        "sensorElementList",
        [
            (
                "sensorElement",
                [("sensorMetadata", _SENSOR_METADATA), ("sensorReport", _SENSOR_REPORT)],
            )
        ],
    ),
]
# fields the hash leaves out: they are no part of what happened
EXCLUDED_FIELDS = frozenset({"recordTime", "eventID", "type", "errorDeclaration"})
_IGNORED_KEYS = frozenset(
    {"#text", "rdfs:comment", "comment", "{http://www.w3.org/2000/01/rdf-schema#}comment"}
)
_TYPED_LISTS = ("sourceList", "destinationList", "bizTransactionList")
_PAIR_VALUE = {"sourceList": "source", "destinationList": "destination"}

# CBV values given as bare terms, by (parent field, field): the web-URI prefix of the term
_VOCABULARY = {
    ("", "bizStep"): "https://ref.gs1.org/cbv/BizStep-",
    ("", "disposition"): "https://ref.gs1.org/cbv/Disp-",
    ("persistentDisposition", "set"): "https://ref.gs1.org/cbv/Disp-",
    ("persistentDisposition", "unset"): "https://ref.gs1.org/cbv/Disp-",
    ("bizTransactionList", "type"): "https://ref.gs1.org/cbv/BTT-",
    ("sourceList", "type"): "https://ref.gs1.org/cbv/SDT-",
    ("destinationList", "type"): "https://ref.gs1.org/cbv/SDT-",
    ("errorDeclaration", "reason"): "https://ref.gs1.org/cbv/ER-",
    ("sensorReport", "type"): "https://gs1.org/voc/",
    ("sensorReport", "exception"): "https://gs1.org/voc/",
}
_CURIE_PREFIXES = {"gs1:": "https://gs1.org/voc/", "cbv:": "https://ref.gs1.org/cbv/"}
_CBV_URNS = {
    "urn:epcglobal:cbv:bizstep:": "https://ref.gs1.org/cbv/BizStep-",
    "urn:epcglobal:cbv:disp:": "https://ref.gs1.org/cbv/Disp-",
    "urn:epcglobal:cbv:btt:": "https://ref.gs1.org/cbv/BTT-",
    "urn:epcglobal:cbv:sdt:": "https://ref.gs1.org/cbv/SDT-",
    "urn:epcglobal:cbv:er:": "https://ref.gs1.org/cbv/ER-",
}


def event_hash(body: dict[str, Any], *, ignore: Iterable[str] = ()) -> str:
    """The CBV 2.0 event hash of an event body, ``ni:///sha-256;<hex>?ver=CBV2.0``.
    ``ignore`` names further top-level fields to leave out (a repository's own fields)."""
    digest = hashlib.sha256(prehash(body, ignore=ignore).encode("utf-8")).hexdigest()
    return f"ni:///sha-256;{digest}?ver={HASH_VERSION}"


def prehash(body: dict[str, Any], *, ignore: Iterable[str] = ()) -> str:
    """The canonical pre-hash string of an event body (what :func:`event_hash` hashes)."""
    ignored = frozenset(ignore)
    direct = direct_prehash(body, ignored)
    return direct if direct is not None else tree_prehash(body, ignored)


def tree_prehash(body: dict[str, Any], ignored: frozenset[str] = frozenset()) -> str:
    """The pre-hash string through the tree the event's XML form would have: the general
    way, for every event (:func:`direct_prehash` is the fast one for common events)."""
    fields = {k: v for k, v in body.items() if k not in ignored}
    _, _, children = _structure(("event", "", _children(fields, "")))
    ordered = _ordered(children, FIELD_ORDER)
    remaining = [c for c in children if _name(c) not in EXCLUDED_FIELDS]
    return f"eventType={body.get('type', '')}{ordered}{_generic(remaining) if remaining else ''}"


# --- the direct way, for the common shapes of an event ------------------------------------
#
# Most events (every event lotgraph exports, and most a partner sends) use few of the
# fields: times, an action, CBV terms, locations by id, EPC and quantity lists, the typed
# source/destination/transaction lists, an ILMD of plain values and extensions of plain
# values. For those the tree above reduces to a direct writing of each field, about ten
# times faster; any other shape (a field or a nesting the cases below do not name) gives
# None and is hashed through the tree. tests/epcis/test_event_hash.py checks that both ways
# agree on every reference example and on generated documents.

_SCALARS = (str, int, float, bool, type(None))
_ORDERED_SCALARS = frozenset(
    {"eventTime", "eventTimeZoneOffset", "parentID", "action", "transformationID"}
    | {"bizStep", "disposition"}
)
_EPC_LISTS = frozenset({"epcList", "inputEPCList", "outputEPCList"})
_QUANTITY_LISTS = frozenset(
    {"quantityList", "inputQuantityList", "outputQuantityList", "childQuantityList"}
)
_LOCATIONS = frozenset({"readPoint", "bizLocation"})
_QUANTITY_FIELDS = ("epcClass", "quantity", "uom")
_TYPED_VALUE = {"sourceList": "source", "destinationList": "destination"}
# names the tree treats in a way of their own (renamed, kept in order, read as text or as
# a typed list item): an event that uses one of them where the cases below do not expect
# it is hashed through the tree
_SPECIAL_NAMES = (
    frozenset(name for name, _ in FIELD_ORDER)
    | _IGNORED_KEYS
    | {"childEPCs", "inputEPC", "outputEPC", "inputQuantity", "outputQuantity"}
    | {"childQuantity", "quantity", "quantityElement", "epc", "bizTransaction"}
    | {"source", "destination", "ilmd"}
)
_WRITTEN_ORDER = [name for name, _ in FIELD_ORDER]


# Both are pure functions of a few values that a document repeats (the same lots, sites
# and parties in many events): cached, with True and 1 kept apart (``typed``).
@functools.lru_cache(maxsize=1 << 16, typed=True)
def _field(name: str, value: Any, parent: str = "") -> str:
    """``name=value`` (the value canonical), or the bare name when the value is empty."""
    text = _text(value, parent, name).strip()
    return f"{name}={_canonical_value(text)}" if text else name


@functools.lru_cache(maxsize=1 << 16, typed=True)
def _ordered_field(name: str, value: Any, parent: str = "") -> str:
    """A field of the field order: ``name=value``, or nothing when the value is empty."""
    text = _text(value, parent, name).strip()
    if not text:
        return ""
    return f"{name}={_utc_millis(text) if name == 'eventTime' else _canonical_value(text)}"


def direct_prehash(body: dict[str, Any], ignored: frozenset[str] = frozenset()) -> str | None:
    """The pre-hash string written directly, or None for an event of another shape."""
    if not isinstance(body.get("eventTime"), str) or "eventTime" in ignored:
        return None  # without it, the tree takes an event's extensions apart
    ordered: dict[str, str] = {}
    rest: list[str] = []
    written: str | None
    for key, value in body.items():
        if key in ignored or key in EXCLUDED_FIELDS:
            continue
        if key in _ORDERED_SCALARS:
            if not isinstance(value, _SCALARS):
                return None
            written = _ordered_field(key, value)
        elif key in _EPC_LISTS:
            written = _epc_list(key, value)
        elif key in _QUANTITY_LISTS:
            written = _quantity_list(key, value)
        elif key in _LOCATIONS:
            if not isinstance(value, dict) or len(value) != 1 or "id" not in value:
                return None
            if not isinstance(value["id"], _SCALARS):
                return None
            below = _ordered_field("id", value["id"], key)
            written = key + below if below else ""
        elif key in _TYPED_VALUE or key == "bizTransactionList":
            typed = _typed_list(key, value)
            if typed is None:
                return None
            if typed:
                rest.append(typed)
            continue
        elif key == "ilmd":
            ilmd = _plain_ilmd(value)
            if ilmd is None:
                return None
            rest.append(ilmd)
            continue
        elif key in _SPECIAL_NAMES or not isinstance(value, _SCALARS):
            return None
        else:
            rest.append(_field(key, value))
            continue
        if written is None:
            return None
        if written:
            ordered[key] = written
    rest.sort()
    head = "".join(ordered[name] for name in _WRITTEN_ORDER if name in ordered)
    return f"eventType={body.get('type', '')}{head}{''.join(rest)}"


def _epc_list(key: str, value: Any) -> str | None:
    if not isinstance(value, list):
        return None
    epcs = []
    for item in value:
        if not isinstance(item, _SCALARS):
            return None
        written = _ordered_field("epc", item)
        if written:
            epcs.append(written)
    epcs.sort()
    return key + "".join(epcs) if epcs else ""


def _quantity_list(key: str, value: Any) -> str | None:
    if not isinstance(value, list):
        return None
    elements = []
    for item in value:
        if not isinstance(item, dict) or not item or not item.keys() <= set(_QUANTITY_FIELDS):
            return None
        below = ""
        for name in _QUANTITY_FIELDS:
            if name in item:
                if not isinstance(item[name], _SCALARS):
                    return None
                below += _ordered_field(name, item[name], key)
        if below:
            elements.append("quantityElement" + below)
    elements.sort()
    return key + "".join(elements) if elements else ""


def _typed_list(key: str, value: Any) -> str | None:
    if not isinstance(value, list):
        return None
    value_name = _TYPED_VALUE.get(key, "bizTransaction")
    pairs = []
    for item in value:
        if not isinstance(item, dict) or item.keys() != {"type", value_name}:
            return None
        kind, named = item["type"], item[value_name]
        if not isinstance(kind, _SCALARS) or not isinstance(named, _SCALARS):
            return None
        pairs.append(_field("type", kind, key) + _field(value_name, named, key))
    pairs.sort()
    return key + "".join(pairs) if pairs else ""


def _plain_ilmd(value: Any) -> str | None:
    if not isinstance(value, dict):
        return None
    fields = []
    for name, item in value.items():
        if name in _SPECIAL_NAMES or name.endswith("List") or not isinstance(item, _SCALARS):
            return None
        fields.append(_field(name, item, "ilmd"))
    fields.sort()
    return "ilmd" + "".join(fields)


# --- the tree an event's XML form would have ---------------------------------------------


def _text(value: Any, parent: str, key: str) -> str:
    # JSON true/false/null as XML writes them, so both forms of an event hash alike (the
    # reference tool's JSON path would write Python's "True" and "None")
    if isinstance(value, bool):
        text = "true" if value else "false"
    else:
        text = "" if value is None else str(value)
    prefix = _VOCABULARY.get((parent, key))
    if prefix and text and ":" not in text:
        return prefix + text
    for curie, namespace in _CURIE_PREFIXES.items():
        if text.startswith(curie):
            return namespace + text[len(curie) :]
    return text


def _children(obj: dict[str, Any], parent: str) -> list[Any]:
    children: list[Any] = []
    for key, value in obj.items():
        if key in _IGNORED_KEYS:
            continue
        items = [
            _element(key, item, parent) for item in (value if isinstance(value, list) else [value])
        ]
        if isinstance(value, list) and key.endswith("List"):
            # a JSON list is an XML element with one child per item: epcList > epc
            if key in _TYPED_LISTS:
                children.append((key, "", [_typed_pair(key, item) for item in items]))
            else:
                children.append((key, "", [(key[:-4], t, c) for _, t, c in items]))
        else:
            children.extend(items)
    # an XML element's children are unordered, except a typed list item's (type, value)
    if not any(k in obj for k in ("bizTransaction", "source", "destination")):
        children.sort()
    return children


def _element(key: str, value: Any, parent: str) -> Element:
    if isinstance(value, dict):
        # a list's items (sourceList) carry the vocabulary of the list
        return key, str(value.get("#text", "")), _children(value, key)
    return key, _text(value, parent, key), []


def _structure(element: Element) -> Element:
    """The XML names of what the JSON form names otherwise: ``childEPCs`` items are ``epc``
    children, ``quantityList`` items are ``quantityElement``s."""
    name, text, children = element
    rest = list(children)
    child_epcs: list[Any] = [("epc", c[1], []) for c in rest if c[0] == "childEPCs"]
    if child_epcs:
        rest = [c for c in rest if c[0] != "childEPCs"] + [("childEPCs", "", child_epcs)]
    corrected = [c if c[0] in _TYPED_LISTS else _structure(c) for c in rest]
    if name in ("inputEPC", "outputEPC"):
        name = "epc"
    elif name in ("inputQuantity", "outputQuantity", "childQuantity") or (
        name == "quantity" and corrected
    ):
        name = "quantityElement"
    return name, text, corrected


def _typed_pair(list_name: str, item: Element) -> Any:
    """A typed list item as the pair (type, value), type first as the XML attribute is."""
    value_name = _PAIR_VALUE.get(list_name, "bizTransaction")
    fields = {c[0]: c for c in item[2]}
    pair = tuple(fields[n] for n in ("type", value_name) if n in fields)
    return pair if len(pair) == 2 else pair[0] if pair else ("", "", [])


# --- writing the tree ----------------------------------------------------------------------


def _name(node: Any) -> Any:
    return node[0]


def _ordered(children: list[Any], order: Order) -> str:
    """The fields named in ``order``, in that order (same-named ones sorted), each removed
    from ``children`` once written unless it still has unwritten children; a nested
    element's user extensions follow its ordered fields."""
    written = ""
    extensions = _take_extensions(children)
    for field, sub_order in order:
        values = []
        for child in [c for c in children if _name(c) == field]:
            text = _element_text(child, sub_order)
            if text:
                values.append(text)
            if not child[2]:
                children.remove(child)
        values.sort()
        written += "".join(values)
    if extensions:
        written += _generic(extensions)
    return written


def _take_extensions(children: list[Any]) -> list[Any]:
    """Remove and return the user extensions (``{namespace/}name``) of a nested element;
    an event's own extensions are written with its remaining fields instead."""
    if len(children) <= 1:
        return []
    if any(isinstance(c[0], str) and ("eventTime" in c[0] or "action" in c[0]) for c in children):
        return []
    found = [c for c in children if isinstance(c[0], str) and "{" in c[0] and "/}" in c[0]]
    for extension in found:
        children.remove(extension)
    return found


def _element_text(element: Element, sub_order: Order | None) -> str:
    name, text, children = element
    below = _ordered(children, sub_order) if sub_order else ""
    text = text.strip()
    if text:
        is_time = "time" in name.lower() and "offset" not in name.lower()
        text = "=" + (_utc_millis(text) if is_time else _canonical_value(text))
    return name + text + below if text or below else ""


def _generic(children: list[Any]) -> str:
    """Elements outside the field order: ``name=value`` and their children, sorted (the
    items of a typed list keep their (type, value) order)."""
    values = []
    for child in children:
        if isinstance(child[0], tuple):
            values.append(_generic(list(child)))
        else:
            text = child[1].strip()
            if text:
                text = "=" + _canonical_value(text)
            values.append(child[0] + text + _generic(child[2]))
    if len(children) > 1 and not any(
        c[0] in ("bizTransaction", "source", "destination") for c in children
    ):
        values.sort()
    return "".join(values)


# --- values ----------------------------------------------------------------------------------


# Pure functions of one value, and a document repeats its values (the same lot, site and
# party in many events): each is canonicalised once.
@functools.lru_cache(maxsize=1 << 16)
def _canonical_value(text: str) -> str:
    """CBV URNs as web URIs, numbers without redundant digits, GS1 keys as canonical GS1
    Digital Link URIs; other text as it is."""
    for urn, web in _CBV_URNS.items():
        text = text.replace(urn, web)
    text = _canonical_number(text)
    if "." in text:
        link = to_digital_link(text)
        if link:
            return link
    return text


def _canonical_number(text: str) -> str:
    try:
        number = float(text)
    except ValueError:
        return text
    if not math.isfinite(number):
        return text
    return str(int(number)) if number == int(number) else str(number)


_OFFSET = re.compile(r"([+-])(\d{2}):?(\d{2})$")


@functools.lru_cache(maxsize=1 << 16)
def _utc_millis(text: str) -> str:
    """An xsd:dateTime in UTC at millisecond precision (``2019-10-21T09:58:56.591Z``);
    a time given without an offset is taken as UTC; text that is no time as it is."""
    try:
        moment = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        return text
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    # round half to even to the millisecond, as the reference does
    millis = round(moment.microsecond, -3)
    moment = moment.replace(microsecond=0) + timedelta(microseconds=millis)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
