"""Post-stratification to known population counts of (crossed) cells."""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from flestimate.design.calibration_hook import Residualizer
from flestimate.errors import CalibrationError, first_values
from flestimate.weighting._cells import encode_columns
from flestimate.weighting._design import (
    WeightingStep,
    current_weights,
    derive,
    design_frame,
    is_replicate,
    replicate_apply,
    replicate_cell_totals,
    weight_stats,
)
from flestimate.weighting._types import DesignT
from flestimate.weighting.totals import Margin, PopulationTotals, population_totals

__all__ = ["poststratify"]


def _one_margin(totals: PopulationTotals) -> Margin:
    margins = population_totals(totals).categorical("poststratify", "totals")
    if len(margins) != 1:
        raise CalibrationError(
            f"poststratify needs exactly one post-stratum column or one table of crossed "
            f"post-strata; totals= gives {len(margins)} margins "
            f"({first_values(m.name for m in margins)}). For crossed post-strata pass a DataFrame "
            f"with the stratum columns and a 'count' column; to meet several margins use rake()."
        )
    return margins[0]


def cell_sums(codes: np.ndarray, q: int, weights: np.ndarray) -> np.ndarray:
    """Weighted counts of the cells, (q,) for (n,) weights or (q, R) for (n, R)."""
    if weights.ndim == 1:
        return np.bincount(codes, weights=weights, minlength=q)
    return np.asarray(indicator(codes, q).T @ weights)


def indicator(codes: np.ndarray, q: int) -> sp.csr_matrix:
    """Sparse (n, q) indicator matrix of the cell codes."""
    n = codes.size
    return sp.csr_matrix((np.ones(n), (np.arange(n), codes)), shape=(n, q))


def check_zero_cells(sums: np.ndarray, levels: pd.Index, margin: str, what: str) -> None:
    zero = sums <= 0 if sums.ndim == 1 else (sums <= 0).any(axis=1)
    if zero.any():
        raise CalibrationError(
            f"margin {margin!r}: {int(zero.sum())} cells have a zero sum of {what} "
            f"({first_values(levels[zero])}), so their weights cannot be scaled to the population "
            f"count. Collapse these cells with a neighbour."
        )


def poststratify(design: DesignT, *, totals: PopulationTotals) -> DesignT:
    """Post-stratify the weights to known population counts.

    Parameters
    ----------
    design : SurveyDesign or ReplicateDesign
        The input design (unchanged).
    totals : DataFrame, Series, dict, list or Totals
        The population count of every post-stratum, as one margin in the shape of
        :func:`flestimate.weighting.population_totals`: a DataFrame with the
        post-stratum columns and a ``count`` column (crossed post-strata), a Series of
        counts indexed by the levels of one column, ``{column: {level: count}}``, or a
        one-item list of these.

    Returns
    -------
    A new design of the same kind, whose weights sum to the count of each cell,
    with the step recorded on ``history`` and carried into the variance.

    Notes
    -----
    For cell c with population count N_c: ``w_i <- w_i N_c / sum_{j in c} w_j``.
    Taylor variance residualises the linearised score u (R survey's ``svyrecvar``):
    ``e_i = u_i - w*_i (sum_{j in c} u_j w_j / w*_j) / sum_{j in c} w_j`` with
    ``w*`` the post-stratified weight. A replicate design is post-stratified
    replicate by replicate.

    References
    ----------
    Holt, D. and Smith, T. M. F. (1979). Post stratification. JRSS A 142, 33-46.
    Lumley, T. survey R package, ``postStratify``, ``svyrecvar``.
    """
    margin = _one_margin(totals)
    frame = design_frame(design)
    w = current_weights(design)
    codes, counts, levels = encode_columns(frame, margin)
    q = counts.size
    sums = cell_sums(codes, q, w)
    check_zero_cells(sums, levels, margin.name, "weights")
    factor = counts / sums
    new_w = w * factor[codes]
    with np.errstate(divide="ignore", invalid="ignore"):
        phi = np.where(w > 0, 1.0 / factor[codes], 0.0)
    resid = Residualizer(X=codes, s=new_w, phi=phi, A=1.0 / sums)

    new_rep = None
    rep_info = None
    if is_replicate(design):
        rsums = replicate_cell_totals(design, codes, q)  # (R, q)
        check_zero_cells(rsums.T, levels, margin.name, "replicate weights")
        new_rep = replicate_apply(design, codes, counts[None, :] / rsums)
        rep_info = {"replicates": int(rsums.shape[0]), "converged": True}
    step = WeightingStep(
        step="poststratify",
        parameters={"totals": margin.as_dict()},
        iterations=1,
        converged=True,
        discrepancy=0.0,
        before=weight_stats(w),
        after=weight_stats(new_w),
        replicates=rep_info,
    )
    return derive(design, new_w, step, residualizer=resid, replicate_weights=new_rep)
