"""A local, real Neo4j Community 5.26 on 127.0.0.1, for users without Docker (DESIGN §5).

The package, by job: ``settings`` (constants, the ``LOTGRAPH_NEO4J_*`` settings), ``home`` (the
folder, its state, password and lock), ``java`` (finding a Java), ``maven`` (the jars),
``process`` (the server as a Java process), ``compose`` (the Docker Compose service),
``server`` (start, stop, status whichever runs it) and ``admin_import`` (the import tool).

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

from lotgraph.neo4j_local.admin_import import import_full
from lotgraph.neo4j_local.home import (
    begin_first_load,
    end_first_load,
    interrupted_first_load,
    unfinished_first_load_text,
)
from lotgraph.neo4j_local.java import find_java
from lotgraph.neo4j_local.maven import runtime_version
from lotgraph.neo4j_local.server import connection_info, env_lines, start, status, stop
from lotgraph.neo4j_local.settings import (
    ADMIN_CLASS,
    DATABASE,
    JVM_OPTIONS,
    LOOPBACK,
    USER,
    ConnectionInfo,
    LocalNeo4jSettings,
    Log,
    Neo4jLocalError,
    default_data_dir,
    local_neo4j_home,
)

__all__ = [
    "ADMIN_CLASS",
    "DATABASE",
    "JVM_OPTIONS",
    "LOOPBACK",
    "USER",
    "ConnectionInfo",
    "LocalNeo4jSettings",
    "Log",
    "Neo4jLocalError",
    "begin_first_load",
    "connection_info",
    "default_data_dir",
    "end_first_load",
    "env_lines",
    "find_java",
    "import_full",
    "interrupted_first_load",
    "local_neo4j_home",
    "runtime_version",
    "start",
    "status",
    "stop",
    "unfinished_first_load_text",
]
