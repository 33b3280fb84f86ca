"""Open a canonical bundle (a folder or a .zip) and read its CSV files in chunks."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd


class BundleError(ValueError):
    """The bundle as a whole cannot be read; nothing of it is written."""


@dataclass(frozen=True, slots=True)
class BundleMeta:
    source: str
    timezone: ZoneInfo | None
    exported_at: str | None
    raw: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Chunk:
    first_row: int  # row number of the chunk's first record; the header is row 1
    columns: list[str]
    records: list[dict[str, str]]


@dataclass(frozen=True, slots=True)
class FileScan:
    name: str
    records: int
    sha256: str
    header: list[str]


class _HashingReader(io.RawIOBase):
    def __init__(self, raw: IO[bytes]) -> None:
        self._raw = raw
        self._digest = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._raw.read(len(buffer))
        self._digest.update(data)
        buffer[: len(data)] = data
        return len(data)

    def hexdigest(self) -> str:
        return self._digest.hexdigest()


class Bundle:
    """A bundle folder or zip: its metadata and its CSV members."""

    def __init__(self, path: Path) -> None:
        if not path.exists():
            raise BundleError(f"{path}: no such file or folder")
        self.path = path
        self._zip: zipfile.ZipFile | None = None
        self._members: dict[str, str] = {}
        if path.is_dir():
            self._members = {p.name: p.name for p in sorted(path.glob("*.csv"))}
            meta_bytes = (
                (path / "bundle.json").read_bytes() if (path / "bundle.json").exists() else None
            )
        elif zipfile.is_zipfile(path):
            self._zip = zipfile.ZipFile(path)
            names = [n for n in self._zip.namelist() if not n.endswith("/")]
            meta_bytes = None
            for name in sorted(names):
                base = PurePosixPath(name).name
                if base.endswith(".csv") and not base.startswith("."):
                    if base in self._members:
                        raise BundleError(f"{path}: two members named {base}")
                    self._members[base] = name
                elif base == "bundle.json":
                    meta_bytes = self._zip.read(name)
        else:
            raise BundleError(f"{path}: neither a folder nor a .zip file")
        self.meta = self._parse_meta(meta_bytes)

    def _parse_meta(self, raw_bytes: bytes | None) -> BundleMeta:
        if raw_bytes is None:
            return BundleMeta(source=self.path.name, timezone=None, exported_at=None, raw={})
        try:
            raw = json.loads(raw_bytes.decode("utf-8-sig"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise BundleError(f"bundle.json: not valid UTF-8 JSON ({exc})") from None
        if not isinstance(raw, dict):
            raise BundleError("bundle.json: expected a JSON object")
        source = raw.get("source") or self.path.name
        if not isinstance(source, str):
            raise BundleError("bundle.json: source: expected a string")
        zone = None
        if raw.get("timezone") is not None:
            try:
                zone = ZoneInfo(str(raw["timezone"]))
            except (ZoneInfoNotFoundError, ValueError):
                raise BundleError(
                    f"bundle.json: timezone: unknown IANA timezone {raw['timezone']!r}"
                ) from None
        exported = raw.get("exported_at")
        return BundleMeta(source=source, timezone=zone, exported_at=exported, raw=raw)

    @property
    def files(self) -> list[str]:
        return sorted(self._members)

    def _open(self, name: str) -> IO[bytes]:
        if self._zip is not None:
            return self._zip.open(self._members[name])
        return (self.path / self._members[name]).open("rb")

    def scan(self, name: str) -> FileScan:
        """Check a file's structure before anything of the bundle is written.

        Counts its records and hashes its bytes; a record whose field count differs from the
        header's makes the whole bundle unreadable, so that nothing is half written.
        """
        with self._open(name) as raw:
            hashing = _HashingReader(raw)
            text = io.TextIOWrapper(io.BufferedReader(hashing), encoding="utf-8-sig", newline="")
            reader = csv.reader(text)
            records = 0
            try:
                header = next(reader, None)
                if header is not None:
                    width = len(header)
                    for fields in reader:
                        if not fields:
                            continue  # blank lines carry no record, as pandas reads them
                        records += 1
                        if len(fields) != width:
                            raise BundleError(
                                f"{name}: row {records + 1} has {len(fields)} fields, "
                                f"the header has {width}"
                            )
            except UnicodeDecodeError as exc:
                raise BundleError(f"{name}: not UTF-8 ({exc.reason} at byte {exc.start})") from None
            except csv.Error as exc:
                raise BundleError(f"{name}: malformed CSV near row {records + 1} ({exc})") from None
            text.read()
        return FileScan(name=name, records=records, sha256=hashing.hexdigest(), header=header or [])

    def size(self, name: str) -> int:
        if self._zip is not None:
            return self._zip.getinfo(self._members[name]).file_size
        return (self.path / self._members[name]).stat().st_size

    def chunks(self, name: str, chunk_rows: int) -> Iterator[Chunk]:
        """Records as strings (an empty cell is ''), chunk by chunk."""
        with self._open(name) as raw:
            text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
            try:
                reader = pd.read_csv(
                    text,
                    dtype=str,
                    keep_default_na=False,
                    na_filter=False,
                    chunksize=chunk_rows,
                    skipinitialspace=False,
                )
                row = 2
                for frame in reader:
                    columns = [str(c).strip() for c in frame.columns]
                    values = zip(*(frame[c].tolist() for c in frame.columns), strict=True)
                    records = [dict(zip(columns, v, strict=True)) for v in values]
                    yield Chunk(first_row=row, columns=columns, records=records)
                    row += len(records)
            except UnicodeDecodeError as exc:
                raise BundleError(f"{name}: not UTF-8 ({exc.reason} at byte {exc.start})") from None
            except pd.errors.EmptyDataError:
                return
            except pd.errors.ParserError as exc:
                raise BundleError(f"{name}: malformed CSV ({exc})") from None

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()
