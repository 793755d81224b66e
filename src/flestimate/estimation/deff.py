"""Design effects against simple random sampling (R's ``deff=TRUE`` and ``deff="replace"``)."""

from __future__ import annotations

import numpy as np

from flestimate.design.totals import DomainTotals

__all__ = ["design_effects"]


def design_effects(
    statistic: str, totals: DomainTotals, estimate: np.ndarray, variance: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Design effects (D, K) without and with replacement.

    Parameters
    ----------
    statistic : str
        ``"total"`` or a ratio-type statistic (mean, ratio, proportion, prevalence).
    totals : DomainTotals
    estimate, variance : ndarray (D, K)

    Returns
    -------
    deff, deff_wr : ndarray (D, K)

    Notes
    -----
    With the domain's rows n, :math:`\\hat N = \\sum_{i \\in d} w_i`, the linearised
    variable :math:`r_i` (:math:`y_i` for a total, :math:`(y_i - \\hat R x_i)/\\hat X`
    for a ratio) and
    :math:`S^2 = \\frac{n}{n-1} \\sum w_i (r_i - \\bar r)^2 / \\hat N`
    (R's ``svyvar``), the SRS variances are
    :math:`V_{wor} = \\hat N^2 S^2 (1 - n/\\hat N) / n` and
    :math:`V_{wr} = \\hat N^2 S^2 / n`; ``deff`` :math:`= \\hat V / V_{wor}`,
    ``deff_wr`` :math:`= \\hat V / V_{wr}`. Domains condition on the domain size, as
    R's ``svyby(..., deff=TRUE)``. When :math:`\\hat N < n` (weights not scaled to
    the population) ``deff`` is NaN, as R's ``svymean``.

    References
    ----------
    Kish, L. (1965). Survey Sampling. Wiley.
    Lumley, T. survey R package, ``svymean``, ``svytotal``, ``svyratio`` (``deff=``).
    """
    n = totals.n_rows
    N = totals.sum_w
    with np.errstate(divide="ignore", invalid="ignore"):
        if statistic == "total":
            Y = totals.y_total
            ss = totals.sum_wyy - Y**2 / N  # sum w (y - ybar)^2
            scale = totals.sum_wyy + Y**2 / N
        else:
            X = totals.x_total
            R = estimate
            ss = (totals.sum_wyy - 2 * R * totals.sum_wxy + R**2 * totals.sum_wxx) / X**2
            scale = (totals.sum_wyy + R**2 * totals.sum_wxx) / X**2
        # a constant variable: S^2 = 0 up to rounding; its design effect is undefined
        ss = np.where(ss <= 1e-12 * np.abs(scale), 0.0, ss)
        S2 = n / (n - 1.0) * ss / N
        v_wr = N**2 * S2 / n
        v_wor = v_wr * (N - n) / N
        deff_wr = np.where(v_wr > 0, variance / v_wr, np.nan)
        deff = np.where((N >= n) & (v_wor > 0), variance / v_wor, np.nan)
    return deff, deff_wr
