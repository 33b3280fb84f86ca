"""A real `lotgraph serve` over a generated plant on either store, for the fault tests."""

from __future__ import annotations

import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from argon2 import PasswordHasher

from graph.embedded import EmbeddedStore
from graph.neo4j_store import Neo4jStore
from graph.records import Account
from graph.store import GraphStore, utc_now
from ingest.loader import ingest_bundle
from ingest.synthetic import generate_plant
from lotgraph.neo4j_local import ConnectionInfo

PASSWORD = "fault test password, long enough"
SECRET = "fault-test-secret-" + "s" * 40


@dataclass
class Server:
    """A running `lotgraph serve`: its base URL and its log so far."""

    base: str
    log_path: Path
    pid: int  # the server process (with --workers 1, the one that serves)

    def log_tail(self, chars: int = 20_000) -> str:
        """The end of the server's log (a 500's traceback, a worker's death), to be shown
        by the test that met it."""
        return _tail(self.log_path, chars)


@dataclass
class Served:
    server: Server
    plant: Path

    @property
    def base(self) -> str:
        return self.server.base

    def token(self, name: str, password: str = PASSWORD) -> str:
        reply = httpx.post(
            f"{self.base}/auth/token", data={"username": name, "password": password}, timeout=30
        )
        assert reply.status_code == 200, reply.text
        token: str = reply.json()["access_token"]
        return token


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def empty_store(
    backend: str, folder: Path, request: pytest.FixtureRequest
) -> tuple[GraphStore, ConnectionInfo | None]:
    """An empty store of ``backend`` with its schema (Neo4j: the test session's server,
    cleared; embedded: a new file in ``folder``), and Neo4j's connection for
    :func:`store_env`."""
    store: GraphStore
    neo4j: ConnectionInfo | None = None
    if backend == "neo4j":
        neo4j = request.getfixturevalue("neo4j_server")
        store = Neo4jStore(neo4j.uri, neo4j.user, neo4j.password, neo4j.database)
        store.clear()
    else:
        folder.mkdir(parents=True, exist_ok=True)
        store = EmbeddedStore(folder / "graph.sqlite")
    store.ensure_schema()
    return store, neo4j


def store_env(data_dir: Path, neo4j: ConnectionInfo | None) -> dict[str, str]:
    """The environment that makes the CLI open this store."""
    env = {**os.environ, "LOTGRAPH_DATA_DIR": str(data_dir), "LOTGRAPH_ACTOR": "fault-test"}
    if neo4j is None:
        return {**env, "LOTGRAPH_STORE": "embedded"}
    return {
        **env,
        "LOTGRAPH_STORE": "neo4j",
        "NEO4J_URI": neo4j.uri,
        "NEO4J_USER": neo4j.user,
        "NEO4J_PASSWORD": neo4j.password,
        "NEO4J_DATABASE": neo4j.database,
    }


def seed_plant(store: GraphStore, out: Path, accounts: dict[str, tuple[str, list[str]]]) -> int:
    """A plant of a seed drawn here (returned, to be printed) and the accounts, in the store."""
    seed = random.randrange(1_000_000)
    generate_plant(lots=200, seed=seed, out=out)
    ingest_bundle(store, out, actor="fault-test")
    add_accounts(store, accounts)
    return seed


def add_accounts(store: GraphStore, accounts: dict[str, tuple[str, list[str]]]) -> None:
    """Password accounts (name: role, sites) in the store, all with PASSWORD."""
    # a cheap argon2 hash: the server verifies with the hash's own parameters, and these
    # tests race writes, not hashes (sign-in timing is tested with the real cost)
    password_hash = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash(PASSWORD)
    now = utc_now()
    for name, (role, sites) in accounts.items():
        store.save_account(
            Account(name, role, sites, "password", password_hash, False, now, now), None
        )


@contextmanager
def serve(env: dict[str, str], workers: int) -> Iterator[Server]:
    """`lotgraph serve --workers N` on a free loopback port, stopped on the way out; ``env``
    names the store (store_env) and any other setting."""
    port = free_port()
    # the server's log goes to a file (a pipe nobody reads would fill and stall it), opened
    # for appending, so that reading it meanwhile never moves where the server writes
    with tempfile.TemporaryDirectory() as folder:
        log_path = Path(folder) / "serve.log"
        with log_path.open("ab") as log:
            server = subprocess.Popen(
                [sys.executable, "-m", "lotgraph", "serve", "--host", "127.0.0.1"]
                + ["--port", str(port), "--workers", str(workers)],
                env={**env, "LOTGRAPH_SECRET_KEY": SECRET},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        running = Server(f"http://127.0.0.1:{port}", log_path, server.pid)
        try:
            deadline = time.monotonic() + 90
            while True:
                try:
                    if httpx.get(f"{running.base}/health", timeout=5).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert server.poll() is None, running.log_tail()
                assert time.monotonic() < deadline, "lotgraph serve did not answer /health"
                time.sleep(0.3)
            yield running
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(timeout=30)
            # shown when a test fails (a module-scoped server: with its module's last test)
            store = env.get("LOTGRAPH_STORE")
            print(f"lotgraph serve's log ({store}), its end:\n{running.log_tail()}")


def _tail(path: Path, chars: int) -> str:
    return path.read_bytes()[-chars:].decode(errors="replace")
