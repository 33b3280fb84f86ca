"""The auditor's questions to the audit trail: filters, pages, the CSV export, verification.

Every filter goes to the store (``GraphStore.audit_page``); the trail is never read whole
here. The CSV export walks the same pages the JSON answer gives, one store read per page,
so a trail of millions streams in constant memory.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

from api.errors import BadRequest
from graph.audit_chain import json_text
from graph.store import AUDIT_CLASSES, AuditQuery, GraphStore, audit_class, format_utc

CSV_PAGE = 1000
CSV_COLUMNS = (
    "seq",
    "at",
    "actor",
    "action",
    "class",
    "entity",
    "key",
    "old",
    "new",
    "reason",
    "source",
    "prev_hash",
    "hash",
)


def parse_moment(field: str, value: str, *, end_of_day: bool) -> str:
    """An ISO date or date-time as the trail's UTC text (``at``); no offset means UTC.

    A date is its day's first moment, or, with ``end_of_day`` (``until``), the next day's,
    so that ``until=D`` includes all of day D.
    """
    text = value.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            moment = datetime.combine(day, datetime.min.time(), UTC)
            if end_of_day:
                moment += timedelta(days=1)
        else:
            moment = datetime.fromisoformat(text)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return format_utc(moment)
    except (ValueError, OverflowError):
        raise BadRequest(
            f"{field}: {value!r} is not an ISO 8601 date (2026-03-01) or date-time "
            "(2026-03-01T08:00:00Z)"
        ) from None


def audit_query(
    actor: str | None,
    entity_id: str | None,
    kind: str | None,
    entry_class: str | None,
    since: str | None,
    until: str | None,
) -> AuditQuery:
    """The store's question from the request's filters (an empty value: no filter)."""
    if entry_class and entry_class not in AUDIT_CLASSES:
        raise BadRequest(f"class: {entry_class!r} is not one of {', '.join(AUDIT_CLASSES)}")
    after = parse_moment("since", since, end_of_day=False) if since else None
    before = parse_moment("until", until, end_of_day=True) if until else None
    if after is not None and before is not None and after >= before:
        raise BadRequest(f"until: {until!r} is not after since {since!r}")
    return AuditQuery(
        actor=actor or None,
        key=entity_id or None,
        action=kind or None,
        entry_class=entry_class or None,
        since=after,
        until=before,
    )


def entry_out(row: dict[str, Any]) -> dict[str, Any]:
    """One entry as the API answers it: its stored fields and its class."""
    return {
        "seq": row["seq"],
        "at": row["at"],
        "actor": row["actor"],
        "action": row["action"],
        "class": audit_class(row["action"]),
        "entity": row["entity"],
        "key": row["key"],
        "old": row.get("old"),
        "new": row.get("new"),
        "reason": row["reason"],
        "source": row["source"],
        "prev_hash": row.get("prev_hash"),
        "hash": row.get("hash"),
    }


def page(
    store: GraphStore, query: AuditQuery, after: int, limit: int
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of entries and the cursor of the next (None on the last)."""
    rows = store.audit_page(query, after, limit + 1)
    entries = [entry_out(r) for r in rows[:limit]]
    more = len(rows) > limit
    return entries, str(entries[-1]["seq"]) if more else None


def csv_lines(store: GraphStore, query: AuditQuery) -> Iterator[str]:
    """The header, then every entry ``query`` selects as one CSV row, a page at a time;
    ``old`` and ``new`` as JSON text with sorted keys (empty: null)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def taken() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(CSV_COLUMNS)
    yield taken()
    after = 0
    while True:
        rows = store.audit_page(query, after, CSV_PAGE)
        for row in rows:
            entry = entry_out(row)
            entry["old"] = json_text(entry["old"])
            entry["new"] = json_text(entry["new"])
            writer.writerow(["" if entry[c] is None else entry[c] for c in CSV_COLUMNS])
        if rows:
            yield taken()
        if len(rows) < CSV_PAGE:
            return
        after = rows[-1]["seq"]
