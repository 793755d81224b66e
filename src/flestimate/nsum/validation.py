"""Internal validation of a scale-up survey: each known population estimated from the others."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from flestimate.errors import ValidationError
from flestimate.estimation.derived import derived_estimate
from flestimate.nsum.answers import read_answers
from flestimate.nsum.degree import check_known, check_total

if TYPE_CHECKING:
    from flestimate.design.interface import VarianceEngine

__all__ = ["internal_validation"]


def internal_validation(
    design: VarianceEngine,
    *,
    known: Mapping[str, float],
    total_population: float,
    topcode: float | Mapping[str, float] | None = None,
    missing_codes: Any = None,
    level: float = 0.95,
    df: str | float = "domain",
) -> pd.DataFrame:
    r"""Leave-one-out estimates of each known population against its true size.

    Each known population k is treated in turn as hidden: the respondents' degrees are
    estimated from the other known populations and the scale-up estimate of
    :math:`N_k` is compared with its size. Large or one-sided errors point at recall
    error (large populations under-reported), barrier effects or a poor choice of known
    populations (Feehan et al. 2016, figure 3).

    Parameters
    ----------
    design, known, total_population, topcode, missing_codes, level, df
        As in :func:`flestimate.nsum.scale_up` (at least two known populations).

    Returns
    -------
    DataFrame
        One row per known population: ``population``, ``size`` (the truth),
        ``estimate``, ``se``, ``ci_lower``, ``ci_upper``, ``relative_error``
        (estimate / size - 1) and ``covered`` (the interval holds the size).

    Notes
    -----
    :math:`\hat N_k = \frac{\sum_i w_i y_{ik}}{\sum_i w_i \sum_{j \ne k} y_{ij}}
    \sum_{j \ne k} N_j`, all K estimates from one pass over the data.

    References
    ----------
    Feehan, D. M., Umubyeyi, A., Mahy, M., Hladik, W. and Salganik, M. J. (2016).
    Quantity versus quality: a survey experiment to improve the network scale-up
    method. American Journal of Epidemiology 183, 747-757.
    """
    sizes = check_known(known)
    check_total(total_population, sizes)
    if len(sizes) < 2:
        raise ValidationError(
            "internal validation needs at least two known populations (each is estimated "
            "from the others)."
        )
    names = list(sizes)
    answers = read_answers(
        design.data, names, known=names, topcode=topcode, missing_codes=missing_codes
    )
    values = answers.values
    row_sum = values.sum(axis=1)
    total = sum(sizes.values())
    tables = []
    # one table per known population: the scale (the other populations' sizes) differs
    for k, name in enumerate(names):  # a loop over known populations (tens), not rows
        others = total - sizes[name]
        tables.append(
            derived_estimate(
                design,
                [values[:, k]],
                [row_sum - values[:, k]],
                labels=[name],
                statistic="scale-up size",
                level=level,
                df=df,
                scale=others,
            ).to_frame()
        )
    frame = pd.concat(tables, ignore_index=True)
    truth = np.array([sizes[n] for n in names])
    out = pd.DataFrame(
        {
            "population": names,
            "size": truth,
            "estimate": frame["estimate"].to_numpy(),
            "se": frame["se"].to_numpy(),
            "ci_lower": frame["ci_lower"].to_numpy(),
            "ci_upper": frame["ci_upper"].to_numpy(),
        }
    )
    out["relative_error"] = out["estimate"] / out["size"] - 1.0
    out["covered"] = (out["ci_lower"] <= out["size"]) & (out["size"] <= out["ci_upper"])
    return out
