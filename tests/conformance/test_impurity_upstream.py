"""Impurity causes anywhere upstream, and drifts inside specification, on plants nobody has
seen (generated here from random seeds, printed), on both stores."""

from __future__ import annotations

import math
import random
from pathlib import Path

import pytest

from graph.store import GraphStore
from ingest.loader import ingest_bundle
from ingest.synthetic import generate_plant
from queries.analyte import analyte_results
from queries.impurity import impurity


def _bh(p_values: list[float]) -> list[float]:
    """Benjamini-Hochberg as the paper states it, directly: q_(i) = min_{j>=i} p_(j) m / j."""
    m = len(p_values)
    ranked = sorted(range(m), key=lambda i: p_values[i])
    q = [0.0] * m
    for position, i in enumerate(ranked):
        q[i] = min(
            1.0, min(p_values[j] * m / (k + 1) for k, j in enumerate(ranked) if k >= position)
        )
    return q


@pytest.mark.parametrize("depth", [1, 2, 3])
def test_a_cause_upstream_and_a_drift_rank_first(
    store: GraphStore, tmp_path: Path, depth: int
) -> None:
    seed = random.SystemRandom().randrange(1, 2**31)
    print(f"seed={seed} depth={depth}")
    summary = generate_plant(2_000, seed, tmp_path / "plant", impurity_depth=depth)
    assert ingest_bundle(store, tmp_path / "plant", actor="test").total("rejected") == 0
    planted, drift = summary.planted, summary.drift

    found = impurity(store, planted["analyte"], flag="oos")
    top = found.factors[0]
    assert (top.kind, top.id, top.supplier_lot) == (
        "supplier_lot",
        planted["lot"],
        planted["supplier_lot"],
    ), f"seed {seed}"
    assert top.depth == depth and top.product == planted["product"]
    assert set(planted["units"]) <= set(top.flagged_units)
    assert all(f.reason == "oos" for f in found.flagged)

    # by default (control limits from each series' first 20 results) every drift unit is out
    # of trend; with the baseline an investigator picks for a suspected change (the results
    # before it) the drift's lot ranks first: 20 points estimate sigma to about +-25 %, and a
    # low estimate fills a chart with chance signals that cluster in time
    default = impurity(store, drift["analyte"], flag="oot")
    assert set(drift["units"]) <= {f.unit_id for f in default.flagged}
    series = analyte_results(store, drift["analyte"], limit=100_000)
    start = min(p.tested_at or "" for p in series.results if set(drift["units"]) & set(p.units))
    trending = impurity(store, drift["analyte"], flag="oot", baseline_until=start[:10])
    top = trending.factors[0]
    assert (top.kind, top.id, top.supplier_lot) == (
        "supplier_lot",
        drift["lot"],
        drift["supplier_lot"],
    ), f"seed {seed}"
    assert top.depth == 1 and top.product == drift["product"]
    # every drift unit is flagged out of trend, within specification, on its product's chart
    reasons = {f.unit_id: f for f in trending.flagged}
    for unit in drift["units"]:
        assert reasons[unit].reason.startswith("oot:"), (unit, reasons[unit].reasons)
        assert reasons[unit].product == drift["product"]
        assert reasons[unit].method == drift["method"]
    assert set(drift["units"]) <= set(top.flagged_units)
    assert not set(drift["units"]) & {f.unit_id for f in found.flagged}, "in specification"


def test_q_values_are_benjamini_hochberg_over_every_factor_tested(
    store: GraphStore, tmp_path: Path
) -> None:
    seed = random.SystemRandom().randrange(1, 2**31)
    print(f"seed={seed}")
    summary = generate_plant(600, seed, tmp_path / "plant")
    assert ingest_bundle(store, tmp_path / "plant", actor="test").total("rejected") == 0
    for flag in ("oos", "oot", "any"):
        answer = impurity(store, summary.planted["analyte"], flag=flag, top=None)
        assert answer.factors_tested == len(answer.factors) > 0
        p = [f.p_value for f in answer.factors]
        for factor, expected in zip(answer.factors, _bh(p), strict=True):
            assert math.isclose(factor.q_value, expected, rel_tol=1e-9, abs_tol=1e-300), factor
            assert factor.p_value <= factor.q_value * (1 + 1e-12) and factor.q_value <= 1.0
        listed = impurity(store, summary.planted["analyte"], flag=flag, top=5)
        assert listed.factors == answer.factors[:5]
        assert listed.factors_tested == answer.factors_tested
