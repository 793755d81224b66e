"""Totals by domain: the one pass over the data, and ratio estimates from totals.

- :class:`DomainCells` encodes the PSU x domain cells of a table once (dense, or
  only the cells with members when domains are many);
- :func:`domain_totals` makes the only pass over the rows and returns the PSU x
  domain x variable totals of ``w*y`` and ``w*x`` (plus later-stage totals and the
  small sums needed for design effects and calibration residualisers);
- :func:`ratio_estimates` turns totals into estimates (a total when there is no
  denominator, otherwise ``Y_dk / X_dk``).

Both designs reuse them (through :class:`~flestimate.design.interface.VarianceEngine`):
a Taylor design linearises the totals (:mod:`flestimate.design.scores`), a replicate
design forms replicate totals ``factors (R x P) @ psu_y.reshape(P, D*K)`` and applies
:func:`ratio_estimates` to each replicate.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from flestimate._keys import compress
from flestimate.design.calibration_hook import Residualizer
from flestimate.design.structure import DesignStructure

__all__ = [
    "DomainCells",
    "DomainTotals",
    "SPARSE_FROM",
    "SPARSE_SHARE",
    "StageCells",
    "domain_totals",
    "ratio_estimates",
]


@dataclass(frozen=True, eq=False)
class StageCells:
    """Totals of a later stage's units x domains, kept only for the cells with members.

    Attributes
    ----------
    n_units : int
        Units U of the stage.
    unit, domain : ndarray (C,) int64
        The unit and domain of each cell.
    y : ndarray (C, K)
        Cell totals of ``w * y``.
    x : ndarray (C, K or 1) or None
        Cell totals of ``w * x`` (None for a total).
    """

    n_units: int
    unit: np.ndarray
    domain: np.ndarray
    y: np.ndarray
    x: np.ndarray | None


@dataclass(frozen=True, eq=False)
class DomainTotals:
    """Result of the one pass over the data.

    Attributes
    ----------
    n_domains, n_vars : int
        D domains and K variables.
    psu_y : ndarray (P, D, K)
        PSU totals of ``w * y`` within each domain.
    psu_x : ndarray (P, D, K or 1) or None
        PSU totals of ``w * x`` (None for a total).
    stages : tuple of StageCells
        The same totals within the units of each later stage of ``structure.stages``
        (sparse: only unit x domain cells with members).
    y_total, x_total : ndarray (D, K)
        Domain totals (sums of the PSU totals); ``x_total`` None for a total.
    psu_rows : ndarray (P, D, K or 1)
        Rows of each domain with non-missing values and a positive weight, per PSU.
    n_rows : ndarray (D, K)
        Rows of each domain with non-missing values and a positive weight (R's
        ``nobs``; also the n of the Korn-Graubard interval).
    sum_w : ndarray (D, K)
        Sum of weights of those rows (R's ``psum``).
    sum_wyy, sum_wxy, sum_wxx : ndarray (D, K)
        Domain sums of ``w y^2``, ``w x y``, ``w x^2`` (design effects).
    projections : tuple
        Per residualiser: (G_y (q, D, K), G_x (q, D, K) or None, S (P, q), stage S).
    cross : dict
        Cross terms ``X_j' diag(phi_j s_r) X_r`` between residualisers (j > r).
    n_psus : int
        P.
    cell_psu, cell_domain : ndarray (C,) or None
        With sparse cells (many domains, each in few PSUs), the PSU and domain of
        each cell with members; ``psu_y``, ``psu_x`` and ``psu_rows`` are then
        (C, K), (C, K or 1) and (C, K or 1).
    """

    n_domains: int
    n_vars: int
    psu_y: np.ndarray
    psu_x: np.ndarray | None
    stages: tuple[StageCells, ...]
    y_total: np.ndarray
    x_total: np.ndarray | None
    psu_rows: np.ndarray
    n_rows: np.ndarray
    sum_w: np.ndarray
    sum_wyy: np.ndarray
    sum_wxy: np.ndarray
    sum_wxx: np.ndarray
    projections: tuple = ()
    cross: dict | None = None
    cell_psu: np.ndarray | None = None
    cell_domain: np.ndarray | None = None
    n_psus: int = 0

    @property
    def sparse(self) -> bool:
        """``psu_y``, ``psu_x`` and ``psu_rows`` hold the C cells with members only,
        as (C, K) arrays; cell c is PSU ``cell_psu[c]`` in domain ``cell_domain[c]``."""
        return self.cell_psu is not None

    def estimates(self) -> np.ndarray:
        """The estimates (D, K) of the totals: :func:`ratio_estimates`."""
        return ratio_estimates(self.y_total, self.x_total)


def _domain_matrix(dom: np.ndarray, D1: int) -> sp.csr_matrix:
    n = dom.size
    return sp.csr_matrix((np.ones(n), (np.arange(n), dom)), shape=(n, D1))


def _projection(res: Residualizer, values: np.ndarray, dom: np.ndarray, D1: int) -> np.ndarray:
    """(q, D) totals of ``phi * values * X`` within domains."""
    q = res.q
    v = res.phi * values
    if res.is_cells:
        codes = np.asarray(res.X)
        keep = codes >= 0
        out = np.bincount(codes[keep] * D1 + dom[keep], weights=v[keep], minlength=q * D1)
        return out.reshape(q, D1)[:, : D1 - 1]
    Xm = res.X
    Dm = _domain_matrix(dom, D1)
    out = (
        Xm.T @ (Dm.multiply(v[:, None]).tocsr())
        if sp.issparse(Xm)
        else (np.asarray((Dm.multiply(v[:, None])).T @ np.asarray(Xm)).T)
    )
    out = out.toarray() if sp.issparse(out) else np.asarray(out)
    return out[:, : D1 - 1]


def _unit_totals(
    res: Residualizer, codes: np.ndarray, n_groups: int, sparse: bool = False
) -> np.ndarray | sp.csr_matrix:
    """(n_groups, q) totals of ``s * X`` within units (PSUs or later-stage units)."""
    if res.is_cells:
        cells = np.asarray(res.X)
        keep = cells >= 0
        if sparse:
            return sp.csr_matrix((res.s[keep], (codes[keep], cells[keep])), shape=(n_groups, res.q))
        out = np.bincount(
            codes[keep] * res.q + cells[keep], weights=res.s[keep], minlength=n_groups * res.q
        )
        return out.reshape(n_groups, res.q)
    Xm = res.matrix()
    G = sp.csr_matrix((res.s, (codes, np.arange(codes.size))), shape=(n_groups, codes.size))
    out = G @ Xm
    return out.toarray() if sp.issparse(out) else np.asarray(out)


def _cross(rj: Residualizer, rr: Residualizer) -> np.ndarray:
    """(q_j, q_r) matrix ``X_j' diag(phi_j s_r) X_r``."""
    v = rj.phi * rr.s
    if rj.is_cells and rr.is_cells:
        cj = np.asarray(rj.X)
        cr = np.asarray(rr.X)
        keep = (cj >= 0) & (cr >= 0)
        out = np.bincount(cj[keep] * rr.q + cr[keep], weights=v[keep], minlength=rj.q * rr.q)
        return out.reshape(rj.q, rr.q)
    Xj = rj.matrix()
    Xr = rr.matrix()
    left = Xj.T @ (sp.diags(v) @ Xr) if sp.issparse(Xr) else Xj.T @ (v[:, None] * np.asarray(Xr))
    return left.toarray() if sp.issparse(left) else np.asarray(left)


# PSU x domain bins up to which domain sums are taken from PSU-level bincounts
_DOMAIN_SUM_VIA_PSU = 4_000_000
# sparse cells: from this many PSU x domain cells, when at most this share has members
SPARSE_FROM = 2_000_000
SPARSE_SHARE = 0.5


def _is_zero_one(y: np.ndarray) -> bool:
    """Every value is 0 or 1 (three cheap passes; spares a bincount)."""
    y = np.asarray(y)
    return bool(y.size) and bool(((y == 0) | (y == 1)).all())


class DomainCells:
    """The PSU x domain cells of the rows, and the sums every variable shares.

    Built once per table (:meth:`build`); blocks of variables reuse the combined
    codes, the later-stage cells, the rows per cell and the weight totals.
    """

    def __init__(self, structure: DesignStructure, dom: np.ndarray, idx: np.ndarray,
                 n_domains: int, whole: bool, sparse: bool = False) -> None:
        self.structure = structure
        self.n_domains = n_domains
        self.dom = dom
        self.idx = idx
        P, D = structure.n_psus, n_domains
        # sparse: only the PSU x domain cells with members, coded 0..C-1 (C: outside)
        self.cell_psu: np.ndarray | None = None
        self.cell_domain: np.ndarray | None = None
        if sparse and not whole:
            inside_rows = dom < D
            code, present = compress(np.where(inside_rows, idx, P * (D + 1)),
                                      P * (D + 1) + 1)
            if present.size and present[-1] == P * (D + 1):
                present = present[:-1]  # the code of the rows outside every domain
            if present.size <= SPARSE_SHARE * P * D:
                self.idx = code
                self.cell_psu = present // (D + 1)
                self.cell_domain = present % (D + 1)
                self._to_domains = sp.csr_matrix(
                    (np.ones(present.size), (self.cell_domain, np.arange(present.size))),
                    shape=(D, present.size),
                )
        # one domain holding every row and each PSU's rows contiguous: segment sums
        self.runs = structure.psu_runs if whole else None
        # A bincount into a few bins is slow (each row waits on the previous row's
        # bin): domain sums go through the PSU x domain bins when not too many.
        self.via_psu = self.sparse or P * (D + 1) <= _DOMAIN_SUM_VIA_PSU
        w = structure.weights
        # rows count only with a positive weight (weighting steps may zero some
        # weights): R's degf and nobs count rows with nonzero weight
        # (a row of grouped data stands for structure.frequency respondents)
        freq = structure.frequency
        self.positive = None if bool(np.all(w > 0)) else (w > 0).astype(np.float64)
        if freq is not None:
            self.positive = freq if self.positive is None else self.positive * freq
        # later stages: unit x domain cells with members only (units are many)
        inside = dom < D
        all_inside = whole or bool(inside.all())
        self.stage_rows = None if all_inside else np.flatnonzero(inside)
        self.stage_cells = []
        for st in structure.stages:  # a loop over the (few) sampling stages
            units = st.unit if all_inside else st.unit[self.stage_rows]
            d = dom if all_inside else dom[inside]
            cell, present = compress(units * D + d, st.n_units_total * D)
            self.stage_cells.append(
                (cell, present.size, present // D, present % D, st.n_units_total)
            )
        self._rows: np.ndarray | None = None
        self._weights: tuple[np.ndarray, np.ndarray] | None = None

    @classmethod
    def build(cls, structure: DesignStructure, domains: np.ndarray, n_domains: int,
              *, sparse: bool = False) -> DomainCells:
        """Cells of the domain codes (n,) (-1: outside every domain).

        With ``sparse=True`` and more than ``SPARSE_FROM`` PSU x domain cells of
        which at most ``SPARSE_SHARE`` have members (many domains, each in few
        PSUs), only the cells with members are kept: totals are (C, K) instead of
        (P, D, K) and the variance works on the cells.
        """
        D = n_domains
        domains = np.asarray(domains)
        if D == 1 and domains.size and int(domains.max()) <= 0 and int(domains.min()) >= 0:
            dom = np.zeros(domains.size, dtype=np.int64)  # one domain holding every row
            return cls(structure, dom, structure.psu * 2, D, True)
        dom = np.where(domains < 0, D, domains).astype(np.int64, copy=False)
        sparse = sparse and structure.n_psus * D > SPARSE_FROM
        return cls(structure, dom, structure.psu * (D + 1) + dom, D, False, sparse)

    @property
    def sparse(self) -> bool:
        """Totals are kept for the cells with members only."""
        return self.cell_psu is not None

    @property
    def n_cells(self) -> int:
        """Cells per variable: C (sparse) or P x D."""
        if self.cell_psu is not None:
            return int(self.cell_psu.size)
        return self.structure.n_psus * self.n_domains

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of the cell totals of one variable: (C,) or (P, D)."""
        if self.cell_psu is not None:
            return (int(self.cell_psu.size),)
        return (self.structure.n_psus, self.n_domains)

    def to_domains(self, cell_values: np.ndarray) -> np.ndarray:
        """Domain sums (D, ...) of cell values ((C, ...) or (P, D, ...))."""
        if self.cell_psu is None:
            return cell_values.sum(axis=0)
        flat = cell_values.reshape(cell_values.shape[0], -1)
        return np.asarray(self._to_domains @ flat).reshape(
            (self.n_domains, *cell_values.shape[1:])
        )

    def psu_sum(self, values: np.ndarray) -> np.ndarray:
        """Sums of ``values`` in the PSU x domain cells: (P, D), or (C,) if sparse."""
        P, D = self.structure.n_psus, self.n_domains
        if self.cell_psu is not None:
            C = self.cell_psu.size
            return np.bincount(self.idx, weights=values, minlength=C + 1)[:C]
        if self.runs is not None:
            out = np.zeros((P, 1))
            starts, codes = self.runs
            out[codes, 0] = np.add.reduceat(np.asarray(values, dtype=np.float64), starts)
            return out
        D1 = D + 1
        return np.bincount(self.idx, weights=values, minlength=P * D1).reshape(P, D1)[:, :D]

    def dom_sum(self, values: np.ndarray) -> np.ndarray:
        """Sums (D,) of ``values`` by domain."""
        if self.via_psu:
            return self.to_domains(self.psu_sum(values))
        D = self.n_domains
        return np.bincount(self.dom, weights=values, minlength=D + 1)[:D]

    def rows(self) -> np.ndarray:
        """Rows with a positive weight in each cell: (P, D), or (C,) if sparse."""
        if self._rows is None:
            P, D = self.structure.n_psus, self.n_domains
            if self.positive is not None:
                self._rows = self.psu_sum(self.positive)
            elif self.cell_psu is not None:
                C = self.cell_psu.size
                self._rows = np.bincount(self.idx, minlength=C + 1)[:C].astype(np.float64)
            elif self.runs is not None:
                starts, codes = self.runs
                self._rows = np.zeros((P, 1))
                self._rows[codes, 0] = np.diff(np.append(starts, self.dom.size))
            else:
                counts = np.bincount(self.idx, minlength=P * (D + 1)).astype(np.float64)
                self._rows = counts.reshape(P, D + 1)[:, :D]
        return self._rows

    def weight_sums(self) -> tuple[np.ndarray, np.ndarray]:
        """Weight totals of the cells ((P, D) or (C,)) and of the domains (D,)."""
        if self._weights is None:
            psu_w = self.psu_sum(self.structure.weights)
            self._weights = (psu_w, self.to_domains(psu_w))
        return self._weights


def domain_totals(
    structure: DesignStructure,
    ys: Sequence[np.ndarray],
    xs: Sequence[np.ndarray] | None,
    domains: np.ndarray,
    n_domains: int,
    *,
    binary: bool = False,
    residualizers: Sequence[Residualizer] = (),
    valid: Sequence[np.ndarray | None] | None = None,
    cells: DomainCells | None = None,
) -> DomainTotals:
    """The one pass over the data: PSU x domain x variable totals of ``w*y`` and ``w*x``.

    Parameters
    ----------
    structure : DesignStructure
    ys : sequence of K ndarray (n,) float
        Numerator variables (missing values already set to 0 and marked in ``valid``).
    xs : sequence of K ndarray (n,) or None
        Denominator variables; None for totals. For means pass None entries? No:
        pass ``[None] * K`` to use the indicator of valid rows (a mean).
    domains : ndarray (n,) int
        Domain code 0..D-1 of each row, -1 outside every domain.
    n_domains : int
    binary : bool
        The ys are 0/1 (then ``sum w y^2 = sum w y`` needs no extra pass).
    residualizers : sequence of Residualizer
        Calibration steps carried by the design.
    valid : sequence of K ndarray (n,) bool or None
        Rows with non-missing values of each variable (None: all rows).
    cells : DomainCells, optional
        The PSU x domain cells of ``domains`` (:meth:`DomainCells.build`), shared by
        calls that take the variables of one table in blocks.

    Notes
    -----
    With the combined code ``psu * (D + 1) + domain`` (domain D = outside), each
    variable costs one ``np.bincount``; everything else works on (P, D, K) arrays.
    """
    if cells is None:
        cells = DomainCells.build(structure, domains, n_domains)
    w = structure.weights
    P = structure.n_psus
    K = len(ys)
    D = cells.n_domains
    dom = cells.dom
    stage_rows, stage_cells = cells.stage_rows, cells.stage_cells
    valid = list(valid) if valid is not None else [None] * K
    any_invalid = any(v is not None for v in valid)
    is_total = xs is None
    xs_list = [None] * K if xs is None else list(xs)
    shared_x = not is_total and all(x is None for x in xs_list) and not any_invalid
    psu_sum, dom_sum = cells.psu_sum, cells.dom_sum
    D1 = D + 1

    def stage_sums(values: np.ndarray) -> list[np.ndarray]:
        v = values if stage_rows is None else values[stage_rows]
        return [np.bincount(cell, weights=v, minlength=C) for cell, C, *_ in stage_cells]

    cs = cells.shape  # (P, D), or (C,) for sparse cells
    psu_y = np.empty((*cs, K))
    stage_y = [np.empty((C, K)) for _, C, *_ in stage_cells]
    sum_wyy = np.empty((D, K))
    sum_wxy = np.empty((D, K))
    sum_wxx = np.empty((D, K))
    nres = len(residualizers)
    Gy = [np.empty((r.q, D, K)) for r in residualizers]
    Gx = [np.empty((r.q, D, K)) for r in residualizers] if not is_total else [None] * nres

    # rows count only with a positive weight (weighting steps may zero some weights):
    # R's degf and nobs count rows with nonzero weight
    positive = cells.positive
    if any_invalid:
        psu_rows = np.empty((*cs, K))
        sum_w = np.empty((D, K))
    else:
        psu_rows = cells.rows()[..., None]
        sum_w = np.repeat(cells.weight_sums()[1][:, None], K, axis=1)
    if is_total:
        psu_x = None
        stage_x: list[np.ndarray] = []
    elif shared_x:
        psu_x = cells.weight_sums()[0][..., None]
        stage_x = [s[:, None] for s in stage_sums(w)]
        for j, r in enumerate(residualizers):
            Gx[j][:] = _projection(r, w, dom, D1)[:, :, None]
    else:
        psu_x = np.empty((*cs, K))
        stage_x = [np.empty((C, K)) for _, C, *_ in stage_cells]
    # 0/1 variables need no pass for sum w y^2 (= sum w y), filled from the totals
    zero_one = np.array([binary or _is_zero_one(y) for y in ys], dtype=bool)

    for k in range(K):  # one pass per variable
        ok = valid[k]
        y = ys[k]
        wy = w * y
        psu_y[..., k] = psu_sum(wy)
        for s, arr in enumerate(stage_sums(wy)):
            stage_y[s][:, k] = arr
        if not zero_one[k]:  # for 0/1 y, sum w y^2 = sum w y: filled from the totals below
            sum_wyy[:, k] = dom_sum(wy * y)
        if any_invalid:
            okf = ok.astype(np.float64) if ok is not None else np.ones(w.size)
            psu_rows[..., k] = psu_sum(okf if positive is None else okf * positive)
            sum_w[:, k] = dom_sum(w * okf)
        for j, r in enumerate(residualizers):
            Gy[j][:, :, k] = _projection(r, wy, dom, D1)
        if is_total:
            continue
        x = xs_list[k]
        if x is None:
            # mean: x is the indicator of valid rows
            # x is 0/1: sum w x y = Y and sum w x^2 = X, filled from the totals below
            if shared_x:
                continue
            wx = w * ok if ok is not None else w
        else:
            wx = w * x
            sum_wxy[:, k] = dom_sum(wx * y)
            sum_wxx[:, k] = dom_sum(wx * x)
        psu_x[..., k] = psu_sum(wx)
        for s, arr in enumerate(stage_sums(wx)):
            stage_x[s][:, k] = arr
        for j, r in enumerate(residualizers):
            Gx[j][:, :, k] = _projection(r, wx, dom, D1)

    n_rows = cells.to_domains(psu_rows)
    if n_rows.shape[1] != K:
        n_rows = np.repeat(n_rows, K, axis=1)
    y_total = cells.to_domains(psu_y)
    x_total = None if psu_x is None else np.broadcast_to(cells.to_domains(psu_x), (D, K)).copy()
    sum_wyy[:, zero_one] = y_total[:, zero_one]
    if not is_total:
        for k in range(K):
            if xs_list[k] is None:
                sum_wxy[:, k] = y_total[:, k]
                sum_wxx[:, k] = x_total[:, k]

    projections = []
    cross: dict = {}
    for j, r in enumerate(residualizers):
        S = _unit_totals(r, structure.psu, P)
        S_stage = tuple(_unit_totals(r, st.unit, st.n_units_total) for st in structure.stages)
        projections.append((Gy[j], Gx[j], S, S_stage))
        for i in range(j):
            key = (id(residualizers[j]), id(residualizers[i]))
            if key not in cross:
                cross[key] = _cross(residualizers[j], residualizers[i])

    return DomainTotals(
        n_domains=D,
        n_vars=K,
        psu_y=psu_y,
        psu_x=psu_x,
        stages=tuple(
            StageCells(
                n_units=U,
                unit=unit,
                domain=dcell,
                y=stage_y[j],
                x=None if is_total else stage_x[j],
            )
            for j, (_, _, unit, dcell, U) in enumerate(stage_cells)
        ),
        y_total=y_total,
        x_total=x_total,
        psu_rows=psu_rows,
        n_rows=n_rows,
        sum_w=sum_w,
        sum_wyy=sum_wyy,
        sum_wxy=sum_wxy,
        sum_wxx=sum_wxx,
        projections=tuple(projections),
        cross=cross,
        cell_psu=cells.cell_psu,
        cell_domain=cells.cell_domain,
        n_psus=P,
    )


def ratio_estimates(y_total: np.ndarray, x_total: np.ndarray | None) -> np.ndarray:
    """Estimates from totals: ``Y`` (total) or ``Y / X`` (ratio, mean, proportion).

    Works on any shape, e.g. (D, K) or replicate totals (R, D, K). A zero
    denominator (empty domain) gives NaN.

    Notes
    -----
    :math:`\\hat R_{dk} = \\hat Y_{dk} / \\hat X_{dk}`, with
    :math:`\\hat Y_{dk} = \\sum_{i \\in d} w_i y_{ik}`.
    """
    if x_total is None:
        return np.array(y_total, dtype=np.float64, copy=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(x_total != 0, y_total / np.where(x_total != 0, x_total, 1.0), np.nan)
