"""A generated plant gives the same graph and the same investigation answers on both stores."""

from __future__ import annotations

import csv
import json
import random
from datetime import UTC, datetime
from pathlib import Path

import pytest

from graph.embedded import EmbeddedStore
from graph.model import Label
from graph.neo4j_store import Neo4jStore
from ingest.loader import ingest_bundle
from ingest.synthetic import generate_plant
from queries.analyte import analyte_results
from queries.batch_release import release_checklists
from queries.impact import impact
from queries.impurity import impurity
from queries.recall import recall
from queries.search import find_by_id
from queries.trace import Direction, trace
from queries.work import kpis, work_queue

pytestmark = pytest.mark.neo4j


@pytest.mark.parametrize("seed", [3, 11])
def test_generated_plant_is_identical_on_both_stores(
    seed: int, tmp_path: Path, embedded_store: EmbeddedStore, neo4j_store: Neo4jStore
) -> None:
    plant = tmp_path / "plant"
    generate_plant(lots=2000, seed=seed, out=plant)
    reports = {}
    for store in (embedded_store, neo4j_store):
        first = ingest_bundle(store, plant, actor="test")
        again = ingest_bundle(store, plant, actor="test")
        assert first.total("rejected") == 0
        assert again.total("unchanged") == again.total("rows_read") == first.total("rows_read")
        reports[store.kind] = first.as_dict()
    assert reports["embedded"]["files"] == reports["neo4j"]["files"]
    assert embedded_store.stats() == neo4j_store.stats()
    assert embedded_store.stats().unresolved == 0

    with (plant / "lots.csv").open(encoding="utf-8") as fh:
        lot_ids = [row["lot_id"] for row in csv.DictReader(fh)]
    sample = random.Random(seed).sample(lot_ids, 25)
    for lot_id in sample:
        for direction in Direction:
            assert trace(embedded_store, lot_id, direction) == trace(neo4j_store, lot_id, direction)
    _assert_same_investigations(plant, sample, embedded_store, neo4j_store)


def _assert_same_investigations(
    plant: Path, sample: list[str], embedded_store: EmbeddedStore, neo4j_store: Neo4jStore
) -> None:
    meta = json.loads((plant / "bundle.json").read_text(encoding="utf-8"))
    planted = meta["synthetic"]["planted"]
    for roots in ([planted["lot"]], sample[:3], sample[3:4]):
        assert recall(embedded_store, roots) == recall(neo4j_store, roots)
    with (plant / "suppliers.csv").open(encoding="utf-8") as fh:
        suppliers = [row["supplier_id"] for row in csv.DictReader(fh)]
    for supplier in suppliers[:4]:
        assert impact(embedded_store, supplier) == impact(neo4j_store, supplier)
    assert impact(embedded_store, planted["supplier"], since="2026-01-01") == impact(
        neo4j_store, planted["supplier"], since="2026-01-01"
    )
    shortfalls = meta["synthetic"]["mass_balance_shortfalls"]
    assert shortfalls, "the generator plants mass-balance shortfalls"
    for store in (embedded_store, neo4j_store):
        planted_short = recall(store, shortfalls).mass_balance
        assert [b.lot for b in planted_short] == sorted(shortfalls)
        # the generator leaves 2-6 % of each planted lot unaccounted
        assert all(not b.balanced and 94 <= (b.percent_accounted or 0) <= 98 for b in planted_short)
        balanced = recall(store, sample[:10]).mass_balance
        assert all(b.balanced for b in balanced if b.lot not in shortfalls)
    for analyte in ("Impurity B", "Impurity A", "Assay", "Water"):
        for flag in ("any", "oos", "oot"):
            assert impurity(embedded_store, analyte, flag, top=None) == impurity(
                neo4j_store, analyte, flag, top=None
            )
    assert impurity(embedded_store, "Water", baseline_until="2025-06-01") == impurity(
        neo4j_store, "Water", baseline_until="2025-06-01"
    )
    drift = meta["synthetic"]["drift"]
    for store in (embedded_store, neo4j_store):
        top = impurity(store, planted["analyte"], "oos").factors[0]
        assert (top.kind, top.id) == ("supplier_lot", planted["lot"]), store.kind
        top = impurity(store, drift["analyte"], "oot").factors[0]
        assert (top.kind, top.id) == ("supplier_lot", drift["lot"]), store.kind
    _assert_same_series_and_search(planted, sample, embedded_store, neo4j_store)
    _assert_same_workflow(embedded_store, neo4j_store)


def _assert_same_workflow(embedded_store: EmbeddedStore, neo4j_store: Neo4jStore) -> None:
    """Release checklists, the work queue and the KPIs, for every site and for one."""
    batches = embedded_store.node_ids(Label.BATCH)
    assert batches == neo4j_store.node_ids(Label.BATCH)
    some = random.Random(len(batches)).sample(batches, 40)
    assert release_checklists(embedded_store, some) == release_checklists(neo4j_store, some)
    now = datetime(2026, 12, 1, tzinfo=UTC)
    since = datetime(2025, 6, 1, tzinfo=UTC)
    for sees in (lambda site: True, lambda site: site in (None, "SITE-A")):
        for signer in (None, "U-001"):
            embedded = work_queue(embedded_store, sees, signer, now)
            assert embedded == work_queue(neo4j_store, sees, signer, now)
        exports = [("L-X", "2026-01-02T00:00:00.000Z")]
        assert kpis(embedded_store, sees, since, None, exports, now) == kpis(
            neo4j_store, sees, since, None, exports, now
        )
    assert embedded.batches_awaiting_release, "the generator leaves batches awaiting release"


def _assert_same_series_and_search(
    planted: dict[str, str],
    sample: list[str],
    embedded_store: EmbeddedStore,
    neo4j_store: Neo4jStore,
) -> None:
    analyte = planted["analyte"]
    series = analyte_results(embedded_store, analyte, limit=100_000)
    assert series == analyte_results(neo4j_store, analyte, limit=100_000)
    assert analyte_results(embedded_store, analyte, 7) == analyte_results(neo4j_store, analyte, 7)
    assert series.total == len(series.results)
    latest = analyte_results(embedded_store, analyte, 7).results
    assert latest == series.results[-7:]
    # the chart's flagged points are the investigation's flagged results, unit for unit
    answer = impurity(embedded_store, analyte)
    assert {(p.result_id, u) for p in series.results if p.flagged for u in p.units} == {
        (f.result_id, f.unit_id) for f in answer.flagged
    }
    flagged_units = {f.unit_id for f in answer.flagged}
    for factor in answer.factors:
        assert len(factor.flagged_units) == factor.affected
        assert set(factor.flagged_units) <= flagged_units
    assert set(answer.factors[0].flagged_units) & {u for p in series.results for u in p.units}
    for key in (sample[0], planted["supplier"], planted["lot"], " " + sample[1] + " ", "nope"):
        found = find_by_id(embedded_store, key)
        assert found == find_by_id(neo4j_store, key)
        assert [m.id for m in found] == ([key.strip()] if key != "nope" else [])


def test_updates_and_placeholders_match_on_both_stores(
    tmp_path: Path, embedded_store: EmbeddedStore, neo4j_store: Neo4jStore
) -> None:
    plant = tmp_path / "plant"
    generate_plant(lots=500, seed=4, out=plant)
    # Split the plant: genealogy first (placeholders everywhere), master data second.
    early, late = tmp_path / "early", tmp_path / "late"
    early.mkdir()
    late.mkdir()
    for path in plant.iterdir():
        target = early if path.name in {"consumptions.csv", "outputs.csv", "bundle.json"} else late
        (target / path.name).write_bytes(path.read_bytes())
    (late / "bundle.json").write_bytes((plant / "bundle.json").read_bytes())
    for store in (embedded_store, neo4j_store):
        ingest_bundle(store, early, actor="test")
        assert store.stats().unresolved > 0
    assert embedded_store.stats() == neo4j_store.stats()
    with (plant / "consumptions.csv").open(encoding="utf-8") as fh:
        consumed = sorted({row["lot_id"] for row in csv.DictReader(fh)})
    placeholders_only = random.Random(4).sample(consumed, 5)
    early_recall = recall(embedded_store, placeholders_only)
    assert early_recall == recall(neo4j_store, placeholders_only)
    assert all(x.unresolved for x in early_recall.lots)
    for store in (embedded_store, neo4j_store):
        report = ingest_bundle(store, late, actor="test")
        assert report.unresolved == 0
    assert embedded_store.stats() == neo4j_store.stats()
    late_recall = recall(embedded_store, placeholders_only)
    assert late_recall == recall(neo4j_store, placeholders_only)
    assert not any(x.unresolved for x in late_recall.lots)
    assert impurity(embedded_store, "Impurity B") == impurity(neo4j_store, "Impurity B")
