"""Design-based estimators: total, mean, ratio, proportion and prevalence, by domains.

All are ratios of weighted totals within domains, computed in one pass over the
data (:func:`flestimate.estimation.core.domain_totals`), with Taylor-linearised
variances from PSU-level scores.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from flestimate.errors import (
    Diagnostic,
    DomainWarning,
    EstimationError,
    ValidationError,
    first_values,
)
from flestimate.estimation.cimethods import CI_METHODS
from flestimate.estimation.core import DomainCells, domain_totals, ratio_estimates
from flestimate.estimation.deff import design_effects
from flestimate.estimation.domains import encode_domains
from flestimate.estimation.table import EstimateTable, check_level, compute_ci

if TYPE_CHECKING:
    from flestimate.design import SurveyDesign

__all__ = ["mean", "prevalence", "proportion", "ratio", "total"]

# largest PSU x domain x variable block held at once (float64 cells). 16 MB arrays
# stay below the allocator's largest mmap threshold (glibc: 32 MB), so blocks after
# the first reuse freed memory instead of faulting in fresh pages: at 1M rows x 20
# variables x 113 domains the first table takes 0.45 s with 2e6 cells, 1.6 s with 2e7.
_MAX_CELLS = 2e6


def _names(y: str | Sequence[str], what: str) -> list[str]:
    if isinstance(y, str):
        return [y]
    if isinstance(y, Sequence) and len(y) > 0 and all(isinstance(v, str) for v in y):
        return list(y)
    raise EstimationError(
        f"{what} must be a column name or a non-empty list of column names; found {y!r}."
    )


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    if name not in frame.columns:
        raise EstimationError(
            f"analysis variable {name!r} is not in the data (columns: "
            f"{first_values(map(str, frame.columns), 10)}). Check the spelling."
        )
    return frame[name]


def _rows(mask: np.ndarray, index: pd.Index) -> str:
    return first_values(index[np.flatnonzero(mask)][:6])


def _numeric_values(col: pd.Series) -> np.ndarray:
    """The column as a numeric array: no copy for integer and float64 columns without
    missing values (the estimators read each column once)."""
    if isinstance(col.dtype, np.dtype) and col.dtype.kind in "iu":
        return col.to_numpy()
    if pd.api.types.is_bool_dtype(col.dtype):
        if isinstance(col.dtype, np.dtype):
            return col.to_numpy().view(np.uint8)
        return col.to_numpy(dtype=np.float64, na_value=np.nan)
    if not pd.api.types.is_numeric_dtype(col.dtype):
        conv = pd.to_numeric(col, errors="coerce")
        bad = conv.isna().to_numpy() & col.notna().to_numpy()
        if bad.any() or isinstance(col.dtype, pd.CategoricalDtype):
            vals = col[bad].unique()[:5] if bad.any() else col.dropna().unique()[:5]
            raise EstimationError(
                f"analysis variable {col.name!r} is not numeric ({int(bad.sum())} values cannot "
                f"be read as numbers; first: {first_values(vals)}). Convert it to numbers, or "
                "use proportion() for a categorical variable."
            )
        col = conv
    return col.to_numpy(dtype=np.float64, na_value=np.nan)


def _missing(values: np.ndarray, name: str, index: pd.Index, na_rm: bool) -> np.ndarray | None:
    if values.dtype.kind in "iub":
        return None
    miss = ~np.isfinite(values)
    if not miss.any():
        return None
    if not na_rm:
        raise EstimationError(
            f"analysis variable {name!r} has {int(miss.sum())} missing values (rows "
            f"{_rows(miss, index)}). Pass na_rm=True to estimate from the rows with a value "
            "(the others stay in the design with zero contribution), or impute them."
        )
    return ~miss


def _check_df(df: Any) -> Any:
    if isinstance(df, str):
        if df not in ("domain", "design"):
            raise ValidationError(
                f"df={df!r} is not known. Use 'domain' (R's degf of the domain), 'design' or a number."
            )
        return df
    try:
        d = float(df)
    except (TypeError, ValueError):
        d = np.nan
    if not (d > 0):
        raise ValidationError(f"df={df!r} must be 'domain', 'design' or a positive number.")
    return d


def _estimate(
    design: SurveyDesign,
    statistic: str,
    ys: list[np.ndarray],
    xs: list[np.ndarray | None] | None,
    valid: list[np.ndarray | None],
    labels: list[tuple[str, Any]],
    *,
    by: Any,
    level: float,
    df: Any,
    ci_method: str,
    scale: float,
    binary: bool,
    has_category: bool,
) -> EstimateTable:
    structure = design.structure
    frame = design.data
    domains = encode_domains(frame, by)
    D = domains.n_domains
    K = len(ys)
    residualizers = tuple(getattr(design, "_residualizers", ()))
    H = structure.n_strata

    # shared by the blocks of variables
    cells = DomainCells.build(structure, domains.codes, D, sparse=design._sparse_cells)

    def run(cols: list[int]) -> dict[str, Any]:
        """Totals, estimates, variances, df and deff of the variables ``cols``."""
        k = len(cols)
        totals = domain_totals(
            structure,
            [ys[j] for j in cols],
            None if xs is None else [xs[j] for j in cols],
            domains.codes,
            D,
            binary=binary,
            residualizers=residualizers,
            valid=[valid[j] for j in cols],
            cells=cells,
        )
        est = ratio_estimates(totals.y_total, totals.x_total)  # (D, k)
        empty = totals.n_rows == 0
        est = np.where(empty, np.nan, est)
        # degrees of freedom per domain (and per variable when missing values differ),
        # and the strata holding each domain's members (for the "average" lonely rule)
        dfs, active = design._domain_df(totals)
        variance, cov_fn = design._variance_from_totals(
            totals, est, residualizers, active.reshape(H, D * k)
        )
        # a ratio whose denominator total is 0 in the domain has no estimate
        undefined = empty | ~np.isfinite(est)
        variance = np.where(undefined, np.nan, variance.reshape(D, k))
        deff, deff_wr = design_effects(statistic, totals, est, variance)
        return {
            "est": est,
            "empty": empty,
            "dfs": dfs,
            "variance": variance,
            "deff": deff,
            "deff_wr": deff_wr,
            "n_rows": totals.n_rows,
            "sum_w": totals.sum_w,
            "cov_fn": cov_fn,
        }

    # PSU x domain x variable arrays are processed in blocks of variables when the
    # table is large (many domains), so that memory stays bounded
    per_var = max(cells.n_cells, 1)
    block = max(1, int(_MAX_CELLS // max(per_var, 1)))
    blocks = [list(range(i, min(K, i + block))) for i in range(0, K, block)]
    parts = [run(b) for b in blocks]  # a loop over blocks of variables

    def cat(key: str) -> np.ndarray:
        return np.concatenate([p[key] for p in parts], axis=1)

    est, empty, dfs, variance = cat("est"), cat("empty"), cat("dfs"), cat("variance")
    deff, deff_wr = cat("deff"), cat("deff_wr")
    if len(parts) == 1:
        cov_fn = parts[0]["cov_fn"]
    else:

        def cov_fn() -> np.ndarray:
            # the covariance needs every variable's scores at once
            return run(list(range(K)))["cov_fn"]()

    if df == "domain":
        df_rows = dfs
    elif df == "design":
        df_rows = np.full((D, K), float(design.degf))
    else:
        df_rows = np.full((D, K), float(df))
    se = np.sqrt(np.maximum(variance, 0.0))

    n_rows = cat("n_rows")
    sum_w = cat("sum_w")
    p = est.ravel()
    se_f = se.ravel()
    df_f = df_rows.ravel()
    n_f = n_rows.ravel()
    dispersion = None
    if ci_method == "likelihood":
        # svyvar of the Pearson residuals (y - p) / sqrt(p (1 - p)) of svyglm(y ~ 1):
        # n / (n - 1) for a 0/1 variable
        with np.errstate(divide="ignore", invalid="ignore"):
            dispersion = n_f / (n_f - 1.0)
    lo, hi = compute_ci(ci_method, p, se_f, df_f, n_f, level, dispersion)
    if statistic in ("proportion", "prevalence"):
        with np.errstate(divide="ignore", invalid="ignore"):
            n_eff = p * (1 - p) / se_f**2
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            n_eff = n_f / deff_wr.ravel()
    with np.errstate(divide="ignore", invalid="ignore"):
        cv = se_f / np.abs(p)

    # flags and diagnostics
    flags = [[] for _ in range(D * K)]
    diagnostics = []
    missing_by = domains.missing_diagnostic()  # rows outside every domain
    if missing_by is not None:
        warnings.warn(missing_by.message, DomainWarning, stacklevel=3)
        diagnostics.append(missing_by)
    empty_f = empty.ravel()
    for i in np.flatnonzero(empty_f):
        flags[i].append("empty_domain")
    for i in np.flatnonzero(~empty_f & ~np.isfinite(p)):
        flags[i].append("zero_denominator")
    # zero up to rounding: a domain inside one PSU has a variance of 0 in exact
    # arithmetic and of rounding noise (an SE 1e-16 of the estimate) in floating point
    var_f = variance.ravel()
    with np.errstate(invalid="ignore"):
        zero_var = (var_f == 0) | (np.sqrt(np.abs(var_f)) <= 1e-10 * np.abs(p))
    for i in np.flatnonzero(~empty_f & zero_var):
        flags[i].append("zero_variance")
    for i in np.flatnonzero(~empty_f & ~(df_f > 0)):
        flags[i].append("df_nonpositive")
    if empty_f.any():
        n_empty = int(empty.any(axis=1).sum())
        msg = (
            f"{n_empty} of {D} domains of by={list(domains.columns)} have no respondents with a "
            "value; their estimates are NaN (flag 'empty_domain')."
        )
        warnings.warn(msg, DomainWarning, stacklevel=3)
        diagnostics.append(Diagnostic("empty_domain", msg))
    lonely = int(structure.lonely_strata.sum())
    if lonely:
        diagnostics.append(
            Diagnostic(
                "lonely_psu",
                f"{lonely} strata have a single PSU; rule lonely_psu={structure.lonely_psu!r} "
                "was applied.",
            )
        )

    keys = domains.keys
    rep = np.repeat(np.arange(D), K)
    out = {c: keys[c].take(rep).reset_index(drop=True) for c in domains.columns}
    var_names = [labels[k][0] for k in range(K)] * D
    out["variable"] = var_names
    if has_category:
        out["category"] = [labels[k][1] for k in range(K)] * D
    out.update(
        {
            "estimate": p * scale,
            "se": se_f * scale,
            "ci_lower": lo * scale,
            "ci_upper": hi * scale,
            "level": np.full(D * K, level),
            "ci_method": [ci_method] * (D * K),
            "df": df_f,
            "deff": deff.ravel(),
            "deff_wr": deff_wr.ravel(),
            "cv": cv,
            "n_unweighted": n_f.astype(np.int64),
            "n_weighted": sum_w.ravel(),
            "n_effective": n_eff,
            "flags": [";".join(f) for f in flags],
        }
    )
    frame_out = pd.DataFrame(out)

    def covariance() -> np.ndarray:
        C = cov_fn()
        bad = np.flatnonzero(empty_f)
        C[bad, :] = np.nan
        C[:, bad] = np.nan
        return C

    return EstimateTable(
        _frame=frame_out,
        statistic=statistic,
        by=domains.columns,
        ci_method=ci_method,
        level=level,
        df_rule=df,
        lonely_psu=structure.lonely_psu,
        scale=scale,
        _p=p,
        _se=se_f,
        _df=df_f,
        _n=n_f,
        _dispersion=dispersion,
        _covariance=covariance,
        diagnostics=tuple(diagnostics),
    )


# ----------------------------------------------------------------------------- public


def _common(level, df, ci_method):
    lv = check_level(level)
    d = _check_df(df)
    if ci_method not in CI_METHODS:
        raise ValidationError(
            f"ci_method={ci_method!r} is not known. Use one of {', '.join(map(repr, CI_METHODS))}."
        )
    return lv, d


def _numeric_columns(frame: pd.DataFrame, names: list[str], na_rm: bool):
    """Numeric analysis columns (missing values zeroed when ``na_rm``) and their masks of
    rows with a value (None when every row has one)."""
    ys, valid = [], []
    for name in names:
        v = _numeric_values(_column(frame, name))
        ok = _missing(v, name, frame.index, na_rm)
        ys.append(np.where(ok, v, 0.0) if ok is not None else v)
        valid.append(ok)
    return ys, valid


def total(design, y, *, by=None, level=0.95, na_rm=False, df="domain") -> EstimateTable:
    """Estimated population total of each variable, by domains.

    Notes
    -----
    :math:`\\hat Y_d = \\sum_{i \\in d} w_i y_i`; linearised PSU scores are the PSU
    totals of :math:`w y 1_d` (SURVEY-METHODS E1). ``deff`` is R's ``deff=TRUE``:
    :math:`\\hat V / (\\hat N^2 (1 - n/\\hat N) S^2_w / n)`.

    References
    ----------
    Lumley, T. survey R package, ``svytotal``.
    """
    lv, d = _common(level, df, "wald")
    names = _names(y, "y")
    ys, valid = _numeric_columns(design.data, names, na_rm)
    return _estimate(
        design,
        "total",
        ys,
        None,
        valid,
        [(n, None) for n in names],
        by=by,
        level=lv,
        df=d,
        ci_method="wald",
        scale=1.0,
        binary=False,
        has_category=False,
    )


def mean(design, y, *, by=None, level=0.95, na_rm=False, df="domain") -> EstimateTable:
    """Estimated population mean (Hajek) of each variable, by domains.

    Notes
    -----
    :math:`\\bar y_d = \\sum_{i\\in d} w_i y_i / \\sum_{i \\in d} w_i`; score
    :math:`w (y - \\bar y_d) 1_d / \\hat N_d`.

    References
    ----------
    Lumley, T. survey R package, ``svymean``, ``svyby``.
    """
    lv, d = _common(level, df, "wald")
    names = _names(y, "y")
    ys, valid = _numeric_columns(design.data, names, na_rm)
    return _estimate(
        design,
        "mean",
        ys,
        [None] * len(ys),
        valid,
        [(n, None) for n in names],
        by=by,
        level=lv,
        df=d,
        ci_method="wald",
        scale=1.0,
        binary=False,
        has_category=False,
    )


def ratio(
    design, numerator, denominator, *, by=None, level=0.95, na_rm=False, df="domain"
) -> EstimateTable:
    """Estimated ratio of population totals ``sum w y / sum w x``, by domains.

    ``numerator`` and ``denominator`` are columns or equal-length lists (pairs).

    Notes
    -----
    :math:`\\hat R_d = \\hat Y_d / \\hat X_d`; score :math:`w (y - \\hat R_d x) 1_d / \\hat X_d`.

    References
    ----------
    Lumley, T. survey R package, ``svyratio``.
    """
    lv, d = _common(level, df, "wald")
    frame = design.data
    nums = _names(numerator, "numerator")
    dens = _names(denominator, "denominator")
    if len(dens) == 1 and len(nums) > 1:
        dens = dens * len(nums)
    if len(nums) != len(dens):
        raise EstimationError(
            f"numerator has {len(nums)} columns and denominator {len(dens)}. Give one "
            "denominator, or one per numerator."
        )
    ys, xs, valid = [], [], []
    for a, b in zip(nums, dens, strict=False):
        va = _numeric_values(_column(frame, a))
        vb = _numeric_values(_column(frame, b))
        oka = _missing(va, a, frame.index, na_rm)
        okb = _missing(vb, b, frame.index, na_rm)
        if oka is None and okb is None:
            ok = None
        else:
            ok = (oka if oka is not None else True) & (okb if okb is not None else True)
        ys.append(np.where(ok, va, 0.0) if ok is not None else va)
        xs.append(np.where(ok, vb, 0.0) if ok is not None else vb)
        valid.append(ok)
    labels = [(f"{a}/{b}", None) for a, b in zip(nums, dens, strict=False)]
    return _estimate(
        design,
        "ratio",
        ys,
        xs,
        valid,
        labels,
        by=by,
        level=lv,
        df=d,
        ci_method="wald",
        scale=1.0,
        binary=False,
        has_category=False,
    )


def _indicators(frame, names, na_rm):
    """0/1 columns for proportions: one per binary variable, one per category otherwise."""
    ys, valid, labels = [], [], []
    has_category = False
    for name in names:
        col = _column(frame, name)
        is_cat = isinstance(col.dtype, pd.CategoricalDtype)
        is_str = pd.api.types.is_object_dtype(col.dtype) or pd.api.types.is_string_dtype(col.dtype)
        if is_cat or (is_str and not pd.api.types.is_bool_dtype(col.dtype)):
            miss = col.isna().to_numpy()
            if miss.any() and not na_rm:
                raise EstimationError(
                    f"analysis variable {name!r} has {int(miss.sum())} missing values (rows "
                    f"{_rows(miss, frame.index)}). Pass na_rm=True to estimate from the rows with "
                    "a value, or recode the missing values as a category."
                )
            if is_cat:
                codes = col.cat.codes.to_numpy()
                cats = list(col.cat.categories)
            else:
                codes, cats = pd.factorize(col, sort=True)
                cats = list(cats)
            ok = ~miss if miss.any() else None
            for j, c in enumerate(cats):
                ys.append((codes == j).astype(np.float64))
                valid.append(ok)
                labels.append((name, c))
            has_category = True
            continue
        v = _numeric_values(col)
        ok = _missing(v, name, frame.index, na_rm)
        vals = v if ok is None else v[ok]
        bad = (vals != 0) & (vals != 1)
        if bad.any():
            raise EstimationError(
                f"analysis variable {name!r} is not a 0/1 indicator: {int(bad.sum())} values are "
                f"neither 0 nor 1 (first: {first_values(np.unique(vals[bad])[:5])}). Recode it to "
                "0/1 (or True/False), or convert it to a categorical column to get one proportion "
                "per category."
            )
        ys.append(np.where(ok, v, 0.0) if ok is not None else v)
        valid.append(ok)
        labels.append((name, None))
    return ys, valid, labels, has_category


def proportion(
    design, y, *, by=None, level=0.95, na_rm=False, df="domain", ci_method="logit", scale=1
) -> EstimateTable:
    """Estimated population proportion, by domains, with a named interval method.

    A 0/1 or boolean ``y`` gives one row (proportion of 1/True); a categorical or
    string ``y`` gives one row per category (column ``category``).

    Notes
    -----
    The proportion is the mean of the indicator (see :func:`mean`); the interval
    methods are those of :mod:`flestimate.estimation.cimethods`.

    References
    ----------
    Lumley, T. survey R package, ``svyciprop``, ``svymean``.
    """
    return _binary_estimate(
        design, "proportion", y, by=by, level=level, na_rm=na_rm, df=df,
        ci_method=ci_method, scale=scale,
    )  # fmt: skip


def _binary_estimate(design, statistic, y, *, by, level, na_rm, df, ci_method, scale):
    """Shared body of :func:`proportion` and :func:`prevalence` (0/1 or category indicators)."""
    lv, d = _common(level, df, ci_method)
    if scale not in (1, 100, 1000):
        raise ValidationError(f"scale={scale!r} must be 1, 100 or 1000.")
    names = _names(y, "y")
    ys, valid, labels, has_category = _indicators(design.data, names, na_rm)
    if has_category and statistic == "prevalence":
        raise EstimationError(
            f"prevalence needs 0/1 indicators; {labels[0][0]!r} is categorical. Use proportion() "
            "for the distribution of a categorical variable."
        )
    return _estimate(
        design,
        statistic,
        ys,
        [None] * len(ys),
        valid,
        labels,
        by=by,
        level=lv,
        df=d,
        ci_method=ci_method,
        scale=float(scale),
        binary=True,
        has_category=has_category,
    )


def prevalence(
    design,
    y,
    *,
    by=None,
    level=0.95,
    na_rm=False,
    df="domain",
    ci_method="korn-graubard",
    scale=1000,
) -> EstimateTable:
    """Prevalence of a 0/1 indicator per ``scale`` (1,000 by default), Korn-Graubard interval.

    Notes
    -----
    ``scale`` times the proportion of :func:`proportion`; SE and bounds are scaled
    the same way, design effects are not.

    References
    ----------
    Korn, E. L. and Graubard, B. I. (1998). Survey Methodology 24, 193-201.
    """
    return _binary_estimate(
        design, "prevalence", y, by=by, level=level, na_rm=na_rm, df=df,
        ci_method=ci_method, scale=scale,
    )  # fmt: skip
