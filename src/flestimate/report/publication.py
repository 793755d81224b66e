"""The publication layout of a table: one row per domain, as an NSO prints it.

The tidy table (:func:`flestimate.report.tables.assemble_table`) has one row per
domain and statistic at full precision. A publication has one row per domain,
labelled, and for each statistic its estimate and confidence bounds side by side,
then the unweighted n and the quality grade; numbers rounded to the decimals of
their column; suppressed cells empty but for a footnote marker; under the table
the footnotes, the population, the notes and the source. The Excel publication
sheet (:mod:`flestimate.report.workbook`) and the HTML report draw this same layout.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from flestimate.report.result import PublishedTable
from flestimate.report.tables import population_unit

__all__ = ["DECIMALS", "PubColumn", "PublicationTable", "footnote_marker", "publication_table",
           "rounded"]

#: decimals shown for each statistic (and ``n``)
DECIMALS = {"prevalence": 2, "share": 1, "total": 0, "stock": 0, "n": 0,
            # comparisons and tests (report/analysis.py)
            "difference": 2, "p": 4, "stat": 3, "df": 2}

_STAT_TITLES = {
    "prevalence": "Prevalence ({unit})",
    "total": "Persons in forced labour",
    "stock": "Persons on any given day",
    "share": "Share of persons in forced labour (%)",
}
_GRADE_ORDER = {"ok": 0, "caution": 1, "suppressed": 2}


@dataclass(frozen=True)
class PubColumn:
    """One column of the publication layout.

    Attributes
    ----------
    group : str
        Header spanning the columns of one statistic (``""`` for a single column).
    header : str
        The column's own header.
    kind : str
        ``label``, ``prevalence``, ``total``, ``stock``, ``share``, ``n`` or ``text``.
    """

    group: str
    header: str
    kind: str

    @property
    def decimals(self) -> int | None:
        return DECIMALS.get(self.kind)


@dataclass(frozen=True)
class PublicationTable:
    """A table in publication layout.

    Attributes
    ----------
    title : str
    columns : list of PubColumn
    rows : list of list
        One per domain (the total first): label text, numbers rounded to their
        column's decimals (``None`` when not published), a footnote marker such as
        ``"[a]"`` in the estimate cell of a suppressed statistic, then the quality
        grade and its notes.
    total_rows : list of bool
        Which rows are the total.
    footnotes : list of str
        ``"[a] Suppressed: fewer than 30 respondents."``, one per marker used.
    notes : list of str
        Population, units, interval method, quality rules and source.
    """

    title: str
    columns: list[PubColumn]
    rows: list[list[Any]]
    total_rows: list[bool]
    footnotes: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def n_label_columns(self) -> int:
        return sum(c.kind == "label" for c in self.columns)


def rounded(value: Any, decimals: int) -> float | None:
    """``value`` rounded to ``decimals`` (None when missing or not finite)."""
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    if not math.isfinite(f):
        return None
    out = round(f, decimals)
    return float(out) if decimals else float(int(out))


def footnote_marker(k: int) -> str:
    """The k-th footnote marker: ``[a]``, ``[b]``, ..., ``[z]``, ``[aa]``."""
    letters = ""
    k += 1
    while k:
        k, r = divmod(k - 1, 26)
        letters = chr(ord("a") + r) + letters
    return f"[{letters}]"


def _domain_key(frame: pd.DataFrame, by: list[str]) -> pd.Series:
    if not by:
        return pd.Series("", index=frame.index)
    return frame[[f"{b}_label" for b in by]].astype(str).agg("\x1f".join, axis=1)


def _rules_note(rules: Mapping[str, Any]) -> str:
    if not rules:
        return ""
    text = (f"Quality: estimates are suppressed when based on fewer than {rules.get('min_n')} "
            f"respondents or when their coefficient of variation (CV) exceeds "
            f"{rules.get('cv_suppress')}; 'caution' marks a CV above {rules.get('cv_flag')}, "
            f"fewer than {rules.get('min_df')} design degrees of freedom or a domain "
            f"without any case in the sample.")
    if rules.get("complementary"):
        text += (" Further cells are suppressed where a suppressed cell could otherwise be "
                 "recovered from a published total (complementary suppression).")
    return text


def publication_table(
    table: PublishedTable,
    *,
    scale: float = 1000.0,
    rules: Mapping[str, Any] | None = None,
    source: str = "",
) -> PublicationTable:
    """The publication layout of one published table.

    Parameters
    ----------
    table : PublishedTable
        Its ``frame`` is a tidy table of :func:`~flestimate.report.tables.assemble_table`.
    scale : float
        The prevalence scale (1,000 for a prevalence per 1,000).
    rules : mapping, optional
        The reliability settings (``min_n``, ``cv_flag``, ...) for the quality note.
    source : str
        The source line printed under the table.

    Returns
    -------
    PublicationTable
    """
    f = table.frame.reset_index(drop=True)
    by = list(table.by)
    level_pct = f"{table.level * 100:g}%"
    unit = population_unit(table.population, scale)
    stats = [s for s in ("prevalence", "total", "stock", "share") if (f["statistic"] == s).any()]

    columns = [PubColumn("", table.by_labels.get(b, b), "label") for b in by] or [
        PubColumn("", "Domain", "label")]
    for s in stats:
        group = _STAT_TITLES[s].format(unit=unit)
        columns += [PubColumn(group, "Estimate", s), PubColumn(group, f"{level_pct} CI lower", s),
                    PubColumn(group, f"{level_pct} CI upper", s)]
    columns += [PubColumn("", "n", "n"), PubColumn("", "Quality", "text"),
                PubColumn("", "Notes", "text")]

    key = _domain_key(f, by)
    order = list(pd.unique(key))  # the tidy table's order: the total first
    position = key.map({k: i for i, k in enumerate(order)}).to_numpy()
    stat_index = f["statistic"].map({s: i for i, s in enumerate(stats)}).to_numpy()
    is_total = (f[by].isna().all(axis=1) if by else pd.Series(True, index=f.index)).to_numpy()

    markers: dict[str, str] = {}
    rows: list[list[Any]] = []
    total_rows: list[bool] = []
    for d in range(len(order)):
        sel = np.flatnonzero(position == d)
        first = f.iloc[sel[0]]
        labels = [str(first[f"{b}_label"]) for b in by] if by else ["Total"]
        numbers: list[Any] = [None] * (3 * len(stats))
        grades, notes = [], []
        for i in sel:
            r = f.iloc[i]
            j = 3 * int(stat_index[i])
            grades.append(str(r["quality"]))
            if bool(r["suppressed"]):
                reason = str(r["suppression_reason"] or "suppressed")
                numbers[j] = markers.setdefault(reason, footnote_marker(len(markers)))
                continue
            dec = DECIMALS[r["statistic"]]
            numbers[j:j + 3] = [rounded(r[c], dec) for c in ("estimate", "ci_lower", "ci_upper")]
            for note in str(r["quality_notes"] or "").split("; "):
                if note and note not in notes:
                    notes.append(note)
        n = rounded(f.iloc[sel]["n_unweighted"].max(), 0)
        grade = max(grades, key=lambda g: _GRADE_ORDER.get(g, 0))
        rows.append([*labels, *numbers, n, grade, "; ".join(notes)])
        total_rows.append(bool(is_total[sel[0]]))

    footnotes = [f"{m} Suppressed: {reason}." for reason, m in markers.items()]
    population = "everyone in the survey" if table.population == "total" else table.population
    notes = [
        f"Population: {population}. Prevalence {unit}; persons: estimated number of persons.",
        f"{level_pct} confidence intervals by the {table.ci_method} method; n: unweighted "
        f"number of respondents in the domain.",
    ]
    notes += [t for t in (_rules_note(rules or {}),) if t]
    if source:
        notes.append(f"Source: {source}")
    return PublicationTable(title=table.title, columns=columns, rows=rows,
                            total_rows=total_rows, footnotes=footnotes, notes=notes)
