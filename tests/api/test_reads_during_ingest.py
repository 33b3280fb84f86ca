"""The embedded store keeps answering while an ingest writes (issue 12, item 6).

On 9c6a95b the API ran embedded reads on the event loop behind the store's one connection
and its lock, which an ingest holds for the whole of each chunk's transaction: every
request, /health included, waited for the chunk. Here an ingest writes one large chunk
(one transaction of many seconds) in a background thread of the serving process, while
/health and a lot are asked again and again: each answers promptly.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from fastapi.testclient import TestClient

from api.app import create_app
from graph.embedded import EmbeddedStore
from ingest.loader import ingest_bundle
from tests.api.conftest import api_key_account, settings
from tests.bundles import MATERIALS, lot, write_bundle

BIG_ROWS = 80_000  # written as one chunk: one write transaction of seconds
# Each lot carries a note: bytes for SQLite to write, where the ingest's Python objects
# (what a garbage collection in the serving process walks) stay few.
NOTE = "n" * 1_000
PROMPT_S = 2.0
# a faster ingest (or machine) is given twice the rows, up to this many times, until the
# one write transaction outlasts twice the promptness asked
MAX_DOUBLINGS = 3


def test_health_and_a_lot_answer_promptly_while_an_ingest_writes(tmp_path: Path) -> None:
    store = EmbeddedStore(tmp_path / "graph.sqlite")
    store.ensure_schema()
    small = {"materials.csv": MATERIALS, "lots.csv": [lot("L-KNOWN")]}
    ingest_bundle(store, write_bundle(tmp_path / "small", small), actor="test")
    key_text = api_key_account(store, "ivo")
    reader = {"Authorization": f"Bearer {key_text}"}
    rows = BIG_ROWS
    try:
        with TestClient(create_app(lambda: store, settings())) as client:
            assert client.get("/lots/L-KNOWN", headers=reader).status_code == 200
            for attempt in range(MAX_DOUBLINGS + 1):
                big_lots = [lot(f"L-BIG-{attempt}-{i:07d}", note=NOTE) for i in range(rows)]
                big = write_bundle(tmp_path / f"big-{attempt}", {"lots.csv": big_lots})
                ingested, ingest_s, samples = _ask_while_ingesting(store, big, rows, client, reader)
                if ingest_s > 2 * PROMPT_S:
                    break
                rows *= 2
    finally:
        store.close()

    assert ingested == [rows]
    assert ingest_s > 2 * PROMPT_S, f"{rows:,d} rows ingested too fast to show a wait"
    assert {status for _, _, status in samples} == {200}
    slow = sorted((round(s, 2), path) for path, s, _ in samples if s > PROMPT_S)
    assert not slow, f"{len(slow)} of {len(samples)} answers took over {PROMPT_S} s: {slow}"
    print(
        f"ingest of {rows:,d} rows {ingest_s:.1f} s, {len(samples)} answers, "
        f"slowest {max(s for _, s, _ in samples):.2f} s"
    )


def _ask_while_ingesting(
    store: EmbeddedStore, big: Path, rows: int, client: TestClient, reader: dict[str, str]
) -> tuple[list[int], float, list[tuple[str, float, int]]]:
    """Ingest ``big`` as one chunk in a thread while /health and a lot are asked again and
    again: what it accepted, its seconds, and each answer's (path, seconds, status)."""
    ingested: list[int] = []

    def ingest() -> None:
        report = ingest_bundle(store, big, actor="test", chunk_rows=rows)
        ingested.append(report.total("accepted"))

    writer = threading.Thread(target=ingest)
    started_ingest = time.perf_counter()
    writer.start()
    samples: list[tuple[str, float, int]] = []
    while writer.is_alive():
        for path, headers in (("/health", {}), ("/lots/L-KNOWN", reader)):
            started = time.perf_counter()
            status = client.get(path, headers=headers).status_code
            samples.append((path, time.perf_counter() - started, status))
        time.sleep(0.05)
    writer.join()
    return ingested, time.perf_counter() - started_ingest, samples
