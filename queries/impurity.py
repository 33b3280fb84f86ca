"""Impurity commonality (DESIGN §4): what do the batches with a high result have in common?

Decisions:

* A result speaks for a *unit*: the tested batch; for a tested lot, the batches that
  produced it, or the lot itself when it was bought in. A unit is flagged when any of its
  results is above its upper limit.
* A unit's factors: the equipment the batch ran on and, for each lot it consumed, that lot
  (``supplier_lot`` when a supplier supplied it, else ``lot``), the lot's supplier and its
  material. A bought-in lot's factors are itself, its supplier and its material.
* Each factor met by a flagged unit is scored by a one-sided Fisher exact test: how likely
  it is to meet at least ``affected`` flagged units among the ``total`` units having it,
  were flags spread at random. ``score`` is -log10 of that p-value; ranked strongest first,
  then by lift, the more specific kind, and id.
* Out-of-trend flags are not computed yet: only results with an upper limit can flag.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from sqlite3 import Connection
from typing import Any

from pydantic import BaseModel

from graph.cypher_files import read_cypher
from graph.embedded import EmbeddedStore
from graph.neo4j_store import Neo4jStore
from graph.store import GraphStore
from queries.errors import NotFound
from queries.snapshot import one_snapshot

_HERE = Path(__file__).parent
# On equal evidence the more specific factor ranks first: one lot before its supplier.
FACTOR_KINDS = ("supplier_lot", "lot", "equipment", "supplier", "material")


class FlaggedResult(BaseModel):
    result_id: str
    target_kind: str
    target_id: str
    unit_kind: str
    unit_id: str
    value: float
    upper_limit: float
    tested_at: str | None
    result_unit: str | None


class Factor(BaseModel):
    kind: str
    id: str
    affected: int
    total: int
    flagged_share: float
    unflagged_share: float
    lift: float | None
    p_value: float
    score: float
    flagged_units: list[str]  # the flagged units that have it, so a chart can show them


class ImpurityResult(BaseModel):
    analyte: str
    units_tested: int
    units_flagged: int
    flagged: list[FlaggedResult]
    factors: list[Factor]


class _Facts(BaseModel):
    units_tested: int
    flagged: list[FlaggedResult]
    factors: list[tuple[str, str, str]]  # unit id, kind, factor id
    totals: dict[str, dict[str, int]]  # kind ("lot" covers supplier lots) -> id -> units


@one_snapshot
def impurity(store: GraphStore, analyte: str) -> ImpurityResult:
    if isinstance(store, Neo4jStore):
        facts = _neo4j_facts(store, analyte)
    elif isinstance(store, EmbeddedStore):
        facts = _embedded_facts(store, analyte)
    else:  # pragma: no cover - a new store must implement every investigation
        raise TypeError(f"no impurity for store {type(store).__name__}")
    if facts is None:
        raise NotFound("TestResult", f"analyte {analyte}")
    return _assemble(analyte, facts)


def _flagged_units(flagged: Iterable[FlaggedResult]) -> tuple[list[str], list[str]]:
    batches = sorted({f.unit_id for f in flagged if f.unit_kind == "Batch"})
    lots = sorted({f.unit_id for f in flagged if f.unit_kind == "Lot"})
    return batches, lots


def _candidates(factors: Iterable[tuple[str, str, str]]) -> dict[str, list[str]]:
    wanted: dict[str, set[str]] = defaultdict(set)
    for _, kind, factor in factors:
        wanted["lot" if kind == "supplier_lot" else kind].add(factor)
    return {
        kind: sorted(wanted.get(kind, ())) for kind in ("equipment", "lot", "supplier", "material")
    }


def log10_fisher_tail(population: int, flagged: int, total: int, affected: int) -> float:
    """log10 P(X >= affected), X hypergeometric: ``total`` drawn from ``population`` units
    of which ``flagged`` are flagged."""

    def log_comb(n: int, k: int) -> float:
        return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)

    top = min(total, flagged)
    low = max(affected, total - (population - flagged))
    if low > top:
        return 0.0
    terms = [
        log_comb(flagged, x) + log_comb(population - flagged, total - x)
        for x in range(low, top + 1)
    ]
    peak = max(terms)
    log_sum = peak + math.log(sum(math.exp(t - peak) for t in terms))
    return min(0.0, (log_sum - log_comb(population, total)) / math.log(10))


def _assemble(analyte: str, facts: _Facts) -> ImpurityResult:
    population = facts.units_tested
    flagged_units = {(f.unit_kind, f.unit_id) for f in facts.flagged}
    n_flagged = len(flagged_units)
    affected: dict[tuple[str, str], set[str]] = defaultdict(set)
    for unit, kind, factor in facts.factors:
        affected[(kind, factor)].add(unit)
    factors: list[Factor] = []
    for (kind, factor), units in affected.items():
        total = facts.totals.get("lot" if kind == "supplier_lot" else kind, {}).get(factor, 0)
        total = max(total, len(units))
        hits = len(units)
        flagged_share = hits / n_flagged
        others = population - n_flagged
        unflagged_share = (total - hits) / others if others else 0.0
        log_p = log10_fisher_tail(population, n_flagged, total, hits)
        factors.append(
            Factor(
                kind=kind,
                id=factor,
                affected=hits,
                total=total,
                flagged_share=round(flagged_share, 6),
                unflagged_share=round(unflagged_share, 6),
                lift=round(flagged_share / unflagged_share, 6) if unflagged_share else None,
                p_value=10.0**log_p,
                score=round(-log_p, 6),
                flagged_units=sorted(units),
            )
        )
    factors.sort(
        key=lambda f: (
            -f.score,
            -(f.lift if f.lift is not None else math.inf),
            FACTOR_KINDS.index(f.kind),
            f.id,
        )
    )
    return ImpurityResult(
        analyte=analyte,
        units_tested=population,
        units_flagged=n_flagged,
        flagged=sorted(facts.flagged, key=lambda f: (f.unit_id, f.result_id)),
        factors=factors,
    )


# -- Neo4j -------------------------------------------------------------------------------
def _neo4j_facts(store: Neo4jStore, analyte: str) -> _Facts | None:
    (row,) = store.read(read_cypher("impurity_results", _HERE), analyte=analyte)
    if not row["units"]:
        return None
    flagged = [_flagged(values) for values in row["flagged"]]
    batch_ids, lot_ids = _flagged_units(flagged)
    (row2,) = store.read(
        read_cypher("impurity_factors", _HERE), batch_ids=batch_ids, lot_ids=lot_ids
    )
    factors = [(u, k, f) for u, k, f in row2["factors"]]
    wanted = _candidates(factors)
    totals: dict[str, dict[str, int]] = defaultdict(dict)
    for rec in store.read(
        read_cypher("impurity_totals", _HERE),
        analyte=analyte,
        equipment=wanted["equipment"],
        lots=wanted["lot"],
        suppliers=wanted["supplier"],
        materials=wanted["material"],
    ):
        totals[rec["kind"]][rec["factor"]] = rec["total"]
    return _Facts(units_tested=row["units"], flagged=flagged, factors=factors, totals=totals)


def _flagged(values: list[Any]) -> FlaggedResult:
    rid, target_kind, target_id, unit_kind, unit_id, value, upper, tested_at, unit = values
    return FlaggedResult(
        result_id=rid,
        target_kind=target_kind,
        target_id=target_id,
        unit_kind=unit_kind,
        unit_id=unit_id,
        value=value,
        upper_limit=upper,
        tested_at=tested_at,
        result_unit=unit,
    )


# -- embedded ----------------------------------------------------------------------------
# analyte_results is the embedded store's derived table of TestResult properties; its
# target is the one the result's TESTED relationship was made from.
_RESULTS = """
SELECT id, CASE target_kind WHEN 'lot' THEN 'Lot' WHEN 'batch' THEN 'Batch' END, target_id,
       value, upper_limit, tested_at, unit
FROM analyte_results WHERE analyte = ? AND target_kind IN ('lot', 'batch')
"""
_MAKERS = """
SELECT r.dst_id, r.src_id FROM json_each(?) AS j
CROSS JOIN rels AS r ON r.dst_label = 'Lot' AND r.dst_id = j.value AND r.type = 'PRODUCED'
WHERE r.src_label = 'Batch'
"""
_FACTORS = {
    "equipment": """
SELECT j.value, 'equipment', e.dst_id FROM json_each(?) AS j
CROSS JOIN rels AS e ON e.src_label = 'Batch' AND e.src_id = j.value AND e.type = 'RAN_ON'
WHERE e.dst_label = 'Equipment'
""",
    "lots": """
SELECT j.value,
       CASE WHEN EXISTS (SELECT 1 FROM rels AS s WHERE s.dst_label = 'Lot'
                         AND s.dst_id = c.src_id AND s.type = 'SUPPLIED')
            THEN 'supplier_lot' ELSE 'lot' END,
       c.src_id
FROM json_each(?) AS j
CROSS JOIN rels AS c ON c.dst_label = 'Batch' AND c.dst_id = j.value AND c.type = 'CONSUMED_IN'
WHERE c.src_label = 'Lot'
""",
    "suppliers": """
SELECT j.value, 'supplier', s.src_id FROM json_each(?) AS j
CROSS JOIN rels AS c ON c.dst_label = 'Batch' AND c.dst_id = j.value AND c.type = 'CONSUMED_IN'
CROSS JOIN rels AS s ON s.dst_label = 'Lot' AND s.dst_id = c.src_id AND s.type = 'SUPPLIED'
WHERE c.src_label = 'Lot' AND s.src_label = 'Supplier'
""",
    "materials": """
SELECT j.value, 'material', m.dst_id FROM json_each(?) AS j
CROSS JOIN rels AS c ON c.dst_label = 'Batch' AND c.dst_id = j.value AND c.type = 'CONSUMED_IN'
CROSS JOIN rels AS m ON m.src_label = 'Lot' AND m.src_id = c.src_id AND m.type = 'OF_MATERIAL'
WHERE c.src_label = 'Lot' AND m.dst_label = 'Material'
""",
}
_LOT_FACTORS = """
SELECT j.value, 'supplier_lot', j.value FROM json_each(?) AS j
UNION
SELECT j.value, 'supplier', s.src_id FROM json_each(?) AS j
CROSS JOIN rels AS s ON s.dst_label = 'Lot' AND s.dst_id = j.value AND s.type = 'SUPPLIED'
WHERE s.src_label = 'Supplier'
UNION
SELECT j.value, 'material', m.dst_id FROM json_each(?) AS j
CROSS JOIN rels AS m ON m.src_label = 'Lot' AND m.src_id = j.value AND m.type = 'OF_MATERIAL'
WHERE m.dst_label = 'Material'
"""
# Totals: who shares each candidate. Equipment and lots are few and read by index; a
# supplier's or material's units are found in one ordered pass over every consumption (the
# Lot rows of rels are clustered by lot, so the pass reads sequentially).
_RAN_ON_INTO = """
SELECT r.dst_id, r.src_id FROM json_each(?) AS j
CROSS JOIN rels AS r ON r.dst_label = 'Equipment' AND r.dst_id = j.value AND r.type = 'RAN_ON'
WHERE r.src_label = 'Batch'
"""
_CONSUMED_FROM = """
SELECT r.src_id, r.dst_id FROM json_each(?) AS j
CROSS JOIN rels AS r ON r.src_label = 'Lot' AND r.src_id = j.value AND r.type = 'CONSUMED_IN'
WHERE r.dst_label = 'Batch'
"""
_LOT_ROWS = """
SELECT src_id, type, dst_id, dst_label FROM rels
WHERE src_label = 'Lot' AND type IN ('CONSUMED_IN', 'OF_MATERIAL')
"""
_SUPPLIED = """
SELECT dst_id, src_id FROM rels
WHERE src_label = 'Supplier' AND type = 'SUPPLIED' AND dst_label = 'Lot'
"""


def _embedded_facts(store: EmbeddedStore, analyte: str) -> _Facts | None:
    with store.reading() as conn:
        results = conn.execute(_RESULTS, (analyte,)).fetchall()
        if not results:
            return None
        lot_targets = sorted({tid for _, label, tid, *_ in results if label == "Lot"})
        makers: dict[str, list[str]] = defaultdict(list)
        for start in range(0, len(lot_targets), 5_000):
            chunk = json.dumps(lot_targets[start : start + 5_000])
            for lot, batch in conn.execute(_MAKERS, (chunk,)):
                makers[lot].append(batch)
        units: set[tuple[str, str]] = set()
        flagged: list[FlaggedResult] = []
        for rid, label, tid, value, upper, tested_at, unit in results:
            speaks_for = [("Batch", b) for b in makers[tid]] if makers.get(tid) else [(label, tid)]
            units.update(speaks_for)
            if upper is not None and value is not None and value > upper:
                flagged.extend(
                    _flagged([rid, label, tid, ul, ui, value, upper, tested_at, unit])
                    for ul, ui in speaks_for
                )
        batch_ids, lot_ids = _flagged_units(flagged)
        factors = _embedded_factors(conn, batch_ids, lot_ids)
        totals = _embedded_totals(conn, units, _candidates(factors))
    return _Facts(units_tested=len(units), flagged=flagged, factors=factors, totals=totals)


def _embedded_factors(
    conn: Connection, batch_ids: list[str], lot_ids: list[str]
) -> list[tuple[str, str, str]]:
    found: set[tuple[str, str, str]] = set()
    batches = json.dumps(batch_ids)
    for query in _FACTORS.values():
        found.update(conn.execute(query, (batches,)))
    lots = json.dumps(lot_ids)
    found.update(conn.execute(_LOT_FACTORS, (lots, lots, lots)))
    return sorted(found)


def _embedded_totals(
    conn: Connection, units: set[tuple[str, str]], wanted: dict[str, list[str]]
) -> dict[str, dict[str, int]]:
    batch_units = {i for label, i in units if label == "Batch"}
    lot_units = {i for label, i in units if label == "Lot"}
    sharing: dict[str, dict[str, set[str]]] = {k: defaultdict(set) for k in wanted}
    for equipment, batch in conn.execute(_RAN_ON_INTO, (json.dumps(wanted["equipment"]),)):
        if batch in batch_units:
            sharing["equipment"][equipment].add(batch)
    for lot, batch in conn.execute(_CONSUMED_FROM, (json.dumps(wanted["lot"]),)):
        if batch in batch_units:
            sharing["lot"][lot].add(batch)
    for lot in lot_units.intersection(wanted["lot"]):
        sharing["lot"][lot].add("Lot:" + lot)
    suppliers, materials = set(wanted["supplier"]), set(wanted["material"])
    if suppliers or materials:
        supplier_of: dict[str, list[str]] = defaultdict(list)
        for lot, supplier in conn.execute(_SUPPLIED):
            if supplier in suppliers:
                supplier_of[lot].append(supplier)
        for lot in lot_units:
            for supplier in supplier_of.get(lot, ()):
                sharing["supplier"][supplier].add("Lot:" + lot)

        def share(lot: str, batches: list[str], lot_materials: list[str]) -> None:
            units_here = [*batches, "Lot:" + lot] if lot in lot_units else batches
            for material in lot_materials:
                sharing["material"][material].update(units_here)
            for supplier in supplier_of.get(lot, ()):
                sharing["supplier"][supplier].update(batches)

        # one lot at a time: its consumptions and its material are adjacent rows
        current = ""
        batches: list[str] = []
        lot_materials: list[str] = []
        for lot, rel_type, other, other_label in conn.execute(_LOT_ROWS):
            if lot != current:
                share(current, batches, lot_materials)
                current, batches, lot_materials = lot, [], []
            if rel_type == "OF_MATERIAL":
                if other in materials and other_label == "Material":
                    lot_materials.append(other)
            elif other in batch_units and other_label == "Batch":
                batches.append(other)
        share(current, batches, lot_materials)
    return {kind: {f: len(u) for f, u in found.items()} for kind, found in sharing.items()}
