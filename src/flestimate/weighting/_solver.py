"""Numerical cores of the weighting steps, on plain arrays (no design objects).

Every routine works on a batch of weight vectors at once (the full sample and,
for a replicate design, all replicate columns): weights are given as an array
(B, C) over C rows or cells, so that replicate designs are re-weighted in one
vectorised pass.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

__all__ = [
    "CalibrationFit",
    "RakeFit",
    "calibration_g",
    "ipf",
    "rake_residual_matrix",
]

_EPS = np.finfo(np.float64).eps


# ----------------------------------------------------------------------------- distances
# Deville-Sarndal calibration functions in R survey's parametrisation: g = 1 + Fm1(u),
# u = x' eta, with dF the derivative of Fm1 (0 where a bound is active).


def _fm1_linear(u: np.ndarray, lo: float, hi: float) -> np.ndarray:
    return np.minimum(np.maximum(u + 1.0, lo), hi) - 1.0


def _df_linear(u: np.ndarray, lo: float, hi: float) -> np.ndarray:
    return ((u < hi - 1.0) & (u > lo - 1.0)).astype(np.float64)


def _fm1_raking(u: np.ndarray, lo: float, hi: float) -> np.ndarray:
    with np.errstate(over="ignore"):
        return np.minimum(np.maximum(np.exp(u), lo), hi) - 1.0


def _df_raking(u: np.ndarray, lo: float, hi: float) -> np.ndarray:
    with np.errstate(over="ignore"):
        return np.where((u < hi - 1.0) & (u > lo - 1.0), np.exp(u), 0.0)


def _logit_parts(u: np.ndarray, lo: float, hi: float) -> tuple[np.ndarray, float]:
    a = (hi - lo) / ((hi - 1.0) * (1.0 - lo))
    with np.errstate(over="ignore"):
        return np.exp(a * u), a


def _fm1_logit(u: np.ndarray, lo: float, hi: float) -> np.ndarray:
    e, _ = _logit_parts(u, lo, hi)
    with np.errstate(over="ignore", invalid="ignore"):
        return (lo * (hi - 1.0) + hi * (1.0 - lo) * e) / (hi - 1.0 + (1.0 - lo) * e) - 1.0


def _df_logit(u: np.ndarray, lo: float, hi: float) -> np.ndarray:
    e, a = _logit_parts(u, lo, hi)
    den = hi - 1.0 + (1.0 - lo) * e
    with np.errstate(over="ignore", invalid="ignore"):
        return (
            hi * (1.0 - lo) * e * a / den
            - ((lo * (hi - 1.0) + hi * (1.0 - lo) * e) * ((1.0 - lo) * e * a)) / den**2
        )


DISTANCES = {
    "linear": (_fm1_linear, _df_linear),
    "raking": (_fm1_raking, _df_raking),
    "logit": (_fm1_logit, _df_logit),
}


@dataclass(frozen=True, eq=False)
class CalibrationFit:
    """Result of :func:`calibration_g`.

    Attributes
    ----------
    g : ndarray (B, C)
        g-weights (final weight / input weight).
    iterations : ndarray (B,) int
        Newton iterations used (1 for the closed-form linear case).
    discrepancy : ndarray (B,)
        max_k |T_k - sum w g x_k| / (1 + |T_k|) at the end.
    worst : ndarray (B,) int
        Index of the total with the largest discrepancy.
    converged : ndarray (B,) bool
    """

    g: np.ndarray
    iterations: np.ndarray
    discrepancy: np.ndarray
    worst: np.ndarray
    converged: np.ndarray


def scaled_pinv(tmat: np.ndarray) -> np.ndarray:
    """Pseudo-inverse of symmetric (..., q, q) matrices after Jacobi scaling.

    Auxiliaries on very different scales (counts and totals of an income) make
    ``X' W X`` badly conditioned; scaling rows and columns by ``sqrt(diag)`` first
    keeps the solution accurate to rounding.
    """
    d = np.sqrt(np.abs(np.diagonal(tmat, axis1=-2, axis2=-1)))
    d = np.where(d > 0, d, 1.0)
    scaled = tmat / (d[..., :, None] * d[..., None, :])
    inv = np.linalg.pinv(scaled, rcond=256 * _EPS, hermitian=True)
    return inv / (d[..., :, None] * d[..., None, :])


def _relative_misfit(misfit: np.ndarray, totals: np.ndarray) -> np.ndarray:
    return np.abs(misfit) / (1.0 + np.abs(totals))


def calibration_g(
    X: np.ndarray,
    weights: np.ndarray,
    totals: np.ndarray,
    *,
    method: str = "linear",
    bounds: tuple[float, float] | None = None,
    max_iter: int = 50,
    epsilon: float = 1e-7,
) -> CalibrationFit:
    """g-weights calibrating ``weights`` (B, C) to ``totals`` (q,) on ``X`` (C, q).

    Notes
    -----
    Deville and Särndal (1992): find ``g_i = F(x_i' eta)`` such that
    ``sum_i w_i g_i x_i = T``. For the unbounded linear distance ``F(u) = 1 + u`` and
    ``eta = (X' W X)^{-1} (T - X' w)`` in closed form; otherwise Newton's method from
    ``eta = 0`` with ``eta += ginv(X' diag(w F'(X eta)) X) (T - X'(w g))`` and step
    halving when ``g`` is not finite, stopping when every
    ``|T_k - sum w g x_k| / (1 + |T_k|) < epsilon`` (R survey's ``grake``; as there,
    weights are first scaled by the mean ratio of the totals to their sample totals
    when every ratio exceeds 20, and the bounds then apply to the scaled g). Bounds
    ``(L, U)`` on g: linear and raking distances are truncated at the bounds; the
    logit distance maps onto ``(L, U)`` smoothly.

    References
    ----------
    Deville, J.-C. and Särndal, C.-E. (1992). Calibration estimators in survey
    sampling. JASA 87, 376-382.
    Lumley, T. survey R package, ``calibrate``, ``grake``, ``cal.linear``,
    ``cal.raking``, ``cal.logit``.
    """
    W = np.atleast_2d(np.asarray(weights, dtype=np.float64))
    X = np.asarray(X, dtype=np.float64)
    T = np.asarray(totals, dtype=np.float64)
    B = W.shape[0]
    lo, hi = (-np.inf, np.inf) if bounds is None else (float(bounds[0]), float(bounds[1]))
    if method == "linear" and not np.isfinite([lo, hi]).any():
        # closed form: g = 1 + X lambda, lambda = (X'WX)^-1 (T - X'w)
        tmat = np.einsum("bc,ci,cj->bij", W, X, X)
        misfit = T[None, :] - W @ X
        lam = np.einsum("bij,bj->bi", scaled_pinv(tmat), misfit)
        g = 1.0 + lam @ X.T
        rel = _relative_misfit(T[None, :] - (W * g) @ X, T)
        return CalibrationFit(
            g=g,
            iterations=np.ones(B, dtype=np.int64),
            discrepancy=rel.max(axis=1),
            worst=rel.argmax(axis=1),
            converged=rel.max(axis=1) < max(epsilon, 1e-9),
        )
    fm1, dfun = DISTANCES[method]
    q = X.shape[1]
    # R's grake: when every total is more than 20 times its weighted sample total, the
    # weights are first scaled to the population size (Newton from g = 1 would overshoot)
    sample_tot = W @ X
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = T[None, :] / sample_tot
    rescale = np.where(np.nanmin(ratios, axis=1) > 20.0, np.nanmean(ratios, axis=1), 1.0)
    W = W * rescale[:, None]
    eta = np.zeros((B, q))
    xeta = eta @ X.T
    g = 1.0 + fm1(xeta, lo, hi)
    deriv = dfun(xeta, lo, hi)
    iters = np.ones(B, dtype=np.int64)
    active = np.ones(B, dtype=bool)
    failed = np.zeros(B, dtype=bool)
    rel = np.zeros((B, q))
    while active.any():
        a = np.flatnonzero(active)
        Wa = W[a]
        tmat = np.einsum("bc,ci,cj->bij", Wa * deriv[a], X, X)
        misfit = T[None, :] - (Wa * g[a]) @ X
        deta = np.einsum("bij,bj->bi", scaled_pinv(tmat), misfit)
        eta_a = eta[a] + deta
        xe = eta_a @ X.T
        ga = 1.0 + fm1(xe, lo, hi)
        da = dfun(xe, lo, hi)
        bad = ~(np.isfinite(ga).all(axis=1) & np.isfinite(da).all(axis=1))
        # step halving for the batches whose step made g non-finite
        while bad.any():
            can = bad & (iters[a] < max_iter)
            if not can.any():
                break
            iters[a[can]] += 1
            deta[can] /= 2.0
            eta_a[can] -= deta[can]
            xe[can] = eta_a[can] @ X.T
            ga[can] = 1.0 + fm1(xe[can], lo, hi)
            da[can] = dfun(xe[can], lo, hi)
            bad = ~(np.isfinite(ga).all(axis=1) & np.isfinite(da).all(axis=1))
        with np.errstate(invalid="ignore", over="ignore"):
            r = _relative_misfit(T[None, :] - (Wa * ga) @ X, T)
        r[~np.isfinite(r)] = np.inf
        # safeguard beyond R's grake: a full Newton step that increases the misfit (an
        # overshoot of the exponential when the totals are far from the sample's) is
        # halved until it does not; near the solution full steps are always taken
        before = np.sum(_relative_misfit(misfit, T) ** 2, axis=1)
        worse = np.sum(r**2, axis=1) > before
        halvings = 0
        while worse.any() and halvings < 60:
            halvings += 1
            deta[worse] /= 2.0
            eta_a[worse] -= deta[worse]
            xe[worse] = eta_a[worse] @ X.T
            ga[worse] = 1.0 + fm1(xe[worse], lo, hi)
            da[worse] = dfun(xe[worse], lo, hi)
            with np.errstate(invalid="ignore", over="ignore"):
                rw = _relative_misfit(T[None, :] - (Wa[worse] * ga[worse]) @ X, T)
            rw[~np.isfinite(rw)] = np.inf
            r[worse] = rw
            worse = worse & (np.sum(r**2, axis=1) > before)
        eta[a], g[a], deriv[a] = eta_a, ga, da
        rel[a] = r
        done = (r < epsilon).all(axis=1)
        active[a[done]] = False
        still = a[~done]
        iters[still] += 1
        over = still[iters[still] > max_iter]
        failed[over] = True
        active[over] = False
    disc = rel.max(axis=1)
    return CalibrationFit(
        g=g * rescale[:, None],
        iterations=np.minimum(iters, max_iter),
        discrepancy=disc,
        worst=rel.argmax(axis=1),
        converged=~failed,
    )


# ----------------------------------------------------------------------------- raking


@dataclass(frozen=True, eq=False)
class RakeFit:
    """Result of :func:`ipf` on a cross-table of margin cells.

    Attributes
    ----------
    factor : ndarray (B, C)
        Raking factor of each cell of the cross-table (final / input weight).
    sweep_factors : ndarray (m, B, C)
        Factor after each margin's adjustment in the last sweep (R's ``psw`` per
        margin, divided by the input weight), used by the variance.
    iterations : ndarray (B,) int
        Sweeps over all margins.
    discrepancy : ndarray (B,)
        Largest relative margin discrepancy |sum - count| / count after the last sweep.
    worst : ndarray (B, 2) int
        (margin, cell) of the largest discrepancy.
    converged : ndarray (B,) bool
    """

    factor: np.ndarray
    sweep_factors: np.ndarray
    iterations: np.ndarray
    discrepancy: np.ndarray
    worst: np.ndarray
    converged: np.ndarray


def margin_matrix(cell_of_combo: np.ndarray, n_cells: int) -> sp.csr_matrix:
    """Indicator (C, q) of the margin cell of each combination cell."""
    C = cell_of_combo.size
    return sp.csr_matrix((np.ones(C), (np.arange(C), cell_of_combo)), shape=(C, n_cells))


def ipf(
    table: np.ndarray,
    margins: list[np.ndarray],
    counts: list[np.ndarray],
    *,
    max_iter: int = 50,
    tolerance: float = 1e-7,
) -> RakeFit:
    """Iterative proportional fitting of cross-tables ``table`` (B, C) to margin counts.

    Parameters
    ----------
    table : ndarray (B, C)
        Weighted counts of the C cells of the cross of the margin variables (one
        row per weight vector: the full sample and any replicates).
    margins : list of ndarray (C,) int
        For each margin, the margin cell of each cross-table cell.
    counts : list of ndarray (q_m,)
        Population counts of the margin cells.

    Notes
    -----
    Each sweep post-stratifies to every margin in turn:
    ``t_c <- t_c * N_{m,k} / sum_{c' in k} t_{c'}`` for the cell k of margin m that
    contains c. Sweeps stop when every margin sum is within ``tolerance`` (relative)
    of its count. The margins only depend on the weighted counts of the full cross
    of the margin variables, so the iteration runs on that small table and the
    factors are mapped back to the rows once (Deming and Stephan 1940).

    References
    ----------
    Deming, W. E. and Stephan, F. F. (1940). On a least squares adjustment of a
    sampled frequency table when the expected marginal totals are known. Annals of
    Mathematical Statistics 11, 427-444.
    """
    t0 = np.atleast_2d(np.asarray(table, dtype=np.float64))
    B, C = t0.shape
    mats = [margin_matrix(m, c.size) for m, c in zip(margins, counts, strict=False)]
    F = np.ones((B, C))
    sweep = np.ones((len(margins), B, C))
    iters = np.zeros(B, dtype=np.int64)
    active = np.ones(B, dtype=bool)
    disc = np.full(B, np.inf)
    worst = np.zeros((B, 2), dtype=np.int64)
    for _ in range(max_iter):
        a = np.flatnonzero(active)
        if a.size == 0:
            break
        Fa = F[a]
        ta = t0[a]
        for j, (M, N, m) in enumerate(zip(mats, counts, margins, strict=False)):
            sums = np.asarray((M.T @ (ta * Fa).T).T)
            with np.errstate(divide="ignore", invalid="ignore"):
                f = np.where(sums > 0, N[None, :] / sums, 1.0)
            Fa = Fa * f[:, m]
            sweep[j, a] = Fa
        F[a] = Fa
        iters[a] += 1
        rel = np.zeros((a.size, len(mats)))
        arg = np.zeros((a.size, len(mats)), dtype=np.int64)
        for j, (M, N) in enumerate(zip(mats, counts, strict=False)):
            sums = np.asarray((M.T @ (ta * Fa).T).T)
            r = np.abs(sums - N[None, :]) / np.maximum(N[None, :], _EPS)
            rel[:, j] = r.max(axis=1)
            arg[:, j] = r.argmax(axis=1)
        jm = rel.argmax(axis=1)
        disc[a] = rel[np.arange(a.size), jm]
        worst[a, 0] = jm
        worst[a, 1] = arg[np.arange(a.size), jm]
        active[a[disc[a] < tolerance]] = False
    return RakeFit(
        factor=F,
        sweep_factors=sweep,
        iterations=iters,
        discrepancy=disc,
        worst=worst,
        converged=disc < tolerance,
    )


def rake_residual_matrix(
    sweep_factors: np.ndarray,
    margins: list[np.ndarray],
    n_margin_cells: list[int],
    combo_counts: np.ndarray,
    sweeps: int = 10,
) -> np.ndarray:
    """R's raking residualisation collapsed into one (C, C) matrix on the cross-table.

    Notes
    -----
    R survey's ``svyrecvar`` residualises a raked design by ``sweeps`` = 10 passes
    over the margins, each ``x <- x - psw_m * ave(x / psw_m, margin m)`` with
    ``psw_m`` the weights right after margin m's adjustment in the last raking
    sweep and ``ave`` the unweighted mean over the rows of the margin cell. Since
    ``psw_m = w0 * F_m(c)`` is constant over the rows of a cross-table cell c up to
    the input weight ``w0``, ``x / w0 - delta(c)`` is the residual with
    ``delta = K v``, ``v_c = sum_{i in c} x_i / w0_i``; this function returns K by
    running the passes on the identity. The residualiser is then
    ``e = x - w0 * (K v)[c]``: ``X`` = cross-table cell, ``s = w0``,
    ``phi = 1 / w0``, ``A = K``.

    References
    ----------
    Lumley, T. survey R package, ``svyrecvar`` (``raking`` post-strata), ``rake``.
    """
    C = combo_counts.size
    D = np.zeros((C, C))
    ident = np.eye(C)
    n_c = combo_counts.astype(np.float64)
    mats = [margin_matrix(m, q) for m, q in zip(margins, n_margin_cells, strict=False)]
    for _ in range(sweeps):
        for j, M in enumerate(mats):
            Fm = sweep_factors[j]
            cnt = np.asarray(M.T @ n_c).ravel()
            inv = np.where(cnt > 0, 1.0 / np.where(cnt > 0, cnt, 1.0), 0.0)
            # B = diag(1/count) M' ((I - n o D) / F_m)
            inner = (ident - n_c[:, None] * D) / Fm[:, None]
            Bm = inv[:, None] * np.asarray(M.T @ inner)
            D = D + Fm[:, None] * np.asarray(M @ Bm)
    return D
