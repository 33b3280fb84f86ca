"""Tables as the pages show them, each with its CSV download."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Literal

import pandas as pd
import streamlit as st

from dashboard import display, session


def frame(rows: Iterable[Mapping[str, Any]], columns: Sequence[str]) -> pd.DataFrame:
    """Rows as a table with these columns; a redacted row keeps its id and says "redacted"
    in every other cell. Moments (``at``, ``..._at``) read as people read them, with their
    timezone (dashboard/display.py)."""
    records = []
    for row in rows:
        if row.get("redacted"):
            first = row.get(columns[0], row.get("id"))
            records.append(
                {columns[0]: first, **dict.fromkeys(columns[1:], display.REDACTED)}
                | {"redacted": True}
            )
        else:
            records.append({c: _cell(row.get(c)) for c in columns})
    times = [c for c in columns if display.is_time_column(c)]
    if times and records:
        zone = session.settings().display_timezone
        for record in records:
            for c in times:
                record[c] = display.when(record.get(c), zone)
    table = pd.DataFrame.from_records(records, columns=[*columns])
    if any(row.get("redacted") for row in records):
        table["redacted"] = [bool(r.get("redacted")) for r in records]
    return table


def _cell(value: Any) -> Any:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return value


def show(
    table: pd.DataFrame,
    name: str,
    *,
    key: str,
    empty: str,
    styled: Callable[[pd.DataFrame], Any] | None = None,
    **kwargs: Any,
) -> None:
    """The table (or its empty state) and a download of it as ``name``.csv."""
    if table.empty:
        st.caption(empty)
        return
    kwargs.setdefault("width", "stretch")
    # Long text (details, lists of ids, paths) goes last and is cut to a fixed width, so it
    # cannot push the columns after it out of view; the full text shows on hover and in
    # the CSV, which keeps the table's own column order.
    long = long_text_columns(table)
    width: Literal["large", "medium"] = "large" if len(long) == 1 else "medium"
    config = {c: st.column_config.TextColumn(c, width=width) for c in long}
    kwargs["column_config"] = {**config, **kwargs.get("column_config", {})}
    if long and "column_order" not in kwargs:
        kwargs["column_order"] = [c for c in table.columns if c not in long] + long
    st.dataframe(styled(table) if styled else table, hide_index=True, key=f"table-{key}", **kwargs)
    st.download_button(
        f"Download {name}.csv",
        table.to_csv(index=False).encode("utf-8"),
        file_name=f"{name}.csv",
        mime="text/csv",
        key=f"download-{key}",
        on_click="ignore",  # a download is not a question: the page is not run again
    )


LONG_TEXT = 32  # characters: a column whose cells run longer is given a fixed wide width


def long_text_columns(table: pd.DataFrame) -> list[str]:
    """The text columns with a cell longer than LONG_TEXT characters."""
    found = []
    for column in table.columns:
        values = table[column]
        if values.dtype == object and values.map(lambda v: len(str(v))).max() > LONG_TEXT:
            found.append(str(column))
    return found
