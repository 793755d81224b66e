"""The synthetic population: strata, enumeration areas, households, persons, work and
the latent forced-labour status of every person (see :func:`flestimate.simulate`, Notes).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from flestimate.simulation.parameters import (
    CHILD_COERCION_RR,
    CHILD_WORST_FORM_RR,
    HH_MIGRANT_PROBS,
    LAMBDA_CHILDREN,
    LAMBDA_OTHER_ADULTS,
    MIGRANT_RR,
    P_CHILD_HAS_PARENT,
    P_SPOUSE,
    RESPONSE_RATE,
    SECTOR_RR,
    SECTOR_WEIGHTS,
    SECTORS,
)


def categorical(rng: np.random.Generator, probs: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Draw one category per unit from the probability row ``probs[group[i]]``.

    One uniform per unit and one ``searchsorted`` on the cumulative rows shifted by
    the row number (row g lives in (g, g+1]), so mixed groups cost one pass.
    """
    probs = np.asarray(probs, dtype=float)
    if probs.ndim == 1:
        probs = probs[None, :]
    probs = probs / probs.sum(axis=1, keepdims=True)
    n_groups, k = probs.shape
    cum = np.cumsum(probs, axis=1)
    cum[:, -1] = 1.0
    flat = (cum + np.arange(n_groups)[:, None]).ravel()
    group = np.asarray(group, dtype=np.int64)
    u = rng.random(group.size) + group
    idx = np.searchsorted(flat, u, side="right")
    return np.minimum(idx - group * k, k - 1).astype(np.int8)


def _sector_table() -> np.ndarray:
    rows = []
    for key in ("urban_male", "urban_female", "urban_child", "rural_male", "rural_female",
                "rural_child"):  # fmt: skip
        w = SECTOR_WEIGHTS[key]
        rows.append([float(w.get(s, 0.0)) for s in SECTORS])
    return np.array(rows)


# --------------------------------------------------------------------------------------------
# The population
# --------------------------------------------------------------------------------------------
@dataclass
class PopulationFrame:
    """Compact arrays of the synthetic population, from strata down to persons."""

    # strata
    stratum_region: np.ndarray  # (H,) 1..R
    stratum_urban: np.ndarray  # (H,) 1/2
    n_sample_psu: np.ndarray  # (H,) EAs to select
    # EAs (PSUs), stratum-contiguous
    ea_stratum: np.ndarray  # (E,) 0..H-1
    ea_households: np.ndarray  # (E,) int32
    ea_hotspot: np.ndarray  # (E,) bool
    ea_risk: np.ndarray  # (E,) float
    # households, EA-contiguous
    hh_ea: np.ndarray  # (M,) int32
    hh_size: np.ndarray  # (M,) int8, persons 5+
    hh_start: np.ndarray  # (M,) int64, first person
    # persons, household-contiguous
    p_hh: np.ndarray  # (N,) int32
    age: np.ndarray  # int8
    sex: np.ndarray  # int8 1/2
    migrant: np.ndarray  # int8 1..3
    worked: np.ndarray  # bool
    sector: np.ndarray  # int8 index into SECTORS, -1 not working
    status_emp: np.ndarray  # int8 1..4, 0 not working
    parent: np.ndarray  # int32 person index of the linked parent, -1 none (children only)
    employer_parents: np.ndarray  # int8 0 n/a, 1 parents, 2 third party (working children)
    fl: np.ndarray  # bool
    form: np.ndarray  # int8 0 none, 1 exploitation, 2 CSE, 3 state
    child_cat: np.ndarray  # int8 0 none, 1..4 = i..iv
    dur: np.ndarray  # int8 months 1..12 for people in forced labour, 0 otherwise


def age_group_codes(age: np.ndarray) -> np.ndarray:
    return (1 + (age >= 18).astype(np.int8) + (age >= 25) + (age >= 35) + (age >= 55)).astype(
        np.int8
    )


def _calibrate_scale(rr: np.ndarray, n_adults: int, prevalence: float) -> float:
    """Scale c with sum(min(1, c * rr)) = prevalence * n_adults (bisection if the cap binds)."""
    total_rr = float(rr.sum())
    target = prevalence * n_adults
    if total_rr <= 0:
        return 0.0
    c = target / total_rr
    if c * float(rr.max()) <= 1.0:
        return c
    if target >= rr.size:  # more than every worker: everyone who worked is in forced labour
        return float(1.0 / rr[rr > 0].min())
    lo, hi = 0.0, float(1.0 / rr[rr > 0].min())
    while hi - lo > 1e-12 * hi:
        mid = 0.5 * (lo + hi)
        if np.minimum(mid * rr, 1.0).sum() < target:
            lo = mid
        else:
            hi = mid
    return hi


def draw_population(
    rng: np.random.Generator,
    *,
    respondents: int,
    n_regions: int,
    households_per_psu: int,
    psu_fraction: float,
    prevalence: float,
    hotspot_share: float,
    hotspot_risk: float,
) -> PopulationFrame:
    m = households_per_psu
    # ---- strata and their sizes ---------------------------------------------------------
    region_share = rng.dirichlet(np.full(n_regions, 6.0))
    urban_share = rng.uniform(0.25, 0.65, size=n_regions)
    stratum_region = np.repeat(np.arange(1, n_regions + 1), 2).astype(np.int8)
    stratum_urban = np.tile(np.array([1, 2], dtype=np.int8), n_regions)
    share = np.column_stack([region_share * urban_share, region_share * (1 - urban_share)]).ravel()
    mean_persons = np.array(
        [1 + P_SPOUSE + LAMBDA_OTHER_ADULTS[u] + LAMBDA_CHILDREN[u] for u in (0, 1)]
    )
    per_psu = m * mean_persons[stratum_urban - 1] * np.array(RESPONSE_RATE)[stratum_urban - 1]
    n_psu_total = respondents / float((share * per_psu).sum())
    n_sample_psu = np.maximum(2, np.rint(n_psu_total * share)).astype(np.int64)
    n_frame_psu = np.maximum(n_sample_psu, np.rint(n_sample_psu / psu_fraction)).astype(np.int64)

    # ---- enumeration areas --------------------------------------------------------------
    n_ea = int(n_frame_psu.sum())
    ea_stratum = np.repeat(np.arange(stratum_region.size), n_frame_psu).astype(np.int32)
    extra = np.rint(rng.lognormal(np.log(18.0), 0.6, size=n_ea))
    ea_households = (m + 2 + extra).astype(np.int32)
    ea_hotspot = rng.random(n_ea) < hotspot_share
    ea_risk = rng.lognormal(-0.5 * 0.6**2, 0.6, size=n_ea) * np.where(ea_hotspot, hotspot_risk, 1)
    ea_urban = stratum_urban[ea_stratum]

    # ---- households ---------------------------------------------------------------------
    hh_ea = np.repeat(np.arange(n_ea, dtype=np.int32), ea_households)
    n_hh = hh_ea.size
    u_idx = (ea_urban[hh_ea] - 1).astype(np.int64)  # 0 urban, 1 rural
    spouse = rng.random(n_hh) < P_SPOUSE
    n_other = np.minimum(rng.poisson(np.array(LAMBDA_OTHER_ADULTS)[u_idx]), 4)
    n_child = np.minimum(rng.poisson(np.array(LAMBDA_CHILDREN)[u_idx]), 7)
    hh_size = (1 + spouse + n_other + n_child).astype(np.int8)
    hh_mig = (categorical(rng, HH_MIGRANT_PROBS, u_idx) + 1).astype(np.int8)
    head_age = np.minimum(22 + np.rint(rng.gamma(2.5, 9.0, size=n_hh)), 90).astype(np.int16)
    head_male = rng.random(n_hh) < np.where(spouse, 0.85, 0.55)
    spouse_age = np.clip(head_age + np.rint(rng.normal(-2.0, 4.0, size=n_hh)), 20, 95).astype(
        np.int16
    )

    # ---- persons ------------------------------------------------------------------------
    hh_start = np.zeros(n_hh, dtype=np.int64)
    np.cumsum(hh_size[:-1], out=hh_start[1:])
    n = int(hh_start[-1] + hh_size[-1])
    p_hh = np.repeat(np.arange(n_hh, dtype=np.int32), hh_size)
    # position of the person in the household (int32 keeps the temporaries small)
    k = np.arange(n, dtype=np.int32)
    k -= hh_start.astype(np.int32)[p_hh]
    n_adults = (1 + spouse + n_other).astype(np.int8)[p_hh]
    is_head = k == 0
    is_spouse = spouse[p_hh] & (k == 1)
    is_child = k >= n_adults
    is_other = ~(is_head | is_spouse | is_child)
    del k, n_adults

    # children's linked parent (head or spouse), parents' age bounds the child's age
    n_ch = int(is_child.sum())
    ch_hh = p_hh[is_child]
    has_parent = rng.random(n_ch) < P_CHILD_HAS_PARENT
    use_spouse = spouse[ch_hh] & (rng.random(n_ch) < 0.5)
    parent_age = np.where(use_spouse, spouse_age[ch_hh], head_age[ch_hh])
    max_age = np.minimum(17, parent_age - 15)
    child_age = 5 + np.floor(rng.random(n_ch) * (max_age - 4)).astype(np.int16)
    parent = np.full(n, -1, dtype=np.int32)
    parent[is_child] = np.where(has_parent, hh_start[ch_hh] + use_spouse, -1)

    age = np.empty(n, dtype=np.int16)
    age[is_head] = head_age
    age[is_spouse] = spouse_age[p_hh[is_spouse]]
    n_oth = int(is_other.sum())
    young = rng.random(n_oth) < 0.6
    age[is_other] = np.where(
        young, rng.integers(18, 31, size=n_oth), rng.integers(55, 86, size=n_oth)
    )
    age[is_child] = child_age
    age = age.astype(np.int8)

    sex = np.where(rng.random(n) < 0.5, np.int8(1), np.int8(2))
    sex[is_head] = np.where(head_male, 1, 2)
    sex[is_spouse] = np.where(head_male[p_hh[is_spouse]], 2, 1)

    keep_status = rng.random(n) < np.where(is_child, 0.6, 0.9)
    migrant = np.where(keep_status, hh_mig[p_hh], np.int8(1))
    del keep_status

    urban = ea_urban[hh_ea[p_hh]]
    rural = urban == 2
    adult = age >= 18

    # ---- work: adults first -------------------------------------------------------------
    # probability of work by age (5..127) and sex, plus a rural supplement
    ages = np.arange(128)
    by_age = np.select(
        [ages < 12, ages < 15, ages < 18, ages < 25, ages < 55, ages < 65],
        [0.06, 0.15, 0.25, 0.55, -1.0, 0.60],
        default=0.25,
    )
    work_table = np.column_stack(
        [np.where(by_age < 0, 0.88, by_age), np.where(by_age < 0, 0.62, by_age)]
    )
    p_work = work_table[age, sex - 1]
    p_work += np.where(rural, np.where(adult, 0.04, 0.08), 0.0)
    u_work = rng.random(n)
    worked = adult & (u_work < p_work)
    # children decide later (they depend on their parent's status): keep only their part
    p_work_child = p_work[is_child]
    u_work_child = u_work[is_child]
    del p_work, u_work

    table = _sector_table()
    sector = np.full(n, -1, dtype=np.int8)
    sec_group = (np.where(adult, np.where(sex == 1, 0, 1), 2) + 3 * rural).astype(np.int8)
    aw = np.flatnonzero(worked)
    sector[aw] = categorical(rng, table, sec_group[aw])

    status = np.zeros(n, dtype=np.int8)
    status_probs = np.array(
        [[0.22, 0.03, 0.45, 0.30], [1.0, 0.0, 0.0, 0.0], [0.62, 0.04, 0.27, 0.07]]
    )
    a_sec = sector[aw]
    st_group = np.where(a_sec == SECTORS.index("A"), 0, np.where(a_sec == SECTORS.index("T"), 1, 2))
    status[aw] = categorical(rng, status_probs, st_group) + 1

    # ---- latent forced labour of adults -------------------------------------------------
    sector_rr = np.array([SECTOR_RR[s] for s in SECTORS])
    person_ea = hh_ea[p_hh]
    rr_adult = ea_risk[person_ea[aw]] * sector_rr[a_sec] * MIGRANT_RR[migrant[aw] - 1]
    c = _calibrate_scale(rr_adult, int(adult.sum()), prevalence)
    fl = np.zeros(n, dtype=bool)
    fl[aw] = rng.random(aw.size) < np.minimum(c * rr_adult, 1.0)

    form = np.zeros(n, dtype=np.int8)
    fla = np.flatnonzero(fl)
    f_sec = sector[fla]
    cse_sector = np.isin(f_sec, [SECTORS.index(s) for s in "IRS"])
    p_cse = np.where(cse_sector & (sex[fla] == 2), 0.35, np.where(cse_sector, 0.08, 0.02))
    u_form = rng.random(fla.size)
    form[fla] = np.where(u_form < 0.07, 3, np.where(u_form < 0.07 + p_cse, 2, 1))

    # ---- children's work, employer and forced labour ------------------------------------
    ch = np.flatnonzero(is_child)
    ch_parent = parent[ch]
    has_p = ch_parent >= 0
    par_fl = np.zeros(ch.size, dtype=bool)
    par_fl[has_p] = fl[ch_parent[has_p]]
    par_worked = np.zeros(ch.size, dtype=bool)
    par_worked[has_p] = worked[ch_parent[has_p]]
    # children of a parent in forced labour work more often, and mostly with that parent
    p_child_work = np.where(par_fl, np.maximum(p_work_child, 0.4), p_work_child)
    ch_worked = u_work_child < p_child_work
    worked[ch] = ch_worked
    cw = ch[ch_worked]
    cw_parent = parent[cw]
    cw_par_worked = par_worked[ch_worked]
    cw_par_fl = par_fl[ch_worked]
    p_for_parents = np.where(cw_par_fl, 0.75, 0.7)
    for_parents = cw_par_worked & (rng.random(cw.size) < p_for_parents)
    employer = np.zeros(n, dtype=np.int8)
    employer[cw] = np.where(for_parents, 1, 2)
    # sector: the parent's sector when working for parents, else the children's table
    cw_sector = categorical(rng, table, sec_group[cw])
    safe_parent = np.where(cw_parent >= 0, cw_parent, 0)
    sector[cw] = np.where(for_parents, sector[safe_parent], cw_sector)
    child_status = np.where(for_parents, 4, np.where(rng.random(cw.size) < 0.8, 1, 3)).astype(
        np.int8
    )
    status[cw] = child_status

    rr_child = ea_risk[person_ea[cw]] * sector_rr[sector[cw]] * MIGRANT_RR[migrant[cw] - 1]
    u_ch = rng.random(cw.size)
    p_iv = np.minimum(c * CHILD_WORST_FORM_RR * rr_child, 1.0)
    p_coerced = np.minimum(c * CHILD_COERCION_RR * rr_child, 1.0)
    cat_iv = u_ch < p_iv
    cat_i_ii = ~cat_iv & (u_ch < np.minimum(p_iv + p_coerced, 1.0))
    cat_iii = ~cat_iv & ~cat_i_ii & for_parents & cw_par_fl
    child_cat = np.zeros(n, dtype=np.int8)
    child_cat[cw] = np.select(
        [cat_iv, cat_i_ii & ~for_parents, cat_i_ii & for_parents, cat_iii], [4, 1, 2, 3], 0
    )
    fl[cw] = child_cat[cw] > 0
    # forms of children: CSE frequent among worst forms; category iii inherits the
    # parent's form (a parent in sexual exploitation is counted as exploitation for the child)
    u_cf = rng.random(cw.size)
    parent_form = form[safe_parent]
    ch_form = np.select(
        [cat_iv, cat_i_ii, cat_iii],
        [
            np.where(u_cf < 0.4, 2, 1),
            np.where(u_cf < 0.05, 2, 1),
            np.where(parent_form == 2, 1, parent_form),
        ],
        0,
    )
    form[cw] = ch_form

    dur = np.zeros(n, dtype=np.int8)
    fl_idx = np.flatnonzero(fl)
    dur[fl_idx] = 1 + rng.binomial(11, np.where(form[fl_idx] == 3, 0.4, 0.65))

    return PopulationFrame(
        stratum_region=stratum_region,
        stratum_urban=stratum_urban,
        n_sample_psu=n_sample_psu,
        ea_stratum=ea_stratum,
        ea_households=ea_households,
        ea_hotspot=ea_hotspot,
        ea_risk=ea_risk,
        hh_ea=hh_ea,
        hh_size=hh_size,
        hh_start=hh_start,
        p_hh=p_hh,
        age=age,
        sex=sex,
        migrant=migrant,
        worked=worked,
        sector=sector,
        status_emp=status,
        parent=parent,
        employer_parents=employer,
        fl=fl,
        form=form,
        child_cat=child_cat,
        dur=dur,
    )


