"""Replicate designs built from a Taylor design: :func:`replicate_design` (R's
``as.svrepdesign``), which ``SurveyDesign.replicate`` calls."""

from __future__ import annotations

import warnings
from dataclasses import replace
from typing import Any

import numpy as np

from flestimate.design.replicate.design import ReplicateDesign
from flestimate.design.replicate.registry import check_method
from flestimate.design.replicate.schemes import replicate_factors
from flestimate.errors import DesignError, FlestimateWarning

__all__ = ["replicate_design"]


def replicate_design(
    design: Any,
    method: str,
    *,
    n_replicates: int | None = None,
    rho: float | None = None,
    rng: int | np.random.Generator | None = None,
    mse: bool = False,
) -> ReplicateDesign:
    """Replicates of a :class:`SurveyDesign` (R's ``as.svrepdesign``): ``design.replicate``.

    Parameters
    ----------
    design : SurveyDesign
    method : {"jk1", "jkn", "brr", "fay", "bootstrap", "subbootstrap", "sdr"}
        ``"jk1"`` delete-one-PSU jackknife of an unstratified design; ``"jkn"``
        delete-one-PSU within strata; ``"brr"`` balanced half-samples (two PSUs per
        stratum); ``"fay"`` Fay's BRR with coefficient ``rho``; ``"bootstrap"``
        Canty-Davison bootstrap of PSUs within strata (without replacement from a
        pseudo-population when the design has an fpc); ``"subbootstrap"`` Rao-Wu
        bootstrap drawing n_h - 1 PSUs; ``"sdr"`` successive difference replication
        (PSUs in the order of the data within strata).
    n_replicates : int, optional
        Bootstrap replicates (default 50, as R) or SDR replicates (default: the
        smallest Hadamard order above min(PSUs, 79), 80 for large designs). Fixed
        by the design for the jackknife and BRR (an error if another is given).
    rho : float, optional
        Fay's coefficient in [0, 1), required for ``"fay"`` only.
    rng : int, numpy.random.Generator or None
        Randomness of the bootstrap methods.
    mse : bool
        Centre the variance at the full-sample estimate instead of the replicate mean.

    Returns
    -------
    ReplicateDesign

    Notes
    -----
    Replicate weights are :math:`w_i f_{r,p(i)}` with PSU factors :math:`f`:

    - JK1: :math:`f_{r,p} = 0` for p = r, :math:`n/(n-1)` otherwise; scale
      :math:`(1-f)(n-1)/n`, rscales 1.
    - JKn: replicate (h, i) zeroes PSU i of stratum h and multiplies the other PSUs
      of h by :math:`n_h/(n_h-1)`; scale 1, rscales :math:`(1-f_h)(n_h-1)/n_h`.
      Lonely PSUs as R: ``"remove"``/``"certainty"``/``"average"`` give no
      replicate (``"average"`` multiplies scale by P / R); ``"adjust"`` adds a
      replicate zeroing the lone PSU with the other PSUs times H/(H-1), rscale
      (H-1)/H. Certainty strata give no replicate.
    - BRR / Fay: Hadamard row h+1 (strata ordered by label as text, R's
      ``hadamard(H)``) gives each replicate's half-sample; factors 2 - rho and rho;
      scale :math:`1/(R(1-\\rho)^2)`.
    - bootstrap: factors are the counts of :math:`n_h` PSUs drawn with replacement
      (without replacement from :math:`N_h` copies when the design has an fpc);
      scale :math:`\\bar n / ((\\bar n - 1)(B - 1))`, :math:`\\bar n` the harmonic
      mean of :math:`n_h`.
    - subbootstrap: counts of :math:`n_h - 1` draws times :math:`n_h/(n_h-1)`;
      scale :math:`1/(B-1)`.
    - SDR: PSU g (sort order) takes Hadamard rows :math:`a_g` and :math:`a_{g+1}`
      (the next PSU of its stratum, cyclically), factor
      :math:`1 + 2^{-3/2}(h_{a_g,r} - h_{a_{g+1},r})`; scale 4/R.

    Strata with one PSU contribute nothing under the bootstrap methods and SDR
    (as R's bootstrap); only the jackknife implements ``"adjust"`` and
    ``"average"``.

    References
    ----------
    Lumley, T. survey R package, ``as.svrepdesign``, ``jknweights``,
    ``brrweights``, ``bootweights``, ``subbootweights``.
    Canty, A. J. and Davison, A. C. (1999). Resampling-based variance estimation
    for labour force surveys. The Statistician 48, 379-391.
    Rao, J. N. K. and Wu, C. F. J. (1988). Resampling inference with complex
    survey data. JASA 83, 231-241.
    Fay, R. E. and Train, G. F. (1995). Aspects of survey and model-based postcensal
    estimation of income and poverty characteristics for states and counties.
    Proceedings of the Section on Government Statistics, ASA, 154-159.
    Wolter, K. M. (2007). Introduction to Variance Estimation, 2nd ed., Springer.
    """
    check_method(method, rho, from_design=True)
    if design.residualizers:
        raise DesignError(
            "this design carries calibration (post-stratification, raking or GREG) applied "
            "to the full-sample weights only. Build the replicates first "
            "(design.replicate(...)) and then apply the weighting to the replicate design, "
            "so that every replicate is re-calibrated."
        )
    if getattr(design, "history", ()):
        warnings.warn(
            f"the design carries {len(design.history)} weighting step(s); replicates built now "
            "multiply the adjusted weights without repeating the steps, so the variance "
            "ignores them. Build the replicates first and weight the replicate design.",
            FlestimateWarning,
            stacklevel=3,
        )
    if design.structure.stages:
        warnings.warn(
            "replicates resample PSUs: the finite population corrections of later stages "
            "are dropped (as R's as.svrepdesign).",
            FlestimateWarning,
            stacklevel=3,
        )
    factors, scale, rscales, rho = replicate_factors(
        design, method, n_replicates=n_replicates, rho=rho, rng=rng
    )
    return ReplicateDesign._build(
        data=design.data,
        weights=design.weights,
        # later-stage units do not enter replication variances: no stage totals needed
        structure=replace(design.structure, stages=()),
        factors=factors,
        method=method,
        scale=scale,
        rscales=rscales,
        mse=bool(mse),
        df=None,
        rho=rho,
        replicate_names=None,
        source={"from": "design", "design": dict(design.spec)},
        history=tuple(getattr(design, "history", ())),
    )
