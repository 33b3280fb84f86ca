"""`lotgraph serve --workers 4` with 4 concurrent writers x 25 writes each, on both stores.

For document versions, e-signatures, holds, supplier-change decisions and batch releases:
every 2xx answer is stored, every other answer is 409 or 422, nothing is duplicated, and a
request retried with its Idempotency-Key answers what the first one did instead of writing
again.
"""

from __future__ import annotations

import csv
import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from ingest.loader import ingest_bundle
from tests.bundles import write_ready_batch
from tests.faults.served import PASSWORD, Served, empty_store, seed_plant, serve, store_env

WRITERS = 4
WRITES = 25
RETRY_EVERY = 5  # every 5th write is sent again with its Idempotency-Key
AUTHOR = "qa-author"
SIGNERS = [f"qa-{i}" for i in range(WRITERS)]
ACCOUNTS = {name: ("qa", ["*"]) for name in [AUTHOR, *SIGNERS]}
MEANINGS = ["reviewed", "approved", "released", "verified", "rejected"]
DECISIONS = ["accepted", "extra_testing", "requalification_required"]
READY_BATCHES = [f"B-RACE-{n}" for n in range(3)]  # releasable: nothing blocks them

# one writer's request: method-less POST path and body; its answer: status and body
Write = tuple[str, dict[str, Any]]
Answer = tuple[int, Any]


@pytest.fixture(scope="module", params=["embedded", pytest.param("neo4j", marks=pytest.mark.neo4j)])
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Served, int]]:
    """One server per store for the three races (each works on its own documents or lots)."""
    folder = tmp_path_factory.mktemp(f"served-{request.param}")
    store, neo4j = empty_store(request.param, folder, request)
    try:
        seed = seed_plant(store, folder / "plant", ACCOUNTS)
        for batch_id in READY_BATCHES:
            ready = write_ready_batch(folder / batch_id, batch_id)
            assert ingest_bundle(store, ready, actor="fault-test").rejections == []
    finally:
        store.close()
    print(f"concurrent writers on {request.param}: plant seed {seed}")
    with serve(store_env(folder, neo4j), workers=4) as server:
        yield Served(server, folder / "plant"), seed


def _race(
    api: Served, writes: Callable[[int, random.Random], list[Write]], seed: int
) -> list[list[tuple[Write, Answer, Answer | None]]]:
    """Each writer sends its writes at once with the others; every RETRY_EVERY-th is sent a
    second time with the same Idempotency-Key. Gives each writer's (write, answer, retry)."""
    tokens = {name: api.token(name) for name in SIGNERS}
    start = threading.Barrier(WRITERS)
    results: list[list[tuple[Write, Answer, Answer | None]]] = [[] for _ in range(WRITERS)]
    failures: list[BaseException] = []

    def writer(i: int) -> None:
        try:
            rng = random.Random(seed * 100 + i)
            plan = writes(i, rng)
            headers = {"Authorization": f"Bearer {tokens[SIGNERS[i]]}"}
            with httpx.Client(base_url=api.base, headers=headers, timeout=120) as client:
                start.wait()
                for n, (path, body) in enumerate(plan):
                    key = {"Idempotency-Key": str(uuid.uuid4())}
                    first = _post(client, path, body, key)
                    retry = None
                    if n % RETRY_EVERY == 0:
                        again = _post(client, path, body, key)
                        retry = (again.status_code, again.json())
                    results[i].append(((path, body), (first.status_code, first.json()), retry))
        except BaseException as exc:  # reported by the main thread
            failures.append(exc)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(WRITERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures, (failures, api.server.log_tail())
    return results


def _post(client: httpx.Client, path: str, body: Any, key: dict[str, str]) -> httpx.Response:
    """POST as a careful client does: when the connection is lost before the answer (a
    server process restarted under load), send it again with the same Idempotency-Key, and
    wait while the first is still being carried out. The answer is then the first's."""
    reply: httpx.Response | None = None
    for attempt in range(10):
        try:
            reply = client.post(path, json=body, headers=key)
        except httpx.TransportError as exc:
            print(f"no answer to {path} ({exc!r}): sent again with its Idempotency-Key")
            time.sleep(0.5)
            continue
        if attempt and reply.status_code == 409 and "still being" in reply.text:
            time.sleep(0.5)
            continue
        return reply
    assert reply is not None, f"{path}: no answer in 10 attempts"
    return reply


def _answers(results: list[list[tuple[Write, Answer, Answer | None]]]) -> list[Answer]:
    return [answer for writer in results for _, answer, _ in writer]


def _unexpected(api: Served, answers: list[Answer], expected: set[int]) -> str:
    """The statuses, the body of every answer a race may not give (a 500 names the
    reference of its traceback) and the end of the server's log (that traceback)."""
    odd = [body for status, body in answers if status not in expected]
    return (
        f"{Counter(s for s, _ in answers)}; unexpected: {odd[:5]}\n"
        f"lotgraph serve's log, its end:\n{api.server.log_tail()}"
    )


def _get(api: Served, path: str) -> Any:
    token = api.token(AUTHOR)
    reply = httpx.get(
        f"{api.base}{path}", headers={"Authorization": f"Bearer {token}"}, timeout=120
    )
    assert reply.status_code == 200, reply.text
    return reply.json()


def _create_documents(api: Served, prefix: str, count: int) -> list[str]:
    token = api.token(AUTHOR)
    ids = []
    for n in range(count):
        doc_id = f"{prefix}-{n}"
        reply = httpx.post(
            f"{api.base}/documents",
            headers={"Authorization": f"Bearer {token}"},
            json={"id": doc_id, "kind": "sop", "title": doc_id, "content": {"n": n}},
            timeout=120,  # a first request on a loaded machine may take more than httpx's 5 s
        )
        assert reply.status_code == 201, reply.text
        ids.append(doc_id)
    return ids


def test_concurrent_versions_are_each_stored_once_with_their_own_number(
    served: tuple[Served, int],
) -> None:
    api, seed = served
    (doc_id,) = _create_documents(api, "DOC-VERSIONS", 1)

    def writes(i: int, rng: random.Random) -> list[Write]:
        return [
            (f"/documents/{doc_id}/versions", {"content": {"writer": i, "n": n}, "reason": "race"})
            for n in range(WRITES)
        ]

    results = _race(api, writes, seed)
    answers = _answers(results)
    assert {status for status, _ in answers} <= {201, 409, 422}, _unexpected(
        api, answers, {201, 409, 422}
    )
    record = _get(api, f"/documents/{doc_id}")
    stored = [v["content"] for v in record["versions"][1:]]
    accepted = [
        body["content"] for writer in results for (_, body), (s, _), _ in writer if s == 201
    ]
    # every 201 is stored once, nothing else is, and the numbers run 1..n without a gap
    assert sorted((c["writer"], c["n"]) for c in stored) == sorted(
        (c["writer"], c["n"]) for c in accepted
    )
    assert [v["version"] for v in record["versions"]] == list(range(1, len(stored) + 2))
    for writer in results:
        for _, first, retry in writer:
            if retry is not None:  # a retry adds nothing and answers as the first did
                assert retry[0] == first[0], (first, retry, api.server.log_tail())


def test_concurrent_signatures_are_each_stored_once_and_never_duplicated(
    served: tuple[Served, int],
) -> None:
    api, seed = served
    docs = _create_documents(api, "DOC-SIGN", 5)

    def writes(i: int, rng: random.Random) -> list[Write]:
        return [
            (
                f"/documents/{rng.choice(docs)}/versions/1/signatures",
                {"meaning": rng.choice(MEANINGS), "password": PASSWORD},
            )
            for _ in range(WRITES)
        ]

    results = _race(api, writes, seed)
    answers = _answers(results)
    assert {status for status, _ in answers} <= {201, 409, 422}, _unexpected(
        api, answers, {201, 409, 422}
    )
    accepted = {body["signature"]["signature_id"] for status, body in answers if status == 201}
    stored = {doc_id: _get(api, f"/documents/{doc_id}")["signatures"] for doc_id in docs}
    assert sorted(s["signature_id"] for sigs in stored.values() for s in sigs) == sorted(accepted)
    for doc_id, signatures in stored.items():
        # one signer, one meaning, one version; a state change happens once from each state
        slots = Counter((s["signer_id"], s["meaning"], s["version"]) for s in signatures)
        assert all(n == 1 for n in slots.values()), (doc_id, slots)
        changes = Counter(s["meaning"] for s in signatures if s["meaning"] != "verified")
        assert all(n == 1 for n in changes.values()), (doc_id, changes)
    for writer in results:
        for _, first, retry in writer:
            if retry is not None:
                assert retry[0] == first[0], (first, retry, api.server.log_tail())
                if first[0] == 201:
                    assert retry[1]["signature"] == first[1]["signature"]


def test_concurrent_holds_are_each_stored_once_and_a_lot_has_one_active_hold(
    served: tuple[Served, int],
) -> None:
    api, seed = served
    with (api.plant / "lots.csv").open(newline="", encoding="utf-8") as fh:
        lot_ids = [row["lot_id"] for row in csv.DictReader(fh)]
    lots = random.Random(seed).sample(lot_ids, 3)

    def writes(i: int, rng: random.Random) -> list[Write]:
        plan = []
        for _ in range(WRITES):
            lot = rng.choice(lots)
            action = rng.choice(["", "/release"])
            plan.append((f"/lots/{lot}/holds{action}", {"reason": "race", "password": PASSWORD}))
        return plan

    results = _race(api, writes, seed)
    answers = _answers(results)
    assert {status for status, _ in answers} <= {200, 201, 409, 422}, _unexpected(
        api, answers, {200, 201, 409, 422}
    )
    placed = Counter(b["id"] for s, b in answers if s == 201)
    released = Counter(b["id"] for s, b in answers if s == 200)
    assert all(n == 1 for n in placed.values()), placed
    twice = [h for h, n in released.items() if n > 1]
    assert not twice, [
        (i, path, first[1]["released_by"], first[1]["released_at"], first[1]["placed_at"])
        for i, writer in enumerate(results)
        for (path, _), first, retry in writer
        if first[0] == 200 and first[1]["id"] in twice
    ]
    for lot in lots:
        holds = _get(api, f"/lots/{lot}/holds")
        stored = {h["id"]: h for h in holds["holds"]}
        assert {h for h in placed if h in stored} == set(stored)
        assert {h for h in released if h in stored} == {
            h for h, rec in stored.items() if not rec["active"]
        }
        assert sum(1 for h in stored.values() if h["active"]) <= 1
    assert sum(placed.values()) == sum(
        len(_get(api, f"/lots/{lot}/holds")["holds"]) for lot in lots
    )
    for writer in results:
        for _, first, retry in writer:
            if retry is not None:
                assert retry[0] == first[0], (first, retry, api.server.log_tail())
                if first[0] in (200, 201):
                    assert retry[1]["id"] == first[1]["id"]


def test_concurrent_supplier_change_decisions_form_one_unbroken_history(
    served: tuple[Served, int],
) -> None:
    api, seed = served
    with (api.plant / "supplier_changes.csv").open(newline="", encoding="utf-8") as fh:
        notices = [(r["supplier_id"], r["change_id"]) for r in csv.DictReader(fh)]
    picked = random.Random(seed).sample(notices, min(3, len(notices)))

    def writes(i: int, rng: random.Random) -> list[Write]:
        plan = []
        for _ in range(WRITES):
            supplier, change = rng.choice(picked)
            body = {"decision": rng.choice(DECISIONS), "reason": f"race {i}", "password": PASSWORD}
            plan.append((f"/suppliers/{supplier}/changes/{change}/decisions", body))
        return plan

    results = _race(api, writes, seed)
    answers = _answers(results)
    assert {status for status, _ in answers} <= {201, 409}, _unexpected(api, answers, {201, 409})
    accepted = Counter(body["id"] for status, body in answers if status == 201)
    assert accepted and all(n == 1 for n in accepted.values()), accepted
    stored: list[str] = []
    for supplier, change in picked:
        notice = next(
            c for c in _get(api, f"/suppliers/{supplier}")["changes"] if c["id"] == change
        )
        history = notice["decisions"]
        stored += [d["id"] for d in history]
        # numbered 1..n without a gap, each superseding the one before it
        assert [d["number"] for d in history] == list(range(1, len(history) + 1)), history
        assert [d["supersedes"] for d in history] == [None] + [d["id"] for d in history[:-1]]
        if history:
            assert notice["decision"]["id"] == history[-1]["id"]
    assert sorted(stored) == sorted(accepted)  # every 201 stored once, nothing else
    for writer in results:
        for _, first, retry in writer:
            if retry is not None:
                assert retry[0] == first[0], (first, retry, api.server.log_tail())
                if first[0] == 201:
                    assert retry[1]["id"] == first[1]["id"]


def test_concurrent_releases_sign_each_batch_once(served: tuple[Served, int]) -> None:
    api, seed = served

    def writes(i: int, rng: random.Random) -> list[Write]:
        body = {"password": PASSWORD, "reason": f"race {i}"}
        return [(f"/batches/{rng.choice(READY_BATCHES)}/release", body) for _ in range(WRITES)]

    results = _race(api, writes, seed)
    answers = _answers(results)
    assert {status for status, _ in answers} <= {201, 409}, _unexpected(api, answers, {201, 409})
    released = Counter(body["batch"] for status, body in answers if status == 201)
    assert set(released) == set(READY_BATCHES), released  # each was asked for many times
    assert all(n == 1 for n in released.values()), released
    winners = {
        body["batch"]: SIGNERS[i]
        for i, writer in enumerate(results)
        for _, (status, body), _ in writer
        if status == 201
    }
    for batch_id in READY_BATCHES:
        checklist = _get(api, f"/batches/{batch_id}/release")
        assert checklist["release_state"] == "released", checklist
        assert checklist["release"]["signer_id"] == winners[batch_id]
        record = _get(api, f"/documents/{checklist['batch_record']['id']}")
        assert [s["meaning"] for s in record["signatures"]].count("released") == 1
    for writer in results:
        for _, first, retry in writer:
            if retry is not None:
                assert retry[0] == first[0], (first, retry, api.server.log_tail())
