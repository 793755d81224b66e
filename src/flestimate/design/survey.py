"""SurveyDesign: a frozen complex-survey design (strata, clusters, weights, fpc)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from flestimate.design.kernel import (
    cell_degrees_of_freedom,
    domain_degrees_of_freedom,
    taylor_covariance,
    taylor_variance,
)
from flestimate.design.methods import DesignMethods, weights_row
from flestimate.design.scores import linearised_scores
from flestimate.design.structure import DesignStructure, build_structure
from flestimate.design.totals import DomainTotals
from flestimate.errors import DesignError
from flestimate.io.frames import as_frame, value_labels_of

__all__ = ["SurveyDesign"]


def _labelled_frame(data: Any) -> pd.DataFrame:
    """The frame of ``data`` (:func:`flestimate.io.frames.as_frame`) carrying the value
    labels of a SurveyData in ``attrs``, so that every design built on it shows them."""
    frame = as_frame(data, error=DesignError)
    if frame is data or not getattr(data, "value_labels", None):
        return frame
    # a shallow copy: no column is copied, the caller's frame is untouched
    frame = frame.copy(deep=False)
    frame.attrs["value_labels"] = value_labels_of(data)
    return frame


class SurveyDesign(DesignMethods):
    """A complex-survey design: stratified, clustered (multistage), weighted, with fpc.

    Parameters
    ----------
    data : pandas.DataFrame or SurveyData
        The respondents, one row each. It is referenced, never modified.
    weight : str, optional
        Column of final weights (> 0). When None the weights are the inverse
        product of the stages' sampling fractions derived from ``fpc``.
    strata : str or list of str, optional
        First-stage strata (several columns are crossed).
    psu : str or list of str, optional
        Cluster ids, one column per sampling stage; None: each row is its own PSU.
    fpc : str or list of str, optional
        Per stage, the population count of units (> 1) or the sampling fraction
        (<= 1), constant within strata, as in R's ``svydesign``. Later stages with
        an fpc add their variance terms (R's multistage variance); stages without
        one use the ultimate-cluster approximation.
    nest : bool
        PSU ids are numbered within strata (the same id in two strata are two PSUs).
    lonely_psu : {"fail", "remove", "certainty", "adjust", "average"}
        What to do with strata holding a single PSU (the rules of
        :data:`~flestimate.design.lonely_psu.LONELY_PSU_RULES`), with the meaning of
        R's ``options(survey.lonely.psu=)``. The default raises a DesignError.
    frequency : str, optional
        Column counting the respondents each row stands for, when each row is a group
        of respondents sharing every value analysed and ``weight`` is the sum of their
        weights (grouped data, as made by :meth:`from_parquet`). Row counts (``n``,
        Korn-Graubard, design effects, degrees of freedom) count respondents.

    Notes
    -----
    The design columns are validated and encoded once, into :attr:`structure`; every
    estimator makes one pass over the data and works on PSU-level totals afterwards.

    Lonely PSUs (a stratum with one sampled PSU that is not a certainty stratum):
    ``"remove"`` and ``"certainty"`` give it no variance contribution; ``"adjust"``
    centres its PSU total at the average PSU total of the design (R survey 4.5;
    R 4.1 centres at 0, which is the same for means, ratios and proportions);
    ``"average"`` multiplies the variance by H / (H - lonely strata), counting the
    strata of the domain. As with R's default ``survey.adjust.domain.lonely =
    FALSE``, a stratum with several PSUs but only one holding domain members is not
    treated as lonely.

    References
    ----------
    Lumley, T. (2010). Complex Surveys: A Guide to Analysis Using R. Wiley.

    Examples
    --------
    The bundled sample survey, with its true forced-labour status:

    >>> import pandas as pd
    >>> import flestimate
    >>> data = pd.read_csv("data/sample/fl_survey.csv").merge(
    ...     pd.read_csv("data/sample/truth_respondents.csv")[["pid", "fl_true"]], on="pid")
    >>> design = flestimate.SurveyDesign(data, weight="w_final", strata="stratum", psu="psu")
    >>> design.degf
    614
    >>> row = design.prevalence("fl_true").to_frame().iloc[0]
    >>> print(f"{row.estimate:.2f} per 1,000 ({row.ci_lower:.2f} to {row.ci_upper:.2f})")
    4.94 per 1,000 (3.61 to 6.60)
    >>> by_sex = design.prevalence("fl_true", by="sex").to_frame()
    >>> print(by_sex[["sex", "estimate"]].round(2).to_string(index=False))
     sex  estimate
       1      5.34
       2      4.55
    """

    __slots__ = (
        "_data",
        "_weights",
        "_structure",
        "_spec",
        "_history",
        "_residualizers",
    )

    def __init__(
        self,
        data: Any,
        *,
        weight: str | None = None,
        strata: str | Sequence[str] | None = None,
        psu: str | Sequence[str] | None = None,
        fpc: str | Sequence[str] | None = None,
        nest: bool = False,
        lonely_psu: str = "fail",
        frequency: str | None = None,
    ) -> None:
        frame = _labelled_frame(data)
        structure, weights = build_structure(
            frame,
            weight=weight,
            strata=strata,
            psu=psu,
            fpc=fpc,
            nest=bool(nest),
            lonely_psu=lonely_psu,
            frequency=frequency,
        )
        spec = {
            "weight": weight,
            "strata": strata,
            "psu": psu,
            "fpc": fpc,
            "nest": bool(nest),
            "lonely_psu": lonely_psu,
            "frequency": frequency,
        }
        object.__setattr__(self, "_data", frame)
        object.__setattr__(self, "_weights", weights)
        object.__setattr__(self, "_structure", structure)
        object.__setattr__(self, "_spec", spec)
        object.__setattr__(self, "_history", ())
        object.__setattr__(self, "_residualizers", ())

    @classmethod
    def from_parquet(
        cls,
        path: Any,
        *,
        weight: str,
        strata: str | Sequence[str] | None = None,
        psu: str | Sequence[str] | None = None,
        fpc: str | Sequence[str] | None = None,
        nest: bool = False,
        lonely_psu: str = "fail",
        engine: str = "duckdb",
        client: Any = None,
    ):
        """A design over Parquet data larger than memory: a file, a folder or a glob
        (or a DuckDB relation, or a Dask DataFrame with ``engine="dask"``).

        Returns a :class:`~flestimate.large.LargeDesign` with the estimators of this
        class; each estimate is one grouped sum in ``engine`` ("duckdb": out-of-core
        on this machine; "dask": on the active Dask scheduler), then the in-memory
        code on the groups (``client``: a ``distributed.Client`` for "dask"). The other
        arguments are those of :class:`SurveyDesign`.
        """
        from flestimate.large import LargeDesign  # the engines are optional (extra "large")

        return LargeDesign.over(path, weight=weight, strata=strata, psu=psu, fpc=fpc,
                                nest=nest, lonely_psu=lonely_psu, engine=engine,
                                client=client)

    # ------------------------------------------------------------------ frozen
    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(
            f"SurveyDesign is frozen: cannot set {name!r}. Weighting steps return a new design."
        )

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"SurveyDesign is frozen: cannot delete {name!r}.")

    def evolve(
        self,
        *,
        weights: np.ndarray | pd.Series | None = None,
        residualizers: tuple | None = None,
        history: tuple | None = None,
    ) -> SurveyDesign:
        """A new design sharing the data and structure, with other weights, calibration
        residualisers or history (what a weighting step returns).

        Parameters
        ----------
        weights : array (n,), optional
            New final weights (the caller validates them; 0 for a row a step removed).
        residualizers : tuple of Residualizer, optional
            The whole chain carried into the variance, newest step first.
        history : tuple, optional
            The whole weighting history, oldest step first.

        Arguments left at None keep this design's.
        """
        new = object.__new__(type(self))
        structure = self._structure
        w = self._weights
        if weights is not None:
            arr = np.asarray(weights, dtype=np.float64)
            if arr.shape != (structure.n,):
                raise DesignError(
                    f"new weights have shape {arr.shape}; the design has {structure.n} rows."
                )
            structure = structure.with_weights(arr)
            w = pd.Series(arr, index=self._data.index, name=self._weights.name)
        object.__setattr__(new, "_data", self._data)
        object.__setattr__(new, "_weights", w)
        object.__setattr__(new, "_structure", structure)
        object.__setattr__(new, "_spec", dict(self._spec))
        object.__setattr__(new, "_history", self._history if history is None else tuple(history))
        object.__setattr__(
            new,
            "_residualizers",
            self._residualizers if residualizers is None else tuple(residualizers),
        )
        return new

    # ------------------------------------------------------------------ attributes
    @property
    def structure(self) -> DesignStructure:
        """The integer-encoded design used by the variance kernel."""
        return self._structure

    @property
    def history(self) -> tuple:
        """Weighting steps applied to this design (empty for a design built from data)."""
        return self._history

    @property
    def degf(self) -> int:
        """Design degrees of freedom: PSUs minus strata (R's ``degf``)."""
        return self._structure.degf

    @property
    def residualizers(self) -> tuple:
        """Calibration residualisers carried into the variance, newest step first."""
        return self._residualizers

    @property
    def spec(self) -> dict:
        """The arguments the design was built with."""
        return dict(self._spec)

    # ------------------------------------------------------------------ variance
    def variance(self, totals: DomainTotals, estimate: np.ndarray, active_strata: np.ndarray):
        """Taylor-linearisation variance (D*K,) of the estimates and a function computing
        their covariance: the linearised scores of the totals
        (:func:`~flestimate.design.scores.linearised_scores`, with this design's
        residualisers) through :func:`~flestimate.design.kernel.taylor_variance`."""
        psu_scores, stage_scores = linearised_scores(totals, estimate, self._residualizers)
        var = taylor_variance(self._structure, psu_scores, stage_scores, active_strata)

        column_domain = np.repeat(np.arange(totals.n_domains), totals.n_vars)

        def covariance() -> np.ndarray:
            return taylor_covariance(
                self._structure, psu_scores, stage_scores, active_strata, column_domain
            )

        return var, covariance

    def domain_df(self, totals: DomainTotals) -> tuple[np.ndarray, np.ndarray]:
        """Degrees of freedom (D, K) per domain (R's ``degf`` of the domain: PSUs minus
        strata with members of positive weight) and the (H, D, K) strata with members."""
        D, K = totals.n_domains, totals.n_vars
        Kc = totals.psu_rows.shape[-1]
        dfs = np.empty((D, Kc))
        active = np.empty((self._structure.n_strata, D, Kc), dtype=bool)
        for k in range(Kc):  # 1, or one per variable when missing values differ
            if totals.sparse:
                dfs[:, k], active[:, :, k] = cell_degrees_of_freedom(
                    self._structure, totals.cell_psu, totals.cell_domain, D,
                    totals.psu_rows[:, k],
                )
            else:
                dfs[:, k], active[:, :, k] = domain_degrees_of_freedom(
                    self._structure, totals.psu_rows[:, :, k]
                )
        if Kc != K:
            dfs = np.repeat(dfs, K, axis=1)
            active = np.repeat(active, K, axis=2)
        return dfs, active

    # ------------------------------------------------------------------ replicates
    def replicate(self, method, *, n_replicates=None, rho=None, rng=None, mse=False):
        """Replicate-weight design (R's ``as.svrepdesign``); see
        :func:`flestimate.design.replicate.replicate_design`."""
        from flestimate.design.replicate import replicate_design

        return replicate_design(self, method, n_replicates=n_replicates, rho=rho, rng=rng, mse=mse)

    # ------------------------------------------------------------------ summary
    def _summary_rows(self) -> list[tuple[str, str]]:
        s = self._structure
        w = s.weights
        stages = 1 + len(s.stages)
        rows = [
            ("rows", f"{s.n:,}"),
            (
                "strata",
                f"{s.n_strata:,}" + (f" ({self._spec['strata']})" if self._spec["strata"] else ""),
            ),
            (
                "PSUs",
                f"{s.n_psus:,}"
                + (f" ({self._spec['psu']})" if self._spec["psu"] else " (each row)"),
            ),
            ("stages with variance terms", str(stages)),
            ("fpc", str(self._spec["fpc"]) if self._spec["fpc"] else "none (with replacement)"),
            ("lonely strata", f"{int(s.lonely_strata.sum())} (rule {s.lonely_psu!r})"),
            ("degrees of freedom", f"{s.degf:,}"),
            weights_row(w),
            ("weighting steps", str(len(self._history))),
        ]
        return rows

    def __repr__(self) -> str:
        s = self._structure
        return (
            f"<SurveyDesign: {s.n:,} rows, {s.n_strata} strata, {s.n_psus} PSUs, "
            f"df={s.degf}, lonely_psu={s.lonely_psu!r}>"
        )

