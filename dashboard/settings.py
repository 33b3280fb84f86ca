"""The dashboard's settings, from ``LOTGRAPH_*`` variables, read when a session starts."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class DashboardSettings(BaseSettings):
    """Where the API is and how long to wait for it."""

    model_config = SettingsConfigDict(env_prefix="LOTGRAPH_", extra="ignore")

    api_url: str = "http://127.0.0.1:8000"
    api_timeout_seconds: float = 120.0  # an impurity investigation on a large plant is slow
