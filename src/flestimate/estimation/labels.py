"""Value labels in estimator results: domains shown by their labels, codes kept.

A design built on :func:`flestimate.read_survey`'s data knows the value labels of
its columns (:attr:`~flestimate.design.interface.VarianceEngine.value_labels`).
Every ``by`` column that has labels comes back labelled in
:meth:`EstimateTable.to_frame` (and so in the displays, plots and writers), with
the codes kept in a ``<column>_code`` column right after it; a categorical
variable's ``category`` column likewise (``category_code``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["label_of_code", "labelled_columns", "labelled_index"]


def label_of_code(value: Any, labels: Mapping[Any, str]) -> Any:
    """The label of one code (tried as given, as an integer and as text); the code
    itself (a whole number without ``.0``) when it has none; missing stays missing."""
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return value
    whole: int | None = None
    try:
        f = float(value)
        whole = int(f) if np.isfinite(f) and f == int(f) else None
    except (TypeError, ValueError):
        pass
    keys: list[Any] = [value, str(value)]
    if whole is not None:
        keys += [whole, float(whole), str(whole)]
    for key in keys:
        try:
            if key in labels:
                return str(labels[key])
        except TypeError:  # an unhashable key
            continue
    return str(whole) if whole is not None else value


def _labelled(codes: pd.Series, labels: Mapping[Any, str]) -> pd.Series:
    # one look-up per distinct code (the domains), not per row
    uniq = pd.unique(codes)
    lookup = {u: label_of_code(u, labels) for u in uniq if not pd.isna(u)}
    return codes.map(lambda v: lookup.get(v, v) if not pd.isna(v) else v).astype(object)


def labelled_columns(
    frame: pd.DataFrame,
    by: tuple[str, ...],
    value_labels: Mapping[str, Mapping[Any, str]],
) -> pd.DataFrame:
    """``frame`` with the labelled ``by`` columns (and ``category``) shown by label.

    Parameters
    ----------
    frame : DataFrame
        The estimator's result rows.
    by : tuple of str
        The domain columns.
    value_labels : mapping
        ``{column: {code: label}}``; a ``category`` column takes the labels of the
        variable named in its row's ``variable``.

    Returns
    -------
    DataFrame
        A new frame; each labelled column ``c`` holds the labels and is followed by
        ``c_code`` with the codes. Unchanged when nothing is labelled.
    """
    if not value_labels:
        return frame
    out = frame
    cols = list(out.columns)
    for c in by:
        labels = value_labels.get(c)
        if not labels or c not in out.columns:
            continue
        out = out.copy() if out is frame else out
        codes = out[c]
        out[c] = _labelled(codes, labels)
        cols.insert(cols.index(c) + 1, f"{c}_code")
        out[f"{c}_code"] = codes
    if "category" in out.columns:
        variables = out["variable"].astype(str)
        labelled = [v for v in pd.unique(variables) if value_labels.get(v)]
        if labelled:
            out = out.copy() if out is frame else out
            codes = out["category"]
            shown = codes.astype(object).copy()
            for v in labelled:  # a loop over the labelled variables (few), not rows
                rows = (variables == v).to_numpy()
                shown[rows] = _labelled(codes[rows], value_labels[v])
            out["category"] = shown
            cols.insert(cols.index("category") + 1, "category_code")
            out["category_code"] = codes
    return out[cols]


def labelled_index(index: pd.Index, labels: Mapping[Any, str] | None) -> pd.Index:
    """The levels of a column shown by their labels (a test's table, a t-test's groups);
    unchanged when the column has no labels."""
    if not labels:
        return index
    return pd.Index([label_of_code(v, labels) for v in index], name=index.name, dtype=object)
