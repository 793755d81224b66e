"""Replication variance: ``v = c sum_r c_r (theta_r - centre)^2`` (R's ``svrVar``).

Replicate totals are ``factors @ unit totals`` (no n x R matrix); each replicate's
estimates are the same ratios of totals as the full sample's.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import scipy.sparse as sp

from flestimate.design.replicate.factors import Factors
from flestimate.design.totals import DomainTotals, ratio_estimates

__all__ = ["COLUMN_BLOCK_VALUES", "cells_matrix", "replicate_variance", "replication_variance"]

# replicate estimates (R x columns) formed at once when the totals are sparse cells
COLUMN_BLOCK_VALUES = 4_000_000


def cells_matrix(totals: DomainTotals, cell_values: np.ndarray) -> sp.csc_matrix:
    """The sparse (P, D*K) matrix of the cell totals ``cell_values`` (C, K or 1) of
    sparse :class:`DomainTotals` (columns ``d * K + k``)."""
    D, K = totals.n_domains, totals.n_vars
    C = totals.cell_psu.shape[0]
    vals = np.broadcast_to(cell_values, (C, K))
    rows = np.repeat(totals.cell_psu, K)
    cols = (totals.cell_domain[:, None] * K + np.arange(K)[None, :]).ravel()
    return sp.csc_matrix((vals.ravel(), (rows, cols)), shape=(totals.n_psus, D * K))


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


def replication_variance(
    factors: Factors,
    totals: DomainTotals,
    estimate: np.ndarray,
    scale: float,
    rscales: np.ndarray,
    mse: bool,
) -> tuple[np.ndarray, Callable[[], np.ndarray]]:
    """Replication variance (D*K,) of ratio estimates from their domain totals, and a
    function computing their covariance (D*K, D*K).

    Parameters
    ----------
    factors : Factors
        The replicate factors of the units of the totals.
    totals : DomainTotals
        Dense (P, D, K) or sparse (cells with members) unit x domain totals.
    estimate : ndarray (D, K)
        Full-sample estimates.
    scale, rscales, mse
        As :func:`replicate_variance`.

    Notes
    -----
    With sparse totals the replicate estimates are formed in blocks of columns, so
    that memory stays bounded when there are many replicates (JKn: one per PSU) and
    many domains.
    """
    D, K = totals.n_domains, totals.n_vars
    M = D * K
    est = np.asarray(estimate, dtype=np.float64).reshape(M)
    if totals.sparse:
        Ty = cells_matrix(totals, totals.psu_y)
        Tx = None if totals.psu_x is None else cells_matrix(totals, totals.psu_x)
    else:
        P = totals.psu_y.shape[0]
        Ty = totals.psu_y.reshape(P, M)
        Tx = None if totals.psu_x is None else (
            np.broadcast_to(totals.psu_x, (P, D, K)).reshape(P, M)
        )  # fmt: skip

    def theta(cols: slice) -> np.ndarray:
        rep_y = factors.totals(Ty[:, cols])
        rep_x = None if Tx is None else factors.totals(Tx[:, cols])
        return ratio_estimates(rep_y, rep_x)

    if totals.sparse:
        var = np.empty(M)
        width = max(1, int(COLUMN_BLOCK_VALUES // max(factors.n_replicates, 1)))
        for start in range(0, M, width):  # blocks of columns (memory), not domains
            cols = slice(start, min(M, start + width))
            var[cols] = replicate_variance(theta(cols), est[cols], scale, rscales, mse)
        full = None
    else:
        full = theta(slice(None))
        var = replicate_variance(full, est, scale, rscales, mse)

    def covariance() -> np.ndarray:
        th = theta(slice(None)) if full is None else full
        return replicate_variance(th, est, scale, rscales, mse, covariance=True)

    return var, covariance
