"""The results of one analyte over time: the control charts the impurity page draws.

Decisions: every series of the analyte (product x method, queries/trend.py) is returned
with its baseline, centre line, control limits and specification limits; of the results,
the latest ``limit`` (by test time, then id; untimed results count as oldest) are returned
oldest first, with ``total`` saying how many there are. Control limits and flags are
computed over every result, not only the returned ones. A result's ``units`` are the ids
the impurity investigation counts it for (the tested batch, or for a tested lot the
batches that produced it, the lot itself when it was bought in), so a factor's
``flagged_units`` can be found on the chart; ``reasons`` says why it is flagged.
"""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel

from graph.store import GraphStore, ResultRow
from queries.errors import NotFound
from queries.impurity import units_of
from queries.snapshot import one_snapshot
from queries.trend import Series, flag_results, parse_baseline_until, series_label

DEFAULT_LIMIT = 5_000


class ResultPoint(BaseModel):
    result_id: str
    target_kind: str
    target_id: str
    site: str | None
    units: list[str]
    value: float | None
    lower_limit: float | None
    upper_limit: float | None
    tested_at: str | None
    unit: str | None
    product: str | None
    method: str | None
    series: str  # "product / method", the chart it is drawn on
    reasons: list[str]  # oos, oot:1 ... oot:4; empty when the result is unremarkable
    flagged: bool  # any reason
    oos: bool
    oot: list[int]  # the Nelson rules it breaks


class AnalyteResults(BaseModel):
    analyte: str
    total: int
    baseline_until: str | None
    series: list[Series]
    results: list[ResultPoint]


@one_snapshot
def analyte_results(
    store: GraphStore,
    analyte: str,
    limit: int = DEFAULT_LIMIT,
    baseline_until: str | None = None,
) -> AnalyteResults:
    until = parse_baseline_until(baseline_until)
    rows = store.analyte_rows(analyte)
    if not rows:
        raise NotFound("TestResult", f"analyte {analyte}")
    flags = flag_results(analyte, rows, until)
    tested = np.array([t or "" for t in rows.tested_at], dtype=np.str_)
    order = np.lexsort((np.array(rows.id, dtype=np.str_), tested))
    latest = order[-limit:] if limit > 0 else order[:0]
    return AnalyteResults(
        analyte=analyte,
        total=len(rows),
        baseline_until=until,
        series=flags.series,
        results=[_point(rows.row(i), flags.reasons(i)) for i in latest.tolist()],
    )


def _point(row: ResultRow, reasons: list[str]) -> ResultPoint:
    return ResultPoint(
        result_id=row.id,
        target_kind=row.target_label,
        target_id=row.target_id,
        site=row.target_site,
        units=sorted(unit.id for unit in units_of(row)),
        value=row.value,
        lower_limit=row.lower_limit,
        upper_limit=row.upper_limit,
        tested_at=row.tested_at,
        unit=row.unit,
        product=row.product,
        method=row.method,
        series=series_label(row.product, row.method),
        reasons=reasons,
        flagged=bool(reasons),
        oos="oos" in reasons,
        oot=[int(r.split(":")[1]) for r in reasons if r.startswith("oot:")],
    )
