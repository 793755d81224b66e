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

    Categorical columns contribute all their categories, so a category without
    respondents yields a domain row (flagged ``empty_domain`` by the estimators);
    when every ``by`` column is categorical the full cross-classification is kept,
    otherwise only the combinations present in the data. Rows with a missing
    ``by`` value belong to no domain (as in R's ``svyby``).
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
    codes_list = []
    levels_list = []
    all_cat = True
    for c in cols:
        col = frame[c]
        if isinstance(col.dtype, pd.CategoricalDtype):
            codes = col.cat.codes.to_numpy().astype(np.int64)
            levels = pd.Index(col.cat.categories)
        else:
            all_cat = False
            codes, levels = pd.factorize(col, sort=True)
            codes = codes.astype(np.int64)
            levels = pd.Index(levels)
        codes_list.append(codes)
        levels_list.append(levels)
    sizes = [len(lv) for lv in levels_list]
    outside = np.zeros(n, dtype=bool)
    combined = np.zeros(n, dtype=np.int64)
    for codes, size in zip(codes_list, sizes, strict=False):
        outside |= codes < 0
        combined = combined * max(size, 1) + np.maximum(codes, 0)
    total = int(np.prod(sizes, dtype=np.int64)) if sizes else 1
    if all_cat:
        present = np.arange(total)
        dcodes = np.where(outside, -1, combined)
    else:
        present, inv = np.unique(combined[~outside], return_inverse=True)
        dcodes = np.full(n, -1, dtype=np.int64)
        dcodes[~outside] = inv
    # decode the mixed-radix keys
    keys = {}
    rem = present.copy()
    parts = []
    for size in reversed(sizes):
        parts.append(rem % max(size, 1))
        rem = rem // max(size, 1)
    parts.reverse()
    for c, lv, part in zip(cols, levels_list, parts, strict=False):
        if isinstance(frame[c].dtype, pd.CategoricalDtype):
            keys[c] = pd.Categorical.from_codes(part, dtype=frame[c].dtype)
        else:
            keys[c] = lv.take(part) if len(lv) else pd.Index([], dtype=frame[c].dtype)
    return Domains(dcodes.astype(np.int64), pd.DataFrame(keys), tuple(cols))
