"""Raking (iterative proportional fitting) to several population margins."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from flestimate.design.calibration_hook import Residualizer
from flestimate.errors import CalibrationError, ValidationError
from flestimate.weighting._cells import encode_columns
from flestimate.weighting._design import (
    WeightingStep,
    current_weights,
    derive,
    design_frame,
    is_replicate,
    replicate_apply,
    replicate_cell_totals,
    unit_counts,
    weight_stats,
)
from flestimate.weighting._solver import RakeFit, ipf, rake_residual_matrix
from flestimate.weighting._types import DesignT
from flestimate.weighting.poststratify import check_zero_cells, indicator
from flestimate.weighting.totals import Margin, PopulationTotals, population_totals

__all__ = ["rake"]

# cross-tables up to this many cells get R's ten residualising sweeps collapsed into
# one (C, C) operator; larger ones pass the sweeps to the engine margin by margin
_COLLAPSE_MAX_CELLS = 2000
# R survey's svyrecvar applies ten sweeps over the margins to residualise a raked design
_R_RESIDUAL_SWEEPS = 10


def cross_cells(codes: list[np.ndarray], sizes: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Code 0..C-1 of the observed combinations of several cell codes.

    Returns ``(combo, combo_cells)``: ``combo`` (n,) and, for each combination, its
    cell in every margin, (m, C).
    """
    total = 1
    for q in sizes:
        total *= q
    if total <= 50_000_000:
        key = np.ravel_multi_index(tuple(codes), tuple(sizes))
        present = np.bincount(key, minlength=total) > 0
        keys = np.flatnonzero(present)
        lookup = np.cumsum(present) - 1
        combo = lookup[key]
    else:
        stacked = np.stack(codes, axis=1)
        keys_rows, combo = np.unique(stacked, axis=0, return_inverse=True)
        combo = combo.ravel()
        return combo.astype(np.int64), keys_rows.T.astype(np.int64)
    cells = np.stack(np.unravel_index(keys, tuple(sizes)), axis=0).astype(np.int64)
    return combo.astype(np.int64), cells


def _not_converged(
    margins: Sequence[Margin],
    levels: list[pd.Index],
    fit: RakeFit,
    b: int,
    max_iter: int,
    what: str,
) -> CalibrationError:
    j, k = fit.worst[b]
    return CalibrationError(
        f"raking{what} did not converge in {int(fit.iterations[b])} sweeps (max_iter={max_iter}): "
        f"the worst margin is {margins[j].name!r}, level {levels[j][k]!r}, still "
        f"{fit.discrepancy[b]:.3g} away from its count (relative). Raise max_iter, or check for "
        f"empty combinations of the margins that make the counts impossible to reach."
    )


def rake(
    design: DesignT,
    *,
    margins: PopulationTotals,
    max_iter: int = 50,
    tolerance: float = 1e-7,
) -> DesignT:
    """Rake the weights to population margins (iterative proportional fitting).

    Parameters
    ----------
    design : SurveyDesign or ReplicateDesign
        The input design (unchanged).
    margins : dict, list, DataFrame, Series or Totals
        The population counts of one or more margins, in the shape of
        :func:`flestimate.weighting.population_totals`: ``{column: {level:
        count} | Series | DataFrame}``, or a list of Series (counts indexed by the
        levels of one column) and DataFrames (cell columns and a ``count`` column: a
        crossed margin). A single DataFrame or Series is one margin.
    max_iter : int
        Largest number of sweeps over the margins.
    tolerance : float
        Stop when every margin sum is within ``tolerance`` (relative) of its count.

    Returns
    -------
    A new design whose weighted margins equal the counts, with the step on
    ``history`` and carried into the variance.

    Notes
    -----
    Iterative proportional fitting: each sweep post-stratifies to every margin in
    turn, ``w_i <- w_i N_{m,k} / sum_{j in k} w_j``. The margins depend only on the
    weighted counts of the cross of the margin variables, so the sweeps run on
    that cross-table and the final factors are mapped back to the rows once.

    R's ``rake`` stops by default after ``maxit = 10`` sweeps or when the cross-table
    changes by less than ``epsilon = 1`` (absolute) between sweeps; here the sweeps
    continue until the margins are met to ``tolerance``. Results equal R's run
    with ``control = list(maxit = 100, epsilon = 1e-10)``.

    Taylor variance follows R survey's ``svyrecvar``: ten sweeps over the margins of
    ``u <- u - w_m * ave(u / w_m)`` within the margin cells, with ``w_m`` the weights
    after margin m's adjustment in the last raking sweep. A replicate design is
    raked replicate by replicate (all replicates at once on their cross-tables).

    References
    ----------
    Deming, W. E. and Stephan, F. F. (1940). Annals of Mathematical Statistics 11,
    427-444.
    Lumley, T. survey R package, ``rake``, ``svyrecvar``.

    Examples
    --------
    >>> import pandas as pd
    >>> import flestimate
    >>> data = pd.read_csv("data/sample/fl_survey.csv")
    >>> counts = pd.read_csv("data/sample/margins.csv")
    >>> design = flestimate.SurveyDesign(data, weight="w_final", strata="stratum", psu="psu",
    ...                                  nest=True)
    >>> margins = {c: counts.groupby(c)["count"].sum().to_dict()
    ...            for c in ["region", "sex", "age_group"]}
    >>> raked = flestimate.rake(design, margins=margins)
    >>> round(raked.weights.sum())
    186186
    >>> raked.history[-1].step, raked.history[-1].converged
    ('rake', True)

    The same margins as a list of Series of counts indexed by level:

    >>> same = flestimate.rake(design, margins=[counts.groupby(c)["count"].sum()
    ...                                         for c in ["region", "sex", "age_group"]])
    >>> bool((same.weights == raked.weights).all())
    True
    """
    if not isinstance(max_iter, (int, np.integer)) or max_iter < 1:
        raise ValidationError(f"max_iter={max_iter!r} must be a positive integer.")
    if not (isinstance(tolerance, (int, float)) and 0 < tolerance < 1):
        raise ValidationError(f"tolerance={tolerance!r} must be a number in (0, 1), e.g. 1e-7.")
    parsed = population_totals(margins, parameter="margins").categorical("rake", "margins")
    frame = design_frame(design)
    w = current_weights(design)
    codes, counts, levels = [], [], []
    for m in parsed:
        c, n_, lv = encode_columns(frame, m)
        codes.append(c)
        counts.append(n_)
        levels.append(lv)
    sizes = [c.size for c in counts]
    combo, combo_cells = cross_cells(codes, sizes)
    C = combo_cells.shape[1]
    table = np.bincount(combo, weights=w, minlength=C)
    for m, cm, q, lv in zip(parsed, combo_cells, sizes, levels, strict=False):
        check_zero_cells(np.bincount(cm, weights=table, minlength=q), lv, m.name, "weights")
    maps = list(combo_cells)
    fit = ipf(table[None, :], maps, counts, max_iter=max_iter, tolerance=tolerance)
    if not fit.converged[0]:
        raise _not_converged(parsed, levels, fit, 0, max_iter, "")
    factor = fit.factor[0]
    new_w = w * factor[combo]

    positive = w > 0
    # R's ave() is a mean over respondents: a row of grouped data (frequency=) stands
    # for freq of them, all with the same u / w, so it counts freq times
    freq = unit_counts(design)
    with np.errstate(divide="ignore"):
        inv_w = np.where(positive, freq / np.where(positive, w, 1.0), 0.0)
    if C <= _COLLAPSE_MAX_CELLS:
        n_c = np.bincount(combo[positive], weights=freq[positive], minlength=C)
        K = rake_residual_matrix(
            fit.sweep_factors[:, 0, :], maps, sizes, n_c, sweeps=_R_RESIDUAL_SWEEPS
        )
        resid: Residualizer | tuple[Residualizer, ...] = Residualizer(X=combo, s=w, phi=inv_w, A=K)
    else:
        per_margin = []
        for j, (c, q) in enumerate(zip(codes, sizes, strict=False)):
            psw = w * fit.sweep_factors[j, 0, combo]
            cnt = np.bincount(c[positive], weights=freq[positive], minlength=q)
            per_margin.append(
                Residualizer(
                    X=c,
                    s=psw,
                    phi=inv_w / fit.sweep_factors[j, 0, combo],
                    A=np.where(cnt > 0, 1.0 / np.maximum(cnt, 1.0), 0.0),
                )
            )
        resid = tuple(per_margin) * _R_RESIDUAL_SWEEPS

    new_rep = None
    rep_info = None
    if is_replicate(design):
        rtable = replicate_cell_totals(design, combo, C)  # (R, C)
        for m, cm, q, lv in zip(parsed, combo_cells, sizes, levels, strict=False):
            sums = np.asarray(indicator(cm, q).T @ rtable.T)
            check_zero_cells(sums, lv, m.name, "replicate weights")
        rfit = ipf(rtable, maps, counts, max_iter=max_iter, tolerance=tolerance)
        if not rfit.converged.all():
            b = int(np.flatnonzero(~rfit.converged)[0])
            raise _not_converged(parsed, levels, rfit, b, max_iter, f" of replicate {b + 1}")
        new_rep = replicate_apply(design, combo, rfit.factor)
        rep_info = {
            "replicates": int(rtable.shape[0]),
            "converged": True,
            "max_iterations": int(rfit.iterations.max()),
            "max_discrepancy": float(rfit.discrepancy.max()),
        }
    step = WeightingStep(
        step="rake",
        parameters={
            "margins": {m.name: m.as_dict() for m in parsed},
            "max_iter": int(max_iter),
            "tolerance": float(tolerance),
        },
        iterations=int(fit.iterations[0]),
        converged=True,
        discrepancy=float(fit.discrepancy[0]),
        before=weight_stats(w),
        after=weight_stats(new_w),
        replicates=rep_info,
    )
    return derive(design, new_w, step, residualizer=resid, replicate_weights=new_rep)
