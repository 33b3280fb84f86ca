"""Every event of an EPCIS import is written whole or not at all (docs/EPCIS.md "Each event
whole or not at all").

The loader writes kind after kind (lots, then batches, ..., then consumptions) and rejects
single records, so a record of an event rejected in a later kind would leave the event's
earlier records stored. Before anything is written, :func:`rejected_events` checks every
mapped record as the loader will (``ingest.loader.check_rows``: validation, duplicate keys,
the plan with the lots' units) and names the events that have a rejected record; the
importer then maps the document again without them, until no record is rejected. The
last check's rows, validated and planned, are what the loader then writes
(``ingest_records``' ``checked``): each record is validated and planned once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from graph.model import Label
from graph.store import GraphStore
from ingest.epcis.mapping import MappedDocument, Record
from ingest.loader import CheckedRows, check_rows
from ingest.mapping import FILES, FileSpec


@dataclass(frozen=True, slots=True)
class RecordProblem:
    """A record the loader would reject: its kind, its 1-based position in the kind's list,
    the field and the reason, and the events (positions) it came from."""

    kind: str
    row: int
    column: str
    reason: str
    events: tuple[int, ...]
    key: str


@dataclass(slots=True)
class PreCheck:
    """The records of a mapped document as the loader would check them: the ones it would
    reject, and what :func:`check_rows` made of each kind (by kind)."""

    problems: list[RecordProblem] = field(default_factory=list)
    checked: dict[str, CheckedRows] = field(default_factory=dict)


def record_problems(store: GraphStore, mapped: MappedDocument) -> list[RecordProblem]:
    """The records of ``mapped`` the loader would reject, found without writing."""
    return precheck(store, mapped).problems


def precheck(store: GraphStore, mapped: MappedDocument) -> PreCheck:
    """Check the records of ``mapped`` as the loader will, without writing.

    The units of the lots that consumptions, outputs and shipments name are the ones the
    loader will find when it comes to them: the document's own lot records' (written
    first), else the store's.
    """
    found = PreCheck()
    problems = found.problems
    units_here: dict[str, str] = {}

    def lot_units(ids: Sequence[str]) -> Mapping[str, str]:
        units = dict(store.fetch_lot_units([i for i in ids if i not in units_here]))
        units.update((i, units_here[i]) for i in ids if i in units_here)
        return units

    for spec in FILES:
        kind = spec.name.removesuffix(".csv")
        rows = mapped.records.get(kind)
        if not rows:
            continue
        checked = check_rows(spec, as_cells(rows), name=kind, lot_units=lot_units)
        found.checked[kind] = checked
        origins = mapped.origins.get(kind, [])
        for rejection in checked.rejections:
            i = rejection.row - 1
            problems.append(
                RecordProblem(
                    kind,
                    rejection.row,
                    rejection.column,
                    rejection.reason,
                    origins[i] if i < len(origins) else (),
                    _key(spec, rows[i]),
                )
            )
        if kind == "lots":
            for plan in checked.plans.values():
                lot = plan.nodes[0]
                if lot.ref.label == Label.LOT:
                    units_here[lot.ref.id] = str(lot.props["unit"])
    return found


def as_cells(rows: Sequence[Record]) -> list[dict[str, str]]:
    """The records as the loader reads them: ``ingest.events`` renders each kind as a CSV
    file (the union of the records' fields in first-seen order, an absent or null value an
    empty cell, ``true``/``false``, numbers as ``str`` writes them), read back as text."""
    columns = list(dict.fromkeys(name for row in rows for name in row))
    return [{name: _cell(row.get(name)) for name in columns} for row in rows]


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _key(spec: FileSpec, row: Record) -> str:
    """The record's identifying fields, for a reason a person can find it by."""
    fields = [f for f in spec.model.model_fields if f.endswith("_id")][:2] or [
        next(iter(spec.model.model_fields))
    ]
    return ", ".join(f"{f} {row.get(f)}" for f in fields if row.get(f) is not None)


__all__ = ["PreCheck", "RecordProblem", "as_cells", "precheck", "record_problems"]
