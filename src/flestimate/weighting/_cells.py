"""Weighting cells: encoding sample columns and matching them to population counts.

Shared by post-stratification, raking and calibration; the counts are read by
:func:`flestimate.weighting.totals.population_totals`. Every check names the margin
(column or columns), what was found and the fix.
"""

from __future__ import annotations

from numbers import Real

import numpy as np
import pandas as pd

from flestimate.errors import CalibrationError, first_values, not_in_data
from flestimate.weighting.totals import Margin

__all__ = ["encode_columns"]


def _sample_column(frame: pd.DataFrame, column: str, margin: str) -> pd.Series:
    if column not in frame.columns:
        raise CalibrationError(not_in_data(
            f"margin {margin!r} uses column {column!r}, which", [column], frame.columns))
    col = frame[column]
    miss = col.isna().to_numpy()
    if miss.any():
        rows = frame.index[np.flatnonzero(miss)[:6]]
        raise CalibrationError(
            f"column {column!r} (margin {margin!r}) has {int(miss.sum())} missing values "
            f"(rows {first_values(rows)}). Every row needs a weighting cell; impute or "
            f"recode the missing values first."
        )
    return col


def _align_level_types(sample: pd.Index, population: pd.Index) -> pd.Index:
    """Population labels converted to the sample's kind when they are spelled differently.

    Counts read from JSON/YAML/CSV often carry numeric codes as strings ("1") or
    floats (1.0) while the data hold integers; such labels are matched by value.
    """
    if population.isin(sample).all() or len(sample) == 0:
        return population
    s_num = pd.api.types.is_numeric_dtype(sample.dtype)
    if s_num:
        conv = pd.to_numeric(pd.Series(population), errors="coerce")
        if conv.notna().all():
            vals = conv.to_numpy()
            if pd.api.types.is_integer_dtype(sample.dtype) and np.all(vals == np.round(vals)):
                vals = vals.astype(np.int64)
            return pd.Index(vals)
    elif sample.dtype == object or pd.api.types.is_string_dtype(sample.dtype):
        if all(isinstance(v, (int, np.integer, Real)) for v in population):
            return pd.Index([str(v) for v in population])
    return population


def encode_columns(frame: pd.DataFrame, margin: Margin) -> tuple[np.ndarray, np.ndarray, pd.Index]:
    """Cell code of every row (0..q-1, the order of ``margin.levels``).

    Returns ``(codes, counts, levels)``: ``codes`` (n,) int64, the population counts
    (q,) of the cells and their labels, with cells of zero population count that
    are absent from the sample removed. Raises CalibrationError when a sample category has no
    population count (or a zero one), or a category with a positive count is
    absent from the sample.
    """
    cols = [_sample_column(frame, c, margin.name) for c in margin.columns]
    if len(cols) == 1:
        sample_levels, inverse = _factorize(cols[0])
        pop_levels = _align_level_types(sample_levels, margin.levels)
    else:
        mi = pd.MultiIndex.from_arrays(
            [
                c.astype(c.cat.categories.dtype) if isinstance(c.dtype, pd.CategoricalDtype) else c
                for c in cols
            ]
        )
        codes_, uniq = pd.factorize(mi)
        sample_levels, inverse = uniq, codes_.astype(np.int64)
        pop_levels = pd.MultiIndex.from_arrays(
            [
                _align_level_types(
                    sample_levels.get_level_values(j).unique(), margin.levels.get_level_values(j)
                )
                for j in range(len(cols))
            ]
        )
    pos = pop_levels.get_indexer(sample_levels)
    counts = margin.counts
    missing = pos < 0
    if missing.any():
        raise CalibrationError(
            f"margin {margin.name!r}: {int(missing.sum())} categories present in the sample have no "
            f"population count ({first_values(sample_levels[missing])}). Add their counts to "
            f"the totals (population levels given: {first_values(pop_levels, 8)}), or recode "
            f"the sample."
        )
    zero_pop = counts[pos] == 0
    if zero_pop.any():
        raise CalibrationError(
            f"margin {margin.name!r}: categories {first_values(sample_levels[zero_pop])} are in "
            f"the sample but have a population count of 0. Correct the counts or collapse "
            f"these categories with a neighbour."
        )
    present = np.zeros(len(pop_levels), dtype=bool)
    present[pos] = True
    absent = ~present & (counts > 0)
    if absent.any():
        raise CalibrationError(
            f"margin {margin.name!r}: {int(absent.sum())} categories with a positive population "
            f"count are absent from the sample ({first_values(pop_levels[absent])}). Collapse "
            f"them with a neighbouring category in both the sample and the totals."
        )
    # keep only cells present in the sample, renumbered in population order
    keep = np.flatnonzero(present)
    renum = np.full(len(pop_levels), -1, dtype=np.int64)
    renum[keep] = np.arange(keep.size)
    codes = renum[pos][inverse]
    return codes, counts[keep].astype(np.float64), pop_levels[keep]


def _factorize(values: pd.Series) -> tuple[pd.Index, np.ndarray]:
    if isinstance(values.dtype, pd.CategoricalDtype):
        # the codes are there already: keep the categories present, no pass over text
        codes = values.cat.codes.to_numpy().astype(np.int64)
        present = np.bincount(codes, minlength=len(values.cat.categories)) > 0
        lookup = np.cumsum(present, dtype=np.int64) - 1
        return pd.Index(values.cat.categories[present]), lookup[codes]
    arr = values.to_numpy()
    if arr.dtype.kind in "iu" and arr.size:
        # integer codes (the usual case for survey data): one bincount, no hashing
        lo, hi = min(int(arr.min()), 0), int(arr.max())
        if hi - lo < 1_000_000:
            shifted = arr if lo == 0 else arr - lo
            present = np.bincount(shifted, minlength=hi - lo + 1) > 0
            lookup = np.cumsum(present, dtype=np.int64) - 1
            return pd.Index(np.flatnonzero(present) + lo), lookup[shifted]
    codes, uniq = pd.factorize(values, sort=False)
    return pd.Index(uniq), codes.astype(np.int64)
