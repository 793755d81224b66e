"""Summaries of the weights before and after each weighting step."""

from __future__ import annotations

import pandas as pd

from flestimate.weighting._design import current_weights, weight_stats
from flestimate.weighting._types import Design

__all__ = ["weight_summary"]

_COLUMNS = [
    "step",
    "n",
    "n_zero",
    "sum",
    "min",
    "max",
    "max_min_ratio",
    "cv",
    "deff",
    "n_effective",
    "iterations",
    "converged",
]


def weight_summary(design: Design) -> pd.DataFrame:
    """Kish's weight summary before and after each weighting step of ``design.history``.

    Parameters
    ----------
    design : SurveyDesign or ReplicateDesign
        A design, usually the result of weighting steps (``poststratify``, ``rake``,
        ``calibrate``, ``trim_weights``, ``adjust_nonresponse``).

    Returns
    -------
    pandas.DataFrame
        One row for the input weights of the first step (``step = "input"``) and one
        per step, columns ``step, n, n_zero, sum, min, max, max_min_ratio, cv, deff,
        n_effective, iterations, converged``. Without a history, one row
        ``"current"``. Statistics use the rows with a positive weight.

    Notes
    -----
    ``cv = sd(w) / mean(w)`` (population sd), Kish's design effect due to weighting
    ``deff = 1 + cv^2 = n sum w^2 / (sum w)^2``, effective sample size
    ``n_effective = (sum w)^2 / sum w^2``.

    References
    ----------
    Kish, L. (1965). Survey Sampling. Wiley, section 11.7.
    Kish, L. (1992). Weighting for unequal P_i. Journal of Official Statistics 8,
    183-200.

    Examples
    --------
    >>> import pandas as pd
    >>> import flestimate
    >>> data = pd.read_csv("data/sample/fl_survey.csv")
    >>> design = flestimate.SurveyDesign(data, weight="w_final", strata="stratum", psu="psu",
    ...                                  nest=True)
    >>> trimmed = flestimate.trim_weights(design, upper=12.0)
    >>> flestimate.weight_summary(trimmed)["step"].tolist()
    ['input', 'trim_weights']
    """
    history = tuple(getattr(design, "history", ()))
    rows = []
    if not history:
        rows.append(
            {
                "step": "current",
                **weight_stats(current_weights(design)),
                "iterations": None,
                "converged": None,
            }
        )
    else:
        rows.append({"step": "input", **history[0].before, "iterations": None, "converged": None})
        for h in history:
            rows.append(
                {"step": h.step, **h.after, "iterations": h.iterations, "converged": h.converged}
            )
    return pd.DataFrame(rows, columns=_COLUMNS)
