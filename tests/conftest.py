"""Fixtures: every store test runs on the embedded store and on a real Neo4j server.

The Neo4j server is the one `lotgraph neo4j start` runs, started once per test session on
its own port and data folder. With CI=true a Neo4j that does not start fails the run, and
a skipped Neo4j test fails it too.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import neo4j
import pytest

from graph.embedded import EmbeddedStore
from graph.neo4j_store import Neo4jStore
from graph.store import GraphStore
from lotgraph import neo4j_local
from tests.first_load import local_env  # noqa: F401 (a fixture: a local Neo4j of a test's own)

REPO = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
_neo4j_outcomes: dict[str, int] = {"passed": 0, "failed": 0, "skipped": 0}


@pytest.fixture(scope="session")
def neo4j_server() -> Iterator[neo4j_local.ConnectionInfo]:
    data_dir = Path(os.environ.get("LOTGRAPH_TEST_DATA_DIR", REPO / ".lotgraph-test"))
    os.environ.setdefault("LOTGRAPH_NEO4J_BOLT_PORT", "7698")
    os.environ.setdefault("LOTGRAPH_NEO4J_HTTP_PORT", "7484")
    if shutil.which("java") is None and not IN_CI:
        pytest.skip("no Java 17 here to run Neo4j (never skipped in CI)")
    info = neo4j_local.start(data_dir, fresh=True)
    yield info
    neo4j_local.stop(data_dir)


@pytest.fixture
def neo4j_store(neo4j_server: neo4j_local.ConnectionInfo) -> Iterator[Neo4jStore]:
    info = neo4j_server
    store = Neo4jStore(info.uri, info.user, info.password, info.database)
    store.clear()
    store.ensure_schema()
    yield store
    store.close()


@pytest.fixture
def embedded_store(tmp_path: Path) -> Iterator[EmbeddedStore]:
    store = EmbeddedStore(tmp_path / "graph.sqlite")
    store.ensure_schema()
    yield store
    store.close()


@pytest.fixture(params=["embedded", pytest.param("neo4j", marks=pytest.mark.neo4j)])
def store(request: pytest.FixtureRequest) -> GraphStore:
    name = "embedded_store" if request.param == "embedded" else "neo4j_store"
    return request.getfixturevalue(name)  # type: ignore[no-any-return]


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if "neo4j" not in report.keywords:
        return
    if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
        _neo4j_outcomes[report.outcome] += 1


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    o = _neo4j_outcomes
    terminalreporter.write_line(
        f"Neo4j tests against a real server: {o['passed']} passed, {o['failed']} failed, "
        f"{o['skipped']} skipped"
    )


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if IN_CI and _neo4j_outcomes["skipped"]:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The text of every query the Neo4j driver runs, in a transaction or auto-commit, from
    any thread of the process (the round-trip tests count them)."""
    queries: list[str] = []
    for cls in (neo4j.Transaction, neo4j.Session):
        original = cls.run

        def counted(self: Any, query: Any, *args: Any, _run: Any = original, **kw: Any) -> Any:
            queries.append(str(query))
            return _run(self, query, *args, **kw)

        monkeypatch.setattr(cls, "run", counted)
    yield queries
