"""Recall, supplier impact, impurity commonality and trace depth/site, hand-checked, on both
stores (the `store` fixture runs each test on the embedded store and on a real Neo4j)."""

from __future__ import annotations

import math
import random
from pathlib import Path
from typing import Any

import pytest

from graph.store import GraphStore
from ingest.loader import ingest_bundle
from queries.errors import NotFound
from queries.impact import impact
from queries.impurity import impurity
from queries.recall import recall
from queries.statistics import log10_fisher_tail
from queries.trace import Direction, trace
from tests.bundles import MATERIALS, batch, consumption, lot, output, write_bundle

SUPPLIERS = [
    {"supplier_id": "SUP-1", "name": "One", "country": "CH", "status": "approved"},
    {"supplier_id": "SUP-2", "name": "Two", "country": "DE", "status": "conditional"},
]
CUSTOMERS = [
    {"customer_id": "CUST-1", "name": "Pharma 1", "country": "DE"},
    {"customer_id": "CUST-2", "name": "Pharma 2", "country": "US"},
]


def _shipment(sid: str, lot_id: str, customer: str, quantity: str) -> dict[str, Any]:
    return {
        "shipment_id": sid,
        "lot_id": lot_id,
        "customer_id": customer,
        "quantity": quantity,
        "unit": "kg",
        "shipped_at": "2026-03-01T10:00:00Z",
    }


def _deviation(dev_id: str, status: str) -> dict[str, Any]:
    return {
        "deviation_id": dev_id,
        "severity": "major",
        "category": "process",
        "status": status,
        "opened_at": "2026-02-01T10:00:00Z",
        "closed_at": "2026-02-10T10:00:00Z" if status == "closed" else "",
        "description": f"deviation {dev_id}",
    }


@pytest.fixture
def plant(store: GraphStore, tmp_path: Path) -> GraphStore:
    """R1 (SUP-1, 100 kg, 85 on hand) -> B1 -> I1 -> B2 (SITE-B) -> I2a and -> B3 (twice)
    -> I2b; I2a + I2b + S1 -> B4 -> F1 (ships 30 to CUST-1, 20 to CUST-2).
    S1 (SUP-2 solvent, 1000 L) also -> B5 (in progress) -> F2, whose lot row and CUST-2
    shipment arrive only in a second bundle. R2 (SUP-1, March) -> B6 (in review) -> F3.
    DEV-1 (open) affects B4, DEV-2 (closed) affects B2; DOC-BR-4 concerns B4.
    """
    first = write_bundle(
        tmp_path / "first",
        {
            "suppliers.csv": SUPPLIERS,
            "materials.csv": MATERIALS,
            "customers.csv": CUSTOMERS,
            "lots.csv": [
                lot("R1", supplier_id="SUP-1", quantity="100", on_hand="85"),
                lot("R2", supplier_id="SUP-1", created_at="2026-03-05T08:00:00Z", on_hand="0"),
                lot("S1", material="MAT-S", unit="L", quantity="1000", supplier_id="SUP-2"),
                lot("I1", material="MAT-I", quantity="50", on_hand="0"),
                lot("I2a", material="MAT-I", site="SITE-B"),
                lot("I2b", material="MAT-I"),
                lot("F1", material="MAT-I", quantity="50", on_hand="0"),
                lot("F3", material="MAT-I"),
            ],
            "batches.csv": [
                batch("B1"),
                batch("B2", site="SITE-B"),
                batch("B3"),
                batch("B4"),
                batch("B5", status="in_progress", completed_at=""),
                batch("B6", status="in_review", started_at="2026-03-06T08:00:00Z"),
            ],
            "consumptions.csv": [
                consumption("B1", "R1", quantity="15"),
                consumption("B2", "I1", quantity="20"),
                consumption("B3", "I1", quantity="10"),
                consumption("B3", "I1", quantity="20", consumed_at="2026-02-01T10:00:00Z"),
                consumption("B4", "I2a"),
                consumption("B4", "I2b"),
                consumption("B4", "S1", unit="L", quantity="10"),
                consumption("B5", "S1", unit="L", quantity="20"),
                consumption("B6", "R2"),
            ],
            "outputs.csv": [
                output("B1", "I1"),
                output("B2", "I2a"),
                output("B3", "I2b"),
                output("B4", "F1"),
                output("B5", "F2"),
                output("B6", "F3"),
            ],
            "shipments.csv": [
                _shipment("SH-1", "F1", "CUST-1", "30"),
                _shipment("SH-2", "F1", "CUST-2", "20"),
            ],
            "deviations.csv": [_deviation("DEV-1", "open"), _deviation("DEV-2", "closed")],
            "deviation_links.csv": [
                {"deviation_id": "DEV-1", "target_kind": "batch", "target_id": "B4"},
                {"deviation_id": "DEV-2", "target_kind": "batch", "target_id": "B2"},
            ],
            "documents.csv": [
                {
                    "document_id": "DOC-BR-4",
                    "version": "1",
                    "kind": "batch_record",
                    "title": "Batch record B4",
                    "content_sha256": "a" * 64,
                    "created_at": "2026-02-03T10:00:00Z",
                    "created_by": "U-1",
                    "status": "approved",
                }
            ],
            "document_links.csv": [
                {"document_id": "DOC-BR-4", "target_kind": "batch", "target_id": "B4"}
            ],
        },
    )
    assert ingest_bundle(store, first, actor="test").total("rejected") == 0
    return store


def _second_bundle(store: GraphStore, tmp_path: Path) -> None:
    late = write_bundle(
        tmp_path / "late",
        {
            "lots.csv": [lot("F2", material="MAT-I", quantity="40", status="quarantine")],
            "shipments.csv": [_shipment("SH-3", "F2", "CUST-2", "5")],
        },
    )
    assert ingest_bundle(store, late, actor="test").total("rejected") == 0


def test_recall_scope_quantities_customers_and_shortfall(plant: GraphStore) -> None:
    result = recall(plant, ["R1"])
    assert result.roots == ["R1"]
    assert [x.id for x in result.lots] == ["F1", "I1", "I2a", "I2b", "R1"]
    assert [b.id for b in result.batches] == ["B1", "B2", "B3", "B4"]
    by_id = {x.id: x for x in result.lots}
    assert by_id["I1"].consumed == 50.0  # 20 in B2 plus two consumptions in B3
    assert by_id["F1"].shipped == 50.0
    assert by_id["R1"].root and not by_id["I1"].root
    assert [(c.id, c.lots, c.quantity) for c in result.customers] == [
        ("CUST-1", ["F1"], 30.0),
        ("CUST-2", ["F1"], 20.0),
    ]
    (balance,) = result.mass_balance
    assert (balance.expected, balance.consumed, balance.on_hand) == (100.0, 15.0, 85.0)
    assert balance.balanced and balance.percent_accounted == 100.0
    assert [d.id for d in result.open_deviations] == ["DEV-1"]
    assert [(d.id, d.concerns) for d in result.documents] == [("DOC-BR-4", ["B4"])]


def test_recall_reports_a_shortfall_and_a_late_lot(plant: GraphStore, tmp_path: Path) -> None:
    result = recall(plant, ["S1", "R1"])
    assert result.roots == ["R1", "S1"]
    solvent = next(b for b in result.mass_balance if b.lot == "S1")
    # 1000 L, 30 L consumed, nothing shipped, on hand never reported
    assert (solvent.accounted, solvent.shortfall, solvent.percent_accounted) == (30.0, 970.0, 3.0)
    assert not solvent.balanced
    late = next(x for x in result.lots if x.id == "F2")
    assert late.unresolved and late.status is None
    _second_bundle(plant, tmp_path)
    result = recall(plant, ["S1", "R1"])
    late = next(x for x in result.lots if x.id == "F2")
    assert not late.unresolved and late.status == "quarantine" and late.shipped == 5.0
    assert [(c.id, c.lots, c.quantity) for c in result.customers] == [
        ("CUST-1", ["F1"], 30.0),
        ("CUST-2", ["F1", "F2"], 25.0),
    ]


def test_recall_of_an_unknown_lot_names_it(plant: GraphStore) -> None:
    with pytest.raises(NotFound, match="NOPE"):
        recall(plant, ["R1", "NOPE"])


def test_supplier_impact_with_open_batches_and_since(plant: GraphStore) -> None:
    result = impact(plant, "SUP-1")
    assert result.lots == ["R1", "R2"]
    assert result.direct_batches == ["B1", "B6"]
    assert result.batches == ["B1", "B2", "B3", "B4", "B6"]
    assert result.downstream_lots == ["F1", "F3", "I1", "I2a", "I2b"]
    assert result.customers == ["CUST-1", "CUST-2"]
    assert [b.id for b in result.open_batches] == ["B6"]
    since = impact(plant, "SUP-1", since="2026-03-01")
    assert (since.lots, since.batches, since.customers) == (["R2"], ["B6"], [])
    assert since.since == "2026-03-01T00:00:00.000Z"
    solvent = impact(plant, "SUP-2", material_id="MAT-S")
    assert [b.id for b in solvent.open_batches] == ["B5"]
    assert impact(plant, "SUP-2", material_id="MAT-X").lots == []
    with pytest.raises(NotFound):
        impact(plant, "SUP-404")


def test_trace_nodes_carry_depth_and_site(plant: GraphStore) -> None:
    result = trace(plant, "R1", Direction.FORWARD)
    nodes = {n.id: n for n in result.nodes}
    assert (nodes["R1"].depth, nodes["B1"].depth, nodes["I1"].depth) == (0, 1, 2)
    assert (nodes["B2"].depth, nodes["I2a"].depth, nodes["F1"].depth) == (3, 4, 6)
    assert (nodes["SH-1"].depth, nodes["CUST-1"].depth) == (7, 8)
    assert (nodes["B2"].site, nodes["I2a"].site, nodes["B4"].site) == ("SITE-B", "SITE-B", "SITE-A")
    assert nodes["CUST-1"].label == "Customer" and nodes["CUST-1"].site is None
    back = {n.id: n for n in trace(plant, "F1", Direction.BACKWARD).nodes}
    assert (back["S1"].depth, back["SUP-2"].depth, back["R1"].depth, back["SUP-1"].depth) == (
        2,
        3,
        6,
        7,
    )


# -- impurity ----------------------------------------------------------------------------
def _result(rid: str, target: str, value: float, upper: float = 0.15) -> dict[str, Any]:
    return {
        "result_id": rid,
        "target_kind": "batch",
        "target_id": target,
        "analyte": "Impurity B",
        "value": f"{value:.3f}",
        "unit": "%",
        "lower_limit": "",
        "upper_limit": f"{upper:.3f}",
        "method": "HPLC",
        "tested_at": "2026-02-05T10:00:00Z",
        "document_id": "",
    }


def test_impurity_counts_and_fisher_score_by_hand(store: GraphStore, tmp_path: Path) -> None:
    """Six tested batches; B1 and B2 are high. Lot X (SUP-1) went into B1, B2 and B3."""
    equipment = [
        {"equipment_id": e, "name": e, "kind": "reactor", "site": "SITE-A"} for e in ("R-1", "R-2")
    ]
    batches = [batch(f"B{i}", equipment_id="R-1" if i in (1, 3, 5) else "R-2") for i in range(1, 7)]
    path = write_bundle(
        tmp_path / "imp",
        {
            "suppliers.csv": SUPPLIERS,
            "materials.csv": MATERIALS,
            "equipment.csv": equipment,
            "lots.csv": [lot("X", supplier_id="SUP-1"), lot("Y", supplier_id="SUP-2")],
            "batches.csv": batches,
            "consumptions.csv": [consumption(f"B{i}", "X") for i in (1, 2, 3)]
            + [consumption(f"B{i}", "Y") for i in (4, 5, 6)],
            "test_results.csv": [
                _result("T1", "B1", 0.30),
                _result("T2", "B2", 0.21),
                _result("T2b", "B2", 0.01),
                *(_result(f"T{i}", f"B{i}", 0.05) for i in range(3, 7)),
            ],
        },
    )
    assert ingest_bundle(store, path, actor="test").total("rejected") == 0
    result = impurity(store, "Impurity B", flag="oos")
    assert (result.units_tested, result.units_flagged) == (6, 2)
    assert sorted(f.result_id for f in result.flagged) == ["T1", "T2"]
    top = result.factors[0]
    assert (top.kind, top.id, top.affected, top.total) == ("supplier_lot", "X", 2, 3)
    # P(X >= 2) drawing 3 of 6 with 2 flagged: C(2,2) C(4,1) / C(6,3) = 4 / 20
    assert math.isclose(top.p_value, 0.2, rel_tol=1e-9)
    factors = {(f.kind, f.id): f for f in result.factors}
    assert (factors[("supplier", "SUP-1")].affected, factors[("supplier", "SUP-1")].total) == (2, 3)
    assert (factors[("material", "MAT-X")].affected, factors[("material", "MAT-X")].total) == (2, 6)
    assert (factors[("equipment", "R-1")].total, factors[("equipment", "R-2")].total) == (3, 3)
    assert ("supplier_lot", "Y") not in factors  # met by no flagged batch
    with pytest.raises(NotFound):
        impurity(store, "Impurity Z")


def test_fisher_tail_matches_direct_sum() -> None:
    rng = random.Random(5)
    for _ in range(200):
        population = rng.randint(2, 60)
        flagged = rng.randint(1, population)
        total = rng.randint(1, population)
        affected = rng.randint(0, min(total, flagged))
        direct = sum(
            math.comb(flagged, x) * math.comb(population - flagged, total - x)
            for x in range(affected, min(total, flagged) + 1)
        ) / math.comb(population, total)
        got = 10 ** log10_fisher_tail(population, flagged, total, affected)
        assert math.isclose(got, direct, rel_tol=1e-9, abs_tol=1e-300)


def _random_plant(rng: random.Random, folder: Path) -> tuple[str, str]:
    """A plant nobody has seen: random batches, reactors, supplier lots and one planted
    cause (a supplier lot or a reactor) that makes most of its batches fail."""
    n_batches = rng.randint(60, 120)
    reactors = [f"R-{rng.randint(100, 999)}-{i}" for i in range(rng.randint(4, 9))]
    suppliers = [f"SUP-{rng.randint(10, 99)}-{i}" for i in range(rng.randint(3, 6))]
    lots = [
        lot(f"L-{rng.randint(1000, 9999)}-{i}", supplier_id=rng.choice(suppliers))
        for i in range(rng.randint(25, 50))
    ]
    cause_kind = rng.choice(["supplier_lot", "equipment"])
    cause = rng.choice(reactors) if cause_kind == "equipment" else rng.choice(lots)["lot_id"]
    # a supplier lot goes into at least 8 batches, as a reactor does by chance: with fewer,
    # a rare chance failure elsewhere can outrank it and the plant has no cause to find
    # (seed 2120195248 gave it 3 batches, 1 of them failing)
    takes_cause = set(rng.sample(range(n_batches), rng.randint(8, 14)))
    batches, consumptions, results = [], [], []
    for i in range(n_batches):
        bid = f"B-{i:04d}"
        reactor = rng.choice(reactors)
        inputs = rng.sample([x["lot_id"] for x in lots if x["lot_id"] != cause], 3)
        if cause_kind == "supplier_lot" and i in takes_cause:
            inputs.append(cause)
        batches.append(batch(bid, equipment_id=reactor))
        consumptions += [consumption(bid, x) for x in inputs]
        exposed = cause in inputs or reactor == cause
        high = rng.random() < (0.9 if exposed else 0.02)
        results.append(_result(f"T-{i}", bid, rng.uniform(0.2, 0.4) if high else 0.05))
    write_bundle(
        folder,
        {
            "suppliers.csv": [
                {"supplier_id": s, "name": s, "country": "", "status": "approved"}
                for s in suppliers
            ],
            "materials.csv": MATERIALS,
            "equipment.csv": [
                {"equipment_id": r, "name": r, "kind": "reactor", "site": "SITE-A"}
                for r in reactors
            ],
            "lots.csv": lots,
            "batches.csv": batches,
            "consumptions.csv": consumptions,
            "test_results.csv": results,
        },
    )
    return cause_kind, cause


@pytest.mark.parametrize("round_", range(3))
def test_impurity_finds_a_cause_planted_in_an_unseen_plant(
    store: GraphStore, tmp_path: Path, round_: int
) -> None:
    seed = random.SystemRandom().randrange(2**32)
    cause_kind, cause = _random_plant(random.Random(seed), tmp_path / f"unseen-{round_}")
    assert ingest_bundle(store, tmp_path / f"unseen-{round_}", actor="t").total("rejected") == 0
    # the plant's cause makes results out of specification: rank by those
    top = impurity(store, "Impurity B", flag="oos").factors[0]
    assert (top.kind, top.id) == (cause_kind, cause), f"seed {seed}"


def test_impurity_follows_an_updated_result(store: GraphStore, tmp_path: Path) -> None:
    """A corrected result (an update of the same result id) changes which units are flagged."""
    files = {
        "materials.csv": MATERIALS,
        "lots.csv": [lot("X")],
        "batches.csv": [batch("B1"), batch("B2")],
        "consumptions.csv": [consumption("B1", "X"), consumption("B2", "X")],
        "test_results.csv": [_result("T1", "B1", 0.30), _result("T2", "B2", 0.05)],
    }
    assert (
        ingest_bundle(store, write_bundle(tmp_path / "v1", files), actor="t").total("rejected") == 0
    )
    assert [f.result_id for f in impurity(store, "Impurity B").flagged] == ["T1"]
    files["test_results.csv"] = [_result("T1", "B1", 0.05), _result("T2", "B2", 0.31)]
    report = ingest_bundle(store, write_bundle(tmp_path / "v2", files), actor="t")
    assert report.files["test_results.csv"].updated == 2
    result = impurity(store, "Impurity B")
    assert [(f.result_id, f.value) for f in result.flagged] == [("T2", 0.31)]
    assert result.units_tested == 2
