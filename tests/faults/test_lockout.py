"""Lockout under parallel attempts, and refusals that say nothing, against `lotgraph serve`.

The API runs as an operator runs it: `lotgraph serve --workers 2` on 127.0.0.1, two
processes sharing one store (embedded SQLite file or a real Neo4j), so the failure count
is raced across processes, not only threads.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from api.auth.secrets import hash_secret
from graph.audit_chain import verify_chain
from graph.embedded import EmbeddedStore
from graph.records import Account
from graph.store import GraphStore, format_utc, utc_now
from tests.faults.served import serve

PASSWORD = "the right password, long enough"
LIMIT = 5  # LOTGRAPH_SIGN_IN_ATTEMPTS of the server below
REFUSED = {"error": "not_authenticated", "detail": "wrong username or password"}


@dataclass
class Served:
    base: str
    store: GraphStore  # the same data the server's workers use, through its own connection
    log_tail: Callable[[], str]  # the server's log, shown by a test that fails

    def sign_in(
        self, name: str, password: str, client: httpx.Client | None = None
    ) -> httpx.Response:
        data = {"username": name, "password": password}
        if client is not None:
            return client.post(f"{self.base}/auth/token", data=data)
        return httpx.post(f"{self.base}/auth/token", data=data, timeout=60)


def _store_env(store: GraphStore, request: pytest.FixtureRequest) -> dict[str, str]:
    if isinstance(store, EmbeddedStore):
        return {"LOTGRAPH_STORE": "embedded", "LOTGRAPH_DATA_DIR": str(store.path.parent)}
    info = request.getfixturevalue("neo4j_server")
    return {
        "LOTGRAPH_STORE": "neo4j",
        "NEO4J_URI": info.uri,
        "NEO4J_USER": info.user,
        "NEO4J_PASSWORD": info.password,
        "NEO4J_DATABASE": info.database,
    }


def _add_people(store: GraphStore) -> None:
    """ana (locked by the tests), bo (disabled), cy (active): one slow hash for all."""
    secret_hash = hash_secret(PASSWORD)
    now = utc_now()
    for name, disabled in (("ana", False), ("bo", True), ("cy", False)):
        store.save_account(
            Account(name, "qa", ["SITE-A"], "password", secret_hash, disabled, now, now), None
        )


@pytest.fixture
def served(store: GraphStore, request: pytest.FixtureRequest) -> Iterator[Served]:
    _add_people(store)
    env = {
        **os.environ,
        **_store_env(store, request),
        "LOTGRAPH_SIGN_IN_ATTEMPTS": str(LIMIT),
        "LOTGRAPH_LOCKOUT_MINUTES": "15",
    }
    with serve(env, workers=2) as server:
        yield Served(server.base, store, server.log_tail)


def _actions(store: GraphStore, name: str, action: str) -> list[dict[str, object]]:
    return [e for e in store.audit_entries() if e["key"] == name and e["action"] == action]


def test_parallel_wrong_passwords_lock_the_account_and_count_at_most_the_limit(
    served: Served,
) -> None:
    with httpx.Client(timeout=120) as client, ThreadPoolExecutor(max_workers=20) as pool:
        replies = list(
            pool.map(lambda _: served.sign_in("ana", "a wrong password", client), range(40))
        )
    answers = [(r.status_code, r.json()) for r in replies]
    assert answers == [(401, REFUSED)] * 40, served.log_tail()
    account = served.store.get_account("ana")
    assert account is not None
    assert account.locked_until is not None and account.locked_until > utc_now()
    assert account.failed_sign_ins == LIMIT  # never beyond the limit, however parallel
    assert len(_actions(served.store, "ana", "sign_in_failed")) == LIMIT
    (lock,) = _actions(served.store, "ana", "account_locked")
    assert lock["new"] == {
        "failed_sign_ins": LIMIT,
        "locked_until": account.locked_until,
        "limit": LIMIT,
    }
    assert lock["reason"] == f"{LIMIT} failed sign-ins in a row (the limit)"
    assert verify_chain(served.store.audit_trail(), served.store.audit_head()).ok

    # locked: the right password is refused, the same way, and counts nothing
    refused = served.sign_in("ana", PASSWORD)
    assert (refused.status_code, refused.json()) == (401, REFUSED)
    still = served.store.get_account("ana")
    assert still is not None and still.locked_until == account.locked_until
    assert served.sign_in("cy", PASSWORD).status_code == 200  # other accounts sign in


def _lock(store: GraphStore, name: str) -> None:
    now = datetime.now(UTC)
    for _ in range(LIMIT):
        store.record_sign_in_failure(
            name, format_utc(now), LIMIT, format_utc(now + timedelta(minutes=15))
        )


def test_unknown_wrong_disabled_and_locked_answer_alike_in_body_and_time(served: Served) -> None:
    _lock(served.store, "ana")
    classes = {
        "unknown name": ("nobody", PASSWORD),
        "wrong password": ("cy", "a wrong password"),
        "disabled, right password": ("bo", PASSWORD),
        "disabled, wrong password": ("bo", "a wrong password"),
        "locked, right password": ("ana", PASSWORD),
        "locked, wrong password": ("ana", "a wrong password"),
    }
    seconds: dict[str, list[float]] = {kind: [] for kind in classes}
    answers: dict[str, set[tuple[int, str]]] = {kind: set() for kind in classes}
    with httpx.Client(timeout=60) as client:
        served.sign_in("cy", PASSWORD, client)  # warm both the connection and argon2
        for round_ in range(10):
            # the wrong password must not lock cy meanwhile: clear its count now and then
            if round_ % (LIMIT - 1) == 0:
                assert served.sign_in("cy", PASSWORD, client).status_code == 200
            for kind, (name, password) in classes.items():  # interleaved: same conditions
                started = time.perf_counter()
                reply = served.sign_in(name, password, client)
                seconds[kind].append(time.perf_counter() - started)
                answers[kind].add((reply.status_code, reply.text))
    assert all(len(a) == 1 for a in answers.values()), answers
    assert len(set.union(*answers.values())) == 1, answers  # one status, one body
    ((status, text),) = answers["locked, right password"]
    assert status == 401 and httpx.Response(status, text=text).json() == REFUSED
    medians = {kind: statistics.median(s) for kind, s in seconds.items()}
    # each refusal costs one argon2 check: no class answers in a fraction of another's time
    # (before, a locked or disabled account answered in an eighth of a wrong password's)
    slowest = max(medians.values())
    assert all(m >= 0.5 * slowest for m in medians.values()), medians
