"""Many documents' records at once: the batch release checklist, the work queue and the
KPIs read the state of every batch record (or every document) together.

The facts are read by queries/document_record.py's ``documents_facts`` (through the store's
``linked`` primitive: one read per relationship type, in chunks of ids), as a document's
own record is, and built by the same ``record_of``, so a document's state here is the
state its own page shows.
"""

from __future__ import annotations

from collections.abc import Iterable

from graph.store import GraphStore
from queries.document_record import DocumentRecord, documents_facts, record_of


def document_records(store: GraphStore, document_ids: Iterable[str]) -> dict[str, DocumentRecord]:
    """The record (state, versions, signatures with status) of each existing document."""
    return {i: record_of(f) for i, f in documents_facts(store, document_ids).items()}
