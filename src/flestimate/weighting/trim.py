"""Weight trimming with redistribution of the trimmed amount."""

from __future__ import annotations

import numpy as np

from flestimate.errors import CalibrationError, ValidationError
from flestimate.weighting._design import (
    WeightingStep,
    current_weights,
    derive,
    replicate_weight_matrix,
    weight_stats,
)
from flestimate.weighting._types import DesignT

__all__ = ["trim_weights"]

_MAX_ROUNDS = 1000


def _trim(W: np.ndarray, lower: float, upper: float, redistribute: bool) -> tuple[np.ndarray, int]:
    """Trim the columns of ``W`` (n, B); rows with weight 0 are left alone."""
    W = W.copy()
    active = W > 0
    rounds = 0
    while True:
        outside = active & ((W < lower) | (W > upper))
        if not outside.any():
            return W, rounds
        if rounds >= _MAX_ROUNDS:
            raise CalibrationError(
                f"trim_weights did not settle after {_MAX_ROUNDS} rounds of redistribution. "
                "Widen lower/upper."
            )
        rounds += 1
        clipped = np.where(active, np.clip(W, lower, upper), W)
        if redistribute:
            trimmed = (W - clipped).sum(axis=0)
            inside = active & ~outside
            n_in = inside.sum(axis=0)
            share = np.divide(trimmed, n_in, out=np.zeros_like(trimmed), where=n_in > 0)
            clipped = clipped + inside * share[None, :]
            W = clipped
        else:
            return clipped, rounds


def trim_weights(
    design: DesignT,
    *,
    lower: float | None = None,
    upper: float | None = None,
    redistribute: bool = True,
) -> DesignT:
    """Trim extreme weights to ``[lower, upper]``.

    Parameters
    ----------
    design : SurveyDesign or ReplicateDesign
        The input design (unchanged).
    lower, upper : float, optional
        Bounds on the final weights (not the g-weights). At least one is required.
    redistribute : bool
        Keep the sum of the weights: the amount trimmed is shared equally among the
        weights inside the bounds, repeating until every weight is within bounds
        (R survey's ``trimWeights(strict = TRUE)``). With False the weights are only
        clipped and their sum changes.

    Notes
    -----
    One round: ``w'_i = min(max(w_i, L), U)``, then every unit with ``L <= w_i <= U``
    receives ``sum_j (w_j - w'_j) / #inside``. Rows with weight 0 are not trimmed.
    The variance treats the trimmed weights as given (as R does); calibration
    residualisers of earlier steps are kept. A replicate design trims every
    replicate column by the same rule.

    References
    ----------
    Lumley, T. survey R package, ``trimWeights``.
    Potter, F. J. (1990). A study of procedures to identify and trim extreme sampling
    weights. Proceedings of the Survey Research Methods Section, ASA, 225-230.
    """
    if lower is None and upper is None:
        raise ValidationError("trim_weights needs lower= or upper= (bounds on the final weights).")
    lo = -np.inf if lower is None else float(lower)
    hi = np.inf if upper is None else float(upper)
    if not lo <= hi:
        raise ValidationError(f"lower={lower!r} must not exceed upper={upper!r}.")
    if lower is not None and lo < 0:
        raise ValidationError(f"lower={lower!r} must be >= 0: weights cannot be negative.")
    w = current_weights(design)
    pos = w > 0
    n = int(pos.sum())
    total = float(w.sum())
    if redistribute and not (n * lo <= total * (1 + 1e-12) and total <= n * hi * (1 + 1e-12)):
        raise CalibrationError(
            f"trim_weights cannot keep the sum of the weights ({total:g} over {n} rows, mean "
            f"{total / max(n, 1):g}) within lower={lower!r} and upper={upper!r}: the mean must lie "
            "between the bounds. Widen the bounds or use redistribute=False."
        )
    new_w, rounds = _trim(w[:, None], lo, hi, redistribute)
    new_w = new_w[:, 0]
    rep = replicate_weight_matrix(design)
    new_rep = None
    rep_info = None
    if rep is not None:
        new_rep, rrounds = _trim(rep, lo, hi, redistribute)
        rep_info = {"replicates": int(rep.shape[1]), "max_iterations": int(rrounds)}
    n_trimmed = int((pos & ((w < lo) | (w > hi))).sum())
    step = WeightingStep(
        step="trim_weights",
        parameters={
            "lower": lower,
            "upper": upper,
            "redistribute": bool(redistribute),
            "trimmed": n_trimmed,
        },
        iterations=int(rounds),
        converged=True,
        discrepancy=None,
        before=weight_stats(w),
        after=weight_stats(new_w),
        replicates=rep_info,
    )
    return derive(design, new_w, step, replicate_weights=new_rep)
