"""Reading EPCIS documents: every reference file, valid and invalid, in JSON-LD and XML.

The reference files (shared/reference/epcis, SOURCES.md) are read in place. Each invalid
one must be refused (EpcisError) or give a problem naming an event and a field; each valid
one must read without a problem and with the events the file really has, counted here
independently of the reader (list items in JSON, event elements in XML). Files that are no
EPCIS document, and documents that break a rule of the standard although they sit among the
valid examples, are listed below with the reason and what the reader says of them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from defusedxml import ElementTree as SafeElementTree

from ingest.epcis.document import converted_events, read_document
from ingest.epcis.model import VTYPE_EPC_CLASS, VTYPE_LOCATION, EpcisError
from tests.epcis.reference import find_reference_dir, reference_dir

EVENT_TYPES = {
    "ObjectEvent",
    "AggregationEvent",
    "TransactionEvent",
    "TransformationEvent",
    "AssociationEvent",
}
REFUSED = "refused"

# Files that are no EPCIS document: refused as a whole.
NOT_DOCUMENTS = {
    **{
        f"gs1-epcis/JSON-Schema-test/{n}.json": "a bare event (schema test), not a document"
        for n in ("AggregationEvent", "AssociationEvent", "Extended-Event", "ObjectEvent")
    },
    "gs1-epcis/JSON-Schema-test/TransformationEvent.json": "a bare event, not a document",
    **{
        f"openepcis/2.0/EPCIS/JSON/Capture/Events/{n}.json": "a bare event for the capture API"
        for n in (
            "AggregationEvent",
            "AssociationEvent",
            "ObjectEvent",
            "TransactionEvent",
            "TransformationEvent",
        )
    },
    **{
        f"openepcis/2.0/EPCIS/XML/Capture/Events/{n}.xml": "a bare event for the capture API"
        for n in (
            "AggregationEvent",
            "AssociationEvent",
            "Namespace_event",
            "ObjectEvent",
            "TransactionEvent",
            "TransformationEvent",
        )
    },
    "openepcis/1.2/EPCIS/XML/Capture/Documents/Single_event.xml": "a bare 1.2 event",
    "openepcis/1.2/EPCIS/XML/Capture/Documents/Single_event_with_namespace.xml": "a bare event",
    "openepcis/2.0/EPCIS/JSON/Query/Queries/SimpleEventQuery.json": "a query, not a document",
    "openepcis/2.0/EPCIS/XML/Query/Queries/SimpleEventQuery.xml": "a query, not a document",
    **{
        f"gs1-epcis/XML/CaptureJob/Example-CaptureJob{n}.xml": "a capture-job status"
        for n in ("Running", "Success", "WithErrorFile", "WithErrors")
    },
    "gs1-epcis/XML/CBV/CBV-11.4-2020-06-16a.xml": "an EPCISMasterDataDocument (vocabulary only)",
    "gs1-epcis/XML/Mimasu/Example-masterData.xml": "an EPCISMasterDataDocument",
    **{
        f"opentraceability/tests-data/gs1-vocab-{n}01.json": "a GS1 Web Vocabulary record"
        for n in ("locations", "products", "tradingparties")
    },
    "opentraceability/testserver-data/beef-leather-example/events.jsonld": (
        "not JSON: it has // comments"
    ),
}

# Documents among the valid examples that break a rule: what the reader says, and why.
FAULTY = {
    # the reference hash tool's examples break rules on purpose (the hash must not care)
    "epcis-event-hash-generator/examples/SensorDataExamples.xml": (
        {(11, "sensorElementList")},
        "ilmd before sensorElementList, against the EPCIS 2.0 XSD sequence",
    ),
    "epcis-event-hash-generator/examples/epcisDocHavingEventWithIgnoreFields.jsonld": (
        {(1, "eventID")},
        "both events carry one eventID",
    ),
    "epcis-event-hash-generator/examples/epcisQueryDocHavingEventWithIgnoreFields.jsonld": (
        {(1, "eventID")},
        "both events carry one eventID",
    ),
    "epcis-event-hash-generator/examples/epcisXmlQueryDocHavingEventWithIgnoreFields.xml": (
        REFUSED,
        "queryName and resultsBody straight under the root: no EPCISBody",
    ),
    "epcis-event-hash-generator/expected_equal/differentRepresentationsOfAggregationEvent.xml": (
        {(2, "eventTimeZoneOffset")},
        "elements out of XSD order, to show the hash ignores order",
    ),
    "epcis-event-hash-generator/expected_equal/timestampPrecision.xml": (
        {(0, "epcList"), (1, "epcList"), (2, "epcList"), (3, "epcList")},
        "epcList after bizStep, against the XSD sequence",
    ),
    "epcis-event-hash-generator/expected_equal/timestampTimeZone.xml": (
        {(0, "epcList"), (1, "epcList"), (2, "epcList")},
        "epcList after bizStep, against the XSD sequence",
    ),
    "epcis-event-hash-generator/expected_equal/timestampTimeZone2.xml": (
        {(0, "epcList"), (1, "epcList")},
        "epcList after bizStep, against the XSD sequence",
    ),
    "epcis-event-hash-generator/expected_equal/timestampTimeZone3.xml": (
        {(0, "epcList"), (1, "epcList")},
        "epcList after bizStep, against the XSD sequence",
    ),
    "gs1-epcis/XML/WithEventHashID/event_with_identical_hash_id_7.json": (
        {(0, "bizStep")},
        "a CBV URN in JSON (the official JSON schema rejects it too)",
    ),
    "gs1-epcis/epcis-1.2-xml/ObjectEvent.xml": (
        {(1, "myField")},
        "a user extension without a namespace (a GS1 draft file)",
    ),
    "openepcis/1.2/EPCIS/XML/Capture/Documents/ObjectEvent_all_possible_fields.xml": (
        {(0, "ilmd")},
        "ILMD on an OBSERVE ObjectEvent (ILMD belongs to ADD)",
    ),
    "openepcis/2.0/EPCIS/JSON/Capture/Documents/SensorData_with_combined_events.json": (
        {(8, "sensorElementList[0].sensorReport[0].type")},
        "a sensorReport without type (the official JSON schema rejects it too)",
    ),
    "openepcis/2.0/EPCIS/JSON/Query/SensorData_with_combined_events.json": (
        {(8, "sensorElementList[0].sensorReport[0].type")},
        "a sensorReport without type (the official JSON schema rejects it too)",
    ),
    "openepcis/2.0/EPCIS/XML/Capture/Documents/JumbledFieldsOrder.xml": (
        {(0, "eventTimeZoneOffset")},
        "elements out of XSD order (openepcis's converter tolerates it; its own"
        " Invalid/ObjectEvent_with_wrong_element_order.xml says the XSD does not)",
    ),
    "openepcis/2.0/EPCIS/XML/Query/JumbledFieldsOrder.xml": (
        {(0, "eventTimeZoneOffset")},
        "elements out of XSD order",
    ),
    "opentraceability/tests-data/EPCISQUERYDOCUMENT_with_errorDeclarations.jsonld": (
        {(1, "ilmd.harvestStartDate"), (5, "transformationID")},
        "an ILMD field without namespace; a transformationID that is a bare UUID, not a URI",
    ),
    "opentraceability/tests-data/EPCISQueryDocument_duplicate_eventIDs.jsonld": (
        {(1, "eventID")},
        "two events with one eventID (the file's purpose)",
    ),
    "opentraceability/tests-data/EPCISQueryDocument_with_masterdata.jsonld": (
        {(0, "eventTime")},
        "an eventTime without offset",
    ),
    "opentraceability/tests-data/all_wholechain_events.jsonld": (
        {(5, "transformationID"), (6, "transformationID"), (13, "transformationID")},
        "empty transformationIDs",
    ),
    "opentraceability/tests-data/traceback_tests.jsonld": (
        {(9, "eventID"), (10, "eventID"), (11, "eventID"), (12, "eventID"), (20, "eventID")},
        "5 events reuse an earlier event's eventID with other content",
    ),
    "opentraceability/tests-data/gdst_extensions_03.xml": (REFUSED, 'schemaVersion="0"'),
    "opentraceability/tests-data/querydoc_example02.xml": (REFUSED, 'schemaVersion="0"'),
}

# An invalid example the reader cannot see as invalid, and why.
INVALID_BUT_READ = {
    "opentraceability/tests-data/gdst_processing_missing_lot_number.jsonld": (
        "breaks a GDST profile rule (a processing event names its output lot in ILMD"
        " cbvmda:lotNumber), not an EPCIS one: the output class urn:test:output is the lot"
    ),
}


def _is_invalid_example(relative: str) -> bool:
    name = relative.rsplit("/", 1)[-1]
    if "/Invalid/" in relative:
        return True
    if relative.startswith("opentraceability/"):
        return (
            any(k in name for k in ("_malformed", "invalid", "missing"))
            or name == "querydoc_fail_schemacheck.xml"
        )
    return False


def _reference_files() -> list[str]:
    root = find_reference_dir()
    if root is None:
        return ["missing"]
    return sorted(
        str(p.relative_to(root))
        for p in root.rglob("*")
        if p.suffix in (".json", ".jsonld", ".xml")
        and not str(p.relative_to(root)).startswith("schema/")
    )


# without the reference folder each parametrised test still runs once, to skip (fail in CI)
INVALID = [f for f in _reference_files() if _is_invalid_example(f)] or ["missing"]
VALID = [f for f in _reference_files() if not _is_invalid_example(f)]


def _local(tag: Any) -> str:
    return str(tag).rsplit("}", 1)[-1]


def _count_events(path: Path) -> int:
    """The events a file holds, counted without the reader: JSON list items, XML elements."""
    data = path.read_bytes()
    if path.suffix == ".xml":
        root = SafeElementTree.fromstring(data)
        count = 0
        for event_list in (e for e in root.iter() if _local(e.tag) == "EventList"):
            for child in event_list:
                # EPCIS 1.2 wraps the events it added after 1.0 in <extension>
                count += len(child) if _local(child.tag) == "extension" else 1
        return count
    body = json.loads(data.decode("utf-8-sig"))["epcisBody"]
    if "queryResults" in body:
        body = body["queryResults"]["resultsBody"]
    return len(body.get("eventList", []))


def test_the_reference_folder_has_both_kinds() -> None:
    reference_dir()
    assert len(INVALID) >= 30
    assert len(VALID) >= 200
    assert set(NOT_DOCUMENTS) | set(FAULTY) <= set(VALID)
    assert set(INVALID_BUT_READ) <= set(INVALID)


@pytest.mark.parametrize("relative", INVALID)
def test_an_invalid_example_is_refused_or_its_faulty_event_named(relative: str) -> None:
    path = reference_dir() / relative
    try:
        document = read_document(path.read_bytes(), name=relative)
    except EpcisError as refusal:
        assert refusal.field and refusal.reason
        return
    if relative in INVALID_BUT_READ:
        assert not document.problems and document.events
        ilmd = document.events[0].body.get("ilmd", {})
        assert not any(key.endswith("lotNumber") for key in ilmd)
        return
    assert document.problems, f"{relative} read without a problem"
    for problem in document.problems:
        assert problem.field and problem.reason
        assert 0 <= problem.index < _count_events(path)
        assert str(problem).startswith(problem.event_id or f"event {problem.index + 1}")
    # every event accounted for: taken, or named in a problem
    taken = {e.index for e in document.events}
    named = {p.index for p in document.problems}
    assert taken | named == set(range(_count_events(path)))
    assert not taken & named


@pytest.mark.parametrize("relative", VALID)
def test_a_valid_example_reads_whole(relative: str) -> None:
    path = reference_dir() / relative
    data = path.read_bytes()
    if relative in NOT_DOCUMENTS:
        with pytest.raises(EpcisError):
            read_document(data, name=relative)
        return
    expected = FAULTY.get(relative, (set(), ""))[0]
    if expected == REFUSED:
        with pytest.raises(EpcisError):
            read_document(data, name=relative)
        return
    document = read_document(data, name=relative)
    assert {(p.index, p.field) for p in document.problems} == expected
    count = _count_events(path)
    assert len(document.events) + len(document.problems) == count
    assert [e.index for e in document.events] == sorted(
        set(range(count)) - {p.index for p in document.problems}
    )
    for event in document.events:
        assert event.type in EVENT_TYPES
        assert event.body["eventTime"] and event.body["eventTimeZoneOffset"]


def _json_files() -> list[str]:
    return [f for f in _reference_files() if f.endswith((".json", ".jsonld"))] or ["missing"]


@pytest.fixture(scope="module")
def official_schema() -> jsonschema.Draft7Validator:
    schema = json.loads((reference_dir() / "schema" / "EPCIS-JSON-Schema.json").read_text())
    return jsonschema.Draft7Validator(
        schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER
    )


@pytest.mark.parametrize("relative", _json_files())
def test_what_the_official_json_schema_rejects_the_reader_rejects(
    relative: str, official_schema: jsonschema.Draft7Validator
) -> None:
    data = (reference_dir() / relative).read_bytes()
    try:
        parsed = json.loads(data.decode("utf-8-sig"))
    except json.JSONDecodeError:
        with pytest.raises(EpcisError):
            read_document(data, name=relative)
        return
    if official_schema.is_valid(parsed):
        return
    try:
        document = read_document(data, name=relative)
    except EpcisError:
        return
    assert document.problems, f"the official schema rejects {relative}; the reader took it"


# --- the reader's own behaviour ---------------------------------------------------------------


def _minimal_json(events: list[dict[str, Any]]) -> bytes:
    return json.dumps(
        {
            "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
            "type": "EPCISDocument",
            "schemaVersion": "2.0",
            "creationDate": "2024-01-01T00:00:00Z",
            "epcisBody": {"eventList": events},
        }
    ).encode()


def _object_event(**fields: Any) -> dict[str, Any]:
    event = {
        "type": "ObjectEvent",
        "eventTime": "2024-01-01T10:00:00+01:00",
        "eventTimeZoneOffset": "+01:00",
        "epcList": ["urn:epc:id:sgtin:4012345.011111.1"],
        "action": "OBSERVE",
    }
    event.update(fields)
    return event


def test_syntax_from_media_type_else_first_character() -> None:
    data = _minimal_json([_object_event()])
    assert len(read_document(b"  \n" + data, name="x").events) == 1
    assert len(read_document(data, name="x", media_type="application/ld+json").events) == 1
    with pytest.raises(EpcisError, match="not an XML document"):
        read_document(data, name="x", media_type="application/xml; charset=utf-8")
    with pytest.raises(EpcisError, match="neither JSON nor XML"):
        read_document(b"eventTime,epc\n", name="x.csv")


def test_schema_version_and_document_type_are_checked() -> None:
    document = json.loads(_minimal_json([]))
    for key, value, field in (
        ("schemaVersion", "3.0", "schemaVersion"),
        ("type", "EPCISMasterDataDocument", "type"),
    ):
        with pytest.raises(EpcisError) as refusal:
            read_document(json.dumps({**document, key: value}).encode(), name="x")
        assert refusal.value.field == field


def test_bad_events_are_named_and_left_out_and_the_rest_kept() -> None:
    events = [
        _object_event(eventID="urn:uuid:1"),
        _object_event(
            eventID="urn:uuid:2", quantityList=[{"epcClass": "urn:x:1", "quantity": "5"}]
        ),
        _object_event(eventID="urn:uuid:1"),
        _object_event(eventTime="yesterday"),
        {"type": "ShipmentEvent", "eventTime": "2024-01-01T10:00:00Z"},
        _object_event(bizStep="shipping", disposition="in_transit"),
    ]
    document = read_document(_minimal_json(events), name="x")
    assert [e.index for e in document.events] == [0, 5]
    assert [(p.index, p.event_id, p.field) for p in document.problems] == [
        (1, "urn:uuid:2", "quantityList[0].quantity"),
        (2, "urn:uuid:1", "eventID"),
        (3, None, "eventTime"),
        (4, None, "type"),
    ]
    assert str(document.problems[0]).startswith("urn:uuid:2: quantityList[0].quantity: ")


def test_json_ld_prefixes_expand_extension_keys() -> None:
    data = json.loads(_minimal_json([_object_event(**{"ex:batch": "B1"})]))
    data["@context"].append({"ex": "https://example.com/ns/"})
    body = read_document(json.dumps(data).encode(), name="x").events[0].body
    assert body["{https://example.com/ns/}batch"] == "B1"


def test_xml_refuses_entity_declarations() -> None:
    bomb = b"""<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaa">
    <!ENTITY b "&a;&a;&a;&a;">]><epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:2"
    schemaVersion="2.0"><EPCISBody><EventList/></EPCISBody></epcis:EPCISDocument>"""
    with pytest.raises(EpcisError, match="not an XML document"):
        read_document(bomb, name="bomb.xml")


def test_epcis_12_xml_extension_wrappers_are_unwrapped() -> None:
    path = (
        reference_dir()
        / "openepcis/1.2/EPCIS/XML/Capture/Documents/GS1_US_Pharma_Example_2_2_1_1.xml"
    )
    document = read_document(path.read_bytes(), name=path.name)
    assert document.schema_version == "1.2" and not document.problems
    commissioning = [e for e in document.events if e.body.get("ilmd")]
    assert commissioning, "the commissioning events' ILMD (inside <extension> in 1.2)"
    lots = {
        value
        for e in commissioning
        for key, value in e.body["ilmd"].items()
        if key.endswith("lotNumber")
    }
    assert lots == {"A123"}
    classes = {e.id for e in document.vocabularies[VTYPE_EPC_CLASS]}
    assert classes and all(e.attributes for e in document.vocabularies[VTYPE_EPC_CLASS])
    assert len(document.vocabularies[VTYPE_LOCATION]) == 4
    assert classes


def test_xml_and_json_forms_of_one_document_read_alike() -> None:
    folder = reference_dir() / "epcis-event-hash-generator" / "examples"
    for stem in ("epcisDocWithVariousEventTypes", "epcisDocWithShippingAndTransportingEvent"):
        from_json = converted_events((folder / f"{stem}.jsonld").read_bytes(), name=stem)
        from_xml = converted_events((folder / f"{stem}.xml").read_bytes(), name=stem)
        assert [e["type"] for e in from_json] == [e["type"] for e in from_xml]
        for a, b in zip(from_json, from_xml, strict=True):
            for key in ("epcList", "inputEPCList", "outputEPCList", "parentID", "action"):
                assert a.get(key) == b.get(key)
            for key in ("quantityList", "inputQuantityList", "outputQuantityList"):
                assert [q["epcClass"] for q in a.get(key, [])] == [
                    q["epcClass"] for q in b.get(key, [])
                ]
                assert [float(q.get("quantity", 0)) for q in a.get(key, [])] == [
                    float(q.get("quantity", 0)) for q in b.get(key, [])
                ]


def test_json_master_data_in_the_header() -> None:
    path = reference_dir() / "opentraceability/tests-data/gdst_data_withmasterdata.jsonld"
    document = read_document(path.read_bytes(), name=path.name)
    classes = document.vocabularies[VTYPE_EPC_CLASS]
    raw = json.loads(path.read_bytes())["epcisHeader"]["epcisMasterData"]["vocabularyList"]
    expected = sum(
        len(v["vocabularyElementList"]) for v in raw if v["type"].lower().endswith("epcclass")
    )
    assert len(classes) == expected
    tuna = next(e for e in classes if e.id.endswith("fisherman01.tunau"))
    assert tuna.attributes["urn:epcglobal:cbv:mda#descriptionShort"] == "Whole Yellowfin Tuna"
