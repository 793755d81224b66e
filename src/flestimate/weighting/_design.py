"""How a weighting step reads a design and returns the re-weighted copy.

The one place of :mod:`flestimate.weighting` that reads a design, through its
public members: its data, current weights, replicate weights, calibration
residualisers (``design.residualizers``) and weighting history (``design.history``),
and derives the new design (``SurveyDesign.evolve``, ``ReplicateDesign.with_weights``).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from flestimate.design.calibration_hook import Residualizer
from flestimate.errors import CalibrationError, Diagnostic

__all__ = [
    "WeightingStep",
    "current_weights",
    "derive",
    "design_frame",
    "unit_counts",
    "replicate_apply",
    "replicate_cell_totals",
    "replicate_weight_matrix",
    "weight_stats",
]


class NonresponseResidualizer(Residualizer):
    """The residualiser of a weighting-class nonresponse adjustment."""


def weight_stats(w: np.ndarray) -> dict[str, float]:
    """Kish's summary of a weight vector (rows with a positive weight).

    Notes
    -----
    With the n positive weights: ``CV = sd(w) / mean(w)`` (population sd),
    Kish's design effect due to weighting ``deff = 1 + CV^2 = n sum w^2 / (sum w)^2``
    and the effective sample size ``n_eff = (sum w)^2 / sum w^2 = n / deff``.

    References
    ----------
    Kish, L. (1965). Survey Sampling. Wiley, section 11.7.
    """
    w = np.asarray(w, dtype=np.float64)
    n = int(np.count_nonzero(w > 0))
    pos = w if n == w.size else w[w > 0]
    if n == 0:
        nan = float("nan")
        return {
            "n": 0,
            "n_zero": int(w.size),
            "sum": 0.0,
            "min": nan,
            "max": nan,
            "max_min_ratio": nan,
            "cv": nan,
            "deff": nan,
            "n_effective": nan,
        }
    total = float(pos.sum())
    mean = total / n
    sum_sq = float(np.dot(pos, pos))
    # population variance from the sums (exact enough: weights are positive, CV moderate)
    var = max(sum_sq / n - mean * mean, 0.0)
    cv = float(np.sqrt(var) / mean)
    return {
        "n": n,
        "n_zero": int(w.size - n),
        "sum": total,
        "min": float(pos.min()),
        "max": float(pos.max()),
        "max_min_ratio": float(pos.max() / pos.min()),
        "cv": cv,
        "deff": 1.0 + cv**2,
        "n_effective": total**2 / sum_sq,
    }


@dataclass(frozen=True, eq=False)
class WeightingStep:
    """One entry of ``design.history``: what a weighting step did.

    Attributes
    ----------
    step : str
        ``"adjust_nonresponse"``, ``"poststratify"``, ``"rake"``, ``"calibrate"`` or
        ``"trim_weights"``.
    parameters : dict
        The settings and population totals used.
    iterations : int or None
        Iterations (raking sweeps or Newton steps) of the full-sample fit.
    converged : bool or None
    discrepancy : float or None
        Largest remaining relative discrepancy to the totals.
    before, after : dict
        :func:`weight_stats` of the weights before and after the step.
    replicates : dict or None
        For a replicate design: number re-weighted, largest iteration count and
        discrepancy over the replicates.
    diagnostics : tuple of Diagnostic
        Warnings raised by the step (negative weights, ...).
    """

    step: str
    parameters: dict[str, Any]
    iterations: int | None
    converged: bool | None
    discrepancy: float | None
    before: dict[str, float]
    after: dict[str, float]
    replicates: dict[str, Any] | None = None
    diagnostics: tuple[Diagnostic, ...] = field(default_factory=tuple)

    def as_dict(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "parameters": self.parameters,
            "iterations": self.iterations,
            "converged": self.converged,
            "discrepancy": self.discrepancy,
            "before": self.before,
            "after": self.after,
            "replicates": self.replicates,
            "diagnostics": [d.as_dict() for d in self.diagnostics],
        }


def design_frame(design: Any) -> pd.DataFrame:
    return design.data


def current_weights(design: Any) -> np.ndarray:
    return np.asarray(design.structure.weights, dtype=np.float64)


def unit_counts(design: Any) -> np.ndarray:
    """The respondents each row stands for (n,): the design's ``frequency=`` column
    (grouped data), else ones."""
    s = design.structure
    freq = s.frequency
    return np.ones(s.n) if freq is None else np.asarray(freq, dtype=np.float64)


def is_replicate(design: Any) -> bool:
    return hasattr(design, "replicate_weight_blocks")


def replicate_weight_matrix(design: Any) -> np.ndarray | None:
    """Replicate analysis weights (n, R) of a ReplicateDesign, else None."""
    if not is_replicate(design):
        return None
    n = design.structure.n
    W = np.empty((n, design.n_replicates))
    for start, block in design.replicate_weight_blocks(64):
        W[:, start : start + block.shape[1]] = block
    return W


def replicate_cell_totals(design: Any, cells: np.ndarray, n_cells: int) -> np.ndarray:
    """Replicate weighted counts of cells, (R, C), from the unit x cell totals.

    The replicate weight of row i is ``w_i f[r, unit(i)]`` (``design.factors``), so
    the replicate totals of all cells are one product ``f (R, P) @ T (P, C)`` with
    ``T[p, c] = sum_{i in p, c} w_i``: no n x R matrix is formed.
    """
    s = design.structure
    P = s.n_psus
    T = np.bincount(s.psu * n_cells + cells, weights=s.weights, minlength=P * n_cells)
    return np.asarray(design.factors @ T.reshape(P, n_cells))


def replicate_apply(design: Any, cells: np.ndarray, G: np.ndarray) -> np.ndarray:
    """New replicate weights ``w_i f[r, unit(i)] G[r, cell(i)]`` (n, R)."""
    s = design.structure
    Ft = np.ascontiguousarray(design.factors.T)  # (P, R)
    Gt = np.ascontiguousarray(G.T)  # (C, R)
    out = np.empty((s.n, Ft.shape[1]))
    step = 65536  # rows at a time: temporaries stay small
    for start in range(0, s.n, step):
        rows = slice(start, min(s.n, start + step))
        blk = Ft[s.psu[rows]]
        blk *= Gt[cells[rows]]
        blk *= s.weights[rows, None]
        out[rows] = blk
    return out


def replicate_blocks(design: Any, size: int) -> Any:
    """Blocks ``(start, (n, b))`` of replicate analysis weights."""
    return design.replicate_weight_blocks(size)


def warn(code: str, message: str, category: type[Warning], **context: Any) -> Diagnostic:
    warnings.warn(message, category, stacklevel=4)
    return Diagnostic(code, message, "warning", tuple(context.items()))


def derive(
    design: Any,
    weights: np.ndarray,
    step: WeightingStep,
    *,
    residualizer: Any | None = None,
    replicate_weights: np.ndarray | None = None,
) -> Any:
    """A copy of ``design`` with new final weights, one more residualiser and history entry."""
    weights = np.asarray(weights, dtype=np.float64)
    if not np.all(np.isfinite(weights)):
        bad = np.flatnonzero(~np.isfinite(weights))
        raise CalibrationError(
            f"{step.step} produced {bad.size} non-finite weights (rows "
            f"{', '.join(map(str, design.data.index[bad[:5]]))}). Check the totals and cells."
        )
    if is_replicate(design):
        if replicate_weights is None:
            raise CalibrationError(f"{step.step}: a replicate design needs re-weighted replicates.")
        return design.with_weights(weights, replicate_weights, step=step)
    residualizers = tuple(design.residualizers)
    if residualizer is not None:
        extra = residualizer if isinstance(residualizer, tuple) else (residualizer,)
        residualizers = _chain(residualizers, extra)
    history = tuple(design.history) + (step,)
    return design.evolve(weights=weights, residualizers=residualizers, history=history)


def _chain(existing: tuple, extra: tuple) -> tuple:
    """The residualiser chain after a new step: the new step's residualisers first.

    The engine applies ``design.residualizers`` in order. The linearisation of a
    chain of weighting steps ``w0 -> w1 -> ... -> wk`` applies the chain rule from
    the outside in: the score with the final weights is residualised for the last
    step first (giving the score in terms of the weights before it), then for the
    step before, and so on. R survey's ``svyrecvar`` applies its ``postStrata`` in the
    order they were added instead; for a single step both agree, for chains R's
    order leaves a non-zero SE on totals fixed by the last calibration (e.g. 56.7
    for the stype E total of apiclus1 raked, then calibrated to stype and api99).
    """
    return tuple(extra) + tuple(existing)
