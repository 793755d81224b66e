"""Survey designs: SurveyDesign (Taylor linearisation) and the PSU aggregation kernel."""

from __future__ import annotations

from typing import Any

from flestimate.design.calibration_hook import Residualizer
from flestimate.design.structure import DesignStructure, Stage
from flestimate.design.survey import SurveyDesign

__all__ = ["DesignStructure", "ReplicateDesign", "Residualizer", "Stage", "SurveyDesign"]


def __getattr__(name: str) -> Any:
    # ReplicateDesign lives in design/replicate.py (added separately)
    if name == "ReplicateDesign":
        from flestimate.design.replicate import ReplicateDesign

        return ReplicateDesign
    raise AttributeError(f"module 'flestimate.design' has no attribute {name!r}")
