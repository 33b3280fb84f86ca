"""Idempotency-Key reservations on both stores: one taker of a reservation, a stale one (its
server died before the work committed) taken over by the retry, a recent one refused, and
a request whose reservation was taken over unable to complete it."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from api.idempotency import STALE_AFTER, request_digest
from graph.records import IdempotencyRecord, reservation_body
from graph.store import GraphStore, format_utc
from tests.api.conftest import PASSWORD, Api
from tests.api.test_documents import _lots_at

HOLD = {"reason": "a retried hold", "password": PASSWORD}


def _reserved(store: GraphStore, key: str, lot: str, token: str, age: timedelta) -> None:
    """A reservation as a server that died after taking it would have left it."""
    request = {"action": "place_hold", "lot_id": lot, **HOLD}
    at = format_utc(datetime.now(UTC) - age)
    record = IdempotencyRecord(key, "qa-a", request_digest(request), 0, reservation_body(token), at)
    assert store.save_idempotency(record).body == reservation_body(token)


def test_a_stale_reservation_is_taken_over_by_the_retry_and_done_once(api: Api) -> None:
    lot = _lots_at(api, "SITE-A")[0]
    _reserved(api.store, "hold-retry-1", lot, "dead-server", STALE_AFTER + timedelta(minutes=1))
    key = {"Idempotency-Key": "hold-retry-1"}
    first = api.post("qa-a", f"/lots/{lot}/holds", json=HOLD, headers=key)
    assert first.status_code == 201, first.text
    again = api.post("qa-a", f"/lots/{lot}/holds", json=HOLD, headers=key)
    assert (again.status_code, again.json()["id"]) == (201, first.json()["id"])
    holds = api.get("qa-a", f"/lots/{lot}/holds").json()["holds"]
    assert [h["id"] for h in holds] == [first.json()["id"]]
    # the server that held the reservation, had it lived, can no longer complete it
    stored = api.store.fetch_idempotency("hold-retry-1")
    assert stored is not None and stored.status_code == 201
    late = IdempotencyRecord(
        "hold-retry-1", "qa-a", stored.request_sha256, 201, {"x": 1}, stored.at, "dead-server"
    )
    assert api.store.complete_idempotency(late) is False


def test_a_recent_reservation_is_refused_as_still_being_carried_out(api: Api) -> None:
    lot = _lots_at(api, "SITE-A")[0]
    _reserved(api.store, "hold-retry-2", lot, "busy-server", timedelta(seconds=5))
    reply = api.post(
        "qa-a", f"/lots/{lot}/holds", json=HOLD, headers={"Idempotency-Key": "hold-retry-2"}
    )
    assert reply.status_code == 409 and "still being carried out" in reply.json()["detail"]
    assert api.get("qa-a", f"/lots/{lot}/holds").json()["holds"] == []


def test_of_concurrent_takers_of_one_stale_reservation_exactly_one_wins(store: GraphStore) -> None:
    at = format_utc(datetime.now(UTC) - STALE_AFTER * 2)
    stale = IdempotencyRecord("k-race", "qa", "sha", 0, reservation_body("dead"), at)
    store.save_idempotency(stale)
    won: list[str] = []
    start = threading.Barrier(8)

    def take(n: int) -> None:
        fresh = IdempotencyRecord(
            "k-race", "qa", "sha", 0, reservation_body(f"t{n}"), format_utc(datetime.now(UTC))
        )
        start.wait()
        if store.take_over_idempotency(stale, fresh):
            won.append(f"t{n}")

    threads = [threading.Thread(target=take, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(won) == 1, won
    stored = store.fetch_idempotency("k-race")
    assert stored is not None and stored.body == reservation_body(won[0])
    # only the winner's reservation completes
    answer = IdempotencyRecord("k-race", "qa", "sha", 201, {"done": True}, at, "dead")
    assert store.complete_idempotency(answer) is False
    assert store.complete_idempotency(
        IdempotencyRecord("k-race", "qa", "sha", 201, {"done": True}, at, won[0])
    )
