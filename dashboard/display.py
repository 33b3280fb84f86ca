"""How values read on screen: times with their timezone, counts with what is hidden,
redacted cells, people. One place, so every page says them alike."""

from __future__ import annotations

import re
from datetime import datetime
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

REDACTED = "redacted"
# An ISO 8601 moment as the API writes them (a date alone is left as it is).
_MOMENT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?")


@cache
def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def when(value: Any, timezone: str = "UTC") -> Any:
    """A moment as people read it, in ``timezone`` and naming it:
    ``2025-06-30T00:48:41.000Z`` -> ``2025-06-30 02:48:41 CEST`` (Europe/Zurich).

    A moment without an offset is taken as UTC (the API writes UTC). Anything that is
    not a moment (a date, None, "redacted") is returned as it is.
    """
    if not isinstance(value, str) or not _MOMENT.fullmatch(value):
        return value
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo("UTC"))
    local = moment.astimezone(_zone(timezone))
    return f"{local:%Y-%m-%d %H:%M:%S} {local.tzname() or timezone}"


def is_time_column(name: str) -> bool:
    """Columns that hold moments: ``at`` and ``..._at`` (signed_at, started_at, ...)."""
    return name == "at" or name.endswith("_at")


def count(visible: int, hidden: int) -> str:
    """A count that says how much of it the caller may not see: "12 visible, 3 hidden"."""
    return f"{visible} visible, {hidden} hidden" if hidden else str(visible)


def person(pid: str | None, name: str | None = None, role: str | None = None) -> str:
    """A person by name and role where the API gives them: "Ana Ruiz (qa, U-004)"."""
    if not name:
        return pid or ""
    details = ", ".join(x for x in (role, pid) if x)
    return f"{name} ({details})" if details else name
