"""Calibration residualisers: how a weighting step carries into the Taylor variance.

A calibrating weighting step (post-stratification, raking, GREG) attaches
:class:`Residualizer` objects to the design it returns (``design.residualizers``).
Each is a linear operator on the unit-level linearised score ``u`` (n,):

.. math:: e = u - s \\odot X A X^T (\\phi \\odot u)

The estimation engine applies it in aggregate form (docs/internals.md section 2):
every score is :math:`u_i = w_i \\sum_{d,k} c_{dk} 1[i \\in d] v_{ik}` with
:math:`v = y` or :math:`x`, so :math:`X^T(\\phi u)` is a combination of the
projection totals :math:`G[d, k, :] = \\sum_{i \\in d} \\phi_i w_i v_{ik} X_{i,:}`
and the correction's PSU totals are :math:`\\sum_{i \\in p} s_i X_{i,:}` (P, q)
times the (q, M) coefficient matrix. No n x M matrix is formed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

__all__ = ["Residualizer"]


@dataclass(frozen=True, eq=False)
class Residualizer:
    """One calibration step's residualising operator ``u -> u - s * X A X' (phi * u)``.

    Attributes
    ----------
    X : ndarray (n,) int, ndarray (n, q) or scipy sparse (n, q)
        The calibration model matrix. A 1-d integer array is a cell code 0..q-1
        (indicator model: post-stratification or one raking margin); rows with a
        negative code belong to no cell.
    s : ndarray (n,)
        Unit factor of the correction (the calibrated weight for post-stratification).
    phi : ndarray (n,)
        Unit factor inside the projection (old weight / new weight for
        post-stratification).
    A : ndarray (q, q) or (q,)
        The projection matrix; a 1-d array is a diagonal.

    A chain of residualisers is applied in the order of ``design.residualizers``;
    R's raking (ten sweeps over the margins) is the sequence of its margins
    repeated ten times (the same objects may repeat: their cross terms are cached).

    Notes
    -----
    R's post-stratification (``svyrecvar`` with ``postStrata``) replaces the score by
    :math:`u - w^* \\bar{(u\\, w^0 / w^*)}_c` where :math:`w^*` is the
    post-stratified weight, :math:`w^0` the weight before and the mean is
    :math:`\\sum_{i \\in c} u_i w^0_i / w^*_i / \\sum_{i \\in c} w^0_i`:
    ``s = w*``, ``phi = w0 / w*``, ``A = diag(1 / sum_c w0)``.

    References
    ----------
    Lumley, T. survey R package, ``svyrecvar``, ``postStratify``.
    Särndal, C.-E., Swensson, B. and Wretman, J. (1992). Model Assisted Survey
    Sampling, Springer, section 6.6 and 7.6.
    """

    X: np.ndarray | sp.spmatrix
    s: np.ndarray
    phi: np.ndarray
    A: np.ndarray

    @property
    def is_cells(self) -> bool:
        return isinstance(self.X, np.ndarray) and self.X.ndim == 1

    @property
    def q(self) -> int:
        if self.is_cells:
            A = np.asarray(self.A)
            return int(A.shape[0])
        return int(self.X.shape[1])

    def matrix(self) -> sp.csr_matrix | np.ndarray:
        """The model matrix X as (n, q) (sparse for a cell code)."""
        if self.is_cells:
            codes = np.asarray(self.X)
            keep = codes >= 0
            rows = np.flatnonzero(keep)
            return sp.csr_matrix(
                (np.ones(rows.size), (rows, codes[keep])), shape=(codes.size, self.q)
            )
        return self.X

    def A_matrix(self) -> np.ndarray:
        A = np.asarray(self.A, dtype=np.float64)
        return np.diag(A) if A.ndim == 1 else A

    def row_projection(self, values: np.ndarray) -> np.ndarray:
        """:math:`X^T v` for (n,) or (n, K) ``values`` -> (q,) or (q, K)."""
        if self.is_cells:
            from flestimate.design.kernel import grouped_sums

            codes = np.asarray(self.X)
            keep = codes >= 0
            v = values[keep]
            return grouped_sums(codes[keep], self.q, v)
        return np.asarray(self.X.T @ values)

    def apply(self, u: np.ndarray) -> np.ndarray:
        """Unit-level application (reference implementation, for tests)."""
        proj = self.row_projection(self.phi[:, None] * u if u.ndim == 2 else self.phi * u)
        corr = self.A_matrix() @ proj
        return u - (self.s[:, None] if u.ndim == 2 else self.s) * np.asarray(self.matrix() @ corr)
