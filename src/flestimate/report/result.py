"""The in-memory result of a pipeline run, consumed by every writer."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

__all__ = ["PublishedTable", "RunResult"]


@dataclass
class PublishedTable:
    """One published table and what produced it."""

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
