"""Batch release by exception: each batch's release checklist, and its release state.

A batch is released by a ``released`` signature on the current version of its batch record
(a ``batch_record`` document concerning the batch). Before that, every finding below
blocks the release (docs/WORKFLOW.md has the table):

- ``batch_record_missing``, ``batch_record_not_approved``: nothing to sign, or a record the
  state machine does not let anyone release (``released`` needs ``approved``). No override
  lifts these.
- ``deviation_open``, ``signature_hash_mismatch``, ``input_without_coa``, ``unresolved``,
  ``lot_on_hold``: the chain of custody's findings (queries/custody.py), with its rules.
- ``result_oos``, ``result_oot``: a QC result on the batch, an input or an output lot out
  of specification, or out of trend within it (queries/trend.py, baseline the first 20
  in-spec results of its series).

A qa user may release over the overridable findings by signing an override: the release
signature then carries ``override_reason`` and ``overridden_findings`` (``kind id`` joined
by ``; ``), so the override is a signed record of its own that cannot be separated from the
release it authorised. Ingested signatures carry the same two columns when their source
recorded an override (signatures.csv extra columns).

Release state: ``released`` or ``rejected`` when the batch record's state says so (the
signatures), else the batch's own ``status`` when its source says released or rejected,
else ``awaiting_release`` once executed (``executed`` or ``in_review``), else
``not_completed``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from pydantic import BaseModel

from graph.model import Label, RelType
from graph.store import GraphStore
from queries.custody import QcResult, custody
from queries.document_record import OVERRIDE_SEPARATOR, DocumentRecord, SignatureOut
from queries.document_states import document_records
from queries.errors import NotFound
from queries.snapshot import one_snapshot
from queries.trend import flag_results

FindingKind = Literal[
    "batch_record_missing",
    "batch_record_not_approved",
    "deviation_open",
    "signature_hash_mismatch",
    "input_without_coa",
    "result_oos",
    "result_oot",
    "unresolved",
    "lot_on_hold",
]
NOT_OVERRIDABLE: frozenset[str] = frozenset({"batch_record_missing", "batch_record_not_approved"})
_FROM_CUSTODY = (
    "deviation_open",
    "signature_hash_mismatch",
    "input_without_coa",
    "unresolved",
    "lot_on_hold",
)
ReleaseState = Literal["released", "rejected", "awaiting_release", "not_completed"]
AWAITING_STATUSES = ("executed", "in_review")


class ReleaseFinding(BaseModel):
    kind: FindingKind
    id: str
    label: str
    detail: str
    overridable: bool
    target: str | None = None  # the lot or batch it is about (site scope), if any
    target_label: str | None = None
    redacted: bool = False  # about a lot at a site outside the caller's scope: no detail


class BatchRecordRef(BaseModel):
    id: str
    state: str
    current_version: int | None
    content_sha256: str | None
    version_author: str | None  # who wrote the current version: it may not release it


class ReleaseSignature(BaseModel):
    signature_id: str
    document_id: str
    version: int
    signer_id: str | None
    signed_at: str | None
    override: bool
    override_reason: str | None
    overridden_findings: list[str]


class ReleaseChecklist(BaseModel):
    batch: str
    site: str | None
    product_material_id: str | None
    status: str | None  # as the batch's source recorded it
    completed_at: str | None
    release_state: ReleaseState
    batch_record: BatchRecordRef | None
    release: ReleaseSignature | None
    findings: list[ReleaseFinding]
    can_release: bool  # awaiting release and nothing blocks
    can_override: bool  # awaiting release and every finding may be overridden


def finding_text(finding: ReleaseFinding) -> str:
    return f"{finding.kind} {finding.id}"


def overridden_text(findings: Iterable[ReleaseFinding]) -> str:
    """What an override signature records of the findings it overrode."""
    return OVERRIDE_SEPARATOR.join(finding_text(f) for f in findings)


def batch_records(store: GraphStore, batch_ids: Iterable[str]) -> dict[str, DocumentRecord]:
    """Each batch's batch record: of the batch_record documents concerning it, the one whose
    current version is the newest (then the highest id)."""
    concerning = store.linked(Label.BATCH, sorted(set(batch_ids)), RelType.CONCERNS, False)
    docs: dict[str, list[str]] = {}
    for doc, batch, label in concerning:
        if label == str(Label.DOCUMENT):
            docs.setdefault(batch, []).append(doc)
    records = document_records(store, {d for found in docs.values() for d in found})
    chosen: dict[str, DocumentRecord] = {}
    for batch, found in docs.items():
        candidates = [
            records[d] for d in found if d in records and records[d].kind == "batch_record"
        ]
        if candidates:
            chosen[batch] = max(candidates, key=_newest)
    return chosen


def _newest(record: DocumentRecord) -> tuple[str, str]:
    current = next((v for v in record.versions if v.version == record.current_version), None)
    return ((current.created_at or "") if current else "", record.id)


def release_signature(record: DocumentRecord) -> ReleaseSignature | None:
    """The valid ``released`` signature on the record's current version (the latest)."""
    found: SignatureOut | None = None
    for sig in record.signatures:
        if sig.meaning == "released" and sig.status == "valid":
            found = sig
    if found is None:
        return None
    return ReleaseSignature(
        signature_id=found.signature_id,
        document_id=record.id,
        version=found.version,
        signer_id=found.signer_id,
        signed_at=found.signed_at,
        override=found.override_reason is not None,
        override_reason=found.override_reason,
        overridden_findings=found.overridden_findings,
    )


def release_state(status: object, record: DocumentRecord | None) -> ReleaseState:
    if record is not None and record.state in ("released", "rejected"):
        return "released" if record.state == "released" else "rejected"
    if status in ("released", "rejected"):
        return "released" if status == "released" else "rejected"
    if status in AWAITING_STATUSES:
        return "awaiting_release"
    return "not_completed"


class _Flags:
    """Out-of-specification and out-of-trend results, one analyte read at a time."""

    def __init__(self, store: GraphStore) -> None:
        self._store = store
        self._reasons: dict[str, dict[str, list[str]]] = {}

    def reasons(self, analyte: str, result_id: str) -> list[str]:
        if analyte not in self._reasons:
            rows = self._store.analyte_rows(analyte)
            flags = flag_results(analyte, rows, None)
            self._reasons[analyte] = {rows.id[i]: flags.reasons(i) for i in range(len(rows))}
        return self._reasons[analyte].get(result_id, [])


def _record_findings(record: DocumentRecord | None, batch_id: str) -> list[ReleaseFinding]:
    if record is None:
        return [
            _finding(
                "batch_record_missing",
                batch_id,
                "Batch",
                "no batch record concerns this batch: there is nothing to sign released",
            )
        ]
    if record.state != "approved":
        return [
            _finding(
                "batch_record_not_approved",
                record.id,
                "Document",
                f"batch record {record.id} version {record.current_version} is {record.state}: "
                "it must be reviewed and approved before it can be released",
            )
        ]
    return []


def _finding(
    kind: FindingKind,
    node_id: str,
    label: str,
    detail: str,
    target: tuple[str, str] | None = None,
) -> ReleaseFinding:
    if target is None and label in (str(Label.LOT), str(Label.BATCH)):
        target = (node_id, label)
    return ReleaseFinding(
        kind=kind,
        id=node_id,
        label=label,
        detail=detail,
        overridable=kind not in NOT_OVERRIDABLE,
        target=target[0] if target else None,
        target_label=target[1] if target else None,
    )


def _result_findings(events: Iterable[object], flags: _Flags) -> list[ReleaseFinding]:
    found: list[ReleaseFinding] = []
    for event in events:
        if not isinstance(event, QcResult) or event.analyte is None:
            continue
        reasons = flags.reasons(event.analyte, event.id)
        where = f"{event.analyte} = {event.value} {event.unit or ''}".strip()
        on = f"{event.target_kind} {event.target}"
        about = (event.target, str(Label.BATCH if event.target_kind == "batch" else Label.LOT))
        if "oos" in reasons or event.out_of_limits:
            limits = f"[{event.lower_limit}, {event.upper_limit}]"
            found.append(
                _finding(
                    "result_oos",
                    event.id,
                    "TestResult",
                    f"{where} on {on} is out of specification {limits}",
                    about,
                )
            )
        rules = [r.split(":", 1)[1] for r in reasons if r.startswith("oot:")]
        if rules:
            found.append(
                _finding(
                    "result_oot",
                    event.id,
                    "TestResult",
                    f"{where} on {on} is out of trend (Nelson rule {', '.join(rules)})",
                    about,
                )
            )
    return found


def _checklist(
    store: GraphStore, batch_id: str, record: DocumentRecord | None, flags: _Flags
) -> ReleaseChecklist:
    answer = custody(store, batch_id)
    node = store.fetch_nodes(Label.BATCH, [batch_id])[batch_id]
    state = release_state(node.props.get("status"), record)
    findings: list[ReleaseFinding] = []
    if state == "awaiting_release":
        findings += _record_findings(record, batch_id)
        findings += [
            _finding(f.kind, f.id, f.label, f.detail, (batch_id, str(Label.BATCH)))  # type: ignore[arg-type]
            if f.label not in (str(Label.LOT), str(Label.BATCH))
            else _finding(f.kind, f.id, f.label, f.detail)  # type: ignore[arg-type]
            for f in answer.findings
            if f.kind in _FROM_CUSTODY
        ]
        findings += _result_findings(answer.events, flags)
    findings.sort(key=lambda f: (f.kind, f.id))
    ref = None
    if record is not None:
        current = next((v for v in record.versions if v.version == record.current_version), None)
        ref = BatchRecordRef(
            id=record.id,
            state=record.state,
            current_version=record.current_version,
            content_sha256=current.content_sha256 if current else None,
            version_author=current.created_by if current else None,
        )
    awaiting = state == "awaiting_release"
    return ReleaseChecklist(
        batch=batch_id,
        site=node.props.get("site"),
        product_material_id=node.props.get("product_material_id"),
        status=node.props.get("status"),
        completed_at=node.props.get("completed_at"),
        release_state=state,
        batch_record=ref,
        release=release_signature(record) if record is not None else None,
        findings=findings,
        can_release=awaiting and not findings,
        can_override=awaiting and bool(findings) and all(f.overridable for f in findings),
    )


@one_snapshot
def release_checklists(store: GraphStore, batch_ids: Iterable[str]) -> list[ReleaseChecklist]:
    """The checklist of each batch among ``batch_ids``, in id order (404 for a missing one)."""
    wanted = sorted(set(batch_ids))
    found = store.fetch_nodes(Label.BATCH, wanted)
    for batch_id in wanted:
        if batch_id not in found or found[batch_id].unresolved:
            raise NotFound(str(Label.BATCH), batch_id)
    records = batch_records(store, wanted)
    flags = _Flags(store)
    return [_checklist(store, b, records.get(b), flags) for b in wanted]


def release_checklist(store: GraphStore, batch_id: str) -> ReleaseChecklist:
    (checklist,) = release_checklists(store, [batch_id])
    return checklist


def redact_findings(checklist: ReleaseChecklist, hidden: set[str]) -> ReleaseChecklist:
    """The checklist with the detail of each finding about a ``hidden`` lot or batch
    replaced: its kind and id stay (the release is blocked all the same), nothing else."""
    findings = [
        f.model_copy(update={"detail": "redacted", "redacted": True})
        if f.target in hidden or f.id in hidden
        else f
        for f in checklist.findings
    ]
    return checklist.model_copy(update={"findings": findings})
