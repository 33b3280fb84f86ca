"""The hash chain of the audit trail: how an entry's hash is taken, and the verifier.

Every stored entry carries ``prev_hash`` (the ``hash`` of the entry before it; ``GENESIS``,
64 zeros, for seq 1) and ``hash``: SHA-256, in lower-case hex, of the RFC 8785 canonical
JSON of its fields ``seq, at, actor, action, entity, key, old, new, reason, source,
prev_hash`` (``old`` and ``new`` as JSON values, not as the text a store keeps them in).
A store computes both in the transaction that appends the entries, after reading its
*head* (the seq and hash of the last entry) under the same lock, so concurrent writers
queue and the chain never forks; the head is kept beside the trail (the embedded store's
``audit_head`` row, Neo4j's ``:LotgraphCounter {id: 'audit'}``) and updated in the same
transaction, so that a deleted last entry is seen too.

``verify_chain`` is pure: it takes entries in seq order (an iterable, so millions stream
through it a page at a time) and the head, and says whether the trail is intact and, when
it is not, the seq of the first entry that fails and why. It detects an edited field of
any entry (its hash no longer recomputes), a deleted entry (a gap in seq, or a last entry
short of the head), entries reordered (seq swapped: the hashes cover seq; content moved:
``prev_hash`` no longer links) and a forged entry (it cannot link and recompute without
rewriting every entry after it and the head).

What no chain kept beside the data can prove: someone with write access to the store who
recomputes every hash after the entry they change, and the head, leaves a consistent
trail. The verifier reports the head (``head.seq``, ``head.hash``); recording it outside
the store (in a signed report, a ticket) anchors the trail up to it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from json.encoder import encode_basestring as _string  # the C encoder
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

import orjson

from graph.canonical import NotCanonical, canonical_json

if TYPE_CHECKING:
    from graph.store import AuditEntry

GENESIS = "0" * 64
"""``prev_hash`` of the first entry."""

HASHED_FIELDS = (
    "seq",
    "at",
    "actor",
    "action",
    "entity",
    "key",
    "old",
    "new",
    "reason",
    "source",
    "prev_hash",
)

WRITE_ID_FIELD = "write_id"
"""Hashed too when present: the write batch whose stored rows the entry covers."""

_SAFE_INT = 2**53 - 1
_INF = float("inf")
_ORJSON_STRICT = (
    orjson.OPT_SORT_KEYS
    | orjson.OPT_STRICT_INTEGER
    | orjson.OPT_PASSTHROUGH_SUBCLASS
    | orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_DATACLASS
)
_STRINGS = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_FLOAT = re.compile(rb"\.|[0-9][eE]")  # outside strings, only in a float
_NON_BMP = re.compile(rb"[\xf0-\xf4]")  # the lead byte of a UTF-8 character beyond U+FFFF


class Head(NamedTuple):
    """The last entry of the trail as the store records it beside the trail."""

    seq: int
    hash: str


# -- hashing ------------------------------------------------------------------------------
def jcs(value: Any) -> bytes:
    """RFC 8785 canonical JSON: the bytes ``graph.canonical.canonical_json`` gives.

    Much faster for the values the audit trail holds (the reference implementation spends
    ~100 us on one access entry, and the verifier rehashes millions): orjson's text where
    it is already canonical (no float, no character beyond U+FFFF), else a walk in Python
    that hands only floats in exponent form to the reference. Integers beyond
    +-(2**53 - 1), which RFC 8785 cannot represent exactly and the reference refuses, are
    written as the IEEE double every JSON reader makes of them, and NaN and infinities,
    which JSON has no form for, as null (as orjson stores them), so that a write never
    fails on one. ``tests/test_audit_chain.py`` checks the equality on generated values.
    """
    try:
        text = orjson.dumps(value, option=_ORJSON_STRICT)
    except orjson.JSONEncodeError:  # big integers, subclasses, surrogates, ...
        pass
    else:
        # orjson writes what RFC 8785 writes (sorted keys, the same escapes, no spaces)
        # except for floats, and sorts keys by code point, not UTF-16: only when neither
        # occurs is its text taken.
        if (text.isascii() or _NON_BMP.search(text) is None) and _FLOAT.search(
            _outside_strings(text)
        ) is None:
            return text
    try:
        return _value(value).encode("utf-8")
    except UnicodeEncodeError as exc:  # a lone surrogate
        raise NotCanonical("input contains non-UTF-8 code points") from exc


def _outside_strings(text: bytes) -> bytes:
    """JSON text without its strings (what lies between them)."""
    if b"\\" not in text:  # no escaped quote: every other piece is a string
        return b"".join(text.split(b'"')[::2])
    return _STRINGS.sub(b"", text)


def _value(value: Any) -> str:
    kind = type(value)
    if kind is str:
        return _string(value)
    if kind is dict:
        return _object(value)
    if value is None:
        return "null"
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return _int(value)
    if kind is float:
        return _float(value)
    if kind is list or kind is tuple:
        return "[" + ",".join([_value(item) for item in value]) + "]"
    return canonical_json(value).decode()  # subclasses (str enums, ...): the reference


def _object(value: dict[Any, Any]) -> str:
    if all(type(k) is str and k.isascii() for k in value):
        keys = sorted(value)  # ASCII: code point order is UTF-16 order
    else:
        for k in value:
            if not isinstance(k, str):
                raise NotCanonical("object keys must be strings")
        keys = sorted(value, key=lambda k: k.encode("utf-16-be"))  # RFC 8785 3.2.3
    parts = []
    for k in keys:
        item = value[k]
        kind = type(item)  # the common scalars inline: most of the time is calls
        if kind is str:
            text = _string(item)
        elif item is None:
            text = "null"
        elif kind is float:
            text = _float(item)
        else:
            text = _value(item)
        parts.append(_string(str.__str__(k)) + ":" + text)
    return "{" + ",".join(parts) + "}"


def _int(value: int) -> str:
    if -_SAFE_INT <= value <= _SAFE_INT:
        return str(value)
    return _float(float(value))


def _float(value: float) -> str:
    """ECMAScript's Number::toString, as RFC 8785 3.2.2.3 asks."""
    if value == 0:
        return "0"  # and -0.0
    if value != value or value in (_INF, -_INF):
        return "null"  # as orjson stored it (and as JSON.stringify writes it)
    text = repr(value)
    if "e" in text:  # exponent form: the reference
        return canonical_json(value).decode()
    # repr's fixed notation (1e-4 <= |v| < 1e16) has the digits ECMAScript writes there
    return text[:-2] if text.endswith(".0") else text


def entry_hash(entry: Mapping[str, Any]) -> str:
    """The hash of one entry: SHA-256 over the canonical JSON of its hashed fields.

    A field the entry lacks counts as null (Neo4j does not keep null properties).
    ``write_id`` (the write batch whose rows the entry covers) is hashed when the entry has
    one, so entries written before it existed keep their hashes.
    """
    fields = {f: entry.get(f) for f in HASHED_FIELDS}
    write_id = entry.get(WRITE_ID_FIELD)
    if write_id is not None:
        fields[WRITE_ID_FIELD] = write_id
    return hashlib.sha256(jcs(fields)).hexdigest()


def link(entries: Sequence[dict[str, Any]], head: Head | None) -> Head:
    """Give entries (each with every hashed field but seq and prev_hash) their place.

    Sets ``seq``, ``prev_hash`` and ``hash`` on each, in order, after ``head`` (None: an
    empty trail); returns the new head.
    """
    seq, prev = (0, GENESIS) if head is None else head
    for entry in entries:
        seq += 1
        entry["seq"] = seq
        entry["prev_hash"] = prev
        prev = entry["hash"] = entry_hash(entry)
    return Head(seq, prev)


# -- appending ----------------------------------------------------------------------------
def json_text(value: Any) -> str | None:
    """The text both stores keep ``old`` and ``new`` in: JSON with sorted keys (None: null)."""
    return None if value is None else orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def _as_read(value: Any) -> Any:
    """The value as a store will read it back from its text (tuples become lists, ...)."""
    return None if value is None else orjson.loads(orjson.dumps(value, option=orjson.OPT_SORT_KEYS))


def pending_entries(
    audit: Iterable[AuditEntry], at: str, write_id: str | None = None
) -> list[dict[str, Any]]:
    """Entries to append, as the dicts ``link`` completes: every hashed field but the links.

    ``write_id``: the batch whose graph rows the entries cover (None: the batch stores none).
    """
    entries = [
        {
            "at": at,
            "actor": a.actor,
            "action": a.action,
            "entity": a.entity,
            "key": a.key,
            "old": _as_read(a.old),
            "new": _as_read(a.new),
            "reason": a.reason,
            "source": a.source,
        }
        for a in audit
    ]
    if write_id is not None:
        for entry in entries:
            entry[WRITE_ID_FIELD] = write_id
    return entries


def key_refs(entries: Iterable[Mapping[str, Any]]) -> list[tuple[str, int]]:
    """(id, seq) for each id of an entry whose key lists several, comma-separated.

    The access audit keys a request about several ids (a recall of lots A and B) as
    ``"A,B"``; ``audit_for_keys`` finds such an entry by each of them through these.
    """
    refs: list[tuple[str, int]] = []
    for e in entries:
        key = e["key"]
        if "," in key:
            refs.extend((part, e["seq"]) for part in dict.fromkeys(key.split(",")) if part)
    return refs


# -- verification -------------------------------------------------------------------------
@dataclass(slots=True)
class ChainResult:
    ok: bool
    entries: int
    first_bad: int | None
    reason: str | None
    head: Head | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "entries": self.entries,
            "first_bad": self.first_bad,
            "reason": self.reason,
            "head": None if self.head is None else self.head._asdict(),
        }


def verify_chain(
    entries: Iterable[Mapping[str, Any]],
    head: Head | None,
    head_after: Callable[[], Head | None] | None = None,
) -> ChainResult:
    """Walk entries in seq order; say whether the chain holds, else where it first breaks.

    ``head`` is the store's head read *before* the entries: the walk must reach it and the
    entry at its seq must carry its hash (else the last entries were deleted or rewritten).
    Entries appended while the walk ran may follow it; ``head_after``, called once the walk
    is done, reads the head again, and no entry may lie beyond that one (an entry the
    store did not append). Without ``head_after``, ``head`` bounds the trail.

    ``first_bad`` is the seq of the first entry that fails, or the first seq missing
    where entries were deleted; None when the chain holds.
    """
    expected, prev = 1, GENESIS
    count = 0
    at_head: str | None = None

    def broken(first_bad: int, reason: str, last: Head | None = head) -> ChainResult:
        return ChainResult(False, count, first_bad, reason, last)

    for entry in entries:
        count += 1
        seq = entry.get("seq")
        if type(seq) is not int:
            return broken(expected, f"the entry after seq {expected - 1} has seq {seq!r}")
        if seq != expected:
            if seq > expected:
                missing = f"{expected}" if seq == expected + 1 else f"{expected} to {seq - 1}"
                return broken(expected, f"entries missing: seq {missing} (deleted)")
            return broken(seq, f"seq {seq} appears twice")
        entry_hash_ = entry.get("hash")
        if entry_hash_ != entry_hash(entry):
            return broken(seq, f"entry {seq} was altered: its hash does not match its content")
        if entry.get("prev_hash") != prev:
            return broken(
                seq,
                f"entry {seq} does not follow entry {seq - 1}: its prev_hash is not that "
                "entry's hash (entries deleted, reordered or inserted)",
            )
        prev = str(entry_hash_)
        if head is not None and seq == head.seq:
            at_head = prev
        expected += 1

    last_seq = expected - 1
    if head is not None:
        if last_seq < head.seq:
            return broken(
                last_seq + 1,
                f"the trail ends at seq {last_seq} but the store recorded entries up to seq "
                f"{head.seq}: the last entries were deleted",
            )
        if at_head != head.hash:
            return broken(head.seq, f"entry {head.seq} is not the entry the store recorded last")
    after = head if head_after is None else head_after()
    if after is None:
        if count:
            return broken(last_seq, "the store's record of its last entry (the head) is missing")
        return ChainResult(True, 0, None, None, None)
    if last_seq > after.seq:
        return broken(
            after.seq + 1,
            f"entries after seq {after.seq}, the last the store recorded, were not "
            "appended by the store",
            after,
        )
    if last_seq == after.seq and prev != after.hash:
        return broken(last_seq, f"entry {last_seq} is not the entry the store recorded last", after)
    return ChainResult(True, count, None, None, after)


class AuditTrail(Protocol):
    """What verifying needs of a store (both stores are one)."""

    def audit_head(self) -> Head | None: ...

    def audit_trail(self, page_size: int = ...) -> Iterator[dict[str, Any]]: ...


def verify_store(
    store: AuditTrail, page_size: int = 10_000, write_ids: set[str] | None = None
) -> ChainResult:
    """Verify a store's whole trail, streamed a page at a time, against its head.

    The head is read before the walk and again after it, so that entries other writers
    append meanwhile are accepted when they link, and none may lie beyond the later head.
    ``write_ids``, when given, receives the write id of every entry walked (coverage).
    """
    head = store.audit_head()
    entries: Iterable[Mapping[str, Any]] = store.audit_trail(page_size)
    if write_ids is not None:
        entries = _collecting(entries, write_ids)
    return verify_chain(entries, head, store.audit_head)


def _collecting(
    entries: Iterable[Mapping[str, Any]], write_ids: set[str]
) -> Iterator[Mapping[str, Any]]:
    for entry in entries:
        write_id = entry.get(WRITE_ID_FIELD)
        if write_id is not None:
            write_ids.add(write_id)
        yield entry
