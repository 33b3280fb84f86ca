"""Writing the canonical bundle: every file, column-wise."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ingest.synthetic.catalog import (
    _MAT,
    ANALYTES,
    BATCH_STATUS,
    COUNTRIES,
    DOC_KINDS,
    DOC_PREFIX,
    FILES,
    LOGISTICS,
    LOT_STATUS,
    MATERIALS,
    MEANINGS,
    METHODS,
    ROLES,
    SITES,
    STAGES,
    SUPPLIER_LOT_PREFIX,
    SUPPLIERS,
    TARGET_KINDS,
    TR_UNITS,
    VERSION_STATUS,
    PlantSummary,
)
from ingest.synthetic.columns import (
    DAY,
    EXPORTED_AT,
    I64,
    TIMEZONE,
    U8,
    Column,
    _ambiguous,
    _civil,
    _col_date,
    _col_fixed3,
    _col_num,
    _col_pick,
    _col_seq,
    _col_take,
    _col_ts,
    _col_ts_fixed,
    _const,
    _digits,
    _hcat,
    _ids,
    _local_year,
    _strings,
    _to_str,
    _write_matrix,
    _write_rows,
    _zurich_offset,
)
from ingest.synthetic.documents import Documents
from ingest.synthetic.genealogy import _group_starts, _sha


@dataclass(frozen=True, slots=True)
class _FileIds:
    """The ids the files name (byte matrices, row i the id of entity i) and the orders
    they are written in."""

    n: int
    lot_order: I64
    lot_seq: I64
    lot_ids: U8
    nb: int
    b_order: I64
    b_seq: I64
    batch_ids: U8
    sup_ids: U8
    mat_ids: U8
    eq_ids: U8
    site_ids: U8
    npp: int
    people_ids: U8
    nd: int
    dev_ids: U8
    cust_ids: U8
    doc_ids: U8
    units: U8
    lot_unit: I64
    target_mats: list[U8]


class Writing(Documents):
    """The bundle's files, written column-wise."""

    def write(self, out: Path) -> PlantSummary:
        """Write every file of the bundle and bundle.json into ``out``; each file's random
        draws come in a fixed order, so one seed gives the same bytes."""
        out.mkdir(parents=True, exist_ok=True)
        rows: dict[str, int] = {}
        ids = self._file_ids()
        self._write_master_tables(out, ids, rows)
        self._write_lots(out, ids, rows)
        self._write_batches(out, ids, rows)
        self._write_consumptions(out, ids, rows)
        self._write_outputs(out, ids, rows)
        self._write_shipments(out, ids, rows)
        self._write_movements(out, ids, rows)
        hash_m, ver_pos = self._write_documents(out, ids, rows)
        self._write_document_links(out, ids, rows)
        sig_w, tam_ids = self._write_signatures(out, ids, rows, hash_m, ver_pos)
        self._write_deviations(out, ids, rows)
        rows["test_results.csv"] = self._write_tests(
            out, ids.lot_ids, ids.batch_ids, ids.doc_ids, self._ts_col
        )
        self._write_supplier_changes(out, rows)
        return self._write_summary(out, ids, rows, sig_w, tam_ids)

    def _style(self, k: int) -> I64:
        u = self.rng.random(k)
        return np.where(u < 0.55, 0, np.where(u < 0.85, 1, 2)).astype(np.int64)

    def _ts_col(self, t: I64) -> Column:
        s = self._style(len(t))
        s[_ambiguous(t) & (s == 0)] = 1
        return _col_ts(t, s)

    def _file_ids(self) -> _FileIds:
        """The ids every file names, rendered once (no random draw)."""
        n = self.n_lots
        lot_order = np.lexsort((np.arange(n), self.lot_created))
        lot_seq = np.empty(n, dtype=np.int64)
        lot_seq[lot_order] = np.arange(1, n + 1)
        lot_ids = _ids("L", lot_seq, max(6, len(str(n))), _local_year(self.lot_created))
        nb = len(self.bat_stage)
        b_order = np.lexsort((np.arange(nb), self.bat_start))
        b_seq = np.empty(nb, dtype=np.int64)
        b_seq[b_order] = np.arange(1, nb + 1)
        batch_ids = _ids("B", b_seq, max(6, len(str(nb))), _local_year(self.bat_start))
        sup_ids = _strings([s[0] for s in SUPPLIERS])
        mat_ids = _strings([m.id for m in MATERIALS])
        eq_ids = _strings(self.eq_code)
        site_ids = _strings(list(SITES))
        npp = len(self.p_site)
        people_ids = _ids("U", np.arange(1, npp + 1, dtype=np.int64), max(3, len(str(npp))))
        nd = len(self.dev_kind)
        dev_ids = _ids("DEV", np.arange(1, nd + 1, dtype=np.int64), max(4, len(str(nd))))
        cust_ids = _ids(
            "CUST", np.arange(1, self.n_cust + 1, dtype=np.int64), max(2, len(str(self.n_cust)))
        )
        ndoc = len(self.doc_kind)
        doc_parts = []
        for k in range(len(DOC_KINDS)):
            cnt = int((self.doc_kind == k).sum())
            doc_parts.append((k, max(4, len(str(cnt)))))
        doc_w = max(len(DOC_PREFIX[k]) + 1 + w for k, w in doc_parts)
        doc_ids = np.zeros((ndoc + 1, doc_w), dtype=np.uint8)
        for k, w in doc_parts:
            sel = np.flatnonzero(self.doc_kind == k)
            m = _ids(DOC_PREFIX[k], self.doc_no[sel], w)[:-1]
            doc_ids[sel, : m.shape[1]] = m
        unit_code = np.array([0 if m.unit == "kg" else 1 for m in MATERIALS])
        units = _strings(["kg", "L", "g", "mL"])
        lot_unit = unit_code[self.lot_mat]
        target_mats = [lot_ids, batch_ids, sup_ids, mat_ids, dev_ids, eq_ids]
        return _FileIds(
            n=n,
            lot_order=lot_order,
            lot_seq=lot_seq,
            lot_ids=lot_ids,
            nb=nb,
            b_order=b_order,
            b_seq=b_seq,
            batch_ids=batch_ids,
            sup_ids=sup_ids,
            mat_ids=mat_ids,
            eq_ids=eq_ids,
            site_ids=site_ids,
            npp=npp,
            people_ids=people_ids,
            nd=nd,
            dev_ids=dev_ids,
            cust_ids=cust_ids,
            doc_ids=doc_ids,
            units=units,
            lot_unit=lot_unit,
            target_mats=target_mats,
        )

    def _write_master_tables(self, out: Path, ids: _FileIds, rows: dict[str, int]) -> None:
        """suppliers, materials, equipment, people, customers."""
        npp, people_ids, cust_ids = (
            ids.npp,
            ids.people_ids,
            ids.cust_ids,
        )
        rows["suppliers.csv"] = _write_rows(
            out / "suppliers.csv",
            ["supplier_id", "name", "country", "status"],
            [[s[0], s[1], s[2], s[3]] for s in SUPPLIERS],
        )
        rows["materials.csv"] = _write_rows(
            out / "materials.csv",
            ["material_id", "name", "kind", "unit"],
            [[m.id, m.name, m.kind, m.unit] for m in MATERIALS],
        )
        rows["equipment.csv"] = _write_rows(
            out / "equipment.csv",
            ["equipment_id", "name", "kind", "site"],
            [
                [
                    self.eq_code[i],
                    f"{self.eq_name[i]} {self.eq_code[i]}",
                    self.eq_kind[i],
                    SITES[self.eq_site[i]],
                ]
                for i in range(len(self.eq_code))
            ],
        )
        people_str = _to_str(people_ids[:-1])
        rows["people.csv"] = _write_rows(
            out / "people.csv",
            ["person_id", "name", "role", "site"],
            [
                [people_str[i], self.p_name[i], ROLES[self.p_role[i]], SITES[self.p_site[i]]]
                for i in range(npp)
            ],
        )
        cust_str = _to_str(cust_ids[:-1])
        rows["customers.csv"] = _write_rows(
            out / "customers.csv",
            ["customer_id", "name", "country"],
            [
                [
                    cust_str[i],
                    self.cust_name[i],
                    "" if i % 17 == 16 else COUNTRIES[int(self.cust_country[i])],
                ]
                for i in range(self.n_cust)
            ],
        )

    def _write_lots(self, out: Path, ids: _FileIds, rows: dict[str, int]) -> None:
        """lots.csv; keeps the supplier lot numbers (``self.sup_lot``)."""
        rng = self.rng
        ts_col = self._ts_col
        n, lot_order, lot_seq, lot_ids, sup_ids, mat_ids, site_ids, units, lot_unit = (
            ids.n,
            ids.lot_order,
            ids.lot_seq,
            ids.lot_ids,
            ids.sup_ids,
            ids.mat_ids,
            ids.site_ids,
            ids.units,
            ids.lot_unit,
        )
        o = lot_order
        purchased = self.lot_sup >= 0
        shelf = np.where(np.isin(self.lot_mat, [_MAT["MAT-FIN"], _MAT["MAT-API"]]), 730, -1)
        shelf = np.where(purchased, rng.integers(365, 1096, n), shelf)
        shelf[purchased & (rng.random(n) < 0.1)] = -1
        local_days = (self.lot_created + _zurich_offset(self.lot_created)) // DAY
        expiry = np.where(shelf >= 0, local_days + shelf, -1)
        sup_lot_w = 14
        sup_lot = np.zeros((n + 1, sup_lot_w), dtype=np.uint8)
        pidx = np.flatnonzero(purchased)
        if len(pidx):
            # supplier lot numbers: supplier prefix, yymm, running number per supplier
            prefixes = _strings(list(SUPPLIER_LOT_PREFIX))
            sp = self.lot_sup[pidx]
            y, mo, _ = _civil(local_days[pidx])
            porder = np.lexsort((lot_seq[pidx], sp))
            run = np.empty(len(pidx), dtype=np.int64)
            starts = _group_starts(sp[porder])
            counts = np.diff(np.r_[starts, len(porder)])
            run[porder] = np.arange(len(porder)) - np.repeat(starts, counts) + 1001
            m = _hcat(
                [
                    prefixes[sp],
                    _digits(y % 100, 2),
                    _digits(mo, 2),
                    _const("-", len(pidx)),
                    _digits(run, 6),
                ]
            )
            sup_lot[pidx, : m.shape[1]] = m
        self.sup_lot = sup_lot
        on_hand = self.lot_on_hand
        rows["lots.csv"] = _write_matrix(
            out / "lots.csv",
            [
                "lot_id",
                "material_id",
                "supplier_id",
                "supplier_lot",
                "site",
                "quantity",
                "unit",
                "status",
                "created_at",
                "expiry",
                "on_hand",
            ],
            [
                _col_take(lot_ids, o),
                _col_take(mat_ids, self.lot_mat[o]),
                _col_take(sup_ids, self.lot_sup[o]),
                _col_take(sup_lot, np.where(purchased, np.arange(n), -1)[o]),
                _col_take(site_ids, self.lot_site[o]),
                _col_fixed3(self.lot_qty[o]),
                _col_take(units, lot_unit[o]),
                _col_take(_strings(list(LOT_STATUS)), self.lot_status[o]),
                ts_col(self.lot_created[o]),
                _col_date(expiry[o]),
                _col_fixed3(on_hand[o]),
            ],
            n,
        )

    def _write_batches(self, out: Path, ids: _FileIds, rows: dict[str, int]) -> None:
        """batches.csv."""
        ts_col = self._ts_col
        nb, b_order, batch_ids, mat_ids, eq_ids, site_ids = (
            ids.nb,
            ids.b_order,
            ids.batch_ids,
            ids.mat_ids,
            ids.eq_ids,
            ids.site_ids,
        )
        bo = b_order
        prod = np.array([s.product for s in STAGES])[self.bat_stage]
        rows["batches.csv"] = _write_matrix(
            out / "batches.csv",
            [
                "batch_id",
                "product_material_id",
                "site",
                "equipment_id",
                "started_at",
                "completed_at",
                "status",
            ],
            [
                _col_take(batch_ids, bo),
                _col_take(mat_ids, prod[bo]),
                _col_take(site_ids, self.bat_site[bo]),
                _col_take(eq_ids, self.bat_eq[bo]),
                ts_col(self.bat_start[bo]),
                ts_col(self.bat_complete[bo]),
                _col_take(_strings(list(BATCH_STATUS)), self.bat_status[bo]),
            ],
            nb,
        )

    def _write_consumptions(self, out: Path, ids: _FileIds, rows: dict[str, int]) -> None:
        """consumptions.csv (by batch, then time), a few in g / mL."""
        rng = self.rng
        ts_col = self._ts_col
        lot_seq, lot_ids, b_seq, batch_ids, units, lot_unit = (
            ids.lot_seq,
            ids.lot_ids,
            ids.b_seq,
            ids.batch_ids,
            ids.units,
            ids.lot_unit,
        )
        co = np.lexsort((lot_seq[self.con_lot], self.con_at, b_seq[self.con_batch]))
        c_lot = self.con_lot[co]
        c_qty = self.con_qty[co]
        c_unit = lot_unit[c_lot]
        small = (c_qty < 50_000) & (rng.random(len(co)) < 0.15)
        small |= rng.random(len(co)) < 0.004
        c_unit = np.where(small, c_unit + 2, c_unit)
        c_val = np.where(small, c_qty * 1000, c_qty)
        rows["consumptions.csv"] = _write_matrix(
            out / "consumptions.csv",
            ["batch_id", "lot_id", "quantity", "unit", "consumed_at"],
            [
                _col_take(batch_ids, self.con_batch[co]),
                _col_take(lot_ids, c_lot),
                _col_fixed3(c_val),
                _col_take(units, c_unit),
                ts_col(self.con_at[co]),
            ],
            len(co),
        )

    def _write_outputs(self, out: Path, ids: _FileIds, rows: dict[str, int]) -> None:
        """outputs.csv."""
        lot_seq, lot_ids, b_seq, batch_ids, units, lot_unit = (
            ids.lot_seq,
            ids.lot_ids,
            ids.b_seq,
            ids.batch_ids,
            ids.units,
            ids.lot_unit,
        )
        produced = np.flatnonzero(self.lot_batch >= 0)
        po = produced[np.lexsort((lot_seq[produced], b_seq[self.lot_batch[produced]]))]
        rows["outputs.csv"] = _write_matrix(
            out / "outputs.csv",
            ["batch_id", "lot_id", "quantity", "unit"],
            [
                _col_take(batch_ids, self.lot_batch[po]),
                _col_take(lot_ids, po),
                _col_fixed3(self.lot_qty[po]),
                _col_take(units, lot_unit[po]),
            ],
            len(po),
        )

    def _write_shipments(self, out: Path, ids: _FileIds, rows: dict[str, int]) -> None:
        """shipments.csv."""
        style = self._style
        lot_ids, cust_ids, units, lot_unit = (
            ids.lot_ids,
            ids.cust_ids,
            ids.units,
            ids.lot_unit,
        )
        ns = len(self.sh_no)
        sh_ids = _ids("SH", self.sh_no + 1, max(6, len(str(self.n_ship_groups))))
        rows["shipments.csv"] = _write_matrix(
            out / "shipments.csv",
            ["shipment_id", "lot_id", "customer_id", "quantity", "unit", "shipped_at"],
            [
                _col_take(sh_ids, np.arange(ns, dtype=np.int64)),
                _col_take(lot_ids, self.sh_lot),
                _col_take(cust_ids, self.sh_cust),
                _col_fixed3(self.sh_qty),
                _col_take(units, lot_unit[self.sh_lot]),
                _col_ts_fixed(self.sh_no, self.sh_at, style(self.n_ship_groups)),
            ],
            ns,
        )

    def _write_movements(self, out: Path, ids: _FileIds, rows: dict[str, int]) -> None:
        """movements.csv."""
        rng = self.rng
        ts_col = self._ts_col
        lot_seq, lot_ids, site_ids, people_ids = (
            ids.lot_seq,
            ids.lot_ids,
            ids.site_ids,
            ids.people_ids,
        )
        mv = np.flatnonzero(self.lot_moved >= 0)
        mv = mv[np.lexsort((lot_seq[mv], self.lot_moved[mv]))]
        mover = self.person(LOGISTICS, self.lot_origin[mv])
        mover[rng.random(len(mv)) < 0.1] = -1
        rows["movements.csv"] = _write_matrix(
            out / "movements.csv",
            ["lot_id", "from_site", "to_site", "quantity", "moved_at", "moved_by"],
            [
                _col_take(lot_ids, mv),
                _col_take(site_ids, self.lot_origin[mv]),
                _col_take(site_ids, self.lot_site[mv]),
                _col_fixed3(self.lot_qty[mv]),
                ts_col(self.lot_moved[mv]),
                _col_take(people_ids, mover),
            ],
            len(mv),
        )

    def _write_documents(self, out: Path, ids: _FileIds, rows: dict[str, int]) -> tuple[U8, I64]:
        """documents.csv; the versions' content hashes, and each version's row."""
        ts_col = self._ts_col
        lot_ids, batch_ids, sup_ids, mat_ids, eq_ids, people_ids, dev_ids, doc_ids = (
            ids.lot_ids,
            ids.batch_ids,
            ids.sup_ids,
            ids.mat_ids,
            ids.eq_ids,
            ids.people_ids,
            ids.dev_ids,
            ids.doc_ids,
        )
        # the content hash needs each row's text, hashed in a tight loop
        vo = np.lexsort((self.ver_no, self.doc_no[self.ver_doc], self.doc_kind[self.ver_doc]))
        nvo = len(vo)
        v_doc = self.ver_doc[vo]
        v_at_col = ts_col(self.ver_at[vo])  # the same rendering is hashed and written
        doc_str = _to_str(doc_ids[:-1])
        title = self._titles(doc_str, lot_ids, batch_ids, dev_ids, mat_ids, eq_ids, sup_ids)
        joined = "\n".join(title)  # titles go unquoted into CSV and JSON: keep them plain
        assert joined.count("\n") == len(title) - 1 and not any(c in joined for c in ',"\\')
        del joined
        # per document: the part of the canonical JSON after created_by
        tail = [
            f'","document_id":"{did}","kind":"{DOC_KINDS[k]}","title":"{t}","version":'
            for did, k, t in zip(doc_str, self.doc_kind.tolist(), title, strict=True)
        ]
        v_by = self.ver_by[vo]
        v_no = self.ver_no[vo]
        hash_m = np.zeros((nvo + 1, 64), dtype=np.uint8)
        sha = hashlib.sha256
        step = 200_000
        for a in range(0, nvo, step):
            b = min(nvo, a + step)
            hashes = [
                sha(
                    f'{{"created_at":"{at}","created_by":"{by}{tail[d]}{ver}}}'.encode()
                ).hexdigest()
                for at, by, d, ver in zip(
                    _to_str(v_at_col(a, b)),
                    _to_str(people_ids[v_by[a:b]]),
                    v_doc[a:b].tolist(),
                    v_no[a:b].tolist(),
                    strict=True,
                )
            ]
            hash_m[a:b] = _strings(hashes)[:-1]
        del tail
        title_m = _strings(title)
        del title, doc_str
        rows["documents.csv"] = _write_matrix(
            out / "documents.csv",
            [
                "document_id",
                "version",
                "kind",
                "title",
                "content_sha256",
                "created_at",
                "created_by",
                "status",
            ],
            [
                _col_take(doc_ids, v_doc),
                _col_num(v_no),
                _col_take(_strings(list(DOC_KINDS)), self.doc_kind[v_doc]),
                _col_take(title_m, v_doc),
                lambda a, b: hash_m[a:b],
                v_at_col,
                _col_take(people_ids, v_by),
                _col_take(_strings(list(VERSION_STATUS)), self.ver_status[vo]),
            ],
            nvo,
        )
        del title_m
        # version index (original order) -> position in documents.csv
        ver_pos = np.empty(nvo, dtype=np.int64)
        ver_pos[vo] = np.arange(nvo)
        return hash_m, ver_pos

    def _write_document_links(self, out: Path, ids: _FileIds, rows: dict[str, int]) -> None:
        """document_links.csv."""
        doc_ids, target_mats = (
            ids.doc_ids,
            ids.target_mats,
        )
        lk_doc, lk_kind, lk_target = self._document_links()
        lo = np.lexsort((lk_target, lk_kind, self.doc_no[lk_doc], self.doc_kind[lk_doc]))
        lk_doc, lk_kind, lk_target = lk_doc[lo], lk_kind[lo], lk_target[lo]
        rows["document_links.csv"] = _write_matrix(
            out / "document_links.csv",
            ["document_id", "target_kind", "target_id"],
            [
                _col_take(doc_ids, lk_doc),
                _col_take(_strings(list(TARGET_KINDS)), lk_kind),
                _col_pick(target_mats, lk_kind, lk_target),
            ],
            len(lk_doc),
        )

    def _write_signatures(
        self, out: Path, ids: _FileIds, rows: dict[str, int], hash_m: U8, ver_pos: I64
    ) -> tuple[int, list[str]]:
        """signatures.csv; the width of a signature id and the tampered ones' ids."""
        ts_col = self._ts_col
        lot_ids, people_ids, dev_ids, doc_ids = (
            ids.lot_ids,
            ids.people_ids,
            ids.dev_ids,
            ids.doc_ids,
        )
        nsg = len(self.sig_ver)
        sig_w = max(6, len(str(nsg)))
        sig_ids = _ids("SIG", self.sig_tampered + 1, sig_w)
        rec = ver_pos[self.sig_ver]
        fakes: dict[int, U8] = {}
        for t_i in self.sig_tampered.tolist():
            orig = hash_m[rec[t_i]].tobytes().decode()
            fake = _sha(f"tampered:{self.seed}:{t_i}:{orig}")
            fakes[t_i] = np.frombuffer(fake.encode(), dtype=np.uint8)
        tam_ids = _to_str(sig_ids[:-1])

        def record_col(a: int, b: int) -> U8:
            m = hash_m[rec[a:b]]
            for t_i, fake in fakes.items():
                if a <= t_i < b:
                    m[t_i - a] = fake
            return m

        rows["signatures.csv"] = _write_matrix(
            out / "signatures.csv",
            [
                "signature_id",
                "document_id",
                "document_version",
                "signer_id",
                "meaning",
                "signed_at",
                "record_sha256",
                "override_reason",
                "overridden_findings",
            ],
            [
                _col_seq("SIG", sig_w),
                _col_take(doc_ids, self.ver_doc[self.sig_ver]),
                _col_num(self.ver_no[self.sig_ver]),
                _col_take(people_ids, self.sig_by),
                _col_take(_strings(list(MEANINGS)), self.sig_meaning),
                ts_col(self.sig_at),
                record_col,
                *self._override_columns(nsg, _to_str(dev_ids[:-1]), _to_str(lot_ids[:-1])),
            ],
            nsg,
        )
        return sig_w, tam_ids

    def _write_deviations(self, out: Path, ids: _FileIds, rows: dict[str, int]) -> None:
        """deviations.csv and deviation_links.csv."""
        ts_col = self._ts_col
        nd, dev_ids, target_mats = (
            ids.nd,
            ids.dev_ids,
            ids.target_mats,
        )
        dev_str = _to_str(dev_ids[:-1])
        op_s = _to_str(ts_col(self.dev_opened)(0, nd))
        cl_s = _to_str(ts_col(self.dev_closed)(0, nd))
        sev_names = ("minor", "major", "critical")
        st_names = ("open", "investigating", "closed")
        rows["deviations.csv"] = _write_rows(
            out / "deviations.csv",
            [
                "deviation_id",
                "severity",
                "category",
                "status",
                "opened_at",
                "closed_at",
                "description",
            ],
            [
                [
                    dev_str[i],
                    sev_names[self.dev_sev[i]],
                    self.dev_cat[i],
                    st_names[self.dev_status[i]],
                    op_s[i],
                    cl_s[i],
                    self.dev_desc[i],
                ]
                for i in range(nd)
            ],
        )
        rows["deviation_links.csv"] = _write_matrix(
            out / "deviation_links.csv",
            ["deviation_id", "target_kind", "target_id"],
            [
                _col_take(dev_ids, self.dl_dev),
                _col_take(_strings(list(TARGET_KINDS)), self.dl_kind),
                _col_pick(target_mats, self.dl_kind, self.dl_target),
            ],
            len(self.dl_dev),
        )

    def _write_supplier_changes(self, out: Path, rows: dict[str, int]) -> None:
        """supplier_changes.csv."""
        ts_col = self._ts_col
        scn_rows = []
        sup_s = [s[0] for s in SUPPLIERS]
        ns2 = len(self.scn)
        nt = _to_str(ts_col(np.array([r[2] for r in self.scn], dtype=np.int64))(0, ns2))
        et = _to_str(ts_col(np.array([r[3] for r in self.scn], dtype=np.int64))(0, ns2))
        for i, (s_i, m_i, _, _, text) in enumerate(self.scn):
            scn_rows.append(
                [
                    f"SCN-{i + 1:04d}",
                    sup_s[s_i],
                    MATERIALS[m_i].id if m_i >= 0 else "",
                    text,
                    nt[i],
                    et[i],
                ]
            )
        rows["supplier_changes.csv"] = _write_rows(
            out / "supplier_changes.csv",
            [
                "change_id",
                "supplier_id",
                "material_id",
                "description",
                "notified_at",
                "effective_at",
            ],
            scn_rows,
        )

    def _write_summary(
        self, out: Path, ids: _FileIds, rows: dict[str, int], sig_w: int, tam_ids: list[str]
    ) -> PlantSummary:
        """bundle.json with the planted facts, and what was written."""
        n, lot_ids, batch_ids = (
            ids.n,
            ids.lot_ids,
            ids.batch_ids,
        )
        sup_lot = self.sup_lot

        def lot_facts(lot: int) -> dict[str, Any]:
            return {
                "analyte": "Impurity B",
                "supplier_lot": _to_str(sup_lot[[lot]])[0],
                "supplier": SUPPLIERS[int(self.lot_sup[lot])][0],
                "material": MATERIALS[int(self.lot_mat[lot])].id,
                "lot": _to_str(lot_ids[[lot]])[0],
            }

        planted = {
            **lot_facts(self.planted_lot),
            "depth": self.impurity_depth,
            "product": MATERIALS[STAGES[self.planted_stage].product].id,
            "units": sorted(_to_str(batch_ids[self.planted_units])),
        }
        drift_stage = int(self.bat_stage[self.drift_units[0]])
        drift = {
            **lot_facts(self.drift_lot),
            "product": MATERIALS[STAGES[drift_stage].product].id,
            "method": METHODS[1],
            "units": sorted(_to_str(batch_ids[self.drift_units])),
        }
        shortfalls = sorted(_to_str(lot_ids[self.shortfall_lots]))
        overrides = _to_str(_ids("SIG", self.sig_override + 1, sig_w)[:-1])
        bundle = {
            "source": f"SYNTH-{self.seed}",
            "timezone": TIMEZONE,
            "exported_at": EXPORTED_AT,
            "synthetic": {
                "seed": self.seed,
                "lots": self.n_lots,
                "planted": planted,
                "drift": drift,
                "mass_balance_shortfalls": shortfalls,
                "tampered_signatures": tam_ids,
                "release_overrides": overrides,
            },
        }
        (out / "bundle.json").write_text(
            json.dumps(bundle, indent=2, sort_keys=True) + "\n", encoding="utf-8"
        )
        size = sum((out / f).stat().st_size for f in [*FILES, "bundle.json"])
        return PlantSummary(
            out=out,
            seed=self.seed,
            lots=n,
            rows=rows,
            planted=planted,
            mass_balance_shortfalls=shortfalls,
            tampered_signatures=tam_ids,
            release_overrides=overrides,
            bytes_written=size,
            drift=drift,
        )

    def _write_tests(
        self, out: Path, lot_ids: U8, batch_ids: U8, doc_ids: U8, ts_col: Callable[[I64], Column]
    ) -> int:
        blocks = self.tr_blocks
        # remap per-block document indices to global documents
        doc_maps = [None, self.qcr_docs, self.coa_docs]
        cols = [list(x) for x in zip(*blocks, strict=True)]
        docs = []
        for bi, blk in enumerate(blocks):
            dmap = doc_maps[bi]
            docs.append(blk[9] if dmap is None else dmap[blk[9]])
        self.tr_blocks = []
        del blocks
        kind, target, analyte, value, unit, lower, upper, method, at = (
            np.concatenate(c) for c in cols[:9]
        )
        del cols
        doc = np.concatenate(docs)
        del docs
        analyte_names = _strings(list(ANALYTES))
        order = np.lexsort((analyte, target, kind, at))
        kind, target, analyte, value, unit, lower, upper, method, at, doc = (
            x[order] for x in (kind, target, analyte, value, unit, lower, upper, method, at, doc)
        )
        n = len(order)
        del order
        return _write_matrix(
            out / "test_results.csv",
            [
                "result_id",
                "target_kind",
                "target_id",
                "analyte",
                "value",
                "unit",
                "lower_limit",
                "upper_limit",
                "method",
                "tested_at",
                "document_id",
            ],
            [
                _col_seq("TR", max(6, len(str(n)))),
                _col_take(_strings(["lot", "batch"]), kind),
                _col_pick([lot_ids, batch_ids], kind, target),
                _col_take(analyte_names, analyte),
                _col_fixed3(value),
                _col_take(_strings(list(TR_UNITS)), unit),
                _col_fixed3(lower),
                _col_fixed3(upper),
                _col_take(_strings(list(METHODS)), method),
                ts_col(at),
                _col_take(doc_ids, doc),
            ],
            n,
        )
