"""The ``paths`` read primitive (GraphStore.paths) on both stores: each hop's label pinned,
parallel relationships one path, the start alone only where it exists, and node content
as ``fetch_nodes`` gives it."""

from __future__ import annotations

from graph.model import Label, RelType
from graph.store import (
    AuditEntry,
    GraphStore,
    Hop,
    NodeRef,
    NodeWrite,
    RelRef,
    RelWrite,
    Shape,
    WriteBatch,
    fingerprint,
)
from queries.documents import DOCUMENT_SHAPES, LOT_SHAPES

_PROVENANCE = {"source": "test"}


def _node(label: Label, node_id: str, **props: object) -> NodeWrite:
    content = {"id": node_id, **props}
    return NodeWrite(NodeRef(label, node_id), content, _PROVENANCE, fingerprint(content))


def _rel(rel_type: RelType, src: NodeRef, dst: NodeRef, key: str = "") -> RelWrite:
    return RelWrite(RelRef(rel_type, src, dst, key), {}, _PROVENANCE, fingerprint({}))


def _build(store: GraphStore) -> None:
    lot, batch, dev = (
        NodeRef(Label.LOT, "L1"),
        NodeRef(Label.BATCH, "B1"),
        NodeRef(Label.DEVIATION, "V1"),
    )
    same_id_batch = NodeRef(Label.BATCH, "L1")  # a batch sharing the lot's id
    docs = {d: NodeRef(Label.DOCUMENT, d) for d in ("D1", "D2", "D3", "D4")}
    store.apply(
        WriteBatch(
            nodes=[
                _node(Label.LOT, "L1", status="released"),
                _node(Label.LOT, "L2", status="quarantine"),
                _node(Label.BATCH, "B1", site="SITE-A"),
                _node(Label.BATCH, "L1", site="SITE-B"),
                _node(Label.DEVIATION, "V1", severity="major"),
                _node(Label.DOCUMENT, "D1", title="batch record"),
                _node(Label.DOCUMENT, "D2", title="CoA"),
                _node(Label.DOCUMENT, "D4", title="of the other batch"),
                # D3 is only referenced: a placeholder
            ],
            rels=[
                _rel(RelType.PRODUCED, batch, lot),
                _rel(RelType.AFFECTS, dev, batch),
                _rel(RelType.CONCERNS, docs["D1"], lot, "a"),
                _rel(RelType.CONCERNS, docs["D1"], lot, "b"),  # parallel: still one path
                _rel(RelType.CONCERNS, docs["D2"], batch),
                _rel(RelType.CONCERNS, docs["D3"], dev),
                _rel(RelType.CONCERNS, docs["D4"], same_id_batch),
            ],
            audit=[AuditEntry("test", "create", "Graph", "paths", None, None, "", "test")],
        )
    )


def test_paths_follow_the_shapes_with_each_label_pinned(store: GraphStore) -> None:
    _build(store)
    shapes: tuple[Shape, ...] = ((), *LOT_SHAPES)
    found = store.paths(Label.LOT, ["L1", "L2", "NOPE"], shapes)
    assert found.paths == [
        (0, ("L1",)),
        (0, ("L2",)),
        (1, ("L1", "D1")),
        (2, ("L1", "B1", "D2")),
        (4, ("L1", "B1", "V1", "D3")),
    ]
    assert found.nodes == {}  # not asked for
    assert found.of_shape(2) == [("L1", "B1", "D2")]
    # from the other end, the same relation
    back = store.paths(Label.DOCUMENT, ["D1", "D2", "D3", "D4"], DOCUMENT_SHAPES)
    assert back.paths == [
        (0, ("D1", "L1")),
        (1, ("D2", "B1", "L1")),
        (3, ("D3", "V1", "B1", "L1")),
    ]
    assert store.paths(Label.LOT, [], shapes).paths == []
    # a hop pins the label it reaches: no Deviation CONCERNS anything here
    assert (
        store.paths(Label.LOT, ["L1"], ((Hop(RelType.CONCERNS, False, Label.DEVIATION),),)).paths
        == []
    )


def test_paths_give_the_nodes_content_as_fetch_nodes_does(store: GraphStore) -> None:
    _build(store)
    found = store.paths(Label.LOT, ["L1", "L2"], ((), *LOT_SHAPES), with_nodes=True)
    expected_ids = {
        Label.LOT: ["L1", "L2"],
        Label.BATCH: ["B1"],
        Label.DEVIATION: ["V1"],
        Label.DOCUMENT: ["D1", "D2", "D3"],
    }
    assert sorted(found.nodes) == sorted(expected_ids)
    for label, ids in expected_ids.items():
        assert found.nodes[label] == store.fetch_nodes(label, ids)
    assert found.nodes[Label.DOCUMENT]["D3"].unresolved
    assert not found.nodes[Label.DOCUMENT]["D1"].unresolved
    # the start's content comes only with the shape (): here the lots are no path's end
    only_hops = store.paths(Label.LOT, ["L1"], LOT_SHAPES[:1], with_nodes=True)
    assert sorted(only_hops.nodes) == [Label.DOCUMENT]
    assert only_hops.nodes[Label.DOCUMENT] == store.fetch_nodes(Label.DOCUMENT, ["D1"])
