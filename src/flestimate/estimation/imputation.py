"""Rubin's rules: one result from the analyses of M multiply imputed data sets
(R's ``mitools::MIcombine``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from flestimate.errors import EstimationError, ValidationError
from flestimate.estimation import cimethods
from flestimate.estimation.table import EstimateTable

__all__ = ["RubinResult", "combine", "rubin", "with_imputations"]


@dataclass(frozen=True)
class RubinResult:
    """Rubin's rules on M estimates: ``estimate`` (p,), ``variance`` (p, p) the total
    variance, ``within`` and ``between`` its parts, ``df`` (p,), ``missing_info`` (p,)
    the fraction of missing information, ``m`` the number of imputations."""

    estimate: np.ndarray
    variance: np.ndarray
    within: np.ndarray
    between: np.ndarray
    df: np.ndarray
    missing_info: np.ndarray
    m: int


def rubin(
    estimates: Sequence[np.ndarray],
    covariances: Sequence[np.ndarray],
    *,
    df_complete: float | np.ndarray = np.inf,
) -> RubinResult:
    r"""Rubin's rules exactly as R's ``mitools::MIcombine``.

    Parameters
    ----------
    estimates : sequence of M ndarray (p,)
    covariances : sequence of M ndarray (p, p)
    df_complete : float or ndarray (p,), default inf
        Degrees of freedom of the complete-data analysis; finite values give the
        Barnard-Rubin (1999) small-sample df, as ``MIcombine(df.complete=)``.

    Returns
    -------
    RubinResult

    Notes
    -----
    :math:`\bar\theta = \frac1M\sum_m \hat\theta_m`, :math:`\bar W = \frac1M \sum_m
    \hat V_m`, :math:`B` the sample covariance of the :math:`\hat\theta_m`, total
    :math:`T = \bar W + (1 + 1/M) B`. With :math:`r = (1 + 1/M) B_{jj}/\bar W_{jj}`:
    :math:`\nu = (M-1)(1 + 1/r)^2`; when the complete-data df :math:`\nu_c` is
    finite, :math:`\nu^{-1} \leftarrow \nu^{-1} + \nu_{obs}^{-1}` with
    :math:`\nu_{obs} = \frac{\nu_c+1}{\nu_c+3}\nu_c \bar W_{jj}/(\bar W_{jj} +
    B_{jj})` (R's form). Fraction of missing information
    :math:`\gamma = (r + 2/(\nu+3))/(r+1)`.

    References
    ----------
    Rubin, D. B. (1987). Multiple Imputation for Nonresponse in Surveys. Wiley.
    Barnard, J. and Rubin, D. B. (1999). Small-sample degrees of freedom with
    multiple imputation. Biometrika 86, 948-955.
    Lumley, T. mitools R package, ``MIcombine``.
    """
    m = len(estimates)
    if m < 2 or len(covariances) != m:
        raise ValidationError(
            f"Rubin's rules need at least two imputations with an estimate and a covariance "
            f"each; found {m} estimates and {len(covariances)} covariances."
        )
    est = np.array([np.asarray(e, dtype=float).ravel() for e in estimates])
    p = est.shape[1]
    cov = np.array([np.asarray(c, dtype=float).reshape(p, p) for c in covariances])
    qbar = est.mean(axis=0)
    wbar = cov.mean(axis=0)
    between = np.atleast_2d(np.cov(est, rowvar=False, ddof=1))
    wd, bd = np.diag(wbar), np.diag(between)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = (1 + 1 / m) * bd / wd
        df = (m - 1) * (1 + 1 / r) ** 2
        dfc = np.broadcast_to(np.asarray(df_complete, dtype=float), df.shape)
        dfobs = (dfc + 1) / (dfc + 3) * dfc * wd / (wd + bd)
        df = np.where(np.isfinite(dfc), 1 / (1 / dfobs + 1 / df), df)
        info = (r + 2 / (df + 3)) / (r + 1)
    return RubinResult(qbar, wbar + between * (m + 1) / m, wbar, between, df, info, m)


def _covariance(table: EstimateTable) -> np.ndarray:
    """The table's covariance, or the diagonal of its variances when it has none
    (a quantile table)."""
    try:
        return table.vcov().to_numpy()
    except EstimationError:
        return np.diag(table.to_frame()["se"].to_numpy() ** 2)


def combine(
    results: Sequence[EstimateTable],
    *,
    df_complete: float | str | None = None,
) -> EstimateTable:
    r"""Combine the tables of the same analysis on M imputed data sets (Rubin's rules).

    Parameters
    ----------
    results : sequence of EstimateTable
        The same estimator with the same domains on each imputed design (see
        :func:`with_imputations`); at least two.
    df_complete : None, float or "design"
        Complete-data degrees of freedom. None (R's ``MIcombine`` default): infinite,
        the classic Rubin df; a number, or ``"design"`` for each row's df in the
        first table: the Barnard-Rubin small-sample df as ``MIcombine(df.complete=)``.

    Returns
    -------
    EstimateTable
        The same rows, with the combined estimate, ``se`` from the total variance,
        Wald intervals on the Rubin df (``df``), and the columns ``fmi`` (fraction
        of missing information), ``within_var`` and ``between_var``. ``vcov()`` is
        the total covariance.

    Raises
    ------
    ValidationError
        Fewer than two tables, or tables of different shapes, rows or statistics.

    Notes
    -----
    :func:`rubin` on the tables' estimates and covariances (on the tables' scale).
    A "don't know" answer to a forced-labour question can be imputed M times
    (e.g. from respondents alike in the other answers) and the prevalence combined
    here: the interval then carries the uncertainty of the imputation, between the
    lower bound (don't know = no) and the conservative upper bound (don't know =
    yes) of the band.

    References
    ----------
    Rubin, D. B. (1987). Multiple Imputation for Nonresponse in Surveys. Wiley.
    Lumley, T. mitools R package, ``MIcombine``.

    Examples
    --------
    Two "imputations" of forced labour on the sample survey (the true status, and the
    same with every seventh respondent set to 0) combine into one table:

    >>> import pandas as pd
    >>> import flestimate
    >>> data = pd.read_csv("data/sample/fl_survey.csv").merge(
    ...     pd.read_csv("data/sample/truth_respondents.csv")[["pid", "fl_true"]], on="pid")
    >>> data["fl_b"] = data["fl_true"].where(data["pid"] % 7 != 0, 0)
    >>> designs = [flestimate.SurveyDesign(data.assign(fl=data[c]), weight="w_final",
    ...                                    strata="stratum", psu="psu")
    ...            for c in ("fl_true", "fl_b")]
    >>> both = flestimate.combine([d.prevalence("fl", by="sex") for d in designs])
    >>> print(both.to_frame()[["sex", "estimate", "fmi"]].round(2).to_string(index=False))
     sex  estimate  fmi
       1      4.99 0.44
       2      4.39 0.13
    """
    results = list(results)
    if len(results) < 2 or not all(isinstance(t, EstimateTable) for t in results):
        raise ValidationError(
            f"combine() needs a list of at least two EstimateTables (one per imputed data "
            f"set); found {len(results)} item(s) of types "
            f"{sorted({type(t).__name__ for t in results})}."
        )
    first = results[0]
    labels = first._row_labels()
    for i, t in enumerate(results[1:], start=2):
        if t.statistic != first.statistic or t._row_labels() != labels:
            raise ValidationError(
                f"result {i} does not match result 1: {t.statistic} with {len(t)} rows "
                f"{t._row_labels()[:4]} against {first.statistic} with {len(first)} rows "
                f"{labels[:4]}. Run the same analysis (same variables and by=) on every "
                "imputed design; give domain columns the same categories in each."
            )
    frames = [t.to_frame() for t in results]
    if df_complete is None:
        dfc: Any = np.inf
    elif df_complete == "design":
        dfc = frames[0]["df"].to_numpy(dtype=float)
    else:
        dfc = float(df_complete)
    res = rubin([f["estimate"].to_numpy(dtype=float) for f in frames],
                [_covariance(t) for t in results], df_complete=dfc)  # fmt: skip
    se = np.sqrt(np.diag(res.variance))
    lo, hi = cimethods.wald(res.estimate, se, res.df, first.level)
    frame = frames[0].copy()
    frame["estimate"] = res.estimate
    frame["se"] = se
    frame["ci_lower"] = lo
    frame["ci_upper"] = hi
    frame["ci_method"] = "wald"
    frame["df"] = res.df
    with np.errstate(divide="ignore", invalid="ignore"):
        frame["cv"] = se / np.abs(res.estimate)
    for c in ("deff", "deff_wr", "n_effective"):
        frame[c] = np.nan
    frame["fmi"] = res.missing_info
    frame["within_var"] = np.diag(res.within)
    frame["between_var"] = np.diag(res.between)
    frame["n_imputations"] = res.m
    total = res.variance.copy()
    return EstimateTable(
        _frame=frame,
        statistic=first.statistic,
        by=first.by,
        ci_method="wald",
        level=first.level,
        df_rule="rubin",
        lonely_psu=first.lonely_psu,
        scale=1.0,
        _p=res.estimate,
        _se=se,
        _df=res.df,
        _n=frames[0]["n_unweighted"].to_numpy(dtype=float),
        _covariance=lambda: total.copy(),
        design_df=first.design_df,
    )


def with_imputations(
    designs: Sequence[Any],
    analysis: Callable[[Any], EstimateTable],
    *,
    df_complete: float | str | None = None,
) -> EstimateTable:
    """Run one analysis on each imputed design and combine the tables (Rubin's rules).

    Parameters
    ----------
    designs : sequence of SurveyDesign or ReplicateDesign
        One design per imputed data set (same design variables).
    analysis : callable
        ``design -> EstimateTable``, e.g. ``lambda d: d.prevalence("fl", by="sex")``.
    df_complete : None, float or "design"
        See :func:`combine`.

    Returns
    -------
    EstimateTable
        :func:`combine` of the M tables.
    """
    return combine([analysis(d) for d in designs], df_complete=df_complete)
