"""Benchmarking: model-based area estimates that add up to the direct national estimate."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["BENCHMARKS", "Benchmarked", "benchmark_estimates"]

BENCHMARKS = ("ratio", "difference")


@dataclass(frozen=True)
class Benchmarked:
    """Benchmarked estimates and MSEs, with what the adjustment was."""

    estimate: np.ndarray
    mse: np.ndarray
    method: str
    target: float
    aggregate_before: float
    adjustment: float  # the ratio factor, or the difference added

    def as_dict(self) -> dict[str, float | str]:
        return {
            "method": self.method,
            "target": self.target,
            "aggregate_before": self.aggregate_before,
            "adjustment": self.adjustment,
        }


def benchmark_estimates(
    estimate: np.ndarray, mse: np.ndarray, weights: np.ndarray, target: float, method: str
) -> Benchmarked:
    """Scale (``"ratio"``) or shift (``"difference"``) the area estimates so that their
    weighted mean equals ``target``.

    Notes
    -----
    With population shares :math:`w_d = N_d / \\sum N` and the aggregate
    :math:`\\hat\\theta_\\cdot = \\sum_d w_d \\hat\\theta_d`:

    - ratio: :math:`\\hat\\theta^B_d = \\hat\\theta_d\\, t / \\hat\\theta_\\cdot`
      (keeps the estimates of a prevalence positive);
    - difference: :math:`\\hat\\theta^B_d = \\hat\\theta_d + (t - \\hat\\theta_\\cdot)`.

    Both give :math:`\\sum_d w_d \\hat\\theta^B_d = t`. The MSE of a benchmarked
    estimate is estimated by :math:`\\mathrm{mse}_d + (\\hat\\theta^B_d -
    \\hat\\theta_d)^2`: the adjustment is one more error term, and for difference
    benchmarking the expected square of the adjustment is the second-order term
    :math:`g_4` of Steorts and Ghosh (2013), of which this is the plug-in estimate.

    References
    ----------
    Steorts, R. C. and Ghosh, M. (2013). On estimation of mean squared errors of
    benchmarked empirical Bayes estimators. Statistica Sinica 23, 749-767.
    Rao, J. N. K. and Molina, I. (2015). Small Area Estimation, 2nd ed. Wiley, 6.3.
    """
    share = weights / weights.sum()
    aggregate = float(share @ estimate)
    if method == "ratio":
        adjustment = target / aggregate
        new = estimate * adjustment
    else:
        adjustment = target - aggregate
        new = estimate + adjustment
    return Benchmarked(
        estimate=new,
        mse=mse + (new - estimate) ** 2,
        method=method,
        target=float(target),
        aggregate_before=aggregate,
        adjustment=float(adjustment),
    )
