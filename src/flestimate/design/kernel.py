"""The numerical kernel: grouped sums and the stratified Taylor variance from PSU totals.

Everything here works on small arrays (PSU x column) except :func:`grouped_sums`,
the only O(n) operation of an estimate.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, cached_property

import numpy as np
import scipy.sparse as sp
from threadpoolctl import ThreadpoolController

from flestimate.design.structure import _CERTAINTY_TOL, DesignStructure

__all__ = [
    "StageScores",
    "cell_degrees_of_freedom",
    "degrees_of_freedom",
    "domain_degrees_of_freedom",
    "first_rows",
    "grouped_sums",
    "taylor_covariance",
    "taylor_variance",
]


def grouped_sums(codes: np.ndarray, n_groups: int, values: np.ndarray) -> np.ndarray:
    """Sums of the columns of ``values`` within integer groups.

    Parameters
    ----------
    codes : ndarray (n,) int
        Group code 0..n_groups-1 of each row.
    n_groups : int
        Number of groups.
    values : ndarray (n,) or (n, K)
        Values to sum.

    Returns
    -------
    ndarray (n_groups, K) (or (n_groups,) for 1-d ``values``)

    Notes
    -----
    One ``np.bincount`` per column: K passes over the data, no n x G matrix.
    """
    values = np.asarray(values, dtype=np.float64)
    if values.ndim == 1:
        return np.bincount(codes, weights=values, minlength=n_groups)[:n_groups]
    K = values.shape[1]
    out = np.empty((n_groups, K))
    for k in range(K):  # loop over variables, not rows
        out[:, k] = np.bincount(codes, weights=values[:, k], minlength=n_groups)[:n_groups]
    return out


#: at most this many columns, a cross-product of scores runs on one BLAS thread
ONE_THREAD_COLUMNS = 128


@cache
def _blas() -> ThreadpoolController:
    return ThreadpoolController()


def weighted_crossprod(scores: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """``scores.T @ diag(weight) @ scores`` (M, M) of dense scores (U, M).

    With at most :data:`ONE_THREAD_COLUMNS` columns (PSUs x a few statistics: a
    chi-square's cells, a table's domains) the product runs on one BLAS thread: it
    takes a few milliseconds on one core, while OpenBLAS's threads waiting for each
    other made it 10 to 100 times slower on a busy machine (the chi-square at 1M rows:
    10,569 PSUs x 38 cells). The numbers are the same product's.
    """
    right = weight[:, None] * scores
    if scores.shape[1] > ONE_THREAD_COLUMNS:
        return scores.T @ right
    with _blas().limit(limits=1, user_api="blas"):
        return scores.T @ right


def first_rows(codes: np.ndarray, n_groups: int) -> np.ndarray:
    """First row of each group code 0..n_groups-1 (the order of appearance in the data)."""
    out = np.empty(n_groups, dtype=np.int64)
    out[codes[::-1]] = np.arange(codes.size - 1, -1, -1)
    return out


def _stage_term(
    scores: np.ndarray,
    group: np.ndarray,
    n_units: np.ndarray,
    fraction: np.ndarray,
    group_factor: np.ndarray,
    rule: str,
    covariance: bool,
    adjust_center: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """One stage of the stratified variance: sum over groups (strata) of the centred SSQ.

    Returns the term and a boolean (G,) of the lonely groups (for the "average" rule).
    """
    G = n_units.shape[0]
    f = 1.0 - fraction  # R's (N - n) / N
    nu = n_units.astype(np.float64)
    certain = f < _CERTAINTY_TOL
    lone = (n_units == 1) & ~certain
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(n_units > 1, f * nu / (nu - 1.0), f)
        sums = grouped_sums(group, G, scores)
        means = sums / np.maximum(nu, 1.0)[:, None]
    scale[certain] = 0.0
    if rule == "adjust":
        # the lone PSU is centred at the average PSU total (adjust_center), not at itself
        means[lone] = 0.0 if adjust_center is None else adjust_center
    else:
        scale[lone] = 0.0
    scale = scale * group_factor
    centred = scores - means[group]
    su = scale[group]
    if covariance:
        out = weighted_crossprod(centred, su)
    else:
        out = np.einsum("um,um,u->m", centred, centred, su)
    return out, lone


@dataclass(frozen=True, eq=False)
class StageScores:
    """Scores of a later stage, ``E = Z - L @ C``, without forming the (U, M) matrix.

    ``Z`` is given by its nonzero cells: unit ``unit[c]`` has the score
    ``y[c, k] * coef_y[domain[c], k] + x[c, k] * coef_x[domain[c], k]`` in column
    ``domain[c] * K + k`` (a unit has members in few domains). Scores are formed one
    variable at a time, so no (cells x K) temporary is needed for variances.

    Attributes
    ----------
    n_units : int
        Units U of the stage.
    unit, domain : ndarray (C,) int64
        Unit and domain of each cell.
    y : ndarray (C, K)
        Cell totals of ``w y``.
    coef_y : ndarray (D, K)
    x : ndarray (C, K or 1), optional
        Cell totals of ``w x`` (ratios).
    coef_x : ndarray (D, K), optional
    L : scipy.sparse or ndarray (U, q), optional
        Unit totals of the calibration residualisers' ``s X`` (stacked).
    C : ndarray (q, M), optional
        The residualisers' coefficients (stacked).
    """

    n_units: int
    unit: np.ndarray
    domain: np.ndarray
    y: np.ndarray
    coef_y: np.ndarray
    x: np.ndarray | None = None
    coef_x: np.ndarray | None = None
    L: sp.spmatrix | np.ndarray | None = None
    C: np.ndarray | None = None

    @property
    def n_domains(self) -> int:
        return int(self.coef_y.shape[0])

    @property
    def n_vars(self) -> int:
        return int(self.coef_y.shape[1])

    def z_column(self, k: int) -> np.ndarray:
        """Scores (C,) of variable k in each cell's domain."""
        z = self.y[:, k] * self.coef_y[self.domain, k]
        if self.x is not None:
            xk = self.x[:, k if self.x.shape[1] > 1 else 0]
            z = z + xk * self.coef_x[self.domain, k]
        return z

    @property
    def shape(self) -> tuple[int, int]:
        return (self.n_units, self.n_domains * self.n_vars)

    @cached_property
    def Z(self) -> sp.csc_matrix:
        K = self.n_vars
        z = np.stack([self.z_column(k) for k in range(K)], axis=1)
        rows = np.repeat(self.unit, K)
        cols = (self.domain[:, None] * K + np.arange(K)[None, :]).ravel()
        return sp.csc_matrix((z.ravel(), (rows, cols)), shape=self.shape)

    def columns(self, cols: slice) -> np.ndarray:
        """Dense ``E[:, cols]``."""
        out = self.Z[:, cols].toarray()
        if self.L is not None:
            out -= np.asarray(self.L @ self.C[:, cols])
        return out

    def dense(self) -> np.ndarray:
        return self.columns(slice(None))


def _cells_centred_ssq(
    scores: StageScores,
    group: np.ndarray,
    n_units: np.ndarray,
    su_group: np.ndarray,
    means: np.ndarray,
) -> np.ndarray:
    """sum_u s_g(u) (z_u - m_g(u))^2 per column from the nonzero cells only.

    Units without members in a domain have z = 0 there: they add s_g m_g^2 each.
    """
    D, K = scores.n_domains, scores.n_vars
    G = n_units.shape[0]
    g = group[scores.unit]
    gd = g * D + scores.domain
    m = means.reshape(G * D, K)
    w = su_group[g]
    out = np.empty((D, K))
    for k in range(K):  # one pass over the cells per variable
        dev = scores.z_column(k) - m[gd, k]
        out[:, k] = np.bincount(scores.domain, weights=w * dev * dev, minlength=D)
    # cells present per (group, domain); the other units of the group are zero cells
    present = np.bincount(gd, minlength=G * D).reshape(G, D)
    absent = n_units[:, None] - present
    out += np.einsum("gd,gdk->dk", su_group[:, None] * absent, m.reshape(G, D, K) ** 2)
    return out.reshape(D * K)


def _stage_term_sparse(
    scores: StageScores,
    group: np.ndarray,
    n_units: np.ndarray,
    fraction: np.ndarray,
    group_factor: np.ndarray,
    rule: str,
    covariance: bool,
    adjust_center: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_stage_term` for :class:`StageScores`: exact centred sums in column blocks
    for the variances; the covariance from sparse cross-products. Returns the term
    and the lonely groups, as :func:`_stage_term`."""
    G = n_units.shape[0]
    U, M = scores.shape
    f = 1.0 - fraction
    nu = n_units.astype(np.float64)
    certain = f < _CERTAINTY_TOL
    lone = (n_units == 1) & ~certain
    D, K = scores.n_domains, scores.n_vars
    gd = group[scores.unit] * D + scores.domain
    GE = np.zeros((G * D, K))
    for k in range(K):
        GE[:, k] = np.bincount(gd, weights=scores.z_column(k), minlength=G * D)
    GE = GE.reshape(G, M)
    if scores.L is not None:
        ind = sp.csr_matrix((np.ones(U), (group, np.arange(U))), shape=(G, U))
        GE -= np.asarray(ind @ scores.L) @ scores.C
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(n_units > 1, f * nu / (nu - 1.0), f)
        means = GE / np.maximum(nu, 1.0)[:, None]
    scale[certain] = 0.0
    if rule == "adjust":
        means[lone] = 0.0 if adjust_center is None else adjust_center
    else:
        scale[lone] = 0.0
    scale = scale * group_factor
    su = scale[group]
    if scores.L is None:
        diag = _cells_centred_ssq(scores, group, n_units, scale, means)
    else:
        diag = np.empty(M)
        width = max(1, 4_000_000 // max(U, 1))
        for start in range(0, M, width):  # column blocks bound the memory to U x width
            cols = slice(start, min(M, start + width))
            c = scores.columns(cols) - means[group, cols]
            diag[cols] = np.einsum("um,um,u->m", c, c, su)
    if not covariance:
        return diag, lone
    Z = scores.Z
    out = np.asarray((Z.T @ sp.diags(su) @ Z).toarray())
    if scores.L is not None:
        Ls = sp.diags(su) @ scores.L if sp.issparse(scores.L) else su[:, None] * scores.L
        W = Z.T @ Ls
        W = W.toarray() if sp.issparse(W) else np.asarray(W)
        WC = W @ scores.C
        Q = scores.L.T @ Ls
        Q = Q.toarray() if sp.issparse(Q) else np.asarray(Q)
        out = out - WC - WC.T + scores.C.T @ Q @ scores.C
    sg = scale[:, None]
    out = out - GE.T @ (sg * means) - means.T @ (sg * GE) + means.T @ ((sg * nu[:, None]) * means)
    out[np.diag_indices(M)] = diag
    return out, lone


def _any_stage_term(scores, *args, adjust: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_stage_term` of dense scores (U, M) or :func:`_stage_term_sparse` of
    :class:`StageScores`. ``adjust``: a lone unit is centred at the average unit score
    (the first stage's "adjust" rule); else at 0."""
    if isinstance(scores, StageScores):
        centre = _mean_score(scores) if adjust else None
        return _stage_term_sparse(scores, *args, adjust_center=centre)
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim == 1:
        scores = scores[:, None]
    centre = scores.mean(axis=0) if adjust else None
    return _stage_term(scores, *args, adjust_center=centre)


def _mean_score(scores: StageScores) -> np.ndarray:
    """Average unit score (M,) of :class:`StageScores` (units without cells count 0)."""
    total = np.asarray(scores.Z.sum(axis=0)).ravel()
    if scores.L is not None:
        total = total - np.asarray(scores.L.sum(axis=0)).ravel() @ scores.C
    return total / max(scores.n_units, 1)


def _taylor(
    structure: DesignStructure,
    psu_scores: np.ndarray,
    stage_scores: Sequence[np.ndarray],
    active_strata: np.ndarray | None,
    covariance: bool,
    column_domain: np.ndarray | None = None,
) -> np.ndarray:
    out, lone = _any_stage_term(
        psu_scores,
        structure.psu_stratum,
        structure.n_psu,
        structure.fpc1,
        np.ones(structure.n_strata),
        structure.lonely_psu,
        covariance,
        adjust=True,
    )
    if structure.lonely_psu == "average" and lone.any():
        M = out.shape[0]  # variance (M,) or covariance (M, M)
        active = (
            np.ones((structure.n_strata, M), dtype=bool)
            if active_strata is None
            else np.asarray(active_strata, dtype=bool)
        )
        n_active = active.sum(axis=0).astype(np.float64)
        n_ok = (active & ~lone[:, None]).sum(axis=0).astype(np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            factor = n_active / n_ok
        factor = np.where(n_active == 0, 1.0, factor)
        if covariance:
            # within a domain: the domain's factor; across domains: the whole design's
            # (R's svyby(covmat=TRUE) takes off-diagonal blocks from the full design)
            H = structure.n_strata
            overall = H / (H - lone.sum()) if H > lone.sum() else np.nan
            if column_domain is None:
                same = np.ones((M, M), dtype=bool)
            else:
                cd = np.asarray(column_domain)
                same = cd[:, None] == cd[None, :]
            with np.errstate(invalid="ignore"):  # 0 x inf: no stratum to average, NaN as R
                out = out * np.where(same, factor[:, None], overall)
        else:
            with np.errstate(invalid="ignore"):  # a domain only in lonely strata: NaN as R
                out = out * factor
    for stage, scores in zip(structure.stages, stage_scores, strict=False):
        rule = "remove" if structure.lonely_psu == "average" else structure.lonely_psu
        term, _ = _any_stage_term(
            scores,
            stage.unit_parent,
            stage.n_units,
            stage.fraction,
            stage.parent_factor,
            rule,
            covariance,
        )
        out = out + term
    return out


def taylor_variance(
    structure: DesignStructure,
    psu_scores: np.ndarray,
    stage_scores: Sequence[np.ndarray] = (),
    active_strata: np.ndarray | None = None,
) -> np.ndarray:
    """Linearisation variance of the totals of the columns of ``psu_scores``.

    Parameters
    ----------
    structure : DesignStructure
        The encoded design.
    psu_scores : ndarray (P, M) or StageScores
        PSU totals of the linearised (weighted) scores of M statistics; a
        :class:`StageScores` keeps only the PSU x domain cells with members (many
        domains).
    stage_scores : sequence of ndarray (U_s, M) or StageScores
        Totals of the same scores within the units of each later stage in
        ``structure.stages`` (multistage variance); may be empty when the design has
        no later stage with an fpc. :class:`StageScores` keeps them sparse.
    active_strata : ndarray (H, M) of bool, optional
        Strata holding members of each column's domain; used only by the
        ``"average"`` lonely-PSU rule (R counts the strata of the domain subset).

    Returns
    -------
    ndarray (M,)

    Notes
    -----
    With PSU totals :math:`z_{hi}` and stratum means :math:`\\bar z_h`,

    .. math:: \\hat V = \\sum_h (1 - f_h) \\frac{n_h}{n_h - 1} \\sum_i (z_{hi} - \\bar z_h)^2
              + \\sum_h \\sum_i f_h \\hat V_{2,hi}

    where :math:`f_h` is the first-stage sampling fraction and :math:`\\hat V_{2,hi}`
    the same formula applied within PSU hi to the second-stage unit totals with the
    second-stage fraction (recursively for further stages), as R's ``multistage``.
    Lonely PSUs (:math:`n_h = 1`, not a certainty stratum): ``"remove"`` and
    ``"certainty"`` contribute 0; ``"adjust"`` contributes
    :math:`(1-f_h) (z_{h1} - \\bar z)^2` with :math:`\\bar z = \\sum_{hi} z_{hi} / P`
    the average PSU total over all strata (R survey 4.5; R 4.1 centres at 0, which
    is the same for means, ratios and proportions, whose scores sum to 0; at later
    stages a lone unit is centred at 0); ``"average"`` drops the lone strata and
    multiplies the variance by H / (H - H_lonely), counting the strata of the
    column's domain (at later stages, lone units contribute 0).

    References
    ----------
    Lumley, T. (2004, 2024). survey: analysis of complex survey samples. R package,
    functions ``onestrat``, ``onestage``, ``multistage``.
    Wolter, K. M. (2007). Introduction to Variance Estimation, 2nd ed., Springer, ch. 6.
    """
    return _taylor(structure, psu_scores, stage_scores, active_strata, covariance=False)


def taylor_covariance(
    structure: DesignStructure,
    psu_scores: np.ndarray,
    stage_scores: Sequence[np.ndarray] = (),
    active_strata: np.ndarray | None = None,
    column_domain: np.ndarray | None = None,
) -> np.ndarray:
    """Linearisation covariance matrix (M, M) of the totals of the columns of ``psu_scores``.

    Same formula as :func:`taylor_variance` with cross-products of the centred PSU
    totals. Under the ``"average"`` rule, entries between columns of the same domain
    (``column_domain``) are scaled by that domain's H / H_ok factor (so the diagonal
    equals :func:`taylor_variance`), entries across domains by the whole design's, as
    R's ``svyby(..., covmat=TRUE)`` does (R also uses the whole design's factor
    within a domain there, which disagrees with its own per-domain SEs).

    Notes
    -----
    :math:`\\hat C = \\sum_h (1 - f_h) \\frac{n_h}{n_h - 1} \\sum_i (z_{hi} - \\bar z_h)
    (z_{hi} - \\bar z_h)^T` plus the later-stage terms.

    References
    ----------
    Lumley, T. survey R package, ``svyrecvar``.
    """
    return _taylor(
        structure,
        psu_scores,
        stage_scores,
        active_strata,
        covariance=True,
        column_domain=column_domain,
    )


def degrees_of_freedom(
    structure: DesignStructure, active_rows_mask: np.ndarray | None = None
) -> int:
    """R's ``degf``: PSUs with active rows minus strata with active rows.

    Parameters
    ----------
    structure : DesignStructure
    active_rows_mask : ndarray (n,) bool, optional
        Rows with nonzero weight in the analysis (a domain); all rows when None.

    Notes
    -----
    :math:`d = \\#\\{\\text{PSUs with active rows}\\} - \\#\\{\\text{strata with active rows}\\}`.

    References
    ----------
    Lumley, T. survey R package, ``degf.survey.design2``.
    """
    if active_rows_mask is None:
        return structure.degf
    mask = np.asarray(active_rows_mask, dtype=bool)
    psus = np.unique(structure.psu[mask])
    strata = np.unique(structure.psu_stratum[psus])
    return int(psus.size - strata.size)


def domain_degrees_of_freedom(structure: DesignStructure, psu_counts: np.ndarray) -> np.ndarray:
    """Domain-specific ``degf`` for many domains at once.

    Parameters
    ----------
    psu_counts : ndarray (P, D)
        Rows (or weights) of each domain within each PSU.

    Returns
    -------
    ndarray (D,) float: PSUs with members minus strata with members (0 members: 0).
    Also returns, as a second value, the (H, D) boolean of strata with members.

    Notes
    -----
    Vectorised form of :func:`degrees_of_freedom` over domains.
    """
    has = np.asarray(psu_counts) > 0
    n_psu = has.sum(axis=0)
    strata_has = grouped_sums(structure.psu_stratum, structure.n_strata, has.astype(np.float64)) > 0
    n_strata = strata_has.sum(axis=0)
    return (n_psu - n_strata).astype(np.float64), strata_has


def cell_degrees_of_freedom(
    structure: DesignStructure,
    cell_psu: np.ndarray,
    cell_domain: np.ndarray,
    n_domains: int,
    cell_counts: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`domain_degrees_of_freedom` from the PSU x domain cells with members
    (sparse totals): ``cell_counts`` (C,) rows of cell c, which is PSU ``cell_psu[c]``
    in domain ``cell_domain[c]`` (each pair once).

    Returns the (D,) degrees of freedom and the (H, D) strata with members.
    """
    D, H = n_domains, structure.n_strata
    has = np.asarray(cell_counts) > 0
    dom = cell_domain[has]
    n_psu = np.bincount(dom, minlength=D)
    strata_has = np.zeros(H * D, dtype=bool)
    strata_has[structure.psu_stratum[cell_psu[has]] * D + dom] = True
    strata_has = strata_has.reshape(H, D)
    return (n_psu - strata_has.sum(axis=0)).astype(np.float64), strata_has
