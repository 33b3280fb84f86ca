"""Where the EPCIS reference data is (../shared/reference/epcis, SOURCES.md there).

Its GS1 files (the JSON schema, the XSDs, the examples) carry no open licence, so they are
read from beside the repository, never copied into it. When the folder is missing, the
tests that need it skip locally and fail in CI (``CI=true``): CI must have it.
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
    """The reference folder; skips the calling test (fails it in CI) when it is missing."""
    for candidate in _CANDIDATES:
        if (candidate / "SOURCES.md").is_file():
            return candidate
    reason = "EPCIS reference data not found at " + " or ".join(map(str, _CANDIDATES))
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)
