"""Start, stop and ask after the local Neo4j, whichever runtime holds it (Java or Compose)."""

from __future__ import annotations

import shlex
import shutil
import time
from pathlib import Path
from typing import Any

from lotgraph.neo4j_local.compose import start_docker, stop_docker, use_docker
from lotgraph.neo4j_local.home import (
    Home,
    locked,
    port_of,
    port_open,
    read_state,
    stored_info,
)
from lotgraph.neo4j_local.maven import installed_version
from lotgraph.neo4j_local.process import running_pid, start_java, stop_java, wait_until_answering
from lotgraph.neo4j_local.settings import (
    DATABASE,
    LOOPBACK,
    USER,
    ConnectionInfo,
    LocalNeo4jSettings,
    Log,
    Neo4jLocalError,
)


def start(
    data_dir: Path,
    fresh: bool = False,
    timeout_s: float = 180,
    *,
    log: Log | None = None,
) -> ConnectionInfo:
    """Start the local Neo4j (or return the one already answering) and wait until Bolt answers.

    With ``fresh`` the database is wiped first (a running server is stopped for that); the
    password is kept. ``log`` receives progress lines (the first start downloads ~125 MB).
    """
    say = log or (lambda _msg: None)
    home = Home.of(data_dir)
    settings = LocalNeo4jSettings.from_env()
    home.root.mkdir(parents=True, exist_ok=True)
    home.root.chmod(0o700)  # the database, its logs and the password are the user's alone
    with locked(home):
        pid = running_pid(home)  # a JVM of ours that runs keeps precedence over Docker
        if pid is None and settings.runtime != "java" and use_docker(settings):
            return start_docker(home, settings, fresh, timeout_s, say)
        if pid is not None and not fresh:
            info = stored_info(home)
            if info is None:
                raise Neo4jLocalError(
                    f"a Neo4j runs from {home.root} (pid {pid}) but {home.password_file} or "
                    f"{home.state_file} is missing; stop it with `lotgraph neo4j stop`"
                )
            wait_until_answering(home, info, pid, time.monotonic() + timeout_s)
            return info
        if pid is not None:
            say(f"stopping the running Neo4j (pid {pid}) for a fresh start")
            _stop_locked(home)
        home.pid_file.unlink(missing_ok=True)
        if fresh and home.data.exists():
            say(f"wiping {home.data}")
            shutil.rmtree(home.data)
        if fresh:
            home.first_load_marker.unlink(missing_ok=True)  # what it marked is gone
        return start_java(home, settings, fresh, timeout_s, say)


def stop(data_dir: Path, timeout_s: float = 60) -> bool:
    """Stop the local Neo4j: SIGTERM, wait, SIGKILL as a last resort. False if none ran."""
    home = Home.of(data_dir)
    if not home.root.exists():
        return False
    with locked(home):
        return _stop_locked(home, timeout_s)


def status(data_dir: Path) -> dict[str, Any]:
    """``{running, pid, uri, user, version, home, ...}`` of the local Neo4j."""
    home = Home.of(data_dir)
    state = read_state(home)
    runtime = state.get("runtime")
    bolt_port = int(state.get("bolt_port") or LocalNeo4jSettings.from_env().bolt_port)
    http_port = int(state.get("http_port") or 0)
    if runtime == "docker":
        pid = None
        running = port_open(bolt_port)
    else:
        pid = running_pid(home)
        running = pid is not None
    return {
        "running": running,
        "pid": pid,
        "uri": f"bolt://{LOOPBACK}:{bolt_port}",
        "http_uri": f"http://{LOOPBACK}:{http_port}" if http_port else None,
        "user": USER,
        "database": DATABASE,
        "version": state.get("version") or installed_version(home),
        "runtime": runtime,
        "home": str(home.root),
        "password_file": str(home.password_file) if home.password_file.exists() else None,
        "logs": str(home.logs),
    }


def connection_info(data_dir: Path) -> ConnectionInfo | None:
    """How to reach the local Neo4j, or None when none runs from ``data_dir``."""
    home = Home.of(data_dir)
    info = stored_info(home)
    if info is None:
        return None
    if read_state(home).get("runtime") == "docker":
        return info if port_open(port_of(info.uri)) else None
    return info if running_pid(home) is not None else None


def env_lines(data_dir: Path) -> str:
    """Shell ``export`` lines for NEO4J_URI, NEO4J_USER, NEO4J_PASSWORD and NEO4J_DATABASE."""
    home = Home.of(data_dir)
    info = stored_info(home)
    if info is None:
        raise Neo4jLocalError(
            f"no local Neo4j has been started from {home.root}; run `lotgraph neo4j start`"
        )
    values = {
        "NEO4J_URI": info.uri,
        "NEO4J_USER": info.user,
        "NEO4J_PASSWORD": info.password,
        "NEO4J_DATABASE": info.database,
    }
    return "".join(f"export {k}={shlex.quote(v)}\n" for k, v in values.items())


def _stop_locked(home: Home, timeout_s: float = 60) -> bool:
    if read_state(home).get("runtime") == "docker":
        return stop_docker(home)
    return stop_java(home, timeout_s)
