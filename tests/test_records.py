"""Service records on both stores: accounts, idempotency records, audit and rejection pages."""

from __future__ import annotations

from typing import Any

import pytest

from graph.neo4j_store import Neo4jStore
from graph.records import Account, IdempotencyRecord, KeyIdInUse
from graph.store import AuditEntry, GraphStore, WriteBatch


def _account(name: str, **changes: Any) -> Account:
    fields: dict[str, Any] = {
        "name": name,
        "role": "investigator",
        "sites": ["SITE-A", "SITE-B"],
        "kind": "password",
        "secret_hash": f"$argon2id$v=19$m=65536,t=3,p=4${name}",
        "disabled": False,
        "created_at": "2026-01-02T03:04:05.000Z",
        "updated_at": "2026-01-02T03:04:05.000Z",
    }
    fields.update(changes)
    return Account(**fields)


def _audit(key: str, action: str = "create") -> AuditEntry:
    return AuditEntry(
        actor="admin",
        action=action,
        entity="Account",
        key=key,
        old=None,
        new={"role": "qa", "sites": ["SITE-A"]},
        reason="on request",
        source="cli",
    )


# -- accounts ----------------------------------------------------------------------------


def test_an_account_round_trips_with_every_field(store: GraphStore) -> None:
    full = _account(
        "alice",
        role="qa",
        sites=["SITE-B", "SITE-A", "SITE-Ü"],
        kind="api_key",
        disabled=True,
        failed_sign_ins=3,
        locked_until="2026-01-02T04:00:00.000Z",
        key_id="lgk_a1b2c3",
    )
    bare = _account("bob", sites=[])
    store.save_account(full, None)
    store.save_account(bare, None)
    assert store.get_account("alice") == full
    assert store.get_account("bob") == bare
    assert store.get_account("carol") is None


def test_saving_an_account_again_replaces_it(store: GraphStore) -> None:
    store.save_account(
        _account(
            "alice", kind="api_key", key_id="lgk_old", locked_until="2026-05-01T00:00:00.000Z"
        ),
        None,
    )
    newer = _account(
        "alice",
        role="auditor",
        sites=["SITE-C"],
        secret_hash="$argon2id$new",
        updated_at="2026-02-01T00:00:00.000Z",
        failed_sign_ins=1,
    )
    store.save_account(newer, None)
    assert store.get_account("alice") == newer
    assert store.find_account_by_key_id("lgk_old") is None
    assert store.list_accounts() == [newer]


def test_an_account_is_found_by_its_key_id(store: GraphStore) -> None:
    one = _account("svc-erp", kind="api_key", role="integrator", key_id="lgk_erp")
    two = _account("svc-lims", kind="api_key", role="integrator", key_id="lgk_lims")
    store.save_account(one, None)
    store.save_account(two, None)
    store.save_account(_account("alice"), None)  # no key_id
    assert store.find_account_by_key_id("lgk_erp") == one
    assert store.find_account_by_key_id("lgk_lims") == two
    assert store.find_account_by_key_id("lgk_nope") is None


def test_accounts_are_listed_by_name(store: GraphStore) -> None:
    assert store.list_accounts() == []
    for name in ("carol", "alice", "bob", "Zed"):
        store.save_account(_account(name), None)
    listed = store.list_accounts()
    assert [a.name for a in listed] == ["Zed", "alice", "bob", "carol"]
    assert listed[1] == _account("alice")


def test_service_records_are_not_part_of_the_graph_statistics(store: GraphStore) -> None:
    store.save_account(_account("alice", kind="api_key", key_id="lgk_a"), _audit("alice"))
    store.save_idempotency(IdempotencyRecord("k-1", "alice", "ab" * 32, 201, {"ok": True}, "t"))
    stats = store.stats()
    assert stats.nodes == {} and stats.relationships == {} and stats.unresolved == 0


def test_an_account_kind_is_password_or_api_key() -> None:
    with pytest.raises(ValueError, match="kind"):
        _account("alice", kind="token")


# -- save_account and the audit trail: both or neither ------------------------------------


def test_save_account_appends_its_audit_entry(store: GraphStore) -> None:
    store.save_account(_account("alice"), _audit("alice"))
    store.save_account(_account("bob"), None)
    (entry,) = store.audit_entries()
    assert entry["seq"] == 1
    assert (entry["actor"], entry["action"], entry["entity"], entry["key"]) == (
        "admin",
        "create",
        "Account",
        "alice",
    )
    assert entry["old"] is None and entry["new"] == {"role": "qa", "sites": ["SITE-A"]}
    assert (entry["reason"], entry["source"]) == ("on request", "cli")
    assert isinstance(entry["at"], str) and entry["at"].endswith("Z")


def test_a_key_id_clash_writes_neither_the_account_nor_its_audit_entry(
    store: GraphStore,
) -> None:
    """The account write fails inside the transaction, after the audit entry was added to it."""
    holder = _account("svc-erp", kind="api_key", key_id="lgk_shared")
    store.save_account(holder, _audit("svc-erp"))
    store.save_account(_account("alice"), _audit("alice"))
    before = store.audit_entries()
    assert len(before) == 2

    with pytest.raises(KeyIdInUse):  # a new account
        store.save_account(
            _account("svc-lims", kind="api_key", key_id="lgk_shared"), _audit("svc-lims")
        )
    with pytest.raises(KeyIdInUse):  # an update of an existing one
        store.save_account(
            _account("alice", kind="api_key", key_id="lgk_shared"), _audit("alice", "update")
        )

    assert store.audit_entries() == before
    assert store.get_account("svc-lims") is None
    assert store.get_account("alice") == _account("alice")
    assert store.find_account_by_key_id("lgk_shared") == holder
    # nothing of the failed transactions is left either, e.g. a consumed sequence number
    store.save_account(_account("carol"), _audit("carol"))
    assert [e["seq"] for e in store.audit_entries()] == [1, 2, 3]


# -- idempotency --------------------------------------------------------------------------


def test_the_first_idempotency_record_under_a_key_wins(store: GraphStore) -> None:
    assert store.fetch_idempotency("req-1") is None
    first = IdempotencyRecord(
        key="req-1",
        actor="svc-erp",
        request_sha256="0f" * 32,
        status_code=202,
        body={
            "ingest_id": "ING-1",
            "files": {"lots.csv": {"accepted": 2}},
            "note": "Ü ✓",
            "n": [1, 2.5],
        },
        at="2026-03-01T10:00:00.000Z",
    )
    second = IdempotencyRecord(
        key="req-1",
        actor="svc-lims",
        request_sha256="aa" * 32,
        status_code=409,
        body={"error": "other"},
        at="2026-03-01T10:00:01.000Z",
    )
    assert store.save_idempotency(first) == first
    assert store.save_idempotency(second) == first
    assert store.fetch_idempotency("req-1") == first
    other = IdempotencyRecord("req-2", "svc-lims", "bb" * 32, 200, {}, "2026-03-01T10:00:02.000Z")
    assert store.save_idempotency(other) == other
    assert store.fetch_idempotency("req-2") == other


# -- audit pages --------------------------------------------------------------------------


def test_audit_entries_are_paged_by_sequence_number(store: GraphStore) -> None:
    store.apply(WriteBatch(audit=[_audit(f"A-{i}") for i in range(5)]))
    everything = store.audit_entries()
    assert [e["seq"] for e in everything] == [1, 2, 3, 4, 5]
    assert [e["key"] for e in everything] == [f"A-{i}" for i in range(5)]
    assert store.audit_entries(after=2) == everything[2:]
    assert store.audit_entries(after=1, limit=2) == everything[1:3]
    assert store.audit_entries(limit=3) == everything[:3]
    assert store.audit_entries(after=0, limit=10) == everything
    assert store.audit_entries(after=5) == []
    assert store.audit_entries(limit=0) == []
    with pytest.raises(ValueError):
        store.audit_entries(limit=-1)


# -- rejection pages ----------------------------------------------------------------------


def _rejection(file: str, row: int) -> dict[str, Any]:
    return {"file": file, "row": row, "column": "quantity", "reason": f"not a number (row {row})"}


def test_rejections_are_paged_across_ingests_by_ingest_and_sequence(store: GraphStore) -> None:
    # recorded out of order, so the order read back comes from the store, not from insertion
    store.record_ingest({"ingest_id": "ING-B"}, [_rejection("lots.csv", r) for r in (7, 3, 5)])
    store.record_ingest({"ingest_id": "ING-C"}, [])
    store.record_ingest({"ingest_id": "ING-A"}, [_rejection("batches.csv", r) for r in (2, 9)])

    def row(ingest_id: str, seq: int, file: str, r: int) -> dict[str, Any]:
        return {"ingest_id": ingest_id, "seq": seq, **_rejection(file, r)}

    a0, a1 = row("ING-A", 0, "batches.csv", 2), row("ING-A", 1, "batches.csv", 9)
    b0, b1, b2 = (row("ING-B", i, "lots.csv", r) for i, r in enumerate((7, 3, 5)))

    assert store.rejections_page(None, 100) == [a0, a1, b0, b1, b2]
    assert store.rejections_page(None, 2) == [a0, a1]
    assert store.rejections_page(("ING-A", 1), 2) == [b0, b1]
    assert store.rejections_page(("ING-B", 1), 2) == [b2]
    assert store.rejections_page(("ING-B", 2), 2) == []
    # strictly after the cursor, which need not name a stored row
    assert store.rejections_page(("ING-A", 0), 2) == [a1, b0]
    assert store.rejections_page(("ING-AB", 0), 1) == [b0]
    assert store.rejections_page(("ING-A", -1), 1) == [a0]
    assert store.rejections_page(None, 0) == []

    walked: list[dict[str, Any]] = []
    cursor: tuple[str, int] | None = None
    while page := store.rejections_page(cursor, 2):
        walked += page
        cursor = (page[-1]["ingest_id"], page[-1]["seq"])
    assert walked == [a0, a1, b0, b1, b2]


# -- Neo4j: the test helper clear() --------------------------------------------------------


@pytest.mark.neo4j
def test_clear_removes_the_service_records(neo4j_store: Neo4jStore) -> None:
    neo4j_store.save_account(_account("alice", kind="api_key", key_id="lgk_a"), _audit("alice"))
    neo4j_store.save_idempotency(IdempotencyRecord("k-1", "alice", "cd" * 32, 200, {}, "t"))
    neo4j_store.clear()
    assert neo4j_store.list_accounts() == []
    assert neo4j_store.find_account_by_key_id("lgk_a") is None
    assert neo4j_store.fetch_idempotency("k-1") is None
    assert neo4j_store.audit_entries() == []
