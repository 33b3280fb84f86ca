"""Build the benchmark Neo4j database from an embedded store with `neo4j-admin database import`.

Ingesting a 1M-lot plant (about 13 million rows) through the loader into Neo4j takes about two
hours on the benchmark machine, so the investigation benchmarks build their Neo4j database
from the embedded store of the same plant instead:

1. every node and relationship of the SQLite file is exported to the import tool's CSV
   format with exactly the properties ``Neo4jStore`` writes (``graph/neo4j_bulk.py``, which
   ``lotgraph neo4j import`` uses too);
2. the local server of ``lotgraph.neo4j_local`` (same Java, classpath, ``conf/`` and home) is
   started once fresh (jars, conf, password, system database) and stopped, then
   ``neo4j_local.import_full`` (``database import full --overwrite-destination``) writes the
   ``neo4j`` database; the server is started again and ``Neo4jStore.ensure_schema()`` creates
   the constraints and indexes;
3. verification: ``stats()`` of both stores are printed and must be equal, and
   ``queries.trace.trace`` must answer the same for 20 seeded random lots, both directions.

The audit trail, ingest records and rejections (AuditEntry, IngestRun, Rejection nodes) are not
part of the graph and are not carried over.

    python -m benchmarks.neo4j_bulk --lots 100000 [--seed 7]
        # benchmarks/output/embedded-100000-7/graph.sqlite -> benchmarks/output/neo4j-100000-7
    python -m benchmarks.neo4j_bulk --sqlite PATH --data-dir DIR [--keep-running]
    python -m benchmarks.neo4j_bulk --self-test [--plant /tmp/bulk-p2k]
        # a 2,000-lot plant (seed 3): loader-written Neo4j vs bulk-imported Neo4j, every node's
        # and relationship's property map compared, types included

Ports and memory come from LOTGRAPH_NEO4J_BOLT_PORT / _HTTP_PORT / _HEAP / _PAGECACHE; unset,
they default here to 7741 / 7541 / 4g / 4g (the benchmark's own ports). The server is left
stopped unless ``--keep-running``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from neo4j.exceptions import Neo4jError

from benchmarks.baselines import sample_lots
from graph.embedded import EmbeddedStore
from graph.neo4j_bulk import export_graph
from graph.neo4j_store import Neo4jStore
from graph.store import GraphStats
from lotgraph import neo4j_local

OUTPUT = Path(__file__).resolve().parent / "output"
DATABASE = neo4j_local.DATABASE
MARKER = "bulk.json"
BENCH_ENV = {
    "LOTGRAPH_NEO4J_BOLT_PORT": "7741",
    "LOTGRAPH_NEO4J_HTTP_PORT": "7541",
    "LOTGRAPH_NEO4J_HEAP": "4g",
    "LOTGRAPH_NEO4J_PAGECACHE": "4g",
    "LOTGRAPH_NEO4J_RUNTIME": "java",  # the import tool writes the server's files directly
}
_NON_GRAPH_LABELS = ("AuditEntry", "IngestRun", "Rejection", "LotgraphCounter")

Log = Callable[[str], None]


def bench_environment(**overrides: str) -> None:
    """Default the local server's ports, memory and runtime to the benchmark's own."""
    for name, value in {**BENCH_ENV, **overrides}.items():
        os.environ.setdefault(name, value)


def ensure_schema(store: Neo4jStore, timeout_s: float = 7200) -> float:
    """``ensure_schema()``, waiting past its 300 s for indexes on a large database; seconds."""
    started = time.perf_counter()
    try:
        store.ensure_schema()
    except Neo4jError:
        deadline = time.monotonic() + timeout_s
        while True:
            states = store.read("SHOW INDEXES YIELD name, state RETURN name, state")
            failed = [r["name"] for r in states if r["state"] == "FAILED"]
            if failed:
                raise RuntimeError(f"index population failed: {failed}") from None
            if all(r["state"] == "ONLINE" for r in states):
                break
            if time.monotonic() > deadline:
                raise
            time.sleep(5)
        store.ensure_schema()  # idempotent: now only confirms
    return time.perf_counter() - started


def schema_names(store: Neo4jStore) -> list[str]:
    rows = store.read("SHOW INDEXES YIELD name, type, labelsOrTypes, properties RETURN *")
    return sorted(
        f"{r['name']} {r['type']} {r['labelsOrTypes']} {r['properties']}"
        for r in rows
        if r["type"] != "LOOKUP"
    )


# -- build and verify -----------------------------------------------------------------------
def default_paths(lots: int, seed: int) -> tuple[Path, Path]:
    """(embedded store file, Neo4j data dir) of a benchmark plant."""
    return (
        OUTPUT / f"embedded-{lots}-{seed}" / "graph.sqlite",
        OUTPUT / f"neo4j-{lots}-{seed}",
    )


def built_from(data_dir: Path) -> dict[str, Any] | None:
    """What ``build`` recorded in the data dir, or None when no verified build is there."""
    try:
        value = json.loads((data_dir / MARKER).read_text())
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def source_identity(sqlite_path: Path) -> dict[str, Any]:
    stat = sqlite_path.stat()
    return {"sqlite": str(sqlite_path.resolve()), "bytes": stat.st_size, "mtime": stat.st_mtime}


def build(
    sqlite_path: Path,
    data_dir: Path,
    *,
    threads: int = 2,
    off_heap: str = "4g",
    keep_csv: bool = False,
    verify_lots: int = 20,
    seed: int = 7,
    log: Log = print,
) -> neo4j_local.ConnectionInfo:
    """Build, start and verify the Neo4j database of ``sqlite_path`` in ``data_dir``.

    Returns the running server's connection; the caller stops it (``neo4j_local.stop``).
    """
    if not sqlite_path.is_file():
        raise FileNotFoundError(f"no embedded store at {sqlite_path}")
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / MARKER).unlink(missing_ok=True)
    log(f"building Neo4j in {data_dir} from {sqlite_path}")
    neo4j_local.stop(data_dir)
    # A fresh start and stop: jars, conf/neo4j.conf, password and system database, exactly
    # as `lotgraph neo4j start` makes them.
    neo4j_local.start(data_dir, fresh=True, log=lambda m: log("  " + m))
    neo4j_local.stop(data_dir)
    export = export_graph(sqlite_path, data_dir / "bulk-csv", lambda m: log("  " + m))
    import_s = neo4j_local.import_full(
        data_dir, export, threads=threads, off_heap=off_heap, log=lambda m: log("  " + m)
    )
    if not keep_csv:
        shutil.rmtree(export.folder)
    started = time.perf_counter()
    info = neo4j_local.start(data_dir, fresh=False, log=lambda m: log("  " + m))
    start_s = time.perf_counter() - started
    store = Neo4jStore(info.uri, info.user, info.password, info.database)
    try:
        schema_s = ensure_schema(store)
        log(f"  started in {start_s:.0f} s; constraints and indexes online in {schema_s:.0f} s")
        embedded_stats = verify(sqlite_path, store, lots=verify_lots, seed=seed, log=log)
    finally:
        store.close()
    record = {
        **source_identity(sqlite_path),
        "stats": embedded_stats.as_dict(),
        "nodes": export.node_count,
        "relationships": export.rel_count,
        "export_s": round(export.seconds, 1),
        "import_s": round(import_s, 1),
        "schema_s": round(schema_s, 1),
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    (data_dir / MARKER).write_text(json.dumps(record, indent=2) + "\n")
    return info


def verify(
    sqlite_path: Path, neo: Neo4jStore, *, lots: int = 20, seed: int = 7, log: Log = print
) -> GraphStats:
    """Equal stats, and equal traces for ``lots`` seeded random lots; raises otherwise."""
    from queries.trace import Direction, trace

    embedded = EmbeddedStore(sqlite_path)
    try:
        want, got = embedded.stats(), neo.stats()
        log(f"  embedded stats: {json.dumps(want.as_dict(), sort_keys=True)}")
        log(f"  neo4j stats:    {json.dumps(got.as_dict(), sort_keys=True)}")
        if want != got:
            raise RuntimeError("the bulk-imported Neo4j does not hold the embedded store's graph")
        sample = sample_lots(sqlite_path, lots, seed)
        differ = [
            (lot_id, str(d))
            for lot_id in sample
            for d in Direction
            if trace(embedded, lot_id, d) != trace(neo, lot_id, d)
        ]
    finally:
        embedded.close()
    if differ:
        raise RuntimeError(f"traces differ between the stores: {differ[:5]}")
    log(f"  stats equal; traces equal for {len(sample)} random lots, both directions")
    return want


# -- self-test: bulk import vs the loader ---------------------------------------------------
def dump_graph(store: Neo4jStore) -> tuple[dict[Any, Any], dict[Any, Any]]:
    """Every graph node and relationship with its properties, each value tagged with its type."""

    def typed(props: dict[str, Any]) -> dict[str, tuple[str, Any]]:
        return {k: (type(v).__name__, v) for k, v in props.items()}

    nodes: dict[Any, Any] = {}
    for row in store.read(
        "MATCH (n) WHERE none(l IN labels(n) WHERE l IN $skip) "
        "RETURN labels(n) AS labels, properties(n) AS props",
        skip=list(_NON_GRAPH_LABELS),
    ):
        (label,) = row["labels"]
        nodes[(label, row["props"]["id"])] = typed(row["props"])
    rels: dict[Any, Any] = {}
    for row in store.read(
        "MATCH (a)-[r]->(b) RETURN labels(a) AS a, a.id AS a_id, type(r) AS type, "
        "labels(b) AS b, b.id AS b_id, properties(r) AS props"
    ):
        ref = (row["type"], *row["a"], row["a_id"], *row["b"], row["b_id"], row["props"]["key"])
        if ref in rels:
            raise RuntimeError(f"two relationships {ref}")
        rels[ref] = typed(row["props"])
    return nodes, rels


def _compare(what: str, loader: dict[Any, Any], bulk: dict[Any, Any], log: Log) -> bool:
    missing = sorted(set(loader) - set(bulk), key=str)
    extra = sorted(set(bulk) - set(loader), key=str)
    changed = sorted((k for k in set(loader) & set(bulk) if loader[k] != bulk[k]), key=str)
    same = len(set(loader) & set(bulk)) - len(changed)
    log(
        f"  {what}: {len(loader):,d} loader-written, {len(bulk):,d} bulk-imported, "
        f"{same:,d} identical property maps (types included), {len(changed)} differ, "
        f"{len(missing)} missing, {len(extra)} extra"
    )
    for key in changed[:5]:
        diff = {
            k: (loader[key].get(k), bulk[key].get(k))
            for k in set(loader[key]) | set(bulk[key])
            if loader[key].get(k) != bulk[key].get(k)
        }
        log(f"    {key}: {diff}")
    for key in (missing + extra)[:5]:
        log(f"    only on one side: {key}")
    return not (missing or extra or changed)


def _placeholder_bundle(folder: Path) -> Path:
    """Two consumptions naming a lot and a batch that no bundle carries: two placeholders."""
    folder.mkdir(parents=True)
    (folder / "bundle.json").write_text(
        json.dumps({"source": "BULK-SELFTEST", "timezone": "Europe/Zurich"})
    )
    (folder / "consumptions.csv").write_text(
        "batch_id,lot_id,quantity,unit,consumed_at\n"
        "B-2025-000001,L-DANGLING-1,1.5,kg,2025-01-08T16:24:10\n"
        "B-DANGLING-1,L-2025-000001,2.25,kg,2025-01-09T16:24:10\n"
    )
    return folder


def self_test(plant: Path, keep: bool, log: Log = print) -> bool:
    from ingest.loader import ingest_bundle
    from ingest.synthetic import generate_plant

    if not (plant / "bundle.json").exists():
        generate_plant(lots=2000, seed=3, out=plant)
        log(f"generated a 2,000-lot plant (seed 3) in {plant}")
    work = Path(tempfile.mkdtemp(prefix="lotgraph-bulk-selftest-"))
    try:
        bundles = [plant, _placeholder_bundle(work / "placeholders")]
        sqlite_path = work / "embedded" / "graph.sqlite"
        embedded = EmbeddedStore(sqlite_path)
        embedded.ensure_schema()
        for bundle in bundles:
            ingest_bundle(embedded, bundle, actor="benchmark", pause_gc=True)
        unresolved = embedded.unresolved_count()
        embedded.close()
        log(
            f"ingested {plant} and 2 dangling consumptions ({unresolved} placeholders) into {sqlite_path}"
        )

        loader_dir = work / "neo4j-loader"
        info = neo4j_local.start(loader_dir, fresh=True)
        neo = Neo4jStore(info.uri, info.user, info.password, info.database)
        try:
            neo.ensure_schema()
            for bundle in bundles:
                ingest_bundle(neo, bundle, actor="benchmark", pause_gc=True)
            loader_graph = dump_graph(neo)
            loader_schema = schema_names(neo)
        finally:
            neo.close()
            neo4j_local.stop(loader_dir)
        log(f"ingested the same through ingest_bundle into Neo4j ({info.uri}), dumped, stopped")

        bulk_dir = work / "neo4j-bulk"
        info = build(sqlite_path, bulk_dir, seed=3, log=log)
        neo = Neo4jStore(info.uri, info.user, info.password, info.database)
        try:
            bulk_graph = dump_graph(neo)
            bulk_schema = schema_names(neo)
        finally:
            neo.close()
            neo4j_local.stop(bulk_dir)
        ok = _compare("nodes", loader_graph[0], bulk_graph[0], log)
        ok = _compare("relationships", loader_graph[1], bulk_graph[1], log) and ok
        same_schema = loader_schema == bulk_schema
        log(f"  constraints and indexes: {len(bulk_schema)}, identical: {same_schema}")
        for label, placeholder in (("Lot", False), ("Batch", False), ("Lot", True)):
            key = next(
                k
                for k in sorted(bulk_graph[0])
                if k[0] == label and ("unresolved" in bulk_graph[0][k]) == placeholder
            )
            log(f"  e.g. {key}: {dict(sorted(bulk_graph[0][key].items()))}")
        key = next(k for k in sorted(bulk_graph[1]) if k[0] == "CONSUMED_IN")
        log(f"  e.g. {key}: {dict(sorted(bulk_graph[1][key].items()))}")
        return ok and same_schema
    finally:
        if keep:
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--lots", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--sqlite", type=Path, help="embedded store file (default from --lots)")
    parser.add_argument("--data-dir", type=Path, help="Neo4j data dir (default from --lots)")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--off-heap", default="4g", help="import tool's --max-off-heap-memory")
    parser.add_argument("--keep-csv", action="store_true")
    parser.add_argument("--keep-running", action="store_true")
    parser.add_argument("--self-test", action="store_true")
    parser.add_argument("--plant", type=Path, default=Path("/tmp/bulk-p2k"))
    args = parser.parse_args()
    if args.self_test:
        bench_environment(LOTGRAPH_NEO4J_HEAP="1g", LOTGRAPH_NEO4J_PAGECACHE="1g")
        ok = self_test(args.plant, keep=args.keep_csv)
        print("self-test:", "bulk import == loader" if ok else "DIFFERENCES (see above)")
        raise SystemExit(0 if ok else 1)
    bench_environment()
    sqlite_default, data_default = default_paths(args.lots, args.seed)
    sqlite_path = args.sqlite or sqlite_default
    data_dir = args.data_dir or data_default
    started = time.perf_counter()
    build(
        sqlite_path,
        data_dir,
        threads=args.threads,
        off_heap=args.off_heap,
        keep_csv=args.keep_csv,
        seed=args.seed,
    )
    print(f"built and verified in {time.perf_counter() - started:.0f} s: {data_dir}")
    if not args.keep_running:
        neo4j_local.stop(data_dir)


if __name__ == "__main__":
    main()
