"""Domains (``by=``): integer codes for crossed classifications, never dropping rows."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from flestimate._keys import blank_levels, clash_text, cross_codes, text_number_clashes
from flestimate.errors import Diagnostic, EstimationError, not_in_data

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
    missing : dict
        ``by`` column -> number of rows with a missing value in it (NaN or blank text);
        only columns that have some.
    n_outside : int
        Rows outside every domain (a missing value in at least one ``by`` column).
    """

    codes: np.ndarray
    keys: pd.DataFrame
    columns: tuple[str, ...]
    missing: dict[str, int] = field(default_factory=dict)
    n_outside: int = 0

    @property
    def n_domains(self) -> int:
        return len(self.keys)

    def missing_diagnostic(self) -> Diagnostic | None:
        """The ``missing_by`` diagnostic when rows are outside every domain, else None."""
        if not self.n_outside:
            return None
        per = ", ".join(f"{c!r}: {k:,}" for c, k in self.missing.items())
        message = (
            f"{self.n_outside:,} rows have a missing value in by={list(self.columns)} "
            f"({per}) and belong to no domain, so the domains do not add up to the total. "
            "Give the missing values a category of their own (e.g. "
            "frame[col].fillna('missing')) to estimate them as a domain."
        )
        return Diagnostic(
            "missing_by", message,
            context=(("rows", self.n_outside), ("columns", tuple(self.missing)),
                     ("rows_per_column", tuple(self.missing.values()))),
        )


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


def _column_codes(col: pd.Series, categorical: bool) -> tuple[np.ndarray, pd.Index, np.ndarray]:
    """Codes (-1: missing), levels and, per level, its category code (categoricals) of
    one ``by`` column. Blank text is missing; text and numbers alike are refused."""
    if categorical:
        codes = col.cat.codes.to_numpy().astype(np.int64)
        levels = pd.Index(col.cat.categories)
    else:
        fast = _small_integer_codes(col)
        if fast is not None:  # integers: no blank text, no text to clash
            codes, levels = fast
            return codes, levels, np.arange(len(levels))
        codes, uniques = pd.factorize(col, sort=True)
        codes = codes.astype(np.int64)
        levels = pd.Index(uniques)
    clashes = text_number_clashes(levels)
    if clashes:
        raise EstimationError(
            f"by= column {col.name!r} holds the same value as text and as a number: "
            f"{clash_text(clashes)}. They would be two domains. Store the column with one "
            f"type: pd.to_numeric(frame[{col.name!r}]) when the values are numbers, else text "
            "written the same way throughout."
        )
    blank = blank_levels(levels)
    if not blank.any():
        return codes, levels, np.arange(len(levels))
    # blank text is a missing value, not a domain: its rows get -1 (lookup[-1])
    keep = np.flatnonzero(~blank)
    lookup = np.full(len(levels) + 1, -1, dtype=np.int64)
    lookup[keep] = np.arange(keep.size)
    return lookup[codes], levels[keep], keep


def encode_domains(frame: pd.DataFrame, by: str | Sequence[str] | None) -> Domains:
    """Encode the crossed domains of the ``by`` columns.

    The domains are the cross-classification of every categorical column's
    categories (used or not) with the combinations of the other columns' values
    present in the data; a domain without respondents yields a row flagged
    ``empty_domain`` by the estimators. Domains are sorted by the ``by`` columns
    (categories in their order, other values sorted). Rows with a missing ``by``
    value (NaN, or blank text) belong to no domain (as in R's ``svyby``); they are
    counted in :attr:`Domains.missing`. A column holding one value both as text and
    as a number (``"1"`` and ``1``) is an EstimationError.
    """
    cols = _by_list(by)
    n = len(frame)
    if not cols:
        return Domains(np.zeros(n, dtype=np.int64), pd.DataFrame(index=pd.RangeIndex(1)), ())
    missing = [c for c in cols if c not in frame.columns]
    if missing:
        raise EstimationError(not_in_data(f"by= column {missing[0]!r}", missing, frame.columns))
    if len(set(cols)) != len(cols):
        raise EstimationError(f"by= names a column twice ({cols}). Name each column once.")
    is_cat = [isinstance(frame[c].dtype, pd.CategoricalDtype) for c in cols]
    codes_list: list[np.ndarray] = []
    levels_list: list[pd.Index] = []
    category_of: list[np.ndarray] = []  # per level, its category code (categoricals)
    for c, cat in zip(cols, is_cat, strict=True):  # a loop over the by columns
        codes, levels, cats = _column_codes(frame[c], cat)
        codes_list.append(codes)
        levels_list.append(levels)
        category_of.append(cats)
    outside = np.zeros(n, dtype=bool)
    missing_rows: dict[str, int] = {}
    for c, codes in zip(cols, codes_list, strict=True):  # a loop over the by columns
        if codes.size and int(codes.min()) < 0:
            miss = codes < 0
            missing_rows[c] = int(miss.sum())
            outside |= miss
    any_outside = bool(missing_rows)
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
        parts = [codes_list[j] for j in noncat]
        if any_outside:
            parts = [p[~outside] for p in parts]
        inv, uniq = cross_codes(parts, [len(levels_list[j]) for j in noncat])
        if any_outside:
            joint = np.zeros(n, dtype=np.int64)
            joint[~outside] = inv
        else:
            joint = inv
        dims.append(uniq)
        dim_cols.append(noncat)
        row_dim_codes.append(joint)
    sizes = [d.shape[0] for d in dims]
    total = math.prod(sizes)
    if total > _MAX_DOMAINS:
        raise EstimationError(
            f"by={cols} crosses into {total:,} domains (every category of a categorical "
            "column counts, used or not), more than a table can hold. Use fewer by columns, "
            "or drop the unused categories (frame[col].cat.remove_unused_categories())."
        )
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
            keys[c] = pd.Categorical.from_codes(category_of[j][part], dtype=frame[c].dtype)
        else:
            keys[c] = levels_list[j].take(part)
    return Domains(
        dcodes.astype(np.int64, copy=False), pd.DataFrame(keys), tuple(cols),
        missing=missing_rows, n_outside=int(outside.sum()) if any_outside else 0,
    )


# more domains than any table holds (and than int64 grid codes could number safely)
_MAX_DOMAINS = 1 << 31


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
