"""The quantile rules of R's ``svyquantile`` (survey 4.x), for many domains at once.

The values of every domain are sorted once (by domain, then value); a query is a
domain and a probability. Each rule is the R function ``qrule_<name>(x, w, p)``
applied to the domain's rows with non-zero weight, vectorised over the queries: the
positions are found by a bisection run on all queries together (about
:math:`\\log_2 n` numpy steps, no loop over domains), and the cumulative weights are
summed in extended precision as R's ``cumsum`` does, so that ties between a
cumulative weight and :math:`pW` fall the same way as in R.

Rules (Hyndman and Fan 1996 types, weighted as in survey 4.x):
``math`` = ``hf1`` (the inverse of the weighted ECDF), ``school`` = ``hf2`` (the
midpoint at a jump), ``hf3`` (nearest even order statistic of the distinct values),
``hf4`` (interpolation between the two order statistics around :math:`pW`),
``hf5`` .. ``hf9`` (linear interpolation of the values at plotting positions
:math:`p_k` built from the cumulative weights), ``shahvaish`` (Shah and Vaish 2006,
a step function at :math:`p_k = (S_k + 1/2 - w_k/2)/(n + 1)`, :math:`S` the
cumulative weights scaled to mean 1).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["QRULES", "Sorted", "apply_qrule"]

QRULES = ("math", "school", "shahvaish", *(f"hf{i}" for i in range(1, 10)))


@dataclass(frozen=True)
class Sorted:
    """Values sorted by domain then value, with the domains' segments.

    ``x``, ``w``: (m,) sorted values and weights (rows with zero weight left out);
    ``start``, ``stop``: (D,) segment bounds of each domain; ``cumw``: (m,) cumulative
    weights within each domain (R's ``cumsum`` in extended precision).
    """

    x: np.ndarray
    w: np.ndarray
    start: np.ndarray
    stop: np.ndarray
    cumw: np.ndarray

    @classmethod
    def build(cls, x: np.ndarray, w: np.ndarray, dom: np.ndarray, n_domains: int) -> Sorted:
        keep = (dom >= 0) & (w != 0)
        x, w, dom = x[keep], w[keep], dom[keep]
        # by value, then by domain: both stable, so ties keep the data's order as R's
        # order() does; the domain codes sort by radix when they fit in 16 bits
        order = np.argsort(x, kind="stable")
        codes = dom[order]
        small = codes.astype(np.int16) if n_domains < 2**15 else codes
        order = order[np.argsort(small, kind="stable")]
        x, w, dom = x[order], w[order], dom[order]
        counts = np.bincount(dom, minlength=n_domains)
        stop = np.cumsum(counts)
        start = stop - counts
        return cls(x, w, start, stop, _segment_cumsum(w, start, counts))


def _segment_cumsum(w: np.ndarray, start: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Cumulative sums restarting at each segment, accumulated in long double."""
    total = np.cumsum(w.astype(np.longdouble))
    before = np.concatenate([[np.longdouble(0)], total])[start]
    return (total - np.repeat(before, counts)).astype(np.float64)


def _count_le(values: np.ndarray, lo: np.ndarray, hi: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Per query, the number of ``values[lo:hi]`` (sorted) that are <= target."""
    lo, hi = lo.copy(), hi.copy()
    base = lo.copy()
    live = lo < hi
    while live.any():  # a bisection: about log2(n) steps, each over all queries
        mid = (lo + hi) // 2
        midc = np.minimum(mid, len(values) - 1)
        le = live & (values[midc] <= target)
        lo = np.where(le, mid + 1, lo)
        hi = np.where(live & ~le, mid, hi)
        live = lo < hi
    return lo - base


def _qs(s: Sorted, x, cumw, start, stop, total, p):
    """R's ``qs``: the order statistics around :math:`pW` and their weight gaps."""
    n = stop - start
    cnt = _count_le(cumw, start, stop, p * total)
    pos = start + np.maximum(cnt - 1, 0)  # R's last(): the first when none qualifies
    nxt = np.where(pos == stop - 1, pos, pos + 1)
    wlow = p - cumw[pos] / total
    wup = cumw[nxt] / total - p
    return x[pos], x[nxt], pos - start + 1, wlow, wup, n


def _approx(pk: np.ndarray, x: np.ndarray, start, stop, v, constant: bool) -> np.ndarray:
    """R's ``approx(pk, x, v, rule=2)`` on each segment (linear, or constant f=0)."""
    cnt = _count_le(pk, start, stop, v)
    last = stop - 1
    i = np.clip(start + cnt - 1, start, last)
    j = np.minimum(i + 1, last)
    pi, pj, xi, xj = pk[i], pk[j], x[i], x[j]
    with np.errstate(invalid="ignore", divide="ignore"):
        lin = xi + (xj - xi) * ((v - pi) / (pj - pi))
    out = xi if constant else np.where(v == pj, xj, np.where(v == pi, xi, lin))
    out = np.where(v < pk[start], x[start], out)  # rule = 2: the end values outside
    return np.where(v > pk[last], x[last], out)


def apply_qrule(s: Sorted, qrule: str, dom: np.ndarray, p: np.ndarray) -> np.ndarray:
    """The ``qrule`` quantile at probability ``p`` (Q,) of domain ``dom`` (Q,); NaN for a
    domain without rows or a NaN probability."""
    empty = (s.stop[dom] - s.start[dom]) == 0
    dom = np.where(empty, 0, dom)
    bad = empty | ~np.isfinite(p)
    p = np.where(bad, 0.5, p)
    if not len(s.x):
        return np.full(len(dom), np.nan)
    start, stop = s.start[dom], s.stop[dom]
    last = np.maximum(stop - 1, 0)
    total = s.cumw[last]
    if qrule in ("math", "hf1", "school", "hf2", "hf4"):
        qlow, qup, _, wlow, wup, _ = _qs(s, s.x, s.cumw, start, stop, total, p)
        if qrule in ("math", "hf1"):
            out = np.where(wlow == 0, qlow, qup)
        elif qrule in ("school", "hf2"):
            out = np.where(wlow == 0, (qlow + qup) / 2, qup)
        else:
            with np.errstate(invalid="ignore", divide="ignore"):
                gamma = wlow / (wup + wlow)
            out = qlow * (1 - gamma) + qup * gamma
    elif qrule == "hf3":
        out = _hf3(s, dom, p)
    else:
        pk = _plotting_positions(s, qrule)
        out = _approx(pk, s.x, start, stop, p, constant=qrule == "shahvaish")
    return np.where(bad, np.nan, out)


def _hf3(s: Sorted, dom: np.ndarray, p: np.ndarray) -> np.ndarray:
    """hf3 works on the distinct values with their summed weights (R's ``rowsum``)."""
    seg = np.repeat(np.arange(len(s.start)), s.stop - s.start)
    new = np.ones(len(s.x), dtype=bool)
    new[1:] = (s.x[1:] != s.x[:-1]) | (seg[1:] != seg[:-1])
    first = np.flatnonzero(new)
    ux, useg = s.x[first], seg[first]
    uw = np.add.reduceat(s.w, first)
    counts = np.bincount(useg, minlength=len(s.start))
    stop = np.cumsum(counts)
    start = stop - counts
    u = Sorted(ux, uw, start, stop, _segment_cumsum(uw, start, counts))
    st, sp = u.start[dom], u.stop[dom]
    qlow, qup, ilow, wlow, _, _ = _qs(u, u.x, u.cumw, st, sp, u.cumw[sp - 1], p)
    return np.where((wlow == 0) & (ilow % 2 == 0), qlow, qup)


def _plotting_positions(s: Sorted, qrule: str) -> np.ndarray:
    """The :math:`p_k` of the interpolating rules, per sorted row (R's formulas)."""
    counts = s.stop - s.start
    seg = np.repeat(np.arange(len(s.start)), counts)
    last = np.maximum(s.stop - 1, 0)
    cumw, w = s.cumw, s.w
    total = cumw[last][seg]
    wn = w[last][seg]
    prev = np.concatenate([[0.0], cumw[:-1]])  # R's c(0, cumw[-n]) within each domain
    prev[s.start[counts > 0]] = 0.0
    if qrule == "hf5":
        return (cumw - w / 2) / total
    if qrule == "hf6":
        return cumw / (total + wn)
    if qrule == "hf7":
        before_last = cumw[np.maximum(last - 1, 0)][seg]
        return prev / before_last
    if qrule == "hf8":
        return (prev * 1 / 3 + cumw * 2 / 3) / (total + wn / 3)
    if qrule == "hf9":
        return (prev * 3 / 8 + cumw * 5 / 8) / (total + wn / 4)
    # shahvaish: weights scaled to mean 1 (R's mean: long double with a correction pass)
    n = counts[seg].astype(float)
    wl = w.astype(np.longdouble)
    sums = np.add.reduceat(wl, s.start[counts > 0]) if len(w) else wl
    mean_d = np.zeros(len(counts), dtype=np.longdouble)
    mean_d[counts > 0] = sums / counts[counts > 0]
    corr = np.zeros(len(counts), dtype=np.longdouble)
    if len(w):
        corr[counts > 0] = np.add.reduceat(wl - mean_d[seg], s.start[counts > 0])
    mean_d[counts > 0] += corr[counts > 0] / counts[counts > 0]
    wbar = w / mean_d.astype(np.float64)[seg]
    S = _segment_cumsum(wbar, s.start, counts)
    return (S + 0.5 - w / 2) / (n + 1)
