"""Smoothed sampling variances of area proportions: a generalised variance function.

A design-based variance is 0 for an area whose sample holds no case (or only cases),
or whose respondents sit in one PSU, and it is itself a noisy estimate in a small
area. The Fay-Herriot model treats the sampling variances as known, so such areas
would get all the weight (a variance of 0 means "the direct estimate is exact"). The
generalised variance function (GVF) replaces them by a model value.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from flestimate.errors import EstimationError, first_values

__all__ = ["SMOOTH", "SmoothedVariances", "smooth_variances", "unstable_variances"]

SMOOTH = ("unstable", "all", "none")


def unstable_variances(y: np.ndarray, v: np.ndarray, *, proportion: bool) -> np.ndarray:
    """Areas whose direct variance cannot be used: missing, not positive or zero up to
    rounding (an SE below 1e-10 of the estimate); for the arcsine model
    (``proportion``) also a proportion of 0 or 1, whose arcsine variance is undefined."""
    with np.errstate(invalid="ignore"):
        ok = np.isfinite(v) & (v > 0) & (np.sqrt(np.abs(v)) > 1e-10 * np.abs(y))
        if proportion:
            ok &= (y > 0) & (y < 1)
    return ~ok


@dataclass(frozen=True)
class SmoothedVariances:
    """Sampling variances of the sampled areas on the proportion scale (smoothed where
    ``smoothed``), the pooled design effect and proportion of the GVF."""

    variance: np.ndarray
    smoothed: np.ndarray
    deff: float
    p_pooled: float
    areas_used: int


def smooth_variances(
    p: np.ndarray, v: np.ndarray, n: np.ndarray, replace: np.ndarray, labels: np.ndarray
) -> SmoothedVariances:
    """GVF variances for the areas marked ``replace`` (proportions ``p``, direct
    variances ``v``, respondents ``n``; ``labels`` name the areas in messages).

    Notes
    -----
    The design-effect model :math:`\\tilde v_d = \\widehat{\\mathrm{deff}}\\,
    \\bar p (1 - \\bar p) / n_d`, with the pooled proportion
    :math:`\\bar p = \\sum_d n_d p_d / \\sum_d n_d` and the pooled design effect
    :math:`\\widehat{\\mathrm{deff}} = \\sum_{d \\in S} v_d / \\sum_{d \\in S}
    p_d (1 - p_d) / n_d` over the areas S with a usable direct variance (a ratio
    estimator: areas weigh by their binomial variance). On the arcsine scale the
    smoothed variance is :math:`\\widehat{\\mathrm{deff}} / (4 n_d)`, the
    variance-stabilised form of the same model.

    References
    ----------
    Wolter, K. M. (2007). Introduction to Variance Estimation, 2nd ed. Springer, ch. 7.
    Liu, B., Lahiri, P. and Kalton, G. (2014). Hierarchical Bayes modeling of
    survey-weighted small area proportions. Survey Methodology 40, 1-13.
    You, Y. and Chapman, B. (2006). Small area estimation using area level models and
    estimated sampling variances. Survey Methodology 32, 97-103.
    """
    bad_n = replace & ~(np.isfinite(n) & (n >= 1))
    if bad_n.any():
        raise EstimationError(
            f"{int(bad_n.sum())} areas need a smoothed sampling variance but have no "
            f"respondent count n (areas {first_values(list(labels[bad_n]))}). Give n= (the number of "
            "respondents of each area), or give these areas positive variances."
        )
    stable = ~unstable_variances(p, v, proportion=True) & np.isfinite(n) & (n >= 1)
    if stable.sum() < 2:
        raise EstimationError(
            f"the generalised variance function needs at least 2 areas with a positive direct "
            f"variance and a proportion strictly between 0 and 1; found {int(stable.sum())}. "
            "Merge small areas, or give smoothed variances yourself (variance=) with smooth='none'."
        )
    binomial = p[stable] * (1.0 - p[stable]) / n[stable]
    deff = float(v[stable].sum() / binomial.sum())
    counted = np.isfinite(p) & np.isfinite(n) & (n >= 1)
    p_pooled = float((n[counted] * p[counted]).sum() / n[counted].sum())
    with np.errstate(divide="ignore", invalid="ignore"):
        gvf = deff * p_pooled * (1.0 - p_pooled) / n
    return SmoothedVariances(
        variance=np.where(replace, gvf, v),
        smoothed=replace.copy(),
        deff=deff,
        p_pooled=p_pooled,
        areas_used=int(stable.sum()),
    )

