"""Confidence interval methods, vectorised over the rows of a table.

Every function takes arrays (one value per row) and returns ``(lower, upper)``.
``df`` is the t-distribution's degrees of freedom (``inf`` for the normal);
rows with ``df <= 0`` or a non-finite estimate get NaN bounds.
"""

from __future__ import annotations

import numpy as np

# scipy.special, not scipy.stats: the same quantile functions, without the second of
# import time that scipy.stats costs on every `flestimate` command
from scipy import special

__all__ = [
    "CI_METHODS",
    "asin_ci",
    "korn_graubard",
    "likelihood_ci",
    "logit_ci",
    "t_quantile",
    "wald",
    "wilson",
]

CI_METHODS = (
    "wald",
    "logit",
    "asin",
    "wilson",
    "korn-graubard",
    "korn-graubard-nchs",
    "likelihood",
)


def t_quantile(level: float, df: np.ndarray | float) -> np.ndarray:
    """Upper ``(1 + level) / 2`` quantile of Student's t with ``df`` (normal for ``inf``).

    Notes
    -----
    :math:`t_{1-\\alpha/2, d}`; NaN where :math:`d \\le 0`.
    """
    df = np.asarray(df, dtype=np.float64)
    q = (1.0 + level) / 2.0
    with np.errstate(invalid="ignore"):
        out = np.where(np.isinf(df), special.ndtri(q), special.stdtrit(np.where(df > 0, df, 1.0), q))
    return np.where(df > 0, out, np.nan)


def wald(estimate, se, df, level):
    """Symmetric interval :math:`\\hat\\theta \\pm t_{1-\\alpha/2,d}\\,\\mathrm{SE}`.

    Notes
    -----
    R's ``confint(svymean(...), df=d)`` and ``svyciprop(method="mean")``.

    References
    ----------
    Lumley, T. survey R package, ``confint.svystat``.
    """
    t = t_quantile(level, df)
    half = t * np.asarray(se)
    return np.asarray(estimate) - half, np.asarray(estimate) + half


def logit_ci(p, se, df, level):
    """Logit-transformed interval.

    Notes
    -----
    :math:`\\mathrm{expit}(\\mathrm{logit}\\,\\hat p \\pm t_{1-\\alpha/2,d}\\,
    \\mathrm{SE}/(\\hat p(1-\\hat p)))`. Equal to R's ``svyciprop`` methods
    ``"xlogit"`` and (for Taylor designs) ``"logit"``. NaN at :math:`\\hat p \\in \\{0,1\\}`.

    References
    ----------
    Lumley, T. survey R package, ``svyciprop``.
    """
    p = np.asarray(p, dtype=np.float64)
    t = t_quantile(level, df)
    with np.errstate(divide="ignore", invalid="ignore"):
        eta = special.logit(p)
        half = t * np.asarray(se) / (p * (1.0 - p))
        lo = special.expit(eta - half)
        hi = special.expit(eta + half)
    bad = (p <= 0) | (p >= 1)
    return np.where(bad, np.nan, lo), np.where(bad, np.nan, hi)


def asin_ci(p, se, df, level):
    """Arcsine-square-root interval.

    Notes
    -----
    :math:`\\sin^2(\\arcsin\\sqrt{\\hat p} \\pm t_{1-\\alpha/2,d}\\,
    \\mathrm{SE}/(2\\sqrt{\\hat p(1-\\hat p)}))`, the transformed bounds clipped to
    :math:`[0, \\pi/2]` (R's ``svyciprop(method="asin")`` does not clip, so a bound
    past 0 or 1 folds back inside; the two agree whenever R's bound is valid).

    References
    ----------
    Lumley, T. survey R package, ``svyciprop``.
    """
    p = np.asarray(p, dtype=np.float64)
    t = t_quantile(level, df)
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.arcsin(np.sqrt(p))
        half = t * np.asarray(se) / (2.0 * np.sqrt(p * (1.0 - p)))
        lo = np.sin(np.clip(a - half, 0.0, np.pi / 2)) ** 2
        hi = np.sin(np.clip(a + half, 0.0, np.pi / 2)) ** 2
    bad = (p <= 0) | (p >= 1)
    return np.where(bad, np.nan, lo), np.where(bad, np.nan, hi)


def wilson(p, se, df, level):
    """Wilson score interval with the design-based effective sample size.

    Notes
    -----
    With :math:`n_e = \\hat p(1-\\hat p)/\\hat v` (no degrees-of-freedom factor) and
    :math:`t = t_{1-\\alpha/2,d}`:

    .. math:: \\frac{\\hat p + t^2/(2n_e) \\mp (t/(2n_e))\\sqrt{4 n_e \\hat p(1-\\hat p) + t^2}}
              {1 + t^2/n_e}

    as R survey 4.5's ``svyciprop(method="wilson")``. NaN when the variance is 0.

    References
    ----------
    Wilson, E. B. (1927). Probable inference, the law of succession, and statistical
    inference. JASA 22, 209-212. Lumley, T. survey R package (>= 4.5), ``svyciprop``.
    """
    p = np.asarray(p, dtype=np.float64)
    v = np.asarray(se, dtype=np.float64) ** 2
    t = t_quantile(level, df)
    with np.errstate(divide="ignore", invalid="ignore"):
        ne = p * (1.0 - p) / v
        centre = p + t**2 / (2.0 * ne)
        half = (t / (2.0 * ne)) * np.sqrt(4.0 * ne * p * (1.0 - p) + t**2)
        den = 1.0 + t**2 / ne
        lo = (centre - half) / den
        hi = (centre + half) / den
    bad = ~(v > 0)
    return np.where(bad, np.nan, lo), np.where(bad, np.nan, hi)


def korn_graubard(p, se, df, n, level, *, nchs: bool = False):
    """Korn-Graubard (design-adjusted Clopper-Pearson) interval.

    Parameters
    ----------
    p, se, df : array
        Estimate, standard error and degrees of freedom d.
    n : array
        Unweighted number of rows of the domain.
    nchs : bool
        Cap the effective size at ``n`` (NCHS presentation standard).

    Notes
    -----
    :math:`n_e = \\hat p(1-\\hat p)/\\hat v`, adjusted
    :math:`n^* = n_e (t_{\\alpha/2, n-1}/t_{\\alpha/2, d})^2`, :math:`x^* = n^*\\hat p`;
    lower :math:`= B^{-1}(\\alpha/2; x^*, n^* - x^* + 1)`, upper
    :math:`= B^{-1}(1-\\alpha/2; x^* + 1, n^* - x^*)` (R's ``svyciprop(method="beta")``,
    which uses ``n = nrow(design)``: for a ``svyby`` domain, the domain's rows).
    ``nchs=True`` uses :math:`\\min(n^*, n)`. Where R gives no number
    (:math:`\\hat p \\in \\{0, 1\\}` or :math:`\\hat v = 0`) both variants use
    :math:`n^* = n` without the df factor, which at :math:`\\hat p = 0` gives the
    exact one-sided bound :math:`[0, 1 - (\\alpha/2)^{1/n}]` (symmetrically at 1).

    References
    ----------
    Korn, E. L. and Graubard, B. I. (1998). Confidence intervals for proportions
    with small expected number of positive counts estimated from survey data.
    Survey Methodology 24, 193-201.
    Parker, J. D. et al. (2017). National Center for Health Statistics Data
    Presentation Standards for Proportions. Vital Health Stat 2(175).
    """
    p = np.asarray(p, dtype=np.float64)
    v = np.asarray(se, dtype=np.float64) ** 2
    n = np.asarray(n, dtype=np.float64)
    df = np.asarray(df, dtype=np.float64)
    alpha = 1.0 - level
    with np.errstate(divide="ignore", invalid="ignore"):
        ne = p * (1.0 - p) / v
        t_d = np.where(
            np.isinf(df), special.ndtri(alpha / 2), special.stdtrit(np.where(df > 0, df, 1), alpha / 2)
        )
        t_n = special.stdtrit(np.where(n > 1, n - 1, 1), alpha / 2)
        nstar = ne * (t_n / t_d) ** 2
        nstar = np.where(n > 1, nstar, np.nan)
        if nchs:
            nstar = np.minimum(nstar, n)
        boundary = (p <= 0) | (p >= 1) | ~(v > 0)
        nstar = np.where(boundary, n, nstar)
        x = nstar * p
        bad = (df <= 0) | ~np.isfinite(p) | ~(n > 0)
        # the beta quantiles only where they are reported: a domain inside one PSU has
        # df 0 and a variance of rounding noise, whose n* of 1e30 costs ms per cell
        lo = np.full(p.shape, np.nan)
        hi = np.full(p.shape, np.nan)
        ok = ~bad
        xo, no = x[ok], nstar[ok]
        lo[ok] = special.betaincinv(np.where(xo > 0, xo, 1), no - xo + 1, alpha / 2)
        hi[ok] = special.betaincinv(xo + 1, np.where(no - xo > 0, no - xo, 1), 1 - alpha / 2)
    lo = np.where(x <= 0, 0.0, lo)
    hi = np.where(nstar - x <= 0, 1.0, hi)
    return np.where(bad, np.nan, lo), np.where(bad, np.nan, hi)


def likelihood_ci(p, se, df, level, dispersion):
    """Profile-likelihood interval of a quasi-binomial intercept model (Rao-Scott scaled).

    Parameters
    ----------
    dispersion : array
        The quasi-binomial dispersion :math:`\\hat\\phi` (R: ``svyvar`` of the Pearson
        residuals :math:`(y - \\hat p)/\\sqrt{\\hat p(1-\\hat p)}` of
        ``svyglm(y ~ 1, family=quasibinomial)``, which is :math:`n/(n-1)` for a 0/1 y).

    Notes
    -----
    The interval is :math:`\\{\\mu: 2\\,\\mathrm{KL}(\\hat p\\,\\|\\,\\mu) \\le
    t_{1-\\alpha/2,d}^2\\,\\hat\\phi\\,\\hat v / (\\hat p(1-\\hat p))\\}` where
    :math:`\\mathrm{KL}(\\hat p\\|\\mu) = \\hat p\\log(\\hat p/\\mu) + (1-\\hat p)
    \\log((1-\\hat p)/(1-\\mu))`: the binomial deviance difference scaled by the
    dispersion and by :math:`\\lambda = \\hat v_{design}/\\hat v_{model}`, as in R's
    ``confint(svyglm, method="likelihood", ddf=d)``. The bounds are found exactly
    (bisection on the logit scale); R interpolates a spline through a profile grid.

    References
    ----------
    Rao, J. N. K. and Scott, A. J. (1984). On chi-squared tests for multiway
    contingency tables with cell proportions estimated from survey data. Ann. Statist. 12.
    Lumley, T. survey R package, ``svyciprop(method="likelihood")``.
    """
    p = np.asarray(p, dtype=np.float64)
    v = np.asarray(se, dtype=np.float64) ** 2
    t = t_quantile(level, df)
    with np.errstate(divide="ignore", invalid="ignore"):
        target = t**2 * np.asarray(dispersion) * v / (2.0 * p * (1.0 - p))
    ok = (p > 0) & (p < 1) & np.isfinite(target) & (target > 0)
    pp = np.where(ok, p, 0.5)
    tg = np.where(ok, target, 1.0)
    eta0 = special.logit(pp)

    def kl(eta):
        mu = special.expit(eta)
        return special.xlogy(pp, pp / mu) + special.xlogy(1 - pp, (1 - pp) / (1 - mu))

    bounds = []
    for sign in (-1.0, 1.0):
        lo_e = eta0.copy()
        step = np.ones_like(eta0)
        hi_e = eta0 + sign * step
        # expand until KL exceeds the target
        for _ in range(200):
            need = kl(hi_e) < tg
            if not need.any():
                break
            step = np.where(need, step * 2.0, step)
            hi_e = np.where(need, eta0 + sign * step, hi_e)
        for _ in range(200):
            mid = 0.5 * (lo_e + hi_e)
            inside = kl(mid) < tg
            lo_e = np.where(inside, mid, lo_e)
            hi_e = np.where(inside, hi_e, mid)
        bounds.append(special.expit(0.5 * (lo_e + hi_e)))
    lo, hi = bounds
    return np.where(ok, lo, np.nan), np.where(ok, hi, np.nan)
