"""EPCIS documents for the fault tests: exports of a generated plant's traces, and the
store a clean import of them gives (the reference a faulted import must end up equal to)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from graph.embedded import EmbeddedStore
from graph.model import Label
from ingest.epcis.document import read_document
from ingest.epcis.importer import ingest_epcis
from ingest.loader import ingest_bundle
from ingest.synthetic import generate_plant
from queries.epcis_export import epcis_document, render
from queries.trace import Direction, trace

CREATED = "2026-01-01T00:00:00.000Z"  # one creation date: the same traces, the same bytes


class PlantExports:
    """A generated plant in a scratch embedded store, whose traces are exported."""

    def __init__(self, folder: Path, lots: int, seed: int) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        plant = generate_plant(lots=lots, seed=seed, out=folder / "plant")
        self.store = EmbeddedStore(folder / "source.sqlite")
        self.store.ensure_schema()
        assert ingest_bundle(self.store, plant.out, actor="fault-test").rejections == []
        self.lots = sorted(self.store.node_ids(Label.LOT))

    def document(self, lots: Sequence[str]) -> bytes:
        """One document of the traces (both directions) of ``lots``."""
        traces = [trace(self.store, lot, d) for lot in lots for d in Direction]
        return render(epcis_document(self.store, traces, creation_date=CREATED))

    def close(self) -> None:
        self.store.close()


def with_events(document: bytes, picked: Sequence[int]) -> bytes:
    """The document with only the events at the positions ``picked`` (its master data
    whole): documents that share an event share it byte for byte."""
    body = json.loads(document)
    events = body["epcisBody"]["eventList"]
    body["epcisBody"]["eventList"] = [events[i] for i in sorted(set(picked))]
    return json.dumps(body).encode()


def event_count(document: bytes) -> int:
    return len(json.loads(document)["epcisBody"]["eventList"])


def clean_import(folder: Path, documents: Sequence[bytes]) -> tuple[str, dict[str, Any]]:
    """The content digest and the stats of a fresh store that imported ``documents`` in
    order, each with no rejection."""
    folder.mkdir(parents=True, exist_ok=True)
    reference = EmbeddedStore(folder / "reference.sqlite")
    try:
        reference.ensure_schema()
        for n, data in enumerate(documents):
            report = ingest_epcis(
                reference, read_document(data, name=f"{n}.jsonld"), actor="ref", label="ref"
            )
            assert report.rejections == [], report.rejections[:3]
        return reference.content_sha256(), asdict(reference.stats())
    finally:
        reference.close()
