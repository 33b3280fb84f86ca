"""The API the dashboard talks to, served on loopback over a plant generated at test time
on either store, and the browser fixtures of the browser tests (tests/dashboard/browser.py
holds their harness)."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import uvicorn

from api.accounts.service import AccountService
from api.app import create_app
from api.auth.schemas import Role
from api.settings import ApiSettings
from graph.embedded import EmbeddedStore
from graph.neo4j_store import Neo4jStore
from graph.store import GraphStore
from ingest.loader import ingest_bundle
from ingest.synthetic import generate_plant
from lotgraph.cli_dashboard import dashboard_command
from lotgraph.neo4j_local import ConnectionInfo

if TYPE_CHECKING:
    from playwright.sync_api import Browser

    from tests.dashboard.browser import Board

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
    store_kind: str  # "embedded" or "neo4j": the store behind the API
    open_store: Callable[[], GraphStore]

    def add_account(self, name: str, role: Role = Role.QA, sites: tuple[str, ...] = ("*",)) -> str:
        """An account in the store behind the running API (it reads accounts from there)."""
        store = self.open_store()
        try:
            if store.get_account(name) is None:
                AccountService(store).add(name, role, list(sites), actor="test", password=PASSWORD)
        finally:
            store.close()
        return name

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


def store_opener(home: Path, neo4j: ConnectionInfo | None) -> Callable[[], GraphStore]:
    """Opens the served store: an embedded store under ``home``, or the test Neo4j."""
    if neo4j is None:
        path = home / "store" / "graph.sqlite"
        return lambda: EmbeddedStore(path)
    return lambda: Neo4jStore(neo4j.uri, neo4j.user, neo4j.password, neo4j.database)


@contextmanager
def serve_plant(
    home: Path, lots: int, neo4j: ConnectionInfo | None = None
) -> Iterator[ServedPlant]:
    """A plant of ``lots`` lots from a random seed (printed) in an embedded store, or in the
    test Neo4j (emptied first) when ``neo4j`` is given, with the test accounts and the API
    on loopback for as long as the context lasts."""
    # LOTGRAPH_TEST_SEED replays a printed seed
    seed = int(os.environ.get("LOTGRAPH_TEST_SEED") or random.randrange(1_000_000))
    store_kind = "embedded" if neo4j is None else "neo4j"
    print(f"served plant: {lots} lots, seed {seed}, {store_kind} store")
    plant = generate_plant(lots=lots, seed=seed, out=home / "plant")
    open_store = store_opener(home, neo4j)
    store = open_store()
    if isinstance(store, Neo4jStore):
        store.clear()
    store.ensure_schema()
    report = ingest_bundle(store, plant.out, actor="test")
    assert report.total("rejected") == 0
    for name, (role, sites) in ACCOUNTS.items():
        AccountService(store).add(name, role, sites, actor="test", password=PASSWORD)
    store.close()

    settings = ApiSettings(
        secret_key="dashboard-test-secret-" + "y" * 40, access_flush_seconds=0.05
    )
    app = create_app(open_store, settings)
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
        yield ServedPlant(api_url, plant.out, meta, seed, store_kind, open_store)
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def store_kind(request: pytest.FixtureRequest) -> str:
    """The store behind the served API: embedded, unless a module parametrizes it
    (browser.ON_BOTH_STORES)."""
    return str(getattr(request, "param", "embedded"))


def neo4j_for(store_kind: str, request: pytest.FixtureRequest) -> ConnectionInfo | None:
    """The test Neo4j server when the module runs on Neo4j (started once per session)."""
    if store_kind == "embedded":
        return None
    info: ConnectionInfo = request.getfixturevalue("neo4j_server")
    return info


@pytest.fixture(scope="module")
def served_plant(
    store_kind: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServedPlant]:
    """A 300-lot plant from a random seed in the module's store, with the API on loopback."""
    home = tmp_path_factory.mktemp(f"served-{store_kind}")
    with serve_plant(home, 300, neo4j_for(store_kind, request)) as served:
        yield served


# -- the browser tests' fixtures (the harness is tests/dashboard/browser.py) ----------------


@pytest.fixture(scope="module")
def browser_present() -> None:
    """Is there a browser to drive? Browser modules use it first (before the plant is
    generated): it skips here without one, and fails in CI."""
    from tests.dashboard.browser import browser_missing, in_ci

    reason = browser_missing()
    if reason and in_ci():
        pytest.fail(f"the browser tests must run in CI: {reason}", pytrace=False)
    if reason:
        pytest.skip(reason)


@pytest.fixture(scope="session")
def screenshot_root() -> Path:
    """The run's screenshot folder, emptied once: a run's folder shows that run only."""
    from tests.dashboard.browser import output_dir

    folder = output_dir() / "screenshots"
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    return folder


@pytest.fixture(scope="module")
def screenshots(screenshot_root: Path, store_kind: str) -> Path:
    folder = screenshot_root / store_kind
    folder.mkdir(exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def dashboard_url(
    served_plant: ServedPlant, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The dashboard, as `lotgraph dashboard` runs it, on a free loopback port."""
    from tests.dashboard.browser import REPO

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = tmp_path_factory.mktemp("dashboard") / "streamlit.log"
    env = {**os.environ, "LOTGRAPH_API_URL": served_plant.api_url}
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            dashboard_command("127.0.0.1", port),
            env=env,
            cwd=REPO,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            try:
                wait_until_up(f"{url}/_stcore/health", seconds=90)
            except AssertionError:
                pytest.fail(
                    f"the dashboard did not start (exit {process.poll()}):\n"
                    + log_path.read_text(encoding="utf-8", errors="replace")[-4000:]
                )
            yield url
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
    # What the dashboard logged is worth seeing when a page went wrong.
    print(log_path.read_text(encoding="utf-8", errors="replace")[-4000:])


@pytest.fixture(scope="module")
def browser(browser_present: None) -> Iterator[Browser]:
    from tests.dashboard.browser import CHROMIUM, CHROMIUM_ARGS, sync_playwright

    assert sync_playwright is not None
    with sync_playwright() as driver:
        launched = driver.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def board(
    browser: Browser, dashboard_url: str, screenshots: Path, request: pytest.FixtureRequest
) -> Iterator[Board]:
    """A tab of its own on the dashboard; if the test stops early, a shot of what it showed."""
    from tests.dashboard.browser import WIDTH, Board

    context = browser.new_context(viewport={"width": WIDTH, "height": 1000}, accept_downloads=True)
    opened = Board(context.new_page(), dashboard_url, screenshots)
    try:
        yield opened
    finally:
        if not opened.shot:
            try:
                opened.screenshot(f"FAILED-{request.node.name}")
            except Exception as exc:  # best effort: the test has failed already
                print(f"no screenshot of the failed page: {exc}")
        context.close()
