"""Poisson log-linear models of a capture table, fitted by a batched IRLS.

Every model is a subset of the two-list interactions added to the main effects. All
models of one table share the *full* design matrix (intercept, ``K`` main effects,
``K(K-1)/2`` interactions); a model is a mask over its columns. This lets one call fit
many models, or one model to many tables (the bootstrap), as a single batch of small
weighted least-squares solves.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import combinations

import numpy as np
import pandas as pd
from scipy.special import gammaln
from scipy.stats import norm

from flestimate.errors import ValidationError, first_values
from flestimate.mse.tables import CaptureTable, pattern_matrix

__all__ = [
    "Interaction",
    "ModelFit",
    "BatchFit",
    "all_pairs",
    "design_matrix",
    "fit_model",
    "fit_statsmodels",
    "irls",
    "normalise_interactions",
    "pair_mask",
]

Interaction = tuple[str, str]

def all_pairs(lists: Sequence[str]) -> list[Interaction]:
    """Every two-list interaction ``(a, b)`` with ``a`` before ``b`` in ``lists``."""
    return [(lists[i], lists[j]) for i, j in combinations(range(len(lists)), 2)]


def term_names(lists: Sequence[str]) -> list[str]:
    """Column names of the full design: ``(Intercept)``, the lists, then ``a:b`` pairs."""
    return ["(Intercept)", *lists, *(f"{a}:{b}" for a, b in all_pairs(lists))]


def design_matrix(lists: Sequence[str]) -> np.ndarray:
    """The full design over all ``2**K - 1`` observable patterns (float, ``M x p``).

    Notes
    -----
    Row ``r`` (pattern ``z``) is :math:`(1, z_1, \\dots, z_K, z_1 z_2, \\dots,
    z_{K-1} z_K)`, so :math:`\\log \\lambda_z = \\mu + \\sum_k \\alpha_k z_k +
    \\sum_{i<j} \\beta_{ij} z_i z_j`. The unobserved pattern (all zeros) has
    :math:`\\log\\lambda_0 = \\mu`: the dark figure is :math:`e^{\\mu}`.
    """
    z = pattern_matrix(len(lists)).astype(float)
    k = len(lists)
    pairs = [z[:, i] * z[:, j] for i, j in combinations(range(k), 2)]
    return np.column_stack([np.ones(len(z)), z, *pairs]) if pairs else np.column_stack(
        [np.ones(len(z)), z])


def normalise_interactions(lists: Sequence[str], interactions: Iterable | None) -> tuple[Interaction, ...]:
    """Check ``interactions`` and return them as pairs ordered as in ``lists``.

    Accepts pairs ``("PF", "NCA")`` or strings ``"PF:NCA"``; keeps the order given and
    drops nothing silently (a repeated pair is an error).
    """
    if interactions is None:
        return ()
    if isinstance(interactions, str) or not isinstance(interactions, Iterable):
        raise ValidationError(
            f"interactions={interactions!r}: give a list of pairs of list names, "
            "e.g. [('PF', 'NCA'), ('LA', 'NG')], or None for main effects only."
        )
    out: list[Interaction] = []
    for item in interactions:
        pair = tuple(item.split(":")) if isinstance(item, str) else tuple(item)
        if len(pair) != 2 or not all(isinstance(p, str) for p in pair):
            raise ValidationError(
                f"interactions: {item!r} is not a pair of list names; write ('PF', 'NCA') "
                "or 'PF:NCA'. Only two-list interactions are supported."
            )
        unknown = [p for p in pair if p not in lists]
        if unknown:
            raise ValidationError(
                f"interactions: {item!r} names {first_values(unknown)}, which is not one of the "
                f"lists ({', '.join(lists)})."
            )
        if pair[0] == pair[1]:
            raise ValidationError(f"interactions: {item!r} pairs a list with itself.")
        a, b = sorted(pair, key=list(lists).index)
        if (a, b) in out:
            raise ValidationError(f"interactions: {a}:{b} is given more than once.")
        out.append((a, b))
    return tuple(out)


def pair_mask(lists: Sequence[str], interactions: Sequence[Interaction]) -> np.ndarray:
    """Boolean mask over :func:`all_pairs` of the interactions in a model."""
    index = {p: i for i, p in enumerate(all_pairs(lists))}
    mask = np.zeros(len(index), dtype=bool)
    mask[[index[p] for p in interactions]] = True
    return mask


# ----------------------------------------------------------------------------- IRLS


@dataclass(frozen=True, eq=False)
class BatchFit:
    """Result of :func:`irls` for ``B`` fits (arrays have a leading batch axis)."""

    beta: np.ndarray
    mu: np.ndarray
    deviance: np.ndarray
    loglik: np.ndarray
    converged: np.ndarray
    boundary: np.ndarray
    iterations: int
    information: np.ndarray = field(repr=False)


def _ylogy(y: np.ndarray) -> np.ndarray:
    """:math:`y \\log y`, 0 at :math:`y = 0`."""
    return np.where(y > 0, y * np.log(np.where(y > 0, y, 1.0)), 0.0)


def _deviance(y: np.ndarray, ylogy: np.ndarray, eta: np.ndarray, mu: np.ndarray,
              cells: np.ndarray) -> np.ndarray:
    """Poisson deviance :math:`2\\sum (y\\log(y/\\mu) - (y - \\mu))` over the used cells."""
    return 2.0 * np.sum(cells * (ylogy - y * eta - y + mu), axis=-1)


def irls(
    X: np.ndarray,
    y: np.ndarray,
    *,
    param_mask: np.ndarray | None = None,
    cell_mask: np.ndarray | None = None,
    offset: np.ndarray | float = 0.0,
    tol: float = 1e-13,
    max_iter: int = 100,
) -> BatchFit:
    """Fit a batch of Poisson log-linear models by iteratively reweighted least squares.

    Parameters
    ----------
    X : numpy.ndarray
        Design shared by the batch, ``M x p``.
    y : numpy.ndarray
        Counts, ``B x M`` (or ``M``).
    param_mask : numpy.ndarray, optional
        ``B x p`` (or ``p``) booleans: the columns in each model; the others are fixed at 0.
    cell_mask : numpy.ndarray, optional
        ``B x M`` (or ``M``) booleans: the cells each fit uses (the extended MLE of a model
        with a never-overlapping pair of lists leaves out the patterns with both).
    offset : float or numpy.ndarray
        Added to the linear predictor of every cell; ``B`` values (one per fit) or
        ``B x M``. The profile likelihood fixes the intercept through it.
    tol : float
        Convergence: :math:`|D_t - D_{t-1}| / (|D_t| + 0.1) < \\text{tol}` and a step in
        the coefficients below ``sqrt(tol)``, as R's ``glm.fit`` with a tighter epsilon.
    max_iter : int

    Returns
    -------
    BatchFit
        Coefficients (0 where masked), fitted means, deviances, log-likelihoods, the
        Fisher information :math:`X^T W X` (identity on masked columns), whether each fit
        converged and whether it ended on the boundary: the deviance settled while
        coefficients kept moving, as when the MLE does not exist and fitted counts head
        to 0 (each Newton step then lowers their log by about 1).

    Notes
    -----
    Newton's method on the concave Poisson log-likelihood: with :math:`W =
    \\operatorname{diag}(\\mu)` and working response :math:`z = \\eta - o + (y -
    \\mu)/\\mu`, :math:`\\beta \\leftarrow (X^T W X)^{-1} X^T W z`. It starts, like R,
    from :math:`\\mu = y + 0.1`. Fits that have converged stop moving; the rest
    continue, so a slow fit does not cost the batch.

    References
    ----------
    McCullagh, P. and Nelder, J. A. (1989). Generalized Linear Models, 2nd ed., §2.5.
    Chapman & Hall.
    """
    y = np.atleast_2d(np.asarray(y, dtype=float))
    B, M = y.shape
    p_full = X.shape[1]
    pm = np.broadcast_to(np.ones(p_full, bool) if param_mask is None else param_mask, (B, p_full))
    # one model for the whole batch (the bootstrap): solve with its columns only
    shared = bool((pm == pm[0]).all())
    cols = np.flatnonzero(pm[0]) if shared else np.arange(p_full)
    Xa = X[:, cols]
    pm = pm[:, cols]
    p = len(cols)
    cm = np.broadcast_to(np.ones(M, bool) if cell_mask is None else cell_mask, (B, M)).astype(float)
    off = np.asarray(offset, dtype=float)
    off = np.broadcast_to(off[:, None] if off.ndim == 1 else off, (B, M))
    fixed = np.eye(p)[None] * (~pm)[:, :, None]
    keep = pm[:, :, None] & pm[:, None, :]

    def information(w: np.ndarray, rows: np.ndarray | slice) -> np.ndarray:
        return (Xa.T[None] * w[:, None, :]) @ Xa * keep[rows] + fixed[rows]

    ylogy = _ylogy(y)
    floor = 1e-14 * np.maximum(1.0, np.sum(ylogy, axis=1))
    mu = y + 0.1
    eta = np.log(mu)
    beta = np.zeros((B, p))
    dev = np.full(B, np.inf)
    converged = np.zeros(B, dtype=bool)
    dev_settled = np.zeros(B, dtype=bool)
    iterations = 0
    while iterations < max_iter and not converged.all():
        iterations += 1
        moving = np.flatnonzero(~converged)
        # views, not copies, while every fit moves
        act: np.ndarray | slice = slice(None) if moving.size == B else moving
        w = mu[act] * cm[act]
        z = eta[act] - off[act] + (y[act] - mu[act]) / mu[act]
        rhs = ((w * z) @ Xa) * pm[act]
        new = _solve(information(w, act), rhs)
        # bounded so that a fitted count heading to 0 (no MLE) stays a positive float
        eta_new = np.clip(new @ Xa.T + off[act], -700.0, 700.0)
        mu_new = np.exp(eta_new)
        dev_new = _deviance(y[act], ylogy[act], eta_new, mu_new, cm[act])
        step = np.max(np.abs(new - beta[act]), axis=1)
        # relative change as R's glm.fit, with a floor at rounding error of the sum
        settled = np.abs(dev_new - dev[act]) <= tol * (np.abs(dev_new) + 0.1) + floor[act]
        done = settled & (step < np.sqrt(tol) * (1 + np.max(np.abs(new), axis=1)))
        beta[act], eta[act], mu[act], dev[act] = new, eta_new, mu_new, dev_new
        converged[act] = done
        dev_settled[act] = settled
    info = information(mu * cm, slice(None))
    dev = _deviance(y, ylogy, eta, mu, cm)
    ll = np.sum(cm * (y * eta - mu - gammaln(y + 1.0)), axis=-1)
    # the deviance has settled but coefficients still move: fitted counts heading to 0
    boundary = ~converged & dev_settled
    if shared and p < p_full:
        full_beta = np.zeros((B, p_full))
        full_beta[:, cols] = beta
        full_info = np.broadcast_to(np.eye(p_full), (B, p_full, p_full)).copy()
        full_info[:, cols[:, None], cols[None, :]] = info
        beta, info = full_beta, full_info
    return BatchFit(beta=beta, mu=mu, deviance=dev, loglik=ll, converged=converged,
                    boundary=boundary, iterations=iterations, information=info)


def _solve(A: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Batched solve; a singular system (a non-identifiable fit) gets a least-squares answer."""
    try:
        return np.linalg.solve(A, b[..., None])[..., 0]
    except np.linalg.LinAlgError:
        out = np.empty_like(b)
        for i in range(len(A)):  # rare: only when some fit of the batch is singular
            out[i] = np.linalg.lstsq(A[i], b[i], rcond=None)[0]
        return out


# ----------------------------------------------------------------------------- one model


@dataclass(frozen=True, eq=False)
class ModelFit:
    """One fitted model of one capture table.

    Attributes
    ----------
    interactions : tuple of (str, str)
        The two-list interactions, in the order given or added.
    empty_overlaps : tuple of (str, str)
        Interactions of the model whose two lists share no case: their coefficient is
        :math:`-\\infty` and the patterns containing both lists are fitted as 0
        (the extended MLE of Chan, Silverman and Vincent 2021).
    coefficients : pandas.DataFrame
        ``term``, ``estimate``, ``se``, ``z``, ``p_value`` (Wald, from the Fisher
        information); ``-inf`` estimates for the empty overlaps.
    dark : float
        :math:`e^{\\hat\\mu}`, the expected number of cases on no list.
    observed : int
    deviance, loglik, aic, bic : float
    df_residual : int
    fitted : numpy.ndarray
        Expected count of every observable pattern.
    converged : bool
    """

    table: CaptureTable = field(repr=False)
    interactions: tuple[Interaction, ...]
    empty_overlaps: tuple[Interaction, ...]
    coefficients: pd.DataFrame = field(repr=False)
    dark: float
    deviance: float
    loglik: float
    aic: float
    bic: float
    df_residual: int
    fitted: np.ndarray = field(repr=False)
    converged: bool
    log_dark_se: float

    @property
    def observed(self) -> int:
        return self.table.observed

    @property
    def total(self) -> float:
        return self.observed + self.dark

    @property
    def n_parameters(self) -> int:
        """Parameters counted by AIC and BIC, the :math:`-\\infty` ones included."""
        return 1 + len(self.table.lists) + len(self.interactions)


def model_masks(table: CaptureTable, interactions: Sequence[Interaction]) -> tuple[np.ndarray, np.ndarray, tuple[Interaction, ...]]:
    """Parameter and cell masks of a model on a table, and its never-overlapping pairs."""
    lists = table.lists
    k = len(lists)
    z = table.patterns
    pmask = np.concatenate([np.ones(1 + k, bool), pair_mask(lists, interactions)])
    cmask = np.ones(len(z), bool)
    empty = []
    for a, b in interactions:
        both = (z[:, lists.index(a)] == 1) & (z[:, lists.index(b)] == 1)
        if table.counts[both].sum() == 0:
            empty.append((a, b))
            cmask &= ~both
            pmask[1 + k + all_pairs(lists).index((a, b))] = False
    return pmask, cmask, tuple(empty)


def information_criteria(loglik: np.ndarray, n_params: np.ndarray, observed: float) -> tuple[np.ndarray, np.ndarray]:
    """AIC :math:`= -2\\ell + 2p` and BIC :math:`= -2\\ell + p\\log n` (n cases observed)."""
    return -2.0 * loglik + 2.0 * n_params, -2.0 * loglik + np.log(observed) * n_params


def fit_model(table: CaptureTable, interactions: Sequence[Interaction] = ()) -> ModelFit:
    """Fit main effects plus ``interactions`` to a capture table by :func:`irls`.

    Notes
    -----
    All ``2**K - 1`` observable patterns enter, the unobserved with count 0.
    Interactions whose lists never overlap are estimated as :math:`-\\infty` (their
    patterns leave the fit), as SparseMSE's ``modelfit`` does; AIC still counts them.
    Existence and identifiability are checked beforehand by
    :func:`flestimate.mse.identify.check_model`.
    """
    fits = fit_models(table, [tuple(interactions)])
    return fits[0]


def fit_models(table: CaptureTable, models: Sequence[Sequence[Interaction]]) -> list[ModelFit]:
    """Fit several models of one table in one batch (see :func:`fit_model`)."""
    lists = table.lists
    X = design_matrix(lists)
    masks = [model_masks(table, m) for m in models]
    pm = np.array([m[0] for m in masks])
    cm = np.array([m[1] for m in masks])
    res = irls(X, np.broadcast_to(table.counts, (len(models), len(table.counts))),
               param_mask=pm, cell_mask=cm)
    names = term_names(lists)
    n_par = np.array([1 + len(lists) + len(m) for m in models], dtype=float)
    aic, bic = information_criteria(res.loglik, n_par, table.observed)
    cov = np.linalg.inv(res.information)
    out = []
    for b, m in enumerate(models):
        cols = [0, *range(1, 1 + len(lists)), *(1 + len(lists) + all_pairs(lists).index(p) for p in m)]
        est = res.beta[b, cols].copy()
        se = np.sqrt(np.clip(np.diag(cov[b])[cols], 0, None))
        empty = masks[b][2]
        for p in empty:
            i = 1 + len(lists) + list(m).index(p)
            est[i], se[i] = -np.inf, np.nan
        with np.errstate(divide="ignore", invalid="ignore"):
            zval = est / se
        coefs = pd.DataFrame({
            "term": [names[c] for c in cols],
            "estimate": est,
            "se": se,
            "z": zval,
            "p_value": 2 * norm.sf(np.abs(zval)),
        })
        used = int(cm[b].sum())
        out.append(ModelFit(
            table=table, interactions=tuple(m), empty_overlaps=empty, coefficients=coefs,
            dark=float(np.exp(res.beta[b, 0])), deviance=float(res.deviance[b]),
            loglik=float(res.loglik[b]), aic=float(aic[b]), bic=float(bic[b]),
            df_residual=used - int(pm[b].sum()), fitted=np.where(cm[b], res.mu[b], 0.0),
            converged=bool(res.converged[b]), log_dark_se=float(se[0]),
        ))
    return out


def fit_statsmodels(table: CaptureTable, interactions: Sequence[Interaction] = ()) -> ModelFit:
    """The same model fitted with statsmodels' GLM (the reference route; slower).

    Builds the design with the model's columns only and the used cells only, fits
    ``sm.GLM(y, X, family=Poisson())`` and returns a :class:`ModelFit` like
    :func:`fit_model`'s (the tests check that the two agree).
    """
    import statsmodels.api as sm

    lists = table.lists
    pm, cm, empty = model_masks(table, interactions)
    X = design_matrix(lists)[cm][:, pm]
    y = table.counts[cm]
    res = sm.GLM(y, X, family=sm.families.Poisson()).fit(tol=1e-13, maxiter=200)
    names = [n for n, keep in zip(term_names(lists), pm, strict=True) if keep]
    order = ["(Intercept)", *lists, *(f"{a}:{b}" for a, b in interactions)]
    est = pd.Series(np.asarray(res.params), index=names)
    se = pd.Series(np.asarray(res.bse), index=names)
    for a, b in empty:
        est[f"{a}:{b}"], se[f"{a}:{b}"] = -np.inf, np.nan
    coefs = pd.DataFrame({"term": order, "estimate": est[order].to_numpy(),
                          "se": se[order].to_numpy()})
    with np.errstate(divide="ignore", invalid="ignore"):
        coefs["z"] = coefs["estimate"] / coefs["se"]
    coefs["p_value"] = 2 * norm.sf(np.abs(coefs["z"]))
    fitted = np.zeros(len(table.counts))
    fitted[cm] = res.fittedvalues
    n_par = 1 + len(lists) + len(interactions)
    ll = float(np.sum(y * np.log(np.where(y > 0, res.fittedvalues, 1.0)) - res.fittedvalues
                      - gammaln(y + 1)))
    aic, bic = information_criteria(np.array([ll]), np.array([n_par]), table.observed)
    return ModelFit(
        table=table, interactions=tuple(interactions), empty_overlaps=empty, coefficients=coefs,
        dark=float(np.exp(est["(Intercept)"])), deviance=float(res.deviance), loglik=ll,
        aic=float(aic[0]), bic=float(bic[0]), df_residual=int(cm.sum() - pm.sum()),
        fitted=fitted, converged=bool(res.converged), log_dark_se=float(se["(Intercept)"]),
    )
