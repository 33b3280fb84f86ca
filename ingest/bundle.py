"""Open a canonical bundle (a folder or a .zip), check its structure, read its CSV files.

One reader (``_records``) parses every CSV file, with the same rules for the structure
check that runs over the whole bundle before its first write (``Bundle.check``) and for
the load that follows (``Bundle.chunks``): a file the check passes is read the same way
by the load, so a refusal can never come after something was written.

The limits (``BundleLimits``) are checked twice: from what a zip declares in its central
directory, before anything is expanded, and on the bytes and rows as they are read,
because a zip's declared sizes can lie.

The loader reads a :class:`BundleSource`: a :class:`Bundle` on disk, or
:class:`RecordsBundle`, records already in memory (``ingest.events``) read exactly as the
CSV files they render to would be, without writing and parsing those files.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MIB = 1024 * 1024
# Members smaller than this are exempt from the compression-ratio limit: they cannot be
# a bomb, and a small file of repeated text compresses far better than 100:1.
RATIO_EXEMPT_BYTES = MIB
MAX_META_BYTES = MIB  # bundle.json is a few lines
MAX_PROBLEMS = 100  # reported in full; more are counted
_BUNDLE_JSON = "bundle.json"


@dataclass(frozen=True, slots=True)
class Problem:
    """One structural fault: which file, which physical line (1 is the header), and why."""

    file: str
    line: int | None  # None: the file (or the bundle) as a whole
    reason: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file} line {self.line}"
        return f"{where}: {self.reason}"

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "reason": self.reason}


class BundleError(ValueError):
    """The bundle as a whole cannot be read; nothing of it is written.

    ``problems`` lists every structural fault found (at most MAX_PROBLEMS; ``omitted``
    counts the rest), each with its file, line and reason.
    """

    def __init__(self, problems: Iterable[Problem], omitted: int = 0) -> None:
        self.problems = list(problems)
        self.omitted = omitted
        super().__init__(self.problems)

    def __reduce__(self) -> tuple[Any, ...]:  # raised in an ingest's child process too
        return (type(self), (self.problems, self.omitted))

    def __str__(self) -> str:
        text = "; ".join(str(p) for p in self.problems)
        return text + (f"; and {self.omitted} more problems" if self.omitted else "")

    @classmethod
    def of(cls, file: str, reason: str, line: int | None = None) -> BundleError:
        return cls([Problem(file, line, reason)])

    def renamed(self, names: Mapping[str, str]) -> BundleError:
        """The same error with each file named as ``names`` maps it (the caller's names)."""
        return BundleError(_renamed(self.problems, names), self.omitted)


class BundleTooLarge(BundleError):
    """The bundle exceeds one of its limits (an HTTP 413); nothing of it is written."""

    def __init__(self, problems: Iterable[Problem], setting: str) -> None:
        self.setting = setting  # the LOTGRAPH_* variable that sets the limit
        super().__init__(problems)

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.problems, self.setting))

    @classmethod
    def passed(cls, file: str, reason: str, setting: str) -> BundleTooLarge:
        return cls([Problem(file, None, f"{reason} ({setting})")], setting)

    def renamed(self, names: Mapping[str, str]) -> BundleError:
        return BundleTooLarge(_renamed(self.problems, names), self.setting)


def _renamed(problems: list[Problem], names: Mapping[str, str]) -> list[Problem]:
    return [Problem(names.get(p.file, p.file), p.line, p.reason) for p in problems]


@dataclass(frozen=True, slots=True)
class BundleLimits:
    """What one bundle may expand to (the settings ``LOTGRAPH_MAX_UNCOMPRESSED_MB``,
    ``LOTGRAPH_MAX_BUNDLE_ROWS`` and ``LOTGRAPH_MAX_COMPRESSION_RATIO``)."""

    max_uncompressed_mb: int = 1024
    max_rows: int = 5_000_000
    max_compression_ratio: float = 100.0

    @property
    def max_uncompressed_bytes(self) -> int:
        return self.max_uncompressed_mb * MIB

    def too_big(self, file: str, size: int) -> BundleTooLarge:
        return BundleTooLarge.passed(
            file,
            f"the bundle expands to more than {self.max_uncompressed_mb} MB "
            f"(at least {size:,} bytes)",
            "LOTGRAPH_MAX_UNCOMPRESSED_MB",
        )

    def too_compressed(self, file: str, size: int, compressed: int) -> BundleTooLarge:
        return BundleTooLarge.passed(
            file,
            f"expands {size / max(compressed, 1):,.0f} times its compressed size of "
            f"{compressed:,} bytes, more than the limit of {self.max_compression_ratio:g}",
            "LOTGRAPH_MAX_COMPRESSION_RATIO",
        )

    def too_many_rows(self, file: str) -> BundleTooLarge:
        return BundleTooLarge.passed(
            file,
            f"the bundle holds more than {self.max_rows:,} rows",
            "LOTGRAPH_MAX_BUNDLE_ROWS",
        )


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


@dataclass(frozen=True, slots=True)
class _Member:
    """A CSV file of the bundle: where it is, and what a zip declares about it."""

    path: str  # the zip member's name, or the file's name in the folder
    size: int  # declared uncompressed size (a folder file's size on disk)
    compressed: int | None  # declared compressed size; None in a folder


class _Budget:
    """The bundle's uncompressed bytes and rows as they are read, against its limits."""

    def __init__(self, limits: BundleLimits) -> None:
        self.limits = limits
        self.bytes = 0
        self.rows = 0

    def add_bytes(self, file: str, n: int) -> None:
        self.bytes += n
        if self.bytes > self.limits.max_uncompressed_bytes:
            raise self.limits.too_big(file, self.bytes)

    def add_rows(self, file: str, n: int) -> None:
        self.rows += n
        if self.rows > self.limits.max_rows:
            raise self.limits.too_many_rows(file)


class _MeteredReader(io.RawIOBase):
    """A member's bytes as read: hashed, and counted against the limits while streaming."""

    def __init__(self, raw: IO[bytes], name: str, member: _Member, budget: _Budget) -> None:
        self._raw = raw
        self._name = name
        self._member = member
        self._budget = budget
        self._digest = hashlib.sha256()
        self._read = 0

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        if not self.closed:
            self._raw.close()
        super().close()

    def readinto(self, buffer: Any) -> int:
        data = self._raw.read(len(buffer))
        n = len(data)
        self._read += n
        self._budget.add_bytes(self._name, n)
        member, limits = self._member, self._budget.limits
        if member.compressed is not None:
            if self._read > member.size:
                # zipfile stops at the declared size; a reader that did not would land here
                raise BundleError.of(
                    self._name,
                    f"expands to more than the {member.size:,} bytes its zip entry declares",
                )
            if (
                self._read > RATIO_EXEMPT_BYTES
                and self._read > member.compressed * limits.max_compression_ratio
            ):
                raise limits.too_compressed(self._name, self._read, member.compressed)
        self._digest.update(data)
        buffer[:n] = data
        return n

    def hexdigest(self) -> str:
        return self._digest.hexdigest()


class _Stop(Exception):
    """A fault after which the rest of a file cannot be read reliably."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem


def _lines(raw: IO[bytes], name: str) -> Iterator[str]:
    """The file's lines as text, each checked to be UTF-8 (a BOM on the first is dropped).

    Decoded line by line, not in blocks, so that a byte that is not UTF-8 is named by its
    line; a quoted field that spans lines is put together again by the CSV parser.
    """
    for line_no, raw_line in enumerate(raw, start=1):
        try:
            yield raw_line.decode("utf-8-sig" if line_no == 1 else "utf-8")
        except UnicodeDecodeError as exc:
            raise _Stop(
                Problem(
                    name, line_no, f"not UTF-8: {exc.reason} at byte {exc.start + 1} of the line"
                )
            ) from None


def _csv_reason(message: str, started: int) -> str:
    if "unexpected end of data" in message:
        return f"the file ends inside a quoted field opened on line {started}"
    if "expected after" in message:
        return f"text after the closing quote of a field ({message})"
    if "field larger than field limit" in message:
        return f"a field longer than {csv.field_size_limit():,} characters"
    if "new-line character seen in unquoted field" in message:
        return "a line ends in a bare carriage return; lines end in LF or CRLF"
    if "NUL" in message:
        return "contains a NUL character"
    return f"malformed CSV ({message})"


def _records(raw: IO[bytes], name: str) -> Iterator[tuple[int, list[str]]]:
    """The one CSV reader: (first physical line, fields) of every record, the header first.

    RFC 4180 quoting, checked strictly: a file that ends inside a quoted field, or text
    after a closing quote, stops the file with a Problem (``_Stop``). Blank lines carry no
    record and are skipped. Width and header checks are the caller's (``_header_problems``
    and the record loop), so the check and the load apply the same ones.
    """
    reader = csv.reader(_lines(raw, name), strict=True)
    started = 1
    try:
        for fields in reader:
            if fields:
                yield started, fields
            started = reader.line_num + 1
    except csv.Error as exc:
        raise _Stop(Problem(name, started, _csv_reason(str(exc), started))) from None


def _header_problems(name: str, line: int, header: list[str]) -> list[Problem]:
    problems = []
    first_seen: dict[str, int] = {}
    for position, column in enumerate(header, start=1):
        if not column:
            problems.append(Problem(name, line, f"column {position} of the header has no name"))
            continue
        if column in first_seen:
            problems.append(
                Problem(
                    name,
                    line,
                    f"column {column!r} appears twice in the header "
                    f"(columns {first_seen[column]} and {position})",
                )
            )
            continue
        first_seen[column] = position
    return problems


def _ragged(name: str, line: int, fields: int, width: int) -> Problem:
    return Problem(name, line, f"the record has {fields} fields, the header has {width}")


class Bundle:
    """A bundle folder or zip: its metadata and its CSV members.

    ``known_files`` are the CSV file names a bundle may hold (the loader's); any other file
    is a structural fault. Opening checks the members' names and, for a zip, the sizes its
    central directory declares; ``check`` reads every file in full.
    """

    def __init__(
        self,
        path: Path,
        known_files: Iterable[str],
        limits: BundleLimits | None = None,
    ) -> None:
        if not path.exists():
            raise BundleError.of(str(path), "no such file or folder")
        self.path = path
        self.limits = limits or BundleLimits()
        self._known = set(known_files)
        self._budget = _Budget(self.limits)
        self._zip: zipfile.ZipFile | None = None
        self._members: dict[str, _Member] = {}
        self._problems: list[Problem] = []
        if path.is_dir():
            meta_bytes = self._list_folder(path)
        elif zipfile.is_zipfile(path):
            try:
                self._zip = zipfile.ZipFile(path)
            except (zipfile.BadZipFile, OSError) as exc:
                raise BundleError.of(path.name, f"not a readable zip ({exc})") from None
            meta_bytes = self._list_zip(self._zip)
        else:
            raise BundleError.of(path.name, "neither a folder nor a .zip file")
        self.meta = self._parse_meta(meta_bytes)

    def _accept(self, name: str, member: _Member) -> bool:
        """Record a top-level file's name: a known CSV file is kept, anything else a fault."""
        if name == _BUNDLE_JSON:
            return True
        if name not in self._known:
            known = ", ".join(sorted(self._known))
            self._problems.append(
                Problem(
                    name,
                    None,
                    f"not a file of the bundle format, which holds {known} and bundle.json",
                )
            )
            return False
        self._members[name] = member
        return True

    def _list_folder(self, path: Path) -> bytes | None:
        for entry in sorted(path.iterdir()):
            if entry.is_dir():
                self._problems.append(
                    Problem(entry.name + "/", None, "a sub-folder; a bundle's files sit at its top")
                )
                continue
            size = entry.stat().st_size
            self._accept(entry.name, _Member(entry.name, size, None))
        self._check_declared_total()
        meta = path / _BUNDLE_JSON
        if not meta.is_file():
            return None
        return self._read_meta(meta.open("rb"), _Member(_BUNDLE_JSON, meta.stat().st_size, None))

    def _list_zip(self, zf: zipfile.ZipFile) -> bytes | None:
        meta_info: zipfile.ZipInfo | None = None
        seen: set[str] = set()
        for info in zf.infolist():
            name = info.filename
            unsafe = _unsafe_path(name)
            if unsafe:
                self._problems.append(Problem(name, None, unsafe))
                continue
            if name in seen:
                self._problems.append(Problem(name, None, "two members of the zip have this name"))
                continue
            seen.add(name)
            if info.is_dir() or "/" in name:
                self._problems.append(
                    Problem(
                        name,
                        None,
                        "in a sub-folder of the zip; a bundle's files sit at "
                        "its top (zip the files, not their folder)",
                    )
                )
                continue
            if info.flag_bits & 0x1:
                self._problems.append(Problem(name, None, "encrypted; send it unencrypted"))
                continue
            member = _Member(name, info.file_size, info.compress_size)
            if self._declared_too_compressed(member):
                raise self.limits.too_compressed(name, member.size, info.compress_size)
            if self._accept(name, member) and name == _BUNDLE_JSON:
                meta_info = info
        self._check_declared_total(zf.infolist())
        if meta_info is None:
            return None
        member = _Member(_BUNDLE_JSON, meta_info.file_size, meta_info.compress_size)
        return self._read_meta(zf.open(meta_info), member)

    def _declared_too_compressed(self, member: _Member) -> bool:
        return (
            member.compressed is not None
            and member.size > RATIO_EXEMPT_BYTES
            and member.size > member.compressed * self.limits.max_compression_ratio
        )

    def _check_declared_total(self, infos: list[zipfile.ZipInfo] | None = None) -> None:
        """Refuse before reading when the declared sizes already exceed the limit."""
        sizes = (
            [i.file_size for i in infos]
            if infos is not None
            else [m.size for m in self._members.values()]
        )
        total = sum(sizes)
        if total > self.limits.max_uncompressed_bytes:
            raise self.limits.too_big(self.path.name, total)

    def _read_meta(self, raw: IO[bytes], member: _Member) -> bytes | None:
        if member.size > MAX_META_BYTES:
            self._problems.append(
                Problem(_BUNDLE_JSON, None, f"larger than {MAX_META_BYTES:,} bytes")
            )
            raw.close()
            return None
        with raw, _MeteredReader(raw, _BUNDLE_JSON, member, self._budget) as metered:
            try:
                return metered.read(MAX_META_BYTES + 1)
            except (zipfile.BadZipFile, OSError) as exc:
                self._problems.append(Problem(_BUNDLE_JSON, None, f"unreadable ({exc})"))
                return None

    def _parse_meta(self, raw_bytes: bytes | None) -> BundleMeta:
        if raw_bytes is None:
            return BundleMeta(source=self.path.name, timezone=None, exported_at=None, raw={})
        try:
            raw = json.loads(raw_bytes.decode("utf-8-sig"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise BundleError.of(_BUNDLE_JSON, f"not valid UTF-8 JSON ({exc})") from None
        if not isinstance(raw, dict):
            raise BundleError.of(_BUNDLE_JSON, "expected a JSON object")
        source = raw.get("source") or self.path.name
        if not isinstance(source, str):
            raise BundleError.of(_BUNDLE_JSON, "source: expected a string")
        zone = None
        if raw.get("timezone") is not None:
            try:
                zone = ZoneInfo(str(raw["timezone"]))
            except (ZoneInfoNotFoundError, ValueError):
                raise BundleError.of(
                    _BUNDLE_JSON, f"timezone: unknown IANA timezone {raw['timezone']!r}"
                ) from None
        exported = raw.get("exported_at")
        return BundleMeta(source=source, timezone=zone, exported_at=exported, raw=raw)

    @property
    def files(self) -> list[str]:
        return sorted(self._members)

    def _open(self, name: str, budget: _Budget) -> io.BufferedReader:
        """A file's bytes through the meter, buffered so that lines split in C."""
        member = self._members[name]
        raw: IO[bytes]
        if self._zip is not None:
            raw = self._zip.open(member.path)
        else:
            raw = (self.path / member.path).open("rb", buffering=0)
        return io.BufferedReader(_MeteredReader(raw, name, member, budget))

    def check(self) -> dict[str, FileScan]:
        """Parse every file in full and check its structure, before anything is written.

        Raises BundleTooLarge as soon as a limit is passed, and BundleError naming every
        structural fault (file, line, reason) once all files are read: unknown files,
        names in sub-folders, encoding, quoting, headers and ragged records.
        """
        problems = list(self._problems)
        scans: dict[str, FileScan] = {}
        for name in self.files:
            scan, found = self._scan(name)
            problems += found
            if scan is not None:
                scans[name] = scan
        if problems:
            raise BundleError(problems[:MAX_PROBLEMS], max(0, len(problems) - MAX_PROBLEMS))
        return scans

    def _scan(self, name: str) -> tuple[FileScan | None, list[Problem]]:
        problems: list[Problem] = []
        header: list[str] = []
        records = 0
        with self._open(name, self._budget) as stream:
            metered = stream.raw
            assert isinstance(metered, _MeteredReader)
            try:
                rows = _records(stream, name)
                first = next(rows, None)
                if first is not None:
                    header = [column.strip() for column in first[1]]
                    problems += _header_problems(name, first[0], header)
                    width = len(header)
                    budget = self._budget
                    for line, fields in rows:
                        records += 1
                        if len(fields) != width:
                            problems.append(_ragged(name, line, len(fields), width))
                        if records % 4096 == 0:
                            budget.add_rows(name, 4096)
                    budget.add_rows(name, records % 4096)
            except _Stop as stop:
                problems.append(stop.problem)
            except (zipfile.BadZipFile, OSError, EOFError) as exc:
                problems.append(Problem(name, None, f"damaged in the zip ({exc})"))
            if problems:
                return None, problems
            stream.read()  # hash what the parser left unread (nothing, normally)
        return FileScan(name=name, records=records, sha256=metered.hexdigest(), header=header), []

    def size(self, name: str) -> int:
        return self._members[name].size

    def chunks(self, name: str, chunk_rows: int) -> Iterator[Chunk]:
        """Records as strings (an empty cell is ''), chunk by chunk, read as ``check`` read them.

        Only a file ``check`` passed is loaded; a fault here means the file changed on disk
        between the check and the load.
        """
        # A budget of its own: the check counted these bytes and rows already, and this one
        # only guards against a folder file that grew since.
        with self._open(name, _Budget(self.limits)) as stream:
            try:
                rows = _records(stream, name)
                first = next(rows, None)
                if first is None:
                    return
                columns = [column.strip() for column in first[1]]
                width = len(columns)
                row = 2
                records: list[dict[str, str]] = []
                for line, fields in rows:
                    if len(fields) != width:
                        raise BundleError([_ragged(name, line, len(fields), width)])
                    records.append(dict(zip(columns, fields, strict=False)))  # width checked
                    if len(records) == chunk_rows:
                        yield Chunk(first_row=row, columns=columns, records=records)
                        row += len(records)
                        records = []
                if records:
                    yield Chunk(first_row=row, columns=columns, records=records)
            except _Stop as stop:
                raise BundleError([stop.problem]) from None

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()


def _unsafe_path(name: str) -> str | None:
    """Why a zip member's name could escape the bundle, or None when it cannot."""
    if "\\" in name:
        return "a backslash in the name; a bundle's files sit at the top of the zip"
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return "an absolute path; a bundle's files sit at the top of the zip"
    if ".." in PurePosixPath(name).parts:
        return "a '..' in the path; a bundle's files sit at the top of the zip"
    if "\0" in name:
        return "a NUL character in the name"
    return None


class BundleSource(Protocol):
    """What the loader reads of a bundle: its metadata, a check, and its records."""

    @property
    def meta(self) -> BundleMeta: ...

    def check(self) -> dict[str, FileScan]: ...

    def chunks(self, name: str, chunk_rows: int) -> Iterator[Chunk]: ...

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class RecordsFile:
    """One file of a :class:`RecordsBundle`: its header and records as its CSV file would
    be read (names trimmed, every cell text, an empty cell ''), and that file's SHA-256."""

    header: list[str]
    records: list[dict[str, str]]
    sha256: str


class RecordsBundle:
    """A bundle whose files are records in memory: what ``Bundle`` would read of the CSV
    files rendered from them (``ingest.events``), given without the files."""

    def __init__(self, meta: BundleMeta, files: Mapping[str, RecordsFile]) -> None:
        self._meta = meta
        self._files = dict(files)

    @property
    def meta(self) -> BundleMeta:
        return self._meta

    def check(self) -> dict[str, FileScan]:
        """The files' scans; a BundleError for a header a CSV file could not have (two
        field names that are one column once trimmed), as ``Bundle.check`` raises it."""
        problems: list[Problem] = []
        for name, file in sorted(self._files.items()):
            problems += _header_problems(name, 1, file.header)
        if problems:
            raise BundleError(problems[:MAX_PROBLEMS], max(0, len(problems) - MAX_PROBLEMS))
        return {
            name: FileScan(name, len(f.records), f.sha256, f.header)
            for name, f in sorted(self._files.items())
        }

    def chunks(self, name: str, chunk_rows: int) -> Iterator[Chunk]:
        file = self._files[name]
        for start in range(0, len(file.records), chunk_rows):
            records = file.records[start : start + chunk_rows]
            yield Chunk(first_row=start + 2, columns=file.header, records=records)

    def close(self) -> None:
        self._files.clear()
