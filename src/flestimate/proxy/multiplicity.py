"""Proxy (family) reports: the multiplicity estimator of network sampling (Sirken 1970)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from flestimate.errors import EstimationError, first_values
from flestimate.estimation.derived import derived_estimate

if TYPE_CHECKING:
    from flestimate.design.interface import VarianceEngine
    from flestimate.estimation.table import EstimateTable

__all__ = ["multiplicity_prevalence", "multiplicity_total", "multiplicity_values"]

def multiplicity_values(
    design: VarianceEngine, reports: pd.DataFrame, *, respondent: str, outcome: str,
    multiplicity: str, respondent_id: str,
) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    r"""Per respondent (in the design's row order) :math:`a_i = \sum_j y_j / m_j` and
    :math:`b_i = \sum_j 1 / m_j` over the people the respondent reported on."""
    for c in (respondent, outcome, multiplicity):
        if c not in reports.columns:
            raise EstimationError(f"column {c!r} is not in the reports; name the report columns.")
    if respondent_id not in design.data.columns:
        raise EstimationError(f"column {respondent_id!r} is not in the design's data.")
    ids = pd.Index(design.data[respondent_id])
    if not ids.is_unique:
        raise EstimationError(f"column {respondent_id!r} of the design's data repeats ids.")
    row = ids.get_indexer(reports[respondent])
    if (row < 0).any():
        bad = reports[respondent].to_numpy()[row < 0]
        raise EstimationError(
            f"{int((row < 0).sum())} reports name respondents not in the design "
            f"({first_values(np.unique(bad.astype(str)))}); check {respondent!r}."
        )
    y = pd.to_numeric(reports[outcome], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    m = pd.to_numeric(reports[multiplicity], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    bad_y = ~np.isin(y, (0.0, 1.0))
    if bad_y.any():
        raise EstimationError(
            f"column {outcome!r} has {int(bad_y.sum())} values that are not 0/1 (rows "
            f"{first_values(reports.index[bad_y][:6])}); recode the reported status."
        )
    bad_m = ~(m >= 1)
    if bad_m.any():
        raise EstimationError(
            f"column {multiplicity!r} has {int(bad_m.sum())} values missing or below 1 (rows "
            f"{first_values(reports.index[bad_m][:6])}). A reported person can be reported by "
            "at least one person; count everyone eligible to report them."
        )
    n = len(ids)
    a = np.bincount(row, weights=y / m, minlength=n)
    b = np.bincount(row, weights=1.0 / m, minlength=n)
    return a, b


def multiplicity_prevalence(
    design: VarianceEngine,
    reports: pd.DataFrame,
    *,
    respondent: str,
    outcome: str,
    multiplicity: str,
    respondent_id: str,
    by: str | Sequence[str] | None = None,
    scale: float = 1000,
    level: float = 0.95,
    df: str | float = "domain",
) -> EstimateTable:
    r"""Prevalence from self and proxy (family) reports, per ``scale`` persons.

    Parameters
    ----------
    design : SurveyDesign or ReplicateDesign
        The respondents' survey.
    reports : DataFrame
        One row per (respondent, person reported on), the respondent's own row
        included: ``respondent`` (the respondent's id), ``outcome`` (0/1, e.g. in forced
        labour) and ``multiplicity`` (how many people in the surveyed population could
        have reported this person, the person included if eligible).
    respondent_id : str
        The id column of the design's data that ``respondent`` refers to.
    by : str or list of str, optional
        Respondents' domains.
    scale : float, default 1000
    level, df
        As in :func:`flestimate.estimation.estimators.ratio`.

    Returns
    -------
    EstimateTable
        Statistic ``"multiplicity prevalence"``.

    Notes
    -----
    Generalised weight share (Lavallee 2007): with :math:`a_i = \sum_{j \in F(i)} y_j/m_j`
    and :math:`b_i = \sum_{j \in F(i)} 1/m_j`,
    :math:`\hat p = \sum_i w_i a_i / \sum_i w_i b_i`, the estimated number of victims over
    the estimated size of the population reachable through the reports; a ratio of
    weighted totals with the design's (Taylor or replicate) variance.

    Counting rule: each reported person j (the respondent included, when eligible) counts
    :math:`1/m_j` through each report, where :math:`m_j` is the number of people in the
    surveyed population who could have reported j under the questionnaire's rule
    (e.g. j and j's adult siblings, parents, spouse and adult children). Summed over all
    who could report j, j counts exactly once: the estimator is unbiased whatever the
    overlap of families, provided m_j is right and every eligible reporter would report
    j (no transmission error).

    Failure modes: wrong multiplicities (respondents miscount their families), proxy
    reporters who do not know a relative's situation (under-counting), and people with
    no eligible reporter in the frame (not covered at all).

    References
    ----------
    Sirken, M. G. (1970). Household surveys with multiplicity. JASA 65, 257-266.
    Lavallee, P. (2007). Indirect Sampling. Springer.
    """
    a, b = multiplicity_values(design, reports, respondent=respondent, outcome=outcome,
                               multiplicity=multiplicity, respondent_id=respondent_id)  # fmt: skip
    return derived_estimate(
        design, [a], [b], labels=[outcome], statistic="multiplicity prevalence", by=by,
        level=level, df=df, scale=scale,
    )  # fmt: skip


def multiplicity_total(
    design: VarianceEngine,
    reports: pd.DataFrame,
    *,
    respondent: str,
    outcome: str,
    multiplicity: str,
    respondent_id: str,
    by: str | Sequence[str] | None = None,
    level: float = 0.95,
    df: str | float = "domain",
) -> EstimateTable:
    r"""Number of people with the outcome, from self and proxy reports (Sirken 1970).

    Parameters are those of :func:`multiplicity_prevalence`.

    Notes
    -----
    :math:`\hat Y = \sum_i w_i \sum_{j \in F(i)} y_j / m_j`, a weighted total with the
    design's variance.

    Counting rule, assumptions and failure modes: those of
    :func:`multiplicity_prevalence` (each person counts :math:`1/m_j` through each report,
    so once in all).
    """
    a, _ = multiplicity_values(design, reports, respondent=respondent, outcome=outcome,
                               multiplicity=multiplicity, respondent_id=respondent_id)  # fmt: skip
    return derived_estimate(design, [a], None, labels=[outcome], statistic="multiplicity total",
                            by=by, level=level, df=df)  # fmt: skip

