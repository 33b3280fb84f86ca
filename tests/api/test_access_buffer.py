"""The access-record buffer is bounded (issue 12, item 7).

While the store refuses the access records (here: another connection holds the SQLite
write lock, as a stuck writer would), they wait in memory; when LOTGRAPH_ACCESS_BUFFER_MAX
of them wait, a new request is refused with 503 and Retry-After instead of being served
without its record. On 9c6a95b the buffer grew without bound and every request was served.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from fastapi.testclient import TestClient

from api.app import create_app
from graph.embedded import EmbeddedStore
from ingest.loader import ingest_bundle
from tests.api.conftest import api_key_account, settings
from tests.bundles import MATERIALS, lot, write_bundle

CAPACITY = 3


def _accesses(store: EmbeddedStore) -> list[int]:
    return [
        e["new"]["status"]
        for e in store.audit_entries()
        if e["reason"] == "access" and e["key"] == "L-KNOWN"
    ]


def test_a_full_access_buffer_refuses_requests_until_the_store_takes_them(tmp_path: Path) -> None:
    path = tmp_path / "graph.sqlite"
    store = EmbeddedStore(path)
    store.ensure_schema()
    bundle = write_bundle(
        tmp_path / "plant", {"materials.csv": MATERIALS, "lots.csv": [lot("L-KNOWN")]}
    )
    ingest_bundle(store, bundle, actor="test")
    key_text = api_key_account(store, "ivo")
    reader = {"Authorization": f"Bearer {key_text}"}
    app = create_app(lambda: store, settings(access_buffer_max=CAPACITY))
    try:
        with (
            TestClient(app) as client,
            closing(sqlite3.connect(path, isolation_level=None)) as stuck_writer,
        ):
            stuck_writer.execute("BEGIN IMMEDIATE")  # the store takes no write from now on
            served = [client.get("/lots/L-KNOWN", headers=reader) for _ in range(CAPACITY)]
            assert [r.status_code for r in served] == [200] * CAPACITY
            refused = client.get("/lots/L-KNOWN", headers=reader)
            assert refused.status_code == 503
            assert int(refused.headers["Retry-After"]) > 0
            assert refused.json()["error"] == "access_audit_full"
            assert "L-BIG" not in refused.text and "properties" not in refused.json()
            assert client.get("/health").status_code == 200  # not an access to lot data
            assert _accesses(store) == []  # nothing written while the lock is held

            stuck_writer.execute("ROLLBACK")  # the store takes writes again
            client.app.state.access_log.flush()  # type: ignore[attr-defined]
            assert _accesses(store) == [200] * CAPACITY  # every served request, recorded
            again = client.get("/lots/L-KNOWN", headers=reader)
            assert again.status_code == 200
            client.app.state.access_log.flush()  # type: ignore[attr-defined]
            assert _accesses(store) == [200] * (CAPACITY + 1)
    finally:
        store.close()  # (the app closed it at shutdown already; closing twice is harmless)
