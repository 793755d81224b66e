"""Integer codes of key columns (strata, PSUs, domains), shared by design and estimation.

* :func:`cross_codes`: one dense code for the combinations of several columns' codes,
  collision-free whatever the columns' ranges (a mixed-radix code when the product of
  the ranges fits in int64, else one pair of columns at a time);
* :func:`blank_levels` and :func:`text_number_clashes`: checks of the distinct values of
  a key column. A blank text value is a missing value, not a key; a text ``"1"`` and a
  number ``1`` in one column (a hand-edited CSV or Excel file) are two keys to a hash
  table but one to the person who typed them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["blank_levels", "clash_text", "compress", "cross_codes", "text_number_clashes"]

# largest mixed-radix span: products up to this fit in int64 with room for the last add
MAX_SPAN = 1 << 62


def compress(combined: np.ndarray, span: int) -> tuple[np.ndarray, np.ndarray]:
    """Codes 0..G-1 (in sorted order) of non-negative integers below ``span``, and the
    G distinct integers present."""
    n = combined.size
    if span <= 4 * n + 1024:
        present = np.flatnonzero(np.bincount(combined, minlength=span))
        lookup = np.full(span, -1, dtype=np.int64)
        lookup[present] = np.arange(present.size)
        return lookup[combined], present
    present, inv = np.unique(combined, return_inverse=True)
    return inv.ravel().astype(np.int64), present


def cross_codes(
    codes: Sequence[np.ndarray], sizes: Sequence[int]
) -> tuple[np.ndarray, np.ndarray]:
    """The combinations of several columns' codes as one dense code.

    Parameters
    ----------
    codes : sequence of ndarray (n,) int64
        Per column, codes ``0 <= code < sizes[j]`` of the rows.
    sizes : sequence of int
        Per column, the number of codes (its range).

    Returns
    -------
    joint : ndarray (n,) int64
        Code 0..G-1 of each row's combination, combinations in lexicographic order of
        the columns' codes.
    combos : ndarray (G, k) int64
        The columns' codes of each combination.

    Notes
    -----
    While the product of the ranges fits in int64 the joint code is the mixed-radix
    number :math:`(\\dots(c_1 s_2 + c_2) s_3 + \\dots) + c_k`, made dense. Beyond (five
    columns of 60,000 values overflow int64), columns are combined one at a time: the
    dense code of the first ``j`` columns (at most ``n`` values) times the next range,
    plus the next code, made dense again; each step stays below ``n * s_j``. Both orders
    are lexicographic, so the two routes give the same codes.
    """
    sizes = [max(int(s), 1) for s in sizes]
    n = codes[0].size
    if math.prod(sizes) <= MAX_SPAN:
        mixed = codes[0].astype(np.int64, copy=False)
        for c, s in zip(codes[1:], sizes[1:], strict=True):  # a loop over the columns
            mixed = mixed * s + c
        joint, present = compress(mixed, math.prod(sizes))
        combos = np.empty((present.size, len(codes)), dtype=np.int64)
        rem = present
        for j in range(len(codes) - 1, -1, -1):
            rem, combos[:, j] = np.divmod(rem, sizes[j])
        return joint, combos
    joint, present = compress(codes[0].astype(np.int64, copy=False), sizes[0])
    g = present.size
    for c, s in zip(codes[1:], sizes[1:], strict=True):  # a loop over the columns
        if g * s > MAX_SPAN:  # a range wider than the rows: its used codes only
            c, present = compress(c, s)
            s = present.size
        joint, present = compress(joint * s + c, g * s)
        g = present.size
    rep = np.empty(g, dtype=np.intp)
    rep[joint] = np.arange(n)  # any row of each combination: all share its codes
    combos = np.stack([c[rep] for c in codes], axis=1).astype(np.int64, copy=False)
    return joint, combos


def _is_text_index(levels: pd.Index) -> bool:
    return levels.dtype == object or pd.api.types.is_string_dtype(levels.dtype)


def blank_levels(levels: pd.Index) -> np.ndarray:
    """Boolean mask of the distinct values that are empty or whitespace-only text."""
    if not _is_text_index(levels) or len(levels) == 0:
        return np.zeros(len(levels), dtype=bool)
    text = pd.Series(levels, dtype=object)
    is_str = text.map(type).eq(str).to_numpy()  # a loop over distinct values, not rows
    if not is_str.any():
        return np.zeros(len(levels), dtype=bool)
    blank = np.zeros(len(levels), dtype=bool)
    blank[is_str] = (text[is_str].str.strip() == "").to_numpy(dtype=bool)
    return blank


def text_number_clashes(levels: pd.Index) -> list[tuple[str, Any]]:
    """Pairs ``(text, number)`` of distinct values that are the same number written as
    text and as a number (``"1"`` and ``1``, ``" 2.0"`` and ``2``)."""
    if levels.dtype != object or len(levels) < 2:
        return []
    if pd.api.types.infer_dtype(levels, skipna=True) not in (
        "mixed", "mixed-integer", "mixed-integer-float"
    ):
        return []
    values = pd.Series(levels, dtype=object)
    kinds = values.map(type)  # a loop over distinct values, not rows
    is_text = kinds.eq(str).to_numpy()
    is_number = values.map(
        lambda v: isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
    ).to_numpy(dtype=bool)
    if not (is_text.any() and is_number.any()):
        return []
    text = values[is_text]
    as_number = pd.to_numeric(text.str.strip(), errors="coerce")
    numbers = pd.Series(values[is_number].to_numpy(), index=values[is_number].astype(float))
    numbers = numbers[~numbers.index.duplicated()]
    hit = as_number.isin(numbers.index).to_numpy()
    return [(t, numbers[x]) for t, x in zip(text[hit], as_number[hit], strict=True)]


def clash_text(clashes: list[tuple[str, Any]]) -> str:
    """``'1' (text) and 1 (number); ...`` for a message (first five pairs)."""
    shown = [
        f"{t!r} (text) and {v.item() if isinstance(v, np.generic) else v!r} (number)"
        for t, v in clashes[:5]
    ]
    return "; ".join(shown) + ("; ..." if len(clashes) > 5 else "")
