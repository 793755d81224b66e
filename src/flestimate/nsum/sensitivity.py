"""Sensitivity of a scale-up estimate to the generalised estimator's adjustment factors."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from flestimate.errors import ValidationError
from flestimate.nsum.scale_up import adjustment_product

if TYPE_CHECKING:
    from flestimate.estimation.table import EstimateTable

__all__ = ["sensitivity"]


def sensitivity(table: EstimateTable, factors: Mapping[str, Sequence[float]]) -> pd.DataFrame:
    r"""The scale-up estimates over a grid of adjustment factors.

    The generalised scale-up estimator divides the basic estimate by factors that the
    survey cannot estimate (visibility or true-positive rate of the reports, the ratio
    of the hidden population's degree to the general population's, the precision of
    reports). Published estimates should show how they move over plausible values.

    Parameters
    ----------
    table : EstimateTable
        A basic (unadjusted) estimate from :func:`flestimate.nsum.scale_up`.
    factors : mapping of str to sequence of float
        Each factor's plausible values, e.g.
        ``{"visibility": [0.5, 0.7, 1.0], "degree_ratio": [0.6, 0.8, 1.0]}``.

    Returns
    -------
    DataFrame
        One row per row of ``table`` and combination of factor values: the table's
        domain and ``variable`` columns, one column per factor, ``estimate``, ``se``,
        ``ci_lower``, ``ci_upper`` (all divided by the product of the factors).

    Notes
    -----
    :math:`\hat N_H(f) = \hat N_H / \prod_j f_j`; the factors are taken as known, so
    the SE and the bounds scale the same way.
    """
    if not isinstance(factors, Mapping) or not factors:
        raise ValidationError(
            f"factors={factors!r} must map each factor's name to its plausible values, e.g. "
            "{'visibility': [0.5, 0.7, 1.0]}."
        )
    names = list(factors)
    grid = list(itertools.product(*(list(np.atleast_1d(factors[n])) for n in names)))
    divisors = np.array([adjustment_product(dict(zip(names, combo, strict=True))) for combo in grid])
    base = table.to_frame()
    keys = [*table.by, "variable"]
    G, R = len(grid), len(base)
    out = base[keys].iloc[np.tile(np.arange(R), G)].reset_index(drop=True)
    for j, name in enumerate(names):
        out[name] = np.repeat([float(c[j]) for c in grid], R)
    div = np.repeat(divisors, R)
    for col in ("estimate", "se", "ci_lower", "ci_upper"):
        out[col] = np.tile(base[col].to_numpy(dtype=float), G) / div
    return out
