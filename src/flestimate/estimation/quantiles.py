"""Quantiles with Woodruff intervals, by domains (R's ``svyquantile``, survey 4.x)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import stats

from flestimate.errors import ValidationError
from flestimate.estimation.columns import column_names, numeric_columns
from flestimate.estimation.domains import encode_domains
from flestimate.estimation.estimators import _common, _estimate
from flestimate.estimation.labels import labelled_columns
from flestimate.estimation.qrules import QRULES, Sorted, apply_qrule
from flestimate.estimation.table import EstimateTable

if TYPE_CHECKING:  # pragma: no cover
    from flestimate.design.interface import VarianceEngine

__all__ = ["QUANTILE_CI_METHODS", "quantile"]

#: Interval methods of :func:`quantile`.
QUANTILE_CI_METHODS = ("woodruff",)


def _check_q(q) -> np.ndarray:
    try:
        qs = np.atleast_1d(np.asarray(q, dtype=float)).ravel()
    except (TypeError, ValueError):
        qs = np.array([np.nan])
    if qs.size == 0 or not np.all((qs > 0) & (qs < 1)):
        raise ValidationError(
            f"q={q!r}: quantiles must be probabilities strictly between 0 and 1 (0.5 for the "
            "median, [0.25, 0.5, 0.75] for the quartiles)."
        )
    return qs


def quantile(
    design: VarianceEngine,
    y: str | Sequence[str],
    q: float | Sequence[float] = 0.5,
    *,
    by: str | Sequence[str] | None = None,
    qrule: str = "math",
    ci_method: str = "woodruff",
    level: float = 0.95,
    na_rm: bool = False,
    df: str | float = "domain",
) -> EstimateTable:
    r"""Estimated population quantiles with Woodruff confidence intervals, by domains.

    Parameters
    ----------
    design : SurveyDesign or ReplicateDesign
        The design; ``design.quantile(...)`` passes itself here.
    y : str or list of str
        Numeric columns.
    q : float or list of float, default 0.5
        Probabilities strictly between 0 and 1 (0.5: the median).
    by : str or list of str, optional
        Domain columns; all domains are done together (no loop over domains).
    qrule : str, default "math"
        R's rule: ``"math"`` (= ``"hf1"``, the inverse of the weighted distribution
        function), ``"school"`` (= ``"hf2"``), ``"shahvaish"`` or the Hyndman-Fan
        types ``"hf1"`` .. ``"hf9"`` (``"hf7"`` is the default of R's ``quantile``);
        see :mod:`flestimate.estimation.qrules`.
    ci_method : {"woodruff"}, default "woodruff"
        Woodruff's interval (R's ``interval.type="mean"``), on Taylor and replicate
        designs alike (the variance of the proportion below the quantile comes from
        the design).
    level : float, default 0.95
        Confidence level.
    na_rm : bool, default False
        Leave out the rows where the variable is missing.
    df : {"domain", "design"} or float, default "domain"
        Degrees of freedom of the t quantiles (R: the domain's ``degf``).

    Returns
    -------
    EstimateTable
        One row per domain x variable x probability, with a ``quantile`` column (the
        probability); ``estimate`` is the quantile, ``se`` R's
        :math:`(u - l)/(2 t_{1-\alpha/2,d})`. A quantile table has no covariance
        (``vcov()`` is an error).

    Raises
    ------
    ValidationError
        ``q`` outside (0, 1), an unknown ``qrule`` or ``ci_method``.

    Notes
    -----
    Woodruff (1952): with :math:`\hat q_p` the quantile and :math:`\hat F(\hat q_p)`
    the estimated proportion of the domain at or below it, the Wald interval
    :math:`\hat F \pm t_{1-\alpha/2,d}\,\mathrm{SE}(\hat F)` is mapped back through
    the same quantile rule; a bound outside [0, 1] gives NaN, as in R.

    References
    ----------
    Woodruff, R. S. (1952). Confidence intervals for medians and other position
    measures. JASA 47, 635-646.
    Hyndman, R. J. and Fan, Y. (1996). Sample quantiles in statistical packages.
    The American Statistician 50, 361-365.
    Lumley, T. survey R package (4.x), ``svyquantile``, ``oldsvyquantile``.
    """
    lv, d, _ = _common(level, df, "wald", proportion=False)
    qs = _check_q(q)
    if qrule not in QRULES:
        raise ValidationError(f"qrule={qrule!r} is not known. Use one of {list(QRULES)}.")
    if ci_method not in QUANTILE_CI_METHODS:
        raise ValidationError(
            f"ci_method={ci_method!r} is not a quantile interval. Use one of "
            f"{list(QUANTILE_CI_METHODS)}."
        )
    names = column_names(y, "y")
    ys, valid = numeric_columns(design.data, names, na_rm)
    domains = encode_domains(design.data, by)
    codes, D, nq = domains.codes, domains.n_domains, len(qs)
    w = design.weights.to_numpy(dtype=float)
    qd, qp = np.repeat(np.arange(D), nq), np.tile(qs, D)
    inside = codes >= 0
    parts = []
    for yk, vk in zip(ys, valid, strict=True):  # a loop over the variables
        yk = np.asarray(yk, dtype=float)
        ok = inside if vk is None else inside & vk
        s = Sorted.build(yk, w, np.where(ok, codes, -1), D)
        qhat = apply_qrule(s, qrule, qd, qp).reshape(D, nq)
        below = [(ok & (yk <= qhat[np.maximum(codes, 0), j])).astype(np.float64) for j in range(nq)]
        tab = _estimate(
            design, "mean", below, [None] * nq, [vk] * nq, [(f"q{j}", None) for j in range(nq)],
            by=by, level=lv, df=d, ci_method="wald", scale=1.0, binary=True, has_category=False,
        )  # fmt: skip
        f = tab.to_frame()
        lo_p, hi_p = f["ci_lower"].to_numpy(), f["ci_upper"].to_numpy()
        lo_p = np.where(lo_p < 0, np.nan, lo_p)
        hi_p = np.where(hi_p > 1, np.nan, hi_p)
        lower = apply_qrule(s, qrule, qd, lo_p)
        upper = apply_qrule(s, qrule, qd, hi_p)
        dfs = f["df"].to_numpy()
        with np.errstate(invalid="ignore"):
            t = stats.t.ppf(0.5 + lv / 2, np.where(dfs > 0, dfs, np.nan))
        parts.append(
            {"est": qhat.ravel(), "lo": lower, "hi": upper, "se": (upper - lower) / (2 * t),
             "df": dfs, "n": f["n_unweighted"].to_numpy(), "nw": f["n_weighted"].to_numpy(),
             "flags": f["flags"].to_numpy()}
        )  # fmt: skip
    K = len(names)

    def stack(key: str) -> np.ndarray:  # (D*nq,) per variable -> domain, variable, q order
        return np.stack([p[key].reshape(D, nq) for p in parts], axis=1).ravel()

    est, se = stack("est"), stack("se")
    rep = np.repeat(np.arange(D), K * nq)
    out = {c: domains.keys[c].take(rep).reset_index(drop=True) for c in domains.columns}
    out["variable"] = np.tile(np.repeat(np.asarray(names, dtype=object), nq), D)
    out["quantile"] = np.tile(qs, D * K)
    nan = np.full(est.shape, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        cv = se / np.abs(est)
    out.update(
        {"estimate": est, "se": se, "ci_lower": stack("lo"), "ci_upper": stack("hi"),
         "level": lv, "ci_method": ci_method, "df": stack("df"), "deff": nan, "deff_wr": nan,
         "cv": cv, "n_unweighted": stack("n"), "n_weighted": stack("nw"), "n_effective": nan,
         "flags": stack("flags")}
    )  # fmt: skip
    return EstimateTable(
        _frame=labelled_columns(pd.DataFrame(out), domains.columns, design.value_labels),
        statistic="quantile",
        by=domains.columns,
        ci_method=ci_method,
        level=lv,
        df_rule=d,
        lonely_psu=design.lonely_psu,
        scale=1.0,
        _p=est,
        _se=se,
        _df=stack("df"),
        _n=stack("n"),
        design_df=float(design.degf),
    )
