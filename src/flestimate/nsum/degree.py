"""Known-population degree estimates (Killworth et al. 1998; Feehan and Salganik 2016)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from flestimate.errors import ValidationError
from flestimate.nsum.answers import as_number, read_answers

__all__ = ["check_known", "check_total", "known_degrees"]


def check_known(known: Any) -> dict[str, float]:
    """The mapping of known-population columns to their sizes, checked."""
    if not isinstance(known, Mapping) or not known:
        raise ValidationError(
            f"known={known!r} must map each known-population column to its size, e.g. "
            "{'teacher': 47745, 'priest': 1004}."
        )
    out: dict[str, float] = {}
    for name, size in known.items():
        value = as_number(size)
        if not (np.isfinite(value) and value > 0):
            raise ValidationError(
                f"known population {name!r} has size {size!r}; sizes must be positive numbers "
                "(from a census or register)."
            )
        out[str(name)] = value
    return out


def check_total(total_population: Any, known: Mapping[str, float]) -> float:
    """The total population size N, checked against the known populations."""
    n = as_number(total_population)
    if not (np.isfinite(n) and n > 0):
        raise ValidationError(
            f"total_population={total_population!r} must be a positive number (the size of the "
            "population the respondents' networks are drawn from)."
        )
    big = [k for k, v in known.items() if v > n]
    if big:
        raise ValidationError(
            f"known populations {big} are larger than total_population={n:,.0f}. Check the "
            "sizes and the total."
        )
    return n


def known_degrees(
    data: pd.DataFrame,
    *,
    known: Mapping[str, float],
    total_population: float,
    topcode: float | Mapping[str, float] | None = None,
    missing_codes: Any = None,
) -> pd.Series:
    r"""Each respondent's network size (degree) by the known-population method.

    Parameters
    ----------
    data : DataFrame
        One row per respondent (or ``design.data``).
    known : mapping of str to float
        Known-population columns ("how many teachers do you know?") and the
        populations' sizes.
    total_population : float
        N, the size of the population the networks are drawn from.
    topcode, missing_codes
        As in :func:`flestimate.nsum.scale_up`.

    Returns
    -------
    Series
        :math:`\hat d_i`, on the data's index; NaN for a respondent with a missing
        answer to a known-population question.

    Notes
    -----
    :math:`\hat d_i = N \sum_k y_{ik} / \sum_k N_k`.

    References
    ----------
    Killworth, P. D. et al. (1998). Estimation of seroprevalence, rape, and
    homelessness in the United States using a social network approach. Evaluation
    Review 22, 289-308.
    Feehan, D. M. and Salganik, M. J. (2016). Generalizing the network scale-up method.
    Sociological Methodology 46, 153-186.
    """
    sizes = check_known(known)
    n = check_total(total_population, sizes)
    answers = read_answers(
        data, list(sizes), known=list(sizes), topcode=topcode, missing_codes=missing_codes
    )
    degree = answers.values.sum(axis=1) * n / sum(sizes.values())
    return pd.Series(degree, index=data.index, name="degree")
