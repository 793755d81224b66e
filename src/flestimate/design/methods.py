"""The methods shared by :class:`SurveyDesign` and :class:`ReplicateDesign`.

Both designs expose the same five estimators and the same text and HTML summaries
built from their ``_summary_rows()``. The estimators are the functions of
:mod:`flestimate.estimation.estimators`, bound to the design by
:class:`EstimatorMethod`: ``design.prevalence(y, ...)`` is
``estimators.prevalence(design, y, ...)``, whose signature and docstring are written
once, there (``help(design.prevalence)`` shows them).

This module is the one door from the design layer up to the estimators: they are
imported on first use (so building a design does not load the interval machinery),
in :meth:`EstimatorMethod.__get__` and nowhere else in :mod:`flestimate.design`.
The estimators ask the design only for the members of
:class:`~flestimate.design.interface.VarianceEngine`.
"""

from __future__ import annotations

import html
import types
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from flestimate.design.interface import VarianceEngine

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd


def weights_row(w: np.ndarray) -> tuple[str, str]:
    """The ``weights`` line of a design summary."""
    return (
        "weights",
        f"sum {w.sum():,.6g}; min {w.min():.6g}; mean {w.mean():.6g}; max {w.max():.6g}",
    )


class EstimatorMethod:
    """A design method that is an estimator of :mod:`flestimate.estimation.estimators`
    bound to the design, like a function defined in the class: the function of the
    attribute's name, taking the design first."""

    __slots__ = ("name", "source")

    def __init__(self, source: str = "estimation") -> None:
        self.name = ""
        # "estimation" (the estimators), "tests" (chisq, ttest), "svyvar", "quantiles",
        # "regression" (design-based GLMs) or "sae" (small areas)
        self.source = source

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, design: Any, owner: type | None = None) -> Callable[..., Any]:
        # the one door from the design layer up to the estimators (imported on first use)
        if self.source == "sae":
            from flestimate import sae as module
        elif self.source == "tests":
            from flestimate.estimation import svytests as module
        elif self.source == "svyvar":
            from flestimate.estimation import svyvar as module
        elif self.source == "quantiles":
            from flestimate.estimation import quantiles as module
        elif self.source == "regression":
            from flestimate.estimation import regression as module
        else:
            from flestimate.estimation import estimators as module

        function = getattr(module, self.name)
        return function if design is None else types.MethodType(function, design)


class DesignMethods(VarianceEngine):
    """The base of both designs: the estimators (``total``, ``mean``, ``ratio``,
    ``proportion``, ``prevalence``, ``var``, ``quantile``), the tests (``chisq``,
    ``ttest``), the small-area estimates (``small_area``), the design-based regression
    (``glm``, ``predictive_margins``) and the summaries of a design, which defines
    ``_summary_rows()``."""

    __slots__ = ()

    if TYPE_CHECKING:  # type checkers and IDEs see the estimator functions as methods
        from flestimate.estimation.estimators import mean, prevalence, proportion, ratio, total
        from flestimate.estimation.quantiles import quantile
        from flestimate.estimation.regression import glm, predictive_margins
        from flestimate.estimation.svytests import chisq, ttest
        from flestimate.estimation.svyvar import var
        from flestimate.sae import small_area
    else:
        total = EstimatorMethod()
        mean = EstimatorMethod()
        ratio = EstimatorMethod()
        proportion = EstimatorMethod()
        prevalence = EstimatorMethod()
        small_area = EstimatorMethod("sae")  # Fay-Herriot estimates from this design
        chisq = EstimatorMethod("tests")  # R's svychisq
        ttest = EstimatorMethod("tests")  # R's svyttest
        var = EstimatorMethod("svyvar")  # R's svyvar
        quantile = EstimatorMethod("quantiles")  # R's svyquantile
        glm = EstimatorMethod("regression")  # design-based GLM (R's svyglm)
        predictive_margins = EstimatorMethod("regression")  # R's svypredmeans

    @property
    def data(self) -> pd.DataFrame:
        """The respondents' frame (the caller's object; do not modify it)."""
        return self._data

    @property
    def weights(self) -> pd.Series:
        """The full-sample (final) weights, on the data's index (a copy)."""
        return self._weights.copy()

    def _summary_rows(self) -> list[tuple[str, str]]:  # pragma: no cover - each design's own
        raise NotImplementedError

    def summary(self) -> str:
        """Text summary of the design: its structure, degrees of freedom and weights."""
        rows = self._summary_rows()
        width = max(len(k) for k, _ in rows)
        title = type(self).__name__
        return "\n".join([title] + [f"  {k.ljust(width)}  {v}" for k, v in rows])

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
            for k, v in self._summary_rows()
        )
        return f"<table><caption>{type(self).__name__}</caption>{rows}</table>"
