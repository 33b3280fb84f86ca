"""The lot genealogy as integer arrays, for investigations that walk all of it.

The impurity investigation asks, for every tested unit, which lots, suppliers, materials
and equipment lie anywhere upstream of it. Asked one unit at a time that is hundreds of
thousands of walks; over these arrays it is a handful of vectorised passes. Each store
loads them in one read (``GraphStore.genealogy``) and keeps them for as long as its graph
version is unchanged, so only the first investigation after a write pays the load.

Nodes are numbered by their ids in sorted order, so both stores give identical arrays for
identical graphs. Placeholders (``unresolved``) are nodes like any other: a consumption
of a lot that has not arrived yet is still a link upstream.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

Index = NDArray[np.int64]
IdPairs = Iterable[tuple[str, str]]


@dataclass(frozen=True, slots=True)
class Edges:
    """One relationship type as parallel index arrays (``src[i]`` -> ``dst[i]``), each pair
    once however many parallel relationships join it."""

    src: Index
    dst: Index

    def __len__(self) -> int:
        return len(self.src)


@dataclass(frozen=True, slots=True)
class Genealogy:
    """Lots, batches and what hangs off them, numbered; ``version`` is the graph version
    the arrays were read at (a store reuses them while its version is unchanged)."""

    version: object
    lots: tuple[str, ...]
    batches: tuple[str, ...]
    suppliers: tuple[str, ...]
    materials: tuple[str, ...]
    equipment: tuple[str, ...]
    consumed: Edges  # (Lot)-[:CONSUMED_IN]->(Batch): lot -> batch
    produced: Edges  # (Batch)-[:PRODUCED]->(Lot): batch -> lot
    supplied: Edges  # (Supplier)-[:SUPPLIED]->(Lot): supplier -> lot
    of_material: Edges  # (Lot)-[:OF_MATERIAL]->(Material): lot -> material
    ran_on: Edges  # (Batch)-[:RAN_ON]->(Equipment): batch -> equipment
    lot_index: dict[str, int]  # lot id -> its number
    batch_index: dict[str, int]

    @classmethod
    def from_pairs(
        cls,
        version: object,
        nodes: Mapping[str, Sequence[str]],
        *,
        consumed: IdPairs,
        produced: IdPairs,
        supplied: IdPairs,
        of_material: IdPairs,
        ran_on: IdPairs,
    ) -> Genealogy:
        """Number ``nodes`` (label -> ids: Lot, Batch, Supplier, Material, Equipment) in id
        order and map the given (source id, destination id) pairs onto the numbers."""
        pairs = {
            "consumed": (list(consumed), "Lot", "Batch"),
            "produced": (list(produced), "Batch", "Lot"),
            "supplied": (list(supplied), "Supplier", "Lot"),
            "of_material": (list(of_material), "Lot", "Material"),
            "ran_on": (list(ran_on), "Batch", "Equipment"),
        }
        ids: dict[str, list[str]] = {label: sorted(set(nodes.get(label, ()))) for label in _LABELS}
        number = {label: {node_id: i for i, node_id in enumerate(ids[label])} for label in ids}
        edges: dict[str, Edges] = {}
        for name, (found, source, target) in pairs.items():
            mapped = _edges(found, number[source], number[target])
            if mapped is None:  # a relationship to a node not listed: number it, map again
                for side, label in ((0, source), (1, target)):
                    ids[label] = sorted(set(ids[label]) | {p[side] for p in found})
                return cls.from_pairs(version, ids, **{k: v[0] for k, v in pairs.items()})
            edges[name] = mapped
        return cls(
            version=version,
            lots=tuple(ids["Lot"]),
            batches=tuple(ids["Batch"]),
            suppliers=tuple(ids["Supplier"]),
            materials=tuple(ids["Material"]),
            equipment=tuple(ids["Equipment"]),
            lot_index=number["Lot"],
            batch_index=number["Batch"],
            **edges,
        )


_LABELS = ("Lot", "Batch", "Supplier", "Material", "Equipment")


def _edges(pairs: list[tuple[str, str]], src: dict[str, int], dst: dict[str, int]) -> Edges | None:
    """The pairs as numbers, each pair once (parallel relationships are one link here);
    None when an end is not numbered."""
    if not pairs:
        return Edges(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))
    sources = np.fromiter((src.get(s, -1) for s, _ in pairs), dtype=np.int64, count=len(pairs))
    targets = np.fromiter((dst.get(d, -1) for _, d in pairs), dtype=np.int64, count=len(pairs))
    if sources.min() < 0 or targets.min() < 0:
        return None
    width = max(len(dst), 1)
    keys = np.unique(sources * width + targets)
    return Edges(keys // width, keys % width)
