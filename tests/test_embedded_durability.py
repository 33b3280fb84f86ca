"""The embedded store keeps every committed write through a kill -9."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from contextlib import closing
from pathlib import Path

from graph.embedded import EmbeddedStore
from graph.model import Label
from graph.store import AuditEntry, NodeRef, NodeWrite, WriteBatch

_WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from graph.embedded import EmbeddedStore
    from graph.model import Label
    from graph.store import AuditEntry, NodeRef, NodeWrite, WriteBatch

    store = EmbeddedStore(Path(sys.argv[1]))
    store.ensure_schema()
    n = 0
    while True:
        rows = [
            NodeWrite(NodeRef(Label.LOT, f"L-{n}-{i}"), {"quantity": float(i)}, {"source": "t"}, "fp")
            for i in range(500)
        ]
        entry = AuditEntry("t", "write", "Lot", f"L-{n}", None, {"rows": 500}, "test", "t")
        store.apply(WriteBatch(nodes=rows, audit=[entry]))
        print(n, flush=True)  # reported only after the commit returned
        n += 1
    """
)


def test_kill_9_loses_nothing_that_was_committed(tmp_path: Path) -> None:
    db = tmp_path / "graph.sqlite"
    repo = Path(__file__).resolve().parent.parent
    proc = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(db)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=repo,
        env={**os.environ, "PYTHONPATH": str(repo)},
    )
    assert proc.stdout is not None
    committed = -1
    for line in proc.stdout:
        committed = int(line)
        if committed >= 20:
            break
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert committed >= 20

    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    store = EmbeddedStore(db)
    try:
        for n in range(committed + 1):
            ids = [f"L-{n}-{i}" for i in range(500)]
            assert len(store.fetch_nodes(Label.LOT, ids)) == 500, f"batch {n} lost"
        total = store.stats().nodes["Lot"]
        assert total % 500 == 0  # whole batches only: nothing half written
    finally:
        store.close()


def test_a_store_older_than_the_results_table_fills_it_once(tmp_path: Path) -> None:
    """analyte_results is derived from the nodes: an existing store gets it on open."""

    path = tmp_path / "graph.sqlite"
    store = EmbeddedStore(path)
    store.ensure_schema()
    props = {"analyte": "Impurity B", "value": 0.2, "upper_limit": 0.15, "target_kind": "batch"}
    store.apply(
        WriteBatch(
            nodes=[NodeWrite(NodeRef(Label.TEST_RESULT, "T1"), props, {"source": "t"}, "fp")],
            audit=[AuditEntry("t", "write", "TestResult", "T1", None, props, "test", "t")],
        )
    )
    with store.reading() as conn:
        assert conn.execute("SELECT id, value FROM analyte_results").fetchall() == [("T1", 0.2)]
    store.close()
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        conn.execute("DELETE FROM analyte_results")  # as a store written before the table
    reopened = EmbeddedStore(path)
    reopened.ensure_schema()
    with reopened.reading() as conn:
        rows = conn.execute("SELECT analyte, id, upper_limit FROM analyte_results").fetchall()
    reopened.close()
    assert rows == [("Impurity B", "T1", 0.15)]
