"""The sign-in counter of both stores: atomic, bounded by the limit, audited with its lock."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from graph.audit_chain import verify_chain
from graph.embedded import EmbeddedStore
from graph.neo4j_store import Neo4jStore
from graph.records import Account, SignInFailure, lock_cause
from graph.store import GraphStore, format_utc

LIMIT = 3
START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def _at(minutes: float) -> str:
    return format_utc(START + timedelta(minutes=minutes))


def _add(store: GraphStore, name: str = "ana", kind: str = "password") -> None:
    now = _at(0)
    key_id = "k1" if kind == "api_key" else None
    store.save_account(
        Account(name, "qa", ["SITE-A"], kind, "$argon2id$x", False, now, now, key_id=key_id), None
    )


def _fail(store: GraphStore, minutes: float, name: str = "ana") -> SignInFailure | None:
    """A wrong password at START + minutes; a lock lasts 15 minutes."""
    return store.record_sign_in_failure(name, _at(minutes), LIMIT, _at(minutes + 15))


def _entries(store: GraphStore, action: str, name: str = "ana") -> list[dict[str, object]]:
    return [e for e in store.audit_entries() if e["action"] == action and e["key"] == name]


def test_failures_count_up_to_the_limit_then_lock_with_the_cause_audited(
    store: GraphStore,
) -> None:
    _add(store)
    first = _fail(store, 1)
    assert first == SignInFailure(1, None, counted=True, locked_now=False)
    assert _fail(store, 2) == SignInFailure(2, None, counted=True, locked_now=False)
    locking = _fail(store, 3)
    assert locking == SignInFailure(LIMIT, _at(18), counted=True, locked_now=True)
    assert locking.locked
    account = store.get_account("ana")
    assert account is not None
    assert (account.failed_sign_ins, account.locked_until) == (LIMIT, _at(18))

    failed = _entries(store, "sign_in_failed")
    assert [e["new"] for e in failed] == [
        {"failed_sign_ins": 1, "locked_until": None},
        {"failed_sign_ins": 2, "locked_until": None},
        {"failed_sign_ins": LIMIT, "locked_until": _at(18)},
    ]
    (lock,) = _entries(store, "account_locked")
    assert lock["reason"] == lock_cause(LIMIT)
    assert lock["new"] == {"failed_sign_ins": LIMIT, "locked_until": _at(18), "limit": LIMIT}
    # written in the failure's own transaction: the entry right after it, at the same moment
    assert lock["seq"] == failed[-1]["seq"] + 1  # type: ignore[operator]
    assert lock["at"] == failed[-1]["at"]
    assert verify_chain(store.audit_trail(), store.audit_head()).ok


def test_a_locked_account_counts_nothing_and_refuses_the_right_password_until_expiry(
    store: GraphStore,
) -> None:
    _add(store)
    for minute in range(LIMIT):
        _fail(store, minute)
    audited = len(store.audit_entries())
    lock_ends = _at(LIMIT - 1 + 15)
    assert _fail(store, 5) == SignInFailure(LIMIT, lock_ends, counted=False, locked_now=False)
    assert len(store.audit_entries()) == audited  # nothing counted, nothing audited
    assert store.record_sign_in_success("ana", _at(6)) is False
    account = store.get_account("ana")
    assert account is not None and account.locked_until == lock_ends

    # after the lock: a failure starts a new count; a right password clears it
    assert _fail(store, 30) == SignInFailure(1, None, counted=True, locked_now=False)
    assert store.record_sign_in_success("ana", _at(31)) is True
    account = store.get_account("ana")
    assert account is not None and (account.failed_sign_ins, account.locked_until) == (0, None)
    assert _fail(store, 32) == SignInFailure(1, None, counted=True, locked_now=False)


def test_a_right_password_after_an_expired_lock_clears_it(store: GraphStore) -> None:
    _add(store)
    for minute in range(LIMIT):
        _fail(store, minute)
    assert store.record_sign_in_success("ana", _at(LIMIT - 1 + 15)) is True  # ends exactly now
    account = store.get_account("ana")
    assert account is not None and (account.failed_sign_ins, account.locked_until) == (0, None)


def test_no_counter_for_an_unknown_name_or_an_api_key(store: GraphStore) -> None:
    _add(store, "etl", kind="api_key")
    assert _fail(store, 1, "nobody") is None
    assert _fail(store, 1, "etl") is None
    assert store.record_sign_in_success("nobody", _at(1)) is False
    assert store.audit_entries() == []
    assert store.unlock_account("nobody", by="admin") is None


def test_unlock_clears_the_lock_and_is_audited_with_what_it_cleared(store: GraphStore) -> None:
    _add(store)
    _add(store, "bo")
    for minute in range(LIMIT):
        _fail(store, minute)
    _fail(store, 0, "bo")
    unlocked = store.unlock_account("ana", by="admin")
    assert unlocked is not None and unlocked.name == "ana"
    assert (unlocked.failed_sign_ins, unlocked.locked_until) == (0, None)
    stored = store.get_account("ana")
    assert stored is not None and (stored.failed_sign_ins, stored.locked_until) == (0, None)
    (entry,) = _entries(store, "account_unlocked")
    assert entry["actor"] == "admin" and entry["entity"] == "Account"
    assert entry["old"] == {"failed_sign_ins": LIMIT, "locked_until": _at(LIMIT - 1 + 15)}
    assert entry["new"] == {"failed_sign_ins": 0, "locked_until": None}
    assert store.record_sign_in_success("ana", _at(4)) is True
    other = store.get_account("bo")
    assert other is not None and other.failed_sign_ins == 1  # only the one account
    assert verify_chain(store.audit_trail(), store.audit_head()).ok


@pytest.fixture
def store_factory(store: GraphStore, request: pytest.FixtureRequest) -> Callable[[], GraphStore]:
    """A store of its own per caller on the same data: another connection (embedded) or
    another driver (Neo4j), as another server process would have."""
    if isinstance(store, EmbeddedStore):
        return lambda: EmbeddedStore(store.path)
    info = request.getfixturevalue("neo4j_server")
    return lambda: Neo4jStore(info.uri, info.user, info.password, info.database)


def test_parallel_failures_from_many_connections_count_at_most_the_limit(
    store: GraphStore, store_factory: Callable[[], GraphStore]
) -> None:
    _add(store)
    stores = [store_factory() for _ in range(4)]
    try:
        with ThreadPoolExecutor(max_workers=20) as pool:
            answers = list(
                pool.map(
                    lambda i: stores[i % len(stores)].record_sign_in_failure(
                        "ana", _at(1), LIMIT, _at(16)
                    ),
                    range(40),
                )
            )
    finally:
        for other in stores:
            other.close()
    assert all(a is not None for a in answers)
    counted = sorted(a.failures for a in answers if a is not None and a.counted)
    assert counted == list(range(1, LIMIT + 1))  # each count once: none lost, none beyond
    assert [a.locked_now for a in answers if a is not None].count(True) == 1
    account = store.get_account("ana")
    assert account is not None
    assert (account.failed_sign_ins, account.locked_until) == (LIMIT, _at(16))
    assert len(_entries(store, "sign_in_failed")) == LIMIT
    assert len(_entries(store, "account_locked")) == 1
    assert store.record_sign_in_success("ana", _at(2)) is False
    assert verify_chain(store.audit_trail(), store.audit_head()).ok
