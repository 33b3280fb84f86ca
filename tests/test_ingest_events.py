"""JSON events ingest on both stores: the CLI's accounting and dead letter, named for a caller."""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from graph.embedded import EmbeddedStore
from graph.model import Label, RelType
from graph.neo4j_store import Neo4jStore
from graph.store import GraphStore, NodeRef, RelRef
from ingest import events
from ingest.bundle import BundleError, BundleLimits
from ingest.events import EventsPayload, Kind, TooManyRecords, ingest_events
from ingest.loader import IngestReport, ingest_bundle
from ingest.mapping import FILES
from tests.bundles import MATERIALS, batch, consumption, lot, output, write_bundle


def _payload(records: dict[str, list[dict[str, Any]]], **meta: Any) -> EventsPayload:
    return EventsPayload.model_validate({"source": "MES-A", **meta, "records": records})


def _ingest(store: GraphStore, payload: EventsPayload, **kwargs: Any) -> IngestReport:
    report = ingest_events(store, payload, actor="test", **kwargs)
    for name, counts in report.files.items():
        assert counts.rows_read == counts.accepted + counts.unchanged + counts.rejected, name
    return report


def _rejections(store: GraphStore, ingest_id: str) -> list[dict[str, Any]]:
    return store.rejections(ingest_id)  # type: ignore[attr-defined, no-any-return]


def _plant() -> dict[str, list[dict[str, Any]]]:
    """A small plant with JSON's own types: numbers as numbers, absent values as null."""
    return {
        "suppliers": [
            {"supplier_id": "SUP-1", "name": "Acme", "country": None, "status": "approved"}
        ],
        "materials": MATERIALS,
        "lots": [
            lot("L-R1", supplier_id="SUP-1", quantity=100, on_hand=None, hazardous=True),
            lot("L-I1", material="MAT-I", quantity=40.5, on_hand=12, hazardous=False),
        ],
        "batches": [batch("B-1")],
        "consumptions": [consumption("B-1", "L-R1", quantity=10)],
        "outputs": [output("B-1", "L-I1", quantity="40.5")],
    }


def test_kinds_are_the_bundle_files() -> None:
    assert [f"{k.value}.csv" for k in Kind] == [spec.name for spec in FILES]


def test_a_valid_payload_is_accepted_readable_and_unchanged_when_sent_again(
    store: GraphStore,
) -> None:
    payload = _payload(_plant(), timezone="Europe/Zurich")
    first = _ingest(store, payload)
    assert first.bundle == "events:MES-A" and first.source == "MES-A"
    assert set(first.files) == {
        "suppliers",
        "materials",
        "lots",
        "batches",
        "consumptions",
        "outputs",
    }
    assert (first.total("rows_read"), first.total("accepted")) == (9, 9)
    assert (first.total("unchanged"), first.total("rejected")) == (0, 0)
    assert first.rejections == [] and _rejections(store, first.ingest_id) == []

    lots = store.fetch_nodes(Label.LOT, ["L-R1", "L-I1"])
    assert lots["L-R1"].props["quantity"] == 100.0
    assert lots["L-R1"].props["created_at"] == "2026-01-05T07:00:00.000Z"
    assert lots["L-R1"].props["hazardous"] == "true"  # an extra field, kept as its text
    assert "on_hand" not in lots["L-R1"].props  # null: absent
    assert lots["L-I1"].props["hazardous"] == "false"
    assert lots["L-I1"].props["on_hand"] == 12.0
    assert store.fetch_nodes(Label.SUPPLIER, ["SUP-1"])["SUP-1"].props == {
        "name": "Acme",
        "status": "approved",
    }
    rel = RelRef(RelType.PRODUCED, NodeRef(Label.BATCH, "B-1"), NodeRef(Label.LOT, "L-I1"))
    assert store.fetch_rels([rel])[rel]["quantity"] == 40.5
    (summary,) = [
        e for e in store.audit_entries() if e["key"] == first.ingest_id and e["action"] == "ingest"
    ]
    assert summary["new"]["bundle"] == "events:MES-A"
    assert set(summary["new"]["files"]) == set(first.files)
    assert summary["new"]["files"]["lots"]["rows"] == 2
    before = store.stats()

    second = _ingest(store, payload)
    assert second.ingest_id != first.ingest_id
    assert (second.total("rows_read"), second.total("unchanged")) == (9, 9)
    assert (second.total("accepted"), second.total("rejected")) == (0, 0)
    assert store.stats() == before


def test_bad_records_are_rejected_by_kind_and_position_and_good_ones_kept(
    store: GraphStore,
) -> None:
    payload = _payload(
        {
            "materials": MATERIALS,
            "lots": [
                lot("L-NEG", quantity=-5),  # row 1
                lot("L-OK1", quantity=7),
                lot("L-STATUS", status="lost"),
                lot("L-NAN", quantity="twelve"),
                lot("", quantity=3),  # row 5
                lot("L-OK2", unit="g"),
                lot("L-UNIT", unit="bucket"),
                lot("L-OK1", quantity=8),  # row 8: same key as row 2, other content
                {"lot_id": "L-BARE"},  # row 9: every other required field missing
            ],
        },
        timezone="UTC",
    )
    report = _ingest(store, payload)
    lots = report.files["lots"]
    assert (lots.rows_read, lots.accepted, lots.unchanged, lots.rejected) == (9, 2, 0, 7)
    assert report.files["materials"].accepted == 3
    by_row = {(r.row, r.column): r.reason for r in report.rejections}
    assert {r.file for r in report.rejections} == {"lots"}
    required = {"material_id", "site", "quantity", "unit", "status", "created_at"}
    assert set(by_row) == {
        (1, "quantity"),
        (3, "status"),
        (4, "quantity"),
        (5, "lot_id"),
        (7, "unit"),
        (8, "lot_id"),
        *((9, column) for column in required),
    }
    assert "negative" in by_row[(1, "quantity")]
    assert "'lost'" in by_row[(3, "status")]
    assert "not a number" in by_row[(4, "quantity")]
    assert "empty" in by_row[(5, "lot_id")]
    assert "unknown unit" in by_row[(7, "unit")]
    assert "duplicate key 'L-OK1'" in by_row[(8, "lot_id")]
    assert "than row 2 " in by_row[(8, "lot_id")]
    assert "empty" in by_row[(9, "site")]

    stored = _rejections(store, report.ingest_id)
    assert [(r["file"], r["row"], r["column"], r["reason"]) for r in stored] == [
        (r.file, r.row, r.column, r.reason) for r in report.rejections
    ]
    found = store.fetch_nodes(Label.LOT, ["L-NEG", "L-OK1", "L-STATUS", "L-OK2", "L-BARE"])
    assert sorted(found) == ["L-OK1", "L-OK2"]
    assert found["L-OK1"].props["quantity"] == 7.0
    assert found["L-OK2"].props["unit"] == "g"


def test_a_timestamp_without_offset_is_read_in_the_payload_timezone(store: GraphStore) -> None:
    records = {
        "lots": [
            lot("L-W", created_at="2026-01-15T08:00:00"),  # winter, UTC+1
            lot("L-S", created_at="2026-07-15T08:00:00"),  # summer, UTC+2
            lot("L-Z", created_at="2026-07-15T08:00:00Z"),
        ]
    }
    report = _ingest(store, _payload(records, timezone="Europe/Zurich"))
    assert report.files["lots"].accepted == 3
    found = store.fetch_nodes(Label.LOT, ["L-W", "L-S", "L-Z"])
    assert found["L-W"].props["created_at"] == "2026-01-15T07:00:00.000Z"
    assert found["L-S"].props["created_at"] == "2026-07-15T06:00:00.000Z"
    assert found["L-Z"].props["created_at"] == "2026-07-15T08:00:00.000Z"


def test_a_timestamp_without_offset_is_rejected_when_the_payload_names_no_timezone(
    store: GraphStore,
) -> None:
    records = {
        "lots": [
            lot("L-N", created_at="2026-01-15T08:00:00", quantity=1),
            lot("L-Z", created_at="2026-07-15T08:00:00+02:00", quantity=2),
        ]
    }
    report = _ingest(store, _payload(records))
    lots = report.files["lots"]
    assert (lots.rows_read, lots.accepted, lots.rejected) == (2, 1, 1)
    (rejection,) = report.rejections
    assert (rejection.file, rejection.row, rejection.column) == ("lots", 1, "created_at")
    assert "no UTC offset" in rejection.reason
    found = store.fetch_nodes(Label.LOT, ["L-N", "L-Z"])
    assert list(found) == ["L-Z"]
    assert found["L-Z"].props["created_at"] == "2026-07-15T06:00:00.000Z"


def test_more_records_than_max_rows_is_refused_and_writes_nothing(store: GraphStore) -> None:
    payload = _payload({"materials": MATERIALS, "lots": [lot("L-1")]})
    with pytest.raises(TooManyRecords, match=r"holds 4 records; at most 3") as info:
        ingest_events(store, payload, actor="test", max_rows=3)
    assert isinstance(info.value, ValueError)
    assert (info.value.count, info.value.limit) == (4, 3)
    assert store.stats().nodes == {}
    assert store.audit_entries() == []

    report = _ingest(store, payload, max_rows=4)  # the limit itself is allowed
    assert report.total("accepted") == 4


def test_the_temporary_bundle_is_private_and_deleted(
    store: GraphStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    seen: list[tuple[Path, int, list[str]]] = []

    def spy(store: GraphStore, path: Path, **kwargs: Any) -> IngestReport:
        seen.append((path, path.stat().st_mode & 0o777, sorted(p.name for p in path.iterdir())))
        return ingest_bundle(store, path, **kwargs)

    monkeypatch.setattr(events, "ingest_bundle", spy)
    # records go to the loader in memory, with no file written ...
    report = _ingest(store, _payload({"materials": MATERIALS, "lots": []}))
    assert seen == [] and report.total("accepted") == len(MATERIALS)
    assert list(scratch.iterdir()) == []
    # ... but for a rendering the CSV reader reads otherwise (here: a first field name
    # with a byte-order mark, which the reader drops), which goes through the files
    marked = [
        {"\ufeff" + k if i == 0 else k: v for i, (k, v) in enumerate(m.items())} for m in MATERIALS
    ]
    report = _ingest(store, _payload({"materials": marked, "lots": []}))
    ((path, mode, names),) = seen
    assert path.parent == scratch and mode == 0o700
    assert names == ["bundle.json", "materials.csv"]  # an empty kind is not written
    assert report.bundle == "events:MES-A" and str(scratch) not in report.bundle
    assert report.total("unchanged") == len(MATERIALS)  # the reader dropped the mark
    assert list(scratch.iterdir()) == []


def _odd_payload() -> dict[str, list[dict[str, Any]]]:
    """Records whose CSV rendering quotes, escapes and spans lines, with rejections."""
    odd = 'a "quoted", comma\r\nsecond line\rCR only\nLF é 漢字 \U0001f600 \ufeff '
    return {
        "suppliers": [
            {"supplier_id": " SUP-1 ", "name": odd, "country": None, "status": "approved"},
            {"supplier_id": "SUP-2", "name": "", "status": "approved"},
            {"supplier_id": "SUP-1", "name": "other", "status": "approved"},
            {"supplier_id": "SUP-3", "name": "x ", "status": "approved", "note ": odd},
        ],
        "materials": MATERIALS,
        "lots": [
            lot("L-R1", supplier_id="SUP-1", quantity=100.25, on_hand=None, hazardous=True),
            lot("L-R2", quantity="1e3", extra=odd, flag=False),
            lot("L-R3", quantity=-1),
            {"lot_id": "L-R4"},
        ],
        "batches": [batch("B-1")],
        "consumptions": [consumption("B-1", "L-R1", quantity=10), consumption("B-1", "L-R9")],
        "outputs": [output("B-1", "L-I1", quantity="40.5")],
    }


def _held(store: EmbeddedStore) -> dict[str, Any]:
    """Everything an ingest leaves in an embedded store, but its ids and clock."""
    with store.reading() as conn:
        nodes = conn.execute("SELECT * FROM nodes ORDER BY label, id")
        rels = conn.execute("SELECT * FROM rels ORDER BY 1, 2, 3, 4, 5, 6")
        names = [[c[0] for c in cur.description] for cur in (nodes, rels)]
        held = {
            table: [_without_write_id(dict(zip(columns, row, strict=True))) for row in cur]
            for table, columns, cur in zip(("nodes", "rels"), names, (nodes, rels), strict=True)
        }
    audit = [
        {
            k: v
            for k, v in e.items()
            if k not in ("seq", "at", "key", "reason", "prev_hash", "hash", "write_id")
        }
        for e in store.audit_entries()
    ]
    return held | {"audit": audit, "content": store.content_sha256()}


def _without_write_id(row: dict[str, Any]) -> dict[str, Any]:
    """A stored row, its provenance without the write's random id."""
    provenance = json.loads(row["prov"])
    assert provenance.pop("write_id")
    return row | {"prov": provenance}


def test_records_in_memory_load_as_their_csv_files_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The in-memory path and the CSV files give the same report, dead letter, audit
    entries (with each file's SHA-256 and rows_sha256), provenance and graph: once, and
    again (unchanged)."""
    payload = _payload(_odd_payload(), timezone="Europe/Zurich")
    through_files = events._ingest_through_files
    results = []
    refusals: list[str] = []
    for way in ("memory", "files"):
        store = EmbeddedStore(tmp_path / f"{way}.sqlite")
        store.ensure_schema()
        if way == "files":
            monkeypatch.setattr(events, "_rendered", lambda records: None)
        spied: list[int] = []
        monkeypatch.setattr(events, "_ingest_through_files", _counted(through_files, spied))
        reports = [_ingest(store, payload).as_dict() for _ in range(2)]
        assert len(spied) == (2 if way == "files" else 0)
        with pytest.raises(BundleError) as refused:
            _ingest(store, _payload({"suppliers": [{"name": "a"}, {" name": "b"}]}))
        refusals.append(str(refused.value))
        ids = [r.pop("ingest_id") for r in reports]
        for r in reports:
            r.pop("started_at")
        dead = [[{**x, "ingest_id": None} for x in _rejections(store, i)] for i in ids]
        results.append((reports, dead, _held(store)))
        store.close()
    memory, files = results
    (first, again), dead, _ = memory
    assert first["rejected"] == 4 and len(dead[0]) == len(first["rejections"]) > 4
    assert first["accepted"] > 0
    assert again["accepted"] == 0 and again["unchanged"] == first["accepted"]
    assert memory == files
    assert (
        refusals[0]
        == refusals[1]
        == ("suppliers line 1: column 'name' appears twice in the header (columns 1 and 2)")
    )


def _counted(function: Any, calls: list[int]) -> Any:
    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return function(*args, **kwargs)

    return counted


def _second_store(store: GraphStore, tmp_path: Path) -> GraphStore:
    """An empty store of the same kind, for ingesting the same records a second way."""
    if isinstance(store, EmbeddedStore):
        other = EmbeddedStore(tmp_path / "second.sqlite")
        other.ensure_schema()
        return other
    assert isinstance(store, Neo4jStore)
    store.clear()
    store.ensure_schema()
    return store


def test_events_and_the_same_records_as_a_csv_bundle_give_the_same_graph_and_accounting(
    store: GraphStore, tmp_path: Path
) -> None:
    as_text = {
        "materials": MATERIALS,
        "lots": [
            lot("L-R1", quantity="100", created_at="2026-01-05T08:00:00"),
            lot("L-I1", material="MAT-I", quantity="oops"),
            lot("L-I2", material="MAT-I", on_hand="3.5"),
        ],
        "batches": [batch("B-1"), batch("B-2", status="dreaming")],
        "consumptions": [consumption("B-1", "L-R1", quantity="2500", unit="g")],
        "outputs": [output("B-1", "L-I2"), output("B-1", "L-I2", quantity="51")],
    }
    as_json = {
        "materials": MATERIALS,
        "lots": [
            lot("L-R1", quantity=100, created_at="2026-01-05T08:00:00"),
            lot("L-I1", material="MAT-I", quantity="oops"),
            lot("L-I2", material="MAT-I", on_hand=3.5),
        ],
        "batches": [batch("B-1"), batch("B-2", status="dreaming")],
        "consumptions": [consumption("B-1", "L-R1", quantity=2500, unit="g")],
        "outputs": [output("B-1", "L-I2"), {**output("B-1", "L-I2"), "quantity": 51}],
    }
    folder = write_bundle(
        tmp_path / "MES-A",
        {f"{kind}.csv": rows for kind, rows in as_text.items()},
        timezone="Europe/Zurich",
    )
    from_csv = ingest_bundle(store, folder, actor="test")
    csv_stats = store.stats()

    other = _second_store(store, tmp_path)
    try:
        from_events = _ingest(other, _payload(as_json, timezone="Europe/Zurich"))
        assert other.stats() == csv_stats
        node = other.fetch_nodes(Label.LOT, ["L-R1"])["L-R1"]
    finally:
        if other is not store:
            other.close()

    assert csv_stats.nodes["Lot"] == 2 and csv_stats.nodes["Batch"] == 1
    assert node.props["created_at"] == "2026-01-05T07:00:00.000Z"
    assert from_csv.total("rejected") == 3
    assert {f"{name}.csv": counts for name, counts in from_events.files.items()} == from_csv.files
    assert from_events.unresolved == from_csv.unresolved
    # The same rejections, but named by kind and record position instead of file and line.
    assert [(r.file, r.row, r.column, r.reason) for r in from_events.rejections] == [
        (
            r.file.removesuffix(".csv"),
            r.row - 1,
            r.column,
            re.sub(r"than row (\d+)", lambda m: f"than row {int(m[1]) - 1}", r.reason),
        )
        for r in from_csv.rejections
    ]
    assert any("than row 1 " in r.reason for r in from_events.rejections)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"records": {}}, "source"),
        ({"source": "", "records": {}}, "source"),
        ({"source": "  ", "records": {}}, "source"),
        ({"source": "S"}, "records"),
        ({"source": "S", "records": {"widgets": []}}, "records.widgets.[key]"),
        ({"source": "S", "records": {"lots.csv": []}}, "records.lots.csv.[key]"),
        ({"source": "S", "records": {"lots": [{"lot_id": {"x": 1}}]}}, "records.lots.0.lot_id"),
        ({"source": "S", "records": {"lots": [{"lot_id": [1]}]}}, "records.lots.0.lot_id"),
        ({"source": "S", "records": {"lots": ["L-1"]}}, "records.lots.0"),
        ({"source": "S", "records": {"lots": [{}]}}, "records.lots.0"),
        ({"source": "S", "records": {"lots": [{"a": 1}, {" ": 1}]}}, "records.lots.1"),
        ({"source": "S", "records": {"lots": [{"lot_id": 1, " lot_id": 2}]}}, "records.lots.0"),
        ({"source": "S", "records": {"lots": [{"lot_id": "L\x001"}]}}, "records.lots.0"),
        ({"source": "S", "records": {"lots": [{"lot_id": "L\ud8001"}]}}, "records.lots.0"),
        ({"source": "S", "records": {"lots": "L-1"}}, "records.lots"),
        ({"source": "S", "timezone": "Mars/Olympus", "records": {}}, "timezone"),
        ({"source": "S", "timezone": "", "records": {}}, "timezone"),
        ({"source": "S", "timezon": "UTC", "records": {}}, "timezon"),
    ],
)
def test_a_payload_that_does_not_fit_the_schema_is_refused_naming_the_field(
    body: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationError) as info:
        EventsPayload.model_validate(body)
    locations = [".".join(str(p) for p in e["loc"]) for e in info.value.errors()]
    assert locations and all(loc == field or loc.startswith(f"{field}.") for loc in locations)


def test_scalars_keep_their_type_in_the_payload() -> None:
    record = {"a": True, "b": 1, "c": 1.5, "d": None, "e": "1", "f": False}
    payload = _payload({"lots": [record]})
    (kept,) = payload.records[Kind("lots")]
    assert kept == record
    assert [type(v) for v in kept.values()] == [bool, int, float, type(None), str, bool]


def test_a_payload_near_the_files_limits_goes_through_the_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past the limits a bundle's files have, the files decide (and refuse as they do)."""
    store = EmbeddedStore(tmp_path / "limits.sqlite")
    store.ensure_schema()
    through: list[int] = []
    monkeypatch.setattr(
        events, "_ingest_through_files", _counted(events._ingest_through_files, through)
    )
    report = _ingest(store, _payload({"materials": MATERIALS}))
    assert through == [] and report.total("accepted") == len(MATERIALS)
    monkeypatch.setattr(events, "BundleLimits", lambda: BundleLimits(max_rows=len(MATERIALS) - 1))
    report = _ingest(store, _payload({"materials": MATERIALS}))
    assert through == [1] and report.total("unchanged") == len(MATERIALS)
    store.close()
