"""Load the Cypher kept in ``graph/cypher`` and ``queries/`` and fill in model names.

Labels and relationship types cannot be query parameters, so templates name them as
``{{label}}``-style slots; only names of the graph model (checked here) ever fill a slot.
Every value stays a ``$parameter``.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from graph.model import Label, RelType

if TYPE_CHECKING:
    from graph.store import Shape

_SLOT = re.compile(r"\{\{(\w+)\}\}")
_HERE = Path(__file__).parent / "cypher"


@cache
def read_cypher(name: str, folder: Path = _HERE) -> str:
    return (folder / f"{name}.cypher").read_text(encoding="utf-8")


@cache
def render(name: str, folder: Path = _HERE, **names: str) -> str:
    """The template with each slot filled by a model label or relationship type."""
    allowed = {str(x) for x in Label} | {str(x) for x in RelType}
    for slot, value in names.items():
        if value not in allowed:
            raise ValueError(f"{slot}={value!r} is not a label or relationship type of the model")
    text = read_cypher(name, folder)

    def fill(match: re.Match[str]) -> str:
        return f"`{names[match.group(1)]}`"

    return _SLOT.sub(fill, text)


@cache
def paths_query(start: Label, shapes: tuple[Shape, ...], with_nodes: bool) -> str:
    """``paths.cypher`` with one branch per shape, written from model names only."""
    branches = []
    for index, shape in enumerate(shapes):
        pattern = "(n0)"
        for step, hop in enumerate(shape, start=1):
            rel = f"[:`{RelType(hop.rel_type)}`]"
            arrow = f"-{rel}->" if hop.outgoing else f"<-{rel}-"
            pattern += f"{arrow}(n{step}:`{Label(hop.label)}`)"
        names = [f"n{step}" for step in range(len(shape) + 1)]
        match = f"MATCH {pattern} " if shape else ""
        nodes = ", ".join(names[1:] or names) if with_nodes else ""  # the start: by () only
        ids = ", ".join(f"{n}.id" for n in names)
        branches.append(f"{match}RETURN {index} AS shape, [{ids}] AS ids, [{nodes}] AS nodes")
    text = render("paths", start=str(Label(start)))
    return text.replace("  BRANCHES\n", "  " + "\n  UNION ALL\n  ".join(branches) + "\n")
