"""The store interface both stores implement, and the write records that cross it."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from hashlib import blake2b
from typing import Any, Final, NamedTuple, Protocol, TypeVar
from uuid import uuid4

import orjson

from graph.audit_chain import Head
from graph.genealogy import Genealogy
from graph.model import Label, RelType
from graph.records import Account, BrowserSession, IdempotencyRecord, SignInFailure

Props = dict[str, Any]
T = TypeVar("T")


def format_utc(moment: datetime) -> str:
    """The one text form of a moment in the graph: UTC, milliseconds, ``Z``."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def utc_now() -> str:
    return format_utc(datetime.now(UTC))


class NodeRef(NamedTuple):
    """Identity of one node. (A tuple: hashed and compared in C, millions of times an ingest.)"""

    label: Label
    id: str


class RelRef(NamedTuple):
    """Identity of one relationship: its type, its two ends and a key for parallel ones."""

    type: RelType
    src: NodeRef
    dst: NodeRef
    key: str = ""


def fingerprint(props: Props) -> str:
    """The hash both stores keep beside a content, computed once, by the writer."""
    return blake2b(orjson.dumps(props, option=orjson.OPT_SORT_KEYS), digest_size=16).hexdigest()


# What a write expects to find stored under its key, checked by the store inside the
# write's transaction: the batch is refused (WriteConflict, nothing written) when any
# expectation fails. A content fingerprint is also an expectation: "exactly this content".
ANY: Final = "*"
"""No expectation: create or replace."""
ABSENT: Final = ""
"""Create-only: nothing may be stored under the key (SQLite INSERT, Neo4j CREATE)."""
PLACEHOLDER: Final = "?"
"""Only a placeholder (``unresolved``) may be stored under the key."""


@dataclass(slots=True)
class NodeWrite:
    """Set a node's whole content (replacing the old) and clear any placeholder mark.

    ``expected`` is what must be stored under the key when the transaction writes it:
    ``ANY``, ``ABSENT`` (create-only), ``PLACEHOLDER`` or the old content's fingerprint.
    """

    ref: NodeRef
    props: Props
    provenance: Props
    fingerprint: str
    expected: str = ANY


@dataclass(slots=True)
class RelWrite:
    """Create or replace a relationship; missing ends become placeholders.

    ``expected``: ``ANY``, ``ABSENT`` (create-only) or the old content's fingerprint.
    """

    ref: RelRef
    props: Props
    provenance: Props
    fingerprint: str
    expected: str = ANY


class WriteConflict(Exception):
    """A batch was refused because what is stored is not what a write expected.

    Nothing of the batch was written. ``found`` maps each key that differed to what is
    stored under it (``ABSENT``, ``PLACEHOLDER`` or a fingerprint).
    """

    def __init__(self, found: Mapping[NodeRef | RelRef, str]) -> None:
        self.found = dict(found)
        first = next(iter(self.found), None)
        super().__init__(
            f"{len(self.found)} write(s) found other content than expected"
            + (f", first {first}" if first is not None else "")
        )

    def __reduce__(self) -> tuple[Any, ...]:  # raised in an ingest's child process too
        return (type(self), (self.found,))


class AlreadyExists(WriteConflict):
    """A create-only write found its key taken (by a committed or a concurrent write)."""


class StoreUnavailable(Exception):
    """The store cannot answer now (server down, connection lost, file unreadable).

    Raised only for a loss of the store itself, never for a bad question or a bug: the
    caller may try the same request again later (the API answers 503 with Retry-After).
    """

    def __init__(self, kind: str, reason: str, retry_after_s: int = 5) -> None:
        super().__init__(f"the {kind} store is unavailable: {reason}")
        self.kind = kind
        self.reason = reason
        self.retry_after_s = retry_after_s

    def __reduce__(self) -> tuple[Any, ...]:  # raised in an ingest's child process too
        return (type(self), (self.kind, self.reason, self.retry_after_s))


@dataclass(frozen=True, slots=True)
class RelDrop:
    """Remove every relationship of a type attached to a node on one side (outgoing or not)."""

    node: NodeRef
    type: RelType
    outgoing: bool


@dataclass(slots=True)
class AuditEntry:
    actor: str
    action: str
    entity: str
    key: str
    old: Props | None
    new: Props | None
    reason: str
    source: str


# The classes of audit entries (``AuditQuery.entry_class``), each a set of actions, so
# that a store filters a class by the entry's hashed ``action``: the access audit's reads
# (a GET, or a question posted as a body), sign-ins and their refusals (the access record
# of ``POST /auth/token`` and the sign-in counter's entries), and every other action, a
# write (ingest, document, signature, hold and account changes, a write request's access
# record, refused or not).
READ_ACTIONS: Final = ("read",)
SIGN_IN_ACTIONS: Final = ("sign_in", "sign_in_refused", "sign_in_failed", "account_locked")
AUDIT_CLASSES: Final = ("read", "write", "sign_in")


def audit_class(action: str) -> str:
    """The class (``AUDIT_CLASSES``) of an entry's action."""
    if action in READ_ACTIONS:
        return "read"
    if action in SIGN_IN_ACTIONS:
        return "sign_in"
    return "write"


@dataclass(frozen=True, slots=True)
class AuditQuery:
    """Which audit entries to read (``GraphStore.audit_page``); None: no condition.

    ``key`` matches an entry keyed exactly by it, or whose comma-separated key lists it;
    ``since`` and ``until`` bound ``at`` (``format_utc`` text): ``since <= at < until``.
    """

    actor: str | None = None
    key: str | None = None
    action: str | None = None
    entry_class: str | None = None
    since: str | None = None
    until: str | None = None

    def __post_init__(self) -> None:
        if self.entry_class is not None and self.entry_class not in AUDIT_CLASSES:
            raise ValueError(
                f"entry_class must be one of {AUDIT_CLASSES}, not {self.entry_class!r}"
            )

    def class_actions(self) -> tuple[tuple[str, ...] | None, tuple[str, ...] | None]:
        """(actions an entry must have, actions it must not have) for ``entry_class``."""
        if self.entry_class == "read":
            return READ_ACTIONS, None
        if self.entry_class == "sign_in":
            return SIGN_IN_ACTIONS, None
        if self.entry_class == "write":
            return None, READ_ACTIONS + SIGN_IN_ACTIONS
        return None, None


WRITE_ID: Final = "write_id"
"""The provenance property naming the write (and so the audit entries) that stored a row."""


def new_write_id() -> str:
    return uuid4().hex


@dataclass(slots=True)
class WriteBatch:
    """One transaction's worth of writes, applied atomically in this order.

    Every node, relationship and placeholder the batch stores is stamped with its
    ``write_id``, and so is each of its audit entries: ``lotgraph audit verify`` finds
    every stored row's write in the hash chain (coverage). A batch that stores graph
    content must carry at least one audit entry; the stores refuse one that does not.
    """

    drops: list[RelDrop] = field(default_factory=list)
    nodes: list[NodeWrite] = field(default_factory=list)
    rels: list[RelWrite] = field(default_factory=list)
    audit: list[AuditEntry] = field(default_factory=list)
    write_id: str = field(default_factory=new_write_id)
    # the answer of the request this batch carries out, completing the idempotency record
    # the request reserved (only while it is still a reservation), in the same transaction
    answer: IdempotencyRecord | None = None

    def __bool__(self) -> bool:
        return bool(self.drops or self.nodes or self.rels or self.audit or self.answer)

    def writes_content(self) -> bool:
        return bool(self.drops or self.nodes or self.rels)

    def check_audited(self) -> None:
        """Refuse (a bug, not bad input) graph content that no audit entry would cover."""
        if self.writes_content() and not self.audit:
            raise ValueError("a write batch that stores graph content needs an audit entry")

    def placeholders(self) -> dict[NodeRef, Props]:
        """Each relationship end the batch does not write itself, with the provenance of
        the first write naming it.

        A store creates a placeholder for an end only where no node exists yet.
        """
        written = {w.ref for w in self.nodes}
        ends: dict[NodeRef, Props] = {}
        for r in self.rels:
            src, dst = r.ref.src, r.ref.dst
            if src not in written:
                ends.setdefault(src, r.provenance)
            if dst not in written:
                ends.setdefault(dst, r.provenance)
        return ends


class ResultRow(NamedTuple):
    """One test result of an analyte on a lot or batch, with what the investigations of
    that analyte read beside it (``GraphStore.analyte_rows``)."""

    id: str
    target_label: str  # "Lot" or "Batch": what the result's TESTED relationship points to
    target_id: str
    target_site: str | None
    product: str | None  # a batch's product_material_id, a lot's material_id
    value: float | None
    lower_limit: float | None
    upper_limit: float | None
    unit: str | None
    method: str | None
    tested_at: str | None
    makers: tuple[tuple[str, str | None], ...]  # (id, site) of the batches that made a lot


@dataclass(frozen=True, slots=True)
class AnalyteRows:
    """Every result of one analyte on a lot or batch, as columns (``GraphStore.analyte_rows``):
    hundreds of thousands of rows on a large plant, handled column by column."""

    id: list[str]
    target_label: list[str]
    target_id: list[str]
    target_site: list[str | None]
    product: list[str | None]
    value: list[float | None]
    lower_limit: list[float | None]
    upper_limit: list[float | None]
    unit: list[str | None]
    method: list[str | None]
    tested_at: list[str | None]
    makers: list[tuple[tuple[str, str | None], ...]]

    def __len__(self) -> int:
        return len(self.id)

    def row(self, i: int) -> ResultRow:
        return ResultRow(*(getattr(self, name)[i] for name in ResultRow._fields))

    @classmethod
    def from_tuples(
        cls,
        rows: Sequence[Sequence[Any]],
        makers: Callable[[Any], tuple[tuple[str, str | None], ...]],
    ) -> AnalyteRows:
        """Columns from row tuples in ``ResultRow`` order, numbers as floats and each row's
        makers read by ``makers`` (how a store returns them)."""
        if not rows:
            return cls.from_rows(())
        ids, labels, targets, sites, products, values, lowers, uppers, units, methods, at, found = (
            list(column) for column in zip(*rows, strict=True)
        )
        return cls(
            ids,
            labels,
            targets,
            sites,
            products,
            _floats(values),
            _floats(lowers),
            _floats(uppers),
            units,
            methods,
            at,
            [makers(m) for m in found],
        )

    @classmethod
    def from_rows(cls, rows: Iterable[ResultRow]) -> AnalyteRows:
        listed = list(rows)
        return cls(*([getattr(r, name) for r in listed] for name in ResultRow._fields))


def _floats(values: list[Any]) -> list[float | None]:
    return [None if v is None else float(v) for v in values]


@dataclass(slots=True)
class StoredNode:
    props: Props
    unresolved: bool


class Hop(NamedTuple):
    """One step of a path shape (``GraphStore.paths``): a relationship type, its direction
    from the node reached so far, and the label of the node it leads to."""

    rel_type: RelType
    outgoing: bool
    label: Label


Shape = tuple[Hop, ...]
"""A path shape: hops from a start node; ``()`` is the start node alone."""


@dataclass(slots=True)
class FoundPaths:
    """What ``GraphStore.paths`` found."""

    # (index of the shape followed, node ids from the start), sorted, each once
    paths: list[tuple[int, tuple[str, ...]]]
    # the content of every node on the paths after their start, and of the start nodes
    # found by the shape ``()`` (when asked for)
    nodes: dict[Label, dict[str, StoredNode]]

    def of_shape(self, index: int) -> list[tuple[str, ...]]:
        return [ids for shape, ids in self.paths if shape == index]


TraceEdge = tuple[str, str, str]
"""(source id, relationship type, target id) of a trace"""
TraceSites = dict[tuple[str, str], str | None]
"""(label, id) of each lot and batch of a trace -> its site"""
LinkKey = tuple[RelType, Label, Label]
"""(relationship type, source label, target label)"""
Link = tuple[str, str, Props]
"""(source id, target id, relationship content)"""


@dataclass(slots=True)
class RecallFacts:
    """What a recall reads around its scope (``GraphStore.recall_facts``)."""

    consumed: list[tuple[str, str, Any]]  # lot, batch, quantity
    shipped: list[tuple[str, str, str | None, Any]]  # lot, shipment, customer, quantity
    deviations: list[tuple[str, str, str]]  # deviation, target label, target id
    documents: list[tuple[str, str, str]]  # document, target label, target id
    holds: list[tuple[str, str]]  # hold, lot


@dataclass(slots=True)
class RecallView:
    """Everything a recall reads (``GraphStore.recall_view``), from one state of the graph."""

    # the roots that exist and every lot their forward traces reach, with their content
    lots: dict[str, StoredNode]
    # every batch those traces reach (the lots went into), with its content
    batches: dict[str, StoredNode]
    # around those lots and batches
    facts: RecallFacts
    # the content of the holds, customers, deviations and documents ``facts`` names
    named: dict[Label, dict[str, StoredNode]]


def compose_recall_view(store: GraphStore, lot_ids: Sequence[str]) -> RecallView:
    """``recall_view`` made of the store's primitives (a store whose reads are in-process
    calls: each step is cheap), run in one read snapshot by the caller."""
    roots = sorted(set(lot_ids))
    edges, _ = store.trace_reach(roots, True, with_sites=False)
    lot_ids_in_scope = sorted(set(roots) | {b for _, t, b in edges if t == RelType.PRODUCED})
    batch_ids = sorted({b for _, t, b in edges if t == RelType.CONSUMED_IN})
    lots = store.fetch_nodes(Label.LOT, lot_ids_in_scope)
    facts = store.recall_facts(sorted(lots), batch_ids)
    wanted = {
        Label.HOLD: {h for h, _ in facts.holds},
        Label.CUSTOMER: {c for _, _, c, _ in facts.shipped if c is not None},
        Label.DEVIATION: {d for d, _, _ in facts.deviations},
        Label.DOCUMENT: {d for d, _, _ in facts.documents},
    }
    return RecallView(
        lots=lots,
        batches=store.fetch_nodes(Label.BATCH, batch_ids),
        facts=facts,
        named={label: store.fetch_nodes(label, sorted(ids)) for label, ids in wanted.items()},
    )


@dataclass(slots=True)
class GraphStats:
    nodes: dict[str, int]
    relationships: dict[str, int]
    unresolved: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "nodes": self.nodes,
            "relationships": self.relationships,
            "unresolved": self.unresolved,
        }


class GraphStore(Protocol):
    """What ingest and the investigations need from a store."""

    kind: str

    def ensure_schema(self) -> None: ...

    def check(self) -> None:
        """Raise StoreUnavailable unless the store answers a trivial read now."""
        ...

    def opener(self) -> Callable[[], GraphStore]:
        """A picklable function opening another handle on this same store, for another
        process (an API ingest's child process); its schema is already ensured."""
        ...

    def read_snapshot(self, work: Callable[[], T]) -> T:
        """Run ``work``, a function of reads only, so that all its reads see one state.

        The reads ``work`` makes through this store on this thread see the graph as one
        committed state: no write that commits meanwhile shows in some reads and not in
        others. Nested calls join the outer snapshot. Embedded: one SQLite read transaction;
        Neo4j: ``work`` is run again (a bounded number of times) when the graph's version
        moved while it ran (docs/ARCHITECTURE.md).
        """
        ...

    def fetch_nodes(self, label: Label, ids: Sequence[str]) -> dict[str, StoredNode]:
        """Content (without key and provenance) of the nodes that exist among ids."""
        ...

    def fetch_node_fingerprints(self, label: Label, ids: Sequence[str]) -> dict[str, str | None]:
        """Content fingerprints of the nodes that exist among ids; None for a placeholder."""
        ...

    def genealogy(self) -> Genealogy:
        """The whole lot genealogy as numbered arrays (graph/genealogy.py), read in one go
        and reused while the graph version is unchanged."""
        ...

    def analyte_rows(self, analyte: str) -> AnalyteRows:
        """Every result of ``analyte`` on a lot or batch, in no particular order."""
        ...

    def fetch_lot_units(self, ids: Sequence[str]) -> dict[str, str]:
        """The unit of each known lot among ids."""
        ...

    def fetch_rels(self, refs: Sequence[RelRef]) -> dict[RelRef, Props]:
        """Content (without key and provenance) of the relationships that exist among refs."""
        ...

    def fetch_rel_fingerprints(self, refs: Sequence[RelRef]) -> dict[RelRef, str]:
        """Content fingerprints of the relationships that exist among refs."""
        ...

    def node_ids(self, label: Label) -> list[str]:
        """Every id of ``label`` (placeholders too), sorted."""
        ...

    def linked(
        self, label: Label, ids: Sequence[str], rel_type: RelType, outgoing: bool
    ) -> list[tuple[str, str, str]]:
        """(source id, target id, the other end's label) of each ``rel_type`` relationship
        at the ``label`` nodes among ``ids``: they are the sources when ``outgoing``, else
        the targets. Sorted, each once, whatever the label at the other end."""
        ...

    def linked_rels(
        self, label: Label, ids: Sequence[str], rel_type: RelType, outgoing: bool
    ) -> list[tuple[RelRef, Props]]:
        """Each ``rel_type`` relationship at the ``label`` nodes among ``ids`` (the sources
        when ``outgoing``, else the targets) with its content (without key and provenance):
        what ``linked`` reads, one entry per relationship, parallel ones apart. Sorted by
        reference."""
        ...

    def paths(
        self, label: Label, ids: Sequence[str], shapes: Sequence[Shape], with_nodes: bool = False
    ) -> FoundPaths:
        """Every path from the ``label`` nodes among ``ids`` that follows one of ``shapes``
        (each hop's label pinned), read in one go (Neo4j: one query per chunk of ids); with
        ``with_nodes``, the content of the nodes on them too."""
        ...

    def trace_reach(
        self, lot_ids: Sequence[str], forward: bool, with_sites: bool = True
    ) -> tuple[set[TraceEdge], TraceSites]:
        """The edges of the traces of ``lot_ids`` together (queries/trace.py), each node
        visited once: forward, CONSUMED_IN and PRODUCED from the lots onward with the
        shipments and customers of every lot reached; backward, CONSUMED_IN and PRODUCED
        towards the lots with their suppliers. With ``with_sites``, the site of each lot
        and batch reached (the roots included, when they exist). From one state of the
        graph without an enclosing ``read_snapshot``: one read transaction (embedded) or
        one query reading the graph version first and last, run again when it moved
        (Neo4j)."""
        ...

    def recall_facts(self, lot_ids: Sequence[str], batch_ids: Sequence[str]) -> RecallFacts:
        """Around the lots and batches of a recall scope (queries/recall.py): each
        CONSUMED_IN from the lots with its quantity, each SHIPPED_IN with its quantity and
        the shipment's customer, the deviations affecting and documents concerning the lots
        and batches, and the holds on the lots. One query on Neo4j."""
        ...

    def recall_view(self, lot_ids: Sequence[str]) -> RecallView:
        """What a recall of ``lot_ids`` reads (queries/recall.py), from one state of the
        graph without an enclosing ``read_snapshot``: the roots that exist, the lots and
        batches their forward traces reach with their content, ``recall_facts`` around
        them, and the content of the holds, customers, deviations and documents those
        name. Neo4j: one query (the graph version read first and last in it, the query run
        again when it moved); embedded: ``compose_recall_view`` in one read transaction."""
        ...

    def custody_links(self, batch_id: str) -> list[tuple[LinkKey, Link]]:
        """Every relationship the chain of custody of a batch is built from
        (queries/custody.py), each keyed by its type and end labels: the batch's input and
        output lots, where they moved, their holds, the documents of its inputs, QC results
        on it and its lots with their reports, the deviations affecting it, the documents
        concerning it or them with versions, signatures and signers, and the shipments of
        its outputs with their customers. One query on Neo4j; duplicates possible."""
        ...

    def apply(self, batch: WriteBatch) -> None:
        """Apply one batch in one transaction: all of it or none of it."""
        ...

    def record_ingest(
        self, report: Mapping[str, Any], rejections: Iterable[Mapping[str, Any]]
    ) -> None: ...

    def stats(self) -> GraphStats: ...

    def content_sha256(self) -> str:
        """SHA-256 over every node's and relationship's key and content, in a fixed order.

        Provenance and fingerprints are not content: two stores holding the same graph
        give the same digest, whichever store, order or number of writes built it
        (graph/digest.py).
        """
        ...

    def write_counts(self) -> dict[str | None, tuple[int, int]]:
        """Stored (nodes, relationships) per ``write_id`` they carry (None: none)."""
        ...

    def written_by(self, write_ids: Sequence[str | None], limit: int) -> list[str]:
        """Up to ``limit`` stored rows stamped with one of ``write_ids``, as readable refs."""
        ...

    def unresolved_count(self) -> int:
        """How many placeholders wait for their entity (cheap: an index count)."""
        ...

    def audit_entries(self, after: int = 0, limit: int | None = None) -> list[dict[str, Any]]:
        """Audit entries with ``seq > after`` in seq order, at most ``limit`` of them.

        Each: seq, at, actor, action, entity, key, old, new, reason, source, and the hash
        chain's prev_hash and hash (graph/audit_chain.py).
        """
        ...

    def audit_page(self, query: AuditQuery, after: int, limit: int) -> list[dict[str, Any]]:
        """The entries ``query`` selects with ``seq > after``, in seq order, at most ``limit``.

        Filtered by the store (parameters in SQL/Cypher), never by reading the trail here;
        each entry as ``audit_entries`` gives it.
        """
        ...

    def audit_trail(self, page_size: int = 10_000) -> Iterator[dict[str, Any]]:
        """The whole audit trail in seq order, read ``page_size`` entries at a time."""
        ...

    def audit_head(self) -> Head | None:
        """The seq and hash of the last entry, as recorded beside the trail when appending.

        None when the store has never appended an entry (or the record was removed).
        """
        ...

    def audit_for_keys(self, keys: Sequence[str], limit: int | None = None) -> list[dict[str, Any]]:
        """Audit entries about any of ``keys``, in seq order, at most ``limit`` of them.

        An entry matches when its ``key`` is one of them exactly, or when its key lists
        several ids separated by commas (the access audit of a request about several lots)
        and one of those is. Index-backed in both stores.
        """
        ...

    def rejections_page(self, after: tuple[str, int] | None, limit: int) -> list[dict[str, Any]]:
        """Dead-letter rows of every ingest in (ingest_id, seq) order, strictly after ``after``.

        Each row: ingest_id, seq, file, row, column, reason.
        """
        ...

    # -- service records (graph/records.py) ------------------------------------------------
    def save_account(self, account: Account, audit: AuditEntry | None) -> None:
        """Insert or replace the account by name, with its audit entry in the same transaction.

        Raises KeyIdInUse (and writes nothing) when another account holds ``account.key_id``.
        """
        ...

    def get_account(self, name: str) -> Account | None: ...

    def find_account_by_key_id(self, key_id: str) -> Account | None: ...

    def list_accounts(self) -> list[Account]:
        """Every account, sorted by name."""
        ...

    def record_sign_in_failure(
        self, name: str, at: str, limit: int, lock_until: str
    ) -> SignInFailure | None:
        """Count one wrong password of the password account ``name`` at the moment ``at``.

        One atomic step in the store (never read-modify-write by the caller): unless the
        account is locked at ``at``, its count goes up by one (starting again from one
        after an expired lock) and, when it reaches ``limit``, the account is locked until
        ``lock_until``. The failure and any lock it sets are audit entries in the same
        transaction (graph/sign_in.py); an attempt on a locked account counts nothing.
        None when there is no such password account.
        """
        ...

    def record_sign_in_success(self, name: str, at: str) -> bool:
        """A right password at ``at``: False when the account is locked then (the sign-in
        is refused); otherwise its failure count is cleared, atomically, and True."""
        ...

    def unlock_account(self, name: str, by: str) -> Account | None:
        """Clear the lock and the failure count, audited as ``by``'s ``account_unlocked``
        in the same transaction; the account after, or None when there is none."""
        ...

    def create_session(self, session: BrowserSession, audit: AuditEntry) -> None:
        """Store a new dashboard session with its audit entry, in one transaction.

        Create-only: a second create of the same ``id_sha256`` raises SessionExists and
        writes nothing.
        """
        ...

    def get_session(self, id_sha256: str) -> BrowserSession | None: ...

    def end_session(self, id_sha256: str, at: str, audit: AuditEntry) -> bool:
        """Set ``ended_at`` of a session that has not ended, with ``audit`` in the same
        transaction; False (and nothing written) when there is no such session or it has
        ended already."""
        ...

    def fetch_idempotency(self, key: str) -> IdempotencyRecord | None: ...

    def save_idempotency(self, record: IdempotencyRecord) -> IdempotencyRecord:
        """Keep the first record saved under a key; return the one stored under it.

        Create-only: of concurrent saves under one key, exactly one is stored, so saving a
        reservation (``status_code`` 0) before the work claims the key atomically.
        """
        ...

    def complete_idempotency(self, record: IdempotencyRecord) -> bool:
        """Replace a reservation under ``record.key`` by the answer, in a transaction of
        its own (``WriteBatch.answer`` does it in the work's); False when no reservation
        (status 0) of ``record.request_sha256`` is stored under the key, or when
        ``record.reservation`` is set and the reservation stored is not that one."""
        ...

    def take_over_idempotency(self, stale: IdempotencyRecord, fresh: IdempotencyRecord) -> bool:
        """Replace the reservation ``stale`` (as it was read) by ``fresh``, atomically;
        False when it is no longer stored as read (completed, or taken over by another)."""
        ...

    def close(self) -> None: ...
