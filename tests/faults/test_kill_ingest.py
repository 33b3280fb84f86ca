"""kill -9 of a CLI ingest at seeded points, then the same ingest again, on both stores.

After the kill every stored row is already covered by the audit chain (each chunk commits its
own entry with its rows); after the re-ingest the store is the one a clean ingest gives: the
same stats and the same content digest, and `lotgraph audit verify` is ok.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import pytest

from graph.embedded import EmbeddedStore
from graph.neo4j_store import Neo4jStore
from graph.store import GraphStore
from ingest.loader import ingest_bundle
from ingest.synthetic import generate_plant
from lotgraph.neo4j_local import ConnectionInfo
from tests.faults.chain import assert_cli_verifies, assert_covered, audit_seq
from tests.faults.served import store_env

KILL_POINTS = 10
# plant sizes and chunks that give each store a second or more of commits to be killed in
PLANT_LOTS = {"embedded": 600, "neo4j": 200}
CHUNK_ROWS = {"embedded": 20, "neo4j": 100}


def _cli(args: list[str]) -> list[str]:
    return [sys.executable, "-m", "lotgraph", *args]


def _kill_during_ingest(
    plant: Path,
    env: dict[str, str],
    store: GraphStore,
    chunk_rows: int,
    after_entries: int,
    pause: float,
) -> int:
    """Start the ingest, kill -9 it once ``after_entries`` chunks committed plus ``pause`` s."""
    proc = subprocess.Popen(
        _cli(["ingest", str(plant), "--json", "--chunk-rows", str(chunk_rows)]),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 120
        while audit_seq(store) < after_entries:
            assert proc.poll() is None, f"ingest ended before the kill point: {proc.stderr}"
            assert time.monotonic() < deadline, "the ingest made no progress"
            time.sleep(0.002)
        time.sleep(pause)
        assert proc.poll() is None, "the ingest finished before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    return audit_seq(store)


def _run_kill_points(
    tmp_path: Path,
    backend: str,
    reopen: Callable[[Path], GraphStore],
    neo4j: ConnectionInfo | None,
) -> None:
    seed = random.randrange(2**32)
    print(f"kill-9 fault test on {backend}: seed {seed}")
    rng = random.Random(seed)
    plant = tmp_path / "plant"
    generate_plant(lots=PLANT_LOTS[backend], seed=rng.randrange(1000), out=plant)

    reference = EmbeddedStore(tmp_path / "reference.sqlite")
    reference.ensure_schema()
    ingest_bundle(reference, plant, actor="reference", chunk_rows=CHUNK_ROWS[backend])
    expected_digest, expected_stats = reference.content_sha256(), asdict(reference.stats())
    clean_entries = audit_seq(reference)
    reference.close()

    for point in range(KILL_POINTS):
        data_dir = tmp_path / f"data-{point}"
        env = store_env(data_dir, neo4j)
        store = reopen(data_dir)
        try:
            # the kill comes after a seeded number of committed chunks, at a seeded moment
            # of the next one, anywhere from the first chunk to the last fifth
            after = rng.randint(1, max(1, clean_entries * 4 // 5))
            pause = rng.uniform(0, 0.05)
            killed_at = _kill_during_ingest(plant, env, store, CHUNK_ROWS[backend], after, pause)
            assert killed_at < clean_entries, (point, killed_at)
            print(f"  point {point}: killed after {killed_at} of {clean_entries} entries")
            assert_covered(store)

            ingest_bundle(store, plant, actor="fault-test")
            assert store.content_sha256() == expected_digest, (seed, point, after, pause)
            assert_covered(store)
            if point == KILL_POINTS - 1:  # the CLI's answer too, and the stats
                assert asdict(store.stats()) == expected_stats
                assert_cli_verifies(env)
        finally:
            store.close()


def test_kill_9_during_an_embedded_ingest_then_reingest(tmp_path: Path) -> None:
    def reopen(data_dir: Path) -> GraphStore:
        data_dir.mkdir()
        store = EmbeddedStore(data_dir / "graph.sqlite")
        store.ensure_schema()
        return store

    _run_kill_points(tmp_path, "embedded", reopen, None)


@pytest.mark.neo4j
def test_kill_9_during_a_neo4j_ingest_then_reingest(
    tmp_path: Path, neo4j_server: ConnectionInfo, neo4j_store: Neo4jStore
) -> None:
    def reopen(data_dir: Path) -> GraphStore:
        store = Neo4jStore(
            neo4j_server.uri, neo4j_server.user, neo4j_server.password, neo4j_server.database
        )
        store.clear()  # the schema stays
        return store

    _run_kill_points(tmp_path, "neo4j", reopen, neo4j_server)
