"""Replicate schemes built from a design: jackknife (JK1, JKn), BRR and Fay, bootstrap
(Canty-Davison, Rao-Wu), successive difference replication (R's ``as.svrepdesign``).

Each builder gives the PSU factors (R x P) with R's conventions; the formulas are in
:func:`flestimate.design.replicate.replicate_design`.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from flestimate.design.hadamard import hadamard
from flestimate.design.kernel import first_rows
from flestimate.design.replicate.factors import DenseFactors, Factors, JackknifeFactors
from flestimate.design.structure import _CERTAINTY_TOL, DesignStructure
from flestimate.errors import (
    DesignError,
    FlestimateWarning,
    ValidationError,
    first_values,
    strata_have,
)

__all__ = ["check_rho", "replicate_factors"]


def _warn(msg: str) -> None:
    # _warn, the scheme, replicate_factors, replicate_design, then its caller
    warnings.warn(msg, FlestimateWarning, stacklevel=5)


def _jackknife(design: Any, method: str) -> tuple[JackknifeFactors, float, np.ndarray]:
    s: DesignStructure = design.structure
    H = s.n_strata
    P = s.n_psus
    f = s.fpc1
    certain = 1.0 - f < _CERTAINTY_TOL
    n_h = s.n_psu
    if method == "jk1":
        if s.n_strata > 1 or design.spec.get("strata"):
            raise DesignError(
                "method='jk1' is for unstratified designs; this design has strata "
                f"({design.spec.get('strata')!r}). Use method='jkn' (delete one PSU within "
                "strata)."
            )
    elif not design.spec.get("strata"):
        raise DesignError(
            f"method={method!r} needs a stratified design; this one has no strata. Use "
            "method='jk1' or 'bootstrap' for an unstratified design."
        )
    jk = (n_h >= 2) & ~certain
    lone = (n_h == 1) & ~certain
    rule = s.lonely_psu
    adjust = lone & (rule == "adjust")
    if lone.any() and rule == "fail":  # the design already refuses this; kept for safety
        raise DesignError(
            f"{strata_have(int(lone.sum()))} a single PSU (first: "
            f"{first_values(s.strata_labels[np.flatnonzero(lone)][:5])}). Choose lonely_psu= "
            "when building the design."
        )
    if method == "jk1" and lone.any():
        raise DesignError(
            "method='jk1' needs at least two PSUs; the design has one. A single PSU gives "
            "no variance estimate."
        )
    # replicates in the order of the PSU codes (strata, then PSUs)
    psu_in_jk = jk[s.psu_stratum]
    drop = np.flatnonzero(psu_in_jk)
    rep_stratum = s.psu_stratum[drop]
    nh = n_h[rep_stratum].astype(np.float64)
    mult = nh / (nh - 1.0)
    rscales = (1.0 - f[rep_stratum]) * (nh - 1.0) / nh
    adj_strata = np.flatnonzero(adjust)
    if adj_strata.size:
        # R's jknweights: zero the lone stratum, others x H/(H-1), rscale (H-1)/H
        # (replicates in the order of the strata, as R)
        order = np.argsort(np.concatenate([rep_stratum, adj_strata]), kind="stable")
        rep_stratum = np.concatenate([rep_stratum, adj_strata])[order]
        drop = np.concatenate([drop, np.full(adj_strata.size, -1)])[order]
        mult = np.concatenate([mult, np.full(adj_strata.size, H / (H - 1.0))])[order]
        rscales = np.concatenate([rscales, np.full(adj_strata.size, (H - 1.0) / H)])[order]
    R = rep_stratum.size
    if R == 0:
        raise DesignError(
            "every stratum was sampled exhaustively (fpc equal to the sample size) or has a "
            "single PSU removed by the lonely-PSU rule, so there are no jackknife replicates "
            "and no sampling variance."
        )
    scale = 1.0
    if method == "jk1":
        scale = float(rscales[0])
        rscales = np.ones(R)
    elif rule == "average" and R < P:
        scale = P / R
    fac = JackknifeFactors(
        psu_stratum=s.psu_stratum,
        n_strata=H,
        stratum=rep_stratum.astype(np.int64),
        drop=drop.astype(np.int64),
        mult=mult,
        jk_strata=jk,
        adjust_strata=adjust,
    )
    return fac, scale, rscales


def _brr(design: Any, rho: float) -> np.ndarray:
    s: DesignStructure = design.structure
    if not design.spec.get("strata"):
        raise DesignError(
            "BRR needs a stratified design with two PSUs in every stratum; this one has no "
            "strata. Use method='jk1' or 'bootstrap'."
        )
    bad = np.flatnonzero(s.n_psu != 2)
    if bad.size:
        labels = s.strata_labels[bad]
        counts = s.n_psu[bad]
        shown = ", ".join(
            f"{lab!r} ({c} PSUs)" for lab, c in zip(labels[:5], counts[:5], strict=False)
        )
        raise DesignError(
            f"BRR needs exactly two PSUs in every stratum; {bad.size} strata of "
            f"{design.spec.get('strata')!r} do not (first: {shown}"
            f"{', ...' if bad.size > 5 else ''}). Group PSUs into variance strata of two "
            "(pairs of similar PSUs) in a new column and pass it as strata=, or use "
            "method='jkn' or 'bootstrap'."
        )
    if np.any(s.fpc1 > 0):
        _warn("BRR and Fay replicates ignore the finite population correction (as R survey).")
    H = s.n_strata
    first = first_rows(s.psu, s.n_psus)
    # R's brrweights: strata ordered by their labels as text, PSUs by first appearance
    text = np.array([str(v) for v in s.strata_labels], dtype=object)
    stratum_rank = np.empty(H, dtype=np.int64)
    stratum_rank[np.argsort(text, kind="stable")] = np.arange(H)
    order = np.lexsort((first, stratum_rank[s.psu_stratum]))
    is_first = np.zeros(s.n_psus, dtype=bool)
    is_first[order[0::2]] = True
    had = hadamard(H).astype(np.float64)
    row = 1 + stratum_rank[s.psu_stratum]  # (P,)
    plus = had[row, :].T  # (R, P): 1 where the first PSU of the pair gets 2 - rho
    half = np.where(is_first[None, :], plus, 1.0 - plus)
    return half * (2.0 - rho) + (1.0 - half) * rho


def _stratum_slots(psu_stratum: np.ndarray, slots_per_stratum: np.ndarray, n_h: np.ndarray):
    """Draw slots: for each stratum h, ``slots_per_stratum[h]`` slots, and the offsets
    of its PSUs in the PSU order sorted by stratum."""
    order = np.argsort(psu_stratum, kind="stable")
    offsets = np.concatenate([[0], np.cumsum(n_h)[:-1]])
    slot_stratum = np.repeat(np.arange(n_h.size), slots_per_stratum)
    return order, offsets, slot_stratum


def _wr_counts(
    s: DesignStructure, B: int, draws: np.ndarray, rng: np.random.Generator, strata: np.ndarray
) -> np.ndarray:
    """Counts (B, P) of ``draws[h]`` with-replacement draws among the PSUs of each stratum
    in ``strata`` (bool (H,)); other strata get 0."""
    n_h = s.n_psu
    use = np.where(strata, draws, 0)
    order, offsets, slot_stratum = _stratum_slots(s.psu_stratum, use, n_h)
    S = slot_stratum.size
    P = s.n_psus
    if S == 0:
        return np.zeros((B, P))
    u = rng.random((B, S))
    pick = offsets[slot_stratum][None, :] + np.floor(u * n_h[slot_stratum][None, :]).astype(
        np.int64
    )
    psu = order[pick]
    code = (np.arange(B)[:, None] * P + psu).ravel()
    return np.bincount(code, minlength=B * P).reshape(B, P).astype(np.float64)


def _wor_counts(
    s: DesignStructure, B: int, rng: np.random.Generator, strata: np.ndarray
) -> np.ndarray:
    """Counts (B, P) of n_h draws without replacement from a pseudo-population of N_h
    copies of the stratum's PSUs (R's ``bootstratum`` with ``popsize``)."""
    P = s.n_psus
    out = np.zeros((B, P))
    idx = np.flatnonzero(strata)
    if idx.size == 0:
        return out
    n_h = s.n_psu
    order = np.argsort(s.psu_stratum, kind="stable")
    offsets = np.concatenate([[0], np.cumsum(n_h)[:-1]])
    N_h = np.floor(n_h / np.where(s.fpc1 > 0, s.fpc1, 1.0) + 1e-9).astype(np.int64)
    # copies of each PSU in the pseudo-population: N_h // n_h, plus one for the first
    # N_h % n_h PSUs of a random order (R shuffles the PSUs, then repeats them)
    key = rng.random(P) + s.psu_stratum  # random order within strata
    shuffled = np.argsort(key, kind="stable")
    pos = np.empty(P, dtype=np.int64)
    pos[shuffled] = np.arange(P) - offsets[s.psu_stratum[shuffled]]
    h_of = s.psu_stratum
    copies = N_h[h_of] // n_h[h_of] + (pos < (N_h[h_of] % n_h[h_of]))
    # sequential hypergeometric draws over the PSUs of each stratum, vectorised over
    # strata and replicates (loop over the position within the stratum)
    remaining_N = np.repeat(N_h[idx][None, :], B, axis=0)
    remaining_n = np.repeat(n_h[idx][None, :], B, axis=0)
    for j in range(int(n_h[idx].max())):
        has = j < n_h[idx]
        cols = idx[has]
        p = order[offsets[cols] + j]
        good = np.repeat(copies[p][None, :], B, axis=0)
        bad = remaining_N[:, has] - good
        c = rng.hypergeometric(good, bad, remaining_n[:, has])
        out[:, p] = c
        remaining_N[:, has] -= good
        remaining_n[:, has] -= c
    return out


def _bootstrap(design: Any, B: int, rng: np.random.Generator) -> tuple[np.ndarray, float]:
    s: DesignStructure = design.structure
    n_h = s.n_psu
    nbar = 1.0 / np.mean(1.0 / n_h)
    if nbar <= 1.0:
        raise DesignError(
            "every stratum has a single PSU, so the bootstrap has no variance to estimate "
            "(R's scale n/(n-1) is infinite). Collapse strata first."
        )
    wor = s.fpc1 > 0
    F = _wr_counts(s, B, n_h, rng, ~wor) + _wor_counts(s, B, rng, wor)
    scale = nbar / ((nbar - 1.0) * (B - 1.0))
    return F, scale


def _subbootstrap(design: Any, B: int, rng: np.random.Generator) -> np.ndarray:
    s: DesignStructure = design.structure
    n_h = s.n_psu
    if np.any(s.fpc1 > 0):
        _warn("the subbootstrap ignores the finite population correction (as R survey).")
    ok = n_h >= 2
    counts = _wr_counts(s, B, n_h - 1, rng, ok)
    nh = n_h[s.psu_stratum].astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        mult = np.where(nh > 1, nh / (nh - 1.0), 1.0)
    F = counts * mult[None, :]
    # strata with one PSU keep their weight (no contribution), like the lonely-PSU rules
    F[:, ~ok[s.psu_stratum]] = 1.0
    return F


def _sdr(design: Any, R: int) -> np.ndarray:
    s: DesignStructure = design.structure
    if np.any(s.fpc1 > 0):
        _warn("SDR replicates ignore the finite population correction.")
    had = hadamard(R - 1)
    if had.shape[0] != R:
        raise ValidationError(
            f"n_replicates={R} is not an order of Hadamard matrix flestimate builds; the "
            f"nearest is {had.shape[0]}. Use a multiple of 4 such as 80."
        )
    S = 2.0 * had.astype(np.float64) - 1.0
    P = s.n_psus
    first = first_rows(s.psu, P)
    order = np.lexsort((first, s.psu_stratum))  # sort order: strata, then appearance
    g = np.empty(P, dtype=np.int64)
    g[order] = np.arange(P)
    # next PSU in sort order within the stratum, cyclically
    n_h = s.n_psu
    offsets = np.concatenate([[0], np.cumsum(n_h)[:-1]])
    h = s.psu_stratum
    within = g - offsets[h]
    nxt_pos = offsets[h] + (within + 1) % n_h[h]
    nxt = order[nxt_pos]
    row_a = 1 + g % (R - 1)  # the all-ones row 0 is not used
    row_b = row_a[nxt]
    c = 2.0**-1.5
    return 1.0 + c * (S[row_a, :].T - S[row_b, :].T)


def _rng(rng: Any) -> np.random.Generator:
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or isinstance(rng, (int, np.integer)):
        return np.random.default_rng(rng)
    raise ValidationError(f"rng={rng!r} must be an int seed, a numpy.random.Generator or None.")


def check_rho(rho: Any) -> float:
    try:
        r = float(rho)
    except (TypeError, ValueError):
        r = np.nan
    if not (0.0 <= r < 1.0):
        raise ValidationError(
            f"rho={rho!r} is outside [0, 1). Fay's coefficient multiplies the weights of the "
            "PSUs left out of a half-sample; use a value such as 0.3 or 0.5 (0 is BRR)."
        )
    return r


def replicate_factors(
    design: Any,
    method: str,
    *,
    n_replicates: int | None,
    rho: float | None,
    rng: Any,
) -> tuple[Factors, float, np.ndarray, float | None]:
    """The replicate factors of ``design``'s PSUs by ``method``, with the scale, the
    rscales and Fay's rho (formulas in
    :func:`flestimate.design.replicate.replicate_design`).

    ``method`` is one of
    :data:`~flestimate.design.replicate.registry.DESIGN_METHODS` (checked by the caller).
    """
    if n_replicates is not None:
        if isinstance(n_replicates, bool) or not isinstance(n_replicates, (int, np.integer)):
            raise ValidationError(f"n_replicates={n_replicates!r} must be an integer.")
        n_replicates = int(n_replicates)
    s: DesignStructure = design.structure
    rscales: np.ndarray
    factors: Factors
    if method in ("jk1", "jkn"):
        factors, scale, rscales = _jackknife(design, method)
        _check_fixed(method, n_replicates, factors.n_replicates)
    elif method in ("brr", "fay"):
        if method == "fay" and rho is None:
            raise ValidationError(
                "method='fay' needs rho=, Fay's coefficient in [0, 1) (e.g. 0.5)."
            )
        r = 0.0 if method == "brr" else check_rho(rho)
        F = _brr(design, r)
        _check_fixed(method, n_replicates, F.shape[0])
        factors = DenseFactors(F)
        scale = 1.0 / (F.shape[0] * (1.0 - r) ** 2)
        rscales = np.ones(F.shape[0])
        rho = r if method == "fay" else None
    elif method in ("bootstrap", "subbootstrap"):
        B = 50 if n_replicates is None else n_replicates
        if B < 2:
            raise ValidationError(f"n_replicates={B} must be at least 2.")
        gen = _rng(rng)
        if method == "bootstrap":
            F, scale = _bootstrap(design, B, gen)
        else:
            F = _subbootstrap(design, B, gen)
            scale = 1.0 / (B - 1.0)
        factors = DenseFactors(F)
        rscales = np.ones(B)
    else:  # sdr
        R = n_replicates if n_replicates is not None else hadamard(min(s.n_psus, 79)).shape[0]
        if R < 2:
            raise ValidationError(f"n_replicates={R} must be at least 2.")
        F = _sdr(design, R)
        factors = DenseFactors(F)
        scale = 4.0 / R
        rscales = np.ones(R)
    return factors, float(scale), np.asarray(rscales, dtype=np.float64), rho


def _check_fixed(method: str, given: int | None, actual: int) -> None:
    if given is not None and given != actual:
        raise ValidationError(
            f"n_replicates={given} does not fit method={method!r}: this design gives "
            f"{actual} replicates. Leave n_replicates unset for this method."
        )
