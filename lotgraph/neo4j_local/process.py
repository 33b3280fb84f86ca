"""The server as a Java process of ours: its configuration, its initial password, starting it,
watching it answer, and stopping it."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import psutil

from lotgraph.neo4j_local.home import (
    Home,
    ensure_password,
    failure_text,
    port_of,
    port_open,
    write_private,
    write_state,
)
from lotgraph.neo4j_local.java import find_java
from lotgraph.neo4j_local.maven import ensure_jars
from lotgraph.neo4j_local.settings import (
    ADMIN_CLASS,
    DATABASE,
    JVM_OPTIONS,
    LOOPBACK,
    MAIN_CLASS,
    USER,
    ConnectionInfo,
    LocalNeo4jSettings,
    Log,
    Neo4jLocalError,
)

# Servers this process started: kept so that they are reaped (no zombie, no ResourceWarning).
CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


def start_java(
    home: Home, settings: LocalNeo4jSettings, fresh: bool, timeout_s: float, say: Log
) -> ConnectionInfo:
    java, major = find_java()
    for port, what in ((settings.bolt_port, "Bolt"), (settings.http_port, "HTTP")):
        if port and port_open(port):
            variable = f"LOTGRAPH_NEO4J_{what.upper()}_PORT"
            raise Neo4jLocalError(
                f"{LOOPBACK}:{port} (the {what} port) is already in use by another program; "
                f"stop it or choose another port with {variable}"
            )
    version = ensure_jars(home, java, say)
    password = ensure_password(home, regenerate_allowed=fresh or not home.data.exists())
    for folder in (home.conf, home.data, home.logs, home.root / "plugins", home.root / "import"):
        folder.mkdir(parents=True, exist_ok=True)
    _write_conf(home, settings)
    if not (home.data / "databases" / "system").exists():
        _set_initial_password(home, java, password)
    cmd = [
        str(java),
        f"-Xms{settings.heap}",
        f"-Xmx{settings.heap}",
        *JVM_OPTIONS,
        "-cp",
        f"{home.root / 'plugins'}/*:{home.lib}/*",
        MAIN_CLASS,
        f"--home-dir={home.root}",
        f"--config-dir={home.conf}",
    ]
    say(f"starting Neo4j {version} on Java {major} (logs in {home.logs})")
    with open(home.console_log, "ab") as console:
        console.write(f"--- lotgraph: starting Neo4j {version} at {time.ctime()}\n".encode())
        console.flush()
        proc = subprocess.Popen(
            cmd,
            cwd=home.root,
            env=neo4j_env(home),
            stdin=subprocess.DEVNULL,
            stdout=console,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: a Ctrl-C here does not reach it
            close_fds=True,
        )
    CHILDREN[proc.pid] = proc
    home.pid_file.write_text(f"{proc.pid}\n")
    info = ConnectionInfo(f"bolt://{LOOPBACK}:{settings.bolt_port}", USER, password, DATABASE)
    write_state(
        home,
        {
            "runtime": "java",
            "version": version,
            "bolt_port": settings.bolt_port,
            "http_port": settings.http_port,
            "pid": proc.pid,
            "java": str(java),
            "heap": settings.heap,
            "pagecache": settings.pagecache,
        },
    )
    try:
        wait_until_answering(home, info, proc.pid, time.monotonic() + timeout_s)
    except Neo4jLocalError:
        stop_java(home, 30)
        raise
    say(f"Neo4j {version} answers on {info.uri}")
    return info


def _write_conf(home: Home, settings: LocalNeo4jSettings) -> None:
    http = settings.http_port
    lines = [
        "# Written by lotgraph (lotgraph/neo4j_local/process.py) at every start: edits are lost.",
        "# Everything listens on 127.0.0.1 only and nothing talks beyond loopback.",
        f"server.directories.data={home.data}",
        f"server.directories.logs={home.logs}",
        f"server.directories.lib={home.lib}",
        f"server.directories.plugins={home.root / 'plugins'}",
        f"server.directories.import={home.root / 'import'}",
        f"server.directories.run={home.root / 'run'}",
        f"server.default_listen_address={LOOPBACK}",
        f"server.default_advertised_address={LOOPBACK}",
        "server.bolt.enabled=true",
        f"server.bolt.listen_address={LOOPBACK}:{settings.bolt_port}",
        f"server.bolt.advertised_address={LOOPBACK}:{settings.bolt_port}",
        "server.bolt.tls_level=DISABLED",
        "server.bolt.telemetry.enabled=false",
        f"server.http.enabled={'true' if http else 'false'}",
    ]
    if http:
        lines += [
            f"server.http.listen_address={LOOPBACK}:{http}",
            f"server.http.advertised_address={LOOPBACK}:{http}",
        ]
    lines += [
        "server.https.enabled=false",
        "dbms.routing.enabled=false",
        "dbms.security.auth_enabled=true",
        "dbms.usage_report.enabled=false",
        "client.allow_telemetry=false",
        f"server.memory.heap.initial_size={settings.heap}",
        f"server.memory.heap.max_size={settings.heap}",
        f"server.memory.pagecache.size={settings.pagecache}",
        "",
    ]
    home.conf.mkdir(parents=True, exist_ok=True)
    (home.conf / "neo4j.conf").write_text("\n".join(lines))


def _set_initial_password(home: Home, java: Path, password: str) -> None:
    # picocli reads arguments from an @file: the password never shows in a process list.
    argfile = home.root / "run" / "initial-password.args"
    argfile.parent.mkdir(parents=True, exist_ok=True)
    write_private(argfile, password + "\n")
    try:
        done = subprocess.run(
            [
                str(java),
                "-Xmx256m",
                "-cp",
                f"{home.lib}/*",
                ADMIN_CLASS,
                "dbms",
                "set-initial-password",
                f"@{argfile}",
            ],
            cwd=home.root,
            env=neo4j_env(home),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    finally:
        argfile.unlink(missing_ok=True)
    if done.returncode != 0:
        raise Neo4jLocalError(
            "neo4j-admin dbms set-initial-password failed "
            f"(exit {done.returncode}): {(done.stderr or done.stdout).strip()[-2000:]}"
        )


def neo4j_env(home: Home) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEO4J_")}
    env["NEO4J_HOME"] = str(home.root)
    env["NEO4J_CONF"] = str(home.conf)
    return env


def stop_java(home: Home, timeout_s: float = 60) -> bool:
    """Stop the Java server of this home: SIGTERM, wait, SIGKILL as a last resort. False if
    none ran."""
    pid = running_pid(home)
    if pid is None:
        home.pid_file.unlink(missing_ok=True)
        return False
    _signal(pid, signal.SIGTERM)
    if not _wait_dead(pid, timeout_s):
        _signal(pid, signal.SIGKILL)
        if not _wait_dead(pid, 15):
            raise Neo4jLocalError(f"Neo4j (pid {pid}) survived SIGKILL")
    home.pid_file.unlink(missing_ok=True)
    return True


def _signal(pid: int, sig: signal.Signals) -> None:
    try:
        if os.getpgid(pid) == pid:  # started in its own session: signal the whole group
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _wait_dead(pid: int, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while pid_alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    CHILDREN.pop(pid, None)
    return True


def pid_alive(pid: int) -> bool:
    child = CHILDREN.get(pid)
    if child is not None:
        return child.poll() is None
    try:
        return bool(psutil.Process(pid).status() != psutil.STATUS_ZOMBIE)  # a zombie is dead
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:
        return True


def running_pid(home: Home) -> int | None:
    """The pid in neo4j.pid if that process is alive and is this home's Neo4j."""
    try:
        pid = int(home.pid_file.read_text().strip())
    except (OSError, ValueError):
        return None
    if not pid_alive(pid):
        return None
    try:  # make sure the pid was not reused by another program
        args = psutil.Process(pid).cmdline()
    except psutil.AccessDenied:
        return pid  # not ours to read: trust the pid file
    except psutil.Error:
        return None
    if MAIN_CLASS not in args or f"--home-dir={home.root}" not in args:
        return None
    return pid


def wait_until_answering(home: Home, info: ConnectionInfo, pid: int, deadline: float) -> None:
    port = port_of(info.uri)
    while True:
        if pid and not pid_alive(pid):
            child = CHILDREN.pop(pid, None)
            code = child.returncode if child is not None else None
            raise Neo4jLocalError(failure_text(home, f"Neo4j exited during start (exit {code})"))
        if port_open(port) and _bolt_answers(info):
            return
        if time.monotonic() > deadline:
            raise Neo4jLocalError(
                failure_text(home, f"Neo4j did not answer on {info.uri} in time; it is stopped")
            )
        time.sleep(0.5)


def _bolt_answers(info: ConnectionInfo) -> bool:
    from neo4j import GraphDatabase
    from neo4j.exceptions import AuthError, DriverError, Neo4jError

    try:
        with GraphDatabase.driver(
            info.uri,
            auth=(info.user, info.password),
            connection_timeout=3,
            max_transaction_retry_time=1,
        ) as driver:
            records, _, _ = driver.execute_query("RETURN 1 AS one", database_=info.database)
            return bool(records) and records[0]["one"] == 1
    except AuthError as exc:
        raise Neo4jLocalError(
            f"Neo4j on {info.uri} refused the password (the one kept in the password file): "
            f"{exc.message}. `lotgraph neo4j start --fresh` starts over on an empty database"
        ) from None
    except (DriverError, Neo4jError, OSError):
        return False
