"""The Neo4j store: one driver per process, writes in managed transactions, reads routed."""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any, Final

import neo4j
import orjson
from neo4j import GraphDatabase, Transaction
from neo4j.exceptions import (
    ConstraintError,
    DatabaseUnavailable,
    DriverError,
    Neo4jError,
    ServiceUnavailable,
    SessionExpired,
)

from graph.audit_chain import (
    GENESIS,
    Head,
    entry_hash,
    json_text,
    key_refs,
    link,
    pending_entries,
)
from graph.cypher_files import paths_query, read_cypher, render
from graph.digest import NodeRecord, RelRecord, content_digest
from graph.genealogy import Genealogy
from graph.model import (
    FINGERPRINT,
    KEY,
    LABELS,
    PROVENANCE,
    REL_KEY,
    REL_TYPES,
    UNRESOLVED,
    Label,
    RelType,
)
from graph.records import (
    Account,
    BrowserSession,
    IdempotencyRecord,
    KeyIdInUse,
    SessionExists,
    SignInFailure,
    reservation_body,
)
from graph.sign_in import failure_audit, unlock_audit
from graph.store import (
    ABSENT,
    ANY,
    WRITE_ID,
    AlreadyExists,
    AnalyteRows,
    AuditEntry,
    AuditQuery,
    FoundPaths,
    GraphStats,
    Link,
    LinkKey,
    NodeRef,
    Props,
    RecallFacts,
    RecallView,
    RelRef,
    Shape,
    StoredNode,
    StoreUnavailable,
    T,
    TraceEdge,
    TraceSites,
    WriteBatch,
    WriteConflict,
    utc_now,
)

_NOT_CONTENT = {KEY, REL_KEY, UNRESOLVED, FINGERPRINT, *PROVENANCE}
_MODEL_LABELS = set(map(str, LABELS))


@dataclass(frozen=True, slots=True)
class _Step:
    """One statement of a write transaction. A checked step returns ``conflicts``: rows
    whose stored content was not what the write expected; ``ref`` names each."""

    query: str
    params: dict[str, Any]
    ref: Callable[[list[Any]], NodeRef | RelRef] | None = None


_SUB_BATCH = 10_000

DEFAULT_MAX_RETRY_SECONDS: Final = 5.0
_FIRST_RETRY_DELAY_S: Final = 1.0  # then doubled, with a jitter of 20 %: the driver's own
SNAPSHOT_ATTEMPTS: Final = 5
# What a server that went away (stopped, restarting, unreachable) looks like to the driver;
# IncompleteCommit and the routing errors are ServiceUnavailable too.
_CONNECTION_LOST = (ServiceUnavailable, SessionExpired, DatabaseUnavailable)


def _content(props: Mapping[str, Any]) -> Props:
    return {k: v for k, v in props.items() if k not in _NOT_CONTENT}


def _stored_node(props: Mapping[str, Any]) -> StoredNode:
    """A node as the store returns its properties: the content, and whether a placeholder."""
    return StoredNode(_content(props), bool(props.get(UNRESOLVED, False)))


def _recall_facts(row: Mapping[str, Any]) -> RecallFacts:
    """``RecallFacts`` from the lists a recall query returns under the same names."""
    return RecallFacts(
        consumed=[tuple(x) for x in row["consumed"]],
        shipped=[tuple(x) for x in row["shipped"]],
        deviations=[tuple(x) for x in row["deviations"]],
        documents=[tuple(x) for x in row["documents"]],
        holds=[tuple(x) for x in row["holds"]],
    )


def _chunks(rows: list[Any]) -> Iterable[list[Any]]:
    for start in range(0, len(rows), _SUB_BATCH):
        yield rows[start : start + _SUB_BATCH]


def _json(value: Any) -> str:
    """The same JSON text the embedded store keeps (orjson, sorted keys)."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def _stored_audit(entry: Mapping[str, Any]) -> dict[str, Any]:
    """The properties of one linked entry's node: old and new as JSON text."""
    return {**entry, "old": json_text(entry["old"]), "new": json_text(entry["new"])}


def _refs(entries: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [{"key": key, "seq": seq} for key, seq in key_refs(entries)]


def _parse_audit(entry: dict[str, Any]) -> dict[str, Any]:
    for k in ("old", "new"):
        entry[k] = json.loads(entry[k]) if entry.get(k) is not None else None
    return entry


def _account(props: Mapping[str, Any]) -> Account:
    return Account(
        name=props["name"],
        role=props["role"],
        sites=list(props.get("sites") or []),
        kind=props["kind"],
        secret_hash=props["secret_hash"],
        disabled=bool(props["disabled"]),
        created_at=props["created_at"],
        updated_at=props["updated_at"],
        failed_sign_ins=int(props["failed_sign_ins"]),
        locked_until=props.get("locked_until"),
        key_id=props.get("key_id"),
    )


def _idempotency(props: Mapping[str, Any]) -> IdempotencyRecord:
    return IdempotencyRecord(
        key=props["key"],
        actor=props["actor"],
        request_sha256=props["request_sha256"],
        status_code=int(props["status_code"]),
        body=orjson.loads(props["body"]),
        at=props["at"],
    )


def _browser_session(props: Mapping[str, Any]) -> BrowserSession:
    return BrowserSession(
        id_sha256=props["id_sha256"],
        account=props["account"],
        created_at=props["created_at"],
        expires_at=props["expires_at"],
        account_updated_at=props["account_updated_at"],
        ended_at=props.get("ended_at"),
    )


def _check_limit(limit: int | None) -> None:
    if limit is not None and limit < 0:
        raise ValueError(f"limit must not be negative, not {limit}")


# The genealogy's relationship types (graph/genealogy.py): name -> template slots.
_GENEALOGY: Final = {
    "consumed": {"source": "Lot", "type": "CONSUMED_IN", "target": "Batch"},
    "produced": {"source": "Batch", "type": "PRODUCED", "target": "Lot"},
    "supplied": {"source": "Supplier", "type": "SUPPLIED", "target": "Lot"},
    "of_material": {"source": "Lot", "type": "OF_MATERIAL", "target": "Material"},
    "ran_on": {"source": "Batch", "type": "RAN_ON", "target": "Equipment"},
}


class Neo4jStore:
    """A GraphStore on a Neo4j server (bolt:// or routing neo4j:// URIs)."""

    kind = "neo4j"

    def __init__(
        self,
        uri: str,
        user: str,
        password: str,
        database: str = "neo4j",
        max_retry_seconds: float = DEFAULT_MAX_RETRY_SECONDS,
    ) -> None:
        self.uri = uri
        self.database = database
        self._credentials = (user, password)
        self._max_retry_seconds = max_retry_seconds
        # The driver retries a managed transaction on transient errors and on a lost
        # connection for up to max_retry_seconds (its default, 30 s, would hold a request
        # that long while the server is down, where an answer of 503 lets the client decide).
        self.driver = GraphDatabase.driver(
            uri,
            auth=(user, password),
            notifications_min_severity="OFF",
            max_transaction_retry_time=max_retry_seconds,
        )
        self._in_snapshot = threading.local()  # .active: this thread runs a read_snapshot
        # the genealogy as last read, reused while the graph version it was read at holds
        self._genealogy_cache: Genealogy | None = None

    @contextmanager
    def _reachable(self) -> Iterator[None]:
        """Report a lost server as StoreUnavailable; every other error passes unchanged.

        The driver's pool drops a dead connection and opens a new one on the next request,
        and sessions live for one call, so nothing keeps a dead session once Neo4j is back.
        """
        try:
            yield
        except _CONNECTION_LOST as exc:
            raise StoreUnavailable("neo4j", f"{self.uri}: {exc}") from exc

    @contextmanager
    def _session(self, **config: Any) -> Iterator[neo4j.Session]:
        with self._reachable(), self.driver.session(database=self.database, **config) as session:
            yield session

    def opener(self) -> Callable[[], Neo4jStore]:
        user, password = self._credentials
        return partial(Neo4jStore, self.uri, user, password, self.database, self._max_retry_seconds)

    def _transact(self, work: Callable[..., T], *args: Any, read_only: bool = False) -> T:
        """``work(tx, *args)`` in one transaction, committed; retried as the driver's
        execute_write retries (transient errors, a connection lost before the commit; never
        IncompleteCommit, whose outcome is unknown) for up to max_retry_seconds.

        Not the driver's execute_write or execute_read: when a query fails inside their
        transaction (a create-only write refused by its key's constraint, a deadlock), neo4j
        5.28 (and 6.4) gives the connection back to the pool at once, then still rolls the
        transaction back on it. Another thread may have taken it meanwhile: the rollback's
        end-of-stream check set that thread's socket non-blocking (its read failed with
        BlockingIOError: a 503), or found that thread's work on it and raised
        ResultFailedError (a 500), and two threads on one Bolt socket can bring a worker
        down. Here a transaction the server or the connection failed is left alone: the
        server ended it, and the driver reset the connection when it gave it back.
        """
        mode = neo4j.READ_ACCESS if read_only else neo4j.WRITE_ACCESS

        def attempt() -> T:
            with self.driver.session(database=self.database, default_access_mode=mode) as session:
                tx = session.begin_transaction()
                try:
                    answer = work(tx, *args)
                except (Neo4jError, DriverError):
                    raise  # no longer this thread's connection: never touch it
                except BaseException:
                    tx.close()  # our own refusal (WriteConflict, ...): roll back
                    raise
                tx.commit()
            return answer

        return self._retried(attempt)

    def _retried(self, attempt: Callable[[], T]) -> T:
        """``attempt()`` again after a retryable failure (transient errors, a connection
        lost before the commit), with jittered doubling delays, for up to max_retry_seconds."""
        deadline = time.monotonic() + self._max_retry_seconds
        delay = _FIRST_RETRY_DELAY_S
        with self._reachable():
            while True:
                try:
                    return attempt()
                except (Neo4jError, DriverError) as exc:
                    if not exc.is_retryable() or time.monotonic() + delay > deadline:
                        raise
                time.sleep(delay * random.uniform(0.8, 1.2))
                delay *= 2

    def check(self) -> None:
        # an auto-commit query, which the driver does not retry: a down server answers now
        with self._session(default_access_mode=neo4j.READ_ACCESS) as session:
            session.run("RETURN 1").consume()

    def graph_version(self) -> int:
        """The number of content-writing transactions committed (bumped by ``apply``)."""
        rows = self.read(read_cypher("graph_version"))
        return int(rows[0]["version"]) if rows else 0

    def genealogy(self) -> Genealogy:
        return self.read_snapshot(self._genealogy)

    def _genealogy(self) -> Genealogy:
        version = self.graph_version()
        cached = self._genealogy_cache
        if cached is not None and cached.version == version:
            return cached

        def read_all(
            tx: Transaction,
        ) -> tuple[dict[str, list[str]], dict[str, list[tuple[str, str]]]]:
            nodes = {
                label: [i for (i,) in tx.run(render("genealogy_nodes", label=label))]
                for label in ("Lot", "Batch", "Supplier", "Material", "Equipment")
            }
            pairs = {
                name: [(s, d) for s, d in tx.run(render("genealogy_pairs", **slots))]
                for name, slots in _GENEALOGY.items()
            }
            return nodes, pairs

        nodes, pairs = self._transact(read_all, read_only=True)
        loaded = Genealogy.from_pairs(version, nodes, **pairs)
        self._genealogy_cache = loaded
        return loaded

    def analyte_rows(self, analyte: str) -> AnalyteRows:
        (record,) = self.read(read_cypher("analyte_rows"), analyte=analyte)
        return AnalyteRows.from_tuples(
            record["rows"], lambda found: tuple(sorted((m, site) for m, site in found))
        )

    def read_snapshot(self, work: Callable[[], T]) -> T:
        # Neo4j reads are read-committed, not snapshots: run the work between two reads of
        # the graph version, and again when a write committed meanwhile.
        if getattr(self._in_snapshot, "active", False):
            return work()
        self._in_snapshot.active = True
        try:
            for attempt in range(SNAPSHOT_ATTEMPTS):
                before = self.graph_version()
                answer = work()
                if self.graph_version() == before:
                    return answer
                time.sleep(0.05 * 2**attempt)  # let the ingest's next chunk come and go
        finally:
            self._in_snapshot.active = False
        raise StoreUnavailable(
            "neo4j",
            f"the graph changed during each of {SNAPSHOT_ATTEMPTS} attempts to read it "
            "consistently (an ingest is running); try again when it has finished",
            retry_after_s=10,
        )

    # -- schema ---------------------------------------------------------------------------
    def ensure_schema(self, index_wait_s: int = 300) -> None:
        """Constraints, indexes (waiting up to ``index_wait_s`` for them to be online: a
        first load's indexes fill from millions of nodes) and the store's counters."""
        statements = []
        for label in LABELS:
            statements.append(
                f"CREATE CONSTRAINT {label.lower()}_id IF NOT EXISTS "
                f"FOR (n:`{label}`) REQUIRE n.id IS UNIQUE"
            )
            statements.append(
                f"CREATE INDEX {label.lower()}_unresolved IF NOT EXISTS "
                f"FOR (n:`{label}`) ON (n.unresolved)"
            )
        statements += [
            # impurity investigations start from the results of one analyte
            "CREATE INDEX testresult_analyte IF NOT EXISTS FOR (n:TestResult) ON (n.analyte)",
            "CREATE CONSTRAINT auditentry_seq IF NOT EXISTS FOR (n:AuditEntry) REQUIRE n.seq IS UNIQUE",
            "CREATE CONSTRAINT ingestrun_id IF NOT EXISTS FOR (n:IngestRun) REQUIRE n.id IS UNIQUE",
            "CREATE CONSTRAINT counter_id IF NOT EXISTS FOR (n:LotgraphCounter) REQUIRE n.id IS UNIQUE",
            # audit_for_keys: entries by key, and by each id of a comma-separated key
            "CREATE INDEX auditentry_key IF NOT EXISTS FOR (n:AuditEntry) ON (n.key)",
            "CREATE INDEX auditkeyref_key IF NOT EXISTS FOR (n:AuditKeyRef) ON (n.key)",
            # service records (graph/records.py), outside the model's labels
            "CREATE CONSTRAINT account_name IF NOT EXISTS FOR (n:Account) REQUIRE n.name IS UNIQUE",
            "CREATE CONSTRAINT account_key_id IF NOT EXISTS FOR (n:Account) REQUIRE n.key_id IS UNIQUE",
            "CREATE CONSTRAINT idempotency_key IF NOT EXISTS "
            "FOR (n:IdempotencyRecord) REQUIRE n.key IS UNIQUE",
            "CREATE CONSTRAINT browsersession_id IF NOT EXISTS "
            "FOR (n:BrowserSession) REQUIRE n.id_sha256 IS UNIQUE",
        ]
        with self._session() as session:
            for statement in statements:
                session.run(statement).consume()
            session.run("CALL db.awaitIndexes($wait)", wait=index_wait_s).consume()
            # created here, so that writers only ever update it (no MERGE race to create it)
            session.run(
                "MERGE (c:LotgraphCounter {id: 'graph_version'}) ON CREATE SET c.value = 0"
            ).consume()
        last = self.read(read_cypher("last_audit_entry"))
        if last and last[0]["hash"] is None:
            self._chain_unhashed()

    def _chain_unhashed(self, page_size: int = 10_000) -> None:
        """Chain the entries written before the audit trail was hash-chained, a page at a time.

        Appenders meanwhile find the last entry unchained and fail (they are retried by
        their callers); the head is recorded once every entry is chained.
        """
        (row,) = self.read(read_cypher("first_unhashed_audit"))
        prev = row["prev"] or GENESIS
        after, last_seq = row["start"] - 1, row["start"] - 1
        while page := self.audit_entries(after=after, limit=page_size):
            changed: list[dict[str, Any]] = []
            for entry in page:
                if entry.get("hash") is None:
                    entry["prev_hash"] = prev
                    entry["hash"] = entry_hash(entry)
                    changed.append({"seq": entry["seq"], "prev_hash": prev, "hash": entry["hash"]})
                prev = entry["hash"]
            chain: dict[str, Any] = {"rows": changed, "refs": _refs(page)}
            self._transact(_run_all, [(read_cypher("chain_audit_entries"), chain)])
            after = last_seq = page[-1]["seq"]
        head: dict[str, Any] = {"seq": last_seq, "hash": prev}
        self._transact(_run_all, [(read_cypher("set_audit_head"), head)])

    # -- reads ----------------------------------------------------------------------------
    def read(self, query: str, **params: Any) -> list[dict[str, Any]]:
        """Run a read query with read routing and return its records as dicts."""
        return self._read(query, params, neo4j.Record.data)

    def _read(
        self, query: str, params: dict[str, Any], row: Callable[[neo4j.Record], dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """The records of a read query, each as ``row`` makes it: ``Record.data`` turns
        nodes into dicts but walks every value in Python (half the time of a recall's
        thousands of values); ``dict`` suffices for queries returning lists and maps.

        An auto-commit query: one network round trip, where an explicit transaction costs
        three (BEGIN, the query, COMMIT: ``begin_transaction`` does not pipeline its BEGIN).
        Retried as ``_transact`` retries; nothing to roll back on a failure, so none of
        the connection trouble ``_transact`` avoids.
        """

        def attempt() -> list[dict[str, Any]]:
            with self.driver.session(
                database=self.database, default_access_mode=neo4j.READ_ACCESS
            ) as session:
                return [row(r) for r in session.run(query, params)]

        return self._retried(attempt)

    def _found(self, query: str, **params: Any) -> list[list[Any]]:
        (record,) = self.read(query, **params)
        return record["found"]

    def fetch_nodes(self, label: Label, ids: Sequence[str]) -> dict[str, StoredNode]:
        found: dict[str, StoredNode] = {}
        query = render("fetch_nodes", label=label)
        for part in _chunks(list(ids)):
            for node_id, props in self._found(query, ids=part):
                found[node_id] = _stored_node(props)
        return found

    def fetch_node_fingerprints(self, label: Label, ids: Sequence[str]) -> dict[str, str | None]:
        found: dict[str, str | None] = {}
        query = render("fetch_node_fingerprints", label=label)
        for part in _chunks(list(ids)):
            for node_id, fp, unresolved in self._found(query, ids=part):
                found[node_id] = None if unresolved else fp
        return found

    def fetch_lot_units(self, ids: Sequence[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        for part in _chunks(list(ids)):
            found.update(
                (lot_id, unit)
                for lot_id, unit in self._found(read_cypher("fetch_lot_units"), ids=part)
            )
        return found

    def fetch_rels(self, refs: Sequence[RelRef]) -> dict[RelRef, Props]:
        return {ref: _content(p) for ref, p in self._fetch_rel_values(refs, "fetch_rels").items()}

    def fetch_rel_fingerprints(self, refs: Sequence[RelRef]) -> dict[RelRef, str]:
        return self._fetch_rel_values(refs, "fetch_rel_fingerprints")

    def node_ids(self, label: Label) -> list[str]:
        return sorted(str(i) for i in self._found(render("node_ids", label=label)))

    def linked(
        self, label: Label, ids: Sequence[str], rel_type: RelType, outgoing: bool
    ) -> list[tuple[str, str, str]]:
        query = render("linked_out" if outgoing else "linked_in", label=label, type=rel_type)
        found: set[tuple[str, str, str]] = set()
        for part in _chunks(sorted(set(ids))):
            found.update((src, dst, other) for src, dst, other in self._found(query, ids=part))
        return sorted(found)

    def linked_rels(
        self, label: Label, ids: Sequence[str], rel_type: RelType, outgoing: bool
    ) -> list[tuple[RelRef, Props]]:
        name = "linked_rels_out" if outgoing else "linked_rels_in"
        query = render(name, label=label, type=rel_type)
        found: dict[RelRef, Props] = {}
        for part in _chunks(sorted(set(ids))):
            for src_label, src, dst_label, dst, props in self._found(query, ids=part):
                key = str(props.get(REL_KEY, ""))
                ref = RelRef(
                    rel_type, NodeRef(Label(src_label), src), NodeRef(Label(dst_label), dst), key
                )
                found[ref] = _content(props)
        return sorted(found.items())

    def paths(
        self, label: Label, ids: Sequence[str], shapes: Sequence[Shape], with_nodes: bool = False
    ) -> FoundPaths:
        found: set[tuple[int, tuple[str, ...]]] = set()
        nodes: dict[Label, dict[str, StoredNode]] = {}
        if not shapes:
            return FoundPaths([], nodes)
        query = paths_query(label, tuple(shapes), with_nodes)
        for part in _chunks(sorted(set(ids))):
            for index, path, contents in self._found(query, ids=part):
                found.add((index, tuple(path)))
                if not with_nodes:
                    continue
                labels = (label, *(h.label for h in shapes[index]))
                on_path = list(zip(labels, path, strict=True))
                for (node_label, node_id), props in zip(
                    on_path[1:] or on_path, contents, strict=True
                ):
                    nodes.setdefault(node_label, {})[node_id] = _stored_node(props)
        return FoundPaths(sorted(found), nodes)

    def _one_state(self, query: str, **params: Any) -> dict[str, Any]:
        """The one record of a read query that reads the graph version first and last (as
        ``before`` and ``after``), run again while a write committed during it: the query
        alone is what ``read_snapshot`` is to several, in one round trip."""
        for attempt in range(SNAPSHOT_ATTEMPTS):
            (row,) = self._read(query, params, dict)  # lists and maps only: no conversion
            # inside a snapshot the enclosing one checks (and runs the work again)
            if row["before"] == row["after"] or getattr(self._in_snapshot, "active", False):
                return row
            time.sleep(0.05 * 2**attempt)  # let the ingest's next chunk come and go
        raise StoreUnavailable(
            "neo4j",
            f"the graph changed during each of {SNAPSHOT_ATTEMPTS} attempts to read it "
            "consistently (an ingest is running); try again when it has finished",
            retry_after_s=10,
        )

    def trace_reach(
        self, lot_ids: Sequence[str], forward: bool, with_sites: bool = True
    ) -> tuple[set[TraceEdge], TraceSites]:
        # the sites come with the same query: no second round trip to leave them out
        query = read_cypher("trace_forward" if forward else "trace_backward")
        row = self._one_state(query, lot_ids=sorted(set(lot_ids)))
        edges: set[TraceEdge] = {(a, t, b) for a, t, b in row["edges"]}
        sites: TraceSites = {(lb, i): site for lb, i, site in row["sites"]}
        return edges, sites

    def recall_view(self, lot_ids: Sequence[str]) -> RecallView:
        row = self._one_state(read_cypher("recall_view"), lot_ids=sorted(set(lot_ids)))

        def nodes(pairs: list[list[Any]]) -> dict[str, StoredNode]:
            return {node_id: _stored_node(props) for node_id, props in pairs}

        return RecallView(
            lots=nodes(row["lot_nodes"]),
            batches=nodes(row["batch_nodes"]),
            facts=_recall_facts(row),
            named={
                Label.HOLD: nodes(row["hold_nodes"]),
                Label.CUSTOMER: nodes(row["customer_nodes"]),
                Label.DEVIATION: nodes(row["deviation_nodes"]),
                Label.DOCUMENT: nodes(row["document_nodes"]),
            },
        )

    def recall_facts(self, lot_ids: Sequence[str], batch_ids: Sequence[str]) -> RecallFacts:
        query = read_cypher("recall_facts")
        (row,) = self.read(query, lot_ids=list(lot_ids), batch_ids=list(batch_ids))
        return _recall_facts(row)

    def custody_links(self, batch_id: str) -> list[tuple[LinkKey, Link]]:
        rows = self.read(read_cypher("custody_links"), batch_id=batch_id)
        return [
            (
                (RelType(r["type"]), Label(r["src_label"]), Label(r["dst_label"])),
                (r["src"], r["dst"], _content(r["props"])),
            )
            for r in rows
        ]

    def _fetch_rel_values(self, refs: Sequence[RelRef], name: str) -> dict[RelRef, Any]:
        groups: dict[tuple[str, str, str], list[RelRef]] = {}
        for ref in refs:
            groups.setdefault((ref.src.label, ref.type, ref.dst.label), []).append(ref)
        found: dict[RelRef, Any] = {}
        for (src, rel_type, dst), members in groups.items():
            wanted = {(r.src.id, r.dst.id, r.key): r for r in members}
            query = render(name, src=src, type=rel_type, dst=dst)
            rows = [{"src": s, "dst": d, "key": k} for s, d, k in wanted]
            for part in _chunks(rows):
                for s, d, k, value in self._found(query, rows=part):
                    found[wanted[(s, d, k)]] = value
        return found

    def stats(self) -> GraphStats:
        nodes: dict[str, int] = {}
        rels: dict[str, int] = {}
        for label in LABELS:
            (row,) = self.read(render("count_label", label=label))
            if row["n"]:
                nodes[str(label)] = int(row["n"])
        for rel_type in REL_TYPES:
            (row,) = self.read(render("count_type", type=rel_type))
            if row["n"]:
                rels[str(rel_type)] = int(row["n"])
        return GraphStats(
            nodes=dict(sorted(nodes.items())),
            relationships=dict(sorted(rels.items())),
            unresolved=self.unresolved_count(),
        )

    def unresolved_count(self) -> int:
        return sum(
            int(self.read(render("count_unresolved", label=label))[0]["n"]) for label in LABELS
        )

    def audit_entries(self, after: int = 0, limit: int | None = None) -> list[dict[str, Any]]:
        _check_limit(limit)
        rows = self.read(read_cypher("audit_page"), after=after, limit=limit)
        return [_parse_audit(r["entry"]) for r in rows]

    def audit_page(self, query: AuditQuery, after: int, limit: int) -> list[dict[str, Any]]:
        _check_limit(limit)
        among, not_among = query.class_actions()
        rows = self.read(
            read_cypher("audit_page_filtered" if query.key is None else "audit_page_for_key"),
            after=after,
            limit=limit,
            key=query.key,
            actor=query.actor,
            action=query.action,
            among=None if among is None else list(among),
            not_among=None if not_among is None else list(not_among),
            since=query.since,
            until=query.until,
        )
        return [_parse_audit(r["entry"]) for r in rows]

    def audit_trail(self, page_size: int = 10_000) -> Iterator[dict[str, Any]]:
        after: Any = 0
        while page := self.audit_entries(after=after, limit=page_size):
            yield from page
            after = page[-1]["seq"]

    def first_data_labels(self) -> list[str] | None:
        """The labels of one node that is data (not a counter of the store's own), or None
        when the database is empty."""
        rows = self.read(read_cypher("any_data"))
        return list(rows[0]["labels"]) if rows else None

    def first_load_pending(self) -> str | None:
        """The ingest id of a first load whose graph the import tool wrote but that has not
        finished (its audit trail not yet adopted and verified), or None."""
        rows = self.read(read_cypher("first_load_pending"))
        return str(rows[0]["ingest_id"]) if rows else None

    def finish_first_load(self) -> None:
        """Mark the first load complete: the database may be opened for use."""
        self._transact(_run_all, [(read_cypher("finish_first_load"), {})])

    def adopt_audit_trail(self, entries: Iterable[Mapping[str, Any]], page: int = 2_000) -> int:
        """Take over another store's audit trail, each entry with its own seq, links and
        hash (a first load, ``lotgraph neo4j import``): only into an empty trail, and only a
        trail that links from GENESIS without a gap; the head moves with every page. Gives
        the number of entries adopted."""
        if self.audit_head() is not None or self.read(read_cypher("last_audit_entry")):
            raise RuntimeError("the audit trail is not empty: a trail is adopted only whole")
        head = Head(0, GENESIS)
        adopted = 0
        batch: list[dict[str, Any]] = []
        for entry in entries:
            if entry["seq"] != head.seq + 1 or entry["prev_hash"] != head.hash:
                raise RuntimeError(f"audit entry {entry['seq']} does not link to {head.seq}")
            head = Head(int(entry["seq"]), str(entry["hash"]))
            batch.append(dict(entry))
            if len(batch) == page:
                adopted += self._adopt(batch, head)
                batch = []
        if batch:
            adopted += self._adopt(batch, head)
        self._transact(_run_one, read_cypher("bump_graph_version"))
        return adopted

    def _adopt(self, entries: list[dict[str, Any]], head: Head) -> int:
        params = {
            "rows": [_stored_audit(e) for e in entries],
            "refs": _refs(entries),
            "seq": head.seq,
            "hash": head.hash,
        }
        self._transact(_adopt_audit, params)
        return len(entries)

    def audit_head(self) -> Head | None:
        rows = self.read(read_cypher("audit_head"))
        if not rows or rows[0]["hash"] is None:
            return None
        return Head(int(rows[0]["seq"]), str(rows[0]["hash"]))

    def audit_for_keys(self, keys: Sequence[str], limit: int | None = None) -> list[dict[str, Any]]:
        _check_limit(limit)
        if not keys:
            return []
        rows = self.read(read_cypher("audit_for_keys"), keys=sorted(set(keys)), limit=limit)
        return [_parse_audit(r["entry"]) for r in rows]

    def rejections(self, ingest_id: str | None = None) -> list[dict[str, Any]]:
        rows = self.read(read_cypher("rejections"), ingest_id=ingest_id)
        return [
            {k: r["rejection"][k] for k in ("ingest_id", "file", "row", "column", "reason")}
            for r in rows
        ]

    def rejections_page(self, after: tuple[str, int] | None, limit: int) -> list[dict[str, Any]]:
        _check_limit(limit)
        after_id, after_seq = after if after is not None else (None, None)
        rows = self.read(
            read_cypher("rejections_page"), after_id=after_id, after_seq=after_seq, limit=limit
        )
        keys = ("ingest_id", "seq", "file", "row", "column", "reason")
        return [{k: r["rejection"][k] for k in keys} for r in rows]

    # -- service records ------------------------------------------------------------------
    def get_account(self, name: str) -> Account | None:
        rows = self.read(read_cypher("get_account"), name=name)
        return _account(rows[0]["account"]) if rows else None

    def find_account_by_key_id(self, key_id: str) -> Account | None:
        rows = self.read(read_cypher("find_account_by_key_id"), key_id=key_id)
        return _account(rows[0]["account"]) if rows else None

    def list_accounts(self) -> list[Account]:
        rows = self.read(read_cypher("list_accounts"))
        # sorted here, by code point, so that both stores order names alike
        return sorted((_account(r["account"]) for r in rows), key=lambda a: a.name)

    def save_account(self, account: Account, audit: AuditEntry | None) -> None:
        a = account
        props = {
            "name": a.name,
            "role": a.role,
            "sites": list(a.sites),
            "kind": a.kind,
            "secret_hash": a.secret_hash,
            "disabled": a.disabled,
            "created_at": a.created_at,
            "updated_at": a.updated_at,
            "failed_sign_ins": a.failed_sign_ins,
            "locked_until": a.locked_until,
            "key_id": a.key_id,
        }
        work = [_Step(read_cypher("save_account"), {"name": a.name, "props": props})]
        audit_rows = pending_entries([audit] if audit is not None else [], utc_now())
        try:
            self._transact(_write, work, audit_rows)
        except ConstraintError as exc:
            if "key_id" in (exc.message or ""):
                raise KeyIdInUse(a.key_id) from exc
            raise

    def create_session(self, session: BrowserSession, audit: AuditEntry) -> None:
        x = session
        props = {
            "id_sha256": x.id_sha256,
            "account": x.account,
            "created_at": x.created_at,
            "expires_at": x.expires_at,
            "account_updated_at": x.account_updated_at,
            "ended_at": x.ended_at,
        }
        work = [_Step(read_cypher("create_session"), {"props": props})]
        try:
            self._transact(_write, work, pending_entries([audit], utc_now()))
        except ConstraintError:
            raise SessionExists(x.id_sha256[:16]) from None

    def get_session(self, id_sha256: str) -> BrowserSession | None:
        rows = self.read(read_cypher("get_session"), id_sha256=id_sha256)
        return _browser_session(rows[0]["session"]) if rows else None

    def end_session(self, id_sha256: str, at: str, audit: AuditEntry) -> bool:
        ended: bool = self._transact(_end_session, id_sha256, at, audit)
        return ended

    def fetch_idempotency(self, key: str) -> IdempotencyRecord | None:
        rows = self.read(read_cypher("fetch_idempotency"), key=key)
        return _idempotency(rows[0]["record"]) if rows else None

    def save_idempotency(self, record: IdempotencyRecord) -> IdempotencyRecord:
        r = record
        props = {
            "key": r.key,
            "actor": r.actor,
            "request_sha256": r.request_sha256,
            "status_code": r.status_code,
            "body": _json(r.body),
            "at": r.at,
        }
        params = {"key": r.key, "props": props}
        try:
            stored = self._transact(_single, read_cypher("save_idempotency"), params)
        except ConstraintError:
            # Two MERGEs of one new key at once: the one that lost the race under the
            # uniqueness constraint fails instead of matching. The first record wins.
            found = self.fetch_idempotency(r.key)
            if found is None:
                raise
            return found
        return _idempotency(stored["record"])

    def complete_idempotency(self, record: IdempotencyRecord) -> bool:
        done = self._transact(_single, read_cypher("complete_idempotency"), _answer_params(record))
        return int(done["completed"]) == 1

    def take_over_idempotency(self, stale: IdempotencyRecord, fresh: IdempotencyRecord) -> bool:
        params = {
            "key": stale.key,
            "request_sha256": stale.request_sha256,
            "stale_body": _json(stale.body),
            "body": _json(fresh.body),
            "at": fresh.at,
        }
        done = self._transact(_single, read_cypher("take_over_idempotency"), params)
        return int(done["taken"]) == 1

    # -- the sign-in counter: one write query under the account node's write lock --------
    def record_sign_in_failure(
        self, name: str, at: str, limit: int, lock_until: str
    ) -> SignInFailure | None:
        params = {"name": name, "at": at, "limit": limit, "lock_until": lock_until}
        failure: SignInFailure | None = self._transact(_count_sign_in_failure, params)
        return failure

    def record_sign_in_success(self, name: str, at: str) -> bool:
        params = {"name": name, "at": at}
        row = self._transact(_optional, read_cypher("record_sign_in_success"), params)
        return row is not None and bool(row["signed_in"])

    def unlock_account(self, name: str, by: str) -> Account | None:
        account: Account | None = self._transact(_unlock_account, name, by)
        return account

    # -- writes ---------------------------------------------------------------------------
    def apply(self, batch: WriteBatch) -> None:
        if not batch:
            return
        batch.check_audited()
        work = self._plan(batch)
        if batch.answer is not None:
            work.append(
                _Step(read_cypher("complete_idempotency"), _answer_params(batch.answer), _ANSWERED)
            )
        write_id = batch.write_id if batch.writes_content() else None
        audit_rows = pending_entries(batch.audit, utc_now(), write_id)
        created = [w.ref for w in batch.nodes if w.expected == ABSENT]
        try:
            self._transact(_write, work, audit_rows, batch.writes_content())
        except ConstraintError:
            if not created:
                raise
            taken = self._taken(created)
            raise AlreadyExists(taken or {ref: "" for ref in created}) from None

    def _taken(self, refs: Sequence[NodeRef]) -> dict[NodeRef | RelRef, str]:
        by_label: dict[Label, list[str]] = {}
        for ref in refs:
            by_label.setdefault(ref.label, []).append(ref.id)
        taken: dict[NodeRef | RelRef, str] = {}
        for label, ids in by_label.items():
            for node_id, fp in self.fetch_node_fingerprints(label, ids).items():
                taken[NodeRef(label, node_id)] = fp if fp is not None else "?"
        return taken

    def _plan(self, batch: WriteBatch) -> list[_Step]:
        """The batch as statements; pure data, so a retried transaction repeats it."""
        work: list[_Step] = []
        stamp = {WRITE_ID: batch.write_id}
        drops: dict[tuple[str, str, bool], list[str]] = {}
        for d in batch.drops:
            drops.setdefault((d.node.label, d.type, d.outgoing), []).append(d.node.id)
        for (label, rel_type, outgoing), ids in drops.items():
            name = "drop_outgoing" if outgoing else "drop_incoming"
            work.append(_Step(render(name, label=label, type=rel_type), {"ids": ids}))
        # per label and kind of write: create-only, expecting a content, or anything
        nodes: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for w in batch.nodes:
            props = {**w.props, **w.provenance, **stamp, KEY: w.ref.id, FINGERPRINT: w.fingerprint}
            kind = "create" if w.expected == ABSENT else "upsert" if w.expected == ANY else "check"
            row = {"id": w.ref.id, "props": props, "expected": w.expected}
            nodes.setdefault((w.ref.label, kind), []).append(row)
        for (label, kind), rows in nodes.items():
            checked = None
            if kind == "create":
                query = render("create_nodes", label=label)
            elif kind == "upsert":
                query = render("upsert_nodes", label=label)
            else:
                query, checked = render("replace_nodes_expected", label=label), _node_ref(label)
            work.extend(_Step(query, {"rows": part}, checked) for part in _chunks(rows))
        placeholders: dict[str, list[dict[str, Any]]] = {}
        for node, provenance in batch.placeholders().items():
            placeholders.setdefault(node.label, []).append(
                {"id": node.id, "props": {**provenance, **stamp, UNRESOLVED: True}}
            )
        for label, rows in placeholders.items():
            query = render("create_placeholders", label=label)
            work.extend(_Step(query, {"rows": part}) for part in _chunks(rows))
        # per relationship type, its ends' labels and kind of write: with an end created here
        # (so new itself), create-only, or expecting a content or anything
        created = {w.ref for w in batch.nodes if w.expected == ABSENT}
        # (a relationship the batch names twice is written once, as its last write says)
        rels: dict[tuple[str, str, str, str], dict[tuple[str, str, str], dict[str, Any]]] = {}
        for r in batch.rels:
            ref = r.ref
            create = r.expected == ABSENT
            kind = "upsert"
            if create:
                kind = "new_end" if ref.src in created or ref.dst in created else "create"
            row = {
                "src": ref.src.id,
                "dst": ref.dst.id,
                "key": ref.key,
                "props": {
                    **r.props,
                    **r.provenance,
                    **stamp,
                    REL_KEY: ref.key,
                    FINGERPRINT: r.fingerprint,
                },
            }
            if not create:
                row["expected"] = r.expected
            group = rels.setdefault((ref.src.label, ref.type, ref.dst.label, kind), {})
            group[(ref.src.id, ref.dst.id, ref.key)] = row
        for (src, rel_type, dst, kind), by_ref in rels.items():
            rows = list(by_ref.values())
            rel_ref = _rel_ref(src, rel_type, dst)
            if kind == "new_end":
                query = render("create_rels_new_end", src=src, type=rel_type, dst=dst)
                work.extend(_Step(query, {"rows": part}) for part in _chunks(rows))
            elif kind == "create":
                query = render("create_rels", src=src, type=rel_type, dst=dst)
                work.extend(
                    _Step(query, {"rows": part, WRITE_ID: batch.write_id}, rel_ref)
                    for part in _chunks(rows)
                )
            else:
                query = render("upsert_rels", src=src, type=rel_type, dst=dst)
                work.extend(_Step(query, {"rows": part}, rel_ref) for part in _chunks(rows))
        return work

    # -- digests --------------------------------------------------------------------------
    def content_sha256(self) -> str:
        nodes: list[NodeRecord] = []
        rels: list[RelRecord] = []
        with self._session(default_access_mode=neo4j.READ_ACCESS) as session:
            for label in LABELS:
                for r in session.run(render("content_nodes", label=label)):
                    nodes.append((str(label), r["id"], bool(r["unresolved"]), _content(r["props"])))
            for rel_type in REL_TYPES:
                for r in session.run(render("content_rels", type=rel_type)):
                    rels.append(
                        (
                            str(rel_type),
                            _model_label(r["src_labels"]),
                            r["src"],
                            _model_label(r["dst_labels"]),
                            r["dst"],
                            r["key"],
                            _content(r["props"]),
                        )
                    )
        return content_digest(nodes, rels)

    def write_counts(self) -> dict[str | None, tuple[int, int]]:
        rows = self.read(
            read_cypher("write_counts"),
            labels=sorted(_MODEL_LABELS),
            types=sorted(map(str, REL_TYPES)),
        )
        counts: dict[str | None, tuple[int, int]] = {}
        for row in rows:
            nodes, rels = counts.get(row["write_id"], (0, 0))
            counts[row["write_id"]] = (nodes + int(row["nodes"]), rels + int(row["rels"]))
        return counts

    def written_by(self, write_ids: Sequence[str | None], limit: int) -> list[str]:
        rows = self.read(
            read_cypher("written_by"),
            labels=sorted(_MODEL_LABELS),
            types=sorted(map(str, REL_TYPES)),
            ids=["" if w is None else w for w in write_ids],
            limit=limit,
        )
        return [str(r["ref"]) for r in rows]

    def record_ingest(
        self, report: Mapping[str, Any], rejections: Iterable[Mapping[str, Any]]
    ) -> None:
        rows = [{**r, "seq": i} for i, r in enumerate(rejections)]
        params = {
            "id": str(report["ingest_id"]),
            "at": utc_now(),
            "report": json.dumps(dict(report), sort_keys=True),
            "rejections": rows,
        }
        self._transact(_run_all, [(read_cypher("record_ingest"), params)])

    def clear(self) -> None:
        """Delete everything (tests and `--fresh` only)."""
        with self._session() as session:
            session.run(
                "MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS"
            ).consume()

    def close(self) -> None:
        self.driver.close()


def _run_all(tx: Transaction, work: list[tuple[str, dict[str, Any]]]) -> None:
    for query, params in work:
        tx.run(query, params).consume()


def _answer_params(r: IdempotencyRecord) -> dict[str, Any]:
    return {
        "key": r.key,
        "request_sha256": r.request_sha256,
        "status_code": r.status_code,
        "body": _json(r.body),
        "at": r.at,
        "reserved": None if r.reservation is None else _json(reservation_body(r.reservation)),
    }


def _answered(row: list[Any]) -> NodeRef | RelRef:  # pragma: no cover - never called
    raise AssertionError(row)


_ANSWERED = _answered  # marks the step completing an idempotency record


def _run_steps(tx: Transaction, work: list[_Step]) -> None:
    """Run the statements; raise WriteConflict (the driver then rolls back) when a checked
    one found other content than expected."""
    found: dict[NodeRef | RelRef, str] = {}
    for step in work:
        result = tx.run(step.query, step.params)
        if step.ref is None:
            result.consume()
            continue
        if step.ref is _ANSWERED:
            if result.single(strict=True)["completed"] != 1:
                raise RuntimeError(f"Idempotency-Key {step.params['key']!r}: no reservation")
            continue
        for conflict in result.single(strict=True)["conflicts"]:
            found[step.ref(conflict)] = str(conflict[-1])
    if found:
        raise WriteConflict(found)


def _node_ref(label: str) -> Callable[[list[Any]], NodeRef | RelRef]:
    return lambda row: NodeRef(Label(label), row[0])


def _rel_ref(src: str, rel_type: str, dst: str) -> Callable[[list[Any]], NodeRef | RelRef]:
    def ref(row: list[Any]) -> NodeRef | RelRef:
        return RelRef(
            RelType(rel_type), NodeRef(Label(src), row[0]), NodeRef(Label(dst), row[1]), row[2]
        )

    return ref


def _model_label(labels: Sequence[str]) -> str:
    return next(label for label in labels if label in _MODEL_LABELS)


def _write(
    tx: Transaction,
    work: list[_Step],
    audit: list[dict[str, Any]],
    changes_graph: bool = False,
) -> None:
    """The work, then the audit entries linked after the head read under the counter's lock.

    The counter is locked last, so appenders hold it only for the time of two statements;
    a retried transaction reads the head again and links afresh (idempotent). A transaction
    that changes graph content moves the graph version too (read_snapshot compares it).
    """
    _run_steps(tx, work)
    if changes_graph:
        tx.run(read_cypher("bump_graph_version")).consume()
    if not audit:
        return
    row = tx.run(read_cypher("lock_audit_head")).single(strict=True)
    head: Head | None = None
    if row["hash"] is not None:
        head = Head(int(row["seq"]), row["hash"])
    else:  # no head kept (yet): the last entry, if any, is the head
        last = tx.run(read_cypher("last_audit_entry")).single()
        if last is not None:
            if last["hash"] is None:
                raise RuntimeError(
                    "the audit trail has entries from before it was hash-chained; "
                    "open the store (ensure_schema) to chain them first"
                )
            head = Head(int(last["seq"]), last["hash"])
    entries = [dict(e) for e in audit]  # a retry links a fresh copy
    new_head = link(entries, head)
    params = {
        "rows": [_stored_audit(e) for e in entries],
        "refs": _refs(entries),
        "seq": new_head.seq,
        "hash": new_head.hash,
    }
    tx.run(read_cypher("append_audit"), params).consume()


def _adopt_audit(tx: Transaction, params: dict[str, Any]) -> None:
    tx.run(read_cypher("lock_audit_head")).consume()  # the counter, made if missing
    tx.run(read_cypher("append_audit"), params).consume()


def _run_one(tx: Transaction, query: str) -> None:
    tx.run(query).consume()


def _single(tx: Transaction, query: str, params: dict[str, Any]) -> dict[str, Any]:
    """The one record a write query returns, read inside its transaction."""
    record = tx.run(query, params).single(strict=True)
    return record.data()


def _optional(tx: Transaction, query: str, params: dict[str, Any]) -> dict[str, Any] | None:
    """The one record a write query returns, if any, read inside its transaction."""
    record = tx.run(query, params).single()
    return None if record is None else record.data()


def _count_sign_in_failure(tx: Transaction, params: dict[str, Any]) -> SignInFailure | None:
    """The count, then its audit entries in the same transaction (a retry does both again)."""
    row = tx.run(read_cypher("record_sign_in_failure"), params).single()
    if row is None:
        return None
    counted = bool(row["counted"])
    locked_until = row["locked_until"]
    failure = SignInFailure(
        int(row["failures"]),
        locked_until,
        counted=counted,
        locked_now=counted and locked_until is not None,
    )
    entries = failure_audit(params["name"], failure, params["limit"])
    _write(tx, [], pending_entries(entries, utc_now()))
    return failure


def _unlock_account(tx: Transaction, name: str, by: str) -> Account | None:
    row = tx.run(read_cypher("unlock_account"), {"name": name}).single()
    if row is None:
        return None
    audit = unlock_audit(name, by, int(row["failures"]), row["locked_until"])
    _write(tx, [], pending_entries([audit], utc_now()))
    return _account(row["account"])


def _end_session(tx: Transaction, id_sha256: str, at: str, audit: AuditEntry) -> bool:
    """Set ``ended_at`` once (under the node's write lock), then its audit entry."""
    row = tx.run(read_cypher("end_session"), {"id_sha256": id_sha256, "at": at}).single()
    if row is None:
        return False
    _write(tx, [], pending_entries([audit], utc_now()))
    return True
