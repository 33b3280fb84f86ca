"""Out of specification and out of trend: why a result is flagged (docs/INVESTIGATIONS.md).

Results are grouped in *series*: one product material (a batch's product, a lot's
material), one analyte, one method, ordered by test time (then result id). A result is
``oos`` when its value is above its upper or below its lower specification limit. A series
is drawn as an individuals control chart (Shewhart): centre line = mean of the baseline,
sigma = mean moving range of the baseline / 1.128 (d2 for ranges of two), control limits =
centre +- 3 sigma. The baseline is the first ``BASELINE_POINTS`` results of the series, or
those tested before ``baseline_until`` when given; results out of specification are left
out of it (they have an assignable cause already). Every result of the series (the
baseline's too) is then checked against Nelson's rules 1-4 (Nelson 1984):

1. a point more than 3 sigma from the centre line;
2. nine points in a row on the same side of the centre line;
3. six points in a row steadily increasing, or steadily decreasing;
4. fourteen points in a row alternating up and down.

A point is flagged ``oot:<rule>`` where the chart signals: at the point that completes a
run breaking the rule and at every further point of that run (the 9th point on one side
and after, the 6th steadily rising or falling point and after, the 14th alternating point
and after; rule 1: the point itself), as control chart software marks them. The earlier
points of the run are not flagged: they were unremarkable when they were measured. A point
on the centre line, or equal to the one before it, ends a run.
A series whose baseline has fewer than two results, or no variation, has no control
limits and no ``oot`` flags; its ``note`` says why.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel

from graph.store import AnalyteRows
from queries.errors import InvalidQuery

BASELINE_POINTS = 20
D2 = 1.128  # the mean range of two standard normal values
RULES = (1, 2, 3, 4)
RUN_2, RUN_3, RUN_4 = 9, 6, 14
FLAGS = ("oos", "oot", "any")


class Series(BaseModel):
    """One control chart: what it is of, its baseline, its limits and how many it flags."""

    product: str | None
    analyte: str
    method: str | None
    results: int  # results with a value, the points of the chart
    baseline_points: int
    baseline_from: str | None  # tested_at of the first and last baseline result
    baseline_to: str | None
    centre: float | None
    sigma: float | None
    lower_control: float | None
    upper_control: float | None
    spec_lower: list[float]  # every specification limit its results carry
    spec_upper: list[float]
    evaluated: bool  # control limits and the oot rules apply
    note: str | None
    oos: int  # results out of specification
    oot: int  # results out of trend (any rule)

    @property
    def label(self) -> str:
        return series_label(self.product, self.method)


def series_label(product: str | None, method: str | None) -> str:
    return f"{product or '(no product)'} / {method or '(no method)'}"


@dataclass(frozen=True, slots=True)
class Flags:
    """An analyte's series and, per result (row of its ``AnalyteRows``), why it is flagged."""

    series: list[Series]
    series_index: NDArray[np.int64]  # per row: its series in ``series``; -1 without a value
    oos: NDArray[np.bool_]
    rules: NDArray[np.uint8]  # per row: bit k - 1 set when it breaks Nelson rule k

    def reasons(self, row: int) -> list[str]:
        """``oos`` first, then ``oot:1`` ... ``oot:4``."""
        found = ["oos"] if self.oos[row] else []
        bits = int(self.rules[row])
        return found + [f"oot:{rule}" for rule in RULES if bits & (1 << (rule - 1))]

    def chosen(self, flag: str) -> NDArray[np.bool_]:
        """The rows that flag their units for ``flag``: ``oot`` means out of trend *within*
        specification (an out-of-specification result is ``oos`` whatever else it breaks)."""
        oot = self.rules > 0
        if flag == "oos":
            return self.oos
        if flag == "oot":
            return oot & ~self.oos
        return self.oos | oot


def parse_baseline_until(value: str | None) -> str | None:
    """``DATE`` or date-time -> the UTC text results are compared with (a date: midnight)."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        if len(text) == 10:
            moment = datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC)
        else:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
            if moment.tzinfo is None:
                raise InvalidQuery(f"baseline_until: {value!r} has no UTC offset")
    except ValueError:
        raise InvalidQuery(
            f"baseline_until: {value!r} is not an ISO 8601 date or date-time"
        ) from None
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_flag(value: str) -> str:
    if value not in FLAGS:
        raise InvalidQuery(f"flag: {value!r} is not one of {', '.join(FLAGS)}")
    return value


def flag_results(analyte: str, rows: AnalyteRows, baseline_until: str | None) -> Flags:
    """Group ``rows`` (one analyte) into series and flag each result that is oos or oot."""
    n = len(rows)
    value = np.array(rows.value, dtype=np.float64)  # None -> nan
    upper = np.array(rows.upper_limit, dtype=np.float64)
    lower = np.array(rows.lower_limit, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        oos = (value > upper) | (value < lower)
    keys: dict[tuple[str, str], int] = {}
    code = np.fromiter(
        (
            keys.setdefault((p or "", m or ""), len(keys))
            for p, m in zip(rows.product, rows.method, strict=True)
        ),
        dtype=np.int64,
        count=n,
    )
    ranked = sorted(keys, key=lambda k: k)  # series in (product, method) order
    rank_of = np.empty(max(len(keys), 1), dtype=np.int64)
    for position, key in enumerate(ranked):
        rank_of[keys[key]] = position
    series_index = np.where(np.isnan(value), -1, rank_of[code] if n else code)
    tested = np.array([t or "" for t in rows.tested_at], dtype=np.str_) if n else np.zeros(0, "U1")
    ids = np.array(rows.id, dtype=np.str_) if n else np.zeros(0, "U1")
    order = np.lexsort((ids, tested, series_index))
    order = order[series_index[order] >= 0]
    starts = np.flatnonzero(np.r_[True, np.diff(series_index[order]) != 0])
    rules = np.zeros(n, dtype=np.uint8)
    series: list[Series] = []
    for members in np.split(order, starts[1:]) if len(order) else []:
        product, method = ranked[int(series_index[members[0]])]
        chart, bits = _chart(
            analyte,
            product or None,
            method or None,
            members,
            value,
            oos,
            tested,
            rows,
            baseline_until,
        )
        rules[members] = bits
        chart.oos = int(oos[members].sum())
        chart.oot = int((bits > 0).sum())
        series.append(chart)
    return Flags(series=series, series_index=series_index, oos=oos, rules=rules)


def _chart(
    analyte: str,
    product: str | None,
    method: str | None,
    members: NDArray[np.int64],
    value: NDArray[np.float64],
    oos: NDArray[np.bool_],
    tested: NDArray[np.str_],
    rows: AnalyteRows,
    baseline_until: str | None,
) -> tuple[Series, NDArray[np.uint8]]:
    values = value[members]
    # results out of specification have an assignable cause already: never in a baseline
    within = np.flatnonzero(~oos[members])
    if baseline_until is None:
        base = within[:BASELINE_POINTS]
    else:
        base = within[tested[members][within] < baseline_until]
    uppers = sorted({u for u in (rows.upper_limit[i] for i in members.tolist()) if u is not None})
    lowers = sorted({u for u in (rows.lower_limit[i] for i in members.tolist()) if u is not None})
    first, last = (int(members[base[0]]), int(members[base[-1]])) if len(base) else (-1, -1)
    chart = Series(
        product=product,
        analyte=analyte,
        method=method,
        results=len(members),
        baseline_points=len(base),
        baseline_from=rows.tested_at[first] if first >= 0 else None,
        baseline_to=rows.tested_at[last] if last >= 0 else None,
        centre=None,
        sigma=None,
        lower_control=None,
        upper_control=None,
        spec_lower=lowers,
        spec_upper=uppers,
        evaluated=False,
        note=None,
        oos=0,
        oot=0,
    )
    nothing = np.zeros(len(members), dtype=np.uint8)
    if len(base) < 2:
        chart.note = f"{len(base)} baseline result(s): at least 2 are needed for control limits"
        return chart, nothing
    baseline = values[base]
    centre = float(baseline.mean())
    sigma = float(np.abs(np.diff(baseline)).mean() / D2)
    if sigma <= 0:
        chart.centre = centre
        chart.note = "the baseline results do not vary: no control limits"
        return chart, nothing
    chart.centre, chart.sigma = centre, sigma
    chart.lower_control, chart.upper_control = centre - 3 * sigma, centre + 3 * sigma
    chart.evaluated = True
    return chart, rule_bits(values, centre, sigma)


def nelson_rules(
    values: Sequence[float] | NDArray[np.float64], centre: float, sigma: float
) -> list[list[int]]:
    """For each point, the Nelson rules (1-4) it signals (see the module docstring)."""
    bits = rule_bits(np.asarray(values, dtype=np.float64), centre, sigma)
    return [[rule for rule in RULES if int(b) & (1 << (rule - 1))] for b in bits]


def rule_bits(x: NDArray[np.float64], centre: float, sigma: float) -> NDArray[np.uint8]:
    """For each point, bit k - 1 set when it signals Nelson rule k."""
    n = len(x)
    bits = np.zeros(n, dtype=np.uint8)
    if n == 0:
        return bits
    bits[np.abs(x - centre) > 3 * sigma] |= 1
    side = np.sign(x - centre).astype(np.int64)
    for start, length, value in _runs(side, RUN_2):
        if value != 0:
            bits[start + RUN_2 - 1 : start + length] |= 2
    step = np.sign(np.diff(x)).astype(np.int64)
    # rule 3: k equal non-zero steps in a row join k + 1 points
    for start, length, value in _runs(step, RUN_3 - 1):
        if value != 0:
            bits[start + RUN_3 - 1 : start + length + 1] |= 4
    # rule 4: steps that each reverse the one before; k such steps join k + 1 points
    if len(step) >= 2:
        alternating = np.zeros(len(step), dtype=np.int64)
        alternating[1:] = (step[1:] != 0) & (step[1:] == -step[:-1])
        for start, length, value in _runs(alternating, RUN_4 - 2):
            if value == 1:
                # steps start-1 .. start+length-1 alternate: points start-1 .. start+length
                bits[start - 1 + RUN_4 - 1 : start + length + 1] |= 8
    return bits


def _runs(labels: NDArray[np.int64], min_length: int) -> list[tuple[int, int, int]]:
    """(start, length, value) of each maximal run of equal values at least ``min_length``
    long."""
    if len(labels) == 0:
        return []
    starts = np.flatnonzero(np.r_[True, labels[1:] != labels[:-1]])
    lengths = np.diff(np.r_[starts, len(labels)])
    long_enough = lengths >= min_length
    return [
        (int(s), int(n), int(labels[s]))
        for s, n in zip(starts[long_enough], lengths[long_enough], strict=True)
    ]
