"""The ``neo4j`` service of docker-compose.yml, used where a Docker engine answers."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import time
from pathlib import Path

from lotgraph.neo4j_local.home import (
    Home,
    ensure_password,
    port_open,
    read_state,
    write_private,
    write_state,
)
from lotgraph.neo4j_local.process import wait_until_answering
from lotgraph.neo4j_local.settings import (
    DATABASE,
    LOOPBACK,
    USER,
    ConnectionInfo,
    LocalNeo4jSettings,
    Log,
    Neo4jLocalError,
)


def use_docker(settings: LocalNeo4jSettings) -> bool:
    if settings.runtime == "java":
        return False
    found = _compose_file() is not None and _docker_answers()
    if settings.runtime == "docker" and not found:
        raise Neo4jLocalError(
            "LOTGRAPH_NEO4J_RUNTIME=docker but no Docker engine answers `docker info` "
            "or no docker-compose.yml was found"
        )
    return found


def _docker_answers() -> bool:
    docker = shutil.which("docker")
    if docker is None:
        return False
    try:  # an engine that answers, and the compose plugin
        return all(
            subprocess.run([docker, *args], capture_output=True, timeout=15, check=False).returncode
            == 0
            for args in (["info"], ["compose", "version"])
        )
    except (OSError, subprocess.TimeoutExpired):
        return False


def _compose_file() -> Path | None:
    explicit = os.environ.get("LOTGRAPH_COMPOSE_FILE")
    if explicit:
        return Path(explicit) if Path(explicit).is_file() else None
    for folder in (Path.cwd(), Path(__file__).resolve().parents[2]):  # the repository
        if (folder / "docker-compose.yml").is_file():
            return folder / "docker-compose.yml"
    return None


def _compose(home: Home, *args: str, env: dict[str, str] | None = None) -> None:
    compose = _compose_file()
    if compose is None:
        raise Neo4jLocalError("docker-compose.yml is no longer found")
    # One compose project per data dir, so that a test run's --fresh never wipes a user's data.
    project = "lotgraph-" + hashlib.sha256(str(home.root).encode()).hexdigest()[:10]
    cmd = ["docker", "compose", "-p", project, "-f", str(compose), *args]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600, check=False)
    if done.returncode != 0:
        raise Neo4jLocalError(f"`{' '.join(cmd)}` failed: {done.stderr.strip()[-2000:]}")


def start_docker(
    home: Home, settings: LocalNeo4jSettings, fresh: bool, timeout_s: float, say: Log
) -> ConnectionInfo:
    password = os.environ.get("NEO4J_PASSWORD") or ensure_password(home, True)
    write_private(home.password_file, password + "\n")
    env = dict(
        os.environ,
        NEO4J_PASSWORD=password,
        LOTGRAPH_NEO4J_BOLT_PORT=str(settings.bolt_port),
        LOTGRAPH_NEO4J_HTTP_PORT=str(settings.http_port or 7474),
        LOTGRAPH_NEO4J_HEAP=settings.heap,
        LOTGRAPH_NEO4J_PAGECACHE=settings.pagecache,
    )
    if fresh:
        say("removing the neo4j container and its volume (--fresh)")
        _compose(home, "down", "-v", env=env)
    say("starting the neo4j service of docker-compose.yml")
    _compose(home, "up", "-d", "neo4j", env=env)
    write_state(
        home,
        {
            "runtime": "docker",
            "version": "5.26 (image neo4j:5.26-community)",
            "bolt_port": settings.bolt_port,
            "http_port": settings.http_port or 7474,
        },
    )
    info = ConnectionInfo(f"bolt://{LOOPBACK}:{settings.bolt_port}", USER, password, DATABASE)
    wait_until_answering(home, info, 0, time.monotonic() + timeout_s)
    return info


def stop_docker(home: Home) -> bool:
    was_running = port_open(int(read_state(home).get("bolt_port") or 7687))
    _compose(home, "stop", "neo4j")
    return was_running
