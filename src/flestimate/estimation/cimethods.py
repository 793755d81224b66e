"""Confidence-interval methods: the formulas, vectorised over the rows of a table, and
the registry :data:`CI_METHODS` that declares each method of ``ci_method=`` once.

Every formula takes arrays (one value per row) and returns ``(lower, upper)``.
``df`` is the t-distribution's degrees of freedom (``inf`` for the normal);
rows with ``df <= 0`` or a non-finite estimate get NaN bounds.

The registry is read by everything that names an interval method: the estimators'
argument check and :func:`compute_ci` (the engine) and the coverage study
(:mod:`flestimate.simulation.coverage`). Adding a method is one
:func:`register_ci_method` call (or one entry at the end of this module). Importing
this module loads numpy only (scipy's special functions are loaded when the first
interval is computed), so that the configuration's validation can read the registry
without loading the estimators.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np

# scipy.special, not scipy.stats: the same quantile functions, without the second of
# import time that scipy.stats costs on every `flestimate` command; reached as an
# attribute of scipy, whose submodules load on first use (SciPy >= 1.9), so that the
# registry can be read (config validation) without loading them
import scipy

from flestimate.errors import EstimationError, ValidationError, closest_name

__all__ = [
    "CI_INPUTS",
    "CI_METHODS",
    "CIMethod",
    "asin_ci",
    "compute_ci",
    "get_ci_method",
    "korn_graubard",
    "likelihood_ci",
    "logit_ci",
    "pooled_deff",
    "register_ci_method",
    "remove_ci_method",
    "t_quantile",
    "wald",
    "wilson",
]


def t_quantile(level: float, df: np.ndarray | float) -> np.ndarray:
    """Upper ``(1 + level) / 2`` quantile of Student's t with ``df`` (normal for ``inf``).

    Notes
    -----
    :math:`t_{1-\\alpha/2, d}`; NaN where :math:`d \\le 0`.
    """
    df = np.asarray(df, dtype=np.float64)
    q = (1.0 + level) / 2.0
    with np.errstate(invalid="ignore"):
        out = np.where(
            np.isinf(df),
            scipy.special.ndtri(q),
            scipy.special.stdtrit(np.where(df > 0, df, 1.0), q),
        )
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
        eta = scipy.special.logit(p)
        half = t * np.asarray(se) / (p * (1.0 - p))
        lo = scipy.special.expit(eta - half)
        hi = scipy.special.expit(eta + half)
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


def korn_graubard(p, se, df, n, level, *, nchs: bool = False, deff_pooled=None):
    """Korn-Graubard (design-adjusted Clopper-Pearson) interval.

    Parameters
    ----------
    p, se, df : array
        Estimate, standard error and degrees of freedom d.
    n : array
        Unweighted number of rows of the domain.
    nchs : bool
        Cap the effective size at ``n`` (NCHS presentation standard).
    deff_pooled : array, optional
        The design effect that stands for a row's own where that one cannot be
        measured (:math:`\\hat p \\in \\{0, 1\\}`, e.g. a domain without a case):
        :func:`pooled_deff` of the table's rows of the same variable. 1 when not
        given (the unweighted size, as before).

    Notes
    -----
    :math:`n_e = \\hat p(1-\\hat p)/\\hat v`, adjusted
    :math:`n^* = n_e (t_{\\alpha/2, n-1}/t_{\\alpha/2, d})^2`, :math:`x^* = n^*\\hat p`;
    lower :math:`= B^{-1}(\\alpha/2; x^*, n^* - x^* + 1)`, upper
    :math:`= B^{-1}(1-\\alpha/2; x^* + 1, n^* - x^*)` (R's ``svyciprop(method="beta")``,
    which uses ``n = nrow(design)``: for a ``svyby`` domain, the domain's rows).
    ``nchs=True`` uses :math:`\\min(n^*, n)`. Where R gives no number
    (:math:`\\hat p \\in \\{0, 1\\}` or :math:`\\hat v = 0`, e.g. a domain with no
    case) the effective size cannot be measured; both variants then use the pooled
    design effect :math:`\\mathrm{deff}_p` (``deff_pooled``) of the table's rows that
    have cases: :math:`n^* = (n/\\mathrm{deff}_p)\\min(1, (t_{\\alpha/2, n-1}/t_{\\alpha/2, d})^2)`,
    which at :math:`\\hat p = 0` gives the one-sided bound
    :math:`[0, 1 - (\\alpha/2)^{1/n^*}]` (symmetrically at 1). With
    :math:`\\mathrm{deff}_p = 1` and :math:`d = \\infty` this is the exact
    Clopper-Pearson bound of :math:`n` independent draws, which under-covers in a
    clustered domain (docs/methodology/ci-coverage.md, zero-case domains).

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
            np.isinf(df),
            scipy.special.ndtri(alpha / 2),
            scipy.special.stdtrit(np.where(df > 0, df, 1), alpha / 2),
        )
        t_n = scipy.special.stdtrit(np.where(n > 1, n - 1, 1), alpha / 2)
        nstar = ne * (t_n / t_d) ** 2
        nstar = np.where(n > 1, nstar, np.nan)
        if nchs:
            nstar = np.minimum(nstar, n)
        boundary = (p <= 0) | (p >= 1) | ~(v > 0)
        dp = np.ones_like(p) if deff_pooled is None else np.asarray(deff_pooled, dtype=float)
        # never more than n / deff: the df factor only widens the bound
        n_zero = n / np.where(np.isfinite(dp) & (dp > 1.0), dp, 1.0) * np.minimum(
            (t_n / t_d) ** 2, 1.0)
        nstar = np.where(boundary, np.minimum(n_zero, n) if nchs else n_zero, nstar)
        x = nstar * p
        bad = (df <= 0) | ~np.isfinite(p) | ~(n > 0)
        # the beta quantiles only where they are reported: a domain inside one PSU has
        # df 0 and a variance of rounding noise, whose n* of 1e30 costs ms per cell
        lo = np.full(p.shape, np.nan)
        hi = np.full(p.shape, np.nan)
        ok = ~bad
        xo, no = x[ok], nstar[ok]
        lo[ok] = scipy.special.betaincinv(np.where(xo > 0, xo, 1), no - xo + 1, alpha / 2)
        hi[ok] = scipy.special.betaincinv(xo + 1, np.where(no - xo > 0, no - xo, 1), 1 - alpha / 2)
    lo = np.where(x <= 0, 0.0, lo)
    hi = np.where(nstar - x <= 0, 1.0, hi)
    return np.where(bad, np.nan, lo), np.where(bad, np.nan, hi)


def pooled_deff(p, se, n, groups=None):
    """Pooled design effect of the rows with a measurable one, per group of rows.

    Parameters
    ----------
    p, se, n : array
        Proportions, standard errors and unweighted sizes, one per row.
    groups : array of int, optional
        The group of each row (the variable of a table); one group when omitted.

    Returns
    -------
    ndarray
        For every row, :math:`\\max(1, \\sum_i n_i / \\sum_i n_{e,i})` over the rows
        :math:`i` of its group with :math:`0 < \\hat p_i < 1` and :math:`\\hat v_i > 0`,
        where :math:`n_{e,i} = \\hat p_i(1-\\hat p_i)/\\hat v_i`; 1 when the group has no
        such row.

    Notes
    -----
    The ratio of the total sample size to the total effective size of the domains
    with cases: the design effect of the table's domains pooled with weights
    :math:`n_{e,i}`. It stands in for the design effect of a domain with no case
    (:func:`korn_graubard`), whose own cannot be estimated.
    """
    p = np.asarray(p, dtype=np.float64)
    v = np.asarray(se, dtype=np.float64) ** 2
    n = np.asarray(n, dtype=np.float64)
    g = np.zeros(p.shape, dtype=np.intp) if groups is None else np.asarray(groups, dtype=np.intp)
    with np.errstate(divide="ignore", invalid="ignore"):
        ne = p * (1.0 - p) / v
    use = (p > 0) & (p < 1) & (v > 0) & np.isfinite(ne) & (n > 0)
    size = int(g.max()) + 1 if g.size else 0
    sum_n = np.bincount(g[use], weights=n[use], minlength=size)
    sum_ne = np.bincount(g[use], weights=ne[use], minlength=size)
    with np.errstate(divide="ignore", invalid="ignore"):
        deff = np.where(sum_ne > 0, sum_n / sum_ne, 1.0)
    return np.maximum(deff, 1.0)[g]


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
    eta0 = scipy.special.logit(pp)

    def kl(eta):
        mu = scipy.special.expit(eta)
        return scipy.special.xlogy(pp, pp / mu) + scipy.special.xlogy(1 - pp, (1 - pp) / (1 - mu))

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
        bounds.append(scipy.special.expit(0.5 * (lo_e + hi_e)))
    lo, hi = bounds
    return np.where(ok, lo, np.nan), np.where(ok, hi, np.nan)


# ----------------------------------------------------------------------------- registry

#: Inputs an interval method may need beyond the estimate, SE, df and level, passed to
#: its function as keywords: the unweighted rows of the domain, the quasi-binomial
#: dispersion of the variable (:func:`likelihood_ci`) and the pooled design effect of
#: the table's rows (:func:`pooled_deff`; for a domain without a case).
CI_INPUTS = ("n", "dispersion", "deff_pooled")


@dataclass(frozen=True)
class CIMethod:
    """One interval method of ``ci_method=``, declared once in :data:`CI_METHODS`.

    Attributes
    ----------
    name : str
        The value of ``ci_method=``, recorded in the ``ci_method`` column of a table.
    function : callable
        ``function(estimate, se, df, level=level, **inputs) -> (lower, upper)``, arrays
        with one value per row, on the scale of a proportion (not per 1,000).
    description : str
        One line, for error messages and the documentation.
    proportions_only : bool
        True for an interval of a proportion in [0, 1] (a transformed or exact
        interval); False for one that applies to any estimate (Wald).
    needs : tuple of str
        The inputs of :data:`CI_INPUTS` that ``function`` takes as keywords.
    aliases : tuple of str
        Other names that ``ci_method=`` accepts for this method (the table records
        ``name``).
    """

    name: str
    function: Callable[..., tuple[np.ndarray, np.ndarray]]
    description: str
    proportions_only: bool = True
    needs: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()


_REGISTRY: dict[str, CIMethod] = {}
_ALIASES: dict[str, str] = {}  # alias -> name

#: The interval methods by name, in the order of the documentation and of the coverage
#: study: a read-only view of the registry (:func:`register_ci_method` adds to it).
#: ``tuple(CI_METHODS)`` gives the names.
CI_METHODS: Mapping[str, CIMethod] = MappingProxyType(_REGISTRY)


def register_ci_method(method: CIMethod) -> CIMethod:
    """Add an interval method to :data:`CI_METHODS`: every estimator with ``ci_method=``
    and the coverage study accept it from then on (a taken name is refused, so the
    methods already registered keep their numbers).

    Raises
    ------
    ValidationError
        ``method`` is not a :class:`CIMethod`, its name or an alias is taken or empty,
        its function is not callable, or it needs an input not in :data:`CI_INPUTS`.
    """
    if not isinstance(method, CIMethod):
        raise ValidationError(
            f"register_ci_method() takes a CIMethod, not a {type(method).__name__}; build one "
            "with CIMethod(name, function, description, ...)."
        )
    for part in ("needs", "aliases"):
        if not isinstance(getattr(method, part), tuple):
            raise ValidationError(
                f"CI method {method.name!r}: {part} must be a tuple of names, e.g. ('n',); "
                f"found {getattr(method, part)!r}."
            )
    for name in (method.name, *method.aliases):
        if not isinstance(name, str) or not name:
            raise ValidationError(
                f"CI method name {name!r} must be a non-empty string (the value of ci_method=)."
            )
        if name in _REGISTRY or name in _ALIASES:
            raise ValidationError(
                f"ci_method name {name!r} is already registered; give the new method another "
                f"name, or remove_ci_method({_ALIASES.get(name, name)!r}) first."
            )
    if len({method.name, *method.aliases}) != 1 + len(method.aliases):
        raise ValidationError(f"CI method {method.name!r} repeats a name among its aliases.")
    if not callable(method.function):
        raise ValidationError(f"CI method {method.name!r}: function must be callable.")
    unknown = [k for k in method.needs if k not in CI_INPUTS]
    if unknown:
        raise ValidationError(
            f"CI method {method.name!r} needs {', '.join(map(repr, unknown))}; the inputs an "
            f"interval can take are {', '.join(map(repr, CI_INPUTS))}."
        )
    _REGISTRY[method.name] = method
    _ALIASES.update(dict.fromkeys(method.aliases, method.name))
    return method


def remove_ci_method(name: str) -> CIMethod:
    """Remove a method (and its aliases) from :data:`CI_METHODS`; returns it."""
    method = get_ci_method(name)
    del _REGISTRY[method.name]
    for alias in method.aliases:
        del _ALIASES[alias]
    return method


def get_ci_method(name: Any, *, proportion: bool = True) -> CIMethod:
    """The registered method called ``name`` (or one of its aliases).

    Parameters
    ----------
    name : str
        The value given to ``ci_method=``.
    proportion : bool, default True
        Whether the interval is for a proportion; when False, a method for
        proportions only is refused.

    Raises
    ------
    ValidationError
        The name is not registered (the message lists the methods and suggests the
        closest name), or the method is for proportions and the estimate is not one.
    """
    key = _ALIASES.get(name, name) if isinstance(name, str) else None
    method = _REGISTRY.get(key) if key is not None else None
    if method is None:
        close = closest_name(name, [*_REGISTRY, *_ALIASES])
        hint = f" Did you mean {close!r}?" if close else ""
        raise ValidationError(
            f"ci_method={name!r} is not known.{hint} Use one of "
            f"{', '.join(map(repr, _REGISTRY))} (formulas in flestimate.estimation.cimethods)."
        )
    if method.proportions_only and not proportion:
        usable = "; ".join(
            f"{m.name!r} ({m.description})" for m in _REGISTRY.values() if not m.proportions_only
        )
        raise ValidationError(
            f"ci_method={name!r} ({method.description}) is an interval for a proportion; this "
            f"estimate is not a proportion. Use one of: {usable}."
        )
    return method


def compute_ci(
    method: str,
    p: np.ndarray,
    se: np.ndarray,
    df: np.ndarray,
    n: np.ndarray,
    level: float,
    dispersion: np.ndarray | None = None,
    deff_pooled: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Interval bounds (unscaled) by a method of :data:`CI_METHODS`, for arrays of rows.

    The method's function gets the estimate, SE, df and level, and the inputs it
    declares (``n``: rows of the domain; ``dispersion``; ``deff_pooled``, by default
    :func:`pooled_deff` of all the rows given); one look-up per call.
    """
    entry = get_ci_method(method)
    if deff_pooled is None and "deff_pooled" in entry.needs:
        deff_pooled = pooled_deff(p, se, n)
    given = {"n": n, "dispersion": dispersion, "deff_pooled": deff_pooled}
    missing = [k for k in entry.needs if given[k] is None]
    if missing:
        raise EstimationError(
            f"the {entry.name} interval needs the {missing[0]}; re-run the estimator."
        )
    return entry.function(p, se, df, level=level, **{k: given[k] for k in entry.needs})


for _method in (
    CIMethod("wald", wald, "estimate +/- t SE, R's confint; for any estimate",
             proportions_only=False),
    CIMethod("logit", logit_ci, "logit-transformed Wald interval, R's svyciprop 'xlogit'"),
    CIMethod("asin", asin_ci, "arcsine-square-root-transformed interval, R's 'asin'"),
    CIMethod("wilson", wilson, "Wilson score interval with the effective size, R's 'wilson'"),
    CIMethod("korn-graubard", korn_graubard,
             "Clopper-Pearson with the df-adjusted effective size, R's 'beta'",
             needs=("n", "deff_pooled")),
    CIMethod("korn-graubard-nchs", functools.partial(korn_graubard, nchs=True),
             "Korn-Graubard with the effective size capped at n, the NCHS standard",
             needs=("n", "deff_pooled")),
    CIMethod("likelihood", likelihood_ci,
             "profile likelihood of a quasi-binomial model, R's 'likelihood'",
             needs=("dispersion",)),
):  # fmt: skip
    register_ci_method(_method)
del _method
