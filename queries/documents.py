"""Lot <-> document, both directions, each hit with the paths that link it (DESIGN §4).

Decisions:

- The relation is exactly four path shapes, read document-first as alternating node ids
  and relationship types: ``D CONCERNS L``, ``D CONCERNS B PRODUCED L``,
  ``D CONCERNS V AFFECTS L`` and ``D CONCERNS V AFFECTS B PRODUCED L`` (Document D,
  Batch B, Deviation V, Lot L). Both directions read the same paths, so a lot lists a
  document iff the document lists the lot, with the same ``via``.
- Consumption never links: the documents of a batch that consumed a lot are not the
  lot's documents (that is what a trace is for).
- One entry per document (or lot) with all its distinct paths, shortest first, then in
  text order; entries are sorted by id.
- ``current_version`` is the highest ``version`` among the document's HAS_VERSION
  versions, ``None`` when it has none (a placeholder document).
- A placeholder (a document or lot referenced before it arrived) is answered like any
  node, with ``unresolved: true`` and ``None`` for the properties it does not have yet;
  the root may be one. A root that does not exist at all raises NotFound.
- Each store only fetches the raw paths and version numbers; one function here builds
  the answer from them, so both stores answer identically by construction.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from graph.cypher_files import read_cypher
from graph.embedded import EmbeddedStore
from graph.model import Label, RelType
from graph.neo4j_store import Neo4jStore
from graph.store import GraphStore, StoredNode
from queries.embedded_graph import pairs
from queries.errors import NotFound
from queries.snapshot import one_snapshot

_HERE = Path(__file__).parent

Via = tuple[str, ...]
"""A path from a document to a lot: node id, TYPE, node id, ..., read document-first."""

_CONCERNS = str(RelType.CONCERNS)
_PRODUCED = str(RelType.PRODUCED)
_AFFECTS = str(RelType.AFFECTS)


class LotDocument(BaseModel):
    """A document of a lot, with every path from it to the lot."""

    document_id: str
    kind: str | None
    title: str | None
    current_version: int | None
    unresolved: bool
    via: list[list[str]]


class LotDocuments(BaseModel):
    lot: str
    status: str | None
    unresolved: bool
    documents: list[LotDocument]


class DocumentLot(BaseModel):
    """A lot a document concerns, with every path from the document to it."""

    lot_id: str
    status: str | None
    material_id: str | None
    site: str | None
    unresolved: bool
    via: list[list[str]]


class DocumentLots(BaseModel):
    document: str
    kind: str | None
    title: str | None
    current_version: int | None
    unresolved: bool
    lots: list[DocumentLot]


@one_snapshot
def documents_for_lot(store: GraphStore, lot_id: str) -> LotDocuments:
    root = _root(store, Label.LOT, lot_id)
    if isinstance(store, Neo4jStore):
        vias = _neo4j_vias(store, "documents_for_lot", lot_id=lot_id)
    elif isinstance(store, EmbeddedStore):
        vias = _embedded_vias_to_lot(store, lot_id)
    else:  # pragma: no cover - a new store must implement every investigation
        raise TypeError(f"no documents query for store {type(store).__name__}")
    return _lot_answer(store, lot_id, root, vias)


@one_snapshot
def lots_for_document(store: GraphStore, document_id: str) -> DocumentLots:
    root = _root(store, Label.DOCUMENT, document_id)
    if isinstance(store, Neo4jStore):
        vias = _neo4j_vias(store, "documents_lots_for_document", document_id=document_id)
    elif isinstance(store, EmbeddedStore):
        vias = _embedded_vias_from_document(store, document_id)
    else:  # pragma: no cover - a new store must implement every investigation
        raise TypeError(f"no documents query for store {type(store).__name__}")
    return _document_answer(store, document_id, root, vias)


# -- the one assembly both stores share --------------------------------------------------
def _root(store: GraphStore, label: Label, node_id: str) -> StoredNode:
    found = store.fetch_nodes(label, [node_id])
    if node_id not in found:
        raise NotFound(str(label), node_id)
    return found[node_id]


def _sorted_vias(vias: Iterable[Via]) -> list[list[str]]:
    return [list(v) for v in sorted(set(vias), key=lambda v: (len(v), v))]


def _group(vias: Iterable[Via], end: int) -> dict[str, list[Via]]:
    grouped: dict[str, list[Via]] = defaultdict(list)
    for via in vias:
        grouped[via[end]].append(via)
    return grouped


def _text(props: dict[str, Any], key: str) -> str | None:
    value = props.get(key)
    return None if value is None else str(value)


def _lot_answer(store: GraphStore, lot_id: str, root: StoredNode, vias: set[Via]) -> LotDocuments:
    by_document = _group(vias, 0)
    ids = sorted(by_document)
    nodes = store.fetch_nodes(Label.DOCUMENT, ids)
    versions = _current_versions(store, ids)
    documents = []
    for doc_id in ids:
        # A path always ends in a node, so a missing one would be a store bug: show it unresolved.
        node = nodes.get(doc_id, StoredNode({}, True))
        documents.append(
            LotDocument(
                document_id=doc_id,
                kind=_text(node.props, "kind"),
                title=_text(node.props, "title"),
                current_version=versions.get(doc_id),
                unresolved=node.unresolved,
                via=_sorted_vias(by_document[doc_id]),
            )
        )
    return LotDocuments(
        lot=lot_id,
        status=_text(root.props, "status"),
        unresolved=root.unresolved,
        documents=documents,
    )


def _document_answer(
    store: GraphStore, document_id: str, root: StoredNode, vias: set[Via]
) -> DocumentLots:
    by_lot = _group(vias, -1)
    ids = sorted(by_lot)
    nodes = store.fetch_nodes(Label.LOT, ids)
    lots = []
    for lot_id in ids:
        node = nodes.get(lot_id, StoredNode({}, True))
        lots.append(
            DocumentLot(
                lot_id=lot_id,
                status=_text(node.props, "status"),
                material_id=_text(node.props, "material_id"),
                site=_text(node.props, "site"),
                unresolved=node.unresolved,
                via=_sorted_vias(by_lot[lot_id]),
            )
        )
    return DocumentLots(
        document=document_id,
        kind=_text(root.props, "kind"),
        title=_text(root.props, "title"),
        current_version=_current_versions(store, [document_id]).get(document_id),
        unresolved=root.unresolved,
        lots=lots,
    )


def _current_versions(store: GraphStore, document_ids: list[str]) -> dict[str, int]:
    if not document_ids:
        return {}
    if isinstance(store, Neo4jStore):
        (row,) = store.read(read_cypher("documents_versions", _HERE), ids=document_ids)
        found = [(d, v) for d, v in row["found"]]
    elif isinstance(store, EmbeddedStore):
        found = _embedded_versions(store, document_ids)
    else:  # pragma: no cover - a new store must implement every investigation
        raise TypeError(f"no documents query for store {type(store).__name__}")
    current: dict[str, int] = {}
    for doc_id, version in found:
        # bool is an int too; a version is never one.
        if isinstance(version, int) and not isinstance(version, bool):
            current[doc_id] = max(version, current.get(doc_id, version))
    return current


# -- Neo4j -------------------------------------------------------------------------------
def _neo4j_vias(store: Neo4jStore, name: str, **params: str) -> set[Via]:
    rows = store.read(read_cypher(name, _HERE), **params)
    return {tuple(via) for row in rows for via in row["vias"]}


# -- embedded ----------------------------------------------------------------------------
# ``pairs`` pins the label of the ids it is given, not of the far end. The far end's label
# follows from the model: only a Document CONCERNS a Lot, Batch or Deviation (a
# SupplierChange concerns Materials only), only a Deviation AFFECTS, only a Batch PRODUCED.
def _embedded_vias_to_lot(store: EmbeddedStore, lot_id: str) -> set[Via]:
    vias: set[Via] = {
        (doc, _CONCERNS, lot_id)
        for doc, _ in pairs(store, Label.LOT, [lot_id], RelType.CONCERNS, False)
    }
    producers = {b for b, _ in pairs(store, Label.LOT, [lot_id], RelType.PRODUCED, False)}
    vias.update(
        (doc, _CONCERNS, b, _PRODUCED, lot_id)
        for doc, b in pairs(store, Label.BATCH, producers, RelType.CONCERNS, False)
    )
    # Each deviation with the rest of its path to the lot, after the deviation.
    tails: dict[str, list[Via]] = defaultdict(list)
    for dev, _ in pairs(store, Label.LOT, [lot_id], RelType.AFFECTS, False):
        tails[dev].append((_AFFECTS, lot_id))
    for dev, b in pairs(store, Label.BATCH, producers, RelType.AFFECTS, False):
        tails[dev].append((_AFFECTS, b, _PRODUCED, lot_id))
    for doc, dev in pairs(store, Label.DEVIATION, tails, RelType.CONCERNS, False):
        vias.update((doc, _CONCERNS, dev, *tail) for tail in tails[dev])
    return vias


def _embedded_vias_from_document(store: EmbeddedStore, document_id: str) -> set[Via]:
    targets = {t for _, t in pairs(store, Label.DOCUMENT, [document_id], RelType.CONCERNS, True)}

    def concerned(label: Label) -> set[str]:
        # Asked from the targets' side, which pins their label: a Batch and a Lot may share an id.
        found = pairs(store, label, targets, RelType.CONCERNS, False)
        return {t for doc, t in found if doc == document_id}

    vias: set[Via] = {(document_id, _CONCERNS, lot) for lot in concerned(Label.LOT)}
    vias.update(
        (document_id, _CONCERNS, b, _PRODUCED, lot)
        for b, lot in pairs(store, Label.BATCH, concerned(Label.BATCH), RelType.PRODUCED, True)
    )
    deviations = concerned(Label.DEVIATION)
    affected = {t for _, t in pairs(store, Label.DEVIATION, deviations, RelType.AFFECTS, True)}
    vias.update(
        (document_id, _CONCERNS, dev, _AFFECTS, lot)
        for dev, lot in pairs(store, Label.LOT, affected, RelType.AFFECTS, False)
        if dev in deviations
    )
    affected_batches = [
        (dev, b)
        for dev, b in pairs(store, Label.BATCH, affected, RelType.AFFECTS, False)
        if dev in deviations
    ]
    outputs = _group(
        pairs(store, Label.BATCH, {b for _, b in affected_batches}, RelType.PRODUCED, True), 0
    )
    for dev, b in affected_batches:
        vias.update(
            (document_id, _CONCERNS, dev, _AFFECTS, b, _PRODUCED, lot) for _, lot in outputs[b]
        )
    return vias


def _embedded_versions(store: EmbeddedStore, document_ids: list[str]) -> list[tuple[str, Any]]:
    links = pairs(store, Label.DOCUMENT, document_ids, RelType.HAS_VERSION, True)
    versions = store.fetch_nodes(Label.DOCUMENT_VERSION, sorted({v for _, v in links}))
    return [(doc, versions[v].props.get("version")) for doc, v in links if v in versions]
