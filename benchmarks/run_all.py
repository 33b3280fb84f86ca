"""Every benchmark with a target, in turn, then the table of targets (``make bench``).

    python -m benchmarks.run_all [--lots 100000] [--big-lots 1000000] [--epcis-lots 20000]
        [--seed 7] [--only ingest,neo4j_import,queries,api,epcis] [--results FILE]

Each benchmark runs in its own process with ``LOTGRAPH_BENCH_RESULTS`` naming the results
file of this run (emptied first), where it records each figure beside the floor or baseline
it measured (``benchmarks.targets``). At the end the table is printed: each target, its
measured figure, the floor or baseline of the same run, met or not, with the machine. A
benchmark that fails does not stop the others; the exit status is then 1.

Inputs the benchmarks read are made when missing, and kept under ``benchmarks/output/``:
the generated plants, the embedded stores (``lotgraph ingest``; the 1M-lot one takes the
better part of an hour) and the bulk-imported Neo4j databases (``benchmarks.neo4j_bulk``).
``--lots`` is the plant of the ingest, first-load and API targets (issue 16 sets them at
100,000 lots, the first load at 1,000,000: a first load measured at fewer lots is judged
scaled linearly); ``--big-lots`` the plant of the trace and recall targets (1,000,000).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.machine import describe
from benchmarks.neo4j_bulk import built_from, default_paths
from benchmarks.targets import RESULTS_ENV, report

OUTPUT = Path(__file__).resolve().parent / "output"
STEPS = ("ingest", "neo4j_import", "queries", "api", "epcis")


def _run(args: list[str], env: dict[str, str]) -> bool:
    print(f"\n=== {' '.join(args)}", flush=True)
    started = time.perf_counter()
    done = subprocess.run([sys.executable, *args], env=env, check=False)
    print(f"=== exit {done.returncode} after {time.perf_counter() - started:,.0f} s", flush=True)
    return done.returncode == 0


def _lotgraph(*args: str) -> list[str]:
    return ["-m", "lotgraph", *args]


def embedded_store(lots: int, seed: int, env: dict[str, str]) -> bool:
    """``benchmarks/output/embedded-<lots>-<seed>/graph.sqlite``, ingested when missing."""
    folder = OUTPUT / f"embedded-{lots}-{seed}"
    if (folder / "graph.sqlite").is_file():
        return True
    plant = OUTPUT / f"plant-{lots}-{seed}"
    if not (plant / "bundle.json").is_file() and not _run(
        _lotgraph("generate", "--lots", str(lots), "--seed", str(seed), "--out", str(plant)), env
    ):
        return False
    return _run(_lotgraph("ingest", str(plant)), {**env, "LOTGRAPH_DATA_DIR": str(folder)})


def bulk_neo4j(lots: int, seed: int, env: dict[str, str]) -> bool:
    """The bulk-imported Neo4j database of that store, built when missing or stale."""
    sqlite, data_dir = default_paths(lots, seed)
    marker = built_from(data_dir)
    if marker is not None and marker.get("sqlite") == str(sqlite.resolve()):
        return True
    return _run(["-m", "benchmarks.neo4j_bulk", "--lots", str(lots), "--seed", str(seed)], env)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--lots", type=int, default=100_000)
    parser.add_argument("--big-lots", type=int, default=1_000_000)
    parser.add_argument("--epcis-lots", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--only", default=",".join(STEPS), help="a comma-separated subset")
    parser.add_argument("--results", type=Path, default=OUTPUT / "bench-results.jsonl")
    args = parser.parse_args()
    only = args.only.split(",")
    unknown = sorted(set(only) - set(STEPS))
    if unknown:
        parser.error(f"--only: unknown step(s) {', '.join(unknown)}; known: {', '.join(STEPS)}")

    results = args.results.resolve()
    results.parent.mkdir(parents=True, exist_ok=True)
    results.unlink(missing_ok=True)
    env = {**os.environ, RESULTS_ENV: str(results)}
    seed = str(args.seed)
    lots, big = str(args.lots), str(args.big_lots)
    print(f"machine: {describe()}")

    steps: dict[str, Callable[[], bool]] = {
        "ingest": lambda: _run(
            ["-m", "benchmarks.bench_ingest", "--lots", lots, "--seed", seed], env
        ),
        "neo4j_import": lambda: _run(
            ["-m", "benchmarks.bench_neo4j_import", "--lots", lots, "--seed", seed], env
        ),
        "queries": lambda: (
            embedded_store(args.big_lots, args.seed, env)
            and _run(
                # the targets' figures with the CTE baseline: impurity, the work queue, KPIs
                # and the BFS baseline take hours at 1M lots (bench_queries measures them
                # without these two flags)
                [
                    *("-m", "benchmarks.bench_queries", "--lots", big, "--seed", seed),
                    *("--targets-only", "--no-bfs"),
                ],
                env,
            )
        ),
        "api": lambda: (
            embedded_store(args.lots, args.seed, env)
            and bulk_neo4j(args.lots, args.seed, env)
            and _run(["-m", "benchmarks.bench_api_load", "--lots", lots, "--seed", seed], env)
        ),
        "epcis": lambda: _run(
            ["-m", "benchmarks.bench_epcis", "--lots", str(args.epcis_lots), "--seed", seed], env
        ),
    }
    failed = [name for name in STEPS if name in only and not steps[name]()]
    print()
    print(report(results))
    if failed:
        print(f"\nFAILED: {', '.join(failed)} (see the output above)")
        raise SystemExit(1)


if __name__ == "__main__":
    main()
