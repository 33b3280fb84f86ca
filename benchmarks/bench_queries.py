"""Investigation benchmarks (issue 3): trace, recall and impurity on both stores, beside a
SQLite recursive-CTE baseline and a plain in-memory BFS over the same graph (the floor).

    python -m benchmarks.bench_queries --lots 100000 [--seed 7] [--stores embedded,neo4j]
        [--sample 200] [--repeat 20] [--runs 5] [--keep-neo4j] [--targets-only] [--no-bfs]

Inputs (nothing is written to them):

* the embedded store ``benchmarks/output/embedded-<lots>-<seed>/graph.sqlite``, made with
  ``LOTGRAPH_DATA_DIR=benchmarks/output/embedded-<lots>-<seed> lotgraph ingest
  benchmarks/output/plant-<lots>-<seed>`` (the plant from ``lotgraph generate``);
* for Neo4j, the database ``benchmarks/output/neo4j-<lots>-<seed>`` that
  ``python -m benchmarks.neo4j_bulk --lots <lots>`` builds from that store (built here when it
  is missing or was built from another file). The local server runs on the benchmark's own
  ports (LOTGRAPH_NEO4J_BOLT_PORT 7741, _HTTP_PORT 7541, _HEAP 4g, _PAGECACHE 4g unless set)
  and is stopped at the end unless ``--keep-neo4j``.

What is measured, in one process and one run:

* ``queries.trace.trace`` forward and backward for a seeded random sample of ``--sample``
  lots (the "typical" lots: uniform over all lots), and ``--repeat`` times for the lot with
  the largest fan-out, defined as the lot with the most outgoing CONSUMED_IN relationships
  (ties: the smallest id); p50 and p95 in milliseconds, wall clock around each call;
* the same traces by ``benchmarks.baselines``: one recursive-CTE statement per trace on the
  same SQLite file, and a BFS over adjacency dicts loaded once (load time and memory printed
  apart), with the ratios store / baseline;
* ``queries.recall.recall(store, [fan-out lot])`` and
  ``queries.impurity.impurity(store, "Impurity B")``, a few runs each, when those modules
  exist (a note is printed otherwise);
* the peak resident memory of this process after the embedded measurements (before any
  baseline is loaded), and the size of the SQLite file.

Every timed series is preceded by one untimed warm-up pass over other lots (a second seeded
sample) and the fan-out lot. Both baselines are checked to reach exactly the lots, batches,
customers and suppliers the store's trace reaches, and Neo4j's answers must equal the
embedded store's, or the script exits 1.
"""

from __future__ import annotations

import argparse
import importlib
import resource
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.baselines import (
    BfsBaseline,
    CteBaseline,
    Reach,
    largest_fan_out_lot,
    rss_mib,
    sample_lots,
)
from benchmarks.machine import describe
from benchmarks.neo4j_bulk import bench_environment, build, built_from, default_paths
from benchmarks.targets import TARGETS_BY_KEY, record
from graph.embedded import EmbeddedStore
from graph.neo4j_store import Neo4jStore
from graph.store import GraphStats, GraphStore
from lotgraph import neo4j_local
from queries.trace import Direction, TraceResult, trace

STORES = ("embedded", "neo4j")

ANALYTE = "Impurity B"
TARGETS_AT = TARGETS_BY_KEY["trace.embedded.p95_ms"].lots
TRACE_P95_MS = {name: TARGETS_BY_KEY[f"trace.{name}.p95_ms"].goal for name in STORES}
RECALL_S = {name: TARGETS_BY_KEY[f"recall.{name}.p95_s"].goal for name in STORES}
IMPURITY_S = {"embedded": 5.0, "neo4j": 10.0}
# issue 13's starting point: impurity p95 at 1M lots with one generation of factors
IMPURITY_BEFORE_S = {"embedded": 27.9, "neo4j": 53.6}
RESIDENT_GB = 4.0
SLOW_S = 10.0  # a warm-up slower than this cuts a series to 3 timed runs

Case = tuple[str, Direction]
Series = dict[tuple[str, Direction], list[float]]  # (typical | fan-out, direction) -> ms


def percentile(values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    pos = (len(ordered) - 1) * q
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


@dataclass
class Measured:
    """One implementation's trace timings and the answers of its timed calls."""

    name: str
    series: Series = field(default_factory=dict)
    answers: dict[Case, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def p(self, group: str, direction: Direction, q: float) -> float:
        return percentile(self.series.get((group, direction), []), q)


def measure_traces(
    name: str,
    run: Callable[[str, Direction], Any],
    typical: list[str],
    warm: list[str],
    fan_out: str,
    repeat: int,
) -> Measured:
    out = Measured(name)
    started = time.perf_counter()
    for lot_id in warm:
        for d in Direction:
            run(lot_id, d)
    slowest = 0.0
    for d in Direction:
        t0 = time.perf_counter()
        run(fan_out, d)
        slowest = max(slowest, time.perf_counter() - t0)
    warm_s = time.perf_counter() - started
    for lot_id in typical:
        for d in Direction:
            t0 = time.perf_counter()
            answer = run(lot_id, d)
            out.series.setdefault(("typical", d), []).append((time.perf_counter() - t0) * 1000)
            out.answers[(lot_id, d)] = answer
    times = repeat if slowest < SLOW_S else min(repeat, 3)
    if times < repeat:
        out.notes.append(f"fan-out trace took {slowest:.0f} s: {times} timed runs, not {repeat}")
    for _ in range(times):
        for d in Direction:
            t0 = time.perf_counter()
            answer = run(fan_out, d)
            out.series.setdefault(("fan-out", d), []).append((time.perf_counter() - t0) * 1000)
            out.answers[(fan_out, d)] = answer
    out.notes.append(f"warm-up {warm_s:.1f} s")
    return out


def measure_investigations(
    store: GraphStore, fan_out: str, runs: int, only: frozenset[str] | None = None
) -> tuple[dict[str, tuple[list[float], str]], dict[str, Any]]:
    """{recall | impurity | impurity oos: (seconds of the timed runs, note)} and the answers.

    The untimed first run of each is reported in the note: for impurity it is the one that
    reads the whole genealogy (kept by the store until the graph changes)."""
    calls: dict[str, tuple[str, str, Callable[[Any], Any]]] = {
        "recall": ("queries.recall", "recall", lambda f: f(store, [fan_out])),
        "impurity": ("queries.impurity", "impurity", lambda f: f(store, ANALYTE)),
        "impurity oos": ("queries.impurity", "impurity", lambda f: f(store, ANALYTE, "oos")),
        # the dashboard's home page (GET /work) and its KPIs, for a qa person of every site
        "work queue": ("queries.work", "work_queue", lambda f: f(store, _every_site, "qa")),
        "kpis": ("queries.work", "kpis", lambda f: f(store, _every_site, None, None)),
    }
    found: dict[str, tuple[list[float], str]] = {}
    answers: dict[str, Any] = {}
    for name, (module_name, attr, call) in calls.items():
        if only is not None and name not in only:
            continue
        try:
            fn = getattr(importlib.import_module(module_name), attr)
        except (ImportError, AttributeError) as exc:
            found[name] = ([], f"not measured: {module_name}.{attr} is not there yet ({exc})")
            continue
        try:
            t0 = time.perf_counter()
            answer = call(fn)  # warm-up
            first = time.perf_counter() - t0
            times = []
            for _ in range(runs if first < SLOW_S else min(runs, 2)):
                t0 = time.perf_counter()
                call(fn)
                times.append(time.perf_counter() - t0)
        except Exception as exc:  # keep the other figures; main() exits 1 on this note
            found[name] = ([], f"FAILED: {module_name}.{attr} raised {exc!r}")
            continue
        answers[name] = answer
        found[name] = (times, f"first run {first:.2f} s; {_describe_answer(answer)}")
    return found, answers


def _every_site(site: str | None) -> bool:
    return True


def _describe_answer(answer: Any) -> str:
    data = answer.model_dump() if hasattr(answer, "model_dump") else answer
    if not isinstance(data, dict):
        return type(answer).__name__
    sizes = [f"{k}={len(v):,d}" for k, v in data.items() if isinstance(v, list | dict)]
    counts = [
        f"{k}={v:,d}"
        for k, v in data.items()
        if k.startswith(("units_", "factors_")) and isinstance(v, int)
    ]
    return "answer " + ", ".join(sizes + counts)


def reach_of(result: TraceResult) -> Reach:
    return Reach.of_trace(result)


def embedded_stats(path: Path) -> GraphStats:
    store = EmbeddedStore(path, cache_mb=16)  # its own small cache: not the measured one
    try:
        return store.stats()
    finally:
        store.close()


def open_embedded_once(path: Path) -> float:
    """Open the store as ``lotgraph`` does (``ensure_schema``: a store written before a derived
    table existed is brought up to date once); seconds taken. Its own small cache."""
    started = time.perf_counter()
    store = EmbeddedStore(path, cache_mb=16)
    try:
        store.ensure_schema()
    finally:
        store.close()
    return time.perf_counter() - started


def ensure_neo4j(
    sqlite_path: Path, data_dir: Path, stats: GraphStats, rebuild: bool
) -> neo4j_local.ConnectionInfo:
    marker = built_from(data_dir)
    same = (
        marker is not None
        and marker.get("sqlite") == str(sqlite_path.resolve())
        and marker.get("nodes") == sum(stats.nodes.values())
        and marker.get("relationships") == sum(stats.relationships.values())
    )
    if rebuild or not same:
        print(f"neo4j: no verified bulk import of {sqlite_path} in {data_dir}: building it")
        return build(sqlite_path, data_dir, log=lambda m: print("  " + m))
    assert marker is not None
    print(f"neo4j: bulk import of {marker['built_at']} in {data_dir}; starting the server")
    return neo4j_local.start(data_dir, fresh=False)


def server_memory(data_dir: Path) -> str:
    pid = neo4j_local.status(data_dir).get("pid")
    if not pid:
        return "server memory unknown"
    values = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0]) / 2**20
    except OSError:
        return "server memory unknown"
    return (
        f"Neo4j server resident {values.get('VmRSS', 0):.1f} GiB, "
        f"peak {values.get('VmHWM', 0):.1f} GiB"
    )


# -- printing ------------------------------------------------------------------------------
def _ms(value: float) -> str:
    if value != value:  # nan
        return "-"
    return f"{value:,.2f}" if value < 100 else f"{value:,.0f}"


def _ratio(a: float, b: float) -> str:
    return "-" if not b or a != a or b != b else f"{a / b:,.1f}x"


def print_trace_table(stores: list[Measured], cte: Measured, bfs: Measured) -> None:
    head = (
        f"{'trace':28s} {'n':>4s} {'p50 ms':>8s} {'p95 ms':>8s} | {'CTE p50':>8s} "
        f"{'CTE p95':>8s} {'xCTE p50':>8s} {'xCTE p95':>8s} | {'BFS p50':>8s} {'BFS p95':>8s} "
        f"{'xBFS p50':>9s} {'xBFS p95':>9s}"
    )
    print(head)
    print("-" * len(head))
    for m in stores:
        for group in ("typical", "fan-out"):
            for d in Direction:
                n = len(m.series.get((group, d), []))
                s50, s95 = m.p(group, d, 0.5), m.p(group, d, 0.95)
                c50, c95 = cte.p(group, d, 0.5), cte.p(group, d, 0.95)
                b50, b95 = bfs.p(group, d, 0.5), bfs.p(group, d, 0.95)
                print(
                    f"{m.name + ' ' + group + ' ' + str(d):28s} {n:>4d} {_ms(s50):>8s} "
                    f"{_ms(s95):>8s} | {_ms(c50):>8s} {_ms(c95):>8s} {_ratio(s50, c50):>8s} "
                    f"{_ratio(s95, c95):>8s} | {_ms(b50):>8s} {_ms(b95):>8s} "
                    f"{_ratio(s50, b50):>9s} {_ratio(s95, b95):>9s}"
                )
    print("(xCTE, xBFS: store time / baseline time on the same lots, same run)")


def _baseline_ms(base: Measured, group: str, direction: Direction, digits: int) -> str:
    """A baseline's p95 for the record, or that it was not measured (--no-bfs)."""
    value = base.p(group, direction, 0.95)
    return "not measured" if value != value else f"{value:.{digits}f} ms"


def _verdict(ok: bool | None) -> str:
    return "not measured" if ok is None else ("MET" if ok else "NOT MET")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--lots", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--stores", default="embedded,neo4j")
    parser.add_argument("--sample", type=int, default=200, help="typical lots")
    parser.add_argument("--warmup", type=int, default=50, help="other lots for the warm-up")
    parser.add_argument("--repeat", type=int, default=20, help="runs of the fan-out trace")
    parser.add_argument("--runs", type=int, default=5, help="runs of recall and impurity")
    parser.add_argument("--keep-neo4j", action="store_true", help="leave the server running")
    parser.add_argument("--rebuild-neo4j", action="store_true")
    parser.add_argument(
        "--investigations-only",
        action="store_true",
        help="recall and impurity only: no trace series, no baselines",
    )
    parser.add_argument(
        "--targets-only",
        action="store_true",
        help="of the investigations, recall only (issue 16's targets): no impurity, work "
        "queue or KPIs, which take minutes each at 1M lots",
    )
    parser.add_argument(
        "--no-bfs",
        action="store_true",
        help="no BFS baseline (at 1M lots its adjacency takes ~10 minutes and ~11 GB to load); "
        "the CTE baseline stays",
    )
    parser.add_argument("--sqlite", type=Path, help="embedded store (default from --lots)")
    parser.add_argument("--neo4j-dir", type=Path, help="Neo4j data dir (default from --lots)")
    args = parser.parse_args()
    stores = [s.strip() for s in args.stores.split(",") if s.strip()]
    if args.investigations_only:
        args.sample = args.warmup = args.repeat = 0
    only = frozenset({"recall"}) if args.targets_only else None
    if not stores or set(stores) - {"embedded", "neo4j"}:
        parser.error("--stores takes embedded, neo4j or both")
    bench_environment()
    sqlite_path, neo_dir = default_paths(args.lots, args.seed)
    sqlite_path = args.sqlite or sqlite_path
    neo_dir = args.neo4j_dir or neo_dir
    if not sqlite_path.is_file():
        parser.error(f"no embedded store at {sqlite_path}; ingest the plant first (see --help)")

    print(f"machine: {describe()}")
    print(f"measured: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    opened_s = open_embedded_once(sqlite_path)
    size = sum(p.stat().st_size for p in sqlite_path.parent.glob("graph.sqlite*"))
    stats = embedded_stats(sqlite_path)
    print(
        f"plant: {args.lots:,d} lots (seed {args.seed}); store {sqlite_path} "
        f"{size / 2**30:.2f} GiB; {sum(stats.nodes.values()):,d} nodes, "
        f"{sum(stats.relationships.values()):,d} relationships, {stats.unresolved} unresolved; "
        f"opened (ensure_schema) in {opened_s:.1f} s"
    )
    typical = sample_lots(sqlite_path, args.sample, args.seed)
    chosen = set(typical)
    warm = [i for i in sample_lots(sqlite_path, args.warmup * 2, args.seed + 1) if i not in chosen]
    warm = warm[: args.warmup]
    fan_out, uses = largest_fan_out_lot(sqlite_path)
    print(
        f"lots: {len(typical)} typical (seeded uniform sample), {len(warm)} others for the "
        f"warm-up; largest fan-out = most outgoing CONSUMED_IN (ties: smallest id): "
        f"{fan_out} ({uses:,d} consumptions)"
    )

    measured: list[Measured] = []
    investigations: dict[str, dict[str, tuple[list[float], str]]] = {}
    answers: dict[str, dict[str, Any]] = {}
    reference: dict[Case, TraceResult] = {}
    peak_rss_gib: float | None = None
    failures: list[str] = []

    if "embedded" in stores:
        store = EmbeddedStore(sqlite_path)
        try:
            m = measure_traces(
                "embedded",
                lambda i, d: trace(store, i, d),
                typical,
                warm,
                fan_out,
                args.repeat,
            )
            investigations["embedded"], answers["embedded"] = measure_investigations(
                store, fan_out, args.runs, only
            )
        finally:
            store.close()
        peak_rss_gib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
        reference = dict(m.answers)
        m.answers = {k: reach_of(v) for k, v in m.answers.items()}
        measured.append(m)
        print(f"embedded: measured ({'; '.join(m.notes)}); peak RSS {peak_rss_gib:.2f} GiB")

    if args.investigations_only:
        cte = Measured("CTE")
    else:
        cte_base = CteBaseline(sqlite_path)
        cte = measure_traces("CTE", cte_base.trace, typical, warm, fan_out, args.repeat)
        cte_base.close()
    if args.investigations_only or args.no_bfs:
        bfs = Measured("BFS")
    else:
        before = rss_mib()
        t0 = time.perf_counter()
        bfs_base = BfsBaseline(sqlite_path)
        load_s = time.perf_counter() - t0
        bfs_mib = rss_mib() - before
        bfs = measure_traces("BFS", bfs_base.trace, typical, warm, fan_out, args.repeat)
        print(
            f"baselines: CTE measured ({'; '.join(cte.notes)}); BFS adjacency of "
            f"{bfs_base.edges:,d} genealogy edges loaded in {load_s:.1f} s, +{bfs_mib:,.0f} MiB "
            f"resident (not in the store's peak RSS above)"
        )

    if "neo4j" in stores:
        info = ensure_neo4j(sqlite_path, neo_dir, stats, args.rebuild_neo4j)
        neo = Neo4jStore(info.uri, info.user, info.password, info.database)
        try:
            neo_stats = neo.stats()
            if neo_stats != stats:
                failures.append("Neo4j's stats differ from the embedded store's")
            print(f"neo4j: {info.uri}, stats equal to the embedded store's: {neo_stats == stats}")
            nm = measure_traces(
                "neo4j", lambda i, d: trace(neo, i, d), typical, warm, fan_out, args.repeat
            )
            investigations["neo4j"], answers["neo4j"] = measure_investigations(
                neo, fan_out, args.runs, only
            )
            print(f"neo4j: measured ({'; '.join(nm.notes)}); {server_memory(neo_dir)}")
        finally:
            neo.close()
            if not args.keep_neo4j:
                neo4j_local.stop(neo_dir)
        if reference:
            differ = [k for k, v in nm.answers.items() if reference.get(k) != v]
            print(
                f"neo4j: {len(nm.answers) - len(differ)}/{len(nm.answers)} traces equal the "
                "embedded store's (lots, batches, customers, suppliers, edges, depths, sites)"
            )
            if differ:
                failures.append(f"Neo4j traces differ from the embedded store's: {differ[:3]}")
        nm.answers = {k: reach_of(v) for k, v in nm.answers.items()}
        measured.append(nm)

    # The baselines must reach what the stores reach.
    want = measured[0].answers if measured else {}
    checked_bases = [] if args.investigations_only else [cte] if args.no_bfs else [cte, bfs]
    for base in checked_bases:
        wrong = [k for k, v in want.items() if base.answers.get(k) != v]
        print(f"{base.name}: {len(want) - len(wrong)}/{len(want)} answers equal the store's")
        if wrong:
            failures.append(f"{base.name} disagrees with queries.trace for {wrong[:3]}")
    sizes = {
        d: sorted(r.size for (lot_id, dd), r in want.items() if dd == d and lot_id != fan_out)
        for d in Direction
    }
    for d in Direction:
        if sizes[d] and (fan_out, d) in want:
            print(
                f"trace size {d}: typical lots+batches reached p50 {percentile(sizes[d], 0.5):.0f}"
                f", max {sizes[d][-1]:,d}; fan-out lot {want[(fan_out, d)].size:,d}"
            )

    print()
    print_trace_table(measured, cte, bfs)
    print()
    for name, found in investigations.items():
        for what, (times, note) in found.items():
            if times:
                print(
                    f"{name:8s} {what:8s} n={len(times)} p50 {percentile(times, 0.5):7.3f} s  "
                    f"p95 {percentile(times, 0.95):7.3f} s  ({note})"
                )
            else:
                print(f"{name:8s} {what:8s} {note}")
                if note.startswith("FAILED"):
                    failures.append(f"{name} {what}: {note}")
    print(
        f"embedded store file {size / 2**30:.2f} GiB; process peak RSS "
        + (f"{peak_rss_gib:.2f} GiB" if peak_rss_gib is not None else "not measured")
    )

    print()
    scale = "" if args.lots == TARGETS_AT else f" (targets are set for {TARGETS_AT:,d} lots)"
    print(f"targets on this machine{scale}:")
    for m in [] if args.investigations_only else measured:
        worst = max(Direction, key=lambda d: m.p("typical", d, 0.95))
        p95 = m.p("typical", worst, 0.95)
        limit = TRACE_P95_MS[m.name]
        print(
            f"  {m.name} typical trace p95 <= {limit:.0f} ms: {p95:.2f} ms "
            f"(worse direction, {worst}) -> {_verdict(p95 <= limit)}"
        )
        record(
            f"trace.{m.name}.p95_ms",
            p95,
            lots=args.lots,
            baseline=f"CTE {_baseline_ms(cte, 'typical', worst, 2)}, "
            f"BFS {_baseline_ms(bfs, 'typical', worst, 3)}",
            note=f"worse direction: {worst}",
        )
    recall_baseline = (
        ""
        if args.investigations_only
        else "fan-out lot's forward trace: "
        f"CTE {_baseline_ms(cte, 'fan-out', Direction.FORWARD, 1)}, "
        f"BFS {_baseline_ms(bfs, 'fan-out', Direction.FORWARD, 2)}"
    )
    for name in investigations:
        for what, limit in (
            ("recall", RECALL_S[name]),
            ("impurity", IMPURITY_S[name]),
            ("impurity oos", IMPURITY_S[name]),
        ):
            times, _ = investigations[name].get(what, ([], ""))
            seconds = percentile(times, 0.95) if times else None
            shown = f"{seconds:.3f} s" if seconds is not None else "-"
            label = {
                "recall": "recall of the largest-fan-out lot",
                "impurity": "impurity (flag any, whole genealogy)",
                "impurity oos": "impurity (flag oos, whole genealogy)",
            }[what]
            before = (
                f" (before issue 13, one generation, flag oos: {IMPURITY_BEFORE_S[name]} s at 1M)"
                if what != "recall"
                else ""
            )
            print(
                f"  {name} {label} p95 <= {limit:g} s: {shown}{before} -> "
                f"{_verdict(None if seconds is None else seconds <= limit)}"
            )
            if what == "recall" and seconds is not None:
                record(f"recall.{name}.p95_s", seconds, lots=args.lots, baseline=recall_baseline)
    if {"embedded", "neo4j"} <= answers.keys():
        for what in ("impurity", "impurity oos"):
            if what not in answers["embedded"] and what not in answers["neo4j"]:
                continue  # not measured (--targets-only)
            same = answers["embedded"].get(what) == answers["neo4j"].get(what)
            print(f"  {what}: Neo4j's answer equals the embedded store's in full: {same}")
            if not same:
                failures.append(f"{what}: Neo4j's answer differs from the embedded store's")
    if peak_rss_gib is not None:
        print(
            f"  embedded store resident <= {RESIDENT_GB:.0f} GB: peak {peak_rss_gib:.2f} GiB -> "
            f"{_verdict(peak_rss_gib * 2**30 <= RESIDENT_GB * 1e9)}"
        )
    print("(2 cores shared with other work while measuring: figures are noisy)")
    for failure in failures:
        print("FAILED:", failure)
    raise SystemExit(1 if failures else 0)


if __name__ == "__main__":
    main()
