"""Idempotency-Key: a request carried out at most once, its answer given again on a retry.

The key is **reserved before the work**: a create-only record (status 0) that exactly one
of any number of concurrent requests stores (graph/store.py ``save_idempotency``). The
request that reserved it does the work; the write that carries it out completes the
record in the same transaction (``WriteBatch.answer``), so a signature, a version or a
hold and the record of the answer are stored together or not at all. A refusal (403,
409, ...) is recorded as the answer too. Whoever comes later under the key:

- the same caller and request, answered: the first answer again (a created record is
  named in the answer and read again as it is now; a refusal is repeated as it was);
- the same caller and request, still being carried out: 409, retry shortly;
- the same caller and request, reserved more than ``STALE_AFTER`` ago and never
  completed (its server died before the work committed, so nothing of it was written):
  this request takes the reservation over, atomically, and does the work; the request
  that held it can no longer complete it, so the work is still done once;
- another caller or another request: 409.

A request's fingerprint is SHA-256 over its canonical JSON without the re-entered
password, which is never stored, not even as a fast hash.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, TypeVar

import orjson
from fastapi import Header
from fastapi.responses import JSONResponse

from api.errors import ApiError, Conflict
from graph.records import IdempotencyRecord, reservation_body
from graph.store import GraphStore, utc_now
from queries.errors import NotFound

IdempotencyKey = Annotated[
    str | None,
    Header(
        min_length=1,
        max_length=200,
        description="Repeat a request safely: the same key and body get the first answer "
        "again, and the work is done once.",
    ),
]

_NOT_HASHED = ("password",)
# Longer than any request's work may take (a signed action takes well under a second; an
# ingest of the largest bundle allowed, minutes): a reservation older than this whose
# work never completed belongs to a server that died.
STALE_AFTER = timedelta(minutes=15)
T = TypeVar("T")


def request_digest(request: dict[str, Any]) -> str:
    hashed = {k: v for k, v in request.items() if k not in _NOT_HASHED}
    return hashlib.sha256(orjson.dumps(hashed, option=orjson.OPT_SORT_KEYS)).hexdigest()


@dataclass(frozen=True, slots=True)
class Reservation:
    """A key this request holds: its work's write completes the record with ``answer``."""

    key: str
    actor: str
    request_sha256: str
    token: str

    def answer(self, status_code: int, body: dict[str, Any]) -> IdempotencyRecord:
        return IdempotencyRecord(
            key=self.key,
            actor=self.actor,
            request_sha256=self.request_sha256,
            status_code=status_code,
            body=body,
            at=utc_now(),
            reservation=self.token,
        )


def reserve(
    store: GraphStore, key: str | None, actor: str, request: dict[str, Any]
) -> Reservation | IdempotencyRecord | None:
    """None without a key; the reservation when this request took the key; else the
    stored answer to give again (409 when it is another request's or still pending)."""
    if key is None:
        return None
    digest = request_digest(request)
    token = secrets.token_hex(16)
    pending = IdempotencyRecord(key, actor, digest, 0, reservation_body(token), utc_now())
    stored = store.save_idempotency(pending)
    if stored.actor != actor or stored.request_sha256 != digest:
        raise Conflict("Idempotency-Key: already used for a different request")
    if stored.status_code != 0:
        return stored
    if stored.body == pending.body:
        return Reservation(key, actor, digest, token)
    if _stale(stored) and store.take_over_idempotency(stored, pending):
        return Reservation(key, actor, digest, token)
    raise Conflict(
        "Idempotency-Key: the first request with this key is still being carried out; retry shortly"
    )


def _stale(record: IdempotencyRecord) -> bool:
    return datetime.now(UTC) - datetime.fromisoformat(record.at) > STALE_AFTER


class _Replay(Exception):
    def __init__(self, record: IdempotencyRecord) -> None:
        super().__init__(record.key)
        self.record = record


Once = Callable[[], Reservation | None]
"""Called by a service at the moment its work begins (after the signer's password is
confirmed, so a mistyped password is not the answer a retry gets): the reservation, or
None without a key."""


def no_key() -> Reservation | None:
    return None


def run_once(
    store: GraphStore,
    key: str | None,
    actor: str,
    request: dict[str, Any],
    work: Callable[[Once], T],
    replay: Callable[[dict[str, Any]], T],
) -> T | JSONResponse:
    """Carry out ``work`` at most once under ``key``.

    ``work`` calls the ``Once`` it is given where its work begins and puts
    ``reservation.answer(...)`` into the write that carries it out; that answer's body
    names what was created, and ``replay`` turns such a body into the answer again. A
    refusal after the reservation is recorded as the answer.
    """
    held: list[Reservation] = []

    def once() -> Reservation | None:
        found = reserve(store, key, actor, request)
        if isinstance(found, IdempotencyRecord):
            raise _Replay(found)
        if found is not None:
            held.append(found)
        return found

    try:
        return work(once)
    except _Replay as answered:
        record = answered.record
        if "error" in record.body:
            return JSONResponse(record.body, status_code=record.status_code)
        return replay(record.body)
    except (ApiError, NotFound) as exc:
        if held:
            status, code = (
                (exc.status, exc.code) if isinstance(exc, ApiError) else (404, "not_found")
            )
            store.complete_idempotency(held[0].answer(status, {"error": code, "detail": str(exc)}))
        raise
