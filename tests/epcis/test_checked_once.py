"""An EPCIS import validates and plans each record once: the loader writes what the
whole-event pre-check (``ingest.epcis.precheck``) validated and planned, and that gives
exactly what the loader gives when it checks the same records itself (report, stored
content, audit entries). The plant is generated from a printed seed.

The payload the importer hands on is still validated as ``POST /ingest/events`` validates
it (``EventsPayload``). Text no store keeps as given (a NUL character, a lone surrogate) is
found earlier, by the reader, and leaves its event out, named, with the rest kept.
"""

from __future__ import annotations

import gc
import json
import random
from pathlib import Path
from typing import Any

import pytest

from graph.embedded import EmbeddedStore
from graph.model import Label, RelType
from ingest import loader
from ingest.epcis import importer
from ingest.epcis.document import read_document
from ingest.epcis.importer import ingest_epcis
from ingest.events import ingest_events
from ingest.synthetic import generate_plant
from queries.epcis_export import epcis_document, render
from queries.trace import Direction, trace


def _export(tmp_path: Path, seed: int) -> bytes:
    """The forward traces of every lot no batch made, of a generated plant, as EPCIS."""
    plant = generate_plant(lots=200, seed=seed, out=tmp_path / "plant")
    source = EmbeddedStore(tmp_path / "source.sqlite")
    try:
        source.ensure_schema()
        assert loader.ingest_bundle(source, plant.out, actor="test").total("rejected") == 0
        lots = source.node_ids(Label.LOT)
        made = {dst for _, dst, _ in source.linked(Label.LOT, lots, RelType.PRODUCED, False)}
        traces = [trace(source, lot, Direction.FORWARD) for lot in lots if lot not in made]
        return render(epcis_document(source, traces))
    finally:
        source.close()


def _import(store: EmbeddedStore, data: bytes) -> dict[str, Any]:
    document = read_document(data, name="plant.jsonld")
    report = ingest_epcis(store, document, actor="test", label="epcis:plant").as_dict()
    return {k: v for k, v in report.items() if k not in ("ingest_id", "started_at")}


def _ingest_audit(store: EmbeddedStore) -> list[tuple[str, Any]]:
    return [
        (e["action"], e["new"])
        for e in store.audit_entries()
        if e["action"] in ("ingest", "ingest_chunk")
    ]


def _rows_checked(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the rows every check_chunk call validates (the loader's and the pre-check's)."""
    counted = [0]
    check_chunk = loader.check_chunk

    def counting(spec: Any, records: Any, **kwargs: Any) -> loader.CheckedChunk:
        counted[0] += len(records)
        return check_chunk(spec, records, **kwargs)

    monkeypatch.setattr(loader, "check_chunk", counting)
    return counted


def test_the_loader_writes_the_prechecked_rows_as_it_would_check_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed = random.randrange(1_000_000)
    print(f"plant seed {seed}")
    data = _export(tmp_path, seed)
    checked_once = EmbeddedStore(tmp_path / "once.sqlite")
    checked_twice = EmbeddedStore(tmp_path / "twice.sqlite")
    try:
        checked_once.ensure_schema()
        checked_twice.ensure_schema()
        counted = _rows_checked(monkeypatch)
        once = [_import(checked_once, data) for _ in range(2)]  # first, then all unchanged
        assert counted[0] == sum(r["rows_read"] for r in once), seed  # each row once
        assert once[0]["accepted"] > 0 and once[1]["unchanged"] == once[1]["rows_read"]

        # the loader checking the same records itself: the payload without ``checked``
        def unchecked(*args: Any, checked: Any = None, **kwargs: Any) -> Any:
            assert checked, "the importer hands its checked rows on"
            return ingest_events(*args, **kwargs)

        monkeypatch.setattr(importer, "ingest_events", unchecked)
        counted[0] = 0
        twice = [_import(checked_twice, data) for _ in range(2)]
        assert counted[0] == 2 * sum(r["rows_read"] for r in twice), seed

        assert once == twice, seed
        assert checked_once.content_sha256() == checked_twice.content_sha256(), seed
        audit = _ingest_audit(checked_once)
        assert [a for a, _ in audit].count("ingest") == 2, seed  # two imports
        assert audit == _ingest_audit(checked_twice), seed
    finally:
        checked_once.close()
        checked_twice.close()


def test_an_import_with_the_collector_paused_is_the_same_import(tmp_path: Path) -> None:
    seed = random.randrange(1_000_000)
    print(f"plant seed {seed}")
    data = _export(tmp_path, seed)
    paused, running = EmbeddedStore(tmp_path / "p.sqlite"), EmbeddedStore(tmp_path / "r.sqlite")
    try:
        paused.ensure_schema()
        running.ensure_schema()
        assert gc.isenabled()
        report = ingest_epcis(
            paused, read_document(data, name="plant.jsonld"), actor="test", label="p", pause_gc=True
        )
        assert gc.isenabled()  # the collector runs again after the import
        as_is = ingest_epcis(
            running, read_document(data, name="plant.jsonld"), actor="test", label="p"
        )
        same = ("ingest_id", "started_at")
        assert {k: v for k, v in report.as_dict().items() if k not in same} == {
            k: v for k, v in as_is.as_dict().items() if k not in same
        }, seed
        assert paused.content_sha256() == running.content_sha256(), seed
    finally:
        paused.close()
        running.close()


@pytest.mark.parametrize("bad", ["\x00", "\ud800"], ids=["NUL", "lone surrogate"])
def test_text_no_store_keeps_leaves_its_event_out_and_keeps_the_rest(
    tmp_path: Path, bad: str
) -> None:
    lot_number = f"A{random.randrange(10**6)}{bad}B"
    print(f"lot number {lot_number!r}")

    def commissioning(lot: str) -> dict[str, Any]:
        return {
            "type": "ObjectEvent",
            "eventTime": "2026-01-01T08:00:00Z",
            "eventTimeZoneOffset": "+00:00",
            "action": "ADD",
            "bizStep": "commissioning",
            "quantityList": [
                {"epcClass": f"urn:epc:class:lgtin:4012345.011111.{lot}", "quantity": 2}
            ],
            "ilmd": {"cbvmda:lotNumber": lot},
        }

    body = {
        "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2026-01-01T00:00:00Z",
        "epcisBody": {"eventList": [commissioning(lot_number), commissioning("GOOD")]},
    }
    store = EmbeddedStore(tmp_path / "graph.sqlite")
    try:
        store.ensure_schema()
        document = read_document(json.dumps(body).encode(), name="bad-text.jsonld")
        report = ingest_epcis(store, document, actor="test", label="epcis:bad-text")
        assert report.events is not None
        assert (report.events["accepted"], report.events["rejected"]) == (1, 1)
        (rejection,) = [r for r in report.rejections if r.file == "events"]
        assert rejection.column == "quantityList[0].epcClass"
        assert "NUL" in rejection.reason or "lone surrogate" in rejection.reason
        assert store.node_ids(Label.LOT) == ["urn:epc:class:lgtin:4012345.011111.GOOD"]
    finally:
        store.close()
