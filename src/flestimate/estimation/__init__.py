"""Design-based estimation: totals, means, ratios, proportions and prevalences by domains."""

from __future__ import annotations

from flestimate.estimation.estimators import mean, prevalence, proportion, ratio, total
from flestimate.estimation.table import EstimateTable

__all__ = ["EstimateTable", "mean", "prevalence", "proportion", "ratio", "total"]
