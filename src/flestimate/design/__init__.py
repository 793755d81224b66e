"""Survey designs: SurveyDesign (Taylor linearisation), ReplicateDesign (replicate
weights) and the interface they give the estimators (VarianceEngine).

The public names are imported on first use, so that the light modules of the
package (the lonely-PSU rules of :mod:`flestimate.design.lonely_psu`, the replicate
methods of :mod:`flestimate.design.replicate.registry`) can be read without loading
the designs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flestimate._lazy import lazy_attributes

if TYPE_CHECKING:
    from flestimate.design.calibration_hook import Residualizer
    from flestimate.design.interface import VarianceEngine
    from flestimate.design.replicate import ReplicateDesign
    from flestimate.design.structure import DesignStructure, Stage
    from flestimate.design.survey import SurveyDesign
    from flestimate.design.totals import DomainCells, DomainTotals

__getattr__, __dir__ = lazy_attributes(
    __name__,
    {
        "DesignStructure": "flestimate.design.structure",
        "DomainCells": "flestimate.design.totals",
        "DomainTotals": "flestimate.design.totals",
        "ReplicateDesign": "flestimate.design.replicate",
        "Residualizer": "flestimate.design.calibration_hook",
        "Stage": "flestimate.design.structure",
        "SurveyDesign": "flestimate.design.survey",
        "VarianceEngine": "flestimate.design.interface",
    },
)

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
