"""Build small canonical bundles for tests from Python rows."""

from __future__ import annotations

import csv
import json
import zipfile
from pathlib import Path
from typing import Any


def write_bundle(
    folder: Path,
    files: dict[str, list[dict[str, Any]]],
    meta: dict[str, Any] | None = None,
    *,
    timezone: str | None = "Europe/Zurich",
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    bundle_meta = {"source": folder.name} if meta is None else dict(meta)
    if timezone is not None and "timezone" not in bundle_meta:
        bundle_meta["timezone"] = timezone
    (folder / "bundle.json").write_text(json.dumps(bundle_meta), encoding="utf-8")
    for name, rows in files.items():
        columns: list[str] = []
        for row in rows:
            columns.extend(c for c in row if c not in columns)
        with (folder / name).open("w", encoding="utf-8", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=columns)
            writer.writeheader()
            for row in rows:
                writer.writerow({k: "" if v is None else v for k, v in row.items()})
    return folder


def zip_bundle(folder: Path, target: Path) -> Path:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.iterdir()):
            zf.write(path, path.name)
    return target


def lot(lot_id: str, material: str = "MAT-X", site: str = "SITE-A", **extra: Any) -> dict[str, Any]:
    row = {
        "lot_id": lot_id,
        "material_id": material,
        "supplier_id": "",
        "supplier_lot": "",
        "site": site,
        "quantity": "100",
        "unit": "kg",
        "status": "released",
        "created_at": "2026-01-05T08:00:00+01:00",
        "expiry": "",
        "on_hand": "",
    }
    row.update(extra)
    return row


def batch(
    batch_id: str, product: str = "MAT-I", site: str = "SITE-A", **extra: Any
) -> dict[str, Any]:
    row = {
        "batch_id": batch_id,
        "product_material_id": product,
        "site": site,
        "equipment_id": "",
        "started_at": "2026-02-01T08:00:00Z",
        "completed_at": "2026-02-02T08:00:00Z",
        "status": "released",
    }
    row.update(extra)
    return row


def consumption(
    batch_id: str, lot_id: str, quantity: str = "10", unit: str = "kg", **extra: Any
) -> dict[str, Any]:
    row = {
        "batch_id": batch_id,
        "lot_id": lot_id,
        "quantity": quantity,
        "unit": unit,
        "consumed_at": "2026-02-01T09:00:00Z",
    }
    row.update(extra)
    return row


def output(batch_id: str, lot_id: str, quantity: str = "50", unit: str = "kg") -> dict[str, Any]:
    return {"batch_id": batch_id, "lot_id": lot_id, "quantity": quantity, "unit": unit}


MATERIALS = [
    {"material_id": "MAT-X", "name": "Raw X", "kind": "raw", "unit": "kg"},
    {"material_id": "MAT-I", "name": "Intermediate I", "kind": "intermediate", "unit": "kg"},
    {"material_id": "MAT-S", "name": "Solvent S", "kind": "solvent", "unit": "L"},
]
