"""Out of trend, by hand: each Nelson rule on a hand-built series whose answer was worked out
on paper, the baseline and its limits, and the series a result belongs to."""

from __future__ import annotations

import pytest

from graph.store import AnalyteRows, ResultRow
from queries.errors import InvalidQuery
from queries.trend import D2, Flags, flag_results, nelson_rules, parse_baseline_until


def _flags(values: list[float], centre: float = 10.0, sigma: float = 1.0) -> dict[int, list[int]]:
    """{point index: rules} for the points that break a rule."""
    return {i: rules for i, rules in enumerate(nelson_rules(values, centre, sigma)) if rules}


def test_rule_1_a_point_beyond_three_sigma_either_side() -> None:
    # 13.0 is exactly 3 sigma: not beyond; 13.01 and 6.5 are
    assert _flags([10.0, 13.0, 9.8, 13.01, 10.1, 6.5, 10.2]) == {3: [1], 5: [1]}


def test_rule_2_the_ninth_point_on_one_side_and_every_one_after() -> None:
    above = [10.5, 11.0, 10.2, 10.9, 10.1, 10.4, 10.8, 10.3]  # eight above: nothing yet
    assert _flags([9.5, *above, 9.0]) == {}
    # nine above (points 1..9), then a tenth (10): rule 2 at the ninth and the tenth
    assert _flags([9.5, *above, 10.6, 10.7, 9.9]) == {9: [2], 10: [2]}
    # a point on the centre line breaks the run
    assert _flags([*above[:4], 10.0, *above[4:], 10.6]) == {}
    # below works the same way
    assert _flags([20 - v for v in [*above, 10.6]]) == {8: [2]}


def test_rule_3_the_sixth_point_of_a_steady_rise_or_fall() -> None:
    rising = [9.0, 9.2, 9.4, 9.6, 9.8, 10.0]  # six points, five rises
    assert _flags([9.5, *rising]) == {6: [3]}  # 9.5 -> 9.0 is a fall: the run starts at 9.0
    assert _flags([*rising[:5], 9.8, 10.0]) == {}  # an equal pair ends the run
    falling = [10.9, 10.7, 10.5, 10.3, 10.1, 9.9, 9.7]
    assert _flags(falling) == {5: [3], 6: [3]}


def test_rule_4_the_fourteenth_alternating_point() -> None:
    zigzag = [9.9 if i % 2 == 0 else 10.1 for i in range(14)]  # 13 reversals
    assert _flags(zigzag) == {13: [4]}
    assert _flags(zigzag[:13]) == {}
    assert _flags([*zigzag, 9.9, 10.1]) == {13: [4], 14: [4], 15: [4]}
    broken = [*zigzag[:7], zigzag[6], *zigzag[7:]]  # a repeated value stops the alternation
    assert _flags(broken) == {}


def test_one_point_can_break_several_rules() -> None:
    # nine above the centre, the last five rising steadily, the last beyond 3 sigma
    values = [10.5, 10.4, 10.6, 10.1, 10.2, 10.4, 10.8, 11.5, 13.5]
    assert _flags(values) == {8: [1, 2, 3]}


def _row(rid: str, value: float | None, at: str, upper: float | None = 1.0, **kw: str) -> ResultRow:
    return ResultRow(
        id=rid,
        target_label="Batch",
        target_id=f"B-{rid}",
        target_site="SITE-A",
        product=kw.get("product", "MAT-P"),
        value=value,
        lower_limit=None,
        upper_limit=upper,
        unit="%",
        method=kw.get("method", "HPLC"),
        tested_at=at,
        makers=(),
    )


def _flag(rows: list[ResultRow], until: str | None = None) -> tuple[Flags, dict[str, list[str]]]:
    """The flags of ``rows``, and the reasons of each flagged result by id."""
    flags = flag_results("Impurity", AnalyteRows.from_rows(rows), until)
    reasons = {row.id: flags.reasons(i) for i, row in enumerate(rows) if flags.reasons(i)}
    return flags, reasons


def test_baseline_centre_and_sigma_from_the_first_in_spec_results() -> None:
    values = [0.10, 0.12, 0.11, 0.13, 0.12, 0.10, 0.11, 0.12, 0.13, 0.11]
    rows = [_row(f"T{i:02d}", v, f"2026-01-{i + 1:02d}T08:00:00Z") for i, v in enumerate(values)]
    rows.insert(3, _row("TX", 1.5, "2026-01-03T12:00:00Z"))  # out of specification
    rows.append(_row("TZ", 0.30, "2026-02-01T08:00:00Z"))
    flags, reasons = _flag(rows)
    (chart,) = flags.series
    # fewer than 20 in-spec results: all eleven are the baseline, TX (oos) is not
    in_spec = [*values, 0.30]
    ranges = [abs(b - a) for a, b in zip(in_spec, in_spec[1:], strict=False)]
    centre = sum(in_spec) / len(in_spec)
    sigma = sum(ranges) / len(ranges) / D2
    assert chart.baseline_points == 11 and chart.results == 12
    assert chart.centre == pytest.approx(centre) and chart.sigma == pytest.approx(sigma)
    assert chart.upper_control == pytest.approx(centre + 3 * sigma)
    assert (chart.baseline_from, chart.baseline_to) == (rows[0].tested_at, "2026-02-01T08:00:00Z")
    assert reasons["TX"][0] == "oos" and chart.oos == 1
    assert chart.spec_upper == [1.0] and chart.evaluated


def test_baseline_until_a_date_and_the_series_of_each_result() -> None:
    rows = [
        _row("A1", 0.10, "2026-01-01T08:00:00Z"),
        _row("A2", 0.12, "2026-01-02T08:00:00Z"),
        _row("A3", 0.11, "2026-01-03T08:00:00Z"),
        _row("A4", 0.40, "2026-01-04T08:00:00Z"),
        _row("B1", 0.5, "2026-01-01T09:00:00Z", product="MAT-Q"),
        _row("C1", 0.5, "2026-01-01T09:00:00Z", method="GC"),
        _row("N1", None, "2026-01-01T10:00:00Z"),  # no value: no point on any chart
    ]
    flags, reasons = _flag(rows, parse_baseline_until("2026-01-03"))
    labels = [c.label for c in flags.series]
    assert labels == ["MAT-P / GC", "MAT-P / HPLC", "MAT-Q / HPLC"]
    chart = flags.series[1]
    # baseline: A1, A2 (before 2026-01-03T00:00Z): centre 0.11, sigma 0.02 / 1.128
    assert chart.baseline_points == 2 and chart.centre == pytest.approx(0.11)
    assert chart.sigma == pytest.approx(0.02 / D2)
    assert reasons["A4"] == ["oot:1"]  # 0.40 > 0.11 + 3 * 0.0177
    assert "A3" not in reasons
    assert flags.series_index[3] == 1 and flags.series_index[6] == -1  # A4; N1 has no value
    # a single-result series has no limits, and says why
    assert not flags.series[0].evaluated and "baseline" in (flags.series[0].note or "")


def test_a_baseline_without_variation_has_no_limits() -> None:
    rows = [_row(f"T{i}", 0.05, f"2026-01-0{i + 1}T08:00:00Z") for i in range(4)]
    rows.append(_row("T9", 1.5, "2026-01-09T08:00:00Z"))  # out of specification
    (chart,) = _flag(rows)[0].series
    assert not chart.evaluated and chart.sigma is None and chart.centre is not None
    assert chart.note and "do not vary" in chart.note


@pytest.mark.parametrize("bad", ["soon", "2026-13-01", "2026-01-01T08:00:00"])
def test_a_malformed_baseline_date_is_refused(bad: str) -> None:
    with pytest.raises(InvalidQuery, match="baseline_until"):
        parse_baseline_until(bad)
