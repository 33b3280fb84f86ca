"""Canonical JSON (RFC 8785, JSON Canonicalization Scheme) and the hashes taken over it.

One value has one byte form whatever wrote it (key order, number spelling, escapes), so a
hash recomputed from a record read back equals the hash taken when it was written.
"""

from __future__ import annotations

import hashlib
from typing import Any

import rfc8785


class NotCanonical(ValueError):
    """The value has no JSON form (NaN, infinity, a non-string key, an unknown type)."""


def canonical_json(value: Any) -> bytes:
    try:
        return rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as exc:
        raise NotCanonical(str(exc)) from None


def sha256_hex(value: Any) -> str:
    """SHA-256, in lower-case hex, of the value's canonical JSON."""
    return hashlib.sha256(canonical_json(value)).hexdigest()
