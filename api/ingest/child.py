"""Bundle ingests posted to the API run in a child process, not in the serving one.

In the serving process an ingest's parsing and validation hold the GIL for most of its
run, and its many live objects make each full collection of the cyclic garbage collector
a pause of the whole process: every other request waits. Measured on the 2-core machine
(docs/BENCHMARKS.md), a trace's p99 during a 20k-lot ingest was 538 ms with the ingest in
the serving process and 134 ms with it in another. In a child of its own neither touches
the server's requests, and the child may pause its collector (``pause_gc``): an ingest is
all it runs. One child per serving process, started at the first ingest and kept: ingests
posted to one process run one after another (they would queue on SQLite's write lock
anyway; on Neo4j each still writes its chunks in transactions of their own).
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

from graph.store import GraphStore
from ingest.bundle import BundleLimits
from ingest.loader import ingest_bundle

# spawn, not fork: a forked child would inherit the server's threads' locks mid-use
_SPAWN = multiprocessing.get_context("spawn")


INGEST_NICENESS = 10


def _yield_cpu_to_requests() -> None:
    # A lower CPU priority: when the cores are busy, the server's requests run first and
    # the ingest takes what is left (on an idle machine it still takes every free cycle).
    os.nice(INGEST_NICENESS)


def _ingest(
    open_store: Callable[[], GraphStore], path: str, actor: str, limits: BundleLimits
) -> dict[str, Any]:
    store = open_store()
    try:
        report = ingest_bundle(store, Path(path), actor=actor, limits=limits, pause_gc=True)
        return report.as_dict()
    finally:
        store.close()


class IngestProcess:
    """The child process that carries out this server process's bundle ingests."""

    def __init__(self) -> None:
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def ingest(
        self, store: GraphStore, path: Path, actor: str, limits: BundleLimits
    ) -> dict[str, Any]:
        """``ingest_bundle(store, path, ...).as_dict()``, run in the child; the loader's
        errors (BundleError, StoreUnavailable, ...) are raised here."""
        with self._lock:
            if self._pool is None:
                self._pool = ProcessPoolExecutor(
                    max_workers=1, mp_context=_SPAWN, initializer=_yield_cpu_to_requests
                )
            pool = self._pool
        try:
            return pool.submit(_ingest, store.opener(), str(path), actor, limits).result()
        except BrokenProcessPool:
            with self._lock:  # the child died (killed, out of memory): a new one next time
                if self._pool is pool:
                    self._pool = None
            raise

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
