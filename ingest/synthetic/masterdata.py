"""Equipment and people."""

from __future__ import annotations

import numpy as np

from ingest.synthetic.catalog import (
    B_PLANNED,
    FIRST_NAMES,
    LAST_NAMES,
    LOGISTICS,
    OPERATOR,
    QA,
    QC,
    QP,
    ROLES,
    SUPERVISOR,
    SUPPLY_CHAIN,
    A,
)
from ingest.synthetic.columns import I64
from ingest.synthetic.state import PlantState


class MasterData(PlantState):
    """Equipment and people, and who did what."""

    def _equipment_and_people(self) -> None:
        rng = self.rng
        nb = len(self.bat_site)
        per_site = np.bincount(self.bat_site, minlength=3)
        self.eq_site: list[int] = []
        self.eq_kind: list[str] = []
        self.eq_code: list[str] = []
        self.eq_name: list[str] = []
        n_react = [int(np.clip(-(-int(c) // 400), 4, 40)) for c in per_site]
        react_base: list[int] = []
        for s in range(3):
            react_base.append(len(self.eq_site))
            vols = (1600, 2500, 4000, 6300, 10000)
            for i in range(n_react[s]):
                vol = vols[int(rng.integers(0, len(vols)))]
                liner = "glass-lined" if rng.random() < 0.6 else "stainless steel"
                self.eq_site.append(s)
                self.eq_kind.append("reactor")
                self.eq_code.append(f"R-{s + 1}{i + 1:02d}")
                self.eq_name.append(f"Reactor {vol} L {liner}")
            for i in range(int(np.clip(n_react[s] // 3, 2, 15))):
                self.eq_site.append(s)
                self.eq_kind.append("dryer")
                self.eq_code.append(f"D-{s + 1}{i + 1:02d}")
                self.eq_name.append("Agitated filter dryer" if i % 2 == 0 else "Vacuum tray dryer")
        eq_site = np.array(self.eq_site)
        self.dryers_by_site = [
            np.flatnonzero((eq_site == s) & (np.array(self.eq_kind) == "dryer")) for s in range(3)
        ]
        rb = np.array(react_base)[self.bat_site]
        nr = np.array(n_react)[self.bat_site]
        self.bat_eq = (rb + (rng.random(nb) * nr).astype(np.int64)).astype(np.int64)
        planned = self.bat_status == B_PLANNED
        self.bat_eq[planned & (rng.random(nb) < 0.5)] = -1
        # people: by site and role
        self.p_site: list[int] = []
        self.p_role: list[int] = []
        self.p_name: list[str] = []
        for s in range(3):
            ops = int(np.clip(per_site[s] // 700, 6, 150))
            counts = {
                OPERATOR: ops,
                SUPERVISOR: max(2, ops // 6),
                QA: max(2, ops // 8),
                QP: 2 + int(ops > 60),
                QC: max(3, ops // 5),
                LOGISTICS: max(2, ops // 10),
                SUPPLY_CHAIN: 2 if s == A else 1,
            }
            for role, c in counts.items():
                for _ in range(c):
                    self.p_site.append(s)
                    self.p_role.append(role)
                    fn = FIRST_NAMES[int(rng.integers(0, len(FIRST_NAMES)))]
                    ln = LAST_NAMES[int(rng.integers(0, len(LAST_NAMES)))]
                    self.p_name.append(f"{fn} {ln}")
        p_site = np.array(self.p_site)
        p_role = np.array(self.p_role)
        self.pool = {
            (s, r): np.flatnonzero((p_site == s) & (p_role == r)).astype(np.int64)
            for s in range(3)
            for r in range(len(ROLES))
        }

    def person(self, role: int, site: I64) -> I64:
        """A random person of the role at each given site."""
        out = np.empty(len(site), dtype=np.int64)
        u = self.rng.random(len(site))
        for s in range(3):
            sel = site == s
            if sel.any():
                pool = self.pool[(s, role)]
                out[sel] = pool[(u[sel] * len(pool)).astype(np.int64)]
        return out
