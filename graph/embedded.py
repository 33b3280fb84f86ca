"""The embedded store: a property graph in one SQLite file (WAL), no server needed.

Properties live on disk; only a page cache of bounded size is held in memory. Each
``apply`` is one SQLite transaction committed with ``synchronous=FULL``, so whatever a
caller was told is accepted survives a kill -9.
"""

from __future__ import annotations

import json
import queue
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

import orjson

from graph.audit_chain import (
    GENESIS,
    WRITE_ID_FIELD,
    Head,
    entry_hash,
    json_text,
    key_refs,
    link,
    pending_entries,
)
from graph.digest import content_digest
from graph.genealogy import Genealogy
from graph.model import Label, RelType
from graph.records import (
    Account,
    BrowserSession,
    IdempotencyRecord,
    KeyIdInUse,
    SessionExists,
    SignInFailure,
    reservation_body,
)
from graph.sign_in import failure_audit, unlock_audit
from graph.store import (
    ABSENT,
    ANY,
    PLACEHOLDER,
    WRITE_ID,
    AlreadyExists,
    AnalyteRows,
    AuditEntry,
    AuditQuery,
    FoundPaths,
    GraphStats,
    Hop,
    Link,
    LinkKey,
    NodeRef,
    NodeWrite,
    Props,
    RecallFacts,
    RecallView,
    RelRef,
    RelWrite,
    Shape,
    StoredNode,
    StoreUnavailable,
    T,
    TraceEdge,
    TraceSites,
    WriteBatch,
    WriteConflict,
    compose_recall_view,
    utc_now,
)

# The analyte_results columns, from a TestResult node's id and props.
_RESULT_COLUMNS = """json_extract(props, '$.analyte'), id,
        json_extract(props, '$.target_kind'), json_extract(props, '$.target_id'),
        json_extract(props, '$.value'), json_extract(props, '$.lower_limit'),
        json_extract(props, '$.upper_limit'), json_extract(props, '$.tested_at'),
        json_extract(props, '$.unit'), json_extract(props, '$.method')"""
# An analyte_results table of an earlier form (without the columns above) is dropped and
# rebuilt when the store opens.
_RESULT_TABLE_COLUMNS = ("lower_limit", "method")
_DROP_RESULTS = """
DROP TABLE IF EXISTS analyte_results;
DROP TRIGGER IF EXISTS analyte_results_insert;
DROP TRIGGER IF EXISTS analyte_results_update;
DROP TRIGGER IF EXISTS analyte_results_delete;
"""

_NODE_IDS = "SELECT id FROM nodes WHERE label = ? ORDER BY id"
_LINKED_CHUNK = 5_000
# CROSS JOIN keeps json_each as the outer loop: one index seek per wanted id.
_LINKED_OUT = """
SELECT r.src_id, r.dst_id, r.dst_label FROM json_each(?) AS j
CROSS JOIN rels AS r ON r.src_label = ? AND r.src_id = j.value AND r.type = ?
"""
_LINKED_IN = """
SELECT r.src_id, r.dst_id, r.src_label FROM json_each(?) AS j
CROSS JOIN rels AS r ON r.dst_label = ? AND r.dst_id = j.value AND r.type = ?
"""
_LINKED_RELS_OUT = """
SELECT r.src_label, r.src_id, r.dst_label, r.dst_id, r.key, r.props FROM json_each(?) AS j
CROSS JOIN rels AS r ON r.src_label = ? AND r.src_id = j.value AND r.type = ?
"""
_LINKED_RELS_IN = """
SELECT r.src_label, r.src_id, r.dst_label, r.dst_id, r.key, r.props FROM json_each(?) AS j
CROSS JOIN rels AS r ON r.dst_label = ? AND r.dst_id = j.value AND r.type = ?
"""
# One hop of a path shape (``paths``): (this side's id, the other end's id), both labels pinned.
_HOP_OUT = """
SELECT r.src_id, r.dst_id FROM json_each(?) AS j
CROSS JOIN rels AS r ON r.src_label = ? AND r.src_id = j.value AND r.type = ? AND r.dst_label = ?
"""
_HOP_IN = """
SELECT r.dst_id, r.src_id FROM json_each(?) AS j
CROSS JOIN rels AS r ON r.dst_label = ? AND r.dst_id = j.value AND r.type = ? AND r.src_label = ?
"""

# A trace (``trace_reach``), one statement per trace: a recursive walk over lots and
# batches (UNION keeps each node once, so a diamond is expanded once), then the edges at
# every node reached. CROSS JOIN keeps the reached set as the outer loop, one index seek
# per node.
_TRACE_FORWARD = """
WITH RECURSIVE reach(label, id) AS (
    SELECT 'Lot', value FROM json_each(?1)
    UNION
    SELECT 'Batch', r.dst_id FROM reach
    CROSS JOIN rels AS r ON r.src_label = 'Lot' AND r.src_id = reach.id AND r.type = 'CONSUMED_IN'
    WHERE reach.label = 'Lot'
    UNION
    SELECT 'Lot', r.dst_id FROM reach
    CROSS JOIN rels AS r ON r.src_label = 'Batch' AND r.src_id = reach.id AND r.type = 'PRODUCED'
    WHERE reach.label = 'Batch'
)
SELECT r.src_id, r.type, r.dst_id FROM reach
CROSS JOIN rels AS r ON r.src_label = 'Lot' AND r.src_id = reach.id
    AND r.type IN ('CONSUMED_IN', 'SHIPPED_IN')
WHERE reach.label = 'Lot'
UNION
SELECT r.src_id, r.type, r.dst_id FROM reach
CROSS JOIN rels AS r ON r.src_label = 'Batch' AND r.src_id = reach.id AND r.type = 'PRODUCED'
WHERE reach.label = 'Batch'
UNION
SELECT t.src_id, t.type, t.dst_id FROM reach
CROSS JOIN rels AS s ON s.src_label = 'Lot' AND s.src_id = reach.id AND s.type = 'SHIPPED_IN'
CROSS JOIN rels AS t ON t.src_label = 'Shipment' AND t.src_id = s.dst_id AND t.type = 'TO'
WHERE reach.label = 'Lot'
"""
_TRACE_BACKWARD = """
WITH RECURSIVE reach(label, id) AS (
    SELECT 'Lot', value FROM json_each(?1)
    UNION
    SELECT 'Batch', r.src_id FROM reach
    CROSS JOIN rels AS r ON r.dst_label = 'Lot' AND r.dst_id = reach.id AND r.type = 'PRODUCED'
    WHERE reach.label = 'Lot'
    UNION
    SELECT 'Lot', r.src_id FROM reach
    CROSS JOIN rels AS r ON r.dst_label = 'Batch' AND r.dst_id = reach.id
        AND r.type = 'CONSUMED_IN'
    WHERE reach.label = 'Batch'
)
SELECT r.src_id, r.type, r.dst_id FROM reach
CROSS JOIN rels AS r ON r.dst_label = 'Lot' AND r.dst_id = reach.id
    AND r.type IN ('PRODUCED', 'SUPPLIED')
WHERE reach.label = 'Lot'
UNION
SELECT r.src_id, r.type, r.dst_id FROM reach
CROSS JOIN rels AS r ON r.dst_label = 'Batch' AND r.dst_id = reach.id AND r.type = 'CONSUMED_IN'
WHERE reach.label = 'Batch'
"""
_TRACE_SITES = """
SELECT n.id, json_extract(n.props, '$.site') FROM json_each(?) AS j
CROSS JOIN nodes AS n ON n.label = ? AND n.id = j.value
"""
# The label at each end of the relationship types a trace follows, where it is a lot or batch.
_TRACE_ENDS: dict[str, tuple[str | None, str | None]] = {
    "CONSUMED_IN": ("Lot", "Batch"),
    "PRODUCED": ("Batch", "Lot"),
    "SHIPPED_IN": ("Lot", None),
    "TO": (None, None),
    "SUPPLIED": (None, "Lot"),
}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS nodes (
    label TEXT NOT NULL,
    id TEXT NOT NULL,
    props TEXT NOT NULL,
    prov TEXT NOT NULL,
    fp TEXT,
    unresolved INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (label, id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS rels (
    src_label TEXT NOT NULL,
    src_id TEXT NOT NULL,
    type TEXT NOT NULL,
    dst_label TEXT NOT NULL,
    dst_id TEXT NOT NULL,
    key TEXT NOT NULL,
    props TEXT NOT NULL,
    prov TEXT NOT NULL,
    fp TEXT NOT NULL,
    PRIMARY KEY (src_label, src_id, type, dst_label, dst_id, key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS rels_by_dst ON rels (dst_label, dst_id, type);
CREATE INDEX IF NOT EXISTS nodes_unresolved ON nodes (unresolved) WHERE unresolved = 1;
-- Impurity investigations read every result of one analyte: a derived table clustered by
-- analyte, kept by triggers in the same transaction as the nodes, so it is read in order
-- instead of seeking each result's JSON across the nodes table. (Earlier forms of it are
-- dropped and rebuilt.)
DROP INDEX IF EXISTS test_results_by_analyte;
DROP TABLE IF EXISTS results_by_analyte;
DROP TRIGGER IF EXISTS results_by_analyte_insert;
DROP TRIGGER IF EXISTS results_by_analyte_update;
DROP TRIGGER IF EXISTS results_by_analyte_delete;
CREATE TABLE IF NOT EXISTS analyte_results (
    analyte TEXT NOT NULL,
    id TEXT NOT NULL,
    target_kind TEXT,
    target_id TEXT,
    value REAL,
    lower_limit REAL,
    upper_limit REAL,
    tested_at TEXT,
    unit TEXT,
    method TEXT,
    PRIMARY KEY (analyte, id)
) WITHOUT ROWID;
CREATE TRIGGER IF NOT EXISTS analyte_results_insert AFTER INSERT ON nodes
WHEN new.label = 'TestResult' AND new.unresolved = 0 BEGIN
    INSERT OR REPLACE INTO analyte_results SELECT {columns} FROM (SELECT new.id AS id, new.props AS props);
END;
CREATE TRIGGER IF NOT EXISTS analyte_results_update AFTER UPDATE ON nodes
WHEN new.label = 'TestResult' BEGIN
    DELETE FROM analyte_results
    WHERE analyte = json_extract(old.props, '$.analyte') AND id = old.id;
    INSERT OR REPLACE INTO analyte_results SELECT {columns}
    FROM (SELECT new.id AS id, new.props AS props) WHERE new.unresolved = 0;
END;
CREATE TRIGGER IF NOT EXISTS analyte_results_delete AFTER DELETE ON nodes
WHEN old.label = 'TestResult' BEGIN
    DELETE FROM analyte_results
    WHERE analyte = json_extract(old.props, '$.analyte') AND id = old.id;
END;
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    entity TEXT NOT NULL,
    key TEXT NOT NULL,
    old TEXT,
    new TEXT,
    reason TEXT NOT NULL,
    source TEXT NOT NULL,
    prev_hash TEXT,
    hash TEXT,
    write_id TEXT
);
-- The hash chain's head (graph/audit_chain.py): the last entry's seq and hash, updated in
-- the transaction that appends, so that a deleted last entry shows.
CREATE TABLE IF NOT EXISTS audit_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL,
    hash TEXT NOT NULL
);
-- audit_for_keys: entries by key; an entry whose key lists several ids ("A,B", an access
-- to several lots) is also found by each of them through audit_keys.
CREATE INDEX IF NOT EXISTS audit_by_key ON audit (key);
-- audit_page: the auditor's filters by who, what and when, each read in seq order.
CREATE INDEX IF NOT EXISTS audit_by_actor ON audit (actor, seq);
CREATE INDEX IF NOT EXISTS audit_by_action ON audit (action, seq);
CREATE INDEX IF NOT EXISTS audit_by_at ON audit (at);
CREATE TABLE IF NOT EXISTS audit_keys (
    key TEXT NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (key, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS ingests (
    id TEXT PRIMARY KEY,
    at TEXT NOT NULL,
    report TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS rejections (
    ingest_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    file TEXT NOT NULL,
    row INTEGER NOT NULL,
    col TEXT NOT NULL,
    reason TEXT NOT NULL,
    PRIMARY KEY (ingest_id, seq)
);
-- Service records (graph/records.py): beside the graph, never counted in its statistics.
CREATE TABLE IF NOT EXISTS accounts (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    sites TEXT NOT NULL,
    kind TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    disabled INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    failed_sign_ins INTEGER NOT NULL,
    locked_until TEXT,
    key_id TEXT UNIQUE
);
-- Dashboard sessions (GraphStore.create_session): the id's SHA-256 only, never the id.
CREATE TABLE IF NOT EXISTS sessions (
    id_sha256 TEXT PRIMARY KEY,
    account TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    account_updated_at TEXT NOT NULL,
    ended_at TEXT
);
CREATE TABLE IF NOT EXISTS idempotency (
    key TEXT PRIMARY KEY,
    actor TEXT NOT NULL,
    request_sha256 TEXT NOT NULL,
    status_code INTEGER NOT NULL,
    body TEXT NOT NULL,
    at TEXT NOT NULL
);
"""

_BACKFILL_RESULTS = """
INSERT OR REPLACE INTO analyte_results
SELECT {columns} FROM nodes WHERE label = 'TestResult' AND unresolved = 0
""".replace("{columns}", _RESULT_COLUMNS)

# CROSS JOIN keeps json_each as the outer loop, so each wanted key is one primary-key seek.
_FETCH_NODES = """
SELECT n.id, n.props, n.unresolved FROM json_each(?) AS j
CROSS JOIN nodes AS n ON n.label = ? AND n.id = j.value
"""

_EXISTING = """
SELECT n.id FROM json_each(?) AS j CROSS JOIN nodes AS n ON n.label = ? AND n.id = j.value
"""
_FETCH_NODE_FPS = """
SELECT n.id, n.fp, n.unresolved FROM json_each(?) AS j
CROSS JOIN nodes AS n ON n.label = ? AND n.id = j.value
"""

_FETCH_LOT_UNITS = """
SELECT n.id, n.props ->> '$.unit' FROM json_each(?) AS j
CROSS JOIN nodes AS n ON n.label = 'Lot' AND n.id = j.value
WHERE n.unresolved = 0
"""

# j.key is the wanted relationship's index in the parameter's array
_FETCH_RELS = """
SELECT j.key, {column} FROM json_each(?) AS j
CROSS JOIN rels AS r ON r.src_label = ? AND r.src_id = j.value ->> '$[0]' AND r.type = ?
    AND r.dst_label = ? AND r.dst_id = j.value ->> '$[1]' AND r.key = j.value ->> '$[2]'
"""

# Create-only writes: no OR REPLACE, no ON CONFLICT, so a taken key fails the transaction.
_INSERT_NODE = """
INSERT INTO nodes (label, id, props, prov, fp, unresolved) VALUES (?, ?, ?, ?, ?, 0)
"""

_INSERT_REL = """
INSERT INTO rels (src_label, src_id, type, dst_label, dst_id, key, props, prov, fp)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
"""

_UPSERT_NODE = """
INSERT INTO nodes (label, id, props, prov, fp, unresolved) VALUES (?, ?, ?, ?, ?, 0)
ON CONFLICT (label, id) DO UPDATE
SET props = excluded.props, prov = excluded.prov, fp = excluded.fp, unresolved = 0
"""

_PLACEHOLDER = """
INSERT OR IGNORE INTO nodes (label, id, props, prov, fp, unresolved) VALUES (?, ?, '{}', ?, NULL, 1)
"""

_UPSERT_REL = """
INSERT INTO rels (src_label, src_id, type, dst_label, dst_id, key, props, prov, fp)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (src_label, src_id, type, dst_label, dst_id, key)
DO UPDATE SET props = excluded.props, prov = excluded.prov, fp = excluded.fp
"""

_DROP_OUT = "DELETE FROM rels WHERE src_label = ? AND src_id = ? AND type = ?"
_DROP_IN = "DELETE FROM rels WHERE dst_label = ? AND dst_id = ? AND type = ?"

_AUDIT = """
INSERT INTO audit (seq, at, actor, action, entity, key, old, new, reason, source, prev_hash, hash,
                   write_id)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""
_AUDIT_PAGE = """
SELECT seq, at, actor, action, entity, key, old, new, reason, source, prev_hash, hash, write_id
FROM audit WHERE seq > ? ORDER BY seq LIMIT ?
"""
# The entries keyed by one of the ids, and those whose key lists one among several
# (audit_keys); each half is one index seek per id.
_AUDIT_FOR_KEYS = """
SELECT seq, at, actor, action, entity, key, old, new, reason, source, prev_hash, hash, write_id
FROM audit WHERE seq IN (
    SELECT a.seq FROM json_each(?) AS j CROSS JOIN audit AS a ON a.key = j.value
    UNION
    SELECT k.seq FROM json_each(?) AS j CROSS JOIN audit_keys AS k ON k.key = j.value
)
ORDER BY seq LIMIT ?
"""
_AUDIT_KEY = "INSERT OR IGNORE INTO audit_keys (key, seq) VALUES (?, ?)"
# audit_page: one fixed condition per filter given, each with its parameters.
_AUDIT_FILTERED = """
SELECT seq, at, actor, action, entity, key, old, new, reason, source, prev_hash, hash, write_id
FROM audit WHERE seq > ?{conditions}
ORDER BY seq LIMIT ?
"""
_AUDIT_BY_ACTOR = " AND actor = ?"
_AUDIT_BY_ACTION = " AND action = ?"
_AUDIT_IN_ACTIONS = " AND action IN (SELECT value FROM json_each(?))"
_AUDIT_NOT_IN_ACTIONS = " AND action NOT IN (SELECT value FROM json_each(?))"
_AUDIT_SINCE = " AND at >= ?"
_AUDIT_UNTIL = " AND at < ?"
_AUDIT_BY_KEY = " AND seq IN (SELECT seq FROM audit WHERE key = ? UNION SELECT seq FROM audit_keys WHERE key = ?)"

_SET_AUDIT_HEAD = "INSERT OR REPLACE INTO audit_head (id, seq, hash) VALUES (1, ?, ?)"

# An upsert on the name only: INSERT OR REPLACE would also replace (delete) another
# account holding the same key_id, where a clash must fail instead.
_SAVE_ACCOUNT = """
INSERT INTO accounts (name, role, sites, kind, secret_hash, disabled, created_at, updated_at,
                      failed_sign_ins, locked_until, key_id)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (name) DO UPDATE SET
    role = excluded.role, sites = excluded.sites, kind = excluded.kind,
    secret_hash = excluded.secret_hash, disabled = excluded.disabled,
    created_at = excluded.created_at, updated_at = excluded.updated_at,
    failed_sign_ins = excluded.failed_sign_ins, locked_until = excluded.locked_until,
    key_id = excluded.key_id
"""

_SELECT_ACCOUNTS = """
SELECT name, role, sites, kind, secret_hash, disabled, created_at, updated_at,
       failed_sign_ins, locked_until, key_id
FROM accounts
"""
_ACCOUNT_BY_NAME = _SELECT_ACCOUNTS + "WHERE name = ?"
_ACCOUNT_BY_KEY_ID = _SELECT_ACCOUNTS + "WHERE key_id = ?"

# The sign-in counter (GraphStore.record_sign_in_failure): one UPDATE in the write
# transaction, so concurrent failures, in any process, each count on the one before. A
# locked account matches nothing and counts nothing; after an expired lock the count
# starts again from one. (SET expressions read the row as it was before the UPDATE.)
_COUNT_SIGN_IN_FAILURE = """
UPDATE accounts SET
    failed_sign_ins = CASE WHEN locked_until IS NULL THEN failed_sign_ins + 1 ELSE 1 END,
    locked_until = CASE
        WHEN (CASE WHEN locked_until IS NULL THEN failed_sign_ins + 1 ELSE 1 END) >= :limit
        THEN :lock_until END
WHERE name = :name AND kind = 'password' AND (locked_until IS NULL OR locked_until <= :at)
RETURNING failed_sign_ins, locked_until
"""
_SIGN_IN_STATE = "SELECT failed_sign_ins, locked_until FROM accounts WHERE name = ? AND kind = ?"
# Only an account with something to clear is written: a clean sign-in changes no page.
_CLEAR_SIGN_IN_FAILURES = """
UPDATE accounts SET failed_sign_ins = 0, locked_until = NULL
WHERE name = :name AND (locked_until IS NULL OR locked_until <= :at)
    AND (failed_sign_ins != 0 OR locked_until IS NOT NULL)
"""
_LOCKED_UNTIL = "SELECT locked_until FROM accounts WHERE name = ?"

# Create-only (no OR REPLACE): a taken id_sha256 fails the transaction.
_INSERT_SESSION = """
INSERT INTO sessions (id_sha256, account, created_at, expires_at, account_updated_at, ended_at)
VALUES (?, ?, ?, ?, ?, ?)
"""
_SELECT_SESSION = """
SELECT id_sha256, account, created_at, expires_at, account_updated_at, ended_at
FROM sessions WHERE id_sha256 = ?
"""
# Ended once: a session that has ended already matches nothing.
_END_SESSION = "UPDATE sessions SET ended_at = ? WHERE id_sha256 = ? AND ended_at IS NULL"

_SELECT_IDEMPOTENCY = (
    "SELECT key, actor, request_sha256, status_code, body, at FROM idempotency WHERE key = ?"
)

_COMPLETE_IDEMPOTENCY = """
UPDATE idempotency SET status_code = ?, body = ?, at = ?
WHERE key = ? AND request_sha256 = ? AND status_code = 0 AND (? IS NULL OR body = ?)
"""

_TAKE_OVER_IDEMPOTENCY = """
UPDATE idempotency SET body = ?, at = ?
WHERE key = ? AND request_sha256 = ? AND status_code = 0 AND body = ?
"""

_SAVE_IDEMPOTENCY = """
INSERT INTO idempotency (key, actor, request_sha256, status_code, body, at)
VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (key) DO NOTHING
"""

# The genealogy (graph/genealogy.py): each type is a range of the primary key, read in order.
_GENEALOGY = {
    "consumed": """SELECT src_id, dst_id FROM rels
WHERE src_label = 'Lot' AND type = 'CONSUMED_IN' AND dst_label = 'Batch'""",
    "produced": """SELECT src_id, dst_id FROM rels
WHERE src_label = 'Batch' AND type = 'PRODUCED' AND dst_label = 'Lot'""",
    "supplied": """SELECT src_id, dst_id FROM rels
WHERE src_label = 'Supplier' AND type = 'SUPPLIED' AND dst_label = 'Lot'""",
    "of_material": """SELECT src_id, dst_id FROM rels
WHERE src_label = 'Lot' AND type = 'OF_MATERIAL' AND dst_label = 'Material'""",
    "ran_on": """SELECT src_id, dst_id FROM rels
WHERE src_label = 'Batch' AND type = 'RAN_ON' AND dst_label = 'Equipment'""",
}
_GENEALOGY_NODES = "SELECT id FROM nodes WHERE label = ?"
_GENEALOGY_LABELS = ("Lot", "Batch", "Supplier", "Material", "Equipment")
# Every content write appends to the audit trail in its own transaction, so the head's
# sequence number moves with every change of the graph.
_GRAPH_VERSION = "SELECT coalesce((SELECT seq FROM audit_head WHERE id = 1), 0)"

# One analyte's results (the derived table, read in key order), each with its target's
# site and product and, for a lot, the batches that made it.
_ANALYTE_ROWS = """
SELECT a.id, CASE a.target_kind WHEN 'lot' THEN 'Lot' ELSE 'Batch' END, a.target_id,
       t.props ->> '$.site',
       CASE a.target_kind WHEN 'lot' THEN t.props ->> '$.material_id'
                          ELSE t.props ->> '$.product_material_id' END,
       a.value, a.lower_limit, a.upper_limit, a.unit, a.method, a.tested_at,
       CASE a.target_kind WHEN 'lot' THEN (
           SELECT json_group_array(json_array(p.src_id, m.props ->> '$.site'))
           FROM rels AS p LEFT JOIN nodes AS m ON m.label = 'Batch' AND m.id = p.src_id
           WHERE p.dst_label = 'Lot' AND p.dst_id = a.target_id AND p.type = 'PRODUCED'
             AND p.src_label = 'Batch') END
FROM analyte_results AS a
LEFT JOIN nodes AS t
  ON t.label = CASE a.target_kind WHEN 'lot' THEN 'Lot' ELSE 'Batch' END AND t.id = a.target_id
WHERE a.analyte = ? AND a.target_kind IN ('lot', 'batch')
"""

# Coverage (graph/digest.py): the write id each stored row carries in its provenance.
_WRITE_COUNTS = "SELECT prov ->> '$.write_id', count(*) FROM {table} GROUP BY 1"
_WRITTEN_NODES = """
SELECT label, id FROM nodes
WHERE coalesce(prov ->> '$.write_id', '') IN (SELECT value FROM json_each(?)) LIMIT ?
"""
_WRITTEN_RELS = """
SELECT type, src_label, src_id, dst_label, dst_id, key FROM rels
WHERE coalesce(prov ->> '$.write_id', '') IN (SELECT value FROM json_each(?)) LIMIT ?
"""

# The row-value comparison is a range seek on the primary key, however deep the page.
_REJECTIONS = "SELECT ingest_id, seq, file, row, col, reason FROM rejections"
_REJECTIONS_FIRST = _REJECTIONS + " ORDER BY ingest_id, seq LIMIT ?"
_REJECTIONS_AFTER = _REJECTIONS + " WHERE (ingest_id, seq) > (?, ?) ORDER BY ingest_id, seq LIMIT ?"


def canonical_json(value: Any) -> str:
    """Sorted keys, no whitespace: equal content gives equal text."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def _audit_row(e: Mapping[str, Any]) -> tuple[Any, ...]:
    """The stored form of one linked entry (graph/audit_chain.py): old and new as JSON text."""
    return (
        e["seq"],
        e["at"],
        e["actor"],
        e["action"],
        e["entity"],
        e["key"],
        json_text(e["old"]),
        json_text(e["new"]),
        e["reason"],
        e["source"],
        e["prev_hash"],
        e["hash"],
        e.get(WRITE_ID_FIELD),
    )


def _audit_dict(names: Sequence[str], row: Sequence[Any]) -> dict[str, Any]:
    entry = dict(zip(names, row, strict=True))
    for k in ("old", "new"):
        entry[k] = json.loads(entry[k]) if entry[k] is not None else None
    if entry.get(WRITE_ID_FIELD) is None:  # as Neo4j, which keeps no null property
        entry.pop(WRITE_ID_FIELD, None)
    return entry


def _account(row: Sequence[Any]) -> Account:
    name, role, sites, kind, secret_hash, disabled, created, updated, failed, locked, key_id = row
    return Account(
        name=name,
        role=role,
        sites=orjson.loads(sites),
        kind=kind,
        secret_hash=secret_hash,
        disabled=bool(disabled),
        created_at=created,
        updated_at=updated,
        failed_sign_ins=int(failed),
        locked_until=locked,
        key_id=key_id,
    )


def _idempotency(row: Sequence[Any]) -> IdempotencyRecord:
    key, actor, request_sha256, status_code, body, at = row
    return IdempotencyRecord(
        key=key,
        actor=actor,
        request_sha256=request_sha256,
        status_code=int(status_code),
        body=orjson.loads(body),
        at=at,
    )


# SQLite errors that mean the file cannot be used at all (gone, unreadable, failing disk),
# as opposed to a bad statement or a constraint: only these say "unavailable".
_UNAVAILABLE = ("unable to open database file", "disk i/o error")


@contextmanager
def _store_errors() -> Iterator[None]:
    try:
        yield
    except sqlite3.OperationalError as exc:
        if str(exc).lower().startswith(_UNAVAILABLE):
            raise StoreUnavailable("embedded", str(exc)) from exc
        raise


def _makers(text: str | None) -> tuple[tuple[str, str | None], ...]:
    if not text:
        return ()
    pairs = orjson.loads(text)
    if len(pairs) == 1:  # the usual case: one batch made the lot
        ((maker, site),) = pairs
        return ((maker, site),)
    return tuple(sorted((m, s) for m, s in pairs))


def _existing(conn: sqlite3.Connection, label: Label, ids: list[str]) -> list[tuple[str]]:
    found: list[tuple[str]] = []
    for start in range(0, len(ids), _LINKED_CHUNK):
        chunk = json.dumps(ids[start : start + _LINKED_CHUNK])
        found.extend(conn.execute(_EXISTING, (chunk, str(label))))
    return found


def _hop(
    conn: sqlite3.Connection, partial: list[tuple[str, ...]], label: Label, hop: Hop
) -> list[tuple[str, ...]]:
    """The ``partial`` paths (ending at ``label`` nodes) each extended by one ``hop``."""
    ends = sorted({p[-1] for p in partial})
    query = _HOP_OUT if hop.outgoing else _HOP_IN
    reached: dict[str, set[str]] = {}
    for start in range(0, len(ends), _LINKED_CHUNK):
        chunk = json.dumps(ends[start : start + _LINKED_CHUNK])
        params = (chunk, str(label), str(hop.rel_type), str(hop.label))
        for here, there in conn.execute(query, params):
            reached.setdefault(here, set()).add(there)
    return [(*p, there) for p in partial for there in sorted(reached.get(p[-1], ()))]


def _check_limit(limit: int | None) -> None:
    if limit is not None and limit < 0:
        raise ValueError(f"limit must not be negative, not {limit}")


def _rel_column(conn: sqlite3.Connection, refs: Sequence[RelRef], column: str) -> dict[RelRef, str]:
    """One column (``r.props`` or ``r.fp``) of the relationships that exist among refs."""
    query = _FETCH_RELS.format(column=column)  # column is one of two literals
    groups: dict[tuple[str, str, str], list[RelRef]] = {}
    for ref in refs:
        groups.setdefault((ref.src.label, ref.type, ref.dst.label), []).append(ref)
    found: dict[RelRef, str] = {}
    for (src_label, rel_type, dst_label), members in groups.items():
        param = orjson.dumps([(r.src.id, r.dst.id, r.key) for r in members]).decode()
        for index, value in conn.execute(query, (param, src_label, rel_type, dst_label)):
            found[members[index]] = value
    return found


def _complete(conn: sqlite3.Connection, r: IdempotencyRecord) -> bool:
    reserved = None if r.reservation is None else canonical_json(reservation_body(r.reservation))
    row = (r.status_code, canonical_json(r.body), r.at, r.key, r.request_sha256)
    return conn.execute(_COMPLETE_IDEMPOTENCY, (*row, reserved, reserved)).rowcount == 1


def _node_row(w: NodeWrite, provenance: _ProvenanceText) -> tuple[str, ...]:
    return (
        str(w.ref.label),
        w.ref.id,
        canonical_json(w.props),
        provenance(w.provenance),
        w.fingerprint,
    )


def _rel_row(r: RelWrite, provenance: _ProvenanceText) -> tuple[str, ...]:
    ref = r.ref
    return (
        str(ref.src.label),
        ref.src.id,
        str(ref.type),
        str(ref.dst.label),
        ref.dst.id,
        ref.key,
        canonical_json(r.props),
        provenance(r.provenance),
        r.fingerprint,
    )


class _ProvenanceText:
    """Serialise each row's provenance once, however many writes share it, stamped with the
    batch's write id."""

    def __init__(self, write_id: str) -> None:
        self._write_id = write_id
        self._seen: dict[int, tuple[Props, str]] = {}

    def __call__(self, provenance: Props) -> str:
        hit = self._seen.get(id(provenance))
        if hit is None:
            hit = (provenance, canonical_json({**provenance, WRITE_ID: self._write_id}))
            self._seen[id(provenance)] = hit
        return hit[1]


class EmbeddedStore:
    """A GraphStore kept in ``<data_dir>/graph.sqlite``.

    One connection writes (``apply`` and the service records, under a lock, in
    ``BEGIN IMMEDIATE`` transactions). Reads never take that lock: they run on a small pool
    of read-only connections, which WAL lets read beside the writer, each seeing the last
    committed state. ``read_snapshot`` pins one of them to the calling thread inside one
    read transaction, so that a whole investigation reads one state (docs/ARCHITECTURE.md).
    """

    kind = "embedded"

    def __init__(self, path: Path, cache_mb: int = 256, read_connections: int = 4) -> None:
        if read_connections < 1:
            raise ValueError(f"read_connections must be at least 1, not {read_connections}")
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._cache_mb = cache_mb
        self._lock = threading.RLock()  # the writer's: one write transaction at a time
        with _store_errors():
            self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=FULL")
            self._conn.execute(f"PRAGMA cache_size=-{int(cache_mb) * 1024}")
            self._conn.execute("PRAGMA temp_store=FILE")
            self._conn.execute("PRAGMA foreign_keys=OFF")
        # Readers share the page-cache budget, so that the memory of the whole store stays
        # within about twice ``cache_mb`` however many readers are open.
        self._read_cache_kb = max(8 * 1024, int(cache_mb) * 1024 // read_connections)
        self._max_readers = read_connections
        self._idle_readers: queue.LifoQueue[sqlite3.Connection] = queue.LifoQueue()
        self._open_readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        self._pinned = threading.local()  # .conn: this thread's snapshot connection
        # the genealogy as last read, reused while the graph version it was read at holds
        self._genealogy_cache: Genealogy | None = None

    # -- schema ---------------------------------------------------------------------------
    def ensure_schema(self) -> None:
        with self._lock:
            columns = {row[1] for row in self._conn.execute("PRAGMA table_info(analyte_results)")}
            if columns and not columns.issuperset(_RESULT_TABLE_COLUMNS):
                self._conn.executescript(_DROP_RESULTS)
            self._conn.executescript(_SCHEMA.replace("{columns}", _RESULT_COLUMNS))
            with self._transaction() as conn:
                # a store written before the derived table existed fills it once
                if conn.execute("SELECT 1 FROM analyte_results LIMIT 1").fetchone() is None:
                    conn.execute(_BACKFILL_RESULTS)
                # a store written before the audit trail was hash-chained gets its chain
                columns = {row[1] for row in conn.execute("PRAGMA table_info(audit)")}
                for column in ("prev_hash", "hash", WRITE_ID_FIELD):
                    if column not in columns:
                        conn.execute(f"ALTER TABLE audit ADD COLUMN {column} TEXT")
                last = conn.execute("SELECT hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
                if last is not None and last[0] is None:
                    self._chain_unhashed(conn)

    def _chain_unhashed(self, conn: sqlite3.Connection) -> None:
        """Chain the entries written before the chain existed (in the caller's transaction)."""
        (start,) = conn.execute("SELECT min(seq) FROM audit WHERE hash IS NULL").fetchone()
        before = conn.execute(
            "SELECT hash FROM audit WHERE seq < ? ORDER BY seq DESC LIMIT 1", (start,)
        ).fetchone()
        prev = GENESIS if before is None or before[0] is None else before[0]
        after, last_seq = start - 1, start - 1
        while True:
            cur = conn.execute(_AUDIT_PAGE, (after, 10_000))
            names = [c[0] for c in cur.description]
            page = [_audit_dict(names, row) for row in cur.fetchall()]
            if not page:
                break
            updates = []
            for entry in page:
                if entry["hash"] is None:
                    entry["prev_hash"] = prev
                    entry["hash"] = entry_hash(entry)
                    updates.append((prev, entry["hash"], entry["seq"]))
                prev = entry["hash"]
            conn.executemany("UPDATE audit SET prev_hash = ?, hash = ? WHERE seq = ?", updates)
            conn.executemany(_AUDIT_KEY, key_refs(page))
            after = last_seq = page[-1]["seq"]
        conn.execute(_SET_AUDIT_HEAD, (last_seq, prev))

    # -- reads ----------------------------------------------------------------------------
    def _open_reader(self) -> sqlite3.Connection:
        # check_same_thread=False: a pooled reader serves one thread at a time, but not
        # always the thread that opened it
        conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        conn.execute("PRAGMA query_only=ON")
        conn.execute(f"PRAGMA cache_size=-{self._read_cache_kb}")
        conn.execute("PRAGMA temp_store=FILE")
        return conn

    def _take_reader(self) -> sqlite3.Connection:
        try:
            return self._idle_readers.get_nowait()
        except queue.Empty:
            pass
        with self._readers_lock:
            if len(self._open_readers) < self._max_readers:
                conn = self._open_reader()
                self._open_readers.append(conn)
                return conn
        return self._idle_readers.get()  # every reader is busy: wait for the first back

    @contextmanager
    def _reader(self) -> Iterator[sqlite3.Connection]:
        """This thread's snapshot connection, or an idle reader for the time of one read."""
        pinned: sqlite3.Connection | None = getattr(self._pinned, "conn", None)
        if pinned is not None:
            with _store_errors():
                yield pinned
            return
        with _store_errors():
            conn = self._take_reader()
        try:
            with _store_errors():
                yield conn
        finally:
            self._idle_readers.put(conn)

    @contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        """A read-only connection on the store's tables (for graph/ and the tests only: the
        investigations read through the GraphStore methods).

        Inside ``read_snapshot`` it is the snapshot's; writes through it are refused.
        """
        with self._reader() as conn:
            yield conn

    def read_snapshot(self, work: Callable[[], T]) -> T:
        if getattr(self._pinned, "conn", None) is not None:
            return work()  # nested: the outer snapshot holds
        with self._reader() as conn:
            # deferred: the snapshot is taken at the first read and kept to COMMIT
            conn.execute("BEGIN")
            self._pinned.conn = conn
            try:
                return work()
            finally:
                self._pinned.conn = None
                if conn.in_transaction:
                    conn.execute("COMMIT")  # read-only: ends the read transaction

    def opener(self) -> Callable[[], EmbeddedStore]:
        return partial(EmbeddedStore, self.path, self._cache_mb, self._max_readers)

    def check(self) -> None:
        with self._reader() as conn:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()

    def fetch_nodes(self, label: Label, ids: Sequence[str]) -> dict[str, StoredNode]:
        if not ids:
            return {}
        with self._reader() as conn:
            rows = conn.execute(_FETCH_NODES, (json.dumps(list(ids)), str(label))).fetchall()
        return {i: StoredNode(orjson.loads(p), bool(u)) for i, p, u in rows}

    def fetch_node_fingerprints(self, label: Label, ids: Sequence[str]) -> dict[str, str | None]:
        if not ids:
            return {}
        with self._reader() as conn:
            rows = conn.execute(_FETCH_NODE_FPS, (json.dumps(list(ids)), str(label)))
            return {i: None if u else fp for i, fp, u in rows}

    def fetch_lot_units(self, ids: Sequence[str]) -> dict[str, str]:
        if not ids:
            return {}
        with self._reader() as conn:
            rows = conn.execute(_FETCH_LOT_UNITS, (json.dumps(list(ids)),))
            return {i: unit for i, unit in rows if unit is not None}

    def fetch_rels(self, refs: Sequence[RelRef]) -> dict[RelRef, Props]:
        found = self._fetch_rel_column(refs, "r.props")
        return {ref: orjson.loads(p) for ref, p in found.items()}

    def fetch_rel_fingerprints(self, refs: Sequence[RelRef]) -> dict[RelRef, str]:
        return self._fetch_rel_column(refs, "r.fp")

    def _fetch_rel_column(self, refs: Sequence[RelRef], column: str) -> dict[RelRef, str]:
        with self._reader() as conn:
            return _rel_column(conn, refs, column)

    def node_ids(self, label: Label) -> list[str]:
        with self._reader() as conn:
            return [i for (i,) in conn.execute(_NODE_IDS, (str(label),))]

    def linked(
        self, label: Label, ids: Sequence[str], rel_type: RelType, outgoing: bool
    ) -> list[tuple[str, str, str]]:
        query = _LINKED_OUT if outgoing else _LINKED_IN
        wanted = sorted(set(ids))
        found: set[tuple[str, str, str]] = set()
        with self._reader() as conn:
            for start in range(0, len(wanted), _LINKED_CHUNK):
                chunk = json.dumps(wanted[start : start + _LINKED_CHUNK])
                found.update(conn.execute(query, (chunk, str(label), str(rel_type))))
        return sorted(found)

    def linked_rels(
        self, label: Label, ids: Sequence[str], rel_type: RelType, outgoing: bool
    ) -> list[tuple[RelRef, Props]]:
        query = _LINKED_RELS_OUT if outgoing else _LINKED_RELS_IN
        wanted = sorted(set(ids))
        found: dict[RelRef, Props] = {}
        with self._reader() as conn:
            for start in range(0, len(wanted), _LINKED_CHUNK):
                chunk = json.dumps(wanted[start : start + _LINKED_CHUNK])
                for src_label, src, dst_label, dst, key, props in conn.execute(
                    query, (chunk, str(label), str(rel_type))
                ):
                    ref = RelRef(
                        rel_type,
                        NodeRef(Label(src_label), src),
                        NodeRef(Label(dst_label), dst),
                        key,
                    )
                    found[ref] = orjson.loads(props)
        return sorted(found.items())

    def paths(
        self, label: Label, ids: Sequence[str], shapes: Sequence[Shape], with_nodes: bool = False
    ) -> FoundPaths:
        # hop by hop, each shared prefix of the shapes walked once
        starts = sorted(set(ids))
        with self._reader() as conn:
            if () in shapes:  # the start alone: only a node that exists (a hop needs one anyway)
                starts = sorted(i for (i,) in _existing(conn, label, starts))
            walked: dict[Shape, list[tuple[str, ...]]] = {(): [(i,) for i in starts]}
            for shape in shapes:
                for length in range(1, len(shape) + 1):
                    prefix = shape[:length]
                    if prefix not in walked:
                        came_from = shape[length - 2].label if length > 1 else label
                        walked[prefix] = _hop(
                            conn, walked[shape[: length - 1]], came_from, prefix[-1]
                        )
        found = sorted({(index, p) for index, shape in enumerate(shapes) for p in walked[shape]})
        nodes: dict[Label, dict[str, StoredNode]] = {}
        if with_nodes:
            wanted: dict[Label, set[str]] = {}
            for index, p in found:
                labels = (label, *(h.label for h in shapes[index]))
                on_path = list(zip(labels, p, strict=True))
                for node_label, node_id in on_path[1:] or on_path:  # the start: by () only
                    wanted.setdefault(node_label, set()).add(node_id)
            nodes = {lb: self.fetch_nodes(lb, sorted(i)) for lb, i in wanted.items()}
        return FoundPaths(found, nodes)

    def recall_facts(self, lot_ids: Sequence[str], batch_ids: Sequence[str]) -> RecallFacts:
        lots = Label.LOT
        consumed = [
            (ref.src.id, ref.dst.id, props["quantity"])
            for ref, props in self.linked_rels(lots, lot_ids, RelType.CONSUMED_IN, True)
        ]
        shipments = self.linked_rels(lots, lot_ids, RelType.SHIPPED_IN, True)
        shipment_ids = sorted({ref.dst.id for ref, _ in shipments})
        to_customer = {
            s: c for s, c, _ in self.linked(Label.SHIPMENT, shipment_ids, RelType.TO, True)
        }
        scope = ((lots, lot_ids), (Label.BATCH, batch_ids))
        return RecallFacts(
            consumed=consumed,
            shipped=[
                (ref.src.id, ref.dst.id, to_customer.get(ref.dst.id), props["quantity"])
                for ref, props in shipments
            ],
            deviations=[
                (dev, str(label), target)
                for label, ids in scope
                for dev, target, _ in self.linked(label, ids, RelType.AFFECTS, False)
            ],
            documents=[
                (doc, str(label), target)
                for label, ids in scope
                for doc, target, _ in self.linked(label, ids, RelType.CONCERNS, False)
            ],
            holds=[(h, lot) for h, lot, _ in self.linked(lots, lot_ids, RelType.HOLDS, False)],
        )

    def custody_links(self, batch_id: str) -> list[tuple[LinkKey, Link]]:
        """The walk of custody_links.cypher, one hop at a time (each a few index seeks)."""
        found: list[tuple[LinkKey, Link]] = []

        def hop(
            label: Label, ids: Iterable[str], rel_type: RelType, outgoing: bool, other: Label
        ) -> list[Link]:
            rows = [
                (ref.src.id, ref.dst.id, props)
                for ref, props in self.linked_rels(label, sorted(set(ids)), rel_type, outgoing)
            ]
            key = (rel_type, label, other) if outgoing else (rel_type, other, label)
            found.extend((key, row) for row in rows)
            return rows

        batch = [batch_id]
        inputs = {s for s, _, _ in hop(Label.BATCH, batch, RelType.CONSUMED_IN, False, Label.LOT)}
        outputs = {d for _, d, _ in hop(Label.BATCH, batch, RelType.PRODUCED, True, Label.LOT)}
        lots = inputs | outputs
        hop(Label.LOT, lots, RelType.MOVED_TO, True, Label.SITE)
        hop(Label.LOT, lots, RelType.HOLDS, False, Label.HOLD)
        hop(Label.LOT, inputs, RelType.CONCERNS, False, Label.DOCUMENT)
        tested = hop(Label.LOT, lots, RelType.TESTED, False, Label.TEST_RESULT)
        tested += hop(Label.BATCH, batch, RelType.TESTED, False, Label.TEST_RESULT)
        results = {s for s, _, _ in tested}
        hop(Label.TEST_RESULT, results, RelType.REPORTED_IN, True, Label.DOCUMENT)
        affecting = hop(Label.BATCH, batch, RelType.AFFECTS, False, Label.DEVIATION)
        deviations = {s for s, _, _ in affecting}
        concerning = hop(Label.BATCH, batch, RelType.CONCERNS, False, Label.DOCUMENT)
        concerning += hop(Label.DEVIATION, deviations, RelType.CONCERNS, False, Label.DOCUMENT)
        documents = {s for s, _, _ in concerning}
        versions = hop(Label.DOCUMENT, documents, RelType.HAS_VERSION, True, Label.DOCUMENT_VERSION)
        signs = hop(
            Label.DOCUMENT_VERSION,
            {d for _, d, _ in versions},
            RelType.SIGNS,
            False,
            Label.SIGNATURE,
        )
        hop(Label.SIGNATURE, {s for s, _, _ in signs}, RelType.SIGNED, False, Label.PERSON)
        shipped = hop(Label.LOT, outputs, RelType.SHIPPED_IN, True, Label.SHIPMENT)
        hop(Label.SHIPMENT, {d for _, d, _ in shipped}, RelType.TO, True, Label.CUSTOMER)
        return found

    def recall_view(self, lot_ids: Sequence[str]) -> RecallView:
        # in-process reads: the primitives one after the other, in one read transaction
        return self.read_snapshot(lambda: compose_recall_view(self, lot_ids))

    def trace_reach(
        self, lot_ids: Sequence[str], forward: bool, with_sites: bool = True
    ) -> tuple[set[TraceEdge], TraceSites]:
        # the edges and the sites are two statements: one read transaction keeps them one state
        return self.read_snapshot(lambda: self._trace_reach(lot_ids, forward, with_sites))

    def _trace_reach(
        self, lot_ids: Sequence[str], forward: bool, with_sites: bool
    ) -> tuple[set[TraceEdge], TraceSites]:
        roots = sorted(set(lot_ids))
        query = _TRACE_FORWARD if forward else _TRACE_BACKWARD
        with self._reader() as conn:
            edges: set[TraceEdge] = set(conn.execute(query, (json.dumps(roots),)))
            if not with_sites:
                return edges, {}
            wanted: dict[str, set[str]] = {"Lot": set(roots), "Batch": set()}
            for a, rel_type, b in edges:
                for label, node in zip(_TRACE_ENDS[rel_type], (a, b), strict=True):
                    if label is not None:
                        wanted[label].add(node)
            sites: TraceSites = {}
            for label, ids in wanted.items():
                ordered = sorted(ids)
                for start in range(0, len(ordered), _LINKED_CHUNK):
                    chunk = json.dumps(ordered[start : start + _LINKED_CHUNK])
                    for node_id, site in conn.execute(_TRACE_SITES, (chunk, label)):
                        sites[(label, node_id)] = site
        return edges, sites

    def genealogy(self) -> Genealogy:
        return self.read_snapshot(self._genealogy)

    def _genealogy(self) -> Genealogy:
        with self._reader() as conn:
            (version,) = conn.execute(_GRAPH_VERSION).fetchone()
            cached = self._genealogy_cache
            if cached is not None and cached.version == version:
                return cached
            pairs = {name: conn.execute(sql).fetchall() for name, sql in _GENEALOGY.items()}
            nodes = {
                label: [i for (i,) in conn.execute(_GENEALOGY_NODES, (label,))]
                for label in _GENEALOGY_LABELS
            }
        loaded = Genealogy.from_pairs(version, nodes, **pairs)
        self._genealogy_cache = loaded
        return loaded

    def analyte_rows(self, analyte: str) -> AnalyteRows:
        with self._reader() as conn:
            rows = conn.execute(_ANALYTE_ROWS, (analyte,)).fetchall()
        return AnalyteRows.from_tuples(rows, _makers)

    def stats(self) -> GraphStats:
        return self.read_snapshot(self._stats)

    def _stats(self) -> GraphStats:
        with self._reader() as conn:
            nodes = dict(conn.execute("SELECT label, count(*) FROM nodes GROUP BY label"))
            rels = dict(conn.execute("SELECT type, count(*) FROM rels GROUP BY type"))
        return GraphStats(
            nodes={str(k): int(v) for k, v in sorted(nodes.items())},
            relationships={str(k): int(v) for k, v in sorted(rels.items())},
            unresolved=self.unresolved_count(),
        )

    def content_sha256(self) -> str:
        with self._reader() as conn:
            nodes = [
                (label, i, bool(u), orjson.loads(props))
                for label, i, u, props in conn.execute(
                    "SELECT label, id, unresolved, props FROM nodes"
                )
            ]
            rels = [
                (t, sl, si, dl, di, k, orjson.loads(props))
                for t, sl, si, dl, di, k, props in conn.execute(
                    "SELECT type, src_label, src_id, dst_label, dst_id, key, props FROM rels"
                )
            ]
        return content_digest(nodes, rels)

    def write_counts(self) -> dict[str | None, tuple[int, int]]:
        with self._reader() as conn:
            nodes = dict(conn.execute(_WRITE_COUNTS.format(table="nodes")).fetchall())
            rels = dict(conn.execute(_WRITE_COUNTS.format(table="rels")).fetchall())
        return {w: (int(nodes.get(w, 0)), int(rels.get(w, 0))) for w in {*nodes, *rels}}

    def written_by(self, write_ids: Sequence[str | None], limit: int) -> list[str]:
        wanted = json.dumps(["" if w is None else w for w in write_ids])
        with self._reader() as conn:
            nodes = conn.execute(_WRITTEN_NODES, (wanted, limit)).fetchall()
            rels = conn.execute(_WRITTEN_RELS, (wanted, max(0, limit - len(nodes))))
            rel_rows = rels.fetchall()
        return [f"{label}:{i}" for label, i in nodes] + [
            f"{sl}:{si}-{t}->{dl}:{di}" + (f"#{k}" if k else "")
            for t, sl, si, dl, di, k in rel_rows
        ]

    def unresolved_count(self) -> int:
        with self._reader() as conn:
            (n,) = conn.execute("SELECT count(*) FROM nodes WHERE unresolved = 1").fetchone()
        return int(n)

    def audit_entries(self, after: int = 0, limit: int | None = None) -> list[dict[str, Any]]:
        _check_limit(limit)
        with self._reader() as conn:
            cur = conn.execute(_AUDIT_PAGE, (after, -1 if limit is None else limit))
            names = [c[0] for c in cur.description]  # LIMIT -1: no limit
            rows = cur.fetchall()
        return [_audit_dict(names, row) for row in rows]

    def audit_page(self, query: AuditQuery, after: int, limit: int) -> list[dict[str, Any]]:
        _check_limit(limit)
        conditions: list[str] = []
        params: list[Any] = [after]
        if query.actor is not None:
            conditions.append(_AUDIT_BY_ACTOR)
            params.append(query.actor)
        if query.action is not None:
            conditions.append(_AUDIT_BY_ACTION)
            params.append(query.action)
        among, not_among = query.class_actions()
        if among is not None:
            conditions.append(_AUDIT_IN_ACTIONS)
            params.append(json.dumps(among))
        if not_among is not None:
            conditions.append(_AUDIT_NOT_IN_ACTIONS)
            params.append(json.dumps(not_among))
        if query.since is not None:
            conditions.append(_AUDIT_SINCE)
            params.append(query.since)
        if query.until is not None:
            conditions.append(_AUDIT_UNTIL)
            params.append(query.until)
        if query.key is not None:
            conditions.append(_AUDIT_BY_KEY)
            params += [query.key, query.key]
        sql = _AUDIT_FILTERED.format(conditions="".join(conditions))
        with self._reader() as conn:
            cur = conn.execute(sql, (*params, limit))
            names = [c[0] for c in cur.description]
            rows = cur.fetchall()
        return [_audit_dict(names, row) for row in rows]

    def audit_trail(self, page_size: int = 10_000) -> Iterator[dict[str, Any]]:
        after = 0
        while page := self.audit_entries(after=after, limit=page_size):
            yield from page
            after = page[-1]["seq"]

    def audit_head(self) -> Head | None:
        with self._reader() as conn:
            row = conn.execute("SELECT seq, hash FROM audit_head").fetchone()
        return None if row is None else Head(int(row[0]), str(row[1]))

    def audit_for_keys(self, keys: Sequence[str], limit: int | None = None) -> list[dict[str, Any]]:
        _check_limit(limit)
        if not keys:
            return []
        wanted = json.dumps(sorted(set(keys)))
        with self._reader() as conn:
            cur = conn.execute(_AUDIT_FOR_KEYS, (wanted, wanted, -1 if limit is None else limit))
            names = [c[0] for c in cur.description]
            rows = cur.fetchall()
        return [_audit_dict(names, row) for row in rows]

    def rejections(self, ingest_id: str | None = None) -> list[dict[str, Any]]:
        sql = "SELECT ingest_id, file, row, col, reason FROM rejections"
        params: tuple[str, ...] = ()
        if ingest_id is not None:
            sql += " WHERE ingest_id = ?"
            params = (ingest_id,)
        with self._reader() as conn:
            rows = conn.execute(sql + " ORDER BY ingest_id, seq", params).fetchall()
        return [
            {"ingest_id": i, "file": f, "row": r, "column": c, "reason": why}
            for i, f, r, c, why in rows
        ]

    def rejections_page(self, after: tuple[str, int] | None, limit: int) -> list[dict[str, Any]]:
        _check_limit(limit)
        with self._reader() as conn:
            if after is None:
                rows = conn.execute(_REJECTIONS_FIRST, (limit,)).fetchall()
            else:
                after_id, after_seq = after
                rows = conn.execute(_REJECTIONS_AFTER, (after_id, after_seq, limit)).fetchall()
        return [
            {"ingest_id": i, "seq": q, "file": f, "row": r, "column": c, "reason": why}
            for i, q, f, r, c, why in rows
        ]

    # -- service records ------------------------------------------------------------------
    def get_account(self, name: str) -> Account | None:
        with self._reader() as conn:
            row = conn.execute(_ACCOUNT_BY_NAME, (name,)).fetchone()
        return None if row is None else _account(row)

    def find_account_by_key_id(self, key_id: str) -> Account | None:
        with self._reader() as conn:
            row = conn.execute(_ACCOUNT_BY_KEY_ID, (key_id,)).fetchone()
        return None if row is None else _account(row)

    def list_accounts(self) -> list[Account]:
        with self._reader() as conn:
            rows = conn.execute(_SELECT_ACCOUNTS).fetchall()
        # sorted here, by code point, so that both stores order names alike
        return sorted((_account(r) for r in rows), key=lambda a: a.name)

    def save_account(self, account: Account, audit: AuditEntry | None) -> None:
        a = account
        row = (
            a.name,
            a.role,
            canonical_json(list(a.sites)),
            a.kind,
            a.secret_hash,
            int(a.disabled),
            a.created_at,
            a.updated_at,
            a.failed_sign_ins,
            a.locked_until,
            a.key_id,
        )
        with self._lock, self._transaction() as conn:
            if audit is not None:
                self._append_audit(conn, [audit])
            try:
                conn.execute(_SAVE_ACCOUNT, row)
            except sqlite3.IntegrityError as exc:
                if "accounts.key_id" in str(exc):
                    raise KeyIdInUse(a.key_id) from exc
                raise

    def create_session(self, session: BrowserSession, audit: AuditEntry) -> None:
        x = session
        row = (x.id_sha256, x.account, x.created_at, x.expires_at, x.account_updated_at, x.ended_at)
        with self._lock, self._transaction() as conn:
            try:
                conn.execute(_INSERT_SESSION, row)
            except sqlite3.IntegrityError:
                raise SessionExists(x.id_sha256[:16]) from None
            self._append_audit(conn, [audit])

    def get_session(self, id_sha256: str) -> BrowserSession | None:
        with self._reader() as conn:
            row = conn.execute(_SELECT_SESSION, (id_sha256,)).fetchone()
        return None if row is None else BrowserSession(*row)

    def end_session(self, id_sha256: str, at: str, audit: AuditEntry) -> bool:
        with self._lock, self._transaction() as conn:
            if conn.execute(_END_SESSION, (at, id_sha256)).rowcount != 1:
                return False
            self._append_audit(conn, [audit])
        return True

    def fetch_idempotency(self, key: str) -> IdempotencyRecord | None:
        with self._reader() as conn:
            row = conn.execute(_SELECT_IDEMPOTENCY, (key,)).fetchone()
        return None if row is None else _idempotency(row)

    def save_idempotency(self, record: IdempotencyRecord) -> IdempotencyRecord:
        r = record
        row = (r.key, r.actor, r.request_sha256, r.status_code, canonical_json(r.body), r.at)
        with self._lock, self._transaction() as conn:
            conn.execute(_SAVE_IDEMPOTENCY, row)
            stored = conn.execute(_SELECT_IDEMPOTENCY, (r.key,)).fetchone()
        return _idempotency(stored)

    def complete_idempotency(self, record: IdempotencyRecord) -> bool:
        with self._lock, self._transaction() as conn:
            return _complete(conn, record)

    def take_over_idempotency(self, stale: IdempotencyRecord, fresh: IdempotencyRecord) -> bool:
        row = (canonical_json(fresh.body), fresh.at, stale.key, stale.request_sha256)
        with self._lock, self._transaction() as conn:
            done = conn.execute(_TAKE_OVER_IDEMPOTENCY, (*row, canonical_json(stale.body)))
            return done.rowcount == 1

    # -- the sign-in counter (BEGIN IMMEDIATE: one writer at a time, whichever process) ---
    def record_sign_in_failure(
        self, name: str, at: str, limit: int, lock_until: str
    ) -> SignInFailure | None:
        params = {"name": name, "at": at, "limit": limit, "lock_until": lock_until}
        with self._lock, self._transaction() as conn:
            row = conn.execute(_COUNT_SIGN_IN_FAILURE, params).fetchone()
            if row is None:  # no such password account, or locked: nothing counted
                state = conn.execute(_SIGN_IN_STATE, (name, "password")).fetchone()
                if state is None:
                    return None
                return SignInFailure(int(state[0]), state[1], counted=False, locked_now=False)
            failures, locked = int(row[0]), row[1]
            failure = SignInFailure(failures, locked, counted=True, locked_now=locked is not None)
            self._append_audit(conn, failure_audit(name, failure, limit))
        return failure

    def record_sign_in_success(self, name: str, at: str) -> bool:
        with self._lock, self._transaction() as conn:
            conn.execute(_CLEAR_SIGN_IN_FAILURES, {"name": name, "at": at})
            row = conn.execute(_LOCKED_UNTIL, (name,)).fetchone()
        return row is not None and (row[0] is None or row[0] <= at)

    def unlock_account(self, name: str, by: str) -> Account | None:
        with self._lock, self._transaction() as conn:
            row = conn.execute(_ACCOUNT_BY_NAME, (name,)).fetchone()
            if row is None:
                return None
            before = _account(row)
            conn.execute(
                "UPDATE accounts SET failed_sign_ins = 0, locked_until = NULL WHERE name = ?",
                (name,),
            )
            audit = unlock_audit(name, by, before.failed_sign_ins, before.locked_until)
            self._append_audit(conn, [audit])
            return _account(conn.execute(_ACCOUNT_BY_NAME, (name,)).fetchone())

    # -- writes ---------------------------------------------------------------------------
    def apply(self, batch: WriteBatch) -> None:
        if not batch:
            return
        batch.check_audited()
        with self._lock, self._transaction() as conn:
            # BEGIN IMMEDIATE holds the write lock from here on, whichever process asks:
            # what the expectations are checked against is what the writes replace.
            self._check_expected(conn, batch)
            for drop in batch.drops:
                sql = _DROP_OUT if drop.outgoing else _DROP_IN
                conn.execute(sql, (str(drop.node.label), drop.node.id, str(drop.type)))
            provenance = _ProvenanceText(batch.write_id)
            created = [w for w in batch.nodes if w.expected == ABSENT]
            replaced = [w for w in batch.nodes if w.expected != ABSENT]
            try:
                conn.executemany(_INSERT_NODE, [_node_row(w, provenance) for w in created])
            except sqlite3.IntegrityError:
                raise AlreadyExists(self._taken_nodes(conn, created)) from None
            conn.executemany(_UPSERT_NODE, [_node_row(w, provenance) for w in replaced])
            placeholders = [
                (str(node.label), node.id, provenance(prov))
                for node, prov in batch.placeholders().items()
            ]
            conn.executemany(_PLACEHOLDER, placeholders)
            new_rels = [r for r in batch.rels if r.expected == ABSENT]
            try:
                conn.executemany(_INSERT_REL, [_rel_row(r, provenance) for r in new_rels])
            except sqlite3.IntegrityError:
                raise AlreadyExists(self._taken_rels(conn, new_rels)) from None
            conn.executemany(
                _UPSERT_REL, [_rel_row(r, provenance) for r in batch.rels if r.expected != ABSENT]
            )
            write_id = batch.write_id if batch.writes_content() else None
            self._append_audit(conn, batch.audit, write_id)
            if batch.answer is not None and not _complete(conn, batch.answer):
                # the reservation is gone or was answered: a bug, never a client's doing
                raise RuntimeError(f"Idempotency-Key {batch.answer.key!r}: no reservation")

    def _check_expected(self, conn: sqlite3.Connection, batch: WriteBatch) -> None:
        """Raise WriteConflict when a write that expects a placeholder or a content finds
        other (create-only writes are checked by their INSERT)."""
        found: dict[NodeRef | RelRef, str] = {}
        by_label: dict[str, dict[str, str]] = {}
        for w in batch.nodes:
            if w.expected not in (ANY, ABSENT):
                by_label.setdefault(w.ref.label, {})[w.ref.id] = w.expected
        for label, wanted in by_label.items():
            rows = conn.execute(_FETCH_NODE_FPS, (json.dumps(list(wanted)), label))
            stored = {i: PLACEHOLDER if u else fp for i, fp, u in rows}
            for node_id, expected in wanted.items():
                now = stored.get(node_id, ABSENT)
                if now != expected:
                    found[NodeRef(Label(label), node_id)] = now
        checked = [r for r in batch.rels if r.expected not in (ANY, ABSENT)]
        if checked:
            stored_rels = _rel_column(conn, [r.ref for r in checked], "r.fp")
            for r in checked:
                now = stored_rels.get(r.ref, ABSENT)
                if now != r.expected:
                    found[r.ref] = now
        if found:
            raise WriteConflict(found)

    @staticmethod
    def _taken_nodes(
        conn: sqlite3.Connection, writes: Sequence[NodeWrite]
    ) -> dict[NodeRef | RelRef, str]:
        taken: dict[NodeRef | RelRef, str] = {}
        by_label: dict[str, list[str]] = {}
        for w in writes:
            by_label.setdefault(w.ref.label, []).append(w.ref.id)
        for label, ids in by_label.items():
            for i, fp, u in conn.execute(_FETCH_NODE_FPS, (json.dumps(ids), label)):
                taken[NodeRef(Label(label), i)] = PLACEHOLDER if u else fp
        return taken

    @staticmethod
    def _taken_rels(
        conn: sqlite3.Connection, writes: Sequence[RelWrite]
    ) -> dict[NodeRef | RelRef, str]:
        stored = _rel_column(conn, [r.ref for r in writes], "r.fp")
        return {ref: fp for ref, fp in stored.items()}

    def _append_audit(
        self, conn: sqlite3.Connection, audit: Sequence[AuditEntry], write_id: str | None = None
    ) -> None:
        """Link the entries after the head and append them (in the caller's transaction).

        The transaction is BEGIN IMMEDIATE: it holds SQLite's write lock from its start, so
        the head read here is the last one written, whichever process wrote it.
        """
        if not audit:
            return
        row = conn.execute("SELECT seq, hash FROM audit_head").fetchone()
        if row is None:  # no head kept (yet): the last entry, if any, is the head
            row = conn.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
        if row is not None and row[1] is None:  # entries from before the chain: chain them
            self._chain_unhashed(conn)
            row = conn.execute("SELECT seq, hash FROM audit_head").fetchone()
        head = None if row is None else Head(int(row[0]), row[1])
        entries = pending_entries(audit, utc_now(), write_id)
        new_head = link(entries, head)
        conn.executemany(_AUDIT, [_audit_row(e) for e in entries])
        conn.executemany(_AUDIT_KEY, key_refs(entries))
        conn.execute(_SET_AUDIT_HEAD, new_head)

    def record_ingest(
        self, report: Mapping[str, Any], rejections: Iterable[Mapping[str, Any]]
    ) -> None:
        ingest_id = str(report["ingest_id"])
        with self._lock, self._transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO ingests (id, at, report) VALUES (?, ?, ?)",
                (ingest_id, utc_now(), canonical_json(dict(report))),
            )
            conn.executemany(
                "INSERT OR REPLACE INTO rejections (ingest_id, seq, file, row, col, reason) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (ingest_id, seq, r["file"], r["row"], r["column"], r["reason"])
                    for seq, r in enumerate(rejections)
                ],
            )

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        conn = self._conn
        with _store_errors():
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._conn.close()
        with self._readers_lock:
            for conn in self._open_readers:
                conn.close()
            self._open_readers.clear()
