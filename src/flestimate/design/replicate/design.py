"""The replicate design: :class:`ReplicateDesign` (R's ``svrepdesign``); it is built from
a :class:`SurveyDesign` by :func:`~flestimate.design.replicate.build.replicate_design`
(R's ``as.svrepdesign``). The variance, ranks, schemes and delivered weights are in the
package's other modules (see :mod:`flestimate.design.replicate`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd

from flestimate.design.kernel import grouped_sums
from flestimate.design.methods import DesignMethods, weights_row
from flestimate.design.replicate.delivered import (
    check_df_value,
    group_rows,
    group_structure,
    replicate_columns,
    replicate_matrix,
    scales_for,
    weight_values,
)
from flestimate.design.replicate.factors import DenseFactors
from flestimate.design.replicate.rank import domain_ranks, gram_domain_ranks, rank_grams
from flestimate.design.replicate.variance import replicate_variance, replication_variance
from flestimate.design.structure import DesignStructure
from flestimate.design.totals import DomainTotals
from flestimate.errors import DesignError, ValidationError, first_values

__all__ = ["MAX_DENSE", "ReplicateDesign"]

# materialising more replicate weights than this (n * R) needs replicate_weight_blocks()
MAX_DENSE = 200_000_000


class ReplicateDesign(DesignMethods):
    """A survey design with replicate weights (R's ``svrepdesign``).

    Parameters
    ----------
    data : pandas.DataFrame or SurveyData
        The respondents with their full-sample weight and replicate weight columns.
        It is referenced, never modified.
    weight : str
        Column of full-sample weights (> 0).
    replicate_weights : list of str or str
        The replicate weight columns (combined weights: the analysis weight of each
        unit in each replicate, as delivered by NSOs), or a regular expression
        matching their names (the weight column itself is never included).
    method : {"jk1", "jkn", "brr", "fay", "bootstrap", "subbootstrap", "sdr", "other"}
        How the replicates were made (a method of
        :data:`~flestimate.design.replicate.registry.REPLICATE_METHODS`); sets the
        default scale and rscales.
    scale : float, optional
        Overall multiplier c. Defaults as R: BRR 1/R, Fay 1/(R(1-rho)^2), JK1
        (R-1)/R, bootstrap and subbootstrap 1/(R-1), SDR 4/R, JKn and other 1.
    rscales : float or sequence of float, optional
        Per-replicate multipliers :math:`c_r` (default 1; required for JKn).
    mse : bool
        Centre at the full-sample estimate instead of the replicate mean.
    df : float, optional
        Degrees of freedom for intervals; default the rank of the replicate weights
        minus one (R's ``degf``), computed on each domain's rows.
    rho : float, optional
        Fay's coefficient (method "fay").
    frequency : str, optional
        Column counting the respondents each row stands for, when each row is a group
        of respondents sharing every value analysed, with the sums of their weights and
        replicate weights (grouped data, as made by :meth:`from_parquet`).

    Notes
    -----
    :math:`v = c \\sum_r c_r (\\hat\\theta_r - \\tilde\\theta)^2` (R's ``svrVar``),
    where :math:`\\hat\\theta_r` is the estimate with the r-th replicate weights and
    :math:`\\tilde\\theta` the mean of the replicates (or :math:`\\hat\\theta`).

    Interval methods take this variance and df: ``ci_method="logit"`` is R's
    ``svyciprop(method = "xlogit")`` (R's ``"logit"`` refits a GLM in every replicate
    and differs slightly); R has no ``"likelihood"`` interval for replicate designs,
    flestimate's uses the replication variance in its design effect.

    References
    ----------
    Lumley, T. survey R package, ``svrepdesign``, ``svrVar``.
    Wolter, K. M. (2007). Introduction to Variance Estimation, 2nd ed., Springer.

    Examples
    --------
    Jackknife (JKn) replicates built from the bundled sample's design:

    >>> import pandas as pd
    >>> import flestimate
    >>> data = pd.read_csv("data/sample/fl_survey.csv").merge(
    ...     pd.read_csv("data/sample/truth_respondents.csv")[["pid", "fl_true"]], on="pid")
    >>> design = flestimate.SurveyDesign(data, weight="w_final", strata="stratum", psu="psu")
    >>> jackknife = design.replicate("jkn")
    >>> row = jackknife.prevalence("fl_true").to_frame().iloc[0]
    >>> print(f"{row.estimate:.2f} per 1,000, SE {row.se:.3f}, df {row.df:g}")
    4.94 per 1,000, SE 0.730, df 614
    """

    #: ratios are re-estimated in each replicate, not linearised (see VarianceEngine)
    linear_variance = False

    __slots__ = (
        "_data",
        "_weights",
        "_structure",
        "_factors",
        "_method",
        "_scale",
        "_rscales",
        "_mse",
        "_df",
        "_rho",
        "_names",
        "_source",
        "_history",
        "_grams",
        "_cache",
    )

    def __init__(
        self,
        data: Any,
        *,
        weight: str,
        replicate_weights: Sequence[str] | str,
        method: str,
        scale: float | None = None,
        rscales: float | Sequence[float] | None = None,
        mse: bool = False,
        df: float | None = None,
        rho: float | None = None,
        frequency: str | None = None,
    ) -> None:
        from flestimate.design.structure import frequency_values
        from flestimate.design.survey import _labelled_frame

        frame = _labelled_frame(data)
        if len(frame) == 0:
            raise DesignError("the data have no rows. A design needs at least one respondent.")
        cols = replicate_columns(frame, replicate_weights, weight)
        if len(cols) < 2:
            raise DesignError(
                f"replicate_weights gives {len(cols)} column ({first_values(cols)}); a "
                "replication variance needs at least 2 replicates. Check the columns or the "
                "pattern."
            )
        w = weight_values(frame, weight)
        W = replicate_matrix(frame, cols)
        sc, rs, r = scales_for(method, len(cols), scale, rscales, rho)
        group, F = group_rows(W, w, cols, frame.index)
        self._init(
            data=frame,
            weights=pd.Series(w, index=frame.index, name=weight),
            structure=group_structure(group, w, frequency_values(frame, frequency)),
            factors=DenseFactors(np.ascontiguousarray(F.T)),
            method=method,
            scale=sc,
            rscales=rs,
            mse=bool(mse),
            df=check_df_value(df),
            rho=r,
            replicate_names=list(cols),
            source={"from": "columns", "replicate_weights": list(cols)},
            history=(),
        )

    @classmethod
    def from_parquet(
        cls,
        path: Any,
        *,
        weight: str,
        replicate_weights: Sequence[str] | str,
        method: str,
        engine: str = "duckdb",
        **options: Any,
    ):
        """A design with delivered replicate weights over Parquet data larger than
        memory (a file, folder or glob; a DuckDB relation; a Dask DataFrame with
        ``engine="dask"``): a :class:`~flestimate.large.LargeDesign` whose estimates
        are one grouped sum (one column per replicate weight) in ``engine``. The other
        arguments are those of :class:`ReplicateDesign`."""
        from flestimate.large import LargeDesign  # the engines are optional (extra "large")

        return LargeDesign.over_replicates(path, weight=weight,
                                           replicate_weights=replicate_weights,
                                           method=method, engine=engine, **options)

    # ------------------------------------------------------------------ construction
    def _init(self, **kw: Any) -> None:
        for key in (
            "data",
            "weights",
            "structure",
            "factors",
            "method",
            "scale",
            "rscales",
            "mse",
            "df",
            "rho",
            "source",
            "history",
        ):
            object.__setattr__(self, "_" + key, kw[key])
        object.__setattr__(self, "_names", kw["replicate_names"])
        object.__setattr__(self, "_grams", kw.get("grams"))
        object.__setattr__(self, "_cache", {})

    @classmethod
    def _build(cls, **kw: Any) -> ReplicateDesign:
        new = object.__new__(cls)
        new._init(**kw)
        return new

    def with_weights(
        self,
        weights: np.ndarray | pd.Series,
        replicate_weights: np.ndarray,
        *,
        step: Any = None,
    ) -> ReplicateDesign:
        """A new design with other full-sample and replicate weights (for weighting steps).

        Parameters
        ----------
        weights : array (n,)
            New full-sample weights (> 0).
        replicate_weights : array (n, R)
            New replicate analysis weights, e.g. every replicate re-calibrated; R must
            equal :attr:`n_replicates`.
        step : object, optional
            A record appended to :attr:`history`.

        The method, scale, rscales, mse and df rule are kept. Rows sharing their
        replicate factors are grouped again, so PSU-level factors stay compact.
        """
        n = self._structure.n
        w = np.asarray(weights, dtype=np.float64).reshape(-1)
        W = np.asarray(replicate_weights, dtype=np.float64)
        if w.shape != (n,):
            raise DesignError(f"new weights have shape {w.shape}; the design has {n} rows.")
        if W.shape != (n, self.n_replicates):
            raise DesignError(
                f"new replicate weights have shape {W.shape}; expected ({n}, {self.n_replicates})."
            )
        # weight 0 only for rows removed by a weighting step (all replicate weights 0)
        bad = ~np.isfinite(w) | (w < 0) | ((w == 0) & (W != 0).any(axis=1))
        if bad.any():
            raise DesignError(
                f"new weights have {int(bad.sum())} values that are negative, or 0 with nonzero "
                f"replicate weights (rows "
                f"{first_values(self._data.index[np.flatnonzero(bad)][:6])})."
            )
        grams = self._grams
        if grams is None:
            group, F = group_rows(W, w, self.replicate_names, self._data.index)
        else:  # one unit per row; each row's Gram scales with its weights' change
            group, F = np.arange(n), W / np.where(w > 0, w, 1.0)[:, None]
            old = np.take(self._factors.dense(), self._structure.psu, axis=1).T
            old = old * self._structure.weights[:, None]
            a = np.divide(W, old, out=np.zeros_like(W), where=old != 0)
            grams = (grams[0] * a[:, :, None] * a[:, None, :], grams[1])
        history = self._history if step is None else (*self._history, step)
        return ReplicateDesign._build(
            grams=grams,
            data=self._data,
            weights=pd.Series(w, index=self._data.index, name=self._weights.name),
            structure=group_structure(group, w, self._structure.frequency),
            factors=DenseFactors(np.ascontiguousarray(F.T)),
            method=self._method,
            scale=self._scale,
            rscales=self._rscales,
            mse=self._mse,
            df=self._df,
            rho=self._rho,
            replicate_names=self._names,
            source=dict(self._source),
            history=history,
        )

    def with_row_grams(self, grams: np.ndarray, *, pooled: bool = False) -> ReplicateDesign:
        """The design whose degrees of freedom come from ``grams`` (n, R, R): for each
        row, the Gram matrix :math:`\\sum_i W_i W_i^T` of the replicate weights of the
        respondents it stands for (a row of grouped data, ``frequency=``).

        A domain's rank (R's ``qr(weights(subset, "analysis"))$rank``) is then the
        rank of the sum of its rows' Grams; with ``pooled`` every domain gets the
        design's rank (the Grams summed over all rows). Each row becomes its own unit;
        weighting steps rescale its Gram by the change of its replicate weights.
        """
        G = np.asarray(grams, dtype=np.float64)
        n, R = self._structure.n, self.n_replicates
        if G.shape != (n, R, R):
            raise DesignError(f"grams have shape {G.shape}; expected ({n}, {R}, {R}).")
        s = self._structure
        W = np.take(self._factors.dense(), s.psu, axis=1).T * s.weights[:, None]
        F = W / np.where(s.weights > 0, s.weights, 1.0)[:, None]
        kw = {key: getattr(self, "_" + key) for key in (
            "data", "weights", "method", "scale", "rscales", "mse", "df", "rho", "source",
            "history")}
        return ReplicateDesign._build(
            **kw, replicate_names=self._names, grams=(G, bool(pooled)),
            structure=group_structure(np.arange(n), s.weights, s.frequency),
            factors=DenseFactors(np.ascontiguousarray(F.T)),
        )

    # ------------------------------------------------------------------ frozen
    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(
            f"ReplicateDesign is frozen: cannot set {name!r}. Weighting steps return a new design."
        )

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"ReplicateDesign is frozen: cannot delete {name!r}.")

    # ------------------------------------------------------------------ attributes
    @property
    def structure(self) -> DesignStructure:
        """The encoded units replicate factors apply to (the PSUs of the design the
        replicates were built from, or groups of rows sharing their factors)."""
        return self._structure

    @property
    def method(self) -> str:
        return self._method

    @property
    def scale(self) -> float:
        return self._scale

    @property
    def rscales(self) -> np.ndarray:
        return self._rscales.copy()

    @property
    def mse(self) -> bool:
        return self._mse

    @property
    def rho(self) -> float | None:
        return self._rho

    @property
    def n_replicates(self) -> int:
        return self._factors.n_replicates

    @property
    def history(self) -> tuple:
        """Weighting steps applied to this design."""
        return self._history

    @property
    def spec(self) -> dict:
        """How the replicates were made: method, scale, rscales, mse, rho and source."""
        return {
            "method": self._method,
            "scale": self._scale,
            "rscales": self._rscales.tolist(),
            "mse": self._mse,
            "rho": self._rho,
            "df": self._df,
            "n_replicates": self.n_replicates,
            **self._source,
        }

    @property
    def replicate_names(self) -> list:
        """Names of the replicate weight columns (``repw1``.. for built replicates)."""
        if self._names is not None:
            return list(self._names)
        return [f"repw{r + 1}" for r in range(self.n_replicates)]

    @property
    def factors(self) -> np.ndarray:
        """Replicate factors (R, P) of the units of :attr:`structure`: the replicate
        weight of row i is ``weights[i] * factors[r, structure.psu[i]]``."""
        return self._factors.dense().copy()

    def replicate_totals(self, unit_totals: np.ndarray) -> np.ndarray:
        """Replicate totals ``factors @ unit_totals`` without forming the factors.

        Parameters
        ----------
        unit_totals : ndarray (P, M)
            Totals of M weighted variables within the units of :attr:`structure`
            (``structure.psu`` codes), computed with the full-sample weights.

        Returns
        -------
        ndarray (R, M)

        Notes
        -----
        :math:`T_{r,m} = \\sum_p f_{r,p} T_{p,m}`; for the jackknife (R = P replicates
        for JKn) from the PSU and stratum totals, never an R x P matrix.
        """
        T = np.asarray(unit_totals, dtype=np.float64)
        if T.ndim != 2 or T.shape[0] != self._structure.n_psus:
            raise ValidationError(
                f"unit_totals has shape {T.shape}; expected ({self._structure.n_psus}, M), "
                "one row per unit of design.structure."
            )
        return self._factors.totals(T)

    @property
    def degf(self) -> float:
        """Degrees of freedom: rank of the replicate weights minus one (or ``df=``)."""
        if self._df is not None:
            return self._df
        if "degf" not in self._cache and self._grams is not None:
            whole = self._grams[0][self._structure.weights > 0].sum(axis=0)
            self._cache["degf"] = int(rank_grams(whole[None])[0]) - 1
        if "degf" not in self._cache:
            s = self._structure
            present = (np.bincount(s.psu, minlength=s.n_psus) > 0)[:, None]
            self._cache["degf"] = int(self.unit_rank(present)[0]) - 1
        return self._cache["degf"]

    def unit_rank(self, present: np.ndarray) -> np.ndarray:
        """Rank of the replicate weights restricted to the units of :attr:`structure`
        marked in each column of ``present`` (P, M) bool: R's
        ``qr(weights(subset, "analysis"), tol = 1e-5)$rank`` (exact, without the
        factors, for the jackknife). Returns (M,) int.
        """
        return self._factors.rank(np.asarray(present, dtype=bool), self._row_weight())

    def _row_weight(self) -> np.ndarray:
        if "row_weight" not in self._cache:
            s = self._structure
            self._cache["row_weight"] = grouped_sums(s.psu, s.n_psus, s.weights**2)
        return self._cache["row_weight"]

    # ------------------------------------------------------------------ replicate weights
    def replicate_weight_blocks(self, size: int = 64) -> Iterator[tuple[int, np.ndarray]]:
        """The replicate analysis weights in blocks of columns.

        Yields ``(first_replicate, array (n, b))`` with ``b <= size``: the weights of
        replicates ``first_replicate .. first_replicate + b - 1``. Memory is n x size
        at a time (weighting steps re-calibrate each block).
        """
        if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
            raise ValidationError(f"size={size!r} must be a positive integer.")
        s = self._structure
        R = self.n_replicates
        for start in range(0, R, int(size)):  # blocks of replicates
            stop = min(R, start + int(size))
            F = self._factors.block(start, stop)  # (b, P)
            yield start, (np.take(F, s.psu, axis=1) * s.weights[None, :]).T

    @property
    def replicate_weights(self) -> pd.DataFrame:
        """The replicate analysis weights (n, R) as a DataFrame on the data's index."""
        n = self._structure.n
        R = self.n_replicates
        if n * R > MAX_DENSE:
            raise DesignError(
                f"the replicate weights would be {n:,} x {R:,} values; use "
                "replicate_weight_blocks() to get them in blocks of columns."
            )
        W = np.empty((n, R))
        for start, block in self.replicate_weight_blocks(256):
            W[:, start : start + block.shape[1]] = block
        return pd.DataFrame(W, index=self._data.index, columns=self.replicate_names)

    def to_frame(self, *, include_data: bool = False) -> pd.DataFrame:
        """The full-sample weight and replicate weight columns, ready to ship.

        With ``include_data=True`` the data's columns come first. Give the columns
        to :class:`ReplicateDesign` with the values of :attr:`spec` (method,
        scale, rscales, mse, rho) to reproduce the variances.
        """
        w = self._weights.rename(self._weights.name or "weight").to_frame()
        rep = self.replicate_weights
        clash = [c for c in rep.columns if c in w.columns]
        if include_data:
            clash += [
                c
                for c in [*w.columns, *rep.columns]
                if c in self._data.columns and c not in self._names_in_data()
            ]
        if clash:
            raise DesignError(
                f"columns {first_values(clash)} would appear twice in the output. Rename "
                "them in the data first."
            )
        parts = [w, rep]
        if include_data:
            keep = [c for c in self._data.columns if c not in set(w.columns) | set(rep.columns)]
            parts.insert(0, self._data[keep])
        out = pd.concat(parts, axis=1)
        out.attrs["flestimate_replicates"] = self.spec
        return out

    def _names_in_data(self) -> list:
        names = [self._weights.name]
        if self._names is not None:
            names += list(self._names)
        return names

    # ------------------------------------------------------------------ variance
    def variance(self, totals: DomainTotals, estimate: np.ndarray, active_strata: np.ndarray):
        """Replication variance (D*K,) of the estimates and a function computing their
        covariance (:func:`~flestimate.design.replicate.variance.replication_variance`);
        ``active_strata`` is not used."""
        return replication_variance(
            self._factors, totals, estimate, self._scale, self._rscales, self._mse
        )

    def replicate_covariance(self, statistic, estimate: np.ndarray) -> np.ndarray:
        """Covariance (M, M) of ``statistic`` recomputed with each replicate's analysis
        weights (R's ``svrVar`` of the replicate estimates, e.g. ``svyglm`` refitted per
        replicate); replicates come in blocks of columns (memory n x 64)."""
        est = np.asarray(estimate, dtype=np.float64).reshape(-1)
        reps = np.empty((self.n_replicates, est.size))
        for start, block in self.replicate_weight_blocks(64):  # blocks of replicates
            for j in range(block.shape[1]):  # one statistic per replicate
                reps[start + j] = statistic(np.ascontiguousarray(block[:, j]))
        return replicate_variance(
            reps, est, self._scale, self._rscales, self._mse, covariance=True
        )

    def domain_df(self, totals: DomainTotals) -> tuple[np.ndarray, np.ndarray]:
        """Degrees of freedom (D, K) per domain: rank of the domain's replicate weights
        minus one (R's ``degf`` of the subset), or the ``df=`` given; and the (H, D, K)
        strata with members (all True: unused by replication)."""
        D, K = totals.n_domains, totals.n_vars
        H = self._structure.n_strata
        active = np.ones((H, D, K), dtype=bool)
        if self._df is not None:
            return np.full((D, K), float(self._df)), active
        if self._grams is not None:
            rank = gram_domain_ranks(self._grams[0], self._structure.weights, totals,
                                     pooled=self._grams[1])
        else:
            rank = domain_ranks(self._factors, self._row_weight(), totals)
        dfs = rank.astype(np.float64) - 1.0
        if rank.shape[1] != K:
            dfs = np.repeat(dfs, K, axis=1)
        return dfs, active

    # ------------------------------------------------------------------ summary
    def _summary_rows(self) -> list[tuple[str, str]]:
        w = self._structure.weights
        src = "built from a design" if self._source.get("from") == "design" else "given columns"
        rows = [
            ("rows", f"{self._structure.n:,}"),
            ("method", f"{self._method}" + (f" (rho {self._rho:g})" if self._rho else "")),
            ("replicates", f"{self.n_replicates:,} ({src})"),
            ("scale", f"{self._scale:.6g}"),
            ("rscales", _describe(self._rscales)),
            ("centre", "full-sample estimate (mse)" if self._mse else "replicate mean"),
            ("degrees of freedom", f"{self.degf:g}"),
            weights_row(w),
            ("weighting steps", str(len(self._history))),
        ]
        return rows

    def __repr__(self) -> str:
        return (
            f"<ReplicateDesign: {self._structure.n:,} rows, method={self._method!r}, "
            f"{self.n_replicates} replicates, scale={self._scale:.6g}, mse={self._mse}>"
        )


def _describe(values: np.ndarray) -> str:
    if values.size and np.all(values == values[0]):
        return f"all {values[0]:.6g}"
    return f"min {values.min():.6g}, max {values.max():.6g}"
