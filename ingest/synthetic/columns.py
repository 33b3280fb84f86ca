"""Time and column formatting: instants of the plant's timezone, and columns rendered as byte
matrices (every column becomes an (n, width) uint8 matrix; 0 bytes are dropped)."""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
from numpy.typing import NDArray

I64 = NDArray[np.int64]

F64 = NDArray[np.float64]

U8 = NDArray[np.uint8]

BoolA = NDArray[np.bool_]

MINUTE = 60

HOUR = 3600

DAY = 86400


def _utc(year: int, month: int, day: int, hour: int = 0) -> int:
    return int(datetime(year, month, day, hour, tzinfo=UTC).timestamp())


T0 = _utc(2024, 12, 31, 23)  # 2025-01-01T00:00:00+01:00

T_END = _utc(2026, 10, 31, 19)  # 2026-10-31T20:00:00+01:00, the export time

EXPORTED_AT = "2026-10-31T20:00:00+01:00"

TIMEZONE = "Europe/Zurich"


def _summer_time(zone: str, start: int, end: int) -> tuple[tuple[int, int], ...]:
    """The spans ``[start, end)`` (UTC instants) of summer time in ``zone`` that begin and end
    between two instants, from the timezone database (its changes fall on whole hours)."""
    tz = ZoneInfo(zone)
    spans: list[tuple[int, int]] = []
    began: int | None = None
    for t in range(start - start % HOUR, end + HOUR, HOUR):
        summer = bool(datetime.fromtimestamp(t, tz).dst())
        if summer and began is None:
            began = t
        elif not summer and began is not None:
            spans.append((began, t))
            began = None
    return tuple(spans)


@cache
def _plant_summer_time() -> tuple[tuple[int, int], ...]:
    return _summer_time(TIMEZONE, T0, T_END)


def _zurich_offset(t: I64) -> I64:
    off = np.full(t.shape, HOUR, dtype=np.int64)
    for a, b in _plant_summer_time():
        off[(t >= a) & (t < b)] = 2 * HOUR
    return off


def _ambiguous(t: I64) -> BoolA:
    """Instants whose local wall-clock time occurs twice (the autumn fall-back hour)."""
    amb = np.zeros(t.shape, dtype=np.bool_)
    for _, b in _plant_summer_time():
        amb |= (t >= b - HOUR) & (t < b + HOUR)
    return amb


def _civil(days: I64) -> tuple[I64, I64, I64]:
    """Days since 1970-01-01 -> (year, month, day); H. Hinnant's algorithm, vectorised."""
    z = days + 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    y = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = np.where(mp < 10, mp + 3, mp - 9)
    y = y + (m <= 2)
    return y.astype(np.int64), m.astype(np.int64), d.astype(np.int64)


def _local_year(t: I64) -> I64:
    return _civil((t + _zurich_offset(t)) // DAY)[0]


def _digits(v: I64, width: int) -> U8:
    out = np.empty((len(v), width), dtype=np.uint8)
    x = v.astype(np.int64, copy=True)
    for i in range(width - 1, -1, -1):
        out[:, i] = 48 + x % 10
        x //= 10
    return out


def _num(v: I64) -> U8:
    """Non-negative integers without leading zeros."""
    if len(v) == 0:
        return np.zeros((0, 1), dtype=np.uint8)
    w = max(1, len(str(int(v.max()))))
    m = _digits(v, w)
    for i in range(w - 1):
        m[v < 10 ** (w - 1 - i), i] = 0
    return m


def _const(s: str, n: int) -> U8:
    row = np.frombuffer(s.encode(), dtype=np.uint8)
    return np.broadcast_to(row, (n, len(row)))


def _hcat(parts: Sequence[U8]) -> U8:
    return np.concatenate(parts, axis=1)


def _fixed3(milli: I64) -> U8:
    """Integer thousandths -> ``123.456``; negative values mean empty."""
    empty = milli < 0
    m = np.where(empty, 0, milli)
    out = _hcat([_num(m // 1000), _const(".", len(m)), _digits(m % 1000, 3)])
    if empty.any():
        out = out.copy()
        out[empty] = 0
    return out


def _ts(t: I64, style: I64) -> U8:
    """Instants -> ISO 8601; style 0 local naive, 1 local with offset, 2 UTC ``Z``."""
    n = len(t)
    off = _zurich_offset(t)
    local = np.where(style == 2, t, t + off)
    days = local // DAY
    secs = local % DAY
    y, mo, d = _civil(days)
    body = _hcat(
        [
            _digits(y, 4),
            _const("-", n),
            _digits(mo, 2),
            _const("-", n),
            _digits(d, 2),
            _const("T", n),
            _digits(secs // HOUR, 2),
            _const(":", n),
            _digits(secs % HOUR // MINUTE, 2),
            _const(":", n),
            _digits(secs % MINUTE, 2),
        ]
    )
    suffix = np.zeros((n, 6), dtype=np.uint8)
    zmask = style == 2
    suffix[zmask, 0] = ord("Z")
    omask = style == 1
    suffix[omask] = np.frombuffer(b"+01:00", dtype=np.uint8)
    suffix[omask & (off == 2 * HOUR), 2] = ord("2")
    return _hcat([body, suffix])


def _date(days: I64) -> U8:
    """Local days since epoch -> ``YYYY-MM-DD``; negative means empty."""
    empty = days < 0
    y, mo, d = _civil(np.where(empty, 0, days))
    n = len(days)
    out = _hcat([_digits(y, 4), _const("-", n), _digits(mo, 2), _const("-", n), _digits(d, 2)])
    if empty.any():
        out = out.copy()
        out[empty] = 0
    return out


def _strings(values: Sequence[str]) -> U8:
    """Strings -> byte matrix with a trailing all-zero row (index -1 = empty)."""
    enc = np.array([s.encode() for s in values] or [b""], dtype=np.bytes_)
    w = max(1, enc.dtype.itemsize)
    arr = np.zeros((len(values) + 1, w), dtype=np.uint8)
    if len(values):
        arr[:-1] = enc.astype(f"S{w}").view(np.uint8).reshape(len(values), w)
    return arr


def _ids(prefix: str, seq: I64, width: int, year: I64 | None = None) -> U8:
    """``PREFIX[-YYYY]-000123`` for each seq, plus a trailing zero row (index -1 = empty)."""
    n = len(seq)
    parts = [_const(prefix + "-", n)]
    if year is not None:
        parts += [_digits(year, 4), _const("-", n)]
    parts.append(_digits(seq, width))
    m = _hcat(parts)
    return np.concatenate([m, np.zeros((1, m.shape[1]), dtype=np.uint8)])


def _to_str(m: U8) -> list[str]:
    """Byte matrix (zeros only trailing) -> Python strings."""
    mm = np.ascontiguousarray(m)
    return [b.decode() for b in mm.view(f"S{mm.shape[1]}").ravel().tolist()]


def _pick(mats: Sequence[U8], which: I64, idx: I64) -> U8:
    """Row i = mats[which[i]][idx[i]] (matrices padded to one width)."""
    w = max(m.shape[1] for m in mats)
    out = np.zeros((len(idx), w), dtype=np.uint8)
    for k, m in enumerate(mats):
        sel = which == k
        if sel.any():
            out[sel, : m.shape[1]] = m[idx[sel]]
    return out


Column = Callable[[int, int], U8]


def _col_take(mat: U8, idx: I64) -> Column:
    return lambda a, b: mat[idx[a:b]]


def _col_fixed3(v: I64) -> Column:
    return lambda a, b: _fixed3(v[a:b])


def _col_num(v: I64) -> Column:
    return lambda a, b: _num(v[a:b])


def _col_ts(t: I64, style: I64) -> Column:
    def f(a: int, b: int) -> U8:
        out = _ts(np.maximum(t[a:b], 0), style[a:b])
        empty = t[a:b] < 0
        if empty.any():
            out[empty] = 0
        return out

    return f


def _col_date(days: I64) -> Column:
    return lambda a, b: _date(days[a:b])


def _col_seq(prefix: str, width: int) -> Column:
    """Sequential ids ``PREFIX-000001`` ... for rows in file order."""
    return lambda a, b: _ids(prefix, np.arange(a + 1, b + 1, dtype=np.int64), width)[:-1]


def _col_pick(mats: Sequence[U8], which: I64, idx: I64) -> Column:
    return lambda a, b: _pick(mats, which[a:b], idx[a:b])


def _write_matrix(path: Path, header: Sequence[str], cols: Sequence[Column], n: int) -> int:
    chunk = 250_000
    with path.open("wb") as f:
        f.write((",".join(header) + "\n").encode())
        for a in range(0, n, chunk):
            b = min(n, a + chunk)
            parts: list[U8] = []
            for i, c in enumerate(cols):
                parts.append(c(a, b))
                parts.append(_const("," if i < len(cols) - 1 else "\n", b - a))
            flat = _hcat(parts).ravel()
            f.write(flat[flat != 0].tobytes())
    return n


def _write_rows(path: Path, header: Sequence[str], rows: Sequence[Sequence[str]]) -> int:
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)
    return len(rows)


def _col_ts_fixed(group: I64, t: I64, group_style: I64) -> Column:
    """Timestamps where rows of one group (a shipment) share one rendering."""
    s = group_style[group].copy()
    s[_ambiguous(t) & (s == 0)] = 1
    return _col_ts(t, s)
