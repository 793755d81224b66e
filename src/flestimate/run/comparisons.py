"""The ``compare:`` and ``tests:`` sections of a run: the calls and their published rows.

A comparison is the difference between two domains of a published table, estimated
on the full design with the reference population as the first domain, exactly as
the table's own estimates (:mod:`flestimate.run.tables`)::

    table = design.prevalence("fl", by=["_pop_adults", "sex"], ...)
    table.contrast([{male: 1, female: -1}, ...])      # EstimateTable.contrast

with the standard error from the two estimates' covariance, a Wald interval and a
two-sided p-value on the t distribution with the design's degrees of freedom, and
the p-values of an entry adjusted for multiple comparisons (Holm, Bonferroni).

A test is :meth:`flestimate.SurveyDesign.chisq` of a two-way table; within a
reference population the row variable is missing outside it (R's ``svychisq`` on
``subset(design, ...)``: the population is a domain of the full design).

Disclosure (docs/methodology/disclosure.md): a comparison involving a cell that
the table suppressed publishes nothing from which that cell could be recovered:
its difference, SE, interval and p-values are blank and its reason is "involves a
suppressed cell"; in the adjustment of the other p-values its p-value counts as 1
(so their adjusted values do not depend on it). A test publishes only its
statistic, degrees of freedom, p-value and unweighted n, never the cells of its
table; a test on fewer than ``min_n`` respondents is suppressed.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from flestimate.design.interface import VarianceEngine
from flestimate.errors import ConfigError, EstimationError
from flestimate.estimation.contrasts import adjust_p
from flestimate.estimation.labels import label_of_code
from flestimate.report.result import PublishedTable
from flestimate.report.tables import population_unit
from flestimate.run.config_specs import CompareSpec, Config, TestSpec
from flestimate.run.inputs import MISSING_PREFIX

__all__ = [
    "COMPARISON_COLUMNS",
    "SUPPRESSED_COMPARISON",
    "TEST_COLUMNS",
    "add_test_columns",
    "comparisons",
    "tests",
]

#: the reason published with a comparison that involves a suppressed cell
SUPPRESSED_COMPARISON = "involves a suppressed cell"
TEST_PREFIX = "_test_"
COMPARISON_COLUMNS = (
    "comparison", "table", "indicator", "population", "statistic", "unit", "by",
    "domain_a", "domain_b", "code_a", "code_b", "estimate", "se", "ci_lower", "ci_upper",
    "level", "df", "p_value", "adjust", "p_adjusted", "method", "suppressed",
    "suppression_reason",
)  # fmt: skip
TEST_COLUMNS = (
    "test", "row", "col", "population", "statistic_name", "statistic", "ndf", "ddf",
    "p_value", "n_unweighted", "method", "suppressed", "suppression_reason",
)  # fmt: skip
_BLANKED = ("estimate", "se", "ci_lower", "ci_upper", "p_value", "p_adjusted")
_ADJUST_TEXT = {"holm": "adjusted by Holm's method", "bonferroni": "adjusted by Bonferroni's "
                "method", "none": "not adjusted"}  # fmt: skip


def _code_text(value: Any) -> str:
    """A domain code as text: ``1`` for 1 and 1.0, the value itself otherwise."""
    return str(label_of_code(value, {}))


def _domain_keys(frame: pd.DataFrame, cols: list[str]) -> list[str]:
    """One key per row: its codes as text, joined by ``" / "``."""
    parts = [frame[c].map(_code_text) for c in cols]
    return [" / ".join(p) for p in zip(*parts, strict=True)] if parts else []


def _published_domains(table: PublishedTable, statistic: str) -> pd.DataFrame:
    """The domains of a published table (not its total): code key, label, suppressed."""
    f = table.frame
    rows = f[(f["statistic"] == statistic) & f[table.by].notna().any(axis=1)]
    labels = rows[[f"{b}_label" for b in table.by]].astype(str).agg(" / ".join, axis=1)
    # suppression is applied to a whole domain: any of its statistics
    dom = _domain_keys(f, table.by)
    suppressed = pd.Series(f["suppressed"].astype(bool).to_numpy(), index=dom).groupby(level=0).any()
    keys = _domain_keys(rows, table.by)
    return pd.DataFrame({"key": keys, "label": labels.to_numpy(),
                         "suppressed": suppressed.reindex(keys).to_numpy(dtype=bool)})


def _pairs(spec: CompareSpec, domains: pd.DataFrame) -> list[tuple[int, int]]:
    """Positions (in ``domains``) of the pairs an entry compares."""
    n = len(domains)
    if spec.all_pairs:
        i, j = np.triu_indices(n, k=1)
        return list(zip(i.tolist(), j.tolist(), strict=True))
    names: dict[str, int] = {}
    for pos, (key, label) in enumerate(zip(domains["key"], domains["label"], strict=True)):
        names.setdefault(label, pos)
        names.setdefault(key, pos)
    out = []
    for p, pair in enumerate(spec.pairs):
        idx = []
        for q, name in enumerate(pair):
            if name not in names:
                shown = list(domains["label"])[:12]
                raise ConfigError(
                    f"{spec.key}.pairs[{p}][{q}]: {name!r} is not a domain of table "
                    f"{spec.table!r}; its domains are {shown} (by value label or code)")
            idx.append(names[name])
        out.append((idx[0], idx[1]))
    return out


def _method_text(spec: CompareSpec, design: VarianceEngine, level: float, df: float,
                 n: int) -> str:
    variance = ("Taylor linearisation" if getattr(design, "linear_variance", True)
                else "the replicate weights")
    return (f"Difference of the {spec.statistic} of two domains, estimated on the full design; "
            f"standard error from their covariance ({variance}); {level * 100:g}% Wald "
            f"interval and two-sided p-value on the t distribution with {df:g} degrees of "
            f"freedom; p-values {_ADJUST_TEXT[spec.adjust]} over the {n} comparison"
            f"{'s' if n != 1 else ''} of '{spec.name}'.")


def _compare_one(design: VarianceEngine, spec: CompareSpec, table: PublishedTable,
                 config: Config, pop_col: str | None, missing_domain: bool) -> pd.DataFrame:
    domains = _published_domains(table, spec.statistic)
    pairs = _pairs(spec, domains)
    if not pairs:
        raise ConfigError(f"{spec.key}.table: table {spec.table!r} has {len(domains)} domain(s); "
                          "a comparison needs at least two")
    by = [f"{MISSING_PREFIX}{c}" for c in table.by] if missing_domain else list(table.by)
    y, full_by = table.indicator, ([pop_col] if pop_col else []) + by
    if spec.statistic == "prevalence":
        est = design.prevalence(y, by=full_by, level=table.level, scale=config.scale,
                                na_rm=config.na_rm)
    else:
        est = design.total(y, by=full_by, level=table.level, na_rm=config.na_rm)
    f = est.to_frame()
    code_cols = [f"{c}_code" if f"{c}_code" in f else c for c in by]
    inside = (f[pop_col].astype(float) == 1.0).to_numpy() if pop_col else np.ones(len(f), bool)
    row_of = {k: i for i, k in enumerate(_domain_keys(f, code_cols)) if inside[i]}
    pos = [row_of.get(k, -1) for k in domains["key"]]
    weights = [{pos[a]: 1.0, pos[b]: -1.0} for a, b in pairs]
    res = est.contrast(weights, name=[f"c{k}" for k in range(len(pairs))]).to_frame()
    bad = np.array([domains["suppressed"].iloc[a] or domains["suppressed"].iloc[b]
                    for a, b in pairs], dtype=bool)  # fmt: skip
    p = res["p_value"].to_numpy(dtype=float)
    adjusted = adjust_p(np.where(bad, 1.0, p), spec.adjust)
    a_idx, b_idx = (np.array([q[k] for q in pairs]) for k in (0, 1))
    out = pd.DataFrame({
        "comparison": spec.name, "table": table.name, "indicator": table.indicator,
        "population": table.population, "statistic": spec.statistic,
        "unit": (population_unit(table.population, config.scale) if spec.statistic ==
                 "prevalence" else "persons"),
        "by": " x ".join(table.by),
        "domain_a": domains["label"].to_numpy()[a_idx],
        "domain_b": domains["label"].to_numpy()[b_idx],
        "code_a": domains["key"].to_numpy()[a_idx], "code_b": domains["key"].to_numpy()[b_idx],
        "estimate": res["estimate"].to_numpy(), "se": res["se"].to_numpy(),
        "ci_lower": res["ci_lower"].to_numpy(), "ci_upper": res["ci_upper"].to_numpy(),
        "level": table.level, "df": res["df"].to_numpy(), "p_value": p, "adjust": spec.adjust,
        "p_adjusted": adjusted,
        "method": _method_text(spec, design, table.level, float(res["df"].iloc[0]), len(pairs)),
        "suppressed": bad, "suppression_reason": np.where(bad, SUPPRESSED_COMPARISON, ""),
    })  # fmt: skip
    out.loc[bad, list(_BLANKED)] = np.nan
    return out


def comparisons(design: VarianceEngine, config: Config, pop_cols: dict[str, str | None],
                tables: list[PublishedTable]) -> pd.DataFrame | None:
    """The published rows of every ``compare:`` entry (None without the section).

    ``tables`` are the published (graded and suppressed) tables of the run: the
    domains compared are theirs, and so is the suppression a comparison inherits.
    """
    if not config.compare:
        return None
    specs = {t.name: t for t in config.tables}
    published = {t.name: t for t in tables}
    parts = []
    for spec in config.compare:
        t = specs[spec.table]
        parts.append(_compare_one(design, spec, published[spec.table], config,
                                  pop_cols[t.population], t.missing_domain))
    return pd.concat(parts, ignore_index=True)[list(COMPARISON_COLUMNS)]


def add_test_columns(frame: pd.DataFrame, config: Config,
                     pop_cols: dict[str, str | None]) -> pd.DataFrame:
    """The row variable of each test within a reference population, missing outside it
    (``_test_<name>``), added to ``frame`` before the design is built."""
    new = {}
    for t in config.tests:
        pop_col = pop_cols[t.population]
        if pop_col is not None:
            new[f"{TEST_PREFIX}{t.name}"] = frame[t.row].where(frame[pop_col] == 1)
    return frame.assign(**new) if new else frame


def _test_one(design: VarianceEngine, t: TestSpec, pop_col: str | None,
              min_n: int) -> dict[str, Any]:
    row = f"{TEST_PREFIX}{t.name}" if pop_col else t.row
    try:
        res = design.chisq(row, t.col, statistic=t.statistic)
    except EstimationError as exc:
        raise ConfigError(f"{t.key}: {str(exc).replace(row, t.row)}") from None
    data = design.data
    n = int((data[row].notna() & data[t.col].notna()).sum())
    df = list(res.df) + [np.nan] * (2 - len(res.df))
    small = n < min_n
    rec = {
        "test": t.name, "row": t.row, "col": t.col, "population": t.population,
        "statistic_name": res.statistic_name, "statistic": res.statistic, "ndf": df[0],
        "ddf": df[1], "p_value": res.p_value, "n_unweighted": n,
        "method": f"{res.method} ({t.statistic}), design-based test of association of "
                  f"{t.row} and {t.col}" + ("" if pop_col is None else
                                            f" among {t.population}") + ".",
        "suppressed": small,
        "suppression_reason": f"fewer than {min_n} respondents" if small else "",
    }  # fmt: skip
    if small:
        rec.update(statistic=np.nan, ndf=np.nan, ddf=np.nan, p_value=np.nan)
    return rec


def tests(design: VarianceEngine, config: Config,
          pop_cols: dict[str, str | None]) -> pd.DataFrame | None:
    """The published rows of every ``tests:`` entry (None without the section)."""
    if not config.tests:
        return None
    rows = [_test_one(design, t, pop_cols[t.population], config.reliability.min_n)
            for t in config.tests]
    return pd.DataFrame(rows, columns=list(TEST_COLUMNS))
