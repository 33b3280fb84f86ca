"""An exported trace imported into an empty store gives the same trace (issue 15): plants
generated from random seeds (printed), exported and imported on each store."""

from __future__ import annotations

import csv
import random
from pathlib import Path

from graph.embedded import EmbeddedStore
from graph.model import Label
from graph.neo4j_store import Neo4jStore
from graph.store import GraphStore
from ingest.epcis.document import read_document
from ingest.epcis.importer import ingest_epcis
from ingest.loader import ingest_bundle
from ingest.synthetic import generate_plant
from queries.epcis_export import export_trace, render
from queries.trace import Direction, TraceResult, trace

LOTS = 200
PICKED = 4


def _emptied(store: GraphStore, tmp_path: Path, n: int) -> GraphStore:
    """An empty store of the same kind."""
    if isinstance(store, Neo4jStore):
        store.clear()
        store.ensure_schema()
        return store
    empty = EmbeddedStore(tmp_path / f"empty-{n}.sqlite")
    empty.ensure_schema()
    return empty


LOT_FIELDS = ("material_id", "site", "quantity", "unit", "status", "created_at", "expiry")
BATCH_FIELDS = ("product_material_id", "site", "status", "started_at", "completed_at")


def _facts(store: GraphStore, found: TraceResult) -> dict[str, dict[str, list[object]]]:
    """What the store holds about the trace's lots and batches."""
    lots = store.fetch_nodes(Label.LOT, [found.root, *found.lots])
    batches = store.fetch_nodes(Label.BATCH, found.batches)
    return {
        "lots": {i: [n.props.get(f) for f in LOT_FIELDS] for i, n in sorted(lots.items())},
        "batches": {i: [n.props.get(f) for f in BATCH_FIELDS] for i, n in sorted(batches.items())},
    }


def _shape(found: TraceResult) -> dict[str, object]:
    """What a trace answers: its lots, batches, customers and shipments, its edges, and
    each node's depth and site."""
    return {
        "lots": sorted(found.lots),
        "batches": sorted(found.batches),
        "customers": sorted(found.customers),
        "shipments": sorted(found.shipments),
        "edges": sorted(found.edges),
        "nodes": sorted((n.label, n.id, n.depth, n.site) for n in found.nodes),
    }


def test_an_exported_trace_imported_into_an_empty_store_traces_the_same(
    store: GraphStore, tmp_path: Path
) -> None:
    seed = random.randrange(1_000_000)
    print(f"round trip: plant seed {seed}")
    rng = random.Random(seed)
    plant = generate_plant(lots=LOTS, seed=seed, out=tmp_path / "plant")
    assert ingest_bundle(store, plant.out, actor="test").total("rejected") == 0
    with (plant.out / "lots.csv").open(encoding="utf-8") as fh:
        lots = [row["lot_id"] for row in csv.DictReader(fh)]
    # the planted lot (a deep genealogy) and lots drawn from the seed
    picked = sorted({plant.planted["lot"], *rng.sample(lots, PICKED)})
    exports = [
        (lot, direction, found, _facts(store, found), export_trace(store, lot, direction))
        for lot in picked
        for direction in Direction
        for found in [trace(store, lot, direction)]
    ]

    for n, (lot, direction, before, held, document) in enumerate(exports):
        target = _emptied(store, tmp_path, n)
        read = read_document(render(document), name=f"{lot}-{direction}.jsonld")
        assert read.problems == [], read.problems[:3]
        report = ingest_epcis(target, read, actor="test", label=f"round trip {lot}")
        assert report.total("rejected") == 0, report.rejections[:3]
        assert report.events is not None and report.events["rejected"] == 0, report.events
        after = trace(target, lot, direction)
        shown, expected = _shape(after), _shape(before)
        assert shown == expected, {
            (lot, direction, key): (
                sorted(set(map(str, shown[key])) - set(map(str, expected[key])))[:5],
                sorted(set(map(str, expected[key])) - set(map(str, shown[key])))[:5],
            )
            for key in expected
            if shown[key] != expected[key]
        }
        now = _facts(target, after)
        assert lot in held["lots"] and now["lots"][lot][0] is not None
        for kind in ("lots", "batches"):
            differ = {
                i: (now[kind].get(i), v) for i, v in held[kind].items() if now[kind].get(i) != v
            }
            assert not differ, (lot, direction, kind, dict(list(differ.items())[:3]))
