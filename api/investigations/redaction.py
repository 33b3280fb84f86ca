"""Site scope: refuse roots outside the caller's sites, redact other nodes in answers.

A node is in scope when it has no site (suppliers, customers, documents, materials are
shared reference data) or its site is one of the caller's. Identifiers stay (they are
how the graph is read); every property of an out-of-scope node goes.
"""

from __future__ import annotations

from collections.abc import Iterable

from api.auth.schemas import Caller
from api.errors import Forbidden
from api.investigations.schemas import (
    AnalyteResultsOut,
    CustodyOut,
    DocumentLotsOut,
    ImpactOut,
    ImpurityOut,
    PartialCustomer,
    RecallOut,
    Redacted,
    RedactedEvent,
    TraceOut,
)
from graph.model import Label
from graph.store import GraphStore
from queries.analyte import AnalyteResults
from queries.batch_release import ReleaseChecklist, redact_findings
from queries.custody import CustodyResult
from queries.documents import DocumentLots
from queries.epcis_export import Hidden
from queries.impact import ImpactResult
from queries.impurity import ImpurityResult
from queries.recall import RecallResult
from queries.trace import TraceResult


def sites_of(store: GraphStore, label: Label, ids: Iterable[str]) -> dict[str, str | None]:
    wanted = sorted(set(ids))
    found = store.fetch_nodes(label, wanted)
    return {i: (found[i].props.get("site") if i in found else None) for i in wanted}


def check_site(caller: Caller, label: str, key: str, site: str | None) -> None:
    if not caller.sees(site):
        raise Forbidden(f"{label.lower()} {key!r} is at site {site!r}, outside your sites")


def check_sites(caller: Caller, store: GraphStore, label: Label, ids: Iterable[str]) -> None:
    if caller.all_sites:
        return
    for key, site in sites_of(store, label, ids).items():
        check_site(caller, str(label), key, site)


def trace_out(caller: Caller, answer: TraceResult) -> TraceOut:
    root = next(n for n in answer.nodes if n.id == answer.root and n.depth == 0)
    check_site(caller, "Lot", answer.root, root.site)
    nodes = [n if caller.sees(n.site) else Redacted(id=n.id, label=n.label) for n in answer.nodes]
    return TraceOut(**{**dict(answer), "nodes": nodes})


def epcis_hidden(caller: Caller, answer: TraceResult) -> Hidden:
    """What an EPCIS export of a trace hides from the caller: the lots and batches the
    trace answer would redact (``trace_out``), after refusing a root outside its sites."""
    root = next(n for n in answer.nodes if n.id == answer.root and n.depth == 0)
    check_site(caller, "Lot", answer.root, root.site)
    unseen = [n for n in answer.nodes if not caller.sees(n.site)]
    return Hidden(
        lots=frozenset(n.id for n in unseen if n.label == str(Label.LOT)),
        batches=frozenset(n.id for n in unseen if n.label == str(Label.BATCH)),
    )


def recall_out(caller: Caller, answer: RecallResult) -> RecallOut:
    hidden = {lot.id for lot in answer.lots if not caller.sees(lot.site)}
    for lot in answer.lots:
        if lot.root:
            check_site(caller, "Lot", lot.id, lot.site)
    customers = [
        PartialCustomer(
            id=c.id,
            name=c.name,
            lots=c.lots,
            shipments=c.shipments,
            redacted_lots=sorted(hidden.intersection(c.lots)),
        )
        if hidden.intersection(c.lots)
        else c
        for c in answer.customers
    ]
    return RecallOut(
        **{
            **dict(answer),
            "lots": [
                Redacted(id=lot.id, label="Lot") if lot.id in hidden else lot for lot in answer.lots
            ],
            "batches": [
                b if caller.sees(b.site) else Redacted(id=b.id, label="Batch")
                for b in answer.batches
            ],
            "customers": customers,
        }
    )


def impact_out(caller: Caller, answer: ImpactResult) -> ImpactOut:
    open_batches = [
        b if caller.sees(b.site) else Redacted(id=b.id, label="Batch") for b in answer.open_batches
    ]
    return ImpactOut(**{**dict(answer), "open_batches": open_batches})


def impurity_out(caller: Caller, store: GraphStore, answer: ImpurityResult) -> ImpurityOut:
    if caller.all_sites:
        return ImpurityOut(**dict(answer))
    sites = {
        **{("lot", i): s for i, s in sites_of(store, Label.LOT, _units(answer, "lot")).items()},
        **{
            ("batch", i): s
            for i, s in sites_of(store, Label.BATCH, _units(answer, "batch")).items()
        },
    }
    flagged = [
        f
        if caller.sees(sites.get((f.unit_kind.lower(), f.unit_id)))
        and caller.sees(sites.get((f.target_kind.lower(), f.target_id)))
        else Redacted(id=f.result_id, label="TestResult")
        for f in answer.flagged
    ]
    # the counts say what the caller can see, and how many units are hidden
    visible = {site: n for site, n in answer.units_by_site.items() if caller.sees(site or None)}
    return ImpurityOut(
        **{
            **dict(answer),
            "flagged": flagged,
            "units_by_site": visible,
            "units_tested": sum(visible.values()),
            "units_hidden": answer.units_tested - sum(visible.values()),
        }
    )


def _units(answer: ImpurityResult, kind: str) -> set[str]:
    # the answer names kinds by label ("Lot", "Batch")
    units = {f.unit_id for f in answer.flagged if f.unit_kind.lower() == kind}
    return units | {f.target_id for f in answer.flagged if f.target_kind.lower() == kind}


def custody_out(caller: Caller, store: GraphStore, answer: CustodyResult) -> CustodyOut:
    check_site(caller, "Batch", answer.batch, answer.site)
    if caller.all_sites:
        return CustodyOut(**dict(answer))
    lots = {lot for e in answer.events if (lot := _event_lot(e)) is not None}
    sites = sites_of(store, Label.LOT, lots)
    events = [
        RedactedEvent(kind=e.kind, id=e.id)
        if (lot := _event_lot(e)) is not None and not caller.sees(sites.get(lot))
        else e
        for e in answer.events
    ]
    # a signer at a site the caller may not see is named by id only
    signers = sites_of(store, Label.PERSON, {s.signer_id for s in answer.signatures if s.signer_id})
    signatures = [
        s
        if s.signer_id is None or caller.sees(signers.get(s.signer_id))
        else s.model_copy(update={"signer_name": None, "signer_role": None})
        for s in answer.signatures
    ]
    return CustodyOut(**{**dict(answer), "events": events, "signatures": signatures})


def _event_lot(event: object) -> str | None:
    lot = getattr(event, "lot", None)
    if lot is None and getattr(event, "target_kind", None) == "lot":
        lot = getattr(event, "target", None)
    return lot


def document_lots_out(caller: Caller, answer: DocumentLots) -> DocumentLotsOut:
    lots = [
        lot if caller.sees(lot.site) else Redacted(id=lot.lot_id, label="Lot")
        for lot in answer.lots
    ]
    return DocumentLotsOut(**{**dict(answer), "lots": lots})


def analyte_results_out(caller: Caller, answer: AnalyteResults) -> AnalyteResultsOut:
    results = [
        p if caller.sees(p.site) else Redacted(id=p.result_id, label="TestResult")
        for p in answer.results
    ]
    return AnalyteResultsOut(**{**dict(answer), "results": results})


def release_checklists_out(
    caller: Caller, store: GraphStore, checklists: list[ReleaseChecklist]
) -> list[ReleaseChecklist]:
    """Each checklist with the findings about lots or batches outside the caller's sites
    reduced to their kind and id."""
    if caller.all_sites:
        return checklists
    targets: dict[str, set[str]] = {}
    for checklist in checklists:
        for f in checklist.findings:
            if f.target is not None and f.target_label is not None:
                targets.setdefault(f.target_label, set()).add(f.target)
    hidden = {
        key
        for label, ids in targets.items()
        for key, site in sites_of(store, Label(label), ids).items()
        if not caller.sees(site)
    }
    return [redact_findings(c, hidden) for c in checklists]
