"""The plant, stage by stage, and the generator's entry points."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ingest.synthetic.catalog import IMPURITY_DEPTHS, MIN_LOTS, PlantSummary
from ingest.synthetic.distribution import Distribution
from ingest.synthetic.genealogy import GenealogyStages
from ingest.synthetic.quality import Quality
from ingest.synthetic.writing import Writing


def generate_plant(lots: int, seed: int, out: Path, impurity_depth: int = 1) -> PlantSummary:
    """Write a synthetic plant with exactly ``lots`` lots as a canonical bundle in ``out``;
    its planted impurity cause is ``impurity_depth`` (1, 2 or 3) generations upstream of the
    flagged batches."""
    if lots < MIN_LOTS:
        raise ValueError(f"lots must be at least {MIN_LOTS}, got {lots}")
    if impurity_depth not in IMPURITY_DEPTHS:
        raise ValueError(f"impurity_depth must be 1, 2 or 3, got {impurity_depth}")
    plant = Plant(lots, seed, impurity_depth)
    plant.build()
    return plant.write(Path(out))


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Write a synthetic plant as a canonical bundle.")
    p.add_argument("--lots", type=int, required=True)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--impurity-depth", type=int, choices=IMPURITY_DEPTHS, default=1)
    a = p.parse_args(argv)
    s = generate_plant(a.lots, a.seed, a.out, a.impurity_depth)
    print(
        json.dumps(
            {
                "out": str(s.out),
                "lots": s.lots,
                "rows": s.rows,
                "planted": s.planted,
                "drift": s.drift,
                "bytes": s.bytes_written,
            },
            indent=2,
        )
    )
    return 0


class Plant(GenealogyStages, Quality, Distribution, Writing):
    """A whole plant: every stage in order."""

    def build(self) -> None:
        # calibrated: about 8.75 lots per first-stage batch
        n_first = max(8, round(self.n_lots / 8.75))
        self._run_stages(n_first)
        self._purchase()
        cat = np.concatenate
        self.lot_mat = cat(self.l_mat)
        self.lot_sup = cat(self.l_sup)
        self.lot_origin = cat(self.l_origin)
        self.lot_site = cat(self.l_site)
        self.lot_qty = cat(self.l_qty)
        self.lot_created = cat(self.l_created)
        self.lot_avail = cat(self.l_avail)
        self.lot_batch = cat(self.l_batch)
        self.lot_status = cat(self.l_status)
        self.lot_moved = cat(self.l_moved)
        assert len(self.lot_mat) == self.n_lots, (len(self.lot_mat), self.n_lots)
        self.bat_stage = cat(self.b_stage)
        self.bat_site = cat(self.b_site)
        self.bat_start = cat(self.b_start)
        self.bat_complete = cat(self.b_complete)
        self.bat_release = cat(self.b_release)
        self.bat_status = cat(self.b_status)
        self.bat_size = cat(self.b_size)
        self.con_batch = cat(self.c_batch)
        self.con_lot = cat(self.c_lot)
        self.con_qty = cat(self.c_qty)
        self.con_at = cat(self.c_at)
        for name in (
            "l_mat",
            "l_sup",
            "l_origin",
            "l_site",
            "l_qty",
            "l_created",
            "l_avail",
            "l_batch",
            "l_status",
            "l_moved",
            "b_stage",
            "b_site",
            "b_start",
            "b_complete",
            "b_release",
            "b_status",
            "b_size",
            "c_batch",
            "c_lot",
            "c_qty",
            "c_at",
            "d_batch",
            "d_mat",
            "d_site",
            "d_qty",
            "d_at",
        ):
            getattr(self, name).clear()
        self._planned_batches()
        self._equipment_and_people()
        self._shipments()
        self._balance()
        self._quality()
        self._deviations()
        self._supplier_changes()
        self._documents()
        self._signatures()
