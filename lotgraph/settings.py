"""Settings from the environment, read when asked for (never at import time)."""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Literal

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from graph.neo4j_store import DEFAULT_MAX_RETRY_SECONDS


class Settings(BaseSettings):
    """``LOTGRAPH_*`` variables."""

    model_config = SettingsConfigDict(env_prefix="LOTGRAPH_", extra="ignore")

    store: Literal["embedded", "neo4j"] = "embedded"
    data_dir: Path = Path(".lotgraph")
    actor: str | None = None  # who the CLI writes as in the audit trail; default: the OS user

    def actor_name(self) -> str:
        if self.actor:
            return self.actor
        try:
            return f"cli:{getpass.getuser()}"
        except (KeyError, OSError):
            return "cli:unknown"


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
