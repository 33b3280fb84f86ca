"""Read primitives over the embedded store's tables, shared by the investigations.

Each call is a handful of index seeks: ``rels`` has its primary key on the source side and
``rels_by_dst`` on the destination side, and ids go in as one JSON array per chunk.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import orjson

from graph.embedded import EmbeddedStore
from graph.model import Label, RelType

_IN_CHUNK = 5_000

# CROSS JOIN keeps json_each as the outer loop: one index seek per wanted id.
_OUTGOING = """
SELECT r.src_id, r.dst_id, r.props FROM json_each(?) AS j
CROSS JOIN rels AS r ON r.src_label = ? AND r.src_id = j.value AND r.type = ?
"""
_INCOMING = """
SELECT r.src_id, r.dst_id, r.props FROM json_each(?) AS j
CROSS JOIN rels AS r ON r.dst_label = ? AND r.dst_id = j.value AND r.type = ?
"""
_OUTGOING_IDS = """
SELECT r.src_id, r.dst_id FROM json_each(?) AS j
CROSS JOIN rels AS r ON r.src_label = ? AND r.src_id = j.value AND r.type = ?
"""
_INCOMING_IDS = """
SELECT r.src_id, r.dst_id FROM json_each(?) AS j
CROSS JOIN rels AS r ON r.dst_label = ? AND r.dst_id = j.value AND r.type = ?
"""


def _chunks(ids: Iterable[str]) -> Iterable[str]:
    ordered = sorted(set(ids))
    for start in range(0, len(ordered), _IN_CHUNK):
        yield json.dumps(ordered[start : start + _IN_CHUNK])


def pairs(
    store: EmbeddedStore, label: Label, ids: Iterable[str], rel_type: RelType, outgoing: bool
) -> list[tuple[str, str]]:
    """(source id, destination id) of the ``rel_type`` relationships at ``ids`` of ``label``.

    ``outgoing`` means ``ids`` are the sources; otherwise they are the destinations.
    """
    query = _OUTGOING_IDS if outgoing else _INCOMING_IDS
    found: list[tuple[str, str]] = []
    with store.reading() as conn:
        for param in _chunks(ids):
            found.extend(conn.execute(query, (param, str(label), str(rel_type))))
    return found


def rels(
    store: EmbeddedStore, label: Label, ids: Iterable[str], rel_type: RelType, outgoing: bool
) -> list[tuple[str, str, dict[str, Any]]]:
    """Like :func:`pairs`, with each relationship's properties."""
    query = _OUTGOING if outgoing else _INCOMING
    found: list[tuple[str, str, dict[str, Any]]] = []
    with store.reading() as conn:
        for param in _chunks(ids):
            for src, dst, props in conn.execute(query, (param, str(label), str(rel_type))):
                found.append((src, dst, orjson.loads(props)))
    return found


def props(store: EmbeddedStore, label: Label, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Properties of the nodes of ``label`` among ``ids`` (placeholders give ``{}``)."""
    return {i: node.props for i, node in store.fetch_nodes(label, sorted(set(ids))).items()}
