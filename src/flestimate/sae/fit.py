"""Fitting the Fay-Herriot model: the random-effect variance by REML, ML or the
Fay-Herriot moment method, with the generalised least-squares fixed effects.

Every function works on a stack of R response vectors at once (``y`` of shape
``(R, m)``), so one fit (R = 1) and the refits of a parametric bootstrap (R
replicates) run through the same code, vectorised across areas and replicates.
No m x m matrix is formed: with a diagonal ``V`` every quantity is a sum over
areas of p x p outer products.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["METHODS", "VarianceFit", "fit_variance", "gls"]

METHODS = ("REML", "ML", "FH")


@dataclass(frozen=True)
class GLS:
    """Generalised least squares at given variances, for R response vectors.

    ``w`` (R, m) are the inverse total variances ``1 / (sigma2_u + D)``; ``q`` (R, p, p)
    is ``(X' V^-1 X)^-1``; ``beta`` (R, p); ``resid`` (R, m) is ``y - X beta``.
    """

    w: np.ndarray
    q: np.ndarray
    beta: np.ndarray
    resid: np.ndarray


def outer_rows(x: np.ndarray) -> np.ndarray:
    """The outer products :math:`x_d x_d'` of the rows of ``x``, flattened: (m, p * p)."""
    return (x[:, :, None] * x[:, None, :]).reshape(x.shape[0], -1)


def _xtwx(w: np.ndarray, xx: np.ndarray) -> np.ndarray:
    """``X' diag(w_r) X`` for every row r of ``w`` (R, m), from ``outer_rows(X)``: one
    matrix product, (R, p, p)."""
    p = int(round(np.sqrt(xx.shape[1])))
    return (w @ xx).reshape(w.shape[0], p, p)


def gls(
    y: np.ndarray, d: np.ndarray, x: np.ndarray, sigma2_u: np.ndarray, xx: np.ndarray | None = None
) -> GLS:
    """GLS fixed effects and residuals of ``y`` (R, m) with variances ``sigma2_u + d``."""
    if xx is None:
        xx = outer_rows(x)
    w = 1.0 / (sigma2_u[:, None] + d[None, :])
    q = np.linalg.inv(_xtwx(w, xx))
    beta = np.einsum("rpq,rq->rp", q, (w * y) @ x)
    return GLS(w=w, q=q, beta=beta, resid=y - beta @ x.T)


def _trace(a: np.ndarray) -> np.ndarray:
    return np.trace(a, axis1=-2, axis2=-1)


def _score_information(
    method: str, fit: GLS, x: np.ndarray, xx: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Score and expected information of the variance (R,) at the current fit."""
    w, q, r = fit.w, fit.q, fit.resid
    py = w * r  # P y, with P = V^-1 - V^-1 X Q X' V^-1
    if method == "ML":
        return -0.5 * w.sum(1) + 0.5 * (py * py).sum(1), 0.5 * (w * w).sum(1)
    if method == "REML":
        qw2 = q @ _xtwx(w * w, xx)  # Q X'V^-2 X
        tr_p = w.sum(1) - _trace(qw2)
        tr_p2 = (
            (w * w).sum(1)
            - 2.0 * _trace(q @ _xtwx(w**3, xx))
            + _trace(qw2 @ qw2)
        )
        return -0.5 * tr_p + 0.5 * (py * py).sum(1), 0.5 * tr_p2
    # FH moment equation sum r^2 / V = m - p, solved by the scoring-type update of
    # Fay & Herriot (1979): step (sum r^2/V - (m - p)) / sum 1/V
    m, p = x.shape
    return (r * py).sum(1) - (m - p), w.sum(1)


@dataclass(frozen=True)
class VarianceFit:
    """The estimated random-effect variances (R,), whether each converged, and the
    number of scoring iterations run (the largest over the replicates)."""

    sigma2_u: np.ndarray
    converged: np.ndarray
    iterations: int


def fit_variance(
    y: np.ndarray,
    d: np.ndarray,
    x: np.ndarray,
    method: str,
    *,
    tol: float = 1e-10,
    maxiter: int = 100,
) -> VarianceFit:
    """Estimate the random-effect variance of the Fay-Herriot model for R responses.

    Parameters
    ----------
    y : ndarray (R, m)
        Direct estimates (one row per replicate).
    d : ndarray (m,)
        Sampling variances, > 0.
    x : ndarray (m, p)
        Covariates, full column rank, m > p.
    method : {"REML", "ML", "FH"}
    tol : float
        Relative change of the variance between two iterations at which a replicate
        has converged.
    maxiter : int

    Notes
    -----
    Fisher scoring :math:`A_{k+1} = \\max(0, A_k + s(A_k) / I(A_k))` from the median
    of ``d`` (as R's sae), with, for :math:`V = A + D` and
    :math:`P = V^{-1} - V^{-1}X(X'V^{-1}X)^{-1}X'V^{-1}`:

    - REML: :math:`s = -\\tfrac12 \\operatorname{tr} P + \\tfrac12 y'P^2y`,
      :math:`I = \\tfrac12 \\operatorname{tr} P^2`;
    - ML: :math:`s = -\\tfrac12 \\sum V_d^{-1} + \\tfrac12 y'P^2y`,
      :math:`I = \\tfrac12 \\sum V_d^{-2}`;
    - FH: :math:`s = \\sum (y_d - x_d'\\hat\\beta)^2 / V_d - (m - p)`,
      :math:`I = \\sum V_d^{-1}`.

    A replicate stops when :math:`|A_{k+1} - A_k| \\le` ``tol`` :math:`\\cdot A_{k+1}`
    (or both are 0: the estimate is on the boundary).

    References
    ----------
    Fay, R. E. and Herriot, R. A. (1979). Estimates of income for small places: an
    application of James-Stein procedures to census data. JASA 74, 269-277.
    Rao, J. N. K. and Molina, I. (2015). Small Area Estimation, 2nd ed. Wiley, 6.1.
    """
    r_count = y.shape[0]
    start = float(np.median(d))
    a = np.full(r_count, start)
    converged = np.zeros(r_count, dtype=bool)
    floor = 1e-12 * start
    iterations = 0
    active = np.arange(r_count)
    xx = outer_rows(x)
    while active.size and iterations < maxiter:  # a loop over iterations, not areas
        iterations += 1
        fit = gls(y[active], d, x, a[active], xx)
        score, information = _score_information(method, fit, x, xx)
        new = np.maximum(a[active] + score / information, 0.0)
        done = np.abs(new - a[active]) <= tol * np.maximum(new, floor)
        a[active] = new
        converged[active[done]] = True
        active = active[~done]
    return VarianceFit(sigma2_u=a, converged=converged, iterations=iterations)
