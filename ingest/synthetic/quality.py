"""Quality: QC results (the planted impurity cause and drift), deviations, supplier changes."""

from __future__ import annotations

import numpy as np

from ingest.synthetic.catalog import (
    _CAUSE_CHECKS,
    _CAUSE_TRIES,
    _DRIFT_BASELINE,
    _DRIFT_CHECKS,
    _DRIFT_MAX_UNITS,
    _DRIFT_MIN_UNITS,
    _DRIFT_WANTED_UNITS,
    _MAT,
    _SOLVENT,
    API_STAGE,
    ASSAY,
    B_PLANNED,
    B_REJ,
    B_REL,
    IMP_B,
    MATERIALS,
    STAGES,
    T_BATCH,
    T_EQ,
    T_LOT,
    T_SUP,
    WATER,
)
from ingest.synthetic.columns import DAY, HOUR, I64, T0, T_END, BoolA
from ingest.synthetic.genealogy import _gather, _Genealogy, _uniq_counts
from ingest.synthetic.state import PlantState


class Quality(PlantState):
    """QC results with the planted cause and drift, deviations, supplier changes."""

    def _quality(self) -> None:
        rng = self.rng
        nb = len(self.bat_stage)
        tested = (self.bat_complete >= 0) & (self.bat_status != B_PLANNED)
        t_test = self.bat_complete + rng.uniform(6 * HOUR, 2 * DAY, nb).astype(np.int64)
        tested &= t_test <= T_END - HOUR
        tb = np.flatnonzero(tested)
        g = _Genealogy(self.con_batch, self.con_lot, self.lot_batch, self.bat_stage, tested)
        depth = self.impurity_depth
        pb = self.purchased_base
        if depth == 1:
            # planted lot: a reagent lot used by several tested batches
            reagent_lot = np.zeros(self.n_lots, dtype=np.bool_)
            is_reagent = np.array([m.kind == "reagent" for m in MATERIALS])
            reagent_lot[pb:] = is_reagent[self.lot_mat[pb:]]
            sel = reagent_lot[self.con_lot] & tested[self.con_batch]
            uses = np.bincount(self.con_lot[sel], minlength=self.n_lots)
            cand = np.flatnonzero((uses >= 5) & (uses <= 15))
            if len(cand) == 0:
                cand = np.flatnonzero(uses >= 1)
            planted = int(rng.choice(cand))
            if g.same_consumers(planted, self._consumers_of(planted)):
                # another lot went into exactly the same batches: no data could tell them
                # apart, so plant the cause in one that can be
                for other in self.rng2.permutation(cand)[:_CAUSE_CHECKS].tolist():
                    if not g.same_consumers(other, self._consumers_of(other)):
                        planted = int(other)
                        break
            direct = np.unique(self.con_batch[self.con_lot == planted])
            direct = direct[tested[direct]]
            out_lots = np.flatnonzero(np.isin(self.lot_batch, direct))
            nxt = np.unique(self.con_batch[np.isin(self.con_lot, out_lots)])
            nxt = nxt[tested[nxt] & ~np.isin(nxt, direct)]
            gens = g.generations(planted, 2)
        else:
            planted, gens = self._deep_cause(g)
            direct = gens[-1][tested[gens[-1]]]  # D: raised below, every one of them
            nxt = np.zeros(0, dtype=np.int64)
        self.planted_lot = planted
        upper_b = np.array([s.imp_b_upper for s in STAGES])[self.bat_stage]
        water_up = np.array([s.water_upper for s in STAGES])[self.bat_stage]
        # values in thousandths
        assay = np.clip(rng.normal(99.6, 0.45, nb), 97.3, 101.7)
        imp_a = np.clip(rng.normal(0.05, 0.015, nb), 0.005, 0.14)
        imp_b = np.clip(rng.normal(0.035, 0.012, nb), 0.003, 0.09)
        water = np.clip(rng.normal(0.18, 0.06, nb), 0.02, 0.45)
        if depth == 1:
            rng.random(len(direct))  # drawn as before, so that later draws stay the same
            hit = direct  # every tested batch that consumed it
            imp_b[hit] = upper_b[hit] * rng.uniform(1.3, 2.5, len(hit))
            # no carry-over into the next stage (it would be a second cluster, explained as
            # well by the intermediate lots between): drawn as before, not applied
            carried = rng.random(len(nxt)) < 0.5
            rng.uniform(1.05, 1.5, int(carried.sum()))
            hit2 = nxt[:0]
            others = np.setdiff1d(tb, np.r_[direct, nxt])
        else:
            # the impurity forms downstream: only D is raised, not the batches in between
            hit = direct
            imp_b[hit] = upper_b[hit] * self.rng2.uniform(1.3, 2.5, len(hit))
            hit2 = nxt
            others = np.setdiff1d(tb, np.concatenate(gens))
        n_fp = int(np.clip(round(len(tb) * 0.0002), 2, 20))
        fp = rng.choice(others, min(n_fp, len(others)), replace=False)
        imp_b[fp] = upper_b[fp] * rng.uniform(1.02, 1.3, len(fp))
        self.planted_units = hit
        self.planted_stage = int(self.bat_stage[hit[0]])
        # in-specification drift: the tested consumers of one supplier lot, in test order
        keep_out = np.zeros(nb, dtype=np.bool_)
        keep_out[np.concatenate([*gens, fp])] = True
        self.drift_lot, units = self._drift(g, t_test, keep_out)
        units = units[np.lexsort((units, t_test[units]))]
        k = np.arange(len(units))
        imp_b[units] = 0.095 + 0.035 * k / max(1, len(units) - 1)
        self.drift_units = units
        self.flagged_direct = hit
        self.flagged_next = hit2
        self.false_positive = np.sort(fp)
        n4 = len(tb)
        r_kind = np.full(4 * n4, T_BATCH, dtype=np.int64)
        r_target = np.repeat(tb, 4)
        r_analyte = np.tile(np.arange(4, dtype=np.int64), n4)
        vals = np.stack([assay[tb], imp_a[tb], imp_b[tb], water[tb]], axis=1).ravel()
        r_value = np.round(vals * 1000).astype(np.int64)
        r_unit = np.tile(np.array([0, 1, 1, 2], dtype=np.int64), n4)
        lower = np.stack(
            [np.full(n4, 97000), np.full(n4, -1), np.full(n4, -1), np.full(n4, -1)], axis=1
        ).ravel()
        upper = np.stack(
            [
                np.full(n4, 102000),
                np.full(n4, 150),
                np.round(upper_b[tb] * 1000),
                np.round(water_up[tb] * 1000),
            ],
            axis=1,
        ).ravel()
        r_method = np.tile(np.array([0, 0, 1, 2], dtype=np.int64), n4)
        r_at = np.repeat(t_test[tb], 4) + np.tile(np.array([0, 0, 0, 2 * HOUR]), n4)
        r_doc = np.full(4 * n4, -1, dtype=np.int64)
        blocks = [
            (
                r_kind,
                r_target,
                r_analyte,
                r_value,
                r_unit,
                lower.astype(np.int64),
                upper.astype(np.int64),
                r_method,
                r_at,
                r_doc,
            )
        ]
        # lot release results for final lots, reported in a QC report (document kind qc_report)
        final = np.isin(self.lot_mat, [_MAT["MAT-FIN"], _MAT["MAT-API"]])
        fl = np.flatnonzero(final & (self.lot_batch >= 0))
        fl = fl[np.isin(self.bat_status[self.lot_batch[fl]], [B_REL, B_REJ])]
        fb = self.lot_batch[fl]
        n3 = len(fl)
        self.qcr_lots = fl
        self.qcr_at = self.bat_release[fb] - rng.integers(2 * HOUR, DAY, n3)
        lv = np.stack(
            [
                assay[fb] + rng.normal(0, 0.1, n3),
                imp_b[fb] * rng.uniform(0.97, 1.03, n3),
                water[fb] * rng.uniform(0.9, 1.1, n3),
            ],
            axis=1,
        ).ravel()
        blocks.append(
            (
                np.full(3 * n3, T_LOT, dtype=np.int64),
                np.repeat(fl, 3),
                np.tile(np.array([ASSAY, IMP_B, WATER], dtype=np.int64), n3),
                np.round(lv * 1000).astype(np.int64),
                np.tile(np.array([0, 1, 2], dtype=np.int64), n3),
                np.stack([np.full(n3, 97000), np.full(n3, -1), np.full(n3, -1)], axis=1).ravel(),
                np.stack(
                    [
                        np.full(n3, 102000),
                        np.round(upper_b[fb] * 1000),
                        np.round(water_up[fb] * 1000),
                    ],
                    axis=1,
                )
                .ravel()
                .astype(np.int64),
                np.tile(np.array([5, 6, 7], dtype=np.int64), n3),  # the release methods
                np.repeat(self.qcr_at - 3 * HOUR, 3),
                np.repeat(np.arange(n3, dtype=np.int64), 3),  # qc_report index, remapped later
            )
        )
        # supplier CoAs for most purchased lots
        pl = np.arange(pb, self.n_lots, dtype=np.int64)
        coa = pl[rng.random(len(pl)) < 0.85]
        if planted not in coa:
            coa = np.sort(np.r_[coa, planted])
        n2 = len(coa)
        self.coa_lots = coa
        solv = np.array([MATERIALS[m].kind == "solvent" for m in self.lot_mat[coa]])
        c_assay = np.where(solv, rng.uniform(99.55, 99.99, n2), rng.uniform(98.6, 99.9, n2))
        c_water = np.where(solv, rng.uniform(0.005, 0.08, n2), rng.uniform(0.02, 0.4, n2))
        room = (self.lot_created[coa] - T0) * rng.uniform(0.2, 0.9, n2)
        c_at = self.lot_created[coa] - np.minimum(rng.integers(DAY, 20 * DAY, n2), room).astype(
            np.int64
        )
        blocks.append(
            (
                np.full(2 * n2, T_LOT, dtype=np.int64),
                np.repeat(coa, 2),
                np.tile(np.array([ASSAY, WATER], dtype=np.int64), n2),
                np.round(np.stack([c_assay, c_water], axis=1).ravel() * 1000).astype(np.int64),
                np.tile(np.array([0, 2], dtype=np.int64), n2),
                np.stack([np.where(solv, 99500, 98000), np.full(n2, -1)], axis=1).ravel(),
                np.stack([np.full(n2, -1), np.where(solv, 100, 500)], axis=1).ravel(),
                np.tile(np.array([4, 4], dtype=np.int64), n2),
                np.repeat(c_at, 2),
                np.repeat(np.arange(n2, dtype=np.int64), 2),  # coa index, remapped later
            )
        )
        self.tr_blocks = blocks

    def _consumers_of(self, lot: int) -> I64:
        return np.unique(self.con_batch[self.con_lot == lot])

    def _deep_cause(self, g: _Genealogy) -> tuple[int, list[I64]]:
        """The planted lot R for depth d >= 2 and its generations of consumer batches.

        Candidates: purchased raw/reagent lots consumed by batches of one stage s with
        s + d - 1 <= the API stage, tried in random order (at most ``_CAUSE_TRIES``; the
        identifiability check, the costly part, at most ``_CAUSE_CHECKS`` times). The first one
        whose D has 5..60 batches and that is identifiable wins; failing that, the best seen:
        identifiable before not, then 5..60, then more than 60, then 1..4 batches.
        """
        d = self.impurity_depth
        pb = self.purchased_base
        lots = np.arange(pb, self.n_lots, dtype=np.int64)
        lo, hi = g.consumer_stages()
        ok = ~_SOLVENT[self.lot_mat[lots]] & (lo[lots] >= 0) & (lo[lots] == hi[lots])
        ok &= hi[lots] + d - 1 <= API_STAGE
        pool = self.rng2.permutation(lots[ok])[:_CAUSE_TRIES]
        best: tuple[tuple[int, int, int], int, list[I64]] | None = None
        checks = 0
        for lot in pool.tolist():
            gens = g.generations(lot, d)
            units = gens[-1][g.tested[gens[-1]]]
            n = len(units)
            if n == 0:
                continue
            size = 2 if 5 <= n <= 60 else 1 if n > 60 else 0
            closeness = n if n < 5 else -n
            if best is not None and (1, size, closeness) <= best[0]:
                continue  # cannot beat what we have
            t = int(self.bat_stage[units[0]])
            checks += 1
            ident = not (g.same_consumers(lot, gens[0]) or g.same_units(lot, units, t))
            key = (int(ident), size, closeness)
            if best is None or key > best[0]:
                best = (key, lot, gens)
            if key[:2] == (1, 2) or checks >= _CAUSE_CHECKS:
                break
        if best is None:
            raise ValueError(
                f"no purchased lot reaches a tested batch {d} generations downstream: "
                f"the plant of {self.n_lots} lots is too small for impurity_depth={d}"
            )
        return best[1], best[2]

    def _drift(self, g: _Genealogy, t_test: I64, keep_out: BoolA) -> tuple[int, I64]:
        """The drift lot Q and its tested consumer batches (see the module docstring)."""
        pb = self.purchased_base
        tested = g.tested
        lots = np.arange(pb, self.n_lots, dtype=np.int64)
        lo, hi = g.consumer_stages()
        # the first tested batches of stages 0 and 1 (the drift must be out of trend)
        early = np.zeros(len(tested), dtype=np.bool_)
        for s in (0, 1):
            b = np.flatnonzero(tested & (self.bat_stage == s))
            early[b[np.lexsort((b, t_test[b]))][:_DRIFT_BASELINE]] = True
        n_tested = np.bincount(self.con_lot[tested[self.con_batch]], minlength=self.n_lots)
        n_out = np.bincount(self.con_lot[keep_out[self.con_batch]], minlength=self.n_lots)
        n_early = np.bincount(self.con_lot[early[self.con_batch]], minlength=self.n_lots)
        # any purchased lot but the bulk ones (a solvent lot in hundreds of batches)
        ok = (lots != self.planted_lot) & (n_tested[lots] <= _DRIFT_MAX_UNITS)
        ok &= (lo[lots] == hi[lots]) & (lo[lots] >= 0) & (hi[lots] <= 1)
        ok &= (n_out[lots] == 0) & (n_tested[lots] >= 1)
        eligible = lots[ok]
        if len(eligible) == 0:
            raise ValueError(f"the plant of {self.n_lots} lots has no lot for the planted drift")
        good = eligible[(n_tested[eligible] >= _DRIFT_MIN_UNITS) & (n_early[eligible] == 0)]
        if (hi[good] == 0).any():
            # stage 0 first: its batches have no batch upstream, so no intermediate's
            # supplier lot can share all of the drift's batches through the genealogy
            good = good[hi[good] == 0]
        if (n_tested[good] >= _DRIFT_WANTED_UNITS).any():
            # a long drift stands out of the chance signals of the Nelson rules
            good = good[n_tested[good] >= _DRIFT_WANTED_UNITS]
        rng2 = self.rng2
        if len(good) == 0:
            # a very small plant: the lot with most tested consumers, out of the baseline if any
            score = (n_early[eligible] == 0) * 1_000_000 + n_tested[eligible]
            best = eligible[score == score.max()]
            q = int(rng2.choice(best))
        else:
            cand = rng2.permutation(good)[:_DRIFT_CHECKS]
            tier = self._drift_tiers(g, cand)
            q = int(rng2.choice(cand[tier == tier.min()]))
        units = g.consumers(np.array([q], dtype=np.int64))
        return q, units[tested[units]]

    def _drift_tiers(self, g: _Genealogy, cand: I64) -> I64:
        """Per candidate Q: 0 when no other purchased lot was consumed by all of Q's
        consumers; 1 when only bulk solvent lots were, each by more batches than Q; 2 else."""
        nl = self.n_lots
        own, batches = _gather(g.lot_ptr, g.lot_batches, cand)
        own2, lots = _gather(g.batch_ptr, g.batch_lots, batches)
        key, cnt = _uniq_counts(own[own2] * nl + lots)
        q_of, other = key // nl, key % nl
        n_q = g.n_consumers[cand][q_of]
        cover = (cnt == n_q) & (other != cand[q_of]) & (g.lot_batch[other] < 0)
        bad = cover & (~_SOLVENT[self.lot_mat[other]] | (g.n_consumers[other] == n_q))
        tier = np.where(np.bincount(q_of[cover], minlength=len(cand)) > 0, 1, 0)
        return np.where(np.bincount(q_of[bad], minlength=len(cand)) > 0, 2, tier)

    def _deviations(self) -> None:
        rng = self.rng
        done = np.flatnonzero(self.bat_status != B_PLANNED)
        n = int(max(6, round(len(done) * 0.015)))
        dev_batch = np.sort(rng.choice(done, min(n, len(done)), replace=False))
        n = len(dev_batch)
        kind = rng.choice(4, n, p=[0.55, 0.2, 0.15, 0.1])  # process, material, equipment, doc
        sev = rng.choice(3, n, p=[0.7, 0.25, 0.05])
        opened = self.bat_start[dev_batch] + rng.integers(HOUR, 2 * DAY, n)
        # OOS deviations for most planted hits and the false positives
        oos_b = np.r_[
            self.flagged_direct[rng.random(len(self.flagged_direct)) < 0.6],
            self.false_positive[rng.random(len(self.false_positive)) < 0.5],
        ]
        oos_b = np.sort(oos_b).astype(np.int64)
        no = len(oos_b)
        dev_batch = np.r_[dev_batch, oos_b]
        kind = np.r_[kind, np.full(no, 4)]
        sev = np.r_[sev, np.where(rng.random(no) < 0.8, 1, 2)]
        opened = np.r_[opened, self.bat_complete[oos_b] + rng.integers(DAY, 3 * DAY, no)]
        # holds: an investigation per lot on hold
        nh = len(self.hold_lots)
        h_open = np.minimum(
            self.lot_created[self.hold_lots] + rng.integers(DAY, 30 * DAY, nh),
            T_END - rng.integers(HOUR, 5 * DAY, nh),
        )
        dev_batch = np.r_[dev_batch, np.full(nh, -1, dtype=np.int64)]
        kind = np.r_[kind, np.full(nh, 5)]
        sev = np.r_[sev, np.where(rng.random(nh) < 0.5, 1, 0)]
        opened = np.r_[opened, h_open]
        opened = np.minimum(opened, T_END - HOUR).astype(np.int64)
        nd = len(kind)
        close = opened + rng.integers(7 * DAY, 60 * DAY, nd)
        status = np.where(close <= T_END, 2, np.where(rng.random(nd) < 0.4, 0, 1))
        status[kind == 5] = 1
        closed = np.where(status == 2, close, -1)
        order = np.lexsort((np.arange(nd), opened))
        self.dev_batch = dev_batch[order]
        self.dev_kind = kind[order]
        self.dev_sev = sev[order]
        self.dev_opened = opened[order]
        self.dev_closed = closed[order]
        self.dev_status = status[order]
        hold_pos = np.full(nd, -1, dtype=np.int64)
        hold_pos[np.arange(nd - nh, nd)] = np.arange(nh)
        self.dev_hold = hold_pos[order]
        # links and descriptions
        out_l = np.argsort(self.lot_batch, kind="stable").astype(np.int64)
        out_b = self.lot_batch[out_l]
        cons_order = np.argsort(self.con_batch, kind="stable")
        cb = self.con_batch[cons_order]
        cl = self.con_lot[cons_order]
        lk: list[int] = []
        lt: list[int] = []
        lidx: list[int] = []
        desc: list[str] = []
        cats: list[str] = []
        stage_names = ("stage 1", "stage 2", "stage 3", "final intermediate", "API")
        for d in range(nd):
            kd = int(self.dev_kind[d])
            b = int(self.dev_batch[d])
            if kd == 5:
                lot = int(self.hold_lots[self.dev_hold[d]])
                lk += [d]
                lt += [T_LOT]
                lidx += [lot]
                if self.lot_sup[lot] >= 0:
                    lk += [d]
                    lt += [T_SUP]
                    lidx += [int(self.lot_sup[lot])]
                cats.append("material")
                desc.append(
                    "Lot placed on hold pending investigation of a labelling discrepancy "
                    "found at warehouse inspection"
                )
                continue
            stage = stage_names[int(self.bat_stage[b])]
            lk.append(d)
            lt.append(T_BATCH)
            lidx.append(b)
            eq = int(self.bat_eq[b])
            if kd == 0:
                cats.append("process")
                desc.append(
                    f"Temperature excursion during {stage} reaction, "
                    f"{rng.uniform(1.5, 6):.1f} C above set point for "
                    f"{int(rng.integers(5, 90))} min"
                )
                if eq >= 0 and rng.random() < 0.4:
                    lk.append(d)
                    lt.append(T_EQ)
                    lidx.append(eq)
                if rng.random() < 0.3:
                    lo, hi = np.searchsorted(out_b, [b, b + 1])
                    outs = out_l[lo:hi]
                else:
                    outs = out_l[:0]
                for o in outs:
                    lk.append(d)
                    lt.append(T_LOT)
                    lidx.append(int(o))
            elif kd == 1:
                cats.append("material")
                lo, hi = np.searchsorted(cb, [b, b + 1])
                inputs = cl[lo:hi]
                inputs = inputs[self.lot_sup[inputs] >= 0]
                desc.append(
                    f"Damaged container of incoming material used in {stage} batch, "
                    "contents verified before use"
                )
                if len(inputs):
                    lot = int(inputs[int(rng.integers(0, len(inputs)))])
                    lk += [d, d]
                    lt += [T_LOT, T_SUP]
                    lidx += [lot, int(self.lot_sup[lot])]
            elif kd == 2:
                cats.append("equipment")
                site = int(self.bat_site[b])
                dry = self.dryers_by_site[site]
                target = int(dry[int(rng.integers(0, len(dry)))]) if rng.random() < 0.5 else eq
                if target < 0:
                    target = int(dry[0])
                desc.append(
                    f"Unplanned stop of {self.eq_kind[target]} {self.eq_code[target]} "
                    "during processing; vacuum pump failure"
                )
                lk.append(d)
                lt.append(T_EQ)
                lidx.append(target)
            elif kd == 3:
                cats.append("documentation")
                desc.append(
                    "Missing second-person verification of a weighing step in the batch record"
                )
            else:
                cats.append("OOS")
                desc.append(
                    f"Out of specification result for Impurity B in {stage} batch release testing"
                )
        self.dev_cat = cats
        self.dev_desc = desc
        self.dl_dev = np.array(lk, dtype=np.int64)
        self.dl_kind = np.array(lt, dtype=np.int64)
        self.dl_target = np.array(lidx, dtype=np.int64)

    def _supplier_changes(self) -> None:
        rng = self.rng
        pb = self.purchased_base
        sup = self.lot_sup[pb:]
        mat = self.lot_mat[pb:]
        pairs = np.unique(sup * 100 + mat)
        k = int(np.clip(self.n_lots // 100000 + 3, 3, 10)) - 1
        chosen = rng.choice(pairs, min(k, len(pairs)), replace=False)
        p_sup = int(self.lot_sup[self.planted_lot])
        p_mat = int(self.lot_mat[self.planted_lot])
        rows = []
        eff = int(self.lot_created[self.planted_lot]) - int(rng.integers(3 * DAY, 20 * DAY))
        notified = max(eff - int(rng.integers(20 * DAY, 60 * DAY)), T0 + 6 * HOUR)
        eff = max(eff, notified + DAY)
        rows.append(
            (
                p_sup,
                p_mat,
                notified,
                eff,
                "Change of route of synthesis: new starting material vendor",
            )
        )
        texts = (
            "Relocation of manufacturing to a new building at the same site",
            "New packaging: 200 L HDPE drums replace steel drums",
            "Change of analytical method for assay, HPLC replaces titration",
            "Additional production line commissioned",
            "Change of raw material source for the sodium salt",
        )
        for c in chosen:
            s, m = int(c) // 100, int(c) % 100
            notified = int(rng.integers(T0 + 30 * DAY, T_END - 60 * DAY))
            lead = int(rng.integers(30 * DAY, 90 * DAY))
            rows.append(
                (
                    s,
                    m if rng.random() < 0.8 else -1,
                    notified,
                    min(notified + lead, T_END - DAY),
                    texts[int(rng.integers(0, len(texts)))],
                )
            )
        rows.sort(key=lambda r: (r[2], r[0]))
        self.scn = rows
