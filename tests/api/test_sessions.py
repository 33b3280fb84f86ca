"""Dashboard sessions over HTTP on both stores: start, exchange for tokens, end, expiry,
disabled or changed accounts, and one 401 for every id that does not open a session."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from api.accounts.service import AccountService
from api.auth.service import session_sha256
from graph.audit_chain import verify_chain
from graph.records import BrowserSession, SessionExists
from graph.store import AuditEntry, format_utc
from tests.api.conftest import PASSWORD, Api

REFUSED = {
    "error": "not_authenticated",
    "detail": "the session is not valid (ended, expired or unknown); sign in again",
}


def _start(api: Api, name: str, password: str = PASSWORD) -> Any:
    return api.client.post("/auth/sessions", data={"username": name, "password": password})


def _exchange(api: Api, session_id: str) -> Any:
    return api.client.post("/auth/sessions/token", json={"session_id": session_id})


def _end(api: Api, session_id: str) -> Any:
    return api.client.post("/auth/sessions/end", json={"session_id": session_id})


def _read_with(api: Api, token: str) -> int:
    """A read any reader may make (the lot is unknown: 404 once authenticated)."""
    headers = {"Authorization": f"Bearer {token}"}
    return int(api.client.get("/lots/L-NOT-THERE", headers=headers).status_code)


def _session_entries(api: Api, action: str) -> list[dict[str, Any]]:
    return [e for e in api.store.audit_entries() if e["action"] == action]


def test_a_session_gives_tokens_until_it_is_ended_and_keeps_only_a_hash(api: Api) -> None:
    reply = _start(api, "inv-all")
    assert reply.status_code == 201, reply.text
    body = reply.json()
    session_id = body["session_id"]
    assert session_id.startswith("lgs_") and len(session_id) >= 40
    assert body["username"] == "inv-all" and body["token_type"] == "bearer"
    assert body["session_expires_in"] == 15 * 60
    assert 0 < body["expires_in"] <= body["session_expires_in"]
    first = body["access_token"]
    assert _read_with(api, first) == 404

    stored = api.store.get_session(session_sha256(session_id))
    assert stored is not None and stored.account == "inv-all" and stored.ended_at is None
    assert stored.expires_at == body["session_expires_at"]
    (started,) = _session_entries(api, "session_started")
    assert started["actor"] == "inv-all" and started["key"] == "inv-all"
    assert started["new"]["session"] == stored.id_sha256[:16]

    exchanged = _exchange(api, session_id)
    assert exchanged.status_code == 200, exchanged.text
    assert exchanged.json()["username"] == "inv-all"
    second = exchanged.json()["access_token"]
    assert _read_with(api, second) == 404

    assert _end(api, session_id).status_code == 204
    # the session, and every token it gave, is refused from now on, with one answer
    refused = _exchange(api, session_id)
    assert refused.status_code == 401 and refused.json() == REFUSED
    for token in (first, second):
        assert _read_with(api, token) == 401
    ended = api.store.get_session(session_sha256(session_id))
    assert ended is not None and ended.ended_at is not None
    # ending it again changes nothing, and is audited once
    assert _end(api, session_id).status_code == 204
    (entry,) = _session_entries(api, "session_ended")
    assert entry["actor"] == "inv-all" and entry["new"]["ended_at"] == ended.ended_at
    assert entry["new"]["session"] == started["new"]["session"]

    # the id itself is nowhere in the store's audit trail (access entries included)
    api.client.app.state.access_log.flush()  # type: ignore[attr-defined]
    trail = repr(api.store.audit_entries())
    assert session_id not in trail and session_id[4:] not in trail
    assert verify_chain(api.store.audit_trail(), api.store.audit_head()).ok


def test_every_refused_id_gets_the_same_401(api: Api) -> None:
    # unknown ids, of the right form or not
    for unknown in ("lgs_" + secrets.token_urlsafe(32), "nonsense", "x" * 256):
        reply = _exchange(api, unknown)
        assert reply.status_code == 401 and reply.json() == REFUSED, unknown
        assert _end(api, unknown).json() == REFUSED
    # expired: a session stored with its expiry just passed
    expired_id = "lgs_" + secrets.token_urlsafe(32)
    account = api.store.get_account("inv-a")
    assert account is not None
    now = datetime.now(UTC)
    expired = BrowserSession(
        id_sha256=session_sha256(expired_id),
        account="inv-a",
        created_at=format_utc(now - timedelta(minutes=20)),
        expires_at=format_utc(now - timedelta(seconds=1)),
        account_updated_at=account.updated_at,
    )
    api.store.create_session(expired, _audit("inv-a"))
    assert _exchange(api, expired_id).json() == REFUSED
    # ended
    ended_id = _start(api, "inv-a").json()["session_id"]
    assert _end(api, ended_id).status_code == 204
    assert _exchange(api, ended_id).json() == REFUSED
    # a missing or empty id is a bad request naming the field
    for body in ({}, {"session_id": ""}):
        bad = api.client.post("/auth/sessions/token", json=body)
        assert bad.status_code == 422 and "session_id" in bad.json()["detail"], bad.text


def test_disabling_or_changing_the_account_ends_its_sessions(api: Api) -> None:
    service = AccountService(api.store)
    kept = _start(api, "auditor").json()
    changed = _start(api, "qa-b").json()
    assert _exchange(api, kept["session_id"]).status_code == 200

    service.disable("auditor", actor="test")
    assert _exchange(api, kept["session_id"]).json() == REFUSED
    assert _read_with(api, kept["access_token"]) == 401

    service.rotate("qa-b", actor="test", password="another password entirely")
    assert _exchange(api, changed["session_id"]).json() == REFUSED
    assert _read_with(api, changed["access_token"]) == 401


def test_a_wrong_password_starts_no_session(api: Api) -> None:
    for name, password in (("inv-all", "not the password"), ("nobody", PASSWORD)):
        reply = _start(api, name, password)
        assert reply.status_code == 401
        assert reply.json() == {
            "error": "not_authenticated",
            "detail": "wrong username or password",
        }
    assert _session_entries(api, "session_started") == []
    # an API key's account signs in nowhere, a session included
    assert _start(api, "integrator").status_code == 401
    missing = api.client.post("/auth/sessions", data={"username": "inv-all"})
    assert missing.status_code == 422 and "password" in missing.json()["detail"]


def test_the_store_creates_a_session_once_and_ends_it_once(api: Api) -> None:
    store = api.store
    session = BrowserSession(
        id_sha256=session_sha256("lgs_store-level"),
        account="inv-all",
        created_at="2026-03-01T09:00:00.000Z",
        expires_at="2026-03-01T09:15:00.000Z",
        account_updated_at="2026-03-01T08:00:00.000Z",
    )
    store.create_session(session, _audit("inv-all"))
    with pytest.raises(SessionExists):
        store.create_session(session, _audit("inv-all"))
    assert len(_session_entries(api, "session_started")) == 1  # the refused create wrote none
    ending = _audit("inv-all", "session_ended")
    assert store.end_session(session.id_sha256, "2026-03-01T09:05:00.000Z", ending)
    assert not store.end_session(session.id_sha256, "2026-03-01T09:06:00.000Z", ending)
    assert not store.end_session("0" * 64, "2026-03-01T09:06:00.000Z", ending)
    found = store.get_session(session.id_sha256)
    assert found is not None and found.ended_at == "2026-03-01T09:05:00.000Z"
    assert found.account_updated_at == session.account_updated_at
    assert len(_session_entries(api, "session_ended")) == 1  # only the end that ended it


def _audit(account: str, action: str = "session_started") -> AuditEntry:
    return AuditEntry(
        actor=account,
        action=action,
        entity="Account",
        key=account,
        old=None,
        new={"test": True},
        reason="test",
        source="test",
    )
