"""The speed targets of the issues, what each benchmark measured against them, and the table.

Every benchmark that measures a target calls :func:`record` with the figure, the plant's
size and the floor or baseline it measured in the same run. When ``LOTGRAPH_BENCH_RESULTS``
names a file (``make bench`` sets it), each record is appended to it as one JSON line;
otherwise recording does nothing. ``python -m benchmarks.targets FILE`` prints the table:
each target beside its measured figure, the floor or baseline, met or not, with the machine.

    python -m benchmarks.targets benchmarks/output/bench-results.jsonl
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

from benchmarks.machine import describe

RESULTS_ENV = "LOTGRAPH_BENCH_RESULTS"


@dataclass(frozen=True, slots=True)
class Target:
    key: str
    issue: int
    what: str
    goal: float
    better: Literal["higher", "lower"]
    unit: str
    lots: int | None  # the plant size the target is set for; None: any
    benchmark: str  # the module under benchmarks/ that measures it
    # a time that grows with the plant: measured at other lots, it is judged linearly scaled
    linear_in_lots: bool = False

    def met(self, measured: float) -> bool:
        return measured >= self.goal if self.better == "higher" else measured <= self.goal

    @property
    def stated(self) -> str:
        sign = ">=" if self.better == "higher" else "<="
        return f"{sign} {_figure(self.goal)} {self.unit}"


TARGETS: tuple[Target, ...] = (
    Target(
        "ingest.embedded.rows_per_s",
        16,
        "embedded ingest, first load",
        50_000,
        "higher",
        "rows/s",
        100_000,
        "bench_ingest",
    ),
    Target(
        "ingest.embedded.x_floor",
        16,
        "embedded ingest, times the floor's time",
        3.0,
        "lower",
        "x",
        100_000,
        "bench_ingest",
    ),
    Target(
        "ingest.neo4j.rows_per_s",
        16,
        "Neo4j ingest through the loader, first load",
        20_000,
        "higher",
        "rows/s",
        100_000,
        "bench_ingest",
    ),
    Target(
        "neo4j_import.seconds",
        16,
        "lotgraph neo4j import, first load",
        900,
        "lower",
        "s",
        1_000_000,
        "bench_neo4j_import",
        linear_in_lots=True,
    ),
    Target(
        "trace.embedded.p95_ms",
        16,
        "typical trace p95, embedded",
        10,
        "lower",
        "ms",
        1_000_000,
        "bench_queries",
    ),
    Target(
        "trace.neo4j.p95_ms",
        16,
        "typical trace p95, Neo4j",
        30,
        "lower",
        "ms",
        1_000_000,
        "bench_queries",
    ),
    Target(
        "recall.embedded.p95_s",
        16,
        "recall of the largest fan-out lot p95, embedded",
        0.5,
        "lower",
        "s",
        1_000_000,
        "bench_queries",
    ),
    Target(
        "recall.neo4j.p95_s",
        16,
        "recall of the largest fan-out lot p95, Neo4j",
        1.0,
        "lower",
        "s",
        1_000_000,
        "bench_queries",
    ),
    Target(
        "api.embedded.rps",
        16,
        "API, 32 clients, half traces half recalls, embedded",
        500,
        "higher",
        "req/s",
        100_000,
        "bench_api_load",
    ),
    Target(
        "api.embedded.p99_ms",
        16,
        "API p99, embedded",
        100,
        "lower",
        "ms",
        100_000,
        "bench_api_load",
    ),
    Target(
        "api.embedded.errors",
        16,
        "API errors, embedded",
        0,
        "lower",
        "errors",
        100_000,
        "bench_api_load",
    ),
    Target(
        "api.neo4j.rps",
        16,
        "API, 32 clients, half traces half recalls, Neo4j",
        200,
        "higher",
        "req/s",
        100_000,
        "bench_api_load",
    ),
    Target("api.neo4j.p99_ms", 16, "API p99, Neo4j", 300, "lower", "ms", 100_000, "bench_api_load"),
    Target(
        "api.neo4j.errors", 16, "API errors, Neo4j", 0, "lower", "errors", 100_000, "bench_api_load"
    ),
    Target(
        "epcis.events_per_s",
        15,
        "EPCIS import into the embedded store, first",
        20_000,
        "higher",
        "events/s",
        None,
        "bench_epcis",
    ),
)
TARGETS_BY_KEY: Mapping[str, Target] = {t.key: t for t in TARGETS}


@dataclass(frozen=True, slots=True)
class Measured:
    """One figure a benchmark measured for a target, in one run."""

    key: str
    value: float
    lots: int | None
    baseline: str  # the floor or baseline of the same run, as text; "" when there is none
    note: str
    measured_at: str
    machine: str
    load_average: str


def record(key: str, value: float, *, lots: int | None, baseline: str = "", note: str = "") -> None:
    """Append a measured figure to the results file of this run, when there is one."""
    if key not in TARGETS_BY_KEY:
        raise KeyError(f"no target {key!r} in benchmarks.targets.TARGETS")
    path = os.environ.get(RESULTS_ENV)
    if not path:
        return
    measured = Measured(
        key=key,
        value=value,
        lots=lots,
        baseline=baseline,
        note=note,
        measured_at=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        machine=describe(),
        load_average=" ".join(f"{x:.2f}" for x in os.getloadavg()),
    )
    with Path(path).open("a", encoding="utf-8") as out:
        out.write(json.dumps(asdict(measured)) + "\n")


def read_results(path: Path) -> dict[str, Measured]:
    """The figures of a results file; a target measured twice keeps its last figure."""
    found: dict[str, Measured] = {}
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                item = Measured(**json.loads(line))
                found[item.key] = item
    return found


def _figure(value: float) -> str:
    if value == int(value) and abs(value) >= 1:
        return f"{int(value):,d}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}" if abs(value) < 1 else f"{value:.1f}"


def verdict(target: Target, measured: Measured | None) -> str:
    if measured is None:
        return "not measured"
    if target.lots is None or measured.lots == target.lots or measured.lots is None:
        return "met" if target.met(measured.value) else "NOT met"
    if target.linear_in_lots:
        scaled = measured.value * target.lots / measured.lots
        met = "met" if target.met(scaled) else "NOT met"
        return (
            f"{met} if linear: ~{_figure(scaled)} {target.unit} at {target.lots:,d} lots"
            f" (measured at {measured.lots:,d})"
        )
    met = "met" if target.met(measured.value) else "NOT met"
    return f"{met} at {measured.lots:,d} lots (target set for {target.lots:,d})"


def table(results: Mapping[str, Measured]) -> str:
    """The targets beside their measured figures, as Markdown."""
    lines = [
        "| issue | target | goal | measured | lots | floor or baseline (same run) | verdict |",
        "|---:|---|---:|---:|---:|---|---|",
    ]
    for target in TARGETS:
        m = results.get(target.key)
        shown = f"{_figure(m.value)} {target.unit}" if m is not None else "-"
        lots = f"{m.lots:,d}" if m is not None and m.lots is not None else "-"
        baseline = m.baseline if m is not None else ""
        if m is not None and m.note:
            baseline = f"{baseline}; {m.note}" if baseline else m.note
        lines.append(
            f"| {target.issue} | {target.what} | {target.stated} | {shown} | {lots} | "
            f"{baseline} | {verdict(target, m)} |"
        )
    return "\n".join(lines)


def report(path: Path) -> str:
    results = read_results(path)
    machines = sorted({m.machine for m in results.values()}) or [describe()]
    times = sorted(m.measured_at for m in results.values())
    head = [f"machine: {machine}" for machine in machines]
    if times:
        head.append(f"measured: {times[0]} to {times[-1]}")
    loads = sorted({m.load_average for m in results.values()})
    if loads:
        head.append(f"load average when recorded: {', '.join(loads)}")
    return "\n".join([*head, "", table(results)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("results", type=Path, help="the JSON-lines file of a run")
    args = parser.parse_args()
    print(report(args.results))


if __name__ == "__main__":
    main()
