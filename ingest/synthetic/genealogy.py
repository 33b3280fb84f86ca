"""The genealogy: allocation helpers, the lot graph's arrays, and the production stages."""

from __future__ import annotations

import hashlib

import numpy as np

from ingest.synthetic.catalog import (
    _API_P,
    _TRANSITIONS,
    API_STAGE,
    B_EXEC,
    B_INPROG,
    B_PLANNED,
    B_REJ,
    B_REL,
    B_REVIEW,
    DISQUALIFIED_AT,
    FIN_STAGE,
    L_CONS,
    L_HOLD,
    L_QUAR,
    L_REJ,
    L_REL,
    MATERIALS,
    MIN_LOTS,
    N_PURCHASED_MATS,
    STAGES,
    SUPPLIERS,
    A,
    B,
    C,
)
from ingest.synthetic.columns import DAY, F64, HOUR, I64, MINUTE, T0, T_END, BoolA
from ingest.synthetic.state import PlantState


def _merge(supply: I64, demand: I64) -> tuple[I64, I64, I64]:
    """Allocate ordered demands to ordered supplies first-in-first-out.

    Returns (supply index, demand index, quantity) segments in order.
    """
    s_cum = np.cumsum(supply)
    d_cum = np.cumsum(demand)
    total = min(int(s_cum[-1]), int(d_cum[-1]))
    bps = np.union1d(s_cum[s_cum <= total], d_cum[d_cum <= total])
    starts = np.concatenate([[0], bps[:-1]]).astype(np.int64)
    qty = (bps - starts).astype(np.int64)
    si = np.searchsorted(s_cum, starts, side="right").astype(np.int64)
    di = np.searchsorted(d_cum, starts, side="right").astype(np.int64)
    return si, di, qty


def _drop_crumbs(di: I64, qty: I64, demand: I64, frac: float) -> BoolA:
    """Keep-mask dropping tiny boundary pieces (left in the lot as a heel), never a demand's
    largest piece."""
    first = np.flatnonzero(np.r_[True, di[1:] != di[:-1]])
    biggest = np.maximum.reduceat(qty, first)
    seg_max = np.repeat(biggest, np.diff(np.r_[first, len(di)]))
    return (qty >= frac * demand[di]) | (qty == seg_max)


def _sha(s: str) -> str:
    return hashlib.sha256(s.encode()).hexdigest()


def _group_starts(keys: I64) -> I64:
    return np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]]).astype(np.int64)


def _uniq(a: I64) -> I64:
    """Sorted distinct values (a sort and a mask: faster than ``np.unique`` here)."""
    a = np.sort(a)
    return a[np.r_[True, a[1:] != a[:-1]]] if len(a) else a


def _uniq_counts(a: I64) -> tuple[I64, I64]:
    a = np.sort(a)
    if len(a) == 0:
        return a, a
    first = _group_starts(a)
    return a[first], np.diff(np.r_[first, len(a)]).astype(np.int64)


def _ptr(keys: I64, n: int) -> I64:
    """CSR row pointers for ``keys`` sorted ascending, rows 0..n-1."""
    return np.r_[0, np.cumsum(np.bincount(keys, minlength=n))].astype(np.int64)


def _gather(ptr: I64, dat: I64, rows: I64) -> tuple[I64, I64]:
    """Every entry of the CSR ``rows``: (position of its row in ``rows``, value)."""
    starts = ptr[rows]
    counts = ptr[rows + 1] - starts
    first = np.cumsum(counts) - counts
    owner = np.repeat(np.arange(len(rows), dtype=np.int64), counts)
    pos = np.repeat(starts - first, counts) + np.arange(int(counts.sum()), dtype=np.int64)
    return owner, dat[pos]


class _Genealogy:
    """The lot/batch graph as CSR arrays: consumers of a lot, lots a batch consumed, lots a
    batch produced. Generations: a batch's own consumed lots are at depth 1, the lots consumed
    by the batches that produced those at depth 2, and so on."""

    def __init__(
        self, con_batch: I64, con_lot: I64, lot_batch: I64, stage: I64, tested: BoolA
    ) -> None:
        nl, nb = len(lot_batch), len(stage)
        self.nl, self.nb = nl, nb
        key = _uniq(con_lot * nb + con_batch)  # (lot, batch) pairs, sorted by lot
        cl, cb = key // nb, key % nb
        self.lot_ptr = _ptr(cl, nl)
        self.lot_batches = cb
        by_batch = np.sort(cb * nl + cl)
        self.batch_ptr = _ptr(by_batch // nl, nb)
        self.batch_lots = by_batch % nl
        produced = np.flatnonzero(lot_batch >= 0)
        po = produced[np.argsort(lot_batch[produced], kind="stable")]
        self.out_ptr = _ptr(lot_batch[po], nb)
        self.out_lots = po.astype(np.int64)
        self.lot_batch = lot_batch
        self.stage = stage
        self.tested = tested
        self.n_consumers = np.diff(self.lot_ptr)
        self._reaches: dict[int, BoolA] = {}

    def consumers(self, lots: I64) -> I64:
        return _uniq(_gather(self.lot_ptr, self.lot_batches, lots)[1])

    def next_batches(self, batches: I64) -> I64:
        """Batches that consumed a lot produced by one of ``batches``."""
        return self.consumers(_gather(self.out_ptr, self.out_lots, batches)[1])

    def generations(self, lot: int, depth: int) -> list[I64]:
        """Batches having ``lot`` at depth 1, 2, ..., ``depth`` of their backward genealogy."""
        gens = [self.consumers(np.array([lot], dtype=np.int64))]
        while len(gens) < depth:
            gens.append(self.next_batches(gens[-1]))
        return gens

    def consumer_stages(self) -> tuple[I64, I64]:
        """Per lot: lowest and highest stage of its consumers (-1 when never consumed)."""
        lo = np.full(self.nl, -1, dtype=np.int64)
        hi = np.full(self.nl, -1, dtype=np.int64)
        rows = np.flatnonzero(self.n_consumers > 0)
        if len(rows):
            s = self.stage[self.lot_batches]
            lo[rows] = np.minimum.reduceat(s, self.lot_ptr[rows])
            hi[rows] = np.maximum.reduceat(s, self.lot_ptr[rows])
        return lo, hi

    def reaches_tested(self, t: int) -> BoolA:
        """Batches that are, or are upstream of, a tested batch of stage ``t``."""
        if t not in self._reaches:
            mask = np.zeros(self.nb, dtype=np.bool_)
            b = np.flatnonzero(self.tested & (self.stage == t))
            mask[b] = True
            while len(b):
                pr = self.lot_batch[_gather(self.batch_ptr, self.batch_lots, b)[1]]
                pr = _uniq(pr[pr >= 0])
                b = pr[~mask[pr]]
                mask[b] = True
            self._reaches[t] = mask
        return self._reaches[t]

    def same_consumers(self, lot: int, consumers: I64) -> bool:
        """Whether another purchased lot was consumed by exactly ``consumers``."""
        lots, cnt = _uniq_counts(_gather(self.batch_ptr, self.batch_lots, consumers)[1])
        n = len(consumers)
        same = (cnt == n) & (self.n_consumers[lots] == n) & (lots != lot)
        return bool((same & (self.lot_batch[lots] < 0)).any())

    def same_units(self, lot: int, units: I64, t: int) -> bool:
        """Whether another lot L has exactly ``units`` as its set D_L of descendant tested
        stage-``t`` batches (``units`` being D of ``lot``).

        Such an L is upstream of every unit (a common ancestor, found by a backward walk with
        each unit as its own origin) and reaches no other tested stage-``t`` batch: walking
        forward from L through the units' ancestors, no batch outside them may lead to one.
        """
        nl, nb, nu = self.nl, self.nb, len(units)
        anc = np.zeros(nb, dtype=np.bool_)
        anc[units] = True
        origin, b = np.arange(nu, dtype=np.int64), units
        pairs: list[I64] = []
        while len(b):
            own, lots = _gather(self.batch_ptr, self.batch_lots, b)
            o = origin[own]
            pairs.append(o * nl + lots)
            pr = self.lot_batch[lots]
            k = pr >= 0
            key = _uniq(o[k] * nb + pr[k])
            origin, b = key // nb, key % nb
            anc[b] = True
        ancestors = _uniq(np.concatenate(pairs)) % nl
        cand, cnt = _uniq_counts(ancestors)
        reach = self.reaches_tested(t)
        for other in cand[(cnt == nu) & (cand != lot)].tolist():
            fr = self.consumers(np.array([other], dtype=np.int64))
            while len(fr):
                if (reach[fr] & ~anc[fr]).any():
                    break  # D_other holds a tested stage-t batch outside the units
                fr = self.next_batches(fr[anc[fr] & (self.stage[fr] < t)])
            else:
                return True
        return False


class GenealogyStages(PlantState):
    """Production: the stages' batches, their inputs, purchased lots, the mass balance."""

    def _stage_inputs(self, k: int, prev: dict[str, I64]) -> tuple[I64, I64, I64, I64, I64, I64]:
        """Stage k>0 batches from the previous stage's lots; returns
        (site, start, input_qty, seg_batch_local, seg_lot_global, seg_qty)."""
        rng = self.rng
        st = STAGES[k]
        sites, starts, inputs = [], [], []
        seg_b, seg_l, seg_q = [], [], []
        nb_total = 0
        for s in st.sites:
            sel = np.flatnonzero(prev["dest"] == s)
            if len(sel) == 0:
                continue
            order = sel[np.argsort(prev["avail"][sel], kind="stable")]
            supply = prev["qty"][order]
            avail = prev["avail"][order]
            total = int(supply.sum())
            nominal = int(st.nominal_kg * 1000)
            nb = max(1, round(0.97 * total / nominal))
            w = rng.lognormal(0.0, 0.12, nb)
            demand = np.floor(w / w.sum() * (0.97 * total)).astype(np.int64)
            demand = np.maximum(demand, 1)
            si, di, q = _merge(supply, demand)
            keep = _drop_crumbs(di, q, demand, 0.03)
            si, di, q = si[keep], di[keep], q[keep]
            first = _group_starts(di)
            last_avail = np.maximum.reduceat(avail[si], first)
            bidx = di[first]
            gap = rng.uniform(2 * HOUR, 3 * DAY, len(bidx)).astype(np.int64)
            start = np.full(nb, -1, dtype=np.int64)
            start[bidx] = last_avail + gap
            got = np.zeros(nb, dtype=np.int64)
            np.add.at(got, di, q)
            ok = (start >= 0) & (start <= T_END - 2 * HOUR)
            remap = np.cumsum(ok) - 1 + nb_total
            segok = ok[di]
            seg_b.append(remap[di[segok]])
            seg_l.append(prev["gidx"][order][si[segok]])
            seg_q.append(q[segok])
            sites.append(np.full(int(ok.sum()), s, dtype=np.int64))
            starts.append(start[ok])
            inputs.append(got[ok])
            nb_total += int(ok.sum())
        if not sites:
            z = np.zeros(0, dtype=np.int64)
            return z, z, z, z, z, z
        return (
            np.concatenate(sites),
            np.concatenate(starts),
            np.concatenate(inputs),
            np.concatenate(seg_b),
            np.concatenate(seg_l),
            np.concatenate(seg_q),
        )

    def _run_stages(self, n_first: int) -> None:
        rng = self.rng
        prev: dict[str, I64] = {}
        for k, st in enumerate(STAGES):
            if k == 0:
                n = n_first
                site = np.array(st.sites)[
                    (rng.random(n)[:, None] > np.cumsum(st.site_p)[:-1]).sum(axis=1)
                ].astype(np.int64)
                k_open = int(np.clip(n // 100, 3, 50))  # a few batches still open at export
                start = np.sort(
                    np.r_[
                        rng.uniform(T0 + 5 * DAY, T_END - DAY, n - k_open),
                        rng.uniform(T_END - 6 * DAY, T_END - 3 * HOUR, k_open - 1),
                        rng.uniform(T_END - 9 * HOUR, T_END - 3 * HOUR, 1),  # still running
                    ]
                ).astype(np.int64)
                size = (st.nominal_kg * 1000 * rng.lognormal(0.0, 0.12, n)).astype(np.int64)
                seg_b = seg_l = seg_q = np.zeros(0, dtype=np.int64)
            else:
                site, start, got, seg_b, seg_l, seg_q = self._stage_inputs(k, prev)
                n = len(site)
                size = (got * st.yield_ * rng.lognormal(0.0, 0.03, n)).astype(np.int64)
            size = np.maximum(size, 1000)
            base = self.n_batch
            dur = rng.uniform(10 * HOUR, 60 * HOUR, n).astype(np.int64)
            complete = start + dur
            release = complete + rng.uniform(2 * DAY, 7 * DAY, n).astype(np.int64)
            status = np.full(n, B_REL, dtype=np.int64)
            in_prog = complete > T_END
            status[release > T_END] = B_REVIEW
            status[(release > T_END) & (complete > T_END - 2 * DAY)] = B_EXEC
            status[in_prog] = B_INPROG
            rej = (status == B_REL) & (rng.random(n) < 0.012)
            status[rej] = B_REJ
            self.b_stage.append(np.full(n, k, dtype=np.int64))
            self.b_site.append(site)
            self.b_start.append(start)
            self.b_complete.append(np.where(in_prog, -1, complete))
            self.b_release.append(np.where((status == B_REL) | (status == B_REJ), release, -1))
            self.b_status.append(status)
            self.b_size.append(size)
            self.n_batch += n
            # intermediate consumption, early in the batch
            if len(seg_b):
                at = start[seg_b] + rng.integers(5 * MINUTE, 2 * HOUR, len(seg_b))
                self.c_batch.append(seg_b + base)
                self.c_lot.append(seg_l)
                self.c_qty.append(seg_q)
                self.c_at.append(at)
            # purchased demands
            span = np.minimum(dur, np.maximum(T_END - 2 * HOUR - start, HOUR))
            for mat, ratio in st.recipe:
                q = (size * ratio * rng.lognormal(0.0, 0.06, n)).astype(np.int64)
                q = np.maximum(q, 1)
                at = start + (span * rng.uniform(0.05, 0.9, n)).astype(np.int64)
                self.d_batch.append(np.arange(base, base + n, dtype=np.int64))
                self.d_mat.append(np.full(n, mat, dtype=np.int64))
                self.d_site.append(site)
                self.d_qty.append(q)
                self.d_at.append(at)
            # outputs
            done = np.flatnonzero(~in_prog)
            two = rng.random(len(done)) < 0.3
            nout = 1 + two.astype(np.int64)
            ob = np.repeat(done, nout)
            first_share = np.where(two, rng.uniform(0.35, 0.65, len(done)), 1.0)
            q1 = (size[done] * first_share).astype(np.int64)
            q2 = size[done] - q1
            oq = np.empty(len(ob), dtype=np.int64)
            pos = np.cumsum(nout) - nout
            oq[pos] = q1
            oq[pos[two] + 1] = q2[two]
            bstat = status[ob]
            lstat = np.where(bstat == B_REL, L_REL, np.where(bstat == B_REJ, L_REJ, L_QUAR))
            created = complete[ob]
            avail = np.where(bstat == B_REL, release[ob], -1)
            origin = site[ob]
            # where each released lot goes next
            dest = np.full(len(ob), -1, dtype=np.int64)
            if k + 1 < len(STAGES):
                if k < FIN_STAGE:
                    cum = np.cumsum(np.array(_TRANSITIONS[k]), axis=1)[origin]
                    dest = (rng.random(len(ob))[:, None] > cum[:, :-1]).sum(axis=1)
                else:
                    to_api = rng.random(len(ob)) < np.array(_API_P)[origin]
                    dest = np.where(to_api, C, -1)
            dest = np.where(avail >= 0, dest, -1).astype(np.int64)
            moved = np.full(len(ob), -1, dtype=np.int64)
            mv = (dest >= 0) & (dest != origin)
            moved[mv] = avail[mv] + rng.uniform(12 * HOUR, 3 * DAY, int(mv.sum())).astype(np.int64)
            late = mv & (moved > T_END - HOUR)
            moved[late] = -1
            dest[late] = -1
            mv &= ~late
            cur_site = np.where(mv, dest, origin)
            avail_next = np.where(mv, moved + 2 * HOUR, avail)
            gidx = self._add_lots(
                np.full(len(ob), st.product, dtype=np.int64),
                np.full(len(ob), -1, dtype=np.int64),
                origin,
                cur_site,
                oq,
                created,
                avail_next,
                ob + base,
                lstat,
                moved,
            )
            prev = {"gidx": gidx, "qty": oq, "avail": avail_next, "dest": dest}

    def _purchase(self) -> None:
        rng = self.rng
        d_batch = np.concatenate(self.d_batch)
        d_mat = np.concatenate(self.d_mat)
        d_site = np.concatenate(self.d_site)
        d_qty = np.concatenate(self.d_qty)
        d_at = np.concatenate(self.d_at)
        key = d_mat * 3 + d_site
        order = np.lexsort((d_batch, d_at, key))
        d_batch, d_mat, d_site, d_qty, d_at, key = (
            x[order] for x in (d_batch, d_mat, d_site, d_qty, d_at, key)
        )
        first = _group_starts(key)
        ends = np.r_[first[1:], len(key)]
        n_streams = len(first)
        totals = np.add.reduceat(d_qty, first).astype(np.float64)
        mats = d_mat[first]
        slack = rng.uniform(0.03, 0.08, n_streams)
        lot_size = np.array([MATERIALS[m].lot_size * 1000 for m in mats])
        ideal = totals * (1 + slack) / lot_size
        solvent = np.array([MATERIALS[m].kind == "solvent" for m in mats])
        counts = np.zeros(n_streams, dtype=np.int64)
        counts[solvent] = np.maximum(1, np.ceil(ideal[solvent])).astype(np.int64)
        residual = self.n_lots - self.n_lot - int(counts.sum())
        other = np.flatnonzero(~solvent)
        if residual < len(other):
            raise ValueError(f"lots={self.n_lots} is too small for this plant (min {MIN_LOTS})")
        share = ideal[other] / ideal[other].sum() * (residual - len(other))
        base_c = np.floor(share).astype(np.int64)
        rem = residual - len(other) - int(base_c.sum())
        frac_order = np.argsort(-(share - base_c), kind="stable")
        base_c[frac_order[:rem]] += 1
        counts[other] = 1 + base_c
        sup_table = self._supplier_table()
        lot_base = self.n_lot
        for j in range(n_streams):
            a, b = int(first[j]), int(ends[j])
            m = int(mats[j])
            mat = MATERIALS[m]
            site = int(d_site[a])
            n = int(counts[j])
            demand = d_qty[a:b]
            dem_total = int(demand.sum())
            pack = max(1, int(mat.pack * 1000))
            w = rng.lognormal(0.0, 0.2, n)
            sizes = w / w.sum() * dem_total * (1 + slack[j])
            sizes = np.maximum(pack, np.round(sizes / pack) * pack).astype(np.int64)
            short = dem_total - int(sizes.sum())
            if short > 0:
                sizes[-1] += -(-short // pack) * pack
            si, di, q = _merge(sizes, demand)
            keep = _drop_crumbs(di, q, demand, 0.01)
            si, di, q = si[keep], di[keep], q[keep]
            at = d_at[a:b][di]
            self.c_batch.append(d_batch[a:b][di])
            self.c_lot.append(si + self.n_lot)
            self.c_qty.append(q)
            self.c_at.append(at)
            # creation: before first use, tail lots (unused stock) later
            used_lots, first_seg = np.unique(si, return_index=True)
            first_use = np.full(n, -1, dtype=np.int64)
            first_use[used_lots] = at[first_seg]
            lo, hi = mat.lead_days
            lead = (rng.uniform(lo, hi, n) * DAY).astype(np.int64)
            created = first_use - lead
            early = created < T0 + HOUR  # opening stock: received between New Year and first use
            created[early] = (
                T0
                + HOUR
                + ((first_use[early] - T0 - HOUR) * rng.uniform(0.2, 0.8, int(early.sum()))).astype(
                    np.int64
                )
            )
            unused = first_use < 0
            if unused.any():
                # stock not used yet: received over the last weeks before the export
                n_un = int(unused.sum())
                lo_t = T_END - 45 * DAY
                if (~unused).any():
                    lo_t = min(lo_t, int(created[~unused].max()))
                created[unused] = np.sort(rng.integers(lo_t, T_END - HOUR, n_un))
            # received centrally at SITE-A and moved for SITE-B / SITE-C streams
            origin = np.full(n, site, dtype=np.int64)
            moved = np.full(n, -1, dtype=np.int64)
            if site != A:
                mv = rng.random(n) < 0.25
                until = np.where(unused, created + rng.integers(DAY, 5 * DAY, n), first_use)
                t_mv = created + ((until - created) * rng.uniform(0.3, 0.8, n)).astype(np.int64)
                mv &= t_mv <= T_END - HOUR
                origin[mv] = A
                moved[mv] = t_mv[mv]
            cur = np.where(moved >= 0, site, origin)
            status = np.full(n, L_REL, dtype=np.int64)
            status[unused & (created > T_END - 10 * DAY)] = L_QUAR
            status[unused & (rng.random(n) < 0.04)] = L_REJ
            # supplier
            sups, probs = sup_table[m]
            sup = np.array(sups, dtype=np.int64)[
                (rng.random(n)[:, None] > np.cumsum(probs)[:-1]).sum(axis=1)
            ]
            disq = (sup == 11) & (created >= DISQUALIFIED_AT)
            sup[disq] = sups[0] if sups[0] != 11 else sups[1]
            self._add_lots(
                np.full(n, m, dtype=np.int64),
                sup,
                origin,
                cur,
                sizes,
                created,
                created,
                np.full(n, -1, dtype=np.int64),
                status,
                moved,
            )
        self.n_purchased = self.n_lot - lot_base
        self.purchased_base = lot_base

    def _supplier_table(self) -> dict[int, tuple[list[int], F64]]:
        rng = self.rng
        solv = [i for i, s in enumerate(SUPPLIERS) if s[4] == "s"]
        rr = [i for i, s in enumerate(SUPPLIERS) if s[4] == "rr"]
        table: dict[int, tuple[list[int], F64]] = {}
        for m in range(N_PURCHASED_MATS):
            pool = solv if MATERIALS[m].kind == "solvent" else rr
            k = 2 + int(rng.random() < 0.5)
            picks = [int(x) for x in rng.choice(pool, size=k, replace=False)]
            if picks[0] == 11:  # the disqualified supplier is never the primary one
                picks[0], picks[1] = picks[1], picks[0]
            p = np.array([0.6] + [0.4 / (k - 1)] * (k - 1))
            table[m] = (picks, p)
        return table

    def _planned_batches(self) -> None:
        rng = self.rng
        n = int(np.clip(self.n_lots // 2000, 2, 40))
        stage = rng.choice([2, 3, 4], n, p=[0.3, 0.5, 0.2]).astype(np.int64)
        site = np.where(stage == API_STAGE, C, rng.choice([B, C], n)).astype(np.int64)
        start = np.sort(rng.integers(T_END - 3 * DAY, T_END - HOUR, n)).astype(np.int64)
        self.bat_stage = np.r_[self.bat_stage, stage]
        self.bat_site = np.r_[self.bat_site, site]
        self.bat_start = np.r_[self.bat_start, start]
        self.bat_complete = np.r_[self.bat_complete, np.full(n, -1, dtype=np.int64)]
        self.bat_release = np.r_[self.bat_release, np.full(n, -1, dtype=np.int64)]
        self.bat_status = np.r_[self.bat_status, np.full(n, B_PLANNED, dtype=np.int64)]
        self.bat_size = np.r_[self.bat_size, np.zeros(n, dtype=np.int64)]

    def _balance(self) -> None:
        rng = self.rng
        n = self.n_lots
        consumed = np.bincount(self.con_lot, weights=self.con_qty, minlength=n)
        consumed = np.round(consumed).astype(np.int64)
        shipped = np.round(np.bincount(self.sh_lot, weights=self.sh_qty, minlength=n))
        shipped = shipped.astype(np.int64)
        on_hand = self.lot_qty - consumed - shipped
        assert (on_hand >= 0).all()
        status = self.lot_status.copy()
        status[(status == L_REL) & (on_hand == 0) & (consumed > 0)] = L_CONS
        # a few lots on hold
        cand = np.flatnonzero((status == L_REL) & (on_hand > 0))
        k = int(np.clip(n // 5000, 2, 40))
        self.hold_lots = np.sort(rng.choice(cand, min(k, len(cand)), replace=False))
        status[self.hold_lots] = L_HOLD
        # planted mass-balance shortfalls: the lot's quantity is larger than what is accounted
        k = int(np.clip(n // 20000, 3, 25))
        cand = np.flatnonzero((status == L_CONS) | ((shipped > 0) & (on_hand == 0)))
        short = np.sort(rng.choice(cand, min(k, len(cand)), replace=False))
        f = rng.uniform(0.02, 0.06, len(short))
        self.lot_qty = self.lot_qty.copy()
        self.lot_qty[short] = np.ceil(self.lot_qty[short] / (1 - f)).astype(np.int64)
        self.shortfall_lots = short
        self.lot_status = status
        self.lot_on_hand = on_hand
