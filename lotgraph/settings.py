"""Settings from the environment, read when asked for (never at import time).

``Settings`` is the one model of a lotgraph process: the command line's own variables and,
one sub-model per concern, the API's (``api``: ``LOTGRAPH_*``, api/settings.py) and the
Neo4j connection's (``neo4j``: ``NEO4J_*``). A command builds it once and passes it (or the
part it needs) down. Two concerns read their own variables where they are used: the local
Neo4j server (``LOTGRAPH_NEO4J_*``, ``neo4j_local.LocalNeo4jSettings``, read by
``lotgraph neo4j`` only, so that a bad port never stops a command that does not start one)
and the dashboard (dashboard/settings.py: it imports no project package, DESIGN §1).
"""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from api.settings import ApiSettings
from graph.neo4j_store import DEFAULT_MAX_RETRY_SECONDS


class Neo4jSettings(BaseSettings):
    """``NEO4J_*`` variables; with no URI the local server of `lotgraph neo4j start` is used."""

    model_config = SettingsConfigDict(env_prefix="NEO4J_", extra="ignore")

    uri: str | None = None
    user: str = "neo4j"
    password: SecretStr | None = None
    database: str = "neo4j"
    # how long the driver retries a transaction on a lost connection before giving up
    # (the request then answers 503); the driver's own default, 30 s, held requests that long
    max_retry_seconds: float = DEFAULT_MAX_RETRY_SECONDS


class Settings(BaseSettings):
    """Every setting of a lotgraph process (see the module docstring)."""

    model_config = SettingsConfigDict(env_prefix="LOTGRAPH_", extra="ignore")

    store: Literal["embedded", "neo4j"] = "embedded"
    data_dir: Path = Path(".lotgraph")
    actor: str | None = None  # who the CLI writes as in the audit trail; default: the OS user
    api: ApiSettings = Field(default_factory=ApiSettings)
    neo4j: Neo4jSettings = Field(default_factory=Neo4jSettings)

    def actor_name(self) -> str:
        if self.actor:
            return self.actor
        try:
            return f"cli:{getpass.getuser()}"
        except (KeyError, OSError):
            return "cli:unknown"
