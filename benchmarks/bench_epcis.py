"""EPCIS import throughput (events/s) on the embedded store, and the round trip.

    python -m benchmarks.bench_epcis [--lots 20000] [--seed 7]

A generated plant is ingested into an embedded store and exported as one EPCIS 2.0
JSON-LD document: the forward traces of every lot no batch made, that is every batch,
shipment and movement of the plant. The document is then imported into an empty embedded
store twice: first (everything new) and again (everything unchanged), each timed from the
bytes to the last write (read, map, load). Prints events, seconds and events/s beside the
target (issue 15: 20,000 events/s), with the CPU seconds of the process (on a shared
machine the wall clock also counts the time other processes held the cores), and the
round-trip check: the forward and backward traces of sampled lots are the same in both
stores.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

from benchmarks.bench_ingest import plant_folder
from benchmarks.machine import describe
from benchmarks.targets import TARGETS_BY_KEY, record
from graph.embedded import EmbeddedStore
from graph.model import Label, RelType
from ingest.epcis.document import read_document
from ingest.epcis.importer import ingest_epcis
from ingest.loader import ingest_bundle
from queries.epcis_export import epcis_document, render
from queries.trace import Direction, trace

TARGET_EVENTS_PER_SECOND = TARGETS_BY_KEY["epcis.events_per_s"].goal
SAMPLED = 20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lots", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    print(describe())
    plant = plant_folder(args.lots, args.seed)
    folder = Path(tempfile.mkdtemp(prefix="lotgraph-bench-epcis-"))
    source = EmbeddedStore(folder / "source.sqlite")
    source.ensure_schema()
    started = time.perf_counter()
    ingested = ingest_bundle(source, plant, actor="benchmark", pause_gc=True)
    bundle_rate = ingested.total("rows_read") / (time.perf_counter() - started)
    print(f"bundle ingest of the same plant (the baseline): {bundle_rate:,.0f} rows/s")

    started = time.perf_counter()
    roots = _roots(source)
    traces = [trace(source, lot, Direction.FORWARD) for lot in roots]
    data = render(epcis_document(source, traces))
    exported = time.perf_counter() - started
    print(f"export: {len(roots):,d} root lots, {len(data) / 1e6:.1f} MB in {exported:.1f} s")

    target = EmbeddedStore(folder / "target.sqlite")
    target.ensure_schema()
    first_rate = 0.0
    for attempt in ("first", "again"):
        started, cpu_started = time.perf_counter(), time.process_time()
        document = read_document(data, name="plant.jsonld")
        read_seconds = time.perf_counter() - started
        report = ingest_epcis(
            target,
            document,
            actor="benchmark",
            label="benchmark",
            pause_gc=True,
            max_rows=10**9,  # the import's speed, not the API's per-request limit
        )
        seconds = time.perf_counter() - started
        cpu = time.process_time() - cpu_started
        events = report.events or {}
        count = int(events.get("read", 0))
        print(
            f"import {attempt:5s} events={count:>9,d} accepted={events.get('accepted', 0):>9,d} "
            f"unchanged={events.get('unchanged', 0):>9,d} rejected={events.get('rejected', 0)} "
            f"rows={report.total('rows_read'):>9,d} read={read_seconds:5.1f} s "
            f"seconds={seconds:6.1f} events/s={count / seconds:>8,.0f} "
            f"cpu={cpu:5.2f} s ({count / cpu:,.0f} events per CPU second) "
            f"(target {TARGET_EVENTS_PER_SECOND:,.0f}: "
            f"{'met' if count / seconds >= TARGET_EVENTS_PER_SECOND else 'not met'})"
        )
        if attempt == "first":
            first_rate = count / seconds

    rng = random.Random(args.seed)
    lots = source.node_ids(Label.LOT)
    same = 0
    sampled = rng.sample(lots, min(SAMPLED, len(lots)))
    for lot in sampled:
        for direction in Direction:
            a, b = trace(source, lot, direction), trace(target, lot, direction)
            same += (sorted(a.lots), sorted(a.batches), sorted(a.edges)) == (
                sorted(b.lots),
                sorted(b.batches),
                sorted(b.edges),
            )
    print(f"round trip: {same} of {2 * len(sampled)} sampled traces the same in both stores")
    record(
        "epcis.events_per_s",
        first_rate,
        lots=args.lots,
        baseline=f"bundle ingest of the same plant {bundle_rate:,.0f} rows/s",
        note=f"round trip {same}/{2 * len(sampled)} traces the same",
    )


def _roots(store: EmbeddedStore) -> list[str]:
    """Every lot no batch made (purchased lots, and placeholders)."""
    lots = store.node_ids(Label.LOT)
    made = {dst for _, dst, _ in store.linked(Label.LOT, lots, RelType.PRODUCED, False)}
    return [lot for lot in lots if lot not in made]


if __name__ == "__main__":
    main()
