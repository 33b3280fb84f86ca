"""`lotgraph demo` and `lotgraph dashboard` as a user runs them: on loopback, over HTTP."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.dashboard.conftest import free_port, wait_until_up
from tests.test_cli import REPO


def _env(data: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LOTGRAPH_", "NEO4J_"))}
    return {**env, "LOTGRAPH_DATA_DIR": str(data), "LOTGRAPH_STORE": "neo4j"}


def _start_demo(data: Path, port: int, api_port: int) -> tuple[subprocess.Popen[str], list[str]]:
    demo = subprocess.Popen(
        [sys.executable, "-m", "lotgraph", "demo", "--lots", "200", "--seed", "5"]
        + ["--port", str(port), "--api-port", str(api_port)],
        cwd=REPO,
        env=_env(data),  # the demo keeps to its own embedded store whatever LOTGRAPH_STORE says
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    lines: list[str] = []
    deadline = time.monotonic() + 120
    assert demo.stdout is not None
    while time.monotonic() < deadline:
        line = demo.stdout.readline()
        if not line:
            raise AssertionError(
                f"demo stopped: {lines} {demo.stderr.read() if demo.stderr else ''}"
            )
        lines.append(line.rstrip("\n"))
        if line.startswith("Ctrl-C"):
            return demo, lines
    raise AssertionError(f"demo did not come up in time: {lines}")


def _stop(process: subprocess.Popen[str], signum: signal.Signals, *ports: int) -> None:
    """Signal the demo alone (its servers run in sessions of their own, as Ctrl-C at a
    terminal reaches only the demo): it must stop both servers."""
    os.kill(process.pid, signum)
    process.wait(timeout=30)
    for port in ports:
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", port)) != 0, f"{port} still listens"


def _sign_in(api: str, name: str, password: str) -> httpx.Response:
    return httpx.post(f"{api}/auth/token", data={"username": name, "password": password})


def test_demo_brings_up_the_api_and_the_dashboard_and_answers_a_recall(tmp_path: Path) -> None:
    port, api_port = free_port(), free_port()
    demo, lines = _start_demo(tmp_path / "data", port, api_port)
    text = "\n".join(lines)
    try:
        accounts = dict(re.findall(r"^  (\S+)\s+(\S+)\s+\w+, sites", text, re.M))
        assert set(accounts) == {"investigator", "qa-site-a", "auditor"}, text
        lot = re.search(rf"http://127\.0\.0\.1:{port}/recall\?lot=(\S+)", text)
        assert lot, text
        assert f"dashboard: http://127.0.0.1:{port}" in text
        api = f"http://127.0.0.1:{api_port}"
        token = _sign_in(api, "investigator", accounts["investigator"]).json()["access_token"]
        recall = httpx.post(
            f"{api}/investigations/recall",
            json={"lot_ids": [lot.group(1)]},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert recall.status_code == 200 and recall.json()["roots"] == [lot.group(1)]
        # each account's work queue, as printed, is what GET /work answers it
        for name, password in accounts.items():
            printed = re.search(
                rf"^  {name}\s+(\d+) to sign, (\d+) batches awaiting release", text, re.M
            )
            assert printed, text
            bearer = _sign_in(api, name, password).json()["access_token"]
            work = httpx.get(f"{api}/work", headers={"Authorization": f"Bearer {bearer}"}).json()
            assert int(printed.group(1)) == len(work["awaiting_signature"])
            assert int(printed.group(2)) == len(work["batches_awaiting_release"])
        assert httpx.get(f"http://127.0.0.1:{port}/_stcore/health").text == "ok"
        page = httpx.get(f"http://127.0.0.1:{port}/recall?lot={lot.group(1)}")
        assert page.status_code == 200 and "<title>" in page.text
        # the planted plant went into the demo's own embedded store
        assert (tmp_path / "data" / "demo" / "store-200-5" / "graph.sqlite").is_file()
    finally:
        _stop(demo, signal.SIGINT, port, api_port)

    # a second start reuses the store, changes nothing, and gives new passwords
    again, lines = _start_demo(tmp_path / "data", port, api_port)
    try:
        text = "\n".join(lines)
        assert re.search(r"checked a plant of 200 lots .* 0 accepted, (\d+) unchanged", text), text
        fresh = dict(re.findall(r"^  (\S+)\s+(\S+)\s+\w+, sites", text, re.M))
        api = f"http://127.0.0.1:{api_port}"
        assert _sign_in(api, "auditor", accounts["auditor"]).status_code == 401
        assert _sign_in(api, "auditor", fresh["auditor"]).status_code == 200
    finally:
        _stop(again, signal.SIGTERM, port, api_port)


def test_demo_refuses_a_port_in_use(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "lotgraph", "demo", "--port", str(taken)],
            cwd=REPO,
            env=_env(tmp_path),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 2
    assert f"port {taken} for the dashboard is in use" in result.stderr


def test_dashboard_serves_on_loopback_and_reads_the_api_url(tmp_path: Path) -> None:
    port = free_port()
    board = subprocess.Popen(
        [sys.executable, "-m", "lotgraph", "dashboard", "--port", str(port)],
        cwd=REPO,
        env={**_env(tmp_path), "LOTGRAPH_API_URL": "http://127.0.0.1:9"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        wait_until_up(f"http://127.0.0.1:{port}/_stcore/health", 60)
        listening = subprocess.run(
            ["ss", "-ltnH", f"sport = :{port}"], capture_output=True, text=True, check=False
        ).stdout
        if listening:  # ss is there: the dashboard listens on loopback only
            assert all(" 127.0.0.1:" in line for line in listening.strip().splitlines()), listening
    finally:
        os.killpg(board.pid, signal.SIGTERM)
        board.wait(timeout=30)
