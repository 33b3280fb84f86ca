"""The synthetic plant generator writes a clean, realistic, reproducible canonical bundle."""

from __future__ import annotations

import csv
import hashlib
import json
import random
from collections import defaultdict
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from ingest.synthetic import FILES, MIN_LOTS, PlantSummary, generate_plant
from ingest.synthetic import main as synthetic_main
from lotgraph.cli import app as cli_app

N_LOTS = 2500
SEED = 11
ZURICH = ZoneInfo("Europe/Zurich")
START = datetime(2025, 1, 1, tzinfo=ZURICH)
END = datetime(2026, 10, 31, 23, 59, 59, tzinfo=ZURICH)

# DESIGN §3, in order
COLUMNS = {
    "suppliers.csv": "supplier_id, name, country?, status",
    "materials.csv": "material_id, name, kind, unit",
    "lots.csv": "lot_id, material_id, supplier_id?, supplier_lot?, site, quantity, unit, status, "
    "created_at, expiry?, on_hand?",
    "batches.csv": "batch_id, product_material_id, site, equipment_id?, started_at, "
    "completed_at?, status",
    "consumptions.csv": "batch_id, lot_id, quantity, unit, consumed_at",
    "outputs.csv": "batch_id, lot_id, quantity, unit",
    "equipment.csv": "equipment_id, name, kind, site",
    "customers.csv": "customer_id, name, country?",
    "shipments.csv": "shipment_id, lot_id, customer_id, quantity, unit, shipped_at",
    "movements.csv": "lot_id, from_site, to_site, quantity, moved_at, moved_by?",
    "people.csv": "person_id, name, role, site",
    "documents.csv": "document_id, version, kind, title, content_sha256, created_at, "
    "created_by, status",
    "document_links.csv": "document_id, target_kind, target_id",
    "signatures.csv": "signature_id, document_id, document_version, signer_id, meaning, "
    "signed_at, record_sha256, override_reason?, overridden_findings?",
    "deviations.csv": "deviation_id, severity, category, status, opened_at, closed_at?, "
    "description",
    "deviation_links.csv": "deviation_id, target_kind, target_id",
    "test_results.csv": "result_id, target_kind, target_id, analyte, value, unit, lower_limit?, "
    "upper_limit?, method, tested_at, document_id?",
    "supplier_changes.csv": "change_id, supplier_id, material_id?, description, notified_at, "
    "effective_at",
}
TIME_COLUMNS = {
    "lots.csv": ["created_at"],
    "batches.csv": ["started_at", "completed_at"],
    "consumptions.csv": ["consumed_at"],
    "shipments.csv": ["shipped_at"],
    "movements.csv": ["moved_at"],
    "documents.csv": ["created_at"],
    "signatures.csv": ["signed_at"],
    "deviations.csv": ["opened_at", "closed_at"],
    "test_results.csv": ["tested_at"],
    "supplier_changes.csv": ["notified_at", "effective_at"],
}
TO_BASE = {"kg": Decimal(1), "g": Decimal("0.001"), "L": Decimal(1), "mL": Decimal("0.001")}
STAGE_PRODUCTS = ("MAT-INT1", "MAT-INT2", "MAT-INT3", "MAT-FIN", "MAT-API")


def _columns(spec: str) -> tuple[list[str], list[str]]:
    cols = [c.strip() for c in spec.split(",")]
    return [c.rstrip("?") for c in cols], [c for c in cols if not c.endswith("?")]


def _read(folder: Path, name: str) -> list[dict[str, str]]:
    with (folder / name).open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _t(value: str) -> datetime:
    t = datetime.fromisoformat(value)
    return t if t.tzinfo else t.replace(tzinfo=ZURICH)


def _digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


class Plant:
    def __init__(self, folder: Path, summary: PlantSummary) -> None:
        self.folder = folder
        self.summary = summary
        self.bundle = json.loads((folder / "bundle.json").read_text(encoding="utf-8"))
        self.t = {name: _read(folder, name) for name in FILES}
        self.lots = {r["lot_id"]: r for r in self.t["lots.csv"]}
        self.batches = {r["batch_id"]: r for r in self.t["batches.csv"]}

    def ids(self, name: str, column: str) -> set[str]:
        return {r[column] for r in self.t[name]}


@pytest.fixture(scope="module")
def plant(tmp_path_factory: pytest.TempPathFactory) -> Plant:
    out = tmp_path_factory.mktemp("plant")
    return Plant(out, generate_plant(N_LOTS, SEED, out))


def test_same_seed_same_bytes_and_other_seed_differs(tmp_path: Path) -> None:
    a = generate_plant(1200, 5, tmp_path / "a")
    b = generate_plant(1200, 5, tmp_path / "b")
    c = generate_plant(1200, 6, tmp_path / "c")
    da, db, dc = _digests(tmp_path / "a"), _digests(tmp_path / "b"), _digests(tmp_path / "c")
    assert set(da) == {*FILES, "bundle.json"}
    assert da == db
    assert a.rows == b.rows and a.planted == b.planted
    assert da["lots.csv"] != dc["lots.csv"]
    assert da["consumptions.csv"] != dc["consumptions.csv"]
    assert c.planted != a.planted


def test_too_few_lots_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        generate_plant(MIN_LOTS - 1, 1, tmp_path)


def test_files_columns_and_required_values(plant: Plant) -> None:
    for name, spec in COLUMNS.items():
        header, required = _columns(spec)
        with (plant.folder / name).open(encoding="utf-8", newline="") as f:
            assert next(csv.reader(f)) == header, name
        rows = plant.t[name]
        assert rows, name
        for col in required:
            assert all(r[col] != "" for r in rows), (name, col)
        assert plant.summary.rows[name] == len(rows)
    bundle = plant.bundle
    assert bundle["source"] == f"SYNTH-{SEED}"
    assert bundle["timezone"] == "Europe/Zurich"
    datetime.fromisoformat(bundle["exported_at"])
    assert bundle["synthetic"]["seed"] == SEED and bundle["synthetic"]["lots"] == N_LOTS


def test_exactly_n_lots_with_every_quantity_filled(plant: Plant) -> None:
    lots = plant.t["lots.csv"]
    assert len(lots) == N_LOTS == len(plant.lots)
    assert all(r["on_hand"] != "" and Decimal(r["on_hand"]) >= 0 for r in lots)
    kinds = {r["material_id"]: r["kind"] for r in plant.t["materials.csv"]}
    purchased = [r for r in lots if kinds[r["material_id"]] in ("raw", "solvent", "reagent")]
    assert purchased and all(r["supplier_id"] and r["supplier_lot"] for r in purchased)
    assert len({r["supplier_lot"] for r in purchased}) == len(purchased)
    assert {kinds[r["material_id"]] for r in lots} >= {
        "raw",
        "solvent",
        "reagent",
        "intermediate",
        "api",
    }


def test_enums_and_ids(plant: Plant) -> None:
    t = plant.t
    assert {r["status"] for r in t["lots.csv"]} <= {
        "quarantine",
        "released",
        "rejected",
        "on_hold",
        "consumed",
    }
    batch_status = [r["status"] for r in t["batches.csv"]]
    assert set(batch_status) <= {
        "planned",
        "in_progress",
        "executed",
        "in_review",
        "released",
        "rejected",
    }
    assert batch_status.count("released") > 0.9 * len(batch_status)
    assert {"in_progress", "planned"} <= set(batch_status)
    assert {r["kind"] for r in t["materials.csv"]} <= {
        "raw",
        "solvent",
        "reagent",
        "intermediate",
        "api",
        "packaging",
    }
    assert {r["unit"] for r in t["materials.csv"]} == {"kg", "L"}
    assert {r["status"] for r in t["suppliers.csv"]} <= {"approved", "conditional", "disqualified"}
    assert {r["kind"] for r in t["documents.csv"]} == {
        "batch_record",
        "coa",
        "deviation_report",
        "capa",
        "qc_report",
        "supplier_change_notice",
        "sop",
    }
    assert {r["meaning"] for r in t["signatures.csv"]} <= {
        "authored",
        "reviewed",
        "approved",
        "released",
        "verified",
        "rejected",
    }
    assert {r["severity"] for r in t["deviations.csv"]} <= {"minor", "major", "critical"}
    assert {r["status"] for r in t["deviations.csv"]} <= {"open", "investigating", "closed"}
    assert {r["target_kind"] for r in t["document_links.csv"]} == {
        "lot",
        "batch",
        "supplier",
        "material",
        "deviation",
        "equipment",
    }
    assert {r["target_kind"] for r in t["deviation_links.csv"]} == {
        "batch",
        "lot",
        "equipment",
        "supplier",
    }
    assert {r["site"] for r in t["lots.csv"]} == {"SITE-A", "SITE-B", "SITE-C"}
    assert {r["site"] for r in t["batches.csv"]} == {"SITE-A", "SITE-B", "SITE-C"}
    assert all(r["lot_id"].startswith("L-202") for r in t["lots.csv"])
    assert all(r["supplier_id"].startswith("SUP-") for r in t["suppliers.csv"])
    for name, key in (
        ("lots.csv", "lot_id"),
        ("batches.csv", "batch_id"),
        ("signatures.csv", "signature_id"),
        ("test_results.csv", "result_id"),
        ("people.csv", "person_id"),
        ("equipment.csv", "equipment_id"),
        ("deviations.csv", "deviation_id"),
    ):
        assert len(plant.ids(name, key)) == len(t[name]), name
    versions = [(r["document_id"], r["version"]) for r in t["documents.csv"]]
    assert len(set(versions)) == len(versions)
    assert {int(v) for _, v in versions} >= {1, 2, 3}


def test_every_reference_resolves(plant: Plant) -> None:
    t = plant.t
    lots, batches = set(plant.lots), set(plant.batches)
    materials = plant.ids("materials.csv", "material_id")
    suppliers = plant.ids("suppliers.csv", "supplier_id")
    equipment = plant.ids("equipment.csv", "equipment_id")
    people = plant.ids("people.csv", "person_id")
    customers = plant.ids("customers.csv", "customer_id")
    deviations = plant.ids("deviations.csv", "deviation_id")
    documents = plant.ids("documents.csv", "document_id")
    targets = {
        "lot": lots,
        "batch": batches,
        "supplier": suppliers,
        "material": materials,
        "deviation": deviations,
        "equipment": equipment,
    }
    for r in t["lots.csv"]:
        assert r["material_id"] in materials
        assert r["supplier_id"] in suppliers | {""}
    for r in t["batches.csv"]:
        assert r["product_material_id"] in materials
        assert r["equipment_id"] in equipment | {""}
    for name in ("consumptions.csv", "outputs.csv"):
        for r in t[name]:
            assert r["lot_id"] in lots and r["batch_id"] in batches, (name, r)
    for r in t["shipments.csv"]:
        assert r["lot_id"] in lots and r["customer_id"] in customers
    for r in t["movements.csv"]:
        assert r["lot_id"] in lots and r["moved_by"] in people | {""}
    for r in t["documents.csv"]:
        assert r["created_by"] in people
    for r in t["document_links.csv"]:
        assert r["document_id"] in documents
        assert r["target_id"] in targets[r["target_kind"]], r
    versions = {(r["document_id"], r["version"]) for r in t["documents.csv"]}
    for r in t["signatures.csv"]:
        assert (r["document_id"], r["document_version"]) in versions
        assert r["signer_id"] in people
    for r in t["deviation_links.csv"]:
        assert r["deviation_id"] in deviations
        assert r["target_id"] in targets[r["target_kind"]], r
    for r in t["test_results.csv"]:
        assert r["target_id"] in targets[r["target_kind"]], r
        assert r["document_id"] in documents | {""}
    for r in t["supplier_changes.csv"]:
        assert r["supplier_id"] in suppliers and r["material_id"] in materials | {""}
    for r in t["equipment.csv"] + t["people.csv"]:
        assert r["site"] in {"SITE-A", "SITE-B", "SITE-C"}
    # every CoA concerns a purchased lot and carries that lot's results
    coa = {r["document_id"] for r in t["documents.csv"] if r["kind"] == "coa"}
    coa_lot = {
        r["document_id"]: r["target_id"] for r in t["document_links.csv"] if r["document_id"] in coa
    }
    assert set(coa_lot) == coa
    for r in t["test_results.csv"]:
        if r["document_id"] in coa:
            assert coa_lot[r["document_id"]] == r["target_id"]
            assert plant.lots[r["target_id"]]["supplier_id"]


def test_planted_impurity_excursion(plant: Plant) -> None:
    planted = plant.bundle["synthetic"]["planted"]
    assert planted["analyte"] == "Impurity B"
    assert {k: planted[k] for k in plant.summary.planted} == plant.summary.planted
    lot = plant.lots[planted["lot"]]
    assert lot["supplier_id"] == planted["supplier"]
    assert lot["supplier_lot"] == planted["supplier_lot"]
    assert lot["material_id"] == planted["material"]
    kinds = {r["material_id"]: r["kind"] for r in plant.t["materials.csv"]}
    assert kinds[lot["material_id"]] in ("raw", "reagent", "solvent")
    # exactly one lot carries the planted supplier lot number
    assert sum(r["supplier_lot"] == planted["supplier_lot"] for r in plant.t["lots.csv"]) == 1
    consumers = {r["batch_id"] for r in plant.t["consumptions.csv"] if r["lot_id"] == lot["lot_id"]}
    assert consumers
    high: set[str] = set()
    within: set[str] = set()
    for r in plant.t["test_results.csv"]:
        if r["analyte"] == "Impurity B" and r["target_kind"] == "batch":
            (high if Decimal(r["value"]) > Decimal(r["upper_limit"]) else within).add(
                r["target_id"]
            )
    flagged = consumers & high
    assert flagged and flagged == consumers & (high | within), "every tested consumer is high"
    # nothing is carried into the next stage; elsewhere only a handful of false positives
    outputs = {r["lot_id"] for r in plant.t["outputs.csv"] if r["batch_id"] in consumers}
    next_stage = {r["batch_id"] for r in plant.t["consumptions.csv"] if r["lot_id"] in outputs}
    assert not next_stage & high - consumers
    assert 1 <= len(high - consumers) <= max(5, len(within) // 100)


def test_causal_time_order(plant: Plant) -> None:
    t = plant.t
    for name, cols in TIME_COLUMNS.items():
        for r in t[name]:
            for c in cols:
                if r[c]:
                    assert START <= _t(r[c]) <= END, (name, c, r[c])
    created = {k: _t(r["created_at"]) for k, r in plant.lots.items()}
    window = {
        k: (_t(r["started_at"]), _t(r["completed_at"]) if r["completed_at"] else END)
        for k, r in plant.batches.items()
    }
    for r in t["consumptions.csv"]:
        at = _t(r["consumed_at"])
        assert created[r["lot_id"]] < at
        lo, hi = window[r["batch_id"]]
        assert lo <= at <= hi
        assert plant.lots[r["lot_id"]]["site"] == plant.batches[r["batch_id"]]["site"]
    for r in t["outputs.csv"]:
        assert created[r["lot_id"]] == window[r["batch_id"]][1]
        assert plant.batches[r["batch_id"]]["completed_at"]
    for r in t["shipments.csv"]:
        assert created[r["lot_id"]] < _t(r["shipped_at"])
    for r in t["batches.csv"]:
        if r["completed_at"]:
            assert _t(r["started_at"]) < _t(r["completed_at"])
    for r in t["deviations.csv"]:
        if r["closed_at"]:
            assert _t(r["opened_at"]) < _t(r["closed_at"])
    for r in t["supplier_changes.csv"]:
        assert _t(r["notified_at"]) < _t(r["effective_at"])
    doc_at = {(r["document_id"], r["version"]): _t(r["created_at"]) for r in t["documents.csv"]}
    for r in t["signatures.csv"]:
        assert doc_at[(r["document_id"], r["document_version"])] < _t(r["signed_at"])
    for (doc, v), at in doc_at.items():
        if v != "1":
            assert doc_at[(doc, str(int(v) - 1))] < at
    # a mix of naive, offset and UTC timestamps
    values = [r["consumed_at"] for r in t["consumptions.csv"]]
    assert any(v.endswith("Z") for v in values)
    assert any(v.endswith(("+01:00", "+02:00")) for v in values)
    assert any(datetime.fromisoformat(v).tzinfo is None for v in values)


def test_movements_are_consistent(plant: Plant) -> None:
    moves: dict[str, list[dict[str, str]]] = defaultdict(list)
    for r in plant.t["movements.csv"]:
        assert r["from_site"] != r["to_site"]
        assert _t(r["moved_at"]) > _t(plant.lots[r["lot_id"]]["created_at"])
        moves[r["lot_id"]].append(r)
    assert moves
    for lot, ms in moves.items():
        ms.sort(key=lambda r: _t(r["moved_at"]))
        for a, b in zip(ms, ms[1:], strict=False):
            assert a["to_site"] == b["from_site"]
        assert ms[-1]["to_site"] == plant.lots[lot]["site"]
    # moved lots are consumed only after the move, at their new site
    last_move = {lot: _t(ms[-1]["moved_at"]) for lot, ms in moves.items()}
    for r in plant.t["consumptions.csv"]:
        if r["lot_id"] in last_move:
            assert last_move[r["lot_id"]] < _t(r["consumed_at"])


def test_mass_balance(plant: Plant) -> None:
    lot_unit = {k: r["unit"] for k, r in plant.lots.items()}
    accounted: dict[str, Decimal] = defaultdict(Decimal)
    units = set()
    for r in plant.t["consumptions.csv"]:
        units.add(r["unit"])
        base = "kg" if r["unit"] in ("kg", "g") else "L"
        assert base == lot_unit[r["lot_id"]]
        accounted[r["lot_id"]] += Decimal(r["quantity"]) * TO_BASE[r["unit"]]
    assert {"g", "kg", "L"} <= units
    customers: dict[str, set[str]] = defaultdict(set)
    for r in plant.t["shipments.csv"]:
        assert r["unit"] == lot_unit[r["lot_id"]]
        accounted[r["lot_id"]] += Decimal(r["quantity"])
        customers[r["lot_id"]].add(r["customer_id"])
    assert any(len(c) >= 2 for c in customers.values())
    shortfalls = set(plant.bundle["synthetic"]["mass_balance_shortfalls"])
    assert len(shortfalls) >= 3 and shortfalls == set(plant.summary.mass_balance_shortfalls)
    for lot_id, r in plant.lots.items():
        total = accounted[lot_id] + Decimal(r["on_hand"])
        qty = Decimal(r["quantity"])
        if lot_id in shortfalls:
            assert Decimal("0.93") < total / qty < Decimal("0.99")
        else:
            assert total == qty, lot_id
        if r["status"] == "consumed":
            assert Decimal(r["on_hand"]) == 0


def test_fan_out_and_diamonds(plant: Plant) -> None:
    kinds = {r["material_id"]: r["kind"] for r in plant.t["materials.csv"]}
    consumers: dict[str, set[str]] = defaultdict(set)
    inputs: dict[str, set[str]] = defaultdict(set)
    for r in plant.t["consumptions.csv"]:
        consumers[r["lot_id"]].add(r["batch_id"])
        inputs[r["batch_id"]].add(r["lot_id"])
    solvent_fan_out = max(
        len(b) for lot, b in consumers.items() if kinds[plant.lots[lot]["material_id"]] == "solvent"
    )
    assert solvent_fan_out >= 100
    producer = {r["lot_id"]: r["batch_id"] for r in plant.t["outputs.csv"]}
    assert sum(1 for r in plant.t["outputs.csv"]) > len(set(producer.values()))  # 2 outputs
    ancestors: dict[str, frozenset[str]] = {}

    def anc(lot: str) -> frozenset[str]:
        if lot not in ancestors:
            acc: set[str] = set()
            for parent in inputs.get(producer.get(lot, ""), ()):
                acc |= {parent} | anc(parent)
            ancestors[lot] = frozenset(acc)
        return ancestors[lot]

    # a diamond: a batch whose input lots share an upstream lot (reached along two paths)
    diamonds = 0
    intermediate_diamonds = 0
    for _, lots in inputs.items():
        seen: dict[str, str] = {}
        for lot in sorted(lots):
            for a in anc(lot) | {lot}:
                if a in seen and seen[a] != lot:
                    diamonds += 1
                    if producer.get(lot) and producer.get(seen[a]) and a not in (lot, seen[a]):
                        intermediate_diamonds += 1
                seen.setdefault(a, lot)
    assert diamonds > 0
    assert intermediate_diamonds > 0  # two intermediate lots of one upstream lot meet again


def test_documents_hashes_and_signatures(plant: Plant) -> None:
    docs = plant.t["documents.csv"]
    content_hash = {}
    latest: dict[str, int] = defaultdict(int)
    for r in docs:
        content = {k: r[k] for k in ("created_at", "created_by", "document_id", "kind", "title")}
        content["version"] = int(r["version"])  # type: ignore[assignment]
        digest = hashlib.sha256(
            json.dumps(content, sort_keys=True, separators=(",", ":")).encode()
        ).hexdigest()
        assert r["content_sha256"] == digest
        content_hash[(r["document_id"], r["version"])] = digest
        latest[r["document_id"]] = max(latest[r["document_id"]], int(r["version"]))
    statuses = {(r["document_id"], int(r["version"])): r["status"] for r in docs}
    for (doc, v), status in statuses.items():
        assert (status == "superseded") == (v < latest[doc])
    tampered = set(plant.bundle["synthetic"]["tampered_signatures"])
    assert tampered and tampered == set(plant.summary.tampered_signatures)
    sigs = plant.t["signatures.csv"]
    assert len(tampered) <= max(1, len(sigs) // 500)
    mismatched = {
        r["signature_id"]
        for r in sigs
        if r["record_sha256"] != content_hash[(r["document_id"], r["document_version"])]
    }
    assert mismatched == tampered
    on_superseded = [r for r in sigs if int(r["document_version"]) < latest[r["document_id"]]]
    assert on_superseded
    # every batch has its batch record
    br = {
        r["target_id"]
        for r in plant.t["document_links.csv"]
        if r["document_id"].startswith("DOC-BR-")
    }
    open_or_done = {b for b, r in plant.batches.items() if r["status"] != "planned"}
    assert br == open_or_done


class Genealogy:
    """A plant's lot/batch graph and its batches' Impurity B results, from the CSV files alone
    (no query code): the generator's planted facts are checked against this."""

    def __init__(self, plant: Plant) -> None:
        t = plant.t
        self.kind = {r["material_id"]: r["kind"] for r in t["materials.csv"]}
        self.material = {k: r["material_id"] for k, r in plant.lots.items()}
        self.purchased = {k for k, r in plant.lots.items() if r["supplier_id"]}
        self.consumers: dict[str, set[str]] = defaultdict(set)
        self.inputs: dict[str, set[str]] = defaultdict(set)
        for r in t["consumptions.csv"]:
            self.consumers[r["lot_id"]].add(r["batch_id"])
            self.inputs[r["batch_id"]].add(r["lot_id"])
        self.producer = {r["lot_id"]: r["batch_id"] for r in t["outputs.csv"]}
        self.outputs: dict[str, set[str]] = defaultdict(set)
        for lot, batch in self.producer.items():
            self.outputs[batch].add(lot)
        self.stage = {
            k: STAGE_PRODUCTS.index(r["product_material_id"]) for k, r in plant.batches.items()
        }
        self.value: dict[str, Decimal] = {}
        self.upper: dict[str, Decimal] = {}
        self.tested_at: dict[str, datetime] = {}
        for r in t["test_results.csv"]:
            if r["target_kind"] == "batch" and r["analyte"] == "Impurity B":
                assert r["method"] == "HPLC-UV QC-M-102"
                b = r["target_id"]
                assert b not in self.value, "one Impurity B result per tested batch"
                self.value[b] = Decimal(r["value"])
                self.upper[b] = Decimal(r["upper_limit"])
                self.tested_at[b] = _t(r["tested_at"])
        self.tested = set(self.value)
        self.high = {b for b in self.tested if self.value[b] > self.upper[b]}
        self._descendants: dict[str, frozenset[str]] = {}

    def lots_at_depth(self, batch: str, depth: int) -> set[str]:
        """The lots at ``depth`` of a batch's backward genealogy (its own inputs: depth 1)."""
        lots = set(self.inputs[batch])
        for _ in range(depth - 1):
            lots = {
                x for lot in lots if lot in self.producer for x in self.inputs[self.producer[lot]]
            }
        return lots

    def generations(self, lot: str, depth: int) -> list[set[str]]:
        """The batches having ``lot`` at depth 1, 2, ..., ``depth``."""
        gens = [set(self.consumers[lot])]
        while len(gens) < depth:
            gens.append(
                {c for b in gens[-1] for out in self.outputs[b] for c in self.consumers[out]}
            )
        return gens

    def descendants(self, lot: str) -> frozenset[str]:
        """Every batch downstream of a lot."""
        if lot not in self._descendants:
            acc: set[str] = set()
            for b in self.consumers[lot]:
                acc.add(b)
                for out in self.outputs[b]:
                    acc |= self.descendants(out)
            self._descendants[lot] = frozenset(acc)
        return self._descendants[lot]

    def tested_descendants(self, lot: str, stage: int) -> set[str]:
        return {b for b in self.descendants(lot) if b in self.tested and self.stage[b] == stage}

    def by_test_time(self, batches: set[str]) -> list[str]:
        return sorted(batches, key=lambda b: (self.tested_at[b], b))


def _check_lot_facts(
    plant: Plant,
    g: Genealogy,
    facts: dict[str, object],
    kinds: tuple[str, ...] = ("raw", "reagent"),
) -> None:
    assert facts["analyte"] == "Impurity B"
    lot = plant.lots[str(facts["lot"])]
    assert lot["supplier_id"] == facts["supplier"]
    assert lot["supplier_lot"] == facts["supplier_lot"]
    assert lot["material_id"] == facts["material"]
    assert g.kind[lot["material_id"]] in kinds
    assert sum(r["supplier_lot"] == facts["supplier_lot"] for r in plant.t["lots.csv"]) == 1


def _check_drift(plant: Plant, g: Genealogy, keep_out: set[str]) -> None:
    """The in-specification drift: Q's tested consumers rise out of trend, within limits."""
    drift = plant.bundle["synthetic"]["drift"]
    assert drift == plant.summary.drift
    assert drift["method"] == "HPLC-UV QC-M-102"
    _check_lot_facts(plant, g, drift, ("raw", "reagent", "solvent"))
    q = drift["lot"]
    assert q != plant.bundle["synthetic"]["planted"]["lot"]
    consumers = g.consumers[q]
    stages = {g.stage[b] for b in consumers}
    assert len(stages) == 1 and stages <= {0, 1}
    stage = stages.pop()
    assert drift["product"] == STAGE_PRODUCTS[stage]
    units = consumers & g.tested
    assert drift["units"] == sorted(units) and 8 <= len(units) <= 40
    assert not consumers & keep_out, "Q shares no batch with the planted cause"
    # rising, well above the usual values (at most 0.09), inside the limit
    ordered = g.by_test_time(units)
    values = [g.value[b] for b in ordered]
    n = len(values)
    expected = [Decimal(round((0.095 + 0.035 * k / max(1, n - 1)) * 1000)) / 1000 for k in range(n)]
    assert values == expected
    assert values == sorted(values) and values[0] < values[-1]
    assert all(Decimal("0.09") < g.value[b] < g.upper[b] for b in units)
    # nothing else sits between the usual values and the limit; Q's batches are out of trend
    assert {b for b in g.tested if Decimal("0.09") < g.value[b] <= g.upper[b]} == units
    first = g.by_test_time({b for b in g.tested if g.stage[b] == stage})[:25]
    assert not units & set(first)
    # identifiable: no other raw/reagent lot was consumed by all of Q's consumers, and no
    # purchased lot at all by exactly them (a bulk solvent lot may cover them among hundreds)
    for other, cons in g.consumers.items():
        if other != q and other in g.purchased and consumers <= cons:
            assert g.kind[g.material[other]] == "solvent" and cons != consumers, other


def test_depth_one_units_and_drift(plant: Plant) -> None:
    """The default plant: the cause one generation up and the drift."""
    g = Genealogy(plant)
    planted = plant.bundle["synthetic"]["planted"]
    assert planted == plant.summary.planted and planted["depth"] == 1
    _check_lot_facts(plant, g, planted)
    consumers = g.consumers[planted["lot"]]
    stages = {g.stage[b] for b in consumers}
    assert len(stages) == 1 and planted["product"] == STAGE_PRODUCTS[stages.pop()]
    assert planted["units"] == sorted(consumers & g.high)
    assert consumers & g.tested <= g.high, "every tested consumer of R is raised"
    for other in g.consumers:  # identifiable: no other purchased lot went into exactly them
        if other != planted["lot"] and other in g.purchased:
            assert g.consumers[other] != consumers, other
    gens = g.generations(planted["lot"], 2)
    _check_drift(plant, g, gens[0] | gens[1])


@pytest.mark.parametrize("depth", [2, 3])
def test_planted_cause_upstream(tmp_path: Path, depth: int) -> None:
    """Depth d: exactly the tested batches d - 1 stages below R's consumers that have R at
    depth d are raised, nothing between, and no other lot explains the same batches."""
    draw = random.SystemRandom()
    seed, lots = draw.randrange(1, 2**31), draw.randrange(2000, 3001)
    print(f"seed={seed} lots={lots} depth={depth}")
    plant = Plant(tmp_path, generate_plant(lots, seed, tmp_path, impurity_depth=depth))
    g = Genealogy(plant)
    planted = plant.bundle["synthetic"]["planted"]
    assert planted == plant.summary.planted and planted["depth"] == depth
    _check_lot_facts(plant, g, planted)
    r = planted["lot"]
    consumers = g.consumers[r]
    stages = {g.stage[b] for b in consumers}
    assert len(stages) == 1
    target = stages.pop() + depth - 1
    assert target <= 4 and planted["product"] == STAGE_PRODUCTS[target]
    # D by the definition: tested stage-(s + d - 1) batches with R at depth d
    d_set = {b for b in g.tested if g.stage[b] == target and r in g.lots_at_depth(b, depth)}
    assert planted["units"] == sorted(d_set)
    assert 5 <= len(d_set) <= 60
    assert d_set <= g.high
    gens = g.generations(r, depth)
    assert gens[-1] & g.tested == d_set
    between = set().union(*gens[:-1]) & g.tested
    assert between and not between & g.high, "R's consumers and the stages between are not raised"
    # identifiable: no other purchased lot has R's consumers, no other lot has R's D
    for other in g.consumers:
        if other != r and other in g.purchased:
            assert g.consumers[other] != consumers, other
    for other in plant.lots:
        if other != r:
            assert g.tested_descendants(other, target) != d_set, other
    # elsewhere only a handful of false positives
    assert 1 <= len(g.high - d_set) <= max(5, len(g.tested) // 100)
    _check_drift(plant, g, set().union(*g.generations(r, max(depth, 2))) | g.high)


def test_impurity_depth_must_be_1_2_or_3(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="impurity_depth"):
        generate_plant(MIN_LOTS, 1, tmp_path / "a", impurity_depth=4)
    args = ["generate", "--lots", "300", "--out", str(tmp_path / "b"), "--impurity-depth", "4"]
    result = CliRunner().invoke(cli_app, args)
    assert result.exit_code == 2 and "--impurity-depth" in result.output
    with pytest.raises(SystemExit) as exc:
        synthetic_main(["--lots", "300", "--out", str(tmp_path / "c"), "--impurity-depth", "0"])
    assert exc.value.code == 2
    assert not any((tmp_path / x).exists() for x in "abc")


def test_release_overrides_are_releases_with_a_reason_and_their_findings(plant: Plant) -> None:
    sigs = plant.t["signatures.csv"]
    overrides = set(plant.summary.release_overrides)
    assert overrides, "a plant of this size has release overrides"
    assert not overrides & set(plant.summary.tampered_signatures)
    for r in sigs:
        if r["signature_id"] in overrides:
            assert r["meaning"] == "released", r
            assert r["override_reason"] and r["overridden_findings"], r
            kind, _, target = r["overridden_findings"].partition(" ")
            assert kind in ("deviation_open", "input_without_coa") and target, r
        else:
            assert not r["override_reason"] and not r["overridden_findings"], r
