"""Estimate a prevalence from a respondent-driven sample: RDS-I, RDS-II or Gile's SS."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from flestimate.errors import Diagnostic, EstimationError, FlestimateWarning, ValidationError
from flestimate.estimation.table import check_level
from flestimate.rds.bootstrap import tree_bootstrap
from flestimate.rds.estimators import point_weights, resample_estimates
from flestimate.rds.result import RDSResult
from flestimate.rds.tree import build_tree
from flestimate.rds.weights import METHODS

__all__ = ["estimate"]


def _outcome(frame: pd.DataFrame, outcome: str) -> np.ndarray:
    if outcome not in frame.columns:
        raise EstimationError(f"column {outcome!r} is not in the data; name the 0/1 outcome.")
    y = pd.to_numeric(frame[outcome], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    bad = ~np.isin(y, (0.0, 1.0))
    if bad.any():
        raise EstimationError(
            f"column {outcome!r} has {int(bad.sum())} values that are not 0/1 (rows "
            f"{list(frame.index[bad][:6])}). RDS estimates here are of a 0/1 trait; recode it "
            "and leave respondents with a missing outcome out of the data only with care (their "
            "recruits stay in the tree)."
        )
    return y


def _degree(frame: pd.DataFrame, degree: str, diagnostics: list) -> np.ndarray:
    if degree not in frame.columns:
        raise EstimationError(f"column {degree!r} is not in the data; name the network-size column.")
    d = pd.to_numeric(frame[degree], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    bad = ~(d > 0)
    if bad.all():
        raise EstimationError(f"column {degree!r} has no positive network size.")
    if bad.any():
        top = float(np.nanmax(d))
        msg = (
            f"{int(bad.sum())} of {len(d)} network sizes in {degree!r} are missing or zero; they "
            f"are taken as the largest reported ({top:g}), as the RDS package does."
        )
        warnings.warn(msg, FlestimateWarning, stacklevel=3)
        diagnostics.append(Diagnostic("degree_imputed", msg))
        d = np.where(bad, top, d)
    return d


def estimate(
    data: pd.DataFrame,
    outcome: str,
    *,
    id: str,
    recruiter: str,
    degree: str,
    method: str = "rds2",
    population_size: float | None = None,
    level: float = 0.95,
    n_bootstrap: int = 500,
    rng: int | np.random.Generator | None = None,
) -> RDSResult:
    r"""Prevalence of a 0/1 trait in a hidden population from a respondent-driven sample.

    Parameters
    ----------
    data : DataFrame
        One row per respondent (seeds included).
    outcome : str
        The 0/1 trait (e.g. in forced labour).
    id, recruiter : str
        Respondent id and recruiter id; a seed's recruiter is "seed", "0", "-1", blank
        or its own id.
    degree : str
        Reported network size (the number of members of the population the respondent
        knows). Missing or zero sizes are taken as the largest reported (a warning).
    method : {"rds1", "rds2", "ss"}
        RDS-I (Salganik and Heckathorn 2004), RDS-II (Volz and Heckathorn 2008) or
        Gile's successive-sampling estimator (2011, needs ``population_size``).
    population_size : float, optional
        N, the size of the hidden population (needed by "ss"; scales the weights).
    level : float
    n_bootstrap : int, default 500
        Tree-bootstrap replicates for the SE and the percentile interval.
    rng : int or Generator, optional

    Returns
    -------
    RDSResult
        ``.estimate``, ``.se``, ``.ci``, ``.weights`` (summing to N, or n), diagnostics.

    Notes
    -----
    - RDS-II: :math:`\hat p = \sum_i y_i / d_i \big/ \sum_i 1/d_i`.
    - RDS-I: :math:`\hat p_1 = (q_1 / \bar d_1) / \sum_g (q_g / \bar d_g)`, q the stationary
      distribution of the recruitment transition matrix, :math:`\bar d_g` the harmonic
      mean degree of group g.
    - SS: weights :math:`1/\pi(d_i)`, the inclusion probabilities of a successive
      (size-biased, without replacement) sample of n from N, with the population's
      degree distribution estimated jointly (:func:`flestimate.rds.weights.ss_inclusion`).

    Variance: the tree bootstrap (seeds, then each drawn respondent's recruits,
    resampled with replacement), which keeps the dependence along chains; intervals
    are bootstrap percentiles.

    Assumptions (the estimate is biased when they fail): ties are reciprocal and the
    population is one connected network; respondents recruit at random among their
    contacts; degrees are reported accurately; for RDS-I/II the sample is small
    against N (else use "ss"); chains are long enough to forget the seeds (see
    :func:`flestimate.rds.by_wave` and :func:`flestimate.rds.by_seed`).

    References
    ----------
    Salganik, M. J. and Heckathorn, D. D. (2004). Sociological Methodology 34, 193-240.
    Volz, E. and Heckathorn, D. D. (2008). Journal of Official Statistics 24, 79-97.
    Gile, K. J. (2011). Journal of the American Statistical Association 106, 135-146.
    Baraff, A. J., McCormick, T. H. and Raftery, A. E. (2016). Estimating uncertainty in
    respondent-driven sampling using a tree bootstrap method. PNAS 113, 14668-14673.
    """
    if method not in METHODS:
        raise ValidationError(f"method={method!r} is not known; use one of {list(METHODS)}.")
    lv = check_level(level)
    if not (isinstance(n_bootstrap, (int, np.integer)) and n_bootstrap >= 2):
        raise ValidationError(f"n_bootstrap={n_bootstrap!r} must be an integer >= 2 (500 is usual).")
    frame = data
    n = len(frame)
    if population_size is not None:
        if not (float(population_size) >= n):
            raise ValidationError(
                f"population_size={population_size!r} is smaller than the sample ({n}); give N "
                "of the hidden population."
            )
        population_size = float(population_size)
    elif method == "ss":
        raise ValidationError(
            "method='ss' needs population_size (an estimate of N, e.g. from a scale-up or MSE "
            "estimate); try several values to see how the estimate moves."
        )
    diagnostics: list[Diagnostic] = []
    y = _outcome(frame, outcome)
    d = _degree(frame, degree, diagnostics)
    tree = build_tree(frame, id=id, recruiter=recruiter)
    gen = np.random.default_rng(rng)
    w = point_weights(method, d, y, tree.parent, population_size)
    est = float((w * y).sum() / w.sum())
    draws = tree_bootstrap(tree, int(n_bootstrap), gen)
    boot = resample_estimates(method, d, y, draws, population_size)
    boot = boot[np.isfinite(boot)]
    alpha = (1.0 - lv) / 2.0
    lo, hi = np.quantile(boot, [alpha, 1.0 - alpha])
    total = population_size if population_size is not None else float(n)
    weights = pd.Series(w / w.sum() * total, index=frame.index, name=f"{method}_weight")
    return RDSResult(
        outcome=outcome,
        method=method,
        estimate=est,
        se=float(np.std(boot, ddof=1)),
        ci=(float(lo), float(hi)),
        level=lv,
        weights=weights,
        population_size=population_size,
        n=n,
        n_seeds=len(tree.seeds),
        n_waves=int(tree.wave.max()),
        bootstrap=boot,
        tree=tree,
        degree=d,
        y=y,
        diagnostics=tuple(diagnostics),
    )
