"""flestimate: national estimates of forced labour from survey microdata.

The public API is imported lazily from its modules, so ``import flestimate`` is
fast and the command line starts quickly. Every public name is listed in
``_PUBLIC`` with the module that defines it.
"""

from __future__ import annotations

import importlib
from typing import Any

from flestimate.errors import (  # noqa: F401  (re-exported)
    CalibrationError,
    ConfigError,
    DesignError,
    EstimationError,
    FlestimateError,
    FlestimateWarning,
    LoaderError,
    MappingError,
    ValidationError,
)

__version__ = "0.1.0.dev0"

# public name -> module that defines it (relative to the package)
_PUBLIC: dict[str, str] = {
    # io
    "read_survey": "flestimate.io",
    "SurveyData": "flestimate.io",
    # simulation
    "simulate": "flestimate.simulation",
    "SimulatedSurvey": "flestimate.simulation",
    # indicators
    "classify": "flestimate.indicators",
    "validate_mapping": "flestimate.indicators",
    "load_mapping": "flestimate.indicators",
    "frameworks": "flestimate.indicators",
    # design
    "SurveyDesign": "flestimate.design",
    "ReplicateDesign": "flestimate.design",
    # weighting
    "adjust_nonresponse": "flestimate.weighting",
    "poststratify": "flestimate.weighting",
    "rake": "flestimate.weighting",
    "calibrate": "flestimate.weighting",
    "trim_weights": "flestimate.weighting",
    "weight_summary": "flestimate.weighting",
    # estimation
    "EstimateTable": "flestimate.estimation",
    "SurveyTestResult": "flestimate.estimation",
    "combine": "flestimate.estimation",
    "with_imputations": "flestimate.estimation",
    # large data (DuckDB, Dask)
    "LargeDesign": "flestimate.large",
    "RegressionResult": "flestimate.estimation.regression",
}

# sub-packages reachable as attributes (``fl.mse.fit(...)``), imported on first use
_SUBPACKAGES = ("mse", "nsum", "proxy", "rds")

__all__ = sorted(
    [
        "__version__",
        *_SUBPACKAGES,
        "CalibrationError",
        "ConfigError",
        "DesignError",
        "EstimationError",
        "FlestimateError",
        "FlestimateWarning",
        "LoaderError",
        "MappingError",
        "ValidationError",
        *_PUBLIC,
    ]
)


def __getattr__(name: str) -> Any:
    if name in _SUBPACKAGES:
        return importlib.import_module(f"flestimate.{name}")
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'flestimate' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
