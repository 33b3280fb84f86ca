"""Ingest throughput (rows/s) of a generated plant on both stores.

    python -m benchmarks.bench_ingest [--lots 100000] [--seed 7] [--stores embedded,neo4j]

Prints rows read, seconds and rows/s for a first ingest into an empty store and for a
second, all-unchanged ingest of the same bundle. Neo4j is the local server of
`lotgraph neo4j start` (started here when it is not running).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from benchmarks.machine import describe
from graph.embedded import EmbeddedStore
from graph.neo4j_store import Neo4jStore
from graph.store import GraphStore
from ingest.loader import ingest_bundle
from ingest.synthetic import generate_plant
from lotgraph import neo4j_local

OUTPUT = Path(__file__).resolve().parent / "output"


def _plant(lots: int, seed: int) -> Path:
    path = OUTPUT / f"plant-{lots}-{seed}"
    if not (path / "bundle.json").exists():
        started = time.perf_counter()
        generate_plant(lots=lots, seed=seed, out=path)
        print(f"generated {lots} lots in {time.perf_counter() - started:.1f} s -> {path}")
    return path


def _measure(store: GraphStore, plant: Path, label: str) -> None:
    for attempt in ("first", "again"):
        started = time.perf_counter()
        report = ingest_bundle(store, plant, actor="benchmark", pause_gc=True)
        seconds = time.perf_counter() - started
        rows = report.total("rows_read")
        print(
            f"{label:9s} {attempt:6s} rows={rows:>9,d} accepted={report.total('accepted'):>9,d} "
            f"unchanged={report.total('unchanged'):>9,d} rejected={report.total('rejected')} "
            f"seconds={seconds:7.1f} rows/s={rows / seconds:>9,.0f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lots", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--stores", default="embedded,neo4j")
    args = parser.parse_args()
    print(f"machine: {describe()}")
    plant = _plant(args.lots, args.seed)
    stores = args.stores.split(",")
    if "embedded" in stores:
        folder = Path(tempfile.mkdtemp(prefix="lotgraph-bench-"))
        store = EmbeddedStore(folder / "graph.sqlite")
        store.ensure_schema()
        try:
            _measure(store, plant, "embedded")
        finally:
            store.close()
            shutil.rmtree(folder)
    if "neo4j" in stores:
        data_dir = OUTPUT / "neo4j-data"
        info = neo4j_local.start(data_dir, fresh=True)
        neo = Neo4jStore(info.uri, info.user, info.password, info.database)
        neo.ensure_schema()
        try:
            _measure(neo, plant, "neo4j")
        finally:
            neo.close()
            neo4j_local.stop(data_dir)


if __name__ == "__main__":
    main()
