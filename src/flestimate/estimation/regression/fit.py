"""``design.glm``: a generalised linear model fitted to survey data, with design-based
standard errors (R's ``svyglm``).

The point estimates solve the weighted score equations by IRLS
(:mod:`~flestimate.estimation.regression.irls`). The variance is the design-based
sandwich, through the design's declared interface only
(:class:`~flestimate.design.interface.VarianceEngine`):

- Taylor designs: the unit scores :math:`u_i = w_i x_i (y_i - \\mu_i)\\mu'_i/V(\\mu_i)`
  are totalled by PSU in the one pass of ``design.domain_totals`` (calibration
  residualisers included) and their covariance comes from ``design.variance``;
  :math:`\\hat V(\\hat\\beta) = A^{-1} \\hat V(\\sum u) A^{-1}` with
  :math:`A = X^T \\mathrm{diag}(w \\mu'^2/V) X`.
- replicate designs: the model is refitted with each replicate's weights, warm
  started at the full-sample estimates (``design.replicate_covariance``).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from threadpoolctl import threadpool_limits

from flestimate.errors import Diagnostic, EstimationError, ModelWarning, first_values
from flestimate.estimation.regression.family import Family, get_family
from flestimate.estimation.regression.formula import ModelFrame, build_model, term_labels
from flestimate.estimation.regression.irls import (
    Patterns,
    crossprod,
    independent_columns,
    irls,
    row_patterns,
    sparse_pair,
)
from flestimate.estimation.regression.result import RegressionResult
from flestimate.estimation.table import check_level

if TYPE_CHECKING:
    from flestimate.design.interface import VarianceEngine

__all__ = ["glm"]


def _check_outcome(y: np.ndarray, family: Family, name: str, index) -> None:
    if family.outcome == "proportion":
        bad = (y < 0) | (y > 1)
        what = "a 0/1 outcome or a proportion in [0, 1]"
    elif family.outcome == "count":
        bad = y < 0
        what = "a count (>= 0)"
    else:
        bad = ~np.isfinite(y)
        what = "finite values"
    if bad.any():
        raise EstimationError(
            f"family {family.name!r} needs {what}; the outcome {name!r} has "
            f"{int(bad.sum())} other values ({first_values(np.unique(y[bad])[:5])}; rows "
            f"{first_values(index[np.flatnonzero(bad)][:5])}). Recode the outcome, or "
            "choose another family."
        )


def _positive_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise EstimationError(f"{name}={value!r} must be a positive integer.")
    return int(value)


def _separated(model: ModelFrame, column, kept: np.ndarray, beta: np.ndarray, mu: np.ndarray,
               w: np.ndarray, family: Family) -> list[int]:
    """Columns (positions in the model) behind perfect or quasi-complete separation:
    0/1 columns whose rows with a 1 all have y = 0 or all y = 1, and, when fitted
    probabilities reach 0 or 1, columns with a coefficient of more than 10 on the
    scale of one standard deviation."""
    if family.outcome != "proportion":
        return []
    cols = np.flatnonzero(kept)
    pos = (w > 0).astype(np.float64)
    out = set()
    for col in cols:  # a loop over the (few) columns of the model
        x = column(col)
        lo, hi = x.min(), x.max()
        if lo == 0 and hi == 1 and bool(((x == 0) | (x == 1)).all()):
            ones = pos @ x
            ysum = (pos * model.y) @ x
            if ones > 0 and (ysum == 0 or ysum == ones):
                out.add(int(col))
    extreme = ((mu < 1e-8) | (mu > 1 - 1e-8)) & (pos > 0)
    if extreme.any():
        keep = pos > 0
        for j, col in enumerate(cols):  # a loop over the columns
            sd = column(col)[keep].std()
            if sd > 0 and abs(beta[j]) * sd > 10:
                out.add(int(col))
    return sorted(out)


def glm(
    design: VarianceEngine,
    formula: str,
    *,
    family: str = "gaussian",
    link: str | None = None,
    na_rm: bool = False,
    start: Any = None,
    maxiter: int = 100,
    tol: float = 1e-10,
    value_labels: Mapping[str, Mapping[Any, str]] | None = None,
    level: float = 0.95,
) -> RegressionResult:
    r"""Design-based generalised linear model (R's ``svyglm``).

    Parameters
    ----------
    design : SurveyDesign or ReplicateDesign
        The design (calibrated and post-stratified designs included); the design's
        method ``design.glm(...)`` passes itself here.
    formula : str
        Wilkinson formula ``"outcome ~ term + term"`` read by formulaic: text and
        categorical columns (and numeric columns given in ``value_labels``) become
        treatment contrasts with the first level as reference; ``C(col)`` makes a
        numeric column categorical; ``a:b`` and ``a*b`` give interactions.
    family : {"gaussian", "binomial", "quasibinomial", "poisson", "quasipoisson"}
        The point estimates and SEs do not depend on "quasi" (as R's svyglm); a
        binomial outcome is 0/1 or a proportion.
    link : {"identity", "log", "logit", "probit", "cloglog"}, optional
        Default: the family's canonical link.
    na_rm : bool, default False
        Leave out rows with a missing value in a column of the model (they stay in
        the design: their PSUs count in the variance, and the df is the subset's);
        when False a missing value is an error.
    start : sequence of float, optional
        Starting coefficients (one per column of the model matrix).
    maxiter : int, default 100
        Most IRLS iterations.
    tol : float, default 1e-10
        Convergence when the relative change of the deviance is below ``tol``
        (R's rule; R's default is 1e-8).
    value_labels : mapping, optional
        ``{column: {code: label}}``: these columns are categorical and their
        coefficients are labelled ``"column: label"`` (e.g. the value labels of a
        :class:`~flestimate.io.SurveyData`).
    level : float, default 0.95
        Confidence level of the intervals of :meth:`RegressionResult.table`.

    Returns
    -------
    RegressionResult

    Notes
    -----
    :math:`\hat\beta` solves :math:`\sum_i w_i x_i (y_i - \mu_i)\mu'_i/V(\mu_i) = 0`.
    Taylor variance :math:`A^{-1}\hat V(\sum_i u_i)A^{-1}` with the unit scores
    :math:`u_i` totalled by PSU (stratified, with fpc, later stages and calibration
    as every estimator); replicate variance :math:`c\sum_r c_r(\hat\beta_r -
    \tilde\beta)(\hat\beta_r - \tilde\beta)^T` of the refitted replicates. Residual
    df :math:`d - p + 1` with :math:`d` the design's (R's ``degf``); t statistics on
    that df.

    References
    ----------
    Binder, D. A. (1983). On the variances of asymptotically normal estimators from
    complex surveys. International Statistical Review 51, 279-292.
    Lumley, T. and Scott, A. (2017). Fitting regression models to survey data.
    Statistical Science 32, 265-278.
    Lumley, T. survey R package, ``svyglm``.
    """
    fam = get_family(family, link)
    maxiter = _positive_int(maxiter, "maxiter")
    if not (isinstance(tol, (int, float)) and 0 < tol < 1):
        raise EstimationError(f"tol={tol!r} must be a number between 0 and 1, e.g. 1e-10.")
    lv = check_level(level)
    frame = design.data
    model = build_model(frame, formula, na_rm=bool(na_rm), value_labels=value_labels)
    _check_outcome(model.y, fam, model.response, frame.index[model.rows])
    w_raw = design.weights.to_numpy(dtype=np.float64)[model.rows]
    scale = float(w_raw[w_raw > 0].mean()) if (w_raw > 0).any() else 1.0
    w = w_raw / scale  # mean 1, as R's svyglm (deviances on R's scale)
    diagnostics: list[Diagnostic] = []
    # IRLS makes many small BLAS calls (p x p cross-products in blocks of rows): one BLAS
    # thread each; threads that wait for a busy core make them ten to a hundred times
    # slower on a shared machine (measured: 10k rows x 36 columns, 12.8 s -> 0.43 s)
    with threadpool_limits(limits=1, user_api="blas"):
        return _fit(
            design, formula, fam, model, w, scale, start=start, maxiter=maxiter, tol=tol,
            level=lv, diagnostics=diagnostics, options={
                "na_rm": bool(na_rm), "maxiter": maxiter, "tol": tol,
                "value_labels": value_labels,
            },
        )  # fmt: skip


def _fit(design, formula, fam, model, w, scale, *, start, maxiter, tol, level, diagnostics,
         options) -> RegressionResult:
    p = len(model.names)
    # categorical predictors: few distinct rows, on which the fit and the scores are made
    # (the dense model matrix is never formed); otherwise the sparse matrix, or dense
    found = row_patterns(model.X_sparse) if model.X_sparse is not None else None
    pair = sparse_pair(model.X_sparse) if found is None else None
    G0, _ = crossprod(None if found is not None else model.X, w,
                      sparse=Patterns(*found) if found is not None else pair)
    kept = independent_columns(G0)
    if not kept.all():
        dropped = [model.names[j] for j in np.flatnonzero(~kept)]
        msg = (
            f"columns {first_values(dropped)} of the model are linear combinations of earlier "
            "columns (collinear) and were left out: their coefficients are NaN (as R's NA). "
            "Remove the redundant terms from the formula."
        )
        _warn(diagnostics, "collinear", msg)
    if found is not None:  # the rows equal on every column are equal on the kept ones
        X = None
        Xs = Patterns(found[0], found[1] if kept.all() else found[1][:, kept])
        codes, full_patterns = found

        def column(j: int) -> np.ndarray:
            return full_patterns[:, j][codes]
    else:
        X = model.X if kept.all() else np.asfortranarray(model.X[:, kept])
        Xs = pair
        if pair is not None and not kept.all():
            Xs = sparse_pair(model.X_sparse[:, np.flatnonzero(kept)])

        def column(j: int) -> np.ndarray:
            return model.X[:, j]
    start_k = None
    if start is not None:
        s = np.asarray(start, dtype=np.float64).reshape(-1)
        if s.shape != (p,):
            raise EstimationError(
                f"start has {s.size} values; the model has {p} columns "
                f"({first_values(model.names)})."
            )
        start_k = s[kept]
    fit = irls(X, model.y, w, fam, start=start_k, maxiter=maxiter, tol=tol, sparse=Xs)
    if not np.all(np.isfinite(fit.beta)):
        raise EstimationError(
            f"the fit of {formula!r} gave non-finite coefficients after {fit.iterations} "
            "iterations. Check the outcome and predictors (separation, extreme values)."
        )
    if not fit.converged:
        msg = (
            f"the fit of {formula!r} did not converge in {fit.iterations} iterations "
            f"(maxiter={maxiter}, tol={tol:g}); the estimates are flagged. Raise maxiter, "
            "or look for separation or collinearity."
        )
        _warn(diagnostics, "not_converged", msg)
    separated = _separated(model, column, kept, fit.beta, fit.mu, w, fam)
    if separated:
        names = [model.names[j] for j in separated]
        msg = (
            f"perfect or quasi-complete separation: the outcome is (almost) constant within "
            f"{first_values(names)}; their coefficients and SEs are not reliable (flag "
            "'separation'). Merge sparse categories or drop the term."
        )
        _warn(diagnostics, "separation", msg)

    vcov, degf = _design_covariance(design, model, X, Xs, fam, fit, scale, maxiter, tol)
    # R's deff: design variance over the variance of a glm on the weights rescaled to mean 1
    info_naive = fit.info_inv
    dispersion = 1.0
    if not fam.fixed_dispersion:
        pos = w > 0
        resid2 = w * fit.working * ((model.y - fit.mu) / fam.link.mu_eta(fit.eta)) ** 2
        dispersion = float(resid2[pos].sum() / max(int(pos.sum()) - int(kept.sum()), 1))
    deff = np.full(p, np.nan)
    deff[kept] = np.diag(vcov) / (dispersion * np.diag(info_naive))
    beta = np.full(p, np.nan)
    beta[kept] = fit.beta
    return RegressionResult(
        formula=str(formula), family=fam, design=design, model=model,
        names=model.names, labels=term_labels(model), kept=kept, coef=beta,
        vcov_kept=vcov, naive_cov=info_naive, weight_scale=scale, degf=float(degf),
        deff=deff, n=int(model.rows.size), n_weighted=float(w.sum() * scale),
        converged=bool(fit.converged), iterations=int(fit.iterations),
        deviance=float(fit.deviance), level=level, flagged=tuple(separated),
        diagnostics=tuple(diagnostics), options=options,
    )  # fmt: skip


def _warn(diagnostics: list, code: str, msg: str) -> None:
    """Warn the caller of :func:`glm` (``design.glm``) and keep the warning with the fit."""
    warnings.warn(msg, ModelWarning, stacklevel=4)
    diagnostics.append(Diagnostic(code, msg))


def _design_covariance(design, model, X, Xs, fam, fit, scale, maxiter, tol):
    """The design covariance of the coefficients and the design df of the rows used."""
    n = model.n
    link = fam.link
    # R's estfun: working residuals at the final fit times the last working weights
    r = (model.y - fit.mu) / link.mu_eta(fit.eta) * fit.working
    k = fit.beta.size
    domains = np.full(n, -1, dtype=np.int64)
    domains[model.rows] = 0
    full = model.rows.size == n
    ys = _ScoreColumns(X if X is not None else Xs, r, None if full else model.rows, n)
    cells = design.domain_cells(domains, 1)
    replicate = design.replicate_covariance(
        _refit(model, X, Xs, fam, fit.beta, full, maxiter, tol), fit.beta
    )
    H = design.structure.n_strata
    if replicate is not None:
        totals = design.domain_totals(ys[:1], None, cells)
        dfs, _ = design.domain_df(totals)
        return replicate, dfs[0, 0]
    totals = design.domain_totals(ys, None, cells)
    dfs, active = design.domain_df(totals)
    _, covariance = design.variance(totals, totals.estimates(), active.reshape(H, k))
    A_inv = fit.info_inv / scale  # the information with the design's own weights
    V = covariance()
    vcov = A_inv @ V @ A_inv
    return (vcov + vcov.T) / 2.0, dfs[0, 0]


class _ScoreColumns(Sequence):
    """The unit scores without the weight, ``x_j * r`` for column j, made when the one pass
    of ``design.domain_totals`` reads them (never all k at once: memory); the column from
    the dense matrix or from the distinct rows (:class:`Patterns`)."""

    def __init__(self, X, r: np.ndarray, rows: np.ndarray | None, n: int) -> None:
        self.X, self.r, self.rows, self.n = X, r, rows, n

    def __len__(self) -> int:
        return (self.X.patterns if isinstance(self.X, Patterns) else self.X).shape[1]

    def __getitem__(self, j):
        if isinstance(j, slice):
            return [self[i] for i in range(*j.indices(len(self)))]
        if isinstance(self.X, Patterns):
            values = self.X.patterns[:, j][self.X.codes] * self.r
        else:
            values = self.X[:, j] * self.r
        if self.rows is None:
            return values
        out = np.zeros(self.n)
        out[self.rows] = values
        return out


def _refit(model, X, Xs, fam, beta, full, maxiter, tol):
    """The statistic of a replicate: the coefficients refitted with its weights, from
    the full-sample estimates (R's svyglm on a replicate design)."""

    def statistic(weights: np.ndarray) -> np.ndarray:
        wr = weights if full else weights[model.rows]
        total = wr.sum()
        wr = wr / total if total > 0 else wr  # sum 1, as R (the same stopping rule)
        return irls(X, model.y, wr, fam, start=beta, maxiter=maxiter, tol=tol, sparse=Xs).beta

    return statistic
