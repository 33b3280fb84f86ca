"""Documents and e-signatures."""

from __future__ import annotations

import numpy as np

from ingest.synthetic.catalog import (
    APPROVED,
    AUTHORED,
    AWAITING_APPROVED,
    B_PLANNED,
    B_REJ,
    B_REL,
    B_REVIEW,
    BR,
    CAPA,
    COA,
    DOC_KINDS,
    DR,
    DRAFT,
    IN_REVIEW,
    MATERIALS,
    N_PURCHASED_MATS,
    OPERATOR,
    OVERRIDE_REASONS,
    OVERRIDE_SHARE,
    QA,
    QC,
    QCR,
    QP,
    RELEASED,
    REVIEWED,
    SCN,
    SIG_APPROVED,
    SIG_REJECTED,
    SOP,
    SUPERSEDED,
    SUPERVISOR,
    SUPPLY_CHAIN,
    T_BATCH,
    T_DEV,
    T_EQ,
    T_LOT,
    T_MAT,
    T_SUP,
    VERIFIED,
    A,
)
from ingest.synthetic.columns import (
    DAY,
    HOUR,
    I64,
    MINUTE,
    T0,
    T_END,
    U8,
    BoolA,
    Column,
    _col_take,
    _strings,
    _to_str,
)
from ingest.synthetic.masterdata import MasterData


class Documents(MasterData):
    """Documents with their versions, and e-signatures."""

    def _documents(self) -> None:
        """Document versions as arrays: kind, doc number within kind, version, created_at,
        created_by, status; documents: kind, owner index (batch / lot / deviation / ...)."""
        rng = self.rng
        d_kind: list[I64] = []
        d_owner: list[I64] = []
        d_first: list[I64] = []  # v1 created_at
        v_doc: list[I64] = []  # doc index (global)
        v_ver: list[I64] = []
        v_at: list[I64] = []
        v_by: list[I64] = []
        v_status: list[I64] = []
        n_docs = 0

        def add(kind: int, owner: I64, times: I64, authors: I64, statuses: I64, nver: I64) -> I64:
            """times/authors/statuses are per version, grouped per document (nver each)."""
            nonlocal n_docs
            nd = len(owner)
            d_kind.append(np.full(nd, kind, dtype=np.int64))
            d_owner.append(owner)
            starts = np.cumsum(nver) - nver
            d_first.append(times[starts])
            gidx = np.arange(n_docs, n_docs + nd, dtype=np.int64)
            v_doc.append(np.repeat(gidx, nver))
            v_ver.append(np.arange(len(times)) - np.repeat(starts, nver) + 1)
            v_at.append(times)
            v_by.append(authors)
            v_status.append(statuses)
            n_docs += nd
            return gidx

        def versions(n: int, p2: float, p3: float) -> I64:
            u = rng.random(n)
            return (1 + (u < p2 + p3) + (u < p3)).astype(np.int64)

        def spread(t0: I64, t1: I64, nver: I64) -> I64:
            """Version times: v1 at t0, later versions spread between t0 and t1."""
            rep0 = np.repeat(t0, nver)
            rep1 = np.repeat(t1, nver)
            vno = np.arange(int(nver.sum())) - np.repeat(np.cumsum(nver) - nver, nver)
            frac = vno / np.repeat(nver, nver) * 0.8 + np.where(vno > 0, 0.05, 0.0)
            return (rep0 + (rep1 - rep0) * frac).astype(np.int64) + vno * 10 * MINUTE

        def latest_mask(nver: I64) -> BoolA:
            m = np.zeros(int(nver.sum()), dtype=np.bool_)
            m[np.cumsum(nver) - 1] = True
            return m

        # batch records
        bs = np.flatnonzero(self.bat_status != B_PLANNED)
        st = self.bat_status[bs]
        closed = np.isin(st, [B_REL, B_REJ])
        nver = np.where(closed | (st == B_REVIEW), versions(len(bs), 0.09, 0.025), 1)
        t0 = np.where(self.bat_complete[bs] >= 0, self.bat_complete[bs], self.bat_start[bs])
        t0 = t0 + rng.integers(10 * MINUTE, 3 * HOUR, len(bs))
        t0 = np.minimum(t0, T_END - 30 * MINUTE)
        t1 = np.where(closed, self.bat_release[bs] - 6 * HOUR, T_END - 2 * HOUR)
        t1 = np.maximum(t1, t0)
        times = spread(t0, t1, nver)
        latest = latest_mask(nver)
        stat_latest = np.select([closed, st == B_REVIEW], [APPROVED, IN_REVIEW], DRAFT)
        statuses = np.where(latest, np.repeat(stat_latest, nver), SUPERSEDED)
        authors = self.person(OPERATOR, np.repeat(self.bat_site[bs], nver))
        self.br_docs = add(BR, bs, times, authors, statuses, nver)
        # CoAs
        coa = self.coa_lots
        nver = versions(len(coa), 0.02, 0.0)
        t0 = self.lot_created[coa] + rng.integers(HOUR, 8 * HOUR, len(coa))
        t0 = np.minimum(t0, T_END - 30 * MINUTE)
        t1 = np.minimum(t0 + 20 * DAY, T_END - HOUR)
        times = spread(t0, np.maximum(t1, t0), nver)
        latest = latest_mask(nver)
        statuses = np.where(latest, APPROVED, SUPERSEDED)
        authors = self.person(QC, np.repeat(self.lot_origin[coa], nver))
        self.coa_docs = add(COA, coa, times, authors, statuses, nver)
        # QC reports of final lots
        ql = self.qcr_lots
        ones = np.ones(len(ql), dtype=np.int64)
        self.qcr_docs = add(
            QCR,
            ql,
            self.qcr_at.astype(np.int64),
            self.person(QC, self.lot_origin[ql]),
            np.full(len(ql), APPROVED, dtype=np.int64),
            ones,
        )
        # deviation reports and CAPAs
        nd = len(self.dev_kind)
        has_dr = rng.random(nd) < 0.75
        dr = np.flatnonzero(has_dr)
        nver = versions(len(dr), 0.2, 0.05)
        t0 = np.minimum(
            self.dev_opened[dr] + rng.integers(HOUR, 3 * DAY, len(dr)), T_END - 30 * MINUTE
        )
        t1 = np.where(self.dev_closed[dr] >= 0, self.dev_closed[dr] - HOUR, T_END - HOUR)
        times = spread(t0, np.maximum(t1, t0), nver)
        latest = latest_mask(nver)
        dsite = np.where(
            self.dev_batch[dr] >= 0,
            self.bat_site[self.dev_batch[dr]],
            self.lot_site[self.hold_lots[np.maximum(self.dev_hold[dr], 0)]],
        )
        stat_latest = np.where(self.dev_closed[dr] >= 0, APPROVED, IN_REVIEW)
        statuses = np.where(latest, np.repeat(stat_latest, nver), SUPERSEDED)
        self.dr_docs = add(DR, dr, times, self.person(QA, np.repeat(dsite, nver)), statuses, nver)
        self.dr_site = dsite
        capa = np.flatnonzero((self.dev_sev >= 1) & (self.dev_closed >= 0) & (rng.random(nd) < 0.6))
        nver = versions(len(capa), 0.25, 0.0)
        t0 = self.dev_closed[capa] - rng.integers(DAY, 5 * DAY, len(capa))
        t0 = np.maximum(t0, self.dev_opened[capa] + HOUR)
        times = spread(t0, self.dev_closed[capa], nver)
        latest = latest_mask(nver)
        csite = np.where(
            self.dev_batch[capa] >= 0,
            self.bat_site[self.dev_batch[capa]],
            self.lot_site[self.hold_lots[np.maximum(self.dev_hold[capa], 0)]],
        )
        statuses = np.where(latest, APPROVED, SUPERSEDED)
        self.capa_docs = add(
            CAPA, capa, times, self.person(QA, np.repeat(csite, nver)), statuses, nver
        )
        # SOPs: equipment cleaning SOPs and material handling SOPs
        n_eq = len(self.eq_site)
        eq_pick = np.sort(rng.choice(n_eq, min(n_eq, 12 + n_eq // 10), replace=False))
        mat_pick = np.arange(N_PURCHASED_MATS, dtype=np.int64)
        sop_owner_kind = np.r_[np.full(len(eq_pick), T_EQ), np.full(len(mat_pick), T_MAT)]
        sop_owner = np.r_[eq_pick, mat_pick].astype(np.int64)
        nsop = len(sop_owner)
        nver = (1 + rng.integers(0, 4, nsop)).astype(np.int64)
        t0 = T0 - 0 + rng.integers(2 * HOUR, 10 * DAY, nsop)
        t1 = T_END - rng.integers(5 * DAY, 60 * DAY, nsop)
        times = spread(t0, t1, nver)
        latest = latest_mask(nver)
        statuses = np.where(latest, APPROVED, SUPERSEDED)
        ssite = np.where(
            sop_owner_kind == T_EQ, np.array(self.eq_site)[np.minimum(sop_owner, n_eq - 1)], A
        )
        self.sop_docs = add(
            SOP,
            np.arange(nsop, dtype=np.int64),
            times,
            self.person(QA, np.repeat(ssite, nver)),
            statuses,
            nver,
        )
        self.sop_owner_kind = sop_owner_kind
        self.sop_owner = sop_owner
        self.sop_site = ssite
        # supplier change notices
        ns = len(self.scn)
        t = np.array([r[2] for r in self.scn], dtype=np.int64) + rng.integers(HOUR, DAY, ns)
        self.scn_docs = add(
            SCN,
            np.arange(ns, dtype=np.int64),
            t,
            self.person(SUPPLY_CHAIN, np.zeros(ns, dtype=np.int64)),
            np.full(ns, APPROVED, dtype=np.int64),
            np.ones(ns, dtype=np.int64),
        )
        cat = np.concatenate
        self.doc_kind = cat(d_kind)
        self.doc_owner = cat(d_owner)
        self.doc_first = cat(d_first)
        self.ver_doc = cat(v_doc)
        self.ver_no = cat(v_ver)
        self.ver_at = cat(v_at)
        self.ver_by = cat(v_by)
        self.ver_status = cat(v_status)
        # document numbers within kind, in order of first version
        self.doc_no = np.zeros(len(self.doc_kind), dtype=np.int64)
        for k in range(len(DOC_KINDS)):
            sel = np.flatnonzero(self.doc_kind == k)
            order = sel[np.lexsort((sel, self.doc_first[sel]))]
            self.doc_no[order] = np.arange(1, len(order) + 1)

    def _signatures(self) -> None:
        rng = self.rng
        kind = self.doc_kind[self.ver_doc]
        owner = self.doc_owner[self.ver_doc]
        latest = np.r_[self.ver_doc[1:] != self.ver_doc[:-1], True]
        at = self.ver_at
        s_ver: list[I64] = []
        s_by: list[I64] = []
        s_mean: list[I64] = []
        s_at: list[I64] = []

        def sign(sel: I64, role: int, site: I64, meaning: int, when: I64) -> None:
            ok = when <= T_END - MINUTE
            s_ver.append(sel[ok])
            s_by.append(self.person(role, site[ok]))
            s_mean.append(np.full(int(ok.sum()), meaning, dtype=np.int64))
            s_at.append(when[ok])

        def r(sel: I64, lo: int, hi: int) -> I64:
            return rng.integers(lo, hi, len(sel)).astype(np.int64)

        def r_flow(gen: np.random.Generator, sel: I64, lo: int, hi: int) -> I64:
            return gen.integers(lo, hi, len(sel)).astype(np.int64)

        # batch records
        br = np.flatnonzero(kind == BR)
        b = owner[br]
        site = self.bat_site[b]
        st = self.bat_status[b]
        s_ver.append(br)
        s_by.append(self.ver_by[br])
        s_mean.append(np.full(len(br), AUTHORED, dtype=np.int64))
        s_at.append(at[br] + r(br, 1 * MINUTE, 40 * MINUTE))
        rev = np.isin(st, [B_REVIEW, B_REL, B_REJ]) | ~latest[br]
        sign(br[rev], SUPERVISOR, site[rev], REVIEWED, at[br][rev] + r(br[rev], HOUR, 5 * HOUR))
        fin = latest[br] & np.isin(st, [B_REL, B_REJ])
        rel = self.bat_release[b]
        sign(
            br[fin],
            QA,
            site[fin],
            SIG_APPROVED,
            np.maximum(rel[fin] - r(br[fin], 2 * HOUR, 5 * HOUR), at[br][fin] + 6 * HOUR),
        )
        # batches in review whose record QA approved already: they await release
        flow = np.random.default_rng([self.seed, 14])  # its own stream: the rest is unchanged
        waiting = latest[br] & (st == B_REVIEW) & (flow.random(len(br)) < AWAITING_APPROVED)
        sign(
            br[waiting],
            QA,
            site[waiting],
            SIG_APPROVED,
            at[br][waiting] + r_flow(flow, br[waiting], 6 * HOUR, 2 * DAY),
        )
        ok = fin & (st == B_REL)
        first_release = sum(len(x) for x in s_ver)
        sign(br[ok], QP, site[ok], RELEASED, np.maximum(rel[ok], at[br][ok] + 7 * HOUR))
        releases = np.arange(first_release, sum(len(x) for x in s_ver), dtype=np.int64)
        overrides = releases[flow.random(len(releases)) < OVERRIDE_SHARE]
        ok = fin & (st == B_REJ)
        sign(br[ok], QA, site[ok], SIG_REJECTED, np.maximum(rel[ok], at[br][ok] + 7 * HOUR))
        n_br_sigs = sum(len(x) for x in s_ver)
        # CoAs: verified by QC at the receiving site
        coa = np.flatnonzero(kind == COA)
        sign(coa, QC, self.lot_origin[owner[coa]], VERIFIED, at[coa] + r(coa, HOUR, 3 * DAY))
        # QC reports: authored by QC, approved by QA
        q = np.flatnonzero(kind == QCR)
        qsite = self.lot_origin[owner[q]]
        sign(q, QC, qsite, AUTHORED, at[q] + r(q, MINUTE, HOUR))
        sign(q, QA, qsite, SIG_APPROVED, at[q] + r(q, 2 * HOUR, 5 * HOUR))
        # deviation reports
        d = np.flatnonzero(kind == DR)
        dsite = np.repeat(
            self.dr_site,
            np.bincount(self.ver_doc[d] - self.ver_doc[d].min(), minlength=len(self.dr_site)),
        )
        sign(d, QA, dsite, AUTHORED, at[d] + r(d, MINUTE, HOUR))
        ok = (self.ver_status[d] != IN_REVIEW) | ~latest[d]
        sign(d[ok], SUPERVISOR, dsite[ok], REVIEWED, at[d][ok] + r(d[ok], HOUR, DAY))
        ok = latest[d] & (self.ver_status[d] == APPROVED)
        sign(d[ok], QA, dsite[ok], SIG_APPROVED, at[d][ok] + r(d[ok], 2 * DAY, 4 * DAY) // 4)
        # CAPA, SOP: authored + approved by QA
        for k in (CAPA, SOP):
            v = np.flatnonzero(kind == k)
            site = np.full(len(v), A, dtype=np.int64)
            if k == SOP:
                site = np.asarray(self.sop_site)[owner[v]].astype(np.int64)
            s_ver.append(v)
            s_by.append(self.ver_by[v])
            s_mean.append(np.full(len(v), AUTHORED, dtype=np.int64))
            s_at.append(at[v] + r(v, MINUTE, HOUR))
            sign(v, QA if k == SOP else QP, site, SIG_APPROVED, at[v] + r(v, 2 * HOUR, 20 * HOUR))
        v = np.flatnonzero(kind == SCN)
        sign(v, SUPPLY_CHAIN, np.zeros(len(v), dtype=np.int64), REVIEWED, at[v] + r(v, HOUR, DAY))
        sign(v, QA, np.zeros(len(v), dtype=np.int64), SIG_APPROVED, at[v] + r(v, DAY, 3 * DAY))
        cat = np.concatenate
        sv, sb, sm, sa = cat(s_ver), cat(s_by), cat(s_mean), cat(s_at)
        sa = np.minimum(sa, T_END - MINUTE)
        # tampered: a very few batch record signatures
        n_t = max(1 if self.n_lots >= 500 else 0, len(sv) // 500)
        tampered = np.sort(rng.choice(n_br_sigs, min(n_t, n_br_sigs), replace=False))
        order = np.lexsort((np.arange(len(sv)), sa))
        rank = np.empty_like(order)
        rank[order] = np.arange(len(order))
        self.sig_ver = sv[order]
        self.sig_by = sb[order]
        self.sig_meaning = sm[order]
        self.sig_at = sa[order]
        self.sig_tampered = np.sort(rank[tampered])
        # releases signed over open findings (a signed override): never a tampered one
        self.sig_override = np.setdiff1d(np.sort(rank[overrides]), self.sig_tampered)

    def _override_columns(
        self, n_signatures: int, dev_names: list[str], lot_names: list[str]
    ) -> list[Column]:
        """override_reason and overridden_findings of each signature: empty but for the
        release overrides, whose findings are their batch's deviation (else an input lot
        without a CoA, as QA saw it when signing)."""
        reason_idx = np.full(n_signatures, -1, dtype=np.int64)
        finding_idx = np.full(n_signatures, -1, dtype=np.int64)
        findings: list[str] = []
        dev_of: dict[int, int] = {}
        for d, b in enumerate(self.dev_batch.tolist()):
            if b >= 0:
                dev_of.setdefault(b, d)
        first_input: dict[int, int] = {}
        for b, lot in zip(self.con_batch.tolist(), self.con_lot.tolist(), strict=True):
            first_input.setdefault(b, lot)
        for k, i in enumerate(self.sig_override.tolist()):
            batch = int(self.doc_owner[self.ver_doc[self.sig_ver[i]]])
            if batch in dev_of:
                findings.append(f"deviation_open {dev_names[dev_of[batch]]}")
            else:
                findings.append(f"input_without_coa {lot_names[first_input.get(batch, 0)]}")
            reason_idx[i] = k % len(OVERRIDE_REASONS)
            finding_idx[i] = k
        return [
            _col_take(_strings(list(OVERRIDE_REASONS)), reason_idx),
            _col_take(_strings(findings), finding_idx),
        ]

    def _titles(
        self,
        doc_str: list[str],
        lot_ids: U8,
        batch_ids: U8,
        dev_ids: U8,
        mat_ids: U8,
        eq_ids: U8,
        sup_ids: U8,
    ) -> list[str]:
        nd = len(self.doc_kind)
        titles = [""] * nd
        for k in range(len(DOC_KINDS)):
            sel = np.flatnonzero(self.doc_kind == k)
            own = self.doc_owner[sel]
            if k == BR:
                names = _to_str(batch_ids[own])
                tt = [f"Batch record {x}" for x in names]
            elif k == COA:
                names = _to_str(self.sup_lot[own])
                mats = [MATERIALS[int(m)].name for m in self.lot_mat[own]]
                tt = [f"Certificate of analysis {x} {m}" for x, m in zip(names, mats, strict=True)]
            elif k == QCR:
                tt = [f"Release QC report {x}" for x in _to_str(lot_ids[own])]
            elif k == DR:
                tt = [f"Deviation report {x}" for x in _to_str(dev_ids[own])]
            elif k == CAPA:
                tt = [f"CAPA plan {x}" for x in _to_str(dev_ids[own])]
            elif k == SOP:
                tt = []
                for o in own:
                    if self.sop_owner_kind[o] == T_EQ:
                        tt.append(f"Cleaning and changeover of {self.eq_code[self.sop_owner[o]]}")
                    else:
                        tt.append(f"Handling and storage of {MATERIALS[self.sop_owner[o]].name}")
            else:
                tt = [f"Supplier change notice SCN-{int(o) + 1:04d}" for o in own]
            for i, t in zip(sel, tt, strict=True):
                titles[int(i)] = t
        return titles

    def _document_links(self) -> tuple[I64, I64, I64]:
        dk, own = self.doc_kind, self.doc_owner
        ld: list[I64] = []
        lk: list[I64] = []
        lt: list[I64] = []

        def add(docs: I64, kind: int, targets: I64) -> None:
            ok = targets >= 0
            ld.append(docs[ok])
            lk.append(np.full(int(ok.sum()), kind, dtype=np.int64))
            lt.append(targets[ok])

        br = np.flatnonzero(dk == BR)
        add(br, T_BATCH, own[br])
        coa = np.flatnonzero(dk == COA)
        add(coa, T_LOT, own[coa])
        q = np.flatnonzero(dk == QCR)
        add(q, T_LOT, own[q])
        dr = np.flatnonzero(dk == DR)
        add(dr, T_DEV, own[dr])
        add(dr, T_BATCH, self.dev_batch[own[dr]])
        cp = np.flatnonzero(dk == CAPA)
        add(cp, T_DEV, own[cp])
        sop = np.flatnonzero(dk == SOP)
        okind = self.sop_owner_kind[own[sop]]
        add(sop[okind == T_EQ], T_EQ, self.sop_owner[own[sop]][okind == T_EQ])
        add(sop[okind == T_MAT], T_MAT, self.sop_owner[own[sop]][okind == T_MAT])
        scn = np.flatnonzero(dk == SCN)
        add(scn, T_SUP, np.array([self.scn[int(o)][0] for o in own[scn]], dtype=np.int64))
        add(scn, T_MAT, np.array([self.scn[int(o)][1] for o in own[scn]], dtype=np.int64))
        cat = np.concatenate
        return cat(ld), cat(lk), cat(lt)
