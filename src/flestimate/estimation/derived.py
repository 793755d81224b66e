"""Design-based tables of values derived per respondent by another estimator.

The network scale-up estimate (:mod:`flestimate.nsum`) and the multiplicity estimate of
proxy reports (:mod:`flestimate.proxy`) compute one value per respondent (connections
to a hidden population, multiplicity-weighted reports); the table of their totals or
ratios, with the design's variance, intervals and flags, is built here by the same
engine as :func:`~flestimate.estimation.estimators.ratio`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from flestimate.errors import EstimationError, positive_number
from flestimate.estimation.estimators import _common, _estimate
from flestimate.estimation.table import EstimateTable

if TYPE_CHECKING:
    from flestimate.design.interface import VarianceEngine

__all__ = ["derived_estimate"]


def derived_estimate(
    design: VarianceEngine,
    values: Sequence[np.ndarray],
    denominators: Sequence[np.ndarray] | None = None,
    *,
    labels: Sequence[str],
    statistic: str,
    by: str | Sequence[str] | None = None,
    level: float = 0.95,
    df: str | float = "domain",
    scale: float = 1.0,
) -> EstimateTable:
    r"""Totals (or ratios of totals) of per-row values derived by another estimator.

    The door for estimators built on derived variables (the network scale-up
    estimate of :mod:`flestimate.nsum`, the multiplicity estimate of
    :mod:`flestimate.proxy`): they compute one value per respondent and get the
    design-based table (variance from the design, intervals, df, flags) here.

    Parameters
    ----------
    design : SurveyDesign or ReplicateDesign
    values : sequence of K ndarray (n,)
        Numerators, in the design's row order; NaN marks a row left out (a
        zero-weight row: its PSU still counts in the variance).
    denominators : sequence of K ndarray (n,), optional
        Denominators (NaN: left out); None for totals.
    labels : sequence of K str
        The ``variable`` column of the table.
    statistic : str
        Name recorded on the table (e.g. ``"scale-up size"``).
    by, level, df
        As in :func:`total`.
    scale : float, default 1
        Positive multiplier of estimate, SE and bounds (e.g. the total size of the
        known populations for a scale-up estimate).

    Notes
    -----
    :math:`\hat R_d = \hat Y_d / \hat X_d` (or :math:`\hat Y_d`), linearised as in
    :func:`ratio` (or :func:`total`), times ``scale``.
    """
    lv, d, ci = _common(level, df, "wald", proportion=False)
    sc = positive_number("scale", scale)
    n = design.structure.n
    K = len(values)
    if len(labels) != K or (denominators is not None and len(denominators) != K):
        raise EstimationError(
            f"{K} value arrays, {len(labels)} labels and "
            f"{'no' if denominators is None else len(denominators)} denominators: give one "
            "label (and one denominator) per value array."
        )
    ys, xs, valid = [], [] if denominators is not None else None, []
    for k in range(K):
        y = np.asarray(values[k], dtype=np.float64)
        x = None if denominators is None else np.asarray(denominators[k], dtype=np.float64)
        if y.shape != (n,) or (x is not None and x.shape != (n,)):
            raise EstimationError(
                f"values for {labels[k]!r} have shape {y.shape}; the design has {n} rows."
            )
        ok = np.isfinite(y) if x is None else np.isfinite(y) & np.isfinite(x)
        all_ok = bool(ok.all())
        ys.append(y if all_ok else np.where(ok, y, 0.0))
        if xs is not None:
            xs.append(x if all_ok else np.where(ok, x, 0.0))
        valid.append(None if all_ok else ok)
    return _estimate(
        design,
        "total" if denominators is None else statistic,
        ys,
        xs,
        valid,
        [(str(lab), None) for lab in labels],
        by=by,
        level=lv,
        df=d,
        ci_method=ci,
        scale=sc,
        binary=False,
        has_category=False,
    )
