"""Small-area estimation: model-based estimates for areas where the survey is too thin.

Area-level (Fay-Herriot) models borrow strength from covariates known for every area
(census or administrative rates) and from the other areas:

- :func:`fay_herriot`: the EBLUP from a table of areas with direct estimates, their
  sampling variances and covariates (REML, ML or the Fay-Herriot moment method),
  with MSEs (Datta-Lahiri, Prasad-Rao or a parametric bootstrap), the arcsine
  transformation for prevalences near zero, smoothed sampling variances for areas
  whose direct variance is zero, and benchmarking to the national estimate;
- :func:`direct_estimates` and :func:`small_area` (also ``design.small_area``): the same
  from a survey design, which computes the direct estimates and their variances by area
  first;
- :class:`FayHerriotResult`: the result, with its diagnostics and plots.

The modules: :mod:`~flestimate.sae.fit` (variance estimation, vectorised over
replicates), :mod:`~flestimate.sae.mse`, :mod:`~flestimate.sae.transform`
(arcsine and bootstrap), :mod:`~flestimate.sae.variances` (the generalised variance
function), :mod:`~flestimate.sae.benchmark`, :mod:`~flestimate.sae.diagnostics`,
:mod:`~flestimate.sae.plots`, :mod:`~flestimate.sae.study` (the simulation study).
"""

from __future__ import annotations

from flestimate.sae import study
from flestimate.sae.benchmark import benchmark_estimates
from flestimate.sae.direct import direct_estimates, small_area
from flestimate.sae.model import fay_herriot
from flestimate.sae.result import FayHerriotResult

__all__ = [
    "FayHerriotResult",
    "benchmark_estimates",
    "direct_estimates",
    "fay_herriot",
    "small_area",
    "study",
]
