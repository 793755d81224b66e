"""RDS weights: Salganik-Heckathorn (RDS-I), Volz-Heckathorn (RDS-II), Gile's SS."""

from __future__ import annotations

import numpy as np
from scipy.optimize import brentq

__all__ = ["METHODS", "rds1_weights", "rds2_weights", "ss_weights"]

METHODS = ("rds1", "rds2", "ss")


def rds2_weights(degree: np.ndarray) -> np.ndarray:
    r"""Volz-Heckathorn weights :math:`1/d_i` (normalised to mean 1)."""
    w = 1.0 / degree
    return w / w.mean()


def rds1_weights(degree: np.ndarray, group: np.ndarray, parent: np.ndarray) -> np.ndarray:
    r"""Salganik-Heckathorn weights for a 0/1 ``group`` (normalised to mean 1).

    The group shares are :math:`\hat P_g \propto q_g / \bar d_g`: :math:`q` is the
    stationary distribution of the recruitment transition matrix (rows: recruiter's
    group) and :math:`\bar d_g` the harmonic mean degree in group g (the RDS package's
    ``rds.I.weights``, unsmoothed). Each respondent of group g weighs
    :math:`\hat P_g / n_g`.
    """
    g = group.astype(np.int64)
    has = parent >= 0
    T = np.bincount(2 * g[parent[has]] + g[has], minlength=4).reshape(2, 2).astype(float)
    T[T.sum(axis=1) == 0] = 0.1  # a group that recruited no one (the package's rule)
    P = T / T.sum(axis=1, keepdims=True)
    q = np.array([P[1, 0], P[0, 1]])
    q = q / q.sum() if q.sum() > 0 else np.full(2, 0.5)
    n_g = np.bincount(g, minlength=2).astype(float)
    inv = np.bincount(g, weights=1.0 / degree, minlength=2)
    with np.errstate(divide="ignore", invalid="ignore"):
        h = n_g / inv
        share = q / h
        share = np.where(n_g > 0, share, 0.0)
        share = share / share.sum()
        w = share[g] / n_g[g]
    return w / w.mean()


def ss_inclusion(classes: np.ndarray, counts: np.ndarray, population_size: float,
                 tol: float = 1e-12, max_iter: int = 500) -> np.ndarray:
    r"""Inclusion probability of each degree class under successive sampling.

    The population's degree distribution and the inclusion probabilities are found
    together (Gile 2011): starting from the Volz-Heckathorn distribution, the
    population counts :math:`N_k \propto n_k / \pi_k` (summing to N) give the
    inclusion probabilities of a size-biased sample without replacement of n units,
    :math:`\pi_k = 1 - e^{-d_k t}` with t solving :math:`\sum_k N_k (1 - e^{-d_k t}) = n`
    (Rosen's approximation of successive sampling, deterministic where the RDS package
    simulates), until the distribution no longer changes.
    """
    n = counts.sum()
    if n >= population_size:  # a census: every unit is in the sample
        return np.ones_like(classes, dtype=float)
    props = counts / classes
    props = props / props.sum()
    pi = np.minimum(1.0, n * classes / (population_size * (props * classes).sum()))
    for _ in range(max_iter):  # a fixed point over degree classes
        Nk = population_size * props

        def excess(t: float, Nk: np.ndarray = Nk) -> float:
            return float((Nk * -np.expm1(-classes * t)).sum() - n)

        hi = 1.0
        while excess(hi) < 0:
            hi *= 2.0
        t = brentq(excess, 0.0, hi, xtol=1e-15, rtol=1e-14)
        pi = -np.expm1(-classes * t)
        new = counts / pi
        new = new / new.sum()
        if np.max(np.abs(new - props)) < tol:
            break
        props = new
    return pi


def ss_weights(degree: np.ndarray, population_size: float) -> np.ndarray:
    r"""Gile's successive-sampling weights :math:`1/\hat\pi(d_i)` (normalised to mean 1)."""
    classes, inverse, counts = np.unique(degree, return_inverse=True, return_counts=True)
    pi = ss_inclusion(classes, counts.astype(float), float(population_size))
    w = 1.0 / pi[inverse]
    return w / w.mean()
