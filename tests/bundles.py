"""Build small canonical bundles for tests from Python rows."""

from __future__ import annotations

import csv
import json
import shutil
import zipfile
from pathlib import Path
from typing import Any

from graph.canonical import sha256_hex


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


# Faulty bundles: a generated plant altered in one structural way each (tests/faults/).


def copy_bundle(plant: Path, target: Path) -> Path:
    """A copy of a bundle folder that a test may spoil."""
    shutil.copytree(plant, target)
    return target


def rename_suppliers(folder: Path, suffix: str = " (renamed)") -> None:
    """Give every supplier a new name: rows an ingest would write as updates if it wrote
    anything of the bundle (suppliers.csv is the first file loaded)."""
    path = folder / "suppliers.csv"
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    for row in rows:
        row["name"] += suffix
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def line_count(path: Path) -> int:
    with path.open("rb") as fh:
        return sum(1 for _ in fh)


def append_text(path: Path, text: str) -> int:
    """Append text to a file; the physical line number where it starts."""
    first_line = line_count(path) + 1
    with path.open("a", encoding="utf-8", newline="") as fh:
        fh.write(text)
    return first_line


def add_column(path: Path, name: str, value: str) -> None:
    """Append a column to a CSV file: ``name`` in the header, ``value`` in every record."""
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow([*rows[0], name])
        writer.writerows([*row, value] for row in rows[1:])


def zip_with_members(folder: Path, target: Path, extra: dict[str, bytes]) -> Path:
    """The folder's files zipped at the top, plus members named exactly as given (zipfile's
    ZipInfo keeps ``..``, leading slashes and folders in a name as they are)."""
    zip_bundle(folder, target)
    with zipfile.ZipFile(target, "a", zipfile.ZIP_DEFLATED) as zf:
        for name, data in extra.items():
            zf.writestr(zipfile.ZipInfo(name), data)
    return target


def zip_bomb(target: Path, rows: int, header: str = "lot_id,material_id,site") -> Path:
    """A small zip whose lots.csv expands to ``rows`` identical junk rows (far above 100:1)."""
    line = b"junk,junk,junk\n"
    with (
        zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf,
        zf.open("lots.csv", "w") as member,
    ):
        member.write(header.encode() + b"\n")
        block = line * 10_000
        for _ in range(rows // 10_000):
            member.write(block)
        member.write(line * (rows % 10_000))
    return target


def write_ready_batch(
    folder: Path,
    batch_id: str,
    site: str = "SITE-A",
    meanings: tuple[str, ...] = ("authored", "reviewed", "approved"),
    with_record: bool = True,
) -> Path:
    """A bundle of one batch in review whose batch record people of its source authored,
    reviewed and approved, with one intermediate input lot and nothing else open: on top of
    a generated plant its release checklist is empty. The bundle's folder."""
    doc = f"DOC-BR-{batch_id}"
    sha = sha256_hex({"batch": batch_id, "yield_kg": 50})
    people = [
        {"person_id": f"P-{batch_id}-{i}", "name": f"Person {i}", "role": r, "site": site}
        for i, r in enumerate(("operator", "supervisor", "qa"))
    ]
    signatures = [
        {
            "signature_id": f"SIG-{batch_id}-{i}",
            "document_id": doc,
            "document_version": "1",
            "signer_id": people[i]["person_id"],
            "meaning": meaning,
            "signed_at": f"2026-02-0{3 + i}T10:00:00Z",
            "record_sha256": sha,
        }
        for i, meaning in enumerate(meanings)
    ]
    record = {
        "documents.csv": [
            {
                "document_id": doc,
                "version": "1",
                "kind": "batch_record",
                "title": f"Batch record {batch_id}",
                "content_sha256": sha,
                "created_at": "2026-02-02T09:00:00Z",
                "created_by": people[0]["person_id"],
                "status": "approved",
            }
        ],
        "document_links.csv": [{"document_id": doc, "target_kind": "batch", "target_id": batch_id}],
        "signatures.csv": signatures,
    }
    write_bundle(
        folder,
        {
            "materials.csv": MATERIALS,
            "lots.csv": [
                lot(f"L-{batch_id}-IN", "MAT-I", site),
                lot(f"L-{batch_id}-OUT", "MAT-I", site),
            ],
            "batches.csv": [batch(batch_id, "MAT-I", site, status="in_review")],
            "consumptions.csv": [consumption(batch_id, f"L-{batch_id}-IN")],
            "outputs.csv": [output(batch_id, f"L-{batch_id}-OUT")],
            "people.csv": people,
            **(record if with_record else {}),
        },
    )
    return folder
