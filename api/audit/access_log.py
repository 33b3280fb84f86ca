"""The access audit: who read or wrote what, when, with what outcome.

Requests do not wait for the trail: entries queue in memory and a writer thread appends
them in batches (one transaction per batch, at most ``flush_seconds`` apart), so a busy
API writes a few transactions a second instead of one per request. Shutdown and
``flush()`` drain the queue; a crash of the process can lose the last fraction of a
second of read records, never a write to lot data (those are audited in their own
transaction).
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable

from graph.store import AuditEntry, GraphStore, WriteBatch

log = logging.getLogger("lotgraph.api.access")
_BATCH = 500
_KEEP = 100_000  # entries kept in memory while the store refuses them


class AccessLog:
    def __init__(self, store: GraphStore, flush_seconds: float) -> None:
        self._store = store
        self._flush_seconds = flush_seconds
        self._queue: queue.Queue[AuditEntry | Callable[[], None] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="access-log", daemon=True)
        self._thread.start()

    def record(self, entry: AuditEntry) -> None:
        self._queue.put(entry)

    def flush(self) -> None:
        """Return once every entry recorded before the call is in the store."""
        done = threading.Event()
        self._queue.put(done.set)
        done.wait()

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()

    def _run(self) -> None:
        pending: list[AuditEntry] = []
        while True:
            try:
                item = self._queue.get(timeout=self._flush_seconds if pending else None)
            except queue.Empty:
                pending = self._write(pending)
                continue
            if isinstance(item, AuditEntry):
                pending.append(item)
                if len(pending) >= _BATCH:
                    pending = self._write(pending)
                continue
            pending = self._write(pending)
            if item is None:
                return
            item()

    def _write(self, entries: list[AuditEntry]) -> list[AuditEntry]:
        """What is still to write: nothing, or the entries again when the store refused."""
        if not entries:
            return entries
        try:
            self._store.apply(WriteBatch(audit=entries))
        except Exception:  # the store is down: keep the entries and try again next round
            log.exception("could not append %d access entries; will retry", len(entries))
            return entries[-_KEEP:]
        return []
