"""The in-memory result of a pipeline run, consumed by every writer."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["PublishedTable", "ReportSection", "RunResult", "SectionTable", "to_jsonable"]


@dataclass
class PublishedTable:
    """One published table and what produced it.

    ``by_labels`` maps each ``by`` column to its variable label (the column
    header of the publication layout); a column without one is shown by name.
    """

    name: str
    title: str
    indicator: str
    population: str
    by: list[str]
    statistics: list[str]
    ci_method: str
    level: float
    frame: pd.DataFrame
    plot_png: str | None = None
    by_labels: dict[str, str] = field(default_factory=dict)


@dataclass
class SectionTable:
    """A table of a model-based section (small areas, scale-up): its own columns.

    ``frame`` is the tidy table at full precision (the CSV, the data sheet and
    ``results.json``); ``columns`` maps the columns shown on the publication sheet and
    in the HTML report to their headers, ``decimals`` gives the rounding of the
    numeric ones; ``notes`` are printed under the table.
    """

    name: str
    title: str
    frame: pd.DataFrame
    columns: dict[str, str]
    decimals: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    plot_png: str | None = None  # a base64 PNG drawn under the table (a model's coefficients)


@dataclass
class ReportSection:
    """A section of the report made by a model (``small_areas:``, ``nsum:``): the method
    stated in ``method`` paragraphs, its tables, and ``details`` (plain values for
    ``results.json``: the model's coefficients, variance, diagnostics)."""

    name: str
    title: str
    method: list[str]
    tables: list[SectionTable]
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class RunResult:
    """Everything the writers need: estimates, summaries and provenance.

    Attributes
    ----------
    title : str
    tables : list of PublishedTable
    headline : dict
        ``population``, ``indicator``, ``level``, ``ci_method``, ``scale`` and, for
        ``persons``, ``prevalence`` and optionally ``stock``: dicts with
        ``estimate``, ``se``, ``ci_lower``, ``ci_upper``, ``cv``, ``n_unweighted``.
    sensitivity : dict or None
        ``conservative`` and ``upper_bound`` headlines, ``changed_n``,
        ``changed_weighted_share``.
    design : dict
        Design summary (label -> value).
    weighting : list of str
        One sentence per weighting step.
    weight_summary : dict
        ``columns`` and ``rows`` (text) of :func:`flestimate.weight_summary`, one row per step.
    methods : list of str
        Paragraphs of the methods section.
    warnings : list of dict
        ``code``, ``message``, ``severity``.
    settings : dict
        The normalised settings that produced the estimates.
    manifest : dict
        Provenance: input checksum, config, package versions, time, seed.
    sections : list of ReportSection
        Model-based sections (small-area estimates, network scale-up), after the tables.
    comparisons : DataFrame or None
        Differences between domains of the tables (config ``compare:``), one row per
        pair: labels, difference, SE, CI, p-value, adjusted p-value, the method, and
        ``suppressed``/``suppression_reason`` (blank numbers when a suppressed cell is
        involved).
    tests : DataFrame or None
        Tests of association in two-way tables (config ``tests:``), one row per test:
        statistic, degrees of freedom, p-value, unweighted n and the method.
    """

    title: str
    tables: list[PublishedTable]
    headline: dict[str, Any]
    sensitivity: dict[str, Any] | None
    design: dict[str, Any]
    weighting: list[str]
    weight_summary: dict[str, Any]
    methods: list[str]
    warnings: list[dict[str, Any]]
    settings: dict[str, Any]
    manifest: dict[str, Any] = field(default_factory=dict)
    sections: list[ReportSection] = field(default_factory=list)
    comparisons: pd.DataFrame | None = None
    tests: pd.DataFrame | None = None


def to_jsonable(obj: Any) -> Any:
    """Convert numpy/pandas scalars and containers to JSON types (NaN -> null)."""
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, pd.DataFrame):
        return [to_jsonable(r) for r in obj.to_dict(orient="records")]
    if isinstance(obj, (np.bool_, bool)):
        return bool(obj)
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        f = float(obj)
        return None if math.isnan(f) or math.isinf(f) else f
    if obj is None or obj is pd.NA or obj is pd.NaT:
        return None
    if isinstance(obj, (datetime, date)):
        return obj.isoformat()
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, (str, int)):
        return obj
    return str(obj)
