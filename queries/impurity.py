"""Impurity commonality (DESIGN §4): what do the units with a flagged result share upstream?

Decisions (docs/INVESTIGATIONS.md has the whole method and its references):

* A result speaks for a *unit*: the tested batch; for a tested lot, the batches that
  produced it, or the lot itself when it was bought in. A unit is flagged when one of its
  results is flagged by the chosen ``flag``: ``oos`` (outside a specification limit),
  ``oot`` (a Nelson rule of its series' control chart, queries/trend.py) or ``any``.
* A unit's factors lie along its whole backward genealogy: every ancestor lot at any depth
  (``supplier_lot`` when a supplier supplied it, else ``lot``), the supplier and material
  of each, and the equipment of the unit's batch and of every upstream batch. ``depth`` is
  the fewest generations between a flagged unit and the factor: the unit's own batch (and
  its equipment) is 0, the lots it consumed 1, the batches that made those and their
  equipment 1, their inputs 2, and so on; a bought-in lot unit, its supplier and its
  material are 0. A unit counts once per factor however many paths reach it.
* Each factor met by a flagged unit is tested by a one-sided Fisher exact test: how likely
  at least ``affected`` flagged units are among the ``total`` units having it, were flags
  spread at random over the units tested. ``score`` = -log10 p. ``q_value`` is the
  Benjamini-Hochberg adjusted p-value over all ``factors_tested``. Ranked by score, then
  lift, the more specific kind, the nearer depth, and id; ``factors`` lists the first
  ``top``.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel

from graph.genealogy import Genealogy
from graph.model import Label
from graph.store import GraphStore, ResultRow
from queries.errors import InvalidQuery, NotFound
from queries.genealogy_walk import Adjacency, GenealogyWalk, Reached, walk_of
from queries.snapshot import one_snapshot
from queries.statistics import FisherTails, log10_bh_adjusted
from queries.trend import Series, flag_results, parse_baseline_until, parse_flag, series_label

# On equal evidence the more specific factor ranks first: one lot before its supplier.
FACTOR_KINDS = ("supplier_lot", "lot", "equipment", "supplier", "material")
DEFAULT_TOP = 100

Ids = NDArray[np.int64]


class FlaggedResult(BaseModel):
    result_id: str
    target_kind: str
    target_id: str
    unit_kind: str
    unit_id: str
    value: float | None
    lower_limit: float | None
    upper_limit: float | None
    tested_at: str | None
    result_unit: str | None
    product: str | None
    method: str | None
    series: str  # "product / method": the control chart it belongs to
    reason: str  # the first of reasons: oos, then oot:1 ... oot:4
    reasons: list[str]


class Factor(BaseModel):
    kind: str
    id: str
    supplier_lot: str | None  # the supplier's own lot number, for a supplier lot
    product: str | None  # the product whose units show the evidence (counts below are its)
    products_tested: int  # products in which it was tested (p is corrected for them)
    depth: int
    affected: int  # flagged units of ``product`` that have it
    total: int  # units of ``product`` that have it
    units_with_it: int  # units of any product that have it
    flagged_share: float
    unflagged_share: float
    lift: float | None  # None: the factor occurs only among flagged units
    p_value: float
    q_value: float
    score: float  # -log10 p
    q_score: float  # -log10 q
    flagged_units: list[str]  # the flagged units that have it, so a chart can show them


class ImpurityResult(BaseModel):
    analyte: str
    flag: str
    baseline_until: str | None
    units_tested: int
    units_hidden: int = 0  # units at sites the caller may not see (the API fills it)
    units_by_site: dict[str, int]  # tested units per site ("" for none)
    units_flagged: int
    factors_tested: int
    factors: list[Factor]
    series: list[Series]
    flagged: list[FlaggedResult]


class Unit(NamedTuple):
    label: str  # "Batch" or "Lot"
    id: str


@one_snapshot
def impurity(
    store: GraphStore,
    analyte: str,
    flag: str = "any",
    baseline_until: str | None = None,
    top: int | None = DEFAULT_TOP,
) -> ImpurityResult:
    flag = parse_flag(flag)
    until = parse_baseline_until(baseline_until)
    if top is not None and top < 1:
        raise InvalidQuery(f"top: {top} is not a positive number of factors")
    rows = store.analyte_rows(analyte)
    if not rows:
        raise NotFound("TestResult", f"analyte {analyte}")
    flags = flag_results(analyte, rows, until)
    site_of: dict[tuple[str, str], str | None] = {}  # unit (label, id) -> its site
    product_of: dict[tuple[str, str], str] = {}
    for label, target, site, product, makers in zip(
        rows.target_label, rows.target_id, rows.target_site, rows.product, rows.makers, strict=True
    ):
        if label == "Lot" and makers:
            for maker, maker_site in makers:
                unit = ("Batch", maker)  # a plain tuple: equal to Unit, made faster
                site_of[unit] = maker_site
                product_of.setdefault(unit, product or "")
        else:
            unit = (label, target)
            site_of[unit] = site
            product_of.setdefault(unit, product or "")
    flagged: list[FlaggedResult] = []
    for i in np.flatnonzero(flags.chosen(flag)).tolist():
        row = rows.row(i)
        reasons = [r for r in flags.reasons(i) if flag == "any" or r.startswith(flag)]
        flagged.extend(_flagged(row, unit, reasons) for unit in units_of(row))
    population = sorted(site_of)  # (label, id): batches first, then lots, by id
    number = {unit: i for i, unit in enumerate(population)}
    products = sorted(set(product_of.values()))
    stratum = {p: i for i, p in enumerate(products)}
    flagged_units = sorted({number[Unit(f.unit_kind, f.unit_id)] for f in flagged})
    units = _Units(
        population=population,
        stratum=[stratum[product_of[u]] for u in population],
        products=products,
        flagged=flagged_units,
    )
    found = _factors(store.genealogy(), units) if flagged_units else []
    flagged_list = [Unit(*population[i]) for i in flagged_units]
    factors = _ranked(store, found, units, flagged_list, top)
    by_site = Counter(site or "" for site in site_of.values())
    return ImpurityResult(
        analyte=analyte,
        flag=flag,
        baseline_until=until,
        units_tested=len(population),
        units_by_site=dict(sorted(by_site.items())),
        units_flagged=len(flagged_units),
        factors_tested=len(found),
        factors=factors,
        series=flags.series,
        flagged=sorted(flagged, key=lambda f: (f.unit_id, f.result_id)),
    )


def units_of(row: ResultRow) -> dict[Unit, str | None]:
    """The units a result speaks for, with their sites."""
    if row.target_label == "Lot" and row.makers:
        return {Unit("Batch", maker): site for maker, site in row.makers}
    return {Unit(row.target_label, row.target_id): row.target_site}


def _flagged(row: ResultRow, unit: Unit, reasons: list[str]) -> FlaggedResult:
    return FlaggedResult(
        result_id=row.id,
        target_kind=row.target_label,
        target_id=row.target_id,
        unit_kind=unit.label,
        unit_id=unit.id,
        value=row.value,
        lower_limit=row.lower_limit,
        upper_limit=row.upper_limit,
        tested_at=row.tested_at,
        result_unit=row.unit,
        product=row.product,
        method=row.method,
        series=series_label(row.product, row.method),
        reason=reasons[0],
        reasons=reasons,
    )


# -- factors -----------------------------------------------------------------------------
@dataclass(slots=True)
class _Met:
    """One factor as the flagged units meet it, and how many units of each stratum have it."""

    kind: str
    id: str
    depth: int  # the nearest, over every flagged unit that meets it
    units: list[int]  # indices into the flagged units
    depths: list[int]  # the nearest depth for each of ``units``
    having: NDArray[np.int64] | None = None  # units with it per stratum


@dataclass(frozen=True, slots=True)
class _Units:
    """The units tested, numbered, with their strata (products) and the flagged ones."""

    population: list[tuple[str, str]]  # (label, id) of each unit
    stratum: list[int]  # per unit of ``population``
    products: list[str]  # per stratum ("" for none)
    flagged: list[int]  # indices into ``population``

    @property
    def strata(self) -> int:
        return len(self.products)


def _factors(g: Genealogy, units: _Units) -> list[_Met]:
    """Every factor the flagged units meet, with how many units of each stratum have it."""
    walk = walk_of(g)
    strata = units.strata
    # a unit node's stratum (-1: not a unit), and who is where in the genealogy
    stratum_of_node = np.full(walk.n, -1, dtype=np.int64)
    unit_node: dict[int, int] = {}
    for i, unit in enumerate(units.population):
        node = _node(walk, g, unit[0], unit[1])
        if node is not None:
            stratum_of_node[node] = units.stratum[i]
            unit_node[i] = node
    flagged = [Unit(*units.population[i]) for i in units.flagged]
    owners = [k for k, i in enumerate(units.flagged) if i in unit_node]
    starts = np.array([unit_node[units.flagged[k]] for k in owners], dtype=np.int64)
    reached = walk.backward(np.array(owners, dtype=np.int64), starts)
    found = _met(walk, g, reached)
    # units not in the genealogy (a lot with no relationship at all): only themselves
    for k, i in enumerate(units.flagged):
        if i not in unit_node and flagged[k].label == "Lot":
            having = np.zeros(strata, dtype=np.int64)
            having[units.stratum[i]] = 1
            found.append(_Met("lot", flagged[k].id, 0, [k], [0], having))
    lots = [m for m in found if m.kind in ("supplier_lot", "lot") and m.having is None]
    lot_nodes = np.array([g.lot_index[m.id] for m in lots], dtype=np.int64)
    downstream = walk.forward_counts(lot_nodes, stratum_of_node, strata)
    for m, node, counts in zip(lots, lot_nodes.tolist(), downstream, strict=True):
        m.having = counts.copy()
        if stratum_of_node[node] >= 0:  # a bought-in lot tested itself
            m.having[stratum_of_node[node]] += 1
    others = [m for m in found if m.kind in ("supplier", "material", "equipment")]
    for m, counts in zip(
        others, _signature_counts(walk, g, others, stratum_of_node, strata), strict=True
    ):
        m.having = counts
    return found


def _node(walk: GenealogyWalk, g: Genealogy, label: str, unit_id: str) -> int | None:
    if label == "Batch":
        batch = g.batch_index.get(unit_id)
        return None if batch is None else walk.batch_node(batch)
    lot = g.lot_index.get(unit_id)
    return None if lot is None else walk.lot_node(lot)


def _met(walk: GenealogyWalk, g: Genealogy, reached: Reached) -> list[_Met]:
    """The factors met by the flagged units, each with its nearest depth."""
    lot_side = reached.nodes < walk.n_lots
    lots = reached.owners[lot_side], reached.nodes[lot_side], reached.depths[lot_side]
    batches = (
        reached.owners[~lot_side],
        reached.nodes[~lot_side] - walk.n_lots,
        reached.depths[~lot_side],
    )
    supplied = np.zeros(len(g.lots), dtype=np.bool_)
    supplied[g.supplied.dst] = True
    found: list[_Met] = []
    for index, who, depths in _grouped(*lots):
        kind = "supplier_lot" if supplied[index] else "lot"
        found.append(_Met(kind, g.lots[index], min(depths), who, depths))
    for kind, edges, hits, names, by_holder in (
        ("supplier", g.supplied, lots, g.suppliers, "dst"),
        ("material", g.of_material, lots, g.materials, "src"),
        ("equipment", g.ran_on, batches, g.equipment, "src"),
    ):
        holders = edges.dst if by_holder == "dst" else edges.src
        factors = edges.src if by_holder == "dst" else edges.dst
        size = len(g.lots) if kind != "equipment" else len(g.batches)
        adjacency = Adjacency(holders, factors, size)
        owners, nodes, at_depth = hits
        counts = adjacency.start[nodes + 1] - adjacency.start[nodes]
        reached_owners, reached_factors = adjacency.expand(owners, nodes)
        reached_depths = np.repeat(at_depth, counts)
        for index, who, near in _grouped(reached_owners, reached_factors, reached_depths):
            found.append(_Met(kind, names[index], min(near), who, near))
    return found


def _grouped(owners: Ids, nodes: Ids, depths: Ids) -> list[tuple[int, list[int], list[int]]]:
    """(node, its owners, each owner's nearest depth) for each node met."""
    if not len(nodes):
        return []
    order = np.lexsort((depths, owners, nodes))
    nodes, owners, depths = nodes[order], owners[order], depths[order]
    first_pair = np.r_[True, (nodes[1:] != nodes[:-1]) | (owners[1:] != owners[:-1])]
    nodes, owners, depths = nodes[first_pair], owners[first_pair], depths[first_pair]
    starts = np.flatnonzero(np.r_[True, nodes[1:] != nodes[:-1]])
    return [
        (node, who.tolist(), near.tolist())
        for node, who, near in zip(
            nodes[starts].tolist(),
            np.split(owners, starts[1:]),
            np.split(depths, starts[1:]),
            strict=True,
        )
    ]


def _signature_counts(
    walk: GenealogyWalk, g: Genealogy, factors: list[_Met], stratum_of_node: Ids, strata: int
) -> list[Ids]:
    """Units per stratum having each supplier, material or equipment upstream (or itself).

    One pass over the whole genealogy: every node carries a bit per factor, its own or'ed
    with its parents', set in topological order until nothing changes.
    """
    if not factors:
        return []
    words = (len(factors) + 63) // 64
    signature = np.zeros((walk.n, words), dtype=np.uint64)
    positions = {
        "supplier": {name: i for i, name in enumerate(g.suppliers)},
        "material": {name: i for i, name in enumerate(g.materials)},
        "equipment": {name: i for i, name in enumerate(g.equipment)},
    }
    for bit, m in enumerate(factors):
        index = positions[m.kind][m.id]
        if m.kind == "supplier":
            holders = g.supplied.dst[g.supplied.src == index]
        elif m.kind == "material":
            holders = g.of_material.src[g.of_material.dst == index]
        else:
            holders = g.ran_on.src[g.ran_on.dst == index] + walk.n_lots
        signature[holders, bit // 64] |= np.uint64(1 << (bit % 64))
    own = signature
    order = np.argsort(walk.level, kind="stable")
    level_starts = np.flatnonzero(np.r_[True, np.diff(walk.level[order]) != 0])
    for nodes in np.split(order, level_starts[1:]):
        upstream = walk.parents.or_over_nodes(signature, nodes)
        signature[nodes] = own[nodes] | upstream
    counts: list[Ids] = [np.zeros(strata, dtype=np.int64) for _ in factors]
    for s in range(strata):
        members = np.flatnonzero(stratum_of_node == s)
        if not len(members):
            continue
        bits = np.unpackbits(
            signature[members].astype("<u8").view(np.uint8), axis=1, bitorder="little"
        ).sum(axis=0, dtype=np.int64)
        for bit in range(len(factors)):
            counts[bit][s] = bits[bit]
    return counts


def _ranked(
    store: GraphStore, found: list[_Met], units: _Units, flagged: list[Unit], top: int | None
) -> list[Factor]:
    """Every factor tested, strongest first; only the first ``top`` are made answers.

    Column-wise over all factors (a large plant tests hundreds of thousands): counts per
    (factor, product), and each distinct (product, having, hits) tested once."""
    n, strata = len(found), units.strata
    if n == 0:
        return []
    size = np.bincount(np.array(units.stratum, dtype=np.int64), minlength=strata)
    flagged_stratum = np.array([units.stratum[i] for i in units.flagged], dtype=np.int64)
    flagged_size = np.bincount(flagged_stratum, minlength=strata)
    rows = np.arange(n)
    # (factor, flagged unit) pairs: the unit's product and its depth to the factor
    lengths = np.array([len(m.units) for m in found], dtype=np.int64)
    pair_factor = np.repeat(rows, lengths)
    pair_stratum = flagged_stratum[np.concatenate([np.asarray(m.units, np.int64) for m in found])]
    pair_depth = np.concatenate([np.asarray(m.depths, dtype=np.int64) for m in found])
    hits = np.bincount(pair_factor * strata + pair_stratum, minlength=n * strata)
    hits = hits.reshape(n, strata)
    having = np.stack([np.zeros(strata, np.int64) if m.having is None else m.having for m in found])
    having = np.maximum(having, hits)
    # a product where every unit has it, or none or every unit is flagged: nothing to test
    testable = (having > 0) & ((flagged_size > 0) & (flagged_size < size))[None, :]
    testable &= having < size[None, :]
    cells = np.flatnonzero(testable)
    flat_log_p = np.full(n * strata, np.inf)
    if len(cells):
        combos = np.stack([cells % strata, having.ravel()[cells], hits.ravel()[cells]], axis=1)
        distinct, back = np.unique(combos, axis=0, return_inverse=True)
        tails = FisherTails(len(units.population))
        tested = np.array(
            [
                tails.log10_p(int(size[s]), int(flagged_size[s]), int(t), int(a))
                for s, t, a in distinct.tolist()
            ],
            dtype=np.float64,
        )
        flat_log_p[cells] = tested[np.asarray(back).ravel()]
    log_p_cell = flat_log_p.reshape(n, strata)
    tested_in = testable.sum(axis=1)
    # the product where the evidence is strongest (the first of equals); when none can be
    # tested, the product where most units have it
    stratum = np.where(tested_in > 0, np.argmin(log_p_cell, axis=1), np.argmax(having, axis=1))
    bonferroni = np.log10(np.maximum(tested_in, 1))  # over the products it was tested in
    log_p = np.where(tested_in > 0, np.minimum(0.0, log_p_cell[rows, stratum] + bonferroni), 0.0)
    hits_in, having_in = hits[rows, stratum], having[rows, stratum]
    flagged_in = flagged_size[stratum]
    others_in = size[stratum] - flagged_in
    flagged_share = np.where(flagged_in > 0, hits_in / np.maximum(flagged_in, 1), 0.0)
    unflagged_share = np.where(others_in > 0, (having_in - hits_in) / np.maximum(others_in, 1), 0.0)
    with np.errstate(divide="ignore"):
        lift = np.where(unflagged_share > 0, flagged_share / unflagged_share, np.inf)
    # the nearest depth among the flagged units of that product (else among all of them)
    in_product = pair_stratum == stratum[pair_factor]
    nearest = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(nearest, pair_factor[in_product], pair_depth[in_product])
    depth = np.where(nearest < np.iinfo(np.int64).max, nearest, np.array([m.depth for m in found]))
    log_q = log10_bh_adjusted(log_p)
    kinds = np.array([FACTOR_KINDS.index(m.kind) for m in found], dtype=np.int64)
    ids = np.array([m.id for m in found], dtype=np.str_)
    order = np.lexsort((ids, depth, kinds, -lift, log_p)).tolist()
    listed = order if top is None else order[:top]
    supplier_lots = _supplier_lot_numbers(
        store, [found[i].id for i in listed if found[i].kind == "supplier_lot"]
    )
    factors: list[Factor] = []
    for i in listed:
        m, product = found[i], int(stratum[i])
        in_it = [u for u in m.units if flagged_stratum[u] == product]
        factors.append(
            Factor(
                kind=m.kind,
                id=m.id,
                supplier_lot=supplier_lots.get(m.id) if m.kind == "supplier_lot" else None,
                product=units.products[product] or None,
                products_tested=int(tested_in[i]),
                depth=int(depth[i]),
                affected=len(in_it),
                total=int(having_in[i]),
                units_with_it=int(having[i].sum()),
                flagged_share=round(float(flagged_share[i]), 6),
                unflagged_share=round(float(unflagged_share[i]), 6),
                lift=None if math.isinf(lift[i]) else round(float(lift[i]), 6),
                p_value=10.0 ** float(log_p[i]),
                q_value=10.0 ** float(log_q[i]),
                score=round(-float(log_p[i]), 6),
                q_score=round(-float(log_q[i]), 6),
                flagged_units=sorted(flagged[u].id for u in in_it),
            )
        )
    return factors


def _supplier_lot_numbers(store: GraphStore, lots: list[str]) -> dict[str, str | None]:
    found = store.fetch_nodes(Label.LOT, sorted(lots))
    return {
        lot: (str(node.props["supplier_lot"]) if node.props.get("supplier_lot") else None)
        for lot, node in found.items()
    }
