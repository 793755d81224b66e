"""Iteratively reweighted least squares on survey weights (R's ``glm.fit``).

The weighted cross-products ``X' diag(v) X`` are formed in blocks of rows (memory
stays at the model matrix plus one block), equilibrated and solved by Cholesky.
Columns that are linear combinations of earlier columns are found once, from the
weighted cross-product matrix, and left out (R's pivoted QR gives them an NA
coefficient).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy import linalg

from flestimate.estimation.regression.family import Family

__all__ = [
    "IRLSFit", "Patterns", "crossprod", "independent_columns", "irls", "row_patterns",
    "sparse_pair",
]

# rows per block of the cross-products (about 64k rows x p columns at a time)
_BLOCK_ROWS = 65_536
# a column whose part not explained by earlier columns has a squared norm below this
# share of its own is collinear (R's qr tolerance 1e-7 on the norm, for a
# cross-product matrix computed to double precision)
COLLINEAR_TOL = 1e-10


@dataclass(frozen=True, eq=False)
class IRLSFit:
    """A converged (or stopped) IRLS fit on the kept columns.

    Attributes
    ----------
    beta : ndarray (k,)
        Coefficients of the kept columns.
    eta, mu : ndarray (m,)
        Linear predictor and fitted means.
    deviance : float
        Deviance with the weights given.
    iterations : int
    converged : bool
    info_inv : ndarray (k, k)
        :math:`(X^T \\mathrm{diag}(w\\, \\mu'^2 / V) X)^{-1}`, the inverse of the
        weighted information (R's ``summary.glm``'s ``cov.unscaled``), with the
        working weights of the last iteration.
    working : ndarray (m,)
        Those working weights without the prior weights, :math:`\\mu'^2/V` at the
        start of the last iteration (R's ``glm.fit`` returns these: its
        ``weights`` and ``cov.unscaled`` are one step behind the final
        coefficients, its working residuals are at the final ones).
    """

    beta: np.ndarray
    eta: np.ndarray
    mu: np.ndarray
    deviance: float
    iterations: int
    converged: bool
    info_inv: np.ndarray
    working: np.ndarray


def crossprod(X: np.ndarray | None, v: np.ndarray, z: np.ndarray | None = None, sparse=None):
    """``X' diag(v) X`` (p, p) and ``X' (v z)`` (p,), in blocks of rows, or from
    ``sparse`` = (X, X') in CSR form (the cost of the nonzero values, :func:`sparse_pair`),
    or from the distinct rows of X (:class:`Patterns`; X is then not used)."""
    if isinstance(sparse, Patterns):
        p = sparse.patterns.shape[1]
        V = np.bincount(sparse.codes, weights=v, minlength=sparse.patterns.shape[0])
        G = sparse.patterns.T @ (sparse.patterns * V[:, None])
        if z is None:
            return G, np.zeros(p)
        bz = np.bincount(sparse.codes, weights=v * z, minlength=sparse.patterns.shape[0])
        return G, sparse.patterns.T @ bz
    n, p = X.shape
    if sparse is not None:
        rows, transposed = sparse
        scaled = sp.csr_matrix(
            (rows.data * np.repeat(v, np.diff(rows.indptr)), rows.indices, rows.indptr),
            shape=rows.shape,
        )
        G = (transposed @ scaled).toarray()
        b = np.zeros(p) if z is None else np.asarray(transposed @ (v * z)).reshape(p)
        return G, b
    G = np.zeros((p, p))
    b = np.zeros(p)
    for start in range(0, n, _BLOCK_ROWS):  # blocks of rows (memory), not rows
        stop = min(n, start + _BLOCK_ROWS)
        Xb = X[start:stop]
        Xv = Xb * v[start:stop, None]
        G += Xb.T @ Xv
        if z is not None:
            b += Xv.T @ z[start:stop]
    return G, b


def _solve(G: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Solution of ``G x = b`` and ``G^{-1}``, G symmetric positive definite
    (equilibrated before the Cholesky factorisation)."""
    d = 1.0 / np.sqrt(np.diag(G))
    Gs = G * d[:, None] * d[None, :]
    factor = linalg.cho_factor(Gs, lower=False, check_finite=False)
    x = d * linalg.cho_solve(factor, d * b, check_finite=False)
    inv = linalg.cho_solve(factor, np.eye(G.shape[0]), check_finite=False) * d[:, None] * d[None, :]
    return x, (inv + inv.T) / 2.0


def row_patterns(X_sparse, rng_seed: int = 20261207):
    """The distinct rows of a sparse model matrix X when they are few (categorical
    predictors): ``(codes (m,), patterns (U, p))`` with ``X == patterns[codes]``, or None
    when there are more than m / 4 distinct rows.

    Rows are told apart by two random projections (a collision of distinct rows has
    probability about 0); the reconstruction is checked on a third one.
    """
    if X_sparse is None:
        return None
    m, p = X_sparse.shape
    rng = np.random.default_rng(rng_seed)
    r1, r2, r3 = rng.random((3, p)) + 0.5
    h1 = np.asarray(X_sparse @ r1).reshape(-1)
    h2 = np.asarray(X_sparse @ r2).reshape(-1)
    _, first, codes = np.unique(h1 + 1j * h2, return_index=True, return_inverse=True)
    if first.size > m / 4:
        return None
    patterns = np.asarray(X_sparse[first].toarray(), dtype=np.float64)
    codes = codes.reshape(-1).astype(np.intp)
    check = np.asarray(X_sparse @ r3).reshape(-1)
    if not np.allclose(check, (patterns @ r3)[codes], rtol=1e-12, atol=0):
        return None
    return codes, patterns


def sparse_pair(X_sparse) -> tuple[sp.csr_matrix, sp.csr_matrix] | None:
    """X and its transpose in CSR form (transposed once, for every iteration), or None."""
    if X_sparse is None:
        return None
    rows = sp.csr_matrix(X_sparse)
    return rows, rows.T.tocsr()


@dataclass(frozen=True, eq=False)
class Patterns:
    """The distinct rows of a model matrix (:func:`row_patterns`): IRLS totals its
    working weights by pattern (one ``bincount``) and forms the cross-products on the
    U x p patterns."""

    codes: np.ndarray
    patterns: np.ndarray


def _times(X: np.ndarray, sparse, beta: np.ndarray) -> np.ndarray:
    if isinstance(sparse, Patterns):
        return (sparse.patterns @ beta)[sparse.codes]
    return X @ beta if sparse is None else np.asarray(sparse[0] @ beta).reshape(-1)


def independent_columns(G: np.ndarray, tol: float = COLLINEAR_TOL) -> np.ndarray:
    """Columns (bool (p,)) that are not linear combinations of earlier kept columns,
    from their weighted cross-products ``G`` (R's pivoting: a collinear column is
    the later one)."""
    p = G.shape[0]
    diag = np.diag(G).copy()
    kept = np.zeros(p, dtype=bool)
    with np.errstate(divide="ignore"):
        d = np.where(diag > 0, 1.0 / np.sqrt(np.where(diag > 0, diag, 1.0)), 0.0)
    Gs = G * d[:, None] * d[None, :]
    for j in range(p):  # a loop over the (few) columns of the model
        if diag[j] <= 0:
            continue
        idx = np.flatnonzero(kept)
        resid = 1.0
        if idx.size:
            A = Gs[np.ix_(idx, idx)]
            g = Gs[idx, j]
            resid = 1.0 - g @ linalg.solve(A, g, assume_a="pos")
        kept[j] = resid > tol
    return kept


def irls(
    X: np.ndarray,
    y: np.ndarray,
    w: np.ndarray,
    family: Family,
    *,
    start: np.ndarray | None = None,
    maxiter: int = 100,
    tol: float = 1e-10,
    sparse: tuple[sp.csr_matrix, sp.csr_matrix] | None = None,
) -> IRLSFit:
    """Fit a GLM by IRLS with prior weights ``w`` (R's ``glm.fit``).

    Parameters
    ----------
    X : ndarray (m, k)
        Model matrix of full column rank on the rows of positive weight.
    y : ndarray (m,)
    w : ndarray (m,)
        Prior (survey) weights, >= 0.
    family : Family
    start : ndarray (k,), optional
        Starting coefficients (replicate fits start from the full-sample fit);
        otherwise R's starting values of the family.
    maxiter : int
    tol : float
        Convergence when :math:`|D - D_{old}| / (|D| + 0.1) < tol` (R's rule).
    sparse : (csr_matrix, csr_matrix), optional
        X and its transpose in CSR form (:func:`sparse_pair`; categorical predictors):
        products and cross-products from them.

    Notes
    -----
    Each iteration solves :math:`X^T W X \\beta = X^T W z` with working response
    :math:`z = \\eta + (y - \\mu)/\\mu'(\\eta)` and working weights
    :math:`W = w\\, \\mu'(\\eta)^2 / V(\\mu)`. A step that gives a non-finite deviance
    is halved, as R's.

    References
    ----------
    McCullagh, P. and Nelder, J. A. (1989). Generalized Linear Models, 2nd ed.
    R Core Team, ``stats::glm.fit``.
    """
    if isinstance(sparse, Patterns):
        return _irls_on_patterns(y, w, family, sparse, start=start, maxiter=maxiter, tol=tol)
    link = family.link
    if start is None:
        mu = family.start(y, w)
        eta = link.link(mu)
        beta = None
    else:
        beta = np.asarray(start, dtype=np.float64)
        eta = _times(X, sparse, beta)
        mu = link.linkinv(eta)
    dev = float(np.sum(family.deviance_residuals(y, mu, w)))
    converged = False
    iterations = 0
    info_inv = working = None
    for iterations in range(1, int(maxiter) + 1):  # noqa: B007 (IRLS iterations, not rows)
        mu_eta = link.mu_eta(eta)
        working = mu_eta**2 / family.variance(mu)
        v = w * working
        z = eta + (y - mu) / mu_eta
        G, b = crossprod(X, v, z, sparse)
        new_beta, info_inv = _solve(G, b)
        beta, eta, mu, new_dev = _step(
            new_beta, beta, lambda c: _times(X, sparse, c), link.linkinv,
            lambda m: float(np.sum(family.deviance_residuals(y, m, w))))
        if abs(new_dev - dev) / (abs(new_dev) + 0.1) < tol:
            dev = new_dev
            converged = True
            break
        dev = new_dev
    return IRLSFit(
        beta=beta, eta=eta, mu=mu, deviance=dev, iterations=iterations,
        converged=converged, info_inv=info_inv, working=working,
    )  # fmt: skip


def _step(new_beta, beta, predict, linkinv, deviance):
    """The new coefficients, linear predictor, means and deviance; the step from ``beta``
    halved while the deviance is not finite (R's ``glm.fit``)."""
    new_eta = predict(new_beta)
    new_mu = linkinv(new_eta)
    new_dev = deviance(new_mu)
    halvings = 0
    while not np.isfinite(new_dev) and beta is not None and halvings < 30:
        new_beta = (new_beta + beta) / 2.0
        new_eta = predict(new_beta)
        new_mu = linkinv(new_eta)
        new_dev = deviance(new_mu)
        halvings += 1
    return new_beta, new_eta, new_mu, new_dev


def _irls_on_patterns(y: np.ndarray, w: np.ndarray, family: Family, pat: Patterns, *,
                      start: np.ndarray | None, maxiter: int, tol: float) -> IRLSFit:
    r""":func:`irls` on the U distinct rows of the model matrix (categorical predictors).

    Once the linear predictor is :math:`X\beta` it is constant within a pattern, and so
    are :math:`\mu`, the working weights and the working response's mean: the weighted
    cross-products are those of the patterns with the summed weights :math:`W_u` and the
    weighted mean outcome :math:`\bar y_u` (exact for a GLM). The deviance of the rows is
    :math:`\sum_u W_u d(\bar y_u, \mu_u) + K` with :math:`K = \sum_i w_i d(y_i, \bar
    y_{u(i)})`, a constant (the deviance of an exponential family is linear in y but for
    terms in y alone), so the stopping rule sees the same deviances as on the rows. Only
    R's starting values (row by row) make the first iteration one over the rows.
    """
    link = family.link
    codes, P = pat.codes, pat.patterns
    U = P.shape[0]
    W = np.bincount(codes, weights=w, minlength=U)
    has = W > 0
    ybar = np.where(has, np.bincount(codes, weights=w * y, minlength=U) / np.where(has, W, 1.0),
                    0.0)
    pos = w > 0  # a row of weight 0 (a replicate's dropped PSU) adds nothing, not 0 * inf
    K = float(np.sum(family.deviance_residuals(y[pos], ybar[codes[pos]], w[pos])))

    def deviance(mu_u: np.ndarray) -> float:
        return float(np.sum(family.deviance_residuals(ybar, mu_u, W))) + K

    rows = start is None  # the iteration in progress is one over the rows
    if rows:
        mu = family.start(y, w)
        eta = link.link(mu)
        dev = float(np.sum(family.deviance_residuals(y, mu, w)))
        beta = None
    else:
        beta = np.asarray(start, dtype=np.float64)
        eta = P @ beta
        mu = link.linkinv(eta)
        dev = deviance(mu)
    converged = False
    iterations = 0
    info_inv = working = None
    for iterations in range(1, int(maxiter) + 1):  # noqa: B007 (IRLS iterations, not rows)
        mu_eta = link.mu_eta(eta)
        working = mu_eta**2 / family.variance(mu)
        if rows:
            v = w * working
            V = np.bincount(codes, weights=v, minlength=U)
            bz = np.bincount(codes, weights=v * (eta + (y - mu) / mu_eta), minlength=U)
        else:
            V = W * working
            bz = V * (eta + (ybar - mu) / mu_eta)
        new_beta, info_inv = _solve(P.T @ (P * V[:, None]), P.T @ bz)
        beta, eta, mu, new_dev = _step(new_beta, beta, lambda c: P @ c, link.linkinv, deviance)
        last_rows, rows = rows, False
        if abs(new_dev - dev) / (abs(new_dev) + 0.1) < tol:
            dev = new_dev
            converged = True
            break
        dev = new_dev
    return IRLSFit(
        beta=beta, eta=eta[codes], mu=mu[codes], deviance=dev, iterations=iterations,
        converged=converged, info_inv=info_inv,
        working=working if last_rows else working[codes],
    )  # fmt: skip
