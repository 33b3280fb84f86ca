"""Reading an EPCIS document's bytes into an :class:`EpcisDocument`.

JSON and JSON-LD (EPCIS 2.0) are read here today; XML (EPCIS 2.0 and 1.2) is converted to
the same JSON form (see ``model``).
"""

from __future__ import annotations

import json
from typing import Any

from ingest.epcis.model import (
    VTYPE_BUSINESS_LOCATION,
    VTYPE_EPC_CLASS,
    VTYPE_LOCATION,
    VTYPE_PARTY,
    VTYPE_READ_POINT,
    EpcisDocument,
    EpcisError,
    EpcisEvent,
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


def read_document(data: bytes, *, name: str, media_type: str | None = None) -> EpcisDocument:
    """The document in ``data`` (``name`` is how errors name it, e.g. the file name);
    raises EpcisError when it is no EPCIS document at all."""
    try:
        parsed = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise EpcisError(name, f"not a JSON document: {exc}") from None
    return _from_json(parsed)


def _from_json(parsed: Any) -> EpcisDocument:
    if not isinstance(parsed, dict):
        raise EpcisError("type", "the document is not a JSON object")
    document_type = parsed.get("type")
    if document_type not in _DOCUMENT_TYPES:
        raise EpcisError("type", f"{document_type!r} is not EPCISDocument or EPCISQueryDocument")
    body = parsed.get("epcisBody")
    if not isinstance(body, dict):
        raise EpcisError("epcisBody", "missing or not an object")
    if document_type == "EPCISQueryDocument":
        results = body.get("queryResults", {}).get("resultsBody", {})
        events = results.get("eventList", []) if isinstance(results, dict) else []
    else:
        events = body.get("eventList", [])
    if not isinstance(events, list):
        raise EpcisError("eventList", "not a list")
    header = parsed.get("epcisHeader") or {}
    master = header.get("epcisMasterData", {}) if isinstance(header, dict) else {}
    return EpcisDocument(
        document_type=document_type,
        schema_version=str(parsed.get("schemaVersion", "")),
        creation_date=parsed.get("creationDate"),
        events=[EpcisEvent(i, e) for i, e in enumerate(events) if isinstance(e, dict)],
        vocabularies=_vocabularies(master.get("vocabularyList", [])),
    )


def _vocabularies(vocabulary_list: list[Any]) -> dict[str, list[VocabularyElement]]:
    found: dict[str, list[VocabularyElement]] = {}
    for vocabulary in vocabulary_list:
        vtype = str(vocabulary.get("type", ""))
        elements = found.setdefault(_VTYPES.get(vtype.lower(), vtype), [])
        for element in vocabulary.get("vocabularyElementList", []):
            attributes = {
                str(a.get("id")): a.get("attribute") for a in element.get("attributes", [])
            }
            children = tuple(str(c) for c in element.get("children", []))
            elements.append(VocabularyElement(str(element["id"]), attributes, children))
    return found
