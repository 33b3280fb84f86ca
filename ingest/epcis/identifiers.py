"""Identifiers in EPCIS documents and lotgraph's own ids.

An id of lotgraph's that is not already a URI (``L-2026-0001``, ``SITE-A``) travels in
EPCIS as a URN of lotgraph's private namespace, ``urn:lotgraph:<kind>:<id>`` with the id
percent-encoded, and comes back as the same id when read (docs/EPCIS.md).
"""

from __future__ import annotations

from urllib.parse import quote, unquote

LOCAL_PREFIX = "urn:lotgraph:"
URI_SCHEMES = ("urn:", "http://", "https://")
LOCAL_KINDS = frozenset(
    {"lot", "material", "batch", "site", "shipment", "customer", "supplier", "party"}
)


def is_uri(value: str) -> bool:
    """Is ``value`` a URI that EPCIS can carry as it is (a URN or a web URI)? Other text
    with a colon (``LOT:12``) is an id, not a URI."""
    return value.startswith(URI_SCHEMES) and len(value) > value.index(":") + 1


def local_urn(kind: str, value: str) -> str:
    """The URI under which lotgraph writes one of its ids into EPCIS: the id itself when it
    is a URI already, else ``urn:lotgraph:<kind>:<percent-encoded id>``."""
    if kind not in LOCAL_KINDS:
        raise ValueError(f"unknown lotgraph id kind {kind!r}")
    if is_uri(value):
        return value
    return f"{LOCAL_PREFIX}{kind}:{quote(value, safe='')}"


def from_local_urn(uri: str) -> tuple[str, str] | None:
    """``(kind, id)`` of a ``urn:lotgraph:`` URN, or None for any other URI."""
    if not uri.startswith(LOCAL_PREFIX):
        return None
    kind, colon, encoded = uri[len(LOCAL_PREFIX) :].partition(":")
    if not colon or kind not in LOCAL_KINDS or not encoded:
        return None
    return kind, unquote(encoded)


def to_class_urn(value: str) -> str:
    """PROVISIONAL (the "read" helper's version replaces it at merge): a GS1 Digital Link
    would become its EPC class URN, but splitting a GTIN into company prefix and item
    reference needs the GS1 prefix-length table, so every value is returned unchanged."""
    return value
