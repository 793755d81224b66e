"""A synthetic national forced-labour survey with known true values, and the coverage study."""

from __future__ import annotations

from flestimate.simulation.survey import (
    FORMATS,
    ICLS_C_ITEMS,
    ICLS_IW_ITEMS,
    INDICATOR_ITEMS,
    INVOLUNTARINESS_ITEMS,
    PENALTY_ITEMS,
    SECTORS,
    SimulatedSurvey,
    check_formats,
    simulate,
)

__all__ = [
    "FORMATS",
    "ICLS_C_ITEMS",
    "ICLS_IW_ITEMS",
    "INDICATOR_ITEMS",
    "INVOLUNTARINESS_ITEMS",
    "PENALTY_ITEMS",
    "SECTORS",
    "SimulatedSurvey",
    "check_formats",
    "simulate",
]
