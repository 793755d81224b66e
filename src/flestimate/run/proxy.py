"""The ``proxy:`` section of a run: prevalence and number from family (proxy) reports.

The calls are the ones a notebook user makes::

    reports = flestimate.read_survey("family_reports.csv").frame
    args = dict(respondent="respondent", outcome="fl", multiplicity="multiplicity",
                respondent_id="id", by=...)
    flestimate.proxy.multiplicity_prevalence(design, reports, **args, scale=1000)
    flestimate.proxy.multiplicity_total(design, reports, **args)

One table per statistic asked (``<name>_prevalence``, ``<name>_total``), by the
respondents' domains when ``by`` is given. Each reported person counts ``1/m`` through
each report (``m``: the number of people who could have reported them), so once in all:
the report states this counting rule, and the config's ``counting_rule`` (who could
report a person) beside it. The estimate of a domain of fewer than ``reliability.min_n``
respondents is suppressed (blank, ``suppressed`` true); the other reliability rules of
the tables do not apply. The respondents behind each estimate are shown.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from flestimate.errors import ConfigError, EstimationError, LoaderError, ValidationError, shown
from flestimate.io import read_survey
from flestimate.proxy import multiplicity_prevalence, multiplicity_total
from flestimate.report.result import ReportSection, SectionTable
from flestimate.run.config_specs import Config, ProxySpec

__all__ = ["proxy_section", "read_reports"]

_KEY = "proxy"
_CALLS = {"prevalence": multiplicity_prevalence, "total": multiplicity_total}
_SHOWN = {"estimate": "Estimate", "se": "SE", "ci_lower": "CI lower", "ci_upper": "CI upper",
          "cv": "CV", "n_unweighted": "Respondents"}


def read_reports(spec: ProxySpec) -> tuple[pd.DataFrame, str]:
    """The reports file's columns the section uses, and the file's SHA-256."""
    try:
        data = read_survey(spec.reports, codebook=False)
    except LoaderError as exc:
        raise ConfigError(f"{_KEY}.reports: {exc}") from None
    frame = data.frame
    for key in ("respondent", "outcome", "multiplicity"):
        col = getattr(spec, key)
        if col not in frame.columns:
            raise ConfigError(
                f"{_KEY}.{key}: {shown(col)} is not a column of {shown(spec.reports.name)}; "
                f"its columns: {', '.join(shown(c) for c in list(frame.columns)[:12])}")
    if frame.empty:
        raise ConfigError(f"{_KEY}.reports: {shown(spec.reports.name)} has no rows; expected "
                          f"one row per (respondent, reported person)")
    cols = [spec.respondent, spec.outcome, spec.multiplicity]
    return frame[cols], data.source.sha256


def _calls(design: Any, spec: ProxySpec, reports: pd.DataFrame,
           level: float) -> dict[str, pd.DataFrame]:
    args = {"respondent": spec.respondent, "outcome": spec.outcome,
            "multiplicity": spec.multiplicity, "respondent_id": spec.respondent_id,
            "by": list(spec.by) or None, "level": level}
    out = {}
    try:
        for stat in spec.statistics:
            extra = {"scale": spec.scale} if stat == "prevalence" else {}
            out[stat] = _CALLS[stat](design, reports, **args, **extra).to_frame()
    except (EstimationError, ValidationError) as exc:
        raise ConfigError(f"{_KEY}: {exc}") from None
    return out


def _suppress(frame: pd.DataFrame, min_n: int) -> pd.DataFrame:
    """Blank the estimates of domains with fewer than ``min_n`` respondents (the tables'
    ``reliability.min_n``): a domain of a few respondents would publish their reports."""
    frame = frame.copy()
    frame["suppressed"] = frame["n_unweighted"] < min_n
    frame.loc[frame["suppressed"], ["estimate", "se", "ci_lower", "ci_upper", "cv"]] = np.nan
    return frame


def _table(spec: ProxySpec, stat: str, frame: pd.DataFrame, config: Config) -> SectionTable:
    by, level, min_n = list(spec.by), config.level, config.reliability.min_n
    keep = [*by, "estimate", "se", "ci_lower", "ci_upper", "cv", "n_unweighted"]
    frame = _suppress(frame[keep].reset_index(drop=True), min_n)
    unit = f"per {spec.scale:,g} people" if stat == "prevalence" else "people"
    what = (f"Prevalence of {spec.outcome} {unit}" if stat == "prevalence"
            else f"Number of people with {spec.outcome}")
    digits = 2 if stat == "prevalence" else 0
    return SectionTable(
        name=f"{spec.name}_{stat}",
        title=f"{spec.title}: {'prevalence' if stat == 'prevalence' else 'number'}",
        frame=frame,
        columns={**{b: b for b in by}, **_SHOWN, "suppressed": "Suppressed"},
        decimals={"estimate": digits, "se": digits, "ci_lower": digits, "ci_upper": digits,
                  "cv": 3, "n_unweighted": 0},
        notes=[f"{what}, from self and proxy (family) reports with multiplicity; "
               f"{level * 100:g}% intervals. Each reported person counts once in all.",
               f"Domains of fewer than {min_n} respondents are suppressed "
               f"(reliability.min_n)."])


def _method(spec: ProxySpec, n_reports: int) -> list[str]:
    rule = (f"Who could report a person (the multiplicity m_j counts them): "
            f"{spec.counting_rule.strip()}." if spec.counting_rule else
            f"Who could report a person: as the questionnaire's rule, counted in the column "
            f"{spec.multiplicity} of the reports (m_j).")
    return [
        f"Proxy (family) reports with network multiplicity (Sirken 1970; generalised weight "
        f"share, Lavallee 2007): respondents report on themselves and on members of their "
        f"family ({n_reports:,} reports in {spec.reports.name}, matched to the survey by "
        f"{spec.respondent_id}). The number of people with {spec.outcome} is "
        f"sum_i w_i sum_j y_j / m_j; the prevalence per {spec.scale:,g} is that over "
        f"sum_i w_i sum_j 1 / m_j, the size of the population reachable through the "
        f"reports; variance from the design (Taylor linearisation or replicate weights).",
        "Counting rule: each report of person j counts 1 / m_j, where m_j is the number of "
        "people in the surveyed population who could have reported j (j included when "
        "eligible); summed over everyone who could report j, j counts exactly once, "
        "whatever the overlap of families. " + rule,
        "The estimate assumes that m_j is right, that every eligible reporter knows and "
        "reports j's situation (no transmission error) and that every person has at least "
        "one eligible reporter in the survey's frame. Miscounted families bias it either "
        "way; relatives who do not know a person's situation bias it downwards; people with "
        "no eligible reporter are not covered at all.",
    ]


def proxy_section(design: Any, config: Config) -> ReportSection:
    """The family-reports section of the report: prevalence and number, with the method
    and the counting rule."""
    spec = config.proxy
    assert spec is not None
    reports, sha256 = read_reports(spec)
    frames = _calls(design, spec, reports, config.level)
    return ReportSection(
        name=_KEY, title=spec.title, method=_method(spec, len(reports)),
        tables=[_table(spec, stat, frames[stat], config) for stat in spec.statistics],
        details={"reports": spec.reports.name, "reports_sha256": sha256,
                 "reports_rows": int(len(reports)), "scale": spec.scale,
                 "counting_rule": spec.counting_rule})
