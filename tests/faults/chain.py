"""What every fault test checks of a store after the fault: the audit chain verifies and
covers every stored row, by the store's verification and by `lotgraph audit verify`."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from graph.audit_chain import verify_store
from graph.digest import coverage
from graph.store import GraphStore


def audit_seq(store: GraphStore) -> int:
    """The sequence number of the chain's last entry (0 for none): it grows with each
    committed write, so a test waits on it for a write to have happened."""
    head = store.audit_head()
    return head.seq if head else 0


def assert_covered(store: GraphStore) -> None:
    """The chain verifies, and every stored node and relationship is covered by it."""
    write_ids: set[str] = set()
    result = verify_store(store, write_ids=write_ids)
    assert result.ok, result.as_dict()
    covered = coverage(store, write_ids)
    assert (covered.uncovered, covered.uncovered_rows) == (0, [])


def assert_cli_verifies(env: dict[str, str]) -> None:
    """`lotgraph audit verify --json` on the store ``env`` names (served.store_env): ok,
    nothing uncovered."""
    verified = subprocess.run(
        [sys.executable, "-m", "lotgraph", "audit", "verify", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    answer: dict[str, Any] = json.loads(verified.stdout)
    assert verified.returncode == 0 and answer["ok"], verified.stdout + verified.stderr
    assert answer["coverage"]["uncovered"] == 0
