"""The tests behind the impurity investigation's ranking (docs/INVESTIGATIONS.md).

* ``log10_fisher_tail``: one-sided Fisher exact test, P(X >= a) for X hypergeometric.
* ``FisherTails``: the same test for many factors, each tail computed once.
* ``log10_bh_adjusted``: Benjamini-Hochberg adjusted p-values (Benjamini & Hochberg 1995).

Everything is computed in log10, so p-values far below the smallest float keep a score.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

LN10 = math.log(10)
Floats = NDArray[np.float64]


def log10_fisher_tail(population: int, flagged: int, total: int, affected: int) -> float:
    """log10 P(X >= affected), X hypergeometric: ``total`` drawn from ``population`` units
    of which ``flagged`` are flagged."""

    def log_comb(n: int, k: int) -> float:
        return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)

    top = min(total, flagged)
    low = max(affected, total - (population - flagged))
    if low > top:
        return 0.0
    terms = [
        log_comb(flagged, x) + log_comb(population - flagged, total - x)
        for x in range(low, top + 1)
    ]
    peak = max(terms)
    log_sum = peak + math.log(sum(math.exp(t - peak) for t in terms))
    return min(0.0, (log_sum - log_comb(population, total)) / LN10)


def log10_bh_adjusted(log10_p: NDArray[np.float64]) -> NDArray[np.float64]:
    """Benjamini-Hochberg adjusted p-values (log10) for ``log10_p``, in the same order:
    q_(i) = min over j >= i of p_(j) m / j, at most 1, with the p-values sorted."""
    m = len(log10_p)
    order = np.argsort(log10_p, kind="stable")
    scaled = log10_p[order] + np.log10(m / np.arange(1, m + 1, dtype=np.float64))
    adjusted = np.empty(m, dtype=np.float64)
    adjusted[order] = np.minimum(np.minimum.accumulate(scaled[::-1])[::-1], 0.0)
    return adjusted


class FisherTails:
    """``log10_fisher_tail`` for many factors at once: the tail of each (units, flagged,
    having) is computed once, from a table of log factorials."""

    def __init__(self, largest_population: int) -> None:
        logs = np.log(np.arange(1, largest_population + 1, dtype=np.float64))
        self._log_factorial = np.concatenate([[0.0], np.cumsum(logs)])
        self._tails: dict[tuple[int, int, int], _Tail] = {}

    def log10_p(self, units: int, flagged: int, having: int, hits: int) -> float:
        """log10 P(X >= hits), X hypergeometric (``having`` of ``units``, ``flagged``)."""
        if having == 0 or flagged == 0 or flagged == units or having == units:
            return 0.0  # chance cannot move the count
        key = (units, flagged, having)
        tail = self._tails.get(key)
        if tail is None:
            tail = self._tails[key] = _Tail(*self._log_pmf(units, flagged, having))
        return min(0.0, tail.log_at_least(hits) / LN10)

    def _log_pmf(self, units: int, flagged: int, having: int) -> tuple[int, Floats]:
        lf = self._log_factorial
        first = max(0, having - (units - flagged))
        last = min(having, flagged)
        x = np.arange(first, last + 1)
        log_pmf = (
            lf[flagged]
            - lf[x]
            - lf[flagged - x]
            + lf[units - flagged]
            - lf[having - x]
            - lf[units - flagged - having + x]
            - (lf[units] - lf[having] - lf[units - having])
        )
        return first, log_pmf


class _Tail:
    """P(X >= low + k) of a distribution given by its log pmf over low, low + 1, ...
    (natural log)."""

    def __init__(self, low: int, log_pmf: Floats) -> None:
        self.low = low
        self._pmf = log_pmf
        # In linear space, scaled by the peak; an entry too far out for that (below about
        # 1e-278 of the peak) is summed again in log space when it is asked for.
        self._scale = float(log_pmf.max())
        linear = np.exp(log_pmf - self._scale)
        with np.errstate(divide="ignore"):
            self._tail = np.log(np.cumsum(linear[::-1])[::-1]) + self._scale
        self._exact: Floats | None = None

    def log_at_least(self, observed: int) -> float:
        k = observed - self.low
        if k <= 0:
            return 0.0
        if k >= len(self._tail):
            return -math.inf
        value = float(self._tail[k])
        if value > self._scale - 640:
            return value
        if self._exact is None:
            self._exact = np.logaddexp.accumulate(self._pmf[::-1])[::-1]
        return float(self._exact[k])
