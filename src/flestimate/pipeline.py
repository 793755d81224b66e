"""The config-driven run behind ``flestimate run``.

The pipeline is the same chain of public calls a notebook user makes::

    data = flestimate.read_survey(path)
    data = flestimate.classify(data, mapping)
    design = flestimate.SurveyDesign(frame, weight=..., strata=..., psu=...)
    design = flestimate.poststratify(design, ...)            # weighting steps, in order
    design.prevalence("fl", by=["_pop_adults", "sex"], ...)  # population as a domain
    design.total("fl", by=[...])

A reference population (adults, children, workers) is a 0/1 column used as a
*domain* (``by``) of the full design: rows outside it are never dropped, so the
variance accounts for the random size of the population in the sample. The
prevalence per 1,000 of population ``P`` is the domain ratio
``1000 * sum(w * y * P) / sum(w * P)``.

The stock "on any given day" (ILO-STANDARDS 2.8) is the total of
``y * min(d, T) / T`` where ``d`` is the time in the situation within a reference
window of length ``T``.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import difflib
import hashlib
import inspect
import io
import platform
import re
import sys
import threading
import time
import warnings
from collections.abc import Iterator, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import pandas as pd

from flestimate.config import Config, TableSpec, check_columns
from flestimate.errors import ConfigError, DomainWarning, FlestimateWarning, shown
from flestimate.estimation.domains import encode_domains
from flestimate.report.disclosure import (
    IDENTIFIER_MAX_MEDIAN,
    identifying_partition,
    protect_headline,
)
from flestimate.report.folder import sha256_file as _sha256
from flestimate.report.plots import forest_plot_png
from flestimate.report.result import PublishedTable, RunResult
from flestimate.report.tables import assemble_table, population_unit, tidy_rows

__all__ = ["Progress", "run_pipeline", "run_config"]

_WEIGHTING_FUNCTIONS = {
    "nonresponse": "adjust_nonresponse",
    "poststratify": "poststratify",
    "rake": "rake",
    "calibrate": "calibrate",
    "trim": "trim_weights",
}
_POP_PREFIX = "_pop_"
_STOCK_SUFFIX = "_stock"
_CAT_PREFIX = "_cat_"
_MISSING_PREFIX = "_missing_as_domain_"
MISSING_DOMAIN = "Missing"


# ---------------------------------------------------------------- progress


class Progress:
    """Progress lines on stderr for steps that take more than a second.

    A step prints ``[k/N] name ...`` only once it has run for ``delay`` seconds,
    then ``done in X s`` when it ends; quick steps print nothing.
    """

    def __init__(self, total: int, *, quiet: bool = False, stream: TextIO | None = None,
                 delay: float = 1.0):
        self.total = total
        self.quiet = quiet
        self.stream = stream if stream is not None else sys.stderr
        self.delay = delay
        self.k = 0
        self.timings: dict[str, float] = {}

    def _bar(self) -> str:
        width = 20
        filled = int(round(width * (self.k - 1) / max(self.total, 1)))
        return "[" + "#" * filled + "-" * (width - filled) + f"] {self.k}/{self.total}"

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[None]:
        self.k += 1
        shown = threading.Event()
        line = f"{self._bar()} {name} ..."

        def show() -> None:
            shown.set()
            print(line, file=self.stream, flush=True)

        timer = None
        if not self.quiet:
            timer = threading.Timer(self.delay, show)
            timer.daemon = True
            timer.start()
        t0 = time.perf_counter()
        try:
            yield
        finally:
            dt = time.perf_counter() - t0
            self.timings[name] = dt
            if timer is not None:
                timer.cancel()
            if shown.is_set():
                print(f"{' ' * len(self._bar())} {name}: done in {dt:.1f} s", file=self.stream,
                      flush=True)


# ---------------------------------------------------------------- helpers


def _versions() -> dict[str, str]:
    from importlib import metadata

    out = {"python": platform.python_version()}
    for pkg in ("flestimate", "numpy", "pandas", "scipy", "pyreadstat", "pyarrow", "pyyaml",
                "openpyxl", "jinja2", "matplotlib"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def _value_labels(data: Any) -> dict[str, dict[Any, str]]:
    vl = getattr(data, "value_labels", None) or {}
    return {str(k): dict(v) for k, v in vl.items() if isinstance(v, Mapping)}


def _frame_of(data: Any) -> pd.DataFrame:
    return data.frame if hasattr(data, "frame") else data


def _margin_tables(step: Any, totals: pd.DataFrame, key: str) -> dict[str, Any]:
    """Margins of a population cross-table (columns + ``count``) for rake/calibrate."""
    if "count" not in totals.columns:
        raise ConfigError(f"{step.key}.totals: {step.totals.name} has no 'count' column "
                          f"(columns: {', '.join(map(str, totals.columns))})")
    cells = [c for c in totals.columns if c != "count"]
    spec = step.options.get(key)
    if spec is None:
        spec = cells
    if isinstance(spec, str):
        spec = [spec]
    if not isinstance(spec, list) or not spec:
        raise ConfigError(f"{step.key}.{key}: found {spec!r}; expected a list of columns of "
                          f"{step.totals.name} ({', '.join(cells)}); a crossed margin is a "
                          f"list such as [sex, age_group]")
    out: dict[str, Any] = {}
    for i, m in enumerate(spec):
        cols = [m] if isinstance(m, str) else list(m) if isinstance(m, list) else None
        if not cols or any(c not in cells for c in cols):
            raise ConfigError(f"{step.key}.{key}[{i}]: found {m!r}; allowed: columns of "
                              f"{step.totals.name}: {', '.join(cells)}")
        grouped = totals.groupby(cols, sort=True)["count"].sum()
        if len(cols) == 1:
            out[cols[0]] = grouped.rename(cols[0])
        else:
            out["+".join(cols)] = grouped.reset_index()
    return out


def _read_totals(step: Any) -> pd.DataFrame:
    """The totals CSV of a weighting step: UTF-8, not empty, each column named once."""
    where = f"{step.key}.totals: {step.totals.name}"
    try:
        text = step.totals.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{where} is not a UTF-8 text file ({exc.reason} at byte {exc.start}); "
                          f"save it as CSV UTF-8") from None
    except OSError as exc:
        raise ConfigError(f"{where} cannot be read ({exc.strerror or exc})") from None
    header = next(csv.reader(io.StringIO(text)), [])
    if not text.strip() or not header:
        raise ConfigError(f"{where} is empty; it needs a header row (the margin columns and "
                          f"'count') and one row per cell")
    twice = sorted({c for c in header if header.count(c) > 1})
    if twice:
        raise ConfigError(f"{where}: column {shown(twice[0])} appears more than once in the "
                          f"header; name each column once")
    try:
        return pd.read_csv(io.StringIO(text))
    except (ValueError, pd.errors.ParserError) as exc:
        raise ConfigError(f"{where} is not a readable CSV file "
                          f"({shown(str(exc).splitlines()[0] if str(exc) else exc, 120)})") from None


def _call_weighting(design: Any, step: Any) -> Any:
    import flestimate

    fname = _WEIGHTING_FUNCTIONS[step.step]
    fn = getattr(flestimate, fname)
    params = inspect.signature(fn).parameters
    names = [p for p in params if p != "design"]
    kwargs = dict(step.options)
    if step.totals is not None:
        table = _read_totals(step)
        if step.step == "rake":
            kwargs["margins"] = _margin_tables(step, table, "margins")
        elif step.step == "calibrate":
            cal = _margin_tables(step, table, "variables")
            kwargs.pop("variables", None)
            kwargs["totals"] = {k: {(lv.item() if hasattr(lv, "item") else lv): float(v)
                                    for lv, v in s.items()} for k, s in cal.items()
                                if isinstance(s, pd.Series)}
        elif "totals" in params:
            kwargs["totals"] = table
        else:
            raise ConfigError(f"{step.key}.totals: flestimate.{fname} takes no totals table; "
                              f"its options are: {', '.join(names)}")
    if isinstance(kwargs.get("bounds"), list):
        kwargs["bounds"] = tuple(kwargs["bounds"])
    accepts_any = any(p.kind == p.VAR_KEYWORD for p in params.values())
    for k in kwargs:
        if k not in params and not accepts_any:
            close = difflib.get_close_matches(k, names, n=1, cutoff=0.5)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise ConfigError(f"{step.key}.{k}: unknown option of flestimate.{fname}; {hint}"
                              f"its options are: {', '.join(names)}")
    required = [p for p, v in params.items() if p != "design" and v.default is v.empty
                and v.kind in (v.KEYWORD_ONLY, v.POSITIONAL_OR_KEYWORD) and p not in kwargs]
    if required:
        raise ConfigError(f"{step.key}: the {step.step} step needs the option"
                          f"{'s' if len(required) > 1 else ''} {', '.join(required)} "
                          f"(see flestimate.{fname}); add {required[0]}: ... under the step")
    try:
        return fn(design, **kwargs)
    except (TypeError, AttributeError) as exc:  # an option of the wrong kind (a number for a list, ...)
        raise ConfigError(f"{step.key}: flestimate.{fname} cannot use these options: "
                          f"{shown(str(exc), 200)}") from None


def _read_options(config: Config) -> dict[str, Any]:
    """``input.options`` checked against :func:`flestimate.read_survey`'s keywords."""
    import flestimate

    params = inspect.signature(flestimate.read_survey).parameters
    allowed = [p for p, v in params.items() if v.kind == v.KEYWORD_ONLY and p != "chunksize"]
    opts = dict(config.input_options)
    for k in opts:
        if k not in allowed:
            close = difflib.get_close_matches(k, allowed, n=1, cutoff=0.5)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise ConfigError(f"input.options.{k}: unknown option of flestimate.read_survey; "
                              f"{hint}allowed: {', '.join(allowed)}")
    cb = opts.get("codebook")
    if isinstance(cb, str) and not Path(cb).is_absolute():
        opts["codebook"] = str(config.base_dir / cb)
    return opts


def _build_design(frame: pd.DataFrame, config: Config) -> Any:
    import flestimate

    d = config.design
    if d.replicate is not None:
        rep = dict(d.replicate)
        weights = rep.pop("weights")
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
        return flestimate.ReplicateDesign(frame, weight=d.weight, replicate_weights=list(weights),
                                          **rep)
    return flestimate.SurveyDesign(frame, weight=d.weight, strata=d.strata, psu=d.psu, fpc=d.fpc,
                                   lonely_psu=d.lonely_psu)


def _restrict(frame: pd.DataFrame, pop_col: str | None) -> pd.DataFrame:
    """Keep the population-domain rows of an estimate table and drop the domain column."""
    if pop_col is None:
        return frame
    keep = frame[pop_col].astype(float) == 1.0
    return frame.loc[keep].drop(columns=[pop_col]).reset_index(drop=True)


@contextlib.contextmanager
def _missing_values_hint() -> Iterator[None]:
    """Re-word the engine's missing-value error in terms of the config."""
    from flestimate.errors import EstimationError

    try:
        yield
    except EstimationError as exc:
        msg = str(exc)
        if "missing values" not in msg:
            raise
        head = msg.split(". Pass na_rm")[0]
        raise ConfigError(
            f"{head}. Set 'estimation: {{na_rm: true}}' in the config to estimate from the rows "
            f"with a value (the others stay in the design with zero contribution), or classify "
            f"with missing_policy conservative or upper_bound"
        ) from None


@contextlib.contextmanager
def _missing_by_in_population(design: Any, pop_col: str | None, by: list[str] | None,
                              diags: list) -> Iterator[list]:
    """Collect an estimate's diagnostics (append them to the list yielded) into ``diags``.

    With a population, its column is the first domain of the estimate, so the estimator's
    'missing_by' warning also counts rows outside the population, which no table shows
    (a worker's sector is missing for every non-worker). It is replaced by the same check
    on the population's rows. ``by=None``: the estimate's domains are no table's ``by``
    (a share table's indicator), so that warning is dropped.
    """
    found: list = []
    if pop_col is None and by is not None:
        yield found
        diags.extend(found)
        return
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".* belong to no domain", category=DomainWarning)
        yield found
    diags.extend(d for d in found if getattr(d, "code", None) != "missing_by")
    if pop_col and by and any(getattr(d, "code", None) == "missing_by" for d in found):
        rows = design.data[pop_col].to_numpy(dtype=float) == 1.0
        inside = encode_domains(design.data.loc[rows, by], by).missing_diagnostic()
        if inside is not None:
            warnings.warn(inside.message, DomainWarning, stacklevel=3)
            diags.append(inside)


def _estimate(design: Any, statistic: str, y: str, by: list[str], pop_col: str | None,
              spec_ci: str, level: float, scale: float, diags: list,
              na_rm: bool = False) -> pd.DataFrame:
    full_by = ([pop_col] if pop_col else []) + by
    by_arg = full_by or None
    with _missing_values_hint(), _missing_by_in_population(design, pop_col, by, diags) as found:
        if statistic == "prevalence":
            est = design.prevalence(y, by=by_arg, ci_method=spec_ci, level=level, scale=scale,
                                    na_rm=na_rm)
        else:
            # the prevalence's method on the count's share of the population (issue 15)
            est = design.total(y, by=by_arg, level=level, na_rm=na_rm, ci_method=spec_ci)
        found.extend(getattr(est, "diagnostics", ()))
    return _restrict(est.to_frame(), pop_col)


def _share(design: Any, indicator: str, by_col: str, pop_col: str | None, ci: str, level: float,
           diags: list) -> pd.DataFrame:
    groups = ([pop_col] if pop_col else []) + [indicator]
    # only the indicator's rows with value 1 are shown: its missing values are no domain
    with _missing_values_hint(), _missing_by_in_population(design, pop_col, None, diags) as found:
        est = design.proportion(f"{_CAT_PREFIX}{by_col}", by=groups, ci_method=ci, level=level)
        found.extend(getattr(est, "diagnostics", ()))
    f = est.to_frame()
    f = f[f[indicator].astype(float) == 1.0].drop(columns=[indicator])
    f = _restrict(f.reset_index(drop=True), pop_col)
    f = f.rename(columns={"category": by_col})
    f[by_col] = f[by_col].astype(object)
    for col in ("estimate", "se", "ci_lower", "ci_upper"):
        f[col] = f[col] * 100.0
    return f


def _headline_row(frame: pd.DataFrame) -> dict[str, Any]:
    r = frame.iloc[0]
    keys = ("estimate", "se", "ci_lower", "ci_upper", "cv", "deff", "df", "n_unweighted",
            "n_weighted", "n_effective")
    return {k: (float(r[k]) if k in frame.columns and pd.notna(r[k]) else None) for k in keys}


# ---------------------------------------------------------------- the run


def _add_columns(frame: pd.DataFrame, config: Config, indicators: set[str],
                 warnings_out: list[dict]) -> tuple[pd.DataFrame, dict[str, str | None]]:
    """Population indicator columns and stock columns, added to a copy of ``frame``."""
    new: dict[str, Any] = {}
    pop_cols: dict[str, str | None] = {}
    for name, flt in config.populations.items():
        if flt is None:
            pop_cols[name] = None
            continue
        col = f"{_POP_PREFIX}{name}"
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
            col = f"{_CAT_PREFIX}{t.by[0]}"
            if col not in new:
                new[col] = frame[t.by[0]].astype("category")
    for t in config.tables:
        if t.missing_domain:
            for col in t.by:
                new.setdefault(f"{_MISSING_PREFIX}{col}", _with_missing_domain(frame[col]))
    if config.duration is not None:
        dcol = config.duration.variable
        T = config.duration.period
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
            new[f"{ind}{_STOCK_SUFFIX}"] = np.where(np.isfinite(y), y * share, np.nan)
    return frame.assign(**new), pop_cols


def _with_missing_domain(values: pd.Series) -> pd.Series:
    """``values`` as a categorical whose missing values (NaN, blank text) are the last
    category, "Missing" (``tables[].missing_domain``): the domains then add up to the Total."""
    blank = values.isna().to_numpy(dtype=bool)
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


def _refuse_identifying_tables(frame: pd.DataFrame, config: Config,
                               pop_cols: dict[str, str | None]) -> None:
    """Refuse a table ``by`` a person or household identifier (issue 14).

    Such a table publishes one cell per respondent or household (and, for a domain of
    one, the respondent's weight); the rule is
    :func:`flestimate.report.disclosure.identifying_partition`.
    """
    for t in config.tables:
        if not t.by:
            continue
        pop_col = pop_cols[t.population]
        rows = frame if pop_col is None else frame[frame[pop_col] == 1]
        candidates = [[b] for b in t.by] + ([list(t.by)] if len(t.by) > 1 else [])
        for cols in candidates:
            sizes = rows.groupby(cols, dropna=True, observed=True, sort=False).size().to_numpy()
            if not identifying_partition(sizes[sizes > 0]):
                continue
            what = (f"by column {cols[0]!r}" if len(cols) == 1
                    else f"the combination of its by columns {', '.join(map(repr, cols))}")
            raise ConfigError(
                f"{t.key} {t.name!r}: {what} identifies respondents or households: its "
                f"{len(sizes):,} values split the {len(rows):,} respondents of population "
                f"{t.population!r} into domains of median size {np.median(sizes):g} (at most "
                f"{IDENTIFIER_MAX_MEDIAN} is an identifier). A table by an identifier publishes "
                f"one cell per respondent or household; tabulate by a grouping column (region, "
                f"sector, age group) instead, or remove the table"
            )


def _weighted_design(frame: pd.DataFrame, config: Config) -> Any:
    design = _build_design(frame, config)
    for step in config.weighting:
        design = _call_weighting(design, step)
    return design


def _table_statistics(t: TableSpec, config: Config) -> list[str]:
    stats = list(t.statistics)
    if config.duration is not None and "total" in stats:
        stats.insert(stats.index("total") + 1, "stock")
    return stats


def _build_table(design: Any, t: TableSpec, config: Config, pop_col: str | None,
                 labels: dict, diags: list) -> pd.DataFrame:
    pieces = []
    by = list(t.by)
    for stat in _table_statistics(t, config):
        if stat == "share":
            f = _share(design, t.indicator, by[0], pop_col, t.ci_method, t.level, diags)
            pieces.append(tidy_rows(f, by=by, statistic="share", scale=100.0))
            continue
        y = t.indicator + (_STOCK_SUFFIX if stat == "stock" else "")
        api_stat = "prevalence" if stat == "prevalence" else "total"
        scale = config.scale if stat == "prevalence" else 1.0
        if by:
            est_by = [f"{_MISSING_PREFIX}{c}" for c in by] if t.missing_domain else by
            f = _estimate(design, api_stat, y, est_by, pop_col, t.ci_method, t.level, scale,
                          diags, config.na_rm)
            f = f.rename(columns=dict(zip(est_by, by, strict=True)))
            pieces.append(tidy_rows(f, by=by, statistic=stat, scale=scale))
        if t.total or not by:
            f = _estimate(design, api_stat, y, [], pop_col, t.ci_method, t.level, scale, diags,
                          config.na_rm)
            pieces.append(tidy_rows(f, by=by, statistic=stat, scale=scale))
    return assemble_table(pieces, name=t.name, indicator=t.indicator, population=t.population,
                          by=by, rules=config.reliability, has_total=t.total or not by,
                          value_labels=labels, scale=config.scale)


def _headline(design: Any, config: Config, pop_col: str | None, diags: list) -> dict[str, Any]:
    ind = config.indicator
    prev = _estimate(design, "prevalence", ind, [], pop_col, config.ci_method, config.level,
                     config.scale, diags, config.na_rm)
    tot = _estimate(design, "total", ind, [], pop_col, config.ci_method, config.level, 1.0, diags,
                    config.na_rm)
    out = {
        "indicator": ind,
        "population": config.headline_population,
        "population_text": ("total population" if config.headline_population == "total"
                            else f"{config.headline_population}"),
        "level": config.level,
        "ci_method": config.ci_method,
        "scale": config.scale,
        "prevalence": _headline_row(prev),
        "persons": _headline_row(tot),
        "stock": None,
    }
    if config.duration is not None:
        st = _estimate(design, "total", ind + _STOCK_SUFFIX, [], pop_col, config.ci_method,
                       config.level, 1.0, diags, config.na_rm)
        out["stock"] = _headline_row(st)
    return out


def _design_summary(frame: pd.DataFrame, config: Config, design: Any, headline: dict) -> dict:
    d = config.design
    w = pd.to_numeric(frame[d.weight], errors="coerce").to_numpy(dtype=float)
    n = len(frame)
    out: dict[str, Any] = {"Respondents (rows)": f"{n:,}"}
    if d.strata:
        out["Strata"] = f"{frame[d.strata].nunique():,}"
    if d.psu:
        keys = [d.strata, d.psu] if d.strata else [d.psu]
        n_psu = len(frame[keys].drop_duplicates())
        out["PSUs"] = f"{n_psu:,}"
    df = headline["prevalence"].get("df")
    if df is not None:
        out["Design degrees of freedom"] = f"{df:g}"
    out["Design weight column"] = d.weight
    out["Lonely PSU rule"] = d.lonely_psu
    if d.fpc:
        out["Finite population correction"] = d.fpc
    sw = float(np.sum(w))
    out["Sum of input weights"] = f"{sw:,.0f}"
    out["Kish weighting effect (input weights)"] = f"{n * float(np.sum(w * w)) / (sw * sw):.3f}"
    deff = headline["prevalence"].get("deff")
    if deff is not None:
        out["Design effect of the headline prevalence"] = f"{deff:.2f}"
    return out


def _weight_summary(design: Any) -> dict[str, Any]:
    """``flestimate.weight_summary`` as ``{"columns": [...], "rows": [[...], ...]}`` (text)."""
    import flestimate

    ws = flestimate.weight_summary(design)
    if isinstance(ws, pd.Series):
        ws = ws.to_frame().T
    if not isinstance(ws, pd.DataFrame):
        return {"columns": ["summary"], "rows": [[str(ws)]]}
    ws = ws.dropna(axis=1, how="all")
    return {"columns": [str(c) for c in ws.columns],
            "rows": [[_fmt_value(v) for v in row] for row in ws.itertuples(index=False)]}


def _fmt_value(v: Any) -> Any:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return ""
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    if isinstance(v, (int, np.integer)):
        return f"{int(v):,}"
    if isinstance(v, (float, np.floating)):
        return f"{float(v):,.4g}" if abs(float(v)) < 1e4 else f"{float(v):,.0f}"
    return str(v)


def _methods(config: Config, class_settings: dict | None, framework: str | None) -> list[str]:
    d = config.design
    paras = []
    if framework:
        s = class_settings or {}
        paras.append(
            f"Persons were classified as in forced labour by the {framework} framework "
            f"(strength rule '{s.get('strength_rule', '?')}', penalty scope "
            f"'{s.get('penalty_scope', '?')}', missing-data policy "
            f"'{s.get('missing_policy', '?')}'): a person is in forced labour when work was "
            f"involuntary and imposed under the menace of a penalty."
        )
    parts = [f"weights '{d.weight}'"]
    if d.strata:
        parts.append(f"strata '{d.strata}'")
    if d.psu:
        parts.append(f"primary sampling units '{d.psu}'")
    if d.fpc:
        parts.append(f"finite population correction from '{d.fpc}'")
    if d.replicate is not None:
        paras.append(f"Variances were estimated with replicate weights "
                     f"({d.replicate.get('method', d.replicate.get('type', 'as given'))}).")
    else:
        paras.append(
            "Estimates are design-based, with " + ", ".join(parts) + ". Variances were estimated "
            "by Taylor linearisation with the with-replacement approximation at the first stage "
            f"(lonely PSU rule '{d.lonely_psu}')."
        )
    if config.weighting:
        paras.append("The weights were adjusted in this order: " + "; ".join(
            f"{s.step}" + (f" to the totals in {s.totals.name}" if s.totals else "")
            for s in config.weighting) + ". The variance accounts for the calibration.")
    pops = [f"{k} ({'everyone' if v is None else v.source})" for k, v in config.populations.items()]
    paras.append(
        f"Prevalence is expressed per {config.scale:,g} of a reference population: "
        + ", ".join(pops) + ". Each reference population is estimated as a domain of the full "
        "design (rows outside it are kept with zero contribution), so the prevalence is the ratio "
        "of the weighted number of persons in forced labour in the population to the weighted "
        "population size, and its variance is that of a ratio."
    )
    paras.append(
        f"Confidence intervals are {config.level * 100:g}% intervals by the {config.ci_method} "
        f"method. The interval of a number of persons is the same method's interval of its "
        f"share of the population (its estimate and standard error divided by the weighted "
        f"population size), times that size: when the population size is fixed by the "
        f"weighting it is exactly the population times the prevalence interval. A domain "
        f"with no case gets a one-sided interval whose effective size is its sample size "
        f"divided by the design effect pooled over the table's domains with cases."
    )
    if config.duration is not None:
        paras.append(
            f"The stock 'on any given day' is the weighted total of y·min(d, T)/T with d the "
            f"months in the situation ('{config.duration.variable}') and T = "
            f"{config.duration.period:g}; the flow is the number of persons in forced labour at "
            f"any time in the reference period (ILO-STANDARDS 2.8)."
        )
    r = config.reliability
    paras.append(
        f"Reliability: estimates based on fewer than {r.min_n} respondents or with a coefficient "
        f"of variation above {r.cv_suppress:g} are suppressed; a CV above {r.cv_flag:g} or fewer "
        f"than {r.min_df} design degrees of freedom is flagged 'caution'."
        + (" The NCHS data presentation standard for proportions is applied to prevalences."
           if r.nchs else "")
        + (" In a table with a total, when a single cell is suppressed the next smallest cell is "
           "suppressed too, so the first cannot be recovered by subtraction." if r.complementary
           else "")
    )
    if config.sensitivity and framework:
        paras.append(
            "Sensitivity: the classification was repeated counting 'don't know' and refused "
            "answers as no (conservative) and as yes (upper bound); the report gives both "
            "headline prevalences."
        )
    return paras


def _settings(config: Config) -> dict[str, Any]:
    d = config.design
    return {
        "title": config.title,
        "input": config.input_path.name,
        "mapping": config.mapping.name if config.mapping else None,
        "design": dataclasses.asdict(d),
        "weighting": [{"step": s.step, "totals": s.totals.name if s.totals else None,
                       **dict(s.options)} for s in config.weighting],
        "populations": {k: (None if v is None else v.source) for k, v in config.populations.items()},
        "indicator": config.indicator,
        "ci_method": config.ci_method,
        "level": config.level,
        "scale": config.scale,
        "na_rm": config.na_rm,
        "headline_population": config.headline_population,
        "duration": dataclasses.asdict(config.duration) if config.duration else None,
        "sensitivity": config.sensitivity,
        "reliability": dataclasses.asdict(config.reliability),
        "tables": [
            {k: v for k, v in dataclasses.asdict(t).items() if k != "key"} for t in config.tables
        ],
        "seed": config.seed,
    }


def count_steps(config: Config, *, writing: bool = True) -> int:
    """Number of progress steps of a run (for the progress bar)."""
    steps = 4 + len(config.tables) + int(writing)
    if config.mapping is not None:
        steps += 1 + int(config.sensitivity)
    return steps


def run_pipeline(config: Config, *, progress: Progress | None = None) -> RunResult:
    """Run the estimation described by ``config`` and return the publishable results.

    Parameters
    ----------
    config : Config
        A validated configuration (:func:`flestimate.config.load_config`).
    progress : Progress, optional
        Progress display; silent if omitted.

    Returns
    -------
    RunResult
        Tables (after reliability grading and suppression), headline, sensitivity band,
        design and weighting summaries, methods text, warnings and the manifest. It
        holds no microdata.

    Raises
    ------
    FlestimateError
        A config or data problem (bad column, unreadable file, invalid design...).

    Notes
    -----
    Prevalence per ``scale`` of population ``P`` (a 0/1 domain column):
    ``R = scale * sum(w y P) / sum(w P)``, estimated as a domain ratio of the full
    design (Taylor-linearised or replicate variance). Number of persons:
    ``Y = sum(w y P)``. Stock on any given day: ``S = sum(w y P d / T)``, with ``d`` the
    duration; a ``d`` missing or outside ``[0, T]`` (a "don't know" code) counts as ``T``.

    References
    ----------
    ILO (2018). Guidelines concerning the measurement of forced labour, 20th ICLS.
    Lumley, T. (2010). Complex Surveys: A Guide to Analysis Using R, chapter 2 (domains).
    """
    import flestimate

    progress = progress or Progress(count_steps(config, writing=False), quiet=True)
    run_warnings: list[dict[str, Any]] = []
    diags: list[Any] = []
    started = datetime.now(timezone.utc)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", FlestimateWarning)

        with progress.step("reading the survey file"):
            data = flestimate.read_survey(config.input_path, **_read_options(config))
        labels = _value_labels(data)

        class_settings = None
        framework = None
        indicator_cols: list[str] = []
        upper = None
        if config.mapping is not None:
            with progress.step("classifying (forced-labour rules)"):
                mapping = flestimate.load_mapping(config.mapping)
                data, report = flestimate.classify(data, mapping, return_report=True)
                class_settings = dict(report.settings)
                framework = report.framework
                from flestimate.indicators import output_columns

                indicator_cols = output_columns(mapping)
                for note in report.notes:
                    run_warnings.append({"code": "classification", "severity": "warning",
                                         "message": note})
                if config.sensitivity:
                    cons = flestimate.classify(_frame_of(data).drop(columns=indicator_cols),
                                               mapping, settings={"missing_policy": "conservative"})
                    upper = flestimate.classify(_frame_of(data).drop(columns=indicator_cols),
                                                mapping, settings={"missing_policy": "upper_bound"})
        labels = {**labels, **_value_labels(data)}
        frame = _frame_of(data)
        indicators = {t.indicator for t in config.tables} | {config.indicator}
        check_columns(config, frame.columns, indicators=indicator_cols)

        with progress.step("building the design and weights"):
            frame_x, pop_cols = _add_columns(frame, config, indicators, run_warnings)
            _refuse_identifying_tables(frame_x, config, pop_cols)
            design = _weighted_design(frame_x, config)

        with progress.step("headline estimates"):
            head_pop = pop_cols[config.headline_population]
            headline = _headline(design, config, head_pop, diags)

        sensitivity = None
        if upper is not None:
            with progress.step("sensitivity: conservative and upper-bound policies"):
                band = {}
                for name, d in (("conservative", cons), ("upper_bound", upper)):
                    fx, _ = _add_columns(_frame_of(d), config, indicators, [])
                    des = _weighted_design(fx, config)
                    band[name] = _headline(des, config, head_pop, [])
                unc = _estimate(design, "total", "fl_uncertain", [], None, config.ci_method,
                                config.level, 1.0, [])
                unc_share = _estimate(design, "prevalence", "fl_uncertain", [], None,
                                      config.ci_method, config.level, 1.0, [])
                sensitivity = {
                    **band,
                    "changed_n": int(pd.to_numeric(frame["fl_uncertain"]).fillna(0).sum()),
                    "changed_weighted": float(unc["estimate"].iloc[0]),
                    "changed_weighted_share": float(unc_share["estimate"].iloc[0]),
                }
        headline, sensitivity = protect_headline(headline, sensitivity, config.reliability)

        tables: list[PublishedTable] = []
        var_labels = dict(getattr(data, "variable_labels", None) or {})
        for t in config.tables:
            with progress.step(f"table {t.name}"):
                tab = _build_table(design, t, config, pop_cols[t.population], labels, diags)
                plot = None
                if config.outputs.plots and t.by and "prevalence" in t.statistics:
                    plot = forest_plot_png(
                        tab, list(t.by), statistic="prevalence", title=t.title,
                        xlabel=f"prevalence {population_unit(t.population, config.scale)}")
                tables.append(PublishedTable(
                    name=t.name, title=t.title, indicator=t.indicator, population=t.population,
                    by=list(t.by), statistics=_table_statistics(t, config),
                    ci_method=t.ci_method, level=t.level, frame=tab, plot_png=plot,
                    by_labels={b: str(var_labels.get(b, b)) for b in t.by}))

        with progress.step("design and weighting summaries"):
            design_summary = _design_summary(frame, config, design, headline)
            weight_summary = _weight_summary(design)
            weighting = []
            for s in config.weighting:
                opts = ", ".join(f"{k}={v}" for k, v in s.options.items())
                weighting.append(f"{s.step}" + (f" to {s.totals.name}" if s.totals else "")
                                 + (f" ({opts})" if opts else ""))

    seen: set[tuple[str, str]] = set()
    for w in caught:
        if issubclass(w.category, FlestimateWarning):
            key = (w.category.__name__, str(w.message))
            if key not in seen:
                seen.add(key)
                run_warnings.append({"code": w.category.__name__, "severity": "warning",
                                     "message": str(w.message)})
    for dg in diags:
        key = (getattr(dg, "code", "diagnostic"), getattr(dg, "message", str(dg)))
        if key not in seen:
            seen.add(key)
            run_warnings.append({"code": key[0], "severity": getattr(dg, "severity", "warning"),
                                 "message": key[1]})
    n_sup = sum(int(t.frame["suppressed"].sum()) for t in tables)
    n_caut = sum(int((t.frame["quality"] == "caution").sum()) for t in tables)
    if n_sup:
        run_warnings.append({"code": "suppressed", "severity": "info", "message": (
            f"{n_sup} estimates are suppressed by the reliability and disclosure rules; the "
            f"reason is given with each")})
    if n_caut:
        run_warnings.append({"code": "caution", "severity": "info", "message": (
            f"{n_caut} estimates are flagged 'caution' (high CV or few degrees of freedom)")})

    cfg_bytes = config.path.read_bytes() if config.path is not None else repr(config.raw).encode()
    manifest = {
        "flestimate_version": flestimate.__version__,
        "created": started.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "input": {"path": config.input_path.name, "sha256": _sha256(config.input_path),
                  "rows": int(len(frame))},
        "mapping": ({"path": config.mapping.name, "sha256": _sha256(config.mapping)}
                    if config.mapping else None),
        "config": dict(config.raw),
        "config_sha256": hashlib.sha256(cfg_bytes).hexdigest(),
        "seed": config.seed,
        "packages": _versions(),
        "classification": class_settings,
        "timings_seconds": {k: round(v, 3) for k, v in progress.timings.items()},
    }
    return RunResult(
        title=config.title, tables=tables, headline=headline, sensitivity=sensitivity,
        design=design_summary, weighting=weighting, weight_summary=weight_summary,
        methods=_methods(config, class_settings, framework), warnings=run_warnings,
        settings=_settings(config), manifest=manifest,
    )


def run_config(path: str | Path, out_dir: str | Path, *, quiet: bool = True,
               progress: Progress | None = None) -> Path:
    """Load a config file, run it and write the outputs (the library form of ``flestimate run``).

    Returns
    -------
    Path
        The output folder.
    """
    from flestimate.config import load_config
    from flestimate.report.writers import write_outputs

    config = load_config(path)
    progress = progress or Progress(count_steps(config), quiet=quiet)
    result = run_pipeline(config, progress=progress)
    with progress.step("writing CSV, Excel, JSON and the HTML report"):
        return write_outputs(result, out_dir, config.outputs)

