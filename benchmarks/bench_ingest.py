"""Ingest throughput (rows/s) of a generated plant on both stores.

    python -m benchmarks.bench_ingest [--lots 100000] [--seed 7] [--stores embedded,neo4j]
    python -m benchmarks.bench_ingest --lots 100000 --compare-ref 7aa0dda

Prints rows read, seconds and rows/s for a first ingest into an empty store and for a
second, all-unchanged ingest of the same bundle. Neo4j is the local server of
`lotgraph neo4j start` (started here when it is not running).

Before the embedded store, the same run measures the floor (issue 16): merely reading the
bundle's CSV files with pandas and writing each row as a JSON document into SQLite (WAL,
synchronous=FULL, 20,000-row transactions), in a fresh file. The embedded ingest's target is
within 3x of that floor's time, and at least 50,000 rows/s.

With --compare-ref, the embedded store's ingest of the same plant is timed twice, each in a
fresh process: once with the code of that git commit (checked out in a worktree under
benchmarks/output/) and once with this tree's, so a change's cost is measured on one plant,
one machine and one moment.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson
import pandas as pd

from benchmarks.machine import describe
from benchmarks.targets import record
from graph.embedded import EmbeddedStore
from graph.neo4j_store import Neo4jStore
from graph.store import GraphStore
from ingest.loader import ingest_bundle
from ingest.synthetic import generate_plant
from lotgraph import neo4j_local

OUTPUT = Path(__file__).resolve().parent / "output"
REPO = OUTPUT.parent.parent

# Run in a fresh process whose first path entry is the tree being measured; prints
# "<first seconds> <again seconds> <rows>" and where ingest_bundle came from.
_TIMED_INGEST = """
import inspect, sys, tempfile, time
from pathlib import Path
from graph.embedded import EmbeddedStore
from ingest import loader
store = EmbeddedStore(Path(tempfile.mkdtemp(prefix="lotgraph-bench-")) / "graph.sqlite")
store.ensure_schema()
# as `lotgraph ingest` runs it: with the collector paused (always so before it was an option)
options = {"pause_gc": True} if "pause_gc" in inspect.signature(loader.ingest_bundle).parameters else {}
seconds = []
for _ in range(2):
    started = time.perf_counter()
    report = loader.ingest_bundle(store, Path(sys.argv[1]), actor="benchmark", **options)
    seconds.append(time.perf_counter() - started)
print(seconds[0], seconds[1], report.total("rows_read"), loader.__file__)
"""


def plant_folder(lots: int, seed: int) -> Path:
    """The generated plant of ``lots`` and ``seed`` under benchmarks/output, made once."""
    path = OUTPUT / f"plant-{lots}-{seed}"
    if not (path / "bundle.json").exists():
        started = time.perf_counter()
        generate_plant(lots=lots, seed=seed, out=path)
        print(f"generated {lots} lots in {time.perf_counter() - started:.1f} s -> {path}")
    return path


FLOOR_TRANSACTION_ROWS = 20_000


def floor_rows_per_s(plant: Path) -> tuple[float, int]:
    """The floor of issue 16 on this plant: rows/s and rows of reading every CSV file with
    pandas and writing each row as a JSON document into SQLite (WAL, synchronous=FULL,
    20,000-row transactions)."""
    folder = Path(tempfile.mkdtemp(prefix="lotgraph-floor-"))
    db = sqlite3.connect(folder / "floor.sqlite", isolation_level=None)
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.execute("CREATE TABLE rows (file TEXT, row INTEGER, doc TEXT, PRIMARY KEY (file, row))")
        rows = 0
        started = time.perf_counter()
        for csv in sorted(plant.glob("*.csv")):
            frame = pd.read_csv(csv, dtype=str, keep_default_na=False)
            records = frame.to_dict("records")
            for start in range(0, len(records), FLOOR_TRANSACTION_ROWS):
                part = records[start : start + FLOOR_TRANSACTION_ROWS]
                db.execute("BEGIN")
                db.executemany(
                    "INSERT INTO rows VALUES (?, ?, ?)",
                    (
                        (csv.name, start + i + 2, orjson.dumps(r).decode())
                        for i, r in enumerate(part)
                    ),
                )
                db.execute("COMMIT")
            rows += len(records)
        seconds = time.perf_counter() - started
    finally:
        db.close()
        shutil.rmtree(folder)
    return rows / seconds, rows


def _measure(store: GraphStore, plant: Path, label: str) -> float:
    """Ingest the plant twice; the first pass's rows/s."""
    first_rate = 0.0
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
        if attempt == "first":
            first_rate = rows / seconds
    return first_rate


def _tree_at(ref: str) -> Path:
    sha = subprocess.run(
        ["git", "rev-parse", "--short", ref], cwd=REPO, check=True, capture_output=True, text=True
    ).stdout.strip()
    tree = OUTPUT / f"ref-{sha}"
    if not tree.exists():
        subprocess.run(
            ["git", "worktree", "add", "--detach", str(tree), sha],
            cwd=REPO,
            check=True,
            capture_output=True,
        )
    return tree


def _timed_ingest(tree: Path, plant: Path) -> tuple[float, float, int]:
    done = subprocess.run(
        [sys.executable, "-c", _TIMED_INGEST, str(plant)],
        cwd=tree,
        env={**os.environ, "PYTHONPATH": str(tree)},
        check=True,
        capture_output=True,
        text=True,
    )
    first, again, rows, source = done.stdout.split()
    if not Path(source).resolve().is_relative_to(tree.resolve()):
        raise RuntimeError(f"the ingest measured for {tree} came from {source}")
    return float(first), float(again), int(rows)


def compare(ref: str, plant: Path) -> None:
    """The embedded ingest of one plant with the code of ``ref`` and with this tree's."""
    for label, tree in ((f"before ({ref})", _tree_at(ref)), ("after (this tree)", REPO)):
        first, again, rows = _timed_ingest(tree, plant)
        print(
            f"{label:24s} rows={rows:>9,d} first: seconds={first:7.1f} "
            f"rows/s={rows / first:>9,.0f}  again: seconds={again:7.1f} "
            f"rows/s={rows / again:>9,.0f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lots", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--stores", default="embedded,neo4j")
    parser.add_argument(
        "--compare-ref", help="a git commit to compare this tree's embedded ingest with"
    )
    args = parser.parse_args()
    print(f"machine: {describe()}")
    plant = plant_folder(args.lots, args.seed)
    if args.compare_ref:
        compare(args.compare_ref, plant)
        return
    stores = args.stores.split(",")
    floor, floor_rows = floor_rows_per_s(plant)
    print(
        f"floor     (pandas + one JSON document a row into SQLite) rows={floor_rows:>9,d} "
        f"rows/s={floor:>9,.0f}"
    )
    baseline = f"floor {floor:,.0f} rows/s"
    if "embedded" in stores:
        folder = Path(tempfile.mkdtemp(prefix="lotgraph-bench-"))
        store = EmbeddedStore(folder / "graph.sqlite")
        store.ensure_schema()
        try:
            rate = _measure(store, plant, "embedded")
        finally:
            store.close()
            shutil.rmtree(folder)
        times_floor = floor / rate
        print(f"embedded first load: {times_floor:.1f}x the floor's time (target: at most 3x)")
        record("ingest.embedded.rows_per_s", rate, lots=args.lots, baseline=baseline)
        record("ingest.embedded.x_floor", times_floor, lots=args.lots, baseline=baseline)
    if "neo4j" in stores:
        data_dir = OUTPUT / "neo4j-data"
        info = neo4j_local.start(data_dir, fresh=True)
        neo = Neo4jStore(info.uri, info.user, info.password, info.database)
        neo.ensure_schema()
        try:
            rate = _measure(neo, plant, "neo4j")
            record("ingest.neo4j.rows_per_s", rate, lots=args.lots, baseline=baseline)
        finally:
            neo.close()
            neo4j_local.stop(data_dir)


if __name__ == "__main__":
    main()
