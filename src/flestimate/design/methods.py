"""The methods shared by :class:`SurveyDesign` and :class:`ReplicateDesign`.

Both designs expose the same five estimators with the same arguments, and the
same text and HTML summaries built from their ``_summary_rows()``; the
computation lives in :mod:`flestimate.estimation.estimators` (imported on first
use, so building a design does not load the interval machinery). The variance
comes from the design: Taylor linearisation for a :class:`SurveyDesign`,
replicate weights for a :class:`ReplicateDesign`.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from flestimate.estimation.table import EstimateTable
    from flestimate.sae.result import FayHerriotResult


def weights_row(w: np.ndarray) -> tuple[str, str]:
    """The ``weights`` line of a design summary."""
    return (
        "weights",
        f"sum {w.sum():,.6g}; min {w.min():.6g}; mean {w.mean():.6g}; max {w.max():.6g}",
    )


class DesignMethods:
    """Mixin: the estimators (``total``, ``mean``, ``ratio``, ``proportion``,
    ``prevalence``), the small-area estimates (``small_area``) and the summaries of a
    design, which defines ``_summary_rows()``."""

    __slots__ = ()

    # the variance hooks of both designs accept totals kept for the PSU x domain cells
    # with members only (DomainCells.build(sparse=True): many domains)
    _sparse_cells = True

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

    def total(self, y, *, by=None, level=0.95, na_rm=False, df="domain") -> EstimateTable:
        r"""Estimated population total of each variable, by domains.

        Parameters
        ----------
        y : str or list of str
            Numeric analysis columns; all are estimated in one pass over the data.
        by : str or list of str, optional
            Domain columns; several columns give crossed domains. Domains never drop
            rows: PSUs without members of a domain still count in its variance.
        level : float, default 0.95
            Confidence level of the intervals.
        na_rm : bool, default False
            Leave out (as zero-weight rows) the rows where the variable is missing,
            variable by variable; when False a missing value is an error.
        df : {"domain", "design"} or float, default "domain"
            Degrees of freedom of the t quantiles: R's ``degf`` of each domain, of
            the whole design, or a number.

        Returns
        -------
        EstimateTable

        Notes
        -----
        :math:`\hat Y_d = \sum_i w_i y_i 1_d(i)`; its variance is that of the
        score :math:`u_i = w_i y_i 1_d(i)` under the design (see
        :func:`flestimate.estimation.estimators.total` for the formula and references).

        References
        ----------
        Lumley, T. (2010). Complex Surveys: A Guide to Analysis Using R. Wiley.
        Wolter, K. M. (2007). Introduction to Variance Estimation, 2nd ed. Springer.
        """
        from flestimate.estimation.estimators import total

        return total(self, y, by=by, level=level, na_rm=na_rm, df=df)

    def mean(self, y, *, by=None, level=0.95, na_rm=False, df="domain") -> EstimateTable:
        r"""Estimated population mean (Hajek) of each variable, by domains.

        Parameters
        ----------
        y : str or list of str
            Numeric analysis columns.
        by : str or list of str, optional
            Domain columns; several columns give crossed domains. Domains never drop
            rows: PSUs without members of a domain still count in its variance.
        level : float, default 0.95
            Confidence level of the intervals.
        na_rm : bool, default False
            Leave out (as zero-weight rows) the rows where the variable is missing,
            variable by variable; when False a missing value is an error.
        df : {"domain", "design"} or float, default "domain"
            Degrees of freedom of the t quantiles: R's ``degf`` of each domain, of
            the whole design, or a number.

        Returns
        -------
        EstimateTable

        Notes
        -----
        :math:`\bar y_d = \hat Y_d / \hat N_d`, linearised with the score
        :math:`u_i = w_i 1_d(i) (y_i - \bar y_d) / \hat N_d` (see
        :func:`flestimate.estimation.estimators.mean`).

        References
        ----------
        Lumley, T. (2010). Complex Surveys: A Guide to Analysis Using R. Wiley.
        Wolter, K. M. (2007). Introduction to Variance Estimation, 2nd ed. Springer.
        """
        from flestimate.estimation.estimators import mean

        return mean(self, y, by=by, level=level, na_rm=na_rm, df=df)

    def ratio(
        self, numerator, denominator, *, by=None, level=0.95, na_rm=False, df="domain"
    ) -> EstimateTable:
        r"""Estimated ratio of population totals, by domains.

        Parameters
        ----------
        numerator, denominator : str or list of str
            Numeric columns; lists of equal length pair up element by element.
        by : str or list of str, optional
            Domain columns; several columns give crossed domains. Domains never drop
            rows: PSUs without members of a domain still count in its variance.
        level : float, default 0.95
            Confidence level of the intervals.
        na_rm : bool, default False
            Leave out (as zero-weight rows) the rows where the variable is missing,
            variable by variable; when False a missing value is an error.
        df : {"domain", "design"} or float, default "domain"
            Degrees of freedom of the t quantiles: R's ``degf`` of each domain, of
            the whole design, or a number.

        Returns
        -------
        EstimateTable

        Notes
        -----
        :math:`\hat R_d = \hat Y_d / \hat X_d`, linearised with the score
        :math:`u_i = w_i 1_d(i) (y_i - \hat R_d x_i) / \hat X_d` (see
        :func:`flestimate.estimation.estimators.ratio`).

        References
        ----------
        Lumley, T. (2010). Complex Surveys: A Guide to Analysis Using R. Wiley.
        Wolter, K. M. (2007). Introduction to Variance Estimation, 2nd ed. Springer.
        """
        from flestimate.estimation.estimators import ratio

        return ratio(self, numerator, denominator, by=by, level=level, na_rm=na_rm, df=df)

    def proportion(
        self, y, *, by=None, level=0.95, na_rm=False, df="domain", ci_method="logit", scale=1
    ) -> EstimateTable:
        r"""Estimated population proportion, by domains, with a named interval method.

        Parameters
        ----------
        y : str or list of str
            A 0/1 or boolean column gives one row (the proportion of 1); a
            categorical or string column gives one row per category (column
            ``category``).
        by : str or list of str, optional
            Domain columns; several columns give crossed domains. Domains never drop
            rows: PSUs without members of a domain still count in its variance.
        level : float, default 0.95
            Confidence level of the intervals.
        na_rm : bool, default False
            Leave out (as zero-weight rows) the rows where the variable is missing,
            variable by variable; when False a missing value is an error.
        df : {"domain", "design"} or float, default "domain"
            Degrees of freedom of the t quantiles: R's ``degf`` of each domain, of
            the whole design, or a number.
        ci_method : str, default "logit"
            One of "wald", "logit", "asin", "wilson", "korn-graubard",
            "korn-graubard-nchs", "likelihood" (formulas in
            :mod:`flestimate.estimation.cimethods`).
        scale : {1, 100, 1000}, default 1
            Multiplier of the estimate, SE and interval.

        Returns
        -------
        EstimateTable

        Notes
        -----
        A proportion is the mean of a 0/1 variable; see
        :func:`flestimate.estimation.estimators.proportion`.

        References
        ----------
        Lumley, T. (2010). Complex Surveys: A Guide to Analysis Using R. Wiley.
        Wolter, K. M. (2007). Introduction to Variance Estimation, 2nd ed. Springer.
        """
        from flestimate.estimation.estimators import proportion

        return proportion(
            self, y, by=by, level=level, na_rm=na_rm, df=df, ci_method=ci_method, scale=scale
        )

    def prevalence(
        self,
        y,
        *,
        by=None,
        level=0.95,
        na_rm=False,
        df="domain",
        ci_method="korn-graubard",
        scale=1000,
    ) -> EstimateTable:
        r"""Prevalence of a 0/1 indicator per ``scale`` persons (1,000 by default), by domains.

        Parameters
        ----------
        y : str or list of str
            0/1 (or boolean) indicator columns, e.g. ``"fl"``.
        by : str or list of str, optional
            Domain columns; several columns give crossed domains. Domains never drop
            rows: PSUs without members of a domain still count in its variance.
        level : float, default 0.95
            Confidence level of the intervals.
        na_rm : bool, default False
            Leave out (as zero-weight rows) the rows where the variable is missing,
            variable by variable; when False a missing value is an error.
        df : {"domain", "design"} or float, default "domain"
            Degrees of freedom of the t quantiles: R's ``degf`` of each domain, of
            the whole design, or a number.
        ci_method : str, default "korn-graubard"
            Interval method (R's ``svyciprop(method="beta")``); see
            :meth:`proportion` for the others.
        scale : {1, 100, 1000}, default 1000
            Persons per which the prevalence is reported.

        Returns
        -------
        EstimateTable

        Notes
        -----
        :math:`1000 \cdot \sum_i w_i y_i 1_d(i) / \sum_i w_i 1_d(i)`; see
        :func:`flestimate.estimation.estimators.prevalence` for the interval
        formulas and references.

        References
        ----------
        Lumley, T. (2010). Complex Surveys: A Guide to Analysis Using R. Wiley.
        Wolter, K. M. (2007). Introduction to Variance Estimation, 2nd ed. Springer.
        """
        from flestimate.estimation.estimators import prevalence

        return prevalence(
            self, y, by=by, level=level, na_rm=na_rm, df=df, ci_method=ci_method, scale=scale
        )

    def small_area(self, y, *, area, auxiliary, formula, **options) -> FayHerriotResult:
        """Model-based (Fay-Herriot) estimates of ``y`` for every area of ``auxiliary``:
        :func:`flestimate.sae.small_area` with this design, where the arguments and
        options (``transform=``, ``benchmark=``, ``population=``, ...) are described.

        Returns
        -------
        FayHerriotResult
        """
        from flestimate.sae import small_area

        return small_area(self, y, area=area, auxiliary=auxiliary, formula=formula, **options)
