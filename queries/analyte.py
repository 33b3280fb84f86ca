"""The results of one analyte over time: the series an impurity control chart draws.

Decisions: the latest ``limit`` results (by test time, then id; untimed results count as
oldest) are returned oldest first, with ``total`` saying how many there are. A result's
``units`` are the ids the impurity investigation counts it for: the tested batch, or for a
tested lot the batches that produced it (the lot itself when it was bought in), so a
factor's ``flagged_units`` can be found on the chart.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from graph.cypher_files import read_cypher
from graph.embedded import EmbeddedStore
from graph.neo4j_store import Neo4jStore
from graph.store import GraphStore
from queries.errors import NotFound
from queries.snapshot import one_snapshot

_HERE = Path(__file__).parent
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
    flagged: bool


class AnalyteResults(BaseModel):
    analyte: str
    total: int
    results: list[ResultPoint]


@one_snapshot
def analyte_results(store: GraphStore, analyte: str, limit: int = DEFAULT_LIMIT) -> AnalyteResults:
    if isinstance(store, Neo4jStore):
        total, rows = _neo4j_rows(store, analyte, limit)
    elif isinstance(store, EmbeddedStore):
        total, rows = _embedded_rows(store, analyte, limit)
    else:  # pragma: no cover - a new store must implement every investigation
        raise TypeError(f"no analyte results for store {type(store).__name__}")
    if total == 0:
        raise NotFound("TestResult", f"analyte {analyte}")
    points = [_point(row) for row in rows]
    points.sort(key=lambda p: (p.tested_at or "", p.result_id))
    return AnalyteResults(analyte=analyte, total=total, results=points)


def _point(row: dict[str, Any]) -> ResultPoint:
    makers = sorted(str(m) for m in row["makers"] or [])
    value, upper = row["value"], row["upper_limit"]
    return ResultPoint(
        result_id=row["id"],
        target_kind=row["target_kind"],
        target_id=row["target_id"],
        site=row["site"],
        units=makers or [str(row["target_id"])],
        value=value,
        lower_limit=row["lower_limit"],
        upper_limit=upper,
        tested_at=row["tested_at"],
        unit=row["unit"],
        flagged=value is not None and upper is not None and value > upper,
    )


def _neo4j_rows(store: Neo4jStore, analyte: str, limit: int) -> tuple[int, list[dict[str, Any]]]:
    (count,) = store.read(read_cypher("analyte_count", _HERE), analyte=analyte)
    if not count["total"]:
        return 0, []
    return count["total"], store.read(
        read_cypher("analyte_results", _HERE), analyte=analyte, limit=limit
    )


_COUNT = """
SELECT count(*) FROM analyte_results WHERE analyte = ? AND target_kind IN ('lot', 'batch')
"""
_LATEST = """
SELECT a.id, CASE a.target_kind WHEN 'lot' THEN 'Lot' ELSE 'Batch' END, a.target_id,
       json_extract(t.props, '$.site'), a.value, json_extract(r.props, '$.lower_limit'),
       a.upper_limit, a.tested_at, a.unit,
       (SELECT json_group_array(p.src_id) FROM rels AS p
        WHERE a.target_kind = 'lot' AND p.dst_label = 'Lot' AND p.dst_id = a.target_id
          AND p.type = 'PRODUCED' AND p.src_label = 'Batch')
FROM (SELECT * FROM analyte_results WHERE analyte = ? AND target_kind IN ('lot', 'batch')
      ORDER BY coalesce(tested_at, '') DESC, id DESC LIMIT ?) AS a
JOIN nodes AS r ON r.label = 'TestResult' AND r.id = a.id
LEFT JOIN nodes AS t
  ON t.label = CASE a.target_kind WHEN 'lot' THEN 'Lot' ELSE 'Batch' END AND t.id = a.target_id
"""
_FIELDS = [
    "id",
    "target_kind",
    "target_id",
    "site",
    "value",
    "lower_limit",
    "upper_limit",
    "tested_at",
    "unit",
    "makers",
]


def _embedded_rows(
    store: EmbeddedStore, analyte: str, limit: int
) -> tuple[int, list[dict[str, Any]]]:
    with store.reading() as conn:
        (total,) = conn.execute(_COUNT, (analyte,)).fetchone()
        rows = conn.execute(_LATEST, (analyte, limit)).fetchall() if total else []
    found = [dict(zip(_FIELDS, row, strict=True)) for row in rows]
    for row in found:
        row["makers"] = json.loads(str(row["makers"] or "[]"))
    return total, found
