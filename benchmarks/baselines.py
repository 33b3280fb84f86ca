"""Baselines for the trace benchmark: a SQLite recursive CTE and a plain in-memory BFS.

Both read the embedded store's SQLite file and follow the relationships queries/trace.py
follows (DESIGN §4):

* forward from lot L: every batch that consumed L or a lot downstream of it (CONSUMED_IN),
  every lot those batches produced (PRODUCED), and every customer that received L or one of
  those lots (SHIPPED_IN then TO);
* backward from L: every batch that produced L or one of its ancestors (PRODUCED), every
  ancestor lot (CONSUMED_IN), and the suppliers of L and of its ancestors (SUPPLIED).

:class:`CteBaseline` answers with one recursive-CTE statement per trace on its own read-only
connection to the same file (same page-cache size as the store). :class:`BfsBaseline` loads
adjacency dicts once (the floor: no I/O, no SQL, no answer model) and walks them.

    python -m benchmarks.baselines --lots 100000 [--seed 7] [--sample 50]

checks, for a seeded sample of lots and the lot with the largest fan-out, that both baselines
reach exactly the lots, batches, customers and suppliers of ``queries.trace.trace`` on the
embedded store (``benchmarks/output/embedded-<lots>-<seed>/graph.sqlite``, or ``--sqlite``),
and prints their timings and the BFS load time and memory.
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import statistics
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from queries.trace import Direction, TraceResult

OUTPUT = Path(__file__).resolve().parent / "output"

# One statement per trace. Two recursive selects (SQLite >= 3.34) walk lots and batches as
# (label, id) pairs; UNION keeps each node once, so a diamond is expanded once. CROSS JOIN
# keeps the reached set as the outer loop (otherwise SQLite scans every Lot relationship).
_CTE_FORWARD = """
WITH RECURSIVE reach(label, id) AS (
    SELECT 'Lot', ?1
    UNION
    SELECT 'Batch', r.dst_id FROM reach
    JOIN rels AS r ON r.src_label = 'Lot' AND r.src_id = reach.id AND r.type = 'CONSUMED_IN'
    WHERE reach.label = 'Lot'
    UNION
    SELECT 'Lot', r.dst_id FROM reach
    JOIN rels AS r ON r.src_label = 'Batch' AND r.src_id = reach.id AND r.type = 'PRODUCED'
    WHERE reach.label = 'Batch'
)
SELECT 'lot', id FROM reach WHERE label = 'Lot' AND id <> ?1
UNION ALL
SELECT 'batch', id FROM reach WHERE label = 'Batch'
UNION ALL
SELECT DISTINCT 'customer', t.dst_id FROM reach
CROSS JOIN rels AS s ON s.src_label = 'Lot' AND s.src_id = reach.id AND s.type = 'SHIPPED_IN'
CROSS JOIN rels AS t ON t.src_label = 'Shipment' AND t.src_id = s.dst_id AND t.type = 'TO'
WHERE reach.label = 'Lot'
"""

_CTE_BACKWARD = """
WITH RECURSIVE reach(label, id) AS (
    SELECT 'Lot', ?1
    UNION
    SELECT 'Batch', r.src_id FROM reach
    JOIN rels AS r ON r.dst_label = 'Lot' AND r.dst_id = reach.id AND r.type = 'PRODUCED'
    WHERE reach.label = 'Lot'
    UNION
    SELECT 'Lot', r.src_id FROM reach
    JOIN rels AS r ON r.dst_label = 'Batch' AND r.dst_id = reach.id AND r.type = 'CONSUMED_IN'
    WHERE reach.label = 'Batch'
)
SELECT 'lot', id FROM reach WHERE label = 'Lot' AND id <> ?1
UNION ALL
SELECT 'batch', id FROM reach WHERE label = 'Batch'
UNION ALL
SELECT DISTINCT 'supplier', s.src_id FROM reach
CROSS JOIN rels AS s ON s.dst_label = 'Lot' AND s.dst_id = reach.id AND s.type = 'SUPPLIED'
WHERE reach.label = 'Lot'
"""

_ADJACENCY = """
SELECT type, src_id, dst_id FROM rels
WHERE type IN ('CONSUMED_IN', 'PRODUCED', 'SHIPPED_IN', 'TO', 'SUPPLIED')
"""

_LOT_IDS = "SELECT id FROM nodes WHERE label = 'Lot' AND unresolved = 0 ORDER BY id"
_LOT_COUNT = "SELECT count(*) FROM nodes WHERE label = 'Lot' AND unresolved = 0"
_FAN_OUT = """
SELECT src_id, count(*) AS n FROM rels
WHERE src_label = 'Lot' AND type = 'CONSUMED_IN'
GROUP BY src_id ORDER BY n DESC, src_id LIMIT 1
"""


@dataclass(frozen=True)
class Reach:
    """What a trace reached, without edges: the part every implementation must agree on."""

    lots: frozenset[str]
    batches: frozenset[str]
    customers: frozenset[str]
    suppliers: frozenset[str]

    @classmethod
    def of_trace(cls, result: TraceResult) -> Reach:
        return cls(
            frozenset(result.lots),
            frozenset(result.batches),
            frozenset(result.customers),
            frozenset(result.suppliers),
        )

    @property
    def size(self) -> int:
        return len(self.lots) + len(self.batches)


def connect_read_only(path: Path, cache_mb: int = 256) -> sqlite3.Connection:
    """A read-only connection to the store's file (never writes, safe beside a reader)."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
    conn.execute(f"PRAGMA cache_size=-{int(cache_mb) * 1024}")
    return conn


def sample_lots(path: Path, k: int, seed: int) -> list[str]:
    """A seeded uniform sample of k resolved lot ids, drawn without holding every id."""
    conn = connect_read_only(path, cache_mb=16)
    try:
        (total,) = conn.execute(_LOT_COUNT).fetchone()
        wanted = set(random.Random(seed).sample(range(int(total)), min(k, int(total))))
        picked = [i for n, (i,) in enumerate(conn.execute(_LOT_IDS)) if n in wanted]
    finally:
        conn.close()
    random.Random(seed).shuffle(picked)
    return picked


def largest_fan_out_lot(path: Path) -> tuple[str, int]:
    """The lot with the most outgoing CONSUMED_IN relationships (ties: the smallest id)."""
    conn = connect_read_only(path, cache_mb=16)
    try:
        row = conn.execute(_FAN_OUT).fetchone()
    finally:
        conn.close()
    if row is None:
        raise LookupError(f"{path} holds no CONSUMED_IN relationship")
    return str(row[0]), int(row[1])


class CteBaseline:
    """Trace with one recursive-CTE statement over the rels table."""

    def __init__(self, path: Path, cache_mb: int = 256) -> None:
        self.conn = connect_read_only(path, cache_mb)

    def trace(self, lot_id: str, direction: Direction) -> Reach:
        query = _CTE_FORWARD if direction is Direction.FORWARD else _CTE_BACKWARD
        found: dict[str, set[str]] = {"lot": set(), "batch": set(), "customer": set()}
        found["supplier"] = set()
        for kind, node_id in self.conn.execute(query, (lot_id,)):
            found[kind].add(node_id)
        return Reach(
            frozenset(found["lot"]),
            frozenset(found["batch"]),
            frozenset(found["customer"]),
            frozenset(found["supplier"]),
        )

    def close(self) -> None:
        self.conn.close()


class BfsBaseline:
    """Adjacency dicts loaded once from the same file; a trace is a breadth-first walk."""

    def __init__(self, path: Path) -> None:
        names: dict[str, str] = {}  # one str object per id, however many edges name it
        consumed_in: dict[str, list[str]] = {}  # lot -> batches that consumed it
        consumed_from: dict[str, list[str]] = {}  # batch -> lots it consumed
        produced: dict[str, list[str]] = {}  # batch -> lots it produced
        produced_by: dict[str, list[str]] = {}  # lot -> batches that produced it
        shipped: dict[str, list[str]] = {}  # lot -> shipments
        delivered: dict[str, list[str]] = {}  # shipment -> customers
        supplied_by: dict[str, list[str]] = {}  # lot -> suppliers
        conn = connect_read_only(path, cache_mb=64)
        try:
            for rel_type, src, dst in conn.execute(_ADJACENCY):
                src = names.setdefault(src, src)
                dst = names.setdefault(dst, dst)
                if rel_type == "CONSUMED_IN":
                    consumed_in.setdefault(src, []).append(dst)
                    consumed_from.setdefault(dst, []).append(src)
                elif rel_type == "PRODUCED":
                    produced.setdefault(src, []).append(dst)
                    produced_by.setdefault(dst, []).append(src)
                elif rel_type == "SHIPPED_IN":
                    shipped.setdefault(src, []).append(dst)
                elif rel_type == "TO":
                    delivered.setdefault(src, []).append(dst)
                else:
                    supplied_by.setdefault(dst, []).append(src)
        finally:
            conn.close()
        self.edges = sum(len(v) for v in consumed_in.values()) + sum(
            len(v) for v in produced.values()
        )
        self._forward = (consumed_in, produced)
        self._backward = (produced_by, consumed_from)
        self._shipped, self._delivered, self._supplied_by = shipped, delivered, supplied_by

    def trace(self, lot_id: str, direction: Direction) -> Reach:
        forward = direction is Direction.FORWARD
        to_batches, to_lots = self._forward if forward else self._backward
        lots = {lot_id}
        batches: set[str] = set()
        frontier = [lot_id]
        while frontier:
            following: list[str] = []
            for lot in frontier:
                for batch in to_batches.get(lot, ()):
                    if batch in batches:
                        continue
                    batches.add(batch)
                    for nxt in to_lots.get(batch, ()):
                        if nxt not in lots:
                            lots.add(nxt)
                            following.append(nxt)
            frontier = following
        customers: set[str] = set()
        suppliers: set[str] = set()
        if forward:
            for lot in lots:
                for shipment in self._shipped.get(lot, ()):
                    customers.update(self._delivered.get(shipment, ()))
        else:
            for lot in lots:
                suppliers.update(self._supplied_by.get(lot, ()))
        lots.discard(lot_id)
        return Reach(
            frozenset(lots), frozenset(batches), frozenset(customers), frozenset(suppliers)
        )


def rss_mib() -> float:
    """Current resident memory of this process (Linux /proc; 0 elsewhere)."""
    try:
        fields = Path("/proc/self/statm").read_text().split()
    except OSError:
        return 0.0
    return int(fields[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def disagreements(
    expected: dict[tuple[str, Direction], Reach], baseline: CteBaseline | BfsBaseline
) -> list[str]:
    """Each (lot, direction) whose baseline answer differs from the trace's, with what differs."""
    out = []
    for (lot_id, direction), want in expected.items():
        got = baseline.trace(lot_id, direction)
        if got != want:
            parts = [
                f"{name}: -{sorted(getattr(want, name) - getattr(got, name))[:3]} "
                f"+{sorted(getattr(got, name) - getattr(want, name))[:3]}"
                for name in ("lots", "batches", "customers", "suppliers")
                if getattr(want, name) != getattr(got, name)
            ]
            out.append(f"{lot_id} {direction}: " + "; ".join(parts))
    return out


def _time_ms(
    run: Callable[[str, Direction], object], cases: Iterable[tuple[str, Direction]]
) -> list[float]:
    times = []
    for lot_id, direction in cases:
        started = time.perf_counter()
        run(lot_id, direction)
        times.append((time.perf_counter() - started) * 1000)
    return times


def _summary(times: Sequence[float]) -> str:
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"p50 {statistics.median(ordered):8.2f} ms  p95 {p95:8.2f} ms"


def main() -> None:
    from graph.embedded import EmbeddedStore
    from queries.trace import trace

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lots", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--sample", type=int, default=50)
    parser.add_argument("--sqlite", type=Path, default=None)
    args = parser.parse_args()
    path = args.sqlite or OUTPUT / f"embedded-{args.lots}-{args.seed}" / "graph.sqlite"
    lots = sample_lots(path, args.sample, args.seed)
    fan_out, consumed = largest_fan_out_lot(path)
    print(f"store {path}: {len(lots)} sampled lots; largest fan-out {fan_out} ({consumed} uses)")
    cases = [(lot_id, d) for lot_id in [*lots, fan_out] for d in Direction]
    store = EmbeddedStore(path)
    try:
        expected = {case: Reach.of_trace(trace(store, *case)) for case in cases}
        store_ms = _time_ms(lambda i, d: trace(store, i, d), cases)
    finally:
        store.close()
    cte = CteBaseline(path)
    before = rss_mib()
    started = time.perf_counter()
    bfs = BfsBaseline(path)
    load_s = time.perf_counter() - started
    print(
        f"BFS adjacency: {bfs.edges:,d} genealogy edges loaded in {load_s:.1f} s, "
        f"+{rss_mib() - before:,.0f} MiB resident"
    )
    failed = False
    for name, baseline in (("CTE", cte), ("BFS", bfs)):
        wrong = disagreements(expected, baseline)
        failed = failed or bool(wrong)
        print(f"{name}: {len(cases) - len(wrong)}/{len(cases)} traces agree with queries.trace")
        for line in wrong[:10]:
            print("   ", line)
    print(f"queries.trace (embedded) {_summary(store_ms)}")
    print(f"CTE baseline             {_summary(_time_ms(cte.trace, cases))}")
    print(f"BFS baseline             {_summary(_time_ms(bfs.trace, cases))}")
    cte.close()
    raise SystemExit(1 if failed else 0)


if __name__ == "__main__":
    main()
