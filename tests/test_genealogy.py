"""The genealogy as numbered arrays and the walks over it, on graphs small enough to check
by eye."""

from __future__ import annotations

import numpy as np
import pytest

from graph.genealogy import Genealogy
from queries.genealogy_walk import GenealogyCycle, walk_of


def _genealogy(consumed: list[tuple[str, str]], produced: list[tuple[str, str]]) -> Genealogy:
    return Genealogy.from_pairs(
        1,
        {"Lot": ["L1", "L2", "L3"], "Batch": ["B1", "B2"]},
        consumed=consumed,
        produced=produced,
        supplied=[("S1", "L1")],
        of_material=[("L1", "M1")],
        ran_on=[("B1", "R1"), ("B1", "R1")],
    )


def test_numbers_follow_ids_and_parallel_relationships_are_one_link() -> None:
    # L9 is in no node list: it is numbered all the same (between L3 and nothing after)
    g = _genealogy([("L1", "B1"), ("L1", "B1"), ("L9", "B2")], [("B1", "L2"), ("B2", "L3")])
    assert g.lots == ("L1", "L2", "L3", "L9") and g.batches == ("B1", "B2")
    assert g.lot_index["L9"] == 3
    assert list(zip(g.consumed.src.tolist(), g.consumed.dst.tolist(), strict=True)) == [
        (0, 0),
        (3, 1),
    ]
    assert len(g.ran_on) == 1 and g.suppliers == ("S1",) and g.equipment == ("R1",)


def test_levels_and_walks_both_ways() -> None:
    # L1 -> B1 -> L2 -> B2 -> L3, and L1 also straight into B2 (a diamond)
    g = _genealogy([("L1", "B1"), ("L2", "B2"), ("L1", "B2")], [("B1", "L2"), ("B2", "L3")])
    walk = walk_of(g)
    b1, b2 = walk.batch_node(0), walk.batch_node(1)
    assert walk.level.tolist() == [0, 2, 4, 1, 3]  # L1 L2 L3 B1 B2
    back = walk.backward(np.array([0]), np.array([b2]))
    depth = dict(zip(back.nodes.tolist(), back.depths.tolist(), strict=True))
    # B2's inputs L2 and L1 are one generation up; L1 is reached twice, kept once, nearest
    assert depth == {b2: 0, 1: 1, 0: 1, b1: 1}
    units = np.full(walk.n, -1)
    units[[b1, b2]] = 0
    assert walk.forward_counts(np.array([0, 1]), units, 1).tolist() == [[2], [1]]


def test_a_cycle_is_refused_naming_its_lots() -> None:
    g = _genealogy([("L1", "B1"), ("L2", "B2")], [("B1", "L2"), ("B2", "L1")])
    with pytest.raises(GenealogyCycle, match="L1, L2"):
        walk_of(g)
