"""Ingest JSON records of the canonical kinds (the body of ``POST /ingest/events``).

The records go through the bundle loader itself, so validation, mapping, accounting
(``rows_read = accepted + unchanged + rejected``), the dead letter (``store.record_ingest``)
and the audit trail are exactly the CLI's: each kind's records are what the loader would
read of a CSV file of the canonical bundle (DESIGN §3) rendered from them, with a
``bundle.json`` naming the source and timezone. The loader gets them in memory
(``ingest_records``), each file's SHA-256 computed over its CSV rendering; only a payload
whose rendering the CSV reader would not read back as given (a value or field name longer
than the reader's field limit, a first field name that starts with a byte-order mark), or
that comes near the files' size limits (``BundleLimits``' defaults), is written as those
files into a private temporary folder, read with ``ingest_bundle`` and deleted, so that
the reader's own refusal stands.

The CSV rendering of one kind: the header is the union of its records' field names in
first-seen order; a field a record lacks, or whose value is ``null``, is an empty cell;
``true``/``false`` are written as such, numbers as Python's ``str`` writes them, text as
given. A JSON value therefore means what the same text means in a CSV bundle: ``100`` and
``"100"`` are one quantity, an empty string is an absent value. A kind with an empty list is
not written, so it is not in the report.

How the report names things (what an API caller sent, not the temporary files):

- ``bundle`` is ``events:<source>``, in the report, the stored ingest record and the
  ingest's audit entry;
- a rejection's ``file`` is the kind (``"lots"``), and its ``row`` is the 1-based position of
  the record in that kind's list (``records["lots"][0]`` is row 1; the CSV loader's own
  numbering counts the header as row 1, which this translates). The same names key the
  report's ``files``, the audit entry's per-kind SHA-256 (of the CSV rendering above) and
  the provenance (``source_file``, ``source_row``) of what each record wrote.

Refused whole, with nothing written: a payload that does not fit :class:`EventsPayload`
(pydantic's ``ValidationError``: an unknown kind, a record that is not a flat object of
scalars, an empty record, a field name or text that a UTF-8 CSV cannot carry faithfully, an
unknown timezone, a blank source), and one with more records in total than ``max_rows``
(:class:`TooManyRecords`).
"""

from __future__ import annotations

import csv
import functools
import hashlib
import io
import json
import tempfile
from collections.abc import Callable, Mapping
from enum import StrEnum
from itertools import chain
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from graph.store import GraphStore
from ingest.bundle import MAX_META_BYTES, BundleLimits, BundleMeta, RecordsBundle, RecordsFile
from ingest.loader import CheckedRows, IngestReport, ingest_bundle, ingest_records
from ingest.mapping import FILES

DEFAULT_MAX_ROWS = 50_000

# The canonical kinds: the bundle's file stems, in the loader's order ("suppliers", ...).
Kind = StrEnum(  # type: ignore[misc]  # built from FILES, so mypy cannot list its members
    "Kind", [(spec.name.removesuffix(".csv"),) * 2 for spec in FILES]
)
Kind.__doc__ = "A canonical record kind: the name of a bundle file without `.csv`."

_FILE_OF_KIND: dict[str, str] = {spec.name.removesuffix(".csv"): spec.name for spec in FILES}
_KIND_OF_FILE: dict[str, str] = {file: kind for kind, file in _FILE_OF_KIND.items()}

Scalar = str | int | float | bool | None


class TooManyRecords(ValueError):
    """The payload holds more records than one request may; nothing of it is written."""

    def __init__(self, count: int, limit: int) -> None:
        super().__init__(f"the payload holds {count} records; at most {limit} are accepted")
        self.count = count
        self.limit = limit


def _carried_text(text: str, what: str) -> None:
    """Refuse text that the CSV rendering would change: NUL, or not encodable as UTF-8."""
    if "\x00" in text:
        raise ValueError(f"{what} contains a NUL character")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"{what} is not valid Unicode (a lone surrogate)") from None


def _check_record(record: dict[str, Scalar]) -> dict[str, Scalar]:
    # the common case at once: field names seen before, and values of plain ASCII text
    if _names_are_fine(tuple(record)):
        text = "".join([v for v in record.values() if isinstance(v, str)])
        if text.isascii() and "\x00" not in text:
            return record
    return _checked_record(record)


@functools.lru_cache(maxsize=4096)
def _names_are_fine(names: tuple[str, ...]) -> bool:
    try:
        _checked_record(dict.fromkeys(names))
    except ValueError:
        return False
    return True


def _checked_record(record: dict[str, Scalar]) -> dict[str, Scalar]:
    """Each field name and value in turn; the first fault is the one reported."""
    columns: dict[str, str] = {}
    for name, value in record.items():
        column = name.strip()
        if not column:
            raise ValueError("a field name is empty")
        _carried_text(name, f"field name {name!r}")
        if column in columns:
            raise ValueError(
                f"field names {columns[column]!r} and {name!r} are one column "
                "(names are trimmed of spaces)"
            )
        columns[column] = name
        if isinstance(value, str):
            _carried_text(value, f"field {name!r}")
    return record


Record = Annotated[dict[str, Scalar], Field(min_length=1), AfterValidator(_check_record)]


class EventsPayload(BaseModel):
    """The body of ``POST /ingest/events``: records of the canonical kinds (DESIGN §3).

    Each record is one row of the kind's bundle file, as a flat JSON object: its field
    names are the file's columns (extra fields are kept as properties, as extra columns
    are) and its values are text, numbers, booleans or ``null`` (absent).
    """

    model_config = ConfigDict(extra="forbid")

    source: str = Field(
        min_length=1,
        description=(
            "The system the records come from, like bundle.json's `source`: it is the "
            "provenance `source` of everything the records write and of the audit entries. "
            "Required, not blank."
        ),
        examples=["MES-SITE-A"],
    )
    timezone: str | None = Field(
        default=None,
        description=(
            "IANA timezone (e.g. `Europe/Zurich`) in which a timestamp without a UTC offset "
            "is read, like bundle.json's `timezone`. Without it such a timestamp is a "
            "rejected row."
        ),
        examples=["Europe/Zurich"],
    )
    records: dict[Kind, list[Record]] = Field(
        description=(
            "Records by kind (`suppliers`, `materials`, `lots`, ...: the canonical bundle's "
            "file names without `.csv`). Each record is a flat object of one row's fields; "
            "rejections name the kind as `file` and the record's 1-based position in the "
            "kind's list as `row`."
        ),
    )

    @field_validator("source")
    @classmethod
    def _source_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("source is blank")
        _carried_text(value, "source")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown IANA timezone {value!r}") from None
        return value

    @property
    def record_count(self) -> int:
        return sum(len(rows) for rows in self.records.values())


def ingest_events(
    store: GraphStore,
    payload: EventsPayload,
    *,
    actor: str,
    max_rows: int = DEFAULT_MAX_ROWS,
    label: str | None = None,
    track_rows: bool = False,
    finish: Callable[[IngestReport], None] | None = None,
    checked: Mapping[str, CheckedRows] | None = None,
) -> IngestReport:
    """Ingest the payload's records as one bundle would be, and report on every record.

    Raises TooManyRecords (nothing written) when the payload holds more than ``max_rows``.
    ``label`` names the ingest instead of ``events:<source>``; ``track_rows`` and ``finish``
    are ``ingest_bundle``'s (a front end that maps its own input to these records, like
    ingest.epcis, reports on its input through them). ``checked`` is, by kind, what
    ``ingest.loader.check_rows`` made of the kind's records (rendered as the loader reads
    them, numbered from 1): those are loaded without being checked again (when the loader
    reads the records from files instead, it checks them as ever).
    """
    count = payload.record_count
    if count > max_rows:
        raise TooManyRecords(count, max_rows)
    name = label or f"events:{payload.source}"
    files = _rendered(payload.records)
    if files is None:
        return _ingest_through_files(
            store, payload, actor=actor, label=name, track_rows=track_rows, finish=finish
        )
    zone = ZoneInfo(payload.timezone) if payload.timezone else None
    meta = {"source": payload.source, "timezone": payload.timezone}
    bundle = RecordsBundle(BundleMeta(payload.source, zone, None, meta), files)
    return ingest_records(
        store,
        bundle,
        actor=actor,
        label=name,
        file_names=_KIND_OF_FILE,
        first_row=1,
        track_rows=track_rows,
        finish=finish,
        checked={_FILE_OF_KIND[kind]: rows for kind, rows in (checked or {}).items()},
    )


def _ingest_through_files(
    store: GraphStore,
    payload: EventsPayload,
    *,
    actor: str,
    label: str,
    track_rows: bool,
    finish: Callable[[IngestReport], None] | None,
) -> IngestReport:
    """The payload written as the CSV files of a bundle and read back by the loader."""
    with tempfile.TemporaryDirectory(prefix="lotgraph-events-") as tmp:
        folder = Path(tmp)
        meta = {"source": payload.source, "timezone": payload.timezone}
        (folder / "bundle.json").write_text(json.dumps(meta), encoding="utf-8")
        for kind, rows in payload.records.items():
            if rows:
                _write_csv(folder / _FILE_OF_KIND[kind], rows)
        return ingest_bundle(
            store,
            folder,
            actor=actor,
            label=label,
            file_names=_KIND_OF_FILE,
            first_row=1,
            track_rows=track_rows,
            finish=finish,
        )


def _rendered(records: dict[Kind, list[dict[str, Scalar]]]) -> dict[str, RecordsFile] | None:
    """Each kind's records as the loader would read its CSV file (header trimmed, cells as
    text), with the SHA-256 of that file; None when the CSV reader would not read the file
    back as given (see the module's docstring), which then goes through the files."""
    limit = csv.field_size_limit()
    bounds = BundleLimits()  # the files' limits (ingest_bundle's default): theirs to refuse
    if sum(len(rows) for rows in records.values()) > bounds.max_rows:
        return None
    size = 0
    files: dict[str, RecordsFile] = {}
    for kind, rows in records.items():
        if not rows:
            continue
        names = list(dict.fromkeys(chain.from_iterable(rows)))
        if names[0].startswith("\ufeff") or any(len(n) > limit for n in names):
            return None
        cells = [
            [v if v.__class__ is str else _cell(v) for v in map(row.get, names)] for row in rows
        ]
        if max(map(len, chain.from_iterable(cells)), default=0) > limit:
            return None
        text = io.StringIO(newline="")
        writer = csv.writer(text)
        writer.writerow(names)
        writer.writerows(cells)
        data = text.getvalue().encode("utf-8")
        size += len(data)
        if size > bounds.max_uncompressed_bytes - MAX_META_BYTES:  # bundle.json counts too
            return None
        header = [name.strip() for name in names]
        files[_FILE_OF_KIND[kind]] = RecordsFile(
            header=header,
            # a header with a column twice is refused whole (RecordsBundle.check)
            records=[dict(zip(header, line, strict=True)) for line in cells],
            sha256=hashlib.sha256(data).hexdigest(),
        )
    return files


def _write_csv(path: Path, rows: list[dict[str, Scalar]]) -> None:
    columns = list(dict.fromkeys(name for row in rows for name in row))
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(columns)
        for row in rows:
            writer.writerow([_cell(row.get(name)) for name in columns])


def _cell(value: Scalar) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


__all__ = [
    "DEFAULT_MAX_ROWS",
    "EventsPayload",
    "Kind",
    "TooManyRecords",
    "ingest_events",
]
