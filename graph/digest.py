"""Store-independent digests of what a store holds: the content digest and write coverage.

``content_sha256``: each node as the line ``["N", label, id, unresolved, content]`` and each
relationship as ``["R", type, src_label, src_id, dst_label, dst_id, key, content]``
(JSON, sorted keys), nodes before relationships, each kind sorted by its key by code
point, one SHA-256 over all lines. Content is what a row says (no provenance, no
fingerprint), so a graph built by one clean ingest and one built by a killed ingest and a
re-run give the same digest, and so do both stores for the same graph.

Coverage: every stored row carries the ``write_id`` of the batch that last wrote it, and
every audit entry of that batch carries it too (graph/store.py ``WriteBatch``); a row
whose write id no entry of the hash chain names is *uncovered*.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from graph.audit_chain import verify_store

NodeRecord = tuple[str, str, bool, Mapping[str, Any]]  # label, id, unresolved, content
RelRecord = tuple[str, str, str, str, str, str, Mapping[str, Any]]
# type, src_label, src_id, dst_label, dst_id, key, content


def _line(value: Sequence[Any]) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS) + b"\n"


def content_digest(nodes: Iterable[NodeRecord], rels: Iterable[RelRecord]) -> str:
    """The content digest of the records, in whatever order they come."""
    node_lines = sorted(
        ((label, node_id), _line(("N", label, node_id, bool(unresolved), dict(content))))
        for label, node_id, unresolved, content in nodes
    )
    rel_lines = sorted(
        ((t, sl, si, dl, di, k), _line(("R", t, sl, si, dl, di, k, dict(content))))
        for t, sl, si, dl, di, k, content in rels
    )
    digest = hashlib.sha256()
    for _, line in node_lines:
        digest.update(line)
    for _, line in rel_lines:
        digest.update(line)
    return digest.hexdigest()


@dataclass(slots=True)
class Coverage:
    """Stored rows covered by an audit entry of the chain, and the first that are not."""

    nodes: int = 0  # covered
    relationships: int = 0  # covered
    uncovered: int = 0
    uncovered_rows: list[str] = field(default_factory=list)  # the first of them

    def as_dict(self) -> dict[str, Any]:
        return {
            "nodes": self.nodes,
            "relationships": self.relationships,
            "uncovered": self.uncovered,
            "uncovered_rows": self.uncovered_rows,
        }


def coverage(store: Any, chain_write_ids: set[str], limit: int = 100) -> Coverage:
    """Compare the write ids stored rows carry with those the chain names."""
    counts: dict[str | None, tuple[int, int]] = store.write_counts()
    result = Coverage()
    missing: list[str | None] = []
    for write_id, (nodes, rels) in counts.items():
        if write_id is not None and write_id in chain_write_ids:
            result.nodes += nodes
            result.relationships += rels
        else:
            result.uncovered += nodes + rels
            missing.append(write_id)
    if missing:
        result.uncovered_rows = store.written_by(missing, limit)
    return result


def verify_audit(store: Any) -> dict[str, Any]:
    """What ``lotgraph audit verify --json`` and ``GET /audit/verify`` report: the hash
    chain walked against the head (graph/audit_chain.py) and the coverage of every stored
    row by an entry of it; ``ok`` only when both hold."""
    write_ids: set[str] = set()
    result = verify_store(store, write_ids=write_ids)
    covered = coverage(store, write_ids)
    report = result.as_dict()
    report["coverage"] = covered.as_dict()
    report["chain_ok"] = result.ok
    report["ok"] = result.ok and covered.uncovered == 0
    return report
