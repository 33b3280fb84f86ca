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
- The stores only follow the four shapes (``GraphStore.paths``, one query on Neo4j) and
  read the version numbers; one function here builds the answer from them, so both stores
  answer identically by construction.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import BaseModel

from graph.model import Label, RelType
from graph.store import FoundPaths, GraphStore, Hop, Shape, StoredNode
from queries.errors import NotFound
from queries.snapshot import one_snapshot

Via = tuple[str, ...]
"""A path from a document to a lot: node id, TYPE, node id, ..., read document-first."""


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


# The four shapes, read from the lot (every relationship arrives at it) ...
LOT_SHAPES: tuple[Shape, ...] = (
    (Hop(RelType.CONCERNS, False, Label.DOCUMENT),),
    (Hop(RelType.PRODUCED, False, Label.BATCH), Hop(RelType.CONCERNS, False, Label.DOCUMENT)),
    (Hop(RelType.AFFECTS, False, Label.DEVIATION), Hop(RelType.CONCERNS, False, Label.DOCUMENT)),
    (
        Hop(RelType.PRODUCED, False, Label.BATCH),
        Hop(RelType.AFFECTS, False, Label.DEVIATION),
        Hop(RelType.CONCERNS, False, Label.DOCUMENT),
    ),
)
# ... and from the document (every relationship leaves it)
DOCUMENT_SHAPES: tuple[Shape, ...] = (
    (Hop(RelType.CONCERNS, True, Label.LOT),),
    (Hop(RelType.CONCERNS, True, Label.BATCH), Hop(RelType.PRODUCED, True, Label.LOT)),
    (Hop(RelType.CONCERNS, True, Label.DEVIATION), Hop(RelType.AFFECTS, True, Label.LOT)),
    (
        Hop(RelType.CONCERNS, True, Label.DEVIATION),
        Hop(RelType.AFFECTS, True, Label.BATCH),
        Hop(RelType.PRODUCED, True, Label.LOT),
    ),
)
_VERSIONS: tuple[Shape, ...] = ((Hop(RelType.HAS_VERSION, True, Label.DOCUMENT_VERSION),),)


def vias(found: FoundPaths, shapes: Sequence[Shape], towards_start: bool) -> set[Via]:
    """Each path found as a via (node ids and relationship types), read from its far end
    when ``towards_start`` (every relationship points to the start), else from the start."""
    result: set[Via] = set()
    for index, ids in found.paths:
        types = [str(h.rel_type) for h in shapes[index]]
        if not types:
            continue  # the start alone
        via = [ids[0]]
        for rel_type, node_id in zip(types, ids[1:], strict=True):
            via += [rel_type, node_id]
        result.add(tuple(reversed(via)) if towards_start else tuple(via))
    return result


@one_snapshot
def documents_for_lot(store: GraphStore, lot_id: str) -> LotDocuments:
    shapes = ((), *LOT_SHAPES)  # the lot itself too, whether or not it has documents
    found = store.paths(Label.LOT, [lot_id], shapes, with_nodes=True)
    root = _root(found, Label.LOT, lot_id)
    return _lot_answer(store, lot_id, root, vias(found, shapes, True), found)


@one_snapshot
def lots_for_document(store: GraphStore, document_id: str) -> DocumentLots:
    shapes = ((), *DOCUMENT_SHAPES)
    found = store.paths(Label.DOCUMENT, [document_id], shapes, with_nodes=True)
    root = _root(found, Label.DOCUMENT, document_id)
    return _document_answer(store, document_id, root, vias(found, shapes, False), found)


# -- the one assembly both stores share --------------------------------------------------
def _root(found: FoundPaths, label: Label, node_id: str) -> StoredNode:
    node = found.nodes.get(label, {}).get(node_id)
    if node is None:
        raise NotFound(str(label), node_id)
    return node


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


def _lot_answer(
    store: GraphStore, lot_id: str, root: StoredNode, vias: set[Via], found: FoundPaths
) -> LotDocuments:
    by_document = _group(vias, 0)
    ids = sorted(by_document)
    nodes = found.nodes.get(Label.DOCUMENT, {})
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
    store: GraphStore, document_id: str, root: StoredNode, vias: set[Via], found: FoundPaths
) -> DocumentLots:
    by_lot = _group(vias, -1)
    ids = sorted(by_lot)
    nodes = found.nodes.get(Label.LOT, {})
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
    found = store.paths(Label.DOCUMENT, document_ids, _VERSIONS, with_nodes=True)
    versions = found.nodes.get(Label.DOCUMENT_VERSION, {})
    current: dict[str, int] = {}
    for doc_id, version_id in found.of_shape(0):
        version = versions[version_id].props.get("version")
        # bool is an int too; a version is never one.
        if isinstance(version, int) and not isinstance(version, bool):
            current[doc_id] = max(version, current.get(doc_id, version))
    return current
