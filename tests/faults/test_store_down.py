"""Neo4j stopped and started under load: 503 with Retry-After, then 200 (issue 12, item 7).

A real `lotgraph serve` reads from its own real Neo4j (ports 7741/7742 and a data folder of
its own, so the test session's server is not disturbed) while two clients keep asking.
Neo4j is stopped after ~5 s and started again: every answer is 200 or 503 with Retry-After,
/health names neo4j as the store that is down, and once Neo4j is back the same serve
process answers 200 again, with no restart. On 9c6a95b the outage answered 500.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from graph.neo4j_store import Neo4jStore
from ingest.loader import ingest_bundle
from lotgraph import neo4j_local
from tests.api.conftest import api_key_account
from tests.bundles import MATERIALS, batch, consumption, lot, output, write_bundle
from tests.faults.served import serve, store_env

pytestmark = pytest.mark.neo4j

BOLT_PORT, HTTP_PORT = "7741", "7742"
UP_BEFORE_STOP_S = 5.0
DOWN_S = 4.0  # Neo4j stays stopped this long before it is started again
BACK_WITHIN_S = 30.0


def _load(info: neo4j_local.ConnectionInfo, tmp_path: Path) -> str:
    """A small plant and an auditor's API key, written straight into the store."""
    store = Neo4jStore(info.uri, info.user, info.password, info.database)
    try:
        store.clear()
        store.ensure_schema()
        plant = {
            "materials.csv": MATERIALS,
            "lots.csv": [lot("L-1"), lot("L-2", material="MAT-I")],
            "batches.csv": [batch("B-1")],
            "consumptions.csv": [consumption("B-1", "L-1")],
            "outputs.csv": [output("B-1", "L-2")],
        }
        ingest_bundle(store, write_bundle(tmp_path / "plant", plant), actor="test")
        return api_key_account(store, "ivo")
    finally:
        store.close()


def test_neo4j_stopped_and_started_under_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOTGRAPH_NEO4J_BOLT_PORT", BOLT_PORT)
    monkeypatch.setenv("LOTGRAPH_NEO4J_HTTP_PORT", HTTP_PORT)
    neo4j_dir = tmp_path / "neo4j-fault"
    info = neo4j_local.start(neo4j_dir, fresh=True)
    try:
        headers = {"Authorization": f"Bearer {_load(info, tmp_path)}"}
        env = store_env(tmp_path / "serve", info)
        with serve(env, workers=1) as server:
            base = server.base
            answers: list[tuple[float, str, int, str | None]] = []
            health: list[tuple[float, int, Any]] = []
            stop = threading.Event()

            def read(path: str) -> None:
                with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
                    while not stop.is_set():
                        reply = client.get(path)
                        answers.append(
                            (
                                time.monotonic(),
                                path,
                                reply.status_code,
                                reply.headers.get("Retry-After"),
                            )
                        )
                        time.sleep(0.05)

            def watch_health() -> None:
                with httpx.Client(base_url=base, timeout=60) as client:
                    while not stop.is_set():
                        reply = client.get("/health")
                        health.append((time.monotonic(), reply.status_code, reply.json()))
                        time.sleep(0.2)

            threads = [
                threading.Thread(target=read, args=("/lots/L-1",)),
                threading.Thread(target=read, args=("/lots/L-1/trace?direction=forward",)),
                threading.Thread(target=watch_health),
            ]
            for t in threads:
                t.start()
            try:
                time.sleep(UP_BEFORE_STOP_S)
                assert neo4j_local.stop(neo4j_dir)
                time.sleep(DOWN_S)
                neo4j_local.start(neo4j_dir)
                back = time.monotonic()
                deadline = back + BACK_WITHIN_S
                while time.monotonic() < deadline and not any(
                    at > back and status == 200 for at, _, status, _ in answers
                ):
                    time.sleep(0.2)
                time.sleep(1.0)  # a few more answers after the recovery
            finally:
                stop.set()
                for t in threads:
                    t.join(timeout=90)

    finally:
        neo4j_local.stop(neo4j_dir)

    statuses = {status for _, _, status, _ in answers}
    assert statuses <= {200, 503}, f"answers other than 200 and 503: {sorted(statuses)}"
    unavailable = [a for a in answers if a[2] == 503]
    assert unavailable, "no request answered 503 while Neo4j was down"
    assert all(retry and int(retry) > 0 for *_, retry in unavailable), "a 503 without Retry-After"
    assert any(at > back and status == 200 for at, _, status, _ in answers), (
        f"no 200 within {BACK_WITHIN_S} s after Neo4j was back"
    )
    down = [body for _, status, body in health if status == 503]
    assert down, "/health never said the store was down"
    assert all(
        body["status"] == "unavailable"
        and body["store"]["kind"] == "neo4j"
        and body["store"]["ok"] is False
        and body["store"]["error"]
        for body in down
    )
    assert health[-1][1] == 200 and health[-1][2]["store"] == {
        "kind": "neo4j",
        "ok": True,
        "error": None,
    }
