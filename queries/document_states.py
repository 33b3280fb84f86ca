"""Many documents' records at once: the batch release checklist, the work queue and the
KPIs read the state of every batch record (or every document) together.

The facts are the ones queries/document_record.py reads for one document, fetched for many
through the store's ``linked`` primitive (one read per relationship type, in chunks of
ids), and the records are built by the same ``record_of``, so a document's state here is
the state its own page shows.
"""

from __future__ import annotations

from collections.abc import Iterable

from graph.model import Label, RelType
from graph.store import GraphStore
from queries.document_record import DocumentFacts, DocumentRecord, record_of


def documents_facts(store: GraphStore, document_ids: Iterable[str]) -> dict[str, DocumentFacts]:
    """The facts of each existing document among ``document_ids``."""
    nodes = store.fetch_nodes(Label.DOCUMENT, sorted(set(document_ids)))
    ids = sorted(nodes)
    facts = {i: DocumentFacts(i, nodes[i]) for i in ids}
    has_version = store.linked(Label.DOCUMENT, ids, RelType.HAS_VERSION, True)
    version_ids = sorted({v for _, v, _ in has_version})
    versions = store.fetch_nodes(Label.DOCUMENT_VERSION, version_ids)
    owner: dict[str, str] = {}
    for doc, vid, _ in has_version:
        if vid in versions:
            facts[doc].versions[vid] = versions[vid]
            owner[vid] = doc
    signs = store.linked(Label.DOCUMENT_VERSION, sorted(owner), RelType.SIGNS, False)
    signatures = store.fetch_nodes(Label.SIGNATURE, sorted({s for s, _, _ in signs}))
    for sig, vid, _ in signs:
        if sig in signatures:
            doc_facts = facts[owner[vid]]
            doc_facts.signs.append((sig, vid))
            doc_facts.signatures[sig] = signatures[sig]
    signed = store.linked(Label.SIGNATURE, sorted(signatures), RelType.SIGNED, False)
    by_signature: dict[str, list[str]] = {}
    for person, sig, _ in signed:
        by_signature.setdefault(sig, []).append(person)
    for doc_facts in facts.values():
        doc_facts.signs.sort()
        for sig, _ in doc_facts.signs:
            if sig in by_signature:
                doc_facts.signers[sig] = sorted(by_signature[sig])
    for doc, target, label in store.linked(Label.DOCUMENT, ids, RelType.CONCERNS, True):
        facts[doc].concerns.append((label, target))
    for doc_facts in facts.values():
        doc_facts.concerns.sort()
    return facts


def document_records(store: GraphStore, document_ids: Iterable[str]) -> dict[str, DocumentRecord]:
    """The record (state, versions, signatures with status) of each existing document."""
    return {i: record_of(f) for i, f in documents_facts(store, document_ids).items()}
