"""Evidence package of a lot (DESIGN §6; docs/EVIDENCE.md): one zip an auditor can keep.

``build_evidence`` answers the recall question for one lot and writes everything that
answer rests on, each file hashed in ``manifest.json``; ``verify_evidence`` re-reads a
package and names every file that changed, is missing, or was added.

Decisions:

- The scope is the recall's: the lot and its forward trace (the affected lots and the
  batches that consumed them). The GraphML subgraph adds the backward trace (where the lot
  came from), so the package shows both directions around the lot.
- Documents are those of every affected lot by the four path shapes of
  ``queries/documents.py``, plus those concerning a batch of the scope directly or through
  a deviation affecting it (a batch that consumed the lot but produced nothing yet still
  has its batch record). They are read for the whole scope at once, not lot by lot: one
  query per lot took 2.7 s for the 3,154 lots of a 100k-lot plant's largest recall.
- ``trace.epcis.jsonld`` is the lot's backward and forward traces as one GS1 EPCIS 2.0
  document (``queries/epcis_export.py``, docs/EPCIS.md "Export"), its ``creationDate``
  the package's ``created_at``, so its bytes are stable too. It came with format
  ``lotgraph-evidence/2``; a format 1 package (without it) still verifies.
- Signature status (valid / hash_mismatch / superseded) is computed by
  ``queries/custody.py``'s own code, from the same kind of links it reads for a batch.
- The audit extract is every audit entry whose key is one of the scope's lots and
  batches, or one of its documents, document versions or signatures.
- Bytes are stable: the same store content and ``now`` give the same zip (fixed file
  order, fixed zip timestamps from ``created_at``, sorted JSON lists, fixed GraphML order).
- ``manifest.json`` cannot hold its own hash. It carries ``manifest_digest``, the SHA-256
  of its RFC 8785 canonical JSON without that field, so any edit of it that does not also
  recompute the digest is caught; a deliberate edit is caught only against the manifest's
  own SHA-256 recorded elsewhere (printed by the CLI, sent by the API as a header), which
  ``verify_evidence(..., manifest_sha256=...)`` checks.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import time
import zipfile
import zlib
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any, Literal, TypeVar

import networkx as nx
import orjson
import rfc8785
from pydantic import BaseModel

from graph.model import Label, RelType
from graph.store import GraphStore, Hop, Props, Shape, StoredNode, format_utc, utc_now
from queries import custody
from queries.custody import CustodySignature
from queries.documents import LOT_SHAPES, vias
from queries.epcis_export import epcis_document
from queries.epcis_export import render as render_epcis
from queries.errors import InvalidQuery
from queries.evidence_report import number, render_report
from queries.recall import RecallResult, recall
from queries.snapshot import one_snapshot
from queries.trace import Direction, TraceResult, trace

T = TypeVar("T")

FORMAT = "lotgraph-evidence/2"
MANIFEST = "manifest.json"
REPORT = "report.html"
EPCIS_FILE = "trace.epcis.jsonld"
# The files of a package, in the order they are written into the zip.
DATA_FILES = (
    "recall.json",
    "recall.csv",
    "trace.graphml",
    EPCIS_FILE,
    "documents.json",
    "audit.json",
)
FILES = (MANIFEST, REPORT, *DATA_FILES)
# The files each format has: a package made before the EPCIS export (format 1) still verifies.
FORMAT_FILES = {
    "lotgraph-evidence/1": tuple(name for name in FILES if name != EPCIS_FILE),
    FORMAT: FILES,
}
_MANIFEST_KEYS = (
    "format",
    "lot",
    "created_at",
    "created_by",
    "lotgraph_version",
    "files",
    "manifest_digest",
)

Via = tuple[str, ...]


# -- documents.json ------------------------------------------------------------------------
class EvidenceVersion(BaseModel):
    id: str
    version: int
    current: bool
    content_sha256: str | None
    created_at: str | None
    created_by: str | None
    status: str | None


class EvidenceDocument(BaseModel):
    document_id: str
    kind: str | None
    title: str | None
    unresolved: bool
    current_version: int | None
    lots: list[str]  # affected lots it concerns (the four path shapes)
    batches: list[str]  # batches of the scope it concerns, directly or through a deviation
    via: list[list[str]]  # every path, document first, shortest first
    versions: list[EvidenceVersion]
    signatures: list[CustodySignature]


class EvidenceSigner(BaseModel):
    id: str
    name: str | None
    role: str | None
    site: str | None


class EvidenceDocuments(BaseModel):
    lot: str
    documents: list[EvidenceDocument]
    signature_status: dict[str, int]  # valid / hash_mismatch / superseded -> count
    signers: list[EvidenceSigner]


# -- what a package holds, before it is written ---------------------------------------------
@dataclass
class Evidence:
    """Everything a package is written from (the answers, and the few properties they lack)."""

    lot: str
    recall: RecallResult
    forward: TraceResult
    backward: TraceResult
    documents: EvidenceDocuments
    audit_keys: list[str]
    audit: list[dict[str, Any]]
    lot_props: dict[str, Props] = field(default_factory=dict)
    material_names: dict[str, str | None] = field(default_factory=dict)
    shipment_props: dict[str, Props] = field(default_factory=dict)
    # both traces as one EPCIS 2.0 document (queries/epcis_export.py); its creationDate is
    # set to the package's created_at when the package is written
    epcis: dict[str, Any] = field(default_factory=dict)

    def sites(self) -> set[str]:
        """Every site the package reaches: of its lots and batches, both trace directions."""
        found = {x.site for x in self.recall.lots} | {b.site for b in self.recall.batches}
        found |= {n.site for t in (self.forward, self.backward) for n in t.nodes}
        return {s for s in found if s is not None}


SiteCheck = Callable[[set[str]], None]


@one_snapshot
def collect_evidence(
    store: GraphStore,
    lot_id: str,
    *,
    check_sites: SiteCheck | None = None,
    timings: dict[str, float] | None = None,
) -> Evidence:
    """Read what the package of ``lot_id`` needs. ``check_sites`` sees every site the recall
    and the traces reach before documents and audit are read, and may raise to refuse;
    ``timings`` (for benchmarks) receives the seconds of each step."""
    clock = _Clock(timings)
    answer = clock("recall", recall, store, [lot_id])  # NotFound for an unknown lot
    forward = clock("trace forward", trace, store, lot_id, Direction.FORWARD)
    backward = clock("trace backward", trace, store, lot_id, Direction.BACKWARD)
    partial = Evidence(
        lot_id,
        answer,
        forward,
        backward,
        EvidenceDocuments(lot=lot_id, documents=[], signature_status={}, signers=[]),
        [],
        [],
    )
    if check_sites is not None:
        check_sites(partial.sites())
    lot_ids = [x.id for x in answer.lots]
    batch_ids = [x.id for x in answer.batches]
    documents = clock("documents", _documents, store, lot_id, lot_ids, batch_ids)
    keys = set(lot_ids) | set(batch_ids)
    for doc in documents.documents:
        keys.add(doc.document_id)
        keys.update(v.id for v in doc.versions)
        keys.update(s.signature_id for s in doc.signatures)
    audit_keys = sorted(keys)
    audit = clock("audit", store.audit_for_keys, audit_keys)
    lot_nodes = clock("lot properties", store.fetch_nodes, Label.LOT, lot_ids)
    materials = sorted({x.material_id for x in answer.lots if x.material_id is not None})
    material_nodes = store.fetch_nodes(Label.MATERIAL, materials)
    shipments = clock("shipments", store.fetch_nodes, Label.SHIPMENT, forward.shipments)
    epcis = clock("epcis", epcis_document, store, [backward, forward])
    return Evidence(
        lot=lot_id,
        recall=answer,
        forward=forward,
        backward=backward,
        documents=documents,
        audit_keys=audit_keys,
        audit=audit,
        lot_props={k: n.props for k, n in lot_nodes.items()},
        material_names={
            m: _text(material_nodes[m].props.get("name")) if m in material_nodes else None
            for m in materials
        },
        shipment_props={k: n.props for k, n in shipments.items()},
        epcis=epcis,
    )


class _Clock:
    """Runs a step and, when asked to, keeps its seconds."""

    def __init__(self, timings: dict[str, float] | None) -> None:
        self.timings = timings

    def __call__(self, name: str, step: Callable[..., T], *args: Any) -> T:
        if self.timings is None:
            return step(*args)
        started = time.perf_counter()
        try:
            return step(*args)
        finally:
            self.timings[name] = self.timings.get(name, 0.0) + time.perf_counter() - started


def build_evidence(
    store: GraphStore, lot_id: str, *, creator: str, now: str | None = None
) -> bytes:
    """The evidence package of ``lot_id`` as zip bytes; ``now`` (ISO 8601) fixes created_at."""
    return package(collect_evidence(store, lot_id), creator=creator, now=now)


def package(evidence: Evidence, *, creator: str, now: str | None = None) -> bytes:
    """Write the files of a package and zip them, manifest first."""
    created_at = _created_at(now)
    data = {
        "recall.json": _json_bytes(evidence.recall.model_dump(mode="json")),
        "recall.csv": recall_csv(evidence),
        "trace.graphml": trace_graphml(evidence),
        EPCIS_FILE: render_epcis({**evidence.epcis, "creationDate": created_at}),
        "documents.json": _json_bytes(evidence.documents.model_dump(mode="json")),
        "audit.json": _json_bytes(
            {
                "lot": evidence.lot,
                "keys": evidence.audit_keys,
                "count": len(evidence.audit),
                "entries": evidence.audit,
            }
        ),
    }
    hashes = {name: sha256_hex(content) for name, content in data.items()}
    version = lotgraph_version()
    files = {
        REPORT: render_report(
            evidence,
            created_at=created_at,
            created_by=creator,
            version=version,
            hashes=hashes,
            sizes={name: len(content) for name, content in data.items()},
        ),
        **data,
    }
    manifest = {
        "format": FORMAT,
        "lot": evidence.lot,
        "created_at": created_at,
        "created_by": creator,
        "lotgraph_version": version,
        "files": {name: sha256_hex(files[name]) for name in FILES if name != MANIFEST},
    }
    manifest["manifest_digest"] = manifest_digest(manifest)
    files[MANIFEST] = manifest_bytes(manifest)
    stamp = _zip_time(created_at)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        for name in FILES:
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # Unix, whatever the platform
            info.external_attr = 0o100644 << 16
            zf.writestr(info, files[name], compresslevel=6)
    return buffer.getvalue()


# -- helpers shared with the report and the verifier ---------------------------------------
def sha256_hex(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def manifest_sha256_of(content: bytes) -> str:
    """The SHA-256 of a package's manifest.json: the one hash to record or sign elsewhere."""
    with zipfile.ZipFile(io.BytesIO(content)) as zf:
        return sha256_hex(zf.read(MANIFEST))


def lotgraph_version() -> str:
    try:
        return metadata.version("lotgraph")
    except metadata.PackageNotFoundError:  # pragma: no cover - run from a bare checkout
        return "unknown"


def manifest_digest(manifest: dict[str, Any]) -> str:
    """SHA-256 of the manifest's RFC 8785 canonical JSON, without ``manifest_digest``."""
    content = {k: v for k, v in manifest.items() if k != "manifest_digest"}
    return sha256_hex(rfc8785.dumps(content))


def manifest_bytes(manifest: dict[str, Any]) -> bytes:
    """The one byte form of a manifest: its keys in the format's order, indented."""
    ordered = {k: manifest[k] for k in _MANIFEST_KEYS if k in manifest}
    ordered.update((k, manifest[k]) for k in sorted(manifest) if k not in ordered)
    return _json_bytes(ordered)


def _json_bytes(value: Any) -> bytes:
    """JSON as ``lotgraph ... --json`` prints it (indent 2, UTF-8, one final newline): the
    same bytes as ``json.dumps(value, indent=2, ensure_ascii=False)``, 20x faster."""
    return orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE)


def _created_at(now: str | None) -> str:
    if now is None:
        return utc_now()
    try:
        moment = datetime.fromisoformat(now.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidQuery(f"now: {now!r} is not an ISO 8601 time") from None
    if moment.tzinfo is None:
        raise InvalidQuery(f"now: {now!r} has no UTC offset")
    return format_utc(moment)


def _zip_time(created_at: str) -> tuple[int, int, int, int, int, int]:
    moment = datetime.fromisoformat(created_at.replace("Z", "+00:00")).astimezone(UTC)
    if moment.year < 1980:  # the zip format's epoch
        return (1980, 1, 1, 0, 0, 0)
    return (moment.year, moment.month, moment.day, moment.hour, moment.minute, moment.second)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


# -- recall.csv ----------------------------------------------------------------------------
CSV_COLUMNS = (
    "traceability_lot_code",
    "root",
    "depth",
    "product_id",
    "product_description",
    "quantity",
    "unit",
    "status",
    "location",
    "created_at",
    "expiry",
    "produced_by_batches",
    "consumed",
    "shipped",
    "on_hand",
    "on_hand_reported",
    "customers",
    "customer_names",
    "shipments",
    "first_shipped_at",
    "last_shipped_at",
    "unresolved",
)
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: str | None) -> str:
    """Text for a spreadsheet: a value that would start a formula is quoted with ``'``."""
    if not value:
        return ""
    return "'" + value if value.startswith(_FORMULA) else value


def recall_csv(evidence: Evidence) -> bytes:
    """One row per affected lot (FSMA 204 style key data elements), UTF-8 with BOM, CRLF."""
    depth = {n.id: n.depth for n in evidence.forward.nodes if n.label == str(Label.LOT)}
    produced_by: dict[str, set[str]] = defaultdict(set)
    for edges in (evidence.forward.edges, evidence.backward.edges):
        for a, rel_type, b in edges:
            if rel_type == RelType.PRODUCED:
                produced_by[b].add(a)
    to_customer: dict[str, set[str]] = defaultdict(set)
    shipments_of: dict[str, set[str]] = defaultdict(set)
    for a, rel_type, b in evidence.forward.edges:
        if rel_type == RelType.SHIPPED_IN:
            shipments_of[a].add(b)
        elif rel_type == RelType.TO:
            to_customer[a].add(b)
    names = {c.id: c.name for c in evidence.recall.customers}
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for lot in evidence.recall.lots:
        props = evidence.lot_props.get(lot.id, {})
        shipments = sorted(shipments_of.get(lot.id, ()))
        customers = sorted({c for s in shipments for c in to_customer.get(s, ())})
        dates = sorted(
            d
            for s in shipments
            if (d := _text(evidence.shipment_props.get(s, {}).get("shipped_at"))) is not None
        )
        material = lot.material_id
        writer.writerow(
            [
                _cell(lot.id),
                "yes" if lot.root else "no",
                str(depth.get(lot.id, 0)),
                _cell(material),
                _cell(evidence.material_names.get(material) if material else None),
                number(lot.quantity),
                _cell(lot.unit),
                _cell(lot.status),
                _cell(lot.site),
                _cell(_text(props.get("created_at"))),
                _cell(_text(props.get("expiry"))),
                _cell(";".join(sorted(produced_by.get(lot.id, ())))),
                number(lot.consumed),
                number(lot.shipped),
                number(lot.on_hand),
                "yes" if lot.on_hand_reported else "no",
                _cell(";".join(customers)),
                _cell(";".join(names.get(c) or "" for c in customers)),
                _cell(";".join(shipments)),
                _cell(dates[0] if dates else None),
                _cell(dates[-1] if dates else None),
                "yes" if lot.unresolved else "no",
            ]
        )
    return ("\ufeff" + out.getvalue()).encode("utf-8")


# -- trace.graphml -------------------------------------------------------------------------
def trace_graph(evidence: Evidence) -> nx.DiGraph:
    """The forward and backward traces together: nodes by id with label, site, direction and
    depth; one edge per (from, to) with its type (the two ends' labels fix the type)."""
    graph = nx.DiGraph(root=evidence.lot, format=FORMAT)
    seen: dict[str, dict[str, Any]] = {}
    for t, direction in ((evidence.forward, "forward"), (evidence.backward, "backward")):
        for n in t.nodes:
            attrs: dict[str, Any] = {"label": n.label, "direction": direction, "depth": n.depth}
            if n.site is not None:
                attrs["site"] = n.site
            if n.id == evidence.lot and n.depth == 0:
                attrs["direction"] = "root"
            seen.setdefault(n.id, attrs)
    order = sorted(seen, key=lambda i: (seen[i]["depth"], seen[i]["label"], i))
    graph.add_nodes_from((node_id, seen[node_id]) for node_id in order)
    edges = sorted(set(evidence.forward.edges) | set(evidence.backward.edges))
    graph.add_edges_from((a, b, {"type": rel_type}) for a, rel_type, b in edges)
    return graph


def trace_graphml(evidence: Evidence) -> bytes:
    buffer = io.BytesIO()
    # the plain-xml writer, so that the bytes do not depend on whether lxml is installed
    nx.write_graphml_xml(trace_graph(evidence), buffer, encoding="utf-8", prettyprint=True)
    return buffer.getvalue()


# -- documents: batched over the scope -----------------------------------------------------
_BATCH_SHAPES: tuple[Shape, ...] = (
    (Hop(RelType.CONCERNS, False, Label.DOCUMENT),),
    (Hop(RelType.AFFECTS, False, Label.DEVIATION), Hop(RelType.CONCERNS, False, Label.DOCUMENT)),
)
# From a document: itself, its versions, the signatures on them and their signers.
_VERSION_HOP = Hop(RelType.HAS_VERSION, True, Label.DOCUMENT_VERSION)
_SIGNS_HOP = Hop(RelType.SIGNS, False, Label.SIGNATURE)
_SIGNATURE_SHAPES: tuple[Shape, ...] = (
    (),
    (_VERSION_HOP,),
    (_VERSION_HOP, _SIGNS_HOP),
    (_VERSION_HOP, _SIGNS_HOP, Hop(RelType.SIGNED, False, Label.PERSON)),
)


def _documents(
    store: GraphStore, lot_id: str, lot_ids: list[str], batch_ids: list[str]
) -> EvidenceDocuments:
    lot_vias = _lot_vias(store, lot_ids)
    found = store.paths(Label.BATCH, batch_ids, _BATCH_SHAPES) if batch_ids else None
    batch_vias = vias(found, _BATCH_SHAPES, True) if found else set()
    return _assemble_documents(store, lot_id, lot_vias, batch_vias)


def _lot_vias(store: GraphStore, lot_ids: list[str]) -> set[Via]:
    """The four shapes of ``queries.documents`` for every lot at once (one query on Neo4j)."""
    if not lot_ids:
        return set()
    return vias(store.paths(Label.LOT, lot_ids, LOT_SHAPES), LOT_SHAPES, True)


def scope_lot_vias(store: GraphStore, lot_ids: list[str]) -> dict[str, set[Via]]:
    """Document paths to each lot, as ``queries.documents`` reads them, for many lots at once.

    (The tests check it against ``documents_for_lot`` lot by lot.)
    """
    grouped: dict[str, set[Via]] = defaultdict(set)
    for via in _lot_vias(store, lot_ids):
        grouped[via[-1]].add(via)
    return grouped


DocumentLinks = dict[custody.LinkKey, list[custody.Link]]
_NO_PROPS: Props = {}  # the links below carry no properties that custody reads


def _document_facts(
    store: GraphStore, document_ids: list[str]
) -> tuple[DocumentLinks, dict[Label, dict[str, StoredNode]]]:
    """HAS_VERSION, SIGNS and SIGNED around the documents, in custody's form
    ``{(type, source label, target label): [(source, target, props)]}``, and the nodes at
    their ends (the documents included): one ``paths`` read."""
    if not document_ids:
        return {}, {}
    found = store.paths(Label.DOCUMENT, document_ids, _SIGNATURE_SHAPES, with_nodes=True)
    has_version = {(doc, version) for doc, version in found.of_shape(1)}
    signs = {(signature, version) for _, version, signature in found.of_shape(2)}
    signed = {(person, signature) for _, _, signature, person in found.of_shape(3)}
    keyed = {
        (RelType.HAS_VERSION, Label.DOCUMENT, Label.DOCUMENT_VERSION): has_version,
        (RelType.SIGNS, Label.SIGNATURE, Label.DOCUMENT_VERSION): signs,
        (RelType.SIGNED, Label.PERSON, Label.SIGNATURE): signed,
    }
    links = {
        key: [(src, dst, _NO_PROPS) for src, dst in sorted(pairs_)]
        for key, pairs_ in keyed.items()
        if pairs_
    }
    return links, found.nodes


def _sorted_vias(vias: Iterable[Via]) -> list[list[str]]:
    return [list(v) for v in sorted(set(vias), key=lambda v: (len(v), v))]


def _assemble_documents(
    store: GraphStore, lot_id: str, lot_vias: set[Via], batch_vias: set[Via]
) -> EvidenceDocuments:
    by_doc: dict[str, set[Via]] = defaultdict(set)
    for via in lot_vias | batch_vias:
        by_doc[via[0]].add(via)
    doc_ids = sorted(by_doc)
    links, nodes = _document_facts(store, doc_ids)
    facts = custody._Facts(links, nodes)
    signatures = custody._signatures(facts)  # the status logic of the custody investigation
    by_document: dict[str, list[CustodySignature]] = defaultdict(list)
    for s in signatures:
        by_document[s.document_id].append(s)
    numbered: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for doc, version_id, _ in links.get(
        (RelType.HAS_VERSION, Label.DOCUMENT, Label.DOCUMENT_VERSION), []
    ):
        number = custody._version_number(
            version_id, facts.props(Label.DOCUMENT_VERSION, version_id)
        )
        numbered[doc].append((number, version_id))
    documents = []
    for doc_id in doc_ids:
        node = nodes.get(Label.DOCUMENT, {}).get(doc_id, StoredNode({}, True))
        own = sorted(numbered.get(doc_id, []))
        current = own[-1][0] if own else None
        versions = []
        for number, version_id in own:
            props = facts.props(Label.DOCUMENT_VERSION, version_id)
            versions.append(
                EvidenceVersion(
                    id=version_id,
                    version=number,
                    current=number == current,
                    content_sha256=_text(props.get("content_sha256")),
                    created_at=_text(props.get("created_at")),
                    created_by=_text(props.get("created_by")),
                    status=_text(props.get("status")),
                )
            )
        vias = by_doc[doc_id]
        documents.append(
            EvidenceDocument(
                document_id=doc_id,
                kind=_text(node.props.get("kind")),
                title=_text(node.props.get("title")),
                unresolved=node.unresolved,
                current_version=current,
                lots=sorted({v[-1] for v in vias if v in lot_vias}),
                batches=sorted({v[-1] for v in vias if v in batch_vias}),
                via=_sorted_vias(vias),
                versions=versions,
                signatures=by_document.get(doc_id, []),
            )
        )
    status = {"valid": 0, "hash_mismatch": 0, "superseded": 0}
    for s in signatures:
        status[s.status] += 1
    people = nodes.get(Label.PERSON, {})
    signer_ids = sorted({s.signer_id for s in signatures if s.signer_id is not None})
    signers = [
        EvidenceSigner(
            id=p,
            name=_text(people[p].props.get("name")) if p in people else None,
            role=_text(people[p].props.get("role")) if p in people else None,
            site=_text(people[p].props.get("site")) if p in people else None,
        )
        for p in signer_ids
    ]
    return EvidenceDocuments(
        lot=lot_id, documents=documents, signature_status=status, signers=signers
    )


# -- verification --------------------------------------------------------------------------
Problem = Literal["changed", "missing", "added", "manifest_unreadable"]


class EvidenceProblem(BaseModel):
    file: str
    problem: Problem
    detail: str


class EvidenceCheck(BaseModel):
    ok: bool
    problems: list[EvidenceProblem]
    manifest_sha256: str | None  # record this elsewhere: the manifest cannot hold its own hash
    lot: str | None = None
    created_at: str | None = None
    created_by: str | None = None


class EvidenceUnreadable(ValueError):
    """The package is not a zip that can be opened at all."""


_READ_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError)


def verify_evidence(
    source: bytes | str | Path, *, manifest_sha256: str | None = None
) -> EvidenceCheck:
    """Check a package against its manifest (and the manifest against a recorded hash)."""
    raw = source if isinstance(source, bytes) else Path(source).read_bytes()
    try:
        zf = zipfile.ZipFile(io.BytesIO(raw))
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise EvidenceUnreadable(f"not a readable zip: {exc}") from None
    problems: list[EvidenceProblem] = []

    def problem(name: str, kind: Problem, detail: str) -> None:
        problems.append(EvidenceProblem(file=name, problem=kind, detail=detail))

    with zf:
        members: dict[str, zipfile.ZipInfo] = {}
        for info in zf.infolist():
            if info.filename in members:
                problem(info.filename, "added", "a second file of this name is in the zip")
            else:
                members[info.filename] = info

        def read(name: str) -> bytes | None:
            try:
                return zf.read(members[name])
            except _READ_ERRORS as exc:
                problem(name, "changed", f"cannot be read from the zip: {exc}")
                return None

        if MANIFEST not in members:
            problem(MANIFEST, "missing", "the package has no manifest.json")
            return EvidenceCheck(ok=False, problems=problems, manifest_sha256=None)
        manifest_raw = read(MANIFEST)
        if manifest_raw is None:
            return EvidenceCheck(ok=False, problems=problems, manifest_sha256=None)
        manifest_hash = sha256_hex(manifest_raw)
        if manifest_sha256 is not None and manifest_sha256.strip().lower() != manifest_hash:
            problem(
                MANIFEST,
                "changed",
                f"its SHA-256 {manifest_hash} is not the recorded {manifest_sha256.strip()}",
            )
        manifest, why = _parse_manifest(manifest_raw)
        if manifest is None:
            problem(MANIFEST, "manifest_unreadable", why)
            return EvidenceCheck(ok=False, problems=problems, manifest_sha256=manifest_hash)
        if why:
            problem(MANIFEST, "changed", why)
        listed: dict[str, str] = manifest["files"]
        for name in FORMAT_FILES[manifest["format"]]:
            if name != MANIFEST and name not in listed:
                problem(name, "missing", "the package format has this file; the manifest omits it")
        for name, expected in listed.items():
            if name not in members:
                problem(name, "missing", "listed in the manifest, not in the zip")
                continue
            content = read(name)
            if content is not None and sha256_hex(content) != expected:
                problem(name, "changed", f"SHA-256 {sha256_hex(content)}, manifest says {expected}")
        for name in members:
            if name != MANIFEST and name not in listed:
                problem(name, "added", "in the zip, not in the manifest")
    order = {name: i for i, name in enumerate(FILES)}
    problems.sort(key=lambda p: (order.get(p.file, len(order)), p.file))
    return EvidenceCheck(
        ok=not problems,
        problems=problems,
        manifest_sha256=manifest_hash,
        lot=manifest.get("lot"),
        created_at=manifest.get("created_at"),
        created_by=manifest.get("created_by"),
    )


def _parse_manifest(raw: bytes) -> tuple[dict[str, Any] | None, str]:
    """(manifest, why it is not intact: "" when it is) or (None, why it cannot be read)."""
    try:
        value = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        return None, f"not UTF-8 JSON: {exc}"
    if not isinstance(value, dict):
        return None, "not a JSON object"
    files = value.get("files")
    if not isinstance(files, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in files.items()
    ):
        return None, "no 'files' object of file name -> SHA-256"
    for key in ("format", "lot", "created_at", "created_by", "manifest_digest"):
        if not isinstance(value.get(key), str):
            return None, f"no {key!r} text"
    if value["format"] not in FORMAT_FILES:
        return None, f"format {value['format']!r} is not one of {', '.join(FORMAT_FILES)}"
    if manifest_digest(value) != value["manifest_digest"]:
        return value, "its content does not match its manifest_digest (the manifest was edited)"
    if manifest_bytes(value) != raw:
        return value, "its bytes are not the manifest's one written form (the manifest was edited)"
    return value, ""
