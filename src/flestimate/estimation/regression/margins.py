"""Predictions, predictive margins (R's ``svypredmeans``, Stata's ``margins``) and
average marginal effects of a fitted design-based GLM.

A predictive margin of group g is the weighted mean, over the rows of the fit, of
the predictions with the group column set to g for everyone. Its variance has two
parts (R's ``svypredmeans``): the design variance of the mean of those predictions
(the coefficients held fixed; through ``design.domain_totals`` and
``design.variance``) and :math:`g^T \\hat V(\\hat\\beta) g` with
:math:`g = \\sum_i w_i \\mu'(\\eta_i) x_i / \\sum_i w_i`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from flestimate.errors import EstimationError, ValidationError, closest_name
from flestimate.estimation import cimethods
from flestimate.estimation.table import EstimateTable, check_level

if TYPE_CHECKING:
    from flestimate.estimation.regression.result import RegressionResult

__all__ = ["marginal_effects", "margins", "predict", "predictive_margins"]


def predict(
    result: RegressionResult,
    newdata: pd.DataFrame | None = None,
    *,
    type: str = "response",
    se: bool = True,
) -> pd.DataFrame:
    """Predictions of the model (R's ``predict.svyglm``).

    Parameters
    ----------
    result : RegressionResult
    newdata : DataFrame, optional
        Rows to predict (default: the rows of the fit).
    type : {"response", "link"}
    se : bool
        Add the SE (delta method with the design-based covariance).

    Returns
    -------
    DataFrame
        ``estimate`` (and ``se``), on the index of the rows.

    Notes
    -----
    :math:`\\hat\\eta = x^T\\hat\\beta`, :math:`\\mathrm{SE}(\\hat\\eta) =
    \\sqrt{x^T \\hat V x}`; response :math:`\\hat\\mu = g^{-1}(\\hat\\eta)` with
    :math:`\\mathrm{SE} = \\mu'(\\hat\\eta)\\,\\mathrm{SE}(\\hat\\eta)`.
    """
    if type not in ("response", "link"):
        raise ValidationError(f"type={type!r} is not known. Use 'response' or 'link'.")
    model = result.model
    if newdata is None:
        frame = result.design.data.iloc[model.rows]
    elif isinstance(newdata, pd.DataFrame):
        frame = newdata
        missing = [v for v in model.variables if v not in frame.columns]
        if missing:
            hint = closest_name(missing[0], [str(c) for c in frame.columns])
            raise ValidationError(
                f"newdata has no column {missing[0]!r}" + (f" (did you mean {hint!r}?)" if hint
                else "") + f"; the model uses {', '.join(model.variables)}."
            )
    else:
        raise ValidationError(f"newdata must be a pandas DataFrame; found {type(newdata).__name__}.")
    mm = model.matrix(frame)[:, result.kept]
    beta = result.coef[result.kept]
    eta = mm @ beta
    link = result.family.link
    est = eta if type == "link" else link.linkinv(eta)
    out = {"estimate": est}
    if se:
        var = np.einsum("ij,jk,ik->i", mm, result.vcov_kept, mm)
        if type == "response":
            var = link.mu_eta(eta) ** 2 * var
        out["se"] = np.sqrt(np.maximum(var, 0.0))
    return pd.DataFrame(out, index=frame.index)


def _levels(result: RegressionResult, column: str) -> list[Any]:
    model = result.model
    frame = result.design.data
    if column in model.categorical:
        return list(model.categorical[column]["levels"])
    col = frame[column].iloc[model.rows]
    if isinstance(col.dtype, pd.CategoricalDtype):
        return [c for c in col.cat.categories if (col == c).any()]
    return sorted(pd.unique(col.dropna()).tolist())


def _display(result: RegressionResult, column: str, level: Any) -> Any:
    """A level as shown in a table: its value label, or the code (an integer when whole)."""
    labels = result.model.categorical.get(column, {}).get("labels", {})
    for code, text in labels.items():
        if code == level:
            return str(text)
    if isinstance(level, float) and level.is_integer():
        return int(level)
    return level


def _counterfactual(result: RegressionResult, column: str, levels: list[Any]):
    """Predictions (m, L) with ``column`` set to each level for every row, and the
    derivatives (k, L) of their weighted means with respect to the coefficients."""
    model = result.model
    frame = result.design.data.iloc[model.rows]
    w = result.design.weights.to_numpy(dtype=np.float64)[model.rows]
    beta = result.coef[result.kept]
    link = result.family.link
    fits = np.empty((model.rows.size, len(levels)))
    grad = np.empty((beta.size, len(levels)))
    base = frame[list(model.variables)]
    for j, level in enumerate(levels):  # one model matrix per level of the group column
        cf = base.copy()
        cf[column] = level  # the model spec encodes it with the fit's levels
        mm = model.matrix(cf)[:, result.kept]
        eta = mm @ beta
        fits[:, j] = link.linkinv(eta)
        grad[:, j] = (w * link.mu_eta(eta)) @ mm / w.sum()
    return fits, grad


def _design_mean_cov(result: RegressionResult, values: np.ndarray):
    """Weighted means (L,) of the columns of ``values`` (m, L) over the rows of the fit,
    their design covariance (L, L) and the design df."""
    design = result.design
    model = result.model
    n = model.n
    L = values.shape[1]
    domains = np.full(n, -1, dtype=np.int64)
    domains[model.rows] = 0
    ys = []
    for j in range(L):  # one array per level
        col = np.zeros(n)
        col[model.rows] = values[:, j]
        ys.append(col)
    cells = design.domain_cells(domains, 1)
    totals = design.domain_totals(ys, [None] * L, cells)
    est = totals.estimates()
    dfs, active = design.domain_df(totals)
    _, covariance = design.variance(totals, est, active.reshape(design.structure.n_strata, L))
    return est.reshape(L), covariance(), float(dfs[0, 0])


def _table(result, column, levels, est, cov, df, level, statistic, variable) -> EstimateTable:
    lv = result.level if level is None else check_level(level)
    se = np.sqrt(np.maximum(np.diag(cov), 0.0))
    L = est.size
    dfs = np.full(L, df)
    lo, hi = cimethods.wald(est, se, dfs, lv)
    with np.errstate(divide="ignore", invalid="ignore"):
        cv = se / np.abs(est)
    frame = pd.DataFrame({
        column: levels, "variable": [variable] * L, "estimate": est, "se": se,
        "ci_lower": lo, "ci_upper": hi, "level": np.full(L, lv), "ci_method": ["wald"] * L,
        "df": dfs, "deff": np.full(L, np.nan), "deff_wr": np.full(L, np.nan), "cv": cv,
        "n_unweighted": np.full(L, result.n), "n_weighted": np.full(L, result.n_weighted),
        "n_effective": np.full(L, np.nan), "flags": [""] * L,
    })  # fmt: skip
    return EstimateTable(
        _frame=frame, statistic=statistic, by=(column,), ci_method="wald", level=lv,
        df_rule="design", lonely_psu=result.design.structure.lonely_psu, scale=1.0,
        _p=est, _se=se, _df=dfs, _n=np.full(L, float(result.n)),
        _covariance=lambda: cov.copy(), diagnostics=result.diagnostics,
    )  # fmt: skip


def _with_column(result: RegressionResult, column: str) -> RegressionResult:
    """The model itself when it uses ``column``, else the model refitted with it added
    (R's ``svypredmeans``: ``update(model, . ~ . + group)``)."""
    if column in result.model.variables:
        return result
    frame = result.design.data
    if column not in frame.columns:
        hint = closest_name(column, [str(c) for c in frame.columns])
        raise ValidationError(
            f"column {column!r} is not in the data" + (f"; did you mean {hint!r}?" if hint
            else ".")
        )
    from flestimate.estimation.regression.fit import glm

    opts = result.options
    labels = opts.get("value_labels") or {}
    numeric = pd.api.types.is_numeric_dtype(frame[column].dtype)
    term = f"C({column})" if numeric and column not in labels else column
    lhs, rhs = result.formula.split("~", 1)
    return glm(
        result.design, f"{lhs.strip()} ~ {rhs.strip()} + {term}", family=result.family,
        na_rm=opts.get("na_rm", False), maxiter=opts.get("maxiter", 100),
        tol=opts.get("tol", 1e-10), value_labels=labels or None, level=result.level,
    )  # fmt: skip


def predictive_margins(design: Any, result: RegressionResult, by: str, *,
                       level: float | None = None) -> EstimateTable:
    """Predictive margins of the groups of ``by`` (R's ``svypredmeans``):
    ``design.predictive_margins(result, by)``, the same as ``result.margins(by)``.

    Parameters
    ----------
    design : SurveyDesign or ReplicateDesign
        The design the model was fitted on.
    result : RegressionResult
    by : str
        A column; when the model does not use it, the model is refitted with it
        added as a categorical term (R's ``svypredmeans``); when it does, its
        fitted coefficients are used (Stata's ``margins``).
    level : float, optional

    Returns
    -------
    EstimateTable
        One row per group: the weighted mean of the predictions with ``by`` set to
        the group, its SE (design part plus coefficient part) and a Wald interval on
        the design df of the rows of the fit.

    Notes
    -----
    :math:`\\hat m_g = \\sum_i w_i g^{-1}(x_i(g)^T\\hat\\beta) / \\sum_i w_i`;
    :math:`\\hat V(\\hat m) = \\hat V_{design}(\\hat m \\mid \\hat\\beta) + D^T
    \\hat V(\\hat\\beta) D`, :math:`D_{\\cdot g} = \\sum_i w_i
    \\mu'(\\eta_i(g)) x_i(g)/\\sum_i w_i`.

    References
    ----------
    Graubard, B. I. and Korn, E. L. (1999). Predictive margins with survey data.
    Biometrics 55, 652-659.
    Lumley, T. survey R package, ``svypredmeans``.
    """
    if result.design is not design:
        raise ValidationError(
            "the model was fitted on another design; call result.margins(by) or pass the "
            "design the model was fitted on."
        )
    return margins(result, by, level=level)


def margins(result: RegressionResult, by: str, *, level: float | None = None) -> EstimateTable:
    """Predictive margins of the groups of ``by`` (:func:`predictive_margins`)."""
    if not isinstance(by, str):
        raise ValidationError(f"by={by!r} must be one column name.")
    fitted = _with_column(result, by)
    levels = _levels(fitted, by)
    fits, grad = _counterfactual(fitted, by, levels)
    est, cov, df = _design_mean_cov(fitted, fits)
    cov = cov + grad.T @ fitted.vcov_kept @ grad
    shown = [_display(fitted, by, v) for v in levels]
    return _table(fitted, by, shown, est, cov, df, level, "predictive margin",
                  fitted.model.response)


def marginal_effects(result: RegressionResult, term: str, *, level: float | None = None
                     ) -> EstimateTable:
    """Average marginal effects of a binary or categorical column of the model: the
    predictive margin of each level minus that of the reference (first) level
    (Stata's ``margins, dydx()`` for a factor variable).

    Returns
    -------
    EstimateTable
        One row per non-reference level, with design-based SEs (the covariance of
        the margins, contrasted).
    """
    if term not in result.model.variables:
        hint = closest_name(term, result.model.variables)
        raise ValidationError(
            f"{term!r} is not a column of the model" + (f" (did you mean {hint!r}?)" if hint
            else "") + f"; its columns are {', '.join(result.model.variables)}."
        )
    levels = _levels(result, term)
    if len(levels) < 2:
        raise EstimationError(f"column {term!r} has one level among the rows of the fit.")
    frame = result.design.data
    col = frame[term]
    is_cat = term in result.model.categorical or not pd.api.types.is_numeric_dtype(col.dtype) \
        or isinstance(col.dtype, pd.CategoricalDtype)
    if not is_cat and set(levels) - {0, 1}:
        raise EstimationError(
            f"column {term!r} is numeric with values other than 0/1; average marginal effects "
            "are given for binary and categorical columns. Use C(column) in the formula."
        )
    fits, grad = _counterfactual(result, term, levels)
    L = len(levels)
    A = np.zeros((L, L - 1))
    A[0, :] = -1.0
    A[np.arange(1, L), np.arange(L - 1)] = 1.0
    means, cov, df = _design_mean_cov(result, fits)
    est = means @ A
    cov_c = A.T @ cov @ A
    g = grad @ A
    cov_c = cov_c + g.T @ result.vcov_kept @ g
    ref = _display(result, term, levels[0])
    names = [f"{_display(result, term, lv)} vs {ref}" for lv in levels[1:]]
    return _table(result, term, names, est, cov_c, df, level, "average marginal effect",
                  result.model.response)
