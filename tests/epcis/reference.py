"""Where the third-party EPCIS reference data is (/work/shared/reference/epcis, SOURCES.md).

Tests that read files which may not be copied into tests/data (gs1-epcis/, schema/) read
them here; when the folder is missing they skip locally and fail in CI (``CI=true``).
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


def reference_dir() -> Path:
    """The reference folder; skips the test (fails it in CI) when it is not there."""
    for candidate in _CANDIDATES:
        if (candidate / "SOURCES.md").is_file():
            return candidate
    message = "EPCIS reference data not found at " + " or ".join(map(str, _CANDIDATES))
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)
