"""The network scale-up estimate of a hidden population's size, with the design's variance."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from flestimate.errors import ValidationError
from flestimate.estimation.derived import derived_estimate
from flestimate.nsum.answers import as_number, read_answers
from flestimate.nsum.degree import check_known, check_total

if TYPE_CHECKING:
    from flestimate.design.interface import VarianceEngine
    from flestimate.estimation.table import EstimateTable

__all__ = ["adjustment_product", "scale_up"]


def adjustment_product(adjustment: float | Mapping[str, float]) -> float:
    """The product of the generalised scale-up's adjustment factors, checked."""
    factors = adjustment if isinstance(adjustment, Mapping) else {"adjustment": adjustment}
    product = 1.0
    for name, value in factors.items():
        f = as_number(value)
        if not (np.isfinite(f) and f > 0):
            raise ValidationError(
                f"adjustment factor {name!r} is {value!r}; factors must be positive numbers "
                "(e.g. a visibility of 0.7: 70% of the hidden population's members are known "
                "as such to the people who know them)."
            )
        product *= f
    return product


def scale_up(
    design: VarianceEngine,
    hidden: str | Sequence[str],
    *,
    known: Mapping[str, float],
    total_population: float,
    topcode: float | Mapping[str, float] | None = None,
    missing_codes: Any = None,
    adjustment: float | Mapping[str, float] = 1.0,
    by: str | Sequence[str] | None = None,
    level: float = 0.95,
    df: str | float = "domain",
) -> EstimateTable:
    r"""Size of a hidden population by the network scale-up method.

    Parameters
    ----------
    design : SurveyDesign or ReplicateDesign
        The general-population survey that asked the scale-up questions. Any
        design: Taylor linearisation, or replicate weights (JK, BRR, the rescaled
        bootstrap ``design.replicate("subbootstrap")``, the NSO's own columns).
    hidden : str or list of str
        Columns "how many people do you know who ...?" about the hidden population(s).
    known : mapping of str to float
        Known-population columns ("how many nurses do you know?") and the sizes of
        those populations (census, registers).
    total_population : float
        N, the size of the population the respondents' networks are drawn from.
    topcode : float or mapping, optional
        Answers above it are lowered to it (30 is usual). A number applies to the
        known-population questions; a mapping names the top code of any column.
    missing_codes : sequence or mapping, optional
        Special codes (don't know, refused): a code or an inclusive range
        ``{"lo": 97, "hi": 99}``, for every column or per column. They become missing.
    adjustment : float or mapping of str to float, default 1
        The generalised scale-up's factors (Feehan and Salganik 2016), e.g.
        ``{"visibility": 0.7, "degree_ratio": 0.8}``: the estimate (SE and bounds) is
        divided by their product. They come from outside the survey; see
        :func:`flestimate.nsum.sensitivity` for a table over plausible values.
    by : str or list of str, optional
        Domains of respondents: each gives the hidden population's size as seen from
        its respondents' networks (a check of barrier effects), not the hidden
        population within the domain.
    level : float, default 0.95
    df : {"domain", "design"} or float

    Returns
    -------
    EstimateTable
        One row per domain and hidden population: ``estimate`` is the hidden
        population's size, with ``se`` and the interval (statistic ``"scale-up size"``).

    Notes
    -----
    With the known-population degrees :math:`\hat d_i = N \sum_k y_{ik} / \sum_k N_k`,

    .. math:: \hat N_H = N \frac{\sum_i w_i y_{iH}}{\sum_i w_i \hat d_i} \frac{1}{\prod_j f_j}
              = \frac{\sum_i w_i y_{iH}}{\sum_i w_i \sum_k y_{ik}} \frac{\sum_k N_k}{\prod_j f_j},

    a ratio of two weighted totals: its Taylor variance (or replicate variance) is the
    ratio's (R survey's ``svyratio(~y_H, ~d) * N``). A respondent with a missing answer
    to a known-population question or to the hidden question is left out as a
    zero-weight row (its PSU still counts in the variance).

    Assumptions (the estimate is biased when they fail): respondents know about the
    hidden population members they are connected to (transmission error: use a
    visibility factor), their networks reach the hidden population as they reach the
    known populations (barrier effects, degree ratio), they recall and report
    accurately (recall error: check with :func:`flestimate.nsum.internal_validation`),
    and the known populations resemble the hidden one in how they are known.

    References
    ----------
    Killworth, P. D. et al. (1998). A social network approach to estimating
    seroprevalence in the United States. Social Networks 20, 23-50.
    Feehan, D. M. and Salganik, M. J. (2016). Generalizing the network scale-up method.
    Sociological Methodology 46, 153-186.
    """
    sizes = check_known(known)
    check_total(total_population, sizes)
    hidden_cols = [hidden] if isinstance(hidden, str) else list(hidden)
    if not hidden_cols:
        raise ValidationError("hidden names no column; give the hidden population's question.")
    both = sorted(set(hidden_cols) & set(sizes))
    if both:
        raise ValidationError(
            f"columns {both} are both hidden and known populations; a question is one or the other."
        )
    factor = adjustment_product(adjustment)
    answers = read_answers(
        design.data,
        [*sizes, *hidden_cols],
        known=list(sizes),
        topcode=topcode,
        missing_codes=missing_codes,
    )
    K = len(sizes)
    known_sum = answers.values[:, :K].sum(axis=1)  # NaN when an answer is missing
    values = [answers.values[:, K + j] for j in range(len(hidden_cols))]
    return derived_estimate(
        design,
        values,
        [known_sum] * len(values),
        labels=hidden_cols,
        statistic="scale-up size",
        by=by,
        level=level,
        df=df,
        scale=sum(sizes.values()) / factor,
    )
