"""SurveyTestResult: the small read-only result of a design-based test."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

__all__ = ["SurveyTestResult"]


@dataclass(frozen=True, eq=False)
class SurveyTestResult:
    """The outcome of a design-based test (:func:`~flestimate.estimation.svytests.chisq`,
    :func:`~flestimate.estimation.svytests.ttest`).

    Attributes
    ----------
    method : str
        What was tested and how (``"Pearson's X^2: Rao & Scott adjustment"``).
    statistic_name : str
        ``"F"``, ``"X-squared"`` or ``"t"``.
    statistic : float
    df : tuple of float
        Degrees of freedom: ``(ndf, ddf)`` of an F, ``(df,)`` of a t or chi-square.
    p_value : float
    data : str
        The variables tested (``"fl by sector"``).
    estimate : float or None
        The estimate a t-test tests (a difference of means, or a mean).
    conf_int : tuple of float or None
        Its confidence interval at ``level``.
    level : float
    table : pandas.DataFrame or None
        The table tested: the weighted cell proportions of a two-way table, or the
        group means of a t-test.

    Examples
    --------
    >>> import pandas as pd
    >>> import flestimate
    >>> data = pd.read_csv("data/sample/fl_survey.csv").merge(
    ...     pd.read_csv("data/sample/truth_respondents.csv")[["pid", "fl_true"]], on="pid")
    >>> design = flestimate.SurveyDesign(data, weight="w_final", strata="stratum", psu="psu")
    >>> print(design.chisq("fl_true", "sex"))
    Pearson's X^2: Rao & Scott adjustment
      data     fl_true by sex
      F        0.800114
      df       1, 614
      p-value  0.3714
    """

    method: str
    statistic_name: str
    statistic: float
    df: tuple[float, ...]
    p_value: float
    data: str
    estimate: float | None = None
    conf_int: tuple[float, float] | None = None
    level: float = 0.95
    table: pd.DataFrame | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """The numbers of the test as a plain dict (for JSON or a report)."""
        return {
            "method": self.method,
            "data": self.data,
            "statistic_name": self.statistic_name,
            "statistic": self.statistic,
            "df": list(self.df),
            "p_value": self.p_value,
            "estimate": self.estimate,
            "conf_int": None if self.conf_int is None else list(self.conf_int),
            "level": self.level,
        }

    def _lines(self) -> list[tuple[str, str]]:
        dfs = ", ".join(f"{d:.6g}" for d in self.df)
        rows = [
            ("data", self.data),
            (self.statistic_name, f"{self.statistic:.6g}"),
            ("df", dfs),
            ("p-value", f"{self.p_value:.4g}"),
        ]
        if self.estimate is not None:
            rows.append(("estimate", f"{self.estimate:.6g}"))
        if self.conf_int is not None:
            lo, hi = self.conf_int
            rows.append((f"{self.level:.0%} CI", f"[{lo:.6g}, {hi:.6g}]"))
        return rows

    def __str__(self) -> str:
        rows = self._lines()
        width = max(len(k) for k, _ in rows)
        return "\n".join([self.method] + [f"  {k.ljust(width)}  {v}" for k, v in rows])

    def __repr__(self) -> str:
        return (
            f"<SurveyTestResult {self.method}: {self.statistic_name} = {self.statistic:.4g}, "
            f"p = {self.p_value:.4g}>"
        )

    def _repr_html_(self) -> str:
        body = "".join(
            f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in self._lines()
        )
        out = f"<table><caption>{html.escape(self.method)}</caption>{body}</table>"
        if self.table is not None:
            out += self.table.to_html(float_format=lambda v: f"{v:.4g}")
        return out
