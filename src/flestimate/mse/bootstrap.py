"""Parametric bootstrap of a fitted model: percentile and BCa intervals, failed fits counted.

Each replicate redistributes the observed cases over the observable patterns in the
proportions the model fits (a multinomial draw, so the observed count is held fixed as
in the profile interval) and refits the same model; the batch of replicates is one call of
:func:`flestimate.mse.models.irls`. A replicate whose maximum likelihood estimate does
not exist (a fitted count driven to 0, e.g. a list with no case drawn) or whose fit
does not converge is counted as failed and left out of the intervals.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
from scipy.stats import norm

from flestimate.errors import ValidationError
from flestimate.mse.identify import check_model
from flestimate.mse.intervals import Interval
from flestimate.mse.models import ModelFit, design_matrix, irls, model_masks

__all__ = ["Replicates", "bca_interval", "jackknife_influence", "percentile_interval", "replicate"]


@dataclass(frozen=True, eq=False)
class Replicates:
    """Bootstrap replicates of one or more strata (summed).

    Attributes
    ----------
    dark, total : numpy.ndarray
        One value per replicate (NaN where it failed).
    failed : numpy.ndarray
        Boolean per replicate.
    reasons : dict
        ``{"no MLE": n, "not converged": n, "not identifiable": n}`` over replicates (a
        replicate failing in several strata is counted once per reason).
    """

    dark: np.ndarray
    total: np.ndarray
    failed: np.ndarray
    reasons: dict

    @property
    def n_failed(self) -> int:
        return int(self.failed.sum())

    @property
    def n(self) -> int:
        return len(self.failed)


def _rng(rng) -> np.random.Generator:
    if rng is None or isinstance(rng, (int, np.integer)):
        return np.random.default_rng(rng)
    if isinstance(rng, np.random.Generator):
        return rng
    raise ValidationError(
        f"rng={rng!r}: give an integer seed, a numpy.random.Generator or None."
    )


def _refit(fit: ModelFit, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict]:
    """Refit ``fit``'s model to each row of ``y``: dark figures, failure flags, reasons."""
    table = fit.table
    lists = table.lists
    X = design_matrix(lists)
    pm, cm, _ = model_masks(table, fit.interactions)
    cols = np.flatnonzero(pm)
    Xm = X[:, cols]
    # an interaction whose lists share no case in a replicate: its cells leave that fit
    pair_cols = cols[cols > len(lists)]
    both = X[:, pair_cols] > 0  # M x I
    overlap = (y * cm) @ both
    empty = overlap == 0
    cells = cm[None, :] & ~((empty.astype(float) @ both.T) > 0)
    params = np.ones((len(y), len(cols)), dtype=bool)
    params[:, len(cols) - len(pair_cols):] = ~empty
    res = irls(Xm, y, param_mask=params, cell_mask=cells)
    info_ok = np.ones(len(y), dtype=bool)
    changed = np.flatnonzero(empty.any(axis=1))
    if changed.size:
        info_ok[changed] = np.linalg.cond(res.information[changed]) < 1e12
    failed = res.boundary | ~res.converged | ~info_ok
    no_mle = res.boundary.copy()
    # a fit still moving after max_iter: the linear programme says whether an MLE exists
    for b in np.flatnonzero(~res.converged & ~res.boundary):  # rare; one LP each
        no_mle[b] = not check_model(replace(table, counts=y[b]), fit.interactions).exists
    reasons = {
        "no MLE": int(no_mle.sum()),
        "not converged": int((failed & ~no_mle & info_ok).sum()),
        "not identifiable": int((~info_ok & ~no_mle).sum()),
    }
    dark = np.where(failed, np.nan, np.exp(res.beta[:, 0]))
    return dark, failed, reasons


def replicate(fits: Sequence[ModelFit], replicates: int = 1000, rng=None) -> Replicates:
    """Parametric bootstrap of the dark figure and total, summed over the fits (strata).

    Parameters
    ----------
    fits : sequence of ModelFit
        The fitted model of each stratum (one for an unstratified table).
    replicates : int, default 1000
    rng : int, numpy.random.Generator or None
        Seed or generator; the strata draw from one generator in turn.

    Returns
    -------
    Replicates

    Notes
    -----
    For replicate :math:`b`: :math:`y^*_b \\sim \\text{Multinomial}(n, \\hat\\lambda /
    \\sum_z \\hat\\lambda_z)` over the observable patterns (the model's sampling
    distribution given the :math:`n` cases observed), the same model is refitted, and
    :math:`\\hat N^*_b = n + e^{\\hat\\mu^*_b}`: like the profile interval, the
    bootstrap treats the observed count as known and the dark figure as uncertain.
    Summed over strata, replicate by replicate. The model is held fixed: the intervals
    are conditional on the chosen model (the sensitivity table shows how much the choice
    matters).

    References
    ----------
    Efron, B. and Tibshirani, R. J. (1993). An Introduction to the Bootstrap, ch. 6
    and 14. Chapman & Hall.
    Chan, L., Silverman, B. W. and Vincent, K. (2021). Multiple systems estimation for
    sparse capture data. JASA 116(535), 1297-1306.
    """
    if not (isinstance(replicates, (int, np.integer)) and replicates >= 10):
        raise ValidationError(
            f"bootstrap={replicates!r}: give a whole number of replicates, at least 10 "
            "(1,000 or more for a 95% interval)."
        )
    gen = _rng(rng)
    dark = np.zeros(replicates)
    total = np.zeros(replicates)
    failed = np.zeros(replicates, dtype=bool)
    reasons = {"no MLE": 0, "not converged": 0, "not identifiable": 0}
    for fit in fits:  # strata: few, each a batch of replicates
        y = gen.multinomial(fit.observed, fit.fitted / fit.fitted.sum(),
                            size=replicates).astype(float)
        d, f, r = _refit(fit, y)
        dark += d
        total += fit.observed + d
        failed |= f
        reasons = {k: reasons[k] + r[k] for k in reasons}
    dark[failed] = np.nan
    total[failed] = np.nan
    return Replicates(dark=dark, total=total, failed=failed, reasons=reasons)


def jackknife_influence(fit: ModelFit) -> tuple[np.ndarray, np.ndarray]:
    """Change of the total when one case of each observed pattern is deleted.

    Returns
    -------
    delta, weight : numpy.ndarray
        For every pattern with a case: :math:`\\hat N_{(z)} - \\hat N` (the refit with
        one case fewer in pattern :math:`z`) and the number of cases in the pattern
        (each of its cases gives the same value). Deletions whose refit fails are left out.
    """
    counts = fit.table.counts
    idx = np.flatnonzero(counts > 0)
    y = np.broadcast_to(counts, (len(idx), len(counts))).copy()
    y[np.arange(len(idx)), idx] -= 1.0
    dark, failed, _ = _refit(fit, y)
    delta = (fit.observed - 1 + dark) - fit.total
    keep = ~failed
    return delta[keep], counts[idx][keep]


def percentile_interval(reps: Replicates, level: float, observed: float) -> Interval:
    """Percentile interval: the :math:`\\alpha/2` and :math:`1-\\alpha/2` quantiles of the replicates."""
    a = (1 - level) / 2
    ok = ~reps.failed
    lo, hi = np.quantile(reps.total[ok], [a, 1 - a])
    dlo, dhi = np.quantile(reps.dark[ok], [a, 1 - a])
    return Interval("percentile", level, float(dlo), float(dhi), float(lo), float(hi))


def bca_interval(reps: Replicates, level: float, estimate: float, dark: float,
                 delta: np.ndarray, weight: np.ndarray) -> Interval:
    """Bias-corrected and accelerated (BCa) interval of the total (and the dark figure).

    Notes
    -----
    :math:`z_0 = \\Phi^{-1}(\\#\\{\\hat N^*_b < \\hat N\\}/B)`; the acceleration from the
    delete-one-case jackknife, each pattern's value counted once per case,
    :math:`a = \\sum_z n_z (\\bar N - N_{(z)})^3 / \\{6 (\\sum_z n_z (\\bar N -
    N_{(z)})^2)^{3/2}\\}`; the limits are the replicates' quantiles at
    :math:`\\Phi(z_0 + (z_0 + z_q)/(1 - a(z_0 + z_q)))` for :math:`q = \\alpha/2,
    1-\\alpha/2`. The observed count being fixed, the dark figure's interval is the
    total's minus it.

    References
    ----------
    Efron, B. (1987). Better bootstrap confidence intervals. JASA 82, 171-185.
    DiCiccio, T. J. and Efron, B. (1996). Bootstrap confidence intervals. Statistical
    Science 11(3), 189-228.
    """
    ok = ~reps.failed
    dev = np.sum(weight * delta) / weight.sum() - delta
    denom = 6.0 * np.sum(weight * dev**2) ** 1.5
    accel = float(np.sum(weight * dev**3) / denom) if denom > 0 else 0.0
    q = np.array([(1 - level) / 2, (1 + level) / 2])

    def limits(values: np.ndarray, point: float) -> np.ndarray:
        below = np.mean(values < point) + 0.5 * np.mean(values == point)
        z0 = norm.ppf(np.clip(below, 1 / (2 * len(values)), 1 - 1 / (2 * len(values))))
        zq = norm.ppf(q)
        adj = norm.cdf(z0 + (z0 + zq) / (1 - accel * (z0 + zq)))
        return np.quantile(values, adj)

    lo, hi = limits(reps.total[ok], estimate)
    dlo, dhi = limits(reps.dark[ok], dark)
    return Interval("bca", level, float(dlo), float(dhi), float(lo), float(hi))
