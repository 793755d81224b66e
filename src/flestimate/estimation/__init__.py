"""Design-based estimation: totals, means, ratios, proportions and prevalences by domains.

The public names are imported on first use, so that the interval methods' registry
(:mod:`flestimate.estimation.cimethods`) can be read without loading the estimators.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flestimate._lazy import lazy_attributes

if TYPE_CHECKING:
    from flestimate.estimation.derived import derived_estimate
    from flestimate.estimation.estimators import mean, prevalence, proportion, ratio, total
    from flestimate.estimation.imputation import combine, with_imputations
    from flestimate.estimation.table import EstimateTable
    from flestimate.estimation.testresult import SurveyTestResult

__getattr__, __dir__ = lazy_attributes(
    __name__,
    {
        "EstimateTable": "flestimate.estimation.table",
        "derived_estimate": "flestimate.estimation.derived",
        "SurveyTestResult": "flestimate.estimation.testresult",
        "combine": "flestimate.estimation.imputation",
        "with_imputations": "flestimate.estimation.imputation",
        **dict.fromkeys(
            ("mean", "prevalence", "proportion", "ratio", "total"),
            "flestimate.estimation.estimators",
        ),
    },
)

__all__ = [
    "EstimateTable",
    "derived_estimate",
    "SurveyTestResult",
    "combine",
    "mean",
    "prevalence",
    "proportion",
    "ratio",
    "total",
    "with_imputations",
]
