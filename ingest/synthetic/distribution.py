"""Distribution: shipments and movements."""

from __future__ import annotations

import numpy as np

from ingest.synthetic.catalog import _MAT, COUNTRIES, CUSTOMER_FORMS, CUSTOMER_WORDS, L_REL
from ingest.synthetic.columns import DAY, HOUR, T_END
from ingest.synthetic.state import PlantState


class Distribution(PlantState):
    """Shipments to customers and moves between sites."""

    def _shipments(self) -> None:
        rng = self.rng
        n_cust = int(np.clip(round(self.n_lots / 10000) + 8, 8, 120))
        self.n_cust = n_cust
        weights = 1.0 / np.arange(1, n_cust + 1) ** 0.8
        weights = rng.permutation(weights)
        cum_w = np.cumsum(weights / weights.sum())
        consumed_lots = np.zeros(self.n_lots, dtype=np.bool_)
        consumed_lots[self.con_lot] = True
        final = np.isin(self.lot_mat, [_MAT["MAT-FIN"], _MAT["MAT-API"]])
        cand = np.flatnonzero(
            final & (self.lot_status == L_REL) & ~consumed_lots & (self.lot_avail >= 0)
        )
        cand = cand[self.lot_avail[cand] < T_END - 2 * DAY]
        n = len(cand)
        nparts = 1 + (rng.random(n) < 0.35).astype(np.int64) + (rng.random(n) < 0.12)
        whole = rng.random(n) < 0.85
        frac = np.where(whole, 1.0, rng.uniform(0.5, 0.95, n))
        ship_total = np.floor(self.lot_qty[cand] * frac).astype(np.int64)
        lot_r = np.repeat(cand, nparts)
        part_no = np.arange(len(lot_r)) - np.repeat(np.cumsum(nparts) - nparts, nparts)
        w = rng.uniform(0.2, 1.0, len(lot_r))
        wsum = np.repeat(np.add.reduceat(w, np.cumsum(nparts) - nparts), nparts)
        qty = np.floor(w / wsum * np.repeat(ship_total, nparts)).astype(np.int64)
        # last part takes the rounding remainder
        last = np.cumsum(nparts) - 1
        qty[last] += ship_total - np.add.reduceat(qty, np.cumsum(nparts) - nparts)
        c0 = np.repeat(np.searchsorted(cum_w, rng.random(n)), nparts)
        step = np.repeat(rng.integers(1, max(2, n_cust // 3), n), nparts)
        cust = (c0 + part_no * step) % n_cust
        t1 = np.repeat(
            self.lot_avail[cand] + rng.uniform(DAY, 20 * DAY, n).astype(np.int64), nparts
        )
        t = t1 + (part_no * rng.uniform(2 * DAY, 15 * DAY, len(lot_r))).astype(np.int64)
        ok = (t <= T_END - HOUR) & (qty > 0)
        lot_r, cust, qty, t = lot_r[ok], cust[ok], qty[ok], t[ok]
        # consolidate: parts to one customer within two days often travel as one shipment
        order = np.lexsort((lot_r, t, cust))
        lot_r, cust, qty, t = lot_r[order], cust[order], qty[order], t[order]
        new = np.r_[
            True,
            (cust[1:] != cust[:-1])
            | (t[1:] - t[:-1] > 2 * DAY)
            | (lot_r[1:] == lot_r[:-1])
            | (rng.random(len(t) - 1) < 0.5),
        ]
        grp = np.cumsum(new) - 1
        gstart = np.flatnonzero(new)
        gtime = np.maximum.reduceat(t, gstart) if len(t) else t
        t = gtime[grp]
        # shipment numbers in time order
        g_order = np.argsort(gtime, kind="stable")
        g_rank = np.empty_like(g_order)
        g_rank[g_order] = np.arange(len(g_order))
        self.sh_no = g_rank[grp].astype(np.int64)
        self.n_ship_groups = len(gstart)
        row_order = np.lexsort((lot_r, self.sh_no))
        self.sh_no = self.sh_no[row_order]
        self.sh_lot = lot_r[row_order]
        self.sh_cust = cust[row_order]
        self.sh_qty = qty[row_order]
        self.sh_at = t[row_order]
        self.cust_country = rng.choice(len(COUNTRIES), n_cust)
        names: list[str] = []
        for i in range(n_cust):
            w1 = CUSTOMER_WORDS[i % len(CUSTOMER_WORDS)]
            form = CUSTOMER_FORMS[int(rng.integers(0, len(CUSTOMER_FORMS)))]
            suffix = "" if i < len(CUSTOMER_WORDS) else f" {i // len(CUSTOMER_WORDS) + 1}"
            names.append(f"{w1}{suffix} {form}")
        self.cust_name = names
