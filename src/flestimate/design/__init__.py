"""Survey designs: SurveyDesign (Taylor linearisation), ReplicateDesign (replicate
weights) and the interface they give the estimators (VarianceEngine)."""

from __future__ import annotations

from typing import Any

from flestimate.design.calibration_hook import Residualizer
from flestimate.design.interface import VarianceEngine
from flestimate.design.structure import DesignStructure, Stage
from flestimate.design.survey import SurveyDesign
from flestimate.design.totals import DomainCells, DomainTotals

__all__ = [
    "DesignStructure",
    "DomainCells",
    "DomainTotals",
    "ReplicateDesign",
    "Residualizer",
    "Stage",
    "SurveyDesign",
    "VarianceEngine",
]


def __getattr__(name: str) -> Any:
    # ReplicateDesign is imported on first use (design.replicate() imports it too)
    if name == "ReplicateDesign":
        from flestimate.design.replicate import ReplicateDesign

        return ReplicateDesign
    raise AttributeError(f"module 'flestimate.design' has no attribute {name!r}")
