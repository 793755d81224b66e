"""Domains (``by=``): integer codes for crossed classifications, never dropping rows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from flestimate.errors import EstimationError, first_values

__all__ = ["Domains", "encode_domains"]


@dataclass(frozen=True, eq=False)
class Domains:
    """Domain codes of the rows and the table of domain keys.

    Attributes
    ----------
    codes : ndarray (n,) int64
        Domain 0..D-1 of each row; -1 for rows outside every domain (a missing
        value in a ``by`` column).
    keys : pandas.DataFrame
        One row per domain with the ``by`` columns (empty frame with one row when
        there is no ``by``).
    columns : tuple of str
        The ``by`` columns.
    """

    codes: np.ndarray
    keys: pd.DataFrame
    columns: tuple[str, ...]

    @property
    def n_domains(self) -> int:
        return len(self.keys)


def _by_list(by: str | Sequence[str] | None) -> list[str]:
    if by is None:
        return []
    if isinstance(by, str):
        return [by]
    out = list(by)
    for b in out:
        if not isinstance(b, str):
            raise EstimationError(
                f"by= must be a column name or a list of column names; found {b!r}. "
                "Pass column names as strings."
            )
    return out


def encode_domains(frame: pd.DataFrame, by: str | Sequence[str] | None) -> Domains:
    """Encode the crossed domains of the ``by`` columns.

    The domains are the cross-classification of every categorical column's
    categories (used or not) with the combinations of the other columns' values
    present in the data; a domain without respondents yields a row flagged
    ``empty_domain`` by the estimators. Domains are sorted by the ``by`` columns
    (categories in their order, other values sorted). Rows with a missing ``by``
    value belong to no domain (as in R's ``svyby``).
    """
    cols = _by_list(by)
    n = len(frame)
    if not cols:
        return Domains(np.zeros(n, dtype=np.int64), pd.DataFrame(index=pd.RangeIndex(1)), ())
    missing = [c for c in cols if c not in frame.columns]
    if missing:
        raise EstimationError(
            f"by= column {missing[0]!r} is not in the data (columns: "
            f"{first_values(map(str, frame.columns), 10)}). Check the spelling."
        )
    if len(set(cols)) != len(cols):
        raise EstimationError(f"by= names a column twice ({cols}). Name each column once.")
    is_cat = [isinstance(frame[c].dtype, pd.CategoricalDtype) for c in cols]
    codes_list: list[np.ndarray] = []
    levels_list: list[pd.Index] = []
    for c, cat in zip(cols, is_cat, strict=True):
        col = frame[c]
        if cat:
            codes = col.cat.codes.to_numpy().astype(np.int64)
            levels = pd.Index(col.cat.categories)
        else:
            fast = _small_integer_codes(col)
            if fast is None:
                codes, levels = pd.factorize(col, sort=True)
                codes = codes.astype(np.int64)
                levels = pd.Index(levels)
            else:
                codes, levels = fast
        codes_list.append(codes)
        levels_list.append(levels)
    outside = np.zeros(n, dtype=bool)
    for codes in codes_list:  # a loop over the by columns
        if codes.size and int(codes.min()) < 0:
            outside |= codes < 0
    any_outside = bool(outside.any())
    # grid dimensions: every categorical column on its own (all categories, used or not),
    # the other columns jointly (their observed combinations)
    noncat = [j for j, cat in enumerate(is_cat) if not cat]
    dims: list[np.ndarray] = []  # per dimension: (G_dim, n_cols) per-column codes
    dim_cols: list[list[int]] = []
    row_dim_codes: list[np.ndarray] = []
    for j, cat in enumerate(is_cat):
        if cat:
            size = len(levels_list[j])
            dims.append(np.arange(size)[:, None])
            dim_cols.append([j])
            row_dim_codes.append(np.maximum(codes_list[j], 0))
    if noncat:
        # mixed-radix code of the non-categorical columns, then its observed values
        nc_sizes = [max(len(levels_list[j]), 1) for j in noncat]
        mixed = np.maximum(codes_list[noncat[0]], 0)
        for j, size in zip(noncat[1:], nc_sizes[1:], strict=True):
            mixed = mixed * size + np.maximum(codes_list[j], 0)
        span = int(np.prod(nc_sizes, dtype=np.int64))
        inside = mixed[~outside] if any_outside else mixed
        if span <= 4 * n + 1024:
            present = np.flatnonzero(np.bincount(inside, minlength=span))
            lookup = np.full(span, -1, dtype=np.int64)
            lookup[present] = np.arange(present.size)
            inv = lookup[inside]
        else:
            present, inv = np.unique(inside, return_inverse=True)
        if any_outside:
            joint = np.zeros(n, dtype=np.int64)
            joint[~outside] = inv.ravel()
        else:
            joint = inv.ravel().astype(np.int64, copy=False)
        uniq = np.empty((present.size, len(noncat)), dtype=np.int64)
        rem = present.copy()
        for pos in range(len(noncat) - 1, -1, -1):
            uniq[:, pos] = rem % nc_sizes[pos]
            rem = rem // nc_sizes[pos]
        dims.append(uniq)
        dim_cols.append(noncat)
        row_dim_codes.append(joint)
    sizes = [d.shape[0] for d in dims]
    total = int(np.prod(sizes, dtype=np.int64))
    # per grid point, the code of each column
    grid_codes = np.zeros((total, len(cols)), dtype=np.int64)
    rem = np.arange(total)
    for d in range(len(dims) - 1, -1, -1):
        idx = rem % max(sizes[d], 1)
        rem = rem // max(sizes[d], 1)
        for pos, j in enumerate(dim_cols[d]):
            grid_codes[:, j] = dims[d][idx, pos]
    row_grid = row_dim_codes[0]
    for d in range(1, len(dims)):  # a loop over the grid dimensions (by columns)
        row_grid = row_grid * max(sizes[d], 1) + row_dim_codes[d]
    # order domains by the by columns, in their order
    order = np.lexsort(grid_codes.T[::-1]) if total else np.arange(0)
    if not total:
        dcodes = np.full(n, -1, dtype=np.int64)
    else:
        if np.array_equal(order, np.arange(total)):
            dcodes = row_grid  # the grid is already in the order of the by columns
        else:
            rank = np.empty(total, dtype=np.int64)
            rank[order] = np.arange(total)
            dcodes = rank[row_grid]
        if any_outside:
            dcodes = np.where(outside, -1, dcodes)
    grid_codes = grid_codes[order]
    keys = {}
    for j, c in enumerate(cols):
        part = grid_codes[:, j]
        if is_cat[j]:
            keys[c] = pd.Categorical.from_codes(part, dtype=frame[c].dtype)
        else:
            keys[c] = levels_list[j].take(part)
    return Domains(dcodes.astype(np.int64, copy=False), pd.DataFrame(keys), tuple(cols))


# widest range of an integer by column coded by offset instead of a hash table
_MAX_INTEGER_SPAN = 1 << 16


def _small_integer_codes(col: pd.Series) -> tuple[np.ndarray, pd.Index] | None:
    """Codes ``value - min`` and levels ``min..max`` of an integer column whose values
    span a small range (no missing values are possible in a NumPy integer column).

    Levels that no row takes are harmless: domains are the observed combinations.
    Returns None for any other column (coded by ``pandas.factorize``).
    """
    dtype = col.dtype
    if not (isinstance(dtype, np.dtype) and dtype.kind in "iu") or len(col) == 0:
        return None
    v = col.to_numpy()
    lo, hi = int(v.min()), int(v.max())
    if hi - lo >= _MAX_INTEGER_SPAN:
        return None
    codes = v.astype(np.int64, copy=False) - lo  # a new array: never the caller's column
    return codes, pd.Index(np.arange(lo, hi + 1).astype(dtype))
