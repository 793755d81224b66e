"""Tidy publication tables built from estimator results.

A published table has one row per domain and statistic. Its columns are, in
order: ``table``, ``indicator``, ``population``, ``statistic``, ``unit``, the
``by`` columns (codes; missing on the total row) and their ``<by>_label``
columns (value labels; ``"Total"`` on the total row), then the estimator
columns of the results contract (docs/internals.md section 3) and the quality
columns of :mod:`flestimate.report.disclosure`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from flestimate.report.disclosure import QUALITY_COLUMNS, apply_disclosure_control
from flestimate.report.specs import ReliabilityRules

__all__ = ["ESTIMATE_COLUMNS", "STATISTIC_UNITS", "assemble_table", "label_of", "population_unit",
           "tidy_rows"]

ESTIMATE_COLUMNS = (
    "estimate", "se", "ci_lower", "ci_upper", "level", "ci_method", "df", "deff", "cv",
    "n_unweighted", "n_weighted", "n_effective", "flags",
)  # fmt: skip

STATISTIC_UNITS = {
    "prevalence": "per {scale:,g} {population}",
    "total": "persons",
    "stock": "persons on any given day",
    "share": "% of persons in forced labour",
}


def population_unit(population: str, scale: float) -> str:
    """The unit of a prevalence as a publication prints it: ``per 1,000 workers``.

    The population ``total`` (everyone in the survey) reads ``per 1,000 persons``.
    """
    return STATISTIC_UNITS["prevalence"].format(
        scale=scale, population="persons" if population == "total" else population)


def label_of(value: Any, labels: Mapping[Any, str] | None) -> str:
    """The value label of a code, or the code as text (integers without ``.0``)."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return "Total"
    if labels:
        for key in (value, _as_int(value), str(value)):
            if key is not None and key in labels:
                return str(labels[key])
    iv = _as_int(value)
    return str(iv) if iv is not None else str(value)


def _as_int(value: Any) -> int | None:
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return int(f) if np.isfinite(f) and f == int(f) else None


def _codes(values: pd.Series) -> pd.Series:
    """Domain codes with the total row missing; whole numbers stay integers (``Int64``)."""
    values = values.reset_index(drop=True)
    num = pd.to_numeric(values, errors="coerce")
    present = values.notna()
    if present.any() and num[present].notna().all():
        arr = num[present].to_numpy(dtype=float)
        if np.all(arr == np.round(arr)):
            return num.astype("Int64")
        return num.astype(float)
    return values.astype(object).where(present, None)


def tidy_rows(
    est: pd.DataFrame, *, by: Sequence[str], statistic: str, scale: float = 1.0
) -> pd.DataFrame:
    """Standardise one estimator result to the tidy table's columns.

    Parameters
    ----------
    est : pandas.DataFrame
        ``EstimateTable.to_frame()`` (possibly already restricted to a population
        domain, with the population column dropped). Rows of the total have no
        ``by`` columns.
    by : sequence of str
        The table's domain columns; those absent from ``est`` are added as missing.
    statistic : str
        ``prevalence``, ``total``, ``stock`` or ``share``.
    scale : float
        Multiplier of the estimate (1,000 for a prevalence per 1,000, 100 for a share
        in percent); used by the NCHS rule to go back to a proportion.

    Returns
    -------
    pandas.DataFrame
    """
    n = len(est)
    cols: dict[str, Any] = {}
    for b in by:
        cols[b] = est[b].to_numpy() if b in est.columns else np.full(n, None, dtype=object)
    cols["statistic"] = np.full(n, statistic, dtype=object)
    cols["scale"] = np.full(n, float(scale))
    for col in ESTIMATE_COLUMNS:
        if col in est.columns:
            cols[col] = est[col].to_numpy()
        else:
            cols[col] = np.full(n, "", dtype=object) if col in ("flags", "ci_method") else np.full(n, np.nan)
    out = pd.DataFrame(cols)
    out["flags"] = out["flags"].fillna("").astype(str)
    return out


def assemble_table(
    pieces: Sequence[pd.DataFrame],
    *,
    name: str,
    indicator: str,
    population: str,
    by: Sequence[str],
    rules: ReliabilityRules,
    has_total: bool,
    value_labels: Mapping[str, Mapping[Any, str]] | None = None,
    scale: float = 1000.0,
) -> pd.DataFrame:
    """Join the tidy pieces of a table, add labels, grade and suppress.

    Parameters
    ----------
    pieces : sequence of DataFrame
        Outputs of :func:`tidy_rows` (one per statistic, domains and total).
    name, indicator, population : str
        Recorded on every row.
    by : sequence of str
    rules : ReliabilityRules
    has_total : bool
        Whether a total row is included (enables complementary suppression).
    value_labels : mapping, optional
        ``{column: {code: label}}``.
    scale : float
        The prevalence scale, for the unit text.

    Returns
    -------
    pandas.DataFrame
        The published table; never more rows than domains x statistics.
    """
    by = list(by)
    frame = pd.concat(list(pieces), ignore_index=True)
    is_total = frame[by].isna().all(axis=1) if by else pd.Series(True, index=frame.index)
    order = {"prevalence": 0, "total": 1, "stock": 2, "share": 3}
    frame["_total_first"] = (~is_total).astype(int)
    frame["_stat"] = frame["statistic"].map(order)
    sort_cols = ["_total_first", *by, "_stat"]
    frame = frame.sort_values(sort_cols, kind="stable", na_position="first").reset_index(drop=True)
    frame = frame.drop(columns=["_total_first", "_stat"])
    frame = apply_disclosure_control(frame, by, rules, has_total=has_total)
    labels = value_labels or {}
    lead = pd.DataFrame(
        {
            "table": name,
            "indicator": indicator,
            "population": population,
            "statistic": frame["statistic"],
            "unit": [
                population_unit(population, scale) if s == "prevalence" else STATISTIC_UNITS[s]
                for s in frame["statistic"]
            ],
        }
    )
    for b in by:
        lead[b] = _codes(frame[b])
    for b in by:
        lab = labels.get(b)
        lead[f"{b}_label"] = [label_of(v, lab) for v in frame[b]]
    rest = frame[[*ESTIMATE_COLUMNS, *QUALITY_COLUMNS]]
    return pd.concat([lead, rest.reset_index(drop=True)], axis=1)
