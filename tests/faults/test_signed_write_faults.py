"""Signed writes through a fault: supplier-change decisions and batch releases while the
server is killed (kill -9, both stores) or its Neo4j stops and starts again.

Three clients keep sending decisions and releases, each with an Idempotency-Key of its own,
to a real `lotgraph serve`. After the fault:

- every write the server acknowledged (201) is stored, exactly once;
- a request that got no answer (or a 503) is sent again under its key: it is answered
  201 when its write had committed (the answer recorded with it is given again) or 409
  when it had not (the key stays reserved; nothing of it is stored), and nothing else;
- so what is stored is exactly the acknowledged writes and the replayed ones: decisions
  numbered 1..n without a gap, each batch released once, by the signer of its 201;
- the audit chain verifies and covers every stored row (in the store and by
  `lotgraph audit verify`).
"""

from __future__ import annotations

import csv
import os
import random
import signal
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from graph.neo4j_store import Neo4jStore
from graph.store import GraphStore
from ingest.loader import ingest_bundle
from lotgraph import neo4j_local
from tests.bundles import write_ready_batch
from tests.faults.chain import assert_cli_verifies, assert_covered
from tests.faults.served import (
    PASSWORD,
    Server,
    empty_store,
    free_port,
    seed_plant,
    serve,
    store_env,
)

WRITERS = 3
SIGNERS = [f"qa-{i}" for i in range(WRITERS)]
ACCOUNTS = {name: ("qa", ["*"]) for name in SIGNERS}
DECISIONS = ["accepted", "extra_testing", "requalification_required"]
READY_BATCHES = [f"B-FAULT-{n}" for n in range(4)]


@dataclass
class Sent:
    """One request as a client sent it, and what it was answered (None: no answer)."""

    writer: int
    path: str
    body: dict[str, Any]
    key: str
    status: int | None = None
    answer: Any = None
    retry_after: str | None = None
    lost: str | None = None  # no answer: why (a refused connection never reached a server)


@dataclass
class Plant:
    folder: Path
    env: dict[str, str]
    seed: int
    notices: list[tuple[str, str]] = field(default_factory=list)  # (supplier, change)


def _load(store: GraphStore, folder: Path, env: dict[str, str]) -> Plant:
    store.ensure_schema()
    seed = seed_plant(store, folder / "plant", ACCOUNTS)
    for batch_id in READY_BATCHES:
        ready = write_ready_batch(folder / batch_id, batch_id)
        assert ingest_bundle(store, ready, actor="fault-test").rejections == []
    with (folder / "plant" / "supplier_changes.csv").open(newline="", encoding="utf-8") as fh:
        notices = [(r["supplier_id"], r["change_id"]) for r in csv.DictReader(fh)]
    return Plant(folder, env, seed, random.Random(seed).sample(notices, min(2, len(notices))))


def _write(plant: Plant, rng: random.Random, writer: int) -> tuple[str, dict[str, Any]]:
    if rng.random() < 0.6:
        supplier, change = rng.choice(plant.notices)
        body = {
            "decision": rng.choice(DECISIONS),
            "reason": f"fault {writer}",
            "password": PASSWORD,
        }
        return f"/suppliers/{supplier}/changes/{change}/decisions", body
    body = {"password": PASSWORD, "reason": f"fault {writer}"}
    return f"/batches/{rng.choice(READY_BATCHES)}/release", body


def _token(base: str, name: str) -> str:
    for _ in range(60):  # a server just started, or a store just back
        try:
            reply = httpx.post(
                f"{base}/auth/token", data={"username": name, "password": PASSWORD}, timeout=60
            )
        except httpx.TransportError:
            time.sleep(0.5)
            continue
        if reply.status_code == 200:
            return str(reply.json()["access_token"])
        time.sleep(0.5)
    raise AssertionError(f"{name} could not sign in")


class Writers:
    """WRITERS threads sending writes until told to stop or until their server is gone."""

    def __init__(self, plant: Plant, server: Server) -> None:
        self.plant = plant
        self.base = server.base
        self.sent: list[Sent] = []
        self.stop = threading.Event()
        self.failures: list[BaseException] = []
        tokens = [_token(self.base, name) for name in SIGNERS]
        self.threads = [
            threading.Thread(target=self._run, args=(i, tokens[i])) for i in range(WRITERS)
        ]

    def __enter__(self) -> Writers:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.join()

    def join(self) -> None:
        """Wait for every writer to end (by the stop, or by losing its server)."""
        for thread in self.threads:
            thread.join(timeout=180)
        assert not any(t.is_alive() for t in self.threads), "a writer did not end"
        assert not self.failures, self.failures

    def acknowledged(self) -> int:
        return sum(1 for s in list(self.sent) if s.status == 201)

    def _run(self, writer: int, token: str) -> None:
        rng = random.Random(self.plant.seed * 10 + writer)
        headers = {"Authorization": f"Bearer {token}"}
        try:
            with httpx.Client(base_url=self.base, headers=headers, timeout=120) as client:
                while not self.stop.is_set():
                    path, body = _write(self.plant, rng, writer)
                    sent = Sent(writer, path, body, str(uuid.uuid4()))
                    self.sent.append(sent)
                    try:
                        reply = client.post(path, json=body, headers={"Idempotency-Key": sent.key})
                    except httpx.TransportError as exc:
                        sent.lost = type(exc).__name__
                        return  # the server is gone: this request has no answer
                    sent.status, sent.answer = reply.status_code, reply.json()
                    sent.retry_after = reply.headers.get("Retry-After")
        except BaseException as exc:  # reported by the main thread
            self.failures.append(exc)


def _send_again(base: str, unanswered: list[Sent]) -> list[tuple[Sent, int, Any]]:
    """Each request that got no answer (or a 503) again, under its own key and signer."""
    tokens = {name: _token(base, name) for name in SIGNERS}
    again = []
    for sent in unanswered:
        reply = httpx.post(
            f"{base}{sent.path}",
            json=sent.body,
            headers={
                "Authorization": f"Bearer {tokens[SIGNERS[sent.writer]]}",
                "Idempotency-Key": sent.key,
            },
            timeout=120,
        )
        again.append((sent, reply.status_code, reply.json()))
    return again


def _get(base: str, path: str) -> Any:
    token = _token(base, SIGNERS[0])
    reply = httpx.get(f"{base}{path}", headers={"Authorization": f"Bearer {token}"}, timeout=120)
    assert reply.status_code == 200, reply.text
    return reply.json()


def _check(plant: Plant, base: str, sent: list[Sent], again: list[tuple[Sent, int, Any]]) -> None:
    """What is stored is exactly what was acknowledged or replayed, each once."""
    for request, status, body in again:
        assert status in (201, 409), (request.path, status, body)
        if status == 409:
            assert set(body) == {"error", "detail"}, body
    written = [(s, s.answer) for s in sent if s.status == 201]
    written += [(s, body) for s, status, body in again if status == 201]
    decided = [body["id"] for s, body in written if "/decisions" in s.path]
    assert len(decided) == len(set(decided)), "a decision acknowledged twice"
    stored: list[str] = []
    for supplier, change in plant.notices:
        notice = next(
            c for c in _get(base, f"/suppliers/{supplier}")["changes"] if c["id"] == change
        )
        history = notice["decisions"]
        stored += [d["id"] for d in history]
        assert [d["number"] for d in history] == list(range(1, len(history) + 1)), history
        chain = [None] + [d["id"] for d in history[:-1]]
        assert [d["supersedes"] for d in history] == chain[: len(history)], history
    assert sorted(stored) == sorted(decided), plant.seed
    released = {body["batch"]: s.writer for s, body in written if "/release" in s.path}
    assert len(released) == len([1 for s, _ in written if "/release" in s.path])
    for batch_id in READY_BATCHES:
        checklist = _get(base, f"/batches/{batch_id}/release")
        if batch_id in released:
            assert checklist["release_state"] == "released", checklist
            assert checklist["release"]["signer_id"] == SIGNERS[released[batch_id]]
        else:
            assert checklist["release_state"] != "released", (batch_id, checklist)


@pytest.fixture(params=["embedded", pytest.param("neo4j", marks=pytest.mark.neo4j)])
def killable(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Plant, GraphStore]]:
    store, neo4j = empty_store(request.param, tmp_path, request)
    try:
        plant = _load(store, tmp_path, store_env(tmp_path, neo4j))
        print(f"signed writes, kill -9 on {request.param}: plant seed {plant.seed}")
        yield plant, store
    finally:
        store.close()


def test_kill_9_during_signed_writes_loses_no_acknowledged_write(
    killable: tuple[Plant, GraphStore],
) -> None:
    plant, store = killable
    draw = random.Random(plant.seed)
    kill_after = draw.randint(3, 8)  # acknowledged writes before the kill
    with serve(plant.env, workers=1) as server, Writers(plant, server) as writers:
        deadline = time.monotonic() + 300
        while writers.acknowledged() < kill_after:
            assert time.monotonic() < deadline, "the writers made no progress"
            time.sleep(0.01)
        time.sleep(draw.uniform(0, 0.05))
        os.kill(server.pid, signal.SIGKILL)
        writers.join()  # each writer ends on the request the kill left unanswered
    sent = writers.sent
    unanswered = [s for s in sent if s.status is None]
    assert len(unanswered) == WRITERS and all(s.lost for s in unanswered), unanswered
    in_flight = [s for s in unanswered if s.lost != "ConnectError"]
    assert {s.status for s in sent} - {None} <= {201, 409}, [s.answer for s in sent]
    assert_covered(store)
    with serve(plant.env, workers=1) as server:
        again = _send_again(server.base, unanswered)
        _check(plant, server.base, sent, again)
    print(
        f"  killed after {kill_after} acknowledged writes; {len(sent)} sent, "
        f"{len(in_flight)} of them in flight at the kill; sent again: "
        f"{[status for _, status, _ in again]}"
    )
    assert_covered(store)
    assert_cli_verifies(plant.env)


@pytest.mark.neo4j
def test_neo4j_stopping_during_signed_writes_loses_no_acknowledged_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOTGRAPH_NEO4J_BOLT_PORT", str(free_port()))
    monkeypatch.setenv("LOTGRAPH_NEO4J_HTTP_PORT", str(free_port()))
    monkeypatch.setenv("LOTGRAPH_NEO4J_HEAP", "512m")
    monkeypatch.setenv("LOTGRAPH_NEO4J_PAGECACHE", "256m")
    neo4j_dir = tmp_path / "neo4j-fault"
    info = neo4j_local.start(neo4j_dir, fresh=True)
    store = Neo4jStore(info.uri, info.user, info.password, info.database)
    try:
        plant = _load(store, tmp_path, store_env(tmp_path / "serve", info))
        print(f"signed writes, Neo4j stopped: plant seed {plant.seed}")
        with serve(plant.env, workers=1) as server, Writers(plant, server) as writers:
            deadline = time.monotonic() + 300
            while writers.acknowledged() < 3:
                assert time.monotonic() < deadline, "the writers made no progress"
                time.sleep(0.01)
            assert neo4j_local.stop(neo4j_dir)
            time.sleep(3.0)
            neo4j_local.start(neo4j_dir)
            back = writers.acknowledged()
            deadline = time.monotonic() + 60
            while writers.acknowledged() == back and time.monotonic() < deadline:
                time.sleep(0.2)
        sent = writers.sent
        statuses = {s.status for s in sent}
        assert statuses <= {201, 409, 503}, [s.answer for s in sent if s.status not in (201, 409)]
        unavailable = [s for s in sent if s.status == 503]
        assert unavailable, "no write was answered 503 while Neo4j was down"
        assert all(s.retry_after and int(s.retry_after) > 0 for s in unavailable)
        assert all(set(s.answer) == {"error", "detail"} for s in unavailable)
        assert writers.acknowledged() > back, "no write acknowledged once Neo4j was back"
        with serve(plant.env, workers=1) as server:
            again = _send_again(server.base, unavailable)
            _check(plant, server.base, sent, again)
        print(
            f"  {len(sent)} sent: {sorted(Counter(s.status for s in sent).items())}; the 503s "
            f"sent again: {sorted(Counter(status for _, status, _ in again).items())}"
        )
        assert_covered(store)
        assert_cli_verifies(plant.env)
    finally:
        store.close()
        neo4j_local.stop(neo4j_dir)
