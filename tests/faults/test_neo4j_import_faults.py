"""kill -9 during `lotgraph neo4j import`: an incomplete database is never used.

From the moment before the server stops for the import tool until the imported database is
verified, its rows are not yet covered by an audit trail. The import is killed (the CLI and
the tool, one process group) at two moments: while the tool writes the database, and once
the server runs on the imported graph before the trail is adopted. Each time, every way in
refuses the database naming the unfinished load: a command through the local server (the
marker file), a command given the server's URI (the marker node in the database), and the
import itself; `lotgraph neo4j start --fresh` and the import again then give the database
the loader gives, its audit trail verified and covering every row.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from graph.embedded import EmbeddedStore
from ingest.loader import ingest_bundle
from lotgraph.neo4j_local.home import Home
from tests.first_load import (
    REPO,
    first_load_plant,
    lotgraph_cli,
    neo4j_cli_env,
    open_local,
    same_graph,
)

pytestmark = pytest.mark.neo4j

# the progress line after which the import is killed (lotgraph/neo4j_import.py)
KILL_AFTER = {
    "the import tool writes the database": "neo4j-admin database import full",
    "the server runs on the imported graph": "making the constraints and indexes",
}
UNFINISHED = "unfinished first load"


def _import_killed_after(line_start: str, plant: Path, env: dict[str, str]) -> list[str]:
    """Run the import and kill -9 its process group once it says ``line_start``."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "lotgraph", "neo4j", "import", str(plant)],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    said: list[str] = []
    assert proc.stderr is not None
    try:
        for line in proc.stderr:
            said.append(line.rstrip())
            if line.startswith(line_start):
                os.killpg(proc.pid, signal.SIGKILL)
                break
    finally:
        if proc.poll() is None:  # also when the line never came: nothing left running
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
    assert said and said[-1].startswith(line_start), "\n".join(said)
    assert proc.returncode == -signal.SIGKILL, (proc.returncode, said)
    return said


@pytest.mark.parametrize("moment", list(KILL_AFTER))
def test_kill_9_during_a_first_load_leaves_no_database_in_use(
    tmp_path: Path, local_env: dict[str, str], moment: str
) -> None:
    plant, seed = first_load_plant(tmp_path)
    data_dir = Path(local_env["LOTGRAPH_DATA_DIR"])
    said = _import_killed_after(KILL_AFTER[moment], plant, local_env)
    print(f"killed when {moment}; it had said: {said[-3:]}")

    marker = Home.of(data_dir).first_load_marker
    ingest_id = json.loads(marker.read_text(encoding="utf-8"))["ingest_id"]
    through_local = {**local_env, "LOTGRAPH_STORE": "neo4j"}
    refused = lotgraph_cli(["audit", "verify"], through_local)
    assert refused.returncode != 0 and UNFINISHED in refused.stderr, refused.stderr
    assert ingest_id in refused.stderr
    again = lotgraph_cli(["neo4j", "import", str(plant), "--json"], local_env)
    assert again.returncode == 2, again.stdout + again.stderr
    assert json.loads(again.stdout)["error"] == "conflict"
    assert UNFINISHED in again.stderr and "--fresh" in again.stderr

    if moment == "the server runs on the imported graph":
        # a client given the server's address, not the data folder, meets the marker node
        by_uri = neo4j_cli_env(local_env)
        refused = lotgraph_cli(["audit", "verify"], {**by_uri, "LOTGRAPH_DATA_DIR": str(tmp_path)})
        assert refused.returncode != 0 and UNFINISHED in refused.stderr, refused.stderr
        neo4j = open_local(local_env)
        try:
            assert neo4j.first_load_pending() == ingest_id
            assert neo4j.audit_head() is None  # rows the trail does not cover: kept from use
        finally:
            neo4j.close()

    fresh = lotgraph_cli(["neo4j", "start", "--fresh"], local_env)
    assert fresh.returncode == 0, fresh.stderr
    assert not marker.exists()
    done = lotgraph_cli(["neo4j", "import", str(plant), "--json"], local_env)
    assert done.returncode == 1, done.stderr  # the plant's one bad row, as ever
    assert not marker.exists()
    verified = lotgraph_cli(["audit", "verify"], neo4j_cli_env(local_env))
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "every stored row is covered" in verified.stdout

    reference = EmbeddedStore(tmp_path / "reference.sqlite")
    reference.ensure_schema()
    ingest_bundle(reference, plant, actor="reference")
    neo4j = open_local(local_env)
    try:
        assert neo4j.first_load_pending() is None
        same_graph(reference, neo4j, random.Random(seed))
    finally:
        neo4j.close()
        reference.close()
