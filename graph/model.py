"""The property-graph model of DESIGN §2: labels, relationship types, keys and enums."""

from __future__ import annotations

from enum import StrEnum
from typing import Final, Literal, get_args


class Label(StrEnum):
    SUPPLIER = "Supplier"
    MATERIAL = "Material"
    LOT = "Lot"
    BATCH = "Batch"
    EQUIPMENT = "Equipment"
    SHIPMENT = "Shipment"
    CUSTOMER = "Customer"
    DOCUMENT = "Document"
    DOCUMENT_VERSION = "DocumentVersion"
    SIGNATURE = "Signature"
    PERSON = "Person"
    DEVIATION = "Deviation"
    TEST_RESULT = "TestResult"
    SUPPLIER_CHANGE = "SupplierChange"
    SITE = "Site"
    HOLD = "Hold"  # a QA hold on a lot (api/holds): its own node, so no lots.csv ingest wipes it
    # a qa decision on a supplier change notice (api/suppliers): one node per decision, a
    # later one superseding the earlier, so the notice's history is kept
    SUPPLIER_CHANGE_DECISION = "SupplierChangeDecision"


class RelType(StrEnum):
    SUPPLIED = "SUPPLIED"
    OF_MATERIAL = "OF_MATERIAL"
    CONSUMED_IN = "CONSUMED_IN"
    PRODUCED = "PRODUCED"
    RAN_ON = "RAN_ON"
    SHIPPED_IN = "SHIPPED_IN"
    TO = "TO"
    MOVED_TO = "MOVED_TO"
    HAS_VERSION = "HAS_VERSION"
    CONCERNS = "CONCERNS"
    SIGNED = "SIGNED"
    SIGNS = "SIGNS"
    AFFECTS = "AFFECTS"
    TESTED = "TESTED"
    REPORTED_IN = "REPORTED_IN"
    BY = "BY"
    HOLDS = "HOLDS"  # (Hold)-[:HOLDS]->(Lot)
    DECIDES = "DECIDES"  # (SupplierChangeDecision)-[:DECIDES]->(SupplierChange)


LABELS: Final = tuple(Label)
REL_TYPES: Final = tuple(RelType)

KEY: Final = "id"
"""Every node's key property, unique per label."""

REL_KEY: Final = "key"
"""Distinguishes parallel relationships of one type between the same two nodes."""

UNRESOLVED: Final = "unresolved"
"""Marks a placeholder created by a reference that arrived before its entity."""

PROVENANCE: Final = ("source", "source_file", "source_sha256", "source_row", "write_id")
"""Where a node or relationship was last written from, and by which write batch (whose
audit entries carry the same ``write_id``); not part of its content."""

FINGERPRINT: Final = "content_fingerprint"
"""A hash of a node's or relationship's content, so that a re-ingest compares hashes only."""

SupplierStatus = Literal["approved", "conditional", "disqualified"]
MaterialKind = Literal["raw", "solvent", "reagent", "intermediate", "api", "packaging"]
LotStatus = Literal["quarantine", "released", "rejected", "on_hold", "consumed"]
BatchStatus = Literal["planned", "in_progress", "executed", "in_review", "released", "rejected"]
DocumentKind = Literal[
    "batch_record", "coa", "deviation_report", "capa", "qc_report", "supplier_change_notice", "sop"
]
SignatureMeaning = Literal["authored", "reviewed", "approved", "released", "verified", "rejected"]
DeviationSeverity = Literal["minor", "major", "critical"]
DeviationStatus = Literal["open", "investigating", "closed"]
DocumentTargetKind = Literal["lot", "batch", "supplier", "material", "deviation", "equipment"]
DeviationTargetKind = Literal["batch", "lot", "equipment", "supplier"]
TestTargetKind = Literal["lot", "batch"]
SupplierChangeDecisionKind = Literal["accepted", "extra_testing", "requalification_required"]

SUPPLIER_STATUSES: Final = get_args(SupplierStatus)
MATERIAL_KINDS: Final = get_args(MaterialKind)
LOT_STATUSES: Final = get_args(LotStatus)
BATCH_STATUSES: Final = get_args(BatchStatus)
DOCUMENT_KINDS: Final = get_args(DocumentKind)
SIGNATURE_MEANINGS: Final = get_args(SignatureMeaning)
DEVIATION_SEVERITIES: Final = get_args(DeviationSeverity)
DEVIATION_STATUSES: Final = get_args(DeviationStatus)
SUPPLIER_CHANGE_DECISIONS: Final = get_args(SupplierChangeDecisionKind)

DOCUMENT_TARGETS: Final = {
    "lot": Label.LOT,
    "batch": Label.BATCH,
    "supplier": Label.SUPPLIER,
    "material": Label.MATERIAL,
    "deviation": Label.DEVIATION,
    "equipment": Label.EQUIPMENT,
}
DEVIATION_TARGETS: Final = {
    "batch": Label.BATCH,
    "lot": Label.LOT,
    "equipment": Label.EQUIPMENT,
    "supplier": Label.SUPPLIER,
}
TEST_TARGETS: Final = {"lot": Label.LOT, "batch": Label.BATCH}


def version_id(document_id: str, version: int) -> str:
    """Key of a DocumentVersion node, e.g. ``DOC-BR-0001@2``."""
    return f"{document_id}@{version}"


def check_label(label: str) -> Label:
    """Return the label, or raise when it is not part of the model (guards Cypher templates)."""
    return Label(label)


def check_rel_type(rel_type: str) -> RelType:
    return RelType(rel_type)
