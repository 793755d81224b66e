"""The RDS point estimate of a 0/1 outcome, on the sample and on stacked resamples."""

from __future__ import annotations

import numpy as np

from flestimate.rds.bootstrap import TreeResamples
from flestimate.rds.weights import rds1_weights, rds2_weights, ss_weights

__all__ = ["point_weights", "resample_estimates"]


def point_weights(
    method: str, degree: np.ndarray, y: np.ndarray, parent: np.ndarray, population_size: float | None
) -> np.ndarray:
    """Weights (mean 1) of the respondents for ``method``."""
    if method == "rds1":
        return rds1_weights(degree, y, parent)
    if method == "ss":
        return ss_weights(degree, float(population_size))  # type: ignore[arg-type]
    return rds2_weights(degree)


def resample_estimates(
    method: str,
    degree: np.ndarray,
    y: np.ndarray,
    draws: TreeResamples,
    population_size: float | None,
) -> np.ndarray:
    """The estimate in each of the B resamples (B,)."""
    B = draws.n_replicates
    d = degree[draws.node]
    yy = y[draws.node]
    rep = draws.rep
    if method == "rds2":
        num = np.bincount(rep, weights=yy / d, minlength=B)
        den = np.bincount(rep, weights=1.0 / d, minlength=B)
        with np.errstate(invalid="ignore", divide="ignore"):
            return num / den
    if method == "rds1":
        g = yy.astype(np.int64)
        has = draws.parent >= 0
        cell = 4 * rep[has] + 2 * g[draws.parent[has]] + g[has]
        T = np.bincount(cell, minlength=4 * B).reshape(B, 2, 2).astype(float)
        empty = T.sum(axis=2) == 0
        T[empty] = 0.1
        P = T / T.sum(axis=2, keepdims=True)
        q = np.stack([P[:, 1, 0], P[:, 0, 1]], axis=1)
        q = q / q.sum(axis=1, keepdims=True)
        n_g = np.bincount(2 * rep + g, minlength=2 * B).reshape(B, 2).astype(float)
        inv = np.bincount(2 * rep + g, weights=1.0 / d, minlength=2 * B).reshape(B, 2)
        with np.errstate(invalid="ignore", divide="ignore"):
            share = np.where(n_g > 0, q * inv / n_g, 0.0)
            return share[:, 1] / share.sum(axis=1)
    # ss: the weights depend on each resample's degree distribution
    out = np.empty(B)
    order = np.argsort(rep, kind="stable")
    bounds = np.searchsorted(rep[order], np.arange(B + 1))
    for b in range(B):  # a loop over replicates: each solves its own fixed point
        idx = order[bounds[b] : bounds[b + 1]]
        w = ss_weights(d[idx], float(population_size))  # type: ignore[arg-type]
        out[b] = (w * yy[idx]).sum() / w.sum()
    return out
