"""The interface between a design and the estimators: :class:`VarianceEngine`.

An estimator (:mod:`flestimate.estimation`, and later regression, tests and
quantiles) asks a design for the members of :class:`VarianceEngine` and nothing
else. A Taylor design (:class:`~flestimate.design.survey.SurveyDesign`) computes the
variance from linearised scores (:func:`~flestimate.design.scores.linearised_scores`,
then :func:`~flestimate.design.kernel.taylor_variance`); a replicate design
(:class:`~flestimate.design.replicate.ReplicateDesign`) from replicate estimates
(:func:`~flestimate.design.replicate.variance.replication_variance`). Weighting steps
derive a new design through the public ``SurveyDesign.evolve`` and
``ReplicateDesign.with_weights``.

The chain of a domain prevalence's SE, in one direction:
``design.prevalence`` (:mod:`flestimate.design.methods`, the one door to the
estimators) -> :func:`flestimate.estimation.estimators.prevalence` ->
``design.domain_totals`` (:func:`flestimate.design.totals.domain_totals`) ->
``design.variance`` -> :func:`~flestimate.design.scores.linearised_scores` ->
:func:`~flestimate.design.kernel.taylor_variance`.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from flestimate.design.totals import DomainCells, DomainTotals, domain_totals

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from flestimate.design.calibration_hook import Residualizer
    from flestimate.design.structure import DesignStructure

__all__ = ["VarianceEngine"]


class VarianceEngine(abc.ABC):
    """What an estimator may ask a design for.

    - ``data``, ``weights``, ``structure``: the respondents, the final weights and the
      integer-encoded design (strata, PSUs, later stages);
    - ``domain_cells(domains, n_domains)``: the PSU x domain cells of a table;
    - ``domain_totals(ys, xs, cells, ...)``: the one pass over the data, the PSU x
      domain x variable totals (a :class:`~flestimate.design.totals.DomainTotals`);
    - ``domain_df(totals)``: the degrees of freedom per domain and variable;
    - ``variance(totals, estimate, active_strata)``: the variance of the ratio
      estimates of the totals, and a function giving their covariance;
    - ``degf``, ``lonely_psu``: the design's df and lonely-PSU rule;
    - ``residualizers``, ``history``: the calibration residualisers and the weighting
      steps the design carries;
    - ``replicate_covariance(statistic, estimate)``: for a replicate design, the
      covariance of a statistic recomputed with each replicate's weights (estimators
      that are not ratios of totals, such as a regression refitted per replicate);
      None for a design whose variance comes from linearised scores.

    Implemented by :class:`~flestimate.design.survey.SurveyDesign` (Taylor
    linearisation) and :class:`~flestimate.design.replicate.ReplicateDesign`
    (replicate weights). A new kind of design implements the abstract members;
    ``domain_cells`` and ``domain_totals`` are shared.
    """

    __slots__ = ()

    #: The variance accepts totals kept for the PSU x domain cells with members only
    #: (:meth:`DomainCells.build` with ``sparse=True``: many domains, each in few PSUs).
    sparse_cells: bool = True

    #: The variance is a quadratic form in the linearised scores of the totals (Taylor):
    #: the covariance of smooth functions of totals is then exactly the delta-method
    #: transform of the totals' covariance. False for replicate designs, whose ratios are
    #: re-estimated in every replicate (an estimator then asks for the ratios directly).
    linear_variance: bool = True

    # ------------------------------------------------------------------ the data
    @property
    @abc.abstractmethod
    def data(self) -> pd.DataFrame:
        """The respondents' frame (the caller's object; do not modify it)."""

    @property
    @abc.abstractmethod
    def weights(self) -> pd.Series:
        """The full-sample (final) weights, on the data's index."""

    @property
    @abc.abstractmethod
    def structure(self) -> DesignStructure:
        """The integer-encoded design: weights, PSU and stratum codes, later stages."""

    @property
    @abc.abstractmethod
    def degf(self) -> float:
        """Degrees of freedom of the whole design (R's ``degf``)."""

    @property
    def value_labels(self) -> dict[str, dict[Any, str]]:
        """``{column: {code: label}}`` of the data (from :func:`flestimate.read_survey`;
        empty for a plain DataFrame): estimators show the labels of ``by`` columns."""
        return dict(self.data.attrs.get("value_labels", {}))

    @property
    def lonely_psu(self) -> str:
        """The lonely-PSU rule (recorded on every result)."""
        return self.structure.lonely_psu

    @property
    @abc.abstractmethod
    def history(self) -> tuple:
        """Weighting steps applied to this design (oldest first)."""

    @property
    def residualizers(self) -> tuple[Residualizer, ...]:
        """Calibration residualisers carried into the variance, newest step first
        (none for a replicate design: each replicate is re-weighted instead)."""
        return ()

    # ------------------------------------------------------------------ totals
    def domain_cells(self, domains: np.ndarray, n_domains: int) -> DomainCells:
        """The PSU x domain cells of domain codes (n,) in 0..n_domains-1 (-1: in no
        domain), built once per table and shared by its blocks of variables."""
        return DomainCells.build(self.structure, domains, n_domains, sparse=self.sparse_cells)

    def domain_totals(
        self,
        ys: Sequence[np.ndarray],
        xs: Sequence[np.ndarray | None] | None,
        cells: DomainCells,
        *,
        binary: bool = False,
        valid: Sequence[np.ndarray | None] | None = None,
    ) -> DomainTotals:
        """The one pass over the data: totals of ``w*y`` (and ``w*x``) in the cells
        (:func:`~flestimate.design.totals.domain_totals`, with this design's weights and
        residualisers).

        Parameters
        ----------
        ys : sequence of K ndarray (n,)
            Numerators (missing values set to 0 and marked in ``valid``).
        xs : sequence of K (ndarray (n,) or None), or None
            Denominators; None for totals, a None entry for the indicator of the
            valid rows (a mean or proportion).
        cells : DomainCells
            From :meth:`domain_cells`.
        binary : bool
            The ys are 0/1.
        valid : sequence of K (ndarray (n,) bool or None), optional
            Rows with a value of each variable (None: every row).
        """
        return domain_totals(
            self.structure, ys, xs, cells.dom, cells.n_domains,  # the codes come from cells
            binary=binary, residualizers=self.residualizers, valid=valid, cells=cells,
        )  # fmt: skip

    # ------------------------------------------------------------------ variance
    @abc.abstractmethod
    def domain_df(self, totals: DomainTotals) -> tuple[np.ndarray, np.ndarray]:
        """Degrees of freedom (D, K) of each domain and variable, and the (H, D, K)
        strata holding each domain's members (used by the "average" lonely-PSU rule)."""

    def replicate_covariance(
        self, statistic: Callable[[np.ndarray], np.ndarray], estimate: np.ndarray
    ) -> np.ndarray | None:
        """Covariance (M, M) of a statistic of M values recomputed with the weights of
        every replicate (``statistic(weights (n,)) -> (M,)``), centred as the design's
        replication variance; None (the default) for a design whose variance comes from
        linearised scores through :meth:`variance` (Taylor linearisation)."""
        return None

    @abc.abstractmethod
    def variance(
        self, totals: DomainTotals, estimate: np.ndarray, active_strata: np.ndarray
    ) -> tuple[np.ndarray, Callable[[], np.ndarray]]:
        """Variance (D*K,) of the ratio estimates ``estimate`` (D, K) of ``totals``
        (domain-major: column ``d * K + k``), and a function computing their
        covariance (D*K, D*K).

        ``active_strata`` (H, D*K) marks the strata holding each column's domain
        (from :meth:`domain_df`).
        """
