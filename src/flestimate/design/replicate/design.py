"""Replicate-weight designs: jackknife, BRR, Fay, bootstrap, SDR and the NSO's own weights.

Two ways in, with R survey's conventions (SURVEY-METHODS E2, E3):

- ``design.replicate(method, ...)`` builds replicates from a :class:`SurveyDesign`
  (R's ``as.svrepdesign``). Replicates multiply each PSU's weight by a factor, so
  replicate totals are ``factors (R x P) @ psu_totals (P x D*K)``: no n x R matrix
  is formed. Jackknife factors are not even stored: replicate totals follow from
  the PSU and stratum totals.
- ``ReplicateDesign(data, weight=, replicate_weights=, method=)`` uses replicate
  weight columns delivered with the data (R's ``svrepdesign`` with combined
  weights). Rows whose replicate factors ``w_ri / w_i`` are identical (usually the
  rows of one PSU) are grouped once, when the design is built; replicate totals
  are then one BLAS product of the group factors with the group totals.

Every estimator of :class:`SurveyDesign` works on a :class:`ReplicateDesign` and
returns the same :class:`~flestimate.estimation.EstimateTable`; the variance is

.. math:: v = c \\sum_r c_r (\\hat\\theta_r - \\tilde\\theta)^2

with ``scale`` c, ``rscales`` c_r and :math:`\\tilde\\theta` the mean of the
replicates (or the full-sample estimate with ``mse=True``), as R's ``svrVar``.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from flestimate.design.hadamard import hadamard
from flestimate.design.kernel import grouped_sums
from flestimate.design.methods import DesignMethods, weights_row
from flestimate.design.structure import _CERTAINTY_TOL, DesignStructure
from flestimate.errors import DesignError, FlestimateWarning, ValidationError, first_values

__all__ = [
    "DESIGN_METHODS",
    "METHODS",
    "ReplicateDesign",
    "replicate_design",
    "replicate_variance",
    "weights_rank",
]

# methods that build replicates from a design (R's as.svrepdesign types)
DESIGN_METHODS = ("jk1", "jkn", "brr", "fay", "bootstrap", "subbootstrap", "sdr")
# methods of delivered replicate weights (R's svrepdesign types)
METHODS = (*DESIGN_METHODS, "other")

# R's degf: qr(weights, tol = 1e-5)$rank - 1
_RANK_TOL = 1e-5
# materialising more replicate weights than this (n * R) needs replicate_weight_blocks()
_MAX_DENSE = 200_000_000
# values per block when domain ranks gather replicate factors of their units
_CHUNK_VALUES = 4_000_000


# ============================================================================ factors


class _Factors:
    """Replicate factors of the PSUs (or groups of rows): R replicates x P units."""

    n_replicates: int

    def totals(self, unit_totals: np.ndarray) -> np.ndarray:
        """Replicate totals (R, M) from unit totals (P, M)."""
        raise NotImplementedError

    def dense(self) -> np.ndarray:
        """The factor matrix (R, P)."""
        raise NotImplementedError

    def rank(self, present: np.ndarray, row_weight: np.ndarray) -> np.ndarray:
        """Rank of the replicate weights restricted to the units in each column of
        ``present`` (P, M) (R's ``qr(weights(design, "analysis"))$rank``)."""
        return _dense_rank(self.dense(), present, row_weight)


@dataclass(frozen=True, eq=False)
class _DenseFactors(_Factors):
    F: np.ndarray  # (R, P)

    @property
    def n_replicates(self) -> int:  # type: ignore[override]
        return int(self.F.shape[0])

    def totals(self, unit_totals: np.ndarray) -> np.ndarray:
        if sp.issparse(unit_totals):  # cells with members only: (M, P) @ (P, R)
            return np.asarray(unit_totals.T @ self.F.T).T
        return self.F @ unit_totals

    def dense(self) -> np.ndarray:
        return self.F


@dataclass(frozen=True, eq=False)
class _JackknifeFactors(_Factors):
    """Delete-one-PSU jackknife factors, kept implicit (R = P replicates for JKn).

    Replicate r deletes PSU ``drop[r]`` of stratum ``stratum[r]`` and multiplies the
    other PSUs of that stratum by ``mult[r]`` (``n_h / (n_h - 1)``). A replicate with
    ``drop[r] == -1`` is R's lonely-PSU "adjust" replicate: it deletes the whole
    stratum and multiplies every other PSU by ``mult[r]`` (H / (H - 1)).
    """

    psu_stratum: np.ndarray  # (P,)
    n_strata: int
    stratum: np.ndarray  # (R,)
    drop: np.ndarray  # (R,)
    mult: np.ndarray  # (R,)
    jk_strata: np.ndarray  # (H,) bool: strata with delete-one replicates
    adjust_strata: np.ndarray  # (H,) bool: lonely strata with an "adjust" replicate

    @property
    def n_replicates(self) -> int:  # type: ignore[override]
        return int(self.stratum.shape[0])

    def totals(self, unit_totals: np.ndarray) -> np.ndarray:
        # replicate (h, i): sum of all totals - T_h + mult (T_h - T_i); adjust: mult (T - T_h)
        adjust = self.drop < 0
        rows = np.where(adjust, 0, self.drop)
        if sp.issparse(unit_totals):  # cells with members only: sums by sparse products
            T = sp.csr_matrix(unit_totals)
            P = T.shape[0]
            T_all = np.asarray(T.sum(axis=0)).ravel()
            strata = sp.csr_matrix(
                (np.ones(P), (self.psu_stratum, np.arange(P))), shape=(self.n_strata, P)
            )
            T_h = np.asarray((strata @ T).todense())
            Ti = T[rows].toarray()
        else:
            T = np.asarray(unit_totals, dtype=np.float64)
            T_all = T.sum(axis=0)
            T_h = grouped_sums(self.psu_stratum, self.n_strata, T)
            Ti = T[rows]
        Th = T_h[self.stratum]
        m = self.mult[:, None]
        out = T_all[None, :] - Th + m * (Th - Ti)
        if adjust.any():
            out[adjust] = m[adjust] * (T_all[None, :] - Th[adjust])
        return out

    def dense(self) -> np.ndarray:
        P = self.psu_stratum.shape[0]
        R = self.n_replicates
        same = self.psu_stratum[None, :] == self.stratum[:, None]
        adjust = (self.drop < 0)[:, None]
        m = self.mult[:, None]
        F = np.where(same, m, 1.0)
        F = np.where(adjust, np.where(same, 0.0, m), F)
        rows = np.flatnonzero(self.drop >= 0)
        F[rows, self.drop[rows]] = 0.0
        return F.reshape(R, P)

    def rank(self, present: np.ndarray, row_weight: np.ndarray) -> np.ndarray:
        if not self.jk_strata.any():
            return _dense_rank(self.dense(), present, row_weight)
        return _jackknife_rank(self, present)


def _jackknife_rank(fac: _JackknifeFactors, present: np.ndarray) -> np.ndarray:
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
    return _jackknife_rank_counts(fac, a, pres.sum(axis=0))


def _jackknife_rank_counts(fac: _JackknifeFactors, a: np.ndarray, total: np.ndarray) -> np.ndarray:
    """:func:`_jackknife_rank` from the present PSUs per stratum ``a`` (H, M) and in
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


def _rank_gram(G: np.ndarray, tol: float = _RANK_TOL) -> int:
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


def _rank_grams(
    G: np.ndarray, tol: float = _RANK_TOL, cap: np.ndarray | None = None
) -> np.ndarray:
    """:func:`_rank_gram` of a stack of Gram matrices (B, R, R), all at once.

    Notes
    -----
    Right-looking Cholesky in column order that skips a column whose residual
    :math:`G_{jj}` (after the kept columns are eliminated) falls below
    :math:`tol^2` times its original norm: the same decisions as
    :func:`_rank_gram`, vectorised over the stack (the loop runs over the R
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


def _dense_rank(F: np.ndarray, present: np.ndarray, row_weight: np.ndarray) -> np.ndarray:
    """Rank of ``F[:, present_m] * sqrt(row_weight)`` for every column m of ``present``
    (P, M) bool: :func:`_sparse_rank` of its (unit, column) pairs."""
    pres = np.asarray(present, dtype=bool)
    column, unit = np.nonzero(pres.T)
    return _sparse_rank(F, row_weight, unit, column, pres.shape[1])


def _sparse_rank(
    F: np.ndarray, row_weight: np.ndarray, unit: np.ndarray, column: np.ndarray, M: int
) -> np.ndarray:
    """:func:`_dense_rank` from the (unit, column) pairs of present units (each pair
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
    first = _first_rows(codes, int(codes.max()) + 1)
    rep = first[codes]  # (M,) first column of each column's pattern
    same = count[rep] == count
    if same.all() and count.sum():
        col_of = np.repeat(np.arange(M), count)  # column of each sorted pair
        offset = np.arange(unit.size) - starts[col_of]
        same = bool(np.array_equal(unit, unit[starts[rep[col_of]] + offset]))
    if not bool(np.all(same)):
        first, codes = np.arange(M), np.arange(M)
    return _pattern_ranks(F, row_weight, unit, starts[first], count[first])[codes]


def _pattern_ranks(
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
    of their whole Gram matrix (:func:`_rank_grams`).
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
        full = lam >= _RANK_TOL**2 * dmax * (1.0 + 1e-6)
        ranks[big[full]] = R
        todo = np.setdiff1d(todo, big[full])
    # exact rank from the whole Gram matrix; patterns go in buckets of similar size
    # (padding at most doubles the work) and chunks of bounded memory
    bucket = np.ceil(np.log2(np.maximum(count[todo], 1))).astype(np.int64)
    for level in np.unique(bucket):  # one per power of two of the size, not per domain
        members = todo[bucket == level]
        kmax = int(count[members].max())
        step = max(1, _CHUNK_VALUES // max(1, R * max(kmax, R)))
        for i in range(0, members.size, step):  # chunks of memory
            chunk = members[i : i + step]
            pos = np.minimum(np.arange(kmax)[None, :], count[chunk, None] - 1)
            valid = np.arange(kmax)[None, :] < count[chunk, None]
            A = np.moveaxis(Fw[:, units[starts[chunk, None] + pos]], 0, 1)
            A = A * valid[:, None, :]  # (b, R, kmax)
            ranks[chunk] = _rank_grams(A @ np.swapaxes(A, 1, 2), cap=count[chunk])
    return ranks


def _cells_matrix(totals: Any, cell_values: np.ndarray) -> sp.csc_matrix:
    """The sparse (P, D*K) matrix of the cell totals ``cell_values`` (C, K or 1) of
    sparse :class:`~flestimate.estimation.core.DomainTotals` (columns ``d * K + k``)."""
    D, K = totals.n_domains, totals.n_vars
    C = totals.cell_psu.shape[0]
    vals = np.broadcast_to(cell_values, (C, K))
    rows = np.repeat(totals.cell_psu, K)
    cols = (totals.cell_domain[:, None] * K + np.arange(K)[None, :]).ravel()
    return sp.csc_matrix((vals.ravel(), (rows, cols)), shape=(totals.n_psus, D * K))


def weights_rank(weights: np.ndarray, tol: float = _RANK_TOL) -> int:
    """Rank of a replicate-weight matrix (n, R) with R's ``qr(weights, tol = 1e-5)`` rule.

    Notes
    -----
    Computed from the Gram matrix :math:`W^T W` (see :func:`_rank_gram`).

    References
    ----------
    Lumley, T. survey R package, ``degf.svyrep.design``.
    """
    W = np.asarray(weights, dtype=np.float64)
    return _rank_gram(W.T @ W, tol)


# ============================================================================ variance


def replicate_variance(
    replicates: np.ndarray,
    estimate: np.ndarray,
    scale: float,
    rscales: np.ndarray,
    mse: bool,
    *,
    covariance: bool = False,
) -> np.ndarray:
    """Replication variance (M,) or covariance (M, M) of M statistics.

    Parameters
    ----------
    replicates : ndarray (R, M)
        Replicate estimates; non-finite values (a replicate with an empty domain)
        are left out of that statistic, as R's ``svrVar`` (``na.omit``).
    estimate : ndarray (M,)
        Full-sample estimates (the centre when ``mse``).
    scale : float
    rscales : ndarray (R,)
    mse : bool

    Notes
    -----
    :math:`v = c \\sum_r c_r (\\hat\\theta_r - \\tilde\\theta)^2` with
    :math:`\\tilde\\theta` the mean of the replicates with :math:`c_r > 0`, or
    :math:`\\hat\\theta` when ``mse``.

    References
    ----------
    Lumley, T. survey R package, ``svrVar``.
    Wolter, K. M. (2007). Introduction to Variance Estimation, 2nd ed., Springer.
    """
    th = np.asarray(replicates, dtype=np.float64)
    est = np.asarray(estimate, dtype=np.float64).reshape(-1)
    rs = np.asarray(rscales, dtype=np.float64).reshape(-1, 1)
    ok = np.isfinite(th)
    if mse:
        centre = est
    else:
        use = ok & (rs > 0)
        with np.errstate(invalid="ignore", divide="ignore"):
            centre = np.where(use, th, 0.0).sum(axis=0) / use.sum(axis=0)
    dev = np.where(ok, th - centre[None, :], 0.0)
    if covariance:
        return scale * (dev.T @ (rs * dev))
    v = scale * (rs * dev * dev).sum(axis=0)
    none = ~ok.any(axis=0) if th.shape[0] else np.ones(th.shape[1], dtype=bool)
    return np.where(none & ~np.isfinite(est), np.nan, v)


# ============================================================================ building


def _warn(msg: str) -> None:
    warnings.warn(msg, FlestimateWarning, stacklevel=4)


def _first_rows(codes: np.ndarray, n_groups: int) -> np.ndarray:
    """First row of each group code (the order of appearance in the data)."""
    out = np.empty(n_groups, dtype=np.int64)
    out[codes[::-1]] = np.arange(codes.size - 1, -1, -1)
    return out


def _jackknife(design: Any, method: str) -> tuple[_JackknifeFactors, float, np.ndarray]:
    s: DesignStructure = design.structure
    H = s.n_strata
    P = s.n_psus
    f = s.fpc1
    certain = 1.0 - f < _CERTAINTY_TOL
    n_h = s.n_psu
    if method == "jk1":
        if s.n_strata > 1 or design.spec.get("strata"):
            raise DesignError(
                "method='jk1' is for unstratified designs; this design has strata "
                f"({design.spec.get('strata')!r}). Use method='jkn' (delete one PSU within "
                "strata)."
            )
    elif not design.spec.get("strata"):
        raise DesignError(
            f"method={method!r} needs a stratified design; this one has no strata. Use "
            "method='jk1' or 'bootstrap' for an unstratified design."
        )
    jk = (n_h >= 2) & ~certain
    lone = (n_h == 1) & ~certain
    rule = s.lonely_psu
    adjust = lone & (rule == "adjust")
    if lone.any() and rule == "fail":  # the design already refuses this; kept for safety
        raise DesignError(
            f"{int(lone.sum())} strata have a single PSU (first: "
            f"{first_values(s.strata_labels[np.flatnonzero(lone)][:5])}). Choose lonely_psu= "
            "when building the design."
        )
    if method == "jk1" and lone.any():
        raise DesignError(
            "method='jk1' needs at least two PSUs; the design has one. A single PSU gives "
            "no variance estimate."
        )
    # replicates in the order of the PSU codes (strata, then PSUs)
    psu_in_jk = jk[s.psu_stratum]
    drop = np.flatnonzero(psu_in_jk)
    rep_stratum = s.psu_stratum[drop]
    nh = n_h[rep_stratum].astype(np.float64)
    mult = nh / (nh - 1.0)
    rscales = (1.0 - f[rep_stratum]) * (nh - 1.0) / nh
    adj_strata = np.flatnonzero(adjust)
    if adj_strata.size:
        # R's jknweights: zero the lone stratum, others x H/(H-1), rscale (H-1)/H
        # (replicates in the order of the strata, as R)
        order = np.argsort(np.concatenate([rep_stratum, adj_strata]), kind="stable")
        rep_stratum = np.concatenate([rep_stratum, adj_strata])[order]
        drop = np.concatenate([drop, np.full(adj_strata.size, -1)])[order]
        mult = np.concatenate([mult, np.full(adj_strata.size, H / (H - 1.0))])[order]
        rscales = np.concatenate([rscales, np.full(adj_strata.size, (H - 1.0) / H)])[order]
    R = rep_stratum.size
    if R == 0:
        raise DesignError(
            "every stratum was sampled exhaustively (fpc equal to the sample size) or has a "
            "single PSU removed by the lonely-PSU rule, so there are no jackknife replicates "
            "and no sampling variance."
        )
    scale = 1.0
    if method == "jk1":
        scale = float(rscales[0])
        rscales = np.ones(R)
    elif rule == "average" and R < P:
        scale = P / R
    fac = _JackknifeFactors(
        psu_stratum=s.psu_stratum,
        n_strata=H,
        stratum=rep_stratum.astype(np.int64),
        drop=drop.astype(np.int64),
        mult=mult,
        jk_strata=jk,
        adjust_strata=adjust,
    )
    return fac, scale, rscales


def _brr(design: Any, rho: float) -> np.ndarray:
    s: DesignStructure = design.structure
    if not design.spec.get("strata"):
        raise DesignError(
            "BRR needs a stratified design with two PSUs in every stratum; this one has no "
            "strata. Use method='jk1' or 'bootstrap'."
        )
    bad = np.flatnonzero(s.n_psu != 2)
    if bad.size:
        labels = s.strata_labels[bad]
        counts = s.n_psu[bad]
        shown = ", ".join(
            f"{lab!r} ({c} PSUs)" for lab, c in zip(labels[:5], counts[:5], strict=False)
        )
        raise DesignError(
            f"BRR needs exactly two PSUs in every stratum; {bad.size} strata of "
            f"{design.spec.get('strata')!r} do not (first: {shown}"
            f"{', ...' if bad.size > 5 else ''}). Group PSUs into variance strata of two "
            "(pairs of similar PSUs) in a new column and pass it as strata=, or use "
            "method='jkn' or 'bootstrap'."
        )
    if np.any(s.fpc1 > 0):
        _warn("BRR and Fay replicates ignore the finite population correction (as R survey).")
    H = s.n_strata
    first = _first_rows(s.psu, s.n_psus)
    # R's brrweights: strata ordered by their labels as text, PSUs by first appearance
    text = np.array([str(v) for v in s.strata_labels], dtype=object)
    stratum_rank = np.empty(H, dtype=np.int64)
    stratum_rank[np.argsort(text, kind="stable")] = np.arange(H)
    order = np.lexsort((first, stratum_rank[s.psu_stratum]))
    is_first = np.zeros(s.n_psus, dtype=bool)
    is_first[order[0::2]] = True
    had = hadamard(H).astype(np.float64)
    row = 1 + stratum_rank[s.psu_stratum]  # (P,)
    plus = had[row, :].T  # (R, P): 1 where the first PSU of the pair gets 2 - rho
    half = np.where(is_first[None, :], plus, 1.0 - plus)
    return half * (2.0 - rho) + (1.0 - half) * rho


def _stratum_slots(psu_stratum: np.ndarray, slots_per_stratum: np.ndarray, n_h: np.ndarray):
    """Draw slots: for each stratum h, ``slots_per_stratum[h]`` slots, and the offsets
    of its PSUs in the PSU order sorted by stratum."""
    order = np.argsort(psu_stratum, kind="stable")
    offsets = np.concatenate([[0], np.cumsum(n_h)[:-1]])
    slot_stratum = np.repeat(np.arange(n_h.size), slots_per_stratum)
    return order, offsets, slot_stratum


def _wr_counts(
    s: DesignStructure, B: int, draws: np.ndarray, rng: np.random.Generator, strata: np.ndarray
) -> np.ndarray:
    """Counts (B, P) of ``draws[h]`` with-replacement draws among the PSUs of each stratum
    in ``strata`` (bool (H,)); other strata get 0."""
    n_h = s.n_psu
    use = np.where(strata, draws, 0)
    order, offsets, slot_stratum = _stratum_slots(s.psu_stratum, use, n_h)
    S = slot_stratum.size
    P = s.n_psus
    if S == 0:
        return np.zeros((B, P))
    u = rng.random((B, S))
    pick = offsets[slot_stratum][None, :] + np.floor(u * n_h[slot_stratum][None, :]).astype(
        np.int64
    )
    psu = order[pick]
    code = (np.arange(B)[:, None] * P + psu).ravel()
    return np.bincount(code, minlength=B * P).reshape(B, P).astype(np.float64)


def _wor_counts(
    s: DesignStructure, B: int, rng: np.random.Generator, strata: np.ndarray
) -> np.ndarray:
    """Counts (B, P) of n_h draws without replacement from a pseudo-population of N_h
    copies of the stratum's PSUs (R's ``bootstratum`` with ``popsize``)."""
    P = s.n_psus
    out = np.zeros((B, P))
    idx = np.flatnonzero(strata)
    if idx.size == 0:
        return out
    n_h = s.n_psu
    order = np.argsort(s.psu_stratum, kind="stable")
    offsets = np.concatenate([[0], np.cumsum(n_h)[:-1]])
    N_h = np.floor(n_h / np.where(s.fpc1 > 0, s.fpc1, 1.0) + 1e-9).astype(np.int64)
    # copies of each PSU in the pseudo-population: N_h // n_h, plus one for the first
    # N_h % n_h PSUs of a random order (R shuffles the PSUs, then repeats them)
    key = rng.random(P) + s.psu_stratum  # random order within strata
    shuffled = np.argsort(key, kind="stable")
    pos = np.empty(P, dtype=np.int64)
    pos[shuffled] = np.arange(P) - offsets[s.psu_stratum[shuffled]]
    h_of = s.psu_stratum
    copies = N_h[h_of] // n_h[h_of] + (pos < (N_h[h_of] % n_h[h_of]))
    # sequential hypergeometric draws over the PSUs of each stratum, vectorised over
    # strata and replicates (loop over the position within the stratum)
    remaining_N = np.repeat(N_h[idx][None, :], B, axis=0)
    remaining_n = np.repeat(n_h[idx][None, :], B, axis=0)
    for j in range(int(n_h[idx].max())):
        has = j < n_h[idx]
        cols = idx[has]
        p = order[offsets[cols] + j]
        good = np.repeat(copies[p][None, :], B, axis=0)
        bad = remaining_N[:, has] - good
        c = rng.hypergeometric(good, bad, remaining_n[:, has])
        out[:, p] = c
        remaining_N[:, has] -= good
        remaining_n[:, has] -= c
    return out


def _bootstrap(design: Any, B: int, rng: np.random.Generator) -> tuple[np.ndarray, float]:
    s: DesignStructure = design.structure
    n_h = s.n_psu
    nbar = 1.0 / np.mean(1.0 / n_h)
    if nbar <= 1.0:
        raise DesignError(
            "every stratum has a single PSU, so the bootstrap has no variance to estimate "
            "(R's scale n/(n-1) is infinite). Collapse strata first."
        )
    wor = s.fpc1 > 0
    F = _wr_counts(s, B, n_h, rng, ~wor) + _wor_counts(s, B, rng, wor)
    scale = nbar / ((nbar - 1.0) * (B - 1.0))
    return F, scale


def _subbootstrap(design: Any, B: int, rng: np.random.Generator) -> np.ndarray:
    s: DesignStructure = design.structure
    n_h = s.n_psu
    if np.any(s.fpc1 > 0):
        _warn("the subbootstrap ignores the finite population correction (as R survey).")
    ok = n_h >= 2
    counts = _wr_counts(s, B, n_h - 1, rng, ok)
    nh = n_h[s.psu_stratum].astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        mult = np.where(nh > 1, nh / (nh - 1.0), 1.0)
    F = counts * mult[None, :]
    # strata with one PSU keep their weight (no contribution), like the lonely-PSU rules
    F[:, ~ok[s.psu_stratum]] = 1.0
    return F


def _sdr(design: Any, R: int) -> np.ndarray:
    s: DesignStructure = design.structure
    if np.any(s.fpc1 > 0):
        _warn("SDR replicates ignore the finite population correction.")
    had = hadamard(R - 1)
    if had.shape[0] != R:
        raise ValidationError(
            f"n_replicates={R} is not an order of Hadamard matrix flestimate builds; the "
            f"nearest is {had.shape[0]}. Use a multiple of 4 such as 80."
        )
    S = 2.0 * had.astype(np.float64) - 1.0
    P = s.n_psus
    first = _first_rows(s.psu, P)
    order = np.lexsort((first, s.psu_stratum))  # sort order: strata, then appearance
    g = np.empty(P, dtype=np.int64)
    g[order] = np.arange(P)
    # next PSU in sort order within the stratum, cyclically
    n_h = s.n_psu
    offsets = np.concatenate([[0], np.cumsum(n_h)[:-1]])
    h = s.psu_stratum
    within = g - offsets[h]
    nxt_pos = offsets[h] + (within + 1) % n_h[h]
    nxt = order[nxt_pos]
    row_a = 1 + g % (R - 1)  # the all-ones row 0 is not used
    row_b = row_a[nxt]
    c = 2.0**-1.5
    return 1.0 + c * (S[row_a, :].T - S[row_b, :].T)


def _rng(rng: Any) -> np.random.Generator:
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or isinstance(rng, (int, np.integer)):
        return np.random.default_rng(rng)
    raise ValidationError(f"rng={rng!r} must be an int seed, a numpy.random.Generator or None.")


def _check_rho(rho: Any) -> float:
    try:
        r = float(rho)
    except (TypeError, ValueError):
        r = np.nan
    if not (0.0 <= r < 1.0):
        raise ValidationError(
            f"rho={rho!r} is outside [0, 1). Fay's coefficient multiplies the weights of the "
            "PSUs left out of a half-sample; use a value such as 0.3 or 0.5 (0 is BRR)."
        )
    return r


def replicate_design(
    design: Any,
    method: str,
    *,
    n_replicates: int | None = None,
    rho: float | None = None,
    rng: int | np.random.Generator | None = None,
    mse: bool = False,
) -> ReplicateDesign:
    """Replicates of a :class:`SurveyDesign` (R's ``as.svrepdesign``): ``design.replicate``.

    Parameters
    ----------
    design : SurveyDesign
    method : {"jk1", "jkn", "brr", "fay", "bootstrap", "subbootstrap", "sdr"}
        ``"jk1"`` delete-one-PSU jackknife of an unstratified design; ``"jkn"``
        delete-one-PSU within strata; ``"brr"`` balanced half-samples (two PSUs per
        stratum); ``"fay"`` Fay's BRR with coefficient ``rho``; ``"bootstrap"``
        Canty-Davison bootstrap of PSUs within strata (without replacement from a
        pseudo-population when the design has an fpc); ``"subbootstrap"`` Rao-Wu
        bootstrap drawing n_h - 1 PSUs; ``"sdr"`` successive difference replication
        (PSUs in the order of the data within strata).
    n_replicates : int, optional
        Bootstrap replicates (default 50, as R) or SDR replicates (default: the
        smallest Hadamard order above min(PSUs, 79), 80 for large designs). Fixed
        by the design for the jackknife and BRR (an error if another is given).
    rho : float, optional
        Fay's coefficient in [0, 1), required for ``"fay"`` only.
    rng : int, numpy.random.Generator or None
        Randomness of the bootstrap methods.
    mse : bool
        Centre the variance at the full-sample estimate instead of the replicate mean.

    Returns
    -------
    ReplicateDesign

    Notes
    -----
    Replicate weights are :math:`w_i f_{r,p(i)}` with PSU factors :math:`f`:

    - JK1: :math:`f_{r,p} = 0` for p = r, :math:`n/(n-1)` otherwise; scale
      :math:`(1-f)(n-1)/n`, rscales 1.
    - JKn: replicate (h, i) zeroes PSU i of stratum h and multiplies the other PSUs
      of h by :math:`n_h/(n_h-1)`; scale 1, rscales :math:`(1-f_h)(n_h-1)/n_h`.
      Lonely PSUs as R: ``"remove"``/``"certainty"``/``"average"`` give no
      replicate (``"average"`` multiplies scale by P / R); ``"adjust"`` adds a
      replicate zeroing the lone PSU with the other PSUs times H/(H-1), rscale
      (H-1)/H. Certainty strata give no replicate.
    - BRR / Fay: Hadamard row h+1 (strata ordered by label as text, R's
      ``hadamard(H)``) gives each replicate's half-sample; factors 2 - rho and rho;
      scale :math:`1/(R(1-\\rho)^2)`.
    - bootstrap: factors are the counts of :math:`n_h` PSUs drawn with replacement
      (without replacement from :math:`N_h` copies when the design has an fpc);
      scale :math:`\\bar n / ((\\bar n - 1)(B - 1))`, :math:`\\bar n` the harmonic
      mean of :math:`n_h`.
    - subbootstrap: counts of :math:`n_h - 1` draws times :math:`n_h/(n_h-1)`;
      scale :math:`1/(B-1)`.
    - SDR: PSU g (sort order) takes Hadamard rows :math:`a_g` and :math:`a_{g+1}`
      (the next PSU of its stratum, cyclically), factor
      :math:`1 + 2^{-3/2}(h_{a_g,r} - h_{a_{g+1},r})`; scale 4/R.

    Strata with one PSU contribute nothing under the bootstrap methods and SDR
    (as R's bootstrap); only the jackknife implements ``"adjust"`` and
    ``"average"``.

    References
    ----------
    Lumley, T. survey R package, ``as.svrepdesign``, ``jknweights``,
    ``brrweights``, ``bootweights``, ``subbootweights``.
    Canty, A. J. and Davison, A. C. (1999). Resampling-based variance estimation
    for labour force surveys. The Statistician 48, 379-391.
    Rao, J. N. K. and Wu, C. F. J. (1988). Resampling inference with complex
    survey data. JASA 83, 231-241.
    Fay, R. E. and Train, G. F. (1995). Aspects of survey and model-based postcensal
    estimation of income and poverty characteristics for states and counties.
    Proceedings of the Section on Government Statistics, ASA, 154-159.
    Wolter, K. M. (2007). Introduction to Variance Estimation, 2nd ed., Springer.
    """
    if method not in DESIGN_METHODS:
        raise ValidationError(
            f"method={method!r} is not known. Use one of {', '.join(map(repr, DESIGN_METHODS))}."
        )
    if rho is not None and method != "fay":
        raise ValidationError(
            f"rho= is used by method='fay' only; method={method!r} was given with rho={rho!r}. "
            "Drop rho= or use method='fay'."
        )
    if getattr(design, "_residualizers", ()):
        raise DesignError(
            "this design carries calibration (post-stratification, raking or GREG) applied "
            "to the full-sample weights only. Build the replicates first "
            "(design.replicate(...)) and then apply the weighting to the replicate design, "
            "so that every replicate is re-calibrated."
        )
    if getattr(design, "history", ()):
        _warn(
            f"the design carries {len(design.history)} weighting step(s); replicates built now "
            "multiply the adjusted weights without repeating the steps, so the variance "
            "ignores them. Build the replicates first and weight the replicate design."
        )
    if design.structure.stages:
        _warn(
            "replicates resample PSUs: the finite population corrections of later stages "
            "are dropped (as R's as.svrepdesign)."
        )
    if n_replicates is not None:
        if isinstance(n_replicates, bool) or not isinstance(n_replicates, (int, np.integer)):
            raise ValidationError(f"n_replicates={n_replicates!r} must be an integer.")
        n_replicates = int(n_replicates)
    s: DesignStructure = design.structure
    rscales: np.ndarray
    factors: _Factors
    if method in ("jk1", "jkn"):
        factors, scale, rscales = _jackknife(design, method)
        _check_fixed(method, n_replicates, factors.n_replicates)
    elif method in ("brr", "fay"):
        if method == "fay" and rho is None:
            raise ValidationError(
                "method='fay' needs rho=, Fay's coefficient in [0, 1) (e.g. 0.5)."
            )
        r = 0.0 if method == "brr" else _check_rho(rho)
        F = _brr(design, r)
        _check_fixed(method, n_replicates, F.shape[0])
        factors = _DenseFactors(F)
        scale = 1.0 / (F.shape[0] * (1.0 - r) ** 2)
        rscales = np.ones(F.shape[0])
        rho = r if method == "fay" else None
    elif method in ("bootstrap", "subbootstrap"):
        B = 50 if n_replicates is None else n_replicates
        if B < 2:
            raise ValidationError(f"n_replicates={B} must be at least 2.")
        gen = _rng(rng)
        if method == "bootstrap":
            F, scale = _bootstrap(design, B, gen)
        else:
            F = _subbootstrap(design, B, gen)
            scale = 1.0 / (B - 1.0)
        factors = _DenseFactors(F)
        rscales = np.ones(B)
    else:  # sdr
        R = n_replicates if n_replicates is not None else hadamard(min(s.n_psus, 79)).shape[0]
        if R < 2:
            raise ValidationError(f"n_replicates={R} must be at least 2.")
        F = _sdr(design, R)
        factors = _DenseFactors(F)
        scale = 4.0 / R
        rscales = np.ones(R)
    return ReplicateDesign._build(
        data=design.data,
        weights=design.weights,
        # later-stage units do not enter replication variances: no stage totals needed
        structure=replace(s, stages=()),
        factors=factors,
        method=method,
        scale=float(scale),
        rscales=np.asarray(rscales, dtype=np.float64),
        mse=bool(mse),
        df=None,
        rho=rho,
        replicate_names=None,
        source={"from": "design", "design": dict(design.spec)},
        history=tuple(getattr(design, "history", ())),
    )


def _check_fixed(method: str, given: int | None, actual: int) -> None:
    if given is not None and given != actual:
        raise ValidationError(
            f"n_replicates={given} does not fit method={method!r}: this design gives "
            f"{actual} replicates. Leave n_replicates unset for this method."
        )


# ============================================================================ delivered weights


def _replicate_columns(frame: pd.DataFrame, spec: Any, weight: str) -> list:
    if isinstance(spec, str):
        try:
            pattern = re.compile(spec)
        except re.error as exc:
            raise DesignError(
                f"replicate_weights={spec!r} is not a valid regular expression ({exc}). Pass "
                "a list of column names or a regular expression such as 'repw[0-9]+'."
            ) from None
        cols = [c for c in frame.columns if c != weight and pattern.search(str(c))]
        if not cols:
            raise DesignError(
                f"replicate_weights={spec!r} matches no column of the data (columns: "
                f"{first_values(map(str, frame.columns), 10)}). Check the pattern, or pass "
                "the list of replicate weight columns."
            )
        return cols
    if isinstance(spec, Sequence) and len(spec) > 0:
        cols = list(spec)
        missing = [c for c in cols if c not in frame.columns]
        if missing:
            raise DesignError(
                f"{len(missing)} replicate weight columns are not in the data (first: "
                f"{first_values(missing)}). Check the names."
            )
        if len(set(cols)) != len(cols):
            raise DesignError("replicate_weights names a column twice. Name each column once.")
        return cols
    raise DesignError(
        f"replicate_weights must be a list of column names or a regular expression; found {spec!r}."
    )


def _weight_values(frame: pd.DataFrame, weight: str) -> np.ndarray:
    if not isinstance(weight, str) or weight not in frame.columns:
        raise DesignError(
            f"weight column {weight!r} is not in the data (columns: "
            f"{first_values(map(str, frame.columns), 10)}). Check the spelling."
        )
    col = frame[weight]
    vals = pd.to_numeric(col, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    bad = ~np.isfinite(vals) | (vals <= 0)
    if bad.any():
        rows = first_values(frame.index[np.flatnonzero(bad)][:6])
        raise DesignError(
            f"weight column {weight!r} has {int(bad.sum())} missing, non-numeric, zero or "
            f"negative values (rows {rows}). Survey weights must be > 0; drop or correct "
            "these rows."
        )
    return vals


def _replicate_matrix(frame: pd.DataFrame, cols: list) -> np.ndarray:
    nonnum = [
        c
        for c in cols
        if not pd.api.types.is_numeric_dtype(frame[c].dtype)
        or pd.api.types.is_bool_dtype(frame[c].dtype)
    ]
    if nonnum:
        raise DesignError(
            f"{len(nonnum)} replicate weight columns are not numeric (first: "
            f"{first_values(nonnum)}). Convert them to numbers."
        )
    return frame[cols].to_numpy(dtype=np.float64, na_value=np.nan)


def _check_replicate_values(W: np.ndarray, cols: Sequence, index: pd.Index, h: np.ndarray) -> None:
    """Clear errors for missing, infinite or negative replicate weights.

    Fast path: a NaN makes ``min()`` NaN; an infinite value makes the row's random
    projections ``h`` non-finite.
    """
    if W.size == 0 or (W.min() >= 0 and np.isfinite(h).all()):
        return
    for bad, what, fix in (
        (
            ~np.isfinite(W),
            "missing or infinite",
            "fill them (a unit outside a replicate has weight 0)",
        ),
        (W < 0, "negative", "replicate weights must be >= 0; correct them"),
    ):
        if bad.any():
            per_col = bad.sum(axis=0)
            which = np.flatnonzero(per_col)
            rows = np.flatnonzero(bad.any(axis=1))
            raise DesignError(
                f"{which.size} replicate weight columns have {what} values "
                f"({int(per_col.sum())} in all; columns {first_values([cols[j] for j in which])}"
                f"; rows {first_values(index[rows][:6])}). {fix[0].upper() + fix[1:]}."
            )


def _group_rows(
    W: np.ndarray, w: np.ndarray, cols: Sequence, index: pd.Index
) -> tuple[np.ndarray, np.ndarray]:
    """Check the replicate weights and group rows with identical factors ``W[i] / w[i]``.

    Returns ``(group (n,), factors (G, R))``. One pass over W gives three random
    projections of each row's factors (laid out for BLAS whatever W's memory order);
    they also reveal missing or infinite values (:func:`_check_replicate_values`).
    Rows of one PSU usually follow each other in the file, so runs of consecutive
    rows with equal projections are the groups; otherwise two projections define
    the groups by hashing. All three projections of every row are then checked
    against its group's first row; when rows do not share factors each row is its
    own group. (Splitting one set of factors into several groups changes no total:
    it only costs time.)
    """
    n = W.shape[0]
    proj = np.random.default_rng(20261128).standard_normal((W.shape[1], 3))
    # rows a weighting step gave weight 0 (nonrespondents) have factors 0
    inv = np.divide(1.0, w, out=np.zeros(w.shape), where=w > 0)
    h = proj.T @ W.T if W.flags.f_contiguous else np.ascontiguousarray((W @ proj).T)
    h *= inv[None, :]
    _check_replicate_values(W, cols, index, h)
    hn = h / (np.abs(h).max(axis=1, keepdims=True) + 1e-300)  # (3, n)
    for attempt in ("runs", "hash"):
        if attempt == "runs":
            step = np.zeros(n, dtype=bool)
            for row in hn:  # the three projections
                step[1:] |= np.abs(np.diff(row)) > 1e-10
            if np.count_nonzero(step) + 1 > n // 8:
                continue  # not sorted by PSU: hash the factors instead
            codes = np.cumsum(step)
            first = np.concatenate([[0], np.flatnonzero(step)])
        else:
            c0, _ = pd.factorize(np.round(hn[0], 10))
            c1, _ = pd.factorize(np.round(hn[1], 10))
            codes, uniq = pd.factorize(c0.astype(np.int64) * (int(c1.max()) + 1) + c1)
            if len(uniq) == n:
                break
            first = _first_rows(codes, len(uniq))
        at = first[codes]
        if all((np.abs(row - row[at]) <= 1e-9).all() for row in hn):
            return codes.astype(np.int64), W[first] * inv[first][:, None]
    return np.arange(n, dtype=np.int64), W * inv[:, None]


def _group_structure(group: np.ndarray, weights: np.ndarray) -> DesignStructure:
    G = int(group.max()) + 1 if group.size else 0
    return DesignStructure(
        n=int(group.size),
        weights=np.ascontiguousarray(weights, dtype=np.float64),
        psu=group,
        psu_stratum=np.zeros(G, dtype=np.int64),
        n_psu=np.array([G], dtype=np.int64),
        fpc1=np.zeros(1),
        stages=(),
        lonely_psu="fail",  # no lonely-PSU rule applies to given replicate weights
        stratum=np.zeros(group.size, dtype=np.int64),
        strata_labels=pd.Index([1]),
        psu_labels=pd.RangeIndex(G),
    )


def _scales_for(
    method: str, R: int, scale: Any, rscales: Any, rho: Any
) -> tuple[float, np.ndarray, float | None]:
    """R's ``svrepdesign`` defaults of scale and rscales (combined weights)."""
    if method not in METHODS:
        raise ValidationError(
            f"method={method!r} is not known. Use one of {', '.join(map(repr, METHODS))}."
        )
    if rho is not None and method != "fay":
        raise ValidationError(
            f"rho= is used by method='fay' only; method={method!r} was given with rho={rho!r}."
        )
    fixed = {"brr": "1/R", "fay": "1/(R (1 - rho)^2)", "sdr": "4/R"}
    if method in fixed and scale is not None:
        raise ValidationError(
            f"scale is fixed for method={method!r} ({fixed[method]}); drop scale=, or use "
            "method='other' with your own scale and rscales."
        )
    if method in ("brr", "fay", "sdr") and rscales is not None:
        raise ValidationError(
            f"rscales are 1 for method={method!r}; drop rscales=, or use method='other'."
        )
    if rscales is not None:
        rs = np.asarray(rscales, dtype=np.float64).reshape(-1)
        if rs.size == 1:
            rs = np.repeat(rs, R)
        if rs.size != R:
            raise ValidationError(
                f"rscales has {rs.size} values; give one per replicate ({R}) or one for all."
            )
        if not np.all(np.isfinite(rs)) or np.any(rs < 0):
            raise ValidationError("rscales must be finite and >= 0.")
    elif method == "jkn":
        raise ValidationError(
            "method='jkn' needs rscales=, one per replicate column: (1 - f_h)(n_h - 1)/n_h "
            "for the stratum h of the replicate (R requires them for combined weights)."
        )
    else:
        rs = np.ones(R)
    if scale is not None:
        try:
            sc = float(scale)
        except (TypeError, ValueError):
            sc = np.nan
        if not (np.isfinite(sc) and sc > 0):
            raise ValidationError(f"scale={scale!r} must be a positive number.")
    elif method == "brr":
        sc = 1.0 / R
    elif method == "fay":
        if rho is None:
            raise ValidationError("method='fay' needs rho=, Fay's coefficient in [0, 1).")
        sc = 1.0 / (R * (1.0 - _check_rho(rho)) ** 2)
    elif method == "jk1":
        sc = (R - 1.0) / R
    elif method in ("bootstrap", "subbootstrap"):
        sc = 1.0 / (R - 1.0)
    elif method == "sdr":
        sc = 4.0 / R
    else:  # jkn, other
        sc = 1.0
    r = _check_rho(rho) if method == "fay" else None
    return sc, rs, r


# ============================================================================ the design


class ReplicateDesign(DesignMethods):
    """A survey design with replicate weights (R's ``svrepdesign``).

    Parameters
    ----------
    data : pandas.DataFrame or SurveyData
        The respondents with their full-sample weight and replicate weight columns.
        It is referenced, never modified.
    weight : str
        Column of full-sample weights (> 0).
    replicate_weights : list of str or str
        The replicate weight columns (combined weights: the analysis weight of each
        unit in each replicate, as delivered by NSOs), or a regular expression
        matching their names (the weight column itself is never included).
    method : {"jk1", "jkn", "brr", "fay", "bootstrap", "subbootstrap", "sdr", "other"}
        How the replicates were made; sets the default scale and rscales.
    scale : float, optional
        Overall multiplier c. Defaults as R: BRR 1/R, Fay 1/(R(1-rho)^2), JK1
        (R-1)/R, bootstrap and subbootstrap 1/(R-1), SDR 4/R, JKn and other 1.
    rscales : float or sequence of float, optional
        Per-replicate multipliers :math:`c_r` (default 1; required for JKn).
    mse : bool
        Centre at the full-sample estimate instead of the replicate mean.
    df : float, optional
        Degrees of freedom for intervals; default the rank of the replicate weights
        minus one (R's ``degf``), computed on each domain's rows.
    rho : float, optional
        Fay's coefficient (method "fay").

    Notes
    -----
    :math:`v = c \\sum_r c_r (\\hat\\theta_r - \\tilde\\theta)^2` (R's ``svrVar``),
    where :math:`\\hat\\theta_r` is the estimate with the r-th replicate weights and
    :math:`\\tilde\\theta` the mean of the replicates (or :math:`\\hat\\theta`).

    Interval methods take this variance and df: ``ci_method="logit"`` is R's
    ``svyciprop(method = "xlogit")`` (R's ``"logit"`` refits a GLM in every replicate
    and differs slightly); R has no ``"likelihood"`` interval for replicate designs,
    flestimate's uses the replication variance in its design effect.

    References
    ----------
    Lumley, T. survey R package, ``svrepdesign``, ``svrVar``.
    Wolter, K. M. (2007). Introduction to Variance Estimation, 2nd ed., Springer.

    Examples
    --------
    Jackknife (JKn) replicates built from the bundled sample's design:

    >>> import pandas as pd
    >>> import flestimate
    >>> data = pd.read_csv("data/sample/fl_survey.csv").merge(
    ...     pd.read_csv("data/sample/truth_respondents.csv")[["pid", "fl_true"]], on="pid")
    >>> design = flestimate.SurveyDesign(data, weight="w_final", strata="stratum", psu="psu")
    >>> jackknife = design.replicate("jkn")
    >>> row = jackknife.prevalence("fl_true").to_frame().iloc[0]
    >>> print(f"{row.estimate:.2f} per 1,000, SE {row.se:.3f}, df {row.df:g}")
    4.94 per 1,000, SE 0.730, df 614
    """

    __slots__ = (
        "_data",
        "_weights",
        "_structure",
        "_factors",
        "_method",
        "_scale",
        "_rscales",
        "_mse",
        "_df",
        "_rho",
        "_names",
        "_source",
        "_history",
        "_cache",
    )

    def __init__(
        self,
        data: Any,
        *,
        weight: str,
        replicate_weights: Sequence[str] | str,
        method: str,
        scale: float | None = None,
        rscales: float | Sequence[float] | None = None,
        mse: bool = False,
        df: float | None = None,
        rho: float | None = None,
    ) -> None:
        from flestimate.design.survey import _frame_of

        frame = _frame_of(data)
        if len(frame) == 0:
            raise DesignError("the data have no rows. A design needs at least one respondent.")
        cols = _replicate_columns(frame, replicate_weights, weight)
        if len(cols) < 2:
            raise DesignError(
                f"replicate_weights gives {len(cols)} column ({first_values(cols)}); a "
                "replication variance needs at least 2 replicates. Check the columns or the "
                "pattern."
            )
        w = _weight_values(frame, weight)
        W = _replicate_matrix(frame, cols)
        sc, rs, r = _scales_for(method, len(cols), scale, rscales, rho)
        group, F = _group_rows(W, w, cols, frame.index)
        self._init(
            data=frame,
            weights=pd.Series(w, index=frame.index, name=weight),
            structure=_group_structure(group, w),
            factors=_DenseFactors(np.ascontiguousarray(F.T)),
            method=method,
            scale=sc,
            rscales=rs,
            mse=bool(mse),
            df=_check_df_value(df),
            rho=r,
            replicate_names=list(cols),
            source={"from": "columns", "replicate_weights": list(cols)},
            history=(),
        )

    # ------------------------------------------------------------------ construction
    def _init(self, **kw: Any) -> None:
        for key in (
            "data",
            "weights",
            "structure",
            "factors",
            "method",
            "scale",
            "rscales",
            "mse",
            "df",
            "rho",
            "source",
            "history",
        ):
            object.__setattr__(self, "_" + key, kw[key])
        object.__setattr__(self, "_names", kw["replicate_names"])
        object.__setattr__(self, "_cache", {})

    @classmethod
    def _build(cls, **kw: Any) -> ReplicateDesign:
        new = object.__new__(cls)
        new._init(**kw)
        return new

    def with_weights(
        self,
        weights: np.ndarray | pd.Series,
        replicate_weights: np.ndarray,
        *,
        step: Any = None,
    ) -> ReplicateDesign:
        """A new design with other full-sample and replicate weights (for weighting steps).

        Parameters
        ----------
        weights : array (n,)
            New full-sample weights (> 0).
        replicate_weights : array (n, R)
            New replicate analysis weights, e.g. every replicate re-calibrated; R must
            equal :attr:`n_replicates`.
        step : object, optional
            A record appended to :attr:`history`.

        The method, scale, rscales, mse and df rule are kept. Rows sharing their
        replicate factors are grouped again, so PSU-level factors stay compact.
        """
        n = self._structure.n
        w = np.asarray(weights, dtype=np.float64).reshape(-1)
        W = np.asarray(replicate_weights, dtype=np.float64)
        if w.shape != (n,):
            raise DesignError(f"new weights have shape {w.shape}; the design has {n} rows.")
        if W.shape != (n, self.n_replicates):
            raise DesignError(
                f"new replicate weights have shape {W.shape}; expected ({n}, {self.n_replicates})."
            )
        # weight 0 only for rows removed by a weighting step (all replicate weights 0)
        bad = ~np.isfinite(w) | (w < 0) | ((w == 0) & (W != 0).any(axis=1))
        if bad.any():
            raise DesignError(
                f"new weights have {int(bad.sum())} values that are negative, or 0 with nonzero "
                f"replicate weights (rows "
                f"{first_values(self._data.index[np.flatnonzero(bad)][:6])})."
            )
        group, F = _group_rows(W, w, self.replicate_names, self._data.index)
        history = self._history if step is None else (*self._history, step)
        return ReplicateDesign._build(
            data=self._data,
            weights=pd.Series(w, index=self._data.index, name=self._weights.name),
            structure=_group_structure(group, w),
            factors=_DenseFactors(np.ascontiguousarray(F.T)),
            method=self._method,
            scale=self._scale,
            rscales=self._rscales,
            mse=self._mse,
            df=self._df,
            rho=self._rho,
            replicate_names=self._names,
            source=dict(self._source),
            history=history,
        )

    # ------------------------------------------------------------------ frozen
    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(
            f"ReplicateDesign is frozen: cannot set {name!r}. Weighting steps return a new design."
        )

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"ReplicateDesign is frozen: cannot delete {name!r}.")

    # ------------------------------------------------------------------ attributes
    @property
    def structure(self) -> DesignStructure:
        """The encoded units replicate factors apply to (the PSUs of the design the
        replicates were built from, or groups of rows sharing their factors)."""
        return self._structure

    @property
    def method(self) -> str:
        return self._method

    @property
    def scale(self) -> float:
        return self._scale

    @property
    def rscales(self) -> np.ndarray:
        return self._rscales.copy()

    @property
    def mse(self) -> bool:
        return self._mse

    @property
    def rho(self) -> float | None:
        return self._rho

    @property
    def n_replicates(self) -> int:
        return self._factors.n_replicates

    @property
    def history(self) -> tuple:
        """Weighting steps applied to this design."""
        return self._history

    @property
    def lonely_psu(self) -> str:
        return self._structure.lonely_psu

    @property
    def spec(self) -> dict:
        """How the replicates were made: method, scale, rscales, mse, rho and source."""
        return {
            "method": self._method,
            "scale": self._scale,
            "rscales": self._rscales.tolist(),
            "mse": self._mse,
            "rho": self._rho,
            "df": self._df,
            "n_replicates": self.n_replicates,
            **self._source,
        }

    @property
    def replicate_names(self) -> list:
        """Names of the replicate weight columns (``repw1``.. for built replicates)."""
        if self._names is not None:
            return list(self._names)
        return [f"repw{r + 1}" for r in range(self.n_replicates)]

    @property
    def factors(self) -> np.ndarray:
        """Replicate factors (R, P) of the units of :attr:`structure`: the replicate
        weight of row i is ``weights[i] * factors[r, structure.psu[i]]``."""
        return self._factors.dense().copy()

    def replicate_totals(self, unit_totals: np.ndarray) -> np.ndarray:
        """Replicate totals ``factors @ unit_totals`` without forming the factors.

        Parameters
        ----------
        unit_totals : ndarray (P, M)
            Totals of M weighted variables within the units of :attr:`structure`
            (``structure.psu`` codes), computed with the full-sample weights.

        Returns
        -------
        ndarray (R, M)

        Notes
        -----
        :math:`T_{r,m} = \\sum_p f_{r,p} T_{p,m}`; for the jackknife (R = P replicates
        for JKn) from the PSU and stratum totals, never an R x P matrix.
        """
        T = np.asarray(unit_totals, dtype=np.float64)
        if T.ndim != 2 or T.shape[0] != self._structure.n_psus:
            raise ValidationError(
                f"unit_totals has shape {T.shape}; expected ({self._structure.n_psus}, M), "
                "one row per unit of design.structure."
            )
        return self._factors.totals(T)

    @property
    def degf(self) -> float:
        """Degrees of freedom: rank of the replicate weights minus one (or ``df=``)."""
        if self._df is not None:
            return self._df
        if "degf" not in self._cache:
            s = self._structure
            present = (np.bincount(s.psu, minlength=s.n_psus) > 0)[:, None]
            rank = self._factors.rank(present, self._row_weight())[0]
            self._cache["degf"] = int(rank) - 1
        return self._cache["degf"]

    def _row_weight(self) -> np.ndarray:
        if "row_weight" not in self._cache:
            s = self._structure
            self._cache["row_weight"] = grouped_sums(s.psu, s.n_psus, s.weights**2)
        return self._cache["row_weight"]

    # ------------------------------------------------------------------ replicate weights
    def replicate_weight_blocks(self, size: int = 64) -> Iterator[tuple[int, np.ndarray]]:
        """The replicate analysis weights in blocks of columns.

        Yields ``(first_replicate, array (n, b))`` with ``b <= size``: the weights of
        replicates ``first_replicate .. first_replicate + b - 1``. Memory is n x size
        at a time (weighting steps re-calibrate each block).
        """
        if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
            raise ValidationError(f"size={size!r} must be a positive integer.")
        s = self._structure
        R = self.n_replicates
        for start in range(0, R, int(size)):  # blocks of replicates
            stop = min(R, start + int(size))
            F = self._factor_block(start, stop)  # (b, P)
            yield start, (np.take(F, s.psu, axis=1) * s.weights[None, :]).T

    def _factor_block(self, start: int, stop: int) -> np.ndarray:
        fac = self._factors
        if isinstance(fac, _DenseFactors):
            return fac.F[start:stop]
        if isinstance(fac, _JackknifeFactors):
            sub = replace(
                fac,
                stratum=fac.stratum[start:stop],
                drop=fac.drop[start:stop],
                mult=fac.mult[start:stop],
            )
            return sub.dense()
        return fac.dense()[start:stop]

    @property
    def replicate_weights(self) -> pd.DataFrame:
        """The replicate analysis weights (n, R) as a DataFrame on the data's index."""
        n = self._structure.n
        R = self.n_replicates
        if n * R > _MAX_DENSE:
            raise DesignError(
                f"the replicate weights would be {n:,} x {R:,} values; use "
                "replicate_weight_blocks() to get them in blocks of columns."
            )
        W = np.empty((n, R))
        for start, block in self.replicate_weight_blocks(256):
            W[:, start : start + block.shape[1]] = block
        return pd.DataFrame(W, index=self._data.index, columns=self.replicate_names)

    def to_frame(self, *, include_data: bool = False) -> pd.DataFrame:
        """The full-sample weight and replicate weight columns, ready to ship.

        With ``include_data=True`` the data's columns come first. Give the columns
        to :class:`ReplicateDesign` with the values of :attr:`spec` (method,
        scale, rscales, mse, rho) to reproduce the variances.
        """
        w = self._weights.rename(self._weights.name or "weight").to_frame()
        rep = self.replicate_weights
        clash = [c for c in rep.columns if c in w.columns]
        if include_data:
            clash += [
                c
                for c in [*w.columns, *rep.columns]
                if c in self._data.columns and c not in self._names_in_data()
            ]
        if clash:
            raise DesignError(
                f"columns {first_values(clash)} would appear twice in the output. Rename "
                "them in the data first."
            )
        parts = [w, rep]
        if include_data:
            keep = [c for c in self._data.columns if c not in set(w.columns) | set(rep.columns)]
            parts.insert(0, self._data[keep])
        out = pd.concat(parts, axis=1)
        out.attrs["flestimate_replicates"] = self.spec
        return out

    def _names_in_data(self) -> list:
        names = [self._weights.name]
        if self._names is not None:
            names += list(self._names)
        return names

    # ------------------------------------------------------------------ engine hooks
    _residualizers: tuple = ()

    def _variance_from_totals(self, totals, estimate, residualizers, active_strata):
        """Replication variance (D*K,) of the estimates and their covariance function.

        Replicate totals are ``factors @ unit totals``; each replicate's estimates are
        the same ratios of totals as the full sample's.
        """
        from flestimate.estimation.core import ratio_estimates

        D, K = totals.n_domains, totals.n_vars
        M = D * K
        if totals.sparse:
            return self._variance_from_cells(totals, estimate)
        else:
            P = totals.psu_y.shape[0]
            ty = totals.psu_y.reshape(P, M)
            rep_y = self._factors.totals(ty)
            if totals.psu_x is None:
                rep_x = None
            else:
                tx = np.broadcast_to(totals.psu_x, (P, D, K)).reshape(P, M)
                rep_x = self._factors.totals(tx)
        theta = ratio_estimates(rep_y, rep_x)
        est = np.asarray(estimate, dtype=np.float64).reshape(M)
        var = replicate_variance(theta, est, self._scale, self._rscales, self._mse)

        def covariance() -> np.ndarray:
            return replicate_variance(
                theta, est, self._scale, self._rscales, self._mse, covariance=True
            )

        return var, covariance

    def _variance_from_cells(self, totals, estimate):
        """:meth:`_variance_from_totals` for sparse totals (cells with members only):
        the replicate estimates are formed in blocks of columns, so that memory stays
        bounded when there are many replicates (JKn: one per PSU) and many domains."""
        from flestimate.estimation.core import ratio_estimates

        D, K = totals.n_domains, totals.n_vars
        M = D * K
        Ty = _cells_matrix(totals, totals.psu_y)
        Tx = None if totals.psu_x is None else _cells_matrix(totals, totals.psu_x)
        est = np.asarray(estimate, dtype=np.float64).reshape(M)

        def theta(cols: slice) -> np.ndarray:
            rep_y = self._factors.totals(Ty[:, cols])
            rep_x = None if Tx is None else self._factors.totals(Tx[:, cols])
            return ratio_estimates(rep_y, rep_x)

        var = np.empty(M)
        width = max(1, int(_CHUNK_VALUES // max(self.n_replicates, 1)))
        for start in range(0, M, width):  # blocks of columns (memory), not domains
            cols = slice(start, min(M, start + width))
            var[cols] = replicate_variance(
                theta(cols), est[cols], self._scale, self._rscales, self._mse
            )

        def covariance() -> np.ndarray:
            return replicate_variance(
                theta(slice(None)), est, self._scale, self._rscales, self._mse, covariance=True
            )

        return var, covariance

    def _domain_df(self, totals) -> tuple[np.ndarray, np.ndarray]:
        """Degrees of freedom (D, K) per domain: rank of the domain's replicate weights
        minus one (R's ``degf`` of the subset), or the ``df=`` given; and the (H, D, K)
        strata with members (all True: unused by replication)."""
        D, K = totals.n_domains, totals.n_vars
        H = self._structure.n_strata
        active = np.ones((H, D, K), dtype=bool)
        if self._df is not None:
            return np.full((D, K), float(self._df)), active
        rows = totals.psu_rows
        Kc = rows.shape[-1]
        if totals.sparse:
            has = rows > 0  # (C, Kc)
            cell, k = np.nonzero(has)
            column = totals.cell_domain[cell] * Kc + k
            unit = totals.cell_psu[cell]
            fac = self._factors
            if isinstance(fac, _JackknifeFactors) and fac.jk_strata.any():
                M = D * Kc
                a = np.bincount(
                    fac.psu_stratum[unit] * M + column, minlength=fac.n_strata * M
                ).reshape(fac.n_strata, M)
                total = np.bincount(column, minlength=M)
                rank = _jackknife_rank_counts(fac, a.astype(np.float64), total)
            else:
                rank = _sparse_rank(fac.dense(), self._row_weight(), unit, column, D * Kc)
            rank = rank.reshape(D, Kc)
        else:
            P = rows.shape[0]
            present = (rows > 0).reshape(P, D * Kc)
            rank = self._factors.rank(present, self._row_weight()).reshape(D, Kc)
        dfs = rank.astype(np.float64) - 1.0
        if Kc != K:
            dfs = np.repeat(dfs, K, axis=1)
        return dfs, active

    # ------------------------------------------------------------------ summary
    def _summary_rows(self) -> list[tuple[str, str]]:
        w = self._structure.weights
        src = "built from a design" if self._source.get("from") == "design" else "given columns"
        rows = [
            ("rows", f"{self._structure.n:,}"),
            ("method", f"{self._method}" + (f" (rho {self._rho:g})" if self._rho else "")),
            ("replicates", f"{self.n_replicates:,} ({src})"),
            ("scale", f"{self._scale:.6g}"),
            ("rscales", _describe(self._rscales)),
            ("centre", "full-sample estimate (mse)" if self._mse else "replicate mean"),
            ("degrees of freedom", f"{self.degf:g}"),
            weights_row(w),
            ("weighting steps", str(len(self._history))),
        ]
        return rows

    def __repr__(self) -> str:
        return (
            f"<ReplicateDesign: {self._structure.n:,} rows, method={self._method!r}, "
            f"{self.n_replicates} replicates, scale={self._scale:.6g}, mse={self._mse}>"
        )



def _describe(values: np.ndarray) -> str:
    if values.size and np.all(values == values[0]):
        return f"all {values[0]:.6g}"
    return f"min {values.min():.6g}, max {values.max():.6g}"


def _check_df_value(df: Any) -> float | None:
    if df is None:
        return None
    try:
        d = float(df)
    except (TypeError, ValueError):
        d = np.nan
    if not (d > 0):
        raise ValidationError(f"df={df!r} must be a positive number (or None for R's rank rule).")
    return d
