"""A real `lotgraph serve` in a subprocess on 127.0.0.1, and accounts made with the CLI."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent.parent
SECRET = "fault-suite-secret-" + "s" * 40


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def lotgraph(
    args: list[str], env: Mapping[str, str], timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lotgraph", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, **env},
        timeout=timeout,
        check=False,
    )


def api_key(name: str, role: str, env: Mapping[str, str], sites: str | None = None) -> str:
    """A new account of ``role`` with an API key, made as an operator would (CLI)."""
    args = ["users", "add", name, "--role", role, "--api-key", "--json"]
    if sites is not None:
        args += ["--sites", sites]
    made = lotgraph(args, env)
    assert made.returncode == 0, made.stderr
    key: str = json.loads(made.stdout)["api_key"]
    return key


@contextmanager
def served(env: Mapping[str, str], log: Path) -> Iterator[str]:
    """``lotgraph serve`` with ``env`` (and a test secret) until the block ends: its URL."""
    port = free_port()
    full_env = {**os.environ, "LOTGRAPH_SECRET_KEY": SECRET, **env}
    with log.open("wb") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "lotgraph", "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=REPO,
            env=full_env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None, log.read_text(errors="replace")
            assert time.monotonic() < deadline, "serve did not answer /health in 90 s"
            time.sleep(0.3)
        yield base
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=30)
