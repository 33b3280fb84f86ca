"""A first load into the local Neo4j through ``neo4j-admin database import`` (docs/NEO4J.md
"First loads": ``lotgraph neo4j import BUNDLE``).

The loader writes Neo4j at a few thousand rows a second; the import tool writes the
database files directly, hundreds of thousands a second, but only into an empty database
and with no checks of its own. So a first load takes both:

1. the local server must hold no data (any node but the store's counters refuses the load,
   before anything is read or written);
2. the bundle goes through the loader into a private embedded store: its validation,
   accounting, rejections, placeholders and audit trail are exactly ``lotgraph ingest``'s,
   and a bundle refused whole writes nothing anywhere;
3. that store's graph is written as import CSV (``graph.neo4j_bulk``) with the very
   properties ``Neo4jStore`` writes; the database is checked empty once more, the server
   stopped, the tool run, the server started and its constraints and indexes made;
4. the Neo4j store adopts the audit trail entry by entry, with its seqs, links and hashes
   (``Neo4jStore.adopt_audit_trail``), and records the ingest and its rejections (the dead
   letter), as the loader would have;
5. the two stores must then agree on their statistics and audit head; the private store is
   deleted.

Interrupted (kill -9, a crash) from the moment before the server stops until the
verification, the database may be incomplete, and its rows are not yet covered by an audit
trail: a marker file beside the database (``<home>/first-load.pending``) and a marker node
the import tool writes with the graph (``:LotgraphFirstLoad``) keep it from use until step 5
removes both. Meanwhile every command and the API refuse to open it, and this command
refuses to load into it; ``lotgraph neo4j start --fresh`` empties it (and removes the
marker file), and the same command again starts over.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from graph.embedded import EmbeddedStore
from graph.neo4j_bulk import add_first_load_marker, export_graph
from graph.neo4j_store import Neo4jStore
from ingest.bundle import BundleLimits
from ingest.loader import DEFAULT_CHUNK_ROWS, IngestReport, ingest_bundle
from lotgraph import neo4j_local
from lotgraph.neo4j_local import ConnectionInfo, Log, Neo4jLocalError


class DatabaseNotEmpty(Neo4jLocalError):
    """The local Neo4j holds data; a first load would replace it, so nothing is done."""


@dataclass
class FirstLoad:
    """What a first load did: the loader's report and the figures of each step."""

    report: IngestReport
    nodes: int = 0
    relationships: int = 0
    audit_entries: int = 0
    seconds: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.report.as_dict(),
            "neo4j_import": {
                "nodes": self.nodes,
                "relationships": self.relationships,
                "audit_entries": self.audit_entries,
                "seconds": {k: round(v, 1) for k, v in self.seconds.items()},
            },
        }


def first_load(
    bundle: Path,
    data_dir: Path,
    *,
    actor: str,
    limits: BundleLimits | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    threads: int = 2,
    off_heap: str = "2g",
    log: Log | None = None,
) -> FirstLoad:
    """Load ``bundle`` into the empty local Neo4j of ``data_dir``; the server is left running.

    Raises DatabaseNotEmpty or BundleError (nothing written), Neo4jLocalError when the
    server or the tool fails.
    """
    say = log or (lambda _msg: None)
    if neo4j_local.LocalNeo4jSettings.from_env().runtime == "docker":
        raise Neo4jLocalError(
            "LOTGRAPH_NEO4J_RUNTIME=docker: the import tool writes the database files of the "
            "local Java server; load into a Docker Neo4j with `lotgraph ingest`"
        )
    pending = neo4j_local.interrupted_first_load(data_dir)
    if pending is not None:  # refused before the server starts on what may be half written
        raise DatabaseNotEmpty(neo4j_local.unfinished_first_load_text(pending))
    info = neo4j_local.start(data_dir, log=say)
    _refuse_data(info, data_dir)
    clock = _Clock()
    data_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="neo4j-import-", dir=data_dir))
    try:
        sqlite_path = work / "graph.sqlite"
        embedded = EmbeddedStore(sqlite_path)
        try:
            embedded.ensure_schema()
            report = ingest_bundle(
                embedded, bundle, actor=actor, chunk_rows=chunk_rows, limits=limits, pause_gc=True
            )
        finally:
            embedded.close()
        loaded = FirstLoad(report)
        loaded.seconds["ingest"] = clock.lap()
        say(f"loaded {bundle} through the loader: {report.total('accepted'):,d} rows accepted")
        files = export_graph(sqlite_path, work / "csv", say)
        loaded.nodes, loaded.relationships = files.node_count, files.rel_count
        loaded.seconds["export"] = clock.lap()
        _refuse_data(info, data_dir)  # the last look, the moment before the server stops
        # From here until the verification the database is incomplete: the marker file
        # beside it, and the marker node the tool writes with the graph, keep it from use.
        add_first_load_marker(files, report.ingest_id)
        neo4j_local.begin_first_load(data_dir, report.ingest_id)
        say("stopping the server for the import tool")
        neo4j_local.stop(data_dir)
        neo4j_local.import_full(data_dir, files, threads=threads, off_heap=off_heap, log=say)
        loaded.seconds["import"] = clock.lap()
        shutil.rmtree(files.folder)
        say("starting the server on the imported database")
        info = neo4j_local.start(data_dir, log=say)
        neo4j = _open(info)
        embedded = EmbeddedStore(sqlite_path)
        try:
            say("making the constraints and indexes")
            neo4j.ensure_schema(index_wait_s=7200)
            loaded.seconds["schema"] = clock.lap()
            say("adopting the audit trail")
            loaded.audit_entries = neo4j.adopt_audit_trail(embedded.audit_trail())
            record = report.as_dict()
            neo4j.record_ingest(
                {k: v for k, v in record.items() if k != "rejections"},
                [asdict(r) for r in report.rejections],
            )
            loaded.seconds["audit"] = clock.lap()
            say("verifying the imported database")
            _same_content(embedded, neo4j)
            neo4j.finish_first_load()
            neo4j_local.end_first_load(data_dir)
            loaded.seconds["verify"] = clock.lap()
        finally:
            embedded.close()
            neo4j.close()
        return loaded
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _open(info: ConnectionInfo) -> Neo4jStore:
    return Neo4jStore(info.uri, info.user, info.password, info.database)


def _refuse_data(info: ConnectionInfo, data_dir: Path) -> None:
    neo4j = _open(info)
    try:
        pending = neo4j_local.interrupted_first_load(data_dir) or neo4j.first_load_pending()
        labels = neo4j.first_data_labels()
    finally:
        neo4j.close()
    if pending is not None:
        raise DatabaseNotEmpty(neo4j_local.unfinished_first_load_text(pending))
    if labels is not None:
        raise DatabaseNotEmpty(
            f"the local Neo4j database is not empty (it holds {':'.join(labels) or 'unlabelled'}"
            " nodes, among others): `lotgraph neo4j import` loads a first bundle into an empty "
            "database only; load later bundles with `lotgraph ingest` (LOTGRAPH_STORE=neo4j), "
            "or empty the database with `lotgraph neo4j start --fresh`"
        )


def _same_content(embedded: EmbeddedStore, neo4j: Neo4jStore) -> None:
    """The imported database holds what the loader wrote, and the same audit head."""
    want, got = embedded.stats(), neo4j.stats()
    if want != got:
        raise Neo4jLocalError(f"the imported database differs: {got} instead of {want}")
    if embedded.audit_head() != neo4j.audit_head():
        raise Neo4jLocalError("the imported audit trail does not end where the loader's does")


class _Clock:
    def __init__(self) -> None:
        self.last = time.monotonic()

    def lap(self) -> float:
        now = time.monotonic()
        seconds, self.last = now - self.last, now
        return seconds
