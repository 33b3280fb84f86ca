"""The access audit: who read or wrote what, when, with what outcome.

Requests do not wait for the trail: entries collect in memory and a writer thread appends
them in batches (one transaction per batch, every ``flush_seconds``), so a busy API writes a
few transactions a second instead of one per request, and a request only appends to a
deque (no thread woken). Shutdown and ``flush()`` drain what was collected; a crash of the
process can lose the last fraction of a second of access records, never a write to lot
data (those are audited in their own transaction).

The buffer is bounded (``capacity``, LOTGRAPH_ACCESS_BUFFER_MAX): each request takes a
place in it before it runs (``admit``) and its entry frees the place once written. While
the store refuses the entries they stay, every one; when no place is left, requests are
refused (503) instead of being served without an access record.
"""

from __future__ import annotations

import logging
import threading
from collections import deque

from graph.store import AuditEntry, GraphStore, WriteBatch

log = logging.getLogger("lotgraph.api.access")
_BATCH = 1000


class AccessLog:
    def __init__(self, store: GraphStore, flush_seconds: float, capacity: int = 10_000) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be at least 1, not {capacity}")
        self._store = store
        self._flush_seconds = flush_seconds
        self.capacity = capacity
        self._held = 0  # places taken: admitted requests whose entry is not written yet
        self._held_lock = threading.Lock()
        self._entries: deque[AuditEntry] = deque()
        self._retry: list[AuditEntry] = []
        self._wake = threading.Event()
        self._written = threading.Condition()
        self._rounds = 0  # writing rounds completed
        self._closing = False
        self._thread = threading.Thread(target=self._run, name="access-log", daemon=True)
        self._thread.start()

    def admit(self) -> bool:
        """Take a place for one request's entry; False (take none) when the buffer is full."""
        with self._held_lock:
            if self._held >= self.capacity:
                return False
            self._held += 1
            return True

    def record(self, entry: AuditEntry) -> None:
        """Buffer the entry of a request ``admit`` let in (it holds the entry's place)."""
        self._entries.append(entry)

    @property
    def held(self) -> int:
        return self._held

    def flush(self) -> None:
        """Return once every entry recorded before the call has been offered to the store."""
        with self._written:
            target = self._rounds + 2  # the round under way may have started before the call
            self._wake.set()
            while self._rounds < target and self._thread.is_alive():
                self._written.wait(timeout=1.0)
                self._wake.set()

    def close(self) -> None:
        self._closing = True
        self._wake.set()
        self._thread.join()

    def _run(self) -> None:
        while True:
            self._wake.wait(self._flush_seconds)
            self._wake.clear()
            closing = self._closing
            self._write_all()
            with self._written:
                self._rounds += 1
                self._written.notify_all()
            if closing:
                return

    def _write_all(self) -> None:
        while True:
            batch = self._retry
            self._retry = []
            while self._entries and len(batch) < _BATCH:
                batch.append(self._entries.popleft())
            if not batch:
                return
            try:
                self._store.apply(WriteBatch(audit=batch))
            except Exception:  # the store is down: keep the entries and try again next round
                log.exception("could not append %d access entries; will retry", len(batch))
                self._retry = batch  # all of them: admit() bounds how many there can be
                return
            with self._held_lock:
                self._held -= len(batch)
