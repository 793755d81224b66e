"""ILO forced-labour frameworks, questionnaire mappings and the classifier.

- :func:`frameworks`: the shipped frameworks (``ilo-2012``, ``icls-2018``) as frozen data;
- :func:`load_mapping`, :func:`validate_mapping`: the questionnaire mapping and its checks;
- :func:`classify`: the forced-labour status of each respondent, with an audit trail.

See ``docs/classification.md`` for every rule and setting with its source.
"""

from __future__ import annotations

from flestimate.indicators.checks import MappingCheck, validate_mapping
from flestimate.indicators.classify import ClassificationReport, classify, output_columns
from flestimate.indicators.framework import (
    Dimension,
    Framework,
    Indicator,
    frameworks,
    get_framework,
)
from flestimate.indicators.mapping import (
    Codes,
    MappedItem,
    QuestionnaireMapping,
    Settings,
    load_mapping,
)

__all__ = [
    "ClassificationReport",
    "Codes",
    "Dimension",
    "Framework",
    "Indicator",
    "MappedItem",
    "MappingCheck",
    "QuestionnaireMapping",
    "Settings",
    "classify",
    "frameworks",
    "get_framework",
    "load_mapping",
    "output_columns",
    "validate_mapping",
]
