"""A local, real Neo4j Community 5.26 on 127.0.0.1, for users without Docker (DESIGN §5).

`start` fetches Neo4j's jars once from Maven Central (``neo4j_runtime/pom.xml``, with ``mvn``),
writes a ``neo4j.conf`` that keeps every listener on loopback and every phone-home off, sets a
random initial password (kept in ``<home>/password``, mode 0600), starts the JVM detached and
returns once Bolt answers ``RETURN 1``. Everything lives under ``<data_dir>/neo4j`` (the
*home*): ``lib/`` (jars), ``conf/``, ``data/``, ``logs/``, ``neo4j.pid``, ``password``.

Where a Docker engine answers (``docker info``) and a ``docker-compose.yml`` is found, the
``neo4j`` service of that file is used instead, unless ``LOTGRAPH_NEO4J_RUNTIME=java``.

Environment (read when called, never at import time): ``LOTGRAPH_DATA_DIR`` (default
``./.lotgraph``), ``LOTGRAPH_NEO4J_BOLT_PORT`` (7687), ``LOTGRAPH_NEO4J_HTTP_PORT`` (7474; 0
turns the HTTP connector off), ``LOTGRAPH_NEO4J_HEAP`` (1g), ``LOTGRAPH_NEO4J_PAGECACHE`` (1g),
``LOTGRAPH_NEO4J_RUNTIME`` (auto, java or docker).
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from graph.neo4j_bulk import ImportFiles

__all__ = [
    "ConnectionInfo",
    "LocalNeo4jSettings",
    "Neo4jLocalError",
    "connection_info",
    "default_data_dir",
    "env_lines",
    "find_java",
    "local_neo4j_home",
    "runtime_version",
    "start",
    "status",
    "stop",
]

USER = "neo4j"
DATABASE = "neo4j"
LOOPBACK = "127.0.0.1"
SUPPORTED_JAVA = (17, 21)  # what Neo4j 5.26 runs on; 17 is the one this project targets
MAIN_CLASS = "org.neo4j.server.CommunityEntryPoint"
ADMIN_CLASS = "org.neo4j.cli.AdminTool"
POM = Path(__file__).resolve().with_name("neo4j_runtime") / "pom.xml"
VERSION_MARKER = ".lotgraph-neo4j-version"

# The JVM options Neo4j 5.26's own neo4j.conf ships (less AlwaysPreTouch, which only slows a
# developer's start); the heap comes from LOTGRAPH_NEO4J_HEAP.
JVM_OPTIONS = (
    "-XX:+UseG1GC",
    "-XX:-OmitStackTraceInFastThrow",
    "-XX:+UnlockExperimentalVMOptions",
    "-XX:+TrustFinalNonStaticFields",
    "-XX:+DisableExplicitGC",
    "-XX:+ExitOnOutOfMemoryError",
    "-Djdk.nio.maxCachedBufferSize=1024",
    "-Dio.netty.tryReflectionSetAccessible=true",
    "-Djdk.tls.ephemeralDHKeySize=2048",
    "-Djdk.tls.rejectClientInitiatedRenegotiation=true",
    "-XX:FlightRecorderOptions=stackdepth=256",
    "-XX:+UnlockDiagnosticVMOptions",
    "-XX:+DebugNonSafepoints",
    "--add-opens=java.base/java.nio=ALL-UNNAMED",
    "--add-opens=java.base/java.io=ALL-UNNAMED",
    "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
    "--enable-native-access=ALL-UNNAMED",
    "-Dlog4j2.disable.jmx=true",
    "-Dlog4j.layout.jsonTemplate.maxStringLength=32768",
    "-Dfile.encoding=UTF-8",
)

_SIZE = re.compile(r"^[1-9][0-9]*[kKmMgG]?$")
# Servers this process started: kept so that they are reaped (no zombie, no ResourceWarning).
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}

Log = Callable[[str], None]


class Neo4jLocalError(RuntimeError):
    """The local Neo4j could not be fetched, started, reached or stopped; the text says why."""


@dataclass(frozen=True)
class ConnectionInfo:
    uri: str
    user: str
    password: str = field(repr=False)
    database: str = DATABASE


@dataclass(frozen=True)
class LocalNeo4jSettings:
    """How a new local server is started; see the module docstring for the variables."""

    bolt_port: int = 7687
    http_port: int = 7474  # 0: no HTTP connector
    heap: str = "1g"
    pagecache: str = "1g"
    runtime: str = "auto"  # auto | java | docker

    @classmethod
    def from_env(cls) -> LocalNeo4jSettings:
        env = os.environ
        settings = cls(
            bolt_port=_int_env("LOTGRAPH_NEO4J_BOLT_PORT", cls.bolt_port),
            http_port=_int_env("LOTGRAPH_NEO4J_HTTP_PORT", cls.http_port),
            heap=env.get("LOTGRAPH_NEO4J_HEAP", cls.heap).strip() or cls.heap,
            pagecache=env.get("LOTGRAPH_NEO4J_PAGECACHE", cls.pagecache).strip() or cls.pagecache,
            runtime=(env.get("LOTGRAPH_NEO4J_RUNTIME", cls.runtime).strip() or "auto").lower(),
        )
        settings.validate()
        return settings

    def validate(self) -> None:
        if not 0 < self.bolt_port < 65536:
            raise Neo4jLocalError(f"LOTGRAPH_NEO4J_BOLT_PORT={self.bolt_port} is not a port")
        if not 0 <= self.http_port < 65536 or self.http_port == self.bolt_port:
            raise Neo4jLocalError(
                f"LOTGRAPH_NEO4J_HTTP_PORT={self.http_port} is not a free port choice (0 = off)"
            )
        for name, value in (("HEAP", self.heap), ("PAGECACHE", self.pagecache)):
            if not _SIZE.match(value):
                raise Neo4jLocalError(
                    f"LOTGRAPH_NEO4J_{name}={value!r}: give a size such as 512m or 2g"
                )
        if self.runtime not in ("auto", "java", "docker"):
            raise Neo4jLocalError(
                f"LOTGRAPH_NEO4J_RUNTIME={self.runtime!r}: choose auto, java or docker"
            )


def _int_env(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise Neo4jLocalError(f"{name}={raw!r} is not a number") from None


def default_data_dir() -> Path:
    """``LOTGRAPH_DATA_DIR``, default ``./.lotgraph``."""
    return Path(os.environ.get("LOTGRAPH_DATA_DIR", "").strip() or ".lotgraph")


def local_neo4j_home(data_dir: Path) -> Path:
    return Path(data_dir) / "neo4j"


@dataclass(frozen=True)
class _Home:
    root: Path

    @classmethod
    def of(cls, data_dir: Path) -> _Home:
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
    def console_log(self) -> Path:
        return self.logs / "console.log"

    @property
    def neo4j_log(self) -> Path:
        return self.logs / "neo4j.log"

    @property
    def debug_log(self) -> Path:
        return self.logs / "debug.log"


# --------------------------------------------------------------------------- public API


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
    home = _Home.of(data_dir)
    settings = LocalNeo4jSettings.from_env()
    home.root.mkdir(parents=True, exist_ok=True)
    home.root.chmod(0o700)  # the database, its logs and the password are the user's alone
    with _locked(home):
        pid = _running_pid(home)  # a JVM of ours that runs keeps precedence over Docker
        if pid is None and settings.runtime != "java" and _use_docker(settings):
            return _docker_start(home, settings, fresh, timeout_s, say)
        if pid is not None and not fresh:
            info = _stored_info(home)
            if info is None:
                raise Neo4jLocalError(
                    f"a Neo4j runs from {home.root} (pid {pid}) but {home.password_file} or "
                    f"{home.state_file} is missing; stop it with `lotgraph neo4j stop`"
                )
            _wait_until_answering(home, info, pid, time.monotonic() + timeout_s)
            return info
        if pid is not None:
            say(f"stopping the running Neo4j (pid {pid}) for a fresh start")
            _stop_locked(home)
        home.pid_file.unlink(missing_ok=True)
        if fresh and home.data.exists():
            say(f"wiping {home.data}")
            shutil.rmtree(home.data)
        return _java_start(home, settings, fresh, timeout_s, say)


def stop(data_dir: Path, timeout_s: float = 60) -> bool:
    """Stop the local Neo4j: SIGTERM, wait, SIGKILL as a last resort. False if none ran."""
    home = _Home.of(data_dir)
    if not home.root.exists():
        return False
    with _locked(home):
        return _stop_locked(home, timeout_s)


def import_full(
    data_dir: Path, files: ImportFiles, *, threads: int, off_heap: str, log: Log | None = None
) -> float:
    """``neo4j-admin database import full`` of ``files`` into the stopped local server's
    database, replacing it (the caller has made sure it held nothing); seconds taken."""
    say = log or (lambda _msg: None)
    home = _Home.of(data_dir)
    java, _ = find_java()
    with _locked(home):
        pid = _running_pid(home)
        if pid is not None:
            raise Neo4jLocalError(f"the local Neo4j runs (pid {pid}); stop it before an import")
        root = home.root.absolute()
        report = root / "logs" / "import.report"
        cmd = [
            str(java),
            "-Xms1g",
            "-Xmx2g",
            *JVM_OPTIONS,
            "-cp",
            f"{root / 'plugins'}/*:{root / 'lib'}/*",
            ADMIN_CLASS,
            "database",
            "import",
            "full",
            DATABASE,  # before --nodes/--relationships, which take every following argument
            "--overwrite-destination=true",
            "--id-type=string",
            "--bad-tolerance=0",
            "--skip-bad-relationships=false",
            "--skip-duplicate-nodes=false",
            "--ignore-empty-strings=false",
            "--trim-strings=false",
            f"--threads={threads}",
            f"--max-off-heap-memory={off_heap}",
            f"--report-file={report}",
        ]
        if files.multiline:
            cmd.append("--multiline-fields=true")
        cmd += [f"--nodes={label}={path.absolute()}" for label, path in files.nodes]
        cmd += [f"--relationships={kind}={path.absolute()}" for kind, path in files.rels]
        console = root / "logs" / "import.log"
        console.parent.mkdir(parents=True, exist_ok=True)
        say(f"neo4j-admin database import full ({len(files.nodes) + len(files.rels)} files)")
        started = time.monotonic()
        with console.open("wb") as out:
            done = subprocess.run(
                cmd,
                cwd=root,
                env=_neo4j_env(home),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                check=False,
            )
        seconds = time.monotonic() - started
        if done.returncode != 0:
            raise Neo4jLocalError(
                f"neo4j-admin import failed (exit {done.returncode}); its log, {console}:\n"
                + _tail(console, 12)
            )
        say(f"imported in {seconds:.0f} s")
        return seconds


def status(data_dir: Path) -> dict[str, Any]:
    """``{running, pid, uri, user, version, home, ...}`` of the local Neo4j."""
    home = _Home.of(data_dir)
    state = _read_state(home)
    runtime = state.get("runtime")
    bolt_port = int(state.get("bolt_port") or LocalNeo4jSettings.from_env().bolt_port)
    http_port = int(state.get("http_port") or 0)
    if runtime == "docker":
        pid = None
        running = _port_open(bolt_port)
    else:
        pid = _running_pid(home)
        running = pid is not None
    return {
        "running": running,
        "pid": pid,
        "uri": f"bolt://{LOOPBACK}:{bolt_port}",
        "http_uri": f"http://{LOOPBACK}:{http_port}" if http_port else None,
        "user": USER,
        "database": DATABASE,
        "version": state.get("version") or _installed_version(home),
        "runtime": runtime,
        "home": str(home.root),
        "password_file": str(home.password_file) if home.password_file.exists() else None,
        "logs": str(home.logs),
    }


def connection_info(data_dir: Path) -> ConnectionInfo | None:
    """How to reach the local Neo4j, or None when none runs from ``data_dir``."""
    home = _Home.of(data_dir)
    info = _stored_info(home)
    if info is None:
        return None
    if _read_state(home).get("runtime") == "docker":
        return info if _port_open(_port_of(info.uri)) else None
    return info if _running_pid(home) is not None else None


def env_lines(data_dir: Path) -> str:
    """Shell ``export`` lines for NEO4J_URI, NEO4J_USER, NEO4J_PASSWORD and NEO4J_DATABASE."""
    home = _Home.of(data_dir)
    info = _stored_info(home)
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
    return "".join(f"export {k}={_shell_quote(v)}\n" for k, v in values.items())


def runtime_version() -> str:
    """The Neo4j version ``neo4j_runtime/pom.xml`` asks for."""
    ns = {"m": "http://maven.apache.org/POM/4.0.0"}
    node = ET.parse(POM).getroot().find("m:properties/m:neo4j.version", ns)
    if node is None or not (node.text or "").strip():
        raise Neo4jLocalError(f"{POM} has no neo4j.version property")
    return (node.text or "").strip()


def find_java() -> tuple[Path, int]:
    """A Java that Neo4j 5.26 runs on: JAVA_HOME's, the one on PATH, then installed JVMs."""
    candidates: list[str] = []
    if os.environ.get("JAVA_HOME"):
        candidates.append(str(Path(os.environ["JAVA_HOME"]) / "bin" / "java"))
    on_path = shutil.which("java")
    if on_path:
        candidates.append(on_path)
    candidates += sorted(glob.glob("/usr/lib/jvm/*/bin/java"))
    candidates += sorted(glob.glob("/Library/Java/JavaVirtualMachines/*/Contents/Home/bin/java"))
    found: list[str] = []
    seen: set[Path] = set()
    for candidate in candidates:
        path = Path(candidate)
        if not path.is_file() or path.resolve() in seen:
            continue
        seen.add(path.resolve())
        major = _java_major(path)
        found.append(f"{path} (Java {major if major else '?'})")
        if major in SUPPORTED_JAVA:
            return path, major
    raise Neo4jLocalError(
        "Neo4j 5.26 needs Java 17 (or 21); "
        + (f"found only: {', '.join(found)}" if found else "no java was found")
        + ". Install a Java 17 runtime (Debian/Ubuntu: apt-get install openjdk-17-jre-headless) "
        "or point JAVA_HOME at one."
    )


# --------------------------------------------------------------------------- Java runtime


def _java_start(
    home: _Home, settings: LocalNeo4jSettings, fresh: bool, timeout_s: float, say: Log
) -> ConnectionInfo:
    java, major = find_java()
    for port, what in ((settings.bolt_port, "Bolt"), (settings.http_port, "HTTP")):
        if port and _port_open(port):
            variable = f"LOTGRAPH_NEO4J_{what.upper()}_PORT"
            raise Neo4jLocalError(
                f"{LOOPBACK}:{port} (the {what} port) is already in use by another program; "
                f"stop it or choose another port with {variable}"
            )
    version = _ensure_jars(home, java, say)
    password = _ensure_password(home, regenerate_allowed=fresh or not home.data.exists())
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
            env=_neo4j_env(home),
            stdin=subprocess.DEVNULL,
            stdout=console,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: a Ctrl-C here does not reach it
            close_fds=True,
        )
    _CHILDREN[proc.pid] = proc
    home.pid_file.write_text(f"{proc.pid}\n")
    info = ConnectionInfo(f"bolt://{LOOPBACK}:{settings.bolt_port}", USER, password, DATABASE)
    _write_state(
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
        _wait_until_answering(home, info, proc.pid, time.monotonic() + timeout_s)
    except Neo4jLocalError:
        _stop_locked(home, 30)
        raise
    say(f"Neo4j {version} answers on {info.uri}")
    return info


def _ensure_jars(home: _Home, java: Path, say: Log) -> str:
    version = runtime_version()
    if _installed_version(home) == version:
        return version
    mvn = shutil.which("mvn")
    if mvn is None:
        raise Neo4jLocalError(
            "Maven (mvn) is needed once to fetch Neo4j's jars from Maven Central "
            "(Debian/Ubuntu: apt-get install maven)"
        )
    build = home.root / "build"
    build.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(POM, build / "pom.xml")
    partial = home.root / "lib.partial"
    shutil.rmtree(partial, ignore_errors=True)
    home.logs.mkdir(parents=True, exist_ok=True)
    maven_log = home.logs / "maven.log"
    say(f"fetching Neo4j {version} jars from Maven Central into {home.lib} (once; ~125 MB)")
    env = dict(os.environ, JAVA_HOME=str(java.resolve().parent.parent))
    cmd = [
        mvn,
        "-q",
        "-B",
        "-Dstyle.color=never",
        "-f",
        str(build / "pom.xml"),
        "dependency:copy-dependencies",
        f"-DoutputDirectory={partial}",
        "-DincludeScope=runtime",
    ]
    with open(maven_log, "wb") as out:
        try:
            rc = subprocess.run(
                cmd,
                cwd=build,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=1800,
                check=False,
            ).returncode
        except subprocess.TimeoutExpired:
            rc = -1
    if rc != 0 or not (partial / f"neo4j-{version}.jar").is_file():
        raise Neo4jLocalError(
            f"fetching Neo4j {version} from Maven Central failed (mvn exit {rc}); see {maven_log}"
        )
    shutil.rmtree(home.lib, ignore_errors=True)
    partial.rename(home.lib)
    (home.lib / VERSION_MARKER).write_text(version + "\n")
    return version


def _installed_version(home: _Home) -> str | None:
    marker = home.lib / VERSION_MARKER
    try:
        return marker.read_text().strip() or None
    except OSError:
        return None


def _write_conf(home: _Home, settings: LocalNeo4jSettings) -> None:
    http = settings.http_port
    lines = [
        "# Written by lotgraph (lotgraph/neo4j_local.py) at every start: edits are lost.",
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


def _set_initial_password(home: _Home, java: Path, password: str) -> None:
    # picocli reads arguments from an @file: the password never shows in a process list.
    argfile = home.root / "run" / "initial-password.args"
    argfile.parent.mkdir(parents=True, exist_ok=True)
    _write_private(argfile, password + "\n")
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
            env=_neo4j_env(home),
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


def _neo4j_env(home: _Home) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEO4J_")}
    env["NEO4J_HOME"] = str(home.root)
    env["NEO4J_CONF"] = str(home.conf)
    return env


def _ensure_password(home: _Home, regenerate_allowed: bool) -> str:
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
    _write_private(path, password + "\n")
    return password


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def _stop_locked(home: _Home, timeout_s: float = 60) -> bool:
    if _read_state(home).get("runtime") == "docker":
        return _docker_stop(home)
    pid = _running_pid(home)
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
    while _pid_alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    _CHILDREN.pop(pid, None)
    return True


def _pid_alive(pid: int) -> bool:
    child = _CHILDREN.get(pid)
    if child is not None:
        return child.poll() is None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    with contextlib.suppress(OSError, IndexError):  # a zombie is dead
        stat = Path(f"/proc/{pid}/stat").read_text()
        if stat.rsplit(")", 1)[1].split()[0] == "Z":
            return False
    return True


def _running_pid(home: _Home) -> int | None:
    """The pid in neo4j.pid if that process is alive and is this home's Neo4j."""
    try:
        pid = int(home.pid_file.read_text().strip())
    except (OSError, ValueError):
        return None
    if not _pid_alive(pid):
        return None
    cmdline = Path(f"/proc/{pid}/cmdline")
    if cmdline.parent.exists():  # Linux: make sure the pid was not reused by another program
        try:
            args = cmdline.read_bytes().split(b"\0")
        except OSError:
            return None
        if MAIN_CLASS.encode() not in args or f"--home-dir={home.root}".encode() not in args:
            return None
    return pid


def _wait_until_answering(home: _Home, info: ConnectionInfo, pid: int, deadline: float) -> None:
    port = _port_of(info.uri)
    while True:
        if pid and not _pid_alive(pid):
            child = _CHILDREN.pop(pid, None)
            code = child.returncode if child is not None else None
            raise Neo4jLocalError(_failure_text(home, f"Neo4j exited during start (exit {code})"))
        if _port_open(port) and _bolt_answers(info):
            return
        if time.monotonic() > deadline:
            raise Neo4jLocalError(
                _failure_text(home, f"Neo4j did not answer on {info.uri} in time; it is stopped")
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


def _failure_text(home: _Home, headline: str) -> str:
    parts = [headline + "."]
    for path in (home.console_log, home.neo4j_log):
        tail = _tail(path, 15)
        if tail:
            parts.append(f"--- last lines of {path}:\n{tail}")
    parts.append(f"Logs: {home.console_log}, {home.neo4j_log}, {home.debug_log}")
    return "\n".join(parts)


def _tail(path: Path, n: int) -> str:
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(0, fh.tell() - 16384))
            lines = fh.read().decode(errors="replace").splitlines()
    except OSError:
        return ""
    return "\n".join(lines[-n:])


# --------------------------------------------------------------------------- Docker runtime


def _use_docker(settings: LocalNeo4jSettings) -> bool:
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
    for folder in (Path.cwd(), Path(__file__).resolve().parent.parent):
        if (folder / "docker-compose.yml").is_file():
            return folder / "docker-compose.yml"
    return None


def _compose(home: _Home, *args: str, env: dict[str, str] | None = None) -> None:
    compose = _compose_file()
    if compose is None:
        raise Neo4jLocalError("docker-compose.yml is no longer found")
    # One compose project per data dir, so that a test run's --fresh never wipes a user's data.
    project = "lotgraph-" + hashlib.sha256(str(home.root).encode()).hexdigest()[:10]
    cmd = ["docker", "compose", "-p", project, "-f", str(compose), *args]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600, check=False)
    if done.returncode != 0:
        raise Neo4jLocalError(f"`{' '.join(cmd)}` failed: {done.stderr.strip()[-2000:]}")


def _docker_start(
    home: _Home, settings: LocalNeo4jSettings, fresh: bool, timeout_s: float, say: Log
) -> ConnectionInfo:
    password = os.environ.get("NEO4J_PASSWORD") or _ensure_password(home, True)
    _write_private(home.password_file, password + "\n")
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
    _write_state(
        home,
        {
            "runtime": "docker",
            "version": "5.26 (image neo4j:5.26-community)",
            "bolt_port": settings.bolt_port,
            "http_port": settings.http_port or 7474,
        },
    )
    info = ConnectionInfo(f"bolt://{LOOPBACK}:{settings.bolt_port}", USER, password, DATABASE)
    _wait_until_answering(home, info, 0, time.monotonic() + timeout_s)
    return info


def _docker_stop(home: _Home) -> bool:
    was_running = _port_open(int(_read_state(home).get("bolt_port") or 7687))
    _compose(home, "stop", "neo4j")
    return was_running


# --------------------------------------------------------------------------- helpers


def _stored_info(home: _Home) -> ConnectionInfo | None:
    state = _read_state(home)
    if not state.get("bolt_port"):
        return None
    try:
        password = home.password_file.read_text().strip()
    except OSError:
        return None
    if not password:
        return None
    return ConnectionInfo(f"bolt://{LOOPBACK}:{int(state['bolt_port'])}", USER, password, DATABASE)


def _read_state(home: _Home) -> dict[str, Any]:
    try:
        value = json.loads(home.state_file.read_text())
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def _write_state(home: _Home, state: dict[str, Any]) -> None:
    tmp = home.state_file.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=2) + "\n")
    tmp.replace(home.state_file)


@contextlib.contextmanager
def _locked(home: _Home) -> Iterator[None]:
    """One start/stop at a time per home, across processes."""
    with open(home.root / ".lock", "a+b") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((LOOPBACK, port)) == 0


def _port_of(uri: str) -> int:
    return int(uri.rsplit(":", 1)[1])


def _java_major(java: Path) -> int | None:
    try:
        done = subprocess.run(
            [str(java), "-version"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r'version "(\d+)(?:\.(\d+))?', done.stderr + done.stdout)
    if not match:
        return None
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major


def _shell_quote(value: str) -> str:
    if re.fullmatch(r"[A-Za-z0-9_./:@%+=,-]+", value):
        return value
    return "'" + value.replace("'", "'\"'\"'") + "'"
