"""Profile-likelihood and Wald intervals for the dark figure, one table or summed over strata.

The total is the observed count plus the dark figure; the observed count is known, so
an interval for the dark figure :math:`e^{\\mu}` is one for the total shifted by it
(as Rcapture's ``closedpCI.t``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import chi2, norm

from flestimate.mse.models import ModelFit, design_matrix, irls, model_masks

__all__ = ["Interval", "profile_limits", "profile_interval", "wald_interval", "profile_interval_sum"]

# |log dark - its MLE| beyond which a profile limit is reported as 0 or infinity
_FAR = 40.0


@dataclass(frozen=True)
class Interval:
    """A confidence interval for the dark figure and the total (``inf`` when unbounded)."""

    method: str
    level: float
    dark_lower: float
    dark_upper: float
    total_lower: float
    total_upper: float

    def as_dict(self) -> dict:
        return {"method": self.method, "level": self.level, "dark_lower": self.dark_lower,
                "dark_upper": self.dark_upper, "total_lower": self.total_lower,
                "total_upper": self.total_upper}


def profile_limits(fits: Sequence[ModelFit], thresholds: np.ndarray | float,
                   tol: float = 1e-10, max_steps: int = 60) -> tuple[np.ndarray, np.ndarray]:
    """Profile limits of the log dark figure of each fit, for each deviance threshold.

    Parameters
    ----------
    fits : sequence of ModelFit
        Fitted models of one or more tables with the same lists.
    thresholds : float or numpy.ndarray
        Increase in deviance :math:`c` defining the limits (``chi2.ppf(level, 1)`` for an
        interval); an array gives one pair of limits per threshold.
    tol : float
        Stop when the deviance is within ``tol`` of its target.

    Returns
    -------
    lower, upper : numpy.ndarray
        ``len(fits) x len(thresholds)`` limits of :math:`\\mu = \\log` dark;
        ``-inf`` / ``inf`` where the profile deviance never reaches the threshold.

    Notes
    -----
    With the intercept fixed at :math:`m` (an offset), the other coefficients are
    refitted: :math:`D(m)` is the profile deviance, convex in :math:`m`, with
    :math:`D'(m) = -2\\sum_i (y_i - \\hat\\mu_i(m))`. Each limit solves
    :math:`D(m) - D(\\hat\\mu) = c` by Newton's method, started at the quadratic
    approximation :math:`\\hat\\mu \\pm \\sqrt{c}\\,\\mathrm{se}`; by convexity every
    iterate after the first lies outside the interval and they decrease monotonically
    to the limit. All limits of all fits are one batch of IRLS fits per Newton step.

    References
    ----------
    Cormack, R. M. (1992). Interval estimation for mark-recapture studies of closed
    populations. Biometrics 48, 567-576.
    Venzon, D. J. and Moolgavkar, S. H. (1988). A method for computing
    profile-likelihood-based confidence intervals. Applied Statistics 37, 87-94.
    """
    c = np.atleast_1d(np.asarray(thresholds, dtype=float))
    F, T = len(fits), len(c)
    lists = fits[0].table.lists
    X = design_matrix(lists)
    masks = [model_masks(f.table, f.interactions) for f in fits]
    pm = np.array([m[0] for m in masks])
    pm[:, 0] = False  # the intercept is the offset
    cm = np.array([m[1] for m in masks])
    y = np.array([f.table.counts for f in fits])
    mhat = np.log([f.dark for f in fits])
    dhat = np.array([f.deviance for f in fits])
    se = np.array([f.log_dark_se for f in fits])
    # jobs: fit x side x threshold
    fi = np.repeat(np.arange(F), 2 * T)
    side = np.tile(np.repeat([-1.0, 1.0], T), F)
    cj = np.tile(np.tile(c, 2), F)
    m = mhat[fi] + side * np.sqrt(cj) * se[fi]
    result = mhat[fi].copy()
    active = cj > 0
    done = ~active
    for _ in range(max_steps):
        act = np.flatnonzero(~done)
        if act.size == 0:
            break
        res = irls(X, y[fi[act]], param_mask=pm[fi[act]], cell_mask=cm[fi[act]], offset=m[act])
        h = res.deviance - dhat[fi[act]] - cj[act]
        slope = -2.0 * np.sum(cm[fi[act]] * (y[fi[act]] - res.mu), axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            step = np.where(slope * side[act] > 0, h / slope, np.nan)
        far = ~np.isfinite(step) | (np.abs(m[act] - mhat[fi[act]]) > _FAR)
        converged = (np.abs(h) < tol) & ~far
        new = m[act] - np.where(far, 0.0, step)
        # an unbounded side: the profile deviance flattens before reaching c
        result[act[far]] = side[act[far]] * np.inf
        result[act[converged]] = m[act[converged]]
        done[act[far | converged]] = True
        m[act] = new
    left = np.flatnonzero(~done)
    result[left] = m[left]
    result = result.reshape(F, 2, T)
    return result[:, 0, :], result[:, 1, :]


def profile_interval(fit: ModelFit, level: float = 0.95) -> Interval:
    """Profile-likelihood interval of the dark figure and the total of one model.

    Notes
    -----
    :math:`\\{e^m : D(m) - D(\\hat\\mu) \\le \\chi^2_{1,\\text{level}}\\}`, with
    :math:`D(m)` the profile deviance of :func:`profile_limits`; the total adds the
    observed count. A 95 % interval uses :math:`c = 3.841`.
    """
    lo, hi = profile_limits([fit], chi2.ppf(level, 1))
    return _interval("profile", level, np.exp(lo[0, 0]), np.exp(hi[0, 0]), fit.observed)


def wald_interval(fit: ModelFit, level: float = 0.95) -> Interval:
    """Wald interval on the log scale: :math:`\\hat d\\,e^{\\pm z\\,\\mathrm{se}(\\hat\\mu)}`.

    The normal approximation of SparseMSE's ``estimatepopulation.0``: quick, but too
    narrow when counts are small; the profile interval is the default.
    """
    z = norm.ppf(0.5 + level / 2)
    return _interval("wald", level, fit.dark * np.exp(-z * fit.log_dark_se),
                     fit.dark * np.exp(z * fit.log_dark_se), fit.observed)


def _interval(method: str, level: float, lo: float, hi: float, observed: float) -> Interval:
    return Interval(method, level, float(lo), float(hi), float(observed + lo), float(observed + hi))


def wald_interval_sum(fits: Sequence[ModelFit], level: float = 0.95) -> Interval:
    """Wald interval of the summed dark figure, log scale, delta method over strata.

    Notes
    -----
    :math:`\\operatorname{se}(\\log \\sum_s \\hat d_s) = \\sqrt{\\sum_s \\hat d_s^2
    \\operatorname{se}(\\hat\\mu_s)^2} / \\sum_s \\hat d_s`, strata being independent.
    """
    d = np.array([f.dark for f in fits])
    se = np.sqrt(np.sum((d * np.array([f.log_dark_se for f in fits])) ** 2)) / d.sum()
    z = norm.ppf(0.5 + level / 2)
    return _interval("wald", level, d.sum() * np.exp(-z * se), d.sum() * np.exp(z * se),
                     sum(f.observed for f in fits))


def profile_interval_sum(fits: Sequence[ModelFit], level: float = 0.95, grid: int = 200) -> Interval:
    """Profile-likelihood interval of the dark figure summed over independent strata.

    Parameters
    ----------
    fits : sequence of ModelFit
        One fitted model per stratum.
    level : float
    grid : int
        Number of steps into which the deviance budget is divided.

    Notes
    -----
    The strata have separate parameters, so the profile deviance of the sum
    :math:`D = \\sum_s d_s` is :math:`P(D) = \\min_{\\sum d_s = D} \\sum_s P_s(d_s)`,
    and the interval :math:`\\{D : P(D) \\le c\\}` has the limits

    .. math:: \\max / \\min \\; \\sum_s d_s \\quad\\text{subject to}\\quad \\sum_s P_s(d_s) \\le c.

    With :math:`U_s(b)` and :math:`L_s(b)` the profile limits of stratum :math:`s` at a
    deviance increase :math:`b` (from :func:`profile_limits`), the upper limit is
    :math:`\\max \\sum_s U_s(b_s)` over budgets :math:`\\sum_s b_s = c`, found by
    dynamic programming on the grid :math:`b \\in \\{0, c/G, \\dots, c\\}` (the lower
    limit likewise with :math:`L_s` and a minimum). This needs no convexity of the
    :math:`P_s` in :math:`d_s`, which fails on the upper side.

    References
    ----------
    Bellman, R. (1957). Dynamic Programming, ch. 1 (allocation processes). Princeton
    University Press.
    """
    if len(fits) == 1:
        return profile_interval(fits[0], level)
    c = chi2.ppf(level, 1)
    budgets = c * np.arange(grid + 1) / grid
    lo, hi = profile_limits(fits, budgets)
    upper = _allocate(np.exp(hi), np.maximum)
    lower = _allocate(np.exp(lo), np.minimum)
    return _interval("profile", level, lower, upper, sum(f.observed for f in fits))


def _allocate(values: np.ndarray, better) -> float:
    """Best sum over strata of ``values[s, b_s]`` with grid budgets summing to the last index."""
    G = values.shape[1] - 1
    k = np.arange(G + 1)
    back = k[:, None] - k[None, :]  # budget left for the strata before
    valid = back >= 0
    best = values[0]
    for row in values[1:]:  # strata: few; each step is vectorised over the grid
        cand = np.where(valid, row[None, :] + best[np.clip(back, 0, None)],
                        -np.inf if better is np.maximum else np.inf)
        best = cand.max(axis=1) if better is np.maximum else cand.min(axis=1)
    return float(best[G])
