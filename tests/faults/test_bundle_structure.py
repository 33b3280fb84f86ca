"""A bundle refused for its structure or its size writes nothing, on both stores.

Each fault is made in a copy of a generated plant whose suppliers all carry new names, so
that an ingest which wrote anything before refusing would change the store's content
digest (suppliers.csv is the first file loaded). The store holds the plant already, and
its ``content_sha256`` and audit trail must be the same after the refusal. The error
names every problem by file, physical line and reason.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from graph.store import GraphStore
from ingest.bundle import BundleError, BundleLimits, BundleTooLarge
from ingest.loader import ingest_bundle
from ingest.synthetic import MIN_LOTS, generate_plant
from tests.bundles import (
    add_column,
    append_text,
    copy_bundle,
    line_count,
    rename_suppliers,
    zip_bomb,
    zip_bundle,
    zip_with_members,
)

REPO = Path(__file__).resolve().parents[2]
SEED = random.randrange(1_000_000)
print(f"tests/faults/test_bundle_structure.py: plant seed {SEED}")  # to replay a failure


@pytest.fixture(scope="module")
def plant(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate_plant(lots=MIN_LOTS, seed=SEED, out=tmp_path_factory.mktemp("plant")).out


@pytest.fixture
def loaded(store: GraphStore, plant: Path) -> GraphStore:
    ingest_bundle(store, plant, actor="test")
    return store


@pytest.fixture
def spoilable(plant: Path, tmp_path: Path) -> Path:
    """A copy of the plant with pending changes (new supplier names) to spoil."""
    folder = copy_bundle(plant, tmp_path / "spoiled")
    rename_suppliers(folder)
    return folder


def _snapshot(store: GraphStore) -> tuple[str, int]:
    return store.content_sha256(), len(store.audit_entries())


def refused(
    store: GraphStore,
    path: Path,
    limits: BundleLimits | None = None,
    within_seconds: float | None = None,
) -> BundleError:
    """Ingest ``path``, which must be refused whole (within ``within_seconds`` of starting
    the ingest, when given); the store must be as before."""
    before = _snapshot(store)
    started = time.perf_counter()
    with pytest.raises(BundleError) as caught:
        ingest_bundle(store, path, actor="test", limits=limits)
    seconds = time.perf_counter() - started
    if within_seconds is not None:
        assert seconds < within_seconds, f"refused after {seconds:.2f} s"
    assert _snapshot(store) == before, f"a refused bundle wrote something: {caught.value}"
    return caught.value


def assert_names(error: BundleError, file: str, line: int | None, reason: str) -> None:
    assert any(p.file == file and p.line == line and reason in p.reason for p in error.problems), (
        f"no problem ({file}, line {line}, ...{reason}...) in: {error.problems}"
    )


# Each fault: spoil the folder, return the problem it must be refused with.
Spoil = Callable[[Path], tuple[str, int | None, str]]


def _unterminated_quote(folder: Path) -> tuple[str, int | None, str]:
    # as many fields as the header, the last one's quote never closed: a lenient reader
    # takes the rest of the file as that field
    line = append_text(
        folder / "lots.csv", 'L-NEVER,MAT-X,,,SITE-A,1,kg,released,2026-01-01T00:00:00Z,,"0'
    )
    return "lots.csv", line, f"ends inside a quoted field opened on line {line}"


def _text_after_quote(folder: Path) -> tuple[str, int | None, str]:
    line = append_text(folder / "batches.csv", 'B-X,"MAT-I"x,SITE-A,,2026-01-01,,planned\n')
    return "batches.csv", line, "text after the closing quote"


def _duplicated_header(folder: Path) -> tuple[str, int | None, str]:
    add_column(folder / "lots.csv", "site", "SITE-B")
    return "lots.csv", 1, "column 'site' appears twice"


def _unnamed_column(folder: Path) -> tuple[str, int | None, str]:
    add_column(folder / "equipment.csv", "", "")
    columns = (folder / "equipment.csv").read_text(encoding="utf-8").splitlines()[0].count(",")
    return "equipment.csv", 1, f"column {columns + 1} of the header has no name"


def _ragged_record(folder: Path) -> tuple[str, int | None, str]:
    line = append_text(folder / "consumptions.csv", "B-1,L-1,3\n")
    return "consumptions.csv", line, "the record has 3 fields, the header has 5"


def _not_utf8(folder: Path) -> tuple[str, int | None, str]:
    path = folder / "materials.csv"
    lines = path.read_bytes().split(b"\n")
    spoiled = random.Random(SEED).randrange(1, len(lines) - 1)  # a record, not the header
    lines[spoiled] = lines[spoiled].replace(b",", b",\xff", 1)
    path.write_bytes(b"\n".join(lines))
    return "materials.csv", spoiled + 1, "not UTF-8"


def _unknown_file(folder: Path) -> tuple[str, int | None, str]:
    (folder / "notes.csv").write_text("note\nhello\n", encoding="utf-8")
    return "notes.csv", None, "not a file of the bundle format"


def _sub_folder(folder: Path) -> tuple[str, int | None, str]:
    (folder / "old").mkdir()
    (folder / "old" / "lots.csv").write_bytes((folder / "lots.csv").read_bytes())
    return "old/", None, "a sub-folder"


# In an order that lets all be made in one folder: a column is added (the file rewritten)
# before a record is appended to the same file.
FAULTS: dict[str, Spoil] = {
    "duplicated header": _duplicated_header,
    "unterminated quote": _unterminated_quote,
    "text after a closing quote": _text_after_quote,
    "unnamed header column": _unnamed_column,
    "ragged record": _ragged_record,
    "not UTF-8": _not_utf8,
    "unknown file": _unknown_file,
    "sub-folder": _sub_folder,
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_a_structural_fault_refuses_the_whole_bundle(
    loaded: GraphStore, spoilable: Path, fault: str
) -> None:
    file, line, reason = FAULTS[fault](spoilable)
    error = refused(loaded, spoilable)
    assert not isinstance(error, BundleTooLarge)
    assert_names(error, file, line, reason)


def test_every_problem_of_a_bundle_is_named_at_once(loaded: GraphStore, spoilable: Path) -> None:
    expected = [spoil(spoilable) for spoil in FAULTS.values()]
    error = refused(loaded, spoilable)
    for file, line, reason in expected:
        assert_names(error, file, line, reason)
    assert len(error.problems) == len(expected), error.problems


def test_the_same_bundle_unspoilt_loads_the_pending_changes(
    loaded: GraphStore, spoilable: Path
) -> None:
    """The refusals above are the fault's, not the spoilt copy's: unspoilt, it loads."""
    before = loaded.content_sha256()
    report = ingest_bundle(loaded, spoilable, actor="test")
    assert report.files["suppliers.csv"].updated == report.files["suppliers.csv"].rows_read > 0
    assert loaded.content_sha256() != before


@pytest.mark.parametrize(
    ("member", "reason"),
    [
        ("../lots.csv", "'..'"),
        ("/etc/lots.csv", "absolute path"),
        ("plant/lots.csv", "sub-folder"),
        ("readme.txt", "not a file of the bundle format"),
    ],
)
def test_a_zip_member_outside_the_top_level_or_unknown_refuses_the_bundle(
    loaded: GraphStore, spoilable: Path, tmp_path: Path, member: str, reason: str
) -> None:
    path = zip_with_members(spoilable, tmp_path / "odd.zip", {member: b"lot_id\nL-1\n"})
    assert_names(refused(loaded, path), member, None, reason)


def test_a_zip_bomb_is_refused_from_its_declared_sizes_in_under_a_second(
    loaded: GraphStore, tmp_path: Path
) -> None:
    bomb = zip_bomb(tmp_path / "bomb.zip", rows=500_000)
    info = zipfile.ZipFile(bomb).getinfo("lots.csv")
    assert info.compress_size < 50_000 < 5_000_000 < info.file_size  # what makes it a bomb
    error = refused(loaded, bomb, within_seconds=1.0)
    assert isinstance(error, BundleTooLarge)
    assert error.setting == "LOTGRAPH_MAX_COMPRESSION_RATIO"
    assert_names(error, "lots.csv", None, "times its compressed size")


def test_declared_sizes_that_lie_are_caught_while_reading(
    loaded: GraphStore, tmp_path: Path
) -> None:
    """A central directory that understates a member's size (so that the ratio looks
    harmless) is refused as the bytes are read, never expanded beyond what it declares."""
    bomb = zip_bomb(tmp_path / "bomb.zip", rows=500_000)
    data = bytearray(bomb.read_bytes())
    with zipfile.ZipFile(bomb) as zf:
        info = zf.getinfo("lots.csv")
    honest = info.file_size.to_bytes(4, "little")
    # the size in the local header and in the central directory: claim 1/1000 of it
    lie = (info.file_size // 1000).to_bytes(4, "little")
    assert data.count(honest) >= 1
    liar = tmp_path / "liar.zip"
    liar.write_bytes(bytes(data).replace(honest, lie))
    error = refused(loaded, liar, within_seconds=1.0)
    assert any(p.file == "lots.csv" for p in error.problems), error.problems


def test_the_row_limit_is_counted_while_reading(loaded: GraphStore, plant: Path) -> None:
    rows = sum(line_count(p) - 1 for p in plant.glob("*.csv"))
    limits = BundleLimits(max_rows=rows // 2)
    error = refused(loaded, plant, limits=limits)
    assert isinstance(error, BundleTooLarge) and error.setting == "LOTGRAPH_MAX_BUNDLE_ROWS"
    ingest_bundle(loaded, plant, actor="test", limits=BundleLimits(max_rows=rows))


def test_the_uncompressed_size_limit_counts_every_file(
    loaded: GraphStore, spoilable: Path, tmp_path: Path
) -> None:
    limit_mb = 1
    # a valid extra column (kept as a property) of random text, so that the bundle is
    # larger than the limit but compresses no better than text does
    rng = random.Random(SEED)
    remark = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz ") for _ in range(8_000))
    add_column(spoilable / "lots.csv", "remark", remark)
    size = sum(p.stat().st_size for p in spoilable.glob("*.csv"))
    assert size > limit_mb * 1024 * 1024, "the bundle is too small for this test"
    for path in (spoilable, zip_bundle(spoilable, tmp_path / "plant.zip")):
        error = refused(loaded, path, limits=BundleLimits(max_uncompressed_mb=limit_mb))
        assert isinstance(error, BundleTooLarge)
        assert error.setting == "LOTGRAPH_MAX_UNCOMPRESSED_MB"
        assert "more than 1 MB" in str(error)


def test_the_cli_exits_2_printing_each_problem(spoilable: Path, tmp_path: Path) -> None:
    expected = [_duplicated_header(spoilable), _unterminated_quote(spoilable)]
    done = subprocess.run(
        [sys.executable, "-m", "lotgraph", "ingest", str(spoilable), "--json"],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={
            **os.environ,
            "LOTGRAPH_DATA_DIR": str(tmp_path / "data"),
            "LOTGRAPH_STORE": "embedded",
        },
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    body = json.loads(done.stdout)
    assert body["error"] == "bad_request"
    assert len(body["problems"]) == len(expected)
    for file, line, reason in expected:
        assert f"{file} line {line}: " in done.stderr
        assert any(
            (p["file"], p["line"]) == (file, line) and reason in p["reason"]
            for p in body["problems"]
        ), body
    assert not (tmp_path / "data" / "graph.sqlite").exists() or "Lot" not in done.stdout
