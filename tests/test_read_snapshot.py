"""An investigation reads one snapshot of the graph, on both stores (issue 12, item 6).

An ingest chunk is made to commit in the middle of an investigation, at a chosen read (the
store's own ``fetch_nodes`` runs the write before answering): an answer read in one
snapshot equals the answer before the chunk or the one after it, never a mix of both. On
9c6a95b the reads after the chunk saw it and those before did not.

A recall on Neo4j is one query (``recall_view``), with no read of its own to commit in
between: the chunk commits as the query ends, before the query's last read of the graph
version, which must see it and run the query again.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from graph.cypher_files import read_cypher
from graph.model import Label
from graph.neo4j_store import Neo4jStore
from graph.store import GraphStore, StoredNode
from ingest.loader import ingest_bundle
from queries.evidence import collect_evidence
from queries.recall import recall
from tests.bundles import MATERIALS, batch, consumption, lot, output, write_bundle

ROOT = "L-ROOT"


def _plant(tmp_path: Path) -> tuple[Path, Path]:
    """A root lot used by one batch, and the next chunk: a second batch uses 30 kg more of
    it and its on-hand quantity drops accordingly."""
    first = write_bundle(
        tmp_path / "first",
        {
            "materials.csv": MATERIALS,
            "lots.csv": [lot(ROOT, on_hand="60"), lot("L-OUT-1", material="MAT-I")],
            "batches.csv": [batch("B-1")],
            "consumptions.csv": [consumption("B-1", ROOT, quantity="40")],
            "outputs.csv": [output("B-1", "L-OUT-1")],
        },
    )
    chunk = write_bundle(
        tmp_path / "chunk",
        {
            "lots.csv": [lot(ROOT, on_hand="30"), lot("L-OUT-2", material="MAT-I")],
            "batches.csv": [batch("B-2")],
            "consumptions.csv": [consumption("B-2", ROOT, quantity="30")],
            "outputs.csv": [output("B-2", "L-OUT-2")],
        },
    )
    return first, chunk


def _recall(store: GraphStore) -> Any:
    return recall(store, [ROOT]).model_dump()


def _evidence(store: GraphStore) -> Any:
    evidence = collect_evidence(store, ROOT)
    return {"recall": evidence.recall.model_dump(), "lots": evidence.lot_props}


# (investigation, the how-manieth read of lots commits the chunk): a read after the
# investigation's trace, so that a reader without a snapshot mixes states
CASES: dict[str, tuple[Callable[[GraphStore], Any], int]] = {
    "recall": (_recall, 1),
    "evidence": (_evidence, 1),
}


def _commit(store: GraphStore, chunk: Path) -> None:
    writer = threading.Thread(target=ingest_bundle, args=(store, chunk), kwargs={"actor": "test"})
    writer.start()
    writer.join(timeout=60)
    assert not writer.is_alive()


@pytest.mark.neo4j
def test_a_chunk_committed_while_a_neo4j_recall_query_reads_runs_it_again(
    neo4j_store: Neo4jStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = neo4j_store
    first, chunk = _plant(tmp_path)
    ingest_bundle(store, first, actor="test")
    before = _recall(store)

    original = store._read  # the store's one runner of read queries
    recall_queries = 0

    def read_then_commit_chunk(
        query: str, params: dict[str, Any], row: Any
    ) -> list[dict[str, Any]]:
        nonlocal recall_queries
        rows = original(query, params, row)
        if query == read_cypher("recall_view"):
            recall_queries += 1
            if recall_queries == 1:
                _commit(store, chunk)
                # what the query's last read of the version finds when the chunk commits
                # just before it (every other read of the query saw the graph before)
                rows[0]["after"] = store.graph_version()
        return rows

    monkeypatch.setattr(store, "_read", read_then_commit_chunk)
    during = _recall(store)
    monkeypatch.undo()
    after = _recall(store)

    assert before != after
    assert recall_queries == 2, "the query was not run again when the version moved"
    assert during == after


# a Neo4j recall is one query: the test above
@pytest.mark.parametrize(
    ("kind", "case"),
    [
        ("embedded", "recall"),
        ("embedded", "evidence"),
        pytest.param("neo4j", "evidence", marks=pytest.mark.neo4j),
    ],
)
def test_a_chunk_committed_mid_investigation_never_mixes_into_the_answer(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    kind: str,
    case: str,
) -> None:
    store: GraphStore = request.getfixturevalue(f"{kind}_store")
    investigate, commit_at = CASES[case]
    first, chunk = _plant(tmp_path)
    ingest_bundle(store, first, actor="test")
    before = investigate(store)

    original = store.fetch_nodes
    lot_reads = 0

    def fetch_then_commit_chunk(label: Label, ids: Sequence[str]) -> dict[str, StoredNode]:
        nonlocal lot_reads
        if label == Label.LOT:
            lot_reads += 1
            if lot_reads == commit_at:  # once: a retried investigation reads undisturbed
                _commit(store, chunk)
        return original(label, ids)

    monkeypatch.setattr(store, "fetch_nodes", fetch_then_commit_chunk)
    during = investigate(store)
    monkeypatch.undo()
    after = investigate(store)

    assert lot_reads >= commit_at, "the chunk was never committed mid-investigation"
    assert before != after
    assert during in (before, after), "the answer mixes the graph before and after the chunk"
