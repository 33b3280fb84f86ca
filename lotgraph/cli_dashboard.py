"""`lotgraph dashboard` and `lotgraph demo`: the Streamlit dashboard, alone or with a
generated plant and the API behind it."""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Annotated

import httpx
import typer

from api.accounts.service import AccountService
from api.auth.schemas import Role
from graph.embedded import EmbeddedStore
from ingest.loader import ingest_bundle
from ingest.synthetic import MIN_LOTS, generate_plant
from lotgraph.cli_support import err, out
from lotgraph.settings import Settings

APP_SCRIPT = Path(__file__).resolve().parent.parent / "dashboard" / "app.py"
# Who the demo lets in: one per kind of user, with a fresh password on every start.
DEMO_ACCOUNTS = (
    ("investigator", Role.INVESTIGATOR, ["*"]),
    ("qa-site-a", Role.QA, ["SITE-A"]),
    ("auditor", Role.AUDITOR, ["*"]),
)


def dashboard_command(host: str, port: int, api_url: str | None = None) -> list[str]:
    """The streamlit invocation that serves the dashboard on host:port."""
    del api_url  # the dashboard reads LOTGRAPH_API_URL itself
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP_SCRIPT),
        "--server.address",
        host,
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        "--server.fileWatcherType",
        "none",
        "--client.toolbarMode",
        "minimal",
        "--global.developmentMode",
        "false",
    ]


def dashboard(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8501,
) -> None:
    """Run the dashboard; it reads the API at LOTGRAPH_API_URL (default http://127.0.0.1:8000)."""
    if not APP_SCRIPT.is_file():  # pragma: no cover - an installation without the sources
        err.print(f"[red]error:[/] the dashboard is not installed here ({APP_SCRIPT} is missing)")
        raise typer.Exit(2)
    os.execv(sys.executable, dashboard_command(host, port))


def _port_free(host: str, port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def _wait_for(url: str, process: subprocess.Popen[bytes], what: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the {what} stopped at start-up (exit {process.returncode})")
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the {what} did not answer at {url} within {seconds:.0f} s")


@contextmanager
def _running(command: list[str], env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    # the dashboard prints a banner with its own URL; the demo prints the ones to use
    process = subprocess.Popen(command, env=env, start_new_session=True, stdout=subprocess.DEVNULL)
    try:
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def demo(
    lots: Annotated[int, typer.Option(min=MIN_LOTS, help="Size of the generated plant.")] = 2000,
    seed: Annotated[int, typer.Option(help="Seed of the generated plant.")] = 3,
    port: Annotated[int, typer.Option(help="Port of the dashboard.")] = 8501,
    api_port: Annotated[int, typer.Option(help="Port of the API.")] = 8000,
    check: Annotated[
        bool, typer.Option("--check", help="Start everything, check it answers, then stop.")
    ] = False,
) -> None:
    """A generated plant in an embedded store of its own, demo accounts, the API and the
    dashboard on 127.0.0.1; Ctrl-C stops both."""

    started = time.monotonic()
    host = "127.0.0.1"
    _stop_on_termination()
    for name, wanted in (("dashboard", port), ("API", api_port)):
        if not _port_free(host, wanted):
            err.print(f"[red]error:[/] port {wanted} for the {name} is in use; pick another")
            raise typer.Exit(2)
    home = Settings().data_dir / "demo"
    plant = home / f"plant-{lots}-{seed}"
    store_dir = home / f"store-{lots}-{seed}"
    fresh = not (store_dir / "graph.sqlite").exists()
    summary = generate_plant(lots=lots, seed=seed, out=plant)
    store = EmbeddedStore(store_dir / "graph.sqlite")
    try:
        store.ensure_schema()
        report = ingest_bundle(store, plant, actor="demo", pause_gc=True).as_dict()
        passwords = _demo_accounts(store)
    finally:
        store.close()
    _say(
        f"{'ingested' if fresh else 'checked'} a plant of {lots} lots (seed {seed}): "
        f"{report['rows_read']} rows, {report['accepted']} accepted, "
        f"{report['unchanged']} unchanged, {report['rejected']} rejected"
    )
    env = {
        **os.environ,
        "LOTGRAPH_STORE": "embedded",
        "LOTGRAPH_DATA_DIR": str(store_dir),
        "LOTGRAPH_DEMO": "true",
        "LOTGRAPH_SECRET_KEY": secrets.token_urlsafe(48),  # new each start: old tokens end
        "LOTGRAPH_API_URL": f"http://{host}:{api_port}",
    }
    api_command = [
        sys.executable,
        "-m",
        "lotgraph",
        "serve",
        "--host",
        host,
        "--port",
        str(api_port),
    ]
    planted = summary.planted
    with ExitStack() as stack:
        try:
            api = stack.enter_context(_running(api_command, env))
            _wait_for(f"http://{host}:{api_port}/health", api, "API", 60)
            board = stack.enter_context(_running(dashboard_command(host, port), env))
            _wait_for(f"http://{host}:{port}/_stcore/health", board, "dashboard", 90)
        except RuntimeError as exc:
            err.print(f"[red]error:[/] {exc}")
            raise typer.Exit(1) from None
        url = f"http://{host}:{port}"
        _say(f"API:       http://{host}:{api_port}/docs")
        _say(f"dashboard: [b]{url}[/]  (ready in {time.monotonic() - started:.0f} s)")
        _say("sign in as (passwords are new on every start):")
        for name, (role, sites, password) in passwords.items():
            _say(f"  {name:<13} {password}   {role}, sites {','.join(sites)}")
        _say("try:")
        _say(f"  {url}/recall?lot={planted['lot']}")
        analyte = planted["analyte"].replace(" ", "+")
        _say(f"  {url}/impurity?analyte={analyte}&flag=oos   (the planted cause)")
        _say(f"  {url}/impurity?analyte={analyte}&flag=oot   (a drift inside specification)")
        _say(f"  {url}/impact?supplier={planted['supplier']}")
        _say("work queues (the home page of each account):")
        for name, (_, _, password) in passwords.items():
            _say(f"  {name:<13} {_work_summary(f'http://{host}:{api_port}', name, password)}")
        if check:
            return
        _say("Ctrl-C stops the API and the dashboard.")
        try:
            while api.poll() is None and board.poll() is None:
                time.sleep(0.5)
        except KeyboardInterrupt:
            _say("stopping")
            return
        err.print("[red]error:[/] the API or the dashboard stopped")
        raise typer.Exit(1)


def _work_summary(api_url: str, name: str, password: str) -> str:
    """What waits for the account, as its home page shows it (GET /work)."""
    try:
        signed = httpx.post(
            f"{api_url}/auth/token", data={"username": name, "password": password}, timeout=30
        )
        token = signed.json()["access_token"]
        work = httpx.get(
            f"{api_url}/work", headers={"Authorization": f"Bearer {token}"}, timeout=120
        ).json()
    except (httpx.HTTPError, KeyError, ValueError) as exc:
        return f"(not read: {exc})"
    counts = [
        (len(work["awaiting_signature"]), "to sign"),
        (len(work["batches_awaiting_release"]), "batches awaiting release"),
        (len(work["open_deviations"]), "open deviations"),
        (len(work["active_holds"]), "active holds"),
        (len(work["hash_mismatches"]), "hash mismatches"),
    ]
    return ", ".join(f"{n} {what}" for n, what in counts)


def _stop_on_termination() -> None:
    """SIGTERM and SIGHUP stop the demo as Ctrl-C does, so the servers it started (in
    sessions of their own) are stopped too rather than left running."""

    def stop(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt(signal.Signals(signum).name)

    for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(signum, stop)


def _say(text: str) -> None:
    out.print(text, soft_wrap=True)  # one line each, whatever the terminal's width


def _demo_accounts(store: EmbeddedStore) -> dict[str, tuple[str, list[str], str]]:
    accounts = AccountService(store)
    made: dict[str, tuple[str, list[str], str]] = {}
    for name, role, sites in DEMO_ACCOUNTS:
        password = secrets.token_urlsafe(12)
        if store.get_account(name) is None:
            accounts.add(name, role, sites, actor="demo", password=password)
        else:
            accounts.rotate(name, actor="demo", password=password)
        made[name] = (role.value, sites, password)
    return made
