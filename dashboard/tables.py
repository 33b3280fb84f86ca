"""Tables as the pages show them, each with its CSV download."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import pandas as pd
import streamlit as st


def frame(rows: Iterable[Mapping[str, Any]], columns: Sequence[str]) -> pd.DataFrame:
    """Rows as a table with these columns; a redacted row keeps its id and says so."""
    records = []
    for row in rows:
        if row.get("redacted"):
            records.append({columns[0]: row["id"], "redacted": True})
        else:
            records.append({c: _cell(row.get(c)) for c in columns})
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
    st.dataframe(styled(table) if styled else table, hide_index=True, key=f"table-{key}", **kwargs)
    st.download_button(
        f"Download {name}.csv",
        table.to_csv(index=False).encode("utf-8"),
        file_name=f"{name}.csv",
        mime="text/csv",
        key=f"download-{key}",
        on_click="ignore",  # a download is not a question: the page is not run again
    )
