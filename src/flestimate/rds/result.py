"""RDSResult: the estimate of a respondent-driven sample, its interval and its weights."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from flestimate.design import SurveyDesign
from flestimate.errors import Diagnostic
from flestimate.rds.tree import RecruitmentTree

__all__ = ["RDSResult"]

_NAMES = {"rds1": "RDS-I (Salganik-Heckathorn)", "rds2": "RDS-II (Volz-Heckathorn)",
          "ss": "Gile's successive sampling"}  # fmt: skip


@dataclass(frozen=True, eq=False)
class RDSResult:
    """The estimated prevalence of a 0/1 outcome in a population sampled by RDS.

    Attributes
    ----------
    outcome, method : str
    estimate, se : float
        The proportion and its tree-bootstrap standard error.
    ci : tuple of float
        Percentile interval of the tree bootstrap at ``level``.
    level : float
    weights : pandas.Series
        The respondents' weights (on the data's index), summing to ``population_size``
        (or to n when it is not given): hand them to :class:`SurveyDesign` (see
        :meth:`design`) for further tables.
    population_size : float or None
    n, n_seeds, n_waves : int
    bootstrap : ndarray
        The B bootstrap estimates.
    tree : RecruitmentTree
    degree, y : ndarray
        The degrees used (after the missing-degree rule) and the outcome.
    diagnostics : tuple of Diagnostic
    """

    outcome: str
    method: str
    estimate: float
    se: float
    ci: tuple[float, float]
    level: float
    weights: pd.Series
    population_size: float | None
    n: int
    n_seeds: int
    n_waves: int
    bootstrap: np.ndarray = field(repr=False)
    tree: RecruitmentTree = field(repr=False)
    degree: np.ndarray = field(repr=False)
    y: np.ndarray = field(repr=False)
    diagnostics: tuple[Diagnostic, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        """One row: outcome, method, estimate, se, ci_lower, ci_upper, level, n, seeds,
        waves, population_size, n_bootstrap."""
        return pd.DataFrame(
            {
                "outcome": [self.outcome],
                "method": [self.method],
                "estimate": [self.estimate],
                "se": [self.se],
                "ci_lower": [self.ci[0]],
                "ci_upper": [self.ci[1]],
                "level": [self.level],
                "n": [self.n],
                "seeds": [self.n_seeds],
                "waves": [self.n_waves],
                "population_size": [self.population_size],
                "n_bootstrap": [len(self.bootstrap)],
            }
        )

    def design(self, data: pd.DataFrame, *, weight_name: str = "rds_weight") -> SurveyDesign:
        """A :class:`SurveyDesign` of ``data`` (the data estimated from) with the RDS
        weights, each respondent its own unit. Its SEs treat the sample as independent
        draws and are too small for RDS; use them for point estimates of other tables,
        and the tree bootstrap for intervals."""
        frame = data.assign(**{weight_name: self.weights.to_numpy()})
        return SurveyDesign(frame, weight=weight_name)

    def __str__(self) -> str:
        lo, hi = self.ci
        return (
            f"{_NAMES[self.method]} estimate of {self.outcome!r}: {self.estimate:.4f} "
            f"(SE {self.se:.4f}; {self.level:.0%} tree-bootstrap interval {lo:.4f} to {hi:.4f}); "
            f"n = {self.n}, {self.n_seeds} seeds, {self.n_waves} waves"
            + (f", N = {self.population_size:,.0f}" if self.population_size else "")
        )

    def __repr__(self) -> str:
        return f"RDSResult({self})"

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(_fmt(v))}</td></tr>"
            for k, v in self.to_frame().iloc[0].items()
        )
        return f"<table><caption>{html.escape(_NAMES[self.method])}</caption>{rows}</table>"


def _fmt(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)
