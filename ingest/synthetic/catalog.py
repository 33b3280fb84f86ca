"""The plant's master data and vocabulary: sites, materials, stages, suppliers, roles,
document kinds, statuses; what a generated plant is (PlantSummary)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ingest.synthetic.columns import _utc

FILES: tuple[str, ...] = (
    "suppliers.csv",
    "materials.csv",
    "lots.csv",
    "batches.csv",
    "consumptions.csv",
    "outputs.csv",
    "equipment.csv",
    "customers.csv",
    "shipments.csv",
    "movements.csv",
    "people.csv",
    "documents.csv",
    "document_links.csv",
    "signatures.csv",
    "deviations.csv",
    "deviation_links.csv",
    "test_results.csv",
    "supplier_changes.csv",
)

MIN_LOTS = 200

SITES = ("SITE-A", "SITE-B", "SITE-C")

A, B, C = 0, 1, 2


@dataclass(frozen=True)
class _Material:
    id: str
    name: str
    kind: str
    unit: str
    lot_size: float = 0.0  # typical purchased lot, in unit
    pack: float = 1.0  # purchased lots are multiples of this
    lead_days: tuple[float, float] = (2.0, 30.0)
    shelf_days: tuple[int, int] = (365, 1095)


MATERIALS: tuple[_Material, ...] = (
    _Material("MAT-CNP", "2-Chloro-5-nitropyridine", "raw", "kg", 1200, 25),
    _Material("MAT-FPB", "4-Fluorophenylboronic acid", "raw", "kg", 900, 25),
    _Material("MAT-CAC", "Chloroacetyl chloride", "raw", "L", 800, 200),
    _Material("MAT-MOR", "Morpholine", "raw", "L", 1000, 200),
    _Material("MAT-BOC", "Di-tert-butyl dicarbonate", "raw", "kg", 600, 25),
    _Material("MAT-K2CO3", "Potassium carbonate", "reagent", "kg", 1500, 25),
    _Material("MAT-PDC", "Pd(dppf)Cl2 catalyst", "reagent", "kg", 12, 0.5, (5.0, 40.0)),
    _Material("MAT-NABH4", "Sodium borohydride", "reagent", "kg", 250, 25),
    _Material("MAT-TEA", "Triethylamine", "reagent", "L", 1000, 200),
    _Material("MAT-HCL", "Hydrochloric acid 32%", "reagent", "L", 1000, 1000),
    _Material("MAT-THF", "Tetrahydrofuran", "solvent", "L", 30000, 1, (1.0, 10.0)),
    _Material("MAT-MEOH", "Methanol", "solvent", "L", 30000, 1, (1.0, 10.0)),
    _Material("MAT-TOL", "Toluene", "solvent", "L", 30000, 1, (1.0, 10.0)),
    _Material("MAT-ETOAC", "Ethyl acetate", "solvent", "L", 25000, 1, (1.0, 10.0)),
    _Material("MAT-IPA", "Isopropanol", "solvent", "L", 40000, 1, (1.0, 10.0)),
    _Material("MAT-ACN", "Acetonitrile", "solvent", "L", 40000, 1, (1.0, 10.0)),
    _Material("MAT-INT1", "LG-101 stage 1 intermediate (nitro biaryl)", "intermediate", "kg"),
    _Material("MAT-INT2", "LG-101 stage 2 intermediate (amino biaryl)", "intermediate", "kg"),
    _Material("MAT-INT3", "LG-101 stage 3 intermediate (chloroacetamide)", "intermediate", "kg"),
    _Material("MAT-FIN", "LG-101 advanced intermediate", "intermediate", "kg"),
    _Material("MAT-API", "LG-101 hydrochloride", "api", "kg"),
)

_MAT = {m.id: i for i, m in enumerate(MATERIALS)}

N_PURCHASED_MATS = 16

_SOLVENT = np.array([m.kind == "solvent" for m in MATERIALS])

IMPURITY_DEPTHS = (1, 2, 3)

# bounds of the search for a planted cause of depth >= 2 (keeps a 1M-lot plant fast)
_CAUSE_TRIES = 3000

_CAUSE_CHECKS = 200

# the drift: at least this many tested consumers, none among the first tested of the stage
_DRIFT_MIN_UNITS = 8

_DRIFT_WANTED_UNITS = 12  # preferred: a reagent or a solvent lot in a dozen batches or more

_DRIFT_MAX_UNITS = 40  # never a bulk lot consumed by hundreds of batches

_DRIFT_BASELINE = 25

_DRIFT_CHECKS = 400


@dataclass(frozen=True)
class _Stage:
    product: int
    sites: tuple[int, ...]
    site_p: tuple[float, ...]
    nominal_kg: float  # stage 1: product per batch; later: previous intermediate per batch
    yield_: float
    recipe: tuple[tuple[int, float], ...]  # (material, amount per kg of product)
    imp_b_upper: float
    water_upper: float


STAGES: tuple[_Stage, ...] = (
    _Stage(
        _MAT["MAT-INT1"],
        (A, B),
        (0.55, 0.45),
        420.0,
        1.0,
        (
            (_MAT["MAT-CNP"], 0.62),
            (_MAT["MAT-FPB"], 0.55),
            (_MAT["MAT-K2CO3"], 0.9),
            (_MAT["MAT-PDC"], 0.0035),
            (_MAT["MAT-THF"], 7.0),
            (_MAT["MAT-ACN"], 0.22),
        ),
        0.15,
        1.0,
    ),
    _Stage(
        _MAT["MAT-INT2"],
        (A, B),
        (0.5, 0.5),
        420.0,
        0.88,
        (
            (_MAT["MAT-NABH4"], 0.12),
            (_MAT["MAT-MEOH"], 6.0),
            (_MAT["MAT-HCL"], 0.35),
            (_MAT["MAT-ACN"], 0.2),
        ),
        0.15,
        1.0,
    ),
    _Stage(
        _MAT["MAT-INT3"],
        (B, C),
        (0.5, 0.5),
        370.0,
        0.9,
        (
            (_MAT["MAT-CAC"], 0.32),
            (_MAT["MAT-TEA"], 0.45),
            (_MAT["MAT-TOL"], 6.5),
            (_MAT["MAT-IPA"], 0.25),
        ),
        0.10,
        0.5,
    ),
    _Stage(
        _MAT["MAT-FIN"],
        (B, C),
        (0.5, 0.5),
        330.0,
        0.92,
        (
            (_MAT["MAT-MOR"], 0.4),
            (_MAT["MAT-BOC"], 0.55),
            (_MAT["MAT-ETOAC"], 6.0),
            (_MAT["MAT-IPA"], 0.25),
        ),
        0.10,
        0.5,
    ),
    _Stage(
        _MAT["MAT-API"],
        (C,),
        (1.0,),
        300.0,
        0.95,
        ((_MAT["MAT-HCL"], 0.3), (_MAT["MAT-IPA"], 5.0), (_MAT["MAT-ACN"], 0.2)),
        0.10,
        0.5,
    ),
)

FIN_STAGE = 3

API_STAGE = 4

# where the lots of stage k go for stage k+1, by origin site (rows A, B, C)
_TRANSITIONS: tuple[tuple[tuple[float, float, float], ...], ...] = (
    ((0.85, 0.15, 0.0), (0.15, 0.85, 0.0), (0.0, 1.0, 0.0)),
    ((0.0, 0.6, 0.4), (0.0, 0.8, 0.2), (0.0, 0.5, 0.5)),
    ((0.0, 0.8, 0.2), (0.0, 0.8, 0.2), (0.0, 0.15, 0.85)),
)

_API_P = (0.0, 0.06, 0.15)  # share of FIN lots (by site) that go into the API stage at SITE-C

# (id, name, country, status, kinds supplied)
SUPPLIERS: tuple[tuple[str, str, str, str, str], ...] = (
    ("SUP-001", "Rheinchem AG", "CH", "approved", "rr"),
    ("SUP-002", "Lombardia Fine Chemicals S.p.A.", "IT", "approved", "rr"),
    ("SUP-003", "Hangzhou Kinetic Chemical Co. Ltd", "CN", "approved", "rr"),
    ("SUP-004", "Maharashtra Organics Pvt Ltd", "IN", "approved", "rr"),
    ("SUP-005", "Nordic Solvents AB", "SE", "approved", "s"),
    ("SUP-006", "Elbe Solvents GmbH", "DE", "approved", "s"),
    ("SUP-007", "Catalytica Metals Ltd", "GB", "approved", "rr"),
    ("SUP-008", "Iberia Reagents S.L.", "ES", "conditional", "rr"),
    ("SUP-009", "Great Lakes Chemical Supply Inc", "US", "approved", "s"),
    ("SUP-010", "Jiangsu Huaxin Pharmchem Co. Ltd", "CN", "approved", "rr"),
    ("SUP-011", "Alpine Reagents SA", "CH", "approved", "rr"),
    ("SUP-012", "Rhone Specialty Chemicals SAS", "FR", "disqualified", "rr"),
    ("SUP-013", "Kanto Fine Synthesis KK", "JP", "approved", "rr"),
    ("SUP-014", "Baltic Chem Trading UAB", "", "conditional", "s"),
)

# supplier lot numbers start with a code of the supplier (distinct per supplier)
SUPPLIER_LOT_PREFIX = (
    "RC", "LF", "HK", "MO", "NS", "ES", "CM", "IR", "GL", "JH", "AR", "RS", "KF", "BC",
)  # fmt: skip

assert len(set(SUPPLIER_LOT_PREFIX)) == len(SUPPLIERS)

DISQUALIFIED_AT = _utc(2026, 3, 16, 8)

ROLES = (
    "operator",
    "supervisor",
    "qa_specialist",
    "qualified_person",
    "qc_analyst",
    "logistics",
    "supply_chain",
)

OPERATOR, SUPERVISOR, QA, QP, QC, LOGISTICS, SUPPLY_CHAIN = range(7)

FIRST_NAMES = (
    "Anna",
    "Luca",
    "Sara",
    "Marco",
    "Julia",
    "Thomas",
    "Elena",
    "David",
    "Laura",
    "Simon",
    "Nina",
    "Patrick",
    "Chiara",
    "Daniel",
    "Lea",
    "Stefan",
    "Sophie",
    "Martin",
    "Eva",
    "Jonas",
    "Mia",
    "Andreas",
    "Carla",
    "Reto",
    "Ines",
    "Fabian",
    "Giulia",
    "Beat",
    "Noemi",
    "Urs",
    "Priya",
    "Kenji",
    "Amira",
    "Omar",
    "Ling",
    "Tomasz",
    "Ana",
    "Pierre",
    "Ingrid",
    "Matteo",
)

LAST_NAMES = (
    "Keller",
    "Meier",
    "Rossi",
    "Brunner",
    "Fischer",
    "Weber",
    "Huber",
    "Schmid",
    "Baumann",
    "Frei",
    "Gerber",
    "Moser",
    "Favre",
    "Bianchi",
    "Steiner",
    "Graf",
    "Roth",
    "Wyss",
    "Bernasconi",
    "Kaufmann",
    "Suter",
    "Marti",
    "Zimmermann",
    "Lehmann",
    "Bachmann",
    "Gashi",
    "Ferrari",
    "Nguyen",
    "Kowalski",
    "Sato",
    "Haddad",
    "Patel",
    "Dubois",
    "Olsen",
    "Costa",
    "Berger",
    "Vogel",
    "Koch",
)

CUSTOMER_WORDS = (
    "Helvetia",
    "Danube",
    "Atlas",
    "Meridian",
    "Aurora",
    "Cascade",
    "Summit",
    "Lakeside",
    "Northstar",
    "Orion",
    "Pacifica",
    "Riverbend",
    "Sapphire",
    "Tamarind",
    "Verdant",
    "Zenith",
)

CUSTOMER_FORMS = (
    "Pharma AG",
    "Therapeutics GmbH",
    "Biologics Ltd",
    "Pharmaceuticals Inc",
    "Laboratories SA",
    "Health BV",
    "Medica S.r.l.",
)

COUNTRIES = ("CH", "DE", "FR", "IT", "US", "GB", "IE", "NL", "BE", "ES", "JP", "IN", "SE", "DK")

ANALYTES = ("Assay", "Impurity A", "Impurity B", "Water")

ASSAY, IMP_A, IMP_B, WATER = range(4)

TR_UNITS = ("%", "% area", "% w/w")

METHODS = (
    "HPLC-UV QC-M-101",
    "HPLC-UV QC-M-102",
    "KF QC-M-201",
    "GC-FID QC-M-301",
    "Supplier method",
    # lot release testing: its own methods, so its results make their own control charts
    # (a batch's in-process result and its lots' release results are not independent points)
    "HPLC-UV QC-M-111",
    "HPLC-UV QC-M-112",
    "KF QC-M-211",
)

DOC_KINDS = (
    "batch_record",
    "coa",
    "qc_report",
    "deviation_report",
    "capa",
    "sop",
    "supplier_change_notice",
)

BR, COA, QCR, DR, CAPA, SOP, SCN = range(7)

DOC_PREFIX = ("DOC-BR", "DOC-COA", "DOC-QC", "DOC-DR", "DOC-CAPA", "DOC-SOP", "DOC-SCN")

VERSION_STATUS = ("draft", "in_review", "approved", "superseded")

AWAITING_APPROVED = 0.5  # of batches in review, the share whose batch record QA approved

OVERRIDE_SHARE = 0.08  # of releases, the share signed as an override of open findings

OVERRIDE_REASONS = (
    "risk assessed by QA: no impact on product quality",
    "deviation investigation concluded; CAPA open; released under QA override",
    "CoA received by e-mail; upload pending; identity test passed",
)  # written unquoted: no commas

DRAFT, IN_REVIEW, APPROVED, SUPERSEDED = range(4)

MEANINGS = ("authored", "reviewed", "approved", "released", "verified", "rejected")

AUTHORED, REVIEWED, SIG_APPROVED, RELEASED, VERIFIED, SIG_REJECTED = range(6)

LOT_STATUS = ("quarantine", "released", "rejected", "on_hold", "consumed")

L_QUAR, L_REL, L_REJ, L_HOLD, L_CONS = range(5)

BATCH_STATUS = ("planned", "in_progress", "executed", "in_review", "released", "rejected")

B_PLANNED, B_INPROG, B_EXEC, B_REVIEW, B_REL, B_REJ = range(6)

TARGET_KINDS = ("lot", "batch", "supplier", "material", "deviation", "equipment")

T_LOT, T_BATCH, T_SUP, T_MAT, T_DEV, T_EQ = range(6)


@dataclass(frozen=True)
class PlantSummary:
    """What :func:`generate_plant` wrote."""

    out: Path
    seed: int
    lots: int
    rows: dict[str, int]
    planted: dict[str, Any]
    mass_balance_shortfalls: list[str] = field(default_factory=list)
    tampered_signatures: list[str] = field(default_factory=list)
    release_overrides: list[str] = field(default_factory=list)  # signature ids
    bytes_written: int = 0
    drift: dict[str, Any] = field(default_factory=dict)
