"""Weighting: nonresponse adjustment, post-stratification, raking, calibration, trimming.

Each function takes a design and returns a new one (the input is unchanged),
records the step on ``design.history`` and carries it into the variance: a
calibration residualiser for Taylor variance (``design.residualizers``), or
re-weighted replicates for a replicate design.

``poststratify``, ``rake`` and ``calibrate`` take population totals in one shape
(:data:`PopulationTotals`, read by :func:`population_totals`; see
:mod:`flestimate.weighting.totals`).
"""

from flestimate.weighting._design import WeightingStep
from flestimate.weighting._types import Design
from flestimate.weighting.calibrate import CalibrationMethod, calibrate
from flestimate.weighting.nonresponse import adjust_nonresponse
from flestimate.weighting.poststratify import poststratify
from flestimate.weighting.rake import rake
from flestimate.weighting.summary import weight_summary
from flestimate.weighting.totals import (
    MarginCounts,
    MarginSelection,
    PopulationTotals,
    Totals,
    population_totals,
)
from flestimate.weighting.trim import trim_weights

__all__ = [
    "CalibrationMethod",
    "Design",
    "MarginCounts",
    "MarginSelection",
    "PopulationTotals",
    "Totals",
    "WeightingStep",
    "adjust_nonresponse",
    "calibrate",
    "population_totals",
    "poststratify",
    "rake",
    "trim_weights",
    "weight_summary",
]
