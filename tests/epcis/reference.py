"""Where the third-party EPCIS reference files are (shared/reference/epcis beside the repo).

They are read in place, not copied: the GS1 files carry no open licence (SOURCES.md there).
When the folder is missing a test that needs it is skipped on a developer's machine and
fails in CI, where it must be there.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
_CANDIDATES = (
    REPO.parent / "shared" / "reference" / "epcis",
    Path("/work/shared/reference/epcis"),
)
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def find_reference_dir() -> Path | None:
    """The reference folder, or None (for collecting tests: never skips)."""
    return next((c for c in _CANDIDATES if (c / "SOURCES.md").is_file()), None)


def reference_dir() -> Path:
    """The reference folder; skips the calling test (fails it in CI) when it is missing."""
    found = find_reference_dir()
    if found is not None:
        return found
    message = "EPCIS reference files not found at " + " or ".join(map(str, _CANDIDATES))
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)
