"""Reading the analysis variables of an estimator: column names, numeric values,
missing values (an error, or left out with ``na_rm``) and 0/1 indicators (one per
category of a categorical variable). Each column is read once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from flestimate._keys import blank_levels
from flestimate.errors import EstimationError, first_values, not_in_data

__all__ = [
    "column",
    "column_names",
    "indicator_columns",
    "missing_mask",
    "numeric_columns",
    "numeric_values",
    "ratio_columns",
]


def column_names(y: str | Sequence[str], what: str) -> list[str]:
    """The column names given as ``y`` (one name or a non-empty list of names)."""
    if isinstance(y, str):
        return [y]
    if isinstance(y, Sequence) and len(y) > 0 and all(isinstance(v, str) for v in y):
        return list(y)
    raise EstimationError(
        f"{what} must be a column name or a non-empty list of column names; found {y!r}."
    )


def column(frame: pd.DataFrame, name: str) -> pd.Series:
    """The analysis column ``name`` of the frame (a clear error when it is missing)."""
    if name not in frame.columns:
        raise EstimationError(
            not_in_data(f"analysis variable {name!r}", [name], frame.columns))
    return frame[name]


def _shown_rows(mask: np.ndarray, index: pd.Index) -> str:
    return first_values(index[np.flatnonzero(mask)][:6])


def numeric_values(col: pd.Series) -> np.ndarray:
    """The column as a numeric array: no copy for integer and float64 columns without
    missing values (the estimators read each column once)."""
    if isinstance(col.dtype, np.dtype) and col.dtype.kind in "iu":
        return col.to_numpy()
    if pd.api.types.is_bool_dtype(col.dtype):
        if isinstance(col.dtype, np.dtype):
            return col.to_numpy().view(np.uint8)
        return col.to_numpy(dtype=np.float64, na_value=np.nan)
    if not pd.api.types.is_numeric_dtype(col.dtype):
        conv = pd.to_numeric(col, errors="coerce")
        bad = conv.isna().to_numpy() & col.notna().to_numpy()
        if bad.any() or isinstance(col.dtype, pd.CategoricalDtype):
            vals = col[bad].unique()[:5] if bad.any() else col.dropna().unique()[:5]
            raise EstimationError(
                f"analysis variable {col.name!r} is not numeric ({int(bad.sum())} values cannot "
                f"be read as numbers; first: {first_values(vals)}). Convert it to numbers, or "
                "use proportion() for a categorical variable."
            )
        col = conv
    return col.to_numpy(dtype=np.float64, na_value=np.nan)


def missing_mask(values: np.ndarray, name: str, index: pd.Index, na_rm: bool) -> np.ndarray | None:
    """Rows with a value (None when every row has one); missing values are an error
    unless ``na_rm``."""
    if values.dtype.kind in "iub":
        return None
    miss = ~np.isfinite(values)
    if not miss.any():
        return None
    if not na_rm:
        raise EstimationError(
            f"analysis variable {name!r} has {int(miss.sum())} missing values (rows "
            f"{_shown_rows(miss, index)}). Pass na_rm=True to estimate from the rows with a value "
            "(the others stay in the design with zero contribution), or impute them."
        )
    return ~miss


def numeric_columns(
    frame: pd.DataFrame, names: list[str], na_rm: bool
) -> tuple[list[np.ndarray], list[np.ndarray | None]]:
    """Numeric analysis columns (missing values zeroed when ``na_rm``) and their masks of
    rows with a value (None when every row has one)."""
    ys, valid = [], []
    for name in names:
        v = numeric_values(column(frame, name))
        ok = missing_mask(v, name, frame.index, na_rm)
        ys.append(np.where(ok, v, 0.0) if ok is not None else v)
        valid.append(ok)
    return ys, valid


def ratio_columns(
    frame: pd.DataFrame, numerator: Any, denominator: Any, na_rm: bool
) -> tuple[list[str], list[str], list[np.ndarray], list[np.ndarray], list[np.ndarray | None]]:
    """Pairs of numerator and denominator columns (one denominator serves every
    numerator), with missing values zeroed in both when either is missing (``na_rm``).

    Returns the numerator names, the denominator names, the numerators, the
    denominators and the masks of rows with both values (None: every row).
    """
    nums = column_names(numerator, "numerator")
    dens = column_names(denominator, "denominator")
    if len(dens) == 1 and len(nums) > 1:
        dens = dens * len(nums)
    if len(nums) != len(dens):
        raise EstimationError(
            f"numerator has {len(nums)} columns and denominator {len(dens)}. Give one "
            "denominator, or one per numerator."
        )
    ys, xs, valid = [], [], []
    for a, b in zip(nums, dens, strict=False):
        va = numeric_values(column(frame, a))
        vb = numeric_values(column(frame, b))
        oka = missing_mask(va, a, frame.index, na_rm)
        okb = missing_mask(vb, b, frame.index, na_rm)
        if oka is None and okb is None:
            ok = None
        else:
            ok = (oka if oka is not None else True) & (okb if okb is not None else True)
        ys.append(np.where(ok, va, 0.0) if ok is not None else va)
        xs.append(np.where(ok, vb, 0.0) if ok is not None else vb)
        valid.append(ok)
    return nums, dens, ys, xs, valid


def indicator_columns(
    frame: pd.DataFrame, names: list[str], na_rm: bool
) -> tuple[list[np.ndarray], list[np.ndarray | None], list[tuple[str, Any]], bool]:
    """0/1 columns for proportions: one per binary variable, one per category otherwise."""
    ys, valid, labels = [], [], []
    has_category = False
    for name in names:
        col = column(frame, name)
        is_cat = isinstance(col.dtype, pd.CategoricalDtype)
        is_str = pd.api.types.is_object_dtype(col.dtype) or pd.api.types.is_string_dtype(col.dtype)
        if is_cat or (is_str and not pd.api.types.is_bool_dtype(col.dtype)):
            if is_cat:
                codes = col.cat.codes.to_numpy()
                cats = list(col.cat.categories)
            else:
                codes, levels = pd.factorize(col, sort=True)
                cats = list(levels)
            # blank text ("" or spaces) is a missing value, as in the readers and by=
            blank = blank_levels(pd.Index(cats, dtype=object))
            miss = codes < 0
            if blank.any():
                miss = miss | blank[np.clip(codes, 0, None)] & (codes >= 0)
            if miss.any() and not na_rm:
                raise EstimationError(
                    f"analysis variable {name!r} has {int(miss.sum())} missing values (rows "
                    f"{_shown_rows(miss, frame.index)}). Pass na_rm=True to estimate from the rows with "
                    "a value, or recode the missing values as a category."
                )
            ok = ~miss if miss.any() else None
            for j, c in enumerate(cats):
                if blank[j]:
                    continue
                ys.append((codes == j).astype(np.float64))
                valid.append(ok)
                labels.append((name, c))
            has_category = True
            continue
        v = numeric_values(col)
        ok = missing_mask(v, name, frame.index, na_rm)
        vals = v if ok is None else v[ok]
        bad = (vals != 0) & (vals != 1)
        if bad.any():
            raise EstimationError(
                f"analysis variable {name!r} is not a 0/1 indicator: {int(bad.sum())} values are "
                f"neither 0 nor 1 (first: {first_values(np.unique(vals[bad])[:5])}). Recode it to "
                "0/1 (or True/False), or convert it to a categorical column to get one proportion "
                "per category."
            )
        ys.append(np.where(ok, v, 0.0) if ok is not None else v)
        valid.append(ok)
        labels.append((name, None))
    return ys, valid, labels, has_category
