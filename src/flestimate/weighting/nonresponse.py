"""Weighting-class nonresponse adjustment."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from flestimate.errors import CalibrationError, first_values, not_in_data
from flestimate.weighting._design import (
    NonresponseResidualizer,
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
from flestimate.weighting.poststratify import cell_sums

__all__ = ["adjust_nonresponse"]


def _responded(frame: pd.DataFrame, responded: str | ArrayLike) -> np.ndarray:
    if isinstance(responded, str):
        if responded not in frame.columns:
            raise CalibrationError(not_in_data(
                f"responded={responded!r}", [responded], frame.columns,
                "Name the response indicator column."))
        col = frame[responded]
        name = repr(responded)
    else:
        col = pd.Series(np.asarray(responded), index=frame.index)
        name = "responded="
        if len(col) != len(frame):
            raise CalibrationError(
                f"responded= has {len(col)} values for {len(frame)} rows. Give a column name "
                "or one value per row."
            )
    if col.isna().any():
        miss = np.flatnonzero(col.isna().to_numpy())
        raise CalibrationError(
            f"response indicator {name} has {miss.size} missing values (rows "
            f"{first_values(frame.index[miss[:6]])}). Code every sampled unit 1 (responded) "
            "or 0 (did not)."
        )
    if pd.api.types.is_bool_dtype(col.dtype):
        return col.to_numpy(dtype=bool)
    vals = pd.unique(col)
    ok = {0, 1}
    bad = [
        v for v in vals if not (isinstance(v, (int, float, np.integer, np.floating)) and v in ok)
    ]
    if bad:
        raise CalibrationError(
            f"response indicator {name} must be True/False or 1/0; found {first_values(bad)}. "
            "Recode it."
        )
    return col.to_numpy(dtype=np.float64) == 1


def _cells(
    frame: pd.DataFrame, cells: str | Sequence[str]
) -> tuple[np.ndarray, pd.Index, list[str]]:
    cols = (
        [cells] if isinstance(cells, str) else list(cells) if isinstance(cells, Sequence) else None
    )
    if not cols:
        raise CalibrationError(
            f"cells= must be a column name or a list of column names; found {cells!r}."
        )
    for c in cols:
        if c not in frame.columns:
            raise CalibrationError(not_in_data(f"cells= column {c!r}", [c], frame.columns))
        miss = frame[c].isna().to_numpy()
        if miss.any():
            raise CalibrationError(
                f"cells= column {c!r} has {int(miss.sum())} missing values (rows "
                f"{first_values(frame.index[np.flatnonzero(miss)[:6]])}). Every sampled unit "
                "needs a weighting class; impute or recode them."
            )
    if len(cols) == 1:
        codes, uniq = pd.factorize(frame[cols[0]], sort=True)
        return codes.astype(np.int64), pd.Index(uniq), cols
    codes, uniq = pd.factorize(pd.MultiIndex.from_frame(frame[cols]), sort=True)
    return codes.astype(np.int64), uniq, cols


def adjust_nonresponse(
    design: DesignT, *, responded: str | ArrayLike, cells: str | Sequence[str]
) -> DesignT:
    """Weighting-class nonresponse adjustment.

    Parameters
    ----------
    design : SurveyDesign or ReplicateDesign
        A design over all sampled units, respondents and nonrespondents (unchanged).
    responded : str or array-like
        Column (or values) marking respondents: True/1 responded, False/0 did not.
    cells : str or list of str
        Column(s) defining the weighting classes.

    Returns
    -------
    A new design in which the respondents of each class carry the weight of its
    nonrespondents and the nonrespondents keep their rows with weight 0 (so that
    PSUs, strata and the variance still see them), with the step on ``history``.

    Notes
    -----
    For class c with sampled weight total ``T_c = sum_{i in c} w_i`` and respondent
    total ``R_c = sum_{i in c, resp} w_i``: ``w_i <- w_i T_c / R_c`` for respondents,
    0 for nonrespondents. The adjusted total ``sum_c T_c Y_c / R_c`` is a smooth
    function of full-sample totals; its linearised score is
    ``e_i = u_i - (w*_i - w_i) sum_{j in c} u_j / T_c`` with ``w*`` the adjusted
    weight, a residualiser with ``s = w* - w``, ``phi = 1``, ``A = diag(1 / T_c)``.
    A replicate design is re-adjusted replicate by replicate.

    References
    ----------
    Kalton, G. and Flores-Cervantes, I. (2003). Weighting methods. Journal of
    Official Statistics 19, 81-97.
    Valliant, R., Dever, J. A. and Kreuter, F. (2018). Practical Tools for Designing
    and Weighting Survey Samples, 2nd ed., Springer, chapter 13.
    """
    frame = design_frame(design)
    w = current_weights(design)
    resp = _responded(frame, responded)
    codes, labels, cols = _cells(frame, cells)
    q = labels.size
    r = resp.astype(np.float64)
    T = cell_sums(codes, q, w)
    Rc = cell_sums(codes, q, w * r)
    empty = (T > 0) & (Rc <= 0)
    if empty.any():
        raise CalibrationError(
            f"weighting classes {cols} : {int(empty.sum())} classes have sampled units but no "
            f"respondent with a positive weight ({first_values(labels[empty])}). Collapse them "
            "with a neighbouring class."
        )
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(Rc > 0, T / np.where(Rc > 0, Rc, 1.0), 0.0)
    new_w = w * r * factor[codes]
    with np.errstate(divide="ignore"):
        invT = np.where(T > 0, 1.0 / np.where(T > 0, T, 1.0), 0.0)
    resid = NonresponseResidualizer(X=codes, s=new_w - w, phi=(w > 0).astype(np.float64), A=invT)

    new_rep = None
    rep_info = None
    if is_replicate(design):
        # replicate totals of (class, responded) cells: (R, 2q)
        both = replicate_cell_totals(design, codes * 2 + resp.astype(np.int64), 2 * q)
        rR = both[:, 1::2].T  # (q, R)
        rT = rR + both[:, 0::2].T
        bad = (rT > 0) & (rR <= 0)
        if bad.any():
            b = int(np.flatnonzero(bad.any(axis=0))[0])
            raise CalibrationError(
                f"weighting classes {cols}: in replicate {b + 1}, classes "
                f"{first_values(labels[bad[:, b]])} have no respondent with a positive replicate "
                "weight. Collapse them with a neighbouring class."
            )
        with np.errstate(divide="ignore", invalid="ignore"):
            rf = np.where(rR > 0, rT / np.where(rR > 0, rR, 1.0), 0.0)
        new_rep = replicate_apply(design, codes, rf.T) * r[:, None]
        rep_info = {"replicates": int(rf.shape[1])}
    step = WeightingStep(
        step="adjust_nonresponse",
        parameters={
            "responded": responded if isinstance(responded, str) else "<array>",
            "cells": cols,
            "respondents": int(resp.sum()),
            "nonrespondents": int((~resp).sum()),
            "factors": {
                (" x ".join(map(str, k)) if isinstance(k, tuple) else str(k)): float(f)
                for k, f in zip(labels, factor, strict=False)
            },
        },
        iterations=1,
        converged=True,
        discrepancy=None,
        before=weight_stats(w),
        after=weight_stats(new_w),
        replicates=rep_info,
    )
    return derive(design, new_w, step, residualizer=resid, replicate_weights=new_rep)
