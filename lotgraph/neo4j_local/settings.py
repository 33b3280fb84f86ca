"""What the local Neo4j is: its constants, its settings (``LOTGRAPH_NEO4J_*``, read when
called, never at import), where it lives and how to reach it."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

USER = "neo4j"

DATABASE = "neo4j"

LOOPBACK = "127.0.0.1"

SUPPORTED_JAVA = (17, 21)  # what Neo4j 5.26 runs on; 17 is the one this project targets

MAIN_CLASS = "org.neo4j.server.CommunityEntryPoint"

ADMIN_CLASS = "org.neo4j.cli.AdminTool"

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
