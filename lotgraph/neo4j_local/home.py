"""The home of the local Neo4j (``<data_dir>/neo4j``): its folders, its state and password
files, the lock that lets one start or stop run at a time, and what its logs say."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lotgraph.neo4j_local.settings import (
    DATABASE,
    LOOPBACK,
    USER,
    ConnectionInfo,
    Neo4jLocalError,
    local_neo4j_home,
)


@dataclass(frozen=True)
class Home:
    root: Path

    @classmethod
    def of(cls, data_dir: Path) -> Home:
        return cls(local_neo4j_home(Path(data_dir)).absolute())

    @property
    def conf(self) -> Path:
        return self.root / "conf"

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def lib(self) -> Path:
        return self.root / "lib"

    @property
    def pid_file(self) -> Path:
        return self.root / "neo4j.pid"

    @property
    def password_file(self) -> Path:
        return self.root / "password"

    @property
    def state_file(self) -> Path:
        return self.root / "instance.json"

    @property
    def first_load_marker(self) -> Path:
        """Present while a first load (``lotgraph neo4j import``) replaces the database and
        until it is verified: a database with this file beside it is incomplete."""
        return self.root / "first-load.pending"

    @property
    def console_log(self) -> Path:
        return self.logs / "console.log"

    @property
    def neo4j_log(self) -> Path:
        return self.logs / "neo4j.log"

    @property
    def debug_log(self) -> Path:
        return self.logs / "debug.log"


def begin_first_load(data_dir: Path, ingest_id: str) -> None:
    """Mark the database as being replaced by the first load ``ingest_id``."""
    home = Home.of(data_dir)
    write_private(home.first_load_marker, json.dumps({"ingest_id": ingest_id}))


def interrupted_first_load(data_dir: Path) -> str | None:
    """The ingest id of a first load that began and did not finish, or None."""
    marker = Home.of(data_dir).first_load_marker
    try:
        return str(json.loads(marker.read_text(encoding="utf-8"))["ingest_id"])
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError):
        return "unknown"  # a marker cut short by a crash still marks the load unfinished


def unfinished_first_load_text(ingest_id: str) -> str:
    return (
        f"the local Neo4j database holds an unfinished first load ({ingest_id}: "
        "`lotgraph neo4j import` was interrupted before it verified the database), so it is "
        "not used; empty it with `lotgraph neo4j start --fresh` and run the import again"
    )


def end_first_load(data_dir: Path) -> None:
    """The first load finished and was verified (or the database was wiped)."""
    Home.of(data_dir).first_load_marker.unlink(missing_ok=True)


def stored_info(home: Home) -> ConnectionInfo | None:
    state = read_state(home)
    if not state.get("bolt_port"):
        return None
    try:
        password = home.password_file.read_text().strip()
    except OSError:
        return None
    if not password:
        return None
    return ConnectionInfo(f"bolt://{LOOPBACK}:{int(state['bolt_port'])}", USER, password, DATABASE)


def read_state(home: Home) -> dict[str, Any]:
    try:
        value = json.loads(home.state_file.read_text())
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def write_state(home: Home, state: dict[str, Any]) -> None:
    tmp = home.state_file.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=2) + "\n")
    tmp.replace(home.state_file)


@contextlib.contextmanager
def locked(home: Home) -> Iterator[None]:
    """One start/stop at a time per home, across processes."""
    with open(home.root / ".lock", "a+b") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def ensure_password(home: Home, regenerate_allowed: bool) -> str:
    path = home.password_file
    if path.exists():
        if path.stat().st_mode & 0o077:
            path.chmod(0o600)
        password = path.read_text().strip()
        if password:
            return password
    if not regenerate_allowed:
        raise Neo4jLocalError(
            f"{path} is missing but the database in {home.data} already has a password; "
            "`lotgraph neo4j start --fresh` starts over on an empty database with a new one"
        )
    password = secrets.token_hex(
        24
    )  # never starts with "-", which the admin tool reads as an option
    write_private(path, password + "\n")
    return password


def write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def failure_text(home: Home, headline: str) -> str:
    parts = [headline + "."]
    for path in (home.console_log, home.neo4j_log):
        tail = tail_of(path, 15)
        if tail:
            parts.append(f"--- last lines of {path}:\n{tail}")
    parts.append(f"Logs: {home.console_log}, {home.neo4j_log}, {home.debug_log}")
    return "\n".join(parts)


def tail_of(path: Path, n: int) -> str:
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(0, fh.tell() - 16384))
            lines = fh.read().decode(errors="replace").splitlines()
    except OSError:
        return ""
    return "\n".join(lines[-n:])


def port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((LOOPBACK, port)) == 0


def port_of(uri: str) -> int:
    return int(uri.rsplit(":", 1)[1])
