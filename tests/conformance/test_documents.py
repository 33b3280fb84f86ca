"""Lot <-> document in both directions, with the paths that link them, on both stores."""

from __future__ import annotations

import csv
import hashlib
import random
from pathlib import Path
from typing import Any

import pytest

from api.auth.schemas import Caller, Role
from api.documents.schemas import DocumentCreate
from api.documents.service import DocumentService
from graph.embedded import EmbeddedStore
from graph.neo4j_store import Neo4jStore
from graph.records import Account
from graph.store import GraphStore, utc_now
from ingest.loader import ingest_bundle
from ingest.synthetic import generate_plant
from queries.document_diff import ContentNotStored, version_diff
from queries.document_record import document_record, verify
from queries.documents import documents_for_lot, lots_for_document
from queries.errors import NotFound
from tests.bundles import MATERIALS, batch, consumption, lot, output, write_bundle

C, P, A = "CONCERNS", "PRODUCED", "AFFECTS"


def _doc(doc_id: str, kind: str, title: str, version: int = 1) -> dict[str, Any]:
    return {
        "document_id": doc_id,
        "version": str(version),
        "kind": kind,
        "title": title,
        "content_sha256": hashlib.sha256(f"{doc_id}@{version}".encode()).hexdigest(),
        "created_at": "2026-02-03T08:00:00Z",
        "created_by": "U-1",
        "status": "approved",
    }


def _link(doc_id: str, kind: str, target: str) -> dict[str, str]:
    return {"document_id": doc_id, "target_kind": kind, "target_id": target}


def _deviation(dev_id: str) -> dict[str, str]:
    return {
        "deviation_id": dev_id,
        "severity": "major",
        "category": "process",
        "status": "open",
        "opened_at": "2026-02-01T12:00:00Z",
        "closed_at": "",
        "description": f"deviation {dev_id}",
    }


def _affects(dev_id: str, kind: str, target: str) -> dict[str, str]:
    return {"deviation_id": dev_id, "target_kind": kind, "target_id": target}


LOTS = ["R1", "L1", "L2", "L3", "L4", "LX", "L-LATE"]
DOCUMENTS = [
    "DOC-LOT",
    "DOC-BR1",
    "DOC-BR2",
    "DOC-BR3",
    "DOC-DEV1",
    "DOC-DEV2",
    "DOC-DEV3",
    "DOC-DEV4",
    "DOC-TWO",
    "DOC-R",
    "DOC-SOP",
    "DOC-LATE",
    "DOC-GHOST",
]


@pytest.fixture
def linked(store: GraphStore, tmp_path: Path) -> GraphStore:
    """R1 is consumed by B1, B2 and B3; B1 -> L1, B2 -> L2, B3 -> L3 + L4; LX has nothing.

    DOC-LOT concerns L1 (versions 2, 10, 9); DOC-BRn concerns Bn; DOC-DEVn concerns DEV-n;
    DEV-1 affects L1, DEV-2 affects B1, DEV-3 affects R1, DEV-4 affects B3 and L3; DOC-TWO
    concerns L1 and B1; DOC-R concerns R1; DOC-SOP concerns equipment and a material only;
    DOC-LATE concerns L-LATE, which has not arrived; DOC-GHOST (not arrived) concerns L2.
    """
    path = write_bundle(
        tmp_path / "linked",
        {
            "materials.csv": MATERIALS,
            "equipment.csv": [
                {"equipment_id": "R-101", "name": "Reactor", "kind": "reactor", "site": "SITE-A"}
            ],
            "lots.csv": [
                lot("R1"),
                lot("L1", material="MAT-I", status="quarantine"),
                lot("L2", material="MAT-I"),
                lot("L3", material="MAT-I", site="SITE-B"),
                lot("L4", material="MAT-I"),
                lot("LX", material="MAT-I"),
            ],
            "batches.csv": [batch("B1"), batch("B2"), batch("B3")],
            "consumptions.csv": [
                consumption("B1", "R1"),
                consumption("B2", "R1"),
                consumption("B3", "R1"),
            ],
            "outputs.csv": [
                output("B1", "L1"),
                output("B2", "L2"),
                output("B3", "L3"),
                output("B3", "L4"),
            ],
            "documents.csv": [
                _doc("DOC-LOT", "coa", "CoA L1", 2),
                _doc("DOC-LOT", "coa", "CoA L1", 10),
                _doc("DOC-LOT", "coa", "CoA L1", 9),
                _doc("DOC-BR1", "batch_record", "Batch record B1"),
                _doc("DOC-BR2", "batch_record", "Batch record B2"),
                _doc("DOC-BR3", "batch_record", "Batch record B3"),
                _doc("DOC-DEV1", "deviation_report", "Deviation report DEV-1"),
                _doc("DOC-DEV2", "deviation_report", "Deviation report DEV-2"),
                _doc("DOC-DEV3", "deviation_report", "Deviation report DEV-3"),
                _doc("DOC-DEV4", "deviation_report", "Deviation report DEV-4"),
                _doc("DOC-TWO", "qc_report", "QC of L1 and B1"),
                _doc("DOC-R", "coa", "CoA R1"),
                _doc("DOC-SOP", "sop", "Reactor cleaning"),
                _doc("DOC-LATE", "coa", "CoA of a late lot"),
            ],
            "document_links.csv": [
                _link("DOC-LOT", "lot", "L1"),
                _link("DOC-BR1", "batch", "B1"),
                _link("DOC-BR2", "batch", "B2"),
                _link("DOC-BR3", "batch", "B3"),
                _link("DOC-DEV1", "deviation", "DEV-1"),
                _link("DOC-DEV2", "deviation", "DEV-2"),
                _link("DOC-DEV3", "deviation", "DEV-3"),
                _link("DOC-DEV4", "deviation", "DEV-4"),
                _link("DOC-TWO", "lot", "L1"),
                _link("DOC-TWO", "batch", "B1"),
                _link("DOC-R", "lot", "R1"),
                _link("DOC-SOP", "equipment", "R-101"),
                _link("DOC-SOP", "material", "MAT-X"),
                _link("DOC-LATE", "lot", "L-LATE"),
                _link("DOC-GHOST", "lot", "L2"),
            ],
            "deviations.csv": [_deviation(d) for d in ("DEV-1", "DEV-2", "DEV-3", "DEV-4")],
            "deviation_links.csv": [
                _affects("DEV-1", "lot", "L1"),
                _affects("DEV-2", "batch", "B1"),
                _affects("DEV-3", "lot", "R1"),
                _affects("DEV-4", "batch", "B3"),
                _affects("DEV-4", "lot", "L3"),
            ],
        },
    )
    report = ingest_bundle(store, path, actor="test")
    assert report.total("rejected") == 0
    return store


def _hits(store: GraphStore, lot_id: str) -> dict[str, list[list[str]]]:
    return {d.document_id: d.via for d in documents_for_lot(store, lot_id).documents}


def test_a_lot_lists_documents_of_all_four_path_shapes(linked: GraphStore) -> None:
    answer = documents_for_lot(linked, "L1")
    assert (answer.lot, answer.status, answer.unresolved) == ("L1", "quarantine", False)
    assert [d.model_dump() for d in answer.documents] == [
        {
            "document_id": "DOC-BR1",
            "kind": "batch_record",
            "title": "Batch record B1",
            "current_version": 1,
            "unresolved": False,
            "via": [["DOC-BR1", C, "B1", P, "L1"]],
        },
        {
            "document_id": "DOC-DEV1",
            "kind": "deviation_report",
            "title": "Deviation report DEV-1",
            "current_version": 1,
            "unresolved": False,
            "via": [["DOC-DEV1", C, "DEV-1", A, "L1"]],
        },
        {
            "document_id": "DOC-DEV2",
            "kind": "deviation_report",
            "title": "Deviation report DEV-2",
            "current_version": 1,
            "unresolved": False,
            "via": [["DOC-DEV2", C, "DEV-2", A, "B1", P, "L1"]],
        },
        {
            # Versions 2, 10 and 9: the highest number, not the last row or the text order.
            "document_id": "DOC-LOT",
            "kind": "coa",
            "title": "CoA L1",
            "current_version": 10,
            "unresolved": False,
            "via": [["DOC-LOT", C, "L1"]],
        },
        {
            # Two paths to the same lot: the document once, both paths, shortest first.
            "document_id": "DOC-TWO",
            "kind": "qc_report",
            "title": "QC of L1 and B1",
            "current_version": 1,
            "unresolved": False,
            "via": [["DOC-TWO", C, "L1"], ["DOC-TWO", C, "B1", P, "L1"]],
        },
    ]


def test_consuming_batches_do_not_link_their_documents(linked: GraphStore) -> None:
    # R1 went into B1, B2 and B3, whose records and deviations are not R1's documents.
    assert _hits(linked, "R1") == {
        "DOC-DEV3": [["DOC-DEV3", C, "DEV-3", A, "R1"]],
        "DOC-R": [["DOC-R", C, "R1"]],
    }
    assert [x.lot_id for x in lots_for_document(linked, "DOC-BR1").lots] == ["L1"]
    assert [x.lot_id for x in lots_for_document(linked, "DOC-DEV3").lots] == ["R1"]


def test_a_deviation_on_a_batch_and_its_lot_gives_both_paths(linked: GraphStore) -> None:
    assert _hits(linked, "L3") == {
        "DOC-BR3": [["DOC-BR3", C, "B3", P, "L3"]],
        "DOC-DEV4": [
            ["DOC-DEV4", C, "DEV-4", A, "L3"],
            ["DOC-DEV4", C, "DEV-4", A, "B3", P, "L3"],
        ],
    }
    answer = lots_for_document(linked, "DOC-DEV4")
    assert (answer.kind, answer.title, answer.current_version, answer.unresolved) == (
        "deviation_report",
        "Deviation report DEV-4",
        1,
        False,
    )
    assert [(x.lot_id, x.site, x.via) for x in answer.lots] == [
        (
            "L3",
            "SITE-B",
            [["DOC-DEV4", C, "DEV-4", A, "L3"], ["DOC-DEV4", C, "DEV-4", A, "B3", P, "L3"]],
        ),
        ("L4", "SITE-A", [["DOC-DEV4", C, "DEV-4", A, "B3", P, "L4"]]),
    ]


def test_a_document_lists_each_lot_once_with_all_its_paths(linked: GraphStore) -> None:
    answer = lots_for_document(linked, "DOC-TWO")
    assert [x.model_dump() for x in answer.lots] == [
        {
            "lot_id": "L1",
            "status": "quarantine",
            "material_id": "MAT-I",
            "site": "SITE-A",
            "unresolved": False,
            "via": [["DOC-TWO", C, "L1"], ["DOC-TWO", C, "B1", P, "L1"]],
        }
    ]
    assert [(x.lot_id, x.via) for x in lots_for_document(linked, "DOC-BR3").lots] == [
        ("L3", [["DOC-BR3", C, "B3", P, "L3"]]),
        ("L4", [["DOC-BR3", C, "B3", P, "L4"]]),
    ]


def test_documents_of_no_lot_and_lots_of_no_document(linked: GraphStore) -> None:
    sop = lots_for_document(linked, "DOC-SOP")
    assert (sop.document, sop.kind, sop.title, sop.lots) == (
        "DOC-SOP",
        "sop",
        "Reactor cleaning",
        [],
    )
    assert documents_for_lot(linked, "LX").documents == []


def test_every_pair_reads_the_same_from_both_ends(linked: GraphStore) -> None:
    from_lots = {
        (doc, lot_id): via for lot_id in LOTS for doc, via in _hits(linked, lot_id).items()
    }
    from_documents = {
        (doc, x.lot_id): x.via for doc in DOCUMENTS for x in lots_for_document(linked, doc).lots
    }
    assert from_lots == from_documents
    # Counted by hand: L1 5, R1 2, L2 2, L3 2, L4 2, L-LATE 1, LX 0.
    assert len(from_lots) == 14


def test_placeholders_appear_unresolved_then_resolve(linked: GraphStore, tmp_path: Path) -> None:
    late = documents_for_lot(linked, "L-LATE")
    assert (late.status, late.unresolved) == (None, True)
    assert [(d.document_id, d.via) for d in late.documents] == [
        ("DOC-LATE", [["DOC-LATE", C, "L-LATE"]])
    ]
    (hit,) = lots_for_document(linked, "DOC-LATE").lots
    assert (hit.lot_id, hit.status, hit.material_id, hit.unresolved) == (
        "L-LATE",
        None,
        None,
        True,
    )
    ghost = {d.document_id: d for d in documents_for_lot(linked, "L2").documents}
    assert sorted(ghost) == ["DOC-BR2", "DOC-GHOST"]
    assert ghost["DOC-GHOST"].model_dump() == {
        "document_id": "DOC-GHOST",
        "kind": None,
        "title": None,
        "current_version": None,
        "unresolved": True,
        "via": [["DOC-GHOST", C, "L2"]],
    }
    answer = lots_for_document(linked, "DOC-GHOST")
    assert (answer.kind, answer.current_version, answer.unresolved) == (None, None, True)
    assert [x.lot_id for x in answer.lots] == ["L2"]

    later = write_bundle(
        tmp_path / "later",
        {
            "lots.csv": [lot("L-LATE", material="MAT-I", status="on_hold")],
            "documents.csv": [_doc("DOC-GHOST", "capa", "CAPA for L2", 3)],
        },
    )
    assert ingest_bundle(linked, later, actor="test").total("rejected") == 0
    late = documents_for_lot(linked, "L-LATE")
    assert (late.status, late.unresolved) == ("on_hold", False)
    (hit,) = lots_for_document(linked, "DOC-LATE").lots
    assert (hit.lot_id, hit.status, hit.material_id, hit.unresolved) == (
        "L-LATE",
        "on_hold",
        "MAT-I",
        False,
    )
    ghost = {d.document_id: d for d in documents_for_lot(linked, "L2").documents}
    assert (ghost["DOC-GHOST"].kind, ghost["DOC-GHOST"].current_version) == ("capa", 3)
    assert ghost["DOC-GHOST"].unresolved is False
    answer = lots_for_document(linked, "DOC-GHOST")
    assert (answer.title, answer.unresolved) == ("CAPA for L2", False)


@pytest.mark.parametrize(
    ("call", "label", "key"),
    [
        (documents_for_lot, "Lot", "NOPE"),
        (documents_for_lot, "Lot", "B1"),  # a batch's id is not a lot
        (documents_for_lot, "Lot", "DOC-LOT"),
        (lots_for_document, "Document", "NOPE"),
        (lots_for_document, "Document", "L1"),  # a lot's id is not a document
    ],
)
def test_unknown_ids_are_not_found(linked: GraphStore, call: Any, label: str, key: str) -> None:
    with pytest.raises(NotFound) as caught:
        call(linked, key)
    assert (caught.value.label, caught.value.key) == (label, key)


# -- parity on generated plants ----------------------------------------------------------
def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.mark.neo4j
@pytest.mark.parametrize("seed", [5, 13])
def test_generated_plant_answers_match_on_both_stores(
    seed: int, tmp_path: Path, embedded_store: EmbeddedStore, neo4j_store: Neo4jStore
) -> None:
    plant = tmp_path / f"plant-{seed}"
    generate_plant(lots=300, seed=seed, out=plant)
    for store in (embedded_store, neo4j_store):
        assert ingest_bundle(store, plant, actor="test").total("rejected") == 0

    outputs: dict[str, set[str]] = {}
    for row in _rows(plant / "outputs.csv"):
        outputs.setdefault(row["batch_id"], set()).add(row["lot_id"])
    produced = sorted({lot_id for lots in outputs.values() for lot_id in lots})
    all_lots = [row["lot_id"] for row in _rows(plant / "lots.csv")]
    # A batch record of a batch with outputs must reach at least those outputs.
    records = {
        row["document_id"]: row["target_id"]
        for row in _rows(plant / "document_links.csv")
        if row["target_kind"] == "batch"
        and row["document_id"].startswith("DOC-BR")
        and row["target_id"] in outputs
    }
    kinds = {row["document_id"]: row["kind"] for row in _rows(plant / "documents.csv")}
    reports = sorted(d for d, k in kinds.items() if k == "deviation_report")
    others = sorted(d for d, k in kinds.items() if k not in ("batch_record", "deviation_report"))

    pick = random.Random(seed)
    lot_sample = pick.sample(produced, 15) + pick.sample(all_lots, 5)
    record_sample = pick.sample(sorted(records), 8)
    doc_sample = (
        record_sample
        + pick.sample(reports, min(6, len(reports)))
        + pick.sample(others, min(6, len(others)))
    )

    for lot_id in lot_sample:
        answer = documents_for_lot(embedded_store, lot_id)
        assert answer == documents_for_lot(neo4j_store, lot_id)
        if lot_id in produced:
            assert answer.documents, lot_id
    for doc_id in doc_sample:
        answer = lots_for_document(embedded_store, doc_id)
        assert answer == lots_for_document(neo4j_store, doc_id)
        if doc_id in records:
            assert outputs[records[doc_id]] <= {x.lot_id for x in answer.lots}, doc_id
    assert all(lots_for_document(embedded_store, d).lots for d in reports)


# -- the document record, its signers and the version diff (issue 14) --------------------
@pytest.mark.neo4j
def test_document_records_signers_and_diffs_match_on_both_stores(
    tmp_path: Path, embedded_store: EmbeddedStore, neo4j_store: Neo4jStore
) -> None:
    """Ingested documents (signers from people.csv, from an account, from neither) and one
    written over the service with two versions: the same record, verification and diff."""
    seed = random.randrange(1_000_000)
    print(f"plant seed {seed}")
    plant = tmp_path / "plant"
    generate_plant(lots=200, seed=seed, out=plant)
    signed = _rows_of(plant / "signatures.csv")
    first = signed[0]
    extra = write_bundle(
        tmp_path / "extra",
        {
            "signatures.csv": [
                {**first, "signature_id": "SIG-PARITY-1", "signer_id": "acct-signer"},
                {**first, "signature_id": "SIG-PARITY-2", "signer_id": "NOBODY-9"},
            ]
        },
        timezone="UTC",
    )
    caller = Caller("qa-parity", Role.QA, frozenset({"*"}))
    content_1 = {"results": [{"analyte": "Assay", "value": 99.5}], "lot": "S-1"}
    content_2 = {"results": [{"analyte": "Assay", "value": 99.1}, {"n": 2}], "note": "re"}
    now = utc_now()
    for store in (embedded_store, neo4j_store):
        assert ingest_bundle(store, plant, actor="test").total("rejected") == 0
        assert ingest_bundle(store, extra, actor="test").total("rejected") == 0
        store.save_account(
            Account("acct-signer", "qa", ["*"], "password", "x", False, now, now), None
        )
        service = DocumentService(store)
        body = DocumentCreate(id="DOC-PARITY-1", kind="sop", title="Parity", content=content_1)
        service.create(caller, body)
        service.add_version(caller, "DOC-PARITY-1", content_2, "retest")

    documents = sorted({row["document_id"] for row in signed})
    sample = random.Random(seed).sample(documents, min(12, len(documents)))
    for doc_id in dict.fromkeys([first["document_id"], *sample]):
        record = document_record(embedded_store, doc_id)
        assert record == document_record(neo4j_store, doc_id), doc_id
        assert verify(embedded_store, doc_id) == verify(neo4j_store, doc_id), doc_id
        unnamed = [s for s in record.signatures if s.signer_name is None]
        assert [s.signer_id for s in unnamed] in ([], ["NOBODY-9"]), doc_id
    named = {
        s.signature_id: (s.signer_name, s.signer_role)
        for s in document_record(neo4j_store, first["document_id"]).signatures
    }
    assert named["SIG-PARITY-1"] == ("acct-signer", "qa")
    assert named["SIG-PARITY-2"] == (None, None)

    def timeless(store: GraphStore) -> dict[str, Any]:
        answer = document_record(store, "DOC-PARITY-1").model_dump()
        for version in answer["versions"]:
            version.pop("created_at")  # the time each store was written at
        answer.pop("created_at")
        return answer

    assert timeless(embedded_store) == timeless(neo4j_store)
    diff = version_diff(embedded_store, "DOC-PARITY-1", 1, 2)
    assert diff == version_diff(neo4j_store, "DOC-PARITY-1", 1, 2)
    assert [c.path for c in diff.changes] == ["lot", "note", "results[0].value", "results[1]"]
    for store in (embedded_store, neo4j_store):
        with pytest.raises(ContentNotStored):
            version_diff(store, first["document_id"], *[int(first["document_version"])] * 2)
        with pytest.raises(NotFound):
            version_diff(store, "DOC-PARITY-1", 1, 3)


def _rows_of(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))
