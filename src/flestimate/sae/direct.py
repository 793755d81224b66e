"""Small-area estimation from a survey design: the direct estimates by area and their
sampling variances come from the design's own estimators, then the Fay-Herriot model."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from flestimate.errors import EstimationError, FlestimateWarning, ValidationError, first_values
from flestimate.sae.model import fay_herriot
from flestimate.sae.result import FayHerriotResult

__all__ = ["direct_estimates", "small_area"]

_STATISTICS = ("prevalence", "proportion", "mean")


def direct_estimates(
    design: Any,
    y: str,
    *,
    area: str,
    statistic: str = "prevalence",
    scale: float = 1000,
    level: float = 0.95,
    na_rm: bool = False,
) -> pd.DataFrame:
    """Direct (design-based) estimates of ``y`` by area, with their sampling variances.

    Parameters
    ----------
    design : SurveyDesign or ReplicateDesign
        The survey design; its estimator ``statistic`` computes every area at once
        (areas are domains: PSUs without members of an area still count in its variance).
    y : str
        The analysis variable (a 0/1 indicator for a prevalence or proportion).
    area : str
        Column of the data naming the area of each respondent.
    statistic : {"prevalence", "proportion", "mean"}
    scale : float, default 1000
        Units of a prevalence (per 1,000) or proportion (1, 100, 1000); ignored for a mean.
    level : float, default 0.95
        Level of the direct intervals (``direct_ci_lower``, ``direct_ci_upper``).
    na_rm : bool, default False
        Passed to the estimator.

    Returns
    -------
    pandas.DataFrame
        One row per area with respondents: the area column, ``direct``, ``direct_se``,
        ``direct_variance``, ``direct_ci_lower``, ``direct_ci_upper``, ``n``
        (respondents), ``n_weighted``, ``deff``, ``n_effective`` and ``flags`` (e.g.
        ``zero_variance`` for an area without a case).

    Notes
    -----
    The design's own estimators are used (``design.prevalence(y, by=[area])`` and
    so on), so the variances are those of the design: Taylor linearisation or
    replicate weights, domain estimation done right.

    Examples
    --------
    >>> import pandas as pd
    >>> import flestimate
    >>> from flestimate import sae
    >>> data = pd.read_csv("data/sample/fl_survey.csv").merge(
    ...     pd.read_csv("data/sample/truth_respondents.csv")[["pid", "fl_true"]], on="pid")
    >>> design = flestimate.SurveyDesign(data, weight="w_final", strata="stratum", psu="psu")
    >>> direct = sae.direct_estimates(design, "fl_true", area="region")
    >>> print(direct[["region", "direct", "direct_se", "n"]].round(2).to_string(index=False))
     region  direct  direct_se    n
          1    5.58       1.50 5345
          2    4.25       1.90 1465
          3    4.34       1.40 3852
          4    3.93       1.49 4298
          5    5.78       1.67 4886
    """
    if statistic not in _STATISTICS:
        raise ValidationError(
            f"statistic={statistic!r} is not known. Use one of {', '.join(map(repr, _STATISTICS))}."
        )
    if not isinstance(area, str):
        raise ValidationError(f"area={area!r} must be the name of the area column.")
    estimator = getattr(design, statistic)
    if statistic == "mean":
        table = estimator(y, by=[area], level=level, na_rm=na_rm)
    else:
        table = estimator(y, by=[area], level=level, na_rm=na_rm, scale=scale)
    f = table.to_frame()
    se = f["se"].to_numpy()
    return pd.DataFrame(
        {
            area: f[area],
            "direct": f["estimate"],
            "direct_se": se,
            "direct_variance": se**2,
            "direct_ci_lower": f["ci_lower"],
            "direct_ci_upper": f["ci_upper"],
            "n": f["n_unweighted"],
            "n_weighted": f["n_weighted"],
            "deff": f["deff"],
            "n_effective": f["n_effective"],
            "flags": f["flags"],
        }
    )


def small_area(
    design: Any,
    y: str,
    *,
    area: str,
    auxiliary: pd.DataFrame,
    formula: str,
    population: str | None = None,
    method: str = "REML",
    transform: str | None = None,
    benchmark: str | None = None,
    back_transform: str = "bias-corrected",
    mse: str | None = None,
    smooth: str = "unstable",
    n_bootstrap: int = 200,
    rng: int | np.random.Generator | None = None,
    level: float = 0.95,
    statistic: str = "prevalence",
    scale: float = 1000,
    na_rm: bool = False,
) -> FayHerriotResult:
    """Model-based estimates of ``y`` for every area of ``auxiliary``, from a design.

    The direct estimates and their variances come from :func:`direct_estimates`; they
    are joined to ``auxiliary`` (one row per area, with the covariates of ``formula``
    and the area column ``area``), and :func:`flestimate.sae.fay_herriot` fits the
    model. Areas of ``auxiliary`` without respondents get synthetic estimates. With
    ``benchmark``, the target is the design's national estimate of ``y`` and the
    weights the ``population`` column of ``auxiliary``.

    Parameters
    ----------
    design : SurveyDesign or ReplicateDesign
    y : str
        The analysis variable.
    area : str
        Column naming the areas, in the survey data and in ``auxiliary``.
    auxiliary : pandas.DataFrame
        One row per area (every area to estimate), with the covariates.
    formula : str
        Covariates of ``auxiliary``, e.g. ``"~ migrant_share + C(region)"``.
    population : str, optional
        Column of ``auxiliary`` with the area populations (benchmarking weights).
    method, transform, benchmark, back_transform, mse, smooth, n_bootstrap, rng, level
        As in :func:`flestimate.sae.fay_herriot`.
    statistic, scale, na_rm
        As in :func:`direct_estimates`.

    Returns
    -------
    FayHerriotResult
    """
    if not isinstance(auxiliary, pd.DataFrame):
        raise ValidationError(
            f"auxiliary must be a pandas DataFrame with one row per area; found "
            f"{type(auxiliary).__name__}."
        )
    if area not in auxiliary.columns:
        raise EstimationError(
            f"area column {area!r} is not in the auxiliary table (columns: "
            f"{first_values(map(str, auxiliary.columns), 10)}). Name the areas the same way in "
            "the survey and in the table of covariates."
        )
    direct = direct_estimates(design, y, area=area, statistic=statistic, scale=scale,
                              level=level, na_rm=na_rm)  # fmt: skip
    clash = [c for c in direct.columns if c != area and c in auxiliary.columns]
    if clash:
        raise EstimationError(
            f"the auxiliary table has columns {first_values(clash)}, which small_area adds from "
            "the survey. Rename them in the auxiliary table."
        )
    unknown = ~direct[area].isin(auxiliary[area])
    if unknown.any():
        raise EstimationError(
            f"{int(unknown.sum())} areas of the survey are not in the auxiliary table "
            f"({first_values(direct.loc[unknown, area])}). Every sampled area needs its "
            "covariates; add them, or check the area codes (same type and spelling)."
        )
    table = auxiliary.merge(direct, on=area, how="left", sort=False)
    target = None
    if benchmark is not None:  # the direct national estimate
        national = getattr(design, statistic)
        kw = {} if statistic == "mean" else {"scale": scale}
        target = float(national(y, na_rm=na_rm, **kw).to_frame()["estimate"].iloc[0])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", FlestimateWarning)
        fit = fay_herriot(
            table,
            direct="direct",
            se="direct_se",
            formula=formula,
            area=area,
            method=method,
            transform=transform,
            benchmark=benchmark,
            back_transform=back_transform,
            mse=mse,
            n="n",
            smooth=smooth,
            population=population,
            benchmark_target=target,
            n_bootstrap=n_bootstrap,
            rng=rng,
            level=level,
            scale=1.0 if statistic == "mean" else scale,
        )
    for w in caught:  # the warnings of the fit, pointed at the caller's line
        warnings.warn(w.message, w.category, stacklevel=2)
    return fit
