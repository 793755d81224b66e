"""Contrasts of the rows of an :class:`~flestimate.estimation.table.EstimateTable`.

Linear contrasts (weights keyed by row labels), nonlinear functions of the rows by
the delta method, differences of two rows and all pairwise differences with a
multiple-comparison adjustment (R's ``svycontrast`` on ``svyby(..., covmat=TRUE)``,
plus ``p.adjust``). All work from the table's estimates and full covariance
(:meth:`EstimateTable.vcov`), on the table's scale (a prevalence per 1,000 stays per
1,000). The result is an ``EstimateTable`` with a ``p_value`` column for the null of
a zero contrast, on the t distribution with the design's degrees of freedom.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats

from flestimate.errors import EstimationError, ValidationError
from flestimate.estimation import cimethods
from flestimate.estimation.contrast_expr import parse_expression

if TYPE_CHECKING:  # pragma: no cover
    from flestimate.estimation.table import EstimateTable

__all__ = ["ADJUSTMENTS", "adjust_p", "contrast", "difference", "pairwise", "row_names"]

#: Multiple-comparison adjustments of :func:`pairwise` (R's ``p.adjust`` methods).
ADJUSTMENTS = ("holm", "bonferroni", "none")
_STEP = 1e-30  # complex step


def row_names(table: EstimateTable) -> dict[Any, int]:
    """Every name of every row: the full label ``"E / api00"``, the domain label
    ``"E"`` (one variable), the variable (no domains), R's ``"E:api00"`` and the
    tuple of domain values; names shared by two rows are left out (ambiguous). An
    integer is a row position, never a domain value (write ``"1"`` for the domain 1)."""
    f = table._frame
    by = list(table.by)
    extra = ["category"] if "category" in f else []
    n_vars = f[["variable", *extra]].drop_duplicates().shape[0]
    # a labelled domain is named by its label or by its code (``<col>_code``)
    codes = [f"{b}_code" if f"{b}_code" in f else b for b in by]
    names: dict[Any, list[int]] = {}
    keys = f[[*by, "variable", *extra]].itertuples(index=False)
    for i, (rec, code) in enumerate(zip(keys, f[codes].itertuples(index=False), strict=True)):
        rest = tuple(rec[len(by) :])
        rest_s = [str(v) for v in rest]
        cands: set[Any] = set() if by else {" / ".join(rest_s)}
        for dom in {tuple(rec[: len(by)]), tuple(code)}:
            if by:
                cands.add(dom + rest)
            for fmt in (str, _short):  # "1.0" and "1" for a float code read from a file
                dom_s = [fmt(v) for v in dom]
                cands.add(" / ".join(dom_s + rest_s))
                if by:
                    cands.add(":".join([".".join(dom_s), *rest_s]))
                    if n_vars == 1:
                        cands.add(" / ".join(dom_s))
        for c in cands:
            names.setdefault(c, []).append(i)
    return {k: v[0] for k, v in names.items() if len(set(v)) == 1}


def _short(v: Any) -> str:
    """A float code that is a whole number without its ``.0``."""
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        return str(int(v))
    return str(v)


def _lookup(table: EstimateTable, names: dict[Any, int], key: Any) -> int:
    if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
        if 0 <= key < len(table):
            return int(key)
    elif key in names:
        return names[key]
    labels = table._row_labels()
    shown = labels[:12] + (["..."] if len(labels) > 12 else [])
    raise ValidationError(
        f"{key!r} is not a row of this {table.statistic} table. Its rows are {shown} "
        f"(a domain label alone when the table has one variable, R's 'domain:variable', "
        f"or a position 0..{len(table) - 1})."
    )


def _design_df(table: EstimateTable, rows: np.ndarray) -> float:
    """Degrees of freedom of a contrast: the number given as ``df``, else the design's,
    else the smallest of its rows'."""
    if not isinstance(table.df_rule, str):
        return float(table.df_rule)
    if np.isfinite(table.design_df):
        return float(table.design_df)
    return float(np.min(table._frame["df"].to_numpy()[rows])) if len(rows) else np.nan


def _build(table: EstimateTable, names: list[str], est, cov, df, extra=None) -> EstimateTable:
    from flestimate.estimation.table import EstimateTable

    est = np.asarray(est, dtype=float)
    se = np.sqrt(np.maximum(np.diag(cov), 0.0))
    d = np.broadcast_to(np.asarray(df, dtype=float), est.shape).copy()
    lo, hi = cimethods.wald(est, se, d, table.level)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = est / se
        p = 2 * stats.t.sf(np.abs(t), np.where(np.isfinite(d), d, np.inf))
        cv = se / np.abs(est)
    nan = np.full(est.shape, np.nan)
    frame = pd.DataFrame(
        {
            "variable": names,
            "estimate": est,
            "se": se,
            "ci_lower": lo,
            "ci_upper": hi,
            "level": table.level,
            "ci_method": "wald",
            "df": d,
            "deff": nan,
            "deff_wr": nan,
            "cv": cv,
            "n_unweighted": nan,
            "n_weighted": nan,
            "n_effective": nan,
            "flags": "",
            "t": t,
            "p_value": p,
            **(extra or {}),
        }
    )
    cov = np.array(cov, dtype=float)
    return EstimateTable(
        _frame=frame,
        statistic=f"contrast of {table.statistic}",
        by=(),
        ci_method="wald",
        level=table.level,
        df_rule=table.df_rule,
        lonely_psu=table.lonely_psu,
        scale=1.0,
        _p=est,
        _se=se,
        _df=d,
        _n=nan,
        _covariance=lambda: cov.copy(),
        design_df=table.design_df,
    )


def _scaled(table: EstimateTable) -> tuple[np.ndarray, np.ndarray]:
    return table._p * table.scale, table.vcov().to_numpy()


def _apply(L: np.ndarray, est: np.ndarray, C: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:math:`L\\hat\\theta` and :math:`L \\hat C L^T`; a contrast touching a row without
    an estimate (an empty domain) is NaN, the others are not (0 x NaN is kept out)."""
    bad = ~np.isfinite(est) | ~np.isfinite(np.diag(C))
    touched = (L[:, bad] != 0).any(axis=1)
    value = L @ np.where(bad, 0.0, est)
    V = L @ np.where(np.isfinite(C), C, 0.0) @ L.T
    value[touched] = np.nan
    V[touched, :] = np.nan
    V[:, touched] = np.nan
    return value, V


def contrast(
    table: EstimateTable,
    weights: Mapping | Sequence[Mapping] | str | Callable,
    *,
    name: str | Sequence[str] | None = None,
) -> EstimateTable:
    """The body of :meth:`EstimateTable.contrast` (see there)."""
    names = row_names(table)
    if isinstance(weights, str) or callable(weights):
        return _nonlinear(table, names, weights, name)
    if isinstance(weights, Mapping):
        weights, default = [weights], ["contrast"]
    else:
        weights = list(weights)
        default = [f"contrast {i + 1}" for i in range(len(weights))]
    if not weights or not all(isinstance(w, Mapping) for w in weights):
        raise ValidationError(
            "contrast weights must be a dict {row: weight}, a list of such dicts, an "
            "expression such as 'api00 / api99' or a function of the estimates."
        )
    labels = _labels(name, default)
    L = np.zeros((len(weights), len(table)))
    for r, w in enumerate(weights):
        for key, value in w.items():
            L[r, _lookup(table, names, key)] += float(value)
    est, C = _scaled(table)
    used = np.flatnonzero(np.any(L != 0, axis=0))
    return _build(table, labels, *_apply(L, est, C), _design_df(table, used))


def _labels(name, default: list[str]) -> list[str]:
    if name is None:
        return default
    labels = [name] if isinstance(name, str) else list(name)
    if len(labels) != len(default):
        raise ValidationError(f"name= gives {len(labels)} names for {len(default)} contrasts.")
    return labels


def _nonlinear(table, names, f, name) -> EstimateTable:
    est, C = _scaled(table)
    if isinstance(f, str):
        expr = parse_expression(f)
        rows = [_lookup(table, names, n) for n in expr.names()]
        keys = expr.names()

        def func(x: np.ndarray):
            return expr(dict(zip(keys, x, strict=True)))

        label = name or f
    else:
        rows = list(range(len(table)))
        by_label = {k: i for k, i in names.items() if isinstance(k, str)}

        def func(x: np.ndarray):
            return f({k: x[i] for k, i in by_label.items()})

        label = name or getattr(f, "__name__", "contrast")
    x0 = est[rows]
    value = np.real(func(x0.astype(complex)))
    grad = _gradient(func, x0)
    Cr = C[np.ix_(rows, rows)]
    var = grad @ Cr @ grad
    return _build(table, [label], [float(value)], [[var]], _design_df(table, np.array(rows)))


def _gradient(func, x0: np.ndarray) -> np.ndarray:
    """Complex-step gradient; central differences when the function refuses complex input."""
    n = len(x0)
    try:
        z = np.tile(x0.astype(complex), (n, 1)) + 1j * _STEP * np.eye(n)
        return np.array([np.imag(complex(func(z[j]))) / _STEP for j in range(n)])
    except (TypeError, ValueError):
        h = 1e-6 * np.maximum(np.abs(x0), 1.0)
        out = np.empty(n)
        for j in range(n):  # a loop over the (few) rows of a contrast
            e = np.zeros(n)
            e[j] = h[j]
            out[j] = (float(func(x0 + e)) - float(func(x0 - e))) / (2 * h[j])
        return out


def difference(table: EstimateTable, a: Any, b: Any) -> EstimateTable:
    """The body of :meth:`EstimateTable.difference` (see there)."""
    names = row_names(table)
    ia, ib = _lookup(table, names, a), _lookup(table, names, b)
    labels = table._row_labels()
    L = np.zeros((1, len(table)))
    L[0, ia] += 1.0
    L[0, ib] -= 1.0
    est, C = _scaled(table)
    return _build(table, [f"{labels[ia]} - {labels[ib]}"], *_apply(L, est, C),
                  _design_df(table, np.array([ia, ib])))  # fmt: skip


def adjust_p(p: np.ndarray, method: str) -> np.ndarray:
    """R's ``p.adjust`` for ``"holm"``, ``"bonferroni"`` and ``"none"`` (NaN kept out of m)."""
    if method not in ADJUSTMENTS:
        raise ValidationError(f"adjust={method!r} is not known. Use one of {list(ADJUSTMENTS)}.")
    p = np.asarray(p, dtype=float)
    ok = np.isfinite(p)
    m = int(ok.sum())
    out = p.copy()
    if method == "bonferroni":
        out[ok] = np.minimum(1.0, m * p[ok])
    elif method == "holm":
        q = p[ok]
        order = np.argsort(q, kind="stable")
        adj = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * q[order]))
        res = np.empty(m)
        res[order] = adj
        out[ok] = res
    return out


def pairwise(table: EstimateTable, *, adjust: str = "holm") -> EstimateTable:
    """The body of :meth:`EstimateTable.pairwise` (see there)."""
    adjust_p(np.array([]), adjust)  # checks the name
    f = table._frame
    group_cols = ["variable"] + (["category"] if "category" in f else [])
    group = f.groupby(group_cols, sort=False).ngroup().to_numpy()
    i, j = np.triu_indices(len(table), k=1)
    keep = group[i] == group[j]
    i, j = i[keep], j[keep]
    if len(i) == 0:
        raise EstimationError(
            "pairwise comparisons need at least two domains of a variable; this table has "
            f"{len(table)} row(s) by={list(table.by)}."
        )
    L = np.zeros((len(i), len(table)))
    L[np.arange(len(i)), i] = 1.0
    L[np.arange(len(i)), j] = -1.0
    labels = np.asarray(table._row_labels(), dtype=object)
    est, C = _scaled(table)
    out = _build(table, list(labels[i] + " - " + labels[j]), *_apply(L, est, C),
                 _design_df(table, np.unique(np.r_[i, j])))  # fmt: skip
    frame = out._frame
    frame["p_adjusted"] = adjust_p(frame["p_value"].to_numpy(), adjust)
    frame["adjust"] = adjust
    return out
