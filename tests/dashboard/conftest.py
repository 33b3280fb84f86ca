"""The API the dashboard talks to, served on loopback over a plant generated at test time."""

from __future__ import annotations

import json
import os
import random
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from api.accounts.service import AccountService
from api.app import create_app
from api.auth.schemas import Role
from api.settings import ApiSettings
from graph.embedded import EmbeddedStore
from ingest.loader import ingest_bundle
from ingest.synthetic import generate_plant

PASSWORD = "dashboard test password"
# name -> role, sites
ACCOUNTS: dict[str, tuple[Role, list[str]]] = {
    "inv-all": (Role.INVESTIGATOR, ["*"]),
    "inv-a": (Role.INVESTIGATOR, ["SITE-A"]),
    "auditor": (Role.AUDITOR, ["*"]),
    "qa-all": (Role.QA, ["*"]),  # holds and supplier-change decisions from the screen
}


@dataclass
class ServedPlant:
    api_url: str
    plant: Path
    meta: dict[str, Any]
    seed: int
    store_path: Path

    def csv_rows(self, name: str) -> list[dict[str, str]]:
        import csv

        with (self.plant / name).open(encoding="utf-8") as fh:
            return list(csv.DictReader(fh))

    def token(self, account: str, password: str = PASSWORD) -> str:
        reply = httpx.post(
            f"{self.api_url}/auth/token", data={"username": account, "password": password}
        )
        reply.raise_for_status()
        return str(reply.json()["access_token"])

    def get(self, account: str, path: str, **kw: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.token(account)}"}
        reply = httpx.get(f"{self.api_url}{path}", headers=headers, timeout=60, **kw)
        reply.raise_for_status()
        return reply.json()

    def post(self, account: str, path: str, body: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.token(account)}"}
        reply = httpx.post(f"{self.api_url}{path}", headers=headers, json=body, timeout=60)
        reply.raise_for_status()
        return reply.json()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until_up(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{url} did not answer within {seconds} s")


@contextmanager
def serve_plant(home: Path, lots: int) -> Iterator[ServedPlant]:
    """A plant of ``lots`` lots from a random seed (printed) in an embedded store, with the
    test accounts and the API on loopback for as long as the context lasts."""
    # LOTGRAPH_TEST_SEED replays a printed seed
    seed = int(os.environ.get("LOTGRAPH_TEST_SEED") or random.randrange(1_000_000))
    print(f"served plant: {lots} lots, seed {seed}")
    plant = generate_plant(lots=lots, seed=seed, out=home / "plant")
    store_path = home / "store" / "graph.sqlite"
    store = EmbeddedStore(store_path)
    store.ensure_schema()
    report = ingest_bundle(store, plant.out, actor="test")
    assert report.total("rejected") == 0
    for name, (role, sites) in ACCOUNTS.items():
        AccountService(store).add(name, role, sites, actor="test", password=PASSWORD)
    store.close()

    settings = ApiSettings(
        secret_key="dashboard-test-secret-" + "y" * 40, access_flush_seconds=0.05
    )
    app = create_app(lambda: EmbeddedStore(store_path), settings)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    api_url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(f"{api_url}/health")
        meta = json.loads((plant.out / "bundle.json").read_text(encoding="utf-8"))
        yield ServedPlant(api_url, plant.out, meta, seed, store_path)
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def served_plant(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedPlant]:
    """A 300-lot plant from a random seed in an embedded store, with the API on loopback."""
    with serve_plant(tmp_path_factory.mktemp("served"), 300) as served:
        yield served
