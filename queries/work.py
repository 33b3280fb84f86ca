"""What is waiting for whom: the work queue, and the KPIs of the signed workflow.

Both read the whole plant's workflow records (batch records, documents and their
signatures, deviations, holds) through the store's read primitives, and keep what the
caller may see: ``sees(site)`` is the caller's site scope. A document is visible when
everything it concerns is (as for signing it); a deviation when something it affects is;
a batch or lot by its own site. docs/WORKFLOW.md defines every figure.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
from pydantic import BaseModel

from graph.model import Label, RelType
from graph.store import GraphStore, Props
from queries.batch_release import ReleaseChecklist, batch_records, release_checklists
from queries.document_record import NOT_BY_AUTHOR, ONLY_BY_AUTHOR, DocumentRecord
from queries.document_states import document_records
from queries.holds import holds_of
from queries.snapshot import one_snapshot

Sees = Callable[[str | None], bool]
OPEN_DEVIATION = ("open", "investigating")
# the meaning each state waits for, and who may sign it (queries/document_record.py)
AWAITED: dict[str, str] = {"draft": "reviewed", "in_review": "approved", "approved": "released"}
RELEASED_KINDS = ("batch_record",)
AGE_BANDS: tuple[tuple[str, float, float], ...] = (
    ("0-7 d", 0.0, 7.0),
    ("7-30 d", 7.0, 30.0),
    ("30-90 d", 30.0, 90.0),
    ("over 90 d", 90.0, float("inf")),
)
DAY_S = 86_400.0
HOUR_S = 3_600.0


def moment(text: object) -> datetime | None:
    """An ISO 8601 time of the graph as an aware datetime (None when absent or unreadable)."""
    if not isinstance(text, str) or not text:
        return None
    try:
        found = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return found if found.tzinfo is not None else found.replace(tzinfo=UTC)


def _age_days(since: object, now: datetime) -> float | None:
    start = moment(since)
    return None if start is None else round((now - start).total_seconds() / DAY_S, 2)


# -- the plant's workflow records, read once ----------------------------------------------
@dataclass
class Workflow:
    documents: dict[str, DocumentRecord]
    document_sites: dict[str, list[str | None]]  # document -> the sites of what it concerns
    batches: dict[str, Props]
    deviations: dict[str, Props]
    deviation_sites: dict[str, list[str | None]]

    def document_visible(self, document_id: str, sees: Sees) -> bool:
        return all(sees(site) for site in self.document_sites.get(document_id, []))

    def deviation_visible(self, deviation_id: str, sees: Sees) -> bool:
        sites = self.deviation_sites.get(deviation_id, [])
        return not sites or any(sees(site) for site in sites)


def _sites_of(store: GraphStore, targets: Iterable[tuple[str, str, str]]) -> dict[str, list]:
    """owner -> the ``site`` of each target, from (owner, target, target label) triples."""
    by_label: dict[str, set[str]] = {}
    found = list(targets)
    for _, target, label in found:
        by_label.setdefault(label, set()).add(target)
    sites: dict[tuple[str, str], str | None] = {}
    for label, ids in by_label.items():
        nodes = store.fetch_nodes(Label(label), sorted(ids))
        for node_id in ids:
            node = nodes.get(node_id)
            sites[(label, node_id)] = node.props.get("site") if node is not None else None
    out: dict[str, list] = {}
    for owner, target, label in found:
        out.setdefault(owner, []).append(sites[(label, target)])
    return out


def workflow(store: GraphStore) -> Workflow:
    doc_ids = store.node_ids(Label.DOCUMENT)
    concerns = store.linked(Label.DOCUMENT, doc_ids, RelType.CONCERNS, True)
    dev_ids = store.node_ids(Label.DEVIATION)
    affects = store.linked(Label.DEVIATION, dev_ids, RelType.AFFECTS, True)
    batch_ids = store.node_ids(Label.BATCH)
    return Workflow(
        documents=document_records(store, doc_ids),
        document_sites=_sites_of(store, concerns),
        batches={i: n.props for i, n in store.fetch_nodes(Label.BATCH, batch_ids).items()},
        deviations={i: n.props for i, n in store.fetch_nodes(Label.DEVIATION, dev_ids).items()},
        deviation_sites=_sites_of(store, affects),
    )


# -- the work queue -----------------------------------------------------------------------
class AwaitingSignature(BaseModel):
    document_id: str
    kind: str | None
    title: str | None
    state: str
    version: int
    meaning: str
    waiting_since: str | None
    age_days: float | None


class OpenDeviation(BaseModel):
    deviation_id: str
    severity: str | None
    category: str | None
    status: str | None
    opened_at: str | None
    age_days: float | None


class ActiveHoldItem(BaseModel):
    hold_id: str
    lot: str
    reason: str | None
    placed_by: str | None
    placed_at: str | None
    age_days: float | None


class HashMismatch(BaseModel):
    signature_id: str
    document_id: str
    version: int
    meaning: str | None
    signer_id: str | None
    signed_at: str | None


class WorkQueue(BaseModel):
    as_of: str
    awaiting_signature: list[AwaitingSignature]
    batches_awaiting_release: list[ReleaseChecklist]
    open_deviations: list[OpenDeviation]
    active_holds: list[ActiveHoldItem]
    hash_mismatches: list[HashMismatch]


def _waiting_since(record: DocumentRecord) -> str | None:
    """When the document entered its state: its last valid state-changing signature on the
    current version, or the current version's creation while it is a draft."""
    if record.state == "draft":
        current = next((v for v in record.versions if v.version == record.current_version), None)
        return current.created_at if current else record.created_at
    changes = [
        s.signed_at
        for s in record.signatures
        if s.version == record.current_version
        and s.status == "valid"
        and s.meaning in ("reviewed", "approved", "released", "rejected")
    ]
    return max((c for c in changes if c), default=None)


def awaited_meaning(record: DocumentRecord, signer: str) -> str | None:
    """The meaning ``signer`` could sign next on the document, if any.

    A draft waits for review only once its author has signed it ``authored`` (finished);
    the author never approves or releases their own version; only batch records wait to
    be released."""
    meaning = AWAITED.get(record.state)
    if meaning is None or record.current_version is None:
        return None
    if meaning == "released" and record.kind not in RELEASED_KINDS:
        return None  # an approved SOP or CoA is done: only batch records are released
    current = next((v for v in record.versions if v.version == record.current_version), None)
    author = current.created_by if current else None
    if meaning in NOT_BY_AUTHOR and author == signer:
        return None
    if meaning in ONLY_BY_AUTHOR and author != signer:  # pragma: no cover - none awaited
        return None
    on_current = [s for s in record.signatures if s.version == record.current_version]
    if meaning == "reviewed" and not any(s.meaning == "authored" for s in on_current):
        return None
    if any(s.meaning == meaning and s.signer_id == signer for s in on_current):
        return None
    return meaning


def _awaiting_signature(
    flow: Workflow, signer: str | None, sees: Sees, now: datetime
) -> list[AwaitingSignature]:
    if signer is None:
        return []
    found = []
    for doc_id, record in flow.documents.items():
        if record.unresolved or not flow.document_visible(doc_id, sees):
            continue
        meaning = awaited_meaning(record, signer)
        if meaning is None or record.current_version is None:
            continue
        since = _waiting_since(record)
        found.append(
            AwaitingSignature(
                document_id=doc_id,
                kind=record.kind,
                title=record.title,
                state=record.state,
                version=record.current_version,
                meaning=meaning,
                waiting_since=since,
                age_days=_age_days(since, now),
            )
        )
    return sorted(found, key=lambda a: (a.waiting_since or "", a.document_id))


@one_snapshot
def work_queue(
    store: GraphStore, sees: Sees, signer: str | None, now: datetime | None = None
) -> WorkQueue:
    """``signer``: the caller's name when it may sign (qa), else None."""
    now = now or datetime.now(UTC)
    flow = workflow(store)
    awaiting_ids = [
        b
        for b, p in flow.batches.items()
        if p.get("status") in ("executed", "in_review") and sees(p.get("site"))
    ]
    checklists = [
        c for c in release_checklists(store, awaiting_ids) if c.release_state == "awaiting_release"
    ]
    checklists.sort(key=lambda c: (c.completed_at or "", c.batch))
    deviations = [
        OpenDeviation(
            deviation_id=d,
            severity=p.get("severity"),
            category=p.get("category"),
            status=p.get("status"),
            opened_at=p.get("opened_at"),
            age_days=_age_days(p.get("opened_at"), now),
        )
        for d, p in flow.deviations.items()
        if p.get("status") in OPEN_DEVIATION and flow.deviation_visible(d, sees)
    ]
    deviations.sort(key=lambda d: (d.opened_at or "", d.deviation_id))
    return WorkQueue(
        as_of=now.isoformat(timespec="seconds"),
        awaiting_signature=_awaiting_signature(flow, signer, sees, now),
        batches_awaiting_release=checklists,
        open_deviations=deviations,
        active_holds=_active_holds(store, sees, now),
        hash_mismatches=_hash_mismatches(flow, sees),
    )


def _active_holds(store: GraphStore, sees: Sees, now: datetime) -> list[ActiveHoldItem]:
    links = store.linked(Label.HOLD, store.node_ids(Label.HOLD), RelType.HOLDS, True)
    held = sorted({lot for _, lot, _ in links})
    lots = store.fetch_nodes(Label.LOT, held)
    found = []
    for lot, holds in holds_of(store, held).items():
        if not sees(lots[lot].props.get("site") if lot in lots else None):
            continue
        for hold in holds:
            if hold.active:
                found.append(
                    ActiveHoldItem(
                        hold_id=hold.id,
                        lot=lot,
                        reason=hold.reason,
                        placed_by=hold.placed_by,
                        placed_at=hold.placed_at,
                        age_days=_age_days(hold.placed_at, now),
                    )
                )
    return sorted(found, key=lambda h: (h.placed_at or "", h.hold_id))


def _hash_mismatches(flow: Workflow, sees: Sees) -> list[HashMismatch]:
    found = [
        HashMismatch(
            signature_id=s.signature_id,
            document_id=doc_id,
            version=s.version,
            meaning=s.meaning,
            signer_id=s.signer_id,
            signed_at=s.signed_at,
        )
        for doc_id, record in flow.documents.items()
        if flow.document_visible(doc_id, sees)
        for s in record.signatures
        if s.status == "hash_mismatch"
    ]
    return sorted(found, key=lambda m: (m.signed_at or "", m.signature_id))


# -- KPIs ---------------------------------------------------------------------------------
class Distribution(BaseModel):
    count: int
    median: float | None
    p90: float | None
    records: list[str]  # the ids counted


class RightFirstTime(BaseModel):
    released: int
    right_first_time: int
    percent: float | None
    records: list[str]  # the batches released right first time
    not_right_first_time: list[str]


class AgeBand(BaseModel):
    band: str
    count: int
    records: list[str]


class Overrides(BaseModel):
    count: int
    records: list[str]  # the batches released by override


class Exports(BaseModel):
    count: int
    records: list[str]  # the lot of each package exported, in time order


class Kpis(BaseModel):
    since: str | None
    until: str | None
    release_hours: Distribution  # batch completion to release, in hours
    right_first_time: RightFirstTime
    deviation_closure_days: Distribution
    approvals_outstanding: list[AgeBand]
    overrides: Overrides
    evidence_exports: Exports


def distribution(values: dict[str, float]) -> Distribution:
    """Median and 90th percentile (linear interpolation between closest ranks, numpy's
    default), rounded to 2 decimals."""
    if not values:
        return Distribution(count=0, median=None, p90=None, records=[])
    data = np.array(list(values.values()), dtype=np.float64)
    return Distribution(
        count=len(values),
        median=round(float(np.percentile(data, 50)), 2),
        p90=round(float(np.percentile(data, 90)), 2),
        records=sorted(values),
    )


def _in_period(at: datetime | None, since: datetime | None, until: datetime | None) -> bool:
    if at is None:
        return False
    return (since is None or at >= since) and (until is None or at < until)


def _reviewed_then_changed(record: DocumentRecord) -> bool:
    """A version was made after the record's first review: not right first time."""
    reviews = [moment(s.signed_at) for s in record.signatures if s.meaning == "reviewed"]
    first = min((r for r in reviews if r is not None), default=None)
    if first is None:
        return False
    return any((moment(v.created_at) or first) > first for v in record.versions)


@one_snapshot
def kpis(
    store: GraphStore,
    sees: Sees,
    since: datetime | None,
    until: datetime | None,
    exports: Iterable[tuple[str, str]] = (),
    now: datetime | None = None,
) -> Kpis:
    """``exports``: (lot, time) of each evidence package exported (the access audit)."""
    now = now or datetime.now(UTC)
    flow = workflow(store)
    visible = [b for b, p in flow.batches.items() if sees(p.get("site"))]
    records = batch_records(store, visible)
    hours: dict[str, float] = {}
    right: list[str] = []
    not_right: list[str] = []
    overridden: list[str] = []
    for batch in sorted(records):
        record = records[batch]
        release = next(
            (
                s
                for s in reversed(record.signatures)
                if s.meaning == "released" and s.status == "valid"
            ),
            None,
        )
        if record.state != "released" or release is None:
            continue
        released_at = moment(release.signed_at)
        if not _in_period(released_at, since, until):
            continue
        assert released_at is not None
        completed = moment(flow.batches[batch].get("completed_at"))
        if completed is not None:
            hours[batch] = (released_at - completed).total_seconds() / HOUR_S
        if release.override_reason is not None:
            overridden.append(batch)
        if release.override_reason is None and not _reviewed_then_changed(record):
            right.append(batch)
        else:
            not_right.append(batch)
    closure: dict[str, float] = {}
    for dev, p in flow.deviations.items():
        closed, opened = moment(p.get("closed_at")), moment(p.get("opened_at"))
        if (
            opened is not None
            and _in_period(closed, since, until)
            and flow.deviation_visible(dev, sees)
        ):
            assert closed is not None
            closure[dev] = (closed - opened).total_seconds() / DAY_S
    released = len(right) + len(not_right)
    bands: dict[str, list[str]] = {name: [] for name, _, _ in AGE_BANDS}
    as_of = until or now
    for doc_id, record in flow.documents.items():
        if record.state != "in_review" or not flow.document_visible(doc_id, sees):
            continue
        since_at = moment(_waiting_since(record))
        if since_at is None or since_at >= as_of:
            continue
        age = (as_of - since_at).total_seconds() / DAY_S
        for name, low, high in AGE_BANDS:
            if low <= age < high:
                bands[name].append(doc_id)
    exported = [
        lot
        for at, lot in sorted((at, lot) for lot, at in exports)
        if _in_period(moment(at), since, until)
    ]
    return Kpis(
        since=since.isoformat() if since else None,
        until=until.isoformat() if until else None,
        release_hours=distribution(hours),
        right_first_time=RightFirstTime(
            released=released,
            right_first_time=len(right),
            percent=round(100.0 * len(right) / released, 2) if released else None,
            records=right,
            not_right_first_time=not_right,
        ),
        deviation_closure_days=distribution(closure),
        approvals_outstanding=[
            AgeBand(band=name, count=len(bands[name]), records=sorted(bands[name]))
            for name, _, _ in AGE_BANDS
        ],
        overrides=Overrides(count=len(overridden), records=overridden),
        evidence_exports=Exports(count=len(exported), records=exported),
    )
