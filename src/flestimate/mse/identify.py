"""Does a model's maximum likelihood estimate exist, and is it identifiable?

Two checks, as SparseMSE's ``checkident``:

* **existence** (Fienberg and Rinaldo 2012): the MLE of a Poisson log-linear model
  exists if and only if the observed sufficient statistics :math:`t = X^T y` are also
  those of some table with *every* used cell strictly positive. A linear programme
  finds the largest :math:`s` such that a table :math:`x` with :math:`X^T x = t` and
  :math:`x \\ge s` exists; the MLE exists if and only if :math:`s^* > 0`.
* **identifiability**: the design restricted to the used cells has full column rank.

Interactions whose two lists share no case are not failures: their estimate is
:math:`-\\infty` and the patterns with both lists leave the fit (the extended MLE);
the checks apply to the model that remains.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linprog

from flestimate.mse.models import (
    Interaction,
    all_pairs,
    design_matrix,
    model_masks,
    term_names,
)
from flestimate.mse.tables import CaptureTable

__all__ = ["Identifiability", "check_model", "ModelChecker"]


@dataclass(frozen=True)
class Identifiability:
    """Outcome of :func:`check_model`.

    Attributes
    ----------
    exists : bool
        The MLE exists (the linear programme's :math:`s^* > 0`).
    identifiable : bool
        The design of the used cells has full column rank.
    empty_overlaps : tuple of (str, str)
        Interactions of the model whose lists share no case (estimated as :math:`-\\infty`).
    zero_patterns : tuple of str
        When the MLE does not exist: the patterns whose expected count the data force
        to 0 (written ``"LA+NG"``).
    blamed : tuple of (str, str)
        Interactions whose removal alone makes the MLE exist, or the aliased ones.
    aliased : tuple of str
        Terms in a linear dependence of the design (not identifiable).
    message : str
        One sentence saying what cannot be estimated and why; empty when all is well.
    """

    exists: bool
    identifiable: bool
    empty_overlaps: tuple[Interaction, ...] = ()
    zero_patterns: tuple[str, ...] = ()
    blamed: tuple[Interaction, ...] = ()
    aliased: tuple[str, ...] = ()
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.exists and self.identifiable


def _lp_margin(A: np.ndarray, t: np.ndarray) -> tuple[float, np.ndarray]:
    """max s such that A^T x = t, x >= s, x >= 0; returns (s*, x*)."""
    n = A.shape[0]
    c = np.zeros(n + 1)
    c[-1] = -1.0
    a_eq = np.column_stack([A.T, np.zeros(A.shape[1])])
    a_ub = np.column_stack([-np.eye(n), np.ones(n)])
    res = linprog(c, A_ub=a_ub, b_ub=np.zeros(n), A_eq=a_eq, b_eq=t,
                  bounds=[(0, None)] * (n + 1), method="highs")
    if res.status != 0:  # pragma: no cover - the observed table itself is feasible
        return 0.0, np.zeros(n)
    return float(-res.fun), res.x[:n]


def _forced_zero(A: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Cells that are 0 in every table with margins t (the complement of the facial set)."""
    n = A.shape[0]
    free = np.ones(n, dtype=bool)
    can_be_positive = np.zeros(n, dtype=bool)
    a_eq = np.column_stack([A.T, np.zeros((A.shape[1], n))])
    # maximise the sum of u_i <= min(x_i, 1) over the cells not yet shown positive;
    # each round marks at least one more cell or proves the rest forced to 0
    for _ in range(n):
        c = np.concatenate([np.zeros(n), -free.astype(float)])
        a_ub = np.column_stack([-np.eye(n), np.eye(n)])
        res = linprog(c, A_ub=a_ub, b_ub=np.zeros(n), A_eq=a_eq, b_eq=t,
                      bounds=[(0, None)] * n + [(0, 1)] * n, method="highs")
        if res.status != 0:  # pragma: no cover
            break
        newly = free & (res.x[n:] > 1e-9)
        if not newly.any():
            break
        can_be_positive |= newly
        free &= ~newly
    return ~can_be_positive


def _pattern_names(lists: Sequence[str], z: np.ndarray) -> list[str]:
    return ["+".join(lists[int(k)] for k in np.flatnonzero(row)) for row in z]


def _margin_ok(table: CaptureTable, interactions: Sequence[Interaction]) -> tuple[bool, bool, np.ndarray, np.ndarray, tuple]:
    pm, cm, empty = model_masks(table, interactions)
    A = design_matrix(table.lists)[cm][:, pm]
    t = A.T @ table.counts[cm]
    s, _ = _lp_margin(A, t)
    exists = s > 1e-9 * max(1.0, float(table.counts.max()))
    identifiable = bool(np.linalg.matrix_rank(A) == A.shape[1])
    return exists, identifiable, A, t, empty


def check_model(table: CaptureTable, interactions: Sequence[Interaction]) -> Identifiability:
    """Check existence and identifiability of the MLE of one model on one table.

    Parameters
    ----------
    table : CaptureTable
    interactions : sequence of (str, str)

    Returns
    -------
    Identifiability
        With a message naming the interaction that cannot be estimated and why.

    Notes
    -----
    The linear programme (Fienberg and Rinaldo 2012, p. 3, as corrected in SparseMSE):
    maximise :math:`s` subject to :math:`X^T x = X^T y`, :math:`x_i \\ge s`,
    :math:`x \\ge 0`, over the used cells. :math:`s^* = 0` means that every table with
    the observed margins has a zero in some cell: the likelihood increases without
    bound towards a fitted 0 there, and some coefficients run to :math:`\\pm\\infty`.
    The interactions blamed are those whose removal alone makes :math:`s^* > 0`.

    References
    ----------
    Fienberg, S. E. and Rinaldo, A. (2012). Maximum likelihood estimation in log-linear
    models. Annals of Statistics 40(2), 996-1023.
    Chan, L., Silverman, B. W. and Vincent, K. (2021). Multiple systems estimation for
    sparse capture data: inferential challenges when there are nonoverlapping lists.
    Journal of the American Statistical Association 116(535), 1297-1306.
    """
    interactions = tuple(interactions)
    exists, identifiable, A, t, empty = _margin_ok(table, interactions)
    lists = table.lists
    if exists and identifiable:
        return Identifiability(True, True, empty_overlaps=empty)
    zero: tuple[str, ...] = ()
    blamed: list[Interaction] = []
    aliased: tuple[str, ...] = ()
    parts = []
    if not exists:
        _, cm, _ = model_masks(table, interactions)
        forced = _forced_zero(A, t)
        zero = tuple(_pattern_names(lists, table.patterns[cm][forced]))
        blamed = [p for p in interactions if p not in empty and _margin_ok(
            table, [q for q in interactions if q != p])[0]]
        who = (f"interaction(s) {', '.join(f'{a}:{b}' for a, b in blamed)}" if blamed
               else "the model")
        parts.append(
            f"the maximum likelihood estimate does not exist: with {who}, the observed "
            f"margins force the expected count of pattern(s) {', '.join(zero[:6])}"
            f"{' ...' if len(zero) > 6 else ''} to 0 (Fienberg-Rinaldo linear programme), "
            "so some coefficients are infinite"
            + (f"; drop {'it' if len(blamed) == 1 else 'one of them'}" if blamed else "")
        )
    if not identifiable:
        pm, _, _ = model_masks(table, interactions)
        names = [n for n, keep in zip(term_names(lists), pm, strict=True) if keep]
        _, sv, vt = np.linalg.svd(A)
        null = vt[-1] if len(sv) < A.shape[1] or sv[-1] < 1e-9 * sv[0] else np.zeros(A.shape[1])
        aliased = tuple(n for n, v in zip(names, null, strict=True) if abs(v) > 1e-8)
        pairs = [p for p in interactions if f"{p[0]}:{p[1]}" in aliased]
        blamed += [p for p in pairs if p not in blamed]
        parts.append(
            f"the model is not identifiable: the terms {', '.join(aliased)} are linearly "
            "dependent on the patterns left"
            + (f" after removing those of the never-overlapping "
               f"{', '.join(f'{a}:{b}' for a, b in empty)}" if empty else "")
            + "; drop one of the interactions among them"
        )
    return Identifiability(exists, identifiable, empty_overlaps=empty, zero_patterns=zero,
                           blamed=tuple(blamed), aliased=aliased, message="; ".join(parts) + ".")


class ModelChecker:
    """Cached :func:`check_model` for the many models of a selection on one table.

    If the MLE exists for a model, it exists for every sub-model with the same
    never-overlapping pairs (the same cells): dropping a column of the design only
    removes constraints from the linear programme. So once the model with every
    overlapping pair passes, its sub-models need only the rank check.
    """

    def __init__(self, table: CaptureTable):
        self.table = table
        self._known: dict[frozenset, Identifiability] = {}
        self._existing: list[tuple[frozenset, frozenset]] = []  # (model, its empty pairs)
        overlapping = tuple(p for p in all_pairs(table.lists) if table.overlap(*p) > 0)
        if _margin_ok(table, overlapping)[0]:
            self._existing.append((frozenset(overlapping), frozenset()))

    def __call__(self, interactions: Sequence[Interaction]) -> Identifiability:
        key = frozenset(interactions)
        if key in self._known:
            return self._known[key]
        pm, cm, empty = model_masks(self.table, tuple(interactions))
        covered = any(key <= m and e == frozenset(empty) for m, e in self._existing)
        A = design_matrix(self.table.lists)[cm][:, pm]
        if covered and np.linalg.matrix_rank(A) == A.shape[1]:
            result = Identifiability(True, True, empty_overlaps=empty)
        else:
            result = check_model(self.table, tuple(interactions))
        if result.exists:
            self._existing.append((key, frozenset(empty)))
        self._known[key] = result
        return result
