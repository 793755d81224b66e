"""Replicate-weight designs: jackknife, BRR, Fay, bootstrap, SDR and the NSO's own weights.

Two ways in, with R survey's conventions (SURVEY-METHODS E2, E3):

- ``design.replicate(method, ...)`` builds replicates from a :class:`SurveyDesign`
  (R's ``as.svrepdesign``). Replicates multiply each PSU's weight by a factor, so
  replicate totals are ``factors (R x P) @ psu_totals (P x D*K)``: no n x R matrix
  is formed. Jackknife factors are not even stored: replicate totals follow from
  the PSU and stratum totals.
- ``ReplicateDesign(data, weight=, replicate_weights=, method=)`` uses replicate
  weight columns delivered with the data (R's ``svrepdesign`` with combined
  weights). Rows whose replicate factors ``w_ri / w_i`` are identical (usually the
  rows of one PSU) are grouped once, when the design is built; replicate totals
  are then one BLAS product of the group factors with the group totals.

Every estimator of :class:`SurveyDesign` works on a :class:`ReplicateDesign` and
returns the same :class:`~flestimate.estimation.EstimateTable`; the variance is

.. math:: v = c \\sum_r c_r (\\hat\\theta_r - \\tilde\\theta)^2

with ``scale`` c, ``rscales`` c_r and :math:`\\tilde\\theta` the mean of the
replicates (or the full-sample estimate with ``mse=True``), as R's ``svrVar``.

The package's modules, each with one job:

- :mod:`~flestimate.design.replicate.registry`: the replicate methods, declared once;
- :mod:`~flestimate.design.replicate.factors`: the factor classes (stored or implicit);
- :mod:`~flestimate.design.replicate.rank`: rank of replicate weights and the df;
- :mod:`~flestimate.design.replicate.variance`: the replication variance;
- :mod:`~flestimate.design.replicate.schemes`: the JK/BRR/Fay/bootstrap/SDR builders;
- :mod:`~flestimate.design.replicate.delivered`: reading, checking and grouping
  delivered replicate weight columns;
- :mod:`~flestimate.design.replicate.design`: :class:`ReplicateDesign` and
  :func:`replicate_design`.

The design and its machinery are imported on first use, so that reading the
registry (:data:`REPLICATE_METHODS`) does not load them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flestimate._lazy import lazy_attributes
from flestimate.design.replicate.registry import DESIGN_METHODS, METHODS, REPLICATE_METHODS

if TYPE_CHECKING:
    from flestimate.design.replicate.build import replicate_design
    from flestimate.design.replicate.design import ReplicateDesign
    from flestimate.design.replicate.variance import replicate_variance

__getattr__, __dir__ = lazy_attributes(
    __name__,
    {
        "ReplicateDesign": "flestimate.design.replicate.design",
        "replicate_design": "flestimate.design.replicate.build",
        "replicate_variance": "flestimate.design.replicate.variance",
    },
)

__all__ = [
    "DESIGN_METHODS",
    "METHODS",
    "REPLICATE_METHODS",
    "ReplicateDesign",
    "replicate_design",
    "replicate_variance",
]
