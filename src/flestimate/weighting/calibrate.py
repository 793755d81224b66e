"""Deville-Särndal calibration (GREG, raking and logit distances, bounded g-weights)."""

from __future__ import annotations

from typing import Literal, TypeAlias

import numpy as np
import pandas as pd
import scipy.sparse as sp

from flestimate.design.calibration_hook import Residualizer
from flestimate.errors import (
    CalibrationError,
    CalibrationWarning,
    ValidationError,
    first_values,
    not_in_data,
)
from flestimate.weighting._cells import encode_columns
from flestimate.weighting._design import (
    WeightingStep,
    current_weights,
    derive,
    design_frame,
    is_replicate,
    replicate_apply,
    replicate_blocks,
    replicate_cell_totals,
    warn,
    weight_stats,
)
from flestimate.weighting._solver import CalibrationFit, calibration_g, scaled_pinv
from flestimate.weighting._types import DesignT
from flestimate.weighting.poststratify import check_zero_cells
from flestimate.weighting.rake import cross_cells
from flestimate.weighting.totals import Margin, PopulationTotals, Totals, population_totals

__all__ = ["calibrate"]

CalibrationMethod: TypeAlias = Literal["linear", "raking", "logit"]
METHODS: tuple[CalibrationMethod, ...] = ("linear", "raking", "logit")
# replicate columns calibrated together when an auxiliary is continuous (n x block x q memory)
_REPLICATE_BLOCK = 16
# categorical calibrations on up to this many cells get a (C, C) residualiser on the cells
_COMBO_RESIDUAL_MAX = 2000


class _Model:
    """The calibration model: columns of X, their population totals and names."""

    def __init__(self, frame: pd.DataFrame, w: np.ndarray, totals: Totals) -> None:
        self.categorical: list[tuple[Margin, np.ndarray, np.ndarray, pd.Index]] = []
        self.numeric: list[tuple[str, np.ndarray, float]] = []
        for margin in totals.margins:
            codes, counts, levels = encode_columns(frame, margin)
            check_zero_cells(
                np.bincount(codes, weights=w, minlength=counts.size),
                levels,
                margin.name,
                "weights",
            )
            self.categorical.append((margin, codes, counts, levels))
        for num in totals.numeric:
            self.numeric.append((num.column, _numeric_column(frame, num.column), num.total))
        # treatment coding: every level of the first categorical column (it plays the
        # intercept), the other categorical columns without their first level
        names: list[str] = []
        tot: list[float] = []
        self.cat_blocks: list[tuple[np.ndarray, int]] = []  # (codes, first kept level)
        for j, (margin, codes, counts, levels) in enumerate(self.categorical):
            start = 0 if j == 0 else 1
            self.cat_blocks.append((codes, start))
            for k in range(start, counts.size):
                names.append(f"{margin.name}={levels[k]}")
                tot.append(counts[k])
        for name, _, total in self.numeric:
            names.append(name)
            tot.append(total)
        self.names = names
        self.totals = np.asarray(tot, dtype=np.float64)
        self.sizes = [c[2].size for c in self.categorical]

    @property
    def only_categorical(self) -> bool:
        return not self.numeric

    def cell_matrix(self, cells: np.ndarray) -> np.ndarray:
        """X for rows/cells given their categorical cell codes (m, C) -> (C, q_cat)."""
        cols = []
        for (_, start), q, c in zip(self.cat_blocks, self.sizes, cells, strict=False):
            onehot = np.zeros((c.size, q))
            onehot[np.arange(c.size), c] = 1.0
            cols.append(onehot[:, start:])
        return np.hstack(cols) if cols else np.zeros((cells.shape[1] if cells.ndim == 2 else 0, 0))

    def row_matrix(self) -> np.ndarray:
        cat = (
            self.cell_matrix(np.stack([c for c, _ in self.cat_blocks])) if self.cat_blocks else None
        )
        num = np.column_stack([v for _, v, _ in self.numeric])
        return num if cat is None else np.hstack([cat, num])


def _numeric_column(frame: pd.DataFrame, name: str) -> np.ndarray:
    if name not in frame.columns:
        raise CalibrationError(
            not_in_data(f"totals names column {name!r}, which", [name], frame.columns))
    col = frame[name]
    if not pd.api.types.is_numeric_dtype(col.dtype) or pd.api.types.is_bool_dtype(col.dtype):
        raise CalibrationError(
            f"column {name!r} is not numeric but its total is a number. Give "
            f"{{level: count}} for a categorical column, or convert the column to numbers."
        )
    vals = col.to_numpy(dtype=np.float64, na_value=np.nan)
    bad = ~np.isfinite(vals)
    if bad.any():
        raise CalibrationError(
            f"calibration column {name!r} has {int(bad.sum())} missing or infinite values (rows "
            f"{first_values(frame.index[np.flatnonzero(bad)[:6]])}). Impute them first."
        )
    return vals


def _check_bounds(
    method: CalibrationMethod, bounds: tuple[float, float] | None
) -> tuple[float, float] | None:
    if method not in METHODS:
        raise ValidationError(f"method={method!r} must be one of {', '.join(map(repr, METHODS))}.")
    if bounds is None:
        if method == "logit":
            raise ValidationError(
                "method='logit' needs finite bounds=(lower, upper) on the g-weights, "
                "e.g. bounds=(0.5, 2.0)."
            )
        return None
    try:
        lo, hi = (float(b) for b in bounds)
    except (TypeError, ValueError) as exc:
        raise ValidationError(
            f"bounds={bounds!r} must be (lower, upper) numbers on the g-weights "
            "(final weight / input weight), e.g. (0.5, 2.0)."
        ) from exc
    if not lo < 1.0 < hi:
        raise ValidationError(
            f"bounds={bounds!r} must satisfy lower < 1 < upper (g = 1 leaves a weight unchanged)."
        )
    if lo < 0:
        raise ValidationError(
            f"bounds={bounds!r} has a negative lower bound, which allows negative weights. "
            "Use a lower bound >= 0."
        )
    if method == "logit" and not np.isfinite([lo, hi]).all():
        raise ValidationError(f"method='logit' needs finite bounds; found {bounds!r}.")
    return lo, hi


def _fail(
    model: _Model,
    fit: CalibrationFit,
    b: int,
    max_iter: int,
    bounds: tuple[float, float] | None,
    what: str,
) -> CalibrationError:
    hint = (
        f"the bounds {bounds} cannot be met: widen them, or collapse sparse categories"
        if bounds is not None
        else "raise max_iter, or check that the totals are consistent with the sample"
    )
    return CalibrationError(
        f"calibration{what} did not converge in {int(fit.iterations[b])} iterations "
        f"(max_iter={max_iter}): the worst total is {model.names[int(fit.worst[b])]!r}, "
        f"still {fit.discrepancy[b]:.3g} away from its population value (relative); {hint}."
    )


def calibrate(
    design: DesignT,
    *,
    totals: PopulationTotals,
    method: CalibrationMethod = "linear",
    bounds: tuple[float, float] | None = None,
    max_iter: int = 50,
) -> DesignT:
    """Calibrate the weights to population totals of auxiliary variables.

    Parameters
    ----------
    design : SurveyDesign or ReplicateDesign
        The input design (unchanged).
    totals : dict, list, DataFrame, Series or Totals
        Population totals in the shape of
        :func:`flestimate.weighting.population_totals`: a categorical column
        maps to its counts (``{level: population count}`` for all its levels, or a
        Series), a crossed margin is a DataFrame with the cell columns and a ``count``
        column, and a numeric column maps to its population total. ``{"stype":
        {"E": 4421, "H": 755, "M": 1018}, "api99": 3914069}`` is R's ``calibrate(d,
        ~stype + api99, c(6194, 755, 1018, 3914069))``. Without a categorical column no
        intercept is added (the weights are calibrated to the numeric totals only).
    method : {"linear", "raking", "logit"}
        Distance function: linear (GREG), raking (multiplicative, g > 0) or logit
        (g in the open interval of ``bounds``).
    bounds : (lower, upper), optional
        Bounds on the g-weights (final / input weight); required for logit.
    max_iter : int
        Newton iterations.

    Returns
    -------
    A new design whose weighted totals of the auxiliaries equal ``totals``, with the
    step on ``history`` and carried into the variance.

    Notes
    -----
    Deville and Särndal (1992): ``w_i = d_i g_i`` with ``g_i = F(x_i' lambda)`` and
    ``sum_i d_i g_i x_i = T``. Linear: ``g_i = 1 + x_i' (X' D X)^{-1} (T - X' d)``.
    Raking and logit and any bounded fit use Newton's method (R survey's ``grake``),
    stopping when every ``|T_k - sum w g x_k| / (1 + |T_k|) < 1e-7``.

    Taylor variance uses the calibration residuals (R survey's g-calibration):
    ``e_i = u_i - w_i x_i' (X' D X)^{-1} sum_j x_j u_j / g_j``. A replicate design
    re-calibrates every replicate: when all auxiliaries are categorical, the
    g-factors of all replicates are computed at once from the replicate weighted
    counts of the cells; with a continuous auxiliary, in blocks of replicate columns.

    A linear calibration may produce negative weights: a CalibrationWarning is
    raised and recorded on the step; use ``bounds`` (or ``method="raking"``) to
    prevent them.

    References
    ----------
    Deville, J.-C. and Särndal, C.-E. (1992). Calibration estimators in survey
    sampling. JASA 87, 376-382.
    Lumley, T. survey R package, ``calibrate``, ``grake``, ``svyrecvar``.

    Examples
    --------
    >>> import pandas as pd
    >>> import flestimate
    >>> data = pd.read_csv("data/sample/fl_survey.csv")
    >>> design = flestimate.SurveyDesign(data, weight="w_final", strata="stratum", psu="psu",
    ...                                  nest=True)
    >>> cal = flestimate.calibrate(design, totals={"sex": {1: 92000, 2: 94186}},
    ...                            method="raking")
    >>> cal.weights.groupby(data["sex"]).sum().round().tolist()
    [92000.0, 94186.0]
    """
    bnd = _check_bounds(method, bounds)
    if not isinstance(max_iter, (int, np.integer)) or max_iter < 1:
        raise ValidationError(f"max_iter={max_iter!r} must be a positive integer.")
    parsed = population_totals(totals)
    frame = design_frame(design)
    w = current_weights(design)
    model = _Model(frame, w, parsed)
    T = model.totals

    if model.only_categorical:
        codes = [c for c, _ in model.cat_blocks]
        combo, cells = cross_cells(codes, model.sizes)
        Xc = model.cell_matrix(cells)
        wc = np.bincount(combo, weights=w, minlength=Xc.shape[0])
        fit = calibration_g(Xc, wc[None, :], T, method=method, bounds=bnd, max_iter=max_iter)
        g = fit.g[0][combo]
    else:
        combo = None
        Xc = model.row_matrix()
        fit = calibration_g(Xc, w[None, :], T, method=method, bounds=bnd, max_iter=max_iter)
        g = fit.g[0]
    if not fit.converged[0]:
        raise _fail(model, fit, 0, max_iter, bounds, "")
    new_w = w * g
    diagnostics = []
    negative = (new_w < 0) & (w > 0)
    if negative.any():
        diagnostics.append(
            warn(
                "negative_weights",
                f"linear calibration produced {int(negative.sum())} negative weights (rows "
                f"{first_values(frame.index[np.flatnonzero(negative)[:6]])}; smallest g = "
                f"{g.min():.3g}). Estimates remain unbiased but are unstable; use "
                f"bounds=(lower, upper) or method='raking' to keep the weights positive.",
                CalibrationWarning,
                rows=int(negative.sum()),
            )
        )

    # Taylor residualiser: s = w, phi = 1/g, A = (X' D X)^-1 (D = input weights)
    positive = w > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        phi = np.where(positive, 1.0 / np.where(g != 0, g, np.nan), 0.0)
    if np.any(positive & ~np.isfinite(phi)):
        phi = np.where(np.isfinite(phi), phi, 0.0)
    if combo is not None:
        tmat = (Xc * wc[:, None]).T @ Xc
        if Xc.shape[0] <= _COMBO_RESIDUAL_MAX:
            # on the cells of the cross of the categorical columns: (C, C) operator
            A = Xc @ scaled_pinv(tmat) @ Xc.T
            resid = Residualizer(X=combo, s=new_w, phi=phi, A=A)
        else:
            rows = sp.csr_matrix(Xc)[combo]
            resid = Residualizer(X=rows, s=new_w, phi=phi, A=scaled_pinv(tmat))
    else:
        tmat = (Xc * w[:, None]).T @ Xc
        resid = Residualizer(X=Xc, s=new_w, phi=phi, A=scaled_pinv(tmat))

    new_rep = None
    rep_info = None
    if is_replicate(design):
        # is_replicate() is a run-time check that mypy cannot narrow the union with
        R = int(design.n_replicates)  # type: ignore[union-attr]
        if combo is not None:
            # all replicates at once from the PSU x cell weighted counts
            rtab = replicate_cell_totals(design, combo, Xc.shape[0])  # (R, C)
            rfit = calibration_g(Xc, rtab, T, method=method, bounds=bnd, max_iter=max_iter)
            new_rep = replicate_apply(design, combo, rfit.g)
            parts = [rfit]
        else:
            new_rep = np.empty((w.size, R))
            parts = []
            for start, block in replicate_blocks(design, _REPLICATE_BLOCK):
                rf = calibration_g(Xc, block.T, T, method=method, bounds=bnd, max_iter=max_iter)
                new_rep[:, start : start + block.shape[1]] = block * rf.g.T
                parts.append(rf)
        conv = np.concatenate([p.converged for p in parts])
        if not conv.all():
            b = int(np.flatnonzero(~conv)[0])
            blk_i, within = divmod(b, _REPLICATE_BLOCK) if combo is None else (0, b)
            raise _fail(model, parts[blk_i], within, max_iter, bounds, f" of replicate {b + 1}")
        neg_rep = new_rep < 0
        if neg_rep.any():
            diagnostics.append(
                warn(
                    "negative_replicate_weights",
                    f"calibration produced {int(neg_rep.sum())} negative replicate weights in "
                    f"{int(neg_rep.any(axis=0).sum())} replicates. Use bounds=(lower, upper) "
                    "or method='raking' to keep them positive.",
                    CalibrationWarning,
                )
            )
        rep_info = {
            "replicates": int(R),
            "converged": True,
            "max_iterations": int(max(int(p.iterations.max()) for p in parts)),
            "max_discrepancy": float(max(float(p.discrepancy.max()) for p in parts)),
        }
    step = WeightingStep(
        step="calibrate",
        parameters={
            "totals": dict(zip(model.names, T.tolist(), strict=False)),
            "method": method,
            "bounds": None if bnd is None else list(bnd),
            "max_iter": int(max_iter),
        },
        iterations=int(fit.iterations[0]),
        converged=True,
        discrepancy=float(fit.discrepancy[0]),
        before=weight_stats(w),
        after=weight_stats(new_w),
        replicates=rep_info,
        diagnostics=tuple(diagnostics),
    )
    return derive(design, new_w, step, residualizer=resid, replicate_weights=new_rep)
