"""`lotgraph users` and `lotgraph serve` as an operator runs them (embedded store)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.test_cli import REPO, run, run_json


def _users(args: list[str], data_dir: Path, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lotgraph", "users", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "LOTGRAPH_DATA_DIR": str(data_dir), "LOTGRAPH_STORE": "embedded"},
        timeout=120,
    )


def test_users_add_list_disable_rotate(tmp_path: Path) -> None:
    data = tmp_path / "data"
    added = _users(
        ["add", "ana", "--role", "qa", "--sites", "SITE-B,SITE-A", "--password-stdin"],
        data,
        "a fine long password\n",
    )
    assert added.returncode == 0, added.stderr
    key = _users(["add", "etl", "--role", "integrator", "--api-key", "--json"], data)
    assert key.returncode == 0, key.stderr
    secret = json.loads(key.stdout)["api_key"]
    assert secret.startswith("lgk_")
    listed = run_json(["users", "list"], data)
    assert [(a["name"], a["role"], a["sites"], a["kind"]) for a in listed] == [
        ("ana", "qa", ["SITE-A", "SITE-B"], "password"),
        ("etl", "integrator", [], "api_key"),
    ]
    assert secret not in json.dumps(listed) and "hash" not in json.dumps(listed)
    again = _users(
        ["add", "ana", "--role", "qa", "--sites", "SITE-A", "--password-stdin"],
        data,
        "another long password\n",
    )
    assert again.returncode == 1 and "exists" in again.stderr
    short = _users(
        ["add", "bo", "--role", "qa", "--sites", "SITE-A", "--password-stdin"], data, "short\n"
    )
    assert short.returncode == 2 and "password" in short.stderr
    no_sites = _users(
        ["add", "cy", "--role", "investigator", "--password-stdin"], data, "a fine long password\n"
    )
    assert no_sites.returncode == 2 and "sites" in no_sites.stderr
    bad_role = _users(["add", "di", "--role", "owner", "--api-key"], data)
    assert bad_role.returncode == 2
    rotated = _users(["rotate", "etl"], data)
    assert rotated.returncode == 0 and "lgk_" in rotated.stdout and secret not in rotated.stdout
    assert _users(["disable", "ana"], data).returncode == 0
    assert [a["disabled"] for a in run_json(["users", "list"], data)] == [True, False]
    assert _users(["disable", "nobody"], data).returncode == 1
    unlocked = _users(["unlock", "ana"], data)
    assert unlocked.returncode == 0 and "unlocked ana" in unlocked.stdout
    assert _users(["unlock", "nobody"], data).returncode == 1


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_refuses_a_default_secret_and_serves_on_loopback(tmp_path: Path) -> None:
    data = tmp_path / "data"
    refused = run(["serve", "--port", str(_free_port())], data)
    assert refused.returncode == 2 and "LOTGRAPH_SECRET_KEY" in refused.stderr
    assert (
        _users(
            ["add", "ivo", "--role", "auditor", "--password-stdin"], data, "a fine long password\n"
        ).returncode
        == 0
    )
    port = _free_port()
    env = {
        **os.environ,
        "LOTGRAPH_DATA_DIR": str(data),
        "LOTGRAPH_STORE": "embedded",
        "LOTGRAPH_SECRET_KEY": "s" * 48,
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "lotgraph", "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                health = httpx.get(f"{base}/health", timeout=2)
                break
            except httpx.TransportError:
                assert server.poll() is None and time.monotonic() < deadline, (
                    server.stderr.read() if server.stderr else ""
                )
                time.sleep(0.3)
        assert health.json() == {
            "status": "ok",
            "store": {"kind": "embedded", "ok": True, "error": None},
        }
        token = httpx.post(
            f"{base}/auth/token", data={"username": "ivo", "password": "a fine long password"}
        ).json()
        reply = httpx.get(
            f"{base}/lots/L-NONE", headers={"Authorization": f"Bearer {token['access_token']}"}
        )
        assert reply.status_code == 404 and reply.json() == {
            "error": "not_found",
            "detail": "no lot 'L-NONE'",
        }
    finally:
        server.terminate()
        server.wait(timeout=30)
    # uvicorn shuts down cleanly on SIGTERM, then re-raises it: -15 is its normal exit
    assert server.returncode in (0, -15), server.stderr.read() if server.stderr else ""
    audit = [e for e in _audit(data) if e["reason"] == "access"]
    assert [(e["actor"], e["key"], e["new"]["status"]) for e in audit][-1] == ("ivo", "L-NONE", 404)


def _audit(data: Path) -> list[dict[str, object]]:
    from graph.embedded import EmbeddedStore

    store = EmbeddedStore(data / "graph.sqlite")
    try:
        return store.audit_entries()
    finally:
        store.close()
