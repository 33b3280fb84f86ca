"""Sign-in, lockout, disabling, rotation and API keys, over HTTP on both stores."""

from __future__ import annotations

from typing import Any

from api.accounts.service import AccountService
from api.auth.schemas import Role
from tests.api.conftest import PASSWORD, Api


def _sign_in(api: Api, name: str, password: str) -> Any:
    return api.client.post("/auth/token", data={"username": name, "password": password})


def test_sign_in_gives_a_short_lived_bearer_and_refuses_wrong_passwords(api: Api) -> None:
    reply = _sign_in(api, "inv-all", PASSWORD)
    assert reply.status_code == 200
    body = reply.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 15 * 60
    lot = "L-NOT-THERE"
    assert (
        api.client.get(
            f"/lots/{lot}", headers={"Authorization": f"Bearer {body['access_token']}"}
        ).status_code
        == 404
    )
    for name, password in (
        ("inv-all", "wrong password!"),
        ("nobody", PASSWORD),
        ("integrator", PASSWORD),
    ):
        refused = _sign_in(api, name, password)
        assert refused.status_code == 401, name
        assert refused.json() == {
            "error": "not_authenticated",
            "detail": "wrong username or password",
        }
    missing = api.client.post("/auth/token", data={"username": "inv-all"})
    assert missing.status_code == 422 and missing.json()["error"] == "invalid_request"
    assert "password" in missing.json()["detail"]


def test_repeated_failures_lock_the_account_and_are_audited(api: Api) -> None:
    for _ in range(5):  # the default limit
        assert _sign_in(api, "qa-b", "not the password").status_code == 401
    locked = _sign_in(api, "qa-b", PASSWORD)  # the right password no longer helps
    # ... and is refused as a wrong one: sign-in never tells a stranger an account is locked
    assert locked.status_code == 401 and locked.json() == {
        "error": "not_authenticated",
        "detail": "wrong username or password",
    }
    account = api.store.get_account("qa-b")
    assert account is not None and account.locked_until is not None
    assert account.failed_sign_ins == 5
    failures = [
        e
        for e in api.store.audit_entries()
        if e["action"] == "sign_in_failed" and e["key"] == "qa-b"
    ]
    assert len(failures) == 5
    assert failures[-1]["new"]["locked_until"] == account.locked_until
    (lock,) = [e for e in api.store.audit_entries() if e["action"] == "account_locked"]
    assert lock["key"] == "qa-b" and lock["reason"] == "5 failed sign-ins in a row (the limit)"
    # other accounts are untouched
    assert _sign_in(api, "inv-a", PASSWORD).status_code == 200


def test_disabling_or_rotating_ends_earlier_tokens_and_keys(api: Api) -> None:
    service = AccountService(api.store)
    assert api.get("inv-all", "/lots/L-NOT-THERE").status_code == 404
    service.rotate("inv-all", actor="test", password="a brand new password")
    reply = api.get("inv-all", "/lots/L-NOT-THERE")
    assert reply.status_code == 401 and "no longer valid" in reply.json()["detail"]
    assert _sign_in(api, "inv-all", PASSWORD).status_code == 401
    assert _sign_in(api, "inv-all", "a brand new password").status_code == 200

    service.disable("auditor", actor="test")
    assert api.get("auditor", "/audit").status_code == 401
    assert _sign_in(api, "auditor", PASSWORD).status_code == 401

    old_key = api.tokens["integrator"]
    headers = {"Authorization": f"Bearer {old_key}"}
    assert api.client.get("/lots/X", headers=headers).status_code == 403  # a key, not a reader
    _, new_key = service.rotate("integrator", actor="test")
    assert new_key and new_key != old_key
    assert api.client.get("/lots/X", headers=headers).status_code == 401
    assert (
        api.client.get("/lots/X", headers={"Authorization": f"Bearer {new_key}"}).status_code == 403
    )
    changes = [e["action"] for e in api.store.audit_entries() if e["entity"] == "Account"]
    assert changes.count("account_rotated") == 2 and changes.count("account_disabled") == 1


def test_an_api_key_is_stored_only_as_a_slow_hash(api: Api) -> None:
    key = api.tokens["integrator"]
    account = api.store.find_account_by_key_id(key.split("_")[1])
    assert account is not None and account.name == "integrator"
    assert account.secret_hash.startswith("$argon2id$") and key not in account.secret_hash
    assert key.split("_", 2)[2] not in str(api.store.audit_entries())
    person = api.store.get_account("inv-a")
    assert person is not None and person.secret_hash.startswith("$argon2id$")
    assert PASSWORD not in str(api.store.audit_entries())


def test_admin_manages_accounts_over_http_and_signs_in_nowhere_else(api: Api) -> None:
    created = api.post(
        "admin",
        "/accounts",
        json={
            "name": "inv-c",
            "role": "investigator",
            "sites": ["SITE-C"],
            "password": "password for inv-c",
        },
    )
    assert created.status_code == 201 and created.json()["api_key"] is None
    assert created.json()["account"]["sites"] == ["SITE-C"]
    assert "secret_hash" not in created.text
    assert _sign_in(api, "inv-c", "password for inv-c").status_code == 200
    again = api.post(
        "admin",
        "/accounts",
        json={"name": "inv-c", "role": "qa", "sites": ["SITE-A"], "password": "x" * 12},
    )
    assert again.status_code == 409 and again.json()["error"] == "conflict"
    no_sites = api.post(
        "admin", "/accounts", json={"name": "inv-d", "role": "investigator", "password": "x" * 12}
    )
    assert no_sites.status_code == 400 and no_sites.json()["detail"].startswith("sites:")
    key = api.post(
        "admin", "/accounts", json={"name": "etl-2", "role": Role.INTEGRATOR, "api_key": True}
    )
    assert key.status_code == 201 and key.json()["api_key"].startswith("lgk_")
    listed = api.get("admin", "/accounts").json()["accounts"]
    assert [a["name"] for a in listed] == sorted(a["name"] for a in listed)
    assert {"inv-c", "etl-2"} <= {a["name"] for a in listed}
    disabled = api.post("admin", "/accounts/inv-c/disable")
    assert disabled.status_code == 200 and disabled.json()["account"]["disabled"] is True
    assert api.post("admin", "/accounts/nobody/disable").status_code == 404


def test_admin_sees_the_lock_and_its_cause_and_unlocks_the_account(api: Api) -> None:
    for _ in range(5):
        assert _sign_in(api, "qa-b", "not the password").status_code == 401
    shown = api.get("admin", "/accounts/qa-b")
    assert shown.status_code == 200
    detail = shown.json()
    assert detail["failed_sign_ins"] == 5 and "secret_hash" not in shown.text
    lock = detail["lock"]
    assert lock["active"] is True and lock["locked_until"] == detail["locked_until"]
    assert lock["cause"] == "5 failed sign-ins in a row (the limit)"
    (entry,) = [e for e in api.store.audit_entries() if e["action"] == "account_locked"]
    assert (lock["audit_seq"], lock["locked_at"]) == (entry["seq"], entry["at"])
    assert api.get("admin", "/accounts/inv-a").json()["lock"] is None
    assert api.get("admin", "/accounts/nobody").status_code == 404

    for who in ("qa-a", "auditor"):  # only an admin sees or ends a lock
        assert api.get(who, "/accounts/qa-b").status_code == 403
        assert api.post(who, "/accounts/qa-b/unlock").status_code == 403
    assert _sign_in(api, "qa-b", PASSWORD).status_code == 401
    unlocked = api.post("admin", "/accounts/qa-b/unlock")
    assert unlocked.status_code == 200
    assert unlocked.json()["account"]["locked_until"] is None
    assert unlocked.json()["account"]["failed_sign_ins"] == 0
    (audited,) = [e for e in api.store.audit_entries() if e["action"] == "account_unlocked"]
    assert audited["actor"] == "admin" and audited["key"] == "qa-b"
    assert audited["old"]["failed_sign_ins"] == 5 and audited["old"]["locked_until"]
    assert _sign_in(api, "qa-b", PASSWORD).status_code == 200
    assert api.post("admin", "/accounts/nobody/unlock").status_code == 404
