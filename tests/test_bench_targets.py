"""The table `make bench` prints: each target beside what a run recorded, judged right."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from benchmarks.targets import RESULTS_ENV, TARGETS, TARGETS_BY_KEY, read_results, record, report


@pytest.fixture
def results(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "results.jsonl"
    monkeypatch.setenv(RESULTS_ENV, str(path))
    return path


def _row(text: str, what: str) -> str:
    (line,) = [x for x in text.splitlines() if x.startswith("|") and f"| {what} |" in x]
    return line


def test_every_issue_16_target_and_the_epcis_one_are_in_the_table() -> None:
    keys = {t.key for t in TARGETS}
    for store in ("embedded", "neo4j"):
        assert {
            f"ingest.{store}.rows_per_s",
            f"trace.{store}.p95_ms",
            f"recall.{store}.p95_s",
            f"api.{store}.rps",
            f"api.{store}.p99_ms",
            f"api.{store}.errors",
        } <= keys
    assert {"ingest.embedded.x_floor", "neo4j_import.seconds", "epcis.events_per_s"} <= keys
    assert len(keys) == len(TARGETS)
    for target in TARGETS:
        assert (Path("benchmarks") / f"{target.benchmark}.py").is_file(), target


def test_recorded_figures_are_judged_against_their_goal(results: Path) -> None:
    seed = random.randrange(2**32)
    print(f"seed {seed}")
    rng = random.Random(seed)
    rate = rng.uniform(1_000, 100_000)
    p95 = rng.uniform(1, 60)
    record("ingest.embedded.rows_per_s", rate, lots=100_000, baseline="floor 1 rows/s")
    record("trace.neo4j.p95_ms", p95, lots=1_000_000)
    text = report(results)
    ingest = _row(text, TARGETS_BY_KEY["ingest.embedded.rows_per_s"].what)
    assert ("| met |" in ingest) == (rate >= 50_000)
    assert ("| NOT met |" in ingest) == (rate < 50_000)
    assert "floor 1 rows/s" in ingest
    trace = _row(text, TARGETS_BY_KEY["trace.neo4j.p95_ms"].what)
    assert ("| met |" in trace) == (p95 <= 30)
    assert "not measured" in _row(text, TARGETS_BY_KEY["recall.neo4j.p95_s"].what)
    assert text.startswith("machine: ")


def test_a_first_load_at_fewer_lots_is_judged_scaled_linearly(results: Path) -> None:
    record("neo4j_import.seconds", 100.0, lots=100_000)  # ~1,000 s at 1M: over 900
    row = _row(report(results), TARGETS_BY_KEY["neo4j_import.seconds"].what)
    assert "NOT met if linear: ~1,000 s at 1,000,000 lots (measured at 100,000)" in row
    record("neo4j_import.seconds", 80.0, lots=100_000)  # the last figure of a run counts
    row = _row(report(results), TARGETS_BY_KEY["neo4j_import.seconds"].what)
    assert "| met if linear: ~800 s" in row


def test_a_rate_at_another_scale_is_named_as_such(results: Path) -> None:
    record("api.neo4j.rps", 250.0, lots=2_000)
    row = _row(report(results), TARGETS_BY_KEY["api.neo4j.rps"].what)
    assert "met at 2,000 lots (target set for 100,000)" in row
    assert "NOT met" not in row


def test_recording_without_a_results_file_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(RESULTS_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    record("epcis.events_per_s", 1.0, lots=None)
    assert list(tmp_path.iterdir()) == []


def test_an_unknown_target_is_refused(results: Path) -> None:
    with pytest.raises(KeyError, match="no target 'ingest.nowhere'"):
        record("ingest.nowhere", 1.0, lots=None)
    assert not results.exists()


def test_each_line_names_the_machine_and_the_load(results: Path) -> None:
    record("api.embedded.errors", 0, lots=100_000)
    (line,) = results.read_text().splitlines()
    item = json.loads(line)
    assert item["machine"] and item["load_average"] and item["measured_at"].endswith("UTC")
    assert read_results(results)["api.embedded.errors"].value == 0
