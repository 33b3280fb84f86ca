"""Faults during `POST /ingest/epcis` against a real `lotgraph serve`, on both stores.

- kill -9 of the server during a large import: what was written is covered by the audit
  chain, and the same document sent again completes the import (the store is the one a
  clean import gives) with every event accounted for;
- 4 clients send overlapping documents at once to `--workers 4` (the same lots; some
  events in several documents, one document twice): every 200 report is true of the
  store afterwards, nothing is duplicated, the chain verifies;
- Neo4j goes away during an import: 503 with the error body, and once it is back the same
  document completes the import (tests/faults/test_store_down.py does the same for reads).
  The embedded store is SQLite in the server's own process: it has no outage of its own
  short of the disk's, so this one is Neo4j's only.

The documents are exports of a generated plant (random seeds, printed).
"""

from __future__ import annotations

import os
import random
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import httpx
import pytest

from graph.neo4j_store import Neo4jStore
from graph.store import GraphStore
from ingest.epcis.document import read_document
from ingest.epcis.importer import ingest_epcis
from lotgraph import neo4j_local
from lotgraph.neo4j_local import ConnectionInfo
from tests.api.conftest import api_key_account
from tests.faults.chain import assert_cli_verifies, assert_covered
from tests.faults.epcis_documents import PlantExports, clean_import, event_count, with_events
from tests.faults.served import empty_store, free_port, serve, store_env

BACKENDS = ["embedded", pytest.param("neo4j", marks=pytest.mark.neo4j)]
JSON_LD = "application/ld+json"
# plants whose whole export takes each store a few seconds to import
KILL_LOTS = {"embedded": 3000, "neo4j": 1200}
RACE_LOTS = 600
CLIENTS = 4
RESENDS = 5  # a client answered 503 (writers kept changing the same rows) sends again


def _target(backend: str, folder: Path, request: pytest.FixtureRequest) -> GraphStore:
    """An empty store of ``backend`` (Neo4j: the test session's, cleared)."""
    return empty_store(backend, folder, request)[0]


def _env(backend: str, folder: Path, request: pytest.FixtureRequest) -> dict[str, str]:
    neo4j = request.getfixturevalue("neo4j_server") if backend == "neo4j" else None
    return store_env(folder, neo4j)


def _post(base: str, key: str, data: bytes, idempotency_key: str | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}", "Content-Type": JSON_LD}
    if idempotency_key:
        headers["Idempotency-Key"] = idempotency_key
    return httpx.post(f"{base}/ingest/epcis", content=data, headers=headers, timeout=600)


def _ingest_chunks(store: GraphStore, after: int) -> int:
    """The ingests' chunk entries committed after the chain's entry ``after``."""
    return sum(e["action"] == "ingest_chunk" for e in store.audit_entries(after=after))


def _complete(report: dict[str, Any], events: int) -> None:
    """A report that accounts for every event of the document and rejects none."""
    counts = report["events"]
    assert counts["read"] == events and counts["rejected"] == 0, counts
    assert counts["accepted"] + counts["unchanged"] == events
    assert report["rejected"] == 0 and report["rejections"] == []


@pytest.mark.parametrize("backend", BACKENDS)
def test_kill_9_of_the_server_during_an_epcis_import_then_the_same_document_again(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    seed = random.randrange(2**32)
    print(f"kill -9 during an EPCIS import on {backend}: seed {seed}")
    rng = random.Random(seed)
    plant = PlantExports(tmp_path / "source", KILL_LOTS[backend], rng.randrange(1000))
    try:
        document = plant.document(plant.lots)
    finally:
        plant.close()
    events = event_count(document)
    expected_digest, expected_stats = clean_import(tmp_path / "reference", [document])

    store = _target(backend, tmp_path / "data", request)
    env = _env(backend, tmp_path / "data", request)
    try:
        key = api_key_account(store, "integrator-k", role="integrator")
        first_key = str(uuid.uuid4())
        start = store.audit_head()
        start_seq = start.seq if start else 0
        after_chunks = rng.randint(1, 3)  # killed once this many chunks are committed
        pause = rng.uniform(0, 0.05)
        answers: list[httpx.Response | Exception] = []
        with serve(env, workers=1) as server:
            sender = threading.Thread(
                target=lambda: answers.append(_attempt(server.base, key, document, first_key))
            )
            sender.start()
            deadline = time.monotonic() + 300
            while _ingest_chunks(store, start_seq) < after_chunks:
                assert not answers, f"the import ended before the kill: {answers}"
                assert time.monotonic() < deadline, "the import made no progress"
                time.sleep(0.005)
            time.sleep(pause)
            os.kill(server.pid, signal.SIGKILL)
            sender.join(timeout=60)
        (answer,) = answers
        assert isinstance(answer, httpx.TransportError), f"answered after kill -9: {answer}"
        killed_after = _ingest_chunks(store, start_seq)
        print(f"  killed after {killed_after} chunk entries (waited for {after_chunks})")
        assert store.content_sha256() != expected_digest, "the import had finished"
        assert_covered(store)

        with serve(env, workers=1) as server:
            # the killed request's key stays reserved (api/idempotency.py STALE_AFTER): a
            # retry under it is told to retry later, and writes nothing meanwhile
            held = _post(server.base, key, document, first_key)
            assert held.status_code == 409 and set(held.json()) == {"error", "detail"}
            again = _post(server.base, key, document, str(uuid.uuid4()))
            assert again.status_code == 200, again.text
            _complete(again.json(), events)
        assert store.content_sha256() == expected_digest, seed
        assert asdict(store.stats()) == expected_stats
        assert_covered(store)
        assert_cli_verifies(env)
    finally:
        store.close()


def _attempt(base: str, key: str, data: bytes, idempotency_key: str) -> httpx.Response | Exception:
    try:
        return _post(base, key, data, idempotency_key)
    except Exception as exc:  # noqa: BLE001 - the kill's error is what the test looks at
        return exc


@pytest.mark.parametrize("backend", BACKENDS)
def test_concurrent_clients_import_overlapping_epcis_documents(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    seed = random.randrange(2**32)
    print(f"concurrent EPCIS imports on {backend}: seed {seed}")
    rng = random.Random(seed)
    plant = PlantExports(tmp_path / "source", RACE_LOTS, rng.randrange(1000))
    try:
        whole = plant.document(plant.lots)
    finally:
        plant.close()
    n = event_count(whole)
    # three documents of 40-60% of the events each (so most events are in two or more),
    # and the first one sent a second time by the fourth client
    documents = [with_events(whole, rng.sample(range(n), rng.randint(n * 2 // 5, n * 3 // 5)))]
    documents += [with_events(whole, rng.sample(range(n), n // 2)) for _ in range(2)]
    documents.append(documents[0])
    expected_digest, expected_stats = clean_import(tmp_path / "reference", documents)

    store = _target(backend, tmp_path / "data", request)
    env = _env(backend, tmp_path / "data", request)
    try:
        keys = [api_key_account(store, f"integrator-{i}", role="integrator") for i in range(4)]
        answers: list[list[httpx.Response]] = [[] for _ in range(CLIENTS)]
        with serve(env, workers=CLIENTS) as server:
            start = threading.Barrier(CLIENTS)

            def client(i: int) -> None:
                """Sends its document until it is answered 200 (a 503 says to send again)."""
                start.wait()
                for _ in range(RESENDS):
                    reply = _post(server.base, keys[i], documents[i], str(uuid.uuid4()))
                    answers[i].append(reply)
                    if reply.status_code != 503:
                        return
                    time.sleep(float(reply.headers.get("Retry-After", "1")))

            threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=600)
            log = server.log_tail()
        for i, replies in enumerate(answers):
            *busy, last = replies
            print(f"  client {i}: {len(busy)} answers 503 before {last.status_code}")
            for reply in busy:  # other writers kept changing the rows: a clear refusal
                assert set(reply.json()) == {"error", "detail"}, reply.text
                assert int(reply.headers["Retry-After"]) > 0
            assert last.status_code == 200, (i, last.text, log)
            _complete(last.json(), event_count(documents[i]))
        # what each report accepted is stored: the same document again changes nothing
        for i, data in enumerate(documents):
            report = ingest_epcis(
                store, read_document(data, name=f"{i}.jsonld"), actor="check", label="check"
            )
            assert report.total("accepted") == 0 and report.total("updated") == 0, (i, seed)
        # and nothing else, nothing twice: the store a clean import of the four gives
        assert store.content_sha256() == expected_digest, seed
        assert asdict(store.stats()) == expected_stats
        assert_covered(store)
        assert_cli_verifies(env)
    finally:
        store.close()


@pytest.fixture
def own_neo4j(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, Any]]:
    """A Neo4j of this test's own (free ports, its own folder), to be stopped and started
    without disturbing the test session's."""
    monkeypatch.setenv("LOTGRAPH_NEO4J_BOLT_PORT", str(free_port()))
    monkeypatch.setenv("LOTGRAPH_NEO4J_HTTP_PORT", str(free_port()))
    folder = tmp_path / "neo4j-own"
    info = neo4j_local.start(folder, fresh=True)
    try:
        yield folder, info
    finally:
        neo4j_local.stop(folder)


@pytest.mark.neo4j
def test_neo4j_going_away_during_an_epcis_import(
    tmp_path: Path, own_neo4j: tuple[Path, ConnectionInfo]
) -> None:
    seed = random.randrange(2**32)
    print(f"Neo4j stopped during an EPCIS import: seed {seed}")
    rng = random.Random(seed)
    folder, info = own_neo4j
    plant = PlantExports(tmp_path / "source", KILL_LOTS["neo4j"], rng.randrange(1000))
    try:
        document = plant.document(plant.lots)
    finally:
        plant.close()
    events = event_count(document)
    expected_digest, expected_stats = clean_import(tmp_path / "reference", [document])

    def open_store() -> Neo4jStore:
        store = Neo4jStore(info.uri, info.user, info.password, info.database)
        store.ensure_schema()
        return store

    store = open_store()
    key = api_key_account(store, "integrator-s", role="integrator")
    head = store.audit_head()
    start_seq = head.seq if head else 0
    env = store_env(tmp_path / "serve", info)
    answers: list[httpx.Response | Exception] = []
    with serve(env, workers=1) as server:
        sender = threading.Thread(
            target=lambda: answers.append(_attempt(server.base, key, document, str(uuid.uuid4())))
        )
        sender.start()
        deadline = time.monotonic() + 300
        while _ingest_chunks(store, start_seq) < 1:
            assert not answers, f"the import ended before Neo4j was stopped: {answers}"
            assert time.monotonic() < deadline, "the import made no progress"
            time.sleep(0.005)
        store.close()
        assert neo4j_local.stop(folder)
        sender.join(timeout=300)
        (answer,) = answers
        assert isinstance(answer, httpx.Response), answer
        body = answer.json()
        assert answer.status_code == 503, (answer.status_code, body, server.log_tail())
        assert set(body) == {"error", "detail"} and "neo4j" in body["detail"]
        assert int(answer.headers["Retry-After"]) > 0

        neo4j_local.start(folder)
        store = open_store()
        try:
            assert store.content_sha256() != expected_digest, "the import had finished"
            assert_covered(store)
            again = _post(server.base, key, document, str(uuid.uuid4()))
            assert again.status_code == 200, again.text
            _complete(again.json(), events)
            assert store.content_sha256() == expected_digest, seed
            assert asdict(store.stats()) == expected_stats
            assert_covered(store)
        finally:
            store.close()
    assert_cli_verifies(env)
