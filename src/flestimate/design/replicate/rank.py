"""Rank of replicate weights and the degrees of freedom it gives (R's ``degf``).

R's ``degf`` of a replicate design is ``qr(weights(design, "analysis"), tol = 1e-5)$rank
- 1``, computed on the rows of each domain. The rank is taken from the (R, P)
factors restricted to the units with members, weighted by the units' sums of
squared weights: exactly in closed form for the jackknife, by a vectorised
Cholesky with R's pivot rule otherwise (all domains at once, by patterns of units).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from flestimate.design.kernel import first_rows, grouped_sums

if TYPE_CHECKING:
    from flestimate.design.replicate.factors import Factors, JackknifeFactors
    from flestimate.design.totals import DomainTotals

__all__ = [
    "CHUNK_VALUES",
    "RANK_TOL",
    "dense_rank",
    "domain_ranks",
    "gram_domain_ranks",
    "jackknife_rank",
    "jackknife_rank_counts",
    "pattern_ranks",
    "rank_gram",
    "rank_grams",
    "sparse_rank",
]

# R's degf: qr(weights, tol = 1e-5)$rank - 1
RANK_TOL = 1e-5
# values per block when domain ranks gather replicate factors of their units
CHUNK_VALUES = 4_000_000


def jackknife_rank(fac: JackknifeFactors, present: np.ndarray) -> np.ndarray:
    """Exact rank of jackknife weights restricted to the present PSUs (vectorised).

    Notes
    -----
    With :math:`a_h` present PSUs of stratum h and :math:`m_h = n_h - a_h` absent:
    every replicate column lies in the span of the all-ones vector 1 and the PSU
    indicators :math:`\\delta_i`. A stratum with an absent PSU contributes every
    :math:`\\delta_i` of its present PSUs; a stratum with all its PSUs present
    contributes the :math:`n_h - 1` differences :math:`\\delta_i - \\delta_j`
    (its columns sum to :math:`n_h 1`); an "adjust" replicate contributes its lone
    PSU. 1 adds one dimension unless it is the sum of the indicators already in
    the span (no present PSU outside replicate strata and no complete stratum):

    .. math:: \\mathrm{rank} = b + \\sum_{h\\ complete} (n_h - 1) + [N_0 > 0 \\lor F > 0]

    (valid when at least one stratum has delete-one replicates).
    """
    pres = np.asarray(present, dtype=np.float64)
    a = grouped_sums(fac.psu_stratum, fac.n_strata, pres)  # (H, M)
    return jackknife_rank_counts(fac, a, pres.sum(axis=0))


def jackknife_rank_counts(fac: JackknifeFactors, a: np.ndarray, total: np.ndarray) -> np.ndarray:
    """:func:`jackknife_rank` from the present PSUs per stratum ``a`` (H, M) and in
    all ``total`` (M,)."""
    n_h = np.bincount(fac.psu_stratum, minlength=fac.n_strata).astype(np.float64)[:, None]
    jk = fac.jk_strata[:, None]
    adj = fac.adjust_strata[:, None]
    complete = jk & (a >= n_h) & (a > 0)
    partial = jk & (a < n_h)
    b = (a * partial).sum(axis=0) + (a * adj).sum(axis=0)
    full_part = ((n_h - 1.0) * complete).sum(axis=0)
    n0 = (a * (~jk & ~adj)).sum(axis=0)
    extra = ((n0 > 0) | complete.any(axis=0)).astype(np.float64)
    rank = b + full_part + extra
    return np.where(total > 0, rank, 0.0).astype(np.int64)


def rank_gram(G: np.ndarray, tol: float = RANK_TOL) -> int:
    """Rank of X from its Gram matrix G = X'X, with R's ``qr(X, tol)`` rule.

    Notes
    -----
    LINPACK's ``dqrdc2`` (R's ``qr``) takes the columns in order and sets aside a
    column whose norm after projection on the kept columns falls below ``tol``
    times its original norm; the rank is the number kept. In terms of G: keep
    column j when :math:`G_{jj} - g_j^T G_{KK}^{-1} g_j \\ge tol^2 G_{jj}`.
    """
    R = G.shape[0]
    if R == 0:
        return 0
    d = np.diag(G).copy()
    ref = np.where(d > 0, d, 1.0)
    try:
        L = np.linalg.cholesky(G)
        if np.all(np.diag(L) ** 2 >= tol**2 * ref):
            return R
    except np.linalg.LinAlgError:
        pass
    from scipy import linalg  # only here: importing scipy.linalg takes 0.05 s

    L = np.zeros((R, R))
    kept: list[int] = []
    for j in range(R):  # loop over replicate columns (small), not rows
        k = len(kept)
        g = G[kept, j]
        v = linalg.solve_triangular(L[:k, :k], g, lower=True) if k else np.zeros(0)
        r2 = d[j] - v @ v
        if d[j] > 0 and r2 >= tol**2 * ref[j]:
            L[k, :k] = v
            L[k, k] = np.sqrt(r2)
            kept.append(j)
    return len(kept)


def rank_grams(
    G: np.ndarray, tol: float = RANK_TOL, cap: np.ndarray | None = None
) -> np.ndarray:
    """:func:`rank_gram` of a stack of Gram matrices (B, R, R), all at once.

    Notes
    -----
    Right-looking Cholesky in column order that skips a column whose residual
    :math:`G_{jj}` (after the kept columns are eliminated) falls below
    :math:`tol^2` times its original norm: the same decisions as
    :func:`rank_gram`, vectorised over the stack (the loop runs over the R
    replicate columns). ``cap`` (B,) bounds each rank (the Gram matrix of k units
    has rank at most k): once every matrix has reached it, the remaining columns
    have residuals of rounding size and would all be set aside, so the loop stops.
    """
    S = np.array(G, dtype=np.float64, copy=True)
    B, R = S.shape[0], S.shape[-1]
    if B == 0 or R == 0:
        return np.zeros(B, dtype=np.int64)
    d = np.diagonal(S, axis1=1, axis2=2).copy()
    ref = np.where(d > 0, d, 1.0)
    rank = np.zeros(B, dtype=np.int64)
    for j in range(R):  # loop over replicate columns (small), not domains
        piv = S[:, j, j]
        keep = (d[:, j] > 0) & (piv >= tol**2 * ref[:, j])
        rank += keep
        if cap is not None and bool(np.all(rank >= cap)):
            break
        if j + 1 == R or not keep.any():
            continue
        col = S[:, j + 1 :, j] / np.sqrt(np.where(keep, piv, 1.0))[:, None]
        col *= keep[:, None]
        S[:, j + 1 :, j + 1 :] -= col[:, :, None] * col[:, None, :]
    return rank


def dense_rank(F: np.ndarray, present: np.ndarray, row_weight: np.ndarray) -> np.ndarray:
    """Rank of ``F[:, present_m] * sqrt(row_weight)`` for every column m of ``present``
    (P, M) bool: :func:`sparse_rank` of its (unit, column) pairs."""
    pres = np.asarray(present, dtype=bool)
    column, unit = np.nonzero(pres.T)
    return sparse_rank(F, row_weight, unit, column, pres.shape[1])


def sparse_rank(
    F: np.ndarray, row_weight: np.ndarray, unit: np.ndarray, column: np.ndarray, M: int
) -> np.ndarray:
    """:func:`dense_rank` from the (unit, column) pairs of present units (each pair
    once): many domains, each with members in few units.

    Columns are keyed by two random projections and their count of units, and every
    column's sorted units are checked against its pattern's first column (falling
    back to one pattern per column when a check ever fails).
    """
    if M == 0:
        return np.zeros(0, dtype=np.int64)
    P = F.shape[1]
    order = np.lexsort((unit, column))
    unit, column = unit[order], column[order]
    count = np.bincount(column, minlength=M).astype(np.int64)
    starts = np.concatenate([[0], np.cumsum(count)[:-1]]).astype(np.int64)
    proj = np.random.default_rng(20261128).standard_normal((2, P))
    k0 = np.bincount(column, weights=proj[0][unit], minlength=M)
    k1 = np.bincount(column, weights=proj[1][unit], minlength=M)
    codes, _ = pd.factorize(pd.MultiIndex.from_arrays([count, k0, k1]))
    codes = np.asarray(codes, dtype=np.int64)
    first = first_rows(codes, int(codes.max()) + 1)
    rep = first[codes]  # (M,) first column of each column's pattern
    same = count[rep] == count
    if same.all() and count.sum():
        col_of = np.repeat(np.arange(M), count)  # column of each sorted pair
        offset = np.arange(unit.size) - starts[col_of]
        same = bool(np.array_equal(unit, unit[starts[rep[col_of]] + offset]))
    if not bool(np.all(same)):
        first, codes = np.arange(M), np.arange(M)
    return pattern_ranks(F, row_weight, unit, starts[first], count[first])[codes]


def pattern_ranks(
    F: np.ndarray,
    row_weight: np.ndarray,
    units: np.ndarray,
    starts: np.ndarray,
    count: np.ndarray,
) -> np.ndarray:
    """Rank of ``F[:, units_u] * sqrt(row_weight)`` for U patterns of units, pattern u
    being ``units[starts[u] : starts[u] + count[u]]``.

    Notes
    -----
    The patterns are handled together: a pattern with many units is settled as full
    rank when the Gram matrix of 2R of its units has smallest eigenvalue at least
    :math:`tol^2` times its largest diagonal (every Cholesky pivot then passes R's
    rule, and adding units cannot lower the rank); the others get the exact rank
    of their whole Gram matrix (:func:`rank_grams`).
    """
    R = F.shape[0]
    Fw = np.asarray(F, dtype=np.float64) * np.sqrt(np.asarray(row_weight, dtype=np.float64))
    ranks = np.zeros(count.size, dtype=np.int64)
    todo = np.flatnonzero(count > 0)
    big = todo[count[todo] > 3 * R]
    if big.size and R:
        # full-rank screen on 2R units spread over each pattern's present units
        pos = np.floor(
            np.linspace(0.0, 1.0, 2 * R)[None, :] * (count[big, None] - 1)
        ).astype(np.int64)
        A = np.moveaxis(Fw[:, units[starts[big, None] + pos]], 0, 1)  # (b, R, 2R)
        G = A @ np.swapaxes(A, 1, 2)
        lam = np.linalg.eigvalsh(G)[:, 0]
        dmax = np.diagonal(G, axis1=1, axis2=2).max(axis=1)
        full = lam >= RANK_TOL**2 * dmax * (1.0 + 1e-6)
        ranks[big[full]] = R
        todo = np.setdiff1d(todo, big[full])
    # exact rank from the whole Gram matrix; patterns go in buckets of similar size
    # (padding at most doubles the work) and chunks of bounded memory
    bucket = np.ceil(np.log2(np.maximum(count[todo], 1))).astype(np.int64)
    for level in np.unique(bucket):  # one per power of two of the size, not per domain
        members = todo[bucket == level]
        kmax = int(count[members].max())
        step = max(1, CHUNK_VALUES // max(1, R * max(kmax, R)))
        for i in range(0, members.size, step):  # chunks of memory
            chunk = members[i : i + step]
            pos = np.minimum(np.arange(kmax)[None, :], count[chunk, None] - 1)
            valid = np.arange(kmax)[None, :] < count[chunk, None]
            A = np.moveaxis(Fw[:, units[starts[chunk, None] + pos]], 0, 1)
            A = A * valid[:, None, :]  # (b, R, kmax)
            ranks[chunk] = rank_grams(A @ np.swapaxes(A, 1, 2), cap=count[chunk])
    return ranks


def domain_ranks(factors: Factors, row_weight: np.ndarray, totals: DomainTotals) -> np.ndarray:
    """Rank (D, Kc) of the replicate weights restricted to each domain's units with
    members (per variable when missing values differ: ``totals.psu_rows`` (.., Kc)).

    Parameters
    ----------
    factors : Factors
    row_weight : ndarray (P,)
        Sums of squared full-sample weights within the units.
    totals : DomainTotals
        Dense (P, D, Kc) or sparse (C, Kc) ``psu_rows``.
    """
    D = totals.n_domains
    rows = totals.psu_rows
    Kc = rows.shape[-1]
    if totals.sparse:
        has = rows > 0  # (C, Kc)
        cell, k = np.nonzero(has)
        column = totals.cell_domain[cell] * Kc + k
        unit = totals.cell_psu[cell]
        rank = factors.cell_rank(row_weight, unit, column, D * Kc)
    else:
        P = rows.shape[0]
        present = (rows > 0).reshape(P, D * Kc)
        rank = factors.rank(present, row_weight)
    return rank.reshape(D, Kc)


def gram_domain_ranks(
    grams: np.ndarray, weights: np.ndarray, totals: DomainTotals, pooled: bool = False
) -> np.ndarray:
    """Rank (D, Kc) of each domain's replicate weights from the Gram matrices of the
    units' own rows, ``grams`` (P, R, R) (:math:`\\sum_i W_i W_i^T` over the rows of a
    unit): the domain's Gram is the sum over its units with members
    (``totals.psu_rows``), and its rank follows R's ``qr`` rule (:func:`rank_grams`).

    With ``pooled`` every domain with members gets the rank of the Gram summed over
    all units with a positive weight (the design's rank).
    """
    D = totals.n_domains
    rows = totals.psu_rows
    Kc = rows.shape[-1]
    R = grams.shape[-1]
    flat = np.asarray(grams, dtype=np.float64).reshape(grams.shape[0], R * R)
    if pooled:
        whole = flat[np.asarray(weights) > 0].sum(axis=0).reshape(1, R, R)
        rank = int(rank_grams(whole)[0])
        if totals.sparse:
            has = grouped_sums(totals.cell_domain, D, (rows > 0).astype(np.float64)) > 0
        else:
            has = (rows > 0).any(axis=0)
        return np.where(has, rank, 0).astype(np.int64).reshape(D, Kc)
    if totals.sparse:
        cell, k = np.nonzero(rows > 0)
        column = totals.cell_domain[cell] * Kc + k
        G = grouped_sums(column, D * Kc, flat[totals.cell_psu[cell]])
    else:
        present = (rows > 0).reshape(rows.shape[0], D * Kc).astype(np.float64)
        G = present.T @ flat
    return rank_grams(G.reshape(D * Kc, R, R)).reshape(D, Kc)
