"""The estimates behind a run's published tables and its headline.

A reference population is the first domain (``by``) of every estimate of the full
design and only its rows are shown: rows outside it are never dropped from the design,
so the variance accounts for the random size of the population in the sample. The
prevalence per ``scale`` of population ``P`` is the domain ratio
``scale * sum(w * y * P) / sum(w * P)``; the number of persons is ``sum(w * y * P)``;
the share of a ``by`` category among the persons in forced labour is a domain
proportion. The rows are then tidied and graded by the report
(:func:`flestimate.report.tables.assemble_table`).
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from typing import Any

import pandas as pd

from flestimate.design.interface import VarianceEngine
from flestimate.errors import ConfigError, DomainWarning, EstimationError
from flestimate.estimation.domains import encode_domains
from flestimate.report.tables import assemble_table, tidy_rows
from flestimate.run.config_specs import Config, TableSpec
from flestimate.run.inputs import CAT_PREFIX, MISSING_PREFIX, STOCK_SUFFIX

__all__ = ["build_table", "estimate", "headline", "table_statistics"]


def _restrict(frame: pd.DataFrame, pop_col: str | None) -> pd.DataFrame:
    """Keep the population-domain rows of an estimate table and drop the domain column."""
    if pop_col is None:
        return frame
    keep = frame[pop_col].astype(float) == 1.0
    return frame.loc[keep].drop(columns=[pop_col]).reset_index(drop=True)


@contextlib.contextmanager
def _missing_values_hint() -> Iterator[None]:
    """Re-word the engine's missing-value error in terms of the config."""
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
def _missing_by_in_population(design: VarianceEngine, pop_col: str | None, by: list[str] | None,
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


def estimate(design: VarianceEngine, statistic: str, y: str, by: list[str], pop_col: str | None,
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


def _share(design: VarianceEngine, indicator: str, by_col: str, pop_col: str | None, ci: str, level: float,
           diags: list) -> pd.DataFrame:
    groups = ([pop_col] if pop_col else []) + [indicator]
    # only the indicator's rows with value 1 are shown: its missing values are no domain
    with _missing_values_hint(), _missing_by_in_population(design, pop_col, None, diags) as found:
        est = design.proportion(f"{CAT_PREFIX}{by_col}", by=groups, ci_method=ci, level=level)
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


def table_statistics(t: TableSpec, config: Config) -> list[str]:
    stats = list(t.statistics)
    if config.duration is not None and "total" in stats:
        stats.insert(stats.index("total") + 1, "stock")
    return stats


def build_table(design: VarianceEngine, t: TableSpec, config: Config, pop_col: str | None,
                 labels: dict, diags: list) -> pd.DataFrame:
    pieces = []
    by = list(t.by)
    for stat in table_statistics(t, config):
        if stat == "share":
            f = _share(design, t.indicator, by[0], pop_col, t.ci_method, t.level, diags)
            pieces.append(tidy_rows(f, by=by, statistic="share", scale=100.0))
            continue
        y = t.indicator + (STOCK_SUFFIX if stat == "stock" else "")
        api_stat = "prevalence" if stat == "prevalence" else "total"
        scale = config.scale if stat == "prevalence" else 1.0
        if by:
            est_by = [f"{MISSING_PREFIX}{c}" for c in by] if t.missing_domain else by
            f = estimate(design, api_stat, y, est_by, pop_col, t.ci_method, t.level, scale,
                          diags, config.na_rm)
            f = f.rename(columns=dict(zip(est_by, by, strict=True)))
            pieces.append(tidy_rows(f, by=by, statistic=stat, scale=scale))
        if t.total or not by:
            f = estimate(design, api_stat, y, [], pop_col, t.ci_method, t.level, scale, diags,
                          config.na_rm)
            pieces.append(tidy_rows(f, by=by, statistic=stat, scale=scale))
    return assemble_table(pieces, name=t.name, indicator=t.indicator, population=t.population,
                          by=by, rules=config.reliability, has_total=t.total or not by,
                          value_labels=labels, scale=config.scale)


def headline(design: VarianceEngine, config: Config, pop_col: str | None, diags: list) -> dict[str, Any]:
    ind = config.indicator
    prev = estimate(design, "prevalence", ind, [], pop_col, config.ci_method, config.level,
                     config.scale, diags, config.na_rm)
    tot = estimate(design, "total", ind, [], pop_col, config.ci_method, config.level, 1.0, diags,
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
        st = estimate(design, "total", ind + STOCK_SUFFIX, [], pop_col, config.ci_method,
                       config.level, 1.0, diags, config.na_rm)
        out["stock"] = _headline_row(st)
    return out


