"""The counts that describe large data, in its engine: :func:`weight_sums`.

Respondents, strata, PSUs and the sums of the weights and their squares (for Kish's
weighting effect ``n * sum(w**2) / sum(w)**2``), in one pass of DuckDB over Parquet
files or one Dask computation.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from flestimate.large.engines import FREQUENCY, SPREAD

__all__ = ["grouped_weight_stats", "weight_sums"]


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def weight_sums(files: Sequence[str], *, weight: str, strata: str | None = None,
                psu: str | None = None, engine: str = "duckdb",
                client: Any = None) -> dict[str, Any]:
    """``n``, ``sum``, ``sum_sq``, ``min``, ``max``, ``n_zero`` (weights <= 0) of
    ``weight``, and ``n_strata``, ``n_psus`` (distinct stratum x PSU pairs; None
    without the column) over the Parquet ``files``, computed by ``engine`` ("duckdb"
    or "dask"; ``client``: a ``distributed.Client``, default the active scheduler)."""
    if engine == "duckdb":
        import duckdb

        q, w = _quote, _quote(weight)
        listing = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
        pair = ", ".join(q(c) for c in (strata, psu) if c)
        sql = (f"SELECT COUNT(*), SUM({w}), SUM({w} * {w}), MIN({w}), MAX({w}), "
               f"COUNT(*) FILTER (WHERE {w} <= 0), "
               f"{f'COUNT(DISTINCT {q(strata)})' if strata else 'NULL'}, "
               f"{f'COUNT(DISTINCT ({pair}))' if psu else 'NULL'} "
               f"FROM read_parquet([{listing}])")
        with duckdb.connect() as con:
            row = con.execute(sql).fetchone()
    else:
        import dask
        import dask.dataframe as dd

        keys = [c for c in (strata, psu) if c]
        frame = dd.read_parquet(list(files), columns=[weight, *keys])
        x = frame[weight]
        parts = [x.count(), x.sum(), (x * x).sum(), x.min(), x.max(), (x <= 0).sum(),
                 frame[strata].nunique() if strata else None,
                 frame[keys].drop_duplicates().shape[0] if psu else None]
        row = client.gather(client.compute(parts)) if client is not None else dask.compute(*parts)
    n, sw, sw2, lo, hi, zero, n_strata, n_psus = (None if v is None else float(v) for v in row)
    return {"n": int(n), "sum": sw, "sum_sq": sw2, "min": lo, "max": hi, "n_zero": int(zero),
            "n_strata": None if n_strata is None else int(n_strata),
            "n_psus": None if n_psus is None else int(n_psus)}


def grouped_weight_stats(frame: pd.DataFrame, weights: np.ndarray,
                         factor: np.ndarray) -> dict[str, Any]:
    """Kish's summary of the respondents' weights (the keys of
    :func:`flestimate.weighting.weight_stats`) when the respondents of grouped row g,
    whose input weights sum to ``weights[g]``, have them multiplied by ``factor[g]``;
    from the grouped rows' counts and smallest, largest and squared input weights
    (columns :data:`SPREAD`). Respondents with a zero weight (``factor`` 0:
    nonrespondents) count in ``n_zero`` only."""
    wmin, wmax, wsq = (frame[c].to_numpy(dtype=np.float64) for c in SPREAD)
    freq = frame[FREQUENCY].to_numpy(dtype=np.float64)
    pos = factor > 0
    n = int(freq[pos].sum())
    n_zero = int(freq.sum()) - n
    if n == 0:
        return {"n": 0, "n_zero": n_zero, **dict.fromkeys(
            ("sum", "min", "max", "max_min_ratio", "cv", "deff", "n_effective"), np.nan)}
    f = factor[pos]
    total = float(np.dot(f, weights[pos]))
    sum_sq = float(np.dot(f * f, wsq[pos]))
    lo, hi = float((f * wmin[pos]).min()), float((f * wmax[pos]).max())
    mean = total / n
    cv = float(np.sqrt(max(sum_sq / n - mean * mean, 0.0)) / mean)
    return {"n": n, "n_zero": n_zero, "sum": total, "min": lo, "max": hi,
            "max_min_ratio": hi / lo, "cv": cv, "deff": 1.0 + cv**2,
            "n_effective": total**2 / sum_sq}
