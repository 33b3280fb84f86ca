"""The pre-check (``ingest.loader.check_rows``, used by ``ingest.epcis.precheck``) rejects
exactly what the loader rejects when it writes the same rows: the same row, column and
reason, for validation, duplicate keys and a unit that does not convert to its lot's.
Bad rows are drawn from a printed seed."""

from __future__ import annotations

import csv
import random
from pathlib import Path
from typing import Any

from graph.embedded import EmbeddedStore
from ingest.loader import check_rows, ingest_bundle
from ingest.mapping import FILES_BY_NAME
from tests.bundles import MATERIALS, batch, consumption, lot, output, write_bundle

FAULTS = {
    "lots.csv": [
        lambda r: r.update(status="shipped-to-the-moon"),
        lambda r: r.update(quantity="-3"),
        lambda r: r.update(unit="furlong"),
        lambda r: r.update(created_at="yesterday"),
    ],
    "consumptions.csv": [
        lambda r: r.update(unit="L"),  # a kg lot: no conversion
        lambda r: r.update(quantity="many"),
        lambda r: r.update(lot_id=""),
    ],
    "outputs.csv": [lambda r: r.update(unit="L"), lambda r: r.update(quantity="")],
}


def _rows(seed: int) -> dict[str, list[dict[str, Any]]]:
    rng = random.Random(seed)
    lots = [lot(f"L-{i}") for i in range(12)]
    batches = [batch(f"B-{i}") for i in range(4)]
    consumptions = [
        consumption(f"B-{i % 4}", f"L-{i}", consumed_at=f"2026-02-01T09:{i:02d}:00Z")
        for i in range(12)
    ]
    outputs = [output(f"B-{i}", f"L-OUT-{i}") for i in range(4)]
    files = {"lots.csv": lots, "consumptions.csv": consumptions, "outputs.csv": outputs}
    for name, rows in files.items():
        for row in rng.sample(rows, len(rows) // 3):
            rng.choice(FAULTS[name])(row)
    lots.append(dict(lots[0], quantity="777"))  # the same key with other content
    consumptions.append(dict(consumptions[1]))  # the same row again: unchanged
    return {"materials.csv": MATERIALS, "batches.csv": batches, **files}


def test_check_rows_rejects_what_the_loader_rejects(tmp_path: Path) -> None:
    seed = random.randrange(2**32)
    print(f"seed {seed}")
    folder = write_bundle(tmp_path / "bundle", _rows(seed), timezone=None)
    store = EmbeddedStore(tmp_path / "graph.sqlite")
    try:
        store.ensure_schema()
        report = ingest_bundle(store, folder, actor="test")
        assert report.total("rejected") > 0
        for name in ("lots.csv", "consumptions.csv", "outputs.csv"):
            with (folder / name).open(newline="", encoding="utf-8") as fh:
                records = list(csv.DictReader(fh))
            checked = check_rows(
                FILES_BY_NAME[name],
                records,
                name=name,
                lot_units=store.fetch_lot_units,  # what the loader found: lots come first
                first_row=2,
            )
            loaded = [r for r in report.rejections if r.file == name]
            assert checked.rejections == loaded, (seed, name)
            counts = report.files[name]
            assert len(checked.plans) == counts.accepted + counts.unchanged - _repeats(records)
    finally:
        store.close()


def _repeats(records: list[dict[str, str]]) -> int:
    """Rows that repeat an earlier row whole (the loader counts them unchanged, unplanned)."""
    seen: set[tuple[str, ...]] = set()
    repeats = 0
    for record in records:
        key = tuple(record.values())
        repeats += key in seen
        seen.add(key)
    return repeats
