"""Bundle ingest on both stores: accounting, idempotency, placeholders, rejections, updates."""

from __future__ import annotations

from pathlib import Path

import pytest

from graph.model import Label, RelType
from graph.store import GraphStore, NodeRef, RelRef
from ingest.bundle import BundleError
from ingest.loader import IngestReport, ingest_bundle
from tests.bundles import MATERIALS, batch, consumption, lot, output, write_bundle, zip_bundle


def _ingest(store: GraphStore, path: Path) -> IngestReport:
    return ingest_bundle(store, path, actor="test")


def _assert_accounted(report: IngestReport) -> None:
    for name, counts in report.files.items():
        assert counts.rows_read == counts.accepted + counts.unchanged + counts.rejected, name


def _small_plant(tmp_path: Path, name: str = "plant") -> Path:
    return write_bundle(
        tmp_path / name,
        {
            "suppliers.csv": [
                {"supplier_id": "SUP-1", "name": "Acme", "country": "CH", "status": "approved"}
            ],
            "materials.csv": MATERIALS,
            "lots.csv": [
                lot("L-R1", supplier_id="SUP-1", supplier_lot="A-77"),
                lot("L-I1", material="MAT-I"),
            ],
            "batches.csv": [batch("B-1")],
            "consumptions.csv": [consumption("B-1", "L-R1")],
            "outputs.csv": [output("B-1", "L-I1")],
        },
    )


def test_every_row_is_accounted_and_second_ingest_is_unchanged(
    store: GraphStore, tmp_path: Path
) -> None:
    path = _small_plant(tmp_path)
    first = _ingest(store, path)
    _assert_accounted(first)
    assert first.total("rows_read") == 9
    assert (first.total("accepted"), first.total("unchanged"), first.total("rejected")) == (9, 0, 0)
    before = store.stats()

    second = _ingest(store, path)
    _assert_accounted(second)
    assert (second.total("accepted"), second.total("unchanged")) == (0, 9)
    assert store.stats() == before
    assert before.nodes == {
        "Batch": 1,
        "Lot": 2,
        "Material": 3,
        "Site": 1,
        "Supplier": 1,
    }
    assert before.relationships == {
        "CONSUMED_IN": 1,
        "OF_MATERIAL": 2,
        "PRODUCED": 1,
        "SUPPLIED": 1,
    }
    assert before.unresolved == 0


def test_zip_bundle_reads_like_its_folder(store: GraphStore, tmp_path: Path) -> None:
    path = zip_bundle(_small_plant(tmp_path), tmp_path / "plant.zip")
    report = _ingest(store, path)
    assert report.total("accepted") == 9
    assert store.stats().nodes["Lot"] == 2


def test_reference_before_entity_makes_a_placeholder_that_a_later_bundle_fills(
    store: GraphStore, tmp_path: Path
) -> None:
    early = write_bundle(
        tmp_path / "early",
        {"consumptions.csv": [consumption("B-9", "L-LATE", quantity="5")]},
    )
    report = _ingest(store, early)
    assert report.total("accepted") == 1
    assert report.unresolved == 2  # the lot and the batch
    placeholder = store.fetch_nodes(Label.LOT, ["L-LATE"])["L-LATE"]
    assert placeholder.unresolved and placeholder.props == {}

    late = write_bundle(
        tmp_path / "late",
        {
            "lots.csv": [lot("L-LATE", quantity="80")],
            "batches.csv": [batch("B-9")],
            "materials.csv": MATERIALS,
        },
    )
    report = _ingest(store, late)
    assert report.files["lots.csv"].accepted == 1
    assert report.unresolved == 0
    filled = store.fetch_nodes(Label.LOT, ["L-LATE"])["L-LATE"]
    assert not filled.unresolved and filled.props["quantity"] == 80.0
    rel = RelRef(
        RelType.CONSUMED_IN,
        NodeRef(Label.LOT, "L-LATE"),
        NodeRef(Label.BATCH, "B-9"),
        "2026-02-01T09:00:00.000Z",
    )
    assert store.fetch_rels([rel])[rel]["quantity"] == 5.0


def test_a_signature_before_its_document_hangs_off_the_document_placeholder(
    store: GraphStore, tmp_path: Path
) -> None:
    signed = {
        "signature_id": "SIG-1",
        "document_id": "DOC-LATE",
        "document_version": "2",
        "signer_id": "U-1",
        "meaning": "approved",
        "signed_at": "2026-02-01T10:00:00Z",
        "record_sha256": "b" * 64,
    }
    report = _ingest(store, write_bundle(tmp_path / "sig", {"signatures.csv": [signed]}))
    assert report.unresolved == 3  # the signer, the document and its version
    stats = store.stats()
    assert stats.relationships["HAS_VERSION"] == 1
    assert store.fetch_nodes(Label.DOCUMENT, ["DOC-LATE"])["DOC-LATE"].unresolved
    document = {
        "document_id": "DOC-LATE",
        "version": "2",
        "kind": "batch_record",
        "title": "Late record",
        "content_sha256": "b" * 64,
        "created_at": "2026-02-01T09:00:00Z",
        "created_by": "U-1",
        "status": "approved",
    }
    report = _ingest(store, write_bundle(tmp_path / "doc", {"documents.csv": [document]}))
    assert report.unresolved == 1  # only the signer is still missing
    assert store.stats().relationships["HAS_VERSION"] == 1


def test_each_bad_row_is_rejected_with_its_reason_and_valid_rows_are_kept(
    store: GraphStore, tmp_path: Path
) -> None:
    path = write_bundle(
        tmp_path / "bad",
        {
            "materials.csv": MATERIALS,
            "lots.csv": [
                lot("L-OK1"),
                lot("L-NEG", quantity="-5"),
                lot("L-STATUS", status="lost"),
                lot("L-NAN", quantity="twelve"),
                lot("", quantity="3"),
                lot("L-NAIVE", created_at="2026-01-05T08:00:00"),
                lot("L-OK2", unit="g"),
                lot("L-UNIT", unit="bucket"),
            ],
        },
        timezone=None,
    )
    report = _ingest(store, path)
    _assert_accounted(report)
    lots = report.files["lots.csv"]
    assert (lots.rows_read, lots.accepted, lots.rejected) == (8, 2, 6)
    by_row = {(r.row, r.column): r.reason for r in report.rejections}
    assert set(by_row) == {
        (3, "quantity"),
        (4, "status"),
        (5, "quantity"),
        (6, "lot_id"),
        (7, "created_at"),
        (9, "unit"),
    }
    assert "negative" in by_row[(3, "quantity")]
    assert "'lost'" in by_row[(4, "status")]
    assert "not a number" in by_row[(5, "quantity")]
    assert "empty" in by_row[(6, "lot_id")]
    assert "no UTC offset" in by_row[(7, "created_at")]
    assert "unknown unit" in by_row[(9, "unit")]
    assert sorted(store.fetch_nodes(Label.LOT, ["L-OK1", "L-OK2", "L-NEG", "L-NAIVE"])) == [
        "L-OK1",
        "L-OK2",
    ]


def test_quantities_convert_within_a_dimension_and_reject_across(
    store: GraphStore, tmp_path: Path
) -> None:
    path = write_bundle(
        tmp_path / "units",
        {
            "materials.csv": MATERIALS,
            "lots.csv": [lot("L-1"), lot("L-S", material="MAT-S", unit="L")],
            "consumptions.csv": [
                consumption("B-1", "L-1", quantity="2500", unit="g"),
                consumption("B-1", "L-S", quantity="3", unit="kg"),
                consumption("B-2", "L-S", quantity="500", unit="mL"),
            ],
        },
    )
    report = _ingest(store, path)
    assert report.files["consumptions.csv"].accepted == 2
    (rej,) = report.rejections
    assert (rej.row, rej.column) == (3, "unit") and "cannot be converted" in rej.reason
    at = "2026-02-01T09:00:00.000Z"
    refs = [
        RelRef(RelType.CONSUMED_IN, NodeRef(Label.LOT, "L-1"), NodeRef(Label.BATCH, "B-1"), at),
        RelRef(RelType.CONSUMED_IN, NodeRef(Label.LOT, "L-S"), NodeRef(Label.BATCH, "B-2"), at),
    ]
    found = store.fetch_rels(refs)
    assert (found[refs[0]]["quantity"], found[refs[0]]["unit"]) == (2.5, "kg")
    assert (found[refs[1]]["quantity"], found[refs[1]]["unit"]) == (0.5, "L")


def test_naive_timestamps_are_read_in_the_bundle_timezone(
    store: GraphStore, tmp_path: Path
) -> None:
    path = write_bundle(
        tmp_path / "tz",
        {
            "materials.csv": MATERIALS,
            "lots.csv": [
                lot("L-W", created_at="2026-01-15T08:00:00"),  # winter, UTC+1
                lot("L-S", created_at="2026-07-15T08:00:00"),  # summer, UTC+2
                lot("L-Z", created_at="2026-07-15T08:00:00Z"),
            ],
        },
        timezone="Europe/Zurich",
    )
    _ingest(store, path)
    found = store.fetch_nodes(Label.LOT, ["L-W", "L-S", "L-Z"])
    assert found["L-W"].props["created_at"] == "2026-01-15T07:00:00.000Z"
    assert found["L-S"].props["created_at"] == "2026-07-15T06:00:00.000Z"
    assert found["L-Z"].props["created_at"] == "2026-07-15T08:00:00.000Z"


def test_a_changed_row_is_an_update_with_old_and_new_in_the_audit_trail(
    store: GraphStore, tmp_path: Path
) -> None:
    _ingest(store, _small_plant(tmp_path, "v1"))
    changed = write_bundle(
        tmp_path / "v2",
        {
            "materials.csv": MATERIALS,
            "lots.csv": [lot("L-R1", material="MAT-S", quantity="90", supplier_id="SUP-1")],
        },
    )
    report = _ingest(store, changed)
    assert report.files["lots.csv"].accepted == 1
    assert report.files["lots.csv"].updated == 1
    assert report.files["materials.csv"].unchanged == 3
    updates = [e for e in store.audit_entries() if e["action"] == "update"]
    (entry,) = updates
    assert entry["entity"] == "Lot" and entry["key"] == "L-R1"
    assert entry["old"]["quantity"] == 100.0 and entry["new"]["quantity"] == 90.0
    assert entry["old"]["material_id"] == "MAT-X" and entry["new"]["material_id"] == "MAT-S"
    lot_ref = NodeRef(Label.LOT, "L-R1")
    old_rel = RelRef(RelType.OF_MATERIAL, lot_ref, NodeRef(Label.MATERIAL, "MAT-X"))
    new_rel = RelRef(RelType.OF_MATERIAL, lot_ref, NodeRef(Label.MATERIAL, "MAT-S"))
    supplied = RelRef(RelType.SUPPLIED, NodeRef(Label.SUPPLIER, "SUP-1"), lot_ref)
    assert set(store.fetch_rels([old_rel, new_rel, supplied])) == {new_rel, supplied}
    assert store.stats().relationships["OF_MATERIAL"] == 2


def test_duplicate_key_with_other_content_is_rejected_identical_one_is_unchanged(
    store: GraphStore, tmp_path: Path
) -> None:
    path = write_bundle(
        tmp_path / "dup",
        {
            "materials.csv": MATERIALS,
            "lots.csv": [lot("L-1"), lot("L-1"), lot("L-1", quantity="7")],
        },
    )
    report = _ingest(store, path)
    lots = report.files["lots.csv"]
    assert (lots.accepted, lots.unchanged, lots.rejected) == (1, 1, 1)
    (rej,) = report.rejections
    assert rej.row == 4 and "duplicate key" in rej.reason and "row 2" in rej.reason


def test_a_file_without_a_required_column_rejects_every_row(
    store: GraphStore, tmp_path: Path
) -> None:
    rows = [{k: v for k, v in lot(f"L-{i}").items() if k != "status"} for i in range(3)]
    report = _ingest(store, write_bundle(tmp_path / "nocol", {"lots.csv": rows}))
    assert report.files["lots.csv"].rejected == 3
    assert {r.column for r in report.rejections} == {"status"}
    assert "no column" in report.rejections[0].reason
    assert store.stats().nodes.get("Lot", 0) == 0


def test_extra_columns_are_kept_and_provenance_is_recorded(
    store: GraphStore, tmp_path: Path
) -> None:
    path = write_bundle(
        tmp_path / "extra",
        {"lots.csv": [lot("L-1", grade="USP", on_hand="40")]},
    )
    _ingest(store, path)
    props = store.fetch_nodes(Label.LOT, ["L-1"])["L-1"].props
    assert props["grade"] == "USP" and props["on_hand"] == 40.0


def test_an_unreadable_bundle_writes_nothing(store: GraphStore, tmp_path: Path) -> None:
    path = write_bundle(tmp_path / "ragged", {"lots.csv": [lot("L-1"), lot("L-2")]})
    with (path / "lots.csv").open("a", encoding="utf-8") as fh:
        fh.write("L-3,too,few\n")
    with pytest.raises(BundleError, match=r"lots.csv line 4: the record has 3 fields"):
        _ingest(store, path)
    assert store.stats().nodes == {}


def test_a_bad_bundle_timezone_is_named(store: GraphStore, tmp_path: Path) -> None:
    path = write_bundle(tmp_path / "tzbad", {"lots.csv": [lot("L-1")]}, timezone="Mars/Olympus")
    with pytest.raises(BundleError, match="timezone"):
        _ingest(store, path)


def _document_version(version: int, title: str) -> dict[str, str]:
    return {
        "document_id": "DOC-1",
        "version": str(version),
        "kind": "sop",
        "title": title,
        "content_sha256": f"{version:064x}",
        "created_at": f"2026-02-0{version}T09:00:00Z",
        "created_by": "U-1",
        "status": "approved",
    }


def test_rows_restating_one_node_write_the_last_rows_content_and_read_again_unchanged(
    store: GraphStore, tmp_path: Path
) -> None:
    """Two versions of a document state the document's title differently: the file's
    last row says what is stored, and the same bundle again changes nothing (it used to
    flip the title to the first row's and back, an update each time)."""
    renamed = [_document_version(1, "Old title"), _document_version(2, "New title")]
    path = write_bundle(tmp_path / "docs", {"documents.csv": renamed})
    first = _ingest(store, path)
    assert first.files["documents.csv"].accepted == 2
    assert store.fetch_nodes(Label.DOCUMENT, ["DOC-1"])["DOC-1"].props["title"] == "New title"
    entries = len(store.audit_entries())

    again = _ingest(store, path)
    counts = again.files["documents.csv"]
    assert (counts.accepted, counts.updated, counts.unchanged) == (0, 0, 2)
    assert store.fetch_nodes(Label.DOCUMENT, ["DOC-1"])["DOC-1"].props["title"] == "New title"
    assert [e["action"] for e in store.audit_entries()[entries:]] == ["ingest"]

    # the versions' order reversed: now the first version's title is the last row's
    reverse = write_bundle(tmp_path / "reverse", {"documents.csv": renamed[::-1]})
    changed = _ingest(store, reverse).files["documents.csv"]
    assert (changed.accepted, changed.updated, changed.unchanged) == (1, 1, 1)
    assert store.fetch_nodes(Label.DOCUMENT, ["DOC-1"])["DOC-1"].props["title"] == "Old title"
    updates = [e for e in store.audit_entries() if e["action"] == "update"]
    assert [(e["old"]["title"], e["new"]["title"]) for e in updates] == [("New title", "Old title")]
