"""Synthetic plant generator: a realistic canonical ingest bundle (DESIGN §3).

``generate_plant(lots, seed, out, impurity_depth=1)`` writes the eighteen CSV files of the
canonical bundle plus ``bundle.json`` for a multi-site plant making the intermediate "LG-101":

* purchased raw materials, reagents and solvents from several suppliers (every purchased lot
  carries ``supplier_id`` and ``supplier_lot``); bulk solvent lots are consumed by hundreds of
  batches, catalysts and reagents by a handful;
* four chemical stages (INT1 -> INT2 -> INT3 -> FIN, the final intermediate) and a small API
  stage; each batch consumes its stage's purchased inputs plus one or more lots of the
  previous stage and produces one or two lots; intermediate lots are split between batches
  and re-meet later (diamonds); lots are moved between SITE-A, SITE-B and SITE-C;
* customers and shipments of final lots (a lot may ship to several customers in parts);
* QC results (batch and lot release tests, supplier CoAs), documents with versions,
  e-signatures, deviations, supplier change notices.

Planted facts (recorded under ``synthetic`` in ``bundle.json`` and in :class:`PlantSummary`):

* an **impurity cause**: one purchased lot R drives "Impurity B" (method HPLC-UV QC-M-102)
  above its upper limit. Generations: a batch's own consumed lots are at depth 1, the lots
  consumed by the batches that produced a depth-1 lot at depth 2, and so on.
  ``impurity_depth`` d chooses how far upstream R is:

  - d = 1 (the default): a reagent lot R consumed by 5..15 tested batches; all its tested
    consumers are above the limit, and nothing downstream of them.
  - d = 2 or 3: a raw or reagent lot R (never a solvent) consumed by batches of one stage s,
    s + d - 1 <= the API stage. D, the tested batches of stage s + d - 1 that have R at depth
    d, are all above the limit (upper * U(1.3, 2.5)); R's consumers and the stages in between
    are not raised (the impurity forms downstream). R is chosen so that |D| is 5..60 and R is
    *identifiable*: no other purchased lot was consumed by exactly R's consumers, and no other
    lot L (purchased or intermediate) has the same set D_L of descendant tested stage
    s + d - 1 batches. Candidates are tried in random order, a bounded number of them; when
    none fits, the best seen is taken: identifiable before not, then |D| 5..60, more than 60,
    1..4 (only tiny plants get there). A plant where no purchased lot has a tested descendant
    d - 1 stages downstream is refused (ValueError). For d = 1 the first rule applies: when
    the lot drawn shares its consumers exactly with another purchased lot, another is drawn.

  ``synthetic.planted``: ``analyte``, ``lot``, ``supplier_lot``, ``supplier``, ``material``
  (of R), ``depth``, ``product`` (the material of the stage whose batches are flagged) and
  ``units`` (the flagged batches: D; for d = 1 R's raised consumers).
* an **in-specification drift**, at every depth: one purchased lot Q (not R, not a bulk lot
  in more than 40 tested batches, consumed by no batch that has R at depth 1..max(d, 2) nor
  by a false positive), consumed by batches of stage 0 or 1 only (stage 0 preferred: its
  batches have no batch upstream, so no intermediate's supplier lot can reach all of the
  drift's batches through the genealogy), at least 8 of them tested (12 or more preferred:
  a long drift stands out of the chance signals of the Nelson rules) and none of those
  among the first 25 tested batches of that stage. Q's tested consumers, in test order k = 0..n-1, get
  Impurity B = 0.095 + 0.035 * k / max(1, n - 1) %: well above the usual N(0.035, 0.012)
  (clipped to 0.003..0.09), rising, and inside the 0.15 % limit. Downstream stages are not
  changed. Q is chosen so that no other raw/reagent lot was consumed by all of Q's consumers
  and no other purchased lot by exactly them; a Q whose consumers no other purchased lot at
  all covers is preferred. (A bulk solvent lot, consumed by hundreds of batches, usually covers all of Q's
  consumers: at a few thousand lots there is one per site.) When no lot meets the count and
  baseline rules (tiny plants), the one with most tested consumers, out of the baseline if
  possible, is taken. ``synthetic.drift``: ``analyte``, ``lot``, ``supplier_lot``,
  ``supplier``, ``material`` (of Q), ``product``, ``method``, ``units``.
* elsewhere results are within limits except a handful of random false positives, never
  among the flagged units nor the drift's; lot release results (final lots) are tested with
  release methods of their own (``HPLC-UV QC-M-111/112``, ``KF QC-M-211``), so they make
  control charts of their own rather than doubling the batches' points;
* a few lots with a mass-balance shortfall (2-6 % of the quantity unaccounted);
* a very few signatures whose ``record_sha256`` does not match their version's hash.

Decisions the design left open:

* ``content_sha256`` of a document version is the SHA-256 of the canonical JSON (sorted keys,
  no whitespace; RFC 8785 for these plain ASCII values) of the version's row fields
  ``{created_at, created_by, document_id, kind, title, version}`` with ``created_at`` exactly
  as written, so it can be recomputed from ``documents.csv``.
* Document version ``status`` is one of ``draft``, ``in_review``, ``approved``, ``superseded``.
* ``expiry`` is a calendar date (``YYYY-MM-DD``).
* Quantities are exact decimals with three places; for every lot
  ``consumed + shipped + on_hand == quantity`` exactly (after unit conversion), except the
  planted shortfalls.

Same seed, same bytes: all randomness comes from ``numpy.random.default_rng(seed)`` and, for
the choice of Q and of a cause of depth >= 2, ``default_rng([seed, 13])``; no clock is read,
and every number is written with a fixed format. The second generator keeps the other draws of
a depth-1 plant as they were before the drift existed; for one seed
the production graph (lots, batches, consumptions, outputs) is the same at every depth. Large
files are formatted column-wise into byte matrices with numpy and streamed in chunks.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from numpy.typing import NDArray

I64 = NDArray[np.int64]
F64 = NDArray[np.float64]
U8 = NDArray[np.uint8]
BoolA = NDArray[np.bool_]

__all__ = ["PlantSummary", "generate_plant", "FILES"]

FILES: tuple[str, ...] = (
    "suppliers.csv",
    "materials.csv",
    "lots.csv",
    "batches.csv",
    "consumptions.csv",
    "outputs.csv",
    "equipment.csv",
    "customers.csv",
    "shipments.csv",
    "movements.csv",
    "people.csv",
    "documents.csv",
    "document_links.csv",
    "signatures.csv",
    "deviations.csv",
    "deviation_links.csv",
    "test_results.csv",
    "supplier_changes.csv",
)

MIN_LOTS = 200

# --------------------------------------------------------------------------------------------
# time
# --------------------------------------------------------------------------------------------

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


# --------------------------------------------------------------------------------------------
# byte-matrix formatting: every column becomes an (n, width) uint8 matrix; 0 bytes are dropped
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# master data
# --------------------------------------------------------------------------------------------

SITES = ("SITE-A", "SITE-B", "SITE-C")
A, B, C = 0, 1, 2


@dataclass(frozen=True)
class _Material:
    id: str
    name: str
    kind: str
    unit: str
    lot_size: float = 0.0  # typical purchased lot, in unit
    pack: float = 1.0  # purchased lots are multiples of this
    lead_days: tuple[float, float] = (2.0, 30.0)
    shelf_days: tuple[int, int] = (365, 1095)


MATERIALS: tuple[_Material, ...] = (
    _Material("MAT-CNP", "2-Chloro-5-nitropyridine", "raw", "kg", 1200, 25),
    _Material("MAT-FPB", "4-Fluorophenylboronic acid", "raw", "kg", 900, 25),
    _Material("MAT-CAC", "Chloroacetyl chloride", "raw", "L", 800, 200),
    _Material("MAT-MOR", "Morpholine", "raw", "L", 1000, 200),
    _Material("MAT-BOC", "Di-tert-butyl dicarbonate", "raw", "kg", 600, 25),
    _Material("MAT-K2CO3", "Potassium carbonate", "reagent", "kg", 1500, 25),
    _Material("MAT-PDC", "Pd(dppf)Cl2 catalyst", "reagent", "kg", 12, 0.5, (5.0, 40.0)),
    _Material("MAT-NABH4", "Sodium borohydride", "reagent", "kg", 250, 25),
    _Material("MAT-TEA", "Triethylamine", "reagent", "L", 1000, 200),
    _Material("MAT-HCL", "Hydrochloric acid 32%", "reagent", "L", 1000, 1000),
    _Material("MAT-THF", "Tetrahydrofuran", "solvent", "L", 30000, 1, (1.0, 10.0)),
    _Material("MAT-MEOH", "Methanol", "solvent", "L", 30000, 1, (1.0, 10.0)),
    _Material("MAT-TOL", "Toluene", "solvent", "L", 30000, 1, (1.0, 10.0)),
    _Material("MAT-ETOAC", "Ethyl acetate", "solvent", "L", 25000, 1, (1.0, 10.0)),
    _Material("MAT-IPA", "Isopropanol", "solvent", "L", 40000, 1, (1.0, 10.0)),
    _Material("MAT-ACN", "Acetonitrile", "solvent", "L", 40000, 1, (1.0, 10.0)),
    _Material("MAT-INT1", "LG-101 stage 1 intermediate (nitro biaryl)", "intermediate", "kg"),
    _Material("MAT-INT2", "LG-101 stage 2 intermediate (amino biaryl)", "intermediate", "kg"),
    _Material("MAT-INT3", "LG-101 stage 3 intermediate (chloroacetamide)", "intermediate", "kg"),
    _Material("MAT-FIN", "LG-101 advanced intermediate", "intermediate", "kg"),
    _Material("MAT-API", "LG-101 hydrochloride", "api", "kg"),
)
_MAT = {m.id: i for i, m in enumerate(MATERIALS)}
N_PURCHASED_MATS = 16
_SOLVENT = np.array([m.kind == "solvent" for m in MATERIALS])
IMPURITY_DEPTHS = (1, 2, 3)
# bounds of the search for a planted cause of depth >= 2 (keeps a 1M-lot plant fast)
_CAUSE_TRIES = 3000
_CAUSE_CHECKS = 200
# the drift: at least this many tested consumers, none among the first tested of the stage
_DRIFT_MIN_UNITS = 8
_DRIFT_WANTED_UNITS = 12  # preferred: a reagent or a solvent lot in a dozen batches or more
_DRIFT_MAX_UNITS = 40  # never a bulk lot consumed by hundreds of batches
_DRIFT_BASELINE = 25
_DRIFT_CHECKS = 400


@dataclass(frozen=True)
class _Stage:
    product: int
    sites: tuple[int, ...]
    site_p: tuple[float, ...]
    nominal_kg: float  # stage 1: product per batch; later: previous intermediate per batch
    yield_: float
    recipe: tuple[tuple[int, float], ...]  # (material, amount per kg of product)
    imp_b_upper: float
    water_upper: float


STAGES: tuple[_Stage, ...] = (
    _Stage(
        _MAT["MAT-INT1"],
        (A, B),
        (0.55, 0.45),
        420.0,
        1.0,
        (
            (_MAT["MAT-CNP"], 0.62),
            (_MAT["MAT-FPB"], 0.55),
            (_MAT["MAT-K2CO3"], 0.9),
            (_MAT["MAT-PDC"], 0.0035),
            (_MAT["MAT-THF"], 7.0),
            (_MAT["MAT-ACN"], 0.22),
        ),
        0.15,
        1.0,
    ),
    _Stage(
        _MAT["MAT-INT2"],
        (A, B),
        (0.5, 0.5),
        420.0,
        0.88,
        (
            (_MAT["MAT-NABH4"], 0.12),
            (_MAT["MAT-MEOH"], 6.0),
            (_MAT["MAT-HCL"], 0.35),
            (_MAT["MAT-ACN"], 0.2),
        ),
        0.15,
        1.0,
    ),
    _Stage(
        _MAT["MAT-INT3"],
        (B, C),
        (0.5, 0.5),
        370.0,
        0.9,
        (
            (_MAT["MAT-CAC"], 0.32),
            (_MAT["MAT-TEA"], 0.45),
            (_MAT["MAT-TOL"], 6.5),
            (_MAT["MAT-IPA"], 0.25),
        ),
        0.10,
        0.5,
    ),
    _Stage(
        _MAT["MAT-FIN"],
        (B, C),
        (0.5, 0.5),
        330.0,
        0.92,
        (
            (_MAT["MAT-MOR"], 0.4),
            (_MAT["MAT-BOC"], 0.55),
            (_MAT["MAT-ETOAC"], 6.0),
            (_MAT["MAT-IPA"], 0.25),
        ),
        0.10,
        0.5,
    ),
    _Stage(
        _MAT["MAT-API"],
        (C,),
        (1.0,),
        300.0,
        0.95,
        ((_MAT["MAT-HCL"], 0.3), (_MAT["MAT-IPA"], 5.0), (_MAT["MAT-ACN"], 0.2)),
        0.10,
        0.5,
    ),
)
FIN_STAGE = 3
API_STAGE = 4
# where the lots of stage k go for stage k+1, by origin site (rows A, B, C)
_TRANSITIONS: tuple[tuple[tuple[float, float, float], ...], ...] = (
    ((0.85, 0.15, 0.0), (0.15, 0.85, 0.0), (0.0, 1.0, 0.0)),
    ((0.0, 0.6, 0.4), (0.0, 0.8, 0.2), (0.0, 0.5, 0.5)),
    ((0.0, 0.8, 0.2), (0.0, 0.8, 0.2), (0.0, 0.15, 0.85)),
)
_API_P = (0.0, 0.06, 0.15)  # share of FIN lots (by site) that go into the API stage at SITE-C

# (id, name, country, status, kinds supplied)
SUPPLIERS: tuple[tuple[str, str, str, str, str], ...] = (
    ("SUP-001", "Rheinchem AG", "CH", "approved", "rr"),
    ("SUP-002", "Lombardia Fine Chemicals S.p.A.", "IT", "approved", "rr"),
    ("SUP-003", "Hangzhou Kinetic Chemical Co. Ltd", "CN", "approved", "rr"),
    ("SUP-004", "Maharashtra Organics Pvt Ltd", "IN", "approved", "rr"),
    ("SUP-005", "Nordic Solvents AB", "SE", "approved", "s"),
    ("SUP-006", "Elbe Solvents GmbH", "DE", "approved", "s"),
    ("SUP-007", "Catalytica Metals Ltd", "GB", "approved", "rr"),
    ("SUP-008", "Iberia Reagents S.L.", "ES", "conditional", "rr"),
    ("SUP-009", "Great Lakes Chemical Supply Inc", "US", "approved", "s"),
    ("SUP-010", "Jiangsu Huaxin Pharmchem Co. Ltd", "CN", "approved", "rr"),
    ("SUP-011", "Alpine Reagents SA", "CH", "approved", "rr"),
    ("SUP-012", "Rhone Specialty Chemicals SAS", "FR", "disqualified", "rr"),
    ("SUP-013", "Kanto Fine Synthesis KK", "JP", "approved", "rr"),
    ("SUP-014", "Baltic Chem Trading UAB", "", "conditional", "s"),
)
# supplier lot numbers start with a code of the supplier (distinct per supplier)
SUPPLIER_LOT_PREFIX = (
    "RC", "LF", "HK", "MO", "NS", "ES", "CM", "IR", "GL", "JH", "AR", "RS", "KF", "BC",
)  # fmt: skip
assert len(set(SUPPLIER_LOT_PREFIX)) == len(SUPPLIERS)
DISQUALIFIED_AT = _utc(2026, 3, 16, 8)

ROLES = (
    "operator",
    "supervisor",
    "qa_specialist",
    "qualified_person",
    "qc_analyst",
    "logistics",
    "supply_chain",
)
OPERATOR, SUPERVISOR, QA, QP, QC, LOGISTICS, SUPPLY_CHAIN = range(7)
FIRST_NAMES = (
    "Anna",
    "Luca",
    "Sara",
    "Marco",
    "Julia",
    "Thomas",
    "Elena",
    "David",
    "Laura",
    "Simon",
    "Nina",
    "Patrick",
    "Chiara",
    "Daniel",
    "Lea",
    "Stefan",
    "Sophie",
    "Martin",
    "Eva",
    "Jonas",
    "Mia",
    "Andreas",
    "Carla",
    "Reto",
    "Ines",
    "Fabian",
    "Giulia",
    "Beat",
    "Noemi",
    "Urs",
    "Priya",
    "Kenji",
    "Amira",
    "Omar",
    "Ling",
    "Tomasz",
    "Ana",
    "Pierre",
    "Ingrid",
    "Matteo",
)
LAST_NAMES = (
    "Keller",
    "Meier",
    "Rossi",
    "Brunner",
    "Fischer",
    "Weber",
    "Huber",
    "Schmid",
    "Baumann",
    "Frei",
    "Gerber",
    "Moser",
    "Favre",
    "Bianchi",
    "Steiner",
    "Graf",
    "Roth",
    "Wyss",
    "Bernasconi",
    "Kaufmann",
    "Suter",
    "Marti",
    "Zimmermann",
    "Lehmann",
    "Bachmann",
    "Gashi",
    "Ferrari",
    "Nguyen",
    "Kowalski",
    "Sato",
    "Haddad",
    "Patel",
    "Dubois",
    "Olsen",
    "Costa",
    "Berger",
    "Vogel",
    "Koch",
)
CUSTOMER_WORDS = (
    "Helvetia",
    "Danube",
    "Atlas",
    "Meridian",
    "Aurora",
    "Cascade",
    "Summit",
    "Lakeside",
    "Northstar",
    "Orion",
    "Pacifica",
    "Riverbend",
    "Sapphire",
    "Tamarind",
    "Verdant",
    "Zenith",
)
CUSTOMER_FORMS = (
    "Pharma AG",
    "Therapeutics GmbH",
    "Biologics Ltd",
    "Pharmaceuticals Inc",
    "Laboratories SA",
    "Health BV",
    "Medica S.r.l.",
)
COUNTRIES = ("CH", "DE", "FR", "IT", "US", "GB", "IE", "NL", "BE", "ES", "JP", "IN", "SE", "DK")

ANALYTES = ("Assay", "Impurity A", "Impurity B", "Water")
ASSAY, IMP_A, IMP_B, WATER = range(4)
TR_UNITS = ("%", "% area", "% w/w")
METHODS = (
    "HPLC-UV QC-M-101",
    "HPLC-UV QC-M-102",
    "KF QC-M-201",
    "GC-FID QC-M-301",
    "Supplier method",
    # lot release testing: its own methods, so its results make their own control charts
    # (a batch's in-process result and its lots' release results are not independent points)
    "HPLC-UV QC-M-111",
    "HPLC-UV QC-M-112",
    "KF QC-M-211",
)
DOC_KINDS = (
    "batch_record",
    "coa",
    "qc_report",
    "deviation_report",
    "capa",
    "sop",
    "supplier_change_notice",
)
BR, COA, QCR, DR, CAPA, SOP, SCN = range(7)
DOC_PREFIX = ("DOC-BR", "DOC-COA", "DOC-QC", "DOC-DR", "DOC-CAPA", "DOC-SOP", "DOC-SCN")
VERSION_STATUS = ("draft", "in_review", "approved", "superseded")
AWAITING_APPROVED = 0.5  # of batches in review, the share whose batch record QA approved
OVERRIDE_SHARE = 0.08  # of releases, the share signed as an override of open findings
OVERRIDE_REASONS = (
    "risk assessed by QA: no impact on product quality",
    "deviation investigation concluded; CAPA open; released under QA override",
    "CoA received by e-mail; upload pending; identity test passed",
)  # written unquoted: no commas
DRAFT, IN_REVIEW, APPROVED, SUPERSEDED = range(4)
MEANINGS = ("authored", "reviewed", "approved", "released", "verified", "rejected")
AUTHORED, REVIEWED, SIG_APPROVED, RELEASED, VERIFIED, SIG_REJECTED = range(6)
LOT_STATUS = ("quarantine", "released", "rejected", "on_hold", "consumed")
L_QUAR, L_REL, L_REJ, L_HOLD, L_CONS = range(5)
BATCH_STATUS = ("planned", "in_progress", "executed", "in_review", "released", "rejected")
B_PLANNED, B_INPROG, B_EXEC, B_REVIEW, B_REL, B_REJ = range(6)
TARGET_KINDS = ("lot", "batch", "supplier", "material", "deviation", "equipment")
T_LOT, T_BATCH, T_SUP, T_MAT, T_DEV, T_EQ = range(6)


@dataclass(frozen=True)
class PlantSummary:
    """What :func:`generate_plant` wrote."""

    out: Path
    seed: int
    lots: int
    rows: dict[str, int]
    planted: dict[str, Any]
    mass_balance_shortfalls: list[str] = field(default_factory=list)
    tampered_signatures: list[str] = field(default_factory=list)
    release_overrides: list[str] = field(default_factory=list)  # signature ids
    bytes_written: int = 0
    drift: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------


def _merge(supply: I64, demand: I64) -> tuple[I64, I64, I64]:
    """Allocate ordered demands to ordered supplies first-in-first-out.

    Returns (supply index, demand index, quantity) segments in order.
    """
    s_cum = np.cumsum(supply)
    d_cum = np.cumsum(demand)
    total = min(int(s_cum[-1]), int(d_cum[-1]))
    bps = np.union1d(s_cum[s_cum <= total], d_cum[d_cum <= total])
    starts = np.concatenate([[0], bps[:-1]]).astype(np.int64)
    qty = (bps - starts).astype(np.int64)
    si = np.searchsorted(s_cum, starts, side="right").astype(np.int64)
    di = np.searchsorted(d_cum, starts, side="right").astype(np.int64)
    return si, di, qty


def _drop_crumbs(di: I64, qty: I64, demand: I64, frac: float) -> BoolA:
    """Keep-mask dropping tiny boundary pieces (left in the lot as a heel), never a demand's
    largest piece."""
    first = np.flatnonzero(np.r_[True, di[1:] != di[:-1]])
    biggest = np.maximum.reduceat(qty, first)
    seg_max = np.repeat(biggest, np.diff(np.r_[first, len(di)]))
    return (qty >= frac * demand[di]) | (qty == seg_max)


def _sha(s: str) -> str:
    return hashlib.sha256(s.encode()).hexdigest()


def _group_starts(keys: I64) -> I64:
    return np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]]).astype(np.int64)


def _uniq(a: I64) -> I64:
    """Sorted distinct values (a sort and a mask: faster than ``np.unique`` here)."""
    a = np.sort(a)
    return a[np.r_[True, a[1:] != a[:-1]]] if len(a) else a


def _uniq_counts(a: I64) -> tuple[I64, I64]:
    a = np.sort(a)
    if len(a) == 0:
        return a, a
    first = _group_starts(a)
    return a[first], np.diff(np.r_[first, len(a)]).astype(np.int64)


def _ptr(keys: I64, n: int) -> I64:
    """CSR row pointers for ``keys`` sorted ascending, rows 0..n-1."""
    return np.r_[0, np.cumsum(np.bincount(keys, minlength=n))].astype(np.int64)


def _gather(ptr: I64, dat: I64, rows: I64) -> tuple[I64, I64]:
    """Every entry of the CSR ``rows``: (position of its row in ``rows``, value)."""
    starts = ptr[rows]
    counts = ptr[rows + 1] - starts
    first = np.cumsum(counts) - counts
    owner = np.repeat(np.arange(len(rows), dtype=np.int64), counts)
    pos = np.repeat(starts - first, counts) + np.arange(int(counts.sum()), dtype=np.int64)
    return owner, dat[pos]


class _Genealogy:
    """The lot/batch graph as CSR arrays: consumers of a lot, lots a batch consumed, lots a
    batch produced. Generations: a batch's own consumed lots are at depth 1, the lots consumed
    by the batches that produced those at depth 2, and so on."""

    def __init__(
        self, con_batch: I64, con_lot: I64, lot_batch: I64, stage: I64, tested: BoolA
    ) -> None:
        nl, nb = len(lot_batch), len(stage)
        self.nl, self.nb = nl, nb
        key = _uniq(con_lot * nb + con_batch)  # (lot, batch) pairs, sorted by lot
        cl, cb = key // nb, key % nb
        self.lot_ptr = _ptr(cl, nl)
        self.lot_batches = cb
        by_batch = np.sort(cb * nl + cl)
        self.batch_ptr = _ptr(by_batch // nl, nb)
        self.batch_lots = by_batch % nl
        produced = np.flatnonzero(lot_batch >= 0)
        po = produced[np.argsort(lot_batch[produced], kind="stable")]
        self.out_ptr = _ptr(lot_batch[po], nb)
        self.out_lots = po.astype(np.int64)
        self.lot_batch = lot_batch
        self.stage = stage
        self.tested = tested
        self.n_consumers = np.diff(self.lot_ptr)
        self._reaches: dict[int, BoolA] = {}

    def consumers(self, lots: I64) -> I64:
        return _uniq(_gather(self.lot_ptr, self.lot_batches, lots)[1])

    def next_batches(self, batches: I64) -> I64:
        """Batches that consumed a lot produced by one of ``batches``."""
        return self.consumers(_gather(self.out_ptr, self.out_lots, batches)[1])

    def generations(self, lot: int, depth: int) -> list[I64]:
        """Batches having ``lot`` at depth 1, 2, ..., ``depth`` of their backward genealogy."""
        gens = [self.consumers(np.array([lot], dtype=np.int64))]
        while len(gens) < depth:
            gens.append(self.next_batches(gens[-1]))
        return gens

    def consumer_stages(self) -> tuple[I64, I64]:
        """Per lot: lowest and highest stage of its consumers (-1 when never consumed)."""
        lo = np.full(self.nl, -1, dtype=np.int64)
        hi = np.full(self.nl, -1, dtype=np.int64)
        rows = np.flatnonzero(self.n_consumers > 0)
        if len(rows):
            s = self.stage[self.lot_batches]
            lo[rows] = np.minimum.reduceat(s, self.lot_ptr[rows])
            hi[rows] = np.maximum.reduceat(s, self.lot_ptr[rows])
        return lo, hi

    def reaches_tested(self, t: int) -> BoolA:
        """Batches that are, or are upstream of, a tested batch of stage ``t``."""
        if t not in self._reaches:
            mask = np.zeros(self.nb, dtype=np.bool_)
            b = np.flatnonzero(self.tested & (self.stage == t))
            mask[b] = True
            while len(b):
                pr = self.lot_batch[_gather(self.batch_ptr, self.batch_lots, b)[1]]
                pr = _uniq(pr[pr >= 0])
                b = pr[~mask[pr]]
                mask[b] = True
            self._reaches[t] = mask
        return self._reaches[t]

    def same_consumers(self, lot: int, consumers: I64) -> bool:
        """Whether another purchased lot was consumed by exactly ``consumers``."""
        lots, cnt = _uniq_counts(_gather(self.batch_ptr, self.batch_lots, consumers)[1])
        n = len(consumers)
        same = (cnt == n) & (self.n_consumers[lots] == n) & (lots != lot)
        return bool((same & (self.lot_batch[lots] < 0)).any())

    def same_units(self, lot: int, units: I64, t: int) -> bool:
        """Whether another lot L has exactly ``units`` as its set D_L of descendant tested
        stage-``t`` batches (``units`` being D of ``lot``).

        Such an L is upstream of every unit (a common ancestor, found by a backward walk with
        each unit as its own origin) and reaches no other tested stage-``t`` batch: walking
        forward from L through the units' ancestors, no batch outside them may lead to one.
        """
        nl, nb, nu = self.nl, self.nb, len(units)
        anc = np.zeros(nb, dtype=np.bool_)
        anc[units] = True
        origin, b = np.arange(nu, dtype=np.int64), units
        pairs: list[I64] = []
        while len(b):
            own, lots = _gather(self.batch_ptr, self.batch_lots, b)
            o = origin[own]
            pairs.append(o * nl + lots)
            pr = self.lot_batch[lots]
            k = pr >= 0
            key = _uniq(o[k] * nb + pr[k])
            origin, b = key // nb, key % nb
            anc[b] = True
        ancestors = _uniq(np.concatenate(pairs)) % nl
        cand, cnt = _uniq_counts(ancestors)
        reach = self.reaches_tested(t)
        for other in cand[(cnt == nu) & (cand != lot)].tolist():
            fr = self.consumers(np.array([other], dtype=np.int64))
            while len(fr):
                if (reach[fr] & ~anc[fr]).any():
                    break  # D_other holds a tested stage-t batch outside the units
                fr = self.next_batches(fr[anc[fr] & (self.stage[fr] < t)])
            else:
                return True
        return False


# --------------------------------------------------------------------------------------------
# the plant
# --------------------------------------------------------------------------------------------


class _Plant:
    def __init__(self, lots: int, seed: int, impurity_depth: int = 1) -> None:
        self.n_lots = lots
        self.seed = seed
        self.impurity_depth = impurity_depth
        self.rng = np.random.default_rng(seed)
        # the impurity cause of depth >= 2 and the drift draw from their own generator, so
        # the rest of the plant is the same bytes as before they existed
        self.rng2 = np.random.default_rng([seed, 13])
        # lot columns (filled in blocks)
        self.l_mat: list[I64] = []
        self.l_sup: list[I64] = []
        self.l_origin: list[I64] = []
        self.l_site: list[I64] = []
        self.l_qty: list[I64] = []
        self.l_created: list[I64] = []
        self.l_avail: list[I64] = []
        self.l_batch: list[I64] = []
        self.l_status: list[I64] = []  # provisional: quarantine / released / rejected
        self.l_moved: list[I64] = []  # moved_at or -1
        self.n_lot = 0
        # batch columns
        self.b_stage: list[I64] = []
        self.b_site: list[I64] = []
        self.b_start: list[I64] = []
        self.b_complete: list[I64] = []  # -1 when not completed
        self.b_release: list[I64] = []  # QA decision time, -1 when none yet
        self.b_status: list[I64] = []
        self.b_size: list[I64] = []
        self.n_batch = 0
        # consumption blocks (batch, lot, qty, at)
        self.c_batch: list[I64] = []
        self.c_lot: list[I64] = []
        self.c_qty: list[I64] = []
        self.c_at: list[I64] = []
        # purchased demand blocks (batch, material, site, qty, at)
        self.d_batch: list[I64] = []
        self.d_mat: list[I64] = []
        self.d_site: list[I64] = []
        self.d_qty: list[I64] = []
        self.d_at: list[I64] = []

    # ---------------------------------------------------------------- production stages

    def _add_lots(
        self,
        mat: I64,
        sup: I64,
        origin: I64,
        site: I64,
        qty: I64,
        created: I64,
        avail: I64,
        batch: I64,
        status: I64,
        moved: I64,
    ) -> I64:
        n = len(mat)
        self.l_mat.append(mat)
        self.l_sup.append(sup)
        self.l_origin.append(origin)
        self.l_site.append(site)
        self.l_qty.append(qty)
        self.l_created.append(created)
        self.l_avail.append(avail)
        self.l_batch.append(batch)
        self.l_status.append(status)
        self.l_moved.append(moved)
        idx = np.arange(self.n_lot, self.n_lot + n, dtype=np.int64)
        self.n_lot += n
        return idx

    def _stage_inputs(self, k: int, prev: dict[str, I64]) -> tuple[I64, I64, I64, I64, I64, I64]:
        """Stage k>0 batches from the previous stage's lots; returns
        (site, start, input_qty, seg_batch_local, seg_lot_global, seg_qty)."""
        rng = self.rng
        st = STAGES[k]
        sites, starts, inputs = [], [], []
        seg_b, seg_l, seg_q = [], [], []
        nb_total = 0
        for s in st.sites:
            sel = np.flatnonzero(prev["dest"] == s)
            if len(sel) == 0:
                continue
            order = sel[np.argsort(prev["avail"][sel], kind="stable")]
            supply = prev["qty"][order]
            avail = prev["avail"][order]
            total = int(supply.sum())
            nominal = int(st.nominal_kg * 1000)
            nb = max(1, round(0.97 * total / nominal))
            w = rng.lognormal(0.0, 0.12, nb)
            demand = np.floor(w / w.sum() * (0.97 * total)).astype(np.int64)
            demand = np.maximum(demand, 1)
            si, di, q = _merge(supply, demand)
            keep = _drop_crumbs(di, q, demand, 0.03)
            si, di, q = si[keep], di[keep], q[keep]
            first = _group_starts(di)
            last_avail = np.maximum.reduceat(avail[si], first)
            bidx = di[first]
            gap = rng.uniform(2 * HOUR, 3 * DAY, len(bidx)).astype(np.int64)
            start = np.full(nb, -1, dtype=np.int64)
            start[bidx] = last_avail + gap
            got = np.zeros(nb, dtype=np.int64)
            np.add.at(got, di, q)
            ok = (start >= 0) & (start <= T_END - 2 * HOUR)
            remap = np.cumsum(ok) - 1 + nb_total
            segok = ok[di]
            seg_b.append(remap[di[segok]])
            seg_l.append(prev["gidx"][order][si[segok]])
            seg_q.append(q[segok])
            sites.append(np.full(int(ok.sum()), s, dtype=np.int64))
            starts.append(start[ok])
            inputs.append(got[ok])
            nb_total += int(ok.sum())
        if not sites:
            z = np.zeros(0, dtype=np.int64)
            return z, z, z, z, z, z
        return (
            np.concatenate(sites),
            np.concatenate(starts),
            np.concatenate(inputs),
            np.concatenate(seg_b),
            np.concatenate(seg_l),
            np.concatenate(seg_q),
        )

    def _run_stages(self, n_first: int) -> None:
        rng = self.rng
        prev: dict[str, I64] = {}
        for k, st in enumerate(STAGES):
            if k == 0:
                n = n_first
                site = np.array(st.sites)[
                    (rng.random(n)[:, None] > np.cumsum(st.site_p)[:-1]).sum(axis=1)
                ].astype(np.int64)
                k_open = int(np.clip(n // 100, 3, 50))  # a few batches still open at export
                start = np.sort(
                    np.r_[
                        rng.uniform(T0 + 5 * DAY, T_END - DAY, n - k_open),
                        rng.uniform(T_END - 6 * DAY, T_END - 3 * HOUR, k_open - 1),
                        rng.uniform(T_END - 9 * HOUR, T_END - 3 * HOUR, 1),  # still running
                    ]
                ).astype(np.int64)
                size = (st.nominal_kg * 1000 * rng.lognormal(0.0, 0.12, n)).astype(np.int64)
                seg_b = seg_l = seg_q = np.zeros(0, dtype=np.int64)
            else:
                site, start, got, seg_b, seg_l, seg_q = self._stage_inputs(k, prev)
                n = len(site)
                size = (got * st.yield_ * rng.lognormal(0.0, 0.03, n)).astype(np.int64)
            size = np.maximum(size, 1000)
            base = self.n_batch
            dur = rng.uniform(10 * HOUR, 60 * HOUR, n).astype(np.int64)
            complete = start + dur
            release = complete + rng.uniform(2 * DAY, 7 * DAY, n).astype(np.int64)
            status = np.full(n, B_REL, dtype=np.int64)
            in_prog = complete > T_END
            status[release > T_END] = B_REVIEW
            status[(release > T_END) & (complete > T_END - 2 * DAY)] = B_EXEC
            status[in_prog] = B_INPROG
            rej = (status == B_REL) & (rng.random(n) < 0.012)
            status[rej] = B_REJ
            self.b_stage.append(np.full(n, k, dtype=np.int64))
            self.b_site.append(site)
            self.b_start.append(start)
            self.b_complete.append(np.where(in_prog, -1, complete))
            self.b_release.append(np.where((status == B_REL) | (status == B_REJ), release, -1))
            self.b_status.append(status)
            self.b_size.append(size)
            self.n_batch += n
            # intermediate consumption, early in the batch
            if len(seg_b):
                at = start[seg_b] + rng.integers(5 * MINUTE, 2 * HOUR, len(seg_b))
                self.c_batch.append(seg_b + base)
                self.c_lot.append(seg_l)
                self.c_qty.append(seg_q)
                self.c_at.append(at)
            # purchased demands
            span = np.minimum(dur, np.maximum(T_END - 2 * HOUR - start, HOUR))
            for mat, ratio in st.recipe:
                q = (size * ratio * rng.lognormal(0.0, 0.06, n)).astype(np.int64)
                q = np.maximum(q, 1)
                at = start + (span * rng.uniform(0.05, 0.9, n)).astype(np.int64)
                self.d_batch.append(np.arange(base, base + n, dtype=np.int64))
                self.d_mat.append(np.full(n, mat, dtype=np.int64))
                self.d_site.append(site)
                self.d_qty.append(q)
                self.d_at.append(at)
            # outputs
            done = np.flatnonzero(~in_prog)
            two = rng.random(len(done)) < 0.3
            nout = 1 + two.astype(np.int64)
            ob = np.repeat(done, nout)
            first_share = np.where(two, rng.uniform(0.35, 0.65, len(done)), 1.0)
            q1 = (size[done] * first_share).astype(np.int64)
            q2 = size[done] - q1
            oq = np.empty(len(ob), dtype=np.int64)
            pos = np.cumsum(nout) - nout
            oq[pos] = q1
            oq[pos[two] + 1] = q2[two]
            bstat = status[ob]
            lstat = np.where(bstat == B_REL, L_REL, np.where(bstat == B_REJ, L_REJ, L_QUAR))
            created = complete[ob]
            avail = np.where(bstat == B_REL, release[ob], -1)
            origin = site[ob]
            # where each released lot goes next
            dest = np.full(len(ob), -1, dtype=np.int64)
            if k + 1 < len(STAGES):
                if k < FIN_STAGE:
                    cum = np.cumsum(np.array(_TRANSITIONS[k]), axis=1)[origin]
                    dest = (rng.random(len(ob))[:, None] > cum[:, :-1]).sum(axis=1)
                else:
                    to_api = rng.random(len(ob)) < np.array(_API_P)[origin]
                    dest = np.where(to_api, C, -1)
            dest = np.where(avail >= 0, dest, -1).astype(np.int64)
            moved = np.full(len(ob), -1, dtype=np.int64)
            mv = (dest >= 0) & (dest != origin)
            moved[mv] = avail[mv] + rng.uniform(12 * HOUR, 3 * DAY, int(mv.sum())).astype(np.int64)
            late = mv & (moved > T_END - HOUR)
            moved[late] = -1
            dest[late] = -1
            mv &= ~late
            cur_site = np.where(mv, dest, origin)
            avail_next = np.where(mv, moved + 2 * HOUR, avail)
            gidx = self._add_lots(
                np.full(len(ob), st.product, dtype=np.int64),
                np.full(len(ob), -1, dtype=np.int64),
                origin,
                cur_site,
                oq,
                created,
                avail_next,
                ob + base,
                lstat,
                moved,
            )
            prev = {"gidx": gidx, "qty": oq, "avail": avail_next, "dest": dest}

    # ---------------------------------------------------------------- purchased lots

    def _purchase(self) -> None:
        rng = self.rng
        d_batch = np.concatenate(self.d_batch)
        d_mat = np.concatenate(self.d_mat)
        d_site = np.concatenate(self.d_site)
        d_qty = np.concatenate(self.d_qty)
        d_at = np.concatenate(self.d_at)
        key = d_mat * 3 + d_site
        order = np.lexsort((d_batch, d_at, key))
        d_batch, d_mat, d_site, d_qty, d_at, key = (
            x[order] for x in (d_batch, d_mat, d_site, d_qty, d_at, key)
        )
        first = _group_starts(key)
        ends = np.r_[first[1:], len(key)]
        n_streams = len(first)
        totals = np.add.reduceat(d_qty, first).astype(np.float64)
        mats = d_mat[first]
        slack = rng.uniform(0.03, 0.08, n_streams)
        lot_size = np.array([MATERIALS[m].lot_size * 1000 for m in mats])
        ideal = totals * (1 + slack) / lot_size
        solvent = np.array([MATERIALS[m].kind == "solvent" for m in mats])
        counts = np.zeros(n_streams, dtype=np.int64)
        counts[solvent] = np.maximum(1, np.ceil(ideal[solvent])).astype(np.int64)
        residual = self.n_lots - self.n_lot - int(counts.sum())
        other = np.flatnonzero(~solvent)
        if residual < len(other):
            raise ValueError(f"lots={self.n_lots} is too small for this plant (min {MIN_LOTS})")
        share = ideal[other] / ideal[other].sum() * (residual - len(other))
        base_c = np.floor(share).astype(np.int64)
        rem = residual - len(other) - int(base_c.sum())
        frac_order = np.argsort(-(share - base_c), kind="stable")
        base_c[frac_order[:rem]] += 1
        counts[other] = 1 + base_c
        sup_table = self._supplier_table()
        lot_base = self.n_lot
        for j in range(n_streams):
            a, b = int(first[j]), int(ends[j])
            m = int(mats[j])
            mat = MATERIALS[m]
            site = int(d_site[a])
            n = int(counts[j])
            demand = d_qty[a:b]
            dem_total = int(demand.sum())
            pack = max(1, int(mat.pack * 1000))
            w = rng.lognormal(0.0, 0.2, n)
            sizes = w / w.sum() * dem_total * (1 + slack[j])
            sizes = np.maximum(pack, np.round(sizes / pack) * pack).astype(np.int64)
            short = dem_total - int(sizes.sum())
            if short > 0:
                sizes[-1] += -(-short // pack) * pack
            si, di, q = _merge(sizes, demand)
            keep = _drop_crumbs(di, q, demand, 0.01)
            si, di, q = si[keep], di[keep], q[keep]
            at = d_at[a:b][di]
            self.c_batch.append(d_batch[a:b][di])
            self.c_lot.append(si + self.n_lot)
            self.c_qty.append(q)
            self.c_at.append(at)
            # creation: before first use, tail lots (unused stock) later
            used_lots, first_seg = np.unique(si, return_index=True)
            first_use = np.full(n, -1, dtype=np.int64)
            first_use[used_lots] = at[first_seg]
            lo, hi = mat.lead_days
            lead = (rng.uniform(lo, hi, n) * DAY).astype(np.int64)
            created = first_use - lead
            early = created < T0 + HOUR  # opening stock: received between New Year and first use
            created[early] = (
                T0
                + HOUR
                + ((first_use[early] - T0 - HOUR) * rng.uniform(0.2, 0.8, int(early.sum()))).astype(
                    np.int64
                )
            )
            unused = first_use < 0
            if unused.any():
                # stock not used yet: received over the last weeks before the export
                n_un = int(unused.sum())
                lo_t = T_END - 45 * DAY
                if (~unused).any():
                    lo_t = min(lo_t, int(created[~unused].max()))
                created[unused] = np.sort(rng.integers(lo_t, T_END - HOUR, n_un))
            # received centrally at SITE-A and moved for SITE-B / SITE-C streams
            origin = np.full(n, site, dtype=np.int64)
            moved = np.full(n, -1, dtype=np.int64)
            if site != A:
                mv = rng.random(n) < 0.25
                until = np.where(unused, created + rng.integers(DAY, 5 * DAY, n), first_use)
                t_mv = created + ((until - created) * rng.uniform(0.3, 0.8, n)).astype(np.int64)
                mv &= t_mv <= T_END - HOUR
                origin[mv] = A
                moved[mv] = t_mv[mv]
            cur = np.where(moved >= 0, site, origin)
            status = np.full(n, L_REL, dtype=np.int64)
            status[unused & (created > T_END - 10 * DAY)] = L_QUAR
            status[unused & (rng.random(n) < 0.04)] = L_REJ
            # supplier
            sups, probs = sup_table[m]
            sup = np.array(sups, dtype=np.int64)[
                (rng.random(n)[:, None] > np.cumsum(probs)[:-1]).sum(axis=1)
            ]
            disq = (sup == 11) & (created >= DISQUALIFIED_AT)
            sup[disq] = sups[0] if sups[0] != 11 else sups[1]
            self._add_lots(
                np.full(n, m, dtype=np.int64),
                sup,
                origin,
                cur,
                sizes,
                created,
                created,
                np.full(n, -1, dtype=np.int64),
                status,
                moved,
            )
        self.n_purchased = self.n_lot - lot_base
        self.purchased_base = lot_base

    def _supplier_table(self) -> dict[int, tuple[list[int], F64]]:
        rng = self.rng
        solv = [i for i, s in enumerate(SUPPLIERS) if s[4] == "s"]
        rr = [i for i, s in enumerate(SUPPLIERS) if s[4] == "rr"]
        table: dict[int, tuple[list[int], F64]] = {}
        for m in range(N_PURCHASED_MATS):
            pool = solv if MATERIALS[m].kind == "solvent" else rr
            k = 2 + int(rng.random() < 0.5)
            picks = [int(x) for x in rng.choice(pool, size=k, replace=False)]
            if picks[0] == 11:  # the disqualified supplier is never the primary one
                picks[0], picks[1] = picks[1], picks[0]
            p = np.array([0.6] + [0.4 / (k - 1)] * (k - 1))
            table[m] = (picks, p)
        return table

    # ---------------------------------------------------------------- assemble

    def build(self) -> None:
        # calibrated: about 8.75 lots per first-stage batch
        n_first = max(8, round(self.n_lots / 8.75))
        self._run_stages(n_first)
        self._purchase()
        cat = np.concatenate
        self.lot_mat = cat(self.l_mat)
        self.lot_sup = cat(self.l_sup)
        self.lot_origin = cat(self.l_origin)
        self.lot_site = cat(self.l_site)
        self.lot_qty = cat(self.l_qty)
        self.lot_created = cat(self.l_created)
        self.lot_avail = cat(self.l_avail)
        self.lot_batch = cat(self.l_batch)
        self.lot_status = cat(self.l_status)
        self.lot_moved = cat(self.l_moved)
        assert len(self.lot_mat) == self.n_lots, (len(self.lot_mat), self.n_lots)
        self.bat_stage = cat(self.b_stage)
        self.bat_site = cat(self.b_site)
        self.bat_start = cat(self.b_start)
        self.bat_complete = cat(self.b_complete)
        self.bat_release = cat(self.b_release)
        self.bat_status = cat(self.b_status)
        self.bat_size = cat(self.b_size)
        self.con_batch = cat(self.c_batch)
        self.con_lot = cat(self.c_lot)
        self.con_qty = cat(self.c_qty)
        self.con_at = cat(self.c_at)
        for name in (
            "l_mat",
            "l_sup",
            "l_origin",
            "l_site",
            "l_qty",
            "l_created",
            "l_avail",
            "l_batch",
            "l_status",
            "l_moved",
            "b_stage",
            "b_site",
            "b_start",
            "b_complete",
            "b_release",
            "b_status",
            "b_size",
            "c_batch",
            "c_lot",
            "c_qty",
            "c_at",
            "d_batch",
            "d_mat",
            "d_site",
            "d_qty",
            "d_at",
        ):
            getattr(self, name).clear()
        self._planned_batches()
        self._equipment_and_people()
        self._shipments()
        self._balance()
        self._quality()
        self._deviations()
        self._supplier_changes()
        self._documents()
        self._signatures()

    def _planned_batches(self) -> None:
        rng = self.rng
        n = int(np.clip(self.n_lots // 2000, 2, 40))
        stage = rng.choice([2, 3, 4], n, p=[0.3, 0.5, 0.2]).astype(np.int64)
        site = np.where(stage == API_STAGE, C, rng.choice([B, C], n)).astype(np.int64)
        start = np.sort(rng.integers(T_END - 3 * DAY, T_END - HOUR, n)).astype(np.int64)
        self.bat_stage = np.r_[self.bat_stage, stage]
        self.bat_site = np.r_[self.bat_site, site]
        self.bat_start = np.r_[self.bat_start, start]
        self.bat_complete = np.r_[self.bat_complete, np.full(n, -1, dtype=np.int64)]
        self.bat_release = np.r_[self.bat_release, np.full(n, -1, dtype=np.int64)]
        self.bat_status = np.r_[self.bat_status, np.full(n, B_PLANNED, dtype=np.int64)]
        self.bat_size = np.r_[self.bat_size, np.zeros(n, dtype=np.int64)]

    def _equipment_and_people(self) -> None:
        rng = self.rng
        nb = len(self.bat_site)
        per_site = np.bincount(self.bat_site, minlength=3)
        self.eq_site: list[int] = []
        self.eq_kind: list[str] = []
        self.eq_code: list[str] = []
        self.eq_name: list[str] = []
        n_react = [int(np.clip(-(-int(c) // 400), 4, 40)) for c in per_site]
        react_base: list[int] = []
        for s in range(3):
            react_base.append(len(self.eq_site))
            vols = (1600, 2500, 4000, 6300, 10000)
            for i in range(n_react[s]):
                vol = vols[int(rng.integers(0, len(vols)))]
                liner = "glass-lined" if rng.random() < 0.6 else "stainless steel"
                self.eq_site.append(s)
                self.eq_kind.append("reactor")
                self.eq_code.append(f"R-{s + 1}{i + 1:02d}")
                self.eq_name.append(f"Reactor {vol} L {liner}")
            for i in range(int(np.clip(n_react[s] // 3, 2, 15))):
                self.eq_site.append(s)
                self.eq_kind.append("dryer")
                self.eq_code.append(f"D-{s + 1}{i + 1:02d}")
                self.eq_name.append("Agitated filter dryer" if i % 2 == 0 else "Vacuum tray dryer")
        eq_site = np.array(self.eq_site)
        self.dryers_by_site = [
            np.flatnonzero((eq_site == s) & (np.array(self.eq_kind) == "dryer")) for s in range(3)
        ]
        rb = np.array(react_base)[self.bat_site]
        nr = np.array(n_react)[self.bat_site]
        self.bat_eq = (rb + (rng.random(nb) * nr).astype(np.int64)).astype(np.int64)
        planned = self.bat_status == B_PLANNED
        self.bat_eq[planned & (rng.random(nb) < 0.5)] = -1
        # people: by site and role
        self.p_site: list[int] = []
        self.p_role: list[int] = []
        self.p_name: list[str] = []
        for s in range(3):
            ops = int(np.clip(per_site[s] // 700, 6, 150))
            counts = {
                OPERATOR: ops,
                SUPERVISOR: max(2, ops // 6),
                QA: max(2, ops // 8),
                QP: 2 + int(ops > 60),
                QC: max(3, ops // 5),
                LOGISTICS: max(2, ops // 10),
                SUPPLY_CHAIN: 2 if s == A else 1,
            }
            for role, c in counts.items():
                for _ in range(c):
                    self.p_site.append(s)
                    self.p_role.append(role)
                    fn = FIRST_NAMES[int(rng.integers(0, len(FIRST_NAMES)))]
                    ln = LAST_NAMES[int(rng.integers(0, len(LAST_NAMES)))]
                    self.p_name.append(f"{fn} {ln}")
        p_site = np.array(self.p_site)
        p_role = np.array(self.p_role)
        self.pool = {
            (s, r): np.flatnonzero((p_site == s) & (p_role == r)).astype(np.int64)
            for s in range(3)
            for r in range(len(ROLES))
        }

    def person(self, role: int, site: I64) -> I64:
        """A random person of the role at each given site."""
        out = np.empty(len(site), dtype=np.int64)
        u = self.rng.random(len(site))
        for s in range(3):
            sel = site == s
            if sel.any():
                pool = self.pool[(s, role)]
                out[sel] = pool[(u[sel] * len(pool)).astype(np.int64)]
        return out

    def _shipments(self) -> None:
        rng = self.rng
        n_cust = int(np.clip(round(self.n_lots / 10000) + 8, 8, 120))
        self.n_cust = n_cust
        weights = 1.0 / np.arange(1, n_cust + 1) ** 0.8
        weights = rng.permutation(weights)
        cum_w = np.cumsum(weights / weights.sum())
        consumed_lots = np.zeros(self.n_lots, dtype=np.bool_)
        consumed_lots[self.con_lot] = True
        final = np.isin(self.lot_mat, [_MAT["MAT-FIN"], _MAT["MAT-API"]])
        cand = np.flatnonzero(
            final & (self.lot_status == L_REL) & ~consumed_lots & (self.lot_avail >= 0)
        )
        cand = cand[self.lot_avail[cand] < T_END - 2 * DAY]
        n = len(cand)
        nparts = 1 + (rng.random(n) < 0.35).astype(np.int64) + (rng.random(n) < 0.12)
        whole = rng.random(n) < 0.85
        frac = np.where(whole, 1.0, rng.uniform(0.5, 0.95, n))
        ship_total = np.floor(self.lot_qty[cand] * frac).astype(np.int64)
        lot_r = np.repeat(cand, nparts)
        part_no = np.arange(len(lot_r)) - np.repeat(np.cumsum(nparts) - nparts, nparts)
        w = rng.uniform(0.2, 1.0, len(lot_r))
        wsum = np.repeat(np.add.reduceat(w, np.cumsum(nparts) - nparts), nparts)
        qty = np.floor(w / wsum * np.repeat(ship_total, nparts)).astype(np.int64)
        # last part takes the rounding remainder
        last = np.cumsum(nparts) - 1
        qty[last] += ship_total - np.add.reduceat(qty, np.cumsum(nparts) - nparts)
        c0 = np.repeat(np.searchsorted(cum_w, rng.random(n)), nparts)
        step = np.repeat(rng.integers(1, max(2, n_cust // 3), n), nparts)
        cust = (c0 + part_no * step) % n_cust
        t1 = np.repeat(
            self.lot_avail[cand] + rng.uniform(DAY, 20 * DAY, n).astype(np.int64), nparts
        )
        t = t1 + (part_no * rng.uniform(2 * DAY, 15 * DAY, len(lot_r))).astype(np.int64)
        ok = (t <= T_END - HOUR) & (qty > 0)
        lot_r, cust, qty, t = lot_r[ok], cust[ok], qty[ok], t[ok]
        # consolidate: parts to one customer within two days often travel as one shipment
        order = np.lexsort((lot_r, t, cust))
        lot_r, cust, qty, t = lot_r[order], cust[order], qty[order], t[order]
        new = np.r_[
            True,
            (cust[1:] != cust[:-1])
            | (t[1:] - t[:-1] > 2 * DAY)
            | (lot_r[1:] == lot_r[:-1])
            | (rng.random(len(t) - 1) < 0.5),
        ]
        grp = np.cumsum(new) - 1
        gstart = np.flatnonzero(new)
        gtime = np.maximum.reduceat(t, gstart) if len(t) else t
        t = gtime[grp]
        # shipment numbers in time order
        g_order = np.argsort(gtime, kind="stable")
        g_rank = np.empty_like(g_order)
        g_rank[g_order] = np.arange(len(g_order))
        self.sh_no = g_rank[grp].astype(np.int64)
        self.n_ship_groups = len(gstart)
        row_order = np.lexsort((lot_r, self.sh_no))
        self.sh_no = self.sh_no[row_order]
        self.sh_lot = lot_r[row_order]
        self.sh_cust = cust[row_order]
        self.sh_qty = qty[row_order]
        self.sh_at = t[row_order]
        self.cust_country = rng.choice(len(COUNTRIES), n_cust)
        names: list[str] = []
        for i in range(n_cust):
            w1 = CUSTOMER_WORDS[i % len(CUSTOMER_WORDS)]
            form = CUSTOMER_FORMS[int(rng.integers(0, len(CUSTOMER_FORMS)))]
            suffix = "" if i < len(CUSTOMER_WORDS) else f" {i // len(CUSTOMER_WORDS) + 1}"
            names.append(f"{w1}{suffix} {form}")
        self.cust_name = names

    def _balance(self) -> None:
        rng = self.rng
        n = self.n_lots
        consumed = np.bincount(self.con_lot, weights=self.con_qty, minlength=n)
        consumed = np.round(consumed).astype(np.int64)
        shipped = np.round(np.bincount(self.sh_lot, weights=self.sh_qty, minlength=n))
        shipped = shipped.astype(np.int64)
        on_hand = self.lot_qty - consumed - shipped
        assert (on_hand >= 0).all()
        status = self.lot_status.copy()
        status[(status == L_REL) & (on_hand == 0) & (consumed > 0)] = L_CONS
        # a few lots on hold
        cand = np.flatnonzero((status == L_REL) & (on_hand > 0))
        k = int(np.clip(n // 5000, 2, 40))
        self.hold_lots = np.sort(rng.choice(cand, min(k, len(cand)), replace=False))
        status[self.hold_lots] = L_HOLD
        # planted mass-balance shortfalls: the lot's quantity is larger than what is accounted
        k = int(np.clip(n // 20000, 3, 25))
        cand = np.flatnonzero((status == L_CONS) | ((shipped > 0) & (on_hand == 0)))
        short = np.sort(rng.choice(cand, min(k, len(cand)), replace=False))
        f = rng.uniform(0.02, 0.06, len(short))
        self.lot_qty = self.lot_qty.copy()
        self.lot_qty[short] = np.ceil(self.lot_qty[short] / (1 - f)).astype(np.int64)
        self.shortfall_lots = short
        self.lot_status = status
        self.lot_on_hand = on_hand

    # ---------------------------------------------------------------- QC

    def _quality(self) -> None:
        rng = self.rng
        nb = len(self.bat_stage)
        tested = (self.bat_complete >= 0) & (self.bat_status != B_PLANNED)
        t_test = self.bat_complete + rng.uniform(6 * HOUR, 2 * DAY, nb).astype(np.int64)
        tested &= t_test <= T_END - HOUR
        tb = np.flatnonzero(tested)
        g = _Genealogy(self.con_batch, self.con_lot, self.lot_batch, self.bat_stage, tested)
        depth = self.impurity_depth
        pb = self.purchased_base
        if depth == 1:
            # planted lot: a reagent lot used by several tested batches
            reagent_lot = np.zeros(self.n_lots, dtype=np.bool_)
            is_reagent = np.array([m.kind == "reagent" for m in MATERIALS])
            reagent_lot[pb:] = is_reagent[self.lot_mat[pb:]]
            sel = reagent_lot[self.con_lot] & tested[self.con_batch]
            uses = np.bincount(self.con_lot[sel], minlength=self.n_lots)
            cand = np.flatnonzero((uses >= 5) & (uses <= 15))
            if len(cand) == 0:
                cand = np.flatnonzero(uses >= 1)
            planted = int(rng.choice(cand))
            if g.same_consumers(planted, self._consumers_of(planted)):
                # another lot went into exactly the same batches: no data could tell them
                # apart, so plant the cause in one that can be
                for other in self.rng2.permutation(cand)[:_CAUSE_CHECKS].tolist():
                    if not g.same_consumers(other, self._consumers_of(other)):
                        planted = int(other)
                        break
            direct = np.unique(self.con_batch[self.con_lot == planted])
            direct = direct[tested[direct]]
            out_lots = np.flatnonzero(np.isin(self.lot_batch, direct))
            nxt = np.unique(self.con_batch[np.isin(self.con_lot, out_lots)])
            nxt = nxt[tested[nxt] & ~np.isin(nxt, direct)]
            gens = g.generations(planted, 2)
        else:
            planted, gens = self._deep_cause(g)
            direct = gens[-1][tested[gens[-1]]]  # D: raised below, every one of them
            nxt = np.zeros(0, dtype=np.int64)
        self.planted_lot = planted
        upper_b = np.array([s.imp_b_upper for s in STAGES])[self.bat_stage]
        water_up = np.array([s.water_upper for s in STAGES])[self.bat_stage]
        # values in thousandths
        assay = np.clip(rng.normal(99.6, 0.45, nb), 97.3, 101.7)
        imp_a = np.clip(rng.normal(0.05, 0.015, nb), 0.005, 0.14)
        imp_b = np.clip(rng.normal(0.035, 0.012, nb), 0.003, 0.09)
        water = np.clip(rng.normal(0.18, 0.06, nb), 0.02, 0.45)
        if depth == 1:
            rng.random(len(direct))  # drawn as before, so that later draws stay the same
            hit = direct  # every tested batch that consumed it
            imp_b[hit] = upper_b[hit] * rng.uniform(1.3, 2.5, len(hit))
            # no carry-over into the next stage (it would be a second cluster, explained as
            # well by the intermediate lots between): drawn as before, not applied
            carried = rng.random(len(nxt)) < 0.5
            rng.uniform(1.05, 1.5, int(carried.sum()))
            hit2 = nxt[:0]
            others = np.setdiff1d(tb, np.r_[direct, nxt])
        else:
            # the impurity forms downstream: only D is raised, not the batches in between
            hit = direct
            imp_b[hit] = upper_b[hit] * self.rng2.uniform(1.3, 2.5, len(hit))
            hit2 = nxt
            others = np.setdiff1d(tb, np.concatenate(gens))
        n_fp = int(np.clip(round(len(tb) * 0.0002), 2, 20))
        fp = rng.choice(others, min(n_fp, len(others)), replace=False)
        imp_b[fp] = upper_b[fp] * rng.uniform(1.02, 1.3, len(fp))
        self.planted_units = hit
        self.planted_stage = int(self.bat_stage[hit[0]])
        # in-specification drift: the tested consumers of one supplier lot, in test order
        keep_out = np.zeros(nb, dtype=np.bool_)
        keep_out[np.concatenate([*gens, fp])] = True
        self.drift_lot, units = self._drift(g, t_test, keep_out)
        units = units[np.lexsort((units, t_test[units]))]
        k = np.arange(len(units))
        imp_b[units] = 0.095 + 0.035 * k / max(1, len(units) - 1)
        self.drift_units = units
        self.flagged_direct = hit
        self.flagged_next = hit2
        self.false_positive = np.sort(fp)
        n4 = len(tb)
        r_kind = np.full(4 * n4, T_BATCH, dtype=np.int64)
        r_target = np.repeat(tb, 4)
        r_analyte = np.tile(np.arange(4, dtype=np.int64), n4)
        vals = np.stack([assay[tb], imp_a[tb], imp_b[tb], water[tb]], axis=1).ravel()
        r_value = np.round(vals * 1000).astype(np.int64)
        r_unit = np.tile(np.array([0, 1, 1, 2], dtype=np.int64), n4)
        lower = np.stack(
            [np.full(n4, 97000), np.full(n4, -1), np.full(n4, -1), np.full(n4, -1)], axis=1
        ).ravel()
        upper = np.stack(
            [
                np.full(n4, 102000),
                np.full(n4, 150),
                np.round(upper_b[tb] * 1000),
                np.round(water_up[tb] * 1000),
            ],
            axis=1,
        ).ravel()
        r_method = np.tile(np.array([0, 0, 1, 2], dtype=np.int64), n4)
        r_at = np.repeat(t_test[tb], 4) + np.tile(np.array([0, 0, 0, 2 * HOUR]), n4)
        r_doc = np.full(4 * n4, -1, dtype=np.int64)
        blocks = [
            (
                r_kind,
                r_target,
                r_analyte,
                r_value,
                r_unit,
                lower.astype(np.int64),
                upper.astype(np.int64),
                r_method,
                r_at,
                r_doc,
            )
        ]
        # lot release results for final lots, reported in a QC report (document kind qc_report)
        final = np.isin(self.lot_mat, [_MAT["MAT-FIN"], _MAT["MAT-API"]])
        fl = np.flatnonzero(final & (self.lot_batch >= 0))
        fl = fl[np.isin(self.bat_status[self.lot_batch[fl]], [B_REL, B_REJ])]
        fb = self.lot_batch[fl]
        n3 = len(fl)
        self.qcr_lots = fl
        self.qcr_at = self.bat_release[fb] - rng.integers(2 * HOUR, DAY, n3)
        lv = np.stack(
            [
                assay[fb] + rng.normal(0, 0.1, n3),
                imp_b[fb] * rng.uniform(0.97, 1.03, n3),
                water[fb] * rng.uniform(0.9, 1.1, n3),
            ],
            axis=1,
        ).ravel()
        blocks.append(
            (
                np.full(3 * n3, T_LOT, dtype=np.int64),
                np.repeat(fl, 3),
                np.tile(np.array([ASSAY, IMP_B, WATER], dtype=np.int64), n3),
                np.round(lv * 1000).astype(np.int64),
                np.tile(np.array([0, 1, 2], dtype=np.int64), n3),
                np.stack([np.full(n3, 97000), np.full(n3, -1), np.full(n3, -1)], axis=1).ravel(),
                np.stack(
                    [
                        np.full(n3, 102000),
                        np.round(upper_b[fb] * 1000),
                        np.round(water_up[fb] * 1000),
                    ],
                    axis=1,
                )
                .ravel()
                .astype(np.int64),
                np.tile(np.array([5, 6, 7], dtype=np.int64), n3),  # the release methods
                np.repeat(self.qcr_at - 3 * HOUR, 3),
                np.repeat(np.arange(n3, dtype=np.int64), 3),  # qc_report index, remapped later
            )
        )
        # supplier CoAs for most purchased lots
        pl = np.arange(pb, self.n_lots, dtype=np.int64)
        coa = pl[rng.random(len(pl)) < 0.85]
        if planted not in coa:
            coa = np.sort(np.r_[coa, planted])
        n2 = len(coa)
        self.coa_lots = coa
        solv = np.array([MATERIALS[m].kind == "solvent" for m in self.lot_mat[coa]])
        c_assay = np.where(solv, rng.uniform(99.55, 99.99, n2), rng.uniform(98.6, 99.9, n2))
        c_water = np.where(solv, rng.uniform(0.005, 0.08, n2), rng.uniform(0.02, 0.4, n2))
        room = (self.lot_created[coa] - T0) * rng.uniform(0.2, 0.9, n2)
        c_at = self.lot_created[coa] - np.minimum(rng.integers(DAY, 20 * DAY, n2), room).astype(
            np.int64
        )
        blocks.append(
            (
                np.full(2 * n2, T_LOT, dtype=np.int64),
                np.repeat(coa, 2),
                np.tile(np.array([ASSAY, WATER], dtype=np.int64), n2),
                np.round(np.stack([c_assay, c_water], axis=1).ravel() * 1000).astype(np.int64),
                np.tile(np.array([0, 2], dtype=np.int64), n2),
                np.stack([np.where(solv, 99500, 98000), np.full(n2, -1)], axis=1).ravel(),
                np.stack([np.full(n2, -1), np.where(solv, 100, 500)], axis=1).ravel(),
                np.tile(np.array([4, 4], dtype=np.int64), n2),
                np.repeat(c_at, 2),
                np.repeat(np.arange(n2, dtype=np.int64), 2),  # coa index, remapped later
            )
        )
        self.tr_blocks = blocks

    def _consumers_of(self, lot: int) -> I64:
        return np.unique(self.con_batch[self.con_lot == lot])

    def _deep_cause(self, g: _Genealogy) -> tuple[int, list[I64]]:
        """The planted lot R for depth d >= 2 and its generations of consumer batches.

        Candidates: purchased raw/reagent lots consumed by batches of one stage s with
        s + d - 1 <= the API stage, tried in random order (at most ``_CAUSE_TRIES``; the
        identifiability check, the costly part, at most ``_CAUSE_CHECKS`` times). The first one
        whose D has 5..60 batches and that is identifiable wins; failing that, the best seen:
        identifiable before not, then 5..60, then more than 60, then 1..4 batches.
        """
        d = self.impurity_depth
        pb = self.purchased_base
        lots = np.arange(pb, self.n_lots, dtype=np.int64)
        lo, hi = g.consumer_stages()
        ok = ~_SOLVENT[self.lot_mat[lots]] & (lo[lots] >= 0) & (lo[lots] == hi[lots])
        ok &= hi[lots] + d - 1 <= API_STAGE
        pool = self.rng2.permutation(lots[ok])[:_CAUSE_TRIES]
        best: tuple[tuple[int, int, int], int, list[I64]] | None = None
        checks = 0
        for lot in pool.tolist():
            gens = g.generations(lot, d)
            units = gens[-1][g.tested[gens[-1]]]
            n = len(units)
            if n == 0:
                continue
            size = 2 if 5 <= n <= 60 else 1 if n > 60 else 0
            closeness = n if n < 5 else -n
            if best is not None and (1, size, closeness) <= best[0]:
                continue  # cannot beat what we have
            t = int(self.bat_stage[units[0]])
            checks += 1
            ident = not (g.same_consumers(lot, gens[0]) or g.same_units(lot, units, t))
            key = (int(ident), size, closeness)
            if best is None or key > best[0]:
                best = (key, lot, gens)
            if key[:2] == (1, 2) or checks >= _CAUSE_CHECKS:
                break
        if best is None:
            raise ValueError(
                f"no purchased lot reaches a tested batch {d} generations downstream: "
                f"the plant of {self.n_lots} lots is too small for impurity_depth={d}"
            )
        return best[1], best[2]

    def _drift(self, g: _Genealogy, t_test: I64, keep_out: BoolA) -> tuple[int, I64]:
        """The drift lot Q and its tested consumer batches (see the module docstring)."""
        pb = self.purchased_base
        tested = g.tested
        lots = np.arange(pb, self.n_lots, dtype=np.int64)
        lo, hi = g.consumer_stages()
        # the first tested batches of stages 0 and 1 (the drift must be out of trend)
        early = np.zeros(len(tested), dtype=np.bool_)
        for s in (0, 1):
            b = np.flatnonzero(tested & (self.bat_stage == s))
            early[b[np.lexsort((b, t_test[b]))][:_DRIFT_BASELINE]] = True
        n_tested = np.bincount(self.con_lot[tested[self.con_batch]], minlength=self.n_lots)
        n_out = np.bincount(self.con_lot[keep_out[self.con_batch]], minlength=self.n_lots)
        n_early = np.bincount(self.con_lot[early[self.con_batch]], minlength=self.n_lots)
        # any purchased lot but the bulk ones (a solvent lot in hundreds of batches)
        ok = (lots != self.planted_lot) & (n_tested[lots] <= _DRIFT_MAX_UNITS)
        ok &= (lo[lots] == hi[lots]) & (lo[lots] >= 0) & (hi[lots] <= 1)
        ok &= (n_out[lots] == 0) & (n_tested[lots] >= 1)
        eligible = lots[ok]
        if len(eligible) == 0:
            raise ValueError(f"the plant of {self.n_lots} lots has no lot for the planted drift")
        good = eligible[(n_tested[eligible] >= _DRIFT_MIN_UNITS) & (n_early[eligible] == 0)]
        if (hi[good] == 0).any():
            # stage 0 first: its batches have no batch upstream, so no intermediate's
            # supplier lot can share all of the drift's batches through the genealogy
            good = good[hi[good] == 0]
        if (n_tested[good] >= _DRIFT_WANTED_UNITS).any():
            # a long drift stands out of the chance signals of the Nelson rules
            good = good[n_tested[good] >= _DRIFT_WANTED_UNITS]
        rng2 = self.rng2
        if len(good) == 0:
            # a very small plant: the lot with most tested consumers, out of the baseline if any
            score = (n_early[eligible] == 0) * 1_000_000 + n_tested[eligible]
            best = eligible[score == score.max()]
            q = int(rng2.choice(best))
        else:
            cand = rng2.permutation(good)[:_DRIFT_CHECKS]
            tier = self._drift_tiers(g, cand)
            q = int(rng2.choice(cand[tier == tier.min()]))
        units = g.consumers(np.array([q], dtype=np.int64))
        return q, units[tested[units]]

    def _drift_tiers(self, g: _Genealogy, cand: I64) -> I64:
        """Per candidate Q: 0 when no other purchased lot was consumed by all of Q's
        consumers; 1 when only bulk solvent lots were, each by more batches than Q; 2 else."""
        nl = self.n_lots
        own, batches = _gather(g.lot_ptr, g.lot_batches, cand)
        own2, lots = _gather(g.batch_ptr, g.batch_lots, batches)
        key, cnt = _uniq_counts(own[own2] * nl + lots)
        q_of, other = key // nl, key % nl
        n_q = g.n_consumers[cand][q_of]
        cover = (cnt == n_q) & (other != cand[q_of]) & (g.lot_batch[other] < 0)
        bad = cover & (~_SOLVENT[self.lot_mat[other]] | (g.n_consumers[other] == n_q))
        tier = np.where(np.bincount(q_of[cover], minlength=len(cand)) > 0, 1, 0)
        return np.where(np.bincount(q_of[bad], minlength=len(cand)) > 0, 2, tier)

    # ---------------------------------------------------------------- deviations

    def _deviations(self) -> None:
        rng = self.rng
        done = np.flatnonzero(self.bat_status != B_PLANNED)
        n = int(max(6, round(len(done) * 0.015)))
        dev_batch = np.sort(rng.choice(done, min(n, len(done)), replace=False))
        n = len(dev_batch)
        kind = rng.choice(4, n, p=[0.55, 0.2, 0.15, 0.1])  # process, material, equipment, doc
        sev = rng.choice(3, n, p=[0.7, 0.25, 0.05])
        opened = self.bat_start[dev_batch] + rng.integers(HOUR, 2 * DAY, n)
        # OOS deviations for most planted hits and the false positives
        oos_b = np.r_[
            self.flagged_direct[rng.random(len(self.flagged_direct)) < 0.6],
            self.false_positive[rng.random(len(self.false_positive)) < 0.5],
        ]
        oos_b = np.sort(oos_b).astype(np.int64)
        no = len(oos_b)
        dev_batch = np.r_[dev_batch, oos_b]
        kind = np.r_[kind, np.full(no, 4)]
        sev = np.r_[sev, np.where(rng.random(no) < 0.8, 1, 2)]
        opened = np.r_[opened, self.bat_complete[oos_b] + rng.integers(DAY, 3 * DAY, no)]
        # holds: an investigation per lot on hold
        nh = len(self.hold_lots)
        h_open = np.minimum(
            self.lot_created[self.hold_lots] + rng.integers(DAY, 30 * DAY, nh),
            T_END - rng.integers(HOUR, 5 * DAY, nh),
        )
        dev_batch = np.r_[dev_batch, np.full(nh, -1, dtype=np.int64)]
        kind = np.r_[kind, np.full(nh, 5)]
        sev = np.r_[sev, np.where(rng.random(nh) < 0.5, 1, 0)]
        opened = np.r_[opened, h_open]
        opened = np.minimum(opened, T_END - HOUR).astype(np.int64)
        nd = len(kind)
        close = opened + rng.integers(7 * DAY, 60 * DAY, nd)
        status = np.where(close <= T_END, 2, np.where(rng.random(nd) < 0.4, 0, 1))
        status[kind == 5] = 1
        closed = np.where(status == 2, close, -1)
        order = np.lexsort((np.arange(nd), opened))
        self.dev_batch = dev_batch[order]
        self.dev_kind = kind[order]
        self.dev_sev = sev[order]
        self.dev_opened = opened[order]
        self.dev_closed = closed[order]
        self.dev_status = status[order]
        hold_pos = np.full(nd, -1, dtype=np.int64)
        hold_pos[np.arange(nd - nh, nd)] = np.arange(nh)
        self.dev_hold = hold_pos[order]
        # links and descriptions
        out_l = np.argsort(self.lot_batch, kind="stable").astype(np.int64)
        out_b = self.lot_batch[out_l]
        cons_order = np.argsort(self.con_batch, kind="stable")
        cb = self.con_batch[cons_order]
        cl = self.con_lot[cons_order]
        lk: list[int] = []
        lt: list[int] = []
        lidx: list[int] = []
        desc: list[str] = []
        cats: list[str] = []
        stage_names = ("stage 1", "stage 2", "stage 3", "final intermediate", "API")
        for d in range(nd):
            kd = int(self.dev_kind[d])
            b = int(self.dev_batch[d])
            if kd == 5:
                lot = int(self.hold_lots[self.dev_hold[d]])
                lk += [d]
                lt += [T_LOT]
                lidx += [lot]
                if self.lot_sup[lot] >= 0:
                    lk += [d]
                    lt += [T_SUP]
                    lidx += [int(self.lot_sup[lot])]
                cats.append("material")
                desc.append(
                    "Lot placed on hold pending investigation of a labelling discrepancy "
                    "found at warehouse inspection"
                )
                continue
            stage = stage_names[int(self.bat_stage[b])]
            lk.append(d)
            lt.append(T_BATCH)
            lidx.append(b)
            eq = int(self.bat_eq[b])
            if kd == 0:
                cats.append("process")
                desc.append(
                    f"Temperature excursion during {stage} reaction, "
                    f"{rng.uniform(1.5, 6):.1f} C above set point for "
                    f"{int(rng.integers(5, 90))} min"
                )
                if eq >= 0 and rng.random() < 0.4:
                    lk.append(d)
                    lt.append(T_EQ)
                    lidx.append(eq)
                if rng.random() < 0.3:
                    lo, hi = np.searchsorted(out_b, [b, b + 1])
                    outs = out_l[lo:hi]
                else:
                    outs = out_l[:0]
                for o in outs:
                    lk.append(d)
                    lt.append(T_LOT)
                    lidx.append(int(o))
            elif kd == 1:
                cats.append("material")
                lo, hi = np.searchsorted(cb, [b, b + 1])
                inputs = cl[lo:hi]
                inputs = inputs[self.lot_sup[inputs] >= 0]
                desc.append(
                    f"Damaged container of incoming material used in {stage} batch, "
                    "contents verified before use"
                )
                if len(inputs):
                    lot = int(inputs[int(rng.integers(0, len(inputs)))])
                    lk += [d, d]
                    lt += [T_LOT, T_SUP]
                    lidx += [lot, int(self.lot_sup[lot])]
            elif kd == 2:
                cats.append("equipment")
                site = int(self.bat_site[b])
                dry = self.dryers_by_site[site]
                target = int(dry[int(rng.integers(0, len(dry)))]) if rng.random() < 0.5 else eq
                if target < 0:
                    target = int(dry[0])
                desc.append(
                    f"Unplanned stop of {self.eq_kind[target]} {self.eq_code[target]} "
                    "during processing; vacuum pump failure"
                )
                lk.append(d)
                lt.append(T_EQ)
                lidx.append(target)
            elif kd == 3:
                cats.append("documentation")
                desc.append(
                    "Missing second-person verification of a weighing step in the batch record"
                )
            else:
                cats.append("OOS")
                desc.append(
                    f"Out of specification result for Impurity B in {stage} batch release testing"
                )
        self.dev_cat = cats
        self.dev_desc = desc
        self.dl_dev = np.array(lk, dtype=np.int64)
        self.dl_kind = np.array(lt, dtype=np.int64)
        self.dl_target = np.array(lidx, dtype=np.int64)

    def _supplier_changes(self) -> None:
        rng = self.rng
        pb = self.purchased_base
        sup = self.lot_sup[pb:]
        mat = self.lot_mat[pb:]
        pairs = np.unique(sup * 100 + mat)
        k = int(np.clip(self.n_lots // 100000 + 3, 3, 10)) - 1
        chosen = rng.choice(pairs, min(k, len(pairs)), replace=False)
        p_sup = int(self.lot_sup[self.planted_lot])
        p_mat = int(self.lot_mat[self.planted_lot])
        rows = []
        eff = int(self.lot_created[self.planted_lot]) - int(rng.integers(3 * DAY, 20 * DAY))
        notified = max(eff - int(rng.integers(20 * DAY, 60 * DAY)), T0 + 6 * HOUR)
        eff = max(eff, notified + DAY)
        rows.append(
            (
                p_sup,
                p_mat,
                notified,
                eff,
                "Change of route of synthesis: new starting material vendor",
            )
        )
        texts = (
            "Relocation of manufacturing to a new building at the same site",
            "New packaging: 200 L HDPE drums replace steel drums",
            "Change of analytical method for assay, HPLC replaces titration",
            "Additional production line commissioned",
            "Change of raw material source for the sodium salt",
        )
        for c in chosen:
            s, m = int(c) // 100, int(c) % 100
            notified = int(rng.integers(T0 + 30 * DAY, T_END - 60 * DAY))
            lead = int(rng.integers(30 * DAY, 90 * DAY))
            rows.append(
                (
                    s,
                    m if rng.random() < 0.8 else -1,
                    notified,
                    min(notified + lead, T_END - DAY),
                    texts[int(rng.integers(0, len(texts)))],
                )
            )
        rows.sort(key=lambda r: (r[2], r[0]))
        self.scn = rows

    # ---------------------------------------------------------------- documents

    def _documents(self) -> None:
        """Document versions as arrays: kind, doc number within kind, version, created_at,
        created_by, status; documents: kind, owner index (batch / lot / deviation / ...)."""
        rng = self.rng
        d_kind: list[I64] = []
        d_owner: list[I64] = []
        d_first: list[I64] = []  # v1 created_at
        v_doc: list[I64] = []  # doc index (global)
        v_ver: list[I64] = []
        v_at: list[I64] = []
        v_by: list[I64] = []
        v_status: list[I64] = []
        n_docs = 0

        def add(kind: int, owner: I64, times: I64, authors: I64, statuses: I64, nver: I64) -> I64:
            """times/authors/statuses are per version, grouped per document (nver each)."""
            nonlocal n_docs
            nd = len(owner)
            d_kind.append(np.full(nd, kind, dtype=np.int64))
            d_owner.append(owner)
            starts = np.cumsum(nver) - nver
            d_first.append(times[starts])
            gidx = np.arange(n_docs, n_docs + nd, dtype=np.int64)
            v_doc.append(np.repeat(gidx, nver))
            v_ver.append(np.arange(len(times)) - np.repeat(starts, nver) + 1)
            v_at.append(times)
            v_by.append(authors)
            v_status.append(statuses)
            n_docs += nd
            return gidx

        def versions(n: int, p2: float, p3: float) -> I64:
            u = rng.random(n)
            return (1 + (u < p2 + p3) + (u < p3)).astype(np.int64)

        def spread(t0: I64, t1: I64, nver: I64) -> I64:
            """Version times: v1 at t0, later versions spread between t0 and t1."""
            rep0 = np.repeat(t0, nver)
            rep1 = np.repeat(t1, nver)
            vno = np.arange(int(nver.sum())) - np.repeat(np.cumsum(nver) - nver, nver)
            frac = vno / np.repeat(nver, nver) * 0.8 + np.where(vno > 0, 0.05, 0.0)
            return (rep0 + (rep1 - rep0) * frac).astype(np.int64) + vno * 10 * MINUTE

        def latest_mask(nver: I64) -> BoolA:
            m = np.zeros(int(nver.sum()), dtype=np.bool_)
            m[np.cumsum(nver) - 1] = True
            return m

        # batch records
        bs = np.flatnonzero(self.bat_status != B_PLANNED)
        st = self.bat_status[bs]
        closed = np.isin(st, [B_REL, B_REJ])
        nver = np.where(closed | (st == B_REVIEW), versions(len(bs), 0.09, 0.025), 1)
        t0 = np.where(self.bat_complete[bs] >= 0, self.bat_complete[bs], self.bat_start[bs])
        t0 = t0 + rng.integers(10 * MINUTE, 3 * HOUR, len(bs))
        t0 = np.minimum(t0, T_END - 30 * MINUTE)
        t1 = np.where(closed, self.bat_release[bs] - 6 * HOUR, T_END - 2 * HOUR)
        t1 = np.maximum(t1, t0)
        times = spread(t0, t1, nver)
        latest = latest_mask(nver)
        stat_latest = np.select([closed, st == B_REVIEW], [APPROVED, IN_REVIEW], DRAFT)
        statuses = np.where(latest, np.repeat(stat_latest, nver), SUPERSEDED)
        authors = self.person(OPERATOR, np.repeat(self.bat_site[bs], nver))
        self.br_docs = add(BR, bs, times, authors, statuses, nver)
        # CoAs
        coa = self.coa_lots
        nver = versions(len(coa), 0.02, 0.0)
        t0 = self.lot_created[coa] + rng.integers(HOUR, 8 * HOUR, len(coa))
        t0 = np.minimum(t0, T_END - 30 * MINUTE)
        t1 = np.minimum(t0 + 20 * DAY, T_END - HOUR)
        times = spread(t0, np.maximum(t1, t0), nver)
        latest = latest_mask(nver)
        statuses = np.where(latest, APPROVED, SUPERSEDED)
        authors = self.person(QC, np.repeat(self.lot_origin[coa], nver))
        self.coa_docs = add(COA, coa, times, authors, statuses, nver)
        # QC reports of final lots
        ql = self.qcr_lots
        ones = np.ones(len(ql), dtype=np.int64)
        self.qcr_docs = add(
            QCR,
            ql,
            self.qcr_at.astype(np.int64),
            self.person(QC, self.lot_origin[ql]),
            np.full(len(ql), APPROVED, dtype=np.int64),
            ones,
        )
        # deviation reports and CAPAs
        nd = len(self.dev_kind)
        has_dr = rng.random(nd) < 0.75
        dr = np.flatnonzero(has_dr)
        nver = versions(len(dr), 0.2, 0.05)
        t0 = np.minimum(
            self.dev_opened[dr] + rng.integers(HOUR, 3 * DAY, len(dr)), T_END - 30 * MINUTE
        )
        t1 = np.where(self.dev_closed[dr] >= 0, self.dev_closed[dr] - HOUR, T_END - HOUR)
        times = spread(t0, np.maximum(t1, t0), nver)
        latest = latest_mask(nver)
        dsite = np.where(
            self.dev_batch[dr] >= 0,
            self.bat_site[self.dev_batch[dr]],
            self.lot_site[self.hold_lots[np.maximum(self.dev_hold[dr], 0)]],
        )
        stat_latest = np.where(self.dev_closed[dr] >= 0, APPROVED, IN_REVIEW)
        statuses = np.where(latest, np.repeat(stat_latest, nver), SUPERSEDED)
        self.dr_docs = add(DR, dr, times, self.person(QA, np.repeat(dsite, nver)), statuses, nver)
        self.dr_site = dsite
        capa = np.flatnonzero((self.dev_sev >= 1) & (self.dev_closed >= 0) & (rng.random(nd) < 0.6))
        nver = versions(len(capa), 0.25, 0.0)
        t0 = self.dev_closed[capa] - rng.integers(DAY, 5 * DAY, len(capa))
        t0 = np.maximum(t0, self.dev_opened[capa] + HOUR)
        times = spread(t0, self.dev_closed[capa], nver)
        latest = latest_mask(nver)
        csite = np.where(
            self.dev_batch[capa] >= 0,
            self.bat_site[self.dev_batch[capa]],
            self.lot_site[self.hold_lots[np.maximum(self.dev_hold[capa], 0)]],
        )
        statuses = np.where(latest, APPROVED, SUPERSEDED)
        self.capa_docs = add(
            CAPA, capa, times, self.person(QA, np.repeat(csite, nver)), statuses, nver
        )
        # SOPs: equipment cleaning SOPs and material handling SOPs
        n_eq = len(self.eq_site)
        eq_pick = np.sort(rng.choice(n_eq, min(n_eq, 12 + n_eq // 10), replace=False))
        mat_pick = np.arange(N_PURCHASED_MATS, dtype=np.int64)
        sop_owner_kind = np.r_[np.full(len(eq_pick), T_EQ), np.full(len(mat_pick), T_MAT)]
        sop_owner = np.r_[eq_pick, mat_pick].astype(np.int64)
        nsop = len(sop_owner)
        nver = (1 + rng.integers(0, 4, nsop)).astype(np.int64)
        t0 = T0 - 0 + rng.integers(2 * HOUR, 10 * DAY, nsop)
        t1 = T_END - rng.integers(5 * DAY, 60 * DAY, nsop)
        times = spread(t0, t1, nver)
        latest = latest_mask(nver)
        statuses = np.where(latest, APPROVED, SUPERSEDED)
        ssite = np.where(
            sop_owner_kind == T_EQ, np.array(self.eq_site)[np.minimum(sop_owner, n_eq - 1)], A
        )
        self.sop_docs = add(
            SOP,
            np.arange(nsop, dtype=np.int64),
            times,
            self.person(QA, np.repeat(ssite, nver)),
            statuses,
            nver,
        )
        self.sop_owner_kind = sop_owner_kind
        self.sop_owner = sop_owner
        self.sop_site = ssite
        # supplier change notices
        ns = len(self.scn)
        t = np.array([r[2] for r in self.scn], dtype=np.int64) + rng.integers(HOUR, DAY, ns)
        self.scn_docs = add(
            SCN,
            np.arange(ns, dtype=np.int64),
            t,
            self.person(SUPPLY_CHAIN, np.zeros(ns, dtype=np.int64)),
            np.full(ns, APPROVED, dtype=np.int64),
            np.ones(ns, dtype=np.int64),
        )
        cat = np.concatenate
        self.doc_kind = cat(d_kind)
        self.doc_owner = cat(d_owner)
        self.doc_first = cat(d_first)
        self.ver_doc = cat(v_doc)
        self.ver_no = cat(v_ver)
        self.ver_at = cat(v_at)
        self.ver_by = cat(v_by)
        self.ver_status = cat(v_status)
        # document numbers within kind, in order of first version
        self.doc_no = np.zeros(len(self.doc_kind), dtype=np.int64)
        for k in range(len(DOC_KINDS)):
            sel = np.flatnonzero(self.doc_kind == k)
            order = sel[np.lexsort((sel, self.doc_first[sel]))]
            self.doc_no[order] = np.arange(1, len(order) + 1)

    def _signatures(self) -> None:
        rng = self.rng
        kind = self.doc_kind[self.ver_doc]
        owner = self.doc_owner[self.ver_doc]
        latest = np.r_[self.ver_doc[1:] != self.ver_doc[:-1], True]
        at = self.ver_at
        s_ver: list[I64] = []
        s_by: list[I64] = []
        s_mean: list[I64] = []
        s_at: list[I64] = []

        def sign(sel: I64, role: int, site: I64, meaning: int, when: I64) -> None:
            ok = when <= T_END - MINUTE
            s_ver.append(sel[ok])
            s_by.append(self.person(role, site[ok]))
            s_mean.append(np.full(int(ok.sum()), meaning, dtype=np.int64))
            s_at.append(when[ok])

        def r(sel: I64, lo: int, hi: int) -> I64:
            return rng.integers(lo, hi, len(sel)).astype(np.int64)

        def r_flow(gen: np.random.Generator, sel: I64, lo: int, hi: int) -> I64:
            return gen.integers(lo, hi, len(sel)).astype(np.int64)

        # batch records
        br = np.flatnonzero(kind == BR)
        b = owner[br]
        site = self.bat_site[b]
        st = self.bat_status[b]
        s_ver.append(br)
        s_by.append(self.ver_by[br])
        s_mean.append(np.full(len(br), AUTHORED, dtype=np.int64))
        s_at.append(at[br] + r(br, 1 * MINUTE, 40 * MINUTE))
        rev = np.isin(st, [B_REVIEW, B_REL, B_REJ]) | ~latest[br]
        sign(br[rev], SUPERVISOR, site[rev], REVIEWED, at[br][rev] + r(br[rev], HOUR, 5 * HOUR))
        fin = latest[br] & np.isin(st, [B_REL, B_REJ])
        rel = self.bat_release[b]
        sign(
            br[fin],
            QA,
            site[fin],
            SIG_APPROVED,
            np.maximum(rel[fin] - r(br[fin], 2 * HOUR, 5 * HOUR), at[br][fin] + 6 * HOUR),
        )
        # batches in review whose record QA approved already: they await release
        flow = np.random.default_rng([self.seed, 14])  # its own stream: the rest is unchanged
        waiting = latest[br] & (st == B_REVIEW) & (flow.random(len(br)) < AWAITING_APPROVED)
        sign(
            br[waiting],
            QA,
            site[waiting],
            SIG_APPROVED,
            at[br][waiting] + r_flow(flow, br[waiting], 6 * HOUR, 2 * DAY),
        )
        ok = fin & (st == B_REL)
        first_release = sum(len(x) for x in s_ver)
        sign(br[ok], QP, site[ok], RELEASED, np.maximum(rel[ok], at[br][ok] + 7 * HOUR))
        releases = np.arange(first_release, sum(len(x) for x in s_ver), dtype=np.int64)
        overrides = releases[flow.random(len(releases)) < OVERRIDE_SHARE]
        ok = fin & (st == B_REJ)
        sign(br[ok], QA, site[ok], SIG_REJECTED, np.maximum(rel[ok], at[br][ok] + 7 * HOUR))
        n_br_sigs = sum(len(x) for x in s_ver)
        # CoAs: verified by QC at the receiving site
        coa = np.flatnonzero(kind == COA)
        sign(coa, QC, self.lot_origin[owner[coa]], VERIFIED, at[coa] + r(coa, HOUR, 3 * DAY))
        # QC reports: authored by QC, approved by QA
        q = np.flatnonzero(kind == QCR)
        qsite = self.lot_origin[owner[q]]
        sign(q, QC, qsite, AUTHORED, at[q] + r(q, MINUTE, HOUR))
        sign(q, QA, qsite, SIG_APPROVED, at[q] + r(q, 2 * HOUR, 5 * HOUR))
        # deviation reports
        d = np.flatnonzero(kind == DR)
        dsite = np.repeat(
            self.dr_site,
            np.bincount(self.ver_doc[d] - self.ver_doc[d].min(), minlength=len(self.dr_site)),
        )
        sign(d, QA, dsite, AUTHORED, at[d] + r(d, MINUTE, HOUR))
        ok = (self.ver_status[d] != IN_REVIEW) | ~latest[d]
        sign(d[ok], SUPERVISOR, dsite[ok], REVIEWED, at[d][ok] + r(d[ok], HOUR, DAY))
        ok = latest[d] & (self.ver_status[d] == APPROVED)
        sign(d[ok], QA, dsite[ok], SIG_APPROVED, at[d][ok] + r(d[ok], 2 * DAY, 4 * DAY) // 4)
        # CAPA, SOP: authored + approved by QA
        for k in (CAPA, SOP):
            v = np.flatnonzero(kind == k)
            site = np.full(len(v), A, dtype=np.int64)
            if k == SOP:
                site = np.asarray(self.sop_site)[owner[v]].astype(np.int64)
            s_ver.append(v)
            s_by.append(self.ver_by[v])
            s_mean.append(np.full(len(v), AUTHORED, dtype=np.int64))
            s_at.append(at[v] + r(v, MINUTE, HOUR))
            sign(v, QA if k == SOP else QP, site, SIG_APPROVED, at[v] + r(v, 2 * HOUR, 20 * HOUR))
        v = np.flatnonzero(kind == SCN)
        sign(v, SUPPLY_CHAIN, np.zeros(len(v), dtype=np.int64), REVIEWED, at[v] + r(v, HOUR, DAY))
        sign(v, QA, np.zeros(len(v), dtype=np.int64), SIG_APPROVED, at[v] + r(v, DAY, 3 * DAY))
        cat = np.concatenate
        sv, sb, sm, sa = cat(s_ver), cat(s_by), cat(s_mean), cat(s_at)
        sa = np.minimum(sa, T_END - MINUTE)
        # tampered: a very few batch record signatures
        n_t = max(1 if self.n_lots >= 500 else 0, len(sv) // 500)
        tampered = np.sort(rng.choice(n_br_sigs, min(n_t, n_br_sigs), replace=False))
        order = np.lexsort((np.arange(len(sv)), sa))
        rank = np.empty_like(order)
        rank[order] = np.arange(len(order))
        self.sig_ver = sv[order]
        self.sig_by = sb[order]
        self.sig_meaning = sm[order]
        self.sig_at = sa[order]
        self.sig_tampered = np.sort(rank[tampered])
        # releases signed over open findings (a signed override): never a tampered one
        self.sig_override = np.setdiff1d(np.sort(rank[overrides]), self.sig_tampered)

    def _override_columns(
        self, n_signatures: int, dev_names: list[str], lot_names: list[str]
    ) -> list[Column]:
        """override_reason and overridden_findings of each signature: empty but for the
        release overrides, whose findings are their batch's deviation (else an input lot
        without a CoA, as QA saw it when signing)."""
        reason_idx = np.full(n_signatures, -1, dtype=np.int64)
        finding_idx = np.full(n_signatures, -1, dtype=np.int64)
        findings: list[str] = []
        dev_of: dict[int, int] = {}
        for d, b in enumerate(self.dev_batch.tolist()):
            if b >= 0:
                dev_of.setdefault(b, d)
        first_input: dict[int, int] = {}
        for b, lot in zip(self.con_batch.tolist(), self.con_lot.tolist(), strict=True):
            first_input.setdefault(b, lot)
        for k, i in enumerate(self.sig_override.tolist()):
            batch = int(self.doc_owner[self.ver_doc[self.sig_ver[i]]])
            if batch in dev_of:
                findings.append(f"deviation_open {dev_names[dev_of[batch]]}")
            else:
                findings.append(f"input_without_coa {lot_names[first_input.get(batch, 0)]}")
            reason_idx[i] = k % len(OVERRIDE_REASONS)
            finding_idx[i] = k
        return [
            _col_take(_strings(list(OVERRIDE_REASONS)), reason_idx),
            _col_take(_strings(findings), finding_idx),
        ]

    # ---------------------------------------------------------------- writing

    def write(self, out: Path) -> PlantSummary:
        rng = self.rng
        out.mkdir(parents=True, exist_ok=True)
        rows: dict[str, int] = {}
        n = self.n_lots

        def style(k: int) -> I64:
            u = rng.random(k)
            return np.where(u < 0.55, 0, np.where(u < 0.85, 1, 2)).astype(np.int64)

        def ts_col(t: I64) -> Column:
            s = style(len(t))
            s[_ambiguous(t) & (s == 0)] = 1
            return _col_ts(t, s)

        # ---- ids
        lot_order = np.lexsort((np.arange(n), self.lot_created))
        lot_seq = np.empty(n, dtype=np.int64)
        lot_seq[lot_order] = np.arange(1, n + 1)
        lot_ids = _ids("L", lot_seq, max(6, len(str(n))), _local_year(self.lot_created))
        nb = len(self.bat_stage)
        b_order = np.lexsort((np.arange(nb), self.bat_start))
        b_seq = np.empty(nb, dtype=np.int64)
        b_seq[b_order] = np.arange(1, nb + 1)
        batch_ids = _ids("B", b_seq, max(6, len(str(nb))), _local_year(self.bat_start))
        sup_ids = _strings([s[0] for s in SUPPLIERS])
        mat_ids = _strings([m.id for m in MATERIALS])
        eq_ids = _strings(self.eq_code)
        site_ids = _strings(list(SITES))
        npp = len(self.p_site)
        people_ids = _ids("U", np.arange(1, npp + 1, dtype=np.int64), max(3, len(str(npp))))
        nd = len(self.dev_kind)
        dev_ids = _ids("DEV", np.arange(1, nd + 1, dtype=np.int64), max(4, len(str(nd))))
        cust_ids = _ids(
            "CUST", np.arange(1, self.n_cust + 1, dtype=np.int64), max(2, len(str(self.n_cust)))
        )
        ndoc = len(self.doc_kind)
        doc_parts = []
        for k in range(len(DOC_KINDS)):
            cnt = int((self.doc_kind == k).sum())
            doc_parts.append((k, max(4, len(str(cnt)))))
        doc_w = max(len(DOC_PREFIX[k]) + 1 + w for k, w in doc_parts)
        doc_ids = np.zeros((ndoc + 1, doc_w), dtype=np.uint8)
        for k, w in doc_parts:
            sel = np.flatnonzero(self.doc_kind == k)
            m = _ids(DOC_PREFIX[k], self.doc_no[sel], w)[:-1]
            doc_ids[sel, : m.shape[1]] = m

        # ---- small master tables
        rows["suppliers.csv"] = _write_rows(
            out / "suppliers.csv",
            ["supplier_id", "name", "country", "status"],
            [[s[0], s[1], s[2], s[3]] for s in SUPPLIERS],
        )
        rows["materials.csv"] = _write_rows(
            out / "materials.csv",
            ["material_id", "name", "kind", "unit"],
            [[m.id, m.name, m.kind, m.unit] for m in MATERIALS],
        )
        rows["equipment.csv"] = _write_rows(
            out / "equipment.csv",
            ["equipment_id", "name", "kind", "site"],
            [
                [
                    self.eq_code[i],
                    f"{self.eq_name[i]} {self.eq_code[i]}",
                    self.eq_kind[i],
                    SITES[self.eq_site[i]],
                ]
                for i in range(len(self.eq_code))
            ],
        )
        people_str = _to_str(people_ids[:-1])
        rows["people.csv"] = _write_rows(
            out / "people.csv",
            ["person_id", "name", "role", "site"],
            [
                [people_str[i], self.p_name[i], ROLES[self.p_role[i]], SITES[self.p_site[i]]]
                for i in range(npp)
            ],
        )
        cust_str = _to_str(cust_ids[:-1])
        rows["customers.csv"] = _write_rows(
            out / "customers.csv",
            ["customer_id", "name", "country"],
            [
                [
                    cust_str[i],
                    self.cust_name[i],
                    "" if i % 17 == 16 else COUNTRIES[int(self.cust_country[i])],
                ]
                for i in range(self.n_cust)
            ],
        )

        # ---- lots
        o = lot_order
        unit_code = np.array([0 if m.unit == "kg" else 1 for m in MATERIALS])
        units = _strings(["kg", "L", "g", "mL"])
        lot_unit = unit_code[self.lot_mat]
        purchased = self.lot_sup >= 0
        shelf = np.where(np.isin(self.lot_mat, [_MAT["MAT-FIN"], _MAT["MAT-API"]]), 730, -1)
        shelf = np.where(purchased, rng.integers(365, 1096, n), shelf)
        shelf[purchased & (rng.random(n) < 0.1)] = -1
        local_days = (self.lot_created + _zurich_offset(self.lot_created)) // DAY
        expiry = np.where(shelf >= 0, local_days + shelf, -1)
        sup_lot_w = 14
        sup_lot = np.zeros((n + 1, sup_lot_w), dtype=np.uint8)
        pidx = np.flatnonzero(purchased)
        if len(pidx):
            # supplier lot numbers: supplier prefix, yymm, running number per supplier
            prefixes = _strings(list(SUPPLIER_LOT_PREFIX))
            sp = self.lot_sup[pidx]
            y, mo, _ = _civil(local_days[pidx])
            porder = np.lexsort((lot_seq[pidx], sp))
            run = np.empty(len(pidx), dtype=np.int64)
            starts = _group_starts(sp[porder])
            counts = np.diff(np.r_[starts, len(porder)])
            run[porder] = np.arange(len(porder)) - np.repeat(starts, counts) + 1001
            m = _hcat(
                [
                    prefixes[sp],
                    _digits(y % 100, 2),
                    _digits(mo, 2),
                    _const("-", len(pidx)),
                    _digits(run, 6),
                ]
            )
            sup_lot[pidx, : m.shape[1]] = m
        self.sup_lot = sup_lot
        on_hand = self.lot_on_hand
        rows["lots.csv"] = _write_matrix(
            out / "lots.csv",
            [
                "lot_id",
                "material_id",
                "supplier_id",
                "supplier_lot",
                "site",
                "quantity",
                "unit",
                "status",
                "created_at",
                "expiry",
                "on_hand",
            ],
            [
                _col_take(lot_ids, o),
                _col_take(mat_ids, self.lot_mat[o]),
                _col_take(sup_ids, self.lot_sup[o]),
                _col_take(sup_lot, np.where(purchased, np.arange(n), -1)[o]),
                _col_take(site_ids, self.lot_site[o]),
                _col_fixed3(self.lot_qty[o]),
                _col_take(units, lot_unit[o]),
                _col_take(_strings(list(LOT_STATUS)), self.lot_status[o]),
                ts_col(self.lot_created[o]),
                _col_date(expiry[o]),
                _col_fixed3(on_hand[o]),
            ],
            n,
        )

        # ---- batches
        bo = b_order
        prod = np.array([s.product for s in STAGES])[self.bat_stage]
        rows["batches.csv"] = _write_matrix(
            out / "batches.csv",
            [
                "batch_id",
                "product_material_id",
                "site",
                "equipment_id",
                "started_at",
                "completed_at",
                "status",
            ],
            [
                _col_take(batch_ids, bo),
                _col_take(mat_ids, prod[bo]),
                _col_take(site_ids, self.bat_site[bo]),
                _col_take(eq_ids, self.bat_eq[bo]),
                ts_col(self.bat_start[bo]),
                ts_col(self.bat_complete[bo]),
                _col_take(_strings(list(BATCH_STATUS)), self.bat_status[bo]),
            ],
            nb,
        )

        # ---- consumptions (by batch, then time), a few in g / mL
        co = np.lexsort((lot_seq[self.con_lot], self.con_at, b_seq[self.con_batch]))
        c_lot = self.con_lot[co]
        c_qty = self.con_qty[co]
        c_unit = lot_unit[c_lot]
        small = (c_qty < 50_000) & (rng.random(len(co)) < 0.15)
        small |= rng.random(len(co)) < 0.004
        c_unit = np.where(small, c_unit + 2, c_unit)
        c_val = np.where(small, c_qty * 1000, c_qty)
        rows["consumptions.csv"] = _write_matrix(
            out / "consumptions.csv",
            ["batch_id", "lot_id", "quantity", "unit", "consumed_at"],
            [
                _col_take(batch_ids, self.con_batch[co]),
                _col_take(lot_ids, c_lot),
                _col_fixed3(c_val),
                _col_take(units, c_unit),
                ts_col(self.con_at[co]),
            ],
            len(co),
        )

        # ---- outputs
        produced = np.flatnonzero(self.lot_batch >= 0)
        po = produced[np.lexsort((lot_seq[produced], b_seq[self.lot_batch[produced]]))]
        rows["outputs.csv"] = _write_matrix(
            out / "outputs.csv",
            ["batch_id", "lot_id", "quantity", "unit"],
            [
                _col_take(batch_ids, self.lot_batch[po]),
                _col_take(lot_ids, po),
                _col_fixed3(self.lot_qty[po]),
                _col_take(units, lot_unit[po]),
            ],
            len(po),
        )

        # ---- shipments
        ns = len(self.sh_no)
        sh_ids = _ids("SH", self.sh_no + 1, max(6, len(str(self.n_ship_groups))))
        rows["shipments.csv"] = _write_matrix(
            out / "shipments.csv",
            ["shipment_id", "lot_id", "customer_id", "quantity", "unit", "shipped_at"],
            [
                _col_take(sh_ids, np.arange(ns, dtype=np.int64)),
                _col_take(lot_ids, self.sh_lot),
                _col_take(cust_ids, self.sh_cust),
                _col_fixed3(self.sh_qty),
                _col_take(units, lot_unit[self.sh_lot]),
                _col_ts_fixed(self.sh_no, self.sh_at, style(self.n_ship_groups)),
            ],
            ns,
        )

        # ---- movements
        mv = np.flatnonzero(self.lot_moved >= 0)
        mv = mv[np.lexsort((lot_seq[mv], self.lot_moved[mv]))]
        mover = self.person(LOGISTICS, self.lot_origin[mv])
        mover[rng.random(len(mv)) < 0.1] = -1
        rows["movements.csv"] = _write_matrix(
            out / "movements.csv",
            ["lot_id", "from_site", "to_site", "quantity", "moved_at", "moved_by"],
            [
                _col_take(lot_ids, mv),
                _col_take(site_ids, self.lot_origin[mv]),
                _col_take(site_ids, self.lot_site[mv]),
                _col_fixed3(self.lot_qty[mv]),
                ts_col(self.lot_moved[mv]),
                _col_take(people_ids, mover),
            ],
            len(mv),
        )

        # ---- documents: the content hash needs each row's text, hashed in a tight loop
        vo = np.lexsort((self.ver_no, self.doc_no[self.ver_doc], self.doc_kind[self.ver_doc]))
        nvo = len(vo)
        v_doc = self.ver_doc[vo]
        v_at_col = ts_col(self.ver_at[vo])  # the same rendering is hashed and written
        doc_str = _to_str(doc_ids[:-1])
        title = self._titles(doc_str, lot_ids, batch_ids, dev_ids, mat_ids, eq_ids, sup_ids)
        joined = "\n".join(title)  # titles go unquoted into CSV and JSON: keep them plain
        assert joined.count("\n") == len(title) - 1 and not any(c in joined for c in ',"\\')
        del joined
        # per document: the part of the canonical JSON after created_by
        tail = [
            f'","document_id":"{did}","kind":"{DOC_KINDS[k]}","title":"{t}","version":'
            for did, k, t in zip(doc_str, self.doc_kind.tolist(), title, strict=True)
        ]
        v_by = self.ver_by[vo]
        v_no = self.ver_no[vo]
        hash_m = np.zeros((nvo + 1, 64), dtype=np.uint8)
        sha = hashlib.sha256
        step = 200_000
        for a in range(0, nvo, step):
            b = min(nvo, a + step)
            hashes = [
                sha(
                    f'{{"created_at":"{at}","created_by":"{by}{tail[d]}{ver}}}'.encode()
                ).hexdigest()
                for at, by, d, ver in zip(
                    _to_str(v_at_col(a, b)),
                    _to_str(people_ids[v_by[a:b]]),
                    v_doc[a:b].tolist(),
                    v_no[a:b].tolist(),
                    strict=True,
                )
            ]
            hash_m[a:b] = _strings(hashes)[:-1]
        del tail
        title_m = _strings(title)
        del title, doc_str
        rows["documents.csv"] = _write_matrix(
            out / "documents.csv",
            [
                "document_id",
                "version",
                "kind",
                "title",
                "content_sha256",
                "created_at",
                "created_by",
                "status",
            ],
            [
                _col_take(doc_ids, v_doc),
                _col_num(v_no),
                _col_take(_strings(list(DOC_KINDS)), self.doc_kind[v_doc]),
                _col_take(title_m, v_doc),
                lambda a, b: hash_m[a:b],
                v_at_col,
                _col_take(people_ids, v_by),
                _col_take(_strings(list(VERSION_STATUS)), self.ver_status[vo]),
            ],
            nvo,
        )
        del title_m
        # version index (original order) -> position in documents.csv
        ver_pos = np.empty(nvo, dtype=np.int64)
        ver_pos[vo] = np.arange(nvo)

        # ---- document links
        lk_doc, lk_kind, lk_target = self._document_links()
        lo = np.lexsort((lk_target, lk_kind, self.doc_no[lk_doc], self.doc_kind[lk_doc]))
        lk_doc, lk_kind, lk_target = lk_doc[lo], lk_kind[lo], lk_target[lo]
        target_mats = [lot_ids, batch_ids, sup_ids, mat_ids, dev_ids, eq_ids]
        rows["document_links.csv"] = _write_matrix(
            out / "document_links.csv",
            ["document_id", "target_kind", "target_id"],
            [
                _col_take(doc_ids, lk_doc),
                _col_take(_strings(list(TARGET_KINDS)), lk_kind),
                _col_pick(target_mats, lk_kind, lk_target),
            ],
            len(lk_doc),
        )

        # ---- signatures
        nsg = len(self.sig_ver)
        sig_w = max(6, len(str(nsg)))
        sig_ids = _ids("SIG", self.sig_tampered + 1, sig_w)
        rec = ver_pos[self.sig_ver]
        fakes: dict[int, U8] = {}
        for t_i in self.sig_tampered.tolist():
            orig = hash_m[rec[t_i]].tobytes().decode()
            fake = _sha(f"tampered:{self.seed}:{t_i}:{orig}")
            fakes[t_i] = np.frombuffer(fake.encode(), dtype=np.uint8)
        tam_ids = _to_str(sig_ids[:-1])

        def record_col(a: int, b: int) -> U8:
            m = hash_m[rec[a:b]]
            for t_i, fake in fakes.items():
                if a <= t_i < b:
                    m[t_i - a] = fake
            return m

        rows["signatures.csv"] = _write_matrix(
            out / "signatures.csv",
            [
                "signature_id",
                "document_id",
                "document_version",
                "signer_id",
                "meaning",
                "signed_at",
                "record_sha256",
                "override_reason",
                "overridden_findings",
            ],
            [
                _col_seq("SIG", sig_w),
                _col_take(doc_ids, self.ver_doc[self.sig_ver]),
                _col_num(self.ver_no[self.sig_ver]),
                _col_take(people_ids, self.sig_by),
                _col_take(_strings(list(MEANINGS)), self.sig_meaning),
                ts_col(self.sig_at),
                record_col,
                *self._override_columns(nsg, _to_str(dev_ids[:-1]), _to_str(lot_ids[:-1])),
            ],
            nsg,
        )

        # ---- deviations
        dev_str = _to_str(dev_ids[:-1])
        op_s = _to_str(ts_col(self.dev_opened)(0, nd))
        cl_s = _to_str(ts_col(self.dev_closed)(0, nd))
        sev_names = ("minor", "major", "critical")
        st_names = ("open", "investigating", "closed")
        rows["deviations.csv"] = _write_rows(
            out / "deviations.csv",
            [
                "deviation_id",
                "severity",
                "category",
                "status",
                "opened_at",
                "closed_at",
                "description",
            ],
            [
                [
                    dev_str[i],
                    sev_names[self.dev_sev[i]],
                    self.dev_cat[i],
                    st_names[self.dev_status[i]],
                    op_s[i],
                    cl_s[i],
                    self.dev_desc[i],
                ]
                for i in range(nd)
            ],
        )
        rows["deviation_links.csv"] = _write_matrix(
            out / "deviation_links.csv",
            ["deviation_id", "target_kind", "target_id"],
            [
                _col_take(dev_ids, self.dl_dev),
                _col_take(_strings(list(TARGET_KINDS)), self.dl_kind),
                _col_pick(target_mats, self.dl_kind, self.dl_target),
            ],
            len(self.dl_dev),
        )

        # ---- test results
        rows["test_results.csv"] = self._write_tests(out, lot_ids, batch_ids, doc_ids, ts_col)

        # ---- supplier changes
        scn_rows = []
        sup_s = [s[0] for s in SUPPLIERS]
        ns2 = len(self.scn)
        nt = _to_str(ts_col(np.array([r[2] for r in self.scn], dtype=np.int64))(0, ns2))
        et = _to_str(ts_col(np.array([r[3] for r in self.scn], dtype=np.int64))(0, ns2))
        for i, (s_i, m_i, _, _, text) in enumerate(self.scn):
            scn_rows.append(
                [
                    f"SCN-{i + 1:04d}",
                    sup_s[s_i],
                    MATERIALS[m_i].id if m_i >= 0 else "",
                    text,
                    nt[i],
                    et[i],
                ]
            )
        rows["supplier_changes.csv"] = _write_rows(
            out / "supplier_changes.csv",
            [
                "change_id",
                "supplier_id",
                "material_id",
                "description",
                "notified_at",
                "effective_at",
            ],
            scn_rows,
        )

        # ---- bundle.json
        def lot_facts(lot: int) -> dict[str, Any]:
            return {
                "analyte": "Impurity B",
                "supplier_lot": _to_str(sup_lot[[lot]])[0],
                "supplier": SUPPLIERS[int(self.lot_sup[lot])][0],
                "material": MATERIALS[int(self.lot_mat[lot])].id,
                "lot": _to_str(lot_ids[[lot]])[0],
            }

        planted = {
            **lot_facts(self.planted_lot),
            "depth": self.impurity_depth,
            "product": MATERIALS[STAGES[self.planted_stage].product].id,
            "units": sorted(_to_str(batch_ids[self.planted_units])),
        }
        drift_stage = int(self.bat_stage[self.drift_units[0]])
        drift = {
            **lot_facts(self.drift_lot),
            "product": MATERIALS[STAGES[drift_stage].product].id,
            "method": METHODS[1],
            "units": sorted(_to_str(batch_ids[self.drift_units])),
        }
        shortfalls = sorted(_to_str(lot_ids[self.shortfall_lots]))
        overrides = _to_str(_ids("SIG", self.sig_override + 1, sig_w)[:-1])
        bundle = {
            "source": f"SYNTH-{self.seed}",
            "timezone": TIMEZONE,
            "exported_at": EXPORTED_AT,
            "synthetic": {
                "seed": self.seed,
                "lots": self.n_lots,
                "planted": planted,
                "drift": drift,
                "mass_balance_shortfalls": shortfalls,
                "tampered_signatures": tam_ids,
                "release_overrides": overrides,
            },
        }
        (out / "bundle.json").write_text(
            json.dumps(bundle, indent=2, sort_keys=True) + "\n", encoding="utf-8"
        )
        size = sum((out / f).stat().st_size for f in [*FILES, "bundle.json"])
        return PlantSummary(
            out=out,
            seed=self.seed,
            lots=n,
            rows=rows,
            planted=planted,
            mass_balance_shortfalls=shortfalls,
            tampered_signatures=tam_ids,
            release_overrides=overrides,
            bytes_written=size,
            drift=drift,
        )

    def _titles(
        self,
        doc_str: list[str],
        lot_ids: U8,
        batch_ids: U8,
        dev_ids: U8,
        mat_ids: U8,
        eq_ids: U8,
        sup_ids: U8,
    ) -> list[str]:
        nd = len(self.doc_kind)
        titles = [""] * nd
        for k in range(len(DOC_KINDS)):
            sel = np.flatnonzero(self.doc_kind == k)
            own = self.doc_owner[sel]
            if k == BR:
                names = _to_str(batch_ids[own])
                tt = [f"Batch record {x}" for x in names]
            elif k == COA:
                names = _to_str(self.sup_lot[own])
                mats = [MATERIALS[int(m)].name for m in self.lot_mat[own]]
                tt = [f"Certificate of analysis {x} {m}" for x, m in zip(names, mats, strict=True)]
            elif k == QCR:
                tt = [f"Release QC report {x}" for x in _to_str(lot_ids[own])]
            elif k == DR:
                tt = [f"Deviation report {x}" for x in _to_str(dev_ids[own])]
            elif k == CAPA:
                tt = [f"CAPA plan {x}" for x in _to_str(dev_ids[own])]
            elif k == SOP:
                tt = []
                for o in own:
                    if self.sop_owner_kind[o] == T_EQ:
                        tt.append(f"Cleaning and changeover of {self.eq_code[self.sop_owner[o]]}")
                    else:
                        tt.append(f"Handling and storage of {MATERIALS[self.sop_owner[o]].name}")
            else:
                tt = [f"Supplier change notice SCN-{int(o) + 1:04d}" for o in own]
            for i, t in zip(sel, tt, strict=True):
                titles[int(i)] = t
        return titles

    def _document_links(self) -> tuple[I64, I64, I64]:
        dk, own = self.doc_kind, self.doc_owner
        ld: list[I64] = []
        lk: list[I64] = []
        lt: list[I64] = []

        def add(docs: I64, kind: int, targets: I64) -> None:
            ok = targets >= 0
            ld.append(docs[ok])
            lk.append(np.full(int(ok.sum()), kind, dtype=np.int64))
            lt.append(targets[ok])

        br = np.flatnonzero(dk == BR)
        add(br, T_BATCH, own[br])
        coa = np.flatnonzero(dk == COA)
        add(coa, T_LOT, own[coa])
        q = np.flatnonzero(dk == QCR)
        add(q, T_LOT, own[q])
        dr = np.flatnonzero(dk == DR)
        add(dr, T_DEV, own[dr])
        add(dr, T_BATCH, self.dev_batch[own[dr]])
        cp = np.flatnonzero(dk == CAPA)
        add(cp, T_DEV, own[cp])
        sop = np.flatnonzero(dk == SOP)
        okind = self.sop_owner_kind[own[sop]]
        add(sop[okind == T_EQ], T_EQ, self.sop_owner[own[sop]][okind == T_EQ])
        add(sop[okind == T_MAT], T_MAT, self.sop_owner[own[sop]][okind == T_MAT])
        scn = np.flatnonzero(dk == SCN)
        add(scn, T_SUP, np.array([self.scn[int(o)][0] for o in own[scn]], dtype=np.int64))
        add(scn, T_MAT, np.array([self.scn[int(o)][1] for o in own[scn]], dtype=np.int64))
        cat = np.concatenate
        return cat(ld), cat(lk), cat(lt)

    def _write_tests(
        self, out: Path, lot_ids: U8, batch_ids: U8, doc_ids: U8, ts_col: Callable[[I64], Column]
    ) -> int:
        blocks = self.tr_blocks
        # remap per-block document indices to global documents
        doc_maps = [None, self.qcr_docs, self.coa_docs]
        cols = [list(x) for x in zip(*blocks, strict=True)]
        docs = []
        for bi, blk in enumerate(blocks):
            dmap = doc_maps[bi]
            docs.append(blk[9] if dmap is None else dmap[blk[9]])
        self.tr_blocks = []
        del blocks
        kind, target, analyte, value, unit, lower, upper, method, at = (
            np.concatenate(c) for c in cols[:9]
        )
        del cols
        doc = np.concatenate(docs)
        del docs
        analyte_names = _strings(list(ANALYTES))
        order = np.lexsort((analyte, target, kind, at))
        kind, target, analyte, value, unit, lower, upper, method, at, doc = (
            x[order] for x in (kind, target, analyte, value, unit, lower, upper, method, at, doc)
        )
        n = len(order)
        del order
        return _write_matrix(
            out / "test_results.csv",
            [
                "result_id",
                "target_kind",
                "target_id",
                "analyte",
                "value",
                "unit",
                "lower_limit",
                "upper_limit",
                "method",
                "tested_at",
                "document_id",
            ],
            [
                _col_seq("TR", max(6, len(str(n)))),
                _col_take(_strings(["lot", "batch"]), kind),
                _col_pick([lot_ids, batch_ids], kind, target),
                _col_take(analyte_names, analyte),
                _col_fixed3(value),
                _col_take(_strings(list(TR_UNITS)), unit),
                _col_fixed3(lower),
                _col_fixed3(upper),
                _col_take(_strings(list(METHODS)), method),
                ts_col(at),
                _col_take(doc_ids, doc),
            ],
            n,
        )


def _col_ts_fixed(group: I64, t: I64, group_style: I64) -> Column:
    """Timestamps where rows of one group (a shipment) share one rendering."""
    s = group_style[group].copy()
    s[_ambiguous(t) & (s == 0)] = 1
    return _col_ts(t, s)


def generate_plant(lots: int, seed: int, out: Path, impurity_depth: int = 1) -> PlantSummary:
    """Write a synthetic plant with exactly ``lots`` lots as a canonical bundle in ``out``;
    its planted impurity cause is ``impurity_depth`` (1, 2 or 3) generations upstream of the
    flagged batches."""
    if lots < MIN_LOTS:
        raise ValueError(f"lots must be at least {MIN_LOTS}, got {lots}")
    if impurity_depth not in IMPURITY_DEPTHS:
        raise ValueError(f"impurity_depth must be 1, 2 or 3, got {impurity_depth}")
    plant = _Plant(lots, seed, impurity_depth)
    plant.build()
    return plant.write(Path(out))


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Write a synthetic plant as a canonical bundle.")
    p.add_argument("--lots", type=int, required=True)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--impurity-depth", type=int, choices=IMPURITY_DEPTHS, default=1)
    a = p.parse_args(argv)
    s = generate_plant(a.lots, a.seed, a.out, a.impurity_depth)
    print(
        json.dumps(
            {
                "out": str(s.out),
                "lots": s.lots,
                "rows": s.rows,
                "planted": s.planted,
                "drift": s.drift,
                "bytes": s.bytes_written,
            },
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
