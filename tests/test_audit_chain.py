"""The hash-chained audit trail on both stores, and tampering with it behind their back.

A trail written the way the service writes it (ingests, account changes, access batches)
verifies; then each test changes the store directly (SQL on the embedded file, Cypher on
Neo4j) the way someone with database access could, and the verifier names the first
entry that fails.
"""

from __future__ import annotations

import csv
import hashlib
import json
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from graph.audit_chain import (
    GENESIS,
    HASHED_FIELDS,
    Head,
    entry_hash,
    jcs,
    json_text,
    verify_chain,
    verify_store,
)
from graph.canonical import NotCanonical, sha256_hex
from graph.embedded import EmbeddedStore
from graph.neo4j_store import Neo4jStore
from graph.records import Account
from graph.store import AuditEntry, GraphStore, WriteBatch
from ingest.loader import ingest_bundle
from tests.bundles import MATERIALS, lot, write_bundle
from tests.test_cli import run, run_json

# -- writing a trail ----------------------------------------------------------------------


def _account(name: str, role: str = "investigator") -> Account:
    return Account(
        name=name,
        role=role,
        sites=["SITE-A"],
        kind="password",
        secret_hash=f"$argon2id$v=19$m=65536,t=3,p=4${name}",
        disabled=False,
        created_at="2026-01-02T03:04:05.000Z",
        updated_at="2026-01-02T03:04:05.000Z",
    )


def _access(key: str, path: str = "/lots/x", status: int = 200) -> AuditEntry:
    return AuditEntry(
        actor="alice",
        action="read",
        entity="/lots/{lot_id}",
        key=key,
        old=None,
        new={"method": "GET", "path": path, "query": "", "status": status},
        reason="access",
        source="api",
    )


def _write_trail(store: GraphStore, tmp_path: Path) -> int:
    """Ingests (summaries and updates), account changes and access batches; the entry count."""
    first = write_bundle(
        tmp_path / "v1", {"materials.csv": MATERIALS, "lots.csv": [lot("L-1"), lot("L-2")]}
    )
    ingest_bundle(store, first, actor="integrator")
    second = write_bundle(
        tmp_path / "v2",
        {"lots.csv": [lot("L-1", quantity="90.5"), lot("L-2", status="on_hold")]},
    )
    ingest_bundle(store, second, actor="integrator")
    store.save_account(
        _account("bob"),
        AuditEntry("admin", "create", "Account", "bob", None, {"role": "investigator"}, "", "cli"),
    )
    store.save_account(
        _account("bob", role="qa"),
        AuditEntry(
            "admin",
            "update",
            "Account",
            "bob",
            {"role": "investigator"},
            {"role": "qa", "note": "Ü ✓ \U0001f600"},
            "promotion",
            "cli",
        ),
    )
    store.apply(WriteBatch(audit=[_access("L-1"), _access("L-1,L-2", "/investigations/recall")]))
    store.apply(WriteBatch(audit=[_access(f"L-{i}") for i in range(3, 6)]))
    return len(store.audit_entries())


@pytest.fixture
def trail(store: GraphStore, tmp_path: Path) -> int:
    n = _write_trail(store, tmp_path)
    assert n >= 10
    result = verify_store(store)
    assert result.ok, result
    return n


# -- tampering behind the store's back ----------------------------------------------------


class Tamper:
    """Direct writes to a store's audit entries, as someone with database access makes them."""

    def __init__(self, store: GraphStore) -> None:
        self.store = store

    def _sql(self, sql: str, *params: Any) -> None:
        assert isinstance(self.store, EmbeddedStore)
        conn = sqlite3.connect(self.store.path)
        with conn:
            conn.execute(sql, params)
        conn.close()

    def _cypher(self, query: str, **params: Any) -> None:
        assert isinstance(self.store, Neo4jStore)
        self.store.driver.execute_query(query, parameters_=params, database_=self.store.database)

    @property
    def embedded(self) -> bool:
        return isinstance(self.store, EmbeddedStore)

    def set(self, seq: int, **fields: Any) -> None:
        """Overwrite stored fields (old and new given as values, stored as their JSON text)."""
        stored = {k: json_text(v) if k in ("old", "new") else v for k, v in fields.items()}
        if self.embedded:
            for name, value in stored.items():
                assert name in HASHED_FIELDS + ("hash", "write_id")
                self._sql(f"UPDATE audit SET {name} = ? WHERE seq = ?", value, seq)  # noqa: S608
        else:
            self._cypher("MATCH (a:AuditEntry {seq: $seq}) SET a += $props", seq=seq, props=stored)

    def delete(self, seq: int) -> None:
        if self.embedded:
            self._sql("DELETE FROM audit WHERE seq = ?", seq)
        else:
            self._cypher("MATCH (a:AuditEntry {seq: $seq}) DELETE a", seq=seq)

    def swap(self, x: int, y: int) -> None:
        """Exchange the seq of two entries (each keeps its content and hashes)."""
        if self.embedded:
            self._sql("UPDATE audit SET seq = -1 WHERE seq = ?", x)
            self._sql("UPDATE audit SET seq = ? WHERE seq = ?", x, y)
            self._sql("UPDATE audit SET seq = ? WHERE seq = -1", y)
        else:
            self._cypher(
                "MATCH (a:AuditEntry {seq: $x}), (b:AuditEntry {seq: $y}) "
                "SET a.seq = -1 WITH a, b SET b.seq = $x WITH a SET a.seq = $y",
                x=x,
                y=y,
            )

    def shift_from(self, seq: int) -> None:
        """Renumber the entries from seq on one up, making room for an insertion."""
        last = len(self.store.audit_entries())
        for s in range(last, seq - 1, -1):
            if self.embedded:
                self._sql("UPDATE audit SET seq = seq + 1 WHERE seq = ?", s)
            else:
                self._cypher("MATCH (a:AuditEntry {seq: $s}) SET a.seq = $s + 1", s=s)

    def insert(self, entry: dict[str, Any]) -> None:
        stored = {**entry, "old": json_text(entry["old"]), "new": json_text(entry["new"])}
        if self.embedded:
            names = ", ".join(stored)
            marks = ", ".join("?" for _ in stored)
            self._sql(f"INSERT INTO audit ({names}) VALUES ({marks})", *stored.values())  # noqa: S608
        else:
            self._cypher("CREATE (a:AuditEntry) SET a = $props", props=stored)


def _forged(seq: int, prev_hash: str) -> dict[str, Any]:
    """An entry made by someone who knows how the chain is computed."""
    entry: dict[str, Any] = {
        "seq": seq,
        "at": "2026-02-01T00:00:00.000Z",
        "actor": "mallory",
        "action": "update",
        "entity": "Lot",
        "key": "L-1",
        "old": {"status": "rejected"},
        "new": {"status": "released"},
        "reason": "looked fine",
        "source": "manual",
        "prev_hash": prev_hash,
    }
    entry["hash"] = entry_hash(entry)
    return entry


def _entry(store: GraphStore, seq: int) -> dict[str, Any]:
    (found,) = store.audit_entries(after=seq - 1, limit=1)
    assert found["seq"] == seq
    return found


def _broken_at(store: GraphStore, first_bad: int) -> str:
    result = verify_store(store)
    assert not result.ok
    assert result.first_bad == first_bad, result
    assert result.reason
    return result.reason


# -- an intact trail ----------------------------------------------------------------------


def test_the_trail_the_service_writes_is_one_intact_chain(store: GraphStore, trail: int) -> None:
    entries = store.audit_entries()
    assert [e["seq"] for e in entries] == list(range(1, trail + 1))
    assert entries[0]["prev_hash"] == GENESIS
    for before, entry in zip(entries, entries[1:], strict=False):
        assert entry["prev_hash"] == before["hash"]
    for entry in entries:
        # the hash is SHA-256 over the RFC 8785 canonical JSON of the fields (the reference)
        fields = {f: entry[f] for f in HASHED_FIELDS}
        if entry.get("write_id") is not None:  # an entry of a batch that stored graph rows
            fields["write_id"] = entry["write_id"]
        assert entry["hash"] == sha256_hex(fields)
    assert store.audit_head() == Head(trail, entries[-1]["hash"])
    result = verify_store(store, page_size=5)  # several pages
    assert result.as_dict() == {
        "ok": True,
        "entries": trail,
        "first_bad": None,
        "reason": None,
        "head": {"seq": trail, "hash": entries[-1]["hash"]},
    }
    actions = {e["action"] for e in entries}
    assert {"ingest", "update", "create", "read"} <= actions


def test_an_empty_trail_verifies(store: GraphStore) -> None:
    result = verify_store(store)
    assert (result.ok, result.entries, result.first_bad, result.head) == (True, 0, None, None)


def test_the_ingest_summary_covers_the_rows_it_wrote(store: GraphStore, tmp_path: Path) -> None:
    bundle = write_bundle(
        tmp_path / "b", {"materials.csv": MATERIALS, "lots.csv": [lot("L-1"), lot("L-2")]}
    )
    first = ingest_bundle(store, bundle, actor="integrator")
    again = ingest_bundle(store, bundle, actor="integrator")
    summaries = [e for e in store.audit_entries() if e["action"] == "ingest"]
    assert [s["key"] for s in summaries] == [first.ingest_id, again.ingest_id]

    digest = hashlib.sha256()  # every row, files in the bundle format's order
    for name in ("materials.csv", "lots.csv"):
        with (bundle / name).open(encoding="utf-8", newline="") as fh:
            for row_no, record in enumerate(csv.DictReader(fh), start=2):
                line = [name, row_no, dict(sorted(record.items()))]
                digest.update(json.dumps(line, ensure_ascii=False, separators=(",", ":")).encode())
                digest.update(b"\n")
    assert summaries[0]["new"]["rows_sha256"] == digest.hexdigest()
    # nothing accepted the second time: the digest of no rows
    assert summaries[1]["new"]["rows_sha256"] == hashlib.sha256().hexdigest()
    assert verify_store(store).ok


# -- tampering, each kind -----------------------------------------------------------------


@pytest.mark.parametrize(
    "change",
    [
        {"old": {"quantity": 100.0, "status": "released"}},
        {"new": {"quantity": 1.0}},
        {"new": None},
        {"actor": "mallory"},
        {"at": "2026-01-01T00:00:00.000Z"},
        {"reason": "access"},
        {"key": "L-9"},
        {"prev_hash": "f" * 64},
    ],
    ids=lambda c: next(iter(c)),
)
def test_an_edited_field_of_a_middle_entry_is_found(
    store: GraphStore, trail: int, change: dict[str, Any]
) -> None:
    middle = trail // 2
    Tamper(store).set(middle, **change)
    assert "altered" in _broken_at(store, middle)


def test_an_edit_with_its_hash_recomputed_breaks_the_next_link(
    store: GraphStore, trail: int
) -> None:
    middle = trail // 2
    edited = {**_entry(store, middle), "actor": "mallory"}
    Tamper(store).set(middle, actor="mallory", hash=entry_hash(edited))
    assert "prev_hash" in _broken_at(store, middle + 1)


def test_a_rewritten_last_entry_is_found_by_the_head(store: GraphStore, trail: int) -> None:
    edited = {**_entry(store, trail), "new": {"method": "GET", "status": 404}}
    Tamper(store).set(trail, new=edited["new"], hash=entry_hash(edited))
    _broken_at(store, trail)


def test_a_deleted_middle_entry_is_found(store: GraphStore, trail: int) -> None:
    middle = trail // 2
    Tamper(store).delete(middle)
    assert "missing" in _broken_at(store, middle)


def test_the_first_entry_deleted_is_found(store: GraphStore, trail: int) -> None:
    Tamper(store).delete(1)
    _broken_at(store, 1)


def test_a_deleted_last_entry_is_found(store: GraphStore, trail: int) -> None:
    Tamper(store).delete(trail)
    assert "deleted" in _broken_at(store, trail)


def test_two_entries_swapped_are_found(store: GraphStore, trail: int) -> None:
    middle = trail // 2
    Tamper(store).swap(middle, middle + 2)
    _broken_at(store, middle)


def test_entries_reordered_with_hashes_recomputed_break_the_links(
    store: GraphStore, trail: int
) -> None:
    """Content moved between two places, each hash recomputed for its new seq."""
    middle = trail // 2
    a, b = _entry(store, middle), _entry(store, middle + 1)
    tamper = Tamper(store)
    for seq, content in ((middle, b), (middle + 1, a)):
        moved = {**content, "seq": seq}
        fields = {k: moved[k] for k in HASHED_FIELDS if k != "seq"}
        tamper.set(seq, **fields, hash=entry_hash(moved))
    assert "prev_hash" in _broken_at(store, middle)


def test_a_forged_entry_appended_after_the_last_is_found(store: GraphStore, trail: int) -> None:
    Tamper(store).insert(_forged(trail + 1, _entry(store, trail)["hash"]))
    assert "not appended by the store" in _broken_at(store, trail + 1)


def test_a_forged_entry_inserted_in_the_middle_is_found(store: GraphStore, trail: int) -> None:
    """It links to the entry before it, but the entries after it no longer recompute."""
    middle = trail // 2
    tamper = Tamper(store)
    before = _entry(store, middle - 1)["hash"]
    tamper.shift_from(middle)
    tamper.insert(_forged(middle, before))
    _broken_at(store, middle + 1)


def test_a_forged_entry_with_a_made_up_hash_is_found_itself(store: GraphStore, trail: int) -> None:
    middle = trail // 2
    tamper = Tamper(store)
    tamper.shift_from(middle)
    tamper.insert({**_forged(middle, "0" * 64), "hash": "ab" * 32})
    _broken_at(store, middle)


def test_appending_after_tampering_does_not_hide_it(store: GraphStore, trail: int) -> None:
    middle = trail // 2
    Tamper(store).set(middle, actor="mallory")
    store.apply(WriteBatch(audit=[_access("L-1")]))
    _broken_at(store, middle)


# -- concurrent writers -------------------------------------------------------------------


def _second_store(store: GraphStore, request: pytest.FixtureRequest) -> GraphStore:
    """Another store object on the same data (its own connection), as another process has."""
    if isinstance(store, EmbeddedStore):
        return EmbeddedStore(store.path)
    info = request.getfixturevalue("neo4j_server")
    return Neo4jStore(info.uri, info.user, info.password, info.database)


def test_concurrent_writers_leave_one_chain(
    store: GraphStore, request: pytest.FixtureRequest
) -> None:
    other = _second_store(store, request)
    threads_n, batches, per_batch = 4, 15, 3
    errors: list[BaseException] = []

    def writer(i: int, target: GraphStore) -> Callable[[], None]:
        def work() -> None:
            try:
                for b in range(batches):
                    entries = [_access(f"L-{i}-{b}-{k}") for k in range(per_batch)]
                    target.apply(WriteBatch(audit=entries))
                    if b % 5 == 0:
                        target.save_account(
                            _account(f"user-{i}"),
                            AuditEntry("admin", "update", "Account", f"user-{i}", None, {}, "", ""),
                        )
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        return work

    threads = [
        threading.Thread(target=writer(i, store if i % 2 else other)) for i in range(threads_n)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    other.close()
    assert not errors, errors
    expected = threads_n * (batches * per_batch + batches // 5)
    result = verify_store(store)
    assert result.ok, result
    assert result.entries == expected
    assert store.audit_head() == Head(expected, store.audit_entries()[-1]["hash"])
    # each batch's entries stayed together, in their order
    keys = [e["key"] for e in store.audit_entries() if e["reason"] == "access"]
    for start in range(0, len(keys), per_batch):
        group = keys[start : start + per_batch]
        assert group == [group[0][:-1] + str(k) for k in range(per_batch)]


# -- audit_for_keys -----------------------------------------------------------------------


def test_audit_for_keys_finds_exact_keys_and_each_id_of_a_listed_key(store: GraphStore) -> None:
    store.apply(
        WriteBatch(
            audit=[
                _access("L-1"),
                _access("L-10"),
                _access("L-2,L-1"),
                _access("L-3"),
                _access("L-30,L-3"),
                _access("DOC-1,2"),
            ]
        )
    )
    assert [e["seq"] for e in store.audit_for_keys(["L-1"])] == [1, 3]
    assert [e["seq"] for e in store.audit_for_keys(["L-3", "L-2", "L-3"])] == [3, 4, 5]
    assert [e["seq"] for e in store.audit_for_keys(["L-1", "L-3"], limit=2)] == [1, 3]
    assert [e["seq"] for e in store.audit_for_keys(["DOC-1"])] == [6]
    assert store.audit_for_keys(["L-"]) == [] and store.audit_for_keys([]) == []
    assert store.audit_for_keys(["L-1"], limit=0) == []
    (entry,) = store.audit_for_keys(["L-10"])
    assert entry == _entry(store, 2)  # the whole entry, hashes included
    with pytest.raises(ValueError):
        store.audit_for_keys(["L-1"], limit=-1)


# -- a trail from before the chain --------------------------------------------------------


def test_entries_written_before_the_chain_are_chained_when_the_store_opens(
    store: GraphStore, tmp_path: Path
) -> None:
    old = [
        {
            "seq": i,
            "at": f"2025-12-0{i}T00:00:00.000Z",
            "actor": "admin",
            "action": "read",
            "entity": "/lots/{lot_id}",
            "key": "L-1,L-2" if i == 2 else f"L-{i}",
            "old": None,
            "new": json.dumps({"status": 200, "path": f"/lots/L-{i}"}, sort_keys=True),
            "reason": "access",
            "source": "api",
        }
        for i in (1, 2, 3)
    ]
    if isinstance(store, EmbeddedStore):
        store.close()
        path = tmp_path / "old.sqlite"
        conn = sqlite3.connect(path)
        with conn:
            conn.execute(
                "CREATE TABLE audit (seq INTEGER PRIMARY KEY, at TEXT NOT NULL, "
                "actor TEXT NOT NULL, action TEXT NOT NULL, entity TEXT NOT NULL, "
                "key TEXT NOT NULL, old TEXT, new TEXT, reason TEXT NOT NULL, "
                "source TEXT NOT NULL)"
            )
            conn.executemany(
                "INSERT INTO audit VALUES "
                "(:seq, :at, :actor, :action, :entity, :key, :old, :new, :reason, :source)",
                old,
            )
        conn.close()
        reopened: GraphStore = EmbeddedStore(path)
    else:
        assert isinstance(store, Neo4jStore)
        store.driver.execute_query(
            "UNWIND $rows AS row CREATE (a:AuditEntry) SET a = row "
            "WITH count(*) AS n MERGE (c:LotgraphCounter {id: 'audit'}) SET c.value = 3",
            parameters_={"rows": old},
            database_=store.database,
        )
        reopened = store
    reopened.ensure_schema()
    reopened.ensure_schema()  # idempotent
    result = verify_store(reopened)
    assert (result.ok, result.entries) == (True, 3), result
    assert [e["seq"] for e in reopened.audit_for_keys(["L-2"])] == [2]
    reopened.apply(WriteBatch(audit=[_access("L-4")]))
    result = verify_store(reopened)
    assert (result.ok, result.entries, result.head and result.head.seq) == (True, 4, 4)
    if reopened is not store:
        reopened.close()


# -- the command line ---------------------------------------------------------------------


def _entries(data: Path) -> list[dict[str, Any]]:
    store = EmbeddedStore(data / "graph.sqlite")
    try:
        return store.audit_entries()
    finally:
        store.close()


def test_cli_audit_verify_exit_codes(tmp_path: Path) -> None:
    data = tmp_path / "data"
    bundle = write_bundle(tmp_path / "b", {"materials.csv": MATERIALS, "lots.csv": [lot("L-1")]})
    assert run(["ingest", str(bundle)], data).returncode == 0
    changed = write_bundle(tmp_path / "c", {"lots.csv": [lot("L-1", quantity="7")]})
    assert run(["ingest", str(changed)], data).returncode == 0

    report = run_json(["audit", "verify"], data)
    assert report["ok"] is True and report["first_bad"] is None
    # per ingest, an entry per written chunk (materials, lots; then lots) and a summary;
    # the second also records the update of L-1 with its old and new content
    assert [e["action"] for e in _entries(data)] == [
        "ingest_chunk",
        "ingest_chunk",
        "ingest",
        "update",
        "ingest_chunk",
        "ingest",
    ]
    assert report["entries"] == 6
    assert report["head"]["seq"] == 6
    assert run(["audit", "verify"], data).returncode == 0

    conn = sqlite3.connect(data / "graph.sqlite")
    with conn:
        conn.execute("UPDATE audit SET new = replace(new, '7.0', '70.0') WHERE seq = 4")
    conn.close()
    report = run_json(["audit", "verify"], data, expect=1)
    assert (report["ok"], report["entries"], report["first_bad"]) == (False, 4, 4)
    assert "altered" in report["reason"]
    done = run(["audit", "verify"], data)
    assert done.returncode == 1 and "broken" in done.stdout


# -- the verifier alone -------------------------------------------------------------------


def _chain(n: int) -> list[dict[str, Any]]:
    entries = []
    prev = GENESIS
    for seq in range(1, n + 1):
        entry = {**_forged(seq, prev), "actor": f"user-{seq}"}
        entry["hash"] = entry_hash(entry)
        prev = entry["hash"]
        entries.append(entry)
    return entries


def test_the_verifier_on_entries_in_memory() -> None:
    entries = _chain(5)
    head = Head(5, entries[-1]["hash"])
    assert verify_chain(entries, head).ok
    assert verify_chain([], None).ok
    # a missing head with entries present is a finding (its last entries cannot be shown)
    missing = verify_chain(entries, None)
    assert (missing.ok, missing.first_bad) == (False, 5)
    # entries appended while the walk ran are accepted up to the head read after it
    later = Head(6, "x" * 64)
    assert verify_chain(entries, Head(4, entries[3]["hash"]), lambda: head).ok
    assert verify_chain(entries[:4], Head(4, entries[3]["hash"]), lambda: later).ok
    beyond = verify_chain(entries, Head(4, entries[3]["hash"]), lambda: Head(4, entries[3]["hash"]))
    assert (beyond.ok, beyond.first_bad) == (False, 5)
    duplicated = verify_chain([*entries[:3], entries[2], *entries[3:]], head)
    assert (duplicated.ok, duplicated.first_bad) == (False, 3)
    odd = verify_chain([*entries[:2], {**entries[2], "seq": 2.5}], head)
    assert (odd.ok, odd.first_bad) == (False, 3)
    gap = verify_chain([*entries[:1], *entries[3:]], head)
    assert (gap.ok, gap.first_bad, gap.reason) == (
        False,
        2,
        "entries missing: seq 2 to 3 (deleted)",
    )


# -- the fast canonical JSON equals the reference -----------------------------------------

_json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=400, deadline=None)
@given(_json_values)
def test_jcs_gives_the_reference_bytes(value: Any) -> None:
    try:
        expected = rfc8785.dumps(value)
    except rfc8785.CanonicalizationError:
        with pytest.raises(NotCanonical):
            jcs(value)
        return
    assert jcs(value) == expected
    # and the value a store reads back from its text hashes alike
    assert jcs(orjson.loads(orjson.dumps(value, option=orjson.OPT_SORT_KEYS))) == expected


def test_jcs_edge_cases() -> None:
    samples: list[Any] = [
        {"\ue000": 1, "\U0001f600": 2, "a": 3},  # UTF-16 order differs from code points
        [1e21, 1e-7, 1e-6, 1e16, 1e15, 123.0, -0.0, 0.1 + 0.2, 5e-324, 1.7976931348623157e308],
        '\x00\x1f\x7f\u2028"\\/',
        (1, "tuple"),
    ]
    for value in samples:
        assert jcs(value) == rfc8785.dumps(value)
    # beyond 2**53 the reference refuses; the chain hashes what JSON readers make of it
    assert jcs(2**60) == b"1152921504606847000"
    # NaN and infinities have no JSON form: null, as the stores keep them
    assert jcs({"a": [float("nan"), -float("inf"), 1.5]}) == b'{"a":[null,null,1.5]}'
    assert jcs(float("inf")) == b"null"
    with pytest.raises(NotCanonical):
        jcs({1: "a"})
    with pytest.raises(NotCanonical):
        jcs("\ud800")
