"""Which Cypher traversal keeps a forward trace from exploding on diamonds (issue 3, item 1).

    python -m benchmarks.bench_traversal --data-dir benchmarks/output/neo4j-100000-7 [--sample 30]

Runs on a local Neo4j database that already holds a plant (``lotgraph neo4j start`` on the
given data folder; the benchmark's own ports unless LOTGRAPH_NEO4J_BOLT_PORT is set) and
times, for a seeded sample of lots and for the lot with the most consumptions, the number
of distinct nodes reached forward by:

* ``varlength_distinct``: ``(root)-[:CONSUMED_IN|PRODUCED*]->(x)`` + ``count(DISTINCT x)``,
  which the planner turns into a pruning expand (each node expanded once) — what
  ``graph/cypher/trace_forward.cypher`` uses;
* ``qpp_distinct``: the quantified path pattern ``(root)(()-[...]->())+(x)``, same DISTINCT;
* ``varlength_paths``: every path (``count(*)``), what a trace without DISTINCT pays; cut
  off by a 20 s transaction timeout.

APOC is not part of the Neo4j that ``lotgraph neo4j start`` runs, so its subgraph
procedures are not measured. Prints p50 and p95 in ms and the planner's expand operator.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time
from pathlib import Path

import neo4j

from benchmarks.machine import describe
from lotgraph import neo4j_local

VARIANTS = {
    "varlength_distinct": """
MATCH (root:Lot {id: $lot_id})
OPTIONAL MATCH (root)-[:CONSUMED_IN|PRODUCED*]->(x)
RETURN count(DISTINCT x) AS reached
""",
    "qpp_distinct": """
MATCH (root:Lot {id: $lot_id})
OPTIONAL MATCH (root)(()-[:CONSUMED_IN|PRODUCED]->())+(x)
RETURN count(DISTINCT x) AS reached
""",
    "varlength_paths": """
MATCH (root:Lot {id: $lot_id})
OPTIONAL MATCH (root)-[:CONSUMED_IN|PRODUCED*]->(x)
RETURN count(x) AS reached
""",
}
SAMPLE_LOTS = "MATCH (l:Lot) RETURN l.id AS id ORDER BY id"
FAN_OUT = """
MATCH (l:Lot)-[:CONSUMED_IN]->()
WITH l, count(*) AS uses ORDER BY uses DESC, l.id LIMIT 1
RETURN l.id AS id, uses
"""


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _operators(plan: dict[str, object]) -> set[str]:
    found = {str(plan.get("operatorType", "")).split("@")[0]}
    for child in plan.get("children", []) or []:  # type: ignore[attr-defined]
        found |= _operators(child)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--sample", type=int, default=30)
    args = parser.parse_args()
    os.environ.setdefault("LOTGRAPH_NEO4J_BOLT_PORT", "7741")
    os.environ.setdefault("LOTGRAPH_NEO4J_HTTP_PORT", "7541")
    print(f"machine: {describe()}")
    info = neo4j_local.start(args.data_dir, fresh=False)
    driver = neo4j.GraphDatabase.driver(info.uri, auth=(info.user, info.password))
    try:
        with driver.session(database=info.database) as session:
            ids = [r["id"] for r in session.run(SAMPLE_LOTS)]
            fan = session.run(FAN_OUT).single()
            assert fan is not None
            sample = random.Random(7).sample(ids, args.sample)
            print(f"{len(ids)} lots; largest fan-out {fan['id']} ({fan['uses']} consumptions)")
            for name, text in VARIANTS.items():
                plan = session.run("EXPLAIN " + text, lot_id=fan["id"]).consume().plan
                expands = sorted(
                    op for op in _operators(plan or {}) if "Expand" in op or "Path" in op
                )
                for label, lots in (("typical", sample), ("fan-out", [fan["id"]] * 5)):
                    times: list[float] = []
                    reached: list[int] = []
                    timed_out = False
                    for lot_id in lots:
                        started = time.perf_counter()
                        try:
                            record = session.run(
                                neo4j.Query(text, timeout=20.0), lot_id=lot_id
                            ).single()
                        except neo4j.exceptions.ClientError:
                            timed_out = True
                            break
                        times.append((time.perf_counter() - started) * 1000)
                        reached.append(record["reached"] if record else 0)
                    if timed_out:
                        print(f"{name:20s} {label:8s} timed out after 20 s  plan: {expands}")
                        continue
                    print(
                        f"{name:20s} {label:8s} p50={_percentile(times, 0.5):9.1f} ms "
                        f"p95={_percentile(times, 0.95):9.1f} ms "
                        f"reached(median)={statistics.median(reached):>9,.0f}  plan: {expands}"
                    )
    finally:
        driver.close()
        neo4j_local.stop(args.data_dir)


if __name__ == "__main__":
    main()
