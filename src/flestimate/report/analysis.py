"""The publication layout of a run's comparisons and tests (config ``compare:``, ``tests:``).

The same :class:`~flestimate.report.publication.PublicationTable` as the estimate
tables, so the Excel publication sheet and the HTML report draw them alike: one row
per comparison (the two domains by their labels, the difference and its interval,
the p-value and the adjusted p-value, quality, notes) or per test (the variables,
the statistic, its degrees of freedom, the p-value and n). A comparison that
involves a suppressed cell is empty but for a footnote marker; the numbers come
blank from the run (:mod:`flestimate.run.comparisons`), the layout only shows them.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from flestimate.report.publication import PubColumn, PublicationTable, footnote_marker, rounded

__all__ = ["ANALYSES", "analysis_names", "comparisons_publication", "tests_publication"]

#: the result frames of a run beside its tables, by output name
ANALYSES = ("comparisons", "tests")
_ADJUSTED = {"holm": "Holm-adjusted p-values", "bonferroni": "Bonferroni-adjusted p-values",
             "none": "p-values not adjusted"}


def analysis_names(result: Any) -> list[str]:
    """The output names (``comparisons``, ``tests``) of the analyses a run result holds."""
    return [a for a in ANALYSES if getattr(result, a, None) is not None]


def _diff_kind(frame: pd.DataFrame) -> str:
    kinds = set(frame["statistic"])
    return kinds.pop() if len(kinds) == 1 else "difference"


def comparisons_publication(frame: pd.DataFrame, *, source: str = "") -> PublicationTable:
    """The comparisons of a run in publication layout.

    Parameters
    ----------
    frame : DataFrame
        ``RunResult.comparisons`` (:data:`flestimate.run.comparisons.COMPARISON_COLUMNS`).
    source : str
        The source line printed under the table.
    """
    kind = _diff_kind(frame)
    level = f"{float(frame['level'].iloc[0]) * 100:g}%"
    group = "Difference (first minus second)"
    columns = [PubColumn("", "Comparison", "label"), PubColumn("", "Domain", "label"),
               PubColumn("", "Compared with", "label"),
               PubColumn(group, "Estimate", kind), PubColumn(group, f"{level} CI lower", kind),
               PubColumn(group, f"{level} CI upper", kind), PubColumn("", "p-value", "p"),
               PubColumn("", "Adjusted p-value", "p"), PubColumn("", "Quality", "text"),
               PubColumn("", "Notes", "text")]  # fmt: skip
    dec = columns[3].decimals or 0
    markers: dict[str, str] = {}
    rows: list[list[Any]] = []
    for r in frame.itertuples(index=False):
        notes = f"{r.statistic} {r.unit}; {_ADJUSTED[r.adjust]}"
        if r.suppressed:
            mark = markers.setdefault(str(r.suppression_reason), footnote_marker(len(markers)))
            numbers: list[Any] = [mark, None, None, None, None]
        else:
            numbers = [rounded(r.estimate, dec), rounded(r.ci_lower, dec), rounded(r.ci_upper, dec),
                       rounded(r.p_value, 4), rounded(r.p_adjusted, 4)]
        rows.append([r.comparison, r.domain_a, r.domain_b, *numbers,
                     "suppressed" if r.suppressed else "ok", notes])
    footnotes = [f"{m} Suppressed: {reason}." for reason, m in markers.items()]
    notes = list(pd.unique(frame["method"]))
    notes.append("A comparison that involves a suppressed cell is not published (nothing from "
                 "which that cell could be recovered); in the adjustment of the other p-values "
                 "its p-value counts as 1.")
    if source:
        notes.append(f"Source: {source}")
    return PublicationTable(title="Comparisons between domains", columns=columns, rows=rows,
                            total_rows=[False] * len(rows), footnotes=footnotes, notes=notes)


def tests_publication(frame: pd.DataFrame, *, source: str = "") -> PublicationTable:
    """The tests of association of a run in publication layout (``RunResult.tests``)."""
    columns = [PubColumn("", "Test", "label"), PubColumn("", "Population", "label"),
               PubColumn("", "Statistic", "text"), PubColumn("", "Value", "stat"),
               PubColumn("", "Numerator df", "df"), PubColumn("", "Denominator df", "df"),
               PubColumn("", "p-value", "p"), PubColumn("", "n", "n"),
               PubColumn("", "Quality", "text"), PubColumn("", "Notes", "text")]  # fmt: skip
    markers: dict[str, str] = {}
    rows: list[list[Any]] = []
    for r in frame.itertuples(index=False):
        if r.suppressed:
            mark = markers.setdefault(str(r.suppression_reason), footnote_marker(len(markers)))
            numbers: list[Any] = [mark, None, None, None]
        else:
            numbers = [rounded(r.statistic, 3), rounded(r.ndf, 2), rounded(r.ddf, 2),
                       rounded(r.p_value, 4)]
        rows.append([f"{r.row} by {r.col}", r.population, r.statistic_name, *numbers,
                     rounded(r.n_unweighted, 0), "suppressed" if r.suppressed else "ok", r.method])
    footnotes = [f"{m} Suppressed: {reason}." for reason, m in markers.items()]
    notes = ["Design-based tests of association in two-way tables (R's svychisq): F is "
             "Pearson's X^2 with the Rao-Scott second-order correction; only the statistic, "
             "its degrees of freedom, the p-value and n are published, never the cells of the "
             "table tested."]
    if source:
        notes.append(f"Source: {source}")
    return PublicationTable(title="Tests of association", columns=columns, rows=rows,
                            total_rows=[False] * len(rows), footnotes=footnotes, notes=notes)
