"""Walks over the whole lot genealogy (graph/genealogy.py) for many starting points at once.

Lots and batches are one node space (lot ``i`` is node ``i``, batch ``j`` is node
``len(lots) + j``) joined by CONSUMED_IN (lot -> batch) and PRODUCED (batch -> lot). Every
node gets a topological level (the longest chain of parents above it), and a walk carries
(owner, node) pairs level by level: forward in rising level, backward in falling level.
All parents of a node have lower levels, so by the time the walk reaches a node's level
every path from an owner has arrived and the pair is handled exactly once, without a
visited set. A genealogy with a cycle (a lot made, through other batches, from itself)
has no such levels and is refused with the lots on the cycle named.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from graph.genealogy import Genealogy
from queries.errors import InvalidQuery

Ids = NDArray[np.int64]
_EMPTY = np.zeros(0, dtype=np.int64)
_CHUNK = 2_048  # owners walked together: bounds the pair arrays


class GenealogyCycle(InvalidQuery):
    """The genealogy has a cycle (no lot can be upstream of itself): the walk cannot be
    answered, and the error names the lots so that the data can be corrected."""


@dataclass(frozen=True, slots=True)
class Reached:
    """(owner, node, depth) for every node an owner reaches, each pair once."""

    owners: Ids
    nodes: Ids
    depths: Ids


class Adjacency:
    """Compressed rows: the neighbours of node ``i`` are ``targets[start[i]:start[i + 1]]``."""

    def __init__(self, src: Ids, dst: Ids, n: int) -> None:
        order = np.argsort(src, kind="stable")
        self.targets = dst[order]
        self.start = np.searchsorted(src[order], np.arange(n + 1)).astype(np.int64)
        self.n = n

    def expand(self, owners: Ids, nodes: Ids) -> tuple[Ids, Ids]:
        """(owner, neighbour) for each neighbour of each (owner, node)."""
        first = self.start[nodes]
        counts = self.start[nodes + 1] - first
        total = int(counts.sum())
        if total == 0:
            return _EMPTY, _EMPTY
        offsets = np.repeat(first - np.cumsum(counts) + counts, counts) + np.arange(total)
        return np.repeat(owners, counts), self.targets[offsets]

    def or_over_nodes(self, signatures: NDArray[np.uint64], nodes: Ids) -> NDArray[np.uint64]:
        """For each of ``nodes``: the bitwise or of its neighbours' signatures (0 for none)."""
        out = np.zeros((len(nodes), signatures.shape[1]), dtype=np.uint64)
        counts = self.start[nodes + 1] - self.start[nodes]
        has = np.flatnonzero(counts > 0)
        if len(has):
            _, neighbours = self.expand(has, nodes[has])
            starts = np.r_[0, np.cumsum(counts[has])[:-1]]
            out[has] = np.bitwise_or.reduceat(signatures[neighbours], starts, axis=0)
        return out


class GenealogyWalk:
    """The adjacency and levels of one genealogy (built once per genealogy, see ``walk_of``)."""

    def __init__(self, g: Genealogy) -> None:
        self.g = g
        self.n_lots = n_lots = len(g.lots)
        self.n = n = n_lots + len(g.batches)
        consumed_src, consumed_dst = g.consumed.src, g.consumed.dst + n_lots
        produced_src, produced_dst = g.produced.src + n_lots, g.produced.dst
        src = np.concatenate([consumed_src, produced_src])
        dst = np.concatenate([consumed_dst, produced_dst])
        self.children = Adjacency(src, dst, n)
        self.parents = Adjacency(dst, src, n)
        self.level = self._levels()

    def _levels(self) -> Ids:
        """Kahn's order, a round at a time: a node's level is one more than its highest
        parent's, and a node on a cycle never becomes free."""
        level = np.full(self.n, -1, dtype=np.int64)
        waiting = np.diff(self.parents.start)  # parents not yet levelled
        free = np.flatnonzero(waiting == 0)
        depth = 0
        while len(free):
            level[free] = depth
            _, children = self.children.expand(free, free)
            waiting = waiting - np.bincount(children, minlength=self.n)
            free = np.unique(children[waiting[children] == 0])
            depth += 1
        if (level < 0).any():
            stuck = np.flatnonzero(level < 0)
            lots = [self.g.lots[i] for i in stuck[stuck < self.n_lots][:10]]
            raise GenealogyCycle(f"the genealogy has a cycle through lots {', '.join(lots)}")
        return level

    def lot_node(self, lot: int) -> int:
        return lot

    def batch_node(self, batch: int) -> int:
        return self.n_lots + batch

    def forward_counts(self, starts: Ids, stratum_of_node: Ids, strata: int) -> Ids:
        """For each start node: how many unit nodes of each stratum lie downstream of it
        (``stratum_of_node`` is -1 for a node that is not a unit); shape (starts, strata).
        The start itself is not counted."""
        counts = np.zeros((len(starts), strata), dtype=np.int64)
        for first in range(0, len(starts), _CHUNK):
            chunk = starts[first : first + _CHUNK]
            owners = np.arange(len(chunk), dtype=np.int64)
            reached = self._walk(owners, chunk, forward=True)
            keep = reached.depths > 0
            owners_hit, nodes_hit = reached.owners[keep], reached.nodes[keep]
            stratum = stratum_of_node[nodes_hit]
            unit = stratum >= 0
            flat = np.bincount(
                owners_hit[unit] * strata + stratum[unit], minlength=len(chunk) * strata
            )
            counts[first : first + len(chunk)] = flat.reshape(len(chunk), strata)
        return counts

    def backward(self, owners: Ids, starts: Ids) -> Reached:
        """Every lot and batch upstream of each (owner, start node), with the fewest
        generations to it: a batch's inputs are one generation further than the batch, the
        batches that made a lot are at the lot's generation."""
        return self._walk(owners, starts, forward=False)

    def _walk(self, owners: Ids, starts: Ids, *, forward: bool) -> Reached:
        step = self.children if forward else self.parents
        sign = 1 if forward else -1
        pool_owner, pool_node = owners, starts
        pool_depth = np.zeros(len(starts), dtype=np.int64)
        found: list[tuple[Ids, Ids, Ids]] = []
        width = self.n
        while len(pool_node):
            levels = self.level[pool_node] * sign
            here = levels == levels.min()
            keys = pool_owner[here] * width + pool_node[here]
            order = np.lexsort((pool_depth[here], keys))
            keys, depth = keys[order], pool_depth[here][order]
            first = np.r_[True, keys[1:] != keys[:-1]]
            keys, depth = keys[first], depth[first]
            owner, node = keys // width, keys % width
            found.append((owner, node, depth))
            next_owner, next_node = step.expand(owner, node)
            # backward, a batch's inputs are one generation up; forward, depth counts steps
            grow = (node >= self.n_lots) if not forward else np.ones(len(node), dtype=np.bool_)
            next_depth = np.repeat(depth + grow, np.diff(step.start)[node])
            rest = ~here
            pool_owner = np.concatenate([pool_owner[rest], next_owner])
            pool_node = np.concatenate([pool_node[rest], next_node])
            pool_depth = np.concatenate([pool_depth[rest], next_depth])
        if not found:
            return Reached(_EMPTY, _EMPTY, _EMPTY)
        return Reached(
            np.concatenate([f[0] for f in found]),
            np.concatenate([f[1] for f in found]),
            np.concatenate([f[2] for f in found]),
        )


_WALKS: dict[int, tuple[Genealogy, GenealogyWalk]] = {}


def walk_of(g: Genealogy) -> GenealogyWalk:
    """The walk of ``g``, built once while ``g`` is the genealogy in use."""
    hit = _WALKS.get(id(g))
    if hit is not None and hit[0] is g:
        return hit[1]
    walk = GenealogyWalk(g)
    if len(_WALKS) >= 2:
        _WALKS.clear()
    _WALKS[id(g)] = (g, walk)
    return walk
