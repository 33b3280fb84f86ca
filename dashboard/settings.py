"""The dashboard's settings, from ``LOTGRAPH_*`` variables, read when a session starts."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class DashboardSettings(BaseSettings):
    """Where the API is, how long to wait for it, and the timezone times are shown in."""

    model_config = SettingsConfigDict(env_prefix="LOTGRAPH_", extra="ignore")

    api_url: str = "http://127.0.0.1:8000"
    api_timeout_seconds: float = 120.0  # an impurity investigation on a large plant is slow
    # times are shown in this IANA timezone, named beside each (dashboard/display.py)
    display_timezone: str = "UTC"

    @field_validator("display_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not an IANA timezone (e.g. Europe/Zurich)") from None
        return value
