"""Traces through diamonds, shared lots and sites, the same on both stores."""

from __future__ import annotations

from pathlib import Path

import pytest

from graph.store import GraphStore
from ingest.loader import ingest_bundle
from queries.errors import NotFound
from queries.trace import Direction, trace
from tests.bundles import MATERIALS, batch, consumption, lot, output, write_bundle


@pytest.fixture
def diamond(store: GraphStore, tmp_path: Path) -> GraphStore:
    """R1 -> B1 -> I1; I1 -> B2 (site B) -> I2a; I1 -> B3 -> I2b; I2a + I2b + S1 -> B4 -> F1.

    S1 is a shared solvent also consumed by B5 -> F2. F1 ships to two customers, I1 moves
    from SITE-A to SITE-B before B2 consumes it.
    """
    path = write_bundle(
        tmp_path / "diamond",
        {
            "suppliers.csv": [
                {"supplier_id": "SUP-1", "name": "One", "country": "", "status": "approved"},
                {"supplier_id": "SUP-2", "name": "Two", "country": "", "status": "conditional"},
            ],
            "materials.csv": MATERIALS,
            "customers.csv": [
                {"customer_id": "CUST-1", "name": "Pharma 1", "country": "DE"},
                {"customer_id": "CUST-2", "name": "Pharma 2", "country": "US"},
            ],
            "lots.csv": [
                lot("R1", supplier_id="SUP-1"),
                lot("S1", material="MAT-S", unit="L", supplier_id="SUP-2"),
                lot("I1", material="MAT-I"),
                lot("I2a", material="MAT-I", site="SITE-B"),
                lot("I2b", material="MAT-I"),
                lot("F1", material="MAT-I"),
                lot("F2", material="MAT-I"),
            ],
            "batches.csv": [
                batch("B1"),
                batch("B2", site="SITE-B"),
                batch("B3"),
                batch("B4"),
                batch("B5"),
            ],
            "consumptions.csv": [
                consumption("B1", "R1"),
                consumption("B2", "I1"),
                consumption("B3", "I1"),
                consumption("B3", "I1", consumed_at="2026-02-01T10:00:00Z"),
                consumption("B4", "I2a"),
                consumption("B4", "I2b"),
                consumption("B4", "S1", unit="L"),
                consumption("B5", "S1", unit="L"),
            ],
            "outputs.csv": [
                output("B1", "I1"),
                output("B2", "I2a"),
                output("B3", "I2b"),
                output("B4", "F1"),
                output("B5", "F2"),
            ],
            "movements.csv": [
                {
                    "lot_id": "I1",
                    "from_site": "SITE-A",
                    "to_site": "SITE-B",
                    "quantity": "20",
                    "moved_at": "2026-01-20T10:00:00Z",
                    "moved_by": "",
                }
            ],
            "shipments.csv": [
                {
                    "shipment_id": "SH-1",
                    "lot_id": "F1",
                    "customer_id": "CUST-1",
                    "quantity": "20",
                    "unit": "kg",
                    "shipped_at": "2026-03-01T10:00:00Z",
                },
                {
                    "shipment_id": "SH-2",
                    "lot_id": "F1",
                    "customer_id": "CUST-2",
                    "quantity": "15",
                    "unit": "kg",
                    "shipped_at": "2026-03-02T10:00:00Z",
                },
            ],
        },
    )
    report = ingest_bundle(store, path, actor="test")
    assert report.total("rejected") == 0
    return store


def test_forward_trace_crosses_the_diamond_once_and_reaches_customers(diamond: GraphStore) -> None:
    result = trace(diamond, "R1", Direction.FORWARD)
    assert result.lots == ["F1", "I1", "I2a", "I2b"]
    assert result.batches == ["B1", "B2", "B3", "B4"]
    assert result.customers == ["CUST-1", "CUST-2"]
    assert result.suppliers == []
    assert result.edges == sorted(
        [
            ("R1", "CONSUMED_IN", "B1"),
            ("B1", "PRODUCED", "I1"),
            ("I1", "CONSUMED_IN", "B2"),
            ("I1", "CONSUMED_IN", "B3"),
            ("B2", "PRODUCED", "I2a"),
            ("B3", "PRODUCED", "I2b"),
            ("I2a", "CONSUMED_IN", "B4"),
            ("I2b", "CONSUMED_IN", "B4"),
            ("B4", "PRODUCED", "F1"),
            ("F1", "SHIPPED_IN", "SH-1"),
            ("F1", "SHIPPED_IN", "SH-2"),
            ("SH-1", "TO", "CUST-1"),
            ("SH-2", "TO", "CUST-2"),
        ]
    )


def test_shared_solvent_fans_out_forward(diamond: GraphStore) -> None:
    result = trace(diamond, "S1", Direction.FORWARD)
    assert result.lots == ["F1", "F2"]
    assert result.batches == ["B4", "B5"]
    assert result.customers == ["CUST-1", "CUST-2"]


def test_backward_trace_finds_every_ancestor_and_supplier(diamond: GraphStore) -> None:
    result = trace(diamond, "F1", Direction.BACKWARD)
    assert result.lots == ["I1", "I2a", "I2b", "R1", "S1"]
    assert result.batches == ["B1", "B2", "B3", "B4"]
    assert result.suppliers == ["SUP-1", "SUP-2"]
    assert result.customers == []
    assert ("SUP-2", "SUPPLIED", "S1") in result.edges
    assert ("I1", "CONSUMED_IN", "B2") in result.edges


def test_trace_of_a_lot_with_no_genealogy_is_empty(diamond: GraphStore) -> None:
    result = trace(diamond, "F2", Direction.FORWARD)
    assert (result.lots, result.batches, result.customers, result.edges) == ([], [], [], [])


def test_unknown_lot_is_not_found(diamond: GraphStore) -> None:
    with pytest.raises(NotFound, match="no lot 'NOPE'"):
        trace(diamond, "NOPE", Direction.FORWARD)
