"""One unwrap for the library's data argument: a DataFrame, or a SurveyData and its frame.

Every function that accepts "a pandas DataFrame or a SurveyData" (the designs, the
classifier, the codebook writers, the run) reads it through :func:`as_frame` and
:func:`frame_and_labels`, so the rule and its message exist once.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from flestimate.errors import FlestimateError, ValidationError

__all__ = ["as_frame", "frame_and_labels", "value_labels_of"]


def as_frame(data: Any, *, error: type[FlestimateError] = ValidationError) -> pd.DataFrame:
    """The DataFrame of codes of ``data``: a DataFrame itself, or the ``frame`` of a
    :class:`~flestimate.SurveyData` (any object whose ``frame`` is a DataFrame).

    The caller's frame is returned, not a copy.

    Parameters
    ----------
    data : pandas.DataFrame or SurveyData
    error : FlestimateError subclass
        The error raised for anything else (the caller's layer: ``DesignError``,
        ``MappingError``, ...).

    Raises
    ------
    FlestimateError
        Of class ``error``, naming the type found.
    """
    if isinstance(data, pd.DataFrame):
        return data
    frame = getattr(data, "frame", None)
    if isinstance(frame, pd.DataFrame):
        return frame
    raise error(
        f"data: expected a pandas DataFrame or a SurveyData; found {type(data).__name__}. "
        "Read the file with flestimate.read_survey() or pass a DataFrame."
    )


def value_labels_of(data: Any) -> dict[str, dict[Any, str]]:
    """``{column: {code: label}}`` of a SurveyData (empty for a DataFrame)."""
    labels = getattr(data, "value_labels", None) or {}
    return {str(k): dict(v) for k, v in labels.items() if hasattr(v, "items")}


def frame_and_labels(
    data: Any, *, error: type[FlestimateError] = ValidationError
) -> tuple[pd.DataFrame, dict[str, dict[Any, str]]]:
    """``(frame, value_labels)`` of a DataFrame (no labels) or a SurveyData."""
    return as_frame(data, error=error), value_labels_of(data)
