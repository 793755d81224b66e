"""Analytic mean squared errors of the Fay-Herriot EBLUP (Prasad-Rao, Datta-Lahiri).

All terms are vectors over areas computed at once; the variance and bias of the
estimated random-effect variance depend on the fitting method.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["ANALYTIC_MSE", "MSE_METHODS", "MSETerms", "analytic_mse", "variance_moments"]

ANALYTIC_MSE = ("prasad-rao", "datta-lahiri")
MSE_METHODS = (*ANALYTIC_MSE, "bootstrap")


def variance_moments(method: str, sigma2_u: float, d: np.ndarray, x: np.ndarray,
                     q: np.ndarray) -> tuple[float, float]:
    """Asymptotic variance and bias of the estimated random-effect variance.

    Notes
    -----
    With :math:`V_d = A + D_d`:

    - REML: variance :math:`2 / \\sum V_d^{-2}`, bias 0;
    - ML: variance :math:`2 / \\sum V_d^{-2}`, bias
      :math:`-\\operatorname{tr}\\{(X'V^{-1}X)^{-1} X'V^{-2}X\\} / \\sum V_d^{-2}`;
    - FH: variance :math:`2m / (\\sum V_d^{-1})^2`, bias
      :math:`2\\{m \\sum V_d^{-2} - (\\sum V_d^{-1})^2\\} / (\\sum V_d^{-1})^3`.

    References
    ----------
    Datta, G. S. and Lahiri, P. (2000). A unified measure of uncertainty of estimated
    best linear unbiased predictors in small area estimation problems. Statistica
    Sinica 10, 613-627.
    Datta, G. S., Rao, J. N. K. and Smith, D. D. (2005). On measuring the variability
    of small area estimators under a basic area level model. Biometrika 92, 183-196.
    """
    w = 1.0 / (sigma2_u + d)
    s1, s2 = w.sum(), (w * w).sum()
    m = d.size
    if method == "FH":
        return 2.0 * m / s1**2, 2.0 * (m * s2 - s1**2) / s1**3
    if method == "ML":
        xtw2x = (x * (w * w)[:, None]).T @ x
        return 2.0 / s2, -float(np.trace(q @ xtw2x)) / s2
    return 2.0 / s2, 0.0


@dataclass(frozen=True)
class MSETerms:
    """The components of the analytic MSE, one value per area (in-sample areas first
    in ``g1``..``g3``; ``synthetic_mse`` for the areas without a sample)."""

    g1: np.ndarray
    g2: np.ndarray
    g3: np.ndarray
    bias: float
    variance_of_sigma2_u: float
    mse: np.ndarray
    synthetic_mse: np.ndarray


def analytic_mse(
    how: str,
    method: str,
    sigma2_u: float,
    d: np.ndarray,
    x: np.ndarray,
    q: np.ndarray,
    x_out: np.ndarray,
) -> MSETerms:
    """Second-order MSE estimates of the EBLUP (in-sample areas) and of the synthetic
    estimate (areas without a sample, covariates ``x_out``).

    Notes
    -----
    With :math:`\\gamma_d = A / (A + D_d)` and :math:`Q = (X'V^{-1}X)^{-1}`:
    :math:`g_1 = \\gamma_d D_d`, :math:`g_2 = (1 - \\gamma_d)^2 x_d'Qx_d`,
    :math:`g_3 = (1 - \\gamma_d)^2 \\bar V(\\hat A) / (A + D_d)`.

    - ``"prasad-rao"``: :math:`g_1 + g_2 + 2 g_3`;
    - ``"datta-lahiri"``: :math:`g_1 + g_2 + 2 g_3 - b(\\hat A)(1 - \\gamma_d)^2`,
      with :math:`b` the bias of :math:`\\hat A` (0 for REML, where both agree; the
      estimator of R's ``sae::mseFH`` for REML, ML and FH).

    An area without a sample gets :math:`x'\\hat\\beta`, whose MSE is
    :math:`A + x'Qx`, estimated by :math:`\\hat A + x'Qx` (minus :math:`b(\\hat A)`
    for ``"datta-lahiri"``).

    References
    ----------
    Prasad, N. G. N. and Rao, J. N. K. (1990). The estimation of the mean squared error
    of small-area estimators. JASA 85, 163-171.
    Datta, G. S. and Lahiri, P. (2000). Statistica Sinica 10, 613-627.
    Rao, J. N. K. and Molina, I. (2015). Small Area Estimation, 2nd ed. Wiley, 6.2.
    """
    var_a, bias = variance_moments(method, sigma2_u, d, x, q)
    v = sigma2_u + d
    gamma = sigma2_u / v
    shrink = 1.0 - gamma
    g1 = gamma * d
    g2 = shrink**2 * np.einsum("mp,pq,mq->m", x, q, x)
    g3 = shrink**2 * var_a / v
    mse = g1 + g2 + 2.0 * g3
    synthetic = sigma2_u + np.einsum("mp,pq,mq->m", x_out, q, x_out)
    if how == "datta-lahiri":
        mse = mse - bias * shrink**2
        synthetic = synthetic - bias
    return MSETerms(
        g1=g1, g2=g2, g3=g3, bias=bias, variance_of_sigma2_u=var_a, mse=mse,
        synthetic_mse=synthetic,
    )  # fmt: skip
