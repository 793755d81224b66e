"""The inputs of a run: the survey file, the design and its weighting, the added columns.

The design is the one a notebook user builds, with the config's columns and rules
(``SurveyDesign(frame, weight=, strata=, psu=, fpc=, nest=, lonely_psu=)`` or
``ReplicateDesign(...)``), then each weighting step in order
(:mod:`flestimate.run.weighting_steps`). A reference population is a 0/1 column
``_pop_<name>`` used as a domain of the full design; the stock "on any given day" of
an indicator ``y`` is the column ``y_stock`` = ``y * min(d, T) / T``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from flestimate.design import ReplicateDesign, SurveyDesign
from flestimate.design.interface import VarianceEngine
from flestimate.errors import ConfigError, shown
from flestimate.io import SurveyData, read_survey
from flestimate.report.disclosure import IDENTIFIER_MAX_MEDIAN, identifying_partition
from flestimate.run.config_specs import Config
from flestimate.run.weighting_steps import apply_weighting

__all__ = [
    "CAT_PREFIX",
    "MISSING_DOMAIN",
    "MISSING_PREFIX",
    "POP_PREFIX",
    "STOCK_SUFFIX",
    "add_columns",
    "build_design",
    "read_input",
    "refuse_identifying_tables",
    "weighted_design",
]

POP_PREFIX = "_pop_"
STOCK_SUFFIX = "_stock"
CAT_PREFIX = "_cat_"
MISSING_PREFIX = "_missing_as_domain_"
MISSING_DOMAIN = "Missing"


def read_input(config: Config) -> SurveyData:
    """The survey file, read by :func:`flestimate.read_survey` with ``input.options``
    (a relative codebook path is resolved against the config's folder)."""
    opts = config.input_options
    codebook = opts.get("codebook")
    if isinstance(codebook, str) and not Path(codebook).is_absolute():
        codebook = str(config.base_dir / codebook)
    return read_survey(config.input_path, columns=opts.get("columns"), format=opts.get("format"),
                       encoding=opts.get("encoding"), row_limit=opts.get("row_limit"),
                       codebook=codebook)


def build_design(frame: pd.DataFrame, config: Config) -> VarianceEngine:
    """The design of the config's ``design:`` section, before any weighting step."""
    d = config.design
    if d.replicate is None:
        return SurveyDesign(frame, weight=d.weight, strata=d.strata, psu=d.psu, fpc=d.fpc,
                            nest=d.nest, lonely_psu=d.lonely_psu)
    rep = d.replicate
    weights = rep["weights"]
    if isinstance(weights, str):
        # a regular expression searched in each column name (as documented and as
        # ReplicateDesign reads it); a plain prefix such as "rw_" has no metacharacter
        pattern = re.compile(weights)
        if pattern.search(str(d.weight)):
            raise ConfigError(f"design.replicate.weights: the pattern {shown(weights)} also "
                              f"matches the weight column {shown(d.weight)}; anchor it so that it "
                              f"matches the replicate weights only (e.g. '^rw_[0-9]+$')")
        weights = [c for c in frame.columns if pattern.search(str(c))]
        if not weights:
            raise ConfigError(f"design.replicate.weights: the regular expression "
                              f"{shown(pattern.pattern)} matches no column "
                              f"(e.g. '^rw_' for rw_1, rw_2, ...); give a pattern or a list")
    else:
        missing = [c for c in weights if c not in frame.columns]
        if missing:
            raise ConfigError(f"design.replicate.weights: {len(missing)} columns are not in "
                              f"the data (first: {missing[0]!r})")
    return ReplicateDesign(frame, weight=d.weight, replicate_weights=list(weights),
                           method=rep["method"], scale=rep.get("scale"),
                           rscales=rep.get("rscales"), mse=rep.get("mse", False),
                           df=rep.get("df"), rho=rep.get("rho"))


def weighted_design(frame: pd.DataFrame, config: Config) -> VarianceEngine:
    """The design with the config's weighting steps applied in order."""
    design = build_design(frame, config)
    for step in config.weighting:
        design = apply_weighting(design, step)
    return design


def add_columns(frame: pd.DataFrame, config: Config, indicators: set[str],
                warnings_out: list[dict]) -> tuple[pd.DataFrame, dict[str, str | None]]:
    """Population indicator columns and stock columns, added to a copy of ``frame``."""
    new: dict[str, Any] = {}
    pop_cols: dict[str, str | None] = {}
    for name, flt in config.populations.items():
        if flt is None:
            pop_cols[name] = None
            continue
        col = f"{POP_PREFIX}{name}"
        if col in frame.columns:
            raise ConfigError(f"populations.{name}: the data already has a column {col!r}; "
                              f"rename the population")
        new[col] = flt.evaluate(frame).astype(np.int8)
        if not new[col].any():
            raise ConfigError(f"populations.{name}: the filter {flt.source!r} selects no row; "
                              f"check the column values")
        pop_cols[name] = col
    for t in config.tables:
        if "share" in t.statistics:
            col = f"{CAT_PREFIX}{t.by[0]}"
            if col not in new:
                new[col] = frame[t.by[0]].astype("category")
    for t in config.tables:
        if t.missing_domain:
            for col in t.by:
                new.setdefault(f"{MISSING_PREFIX}{col}", _with_missing_domain(frame[col]))
    if config.duration is not None:
        new.update(_stock_columns(frame, config.duration.variable, config.duration.period,
                                  indicators, warnings_out))
    return frame.assign(**new), pop_cols


def _stock_columns(frame: pd.DataFrame, dcol: str, T: float, indicators: set[str],
                   warnings_out: list[dict]) -> dict[str, np.ndarray]:
    """``y_stock = y * min(d, T) / T`` per indicator (``d`` the column ``dcol``); a
    missing duration counts as ``T``."""
    d = pd.to_numeric(frame[dcol], errors="coerce").to_numpy(dtype=float)
    outside = np.isfinite(d) & ((d < 0) | (d > T))
    if outside.any():
        # a "don't know" code (99) or -1 is no duration: clipping it to T or 0 would
        # be a silent guess, so it is missing (counted for the full period below)
        codes = ", ".join(f"{v:g}" for v in np.unique(d[outside])[:5])
        warnings_out.append({
            "code": "duration_out_of_range",
            "severity": "warning",
            "message": (f"{int(outside.sum())} values of {dcol!r} are outside [0, {T:g}] "
                        f"(e.g. {codes}); they are treated as missing"),
        })
        d = np.where(outside, np.nan, d)
    new = {}
    for ind in sorted(indicators):
        y = pd.to_numeric(frame[ind], errors="coerce").to_numpy(dtype=float)
        pos = y > 0
        missing = pos & ~np.isfinite(d)
        if missing.any():
            warnings_out.append({
                "code": "duration_missing",
                "severity": "warning",
                "message": (f"{int(missing.sum())} respondents with {ind} = 1 have no "
                            f"{dcol!r}; they count for the full period (T = {T:g}) in the "
                            f"stock on any given day"),
            })
        share = np.where(np.isfinite(d), d / T, 1.0)
        new[f"{ind}{STOCK_SUFFIX}"] = np.where(np.isfinite(y), y * share, np.nan)
    return new


def _with_missing_domain(values: pd.Series) -> pd.Series:
    """``values`` as a categorical whose missing values (NaN, blank text) are the last
    category, "Missing" (``tables[].missing_domain``): the domains then add up to the Total."""
    blank = values.isna().to_numpy(dtype=bool, copy=True)  # pandas may hand out a read-only view
    if not isinstance(values.dtype, pd.CategoricalDtype) and _is_text(values):
        blank |= values.astype("string").str.strip().fillna("").eq("").to_numpy(dtype=bool)
    if isinstance(values.dtype, pd.CategoricalDtype):
        levels = list(values.cat.categories)
    else:
        known = pd.unique(values[~blank])
        try:
            levels = sorted(known)
        except TypeError:  # mixed types: keep the order of appearance
            levels = list(known)
    label = MISSING_DOMAIN
    while label in levels:
        label = f"({label})"
    cat = pd.Categorical(values.where(~blank), categories=[*levels, label])
    return pd.Series(cat, index=values.index).fillna(label)


def _is_text(values: pd.Series) -> bool:
    return bool(pd.api.types.is_string_dtype(values.dtype)
                or pd.api.types.is_object_dtype(values.dtype))


def _identifying(rows: pd.DataFrame, by: list[str],
                 counts: str | None) -> tuple[str, np.ndarray] | None:
    """The ``by`` column (or combination) that splits ``rows`` into identifying domains
    (:func:`flestimate.report.disclosure.identifying_partition`), and its domain sizes."""
    candidates = [[b] for b in by] + ([list(by)] if len(by) > 1 else [])
    for cols in candidates:
        groups = rows.groupby(cols, dropna=True, observed=True, sort=False)
        sizes = (groups.size() if counts is None else groups[counts].sum()).to_numpy()
        if identifying_partition(sizes[sizes > 0]):
            return (f"by column {cols[0]!r}" if len(cols) == 1
                    else f"the combination of its by columns {', '.join(map(repr, cols))}"), sizes
    return None


def _refusal(where: str, what: str, sizes: np.ndarray, n_rows: int, whom: str) -> ConfigError:
    return ConfigError(
        f"{where}: {what} identifies respondents or households: its {len(sizes):,} values "
        f"split the {n_rows:,} respondents{whom} into domains of median size "
        f"{np.median(sizes):g} (at most {IDENTIFIER_MAX_MEDIAN} is an identifier). A table by "
        f"an identifier publishes one cell per respondent or household; tabulate by a "
        f"grouping column (region, sector, age group) instead, or remove the table"
    )


def refuse_identifying_tables(frame: pd.DataFrame, config: Config,
                              pop_cols: dict[str, str | None], *, counts: str | None = None) -> None:
    """Refuse a table ``by`` a person or household identifier (issue 14), and the same
    ``by`` of the ``nsum:`` and ``proxy:`` sections (their estimates by respondents'
    domains).

    ``counts``: a column of ``frame`` giving the respondents each row stands for (rows
    grouped by an out-of-core engine); default one per row.

    Such a table publishes one cell per respondent or household (and, for a domain of
    one, the respondent's weight); the rule is
    :func:`flestimate.report.disclosure.identifying_partition`.
    """
    for t in config.tables:
        if not t.by:
            continue
        pop_col = pop_cols[t.population]
        rows = frame if pop_col is None else frame[frame[pop_col] == 1]
        found = _identifying(rows, list(t.by), counts)
        if found is not None:
            n_rows = len(rows) if counts is None else int(rows[counts].sum())
            raise _refusal(f"{t.key} {t.name!r}", found[0], found[1], n_rows,
                           f" of population {t.population!r}")
    sections = (("nsum", config.nsum and config.nsum.options.get("by")),
                ("proxy", config.proxy and config.proxy.by))
    for key, by in sections:
        found = _identifying(frame, list(by), counts) if by else None
        if found is not None:
            raise _refusal(f"{key}.by", found[0], found[1], len(frame), "")
