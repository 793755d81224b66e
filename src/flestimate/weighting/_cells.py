"""Weighting cells: encoding sample columns and matching them to population counts.

Shared by post-stratification, raking, calibration and the nonresponse adjustment.
Every check names the margin (column or columns), what was found and the fix.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from numbers import Real
from typing import Any

import numpy as np
import pandas as pd

from flestimate.errors import CalibrationError, first_values

__all__ = [
    "Margin",
    "encode_columns",
    "parse_margin",
    "parse_margins",
    "check_grand_totals",
]

COUNT_COLUMN = "count"


@dataclass(frozen=True, eq=False)
class Margin:
    """Population counts of the cells of one margin (one column or a cross of columns).

    Attributes
    ----------
    name : str
        Name used in messages (the column, or the columns joined by " x ").
    columns : tuple of str
        Sample columns that define the cells.
    levels : pandas.Index
        Cell labels (a MultiIndex for crossed columns), in the order of ``counts``.
    counts : ndarray (q,) float64
        Population count of each cell.
    """

    name: str
    columns: tuple[str, ...]
    levels: pd.Index
    counts: np.ndarray

    @property
    def total(self) -> float:
        return float(self.counts.sum())

    def as_dict(self) -> dict[str, Any]:
        labels = [
            " x ".join(map(str, lv)) if isinstance(lv, tuple) else _plain(lv) for lv in self.levels
        ]
        return {
            "columns": list(self.columns),
            "counts": dict(zip(labels, self.counts.tolist(), strict=False)),
        }


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    return value


def _check_counts(name: str, levels: pd.Index, counts: np.ndarray) -> None:
    bad = ~np.isfinite(counts) | (counts < 0)
    if bad.any():
        raise CalibrationError(
            f"population counts of margin {name!r} must be finite and >= 0; found "
            f"{int(bad.sum())} invalid (levels {first_values(levels[bad])}). Correct the totals."
        )
    if levels.has_duplicates:
        dup = levels[levels.duplicated()].unique()
        raise CalibrationError(
            f"population counts of margin {name!r} list a level more than once "
            f"({first_values(dup)}). Give one count per level."
        )


def parse_margin(name: str, spec: Any) -> Margin:
    """Read one margin's population counts.

    ``spec`` is a mapping ``{level: count}``, a pandas Series indexed by level, or a
    DataFrame with the cell columns and a ``count`` column (crossed cells). For a
    mapping or a Series, ``name`` is the sample column.
    """
    if isinstance(spec, pd.DataFrame):
        if COUNT_COLUMN not in spec.columns:
            raise CalibrationError(
                f"population counts of margin {name!r} are a DataFrame without a "
                f"{COUNT_COLUMN!r} column (columns: {first_values(map(str, spec.columns))}). "
                f"Name the column of population counts {COUNT_COLUMN!r}."
            )
        columns = tuple(str(c) for c in spec.columns if c != COUNT_COLUMN)
        if not columns:
            raise CalibrationError(
                f"population counts of margin {name!r} have no cell columns besides "
                f"{COUNT_COLUMN!r}. Add the columns that define the cells."
            )
        counts = pd.to_numeric(spec[COUNT_COLUMN], errors="coerce").to_numpy(dtype=np.float64)
        if len(columns) == 1:
            levels = pd.Index(spec[columns[0]].to_numpy())
        else:
            levels = pd.MultiIndex.from_frame(spec[list(columns)])
        label = " x ".join(columns)
    elif isinstance(spec, pd.Series):
        columns = (str(name),)
        levels = pd.Index(spec.index.to_numpy())
        counts = pd.to_numeric(spec, errors="coerce").to_numpy(dtype=np.float64)
        label = str(name)
    elif isinstance(spec, Mapping):
        columns = (str(name),)
        levels = pd.Index(list(spec.keys()), tupleize_cols=False)
        try:
            counts = np.array([float(v) for v in spec.values()], dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise CalibrationError(
                f"population counts of margin {name!r} must be numbers; found "
                f"{first_values(spec.values())}. Give {{level: count}}."
            ) from exc
        label = str(name)
    else:
        raise CalibrationError(
            f"population counts of margin {name!r} must be a {{level: count}} dict, a Series "
            f"or a DataFrame with a {COUNT_COLUMN!r} column; found {type(spec).__name__}."
        )
    _check_counts(label, levels, counts)
    return Margin(name=label, columns=columns, levels=levels, counts=counts)


def parse_margins(margins: Any, parameter: str) -> list[Margin]:
    """Read ``{name: spec}`` margins (see :func:`parse_margin`)."""
    if not isinstance(margins, Mapping) or not margins:
        raise CalibrationError(
            f"{parameter}= must be a non-empty dict of margin name -> population counts; "
            f"found {type(margins).__name__ if not isinstance(margins, Mapping) else 'an empty dict'}."
        )
    return [parse_margin(str(k), v) for k, v in margins.items()]


def check_grand_totals(margins: list[Margin], parameter: str, rtol: float = 1e-6) -> None:
    """Margins calibrated together must describe the same population size."""
    if len(margins) < 2:
        return
    totals = np.array([m.total for m in margins])
    ref = totals[0]
    bad = np.abs(totals - ref) > rtol * max(abs(ref), 1.0)
    if bad.any():
        listing = ", ".join(f"{m.name!r}: {m.total:g}" for m in margins)
        raise CalibrationError(
            f"the margins of {parameter}= have different grand totals ({listing}). Every margin "
            f"counts the same population; correct the counts so that their sums agree."
        )


def _sample_column(frame: pd.DataFrame, column: str, margin: str) -> pd.Series:
    if column not in frame.columns:
        raise CalibrationError(
            f"margin {margin!r} uses column {column!r}, which is not in the data (columns: "
            f"{first_values(map(str, frame.columns), 10)}). Check the spelling."
        )
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
        values = cols[0]
        if isinstance(values.dtype, pd.CategoricalDtype):
            values = values.astype(values.cat.categories.dtype)
        sample_levels, inverse = _factorize(values)
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
