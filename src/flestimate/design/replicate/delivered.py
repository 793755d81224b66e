"""Replicate weights delivered as columns (R's ``svrepdesign`` with combined weights).

The columns are read and checked here (names, numbers, missing or negative values),
R's default scale and rscales are set by method, and rows whose replicate factors
``W[i, r] / w[i]`` are identical (usually the rows of one PSU) are grouped once,
so that replicate totals are one BLAS product of group factors and group totals.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from flestimate.design.kernel import first_rows
from flestimate.design.replicate.registry import check_method
from flestimate.design.replicate.schemes import check_rho
from flestimate.design.structure import DesignStructure
from flestimate.errors import (
    DesignError,
    ValidationError,
    first_values,
    not_in_data,
    positive_number,
)

__all__ = [
    "check_df_value",
    "check_replicate_values",
    "group_rows",
    "group_structure",
    "replicate_columns",
    "replicate_matrix",
    "scales_for",
    "weight_values",
]


def replicate_columns(frame: pd.DataFrame, spec: Any, weight: str) -> list:
    if isinstance(spec, str):
        try:
            pattern = re.compile(spec)
        except re.error as exc:
            raise DesignError(
                f"replicate_weights={spec!r} is not a valid regular expression ({exc}). Pass "
                "a list of column names or a regular expression such as 'repw[0-9]+'."
            ) from None
        cols = [c for c in frame.columns if c != weight and pattern.search(str(c))]
        if not cols:
            raise DesignError(
                f"replicate_weights={spec!r} matches no column of the data (columns: "
                f"{first_values(map(str, frame.columns), 10)}). Check the pattern, or pass "
                "the list of replicate weight columns."
            )
        return cols
    if isinstance(spec, Sequence) and len(spec) > 0:
        cols = list(spec)
        missing = [c for c in cols if c not in frame.columns]
        if missing:
            more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
            raise DesignError(not_in_data(f"replicate weight column {missing[0]!r}{more}",
                                          missing, frame.columns, "Check the names."))
        if len(set(cols)) != len(cols):
            raise DesignError("replicate_weights names a column twice. Name each column once.")
        return cols
    raise DesignError(
        f"replicate_weights must be a list of column names or a regular expression; found {spec!r}."
    )


def weight_values(frame: pd.DataFrame, weight: str) -> np.ndarray:
    if not isinstance(weight, str) or weight not in frame.columns:
        raise DesignError(not_in_data(f"weight column {weight!r}", [weight], frame.columns))
    col = frame[weight]
    vals = pd.to_numeric(col, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    bad = ~np.isfinite(vals) | (vals <= 0)
    if bad.any():
        rows = first_values(frame.index[np.flatnonzero(bad)][:6])
        raise DesignError(
            f"weight column {weight!r} has {int(bad.sum())} missing, non-numeric, zero or "
            f"negative values (rows {rows}). Survey weights must be > 0; drop or correct "
            "these rows."
        )
    return vals


def replicate_matrix(frame: pd.DataFrame, cols: list) -> np.ndarray:
    nonnum = [
        c
        for c in cols
        if not pd.api.types.is_numeric_dtype(frame[c].dtype)
        or pd.api.types.is_bool_dtype(frame[c].dtype)
    ]
    if nonnum:
        raise DesignError(
            f"{len(nonnum)} replicate weight columns are not numeric (first: "
            f"{first_values(nonnum)}). Convert them to numbers."
        )
    return frame[cols].to_numpy(dtype=np.float64, na_value=np.nan)


def check_replicate_values(W: np.ndarray, cols: Sequence, index: pd.Index, h: np.ndarray) -> None:
    """Clear errors for missing, infinite or negative replicate weights.

    Fast path: a NaN makes ``min()`` NaN; an infinite value makes the row's random
    projections ``h`` non-finite.
    """
    if W.size == 0 or (W.min() >= 0 and np.isfinite(h).all()):
        return
    for bad, what, fix in (
        (
            ~np.isfinite(W),
            "missing or infinite",
            "fill them (a unit outside a replicate has weight 0)",
        ),
        (W < 0, "negative", "replicate weights must be >= 0; correct them"),
    ):
        if bad.any():
            per_col = bad.sum(axis=0)
            which = np.flatnonzero(per_col)
            rows = np.flatnonzero(bad.any(axis=1))
            raise DesignError(
                f"{which.size} replicate weight columns have {what} values "
                f"({int(per_col.sum())} in all; columns {first_values([cols[j] for j in which])}"
                f"; rows {first_values(index[rows][:6])}). {fix[0].upper() + fix[1:]}."
            )


def group_rows(
    W: np.ndarray, w: np.ndarray, cols: Sequence, index: pd.Index
) -> tuple[np.ndarray, np.ndarray]:
    """Check the replicate weights and group rows with identical factors ``W[i] / w[i]``.

    Returns ``(group (n,), factors (G, R))``. One pass over W gives three random
    projections of each row's factors (laid out for BLAS whatever W's memory order);
    they also reveal missing or infinite values (:func:`check_replicate_values`).
    Rows of one PSU usually follow each other in the file, so runs of consecutive
    rows with equal projections are the groups; otherwise two projections define
    the groups by hashing. All three projections of every row are then checked
    against its group's first row; when rows do not share factors each row is its
    own group. (Splitting one set of factors into several groups changes no total:
    it only costs time.)
    """
    n = W.shape[0]
    proj = np.random.default_rng(20261128).standard_normal((W.shape[1], 3))
    # rows a weighting step gave weight 0 (nonrespondents) have factors 0
    inv = np.divide(1.0, w, out=np.zeros(w.shape), where=w > 0)
    h = proj.T @ W.T if W.flags.f_contiguous else np.ascontiguousarray((W @ proj).T)
    h *= inv[None, :]
    check_replicate_values(W, cols, index, h)
    hn = h / (np.abs(h).max(axis=1, keepdims=True) + 1e-300)  # (3, n)
    for attempt in ("runs", "hash"):
        if attempt == "runs":
            step = np.zeros(n, dtype=bool)
            for row in hn:  # the three projections
                step[1:] |= np.abs(np.diff(row)) > 1e-10
            if np.count_nonzero(step) + 1 > n // 8:
                continue  # not sorted by PSU: hash the factors instead
            codes = np.cumsum(step)
            first = np.concatenate([[0], np.flatnonzero(step)])
        else:
            c0, _ = pd.factorize(np.round(hn[0], 10))
            c1, _ = pd.factorize(np.round(hn[1], 10))
            codes, uniq = pd.factorize(c0.astype(np.int64) * (int(c1.max()) + 1) + c1)
            if len(uniq) == n:
                break
            first = first_rows(codes, len(uniq))
        at = first[codes]
        if all((np.abs(row - row[at]) <= 1e-9).all() for row in hn):
            return codes.astype(np.int64), W[first] * inv[first][:, None]
    return np.arange(n, dtype=np.int64), W * inv[:, None]


def group_structure(
    group: np.ndarray, weights: np.ndarray, frequency: np.ndarray | None = None
) -> DesignStructure:
    G = int(group.max()) + 1 if group.size else 0
    return DesignStructure(
        n=int(group.size),
        weights=np.ascontiguousarray(weights, dtype=np.float64),
        psu=group,
        psu_stratum=np.zeros(G, dtype=np.int64),
        n_psu=np.array([G], dtype=np.int64),
        fpc1=np.zeros(1),
        stages=(),
        lonely_psu="fail",  # no lonely-PSU rule applies to given replicate weights
        stratum=np.zeros(group.size, dtype=np.int64),
        strata_labels=pd.Index([1]),
        psu_labels=pd.RangeIndex(G),
        frequency=frequency,
    )


def scales_for(
    method: str, R: int, scale: Any, rscales: Any, rho: Any
) -> tuple[float, np.ndarray, float | None]:
    """R's ``svrepdesign`` defaults of scale and rscales (combined weights)."""
    uses_rho = check_method(method, rho, from_design=False).uses_rho
    fixed = {"brr": "1/R", "fay": "1/(R (1 - rho)^2)", "sdr": "4/R"}
    if method in fixed and scale is not None:
        raise ValidationError(
            f"scale is fixed for method={method!r} ({fixed[method]}); drop scale=, or use "
            "method='other' with your own scale and rscales."
        )
    if method in ("brr", "fay", "sdr") and rscales is not None:
        raise ValidationError(
            f"rscales are 1 for method={method!r}; drop rscales=, or use method='other'."
        )
    if rscales is not None:
        rs = np.asarray(rscales, dtype=np.float64).reshape(-1)
        if rs.size == 1:
            rs = np.repeat(rs, R)
        if rs.size != R:
            raise ValidationError(
                f"rscales has {rs.size} values; give one per replicate ({R}) or one for all."
            )
        if not np.all(np.isfinite(rs)) or np.any(rs < 0):
            raise ValidationError("rscales must be finite and >= 0.")
    elif method == "jkn":
        raise ValidationError(
            "method='jkn' needs rscales=, one per replicate column: (1 - f_h)(n_h - 1)/n_h "
            "for the stratum h of the replicate (R requires them for combined weights)."
        )
    else:
        rs = np.ones(R)
    if scale is not None:
        sc = positive_number("scale", scale)
    elif method == "brr":
        sc = 1.0 / R
    elif method == "fay":
        if rho is None:
            raise ValidationError("method='fay' needs rho=, Fay's coefficient in [0, 1).")
        sc = 1.0 / (R * (1.0 - check_rho(rho)) ** 2)
    elif method == "jk1":
        sc = (R - 1.0) / R
    elif method in ("bootstrap", "subbootstrap"):
        sc = 1.0 / (R - 1.0)
    elif method == "sdr":
        sc = 4.0 / R
    else:  # jkn, other
        sc = 1.0
    r = check_rho(rho) if uses_rho else None
    return sc, rs, r


def check_df_value(df: Any) -> float | None:
    if df is None:
        return None
    try:
        d = float(df)
    except (TypeError, ValueError):
        d = np.nan
    if not (d > 0):
        raise ValidationError(f"df={df!r} must be a positive number (or None for R's rank rule).")
    return d
