"""Evidence package benchmark (issue 6): the time to build the evidence package of the
largest-fan-out lot, on the embedded store and on Neo4j.

    python -m benchmarks.bench_evidence --lots 1000000 [--seed 7] [--stores embedded,neo4j]
        [--runs 3] [--scratch DIR] [--keep-copy] [--keep-neo4j] [--save DIR]

Inputs, used read-only (as ``benchmarks/bench_queries.py`` finds them):

* the embedded store ``benchmarks/output/embedded-<lots>-<seed>/graph.sqlite``. A store
  written before the hash-chained audit trail existed has an older ``audit`` table, which
  ``ensure_schema`` upgrades in place (a write); since the benchmark stores are shared, such
  a store is copied (SQLite online backup, from a read-only connection) into ``--scratch``
  and the copy is upgraded and measured; the copy is removed at the end unless
  ``--keep-copy``.
* for Neo4j, the database ``benchmarks/output/neo4j-<lots>-<seed>`` built by
  ``python -m benchmarks.neo4j_bulk`` from that store (never rebuilt here: without a
  verified build, Neo4j is skipped with a note). The local server runs on the benchmark's
  own ports (7741/7541 unless set) and is stopped at the end unless ``--keep-neo4j`` or it
  was running already. A database holding audit entries without the ``auditentry_key``
  index (built before ``audit_for_keys`` existed) is not measured either: every key
  looked up would scan all entries, and creating the index is a write.

What is measured, in one process: ``queries.evidence.collect_evidence`` (recall, both
traces, documents with versions and signature status, audit extract, properties) and
``queries.evidence.package`` (the files and the zip) for the lot with the most outgoing
CONSUMED_IN relationships (ties: smallest id): one untimed warm-up, then ``--runs`` timed
builds, wall clock; the steps of the last build; the package's size and contents; and, on
both stores, whether Neo4j's package equals the embedded store's (the audit entries
compared without their times and hashes, which each store writes itself).
"""

from __future__ import annotations

import argparse
import io
import json
import resource
import shutil
import sqlite3
import time
import zipfile
from pathlib import Path
from typing import Any

from benchmarks.baselines import connect_read_only, largest_fan_out_lot
from benchmarks.bench_queries import percentile
from benchmarks.machine import describe
from benchmarks.neo4j_bulk import bench_environment, built_from, default_paths
from graph.embedded import EmbeddedStore
from graph.neo4j_store import Neo4jStore
from graph.store import GraphStore
from lotgraph import neo4j_local
from queries.evidence import FILES, Evidence, collect_evidence, package, verify_evidence

TARGET_S = 10.0
NOW = "2026-01-01T00:00:00Z"  # a fixed creation time, so both stores' bytes can be compared


def audit_is_current(path: Path) -> bool:
    """Whether the store already has the hash-chained audit trail's schema (read-only)."""
    conn = connect_read_only(path, cache_mb=16)
    try:
        columns = {row[1] for row in conn.execute("PRAGMA table_info(audit)")}
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    finally:
        conn.close()
    return {"prev_hash", "hash"} <= columns and "audit_keys" in tables


def scratch_copy(path: Path, scratch: Path) -> Path:
    """A consistent copy of the store, upgraded by ``ensure_schema``; the original is only read."""
    scratch.mkdir(parents=True, exist_ok=True)
    target = scratch / "graph.sqlite"
    for stale in scratch.glob("graph.sqlite*"):
        stale.unlink()
    started = time.perf_counter()
    source = connect_read_only(path, cache_mb=16)
    copy = sqlite3.connect(target)
    try:
        source.backup(copy, pages=65_536)
    finally:
        copy.close()
        source.close()
    copied_s = time.perf_counter() - started
    store = EmbeddedStore(target, cache_mb=16)
    try:
        store.ensure_schema()
    finally:
        store.close()
    print(
        f"embedded: {path} predates the hash-chained audit trail; measuring an upgraded copy "
        f"in {scratch} (copied in {copied_s:.0f} s; the shared store is only read)"
    )
    return target


def missing_audit_index(store: Neo4jStore) -> str:
    """Why audit_for_keys would scan (and not seek) in this database, or "" when it seeks.

    ``ensure_schema`` creates the index; the benchmark does not, the database being shared.
    """
    (row,) = store.read("MATCH (a:AuditEntry) RETURN count(a) AS n")
    names = {r["name"] for r in store.read("SHOW INDEXES YIELD name RETURN name")}
    if row["n"] and "auditentry_key" not in names:
        return (
            f"its {row['n']:,d} audit entries have no auditentry_key index (the database "
            "predates audit_for_keys; ensure_schema creates it, which would write to a shared "
            "benchmark database), so each looked-up key would scan them all"
        )
    return ""


def stable_audit(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    keep = ("actor", "action", "entity", "key", "old", "new")
    return sorted(
        ({k: e.get(k) for k in keep} for e in entries), key=lambda e: json.dumps(e, sort_keys=True)
    )


def measure(name: str, store: GraphStore, lot_id: str, runs: int) -> tuple[list[float], Evidence]:
    t0 = time.perf_counter()
    evidence = collect_evidence(store, lot_id)
    content = package(evidence, creator="bench", now=NOW)
    warm_s = time.perf_counter() - t0
    totals: list[float] = []
    steps: dict[str, float] = {}
    for _ in range(runs):
        steps = {}
        t0 = time.perf_counter()
        evidence = collect_evidence(store, lot_id, timings=steps)
        t1 = time.perf_counter()
        content = package(evidence, creator="bench", now=NOW)
        t2 = time.perf_counter()
        steps["package (files + zip)"] = t2 - t1
        totals.append(t2 - t0)
    t0 = time.perf_counter()
    check = verify_evidence(content)
    verify_s = time.perf_counter() - t0
    if not check.ok:
        raise SystemExit(f"FAILED: {name}: the package does not verify: {check.problems}")
    with zipfile.ZipFile(io.BytesIO(content)) as zf:
        sizes = {i.filename: (i.file_size, i.compress_size) for i in zf.infolist()}
    r = evidence.recall
    signatures = sum(len(d.signatures) for d in evidence.documents.documents)
    print(
        f"{name}: warm-up {warm_s:.2f} s; {len(r.lots):,d} affected lots, {len(r.batches):,d} "
        f"batches, {len(r.customers)} customers, {len(evidence.forward.shipments):,d} shipments; "
        f"backward {len(evidence.backward.lots):,d} lots / {len(evidence.backward.batches):,d} "
        f"batches; {len(evidence.documents.documents):,d} documents, {signatures:,d} signatures "
        f"({evidence.documents.signature_status}); {len(evidence.audit_keys):,d} audit keys, "
        f"{len(evidence.audit):,d} entries"
    )
    unzipped = sum(s for s, _ in sizes.values())
    print(
        f"{name}: package {len(content) / 2**20:.2f} MiB zipped, {unzipped / 2**20:.2f} MiB of "
        "files ("
        + ", ".join(f"{n} {sizes[n][0] / 2**20:.2f}" for n in FILES if n in sizes)
        + f" MiB); verified in {verify_s:.2f} s"
    )
    print(
        f"{name}: steps of the last build: " + ", ".join(f"{k} {v:.2f} s" for k, v in steps.items())
    )
    return totals, evidence


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--lots", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--stores", default="embedded,neo4j")
    parser.add_argument("--runs", type=int, default=3, help="timed builds per store")
    parser.add_argument("--sqlite", type=Path, help="embedded store (default from --lots)")
    parser.add_argument("--neo4j-dir", type=Path, help="Neo4j data dir (default from --lots)")
    parser.add_argument(
        "--scratch",
        type=Path,
        default=Path("/tmp/lotgraph-bench-evidence"),
        help="where an old-schema store is copied to",
    )
    parser.add_argument("--keep-copy", action="store_true")
    parser.add_argument("--keep-neo4j", action="store_true", help="leave the server running")
    parser.add_argument("--save", type=Path, help="write each store's package into this folder")
    args = parser.parse_args()
    stores = [s.strip() for s in args.stores.split(",") if s.strip()]
    if not stores or set(stores) - {"embedded", "neo4j"}:
        parser.error("--stores takes embedded, neo4j or both")
    bench_environment()
    sqlite_path, neo_dir = default_paths(args.lots, args.seed)
    sqlite_path = args.sqlite or sqlite_path
    neo_dir = args.neo4j_dir or neo_dir
    if not sqlite_path.is_file():
        parser.error(f"no embedded store at {sqlite_path} (see benchmarks/bench_queries.py)")

    print(f"machine: {describe()}")
    print(f"measured: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    fan_out, uses = largest_fan_out_lot(sqlite_path)
    size = sum(p.stat().st_size for p in sqlite_path.parent.glob("graph.sqlite*"))
    print(
        f"plant: {args.lots:,d} lots (seed {args.seed}); store {sqlite_path} "
        f"{size / 2**30:.2f} GiB; largest fan-out = most outgoing CONSUMED_IN (ties: smallest "
        f"id): {fan_out} ({uses:,d} consumptions)"
    )
    results: dict[str, list[float]] = {}
    evidence: dict[str, Evidence] = {}
    failures: list[str] = []
    copy: Path | None = None

    if "embedded" in stores:
        path = sqlite_path
        if not audit_is_current(sqlite_path):
            copy = scratch_copy(sqlite_path, args.scratch)
            path = copy
        store = EmbeddedStore(path)
        try:
            results["embedded"], evidence["embedded"] = measure(
                "embedded", store, fan_out, args.runs
            )
        finally:
            store.close()
        print(
            "embedded: process peak RSS "
            f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GiB"
        )
        if copy is not None and not args.keep_copy:
            shutil.rmtree(args.scratch, ignore_errors=True)

    if "neo4j" in stores:
        marker = built_from(neo_dir)
        if marker is None or marker.get("sqlite") != str(sqlite_path.resolve()):
            print(
                f"neo4j: not measured: no verified bulk import of {sqlite_path} in {neo_dir} "
                "(python -m benchmarks.neo4j_bulk builds it)"
            )
        else:
            was_running = bool(neo4j_local.status(neo_dir).get("running"))
            info = neo4j_local.start(neo_dir, fresh=False)
            neo = Neo4jStore(info.uri, info.user, info.password, info.database)
            try:
                print(f"neo4j: {info.uri}, bulk import of {marker.get('built_at')}")
                missing = missing_audit_index(neo)
                if missing:
                    print(f"neo4j: not measured: {missing}")
                else:
                    results["neo4j"], evidence["neo4j"] = measure("neo4j", neo, fan_out, args.runs)
            finally:
                neo.close()
                if not (args.keep_neo4j or was_running):
                    neo4j_local.stop(neo_dir)

    if len(evidence) == 2:
        for e in evidence.values():
            e.audit = stable_audit(e.audit)
        same = package(evidence["embedded"], creator="bench", now=NOW) == package(
            evidence["neo4j"], creator="bench", now=NOW
        )
        print(f"neo4j: package equal to the embedded store's (audit times aside): {same}")
        if not same:
            failures.append("Neo4j's package differs from the embedded store's")
    if args.save:
        args.save.mkdir(parents=True, exist_ok=True)
        for name, e in evidence.items():
            (args.save / f"evidence-{name}-{fan_out}.zip").write_bytes(
                package(e, creator="bench", now=NOW)
            )

    print()
    print(f"evidence package of {fan_out} (n = timed builds after one warm-up):")
    for name, times in results.items():
        print(
            f"  {name:8s} n={len(times)} p50 {percentile(times, 0.5):6.2f} s  "
            f"max {max(times):6.2f} s"
        )
    print()
    print(
        "targets on this machine" + ("" if args.lots == 1_000_000 else " (set for 1M lots)") + ":"
    )
    for name, times in results.items():
        worst = max(times)
        verdict = "MET" if worst <= TARGET_S else "NOT MET"
        print(f"  {name} build <= {TARGET_S:.0f} s (slowest timed run): {worst:.2f} s -> {verdict}")
    print("(2 cores shared with other work while measuring: figures are noisy)")
    for failure in failures:
        print("FAILED:", failure)
    raise SystemExit(1 if failures else 0)


if __name__ == "__main__":
    main()
