"""Linearised scores: from domain totals and estimates to the PSU-level (and
later-stage) scores whose stratified variance :func:`~flestimate.design.kernel.taylor_variance`
computes.

Every estimator of flestimate is a ratio of weighted totals within domains, so its
linearised score is linear in the PSU x domain totals of ``w*y`` and ``w*x``:
``Z[p, d, k] = (Ty[p,d,k] - R_dk Tx[p,d,k]) / X_dk`` (``Ty`` for a total), with
calibration residualisers applied in aggregate form.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

from flestimate.design.calibration_hook import Residualizer
from flestimate.design.kernel import StageScores
from flestimate.design.totals import DomainTotals

__all__ = ["linearised_scores"]


def linearised_scores(
    totals: DomainTotals,
    estimate: np.ndarray,
    residualizers: Sequence[Residualizer] = (),
) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
    """PSU-level (and later-stage) linearised scores, flattened to (P, D*K).

    Returns ``(psu_scores, stage_scores)``. Columns are ordered domain-major
    (index ``d * K + k``). Columns of empty domains are 0. With sparse totals the
    PSU scores are a :class:`~flestimate.design.kernel.StageScores` over the cells
    with members (the kernel takes either form).

    Notes
    -----
    Ratio :math:`\\hat R = \\hat Y / \\hat X`:
    :math:`z_{p,dk} = (T^y_{p,dk} - \\hat R_{dk} T^x_{p,dk}) / \\hat X_{dk}`;
    total: :math:`z_{p,dk} = T^y_{p,dk}`. With calibration residualisers
    :math:`r = 1..m` applied in order, the unit score becomes
    :math:`e = u - \\sum_r s_r X_r c_r` with
    :math:`c_r = A_r (G_r - \\sum_{t<r} X_r^T \\mathrm{diag}(\\phi_r s_t) X_t c_t)` and
    :math:`G_r = X_r^T(\\phi_r u)` obtained from the domain projection totals, so
    the PSU scores are :math:`z - \\sum_r S_r c_r` with :math:`S_r` the PSU totals
    of :math:`s_r X_r`.

    References
    ----------
    Binder, D. A. (1983). On the variances of asymptotically normal estimators
    from complex surveys. International Statistical Review 51, 279-292.
    Lumley, T. survey R package, ``svyrecvar``.
    """
    D, K = totals.n_domains, totals.n_vars
    if totals.x_total is None:
        coef_y = np.ones((D, K))
        coef_x = None
    else:
        X = totals.x_total
        with np.errstate(divide="ignore", invalid="ignore"):
            coef_y = np.where(X != 0, 1.0 / np.where(X != 0, X, 1.0), 0.0)
        est = np.where(np.isfinite(estimate), estimate, 0.0)
        coef_x = -est * coef_y

    def combine(ty: np.ndarray, tx: np.ndarray | None) -> np.ndarray:
        z = ty * coef_y
        if coef_x is not None:
            z = z + tx * coef_x
        return z.reshape(ty.shape[0], D * K)

    if totals.sparse:
        psu_scores = None  # first-stage scores stay in their cells (StageScores below)
    else:
        psu_scores = combine(totals.psu_y, totals.psu_x)
    coefs: list[np.ndarray] = []
    if residualizers:
        for j, r in enumerate(residualizers):
            Gy, Gx, S, _ = totals.projections[j]
            G = (Gy * coef_y).reshape(r.q, D * K)
            if coef_x is not None:
                G = G + (Gx * coef_x).reshape(r.q, D * K)
            for i in range(j):
                Cx = totals.cross[(id(residualizers[j]), id(residualizers[i]))]
                G = G - Cx @ coefs[i]
            c = r.A_matrix() @ G
            coefs.append(c)
            if psu_scores is not None:
                psu_scores = psu_scores - S @ c

    def cell_scores(n_units, unit, domain, y, x, unit_totals) -> StageScores:
        """Scores kept in their unit x domain cells, the residualisers stacked."""
        L = C = None
        if coefs:
            Ls = [unit_totals(j) for j in range(len(coefs))]
            L = sp.hstack(Ls).tocsr() if any(sp.issparse(m) for m in Ls) else np.hstack(Ls)
            C = np.vstack(coefs)
        return StageScores(n_units, unit, domain, y, coef_y, x=x, coef_x=coef_x, L=L, C=C)

    if psu_scores is None:
        psu_scores = cell_scores(
            totals.n_psus, totals.cell_psu, totals.cell_domain, totals.psu_y, totals.psu_x,
            lambda j: totals.projections[j][2],
        )
    stage_scores = tuple(
        cell_scores(
            cells.n_units, cells.unit, cells.domain, cells.y, cells.x,
            lambda j, s_idx=s_idx: totals.projections[j][3][s_idx],
        )
        for s_idx, cells in enumerate(totals.stages)
    )
    return psu_scores, stage_scores
