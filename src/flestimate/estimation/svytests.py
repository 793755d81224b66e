"""Design-based tests: association in a two-way table (R's ``svychisq``) and the
t-test of a mean or of a difference of two group means (R's ``svyttest``).

Both are written once against the design interface
(:class:`~flestimate.design.interface.VarianceEngine`): the cell proportions or
totals and their full covariance come from the estimators' one pass over the data
(:func:`~flestimate.estimation.estimators.mean`), so they hold for Taylor and
replicate designs alike; the rest is arithmetic on a (cells x cells) matrix.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import stats

from flestimate.errors import EstimationError, ValidationError
from flestimate.estimation.columns import column
from flestimate.estimation.domains import encode_domains
from flestimate.estimation.estimators import _estimate, mean
from flestimate.estimation.labels import labelled_index
from flestimate.estimation.table import check_level
from flestimate.estimation.testresult import SurveyTestResult

if TYPE_CHECKING:  # pragma: no cover
    from flestimate.design.interface import VarianceEngine

__all__ = ["CHISQ_STATISTICS", "chisq", "ttest"]

#: The statistics of :func:`chisq` (R's ``svychisq(statistic=)``).
CHISQ_STATISTICS = ("F", "Chisq", "Wald", "adjWald")


def _levels(design: VarianceEngine, name: str) -> tuple[np.ndarray, pd.Index]:
    """Codes (-1: missing) and observed levels of a column (R's ``factor(unique(x))``)."""
    column(design.data, name)  # a clear error for an unknown column
    dom = encode_domains(design.data, name)
    codes = dom.codes
    used = np.bincount(codes[codes >= 0], minlength=dom.n_domains) > 0
    remap = np.full(dom.n_domains, -1, dtype=np.int64)
    remap[used] = np.arange(int(used.sum()))
    out = np.where(codes >= 0, remap[np.maximum(codes, 0)], -1)
    return out, pd.Index(dom.keys[name].to_numpy()[used], name=name)


def _cell_totals(design, cell: np.ndarray, n_cells: int) -> tuple[np.ndarray, np.ndarray]:
    """Estimated totals of the cells of a two-way table and their covariance.

    The cells are taken as the domains of the total of 1 (one pass over the data:
    the PSU x cell weight sums), through the design interface. They partition the
    valid rows, so the row, column and grand totals and the cell proportions are
    linear (or, for the proportions, linearised) functions of them.
    """
    cells = design.domain_cells(cell, n_cells)
    totals = design.domain_totals([np.ones(cell.size, dtype=np.uint8)], None, cells, binary=True)
    est = totals.estimates()  # (K, 1)
    _, active = design.domain_df(totals)
    _, covariance = design.variance(totals, est, active.reshape(active.shape[0], -1))
    return est[:, 0].astype(float), covariance()


def _cell_proportions_covariance(design, cell, n_cells: int, valid) -> np.ndarray:
    """Covariance of the cell proportions as means of the cell indicators over the
    valid rows (one variable per cell)."""
    table = _estimate(
        design, "mean", [(cell == k).view(np.uint8) for k in range(n_cells)],
        [None] * n_cells, [valid] * n_cells, [(f"cell{k}", None) for k in range(n_cells)],
        by=None, level=0.95, df="design", ci_method="wald", scale=1.0, binary=True,
        has_category=False,
    )  # fmt: skip
    return table.vcov().to_numpy()


def chisq(
    design: VarianceEngine,
    row: str,
    col: str,
    *,
    statistic: str = "F",
) -> SurveyTestResult:
    r"""Test of association between two categorical variables (R's ``svychisq``).

    Parameters
    ----------
    design : SurveyDesign or ReplicateDesign
        The design; ``design.chisq(...)`` passes itself here.
    row, col : str
        The two categorical columns (at least two observed values each); rows with
        a missing value in either are left out (R's ``na.rm=TRUE``).
    statistic : {"F", "Chisq", "Wald", "adjWald"}, default "F"
        ``"F"``: Pearson's :math:`X^2` with the Rao-Scott second-order correction as
        an F statistic (R's default); ``"Chisq"``: first-order (mean eigenvalue)
        correction on the chi-square scale; ``"Wald"``: Wald test of the
        interaction (Koch et al.) as an F on (r-1)(c-1) and :math:`\nu` df;
        ``"adjWald"``: the same adjusted by :math:`(\nu - k + 1)/(k \nu)`.

    Returns
    -------
    SurveyTestResult
        ``statistic``, ``df`` (``(ndf, ddf)`` of an F, ``(df,)`` of Chisq),
        ``p_value``, ``method``, and ``table``: the estimated cell proportions.

    Raises
    ------
    EstimationError
        A variable with fewer than two observed values, or a row or column of the
        table with no weight.

    Notes
    -----
    With :math:`\hat p` the cell proportions (rows fastest), :math:`\hat V` their
    design covariance, :math:`N` the number of rows of the data and :math:`C` the
    interaction contrasts orthogonalised against the main effects,
    :math:`\Delta = (C^T D^{-1} C / N)^{-1} C^T D^{-1} \hat V D^{-1} C` with
    :math:`D = \mathrm{diag}(\hat p)`. F: :math:`X^2/\mathrm{tr}\,\Delta` on
    :math:`d_0 = (\mathrm{tr}\,\Delta)^2/\mathrm{tr}\,\Delta^2` and :math:`d_0 \nu`
    df, :math:`\nu` the design's degrees of freedom. Chisq:
    :math:`X^2/\bar\delta \sim \chi^2_{(r-1)(c-1)}`. On a Taylor design
    :math:`\hat V` is the linearised transform of the cell totals' covariance (one
    pass over the data); on a replicate design the proportions are re-estimated in
    every replicate, as R's ``svychisq`` on a ``svrepdesign``.

    References
    ----------
    Rao, J. N. K. and Scott, A. J. (1984). On chi-squared tests for multiway
    contingency tables with cell proportions estimated from survey data. Annals of
    Statistics 12, 46-60.
    Lumley, T. survey R package, ``svychisq``.
    """
    if statistic not in CHISQ_STATISTICS:
        raise ValidationError(
            f"statistic={statistic!r} is not known. Use one of {list(CHISQ_STATISTICS)}."
        )
    if row == col:
        raise ValidationError(f"chisq needs two different columns; both are {row!r}.")
    rcode, rlev = _levels(design, row)
    ccode, clev = _levels(design, col)
    nr, nc = len(rlev), len(clev)
    for name, lev in ((row, rlev), (col, clev)):
        if len(lev) < 2:
            raise EstimationError(
                f"chisq: {name!r} has {len(lev)} observed value(s) ({list(lev)[:3]}); a test "
                "of association needs at least two. Choose another variable or domain."
            )
    valid = (rcode >= 0) & (ccode >= 0)
    cell = np.where(valid, rcode + nr * ccode, -1)
    K = nr * nc
    N = len(cell)
    nu = float(design.degf)
    data = f"{row} by {col}"
    T, VT = _cell_totals(design, cell, K)
    total = T.sum()
    p = T / total
    if design.linear_variance:
        # the proportions' covariance by linearisation (R's svymean of the cell indicators)
        J = (np.eye(K) - p[:, None]) / total
        V = J @ VT @ J.T
    else:  # replicate designs: the proportions re-estimated in every replicate, as R
        V = _cell_proportions_covariance(design, cell, K, valid)
    obs = p * N
    table_obs = obs.reshape(nc, nr).T  # rows x cols
    rs, cs = table_obs.sum(axis=1), table_obs.sum(axis=0)
    if (rs <= 0).any() or (cs <= 0).any():
        empty = [str(v) for v in rlev[rs <= 0]] + [str(v) for v in clev[cs <= 0]]
        raise EstimationError(
            f"chisq: the {data} table has rows or columns with no weight ({empty}); the "
            "test is not defined. Drop those categories or merge them with others."
        )
    E = np.outer(rs, cs) / table_obs.sum()
    x2 = float(((table_obs - E) ** 2 / E).sum())
    labels = design.value_labels
    shown = pd.DataFrame(table_obs / N, index=labelled_index(rlev, labels.get(row)),
                         columns=labelled_index(clev, labels.get(col)))
    r_of = np.tile(np.arange(nr), nc)
    c_of = np.repeat(np.arange(nc), nr)
    if statistic in ("Wald", "adjWald"):
        # cells, row totals, column totals and the grand total (R's svytotal of them)
        A = np.vstack([np.eye(K), r_of == np.arange(nr)[:, None],
                       c_of == np.arange(nc)[:, None], np.ones((1, K))])  # fmt: skip
        t, Vt = A @ T, A @ VT @ A.T
        rt, ct, tot = t[K : K + nr], t[K + nr : K + nr + nc], t[-1]
        J = np.hstack([
            np.eye(K),
            -(r_of[:, None] == np.arange(nr)).astype(float) * (ct[c_of] / tot)[:, None],
            -(c_of[:, None] == np.arange(nc)).astype(float) * (rt[r_of] / tot)[:, None],
            (rt[r_of] * ct[c_of] / tot**2)[:, None],
        ])  # fmt: skip
        Y = t[:K] - rt[r_of] * ct[c_of] / tot
        Vy = J @ Vt @ J.T
        use = np.flatnonzero((r_of > 0) & (c_of > 0))
        w = float(Y[use] @ np.linalg.solve(Vy[np.ix_(use, use)], Y[use]))
        k = (nr - 1) * (nc - 1)
        if statistic == "Wald":
            value, ddf = w / k, nu
        else:
            ddf = nu - k + 1
            value = w * ddf / (k * nu)
        return SurveyTestResult(
            method="Design-based Wald test of association" + (" (adjusted)" if statistic ==
                                                              "adjWald" else ""),
            statistic_name="F", statistic=value, df=(float(k), float(ddf)),
            p_value=float(stats.f.sf(value, k, ddf)), data=data, table=shown,
        )  # fmt: skip
    # Rao-Scott: the interaction columns of the saturated model, residualised on the main effects
    X1 = np.column_stack([np.ones(K)] + [r_of == r for r in range(1, nr)]
                         + [c_of == c for c in range(1, nc)]).astype(float)  # fmt: skip
    X12 = np.column_stack([(r_of == r) & (c_of == c) for c in range(1, nc)
                           for r in range(1, nr)]).astype(float)  # fmt: skip
    Q, _ = np.linalg.qr(X1)
    C = X12 - Q @ (Q.T @ X12)
    with np.errstate(divide="ignore"):
        inv = np.where(p == 0, 0.0, 1.0 / p)
    CiD = C.T * inv  # C' D^-1
    denom = CiD @ C / N
    numr = CiD @ V @ CiD.T
    delta = np.linalg.solve(denom, numr)
    tr = float(np.trace(delta))
    d0 = tr**2 / float(np.trace(delta @ delta))
    if statistic == "F":
        value = x2 / tr
        return SurveyTestResult(
            method="Pearson's X^2: Rao & Scott adjustment", statistic_name="F",
            statistic=value, df=(d0, d0 * nu),
            p_value=float(stats.f.sf(value, d0, d0 * nu)), data=data, table=shown,
        )  # fmt: skip
    k = delta.shape[1]
    return SurveyTestResult(
        method="Pearson's X^2: Rao & Scott adjustment (first order)",
        statistic_name="X-squared", statistic=x2, df=(float(k),),
        p_value=float(stats.chi2.sf(x2 / (tr / k), k)), data=data, table=shown,
    )  # fmt: skip


def ttest(
    design: VarianceEngine,
    y: str,
    group: str | None = None,
    *,
    level: float = 0.95,
    na_rm: bool = False,
) -> SurveyTestResult:
    r"""Design-based t-test (R's ``svyttest``): of a difference of two group means, or
    of a mean against zero.

    Parameters
    ----------
    design : SurveyDesign or ReplicateDesign
        The design; ``design.ttest(...)`` passes itself here.
    y : str
        The numeric variable.
    group : str, optional
        A column with exactly two observed values; the estimate is the mean of the
        second (in sorted order) minus the mean of the first, as R's
        ``svyttest(y ~ group)``. None: a one-sample test that the mean of ``y`` is 0.
    level : float, default 0.95
        Confidence level of the interval of the estimate.
    na_rm : bool, default False
        Leave out the rows where ``y`` is missing.

    Returns
    -------
    SurveyTestResult
        ``statistic`` (t), ``df``, ``p_value`` (two-sided), ``estimate``,
        ``conf_int`` and ``table`` (the group means).

    Notes
    -----
    :math:`t = \hat\Delta / \mathrm{SE}(\hat\Delta)` on :math:`d - 1` degrees of
    freedom, :math:`d` the design's; the SE of the difference of the domain means
    uses their covariance (R's ``svyglm(y ~ group)``).

    References
    ----------
    Lumley, T. survey R package, ``svyttest``.
    """
    lv = check_level(level)
    df = float(design.degf) - 1.0
    if group is None:
        tab = mean(design, y, na_rm=na_rm, df="design")
        est = float(tab.to_frame()["estimate"].iloc[0])
        var = float(tab.vcov().to_numpy()[0, 0])
        method, data = "Design-based one-sample t-test", f"{y} (mean = 0)"
    else:
        codes, lev = _levels(design, group)
        if len(lev) != 2:
            raise EstimationError(
                f"ttest: group {group!r} has {len(lev)} observed values ({list(lev)[:5]}); it "
                "must have exactly two. Use contrast() on design.mean(y, by=group) for more."
            )
        tab = mean(design, y, by=group, na_rm=na_rm, df="design")
        frame = tab.to_frame()
        codes_of = frame.get(f"{group}_code", frame[group])  # labelled: codes kept beside
        idx = np.flatnonzero(codes_of.isin(lev).to_numpy())
        diff = tab.difference(int(idx[1]), int(idx[0]))
        est = float(diff.to_frame()["estimate"].iloc[0])
        var = float(diff.vcov().to_numpy()[0, 0])
        shown = labelled_index(lev, design.value_labels.get(group))
        method, data = "Design-based t-test", f"{y} by {group} ({shown[1]} - {shown[0]})"
    se = np.sqrt(var)
    t = est / se
    q = stats.t.ppf(0.5 + lv / 2, df)
    return SurveyTestResult(
        method=method, statistic_name="t", statistic=float(t), df=(df,),
        p_value=float(2 * stats.t.sf(abs(t), df)), data=data, estimate=est,
        conf_int=(float(est - q * se), float(est + q * se)), level=lv,
        table=tab.to_frame(),
    )  # fmt: skip
