"""Replicate factors: the replicate weight of row i is ``w_i * factors[r, unit(i)]``.

A factor object holds R replicates x P units (PSUs, or groups of rows sharing
their factors) and gives the replicate totals ``factors (R x P) @ unit totals (P x M)``,
the rank of the replicate weights on a subset of units, and blocks of the dense
matrix. The jackknife's factors stay implicit (R = P replicates for JKn).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import scipy.sparse as sp

from flestimate.design.kernel import grouped_sums
from flestimate.design.replicate.rank import (
    dense_rank,
    jackknife_rank,
    jackknife_rank_counts,
    sparse_rank,
)

__all__ = ["DenseFactors", "Factors", "JackknifeFactors"]


class Factors:
    """Replicate factors of the PSUs (or groups of rows): R replicates x P units."""

    n_replicates: int

    def totals(self, unit_totals: np.ndarray) -> np.ndarray:
        """Replicate totals (R, M) from unit totals (P, M)."""
        raise NotImplementedError

    def dense(self) -> np.ndarray:
        """The factor matrix (R, P)."""
        raise NotImplementedError

    def rank(self, present: np.ndarray, row_weight: np.ndarray) -> np.ndarray:
        """Rank of the replicate weights restricted to the units in each column of
        ``present`` (P, M) (R's ``qr(weights(design, "analysis"))$rank``)."""
        return dense_rank(self.dense(), present, row_weight)

    def cell_rank(
        self, row_weight: np.ndarray, unit: np.ndarray, column: np.ndarray, n_columns: int
    ) -> np.ndarray:
        """:meth:`rank` from the (unit, column) pairs of present units (each pair once):
        many domains, each with members in few units."""
        return sparse_rank(self.dense(), row_weight, unit, column, n_columns)

    def block(self, start: int, stop: int) -> np.ndarray:
        """The factors (b, P) of replicates ``start .. stop - 1``."""
        return self.dense()[start:stop]


@dataclass(frozen=True, eq=False)
class DenseFactors(Factors):
    F: np.ndarray  # (R, P)

    @property
    def n_replicates(self) -> int:  # type: ignore[override]
        return int(self.F.shape[0])

    def totals(self, unit_totals: np.ndarray) -> np.ndarray:
        if sp.issparse(unit_totals):  # cells with members only: (M, P) @ (P, R)
            return np.asarray(unit_totals.T @ self.F.T).T
        return self.F @ unit_totals

    def dense(self) -> np.ndarray:
        return self.F

    def block(self, start: int, stop: int) -> np.ndarray:
        return self.F[start:stop]


@dataclass(frozen=True, eq=False)
class JackknifeFactors(Factors):
    """Delete-one-PSU jackknife factors, kept implicit (R = P replicates for JKn).

    Replicate r deletes PSU ``drop[r]`` of stratum ``stratum[r]`` and multiplies the
    other PSUs of that stratum by ``mult[r]`` (``n_h / (n_h - 1)``). A replicate with
    ``drop[r] == -1`` is R's lonely-PSU "adjust" replicate: it deletes the whole
    stratum and multiplies every other PSU by ``mult[r]`` (H / (H - 1)).
    """

    psu_stratum: np.ndarray  # (P,)
    n_strata: int
    stratum: np.ndarray  # (R,)
    drop: np.ndarray  # (R,)
    mult: np.ndarray  # (R,)
    jk_strata: np.ndarray  # (H,) bool: strata with delete-one replicates
    adjust_strata: np.ndarray  # (H,) bool: lonely strata with an "adjust" replicate

    @property
    def n_replicates(self) -> int:  # type: ignore[override]
        return int(self.stratum.shape[0])

    def totals(self, unit_totals: np.ndarray) -> np.ndarray:
        # replicate (h, i): sum of all totals - T_h + mult (T_h - T_i); adjust: mult (T - T_h)
        adjust = self.drop < 0
        rows = np.where(adjust, 0, self.drop)
        if sp.issparse(unit_totals):  # cells with members only: sums by sparse products
            T = sp.csr_matrix(unit_totals)
            P = T.shape[0]
            T_all = np.asarray(T.sum(axis=0)).ravel()
            strata = sp.csr_matrix(
                (np.ones(P), (self.psu_stratum, np.arange(P))), shape=(self.n_strata, P)
            )
            T_h = np.asarray((strata @ T).todense())
            Ti = T[rows].toarray()
        else:
            T = np.asarray(unit_totals, dtype=np.float64)
            T_all = T.sum(axis=0)
            T_h = grouped_sums(self.psu_stratum, self.n_strata, T)
            Ti = T[rows]
        Th = T_h[self.stratum]
        m = self.mult[:, None]
        out = T_all[None, :] - Th + m * (Th - Ti)
        if adjust.any():
            out[adjust] = m[adjust] * (T_all[None, :] - Th[adjust])
        return out

    def dense(self) -> np.ndarray:
        P = self.psu_stratum.shape[0]
        R = self.n_replicates
        same = self.psu_stratum[None, :] == self.stratum[:, None]
        adjust = (self.drop < 0)[:, None]
        m = self.mult[:, None]
        F = np.where(same, m, 1.0)
        F = np.where(adjust, np.where(same, 0.0, m), F)
        rows = np.flatnonzero(self.drop >= 0)
        F[rows, self.drop[rows]] = 0.0
        return F.reshape(R, P)

    def rank(self, present: np.ndarray, row_weight: np.ndarray) -> np.ndarray:
        if not self.jk_strata.any():
            return dense_rank(self.dense(), present, row_weight)
        return jackknife_rank(self, present)

    def cell_rank(
        self, row_weight: np.ndarray, unit: np.ndarray, column: np.ndarray, n_columns: int
    ) -> np.ndarray:
        if not self.jk_strata.any():
            return super().cell_rank(row_weight, unit, column, n_columns)
        M = n_columns
        a = np.bincount(self.psu_stratum[unit] * M + column, minlength=self.n_strata * M)
        total = np.bincount(column, minlength=M)
        return jackknife_rank_counts(self, a.reshape(self.n_strata, M).astype(np.float64), total)

    def block(self, start: int, stop: int) -> np.ndarray:
        sub = replace(
            self, stratum=self.stratum[start:stop], drop=self.drop[start:stop],
            mult=self.mult[start:stop],
        )  # fmt: skip
        return sub.dense()
