"""PROVISIONAL event hash (the import branch's stand-in; the lead replaces this file with
the "read" helper's CBV 2.0 implementation at merge).

It has the real one's signature and form, ``ni:///sha-256;<hex>?ver=CBV2.0``, and the
property the importer relies on: the hash depends on the event's content only, not on its
``eventID``, ``recordTime`` or ``errorDeclaration``. It is NOT the standard's
canonicalisation (it hashes RFC 8785 JSON of the body), so its values differ from the
reference examples' expected hashes.
"""

from __future__ import annotations

import hashlib
from typing import Any

from graph.canonical import canonical_json

_NOT_HASHED = ("eventID", "recordTime", "errorDeclaration")


def event_hash(body: dict[str, Any]) -> str:
    """PROVISIONAL: ``ni:///sha-256;`` + SHA-256 of the body's RFC 8785 JSON without
    eventID, recordTime and errorDeclaration, + ``?ver=CBV2.0``."""
    content = {k: v for k, v in body.items() if k not in _NOT_HASHED}
    return f"ni:///sha-256;{hashlib.sha256(canonical_json(content)).hexdigest()}?ver=CBV2.0"
