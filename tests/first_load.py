"""A local Neo4j of a test's own, and the plant, for the tests of `lotgraph neo4j import`
(tests/test_neo4j_import.py, tests/faults/test_neo4j_import_faults.py)."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from graph.model import Label
from graph.neo4j_store import Neo4jStore
from graph.store import GraphStore
from ingest.synthetic import generate_plant
from lotgraph import neo4j_local
from queries.trace import Direction, trace
from tests.faults.served import free_port

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def local_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    """The environment of a local Neo4j of this test's own (free ports, small memory),
    stopped on the way out."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("LOTGRAPH_", "NEO4J_"))},
        "LOTGRAPH_DATA_DIR": str(tmp_path / "data"),
        "LOTGRAPH_NEO4J_BOLT_PORT": str(free_port()),
        "LOTGRAPH_NEO4J_HTTP_PORT": str(free_port()),
        "LOTGRAPH_NEO4J_HEAP": "512m",
        "LOTGRAPH_NEO4J_PAGECACHE": "256m",
        "LOTGRAPH_NEO4J_RUNTIME": "java",
        "LOTGRAPH_ACTOR": "first-load-test",
    }
    try:
        yield env
    finally:
        neo4j_local.stop(Path(env["LOTGRAPH_DATA_DIR"]))


def lotgraph_cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lotgraph", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=900,
    )


def first_load_plant(tmp_path: Path) -> tuple[Path, int]:
    """A generated plant with one row to reject and one consumption of a lot no file has."""
    seed = random.randrange(1_000_000)
    print(f"first-load plant seed {seed}")
    plant = generate_plant(lots=240, seed=seed, out=tmp_path / "plant").out
    with (plant / "lots.csv").open("a", encoding="utf-8") as fh:
        fh.write("L-BAD-QTY,MAT-THF,SUP-009,X,SITE-A,-5,L,released,2025-01-01T04:20:43,,\n")
    with (plant / "consumptions.csv").open("a", encoding="utf-8") as fh:
        fh.write("B-2025-000001,L-NOWHERE,1.5,L,2025-01-08T16:24:10\n")
    return plant, seed


def open_local(env: dict[str, str]) -> Neo4jStore:
    info = neo4j_local.connection_info(Path(env["LOTGRAPH_DATA_DIR"]))
    assert info is not None, "the local Neo4j is not running after the import"
    return Neo4jStore(info.uri, info.user, info.password, info.database)


def neo4j_cli_env(env: dict[str, str]) -> dict[str, str]:
    info = neo4j_local.connection_info(Path(env["LOTGRAPH_DATA_DIR"]))
    assert info is not None
    return {
        **env,
        "LOTGRAPH_STORE": "neo4j",
        "NEO4J_URI": info.uri,
        "NEO4J_USER": info.user,
        "NEO4J_PASSWORD": info.password,
        "NEO4J_DATABASE": info.database,
    }


def same_graph(reference: GraphStore, neo4j: Neo4jStore, draw: random.Random) -> None:
    assert neo4j.stats() == reference.stats()
    assert neo4j.content_sha256() == reference.content_sha256()
    assert neo4j.unresolved_count() == reference.unresolved_count()
    dangling = neo4j.fetch_nodes(Label.LOT, ["L-NOWHERE"])["L-NOWHERE"]
    assert dangling.unresolved, dangling
    for lot_id in draw.sample(sorted(reference.node_ids(Label.LOT)), 8):
        for direction in Direction:
            assert trace(neo4j, lot_id, direction) == trace(reference, lot_id, direction)
