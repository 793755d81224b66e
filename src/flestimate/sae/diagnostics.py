"""Diagnostics of a Fay-Herriot fit: normality of the residuals and random effects,
and the gain in precision over the direct estimates (CV table)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import stats

if TYPE_CHECKING:
    from flestimate.sae.result import FayHerriotResult

__all__ = ["cv_summary", "cv_table", "normality", "standardised_residuals"]


def standardised_residuals(result: FayHerriotResult) -> tuple[np.ndarray, np.ndarray]:
    r"""Standardised realised residuals and random effects of the sampled areas.

    Notes
    -----
    On the model scale, the realised residuals :math:`\hat e_d = y_d - \hat\theta_d
    = (1 - \gamma_d)(y_d - x_d'\hat\beta)` and the predicted random effects
    :math:`\hat u_d = \gamma_d (y_d - x_d'\hat\beta)`, each centred and divided by
    its standard deviation over the areas (as emdi's ``summary`` of an ``fh`` model).
    """
    m = result._model
    resid = m.y - m.synthetic[m.sampled]
    gamma = result.sigma2_u / (result.sigma2_u + m.d)
    return _standardise((1.0 - gamma) * resid), _standardise(gamma * resid)


def _standardise(v: np.ndarray) -> np.ndarray:
    sd = v.std(ddof=1) if v.size > 1 else 0.0
    if not sd > 0:
        return np.full(v.shape, np.nan)
    return (v - v.mean()) / sd


def normality(result: FayHerriotResult) -> pd.DataFrame:
    """Normality checks of the model's two error terms.

    Returns
    -------
    pandas.DataFrame
        Rows ``residuals`` (standardised realised residuals :math:`y_d - \\hat\\theta_d`)
        and ``random_effects`` (standardised :math:`\\hat u_d`), see
        :func:`standardised_residuals`; columns ``n``,
        ``skewness``, ``kurtosis`` (excess: 0 for a normal), ``shapiro_w`` and
        ``shapiro_p`` (Shapiro-Wilk; NaN below 3 areas or when :math:`\\hat\\sigma^2_u = 0`).

    Notes
    -----
    A small Shapiro-Wilk p-value (say below 0.05) or a skewness far from 0 says the
    normal model does not describe the areas: consider ``transform="arcsin"`` for a
    prevalence, other covariates, or a look at the outlying areas
    (:meth:`FayHerriotResult.plot_residuals`).

    References
    ----------
    Shapiro, S. S. and Wilk, M. B. (1965). An analysis of variance test for normality.
    Biometrika 52, 591-611.
    """
    rows = []
    for name, values in zip(("residuals", "random_effects"), standardised_residuals(result),
                            strict=True):  # fmt: skip
        v = values[np.isfinite(values)]
        if v.size >= 3 and np.ptp(v) > 0:
            w, p = stats.shapiro(v)
            skew, kurt = stats.skew(v), stats.kurtosis(v)
        else:
            w = p = skew = kurt = np.nan
        rows.append({"check": name, "n": int(v.size), "skewness": float(skew),
                     "kurtosis": float(kurt), "shapiro_w": float(w), "shapiro_p": float(p)})  # fmt: skip
    return pd.DataFrame(rows)


def cv_table(result: FayHerriotResult, *, threshold: float = 0.2) -> pd.DataFrame:
    """Coefficients of variation of the direct and model-based estimates, per area.

    Returns
    -------
    pandas.DataFrame
        ``area``, ``n`` (when known), ``direct_cv``, ``model_cv``, ``improvement``
        (``direct_cv / model_cv``; above 1 the model is more precise),
        ``publishable_direct`` and ``publishable_model`` (CV at most ``threshold``),
        sorted by ``direct_cv`` (areas without a sample last).
    """
    f = result._frame
    out = pd.DataFrame({"area": f["area"]})
    if "n" in f:
        out["n"] = f["n"]
    out["direct_cv"] = f["direct_cv"]
    out["model_cv"] = f["cv"]
    with np.errstate(divide="ignore", invalid="ignore"):
        out["improvement"] = f["direct_cv"] / f["cv"]
    out["publishable_direct"] = out["direct_cv"] <= threshold
    out["publishable_model"] = out["model_cv"] <= threshold
    return out.sort_values("direct_cv", na_position="last", kind="stable").reset_index(drop=True)


def cv_summary(result: FayHerriotResult, *, threshold: float = 0.2) -> pd.DataFrame:
    """Quartiles of the direct and model CVs over the areas, and how many areas reach a
    CV of at most ``threshold`` (rows ``direct`` and ``model``)."""
    t = cv_table(result, threshold=threshold)
    rows = []
    for name in ("direct", "model"):
        cv = t[f"{name}_cv"].to_numpy(dtype=np.float64)
        finite = cv[np.isfinite(cv)]
        q = np.quantile(finite, [0, 0.25, 0.5, 0.75, 1]) if finite.size else [np.nan] * 5
        rows.append({"estimate": name, "areas": int(finite.size), "min": q[0], "q1": q[1],
                     "median": q[2], "q3": q[3], "max": q[4],
                     f"cv_at_most_{threshold:g}": int((finite <= threshold).sum())})  # fmt: skip
    return pd.DataFrame(rows)
