"""`lotgraph neo4j import BUNDLE`: a first load through neo4j-admin into a real, empty local
Neo4j of its own (issue 16, item 3), checked against the loader on the embedded store.

A generated plant (random seed, printed) with a rejected row and a dangling reference added
goes in; the Neo4j database then holds what the loader writes into an embedded store from
the same bundle (statistics, content digest, traces, rejections, placeholders), its audit
trail verifies and covers every row, a later bundle goes through the ordinary loader, and
a second first load is refused without touching the database.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from graph.embedded import EmbeddedStore
from graph.model import Label
from graph.neo4j_store import Neo4jStore
from graph.store import GraphStore
from ingest.loader import ingest_bundle
from ingest.synthetic import generate_plant
from lotgraph import neo4j_local
from queries.trace import Direction, trace
from tests.bundles import MATERIALS, lot, write_bundle
from tests.faults.served import free_port

pytestmark = pytest.mark.neo4j

REPO = Path(__file__).resolve().parent.parent
# what differs between two ingests of one bundle: when, and under which id
_PER_RUN = {"ingest_id", "started_at", "finished_at", "bundle"}


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


def _lotgraph(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lotgraph", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=900,
    )


def _plant(tmp_path: Path) -> tuple[Path, int]:
    """A generated plant with one row to reject and one consumption of a lot no file has."""
    seed = random.randrange(1_000_000)
    print(f"first-load plant seed {seed}")
    plant = generate_plant(lots=240, seed=seed, out=tmp_path / "plant").out
    with (plant / "lots.csv").open("a", encoding="utf-8") as fh:
        fh.write("L-BAD-QTY,MAT-THF,SUP-009,X,SITE-A,-5,L,released,2025-01-01T04:20:43,,\n")
    with (plant / "consumptions.csv").open("a", encoding="utf-8") as fh:
        fh.write("B-2025-000001,L-NOWHERE,1.5,L,2025-01-08T16:24:10\n")
    return plant, seed


def _accounting(report: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in report.items() if k not in _PER_RUN and k != "neo4j_import"}


def _open_local(env: dict[str, str]) -> Neo4jStore:
    info = neo4j_local.connection_info(Path(env["LOTGRAPH_DATA_DIR"]))
    assert info is not None, "the local Neo4j is not running after the import"
    return Neo4jStore(info.uri, info.user, info.password, info.database)


def _neo4j_cli_env(env: dict[str, str]) -> dict[str, str]:
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


def _same_graph(reference: GraphStore, neo4j: Neo4jStore, draw: random.Random) -> None:
    assert neo4j.stats() == reference.stats()
    assert neo4j.content_sha256() == reference.content_sha256()
    assert neo4j.unresolved_count() == reference.unresolved_count()
    dangling = neo4j.fetch_nodes(Label.LOT, ["L-NOWHERE"])["L-NOWHERE"]
    assert dangling.unresolved, dangling
    for lot_id in draw.sample(sorted(reference.node_ids(Label.LOT)), 8):
        for direction in Direction:
            assert trace(neo4j, lot_id, direction) == trace(reference, lot_id, direction)


def test_a_first_load_equals_the_loader_and_refuses_a_second(
    tmp_path: Path, local_env: dict[str, str]
) -> None:
    plant, seed = _plant(tmp_path)
    draw = random.Random(seed)
    done = _lotgraph(["neo4j", "import", str(plant), "--json"], local_env)
    assert done.returncode == 1, done.stderr  # the bad row is rejected: exit 1, as ingest
    report = json.loads(done.stdout)

    reference = EmbeddedStore(tmp_path / "reference.sqlite")
    reference.ensure_schema()
    expected = ingest_bundle(reference, plant, actor="reference").as_dict()
    neo4j = _open_local(local_env)
    try:
        assert _accounting(report) == _accounting(expected)
        assert report["rejected"] == 1 and report["rejections"][0]["column"] == "quantity"
        figures = report["neo4j_import"]
        stats = reference.stats()
        assert figures["nodes"] == sum(stats.nodes.values())
        assert figures["relationships"] == sum(stats.relationships.values())
        _same_graph(reference, neo4j, draw)
        # the dead letter: the ingest and its rejection, as the loader records them
        assert neo4j.rejections(report["ingest_id"]) == [
            {"ingest_id": report["ingest_id"], **r} for r in report["rejections"]
        ]
        head = neo4j.audit_head()
        assert head is not None and head.seq == figures["audit_entries"]
    finally:
        neo4j.close()

    neo4j_env = _neo4j_cli_env(local_env)
    verified = _lotgraph(["audit", "verify"], neo4j_env)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "every stored row is covered" in verified.stdout

    # a later bundle goes through the ordinary loader, onto the imported trail
    later = write_bundle(
        tmp_path / "later", {"materials.csv": MATERIALS, "lots.csv": [lot("L-LATER")]}
    )
    added = _lotgraph(["ingest", str(later), "--json"], neo4j_env)
    assert added.returncode == 0, added.stderr
    assert json.loads(added.stdout)["files"]["lots.csv"]["accepted"] == 1
    assert _lotgraph(["audit", "verify"], neo4j_env).returncode == 0

    neo4j = _open_local(local_env)
    try:
        before = neo4j.content_sha256()
        refused = _lotgraph(["neo4j", "import", str(plant), "--json"], local_env)
        assert refused.returncode == 2, refused.stdout + refused.stderr
        assert json.loads(refused.stdout)["error"] == "conflict"
        assert "not empty" in refused.stderr and "lotgraph ingest" in refused.stderr
        assert neo4j.content_sha256() == before
    finally:
        neo4j.close()
        reference.close()
