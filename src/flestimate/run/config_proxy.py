"""The ``proxy:`` section of a run config: validation.

::

    proxy:
      name: family                      # tables family_prevalence, family_total
      title: Forced labour from family reports
      reports: family_reports.csv       # CSV or Parquet: one row per (respondent, person)
      respondent_id: id                 # the survey's id column
      respondent: respondent            # the reports' columns (these are the defaults
      multiplicity: multiplicity        #   of respondent and multiplicity)
      outcome: fl                       # 0/1: the reported person is in forced labour
      by: [region]                      # respondents' domains
      statistics: [prevalence, total]   # default both
      scale: 1000                       # prevalence per 1,000 (default estimation.scale)
      counting_rule: the respondent, their parents, siblings, spouse and children aged 15+

Everything is checked here, before any data is read, except that the columns exist:
the survey's (``respondent_id``, ``by``) by :func:`check_proxy_columns`, the reports'
when the reports file is read (:mod:`flestimate.run.proxy`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flestimate.errors import ConfigError, shown
from flestimate.run.config_specs import PROXY_STATISTICS, ProxySpec
from flestimate.run.config_values import (
    _check_keys,
    _choice,
    _err,
    _file,
    _mapping,
    _number,
    _str,
    _str_list,
)

__all__ = ["REPORT_FORMATS", "check_proxy_columns", "parse_proxy"]

KEY = "proxy"
_KEYS = ("name", "title", "reports", "respondent_id", "respondent", "outcome", "multiplicity",
         "by", "statistics", "scale", "counting_rule")  # fmt: skip
#: the formats of the reports file (by its extension)
REPORT_FORMATS = (".csv", ".parquet")
_MAX_RULE = 500


def _reports(raw: Any, base: Path) -> Path:
    key = f"{KEY}.reports"
    path = _file(raw, key, base)
    if path.suffix.lower() not in REPORT_FORMATS:
        raise _err(key, raw, "expected a CSV (.csv) or Parquet (.parquet) file of reports, one "
                   "row per (respondent, reported person)")
    return path


def _statistics(raw: Any) -> tuple[str, ...]:
    key = f"{KEY}.statistics"
    if raw is None:
        return PROXY_STATISTICS
    names = _str_list(raw, key)
    if not names:
        raise _err(key, raw, f"expected one or more of: {', '.join(PROXY_STATISTICS)}")
    for i, name in enumerate(names):
        _choice(name, f"{key}[{i}]", PROXY_STATISTICS)
    return names


def parse_proxy(raw: Any, base: Path, *, scale: float) -> ProxySpec | None:
    """Validate the ``proxy:`` section (None when absent); ``scale`` is the default
    ``proxy.scale`` (``estimation.scale``)."""
    if raw is None:
        return None
    sec = _mapping(raw, KEY)
    _check_keys(sec, KEY, _KEYS, required=("reports", "respondent_id", "outcome"))
    cols = {k: _str(sec.get(k, k), f"{KEY}.{k}")
            for k in ("respondent_id", "respondent", "outcome", "multiplicity")}
    named = [cols["respondent"], cols["outcome"], cols["multiplicity"]]
    if len(set(named)) < len(named):
        raise _err(f"{KEY}.outcome", cols["outcome"], "expected three different columns of the "
                   "reports for respondent, outcome and multiplicity")
    rule = _str(sec.get("counting_rule"), f"{KEY}.counting_rule", optional=True)
    if rule is not None and len(rule) > _MAX_RULE:
        raise _err(f"{KEY}.counting_rule", rule, f"expected at most {_MAX_RULE} characters")
    return ProxySpec(
        name=_str(sec.get("name", "family_reports"), f"{KEY}.name"),  # type: ignore[arg-type]
        title=_str(sec.get("title", "Prevalence from family (proxy) reports"),
                   f"{KEY}.title"),  # type: ignore[arg-type]
        reports=_reports(sec["reports"], base),
        by=_str_list(sec.get("by"), f"{KEY}.by"),
        statistics=_statistics(sec.get("statistics")),
        scale=float(_number(sec.get("scale", scale), f"{KEY}.scale", lo=0, lo_open=True)),
        counting_rule=rule,
        **cols,  # type: ignore[arg-type]
    )


def check_proxy_columns(spec: ProxySpec, columns: list[str]) -> None:
    """The respondent id and every ``by`` column are columns of the survey."""
    known = set(columns)
    named = [(f"{KEY}.respondent_id", spec.respondent_id)]
    named += [(f"{KEY}.by[{i}]", c) for i, c in enumerate(spec.by)]
    for key, col in named:
        if col not in known:
            raise ConfigError(f"{key}: {shown(col)} is not a column of the survey data")
