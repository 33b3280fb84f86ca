"""Ingest a canonical bundle into a store, accounting for every row.

For every file: ``rows_read = accepted + unchanged + rejected``. A row is *accepted* when
it creates, fills in (a placeholder) or changes something; *unchanged* when everything it
says is already stored; *rejected* when it fails validation, with each reason in the
dead-letter record. Every change to existing content is an audit entry with old and new.
"""

from __future__ import annotations

import gc
import hashlib
import secrets
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any

import orjson
from pydantic import ValidationError

from graph.model import Label, RelType
from graph.store import (
    ABSENT,
    ANY,
    PLACEHOLDER,
    AuditEntry,
    GraphStore,
    NodeRef,
    NodeWrite,
    Props,
    RelDrop,
    RelRef,
    RelWrite,
    StoredNode,
    WriteBatch,
    WriteConflict,
    fingerprint,
    utc_now,
)
from ingest.bundle import (
    Bundle,
    BundleError,
    BundleLimits,
    BundleSource,
    BundleTooLarge,
    Chunk,
    FileScan,
    RecordsBundle,
)
from ingest.mapping import FILES, FILES_BY_NAME, FileSpec, Lookup, RowPlan, RowRejected
from ingest.rows import validate_columns

DEFAULT_CHUNK_ROWS = 20_000


@dataclass(slots=True)
class Rejection:
    file: str
    row: int
    column: str
    reason: str


@dataclass(slots=True)
class FileCounts:
    rows_read: int = 0
    accepted: int = 0
    unchanged: int = 0
    rejected: int = 0
    updated: int = 0  # accepted rows that changed stored content (each an audit entry)

    @property
    def accounted(self) -> int:
        return self.accepted + self.unchanged + self.rejected


@dataclass(slots=True)
class IngestReport:
    ingest_id: str
    source: str
    bundle: str
    started_at: str
    files: dict[str, FileCounts] = field(default_factory=dict)
    rejections: list[Rejection] = field(default_factory=list)
    unresolved: int = 0
    # What a front end adds about its own input (ingest.epcis: its events), reported as is.
    events: dict[str, Any] | None = None
    # The rows each file's ingest accepted (as the report numbers them), when asked for with
    # ``track_rows``: a front end that maps its input to rows tells from them what each
    # input item came to. Not part of the report.
    accepted_rows: dict[str, set[int]] = field(default_factory=dict, repr=False)

    def total(self, name: str) -> int:
        return sum(getattr(c, name) for c in self.files.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "ingest_id": self.ingest_id,
            "source": self.source,
            "bundle": self.bundle,
            "started_at": self.started_at,
            "rows_read": self.total("rows_read"),
            "accepted": self.total("accepted"),
            "unchanged": self.total("unchanged"),
            "rejected": self.total("rejected"),
            "updated": self.total("updated"),
            "unresolved": self.unresolved,
            "files": {name: asdict(c) for name, c in sorted(self.files.items())},
            "rejections": [asdict(r) for r in self.rejections],
        } | ({"events": self.events} if self.events is not None else {})


ProgressCallback = Callable[[int], None]


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector for the length of one ingest.

    An ingest allocates millions of short-lived, acyclic objects (rows, plans, dicts) that
    reference counting frees; the collector would scan every live one again and again, which
    measured 2-3x slower here and worse as the bundle grows. Cycles made meanwhile are
    collected once it runs again. The pause is the whole process's, so only a process that
    does nothing else pauses (the CLI); a server's ingest runs beside its other requests.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def ingest_bundle(
    store: GraphStore,
    path: Path,
    *,
    actor: str,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    on_scanned: Callable[[int], None] | None = None,
    progress: ProgressCallback | None = None,
    label: str | None = None,
    file_names: Mapping[str, str] | None = None,
    first_row: int = 2,
    limits: BundleLimits | None = None,
    pause_gc: bool = False,
    track_rows: bool = False,
    finish: Callable[[IngestReport], None] | None = None,
) -> IngestReport:
    """Load one bundle; raises BundleError (nothing written) when it cannot be read at all.

    Every file is parsed in full and structurally checked before the first write: a
    BundleError lists every fault (file, line, reason), a BundleTooLarge names the limit
    of ``limits`` it passed. Row-level faults are rejections in the report, as ever.

    How the report, the dead letter, the audit entry and provenance name where rows came
    from is the CLI's by default: ``label`` (the report's ``bundle``) is the path, each file
    is named as in the bundle, and ``first_row`` (a file's first record) is 2, the header
    being row 1. A front end that renders its own input as a bundle (``ingest.events``)
    passes its own names: ``file_names`` maps a bundle file to the name to report instead.
    ``pause_gc`` pauses the process's cyclic garbage collector meanwhile (faster), for a
    process that runs nothing else: never in a server. ``track_rows`` fills the report's
    ``accepted_rows``; ``finish`` may complete the report (add rejections of the front end's
    own, an ``events`` block) after the last write and before the ingest record and dead
    letter are stored.
    """
    with cyclic_gc_paused() if pause_gc else nullcontext():
        return _ingest_bundle(
            store,
            path,
            actor,
            chunk_rows,
            on_scanned,
            progress,
            label,
            file_names,
            first_row,
            limits,
            track_rows,
            finish,
        )


def _ingest_bundle(
    store: GraphStore,
    path: Path,
    actor: str,
    chunk_rows: int,
    on_scanned: Callable[[int], None] | None,
    progress: ProgressCallback | None,
    label: str | None,
    file_names: Mapping[str, str] | None,
    first_row: int,
    limits: BundleLimits | None,
    track_rows: bool = False,
    finish: Callable[[IngestReport], None] | None = None,
) -> IngestReport:
    names = dict(file_names or {})
    try:
        bundle = Bundle(path, FILES_BY_NAME, limits)
    except BundleError as exc:
        raise exc.renamed(names) from None
    try:
        return _ingest_source(
            store,
            bundle,
            actor,
            chunk_rows,
            on_scanned,
            progress,
            str(path) if label is None else label,
            names,
            first_row,
            track_rows,
            finish,
        )
    finally:
        bundle.close()


def ingest_records(
    store: GraphStore,
    bundle: RecordsBundle,
    *,
    actor: str,
    label: str,
    file_names: Mapping[str, str] | None = None,
    first_row: int = 2,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    track_rows: bool = False,
    finish: Callable[[IngestReport], None] | None = None,
    checked: Mapping[str, CheckedRows] | None = None,
) -> IngestReport:
    """Load records held in memory as :func:`ingest_bundle` loads the CSV files they render
    to (``ingest.events``): the same accounting, rejections, dead letter, audit entries,
    provenance and placeholders, without writing and reading the files.

    ``checked`` holds, by bundle file, what :func:`check_rows` made of that file's records
    (named as the report names the file, numbered from ``first_row``, in chunks of
    ``chunk_rows``, with the bundle's timezone): those rows are loaded as checked, without
    validating and planning them again (a front end that checked them before, like
    ingest.epcis, pays for it once).
    """
    try:
        return _ingest_source(
            store,
            bundle,
            actor,
            chunk_rows,
            None,
            None,
            label,
            dict(file_names or {}),
            first_row,
            track_rows,
            finish,
            checked,
        )
    finally:
        bundle.close()


def _ingest_source(
    store: GraphStore,
    bundle: BundleSource,
    actor: str,
    chunk_rows: int,
    on_scanned: Callable[[int], None] | None,
    progress: ProgressCallback | None,
    label: str,
    names: Mapping[str, str],
    first_row: int,
    track_rows: bool,
    finish: Callable[[IngestReport], None] | None,
    checked: Mapping[str, CheckedRows] | None = None,
) -> IngestReport:
    try:
        scans = bundle.check()
    except BundleError as exc:
        raise exc.renamed(names) from None
    for file, rows in (checked or {}).items():
        if file not in scans or sum(c.rows for c in rows.chunks) != scans[file].records:
            raise ValueError(f"{file}: other rows were checked than the bundle holds")
    if on_scanned is not None:
        on_scanned(sum(s.records for s in scans.values()))
    report = IngestReport(
        ingest_id=f"ING-{datetime.now(UTC):%Y%m%dT%H%M%S}-{secrets.token_hex(4)}",
        source=bundle.meta.source,
        bundle=label,
        started_at=utc_now(),
    )
    run = _Run(store, bundle, report, actor, names, first_row, track_rows, checked)
    try:
        for spec in FILES:
            if spec.name in scans:
                run.file(spec, scans[spec.name], chunk_rows, progress)
    finally:
        run.close()
    report.unresolved = store.unresolved_count()
    if finish is not None:
        finish(report)
    summary = AuditEntry(
        actor=actor,
        action="ingest",
        entity="Bundle",
        key=report.ingest_id,
        old=None,
        new={
            "bundle": report.bundle,
            "files": {
                names.get(n, n): {"sha256": s.sha256, "rows": s.records}
                for n, s in sorted(scans.items())
            },
            "accepted": report.total("accepted"),
            "unchanged": report.total("unchanged"),
            "rejected": report.total("rejected"),
            "rows_sha256": run.rows_sha256.hexdigest(),
        },
        reason="bundle ingest",
        source=report.source,
    )
    store.apply(WriteBatch(audit=[summary]))
    store.record_ingest(
        {k: v for k, v in report.as_dict().items() if k != "rejections"},
        [asdict(r) for r in report.rejections],
    )
    return report


_CONFLICT_RETRIES = 5
_EMPTY_FINGERPRINT = fingerprint({})


class RowsKeptChanging(RuntimeError):
    """Other writers changed a chunk's rows under every attempt to write it. The chunks
    written before stay (each audited); the same ingest again completes the rest."""


@dataclass(slots=True)
class _ChunkTally:
    """What one written chunk's rows came to (added to the file's counts once written)."""

    accepted: int = 0
    unchanged: int = 0
    updated: int = 0
    lines: bytes = b""  # the accepted rows as rows_sha256 covers them
    counts: FileCounts | None = None
    accepted_rows: list[int] = field(default_factory=list)  # only when rows are tracked


class _Run:
    def __init__(
        self,
        store: GraphStore,
        bundle: BundleSource,
        report: IngestReport,
        actor: str,
        names: Mapping[str, str],
        first_row: int,
        track_rows: bool = False,
        checked: Mapping[str, CheckedRows] | None = None,
    ) -> None:
        self.store = store
        self.checked = dict(checked or {})
        self.track_rows = track_rows
        self.bundle = bundle
        self.report = report
        self.actor = actor
        self.names = names
        self.row_shift = first_row - 2  # Bundle.chunks numbers a file's first record 2
        self.context = {"timezone": bundle.meta.timezone}
        # The ingest's audit summary covers the rows it wrote (creations have no entry of
        # their own): SHA-256 over each accepted row, in the order written (see
        # _row_line), so the summary entry in the hash chain binds them.
        self.rows_sha256 = hashlib.sha256()
        # One write in flight: while the store applies chunk N (SQLite and the Neo4j driver
        # release the GIL), the next chunk is validated. Every store read waits for it first.
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lotgraph-ingest")
        self._pending: Future[_ChunkTally] | None = None

    def settle(self) -> None:
        """Wait for the write in flight and count its rows; its failure is raised here."""
        if self._pending is not None:
            pending, self._pending = self._pending, None
            tally = pending.result()
            counts = tally.counts
            assert counts is not None  # set by _write_chunk on success
            counts.accepted += tally.accepted
            counts.unchanged += tally.unchanged
            counts.updated += tally.updated
            self.rows_sha256.update(tally.lines)
            if tally.accepted_rows:
                name = next(n for n, c in self.report.files.items() if c is counts)
                self.report.accepted_rows.setdefault(name, set()).update(tally.accepted_rows)

    def close(self) -> None:
        try:
            self.settle()
        finally:
            self._writer.shutdown(wait=True)

    def file(
        self, spec: FileSpec, scan: FileScan, chunk_rows: int, progress: ProgressCallback | None
    ) -> None:
        name = self.names.get(scan.name, scan.name)
        counts = self.report.files.setdefault(name, FileCounts())
        counts.rows_read = scan.records
        problem = self._file_problem(spec, scan.header)
        seen: dict[tuple[Any, ...], tuple[int, int]] = {}
        checked = self.checked.get(scan.name) if problem is None else None
        prechecked = iter(checked.chunks if checked is not None else ())
        for chunk in self.bundle.chunks(scan.name, chunk_rows):
            if problem is not None:
                column, reason = problem
                first = chunk.first_row + self.row_shift
                for i in range(len(chunk.records)):
                    self._reject(counts, name, first + i, column, reason)
            elif checked is not None:
                self._take(self._as_read(next(prechecked, None), chunk, name), counts, scan)
            else:
                self._chunk(spec, name, scan, chunk, counts, seen)
            if progress is not None:
                progress(len(chunk.records))
        if next(prechecked, None) is not None:
            raise RuntimeError(f"{name}: more rows were checked than are loaded")
        self.settle()
        if counts.accounted != counts.rows_read:  # a bug, never bad input
            raise RuntimeError(f"{name}: accounted {counts.accounted} of {counts.rows_read} rows")

    @staticmethod
    def _file_problem(spec: FileSpec, header: list[str]) -> tuple[str, str] | None:
        """A required column the header lacks: every row is rejected naming it (a row-level
        fault, so the rest of the bundle still loads)."""
        missing = [
            name
            for name, f in spec.model.model_fields.items()
            if f.is_required() and name not in header
        ]
        if missing:
            return missing[0], f"the file has no column {missing[0]!r} (required)"
        return None

    def _reject(self, counts: FileCounts, file: str, row: int, column: str, reason: str) -> None:
        counts.rejected += 1
        self.report.rejections.append(Rejection(file, row, column, reason))

    def _chunk(
        self,
        spec: FileSpec,
        name: str,
        scan: FileScan,
        chunk: Chunk,
        counts: FileCounts,
        seen: dict[tuple[Any, ...], tuple[int, int]],
    ) -> None:
        checked = check_chunk(
            spec,
            chunk.records,
            name=name,
            first_row=chunk.first_row + self.row_shift,
            context=self.context,
            seen=seen,
            lot_units=self._lot_units,
        )
        self._take(checked, counts, scan)

    def _as_read(self, checked: CheckedChunk | None, chunk: Chunk, name: str) -> CheckedChunk:
        """A chunk checked before, with the records as this ingest read them (rows_sha256
        covers those); a chunk checked as other rows than these is a caller's bug."""
        first = chunk.first_row + self.row_shift
        records = chunk.records
        if checked is None or (checked.name, checked.first_row, checked.rows) != (
            name,
            first,
            len(records),
        ):
            raise RuntimeError(f"{name}: rows from {first} were not checked as they are loaded")
        plans = []
        for row, plan, checked_record in checked.plans:
            record = records[row - first]
            if record != checked_record:
                raise RuntimeError(f"{name}: row {row} was checked with other values")
            plans.append((row, plan, record))
        return replace(checked, plans=plans)

    def _take(self, checked: CheckedChunk, counts: FileCounts, scan: FileScan) -> None:
        """Count a checked chunk's rejected and repeated rows, and write its plans."""
        counts.rejected += checked.rejected
        counts.unchanged += checked.repeated
        self.report.rejections.extend(checked.rejections)
        self.settle()
        self._write(checked.plans, checked.name, scan, counts)

    def _lot_units(self, ids: Sequence[str]) -> Mapping[str, str]:
        """The stored units of these lots, once the write in flight is done."""
        self.settle()
        return self.store.fetch_lot_units(ids)

    def _write(
        self,
        plans: list[tuple[int, RowPlan, dict[str, str]]],
        name: str,
        scan: FileScan,
        counts: FileCounts,
    ) -> None:
        """Diff the chunk with the store and write what differs, in the background."""
        if not plans:
            return
        self._pending = self._writer.submit(self._write_chunk, plans, name, scan, counts)

    def _write_chunk(
        self,
        plans: list[tuple[int, RowPlan, dict[str, str]]],
        name: str,
        scan: FileScan,
        counts: FileCounts,
    ) -> _ChunkTally:
        """Write one chunk in one transaction, with its own audit entry.

        Every write states what it expects to replace (nothing, a placeholder, or the
        content the diff read), and the store checks it inside the transaction: when
        another writer changed a row since the diff read it, the store refuses the whole
        batch and the chunk is diffed again, so nothing is overwritten without its old
        content in the audit trail.
        """
        for _ in range(_CONFLICT_RETRIES):
            batch, tally = self._diff(plans, name, scan)
            try:
                self.store.apply(batch)
            except WriteConflict:
                continue
            tally.counts = counts
            return tally
        raise RowsKeptChanging(
            f"{name}: rows {plans[0][0]}-{plans[-1][0]} kept changing under "
            f"{_CONFLICT_RETRIES} attempts to write them (concurrent writers?)"
        )

    def _diff(
        self,
        plans: list[tuple[int, RowPlan, dict[str, str]]],
        name: str,
        scan: FileScan,
    ) -> tuple[WriteBatch, _ChunkTally]:
        """Compare each row's plan with the store by fingerprint: the batch of what differs."""
        by_label: defaultdict[Label, set[str]] = defaultdict(set)
        rel_refs: list[RelRef] = []
        # Rows of a chunk may state one node differently (a document's title on each of its
        # versions): the last of them is what the chunk writes, and only it is compared
        # with the store, so that the same rows again compare equal.
        last_statement: dict[NodeRef, int] = {}
        for index, (_, plan, _) in enumerate(plans):
            for n in plan.nodes:
                by_label[n.ref.label].add(n.ref.id)
                last_statement[n.ref] = index
            for rel in plan.rels:
                rel_refs.append(RelRef(rel.type, rel.src, rel.dst, rel.key))
        stored_nodes: dict[NodeRef, str | None] = {}
        new_nodes: set[NodeRef] = set()  # planned here and not stored, not even as placeholder
        for label, ids in by_label.items():
            stored = self.store.fetch_node_fingerprints(label, sorted(ids))
            for node_id in ids:
                if node_id in stored:
                    stored_nodes[NodeRef(label, node_id)] = stored[node_id]
                else:
                    new_nodes.add(NodeRef(label, node_id))
        # a relationship with an end not stored is not stored either (a concurrent writer
        # that stores both meanwhile fails the end's create-only write, and the chunk is
        # diffed again): only the others are read
        stored_rels = self.store.fetch_rel_fingerprints(
            [r for r in rel_refs if r.src not in new_nodes and r.dst not in new_nodes]
            if new_nodes
            else rel_refs
        )

        nodes: dict[NodeRef, NodeWrite] = {}
        rels: dict[RelRef, RelWrite] = {}
        drops: dict[RelDrop, None] = {}
        node_changes: list[tuple[NodeRef, str]] = []  # (node, "update" or "resolve")
        rel_updates: list[RelRef] = []
        source = self.report.source
        tally = _ChunkTally()
        accepted_lines: list[bytes] = []
        # rows of a chunk state the same node again (a lot's site, one plan for all): the
        # fingerprint of the same content, or of an equal content of text only, is
        # computed once (equal text is equal JSON; equal numbers need not be: 1 == 1.0 ==
        # True, 0.0 == -0.0)
        node_fps: dict[NodeRef, tuple[Props, str]] = {}
        refs = iter(rel_refs)  # the plans' relationships in the order of the loop below
        # Nodes first: an updated node drops the relationships it owns (its row alone
        # defines them), and every row's planned relationship of those is then written
        # again, whichever row of the chunk states it.
        replaced: set[tuple[NodeRef, RelType, bool]] = set()
        node_rows: dict[int, tuple[dict[str, Any], bool]] = {}  # (provenance, updated)
        for index, (row_no, plan, _) in enumerate(plans):
            # what a row writes carries its provenance; most rows of a second ingest write
            # nothing, so it is made when a row first writes
            provenance: dict[str, Any] | None = None
            updated = False
            for planned in plan.nodes:
                if last_statement[planned.ref] != index:
                    continue
                seen = node_fps.get(planned.ref)
                if seen is not None and (
                    seen[0] is planned.props
                    or seen[0] == planned.props
                    and all(v.__class__ is str for v in planned.props.values())
                ):
                    fp = seen[1]
                else:
                    fp = fingerprint(planned.props)
                    node_fps[planned.ref] = (planned.props, fp)
                known = planned.ref in stored_nodes
                old_fp = stored_nodes.get(planned.ref)
                if known and old_fp == fp:
                    continue
                expected = ABSENT if not known else PLACEHOLDER if old_fp is None else old_fp
                if provenance is None:
                    provenance = _provenance(source, name, scan.sha256, row_no)
                nodes[planned.ref] = NodeWrite(planned.ref, planned.props, provenance, fp, expected)
                if not known:
                    continue
                action = "resolve" if old_fp is None else "update"
                updated = updated or action == "update"
                node_changes.append((planned.ref, action))
                for rel_type, outgoing in planned.owns:
                    drops[RelDrop(planned.ref, rel_type, outgoing)] = None
                    replaced.add((planned.ref, rel_type, outgoing))
            if provenance is not None:
                node_rows[index] = (provenance, updated)
        for index, (row_no, plan, record) in enumerate(plans):
            provenance, updated = node_rows.get(index, (None, False))
            changed = provenance is not None
            for rel in plan.rels:
                ref = next(refs)
                fp = fingerprint(rel.props) if rel.props else _EMPTY_FINGERPRINT
                old_rel_fp = stored_rels.get(ref)
                forced = bool(replaced) and (
                    (rel.src, rel.type, True) in replaced or (rel.dst, rel.type, False) in replaced
                )
                if old_rel_fp == fp and not forced:
                    continue
                changed = True
                # A relationship its owner's update drops and writes again is guarded by
                # the owner's expectation; any other states what it replaces.
                expected = ANY if forced else ABSENT if old_rel_fp is None else old_rel_fp
                if provenance is None:
                    provenance = _provenance(source, name, scan.sha256, row_no)
                rels[ref] = RelWrite(ref, rel.props, provenance, fp, expected)
                if old_rel_fp is not None and old_rel_fp != fp:
                    updated = True
                    rel_updates.append(ref)
            if changed:
                tally.accepted += 1
                tally.updated += int(updated)
                accepted_lines.append(_row_line(name, row_no, record))
                if self.track_rows:
                    tally.accepted_rows.append(row_no)
            else:
                tally.unchanged += 1
        tally.lines = b"".join(accepted_lines)
        batch = WriteBatch(drops=list(drops), nodes=list(nodes.values()), rels=list(rels.values()))
        if batch:
            batch.audit = self._change_entries(node_changes, rel_updates, nodes, rels)
            batch.audit.append(self._chunk_entry(name, plans, tally))
        return batch, tally

    def _chunk_entry(
        self,
        name: str,
        plans: list[tuple[int, RowPlan, dict[str, str]]],
        tally: _ChunkTally,
    ) -> AuditEntry:
        """The audit entry committed with a chunk's rows: which rows, and their SHA-256."""
        return AuditEntry(
            actor=self.actor,
            action="ingest_chunk",
            entity="Bundle",
            key=self.report.ingest_id,
            old=None,
            new={
                "file": name,
                "first_row": plans[0][0],
                "last_row": plans[-1][0],
                "accepted": tally.accepted,
                "rows_sha256": hashlib.sha256(tally.lines).hexdigest(),
            },
            reason=f"ingest {self.report.ingest_id}",
            source=self.report.source,
        )

    def _change_entries(
        self,
        node_changes: list[tuple[NodeRef, str]],
        rel_updates: list[RelRef],
        nodes: dict[NodeRef, NodeWrite],
        rels: dict[RelRef, RelWrite],
    ) -> list[AuditEntry]:
        """Audit entries with the old content (read only for what changed) and the new."""
        entries: list[AuditEntry] = []
        by_label: dict[Label, list[str]] = {}
        for ref, _ in node_changes:
            by_label.setdefault(ref.label, []).append(ref.id)
        old_nodes: dict[NodeRef, StoredNode] = {}
        for label, ids in by_label.items():
            for node_id, node in self.store.fetch_nodes(label, ids).items():
                old_nodes[NodeRef(label, node_id)] = node
        for ref, action in node_changes:
            old = old_nodes[ref].props if ref in old_nodes else {}
            entries.append(self._audit(action, ref.label, ref.id, old, nodes[ref].props))
        old_rels = self.store.fetch_rels(rel_updates) if rel_updates else {}
        for rel_ref in rel_updates:
            entries.append(
                self._audit(
                    "update",
                    rel_ref.type,
                    _rel_key(rel_ref),
                    old_rels.get(rel_ref, {}),
                    rels[rel_ref].props,
                )
            )
        return entries

    def _audit(self, action: str, entity: str, key: str, old: Props, new: Props) -> AuditEntry:
        return AuditEntry(
            actor=self.actor,
            action=action,
            entity=str(entity),
            key=key,
            old=old,
            new=new,
            reason=f"ingest {self.report.ingest_id}",
            source=self.report.source,
        )


@dataclass(slots=True)
class CheckedChunk:
    """One chunk of a file's rows, validated and planned (:func:`check_chunk`)."""

    name: str  # the file as the report names it
    first_row: int
    rows: int
    rejections: list[Rejection] = field(default_factory=list)
    rejected: int = 0  # rows rejected (a row may have several rejections)
    repeated: int = 0  # rows that repeat an earlier row of the file whole: unchanged
    plans: list[tuple[int, RowPlan, dict[str, str]]] = field(default_factory=list)


def check_chunk(
    spec: FileSpec,
    records: Sequence[dict[str, str]],
    *,
    name: str,
    first_row: int,
    context: Mapping[str, Any],
    seen: dict[tuple[Any, ...], tuple[int, int]],
    lot_units: Callable[[Sequence[str]], Mapping[str, str]],
) -> CheckedChunk:
    """Validate and plan one chunk of a file's rows: what the ingest writes of it, and why
    it rejects the rest (validation, a duplicate key with other content than an earlier
    row, ``RowRejected`` from the plan).

    ``seen`` carries the keys of the file's earlier chunks; ``lot_units`` gives the units
    of the lots the rows name, asked for once, after validation.
    """
    checked = CheckedChunk(name, first_row, len(records))
    rejections = checked.rejections
    valid: list[tuple[int, Any, dict[str, str]]] = []
    # the common, valid case column by column; the model validates the rest row by row
    # (model_validate without its Python wrapper), its errors naming column and reason
    by_column = validate_columns(spec.model, records, context.get("timezone"))
    validate = spec.model.__pydantic_validator__.validate_python
    row_key = spec.row_key
    for i, (record, model) in enumerate(zip(records, by_column, strict=True)):
        row_no = first_row + i
        if model is None:
            try:
                model = validate(record, context=context)
            except ValidationError as exc:
                checked.rejected += 1
                for error in exc.errors(include_url=False):
                    column = ".".join(str(p) for p in error["loc"]) or "?"
                    rejections.append(Rejection(name, row_no, column, describe_error(error)))
                continue
        key = row_key(model)
        content = hash(tuple(record.values()))  # one file: one column order
        first = seen.get(key)
        if first is not None:
            if first[1] == content:
                checked.repeated += 1
            else:
                checked.rejected += 1
                rejections.append(
                    Rejection(
                        name,
                        row_no,
                        _key_column(spec),
                        f"duplicate key {', '.join(map(str, key))!r} with other content "
                        f"than row {first[0]} of the same file",
                    )
                )
            continue
        seen[key] = (row_no, content)
        valid.append((row_no, model, record))

    units: Mapping[str, str] = {}
    if spec.lot_column is not None and valid:
        column = spec.lot_column
        units = lot_units(sorted({getattr(m, column) for _, m, _ in valid}))
    lookup = Lookup(units)
    plan = spec.plan
    plans = checked.plans
    for row_no, model, record in valid:
        try:
            plans.append((row_no, plan(model, lookup), record))
        except RowRejected as exc:
            checked.rejected += 1
            rejections.append(Rejection(name, row_no, exc.column, exc.reason))
    return checked


@dataclass(slots=True)
class CheckedRows:
    """What :func:`check_rows` found, chunk by chunk as an ingest of the same rows checks
    them: hand it to :func:`ingest_records` (``checked``) to load them without checking
    them again."""

    chunks: list[CheckedChunk] = field(default_factory=list)

    @property
    def rejections(self) -> list[Rejection]:
        return [r for c in self.chunks for r in c.rejections]

    @property
    def plans(self) -> dict[int, RowPlan]:
        """The plan of every row to write, by row number."""
        return {row: plan for c in self.chunks for row, plan, _ in c.plans}


def check_rows(
    spec: FileSpec,
    records: Sequence[dict[str, str]],
    *,
    name: str,
    lot_units: Callable[[Sequence[str]], Mapping[str, str]],
    timezone: tzinfo | None = None,
    first_row: int = 1,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
) -> CheckedRows:
    """Validate and plan one file's rows as an ingest does (:func:`check_chunk`, chunk by
    chunk), writing nothing.

    ``records`` are the rows as text with the same columns in the same order (a CSV file's
    rows); ``lot_units`` gives the unit of the lots they name (the ingest reads them from
    the store when it comes to the file). A row that repeats an earlier one is neither
    rejected nor planned (the ingest counts it unchanged).
    """
    checked = CheckedRows()
    context = {"timezone": timezone}
    seen: dict[tuple[Any, ...], tuple[int, int]] = {}
    for start in range(0, len(records), chunk_rows):
        checked.chunks.append(
            check_chunk(
                spec,
                records[start : start + chunk_rows],
                name=name,
                first_row=first_row + start,
                context=context,
                seen=seen,
                lot_units=lot_units,
            )
        )
    return checked


def _row_line(file: str, row: int, record: dict[str, str]) -> bytes:
    """One accepted row as ``rows_sha256`` covers it: JSON ``[file, row, {column: value}]``.

    The file as the report names it, the row number as the dead letter counts it, the
    record's values as read (text); keys sorted, no whitespace, one line (RFC 8785 for
    these string-only values unless column names mix characters beyond U+FFFF with
    U+E000-U+FFFF). About 1-2 us a row: the digest is cheap at a million lots.
    """
    return orjson.dumps([file, row, record], option=orjson.OPT_SORT_KEYS) + b"\n"


def _provenance(source: str, file: str, sha256: str, row: int) -> dict[str, Any]:
    return {"source": source, "source_file": file, "source_sha256": sha256, "source_row": row}


def _rel_key(ref: RelRef) -> str:
    suffix = f"#{ref.key}" if ref.key else ""
    return f"{ref.src.label}:{ref.src.id}-{ref.type}->{ref.dst.label}:{ref.dst.id}{suffix}"


def _key_column(spec: FileSpec) -> str:
    return next(iter(spec.model.model_fields))


def describe_error(error: Any) -> str:
    """A reason a person can act on, from one pydantic error."""
    kind = error["type"]
    value = error.get("input")
    ctx = error.get("ctx") or {}
    if kind == "missing":
        return "required value is missing"
    if kind == "string_too_short":
        return "required value is empty"
    if kind == "literal_error":
        return f"unknown value {value!r}; expected one of {ctx.get('expected', '')}"
    if kind == "greater_than_equal":
        bound = ctx.get("ge")
        noun = "negative quantity" if bound == 0 else "value too small"
        return f"{noun} {value!r}; must be >= {bound}"
    if kind == "less_than_equal":
        return f"value too large {value!r}; must be <= {ctx.get('le')}"
    if kind in ("float_parsing", "int_parsing", "float_type", "int_type", "int_from_float"):
        return f"not a number: {value!r}"
    if kind == "finite_number":
        return f"not a finite number: {value!r}"
    if kind == "string_pattern_mismatch":
        return f"not a SHA-256 hex digest (64 hex characters): {value!r}"
    if kind == "string_too_long":
        return f"value longer than {ctx.get('max_length')} characters"
    if kind == "value_error":
        return str(error["msg"]).removeprefix("Value error, ")
    return f"{error['msg']} (got {value!r})"


__all__ = [
    "BundleError",
    "BundleLimits",
    "BundleTooLarge",
    "CheckedChunk",
    "CheckedRows",
    "IngestReport",
    "Rejection",
    "RowsKeptChanging",
    "check_chunk",
    "check_rows",
    "cyclic_gc_paused",
    "ingest_bundle",
    "ingest_records",
    "describe_error",
]
