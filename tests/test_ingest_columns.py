"""Column-wise validation (``ingest.rows.validate_columns``) gives exactly what the row
models give: a row it vouches for has the model's values (same types, same text), a row
the model rejects is never vouched for, and an ingest through it stores, reports and
audits byte for byte what an ingest that validates every row with its model does.

Values, bad rows and the plant are drawn from printed seeds.
"""

from __future__ import annotations

import csv
import random
import shutil
from pathlib import Path
from typing import Any, Literal, get_args, get_origin, get_type_hints
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from graph.embedded import EmbeddedStore
from ingest import loader
from ingest import rows as r
from ingest.mapping import FILES
from ingest.synthetic import generate_plant

GOOD: dict[Any, list[str]] = {
    r.Key: ["L-1", "SITE-A", "k" * 200, "é-ü/ß", "0"],
    r.Text: ["Assay", "a b", "x" * 300, "Größe"],
    r.Unit: ["kg", "L", "% w/w", "u" * 20],
    r.Quantity: ["0", "1", "1.5", "575.000", "1e3", ".5", "1.", "+2", "-0", "1E-2"],
    r.Number: ["-1.5", "0", "99.410", "-3e-2", "12345678901234567890"],
    r.Timestamp: [
        "2026-01-05T08:00:00+01:00",
        "2026-01-05T08:00:00",
        "2026-01-05",
        "2026-03-29T02:30:00",
        "2026-10-25T02:30:00",
        "2026-01-05T08:00:00.123456-05:00",
        "2026-01-05T08:00:00Z",
    ],
    r.Version: ["1", "2", "10", "999999"],
    r.Sha256: ["5f357747fadaa917d1fbac9b210ab05bd9d7b226117ce2e14fa74f1a49f35259"],
}
GOOD[r.OptKey] = GOOD[r.Key] + [""]
GOOD[r.OptText] = GOOD[r.Text] + [""]
GOOD[r.OptQuantity] = GOOD[r.Quantity] + [""]
GOOD[r.OptNumber] = GOOD[r.Number] + [""]
GOOD[r.OptTimestamp] = GOOD[r.Timestamp] + [""]

# what a file may hold instead: the edges of each check, and what only the model reads
ODD = [
    "",
    " ",
    " padded",
    "padded ",
    "\u00a0nbsp",
    "\x1cfs\x1f",
    "\ttab",
    "line\nbreak",
    "a\ud800b",
    "k" * 201,
    "u" * 21,
    " 4",
    "5 ",
    "1_0",
    "nan",
    "inf",
    "-inf",
    "1e999",
    "-1",
    "-.5",
    "0x1",
    "\u0663",
    "01",
    "1.0",
    "+1",
    " 3",
    "0",
    "99999999999999999999",
    "2026-02-30T00:00:00Z",
    " 2026-01-05T08:00:00Z ",
    "yesterday",
    "2026-01-05 08:00",
    "5F357747FADAA917D1FBAC9B210AB05BD9D7B226117CE2E14FA74F1A49F35259",
    "5f357747fadaa917d1fbac9b210ab05bd9d7b226117ce2e14fa74f1a49f3525",
    "Released",
    " released",
]
EXTRA_COLUMNS = ["note", "Unnamed: 3", "_private", "model_config", "lot id", "ünï"]


def _good(hint: Any) -> list[str]:
    if get_origin(hint) is Literal:
        return [str(a) for a in get_args(hint)]
    return next(values for alias, values in GOOD.items() if alias is hint)


def _typed(values: dict[str, Any] | None) -> list[tuple[str, str, str]]:
    return [(k, type(v).__name__, repr(v)) for k, v in (values or {}).items()]


@pytest.mark.parametrize("zone", [None, "Europe/Zurich"])
def test_a_row_the_columns_vouch_for_is_what_its_model_gives(zone: str | None) -> None:
    seed = random.randrange(2**32)
    print(f"seed {seed}")
    rng = random.Random(seed)
    tz = ZoneInfo(zone) if zone else None
    for spec in FILES:
        hints = get_type_hints(spec.model, include_extras=True)
        extras = rng.sample(EXTRA_COLUMNS, rng.randrange(3))
        records: list[dict[str, str]] = []
        clean: list[bool] = []
        for _ in range(400):
            odd = rng.random() < 0.5
            record = {
                name: rng.choice(ODD if odd and rng.random() < 0.3 else _good(hint))
                for name, hint in hints.items()
            }
            record |= {name: rng.choice(ODD + ["x"]) for name in extras}
            records.append(record)
            clean.append(not odd)
        vouched = r.validate_columns(spec.model, records, tz)
        assert len(vouched) == len(records)
        validate = spec.model.__pydantic_validator__.validate_python
        for record, row, is_clean in zip(records, vouched, clean, strict=True):
            try:
                model = validate(record, context={"timezone": tz})
            except ValidationError:
                assert row is None, (seed, spec.name, record)
                continue
            if is_clean and all(not (v and "\ud800" in v) for v in record.values()):
                assert row is not None, (seed, spec.name, record)  # the common case
            if row is not None:
                assert _typed(row.__dict__) == _typed(model.__dict__), (seed, record)
                assert _typed(row.model_extra) == _typed(model.model_extra), (seed, record)


def _inject(folder: Path, rng: random.Random) -> int:
    """Bad and odd values into a fifth of the rows of every file, and repeated keys."""
    touched = 0
    for spec in FILES:
        path = folder / spec.name
        if not path.exists():
            continue
        with path.open(encoding="utf-8", newline="") as fh:
            reader = csv.DictReader(fh)
            columns = list(reader.fieldnames or [])
            records = list(reader)
        for record in rng.sample(records, len(records) // 5):
            column = rng.choice(columns)
            record[column] = rng.choice(ODD[:8] + ODD[9:] + [f" {record[column]} "])
            touched += 1
        for record in rng.sample(records, min(3, len(records))):
            again = dict(record)
            if rng.random() < 0.5:
                again[columns[-1]] = "other content"
            records.append(again)
        with path.open("w", encoding="utf-8", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=columns)
            writer.writeheader()
            writer.writerows(records)
    return touched


def _ingest_twice(folder: Path, db: Path) -> tuple[list[dict[str, Any]], str, list[Any]]:
    store = EmbeddedStore(db)
    try:
        store.ensure_schema()
        reports = []
        for _ in range(2):
            report = loader.ingest_bundle(store, folder, actor="test", label="plant")
            reports.append(
                {k: v for k, v in report.as_dict().items() if k not in ("ingest_id", "started_at")}
            )
        audit = [
            (
                e["action"],
                e["entity"],
                None if e["action"].startswith("ingest") else e["key"],
                e["old"],
                e["new"],
            )
            for e in store.audit_entries()
        ]
        return reports, store.content_sha256(), audit
    finally:
        store.close()


def test_an_ingest_by_columns_equals_one_by_the_row_models(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed = random.randrange(1_000_000)
    print(f"plant and bad rows seed {seed}")
    plant = generate_plant(lots=200, seed=seed, out=tmp_path / "plant").out
    folder = tmp_path / "bad"
    shutil.copytree(plant, folder)
    assert _inject(folder, random.Random(seed)) > 0

    by_columns = _ingest_twice(folder, tmp_path / "columns.sqlite")
    # the same rows, each validated with its model
    monkeypatch.setattr(loader, "validate_columns", lambda _, records, __: [None] * len(records))
    by_models = _ingest_twice(folder, tmp_path / "models.sqlite")

    first, again = by_columns[0]
    assert first["rejected"] > 0 and first["accepted"] > 0, seed
    assert again["unchanged"] > again["accepted"], seed  # the second ingest: mostly unchanged
    assert by_columns[0] == by_models[0], seed
    assert by_columns[1] == by_models[1], seed  # content_sha256
    assert by_columns[2] == by_models[2], seed  # audit entries, old and new
