"""Lists with a known population: capture, list dependence and heterogeneity under control.

:func:`simulate_lists` draws a closed population of ``N`` cases and, for each, the set
of lists that record it. Three things can be set: each list's capture probability,
pairwise dependence between lists (one list's recording makes another's more or less
likely) and heterogeneity (some cases are easier to find on *every* list). The last
two are what MSE's assumptions are about, so the simulator shows what breaks when
they fail (:mod:`flestimate.mse.study`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import logit

from flestimate.errors import ValidationError
from flestimate.mse.bootstrap import _rng
from flestimate.mse.tables import pattern_matrix

__all__ = ["SimulatedLists", "simulate_lists"]


@dataclass(frozen=True, eq=False)
class SimulatedLists:
    """A simulated set of lists with its truth.

    Attributes
    ----------
    table : pandas.DataFrame
        The observed capture patterns: one 0/1 column per list and ``count`` (patterns
        with no case left out, as agencies would report them).
    population : int
        The true number of cases, observed or not.
    observed : int
        Cases on at least one list.
    parameters : dict
        The arguments that produced the lists.
    """

    table: pd.DataFrame = field(repr=False)
    population: int
    observed: int
    parameters: dict[str, Any] = field(repr=False)

    @property
    def dark(self) -> int:
        """The true number of cases on no list."""
        return self.population - self.observed


def simulate_lists(
    population: int = 5000,
    *,
    capture: Sequence[float] = (0.08, 0.12, 0.05, 0.15),
    lists: Sequence[str] | None = None,
    dependence: Mapping[tuple[str, str], float] | None = None,
    heterogeneity: float = 0.0,
    rng: int | np.random.Generator | None = None,
) -> SimulatedLists:
    """Draw which of ``population`` cases each list records.

    Parameters
    ----------
    population : int
        True number of cases :math:`N`.
    capture : sequence of float
        Each list's capture probability :math:`p_k` for a typical case (exactly its
        capture probability when there is no dependence and no heterogeneity).
    lists : sequence of str, optional
        List names; default ``A, B, C, ...``.
    dependence : mapping, optional
        Log odds ratios of pairs of lists, e.g. ``{("A", "B"): np.log(3)}``: being on
        A multiplies the odds of being on B by 3 (positive dependence; negative values
        give negative dependence).
    heterogeneity : float, default 0
        Standard deviation :math:`\\sigma` of a case's random effect on the log odds of
        capture by every list: with :math:`\\sigma > 0` some cases are findable and
        others hidden, a positive dependence of all lists that no two-list interaction
        captures.
    rng : int, numpy.random.Generator or None

    Returns
    -------
    SimulatedLists

    Notes
    -----
    Case :math:`i` draws :math:`\\varepsilon_i \\sim N(0, \\sigma^2)` and its capture
    pattern :math:`z \\in \\{0, 1\\}^K` with probability

    .. math:: P(z \\mid \\varepsilon_i) \\propto \\exp\\Big(\\sum_k (\\operatorname{logit}
       p_k + \\varepsilon_i) z_k + \\sum_{j<k} \\gamma_{jk} z_j z_k\\Big),

    a log-linear model per case; with :math:`\\sigma = 0` and :math:`\\gamma = 0` the
    lists are independent Bernoulli(:math:`p_k`) draws. The pattern of each case is
    drawn by inverting its cumulative distribution, all cases at once.

    References
    ----------
    Coull, B. A. and Agresti, A. (1999). The use of mixed logit models to reflect
    heterogeneity in capture-recapture studies. Biometrics 55, 294-301.

    Examples
    --------
    >>> from flestimate.mse import simulate_lists
    >>> sim = simulate_lists(2000, capture=(0.2, 0.3, 0.25), rng=1)
    >>> sim.population, sim.observed > 1000
    (2000, True)
    """
    if not (isinstance(population, (int, np.integer)) and population > 0):
        raise ValidationError(f"population={population!r}: give a whole number of cases > 0.")
    p = np.asarray(capture, dtype=float)
    if p.ndim != 1 or len(p) < 2 or not np.all((p > 0) & (p < 1)):
        raise ValidationError(
            f"capture={capture!r}: give one probability strictly between 0 and 1 per list, "
            "at least two lists."
        )
    k = len(p)
    names = [chr(ord("A") + i) for i in range(k)] if lists is None else [str(x) for x in lists]
    if len(names) != k or len(set(names)) != k:
        raise ValidationError(f"lists={lists!r}: give {k} distinct names, one per capture probability.")
    if not (np.isfinite(heterogeneity) and heterogeneity >= 0):
        raise ValidationError(f"heterogeneity={heterogeneity!r}: give a standard deviation >= 0.")
    gamma = np.zeros((k, k))
    for pair, value in (dependence or {}).items():
        if len(pair) != 2 or any(x not in names for x in pair) or pair[0] == pair[1]:
            raise ValidationError(
                f"dependence: {pair!r} is not a pair of two of the lists {', '.join(names)}."
            )
        i, j = sorted(names.index(x) for x in pair)
        gamma[i, j] = float(value)
    gen = _rng(rng)
    z = np.vstack([np.zeros(k, dtype=np.int8), pattern_matrix(k)]).astype(float)  # 2**K x K
    pair_term = np.einsum("pi,ij,pj->p", z, gamma, z)
    eps = gen.normal(0.0, heterogeneity, population) if heterogeneity > 0 else np.zeros(population)
    logits = (z @ logit(p))[None, :] + eps[:, None] * z.sum(axis=1)[None, :] + pair_term[None, :]
    logits -= logits.max(axis=1, keepdims=True)
    prob = np.exp(logits)
    cum = np.cumsum(prob, axis=1)
    u = gen.random(population) * cum[:, -1]
    pattern = (u[:, None] > cum).sum(axis=1)  # 0 = on no list
    counts = np.bincount(pattern, minlength=2**k)[1:]
    table = pd.DataFrame(pattern_matrix(k), columns=names)
    table["count"] = counts
    table = table[table["count"] > 0].reset_index(drop=True)
    params = {"population": int(population), "capture": p.tolist(), "lists": names,
              "dependence": {f"{names[i]}:{names[j]}": gamma[i, j]
                             for i, j in zip(*np.nonzero(gamma), strict=True)},
              "heterogeneity": float(heterogeneity)}
    return SimulatedLists(table=table, population=int(population), observed=int(counts.sum()),
                          parameters=params)
