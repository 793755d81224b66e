"""Respondent-driven sampling (RDS): prevalence in a hidden population without a frame.

- :func:`estimate`: RDS-I, RDS-II or Gile's SS estimate of a 0/1 trait, with a
  tree-bootstrap SE and interval, and weights usable in a
  :class:`~flestimate.design.survey.SurveyDesign` (an :class:`RDSResult`);
- :func:`by_wave`, :func:`by_seed`, :func:`homophily`, :func:`convergence_plot`,
  :func:`bottleneck_plot`: diagnostics.
"""

from __future__ import annotations

from flestimate.rds.diagnostics import (
    bottleneck_plot,
    by_seed,
    by_wave,
    convergence_plot,
    homophily,
)
from flestimate.rds.estimate import estimate
from flestimate.rds.result import RDSResult

__all__ = [
    "RDSResult",
    "bottleneck_plot",
    "by_seed",
    "by_wave",
    "convergence_plot",
    "estimate",
    "homophily",
]
