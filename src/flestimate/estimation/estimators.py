"""Design-based estimators: total, mean, ratio, proportion and prevalence, by domains.

All are ratios of weighted totals within domains. An estimator reads its columns,
encodes the domains and asks the design, through
:class:`~flestimate.design.interface.VarianceEngine` only, for the totals (one pass
over the data), the degrees of freedom and the variance (Taylor linearisation or
replicate weights); it then builds the intervals, design effects and flags.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from flestimate.errors import (
    Diagnostic,
    DomainWarning,
    EstimationError,
    ValidationError,
    strata_have,
)
from flestimate.estimation.cimethods import compute_ci, get_ci_method, pooled_deff
from flestimate.estimation.columns import (
    column_names,
    indicator_columns,
    numeric_columns,
    ratio_columns,
)
from flestimate.estimation.deff import design_effects
from flestimate.estimation.domains import encode_domains
from flestimate.estimation.labels import labelled_columns
from flestimate.estimation.table import EstimateTable, check_level

if TYPE_CHECKING:
    from flestimate.design.interface import VarianceEngine

__all__ = ["mean", "prevalence", "proportion", "ratio", "total"]

# largest PSU x domain x variable block held at once (float64 cells). 16 MB arrays
# stay below the allocator's largest mmap threshold (glibc: 32 MB), so blocks after
# the first reuse freed memory instead of faulting in fresh pages: at 1M rows x 20
# variables x 113 domains the first table takes 0.45 s with 2e6 cells, 1.6 s with 2e7.
_MAX_CELLS = 2e6


def _check_df(df: Any) -> Any:
    if isinstance(df, str):
        if df not in ("domain", "design"):
            raise ValidationError(
                f"df={df!r} is not known. Use 'domain' (R's degf of the domain), 'design' or a number."
            )
        return df
    try:
        d = float(df)
    except (TypeError, ValueError):
        d = np.nan
    if not (d > 0):
        raise ValidationError(f"df={df!r} must be 'domain', 'design' or a positive number.")
    return d


def _estimate(
    design: VarianceEngine,
    statistic: str,
    ys: list[np.ndarray],
    xs: list[np.ndarray | None] | None,
    valid: list[np.ndarray | None],
    labels: list[tuple[str, Any]],
    *,
    by: Any,
    level: float,
    df: Any,
    ci_method: str,
    scale: float,
    binary: bool,
    has_category: bool,
    relative: bool = False,
) -> EstimateTable:
    structure = design.structure
    frame = design.data
    domains = encode_domains(frame, by)
    D = domains.n_domains
    K = len(ys)
    H = structure.n_strata

    # shared by the blocks of variables
    cells = design.domain_cells(domains.codes, D)

    def run(cols: list[int]) -> dict[str, Any]:
        """Totals, estimates, variances, df and deff of the variables ``cols``."""
        k = len(cols)
        totals = design.domain_totals(
            [ys[j] for j in cols],
            None if xs is None else [xs[j] for j in cols],
            cells,
            binary=binary,
            valid=[valid[j] for j in cols],
        )
        est = totals.estimates()  # (D, k)
        empty = totals.n_rows == 0
        est = np.where(empty, np.nan, est)
        # degrees of freedom per domain (and per variable when missing values differ),
        # and the strata holding each domain's members (for the "average" lonely rule)
        dfs, active = design.domain_df(totals)
        variance, cov_fn = design.variance(totals, est, active.reshape(H, D * k))
        # a ratio whose denominator total is 0 in the domain has no estimate
        undefined = empty | ~np.isfinite(est)
        variance = np.where(undefined, np.nan, variance.reshape(D, k))
        deff, deff_wr = design_effects(statistic, totals, est, variance)
        return {
            "est": est,
            "empty": empty,
            "dfs": dfs,
            "variance": variance,
            "deff": deff,
            "deff_wr": deff_wr,
            "n_rows": totals.n_rows,
            "sum_w": totals.sum_w,
            "cov_fn": cov_fn,
        }

    # PSU x domain x variable arrays are processed in blocks of variables when the
    # table is large (many domains), so that memory stays bounded
    per_var = max(cells.n_cells, 1)
    block = max(1, int(_MAX_CELLS // max(per_var, 1)))
    blocks = [list(range(i, min(K, i + block))) for i in range(0, K, block)]
    parts = [run(b) for b in blocks]  # a loop over blocks of variables

    def cat(key: str) -> np.ndarray:
        return np.concatenate([p[key] for p in parts], axis=1)

    est, empty, dfs, variance = cat("est"), cat("empty"), cat("dfs"), cat("variance")
    deff, deff_wr = cat("deff"), cat("deff_wr")
    if len(parts) == 1:
        cov_fn = parts[0]["cov_fn"]
    else:

        def cov_fn() -> np.ndarray:
            # the covariance needs every variable's scores at once
            return run(list(range(K)))["cov_fn"]()

    if df == "domain":
        df_rows = dfs
    elif df == "design":
        df_rows = np.full((D, K), float(design.degf))
    else:
        df_rows = np.full((D, K), float(df))
    se = np.sqrt(np.maximum(variance, 0.0))

    n_rows = cat("n_rows")
    sum_w = cat("sum_w")
    p = est.ravel()
    se_f = se.ravel()
    df_f = df_rows.ravel()
    n_f = n_rows.ravel()
    dispersion = None
    if "dispersion" in get_ci_method(ci_method).needs:
        # svyvar of the Pearson residuals (y - p) / sqrt(p (1 - p)) of svyglm(y ~ 1):
        # n / (n - 1) for a 0/1 variable
        with np.errstate(divide="ignore", invalid="ignore"):
            dispersion = n_f / (n_f - 1.0)
    # a total by a method for proportions: the interval of its share of the domain's
    # weighted size (same estimate, SE / N), times that size (docs/methodology/ci-methods.md)
    base = sum_w.ravel().astype(float) if relative else None
    with np.errstate(divide="ignore", invalid="ignore"):
        p_ci, se_ci = (p / base, se_f / base) if base is not None else (p, se_f)
    deff_pooled = None
    if "deff_pooled" in get_ci_method(ci_method).needs:
        # rows are domain-major: row i holds variable i % K
        deff_pooled = pooled_deff(p_ci, se_ci, n_f, np.tile(np.arange(K), D))
    lo, hi = compute_ci(ci_method, p_ci, se_ci, df_f, n_f, level, dispersion, deff_pooled)
    if base is not None:
        lo, hi = lo * base, hi * base
    if statistic in ("proportion", "prevalence"):
        with np.errstate(divide="ignore", invalid="ignore"):
            n_eff = p * (1 - p) / se_f**2
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            n_eff = n_f / deff_wr.ravel()
    with np.errstate(divide="ignore", invalid="ignore"):
        cv = se_f / np.abs(p)

    # flags and diagnostics
    flags = [[] for _ in range(D * K)]
    diagnostics = []
    missing_by = domains.missing_diagnostic()  # rows outside every domain
    if missing_by is not None:
        warnings.warn(missing_by.message, DomainWarning, stacklevel=3)
        diagnostics.append(missing_by)
    empty_f = empty.ravel()
    for i in np.flatnonzero(empty_f):
        flags[i].append("empty_domain")
    for i in np.flatnonzero(~empty_f & ~np.isfinite(p)):
        flags[i].append("zero_denominator")
    # zero up to rounding: a domain inside one PSU has a variance of 0 in exact
    # arithmetic and of rounding noise (an SE 1e-16 of the estimate) in floating point
    var_f = variance.ravel()
    with np.errstate(invalid="ignore"):
        zero_var = (var_f == 0) | (np.sqrt(np.abs(var_f)) <= 1e-10 * np.abs(p))
    for i in np.flatnonzero(~empty_f & zero_var):
        flags[i].append("zero_variance")
    if statistic in ("proportion", "prevalence") or relative:
        # no case in the domain: the interval rests on the pooled design effect
        for i in np.flatnonzero(~empty_f & (p == 0)):
            flags[i].append("zero_cases")
    for i in np.flatnonzero(~empty_f & ~(df_f > 0)):
        flags[i].append("df_nonpositive")
    if empty_f.any():
        n_empty = int(empty.any(axis=1).sum())
        msg = (
            f"{n_empty} of {D} domains of by={list(domains.columns)} have no respondents with a "
            "value; their estimates are NaN (flag 'empty_domain')."
        )
        warnings.warn(msg, DomainWarning, stacklevel=3)
        diagnostics.append(Diagnostic("empty_domain", msg))
    lonely = int(structure.lonely_strata.sum())
    if lonely:
        diagnostics.append(
            Diagnostic(
                "lonely_psu",
                f"{strata_have(lonely)} a single PSU; rule lonely_psu={structure.lonely_psu!r} "
                "was applied.",
            )
        )

    keys = domains.keys
    rep = np.repeat(np.arange(D), K)
    out = {c: keys[c].take(rep).reset_index(drop=True) for c in domains.columns}
    var_names = [labels[k][0] for k in range(K)] * D
    out["variable"] = var_names
    if has_category:
        out["category"] = [labels[k][1] for k in range(K)] * D
    out.update(
        {
            "estimate": p * scale,
            "se": se_f * scale,
            "ci_lower": lo * scale,
            "ci_upper": hi * scale,
            "level": np.full(D * K, level),
            "ci_method": [ci_method] * (D * K),
            "df": df_f,
            "deff": deff.ravel(),
            "deff_wr": deff_wr.ravel(),
            "cv": cv,
            "n_unweighted": n_f.astype(np.int64),
            "n_weighted": sum_w.ravel(),
            "n_effective": n_eff,
            "flags": [";".join(f) for f in flags],
        }
    )
    frame_out = labelled_columns(pd.DataFrame(out), domains.columns, design.value_labels)

    def covariance() -> np.ndarray:
        C = cov_fn()
        bad = np.flatnonzero(empty_f)
        C[bad, :] = np.nan
        C[:, bad] = np.nan
        return C

    return EstimateTable(
        _frame=frame_out,
        statistic=statistic,
        by=domains.columns,
        ci_method=ci_method,
        level=level,
        df_rule=df,
        lonely_psu=structure.lonely_psu,
        scale=scale,
        _p=p,
        _se=se_f,
        _df=df_f,
        _n=n_f,
        _dispersion=dispersion,
        _deff_pooled=deff_pooled,
        _base=base,
        _covariance=covariance,
        diagnostics=tuple(diagnostics),
        design_df=float(design.degf),
    )


# ----------------------------------------------------------------------------- public


def _common(level, df, ci_method, *, proportion):
    """The checked level, df rule and interval method's name (an alias resolved)."""
    lv = check_level(level)
    d = _check_df(df)
    return lv, d, get_ci_method(ci_method, proportion=proportion).name


def total(
    design: VarianceEngine,
    y: str | Sequence[str],
    *,
    by: str | Sequence[str] | None = None,
    level: float = 0.95,
    na_rm: bool = False,
    df: str | float = "domain",
    ci_method: str = "wald",
) -> EstimateTable:
    r"""Estimated population total of each variable, by domains.

    Parameters
    ----------
    design : SurveyDesign or ReplicateDesign
        The design (a :class:`~flestimate.design.interface.VarianceEngine`); the
        design's method ``design.total(...)`` passes itself here.
    y : str or list of str
        Numeric analysis columns; all are estimated in one pass over the data.
    by : str or list of str, optional
        Domain columns; several columns give crossed domains. Domains never drop
        rows: PSUs without members of a domain still count in its variance.
    level : float, default 0.95
        Confidence level of the intervals.
    na_rm : bool, default False
        Leave out (as zero-weight rows) the rows where the variable is missing,
        variable by variable; when False a missing value is an error.
    df : {"domain", "design"} or float, default "domain"
        Degrees of freedom of the t quantiles: R's ``degf`` of each domain, of
        the whole design, or a number.
    ci_method : str, default "wald"
        ``"wald"`` (:math:`\hat Y \pm t\,\mathrm{SE}`), or, for a variable with
        values in [0, 1] (a number of persons), any interval for proportions of
        :data:`~flestimate.estimation.cimethods.CI_METHODS` (e.g.
        ``"korn-graubard"``), applied to the total's share of the domain's weighted
        size (see Notes).

    Returns
    -------
    EstimateTable
        One row per domain and variable (see :class:`EstimateTable`).

    Notes
    -----
    :math:`\hat Y_d = \sum_{i \in d} w_i y_i`; linearised PSU scores are the PSU
    totals of :math:`w y 1_d` (SURVEY-METHODS E1). ``deff`` is R's ``deff=TRUE``:
    :math:`\hat V / (\hat N^2 (1 - n/\hat N) S^2_w / n)`.

    With an interval for proportions, the interval of the number of persons is
    :math:`\hat N_d \cdot CI(\hat Y_d/\hat N_d,\ \mathrm{SE}(\hat Y_d)/\hat N_d)`,
    :math:`\hat N_d` the domain's weighted size: it keeps the total's own variance
    (that of :math:`\hat N_d` included). When :math:`\hat N_d` is fixed (weights
    calibrated or post-stratified to a known size of the domain),
    :math:`\mathrm{SE}(\hat Y_d)/N_d` is the SE of the prevalence, so the interval is
    exactly :math:`N_d` times the prevalence's interval by the same method.

    References
    ----------
    Lumley, T. (2010). Complex Surveys: A Guide to Analysis Using R. Wiley.
    Lumley, T. survey R package, ``svytotal``.
    Wolter, K. M. (2007). Introduction to Variance Estimation, 2nd ed. Springer.
    """
    lv, d, ci = _common(level, df, ci_method, proportion=True)
    names = column_names(y, "y")
    ys, valid = numeric_columns(design.data, names, na_rm)
    relative = ci != "wald"
    if relative:
        check_unit_interval(ys, valid, names, ci)
    return _estimate(
        design,
        "total",
        ys,
        None,
        valid,
        [(n, None) for n in names],
        by=by,
        level=lv,
        df=d,
        ci_method=ci,
        scale=1.0,
        binary=False,
        has_category=False,
        relative=relative,
    )


def check_unit_interval(
    ys: list[np.ndarray], valid: list[np.ndarray | None], names: list[str], ci_method: str
) -> None:
    """Refuse a variable outside [0, 1] for a total with an interval for proportions."""
    for y, ok, name in zip(ys, valid, names, strict=True):
        vals = y if ok is None else y[ok]
        bad = ~((vals >= 0) & (vals <= 1))
        if bad.any():
            raise ValidationError(
                f"column {name!r} has {int(bad.sum()):,} values outside [0, 1] (first: "
                f"{', '.join(f'{v:g}' for v in vals[bad][:3])}); ci_method={ci_method!r} is an "
                "interval for a number of persons (a 0/1 variable). Use ci_method='wald' for "
                "the total of another variable."
            )


def mean(
    design: VarianceEngine,
    y: str | Sequence[str],
    *,
    by: str | Sequence[str] | None = None,
    level: float = 0.95,
    na_rm: bool = False,
    df: str | float = "domain",
) -> EstimateTable:
    r"""Estimated population mean (Hajek) of each variable, by domains.

    Parameters
    ----------
    design : SurveyDesign or ReplicateDesign
        The design (a :class:`~flestimate.design.interface.VarianceEngine`); the
        design's method ``design.mean(...)`` passes itself here.
    y : str or list of str
        Numeric analysis columns.
    by : str or list of str, optional
        Domain columns; several columns give crossed domains. Domains never drop
        rows: PSUs without members of a domain still count in its variance.
    level : float, default 0.95
        Confidence level of the intervals.
    na_rm : bool, default False
        Leave out (as zero-weight rows) the rows where the variable is missing,
        variable by variable; when False a missing value is an error.
    df : {"domain", "design"} or float, default "domain"
        Degrees of freedom of the t quantiles: R's ``degf`` of each domain, of
        the whole design, or a number.

    Returns
    -------
    EstimateTable
        One row per domain and variable (see :class:`EstimateTable`).

    Notes
    -----
    :math:`\bar y_d = \sum_{i\in d} w_i y_i / \sum_{i \in d} w_i`, linearised
    with the score :math:`u_i = w_i 1_d(i) (y_i - \bar y_d) / \hat N_d`.

    References
    ----------
    Lumley, T. (2010). Complex Surveys: A Guide to Analysis Using R. Wiley.
    Lumley, T. survey R package, ``svymean``, ``svyby``.
    Wolter, K. M. (2007). Introduction to Variance Estimation, 2nd ed. Springer.
    """
    lv, d, ci = _common(level, df, "wald", proportion=False)
    names = column_names(y, "y")
    ys, valid = numeric_columns(design.data, names, na_rm)
    relative = ci != "wald"
    if relative:
        check_unit_interval(ys, valid, names, ci)
    return _means(design, "mean", ys, valid, names, by=by, level=lv, df=d, ci_method=ci)


def _means(design, statistic, ys, valid, names, *, by, level, df, ci_method) -> EstimateTable:
    """Hajek means of the variables ``ys`` (columns ``names``), by domains: the table of
    :func:`mean`, and of the variance's :math:`z_i` (:func:`~flestimate.estimation.svyvar.var`)."""
    return _estimate(
        design, statistic, ys, [None] * len(ys), valid, [(n, None) for n in names],
        by=by, level=level, df=df, ci_method=ci_method, scale=1.0, binary=False,
        has_category=False,
    )  # fmt: skip


def ratio(
    design: VarianceEngine,
    numerator: str | Sequence[str],
    denominator: str | Sequence[str],
    *,
    by: str | Sequence[str] | None = None,
    level: float = 0.95,
    na_rm: bool = False,
    df: str | float = "domain",
) -> EstimateTable:
    r"""Estimated ratio of population totals ``sum w y / sum w x``, by domains.

    Parameters
    ----------
    design : SurveyDesign or ReplicateDesign
        The design (a :class:`~flestimate.design.interface.VarianceEngine`); the
        design's method ``design.ratio(...)`` passes itself here.
    numerator, denominator : str or list of str
        Numeric columns; lists of equal length pair up element by element (one
        denominator serves every numerator).
    by : str or list of str, optional
        Domain columns; several columns give crossed domains. Domains never drop
        rows: PSUs without members of a domain still count in its variance.
    level : float, default 0.95
        Confidence level of the intervals.
    na_rm : bool, default False
        Leave out (as zero-weight rows) the rows where the variable is missing,
        variable by variable; when False a missing value is an error.
    df : {"domain", "design"} or float, default "domain"
        Degrees of freedom of the t quantiles: R's ``degf`` of each domain, of
        the whole design, or a number.

    Returns
    -------
    EstimateTable
        One row per domain and variable (see :class:`EstimateTable`).

    Notes
    -----
    :math:`\hat R_d = \hat Y_d / \hat X_d`, linearised with the score
    :math:`u_i = w_i 1_d(i) (y_i - \hat R_d x_i) / \hat X_d`.

    References
    ----------
    Lumley, T. (2010). Complex Surveys: A Guide to Analysis Using R. Wiley.
    Lumley, T. survey R package, ``svyratio``.
    Wolter, K. M. (2007). Introduction to Variance Estimation, 2nd ed. Springer.
    """
    lv, d, ci = _common(level, df, "wald", proportion=False)
    nums, dens, ys, xs, valid = ratio_columns(design.data, numerator, denominator, na_rm)
    labels = [(f"{a}/{b}", None) for a, b in zip(nums, dens, strict=False)]
    return _estimate(
        design,
        "ratio",
        ys,
        xs,
        valid,
        labels,
        by=by,
        level=lv,
        df=d,
        ci_method=ci,
        scale=1.0,
        binary=False,
        has_category=False,
    )


def proportion(
    design: VarianceEngine,
    y: str | Sequence[str],
    *,
    by: str | Sequence[str] | None = None,
    level: float = 0.95,
    na_rm: bool = False,
    df: str | float = "domain",
    ci_method: str = "logit",
    scale: float = 1,
) -> EstimateTable:
    r"""Estimated population proportion, by domains, with a named interval method.

    Parameters
    ----------
    design : SurveyDesign or ReplicateDesign
        The design (a :class:`~flestimate.design.interface.VarianceEngine`); the
        design's method ``design.proportion(...)`` passes itself here.
    y : str or list of str
        A 0/1 or boolean column gives one row (the proportion of 1/True); a
        categorical or string column gives one row per category (column
        ``category``).
    by : str or list of str, optional
        Domain columns; several columns give crossed domains. Domains never drop
        rows: PSUs without members of a domain still count in its variance.
    level : float, default 0.95
        Confidence level of the intervals.
    na_rm : bool, default False
        Leave out (as zero-weight rows) the rows where the variable is missing,
        variable by variable; when False a missing value is an error.
    df : {"domain", "design"} or float, default "domain"
        Degrees of freedom of the t quantiles: R's ``degf`` of each domain, of
        the whole design, or a number.
    ci_method : str, default "logit"
        The interval method: a name of the registry
        :data:`~flestimate.estimation.cimethods.CI_METHODS` ("wald", "logit",
        "korn-graubard", ...; formulas in :mod:`flestimate.estimation.cimethods`).
    scale : float > 0, default 1
        Multiplier of the estimate, SE and interval.

    Returns
    -------
    EstimateTable
        One row per domain and variable (see :class:`EstimateTable`).

    Notes
    -----
    The proportion is the mean of the indicator (see :func:`mean`); the interval
    methods are those of :mod:`flestimate.estimation.cimethods`.

    References
    ----------
    Lumley, T. (2010). Complex Surveys: A Guide to Analysis Using R. Wiley.
    Lumley, T. survey R package, ``svyciprop``, ``svymean``.
    """
    return _binary_estimate(
        design, "proportion", y, by=by, level=level, na_rm=na_rm, df=df,
        ci_method=ci_method, scale=scale,
    )  # fmt: skip


def _binary_estimate(design, statistic, y, *, by, level, na_rm, df, ci_method, scale):
    """Shared body of :func:`proportion` and :func:`prevalence` (0/1 or category indicators)."""
    lv, d, ci_method = _common(level, df, ci_method, proportion=True)
    if isinstance(scale, bool) or not isinstance(scale, (int, float, np.integer, np.floating)) \
            or not (math.isfinite(scale) and scale > 0):
        raise ValidationError(f"scale={scale!r} must be a finite number > 0 (1 for a proportion, "
                              f"100 for per cent, 1000 for per 1,000, 100000 for per 100,000).")
    names = column_names(y, "y")
    ys, valid, labels, has_category = indicator_columns(design.data, names, na_rm)
    if has_category and statistic == "prevalence":
        raise EstimationError(
            f"prevalence needs 0/1 indicators; {labels[0][0]!r} is categorical. Use proportion() "
            "for the distribution of a categorical variable."
        )
    return _estimate(
        design,
        statistic,
        ys,
        [None] * len(ys),
        valid,
        labels,
        by=by,
        level=lv,
        df=d,
        ci_method=ci_method,
        scale=float(scale),
        binary=True,
        has_category=has_category,
    )


def prevalence(
    design: VarianceEngine,
    y: str | Sequence[str],
    *,
    by: str | Sequence[str] | None = None,
    level: float = 0.95,
    na_rm: bool = False,
    df: str | float = "domain",
    ci_method: str = "korn-graubard",
    scale: float = 1000,
) -> EstimateTable:
    r"""Prevalence of a 0/1 indicator per ``scale`` persons (1,000 by default), by domains.

    Parameters
    ----------
    design : SurveyDesign or ReplicateDesign
        The design (a :class:`~flestimate.design.interface.VarianceEngine`); the
        design's method ``design.prevalence(...)`` passes itself here.
    y : str or list of str
        0/1 (or boolean) indicator columns, e.g. ``"fl"``.
    by : str or list of str, optional
        Domain columns; several columns give crossed domains. Domains never drop
        rows: PSUs without members of a domain still count in its variance.
    level : float, default 0.95
        Confidence level of the intervals.
    na_rm : bool, default False
        Leave out (as zero-weight rows) the rows where the variable is missing,
        variable by variable; when False a missing value is an error.
    df : {"domain", "design"} or float, default "domain"
        Degrees of freedom of the t quantiles: R's ``degf`` of each domain, of
        the whole design, or a number.
    ci_method : str, default "korn-graubard"
        Interval method (R's ``svyciprop(method="beta")``); see :func:`proportion`
        for the others.
    scale : float > 0, default 1000
        Persons per which the prevalence is reported.

    Returns
    -------
    EstimateTable
        One row per domain and variable (see :class:`EstimateTable`).

    Notes
    -----
    :math:`1000 \cdot \sum_i w_i y_i 1_d(i) / \sum_i w_i 1_d(i)`: ``scale`` times
    the proportion of :func:`proportion`; SE and bounds are scaled the same way,
    design effects are not.

    References
    ----------
    Korn, E. L. and Graubard, B. I. (1998). Confidence intervals for proportions with
    small expected number of positive counts estimated from survey data. Survey
    Methodology 24, 193-201.
    Lumley, T. survey R package, ``svyciprop``.
    """
    return _binary_estimate(
        design, "prevalence", y, by=by, level=level, na_rm=na_rm, df=df,
        ci_method=ci_method, scale=scale,
    )  # fmt: skip
