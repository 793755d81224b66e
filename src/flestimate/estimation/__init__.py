"""Design-based estimation: totals, means, ratios, proportions and prevalences by domains."""

from __future__ import annotations

from flestimate.estimation.core import (
    DomainTotals,
    domain_totals,
    linearised_scores,
    ratio_estimates,
)
from flestimate.estimation.estimators import mean, prevalence, proportion, ratio, total
from flestimate.estimation.table import EstimateTable

__all__ = [
    "DomainTotals",
    "EstimateTable",
    "domain_totals",
    "linearised_scores",
    "mean",
    "prevalence",
    "proportion",
    "ratio",
    "ratio_estimates",
    "total",
]
