"""The sample: a stratified two-stage design drawn from the population.

Enumeration areas by systematic PPS within strata (certainty areas first), households
by simple random sampling within each selected area, household nonresponse by stratum,
and the base and nonresponse-adjusted weights. :func:`resample` repeats the same design
on a kept population (:meth:`flestimate.SimulatedSurvey.draw_samples`).
"""

from __future__ import annotations

import types
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

from flestimate.simulation.parameters import RESPONSE_RATE
from flestimate.simulation.population import PopulationFrame


def _group_starts(sorted_codes: np.ndarray, n_groups: int) -> np.ndarray:
    return np.searchsorted(sorted_codes, np.arange(n_groups), side="left")


def _pps_systematic(
    rng: np.random.Generator, stratum: np.ndarray, size: np.ndarray, n_h: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Systematic PPS selection without replacement within strata, certainty units first.

    Returns ``(selected, pi)``: a boolean mask and the first-stage inclusion probabilities.

    Notes
    -----
    Units with ``n_h * x_i / X_h >= 1`` are taken with certainty (pi = 1); they are
    removed and the rule is re-applied to the rest with ``n_h`` reduced, until no
    remaining unit exceeds 1. The other units get ``pi_i = n_h' x_i / X_h'`` and
    are selected by systematic sampling from a random order within the stratum
    (one random start per stratum), which selects exactly ``n_h'`` of them.

    References
    ----------
    Cochran, W. G. (1977). *Sampling Techniques*, 3rd ed., sections 9A.5-9A.6.
    """
    n_strata = n_h.size
    size = size.astype(float)
    cert = np.zeros(size.size, dtype=bool)
    while True:
        n_rem = n_h - np.bincount(stratum, weights=cert, minlength=n_strata)
        tot = np.bincount(stratum, weights=np.where(cert, 0.0, size), minlength=n_strata)
        denom = np.where(tot > 0, tot, 1.0)
        pi = n_rem[stratum] * size / denom[stratum]
        new = ~cert & (pi >= 1.0)
        if not new.any():
            break
        cert |= new
    pi = np.where(cert, 1.0, pi)
    # random order within strata (strata stay contiguous and in order)
    order = np.argsort(stratum + rng.random(size.size), kind="stable")
    pi_o = np.where(cert[order], 0.0, pi[order])
    s_o = stratum[order]
    cum = np.cumsum(pi_o)
    starts = _group_starts(s_o, n_strata)
    base = np.where(starts > 0, cum[np.maximum(starts - 1, 0)], 0.0)
    c_hi = cum - base[s_o]
    c_lo = c_hi - pi_o
    u = rng.random(n_strata)[s_o]
    hits = np.floor(c_hi - u + 1e-12) - np.floor(c_lo - u + 1e-12)
    selected = np.zeros(size.size, dtype=bool)
    selected[order] = hits >= 1
    selected |= cert
    return selected, pi


@dataclass
class SampleDraw:
    ea_selected: np.ndarray
    ea_pi: np.ndarray
    hh_status: np.ndarray  # int8 0 not selected, 1 selected non-respondent, 2 respondent
    hh_w_base: np.ndarray  # float, nan when not selected
    hh_w_final: np.ndarray  # float, nan unless responding
    response_rate: np.ndarray  # (H,)


def draw_sample(rng: np.random.Generator, fr: PopulationFrame, m: int) -> SampleDraw:
    n_strata = fr.stratum_region.size
    ea_sel, ea_pi = _pps_systematic(rng, fr.ea_stratum, fr.ea_households, fr.n_sample_psu)
    # SRS of m households in each selected EA: rank households by a random key within the EA
    hh_in = np.flatnonzero(ea_sel[fr.hh_ea])
    ea_of = fr.hh_ea[hh_in]
    order = np.argsort(ea_of + rng.random(hh_in.size), kind="stable")
    ea_sorted = ea_of[order]
    first = np.searchsorted(ea_sorted, ea_sorted, side="left")
    rank = np.arange(hh_in.size) - first
    chosen = hh_in[order[rank < m]]
    chosen.sort()

    rr = np.where(fr.stratum_urban == 1, RESPONSE_RATE[0], RESPONSE_RATE[1]) + np.where(
        fr.stratum_urban == 1,
        rng.uniform(-0.06, 0.06, n_strata),
        rng.uniform(-0.03, 0.03, n_strata),
    )
    ch_ea = fr.hh_ea[chosen]
    ch_stratum = fr.ea_stratum[ch_ea]
    responded = rng.random(chosen.size) < rr[ch_stratum]
    w_base = fr.ea_households[ch_ea] / (ea_pi[ch_ea] * m)
    sel_tot = np.bincount(ch_stratum, weights=w_base, minlength=n_strata)
    resp_tot = np.bincount(ch_stratum, weights=w_base * responded, minlength=n_strata)
    adjust = np.where(resp_tot > 0, sel_tot / np.where(resp_tot > 0, resp_tot, 1.0), np.nan)

    n_hh = fr.hh_ea.size
    hh_status = np.zeros(n_hh, dtype=np.int8)
    hh_status[chosen] = np.where(responded, 2, 1)
    hh_w_base = np.full(n_hh, np.nan)
    hh_w_base[chosen] = w_base
    hh_w_final = np.full(n_hh, np.nan)
    hh_w_final[chosen[responded]] = (w_base * adjust[ch_stratum])[responded]
    return SampleDraw(ea_sel, ea_pi, hh_status, hh_w_base, hh_w_final, rr)


def resample(
    pop: pd.DataFrame, m: int, gen: np.random.Generator, n_samples: int
) -> Iterator[pd.DataFrame]:
    """Samples from a kept population (see :meth:`SimulatedSurvey.draw_samples`)."""
    psu = pop["psu"].to_numpy().astype(np.int64) - 1
    hh = pop["hhid"].to_numpy().astype(np.int64) - 1
    stratum = pop["stratum"].to_numpy().astype(np.int64) - 1
    n_ea, n_hh, n_strata = int(psu.max()) + 1, int(hh.max()) + 1, int(stratum.max()) + 1
    ea_stratum = np.zeros(n_ea, dtype=np.int64)
    ea_stratum[psu] = stratum
    hh_ea = np.zeros(n_hh, dtype=np.int64)
    hh_ea[hh] = psu
    stratum_urban = np.ones(n_strata, dtype=np.int8)
    stratum_urban[stratum] = pop["urban"].to_numpy()
    ea_selected = np.zeros(n_ea, dtype=bool)
    ea_selected[psu[pop["selected"].to_numpy() > 0]] = True
    frame = types.SimpleNamespace(
        stratum_region=np.zeros(n_strata, dtype=np.int8),
        stratum_urban=stratum_urban,
        n_sample_psu=np.bincount(ea_stratum[ea_selected], minlength=n_strata),
        ea_stratum=ea_stratum,
        ea_households=np.bincount(hh_ea, minlength=n_ea),
        hh_ea=hh_ea,
    )
    n_frame_psu = np.bincount(ea_stratum, minlength=n_strata)
    keep = [c for c in pop.columns if c not in ("selected", "w_base")]
    for _ in range(n_samples):
        draw = draw_sample(gen, frame, m)  # type: ignore[arg-type]
        rows = np.flatnonzero(draw.hh_status[hh] == 2)
        out = pop[keep].take(rows).reset_index(drop=True)
        out["w_base"] = draw.hh_w_base[hh[rows]]
        out["w_final"] = draw.hh_w_final[hh[rows]]
        out["n_psu_stratum"] = n_frame_psu[stratum[rows]]
        yield out
