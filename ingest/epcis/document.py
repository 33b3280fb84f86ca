"""Reading an EPCIS document's bytes into an :class:`EpcisDocument`.

Read: EPCIS 2.0 JSON / JSON-LD (EPCISDocument, EPCISQueryDocument) and EPCIS 2.0 and 1.2 XML
(both document types; 1.2's ``<extension>`` wrappers are unwrapped). Every event is converted
to the EPCIS 2.0 JSON form (see ``model``); user extensions are keyed ``{namespace}local``
(``prefix:local`` when a JSON-LD prefix is not defined in the document's own ``@context``).

Each event is checked here, in Python, against the rules of the standard that lotgraph relies
on (required fields for its type, times, actions, CBV terms, quantities, list shapes, the XML
element order): an event that breaks one becomes an :class:`EventProblem` and is left out; a
document that is no EPCIS document at all raises :class:`EpcisError`.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as SafeElementTree
import orjson
from defusedxml import DefusedXmlException

from ingest.epcis.model import (
    EVENT_TYPES,
    VTYPE_BUSINESS_LOCATION,
    VTYPE_EPC_CLASS,
    VTYPE_LOCATION,
    VTYPE_PARTY,
    VTYPE_READ_POINT,
    EpcisDocument,
    EpcisError,
    EpcisEvent,
    EventProblem,
    VocabularyElement,
)

_VTYPES = {
    v.lower(): v
    for v in (
        VTYPE_EPC_CLASS,
        VTYPE_LOCATION,
        VTYPE_READ_POINT,
        VTYPE_BUSINESS_LOCATION,
        VTYPE_PARTY,
    )
}
_DOCUMENT_TYPES = ("EPCISDocument", "EPCISQueryDocument")
SUPPORTED_VERSIONS = ("2.0", "1.2", "1.1", "1.0")

# Prefixes the standard EPCIS 2.0 JSON-LD context defines, for master-data attribute ids.
_STANDARD_PREFIXES = {
    "cbvmda": "urn:epcglobal:cbv:mda#",
    "gs1": "https://gs1.org/voc/",
    "cbv": "https://ref.gs1.org/cbv/",
    "epcis": "https://ref.gs1.org/epcis/",
}


def _terms(text: str) -> frozenset[str]:
    return frozenset(text.split())


# CBV 2.0 terms (GS1 CBV 2.0 §7): a bare value of these fields must be one of them.
CBV_BIZ_STEPS = _terms(
    """accepting arriving assembling collecting commissioning consigning
    creating_class_instance cycle_counting decommissioning departing destroying disassembling
    dispensing encoding entering_exiting holding inspecting installing killing loading other
    packing picking receiving removing repackaging repairing replacing reserving retail_selling
    sampling sensor_reporting shipping staging_outbound stock_taking stocking storing
    transporting unloading unpacking void_shipping"""
)
CBV_DISPOSITIONS = _terms(
    """active available completeness_inferred completeness_verified conformant
    container_closed container_open damaged destroyed dispensed disposed encoded expired
    in_progress in_transit inactive mismatch_class mismatch_instance mismatch_quantity
    needs_replacement no_pedigree_match non_conformant non_sellable_other partially_dispensed
    recalled reserved retail_sold returned sellable_accessible sellable_not_accessible stolen
    unavailable unknown"""
)
CBV_BTT = _terms("bol cert desadv inv pedigree po poc prodorder recadv rma testprd testres upevt")
CBV_SDT = frozenset({"owning_party", "possessing_party", "location"})
CBV_ERROR_REASONS = frozenset({"did_not_occur", "incorrect_data"})
_CBV_FORMS = {
    "bizStep": (CBV_BIZ_STEPS, "urn:epcglobal:cbv:bizstep:", "https://ref.gs1.org/cbv/BizStep-"),
    "disposition": (CBV_DISPOSITIONS, "urn:epcglobal:cbv:disp:", "https://ref.gs1.org/cbv/Disp-"),
    "btt": (CBV_BTT, "urn:epcglobal:cbv:btt:", "https://ref.gs1.org/cbv/BTT-"),
    "sdt": (CBV_SDT, "urn:epcglobal:cbv:sdt:", "https://ref.gs1.org/cbv/SDT-"),
    "reason": (CBV_ERROR_REASONS, "urn:epcglobal:cbv:er:", "https://ref.gs1.org/cbv/ER-"),
}


def read_document(data: bytes, *, name: str, media_type: str | None = None) -> EpcisDocument:
    """The document in ``data`` (``name`` is how errors name it, e.g. the file name);
    raises EpcisError when it is no EPCIS document at all. The syntax comes from
    ``media_type`` (``application/ld+json``, ``application/json``, ``application/xml``,
    ``text/xml``), else from the first non-blank character."""
    document, converted = _parse(data, name, media_type, lenient=False)
    seen: dict[str, dict[str, Any]] = {}  # eventID -> the first event's body
    for index, body, problems in converted:
        _accept(document, index, body, problems, seen)
    return document


def converted_events(
    data: bytes, *, name: str, media_type: str | None = None
) -> list[dict[str, Any]]:
    """Every event of the document in the EPCIS 2.0 JSON form, in document order, before
    any check (for hashing and diagnosis: an event :func:`read_document` refuses is here
    too). The event list is looked for anywhere in an XML document."""
    _, converted = _parse(data, name, media_type, lenient=True)
    return [body for _, body, _ in converted]


# an event as converted: its index, its body and what the conversion found wrong
Converted = list[tuple[int, dict[str, Any], list[tuple[str, str]]]]


def _parse(
    data: bytes, name: str, media_type: str | None, *, lenient: bool
) -> tuple[EpcisDocument, Converted]:
    if _syntax(data, media_type) == "xml":
        return _from_xml(data, name, lenient=lenient)
    try:
        text = data.decode("utf-8-sig")
        try:
            parsed = orjson.loads(text)  # several times faster
        except orjson.JSONDecodeError:
            # what orjson refuses and json reads (integers beyond 64 bits, NaN, lone
            # surrogates), or the reason in json's words
            parsed = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise EpcisError(name, f"not a JSON document: {exc}") from None
    return _from_json(parsed)


def _syntax(data: bytes, media_type: str | None) -> str:
    kind = (media_type or "").split(";", 1)[0].strip().lower()
    if kind.endswith("json"):
        return "json"
    if kind.endswith("xml"):
        return "xml"
    start = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if start in (b"{", b"["):
        return "json"
    if start == b"<":
        return "xml"
    raise EpcisError("document", "neither JSON nor XML")


# --- JSON and JSON-LD --------------------------------------------------------------------


def _from_json(parsed: Any) -> tuple[EpcisDocument, Converted]:
    if not isinstance(parsed, dict):
        raise EpcisError("type", "the document is not a JSON object")
    document_type = parsed.get("type")
    if document_type not in _DOCUMENT_TYPES:
        raise EpcisError("type", f"{document_type!r} is not EPCISDocument or EPCISQueryDocument")
    version = _check_version(parsed.get("schemaVersion"))
    if "@context" not in parsed:
        raise EpcisError("@context", "missing: an EPCIS 2.0 JSON document is JSON-LD")
    namespaces = _context_prefixes(parsed.get("@context"))
    body = parsed.get("epcisBody")
    if not isinstance(body, dict):
        raise EpcisError("epcisBody", "missing or not an object")
    if document_type == "EPCISQueryDocument":
        query_results = body.get("queryResults")
        if not isinstance(query_results, dict):
            raise EpcisError("epcisBody.queryResults", "missing or not an object")
        results = query_results.get("resultsBody", {})
        events = results.get("eventList", []) if isinstance(results, dict) else None
        vocabularies = results.get("vocabularyList", []) if isinstance(results, dict) else []
    else:
        events = body.get("eventList", [body["event"]] if "event" in body else None)
        vocabularies = []
    if not isinstance(events, list):
        raise EpcisError("eventList", "missing or not a list")
    header = parsed.get("epcisHeader") or {}
    master = header.get("epcisMasterData", {}) if isinstance(header, dict) else {}
    if isinstance(master, dict):
        vocabularies = list(master.get("vocabularyList", [])) + list(vocabularies or [])
    document = EpcisDocument(
        document_type=document_type,
        schema_version=version,
        creation_date=parsed.get("creationDate"),
        events=[],
        vocabularies=_vocabularies(vocabularies, namespaces),
    )
    converted: Converted = []
    shared = _Expander(namespaces)  # for the events without a context of their own
    for index, raw in enumerate(events):
        if not isinstance(raw, dict):
            converted.append((index, {}, [("event", "not a JSON object")]))
            continue
        own = _context_prefixes(raw.get("@context"))
        expander = _Expander({**namespaces, **own}) if own else shared
        body = expander.object({k: v for k, v in raw.items() if k != "@context"})
        converted.append((index, body, _json_only_problems(body)))
    return document, converted


def _json_only_problems(body: dict[str, Any]) -> list[tuple[str, str]]:
    """EPCIS 2.0 JSON writes a CBV value as its bare term or web URI, never as the CBV
    URN of the XML bindings (the JSON schema's vocab-other-uri)."""
    values: list[tuple[str, Any]] = [(f, body.get(f)) for f in ("bizStep", "disposition")]
    for list_name in ("bizTransactionList", "sourceList", "destinationList"):
        items = body.get(list_name)
        for i, item in enumerate(items if isinstance(items, list) else []):
            if isinstance(item, dict):
                values.append((f"{list_name}[{i}].type", item.get("type")))
    declaration = body.get("errorDeclaration")
    if isinstance(declaration, dict):
        values.append(("errorDeclaration.reason", declaration.get("reason")))
    problems = [
        (field, f"{value!r}: JSON gives a CBV value as its bare term or web URI, not a URN")
        for field, value in values
        if isinstance(value, str) and value.startswith("urn:epcglobal:cbv")
    ]
    # the JSON schema requires a sensor report's measurement type (XML leaves it optional)
    sensors = body.get("sensorElementList")
    for i, sensor in enumerate(sensors if isinstance(sensors, list) else []):
        reports = sensor.get("sensorReport") if isinstance(sensor, dict) else None
        for j, report in enumerate(reports if isinstance(reports, list) else []):
            if isinstance(report, dict) and "type" not in report:
                problems.append((f"sensorElementList[{i}].sensorReport[{j}].type", "missing"))
    return problems


def _context_prefixes(context: Any) -> dict[str, str]:
    """The prefixes a JSON-LD ``@context`` defines inline (a URL of a context is not
    fetched: the standard context's terms are known here)."""
    found: dict[str, str] = {}
    for item in context if isinstance(context, list) else [context]:
        if isinstance(item, dict):
            found.update({k: v for k, v in item.items() if isinstance(v, str) and ":" in v})
    return found


def _expand_key(key: str, namespaces: dict[str, str]) -> str:
    prefix, colon, local = key.partition(":")
    if colon and prefix in namespaces and not local.startswith("//"):
        return "{" + namespaces[prefix] + "}" + local
    return key


def _expand_json(value: Any, namespaces: dict[str, str]) -> Any:
    """Extension keys as ``{namespace}local`` and CURIE values as full URIs, with the
    document's own prefixes (as the CBV 2.0 event hash compares them)."""
    if isinstance(value, str):
        return _Expander(namespaces).text(value) if ":" in value else value
    return _Expander(namespaces).value(value)


class _Expander:
    """``_expand_json`` for one set of prefixes; each key is expanded once (an event's keys
    repeat in every item of its lists), text without a colon is left at once."""

    def __init__(self, namespaces: dict[str, str]) -> None:
        self.namespaces = namespaces
        self.keys: dict[str, str] = {}

    def value(self, value: Any) -> Any:
        if isinstance(value, dict):
            return self.object(value)
        if isinstance(value, list):
            return self.items(value)
        if isinstance(value, str) and ":" in value:
            return self.text(value)
        return value

    def items(self, values: list[Any]) -> list[Any]:
        # a list's items are mostly objects (quantity elements, typed lists) or text (EPCs)
        return [
            self.object(v)
            if isinstance(v, dict)
            else (self.text(v) if ":" in v else v)
            if isinstance(v, str)
            else self.value(v)
            for v in values
        ]

    def object(self, value: dict[str, Any]) -> dict[str, Any]:
        keys = self.keys
        out: dict[str, Any] = {}
        for key, item in value.items():
            expanded = keys.get(key)
            if expanded is None:
                expanded = keys[key] = _expand_key(key, self.namespaces)
            if isinstance(item, str):
                out[expanded] = self.text(item) if ":" in item else item
            elif isinstance(item, dict):
                out[expanded] = self.object(item)
            elif isinstance(item, list):
                out[expanded] = self.items(item)
            else:
                out[expanded] = item
        return out

    def text(self, value: str) -> str:
        prefix, _, local = value.partition(":")
        if prefix in self.namespaces and not local.startswith("//"):
            return self.namespaces[prefix] + local
        return value


def _check_version(value: Any) -> str:
    version = str(value or "")
    if not version:
        raise EpcisError("schemaVersion", "missing")
    if not any(version == v or version.startswith(v + ".") for v in SUPPORTED_VERSIONS):
        raise EpcisError("schemaVersion", f"{version!r} is not supported (2.0 or 1.x)")
    return version


def _vocabularies(
    vocabulary_list: Any, namespaces: dict[str, str]
) -> dict[str, list[VocabularyElement]]:
    found: dict[str, list[VocabularyElement]] = {}
    prefixes = {**_STANDARD_PREFIXES, **namespaces}
    expander = _Expander(prefixes)
    # the same few attribute ids in every element: each expanded once
    names: dict[str, str] = {}

    def name(given: Any) -> str:
        text = str(given)
        found = names.get(text)
        if found is None:
            found = names[text] = expander.value(text)
        return found

    for vocabulary in vocabulary_list if isinstance(vocabulary_list, list) else []:
        if not isinstance(vocabulary, dict):
            continue
        vtype = str(vocabulary.get("type", ""))
        elements = found.setdefault(_VTYPES.get(vtype.lower(), vtype), [])
        for element in vocabulary.get("vocabularyElementList", []) or []:
            if not isinstance(element, dict) or "id" not in element:
                continue
            attributes = {
                name(a.get("id")): a.get("attribute")
                for a in element.get("attributes", []) or []
                if isinstance(a, dict)
            }
            children = tuple(str(c) for c in element.get("children", []) or [])
            elements.append(VocabularyElement(str(element["id"]), attributes, children))
    return found


# --- XML, EPCIS 2.0 and 1.2 -------------------------------------------------------------

_XML_DOCUMENT_TYPES = {
    "EPCISDocument": "EPCISDocument",
    "EPCISQueryDocument": "EPCISQueryDocument",
}
_LIST_ITEMS = {
    "epcList": "epc",
    "childEPCs": "epc",
    "inputEPCList": "epc",
    "outputEPCList": "epc",
    "quantityList": "quantityElement",
    "childQuantityList": "quantityElement",
    "inputQuantityList": "quantityElement",
    "outputQuantityList": "quantityElement",
    "bizTransactionList": "bizTransaction",
    "sourceList": "source",
    "destinationList": "destination",
    "sensorElementList": "sensorElement",
}
_TYPED_ITEMS = {"bizTransaction", "source", "destination"}
_NUMERIC_ATTRIBUTES = _terms("value minValue maxValue meanValue sDev percRank percValue")
# The XSD order of an event's standard elements (the EPCIS 2.0 schema; 1.2's is the same
# once its extension wrappers are removed): an XML event must give them in this order.
_XML_HEAD = "eventTime recordTime eventTimeZoneOffset eventID errorDeclaration certificationInfo"
_XML_TAIL = "sourceList destinationList sensorElementList persistentDisposition"
_XML_ORDER = {
    event_type: f"{_XML_HEAD} {fields} {_XML_TAIL} {last}".split()
    for event_type, fields, last in (
        (
            "ObjectEvent",
            "epcList action bizStep disposition readPoint bizLocation bizTransactionList quantityList",
            "ilmd",
        ),
        (
            "AggregationEvent",
            "parentID childEPCs action bizStep disposition readPoint bizLocation"
            " bizTransactionList childQuantityList",
            "",
        ),
        (
            "TransactionEvent",
            "bizTransactionList parentID epcList action bizStep disposition readPoint bizLocation"
            " quantityList",
            "",
        ),
        (
            "TransformationEvent",
            "inputEPCList inputQuantityList outputEPCList outputQuantityList transformationID"
            " bizStep disposition readPoint bizLocation bizTransactionList",
            "ilmd",
        ),
        (
            "AssociationEvent",
            "parentID childEPCs childQuantityList action bizStep disposition readPoint bizLocation"
            " bizTransactionList",
            "",
        ),
    )
}


_REQUIRED_12 = {
    "ObjectEvent": ("epcList",),
    "AggregationEvent": ("childEPCs",),
    "TransactionEvent": ("epcList",),
}
_XSI_NIL = "{http://www.w3.org/2001/XMLSchema-instance}nil"


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _is_extension(tag: str) -> bool:
    """A namespaced element other than an EPCIS one is a user extension."""
    return tag.startswith("{") and not tag.startswith("{urn:epcglobal:epcis")


def _from_xml(data: bytes, name: str, *, lenient: bool) -> tuple[EpcisDocument, Converted]:
    try:
        root = SafeElementTree.fromstring(data)
    except (ParseError, DefusedXmlException) as exc:
        raise EpcisError(name, f"not an XML document: {exc}") from None
    document_type = _XML_DOCUMENT_TYPES.get(_local(root.tag))
    if document_type is None or (
        root.tag.startswith("{") and not root.tag.startswith("{urn:epcglobal:epcis")
    ):
        raise EpcisError(name, f"<{_local(root.tag)}> is not an EPCIS document")
    version = _check_version(root.get("schemaVersion"))
    event_list = _xml_event_list(root, document_type) if not lenient else None
    if lenient:
        event_list = next((e for e in root.iter() if _local(e.tag) == "EventList"), None)
    vocabularies: dict[str, list[VocabularyElement]] = {}
    for vocabulary in root.iter():
        if _local(vocabulary.tag) == "Vocabulary":
            _xml_vocabulary(vocabulary, vocabularies)
    document = EpcisDocument(
        document_type=document_type,  # type: ignore[arg-type]
        schema_version=version,
        creation_date=root.get("creationDate"),
        events=[],
        vocabularies=vocabularies,
    )
    if event_list is None:
        if not vocabularies:
            raise EpcisError("EventList", "missing")
        return document, []
    converted: Converted = []
    for index, element in enumerate(_xml_events(event_list)):
        event_type = _local(element.tag)
        if event_type not in EVENT_TYPES:
            converted.append((index, {"type": event_type}, []))
        else:
            body, problems = _xml_event(element, event_type, version.startswith("2"))
            converted.append((index, body, problems))
    return document, converted


def _xml_event_list(root: Element, document_type: str) -> Element | None:
    """The EventList where the schema puts it (master-data-only documents have none)."""
    body = _child(root, "EPCISBody")
    if body is None:
        raise EpcisError("EPCISBody", "missing")
    if document_type == "EPCISQueryDocument":
        results = _child(body, "QueryResults")
        if results is None:
            raise EpcisError("EPCISBody.QueryResults", "missing")
        # queryName is left out by many query documents in the wild: only the results count
        body = _child(results, "resultsBody")
        if body is None:
            raise EpcisError("QueryResults.resultsBody", "missing")
    return _child(body, "EventList") if body is not None else None


def _child(element: Element, local: str) -> Element | None:
    for child in element:
        if _local(child.tag) == local:
            return child
    return None


def _xml_events(event_list: Element) -> list[Element]:
    """The events of an EventList, 1.2's ``<extension>`` wrappers unwrapped."""
    events = []
    for child in event_list:
        if _local(child.tag) == "extension" and not _is_extension(child.tag):
            events.extend(_xml_events(child))
        elif isinstance(child.tag, str):
            events.append(child)
    return events


def _unwrapped(element: Element) -> list[Element]:
    """Children with ``<extension>``/``<baseExtension>`` wrappers (EPCIS 1.2) unwrapped."""
    children = []
    for child in element:
        if not isinstance(child.tag, str):
            continue  # a comment or processing instruction
        if _local(child.tag) in ("extension", "baseExtension") and not _is_extension(child.tag):
            children.extend(_unwrapped(child))
        else:
            children.append(child)
    return children


def _xml_event(
    element: Element, event_type: str, is_20: bool
) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    problems: list[tuple[str, str]] = []
    body: dict[str, Any] = {"type": event_type}
    order = _XML_ORDER[event_type]
    last_position = -1
    for child in _unwrapped(element):
        tag = child.tag
        if _is_extension(tag):
            _add(body, tag, _xml_extension(child))
            continue
        field = _local(tag)
        if field not in order:
            problems.append((field, f"not a field of {event_type}"))
            continue
        position = order.index(field)
        # 1.2 documents carry 2.0's fields inside <extension> in any order: only 2.0's XSD
        # sequence is checked
        if position < last_position and is_20:
            problems.append(
                (field, f"out of order: the schema puts it before {order[last_position]}")
            )
        last_position = max(last_position, position)
        if field in body:
            problems.append((field, "given more than once"))
            continue
        body[field] = _xml_field(field, child)
    if not is_20:
        # the 1.2 schema requires these elements, empty or not
        for field in _REQUIRED_12.get(event_type, ()):
            if field not in body:
                problems.append((field, f"missing: EPCIS 1.2 requires it in a {event_type}"))
    return body, problems


def _add(target: dict[str, Any], key: str, value: Any) -> None:
    if key in target:
        existing = target[key]
        target[key] = (existing if isinstance(existing, list) else [existing]) + [value]
    else:
        target[key] = value


def _text(element: Element) -> str:
    return (element.text or "").strip()


def _xml_field(field: str, element: Element) -> Any:
    if field in _LIST_ITEMS:
        return [_xml_list_item(field, item) for item in _unwrapped(element)]
    if field in ("readPoint", "bizLocation"):
        place: dict[str, Any] = {}
        for child in _unwrapped(element):
            key = child.tag if _is_extension(child.tag) else _local(child.tag)
            _add(place, key, _text(child) if key == "id" else _xml_extension(child))
        return place
    if field == "persistentDisposition":
        disposition: dict[str, list[str]] = {}
        for child in _unwrapped(element):
            disposition.setdefault(_local(child.tag), []).append(_text(child))
        return disposition
    if field == "errorDeclaration":
        declaration: dict[str, Any] = {}
        for child in _unwrapped(element):
            key = child.tag if _is_extension(child.tag) else _local(child.tag)
            if key == "correctiveEventIDs":
                declaration[key] = [_text(c) for c in child]
            else:
                _add(
                    declaration,
                    key,
                    _text(child) if not _is_extension(key) else _xml_extension(child),
                )
        return declaration
    if field == "ilmd":
        ilmd: dict[str, Any] = {}
        for child in _unwrapped(element):
            _add(ilmd, child.tag, _xml_extension(child))
        return ilmd
    return _text(element)


def _xml_list_item(list_name: str, item: Element) -> Any:
    name = _local(item.tag)
    if name in _TYPED_ITEMS:
        typed: dict[str, Any] = {}
        if item.get("type") is not None:
            typed["type"] = item.get("type")
        typed[name] = _text(item)
        return typed
    if name == "quantityElement":
        quantity: dict[str, Any] = {}
        for child in _unwrapped(item):
            key = _local(child.tag)
            if child.get(_XSI_NIL) == "true":
                continue  # xsi:nil: no value given
            quantity[key] = _number(_text(child)) if key == "quantity" else _text(child)
        return quantity
    if name == "sensorElement":
        sensor: dict[str, Any] = {}
        for child in _unwrapped(item):
            key = child.tag if _is_extension(child.tag) else _local(child.tag)
            if key == "sensorMetadata":
                sensor[key] = _sensor_attributes(child)
            elif key == "sensorReport":
                sensor.setdefault("sensorReport", []).append(_sensor_attributes(child))
            else:
                _add(sensor, key, _xml_extension(child))
        return sensor
    return _text(item)


def _sensor_attributes(element: Element) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key, value in element.attrib.items():
        values[key] = _number(value) if key in _NUMERIC_ATTRIBUTES else value
    for child in _unwrapped(element):
        _add(values, child.tag, _xml_extension(child))
    return values


def _number(text: str) -> Any:
    """A number as JSON has it (an int when written without a fraction); text that is no
    number stays text, for the checks to name."""
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text


def _xml_extension(element: Element) -> Any:
    """A user extension (or ILMD) element in the JSON form: its text, or an object of its
    attributes and children (with ``#text`` when it has both)."""
    children = [c for c in element if isinstance(c.tag, str)]
    if not children and not element.attrib:
        return _text(element)
    value: dict[str, Any] = {}
    for key, attribute in element.attrib.items():
        value[key] = attribute
    for child in children:
        _add(value, child.tag, _xml_extension(child))
    if _text(element):
        value["#text"] = _text(element)
    return value


def _xml_vocabulary(vocabulary: Element, found: dict[str, list[VocabularyElement]]) -> None:
    vtype = vocabulary.get("type", "")
    elements = found.setdefault(_VTYPES.get(vtype.lower(), vtype), [])
    for element in vocabulary.iter():
        if _local(element.tag) != "VocabularyElement" or element.get("id") is None:
            continue
        attributes: dict[str, Any] = {}
        children: list[str] = []
        for child in _unwrapped(element):
            if _local(child.tag) == "attribute" and child.get("id"):
                nested = [c for c in child if isinstance(c.tag, str)]
                attributes[str(child.get("id"))] = (
                    {c.tag: _xml_extension(c) for c in nested} if nested else _text(child)
                )
            elif _local(child.tag) == "children":
                children.extend(_text(c) for c in child)
        elements.append(VocabularyElement(str(element.get("id")), attributes, tuple(children)))


# --- the checks common to both syntaxes --------------------------------------------------

_OFFSET = re.compile(r"^[+-]((0\d|1[0-3]):[0-5]\d|14:00)$")
# seconds may be left out (``2006-11-07T13:00Z``), as some producers do; the offset may not
_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$")
_UOM = re.compile(r"^[A-Z0-9]{2,3}$")
_ACTIONS = ("ADD", "OBSERVE", "DELETE")


def _accept(
    document: EpcisDocument,
    index: int,
    body: dict[str, Any],
    problems: list[tuple[str, str]],
    seen: dict[str, dict[str, Any]],
) -> None:
    """Keep the event, or record why not (its first problem). A second event with the
    eventID of an earlier one is left out, whether or not its content is the same: an id
    names one event (the first is kept); only the first's error declaration (EPCIS 2.0
    §7.4.1.2: the same event with ``errorDeclaration`` added) is kept too."""
    problems = problems + check_event(body)
    unwritable = unwritable_text(body)
    if unwritable is not None:
        problems.append(unwritable)
    event_id = body.get("eventID") if isinstance(body.get("eventID"), str) else None
    if event_id and not problems:
        first = seen.setdefault(event_id, body)
        if first is not body and not _declares_error_of(body, first):
            same = "the same content" if first == body else "other content"
            problems.append(
                ("eventID", f"the same eventID as an earlier event of the document ({same})")
            )
    if problems:
        field, reason = problems[0]
        document.problems.append(EventProblem(index, event_id, field, reason))
    else:
        document.events.append(EpcisEvent(index, body))


def unwritable_text(body: dict[str, Any]) -> tuple[str, str] | None:
    """The first text of the event no store keeps as given (a NUL character, a lone
    surrogate), as (field path, reason); None for almost every event, found in one pass."""
    try:
        if b"\\u0000" not in orjson.dumps(body):
            return None
    except orjson.JSONEncodeError:
        pass  # a lone surrogate: orjson encodes valid UTF-8 only
    return _text_problem(body, "")


def _text_problem(value: Any, path: str) -> tuple[str, str] | None:
    if isinstance(value, str):
        if "\x00" in value:
            return path, "contains a NUL character"
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return path, "is not valid Unicode (a lone surrogate)"
        return None
    items: list[tuple[str, Any]] = []
    if isinstance(value, dict):
        for key, item in value.items():
            shown = str(key).encode("utf-8", "backslashreplace").decode("utf-8")
            shown = shown.replace("\x00", "\\x00")  # the path names the field writably
            name = f"{path}.{shown}" if path else shown
            items += [(name, str(key)), (name, item)]
    elif isinstance(value, list):
        items = [(f"{path}[{i}]", item) for i, item in enumerate(value)]
    for name, item in items:
        found = _text_problem(item, name)
        if found is not None:
            return found
    return None


_NOT_THE_EVENT = ("errorDeclaration", "recordTime")


def _declares_error_of(later: dict[str, Any], first: dict[str, Any]) -> bool:
    """Whether ``later`` is the error declaration of ``first``: the same event, declared."""
    if "errorDeclaration" not in later or "errorDeclaration" in first:
        return False
    return {k: v for k, v in later.items() if k not in _NOT_THE_EVENT} == {
        k: v for k, v in first.items() if k not in _NOT_THE_EVENT
    }


def _is_time(value: Any) -> bool:
    if not isinstance(value, str) or not _TIME.match(value):
        return False
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:\S+$")


def _is_uri(value: Any) -> bool:
    return isinstance(value, str) and bool(_URI.match(value))


def _cbv_problem(kind: str, value: Any) -> str | None:
    terms, urn, web = _CBV_FORMS[kind]
    if not isinstance(value, str) or not value:
        return f"{value!r} is not a CBV value or URI"
    for prefix in (urn, web):
        if value.startswith(prefix):
            term = value[len(prefix) :]
            return None if term in terms else f"{value!r} is no term of the CBV"
    if ":" in value:
        return None if _is_uri(value) else f"{value!r} is not a URI"
    return None if value in terms else f"{value!r} is no term of the CBV"


def check_event(body: dict[str, Any]) -> list[tuple[str, str]]:  # noqa: C901 - one rule a line
    """The (field, reason) of each rule of EPCIS 2.0 the event body breaks."""
    problems: list[tuple[str, str]] = []
    event_type = body.get("type")
    if event_type not in EVENT_TYPES:
        return [("type", f"unknown event type {event_type!r}")]
    if "eventTime" not in body:
        problems.append(("eventTime", "missing"))
    elif not _is_time(body["eventTime"]):
        problems.append(("eventTime", f"{body['eventTime']!r} is not an xsd:dateTime with offset"))
    if "recordTime" in body and not _is_time(body["recordTime"]):
        problems.append(("recordTime", f"{body['recordTime']!r} is not an xsd:dateTime"))
    offset = body.get("eventTimeZoneOffset")
    if offset is None:
        problems.append(("eventTimeZoneOffset", "missing"))
    elif not isinstance(offset, str) or not _OFFSET.match(offset):
        problems.append(("eventTimeZoneOffset", f"{offset!r} is not ±hh:mm"))
    if "eventID" in body and not _is_uri(body["eventID"]):
        problems.append(("eventID", f"{body['eventID']!r} is not a URI"))
    certification = body.get("certificationInfo")
    if certification is not None:
        items = certification if isinstance(certification, list) else [certification]
        if not all(isinstance(c, str) and c for c in items):
            problems.append(("certificationInfo", "not a URI or a list of URIs"))
    action = body.get("action")
    if event_type == "TransformationEvent":
        if action is not None:
            problems.append(("action", "a TransformationEvent has no action"))
    elif action is None:
        problems.append(("action", "missing"))
    elif action not in _ACTIONS:
        problems.append(("action", f"{action!r} is not ADD, OBSERVE or DELETE"))
    for field in ("bizStep", "disposition"):
        if field in body:
            reason = _cbv_problem(field, body[field])
            if reason:
                problems.append((field, reason))
    persistent = body.get("persistentDisposition")
    if persistent is not None:
        if not isinstance(persistent, dict):
            problems.append(("persistentDisposition", "not an object"))
        else:
            for key, values in persistent.items():
                for value in values if isinstance(values, list) else [values]:
                    reason = _cbv_problem("disposition", value)
                    if reason:
                        problems.append((f"persistentDisposition.{key}", reason))
    for field in ("parentID", "transformationID"):
        if field in body and not _is_uri(body[field]):
            problems.append((field, f"{body[field]!r} is not a URI"))
    for field in ("readPoint", "bizLocation"):
        if field in body:
            place = body[field]
            if not isinstance(place, dict) or not _is_uri(place.get("id")):
                problems.append((f"{field}.id", "missing or not a URI"))
    for field in ("epcList", "childEPCs", "inputEPCList", "outputEPCList"):
        if field in body:
            values = body[field]
            if not isinstance(values, list):
                problems.append((field, "not a list"))
            elif not all(_is_uri(v) for v in values):
                bad = next(v for v in values if not _is_uri(v))
                problems.append((field, f"{bad!r} is not a URI"))
    for field in ("quantityList", "childQuantityList", "inputQuantityList", "outputQuantityList"):
        if field in body:
            problems.extend(_quantity_problems(field, body[field]))
    for field, kind, value_key in (
        ("bizTransactionList", "btt", "bizTransaction"),
        ("sourceList", "sdt", "source"),
        ("destinationList", "sdt", "destination"),
    ):
        if field in body:
            problems.extend(_typed_list_problems(field, body[field], kind, value_key))
    if "sensorElementList" in body:
        problems.extend(_sensor_problems(body["sensorElementList"]))
    if "errorDeclaration" in body:
        declaration = body["errorDeclaration"]
        if not isinstance(declaration, dict) or not _is_time(declaration.get("declarationTime")):
            problems.append(("errorDeclaration.declarationTime", "missing or not a time"))
        elif "reason" in declaration:
            reason = _cbv_problem("reason", declaration["reason"])
            if reason:
                problems.append(("errorDeclaration.reason", reason))
    if "ilmd" in body:
        ilmd = body["ilmd"]
        if not isinstance(ilmd, dict):
            problems.append(("ilmd", "not an object"))
        else:
            for key in ilmd:
                if ":" not in key and not key.startswith("{"):
                    problems.append((f"ilmd.{key}", "an ILMD field must have a namespace"))
    problems.extend(_type_rules(event_type, body))
    return problems


def _type_rules(event_type: str, body: dict[str, Any]) -> list[tuple[str, str]]:
    """The fields each event type requires (EPCIS 2.0 §7.4)."""

    def given(field: str) -> bool:
        value = body.get(field)
        return isinstance(value, list) and len(value) > 0

    problems = []
    action = body.get("action")
    if event_type == "ObjectEvent":
        if (
            "epcList" not in body
            and not given("quantityList")
            and not (given("sensorElementList") and "readPoint" in body)
        ):
            problems.append(("epcList", "an ObjectEvent needs an epcList or a quantityList"))
        if "ilmd" in body and action != "ADD":
            problems.append(("ilmd", "ILMD is only given with action ADD"))
    elif event_type in ("AggregationEvent", "AssociationEvent"):
        if action in ("ADD", "DELETE") and "parentID" not in body:
            problems.append(("parentID", f"required for action {action}"))
        if event_type == "AssociationEvent" and "parentID" not in body:
            problems.append(("parentID", "an AssociationEvent needs a parentID"))
        if action != "DELETE" and not given("childEPCs") and not given("childQuantityList"):
            problems.append(("childEPCs", "needs childEPCs or a childQuantityList"))
    elif event_type == "TransactionEvent":
        if not given("bizTransactionList"):
            problems.append(("bizTransactionList", "a TransactionEvent needs one"))
        if "epcList" not in body and not given("quantityList") and action != "DELETE":
            problems.append(("epcList", "a TransactionEvent needs an epcList or a quantityList"))
    elif event_type == "TransformationEvent" and not any(
        given(f)
        for f in ("inputEPCList", "inputQuantityList", "outputEPCList", "outputQuantityList")
    ):
        problems.append(("inputEPCList", "a TransformationEvent needs inputs or outputs"))
    return problems


def _quantity_problems(field: str, items: Any) -> list[tuple[str, str]]:
    if not isinstance(items, list):
        return [(field, "not a list")]
    problems = []
    for i, item in enumerate(items):
        where = f"{field}[{i}]"
        if not isinstance(item, dict):
            problems.append((where, "not an object"))
            continue
        if not _is_uri(item.get("epcClass")):
            problems.append((f"{where}.epcClass", "missing or not a URI"))
        quantity = item.get("quantity")
        if "quantity" in item and (
            isinstance(quantity, bool) or not isinstance(quantity, int | float)
        ):
            problems.append((f"{where}.quantity", f"{quantity!r} is not a number"))
        if "uom" in item and not (isinstance(item["uom"], str) and _UOM.match(item["uom"])):
            problems.append((f"{where}.uom", f"{item['uom']!r} is not a UN/CEFACT unit code"))
        if "uom" in item and "quantity" not in item:
            problems.append((f"{where}.uom", "a unit without a quantity"))
        unknown = set(item) - {"epcClass", "quantity", "uom"}
        if unknown:
            problems.append((f"{where}.{sorted(unknown)[0]}", "not a field of a quantity element"))
    return problems


def _typed_list_problems(
    field: str, items: Any, kind: str, value_key: str
) -> list[tuple[str, str]]:
    if not isinstance(items, list):
        return [(field, "not a list")]
    problems = []
    for i, item in enumerate(items):
        where = f"{field}[{i}]"
        if not isinstance(item, dict):
            problems.append((where, "not an object"))
            continue
        if not _is_uri(item.get(value_key)):
            problems.append((f"{where}.{value_key}", "missing or not a URI"))
        if "type" in item:
            reason = _cbv_problem(kind, item["type"])
            if reason:
                problems.append((f"{where}.type", reason))
        elif kind == "sdt":
            problems.append((f"{where}.type", "missing"))
    return problems


def _sensor_problems(items: Any) -> list[tuple[str, str]]:
    if not isinstance(items, list):
        return [("sensorElementList", "not a list")]
    problems = []
    for i, item in enumerate(items):
        where = f"sensorElementList[{i}]"
        if not isinstance(item, dict) or not isinstance(item.get("sensorReport"), list):
            problems.append((f"{where}.sensorReport", "missing or not a list"))
            continue
        for j, report in enumerate(item["sensorReport"]):
            if not isinstance(report, dict):
                problems.append((f"{where}.sensorReport[{j}]", "not an object"))
                continue
            for key in _NUMERIC_ATTRIBUTES & set(report):
                value = report[key]
                if isinstance(value, bool) or not isinstance(value, int | float):
                    problems.append(
                        (f"{where}.sensorReport[{j}].{key}", f"{value!r} is not a number")
                    )
            if "time" in report and not _is_time(report["time"]):
                problems.append((f"{where}.sensorReport[{j}].time", "not an xsd:dateTime"))
    return problems
