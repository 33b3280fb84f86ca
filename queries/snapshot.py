"""One snapshot per investigation: every read of an answer sees the same committed graph.

An investigation is many reads (a trace, then quantities, then documents...). Run apart,
an ingest committing a chunk between two of them gives an answer mixing the graph before
and after it; run inside ``GraphStore.read_snapshot`` they see one state (DESIGN §5).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Concatenate, ParamSpec, TypeVar

from graph.store import GraphStore

P = ParamSpec("P")
T = TypeVar("T")


def one_snapshot(
    investigation: Callable[Concatenate[GraphStore, P], T],
) -> Callable[Concatenate[GraphStore, P], T]:
    """Run ``investigation(store, ...)`` in one read snapshot of ``store`` (nested calls
    join the outer one, so investigations built of others stay one snapshot)."""

    @wraps(investigation)
    def in_one_snapshot(store: GraphStore, /, *args: P.args, **kwargs: P.kwargs) -> T:
        return store.read_snapshot(lambda: investigation(store, *args, **kwargs))

    return in_one_snapshot
