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
import random
from pathlib import Path
from typing import Any

import pytest

from graph.embedded import EmbeddedStore
from ingest.loader import ingest_bundle
from tests.bundles import MATERIALS, lot, write_bundle
from tests.first_load import (
    first_load_plant,
    lotgraph_cli,
    neo4j_cli_env,
    open_local,
    same_graph,
)

pytestmark = pytest.mark.neo4j

REPO = Path(__file__).resolve().parent.parent
# what differs between two ingests of one bundle: when, and under which id
_PER_RUN = {"ingest_id", "started_at", "finished_at", "bundle"}


def _accounting(report: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in report.items() if k not in _PER_RUN and k != "neo4j_import"}


def test_a_first_load_equals_the_loader_and_refuses_a_second(
    tmp_path: Path, local_env: dict[str, str]
) -> None:
    plant, seed = first_load_plant(tmp_path)
    draw = random.Random(seed)
    done = lotgraph_cli(["neo4j", "import", str(plant), "--json"], local_env)
    assert done.returncode == 1, done.stderr  # the bad row is rejected: exit 1, as ingest
    report = json.loads(done.stdout)

    reference = EmbeddedStore(tmp_path / "reference.sqlite")
    reference.ensure_schema()
    expected = ingest_bundle(reference, plant, actor="reference").as_dict()
    neo4j = open_local(local_env)
    try:
        assert _accounting(report) == _accounting(expected)
        assert report["rejected"] == 1 and report["rejections"][0]["column"] == "quantity"
        figures = report["neo4j_import"]
        stats = reference.stats()
        assert figures["nodes"] == sum(stats.nodes.values())
        assert figures["relationships"] == sum(stats.relationships.values())
        same_graph(reference, neo4j, draw)
        # the dead letter: the ingest and its rejection, as the loader records them
        assert neo4j.rejections(report["ingest_id"]) == [
            {"ingest_id": report["ingest_id"], **r} for r in report["rejections"]
        ]
        head = neo4j.audit_head()
        assert head is not None and head.seq == figures["audit_entries"]
    finally:
        neo4j.close()

    neo4j_env = neo4j_cli_env(local_env)
    verified = lotgraph_cli(["audit", "verify"], neo4j_env)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "every stored row is covered" in verified.stdout

    # a later bundle goes through the ordinary loader, onto the imported trail
    later = write_bundle(
        tmp_path / "later", {"materials.csv": MATERIALS, "lots.csv": [lot("L-LATER")]}
    )
    added = lotgraph_cli(["ingest", str(later), "--json"], neo4j_env)
    assert added.returncode == 0, added.stderr
    assert json.loads(added.stdout)["files"]["lots.csv"]["accepted"] == 1
    assert lotgraph_cli(["audit", "verify"], neo4j_env).returncode == 0

    neo4j = open_local(local_env)
    try:
        before = neo4j.content_sha256()
        refused = lotgraph_cli(["neo4j", "import", str(plant), "--json"], local_env)
        assert refused.returncode == 2, refused.stdout + refused.stderr
        assert json.loads(refused.stdout)["error"] == "conflict"
        assert "not empty" in refused.stderr and "lotgraph ingest" in refused.stderr
        assert neo4j.content_sha256() == before
    finally:
        neo4j.close()
        reference.close()
