"""Chain of custody of a batch: events, signature integrity and the auditor's findings."""

from __future__ import annotations

import csv
import random
from pathlib import Path
from typing import Any

import pytest

from graph.embedded import EmbeddedStore
from graph.neo4j_store import Neo4jStore
from graph.store import GraphStore
from ingest.loader import ingest_bundle
from ingest.synthetic import generate_plant
from queries.custody import CustodyResult, custody
from queries.errors import NotFound
from tests.bundles import MATERIALS, batch, consumption, lot, output, write_bundle

SHA = {name: (name * 64)[:64] for name in ("a", "b", "c", "d", "e", "f")}
BR_V1, BR_V2, DR_V1, COA_1, COA_2, QC_1 = (SHA[k] for k in "abcdef")
TAMPERED = "9" * 64


def _doc(doc_id: str, version: int, kind: str, sha: str, at: str) -> dict[str, Any]:
    return {
        "document_id": doc_id,
        "version": version,
        "kind": kind,
        "title": f"{doc_id} v{version}",
        "content_sha256": sha,
        "created_at": at,
        "created_by": "U-1",
        "status": "approved",
    }


def _sig(
    sig_id: str, doc: str, version: int, signer: str, meaning: str, at: str, sha: str
) -> dict[str, Any]:
    return {
        "signature_id": sig_id,
        "document_id": doc,
        "document_version": version,
        "signer_id": signer,
        "meaning": meaning,
        "signed_at": at,
        "record_sha256": sha,
    }


def _result(
    result_id: str, kind: str, target: str, analyte: str, value: str, at: str, **extra: Any
) -> dict[str, Any]:
    row = {
        "result_id": result_id,
        "target_kind": kind,
        "target_id": target,
        "analyte": analyte,
        "value": value,
        "unit": "%",
        "lower_limit": "",
        "upper_limit": "",
        "method": "HPLC",
        "tested_at": at,
        "document_id": "",
    }
    row.update(extra)
    return row


def _move(lot_id: str, src: str, dst: str, quantity: str, at: str) -> dict[str, Any]:
    return {
        "lot_id": lot_id,
        "from_site": src,
        "to_site": dst,
        "quantity": quantity,
        "moved_at": at,
        "moved_by": "U-1",
    }


def _first_bundle(folder: Path) -> Path:
    """Batch B1 (released) of R1 (CoA linked), S1 (no CoA: its only result is in a QC report),
    R2 (CoA through a result; moved SITE-B -> SITE-A) and L3 (not in this bundle).

    DOC-BR-1 v1 is approved by SIG-1 and released by SIG-2 (tampered), v2 only reviewed
    (SIG-3); DEV-1 is opened and closed, its report approved (SIG-4); DEV-2 stays open.
    F1 moves to SITE-B and ships to CUST-1. SIG-5 signs a CoA: not the batch's paperwork.
    """
    return write_bundle(
        folder,
        {
            "suppliers.csv": [
                {"supplier_id": "SUP-1", "name": "One", "country": "", "status": "approved"},
                {"supplier_id": "SUP-2", "name": "Two", "country": "", "status": "approved"},
            ],
            "materials.csv": MATERIALS,
            "people.csv": [
                {"person_id": "U-1", "name": "Op", "role": "operator", "site": "SITE-A"},
                {"person_id": "U-2", "name": "QA", "role": "qa", "site": "SITE-A"},
                {"person_id": "U-3", "name": "QP", "role": "qp", "site": "SITE-A"},
            ],
            "customers.csv": [{"customer_id": "CUST-1", "name": "Pharma 1", "country": "DE"}],
            "lots.csv": [
                lot("R1", supplier_id="SUP-1", created_at="2026-01-05T08:00:00Z"),
                lot(
                    "S1",
                    material="MAT-S",
                    unit="L",
                    supplier_id="SUP-2",
                    created_at="2026-01-06T08:00:00Z",
                ),
                lot("R2", supplier_id="SUP-1", created_at="2026-01-07T08:00:00Z"),
                lot("F1", material="MAT-I", created_at="2026-02-02T08:00:00Z"),
            ],
            "batches.csv": [batch("B1", status="released")],
            "consumptions.csv": [
                consumption("B1", "R1", consumed_at="2026-02-01T09:00:00Z"),
                consumption("B1", "S1", unit="L", consumed_at="2026-02-01T09:30:00Z"),
                consumption("B1", "R2", consumed_at="2026-02-01T10:00:00Z"),
                consumption("B1", "L3", quantity="5", consumed_at="2026-02-01T10:30:00Z"),
            ],
            "outputs.csv": [output("B1", "F1", quantity="50")],
            "movements.csv": [
                _move("R2", "SITE-B", "SITE-A", "100", "2026-01-20T10:00:00Z"),
                _move("F1", "SITE-A", "SITE-B", "30", "2026-02-10T10:00:00Z"),
            ],
            "shipments.csv": [
                {
                    "shipment_id": "SH-1",
                    "lot_id": "F1",
                    "customer_id": "CUST-1",
                    "quantity": "20",
                    "unit": "kg",
                    "shipped_at": "2026-03-01T10:00:00Z",
                }
            ],
            "documents.csv": [
                _doc("DOC-BR-1", 1, "batch_record", BR_V1, "2026-02-02T09:00:00Z"),
                _doc("DOC-BR-1", 2, "batch_record", BR_V2, "2026-02-06T09:00:00Z"),
                _doc("DOC-DR-1", 1, "deviation_report", DR_V1, "2026-02-05T09:00:00Z"),
                _doc("DOC-COA-1", 1, "coa", COA_1, "2026-01-04T09:00:00Z"),
                _doc("DOC-COA-2", 1, "coa", COA_2, "2026-01-06T09:00:00Z"),
                _doc("DOC-QC-1", 1, "qc_report", QC_1, "2026-01-06T09:00:00Z"),
            ],
            "document_links.csv": [
                {"document_id": "DOC-BR-1", "target_kind": "batch", "target_id": "B1"},
                {"document_id": "DOC-DR-1", "target_kind": "deviation", "target_id": "DEV-1"},
                {"document_id": "DOC-COA-1", "target_kind": "lot", "target_id": "R1"},
            ],
            "signatures.csv": [
                _sig("SIG-1", "DOC-BR-1", 1, "U-2", "approved", "2026-02-03T10:00:00Z", BR_V1),
                _sig("SIG-2", "DOC-BR-1", 1, "U-3", "released", "2026-02-03T11:00:00Z", TAMPERED),
                _sig("SIG-3", "DOC-BR-1", 2, "U-2", "reviewed", "2026-02-06T10:00:00Z", BR_V2),
                _sig("SIG-4", "DOC-DR-1", 1, "U-2", "approved", "2026-02-05T11:00:00Z", DR_V1),
                _sig("SIG-5", "DOC-COA-1", 1, "U-3", "approved", "2026-01-04T10:00:00Z", COA_1),
            ],
            "deviations.csv": [
                {
                    "deviation_id": "DEV-1",
                    "severity": "minor",
                    "category": "process",
                    "status": "closed",
                    "opened_at": "2026-02-01T12:00:00Z",
                    "closed_at": "2026-02-05T12:00:00Z",
                    "description": "Stirrer stopped for 5 min",
                },
                {
                    "deviation_id": "DEV-2",
                    "severity": "major",
                    "category": "OOS",
                    "status": "investigating",
                    "opened_at": "2026-02-01T13:00:00Z",
                    "closed_at": "",
                    "description": "Assay below limit",
                },
            ],
            "deviation_links.csv": [
                {"deviation_id": "DEV-1", "target_kind": "batch", "target_id": "B1"},
                {"deviation_id": "DEV-2", "target_kind": "batch", "target_id": "B1"},
            ],
            "test_results.csv": [
                _result(
                    "TR-B1",
                    "batch",
                    "B1",
                    "Impurity B",
                    "0.12",
                    "2026-02-02T06:00:00Z",
                    upper_limit="0.10",
                ),
                _result(
                    "TR-F1", "lot", "F1", "Assay", "99.1", "2026-02-03T09:00:00Z", lower_limit="98"
                ),
                _result(
                    "TR-R2",
                    "lot",
                    "R2",
                    "Assay",
                    "99.5",
                    "2026-01-06T10:00:00Z",
                    document_id="DOC-COA-2",
                ),
                _result(
                    "TR-S1",
                    "lot",
                    "S1",
                    "Water",
                    "0.1",
                    "2026-01-06T10:00:00Z",
                    document_id="DOC-QC-1",
                ),
            ],
        },
    )


# (kind, id) in the order a hand check of the bundle gives; L3 is a placeholder at first.
EXPECTED_ORDER = [
    ("lot_received", "R1"),
    ("lot_received", "S1"),
    ("lot_received", "R2"),
    ("moved", "R2"),
    ("batch_started", "B1"),
    ("consumed", "R1"),
    ("consumed", "S1"),
    ("consumed", "R2"),
    ("consumed", "L3"),
    ("deviation_opened", "DEV-1"),
    ("deviation_opened", "DEV-2"),
    ("qc_result", "TR-B1"),
    ("batch_completed", "B1"),
    ("output", "F1"),
    ("qc_result", "TR-F1"),
    ("signed", "SIG-1"),
    ("signed", "SIG-2"),
    ("signed", "SIG-4"),
    ("deviation_closed", "DEV-1"),
    ("signed", "SIG-3"),
    ("moved", "F1"),
    ("shipped", "SH-1"),
]


def _kinds(result: CustodyResult) -> list[tuple[str, str]]:
    return [(e.kind, e.id) for e in result.events]


def _findings(result: CustodyResult) -> list[tuple[str, str]]:
    return [(f.kind, f.id) for f in result.findings]


def test_custody_of_a_hand_built_batch(store: GraphStore, tmp_path: Path) -> None:
    report = ingest_bundle(store, _first_bundle(tmp_path / "b1"), actor="test")
    assert report.total("rejected") == 0

    result = custody(store, "B1")
    assert (result.batch, result.status, result.site) == ("B1", "released", "SITE-A")
    assert _kinds(result) == [*EXPECTED_ORDER, ("lot_received", "L3")]
    timed = [e.at for e in result.events if e.at is not None]
    assert timed == sorted(timed)
    assert result.events[-1].at is None  # the placeholder's receipt: time unknown, shown last

    by_key = {(e.kind, e.id): e.model_dump() for e in result.events}
    assert by_key[("lot_received", "R1")]["coas"] == ["DOC-COA-1"]
    assert by_key[("lot_received", "R1")]["supplier_id"] == "SUP-1"
    assert by_key[("lot_received", "R2")]["coas"] == ["DOC-COA-2"]
    assert by_key[("lot_received", "S1")]["coas"] == []
    assert by_key[("lot_received", "L3")]["unresolved"] is True
    moved = by_key[("moved", "R2")]
    assert (moved["from_site"], moved["to_site"], moved["quantity"], moved["by"]) == (
        "SITE-B",
        "SITE-A",
        100.0,
        "U-1",
    )
    assert by_key[("moved", "R2")]["at"] == "2026-01-20T10:00:00.000Z"
    assert (by_key[("consumed", "S1")]["quantity"], by_key[("consumed", "S1")]["unit"]) == (
        10.0,
        "L",
    )
    assert by_key[("qc_result", "TR-B1")]["out_of_limits"] is True
    assert by_key[("qc_result", "TR-F1")]["out_of_limits"] is False
    assert by_key[("qc_result", "TR-F1")]["target"] == "F1"
    assert by_key[("output", "F1")]["at"] == "2026-02-02T08:00:00.000Z"
    shipped = by_key[("shipped", "SH-1")]
    assert (shipped["lot"], shipped["customer"], shipped["quantity"]) == ("F1", "CUST-1", 20.0)

    signatures = {s.signature_id: s for s in result.signatures}
    assert sorted(signatures) == ["SIG-1", "SIG-2", "SIG-3", "SIG-4"]  # not SIG-5: a lot's CoA
    assert {k: s.status for k, s in signatures.items()} == {
        "SIG-1": "superseded",
        "SIG-2": "hash_mismatch",  # also superseded, but tampering is what matters
        "SIG-3": "valid",
        "SIG-4": "valid",
    }
    assert (signatures["SIG-2"].signer_id, signatures["SIG-2"].document_version) == ("U-3", 1)
    assert signatures["SIG-4"].document_id == "DOC-DR-1"
    assert [s.signature_id for s in result.signatures] == ["SIG-1", "SIG-2", "SIG-4", "SIG-3"]

    assert _findings(result) == [
        ("deviation_open", "DEV-2"),
        ("input_without_coa", "S1"),
        ("released_without_approval", "B1"),
        ("signature_hash_mismatch", "SIG-2"),
        ("unresolved", "L3"),
    ]

    # The lot L3 arrives: the placeholder is filled in and its finding goes away.
    later = write_bundle(
        tmp_path / "b2",
        {"lots.csv": [lot("L3", supplier_id="", created_at="2026-01-08T08:00:00Z")]},
    )
    assert ingest_bundle(store, later, actor="test").total("rejected") == 0
    result = custody(store, "B1")
    assert _kinds(result) == [*EXPECTED_ORDER[:3], ("lot_received", "L3"), *EXPECTED_ORDER[3:]]
    assert ("unresolved", "L3") not in _findings(result)
    assert ("input_without_coa", "L3") not in _findings(result)  # made here, not purchased

    # Approving the current version of the batch record closes the approval gap.
    approval = write_bundle(
        tmp_path / "b3",
        {
            "signatures.csv": [
                _sig("SIG-6", "DOC-BR-1", 2, "U-3", "approved", "2026-02-07T10:00:00Z", BR_V2)
            ]
        },
    )
    assert ingest_bundle(store, approval, actor="test").total("rejected") == 0
    result = custody(store, "B1")
    assert ("released_without_approval", "B1") not in _findings(result)
    assert [s.status for s in result.signatures if s.signature_id == "SIG-6"] == ["valid"]


def test_unknown_batch_is_not_found(store: GraphStore, tmp_path: Path) -> None:
    ingest_bundle(store, _first_bundle(tmp_path / "b1"), actor="test")
    with pytest.raises(NotFound, match="no batch 'NOPE'"):
        custody(store, "NOPE")


def _rows(folder: Path, name: str) -> list[dict[str, str]]:
    with (folder / name).open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.mark.neo4j
@pytest.mark.parametrize("seed", [5, 11])
def test_both_stores_give_the_same_custody_on_a_generated_plant(
    embedded_store: EmbeddedStore, neo4j_store: Neo4jStore, tmp_path: Path, seed: int
) -> None:
    plant = generate_plant(lots=300, seed=seed, out=tmp_path / f"plant-{seed}")
    for store in (embedded_store, neo4j_store):
        assert ingest_bundle(store, plant.out, actor="test").total("rejected") == 0

    assert plant.tampered_signatures
    tampered = plant.tampered_signatures[0]
    (signed_doc,) = {
        r["document_id"]
        for r in _rows(plant.out, "signatures.csv")
        if r["signature_id"] == tampered
    }
    (tampered_batch,) = {
        r["target_id"]
        for r in _rows(plant.out, "document_links.csv")
        if r["document_id"] == signed_doc and r["target_kind"] == "batch"
    }
    batches = sorted(r["batch_id"] for r in _rows(plant.out, "batches.csv"))
    chosen = sorted({*random.Random(seed).sample(batches, 12), tampered_batch})

    kinds: set[str] = set()
    for batch_id in chosen:
        embedded = custody(embedded_store, batch_id)
        assert custody(neo4j_store, batch_id).model_dump() == embedded.model_dump(), batch_id
        kinds.update(e.kind for e in embedded.events)
        if batch_id == tampered_batch:
            statuses = {s.signature_id: s.status for s in embedded.signatures}
            assert statuses[tampered] == "hash_mismatch"
            assert ("signature_hash_mismatch", tampered) in _findings(embedded)
    # The comparison covered real answers, not empty ones.
    assert {"lot_received", "consumed", "output", "signed", "qc_result"} <= kinds

    for store in (embedded_store, neo4j_store):
        with pytest.raises(NotFound):
            custody(store, "B-NOPE")
