"""Chain of custody of a batch (DESIGN §4 ``custody``): who did and signed what, and the gaps.

Both stores only fetch the same raw facts (the relationships reached from the batch, and
the nodes at their ends); :func:`_assemble` alone builds the answer, so the two stores
answer identically by construction.

Decisions:

- Events sort by (at, kind, id), then by their content; an event without a time (a
  placeholder's) goes last. ``id`` is the lot for lot_received, moved, consumed and
  output; the batch for batch_started/completed; otherwise the result, deviation,
  signature or shipment. batch_completed and deviation_closed appear only with a time.
- A CoA of an input lot is a resolved document of kind ``coa`` concerning the lot or
  holding a QC result on it; a placeholder document is not (yet) a CoA.
- Signatures are those on any version of a document concerning the batch or a deviation
  affecting it. Signer: the person with SIGNED (lowest id if several), else the
  signature's ``signer_id``; with the person's name and role when its node has arrived. Status: hash_mismatch (record_sha256 differs from the
  version's content_sha256, including a missing hash) before superseded (the document
  has a later version) before valid.
- released_without_approval: a released batch without a valid approved/released
  signature on the current version of some batch_record document concerning it.
- input_without_coa: only purchased lots (a ``supplier_id``); placeholders are reported
  as unresolved instead, since their supplier is unknown.
- unresolved: every placeholder among the nodes the answer is built from (batch, lots,
  documents, signers, deviations, customers, ...). A placeholder deviation is also
  deviation_open: nothing shows it closed.
- A shipment's customer is its TO customer (lowest id if several), else its
  ``customer_id``.
- QA holds (queries/holds.py) on the batch's input and output lots are events:
  hold_placed at its placing and hold_released at its release (``id`` the hold, ``lot``
  the lot, ``by``, ``reason``, ``meaning``); a lot still on hold is also a finding,
  lot_on_hold.
- EPCIS error declarations (docs/EPCIS.md "Error declarations"): an event built from a
  node or relationship written from an EPCIS event that was declared erroneous carries
  ``epcis_error`` (when, why, the corrective events' ids): batch_started/completed from
  the batch, lot_received/output from the lot, moved and shipped from their relationship;
  a declared batch is also a finding, epcis_error_declared.
- Not reached: a signature on a version whose documents.csv row has not arrived (ingest
  links no placeholder version to its document).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any, Literal

import orjson
from pydantic import BaseModel, Field

from graph.model import Label, RelType
from graph.store import GraphStore, Link, LinkKey, Props, StoredNode
from queries.errors import NotFound
from queries.holds import PLACED, RELEASED, hold_record
from queries.snapshot import one_snapshot

_APPROVING = ("approved", "released")

SignatureStatus = Literal["valid", "hash_mismatch", "superseded"]


# -- the answer ---------------------------------------------------------------------------
class EpcisErrorMark(BaseModel):
    """An EPCIS errorDeclaration on the event a record was written from."""

    declared_at: str | None
    reason: str | None
    corrective_event_ids: list[str]


def epcis_error(props: Props) -> EpcisErrorMark | None:
    if props.get("epcis_error_declared_at") is None:
        return None
    return EpcisErrorMark(
        declared_at=props.get("epcis_error_declared_at"),
        reason=props.get("epcis_error_reason"),
        corrective_event_ids=str(props.get("epcis_corrective_event_ids") or "").split(),
    )


class _Event(BaseModel):
    at: str | None
    kind: str
    id: str
    epcis_error: EpcisErrorMark | None = None


class LotReceived(_Event):
    kind: Literal["lot_received"] = "lot_received"
    lot: str
    material_id: str | None = None
    supplier_id: str | None = None
    quantity: float | None = None
    unit: str | None = None
    coas: list[str]
    unresolved: bool = False


class LotMoved(_Event):
    kind: Literal["moved"] = "moved"
    lot: str
    from_site: str | None
    to_site: str
    quantity: float | None
    by: str | None


class LotConsumed(_Event):
    kind: Literal["consumed"] = "consumed"
    lot: str
    quantity: float | None
    unit: str | None


class BatchStep(_Event):
    kind: Literal["batch_started", "batch_completed"]


class QcResult(_Event):
    kind: Literal["qc_result"] = "qc_result"
    target: str
    target_kind: Literal["batch", "lot"]
    analyte: str | None
    value: float | None
    unit: str | None
    lower_limit: float | None
    upper_limit: float | None
    out_of_limits: bool
    document_id: str | None


class DeviationStep(_Event):
    kind: Literal["deviation_opened", "deviation_closed"]
    severity: str | None
    category: str | None
    status: str | None


class Signed(_Event):
    kind: Literal["signed"] = "signed"
    document_id: str
    document_version: int
    signer_id: str | None
    meaning: str | None
    status: SignatureStatus


class LotOutput(_Event):
    kind: Literal["output"] = "output"
    lot: str
    quantity: float | None
    unit: str | None
    unresolved: bool = False


class LotShipped(_Event):
    kind: Literal["shipped"] = "shipped"
    lot: str
    customer: str | None
    quantity: float | None
    unit: str | None


class HoldStep(_Event):
    """A QA hold on one of the batch's lots placed, or released; ``id`` is the hold."""

    kind: Literal["hold_placed", "hold_released"]
    lot: str
    by: str | None
    reason: str | None
    meaning: str


CustodyEvent = Annotated[
    LotReceived
    | LotMoved
    | LotConsumed
    | BatchStep
    | QcResult
    | DeviationStep
    | Signed
    | LotOutput
    | LotShipped
    | HoldStep,
    Field(discriminator="kind"),
]


class CustodySignature(BaseModel):
    signature_id: str
    document_id: str
    document_version: int
    signer_id: str | None
    # the signer's Person node, when it has arrived (the API blanks both for a signer at a
    # site the caller may not see)
    signer_name: str | None = None
    signer_role: str | None = None
    meaning: str | None
    signed_at: str | None
    status: SignatureStatus
    document_kind: str | None
    current_version: int
    record_sha256: str | None
    content_sha256: str | None


class Finding(BaseModel):
    kind: Literal[
        "signature_hash_mismatch",
        "released_without_approval",
        "input_without_coa",
        "unresolved",
        "deviation_open",
        "lot_on_hold",
        "epcis_error_declared",
    ]
    id: str
    label: str
    detail: str


class CustodyResult(BaseModel):
    batch: str
    status: str | None
    product_material_id: str | None
    site: str | None
    events: list[CustodyEvent]
    signatures: list[CustodySignature]
    findings: list[Finding]


# -- the raw facts both stores fetch ------------------------------------------------------


@one_snapshot
def custody(store: GraphStore, batch_id: str) -> CustodyResult:
    if not store.fetch_nodes(Label.BATCH, [batch_id]):
        raise NotFound("Batch", batch_id)
    links = _collect(store.custody_links(batch_id))
    return _assemble(batch_id, links, _nodes(store, batch_id, links))


def _collect(found: Iterable[tuple[LinkKey, Link]]) -> dict[LinkKey, list[Link]]:
    """Group by type and end labels, without duplicates, sorted."""
    unique: dict[LinkKey, dict[tuple[str, str, bytes], Link]] = {}
    for key, (src, dst, props) in found:
        content = orjson.dumps(props, option=orjson.OPT_SORT_KEYS)
        unique.setdefault(key, {})[(src, dst, content)] = (src, dst, props)
    return {key: [links[k] for k in sorted(links)] for key, links in unique.items()}


def _nodes(
    store: GraphStore, batch_id: str, links: dict[LinkKey, list[Link]]
) -> dict[Label, dict[str, StoredNode]]:
    """The batch and every node at an end of a link."""
    wanted: dict[Label, set[str]] = {Label.BATCH: {batch_id}}
    for (_, src_label, dst_label), rows in links.items():
        for src, dst, _ in rows:
            wanted.setdefault(src_label, set()).add(src)
            wanted.setdefault(dst_label, set()).add(dst)
    return {label: store.fetch_nodes(label, sorted(ids)) for label, ids in wanted.items()}


# -- the one assembly ---------------------------------------------------------------------
class _Facts:
    def __init__(
        self, links: dict[LinkKey, list[Link]], nodes: dict[Label, dict[str, StoredNode]]
    ) -> None:
        self._links = links
        self._nodes = nodes

    def links(self, rel_type: RelType, src: Label, dst: Label) -> list[Link]:
        return self._links.get((rel_type, src, dst), [])

    def props(self, label: Label, node_id: str) -> Props:
        node = self._nodes.get(label, {}).get(node_id)
        return node.props if node is not None else {}

    def unresolved(self, label: Label, node_id: str) -> bool:
        node = self._nodes.get(label, {}).get(node_id)
        return node is None or node.unresolved

    def placeholders(self) -> list[tuple[Label, str]]:
        return sorted(
            (label, node_id)
            for label, nodes in self._nodes.items()
            for node_id, node in nodes.items()
            if node.unresolved
        )


def _targets(links: Iterable[Link]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for src, dst, _ in links:
        grouped.setdefault(src, []).append(dst)
    return {k: sorted(v) for k, v in grouped.items()}


def _sources(links: Iterable[Link]) -> dict[str, list[str]]:
    return _targets((dst, src, props) for src, dst, props in links)


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _version_number(version_id: str, props: Props) -> int:
    if props.get("version") is not None:
        return int(props["version"])
    return int(version_id.rpartition("@")[2])


def _event_order(event: _Event) -> tuple[bool, str, str, str, str]:
    return (event.at is None, event.at or "", event.kind, event.id, event.model_dump_json())


def _assemble(
    batch_id: str, links: dict[LinkKey, list[Link]], nodes: dict[Label, dict[str, StoredNode]]
) -> CustodyResult:
    f = _Facts(links, nodes)
    batch = f.props(Label.BATCH, batch_id)
    consumed = f.links(RelType.CONSUMED_IN, Label.LOT, Label.BATCH)
    produced = f.links(RelType.PRODUCED, Label.BATCH, Label.LOT)
    inputs = sorted({lot for lot, _, _ in consumed})
    outputs = sorted({lot for _, lot, _ in produced})

    def kind_of(document_id: str) -> str | None:
        return f.props(Label.DOCUMENT, document_id).get("kind")

    reported = _targets(f.links(RelType.REPORTED_IN, Label.TEST_RESULT, Label.DOCUMENT))
    coas: dict[str, set[str]] = {lot: set() for lot in inputs}
    for doc, lot, _ in f.links(RelType.CONCERNS, Label.DOCUMENT, Label.LOT):
        if lot in coas and kind_of(doc) == "coa":
            coas[lot].add(doc)
    for result, lot, _ in f.links(RelType.TESTED, Label.TEST_RESULT, Label.LOT):
        if lot in coas:
            coas[lot].update(d for d in reported.get(result, []) if kind_of(d) == "coa")

    events: list[CustodyEvent] = []
    for lot in inputs:
        p = f.props(Label.LOT, lot)
        events.append(
            LotReceived(
                at=p.get("created_at"),
                id=lot,
                lot=lot,
                material_id=p.get("material_id"),
                supplier_id=p.get("supplier_id"),
                quantity=_float(p.get("quantity")),
                unit=p.get("unit"),
                coas=sorted(coas[lot]),
                unresolved=f.unresolved(Label.LOT, lot),
                epcis_error=epcis_error(p),
            )
        )
    for lot, site, p in f.links(RelType.MOVED_TO, Label.LOT, Label.SITE):
        events.append(
            LotMoved(
                at=p.get("at"),
                id=lot,
                lot=lot,
                from_site=p.get("from_site"),
                to_site=site,
                quantity=_float(p.get("quantity")),
                by=p.get("by"),
                epcis_error=epcis_error(p),
            )
        )
    for lot, _, p in consumed:
        events.append(
            LotConsumed(
                at=p.get("at"),
                id=lot,
                lot=lot,
                quantity=_float(p.get("quantity")),
                unit=p.get("unit"),
            )
        )
    declared = epcis_error(batch)
    if batch.get("started_at") is not None:
        events.append(
            BatchStep(
                at=batch["started_at"], kind="batch_started", id=batch_id, epcis_error=declared
            )
        )
    if batch.get("completed_at") is not None:
        events.append(
            BatchStep(
                at=batch["completed_at"], kind="batch_completed", id=batch_id, epcis_error=declared
            )
        )
    qc_targets = [(Label.BATCH, [batch_id]), (Label.LOT, outputs)]
    for label, wanted in qc_targets:
        for result, target, _ in f.links(RelType.TESTED, Label.TEST_RESULT, label):
            if target not in wanted:
                continue  # a result on an input lot: evidence of its CoA, not of this batch
            p = f.props(Label.TEST_RESULT, result)
            value, low, high = (_float(p.get(k)) for k in ("value", "lower_limit", "upper_limit"))
            outside = value is not None and (
                (high is not None and value > high) or (low is not None and value < low)
            )
            documents = reported.get(result, [])
            events.append(
                QcResult(
                    at=p.get("tested_at"),
                    id=result,
                    target=target,
                    target_kind="batch" if label is Label.BATCH else "lot",
                    analyte=p.get("analyte"),
                    value=value,
                    unit=p.get("unit"),
                    lower_limit=low,
                    upper_limit=high,
                    out_of_limits=outside,
                    document_id=documents[0] if documents else None,
                )
            )

    findings: list[Finding] = []
    if declared is not None:
        corrective = ", ".join(declared.corrective_event_ids) or "none named"
        findings.append(
            Finding(
                kind="epcis_error_declared",
                id=batch_id,
                label=str(Label.BATCH),
                detail=(
                    f"the EPCIS event the batch was recorded from was declared erroneous at "
                    f"{declared.declared_at} ({declared.reason or 'no reason given'}); "
                    f"corrective events: {corrective}"
                ),
            )
        )
    deviations = sorted({d for d, _, _ in f.links(RelType.AFFECTS, Label.DEVIATION, Label.BATCH)})
    for dev in deviations:
        p = f.props(Label.DEVIATION, dev)
        detail = {k: p.get(k) for k in ("severity", "category", "status")}
        events.append(
            DeviationStep(at=p.get("opened_at"), kind="deviation_opened", id=dev, **detail)
        )
        if p.get("closed_at") is not None:
            events.append(
                DeviationStep(at=p["closed_at"], kind="deviation_closed", id=dev, **detail)
            )
        if p.get("status") != "closed":
            status = p.get("status") or "of unknown status (not ingested yet)"
            findings.append(
                Finding(
                    kind="deviation_open",
                    id=dev,
                    label=str(Label.DEVIATION),
                    detail=f"deviation {dev} affecting the batch is {status}",
                )
            )

    signatures = _signatures(f)
    for s in signatures:
        events.append(
            Signed(
                at=s.signed_at,
                id=s.signature_id,
                document_id=s.document_id,
                document_version=s.document_version,
                signer_id=s.signer_id,
                meaning=s.meaning,
                status=s.status,
            )
        )
        if s.status == "hash_mismatch":
            findings.append(
                Finding(
                    kind="signature_hash_mismatch",
                    id=s.signature_id,
                    label=str(Label.SIGNATURE),
                    detail=(
                        f"{s.meaning} signature by {s.signer_id} records sha256 "
                        f"{s.record_sha256}, but {s.document_id} version {s.document_version} "
                        f"has {s.content_sha256}"
                    ),
                )
            )

    for _, lot, p in produced:
        events.append(
            LotOutput(
                at=batch.get("completed_at"),
                id=lot,
                lot=lot,
                quantity=_float(p.get("quantity")),
                unit=p.get("unit"),
                unresolved=f.unresolved(Label.LOT, lot),
                epcis_error=epcis_error(f.props(Label.LOT, lot)),
            )
        )
    customers = _targets(f.links(RelType.TO, Label.SHIPMENT, Label.CUSTOMER))
    for lot, shipment, p in f.links(RelType.SHIPPED_IN, Label.LOT, Label.SHIPMENT):
        sp = f.props(Label.SHIPMENT, shipment)
        to = customers.get(shipment, [])
        events.append(
            LotShipped(
                at=sp.get("shipped_at"),
                id=shipment,
                lot=lot,
                customer=to[0] if to else sp.get("customer_id"),
                quantity=_float(p.get("quantity")),
                unit=p.get("unit"),
                epcis_error=epcis_error(p) or epcis_error(sp),
            )
        )

    for hold_id, lot, _ in f.links(RelType.HOLDS, Label.HOLD, Label.LOT):
        record = hold_record(hold_id, lot, f.props(Label.HOLD, hold_id))
        events.append(
            HoldStep(
                at=record.placed_at,
                kind="hold_placed",
                id=hold_id,
                lot=lot,
                by=record.placed_by,
                reason=record.reason,
                meaning=PLACED,
            )
        )
        if not record.active:
            events.append(
                HoldStep(
                    at=record.released_at,
                    kind="hold_released",
                    id=hold_id,
                    lot=lot,
                    by=record.released_by,
                    reason=record.release_reason,
                    meaning=RELEASED,
                )
            )
        else:
            findings.append(
                Finding(
                    kind="lot_on_hold",
                    id=lot,
                    label=str(Label.LOT),
                    detail=f"lot {lot} is on hold ({hold_id}, placed {record.placed_at})",
                )
            )

    if batch.get("status") == "released":
        missing = _approval_gap(f, batch_id, signatures)
        if missing:
            findings.append(
                Finding(
                    kind="released_without_approval",
                    id=batch_id,
                    label=str(Label.BATCH),
                    detail=missing,
                )
            )
    for lot in inputs:
        supplier = f.props(Label.LOT, lot).get("supplier_id")
        if supplier and not coas[lot]:
            findings.append(
                Finding(
                    kind="input_without_coa",
                    id=lot,
                    label=str(Label.LOT),
                    detail=f"input lot {lot} from supplier {supplier} has no certificate of analysis",
                )
            )
    for label, node_id in f.placeholders():
        findings.append(
            Finding(
                kind="unresolved",
                id=node_id,
                label=str(label),
                detail=f"{label} {node_id} is referenced but not ingested yet (placeholder)",
            )
        )

    return CustodyResult(
        batch=batch_id,
        status=batch.get("status"),
        product_material_id=batch.get("product_material_id"),
        site=batch.get("site"),
        events=sorted(events, key=_event_order),
        signatures=signatures,
        findings=sorted(findings, key=lambda x: (x.kind, x.id, x.label, x.detail)),
    )


def signature_status(
    recorded: str | None, content: str | None, number: int, current: int | None
) -> SignatureStatus:
    """hash_mismatch (the signed hash is not the version's, or either is missing) before
    superseded (a later version of the document exists) before valid."""
    if recorded is None or recorded != content:
        return "hash_mismatch"
    if current is not None and number < current:
        return "superseded"
    return "valid"


def _signatures(f: _Facts) -> list[CustodySignature]:
    versions: dict[str, tuple[str, int]] = {}  # version id -> (document, number)
    current: dict[str, int] = {}
    for doc, version, _ in f.links(RelType.HAS_VERSION, Label.DOCUMENT, Label.DOCUMENT_VERSION):
        number = _version_number(version, f.props(Label.DOCUMENT_VERSION, version))
        versions[version] = (doc, number)
        current[doc] = max(current.get(doc, number), number)
    signers = _sources(f.links(RelType.SIGNED, Label.PERSON, Label.SIGNATURE))
    found: list[CustodySignature] = []
    for sig, version, _ in f.links(RelType.SIGNS, Label.SIGNATURE, Label.DOCUMENT_VERSION):
        doc, number = versions[version]
        sp = f.props(Label.SIGNATURE, sig)
        recorded = sp.get("record_sha256")
        content = f.props(Label.DOCUMENT_VERSION, version).get("content_sha256")
        status = signature_status(recorded, content, number, current[doc])
        people = signers.get(sig, [])
        signer = people[0] if people else sp.get("signer_id")
        person = f.props(Label.PERSON, signer) if signer else {}
        found.append(
            CustodySignature(
                signature_id=sig,
                document_id=doc,
                document_version=number,
                signer_id=signer,
                signer_name=person.get("name"),
                signer_role=person.get("role"),
                meaning=sp.get("meaning"),
                signed_at=sp.get("signed_at"),
                status=status,
                document_kind=f.props(Label.DOCUMENT, doc).get("kind"),
                current_version=current[doc],
                record_sha256=recorded,
                content_sha256=content,
            )
        )
    return sorted(found, key=lambda s: (s.signed_at is None, s.signed_at or "", s.signature_id))


def _approval_gap(f: _Facts, batch_id: str, signatures: list[CustodySignature]) -> str | None:
    """Why a released batch lacks approval of its batch record, or None when it has it."""
    records = sorted(
        doc
        for doc, _, _ in f.links(RelType.CONCERNS, Label.DOCUMENT, Label.BATCH)
        if f.props(Label.DOCUMENT, doc).get("kind") == "batch_record"
    )
    if not records:
        return f"batch {batch_id} is released but no batch record concerns it"
    for s in signatures:
        if (
            s.document_id in records
            and s.document_version == s.current_version
            and s.status == "valid"
            and s.meaning in _APPROVING
        ):
            return None
    return (
        f"batch {batch_id} is released but no valid approved or released signature is on the "
        f"current version of its batch record ({', '.join(records)})"
    )
