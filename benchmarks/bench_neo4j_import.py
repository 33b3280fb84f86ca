"""`lotgraph neo4j import`: a first load of a generated plant into an empty local Neo4j.

    python -m benchmarks.bench_neo4j_import [--lots 100000] [--seed 7] [--threads N]

Prints the time of each step (loader into the private embedded store, CSV export, the
import tool, constraints and indexes, audit adoption, verification), the whole, rows per
second, and the target of issue 16 (the 1M-lot plant in at most 15 minutes). The result is
compared with the embedded store `make bench` builds from the same plant
(benchmarks/output/embedded-<lots>-<seed>/graph.sqlite) when it exists: equal statistics
and content_sha256. The server (ports 7781/7782 unless LOTGRAPH_NEO4J_* say otherwise) is
stopped at the end.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from benchmarks.bench_ingest import OUTPUT, plant_folder
from benchmarks.machine import describe
from benchmarks.targets import TARGETS_BY_KEY, record
from graph.embedded import EmbeddedStore
from graph.neo4j_store import Neo4jStore
from lotgraph import neo4j_local
from lotgraph.neo4j_import import first_load

_TARGET = TARGETS_BY_KEY["neo4j_import.seconds"]
TARGET_LOTS, TARGET_S = _TARGET.lots or 1_000_000, _TARGET.goal
BENCH_ENV = {
    "LOTGRAPH_NEO4J_BOLT_PORT": "7781",
    "LOTGRAPH_NEO4J_HTTP_PORT": "7782",
    "LOTGRAPH_NEO4J_HEAP": "2g",
    "LOTGRAPH_NEO4J_PAGECACHE": "2g",
    "LOTGRAPH_NEO4J_RUNTIME": "java",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lots", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    args = parser.parse_args()
    for name, value in BENCH_ENV.items():
        os.environ.setdefault(name, value)
    print(describe())
    plant = plant_folder(args.lots, args.seed)
    data_dir = OUTPUT / f"neo4j-import-{args.lots}-{args.seed}"
    neo4j_local.start(data_dir, fresh=True)  # an empty database to load into
    try:
        started = time.perf_counter()
        loaded = first_load(
            plant, data_dir, actor="benchmark", threads=args.threads, log=lambda m: print("  " + m)
        )
        total = time.perf_counter() - started
        rows = loaded.report.total("rows_read")
        print(
            f"first load of {args.lots:,d} lots ({rows:,d} rows): {total:,.0f} s, "
            f"{rows / total:,.0f} rows/s"
        )
        for step, seconds in loaded.seconds.items():
            print(f"  {step:<8} {seconds:8.1f} s")
        scaled = total * TARGET_LOTS / args.lots
        print(
            f"target (issue 16): {TARGET_LOTS:,d} lots in <= {TARGET_S} s; "
            f"measured {total:,.0f} s for {args.lots:,d} lots "
            f"(~{scaled:,.0f} s at {TARGET_LOTS:,d} if linear)"
        )
        steps = ", ".join(f"{step} {seconds:,.0f} s" for step, seconds in loaded.seconds.items())
        record("neo4j_import.seconds", total, lots=args.lots, note=steps)
        _compare(data_dir, args.lots, args.seed)
    finally:
        neo4j_local.stop(data_dir)


def _compare(data_dir: Path, lots: int, seed: int) -> None:
    reference = OUTPUT / f"embedded-{lots}-{seed}" / "graph.sqlite"
    if not reference.is_file():
        print(f"no {reference} to compare with (make bench builds it)")
        return
    info = neo4j_local.connection_info(data_dir)
    assert info is not None
    neo4j = Neo4jStore(info.uri, info.user, info.password, info.database)
    embedded = EmbeddedStore(reference)
    try:
        same_stats = neo4j.stats() == embedded.stats()
        same_content = neo4j.content_sha256() == embedded.content_sha256()
        print(f"against {reference}: stats equal {same_stats}, content_sha256 equal {same_content}")
    finally:
        neo4j.close()
        embedded.close()


if __name__ == "__main__":
    main()
