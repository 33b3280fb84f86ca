"""The state a plant is built in: its lot, batch and consumption columns."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ingest.synthetic.columns import I64, U8


class PlantState:
    """The plant's columns as the stages fill them, and adding lots to them."""

    # filled by the stages (each in its own module) as the plant is built
    bat_complete: I64
    bat_eq: Any
    bat_release: I64
    bat_site: I64
    bat_size: I64
    bat_stage: I64
    bat_start: I64
    bat_status: I64
    coa_lots: I64
    con_at: I64
    con_batch: I64
    con_lot: I64
    con_qty: I64
    cust_country: I64
    cust_name: list[str]
    dev_batch: Any
    dev_cat: list[str]
    dev_closed: NDArray[Any]
    dev_desc: list[str]
    dev_hold: I64
    dev_kind: Any
    dev_opened: Any
    dev_sev: Any
    dev_status: NDArray[Any]
    dl_dev: I64
    dl_kind: I64
    dl_target: I64
    drift_lot: int
    drift_units: I64
    dryers_by_site: list[NDArray[Any]]
    eq_code: list[str]
    eq_kind: list[str]
    hold_lots: NDArray[Any]
    lot_avail: I64
    lot_batch: I64
    lot_created: I64
    lot_mat: I64
    lot_moved: I64
    lot_on_hand: NDArray[Any]
    lot_origin: I64
    lot_qty: I64
    lot_site: I64
    lot_status: I64
    lot_sup: I64
    n_cust: int
    n_ship_groups: int
    planted_lot: int
    planted_stage: int
    planted_units: Any
    purchased_base: int
    qcr_at: NDArray[Any]
    qcr_lots: NDArray[Any]
    scn: list[tuple[int, int, int, int, str]]
    sh_at: Any
    sh_cust: Any
    sh_lot: Any
    sh_no: Any
    sh_qty: Any
    shortfall_lots: NDArray[Any]
    sup_lot: U8
    tr_blocks: Sequence[tuple[NDArray[Any], ...]]

    def __init__(self, lots: int, seed: int, impurity_depth: int = 1) -> None:
        self.n_lots = lots
        self.seed = seed
        self.impurity_depth = impurity_depth
        self.rng = np.random.default_rng(seed)
        # the impurity cause of depth >= 2 and the drift draw from their own generator, so
        # the rest of the plant is the same bytes as before they existed
        self.rng2 = np.random.default_rng([seed, 13])
        # lot columns (filled in blocks)
        self.l_mat: list[I64] = []
        self.l_sup: list[I64] = []
        self.l_origin: list[I64] = []
        self.l_site: list[I64] = []
        self.l_qty: list[I64] = []
        self.l_created: list[I64] = []
        self.l_avail: list[I64] = []
        self.l_batch: list[I64] = []
        self.l_status: list[I64] = []  # provisional: quarantine / released / rejected
        self.l_moved: list[I64] = []  # moved_at or -1
        self.n_lot = 0
        # batch columns
        self.b_stage: list[I64] = []
        self.b_site: list[I64] = []
        self.b_start: list[I64] = []
        self.b_complete: list[I64] = []  # -1 when not completed
        self.b_release: list[I64] = []  # QA decision time, -1 when none yet
        self.b_status: list[I64] = []
        self.b_size: list[I64] = []
        self.n_batch = 0
        # consumption blocks (batch, lot, qty, at)
        self.c_batch: list[I64] = []
        self.c_lot: list[I64] = []
        self.c_qty: list[I64] = []
        self.c_at: list[I64] = []
        # purchased demand blocks (batch, material, site, qty, at)
        self.d_batch: list[I64] = []
        self.d_mat: list[I64] = []
        self.d_site: list[I64] = []
        self.d_qty: list[I64] = []
        self.d_at: list[I64] = []

    def _add_lots(
        self,
        mat: I64,
        sup: I64,
        origin: I64,
        site: I64,
        qty: I64,
        created: I64,
        avail: I64,
        batch: I64,
        status: I64,
        moved: I64,
    ) -> I64:
        n = len(mat)
        self.l_mat.append(mat)
        self.l_sup.append(sup)
        self.l_origin.append(origin)
        self.l_site.append(site)
        self.l_qty.append(qty)
        self.l_created.append(created)
        self.l_avail.append(avail)
        self.l_batch.append(batch)
        self.l_status.append(status)
        self.l_moved.append(moved)
        idx = np.arange(self.n_lot, self.n_lot + n, dtype=np.int64)
        self.n_lot += n
        return idx
