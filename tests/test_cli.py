"""The command line as a user runs it: exit codes and the --json contract."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from graph.neo4j_store import Neo4jStore
from lotgraph.neo4j_local import ConnectionInfo
from tests.bundles import MATERIALS, lot, write_bundle

REPO = Path(__file__).resolve().parent.parent


def run(args: list[str], data_dir: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lotgraph", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "LOTGRAPH_DATA_DIR": str(data_dir), "LOTGRAPH_STORE": "embedded", **env},
        timeout=300,
    )


def run_json(args: list[str], data_dir: Path, expect: int = 0) -> Any:
    done = run([*args, "--json"], data_dir)
    assert done.returncode == expect, done.stderr
    return json.loads(done.stdout)


def test_ingest_exit_codes_and_rejections(tmp_path: Path) -> None:
    bad = write_bundle(
        tmp_path / "bad",
        {
            "materials.csv": MATERIALS,
            "lots.csv": [
                lot("L-GOOD"),
                lot("L-NEG", quantity="-1"),
                lot("L-ST", status="misplaced"),
                lot("L-NUM", quantity="1,5kg"),
                lot(" ", quantity="2"),
                lot("L-NAIVE", created_at="2026-03-01 10:00"),
            ],
        },
        timezone=None,
    )
    data = tmp_path / "data"
    report = run_json(["ingest", str(bad)], data, expect=1)
    assert (report["rows_read"], report["accepted"], report["rejected"]) == (9, 4, 5)
    rejected = {(r["row"], r["column"]) for r in report["rejections"]}
    assert rejected == {
        (3, "quantity"),
        (4, "status"),
        (5, "quantity"),
        (6, "lot_id"),
        (7, "created_at"),
    }
    assert all(r["file"] == "lots.csv" and r["reason"] for r in report["rejections"])
    stats = run_json(["stats"], data)
    assert stats["nodes"]["Lot"] == 1

    good = write_bundle(tmp_path / "good", {"lots.csv": [lot("L-OTHER")]})
    assert run(["ingest", str(good)], data).returncode == 0
    assert run(["ingest", str(tmp_path / "missing")], data).returncode == 2
    assert run(["ingest"], data).returncode == 2


def test_generate_is_reproducible_and_second_ingest_is_unchanged(tmp_path: Path) -> None:
    data = tmp_path / "data"
    for name in ("a", "b"):
        assert (
            run(
                ["generate", "--lots", "300", "--seed", "5", "--out", str(tmp_path / name)], data
            ).returncode
            == 0
        )
    for path in sorted((tmp_path / "a").iterdir()):
        assert path.read_bytes() == (tmp_path / "b" / path.name).read_bytes(), path.name
    first = run_json(["ingest", str(tmp_path / "a")], data)
    assert first["rejected"] == 0 and first["accepted"] == first["rows_read"] > 300
    second = run_json(["ingest", str(tmp_path / "a")], data)
    assert second["unchanged"] == second["rows_read"] == first["rows_read"]
    stats = run_json(["stats"], data)
    assert stats["nodes"]["Lot"] == 300 and stats["unresolved"] == 0


def test_trace_json_contract(tmp_path: Path) -> None:
    data = tmp_path / "data"
    plant = tmp_path / "plant"
    assert (
        run(["generate", "--lots", "300", "--seed", "2", "--out", str(plant)], data).returncode == 0
    )
    run_json(["ingest", str(plant)], data)
    lots = [line.split(",")[0] for line in (plant / "lots.csv").read_text().splitlines()[1:]]
    answer = run_json(["trace", lots[0], "--direction", "forward"], data)
    assert set(answer) >= {
        "root",
        "direction",
        "lots",
        "batches",
        "suppliers",
        "customers",
        "edges",
    }
    assert answer["root"] == lots[0] and answer["direction"] == "forward"
    assert answer["lots"] == sorted(answer["lots"]) and lots[0] not in answer["lots"]
    missing = run(["trace", "NO-SUCH-LOT", "--json"], data)
    assert missing.returncode == 1 and "no lot 'NO-SUCH-LOT'" in missing.stderr


@pytest.mark.neo4j
def test_cli_on_neo4j_through_a_routing_uri_matches_the_embedded_store(
    tmp_path: Path, neo4j_store: Neo4jStore, neo4j_server: ConnectionInfo
) -> None:
    """The Done-when of the foundation: generate, ingest twice, stats identical on both stores."""
    data = tmp_path / "data"
    plant = tmp_path / "plant"
    assert (
        run(["generate", "--lots", "2000", "--seed", "3", "--out", str(plant)], data).returncode
        == 0
    )
    neo = {
        "LOTGRAPH_STORE": "neo4j",
        "NEO4J_URI": neo4j_server.uri.replace("bolt://", "neo4j://"),
        "NEO4J_USER": neo4j_server.user,
        "NEO4J_PASSWORD": neo4j_server.password,
        "NEO4J_DATABASE": neo4j_server.database,
    }
    answers = {}
    for name, env in (("embedded", {}), ("neo4j", neo)):
        first = run(["ingest", str(plant), "--json"], data, **env)
        again = run(["ingest", str(plant), "--json"], data, **env)
        assert first.returncode == again.returncode == 0, first.stderr + again.stderr
        report = json.loads(again.stdout)
        assert report["unchanged"] == report["rows_read"] > 2000
        stats = run(["stats", "--json"], data, **env)
        assert stats.returncode == 0, stats.stderr
        answers[name] = json.loads(stats.stdout)
    assert answers["embedded"] == answers["neo4j"]
    assert answers["neo4j"]["nodes"]["Lot"] == 2000


def test_investigation_commands_answer_in_json_and_tables(tmp_path: Path) -> None:
    """Each investigation command on a generated plant: the --json keys of DESIGN §4, the
    planted impurity cause first, readable tables without --json, exit 1 on an unknown id."""
    data = tmp_path / "data"
    plant = tmp_path / "plant"
    generated = run_json(["generate", "--lots", "300", "--seed", "9", "--out", str(plant)], data)
    planted = generated["planted"]
    run_json(["ingest", str(plant)], data)
    lot_id = planted["lot"]

    traced = run_json(["trace", lot_id, "--direction", "forward"], data)
    assert {"root", "direction", "lots", "batches", "customers", "edges"} <= traced.keys()
    assert traced["batches"] and traced["root"] == lot_id
    recalled = run_json(["recall", lot_id, traced["lots"][0]], data)
    assert {"roots", "lots", "batches", "customers", "mass_balance"} <= recalled.keys()
    assert sorted(recalled["roots"]) == sorted([lot_id, traced["lots"][0]])
    assert {b["lot"] for b in recalled["mass_balance"]} == set(recalled["roots"])
    impacted = run_json(["impact", "--supplier", planted["supplier"]], data)
    assert lot_id in impacted["lots"] and set(traced["batches"]) <= set(impacted["batches"])
    found = run_json(["impurity", "--analyte", planted["analyte"], "--flag", "oos"], data)
    assert (found["factors"][0]["kind"], found["factors"][0]["id"]) == ("supplier_lot", lot_id)
    assert found["flag"] == "oos" and found["factors_tested"] >= len(found["factors"])
    drift = generated["drift"]
    trending = run_json(["impurity", "--analyte", drift["analyte"], "--flag", "oot"], data)
    assert (trending["factors"][0]["kind"], trending["factors"][0]["id"]) == (
        "supplier_lot",
        drift["lot"],
    )
    assert trending["factors"][0]["supplier_lot"] == drift["supplier_lot"]
    shown = run(
        ["impurity", "--analyte", drift["analyte"], "--flag", "oot", "--top", "5"],
        data,
        COLUMNS="200",  # a wide terminal: no id folds onto two lines
    )
    assert shown.returncode == 0 and drift["supplier_lot"] in shown.stdout
    assert "Benjamini-Hochberg" in shown.stdout
    assert run(["impurity", "--analyte", drift["analyte"], "--flag", "high"], data).returncode == 2
    wrong_date = ["impurity", "--analyte", drift["analyte"], "--baseline-until", "soon"]
    assert run(wrong_date, data).returncode == 2
    batch_id = traced["batches"][0]
    chain = run_json(["custody", batch_id], data)
    assert chain["batch"] == batch_id and chain["events"]
    assert [e["at"] for e in chain["events"] if e["at"]] == sorted(
        e["at"] for e in chain["events"] if e["at"]
    )
    documents = run_json(["documents", "--lot", traced["lots"][0]], data)
    assert documents["documents"], "an output lot has at least its batch record"
    doc_id = documents["documents"][0]["document_id"]
    lots = run_json(["documents", "--document", doc_id], data)
    assert traced["lots"][0] in {x["lot_id"] for x in lots["lots"]}

    table = run(["recall", lot_id], data)
    assert table.returncode == 0 and "mass balance" in table.stdout
    assert run(["custody", "B-NOPE"], data).returncode == 1
    assert "B-NOPE" in run(["custody", "B-NOPE"], data).stderr
    assert run(["documents"], data).returncode == 2
