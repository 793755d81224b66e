"""The population variance of a variable, by domains (R's ``svyvar``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from flestimate.estimation.columns import column_names, numeric_columns
from flestimate.estimation.domains import encode_domains
from flestimate.estimation.estimators import _common, _means
from flestimate.estimation.table import EstimateTable

if TYPE_CHECKING:  # pragma: no cover
    from flestimate.design.interface import VarianceEngine

__all__ = ["var"]


def var(
    design: VarianceEngine,
    y: str | Sequence[str],
    *,
    by: str | Sequence[str] | None = None,
    level: float = 0.95,
    na_rm: bool = False,
    df: str | float = "domain",
) -> EstimateTable:
    r"""Estimated population variance of each variable, by domains (R's ``svyvar``).

    Parameters
    ----------
    design : SurveyDesign or ReplicateDesign
        The design; ``design.var(...)`` passes itself here.
    y : str or list of str
        Numeric columns (one variance each; no covariances between them).
    by : str or list of str, optional
        Domain columns (R's ``svyby(~y, ~by, design, svyvar)``).
    level : float, default 0.95
        Confidence level of the (Wald) intervals.
    na_rm : bool, default False
        Leave out the rows where the variable is missing.
    df : {"domain", "design"} or float, default "domain"
        Degrees of freedom of the t quantiles.

    Returns
    -------
    EstimateTable
        ``statistic`` ``"variance"``; the SD is ``sqrt(estimate)``.

    Notes
    -----
    :math:`\hat S^2_d = \frac{n_d}{n_d - 1} \sum_{i \in d} w_i (y_i - \bar y_d)^2 /
    \sum_{i\in d} w_i`, :math:`n_d` the respondents of the domain with a non-zero
    weight; its SE is that of the mean of :math:`z_i = n_d/(n_d-1)(y_i - \bar
    y_d)^2` with :math:`\bar y_d` held fixed, as R does on a Taylor design. On a
    replicate design R's ``svyvar`` re-estimates the mean in every replicate; here it
    stays fixed there too (the same to first order; not referenced against R).

    References
    ----------
    Lumley, T. survey R package, ``svyvar``.
    """
    lv, d, ci = _common(level, df, "wald", proportion=False)
    names = column_names(y, "y")
    ys, valid = numeric_columns(design.data, names, na_rm)
    codes = encode_domains(design.data, by).codes
    w = design.weights.to_numpy(dtype=float)
    inside = codes >= 0
    D = int(codes.max()) + 1 if inside.any() else 1
    zs = []
    for yk, vk in zip(ys, valid, strict=True):  # a loop over the variables
        ok = inside & (w != 0) & (True if vk is None else vk)
        yk = np.where(ok, yk, 0.0).astype(float)
        c = np.where(ok, codes, 0)
        sw = np.bincount(c, weights=np.where(ok, w, 0.0), minlength=D)
        with np.errstate(invalid="ignore", divide="ignore"):
            ybar = np.bincount(c, weights=np.where(ok, w * yk, 0.0), minlength=D) / sw
            n = np.bincount(c, weights=ok.astype(float), minlength=D)
            zs.append(np.where(ok, (yk - ybar[c]) ** 2 * (n / (n - 1.0))[c], 0.0))
    return _means(design, "variance", zs, valid, names, by=by, level=lv, df=d, ci_method=ci)
