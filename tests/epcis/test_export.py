"""EPCIS export of a trace (queries/epcis_export.py, docs/EPCIS.md "Export"), on both stores.

Every export is checked against GS1's official JSON schema (read from the reference
folder, never copied), and its events against the trace and the generated plant's CSV
files: every batch, consumption, output, shipment and movement with its quantity.
"""

from __future__ import annotations

import csv
import json
import random
import time
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from graph.embedded import EmbeddedStore
from graph.identifiers import (
    VTYPE_EPC_CLASS,
    VTYPE_LOCATION,
    VTYPE_PARTY,
    from_local_urn,
    local_urn,
)
from graph.model import Label, RelType
from graph.neo4j_store import Neo4jStore
from graph.store import GraphStore
from ingest.epcis.document import read_document
from ingest.loader import ingest_bundle
from ingest.synthetic import generate_plant
from ingest.units import canonical_unit, convert
from queries.epcis_export import UOM, export_trace, render
from queries.errors import NotFound
from queries.trace import Direction, TraceResult, trace
from tests.bundles import MATERIALS, batch, consumption, output, write_bundle
from tests.bundles import lot as lot_row
from tests.epcis.schema import assert_valid, epcis_validator

CREATED = "2026-05-04T12:00:00.000Z"


# -- a generated plant ------------------------------------------------------------------------------
class Plant:
    """A generated plant's CSV files, read back as the export's expected facts."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.zone = ZoneInfo(json.loads((folder / "bundle.json").read_text())["timezone"])
        self.lots = {r["lot_id"]: r for r in self.rows("lots.csv")}
        self.batches = {r["batch_id"]: r for r in self.rows("batches.csv")}
        self.customers = {r["customer_id"]: r for r in self.rows("customers.csv")}

    def rows(self, name: str) -> list[dict[str, str]]:
        with (self.folder / name).open(encoding="utf-8", newline="") as fh:
            return list(csv.DictReader(fh))

    def moment(self, text: str) -> datetime:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=self.zone)

    def in_lot_unit(self, lot: str, quantity: str, unit: str) -> Decimal:
        lot_unit = self.lots[lot]["unit"]
        return Decimal(repr(convert(float(quantity), unit, lot_unit)))


@pytest.fixture
def plant(store: GraphStore, tmp_path: Path) -> tuple[GraphStore, Plant, random.Random]:
    seed = random.randrange(1_000_000)
    print(f"plant seed {seed}")
    generated = generate_plant(lots=240, seed=seed, out=tmp_path / "plant")
    assert ingest_bundle(store, generated.out, actor="test").total("rejected") == 0
    return store, Plant(generated.out), random.Random(seed)


def pick_roots(store: GraphStore, plant: Plant, draw: random.Random) -> list[tuple[str, Direction]]:
    """A purchased lot forward (batches and shipments), a final lot backward (a deep
    genealogy), and one more of each drawn at random."""
    purchased = sorted(i for i, r in plant.lots.items() if r["supplier_id"])
    made = sorted(i for i, r in plant.lots.items() if not r["supplier_id"])
    widest = max(purchased[:40], key=lambda i: len(trace(store, i, Direction.FORWARD).batches))
    deepest = max(made[-40:], key=lambda i: len(trace(store, i, Direction.BACKWARD).batches))
    return [
        (widest, Direction.FORWARD),
        (deepest, Direction.BACKWARD),
        (draw.choice(purchased), Direction.FORWARD),
        (draw.choice(made), Direction.BACKWARD),
    ]


# -- reading an export back ---------------------------------------------------------------------------
def events(document: dict[str, Any]) -> list[dict[str, Any]]:
    return list(document["epcisBody"]["eventList"])


def local(uri: str, kind: str) -> str:
    found = from_local_urn(uri)
    assert found is not None and found[0] == kind, uri
    return found[1]


def quantities(elements: list[dict[str, Any]], lot_units: dict[str, str]) -> dict[str, Decimal]:
    """lot -> quantity of a quantity list, each element's uom the lot's unit's code."""
    found: dict[str, Decimal] = {}
    for element in elements:
        lot = local(element["epcClass"], "lot")
        assert lot not in found, f"{lot} twice in one list"
        code = UOM.get(canonical_unit(lot_units[lot]))
        assert element.get("uom") == code, element
        found[lot] = Decimal(repr(element["quantity"]))
    return found


def close(a: dict[str, Decimal], b: dict[str, Decimal]) -> bool:
    return a.keys() == b.keys() and all(abs(a[k] - b[k]) <= Decimal("1e-6") for k in a)


def check_against_plant(
    document: dict[str, Any], answer: TraceResult, plant: Plant, store: GraphStore
) -> None:
    """The export's events are exactly the trace's batches, consumptions, outputs and
    shipments, with the plant's quantities, times, sites and customers."""
    lot_units = {i: r["unit"] for i, r in plant.lots.items()}
    by_type: dict[tuple[str, str | None], list[dict[str, Any]]] = defaultdict(list)
    for event in events(document):
        by_type[(event["type"], event.get("bizStep"))].append(event)

    # batches: one TransformationEvent each, its inputs and outputs the trace's edges
    transformations = {
        local(e["transformationID"], "batch"): e
        for e in by_type[("TransformationEvent", "commissioning")]
    }
    assert len(transformations) == len(by_type[("TransformationEvent", "commissioning")])
    assert sorted(transformations) == answer.batches
    consumed: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for row in plant.rows("consumptions.csv"):
        consumed[(row["batch_id"], row["lot_id"])] += plant.in_lot_unit(
            row["lot_id"], row["quantity"], row["unit"]
        )
    produced: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for row in plant.rows("outputs.csv"):
        produced[(row["batch_id"], row["lot_id"])] += plant.in_lot_unit(
            row["lot_id"], row["quantity"], row["unit"]
        )
    for batch_id, event in transformations.items():
        inputs = {a for a, t, b in answer.edges if t == RelType.CONSUMED_IN and b == batch_id}
        outputs = {b for a, t, b in answer.edges if t == RelType.PRODUCED and a == batch_id}
        expected_in = {lot: consumed[(batch_id, lot)] for lot in inputs}
        expected_out = {lot: produced[(batch_id, lot)] for lot in outputs}
        got_in = quantities(event.get("inputQuantityList", []), lot_units)
        got_out = quantities(event.get("outputQuantityList", []), lot_units)
        assert close(got_in, expected_in), (batch_id, got_in, expected_in)
        assert close(got_out, expected_out), (batch_id, got_out, expected_out)
        row = plant.batches[batch_id]
        when = row["completed_at"] or row["started_at"]
        assert plant.moment(event["eventTime"]) == plant.moment(when), batch_id
        assert event["bizLocation"]["id"] == local_urn("site", row["site"])

    # shipments: one shipping ObjectEvent each, with the shipped lots and the customer
    shipping = by_type[("ObjectEvent", "shipping")]
    shipment_rows = defaultdict(list)
    for row in plant.rows("shipments.csv"):
        shipment_rows[row["shipment_id"]].append(row)
    shipments = {}
    for event in shipping:
        (transaction,) = event["bizTransactionList"]
        shipments[local(transaction["bizTransaction"], "shipment")] = event
    assert len(shipments) == len(shipping)
    assert sorted(shipments) == answer.shipments
    for shipment_id, event in shipments.items():
        traced = {a for a, t, b in answer.edges if t == RelType.SHIPPED_IN and b == shipment_id}
        rows = [r for r in shipment_rows[shipment_id] if r["lot_id"] in traced]
        expected: dict[str, Decimal] = defaultdict(Decimal)
        for row in rows:
            expected[row["lot_id"]] += plant.in_lot_unit(
                row["lot_id"], row["quantity"], row["unit"]
            )
        assert close(quantities(event["quantityList"], lot_units), dict(expected)), shipment_id
        assert plant.moment(event["eventTime"]) == plant.moment(rows[0]["shipped_at"])
        customers = {local(d["destination"], "customer") for d in event["destinationList"]}
        assert customers == {r["customer_id"] for r in rows}
        assert customers <= set(answer.customers)

    # lots: each lot of the document that no batch of it made is created once, with its
    # quantity and supplier; each of the document's lots' movements is a receiving event
    lots = {answer.root, *answer.lots}
    made = {b for _, t, b in answer.edges if t == RelType.PRODUCED}
    created = by_type[("ObjectEvent", "creating_class_instance")]
    created_lots = {}
    for event in created:
        (element,) = event["quantityList"]
        created_lots[local(element["epcClass"], "lot")] = event
    assert set(created_lots) == lots - made
    for lot_id, event in created_lots.items():
        row = plant.lots[lot_id]
        assert event["action"] == "ADD"
        assert quantities(event["quantityList"], lot_units)[lot_id] == Decimal(
            repr(float(row["quantity"]))
        )
        sources = [local(s["source"], "supplier") for s in event.get("sourceList", [])]
        assert sources == ([row["supplier_id"]] if row["supplier_id"] else [])
        assert plant.moment(event["eventTime"]) == plant.moment(row["created_at"])
    moved = [r for r in plant.rows("movements.csv") if r["lot_id"] in lots]
    receiving = by_type[("ObjectEvent", "receiving")]
    assert len(receiving) == len(moved)
    got = sorted(
        (
            local(e["quantityList"][0]["epcClass"], "lot"),
            local(e["sourceList"][0]["source"], "site"),
            local(e["destinationList"][0]["destination"], "site"),
            plant.moment(e["eventTime"]),
        )
        for e in receiving
    )
    want = sorted(
        (r["lot_id"], r["from_site"], r["to_site"], plant.moment(r["moved_at"])) for r in moved
    )
    assert got == want
    assert len(events(document)) == len(transformations) + len(shipping) + len(created) + len(
        receiving
    )

    # master data: every visible lot with its material, every material with its name
    classes = {
        element["id"]: {a["id"]: a.get("attribute") for a in element.get("attributes", [])}
        for vocabulary in document["epcisHeader"]["epcisMasterData"]["vocabularyList"]
        if vocabulary["type"] == "urn:epcglobal:epcis:vtype:EPCClass"
        for element in vocabulary["vocabularyElementList"]
    }
    materials = {r["material_id"]: r for r in plant.rows("materials.csv")}
    for lot in lots:
        attributes = classes[local_urn("lot", lot)]
        material = local(attributes["urn:lotgraph:mda#material"], "material")
        assert material == plant.lots[lot]["material_id"]
        assert local(attributes["urn:lotgraph:mda#site"], "site") == plant.lots[lot]["site"]
        supplier = attributes.get("urn:lotgraph:mda#supplier")
        assert (local(supplier, "supplier") if supplier else "") == plant.lots[lot]["supplier_id"]
        described = classes[local_urn("material", material)]
        assert described["urn:epcglobal:cbv:mda#descriptionShort"] == materials[material]["name"]
        assert described["urn:lotgraph:mda#kind"] == materials[material]["kind"]
        assert described["urn:lotgraph:mda#unit"] == canonical_unit(materials[material]["unit"])


# -- tests ----------------------------------------------------------------------------------------------
def test_exports_are_valid_and_cover_the_trace(
    plant: tuple[GraphStore, Plant, random.Random],
) -> None:
    store, csvs, draw = plant
    roots = pick_roots(store, csvs, draw)
    for n, (root, direction) in enumerate(roots):
        started = time.perf_counter()
        document = export_trace(store, root, direction, creation_date=CREATED)
        seconds = time.perf_counter() - started
        answer = trace(store, root, direction)
        print(f"{direction} {root}: {len(events(document))} events in {seconds * 1000:.0f} ms")
        assert_valid(document)
        assert document["creationDate"] == CREATED and document["schemaVersion"] == "2.0"
        check_against_plant(document, answer, csvs, store)
        if n == 0:  # the widest purchased lot goes somewhere (a drawn one may be unused)
            assert answer.batches, root
        ids = [e["eventID"] for e in events(document)]
        assert len(set(ids)) == len(ids)
        assert all(e["eventID"].startswith("urn:uuid:") for e in events(document))


def test_the_same_graph_gives_the_same_bytes_but_creation_date(
    plant: tuple[GraphStore, Plant, random.Random],
) -> None:
    store, csvs, draw = plant
    root, direction = pick_roots(store, csvs, draw)[0]
    first = export_trace(store, root, direction)
    again = export_trace(store, root, direction, creation_date=first["creationDate"])
    assert render(first) == render(again)
    later = export_trace(store, root, direction, creation_date=CREATED)
    assert render(later) != render(first)
    assert {**later, "creationDate": first["creationDate"]} == first


def test_unknown_lot_is_not_found(store: GraphStore) -> None:
    with pytest.raises(NotFound):
        export_trace(store, "NO-SUCH-LOT", Direction.FORWARD)


@pytest.fixture
def both_stores(
    embedded_store: EmbeddedStore, neo4j_store: Neo4jStore, tmp_path: Path
) -> Iterator[tuple[EmbeddedStore, Neo4jStore, Plant, random.Random]]:
    seed = random.randrange(1_000_000)
    print(f"plant seed {seed}")
    generated = generate_plant(lots=240, seed=seed, out=tmp_path / "plant")
    for one in (embedded_store, neo4j_store):
        assert ingest_bundle(one, generated.out, actor="test").total("rejected") == 0
    yield embedded_store, neo4j_store, Plant(generated.out), random.Random(seed)


@pytest.mark.neo4j
def test_both_stores_give_the_same_document(
    both_stores: tuple[EmbeddedStore, Neo4jStore, Plant, random.Random],
) -> None:
    embedded, neo4j, csvs, draw = both_stores
    for root, direction in pick_roots(embedded, csvs, draw):
        one = render(export_trace(embedded, root, direction, creation_date=CREATED))
        other = render(export_trace(neo4j, root, direction, creation_date=CREATED))
        assert one == other, (root, direction)


def test_linked_rels_reads_parallel_relationships_apart(
    plant: tuple[GraphStore, Plant, random.Random],
) -> None:
    """The store primitive the export reads quantities with: every consumption of a batch,
    two consumptions of one lot at different times apart, as consumptions.csv has them."""
    store, csvs, draw = plant
    rows = csvs.rows("consumptions.csv")
    batches = sorted({r["batch_id"] for r in rows})
    wanted = draw.sample(batches, min(10, len(batches)))
    found = store.linked_rels(Label.BATCH, wanted, RelType.CONSUMED_IN, False)
    expected = sorted(
        (r["lot_id"], r["batch_id"], csvs.moment(r["consumed_at"]).astimezone(UTC))
        for r in rows
        if r["batch_id"] in wanted
    )
    got = sorted(
        (ref.src.id, ref.dst.id, csvs.moment(props["at"]).astimezone(UTC)) for ref, props in found
    )
    assert got == expected
    assert all(ref.key == props["at"] for ref, props in found)
    assert all(ref.src.label == Label.LOT and ref.dst.label == Label.BATCH for ref, _ in found)


def test_placeholders_uris_units_and_repeated_consumptions(
    store: GraphStore, tmp_path: Path
) -> None:
    """A hand-built graph with what generated plants lack: a lot id that is a URI, a lot
    counted in ``ea``, two consumptions of one lot by one batch (one in g), a consumption
    by a batch that has not arrived (placeholder) and of a lot that has not (placeholder)."""
    gtin_lot = "urn:epc:class:lgtin:4012345.011111.LOT7"
    materials = [
        *MATERIALS,
        {"material_id": "MAT-E", "name": "Vials", "kind": "packaging", "unit": "ea"},
    ]
    bundle = write_bundle(
        tmp_path / "hand",
        {
            "materials.csv": materials,
            "suppliers.csv": [
                {"supplier_id": "SUP-1", "name": "S", "country": "CH", "status": "approved"}
            ],
            "lots.csv": [
                lot_row("R1", supplier_id="SUP-1", expiry="2027-01-31"),
                lot_row(gtin_lot, material="MAT-E", unit="ea", quantity="500"),
                lot_row("P1", material="MAT-I"),
            ],
            "batches.csv": [batch("B1")],
            "consumptions.csv": [
                consumption("B1", "R1", "10", "kg", consumed_at="2026-02-01T09:00:00Z"),
                consumption("B1", "R1", "2500", "g", consumed_at="2026-02-01T10:00:00Z"),
                consumption("B1", gtin_lot, "40", "ea"),
                consumption("B-LATER", "R1", "1", "kg", consumed_at="2026-03-01T09:00:00Z"),
                consumption("B1", "L-LATER", "3", "kg"),
            ],
            "outputs.csv": [output("B1", "P1", "50", "kg")],
        },
    )
    assert ingest_bundle(store, bundle, actor="test").total("rejected") == 0
    forward = export_trace(store, "R1", Direction.FORWARD, creation_date=CREATED)
    backward = export_trace(store, "P1", Direction.BACKWARD, creation_date=CREATED)
    for document in (forward, backward):
        assert_valid(document)
    by_batch = {e["transformationID"]: e for e in events(forward) if "transformationID" in e}
    assert set(by_batch) == {"urn:lotgraph:batch:B1", "urn:lotgraph:batch:B-LATER"}
    # both consumptions of R1 by B1 in one element, the grams in kg
    assert by_batch["urn:lotgraph:batch:B1"]["inputQuantityList"] == [
        {"epcClass": "urn:lotgraph:lot:R1", "quantity": 12.5, "uom": "KGM"}
    ]
    # a placeholder batch: its consumption's time, marked unresolved, no site
    later = by_batch["urn:lotgraph:batch:B-LATER"]
    assert later["eventTime"] == "2026-03-01T09:00:00.000Z" and later["lotgraph:unresolved"]
    assert "bizLocation" not in later and "outputQuantityList" not in later
    # backward from P1: every input of B1, the URI id as it is, ea without uom, the
    # placeholder lot by its id with its quantity but no creation event or master data
    (b1,) = [e for e in events(backward) if e["type"] == "TransformationEvent"]
    assert {e["epcClass"]: e for e in b1["inputQuantityList"]} == {
        "urn:lotgraph:lot:R1": {"epcClass": "urn:lotgraph:lot:R1", "quantity": 12.5, "uom": "KGM"},
        gtin_lot: {"epcClass": gtin_lot, "quantity": 40.0},
        "urn:lotgraph:lot:L-LATER": {
            "epcClass": "urn:lotgraph:lot:L-LATER",
            "quantity": 3.0,
            "uom": "KGM",
        },
    }
    created = {
        e["quantityList"][0]["epcClass"]: e
        for e in events(backward)
        if e.get("bizStep") == "creating_class_instance"
    }
    assert set(created) == {"urn:lotgraph:lot:R1", gtin_lot}
    assert created["urn:lotgraph:lot:R1"]["sourceList"] == [
        {"type": "owning_party", "source": "urn:lotgraph:supplier:SUP-1"}
    ]
    assert created["urn:lotgraph:lot:R1"]["ilmd"]["cbvmda:lotNumber"] == "R1"
    described = {
        element["id"]
        for vocabulary in backward["epcisHeader"]["epcisMasterData"]["vocabularyList"]
        for element in vocabulary["vocabularyElementList"]
    }
    assert {
        "urn:lotgraph:lot:R1",
        gtin_lot,
        "urn:lotgraph:lot:P1",
        "urn:lotgraph:material:MAT-E",
    } <= described
    assert "urn:lotgraph:lot:L-LATER" not in described
    assert {"urn:lotgraph:supplier:SUP-1", "urn:lotgraph:site:SITE-A"} <= described


def test_the_schema_check_can_fail(plant: tuple[GraphStore, Plant, random.Random]) -> None:
    """The validator the tests use refuses what the standard refuses."""
    store, csvs, draw = plant
    root, direction = pick_roots(store, csvs, draw)[0]
    document = export_trace(store, root, direction)
    event = next(e for e in events(document) if e["type"] == "TransformationEvent")
    for spoil in (
        lambda e: e.pop("eventTimeZoneOffset"),
        lambda e: e.update(eventTime="yesterday"),
        lambda e: e["inputQuantityList"][0].update(uom="kilogram"),
        lambda e: e.update(transformationID="not a uri"),
        lambda e: e.update(bizStep="urn:epcglobal:cbv:bizstep:made_up"),
    ):
        spoiled = json.loads(json.dumps(document))
        target = next(e for e in events(spoiled) if e["eventID"] == event["eventID"])
        spoil(target)
        assert not epcis_validator().is_valid(spoiled)


def _expanded(value: Any) -> Any:
    """An event as the reader gives it: the keys of the document's own ``lotgraph:`` prefix
    expanded to ``{urn:lotgraph:mda#}name``."""
    if isinstance(value, dict):
        return {
            (f"{{urn:lotgraph:mda#}}{k[len('lotgraph:') :]}" if k.startswith("lotgraph:") else k): (
                _expanded(v)
            )
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_expanded(v) for v in value]
    return value


def test_the_shared_reader_reads_an_export_whole(
    plant: tuple[GraphStore, Plant, random.Random],
) -> None:
    """What the import starts from: ingest.epcis.document reads every event and every
    master-data element of an export, with no problem."""
    store, csvs, draw = plant
    for root, direction in pick_roots(store, csvs, draw)[:2]:
        document = export_trace(store, root, direction)
        read = read_document(render(document), name=f"{root}.jsonld")
        assert read.problems == [] and read.schema_version == "2.0"
        assert [e.body for e in read.events] == [_expanded(e) for e in events(document)]
        assert [e.event_id for e in read.events] == [e["eventID"] for e in events(document)]
        vocabularies = document["epcisHeader"]["epcisMasterData"]["vocabularyList"]
        assert set(read.vocabularies) == {v["type"] for v in vocabularies}
        assert set(read.vocabularies) <= {VTYPE_EPC_CLASS, VTYPE_LOCATION, VTYPE_PARTY}
        for vocabulary in vocabularies:
            elements = {e.id: e.attributes for e in read.vocabularies[vocabulary["type"]]}
            assert elements == {
                e["id"]: {a["id"]: a["attribute"] for a in e.get("attributes", [])}
                for e in vocabulary["vocabularyElementList"]
            }
