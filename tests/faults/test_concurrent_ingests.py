"""Concurrent CLI ingests that change the same rows, on both stores.

Four processes ingest four versions of one plant's lots at once. Whatever the interleaving,
each lot's audit entries form one unbroken history: every entry's old value is the value
the entry before it wrote (no ingest overwrote a row it had not read), and the stored lot is
the last entry's new value.
"""

from __future__ import annotations

import csv
import random
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from graph.audit_chain import verify_store
from graph.digest import coverage
from graph.embedded import EmbeddedStore
from graph.model import Label
from graph.store import GraphStore
from ingest.loader import ingest_bundle
from ingest.synthetic import generate_plant
from lotgraph.neo4j_local import ConnectionInfo
from tests.faults.served import store_env

WRITERS = 4
# enough lots for the ingests, each started a moment apart, to overlap for a while
LOTS = {"embedded": 2000, "neo4j": 400}
CHUNK_ROWS = {"embedded": "5", "neo4j": "25"}  # small: many interleaved transactions


RACE_EVERY = 10  # every 10th row of a version is a lot none of the others has stored yet


def _variant(plant: Path, out: Path, n: int, rng: random.Random) -> Path:
    """The plant's lots.csv alone, with ``on_hand`` changed on a random half of the lots,
    and new lots (the same ids in every version) whose ``on_hand`` is ``n``."""
    out.mkdir()
    shutil.copy(plant / "bundle.json", out / "bundle.json")
    with (plant / "lots.csv").open(newline="", encoding="utf-8") as src:
        reader = csv.DictReader(src)
        rows = list(reader)
        fields = reader.fieldnames
    assert fields is not None
    for row in rows:
        if rng.random() < 0.5:
            row["on_hand"] = f"{n}.5{rng.randrange(100):02d}"
    mixed = []
    for i, row in enumerate(rows):
        mixed.append(row)
        if i % RACE_EVERY == 0:
            race = {**row, "lot_id": _race_lot(i), "quantity": "1000.000", "on_hand": f"{n}.000"}
            mixed.append(race)
    with (out / "lots.csv").open("w", newline="", encoding="utf-8") as dst:
        writer = csv.DictWriter(dst, fieldnames=fields)
        writer.writeheader()
        writer.writerows(mixed)
    return out


def _race_lot(i: int) -> str:
    return f"L-RACE-{i:06d}"


def _every_version_was_written(store: GraphStore, lots: int) -> None:
    """Each new lot was created by one ingest and updated, with its old value, by each
    other that found another value: every version's ``on_hand`` is in its history."""
    race_ids = [_race_lot(i) for i in range(0, lots, RACE_EVERY)]
    history: dict[str, list[float]] = {i: [] for i in race_ids}
    for entry in store.audit_for_keys(race_ids):
        if entry["entity"] == str(Label.LOT) and entry["action"] == "update":
            if not history[entry["key"]]:
                history[entry["key"]].append(float(entry["old"]["on_hand"]))
            history[entry["key"]].append(float(entry["new"]["on_hand"]))
    stored = store.fetch_nodes(Label.LOT, race_ids)
    for lot_id, values in history.items():
        values = values or [float(stored[lot_id].props["on_hand"])]
        assert values[-1] == float(stored[lot_id].props["on_hand"]), lot_id
        assert set(values) == {float(n) for n in range(1, WRITERS + 1)}, (lot_id, values)


def _history_is_unbroken(store: GraphStore, first: dict[str, dict[str, Any]]) -> int:
    """Checks each lot's entries in order from its ``first`` content (a clean ingest audits
    new rows by its chunk entries, not one by one); gives the number of updates seen."""
    last = dict(first)
    updates = 0
    for entry in store.audit_trail():
        if entry["entity"] != str(Label.LOT) or entry["action"] not in ("create", "update"):
            continue
        key = entry["key"]
        # a lot new to the store is created under a chunk's entry: its first update starts
        # its per-row history (_every_version_was_written checks those)
        before = last.get(key, entry["old"] or {})
        assert (entry["old"] or {}) == before, (
            f"{key}: entry {entry['seq']} replaced {entry['old']} but {before} was stored"
        )
        last[key] = entry["new"]
        updates += entry["action"] == "update"
    stored = store.fetch_nodes(Label.LOT, list(last))
    for key, props in last.items():
        assert dict(stored[key].props) == props, key
    return updates


@pytest.mark.parametrize("backend", ["embedded", pytest.param("neo4j", marks=pytest.mark.neo4j)])
def test_concurrent_ingests_of_the_same_rows_keep_one_unbroken_audited_history(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    seed = random.randrange(2**32)
    print(f"concurrent ingests on {backend}: seed {seed}")
    rng = random.Random(seed)
    neo4j: ConnectionInfo | None = None
    store: GraphStore
    if backend == "neo4j":
        neo4j = request.getfixturevalue("neo4j_server")
        store = request.getfixturevalue("neo4j_store")
    else:
        store = EmbeddedStore(tmp_path / "graph.sqlite")
        store.ensure_schema()
    plant = tmp_path / "plant"
    generate_plant(lots=LOTS[backend], seed=rng.randrange(1000), out=plant)
    ingest_bundle(store, plant, actor="fault-test")
    with (plant / "lots.csv").open(newline="", encoding="utf-8") as lots:
        lot_ids = [row["lot_id"] for row in csv.DictReader(lots)]
    first = {i: dict(node.props) for i, node in store.fetch_nodes(Label.LOT, lot_ids).items()}
    variants = [_variant(plant, tmp_path / f"v{n}", n, rng) for n in range(1, WRITERS + 1)]

    env = store_env(tmp_path, neo4j)
    ingests = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "lotgraph",
                "ingest",
                str(v),
                "--json",
                "--chunk-rows",
                CHUNK_ROWS[backend],
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for v in variants
    ]
    for proc in ingests:
        _, stderr = proc.communicate(timeout=300)
        assert proc.returncode == 0, stderr

    try:
        assert _history_is_unbroken(store, first) > 0
        _every_version_was_written(store, LOTS[backend])
        write_ids: set[str] = set()
        assert verify_store(store, write_ids=write_ids).ok
        assert coverage(store, write_ids).uncovered == 0
    finally:
        if backend == "embedded":
            store.close()
