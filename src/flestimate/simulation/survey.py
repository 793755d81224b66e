"""A synthetic national forced-labour survey with known true values.

:func:`simulate` draws a whole synthetic population (persons aged 5 and over,
in households, in enumeration areas, in region x urban/rural strata), decides
who is in forced labour, draws a stratified two-stage sample from it, lets some
households refuse, and generates the answers of the responding persons to a
forced-labour module (the ILO 2012 indicators and the ICLS 2018 elements). The
answers are consistent with the latent status under the default
classification rule, so the classifier can be checked person by person, and
the population values ("truth") are known exactly, so every estimator and
confidence interval can be checked against them.

Everything is vectorised with numpy and drawn from one seeded
:class:`numpy.random.Generator`: the same seed gives identical frames.

The result is a :class:`SimulatedSurvey`; :meth:`SimulatedSurvey.write` writes
it as SPSS, Stata, CSV and Parquet files together with the population margins,
the true values and a codebook (``flestimate simulate`` on the command line).

The truth layout (``SimulatedSurvey.truth``, written as ``truth.json``)::

    {
      "description": str,
      "rule": {"framework": "ilo-2012", "strength_rule": "any",
               "penalty_scope": "any_dimension", "missing_policy": "conservative"},
      "reference_period_months": 12,
      "scale": 1000,
      "population_size": int,            # persons aged 5+
      "households": int, "psus": int,    # size of the frame
      "populations": {
        "all" | "adults" | "children": {
          "definition": str,             # "persons aged 5+", "18+", "5-17"
          "national": {"population": int, "fl": int, "prevalence_per_1000": float},
          "by": {
            "sex" | "age_group" | "region" | "migrant" | "urban": {
              "<code>": {"label": str, "population": int, "fl": int,
                         "prevalence_per_1000": float}, ...},
            "sector": {                  # among persons who worked
              "<letter>": {"label": str, "population": int (workers), "fl": int,
                           "prevalence_per_1000": float (per 1,000 workers)}, ...}
          },
          "forms": {"exploitation" | "sexual_exploitation" | "state_imposed":
                    {"fl": int, "prevalence_per_1000": float}},
          "stock": {"persons_on_any_given_day": float, "per_1000": float},
          "child_categories": {...}      # children only: "i", "ii", "iii", "iv" -> int
        }
      },
      "sample": {"respondents": int, "households_selected": int,
                 "households_responding": int, "psus_selected": int},
      "parameters": {...}                # the arguments of simulate(), seed included
    }

``prevalence_per_1000`` is always ``1000 * fl / population`` of the same entry
(``null`` when the population of the cell is 0, e.g. children aged 18-24). Sectors
with no worker are omitted.

Reproducibility: the same seed gives identical frames with the same numpy version
(numpy may change its distribution algorithms between versions). Memory: about
1.7 GB at peak for 1,000,000 respondents (a population of about 9.4 million).
"""

from __future__ import annotations

import json
import math
import types
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from flestimate.errors import ValidationError
from flestimate.io.codebook import write_codebook, write_parquet

__all__ = ["SimulatedSurvey", "simulate", "FORMATS", "INDICATOR_ITEMS"]

FORMATS = ("sav", "dta", "csv", "parquet")

REGION_NAMES = ("North", "South", "East", "West", "Centre", "Coast", "Highlands", "Lakes")

SECTORS = tuple("ABCDEFGHIJKLMNOPQRSTU")
SECTOR_LABELS = {
    "A": "Agriculture, forestry and fishing",
    "B": "Mining and quarrying",
    "C": "Manufacturing",
    "D": "Electricity, gas, steam and air conditioning supply",
    "E": "Water supply; sewerage, waste management",
    "F": "Construction",
    "G": "Wholesale and retail trade; repair of motor vehicles",
    "H": "Transportation and storage",
    "I": "Accommodation and food service activities",
    "J": "Information and communication",
    "K": "Financial and insurance activities",
    "L": "Real estate activities",
    "M": "Professional, scientific and technical activities",
    "N": "Administrative and support service activities",
    "O": "Public administration and defence; compulsory social security",
    "P": "Education",
    "Q": "Human health and social work activities",
    "R": "Arts, entertainment and recreation",
    "S": "Other service activities",
    "T": "Activities of households as employers (domestic work)",
    "U": "Activities of extraterritorial organizations and bodies",
}

INVOLUNTARINESS_ITEMS = (
    *(f"ur_i{k}" for k in range(1, 7)),
    *(f"wd_i{k}" for k in range(1, 11)),
    *(f"il_i{k}" for k in range(1, 5)),
)
PENALTY_ITEMS = tuple(f"p{k}" for k in range(1, 14))
ICLS_IW_ITEMS = tuple(f"iw{k}" for k in range(1, 10))
ICLS_C_ITEMS = tuple(f"c{k}" for k in range(1, 7))
INDICATOR_ITEMS = INVOLUNTARINESS_ITEMS + PENALTY_ITEMS + ICLS_IW_ITEMS + ICLS_C_ITEMS

SAMPLE_COLUMNS = (
    "pid", "hhid", "psu", "stratum", "region", "urban", "sex", "age", "age_group",
    "migrant", "worked", "sector", "status_emp", "w_base", "w_final", "n_psu_stratum",
    *INDICATOR_ITEMS,
    "employer_type", "parent_pid", "perp_type", "cse", "wfcl", "dur_months",
)  # fmt: skip

AGE_GROUP_LABELS = {1: "5-17", 2: "18-24", 3: "25-34", 4: "35-54", 5: "55+"}
SEX_LABELS = {1: "male", 2: "female"}
URBAN_LABELS = {1: "urban", 2: "rural"}
MIGRANT_LABELS = {1: "non-migrant", 2: "internal migrant", 3: "international migrant"}
YES_NO_LABELS = {1: "yes", 2: "no"}
ITEM_LABELS = {1: "yes", 2: "no", 8: "don't know", 9: "refused"}
STATUS_LABELS = {
    1: "employee",
    2: "employer",
    3: "own-account worker",
    4: "contributing family worker",
}
FORM_NAMES = {1: "exploitation", 2: "sexual_exploitation", 3: "state_imposed"}
FORM_LABELS = {
    0: "not in forced labour",
    1: "forced labour exploitation",
    2: "forced commercial sexual exploitation",
    3: "state-imposed forced labour",
}
CHILD_CATEGORY_LABELS = {
    0: "not a child in forced labour",
    1: "i: work for a third party under third-party coercion",
    2: "ii: work with or for parents under third-party coercion",
    3: "iii: work with or for a parent who is in forced labour",
    4: "iv: unconditional worst form of child labour",
}
DEFAULT_RULE = {
    "framework": "ilo-2012",
    "strength_rule": "any",
    "penalty_scope": "any_dimension",
    "missing_policy": "conservative",
}

_ITEM_TEXT = {
    "ur_i1": "Forced labour by birth or descent (slave or bonded status)",
    "ur_i2": "Coercive recruitment (abduction, confinement)",
    "ur_i3": "Sale of the worker",
    "ur_i4": "Deceptive recruitment (nature, conditions, wages, employer, place)",
    "ur_i5": "Deceptive recruitment through promises of marriage",
    "ur_i6": "Recruitment linked to debt (advance or loan)",
    "wd_i1": "Forced overtime beyond legal limits or agreement",
    "wd_i2": "Forced to work on call, day and night",
    "wd_i3": "Limited freedom of movement and communication",
    "wd_i4": "Degrading living conditions imposed by the employer",
    "wd_i5": "Forced engagement in illicit activities",
    "wd_i6": "Forced work for the employer's private home or family",
    "wd_i7": "Induced or inflated indebtedness",
    "wd_i8": "Multiple dependency on the employer",
    "wd_i9": "Induced addiction to illegal substances",
    "wd_i10": "Very low or no wages; tasks or employer different from agreed",
    "il_i1": "Cannot leave until training or other benefits are repaid",
    "il_i2": "No freedom to resign in line with legal requirements",
    "il_i3": "Forced to stay longer while waiting for wages due",
    "il_i4": "Forced to work an indeterminate period to repay a debt",
    "p1": "Threats or violence against worker or family",
    "p2": "Restrictions on movement, confinement",
    "p3": "Debt bondage or manipulation of debt",
    "p4": "Withholding of wages or other promised benefits",
    "p5": "Withholding of valuable documents (ID, permits)",
    "p6": "Threat of denunciation to authorities or deportation",
    "p7": "Threat of dismissal or exclusion from future employment",
    "p8": "Exclusion from community and social life",
    "p9": "Financial penalties (fines)",
    "p10": "Removal of rights or privileges (food, shelter, leave)",
    "p11": "Shaming: informing family or community",
    "p12": "Religious or supernatural retribution",
    "p13": "Isolation or constant surveillance",
    "iw1": "Unfree recruitment at birth or through a transaction",
    "iw2": "Job of a different nature from the one agreed",
    "iw3": "Abusive overtime or on-call work not agreed",
    "iw4": "Hazardous conditions not consented to",
    "iw5": "Very low or no wages",
    "iw6": "Degrading living conditions imposed by the employer",
    "iw7": "Work for employers other than the one agreed",
    "iw8": "Work for a longer period than agreed",
    "iw9": "No or limited freedom to terminate the contract",
    "c1": "Threats or violence against worker, family or associates",
    "c2": "Restrictions on movement",
    "c3": "Debt bondage or manipulation of debt",
    "c4": "Withholding of wages or other promised benefits",
    "c5": "Withholding of valuable documents",
    "c6": "Abuse of vulnerability (dismissal, deportation threats)",
}

# --- behavioural constants of the synthetic country --------------------------------------
# Household composition (persons aged 5+): head + spouse + other adults + children 5-17.
_P_SPOUSE = 0.72
_LAMBDA_OTHER_ADULTS = (0.45, 0.70)  # urban, rural
_LAMBDA_CHILDREN = (1.00, 1.50)
_P_CHILD_HAS_PARENT = 0.92
_HH_MIGRANT_PROBS = np.array([[0.80, 0.15, 0.05], [0.90, 0.08, 0.02]])
# Household response rate: urban, rural (stratum rates vary around these).
_RESPONSE_RATE = (0.84, 0.93)
# Relative risk of forced labour by sector (ISIC letter) and migrant status (code - 1).
_SECTOR_RR = dict.fromkeys(SECTORS, 1.0) | {
    "A": 2.0, "B": 2.5, "C": 1.8, "F": 2.5, "I": 1.5, "S": 1.5, "T": 4.0,
    "K": 0.2, "O": 0.4, "P": 0.2, "Q": 0.3, "U": 0.1, "J": 0.3,
}  # fmt: skip
_MIGRANT_RR = np.array([1.0, 1.5, 4.0])
# Children: relative risk of third-party coercion (i/ii) and of unconditional worst forms (iv)
_CHILD_COERCION_RR = 0.6
_CHILD_WORST_FORM_RR = 0.25

# Sector distribution of workers: rows urban male adult, urban female adult, urban child,
# rural male adult, rural female adult, rural child; columns SECTORS.
_SECTOR_WEIGHTS = {
    "urban_male": {"A": 6, "B": 1, "C": 15, "D": 1, "E": 1, "F": 14, "G": 18, "H": 9, "I": 5,
                   "J": 3, "K": 2, "L": 1, "M": 2, "N": 4, "O": 6, "P": 4, "Q": 2, "R": 1,
                   "S": 3, "T": 1, "U": 0.1},
    "urban_female": {"A": 4, "C": 12, "F": 1, "G": 24, "H": 2, "I": 9, "J": 2, "K": 3,
                     "L": 1, "M": 2, "N": 3, "O": 4, "P": 9, "Q": 8, "R": 1, "S": 5, "T": 10,
                     "U": 0.1},
    "urban_child": {"A": 10, "C": 10, "F": 6, "G": 35, "I": 10, "S": 9, "T": 20},
    "rural_male": {"A": 52, "B": 2, "C": 8, "F": 10, "G": 10, "H": 5, "I": 2, "O": 3,
                   "P": 2, "Q": 1, "S": 3, "T": 1, "E": 1},
    "rural_female": {"A": 55, "C": 9, "F": 1, "G": 14, "I": 4, "O": 1, "P": 4, "Q": 3,
                     "S": 3, "T": 6},
    "rural_child": {"A": 65, "C": 5, "F": 4, "G": 12, "I": 3, "S": 3, "T": 8},
}  # fmt: skip

# Answers: probability that each item is "yes" for a person who has the element
# (forced labour / false positive); at least one is forced to "yes".
_INVOL_P_FL = np.array([
    0.03, 0.04, 0.02, 0.30, 0.02, 0.10,                       # ur_i1..6
    0.45, 0.15, 0.12, 0.10, 0.03, 0.06, 0.08, 0.08, 0.01, 0.40,  # wd_i1..10
    0.06, 0.15, 0.12, 0.08,                                   # il_i1..4
])  # fmt: skip
_INVOL_P_FP = np.array([
    0.005, 0.002, 0.001, 0.15, 0.005, 0.02,
    0.40, 0.08, 0.01, 0.01, 0.005, 0.02, 0.01, 0.03, 0.001, 0.25,
    0.02, 0.01, 0.02, 0.005,
])  # fmt: skip
_PEN_P_FL = np.array([0.15, 0.12, 0.12, 0.36, 0.10, 0.08, 0.25, 0.03, 0.08, 0.10, 0.02, 0.02, 0.10])
_PEN_P_FP = np.array(
    [0.01, 0.005, 0.01, 0.08, 0.005, 0.02, 0.45, 0.02, 0.25, 0.12, 0.01, 0.01, 0.02]
)
# ILO 2012 item -> ICLS element it corresponds to (index into ICLS_IW_ITEMS / ICLS_C_ITEMS).
_INVOL_TO_IW = {
    "ur_i1": 0, "ur_i2": 0, "ur_i3": 0, "ur_i4": 1, "ur_i5": 1, "ur_i6": 0, "wd_i1": 2,
    "wd_i2": 2, "wd_i4": 5, "wd_i5": 1, "wd_i6": 6, "wd_i10": 4, "il_i1": 8, "il_i2": 8,
    "il_i3": 7, "il_i4": 7,
}  # fmt: skip
_PEN_TO_C = {"p1": 0, "p2": 1, "p13": 1, "p3": 2, "p4": 3, "p5": 4, "p6": 5, "p7": 5, "p10": 5}


# --------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------
def _check_int(name: str, value: Any, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValidationError(f"parameter {name}={value!r} must be an integer in [{lo:,}, {hi:,}].")
    if not lo <= value <= hi:
        raise ValidationError(
            f"parameter {name}={value:,} is outside the allowed range [{lo:,}, {hi:,}]; "
            f"choose a value in that range."
        )
    return int(value)


def _check_float(
    name: str, value: Any, lo: float, hi: float, *, lo_open: bool = True, hi_open: bool = True
) -> float:
    ok_type = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, bool
    )
    left = "(" if lo_open else "["
    right = ")" if hi_open else "]"
    interval = f"{left}{lo:g}, {hi:g}{right}"
    if not ok_type or not math.isfinite(float(value)):
        raise ValidationError(f"parameter {name}={value!r} must be a number in {interval}.")
    v = float(value)
    if (v <= lo if lo_open else v < lo) or (v >= hi if hi_open else v > hi):
        raise ValidationError(
            f"parameter {name}={v:g} is outside the allowed range {interval}; "
            f"choose a value in that range."
        )
    return v


def _make_rng(rng: Any) -> tuple[np.random.Generator, int | None]:
    """The generator and the seed that reproduces it (None when a Generator was given)."""
    if isinstance(rng, np.random.Generator):
        return rng, None
    if rng is None:
        seed = int(np.random.SeedSequence().entropy)
        return np.random.default_rng(seed), seed
    if isinstance(rng, bool) or not isinstance(rng, (int, np.integer)) or rng < 0:
        raise ValidationError(
            f"parameter rng={rng!r} must be a non-negative integer seed, a "
            "numpy.random.Generator or None."
        )
    return np.random.default_rng(int(rng)), int(rng)


def check_formats(formats: str | Iterable[str]) -> tuple[str, ...]:
    """Validate output formats (an iterable or a comma-separated string) and return a tuple."""
    if isinstance(formats, str):
        items = [f.strip().lower().lstrip(".") for f in formats.split(",")]
    else:
        items = [str(f).strip().lower().lstrip(".") for f in formats]
    items = [f for f in items if f]
    bad = [f for f in items if f not in FORMATS]
    if bad or not items:
        found = ", ".join(repr(b) for b in bad) if bad else "nothing"
        raise ValidationError(
            f"parameter format: unknown output format {found}; allowed formats are "
            f"{', '.join(FORMATS)} (comma-separated)."
        )
    return tuple(dict.fromkeys(items))


# --------------------------------------------------------------------------------------------
# Small vectorised helpers
# --------------------------------------------------------------------------------------------
def _categorical(rng: np.random.Generator, probs: np.ndarray, group: np.ndarray) -> np.ndarray:
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
        w = _SECTOR_WEIGHTS[key]
        rows.append([float(w.get(s, 0.0)) for s in SECTORS])
    return np.array(rows)


def _at_least_one(rng: np.random.Generator, probs: np.ndarray, n: int) -> np.ndarray:
    """(n, K) boolean: independent Bernoulli(probs) per item, at least one True per row."""
    yes = rng.random((n, probs.size)) < probs
    none = ~yes.any(axis=1)
    if none.any():
        pick = _categorical(rng, probs, np.zeros(int(none.sum()), dtype=np.int64))
        rows = np.flatnonzero(none)
        yes[rows, pick] = True
    return yes


def _group_starts(sorted_codes: np.ndarray, n_groups: int) -> np.ndarray:
    return np.searchsorted(sorted_codes, np.arange(n_groups), side="left")


# --------------------------------------------------------------------------------------------
# The population
# --------------------------------------------------------------------------------------------
@dataclass
class _Frame:
    """Compact arrays of the synthetic population (internal)."""

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


def _age_group(age: np.ndarray) -> np.ndarray:
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


def _draw_population(
    rng: np.random.Generator,
    *,
    respondents: int,
    n_regions: int,
    households_per_psu: int,
    psu_fraction: float,
    prevalence: float,
    hotspot_share: float,
    hotspot_risk: float,
) -> _Frame:
    m = households_per_psu
    # ---- strata and their sizes ---------------------------------------------------------
    region_share = rng.dirichlet(np.full(n_regions, 6.0))
    urban_share = rng.uniform(0.25, 0.65, size=n_regions)
    stratum_region = np.repeat(np.arange(1, n_regions + 1), 2).astype(np.int8)
    stratum_urban = np.tile(np.array([1, 2], dtype=np.int8), n_regions)
    share = np.column_stack([region_share * urban_share, region_share * (1 - urban_share)]).ravel()
    mean_persons = np.array(
        [1 + _P_SPOUSE + _LAMBDA_OTHER_ADULTS[u] + _LAMBDA_CHILDREN[u] for u in (0, 1)]
    )
    per_psu = m * mean_persons[stratum_urban - 1] * np.array(_RESPONSE_RATE)[stratum_urban - 1]
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
    spouse = rng.random(n_hh) < _P_SPOUSE
    n_other = np.minimum(rng.poisson(np.array(_LAMBDA_OTHER_ADULTS)[u_idx]), 4)
    n_child = np.minimum(rng.poisson(np.array(_LAMBDA_CHILDREN)[u_idx]), 7)
    hh_size = (1 + spouse + n_other + n_child).astype(np.int8)
    hh_mig = (_categorical(rng, _HH_MIGRANT_PROBS, u_idx) + 1).astype(np.int8)
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
    has_parent = rng.random(n_ch) < _P_CHILD_HAS_PARENT
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
    sector[aw] = _categorical(rng, table, sec_group[aw])

    status = np.zeros(n, dtype=np.int8)
    status_probs = np.array(
        [[0.22, 0.03, 0.45, 0.30], [1.0, 0.0, 0.0, 0.0], [0.62, 0.04, 0.27, 0.07]]
    )
    a_sec = sector[aw]
    st_group = np.where(a_sec == SECTORS.index("A"), 0, np.where(a_sec == SECTORS.index("T"), 1, 2))
    status[aw] = _categorical(rng, status_probs, st_group) + 1

    # ---- latent forced labour of adults -------------------------------------------------
    sector_rr = np.array([_SECTOR_RR[s] for s in SECTORS])
    person_ea = hh_ea[p_hh]
    rr_adult = ea_risk[person_ea[aw]] * sector_rr[a_sec] * _MIGRANT_RR[migrant[aw] - 1]
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
    cw_sector = _categorical(rng, table, sec_group[cw])
    safe_parent = np.where(cw_parent >= 0, cw_parent, 0)
    sector[cw] = np.where(for_parents, sector[safe_parent], cw_sector)
    child_status = np.where(for_parents, 4, np.where(rng.random(cw.size) < 0.8, 1, 3)).astype(
        np.int8
    )
    status[cw] = child_status

    rr_child = ea_risk[person_ea[cw]] * sector_rr[sector[cw]] * _MIGRANT_RR[migrant[cw] - 1]
    u_ch = rng.random(cw.size)
    p_iv = np.minimum(c * _CHILD_WORST_FORM_RR * rr_child, 1.0)
    p_coerced = np.minimum(c * _CHILD_COERCION_RR * rr_child, 1.0)
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

    return _Frame(
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


# --------------------------------------------------------------------------------------------
# The sample
# --------------------------------------------------------------------------------------------
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
class _Draw:
    ea_selected: np.ndarray
    ea_pi: np.ndarray
    hh_status: np.ndarray  # int8 0 not selected, 1 selected non-respondent, 2 respondent
    hh_w_base: np.ndarray  # float, nan when not selected
    hh_w_final: np.ndarray  # float, nan unless responding
    response_rate: np.ndarray  # (H,)


def _draw_sample(rng: np.random.Generator, fr: _Frame, m: int) -> _Draw:
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

    rr = np.where(fr.stratum_urban == 1, _RESPONSE_RATE[0], _RESPONSE_RATE[1]) + np.where(
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
    return _Draw(ea_sel, ea_pi, hh_status, hh_w_base, hh_w_final, rr)


# --------------------------------------------------------------------------------------------
# Answers of the sampled persons
# --------------------------------------------------------------------------------------------
def _answers(
    rng: np.random.Generator,
    fr: _Frame,
    persons: np.ndarray,
    *,
    false_involuntary: float,
    false_coercion: float,
    item_nonresponse: float,
) -> dict[str, np.ndarray]:
    """Answers of the persons ``persons`` (indices into the frame) to the module."""
    n = persons.size
    worked = fr.worked[persons]
    w = np.flatnonzero(worked)
    nw = w.size
    fl = fr.fl[persons][w]
    adult = fr.age[persons][w] >= 18
    cat = fr.child_cat[persons][w]

    # latent elements: every person in forced labour has an involuntariness element; adults
    # and children of categories i/ii also have a penalty element. Outside forced labour an
    # adult may have one of the two, never both; a child never has a penalty element.
    u = rng.random(nw)
    fp_inv = ~fl & (u < false_involuntary)
    fp_pen = ~fl & adult & ~fp_inv & (u < false_involuntary + false_coercion)
    has_inv = fl | fp_inv
    has_pen = (fl & (adult | (cat == 1) | (cat == 2))) | fp_pen

    n_inv, n_pen = len(INVOLUNTARINESS_ITEMS), len(PENALTY_ITEMS)
    inv_yes = np.zeros((nw, n_inv), dtype=bool)
    pen_yes = np.zeros((nw, len(PENALTY_ITEMS)), dtype=bool)
    for rows, p_inv in ((np.flatnonzero(fl), _INVOL_P_FL), (np.flatnonzero(fp_inv), _INVOL_P_FP)):
        inv_yes[rows] = _at_least_one(rng, p_inv, rows.size)
    for rows, p_pen in (
        (np.flatnonzero(has_pen & fl), _PEN_P_FL),
        (np.flatnonzero(fp_pen), _PEN_P_FP),
    ):
        pen_yes[rows] = _at_least_one(rng, p_pen, rows.size)

    # ICLS elements follow the ILO 2012 items they correspond to, plus a few of their own
    map_iw = np.zeros((n_inv, len(ICLS_IW_ITEMS)), dtype=np.int8)
    for item, j in _INVOL_TO_IW.items():
        map_iw[INVOLUNTARINESS_ITEMS.index(item), j] = 1
    map_c = np.zeros((n_pen, len(ICLS_C_ITEMS)), dtype=np.int8)
    for item, j in _PEN_TO_C.items():
        map_c[PENALTY_ITEMS.index(item), j] = 1
    iw_yes = (inv_yes.astype(np.int8) @ map_iw) > 0
    c_yes = (pen_yes.astype(np.int8) @ map_c) > 0
    iw_yes &= has_inv[:, None]
    c_yes &= has_pen[:, None]
    iw_yes |= has_inv[:, None] & (rng.random(iw_yes.shape) < 0.03)
    c_yes |= has_pen[:, None] & (rng.random(c_yes.shape) < 0.03)
    for yes, has in ((iw_yes, has_inv), (c_yes, has_pen)):
        none = np.flatnonzero(has & ~yes.any(axis=1))
        if none.size:
            pick = rng.integers(0, yes.shape[1], size=none.size)
            yes[none, pick] = True

    yes = np.hstack([inv_yes, pen_yes, iw_yes, c_yes])
    codes = np.where(yes, 1.0, 2.0)
    # don't know / refused on "no" answers only: 6 % of items for some people
    # ("hesitant" respondents), a fraction of a percent for everybody else
    hesitant = rng.random(nw) < 0.02
    rate = np.where(hesitant, 0.06, item_nonresponse)[:, None]
    u_dk = rng.random(codes.shape)
    dk = (codes == 2.0) & (u_dk < rate)
    codes[dk] = np.where(u_dk[dk] < rate[np.nonzero(dk)[0], 0] * 0.65, 8.0, 9.0)

    out: dict[str, np.ndarray] = {}
    full = np.full((n, codes.shape[1]), np.nan)
    full[w] = codes
    for j, name in enumerate(INDICATOR_ITEMS):
        out[name] = full[:, j]

    any_pos = yes.any(axis=1)
    form = fr.form[persons][w]
    perp_code = np.zeros(n, dtype=np.int8)
    perp_code[w[any_pos]] = np.where(form[any_pos] == 3, 2, 1)
    perp = np.array(["", "private", "state"], dtype=object)[perp_code]
    cse = np.full(n, np.nan)
    cse[w[any_pos]] = np.where(form[any_pos] == 2, 1.0, 2.0)
    dur = np.full(n, np.nan)
    dur_fl = fr.dur[persons][w].astype(float)
    dur_other = rng.integers(1, 13, size=nw).astype(float)
    dur[w[any_pos]] = np.where(fl, dur_fl, dur_other)[any_pos]
    out["perp_type"] = perp
    out["cse"] = cse
    out["dur_months"] = dur
    return out


# --------------------------------------------------------------------------------------------
# Truth
# --------------------------------------------------------------------------------------------
def _cell(pop: int, k: int, label: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {} if label is None else {"label": label}
    out["population"] = int(pop)
    out["fl"] = int(k)
    out["prevalence_per_1000"] = 1000.0 * int(k) / int(pop) if pop > 0 else None
    return out


def _truth(
    *,
    age: np.ndarray,
    sex: np.ndarray,
    region: np.ndarray,
    urban: np.ndarray,
    migrant: np.ndarray,
    worked: np.ndarray,
    sector: np.ndarray,
    fl: np.ndarray,
    form: np.ndarray,
    child_cat: np.ndarray,
    dur: np.ndarray,
    region_labels: dict[int, str],
) -> dict[str, Any]:
    age_group = _age_group(age)
    dims = {
        "sex": (sex, SEX_LABELS),
        "age_group": (age_group, AGE_GROUP_LABELS),
        "region": (region, region_labels),
        "migrant": (migrant, MIGRANT_LABELS),
        "urban": (urban, URBAN_LABELS),
    }
    pops = {
        "all": ("persons aged 5+", np.ones(age.size, dtype=bool)),
        "adults": ("persons aged 18+", age >= 18),
        "children": ("persons aged 5-17", age < 18),
    }
    out: dict[str, Any] = {}
    for key, (definition, mask) in pops.items():
        flm = fl & mask
        entry: dict[str, Any] = {
            "definition": definition,
            "national": _cell(mask.sum(), flm.sum()),
        }
        by: dict[str, Any] = {}
        for dim, (codes, labels) in dims.items():
            size = max(labels) + 1
            n_pop = np.bincount(codes[mask], minlength=size)
            n_fl = np.bincount(codes[flm], minlength=size)
            by[dim] = {str(c): _cell(n_pop[c], n_fl[c], labels[c]) for c in sorted(labels)}
        wm = mask & worked
        n_pop = np.bincount(sector[wm], minlength=len(SECTORS))
        n_fl = np.bincount(sector[wm & fl], minlength=len(SECTORS))
        by["sector"] = {
            s: _cell(n_pop[i], n_fl[i], SECTOR_LABELS[s])
            for i, s in enumerate(SECTORS)
            if n_pop[i] > 0
        }
        entry["by"] = by
        n_form = np.bincount(form[flm], minlength=4)
        total = int(mask.sum())
        entry["forms"] = {
            name: {
                "fl": int(n_form[code]),
                "prevalence_per_1000": 1000.0 * int(n_form[code]) / total if total else None,
            }
            for code, name in FORM_NAMES.items()
        }
        stock = float(dur[flm].astype(np.int64).sum()) / 12.0
        entry["stock"] = {
            "persons_on_any_given_day": stock,
            "per_1000": 1000.0 * stock / total if total else None,
        }
        if key == "children":
            n_cat = np.bincount(child_cat[flm], minlength=5)
            entry["child_categories"] = {
                name: int(n_cat[code])
                for code, name in zip((1, 2, 3, 4), ("i", "ii", "iii", "iv"), strict=True)
            }
        out[key] = entry
    return out


# --------------------------------------------------------------------------------------------
# The result object
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class SimulatedSurvey:
    """A synthetic forced-labour survey, its population margins and its true values.

    Attributes
    ----------
    sample : pandas.DataFrame
        One row per responding person aged 5+; the columns of ``docs/internals.md``
        section 1 in that order.
    margins : pandas.DataFrame
        Population counts of persons aged 5+ by ``region, sex, age_group``
        (column ``count``), for calibration.
    truth : dict
        The true population values (JSON-serialisable; layout in the module docstring).
    respondent_truth : pandas.DataFrame
        ``pid``, ``fl_true`` (0/1, the status under the default rule),
        ``fl_form_true`` (0 none, 1 exploitation, 2 sexual exploitation, 3 state-imposed)
        and ``fl_child_category_true`` (0 none, 1..4 = ICLS categories i..iv).
    variable_labels : dict
        Column -> label.
    value_labels : dict
        Column -> {code: label} (numeric codes; ``sector`` has letter codes).
    missing_ranges : dict
        Column -> user-missing codes (``[8, 9]`` for every indicator item).
    parameters : dict
        The arguments of :func:`simulate`, with the seed that reproduces the draw.
    population : pandas.DataFrame or None
        The whole synthetic population (``keep_population=True`` only): ``pid, hhid,
        psu, stratum, region, urban, sex, age, age_group, migrant, worked, sector,
        employer_type (0 n/a, 1 parents, 2 third party), parent_pid (-1 none), fl, form,
        child_category, dur_months, hotspot, selected (0 no, 1 selected non-responding
        household, 2 respondent), w_base`` (NaN unless selected).
    """

    sample: pd.DataFrame
    margins: pd.DataFrame
    truth: dict[str, Any]
    respondent_truth: pd.DataFrame
    variable_labels: dict[str, str]
    value_labels: dict[str, dict[Any, str]]
    missing_ranges: dict[str, list[float]]
    parameters: dict[str, Any]
    population: pd.DataFrame | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        nat = self.truth["populations"]["all"]["national"]
        return (
            f"SimulatedSurvey(respondents={len(self.sample):,}, "
            f"population={self.truth['population_size']:,}, "
            f"fl={nat['fl']:,} ({nat['prevalence_per_1000']:.2f} per 1,000), "
            f"seed={self.parameters.get('seed')})"
        )

    def write(self, out_dir: str | Path, formats: str | Iterable[str] = FORMATS) -> list[Path]:
        """Write the survey and its companions to ``out_dir``.

        Files: ``fl_survey.<ext>`` for each format (``sav``: SPSS with variable and
        value labels and 8/9 declared user-missing on the indicator items; ``dta``:
        Stata 14+ (format 118) with variable and value labels, codes stored as integers; ``csv`` with its labels in ``fl_survey.codebook.yaml``; ``parquet`` with its labels in the schema metadata), ``margins.csv``,
        ``truth.json``, ``truth_respondents.csv`` and ``README.md`` (the codebook).
        Other files in ``out_dir`` are left alone.

        Returns
        -------
        list of pathlib.Path
            The files written.
        """
        fmts = check_formats(formats)
        out = Path(out_dir)
        if out.exists() and not out.is_dir():
            raise ValidationError(
                f"parameter out_dir={str(out)!r} is a file; give a directory to write into."
            )
        out.mkdir(parents=True, exist_ok=True)
        df = self.sample
        written: list[Path] = []
        numeric_labels = {
            c: {int(k): v for k, v in labels.items()}
            for c, labels in self.value_labels.items()
            if c in df.columns and pd.api.types.is_numeric_dtype(df[c])
        }
        for fmt in fmts:
            path = out / f"fl_survey.{fmt}"
            if fmt == "sav":
                import pyreadstat

                pyreadstat.write_sav(
                    df,
                    str(path),
                    column_labels=self.variable_labels,
                    variable_value_labels={**numeric_labels, "sector": self.value_labels["sector"]},
                    missing_ranges=self.missing_ranges,
                    row_compress=True,
                )
            elif fmt == "dta":
                # pandas' writer keeps integer codes with missing values as Stata byte/int
                # (pyreadstat writes them as double, which makes the file four times larger)
                _integer_coded(df).to_stata(
                    path,
                    write_index=False,
                    version=118,
                    variable_labels=self.variable_labels,
                    value_labels=numeric_labels,
                )
            elif fmt == "csv":
                # CSV carries no labels: they go to the codebook beside it, which
                # read_survey applies without being told
                _integer_coded(df).to_csv(path, index=False)
                written.append(
                    write_codebook(
                        df,
                        out / "fl_survey.codebook.yaml",
                        variable_labels=self.variable_labels,
                        value_labels=self.value_labels,
                        missing_values=self.missing_ranges,
                    )
                )
            else:
                write_parquet(
                    df,
                    path,
                    variable_labels=self.variable_labels,
                    value_labels=self.value_labels,
                    missing_values=self.missing_ranges,
                )
            written.append(path)
        self.margins.to_csv(out / "margins.csv", index=False)
        with open(out / "truth.json", "w", encoding="utf-8") as fh:
            json.dump(self.truth, fh, indent=2)
            fh.write("\n")
        self.respondent_truth.to_csv(out / "truth_respondents.csv", index=False)
        shown = Path(out_dir)
        shown_dir = shown.as_posix() if not shown.is_absolute() else "DIR"
        (out / "README.md").write_text(self.codebook(fmts, out_dir=shown_dir), encoding="utf-8")
        written += [out / n for n in ("margins.csv", "truth.json", "truth_respondents.csv")]
        written.append(out / "README.md")
        return written

    def codebook(self, formats: Iterable[str] = FORMATS, *, out_dir: str = "DIR") -> str:
        """The README (Markdown) describing the files, the design, every variable and the truth."""
        return _codebook(self, tuple(formats), out_dir)

    def draw_samples(
        self, n_samples: int = 1, *, rng: int | np.random.Generator | None = None
    ) -> Iterator[pd.DataFrame]:
        """Draw further samples from the kept population with the survey's own design.

        Each sample repeats the design of :func:`simulate` on the same population:
        the same number of enumeration areas per stratum selected by systematic PPS,
        ``households_per_psu`` households by SRS in each, stratum-specific household
        nonresponse and the weighting-class adjustment. Only the latent status and the
        design variables are returned (no questionnaire answers), which is what a
        study of estimators and confidence intervals needs.

        Parameters
        ----------
        n_samples : int, default 1
            Number of samples to draw (1 to 10,000,000).
        rng : int, numpy.random.Generator or None
            Seed or generator of the draws (independent of the survey's own seed).

        Returns
        -------
        iterator of pandas.DataFrame
            One frame per sample, one row per person of a responding household:
            the columns of :attr:`population` (``pid`` .. ``hotspot``; ``fl`` is the
            true status under the default rule) without ``selected`` and ``w_base``,
            then this sample's ``w_base``, ``w_final`` and ``n_psu_stratum``.

        Raises
        ------
        ValidationError
            The survey was drawn without ``keep_population=True``, or ``n_samples``
            is not an integer in range.

        Notes
        -----
        The base weight of a person in household j of EA i of stratum h is
        :math:`w_{hij} = M_{hi} / (\\pi_{hi}\\, m)` with :math:`\\pi_{hi}` the PPS
        inclusion probability of the EA and :math:`M_{hi}` its number of households,
        so :math:`\\sum w` over the selected households is unbiased for the number
        of households; ``w_final`` multiplies it by the stratum's ratio of selected
        to responding base weights (SURVEY-METHODS E1 design, see :func:`simulate`).

        References
        ----------
        Cochran, W. G. (1977). *Sampling Techniques*, 3rd ed., sections 9A.5-9A.6.

        Examples
        --------
        >>> import flestimate as fl
        >>> s = fl.simulate(2_000, rng=1, keep_population=True)
        >>> samples = list(s.draw_samples(2, rng=5))
        >>> [int(x["psu"].nunique()) for x in samples] == [int(s.sample["psu"].nunique())] * 2
        True
        """
        if self.population is None:
            raise ValidationError(
                "draw_samples needs the population: this survey was drawn without it. Call "
                "simulate(..., keep_population=True)."
            )
        n_samples = _check_int("n_samples", n_samples, 1, 10_000_000)
        gen, _ = _make_rng(rng)
        return _resample(self.population, int(self.parameters["households_per_psu"]), gen,
                         n_samples)  # fmt: skip


# --------------------------------------------------------------------------------------------
# The public function
# --------------------------------------------------------------------------------------------
def simulate(
    respondents: int = 20_000,
    *,
    prevalence: float = 0.006,
    rng: int | np.random.Generator | None = None,
    n_regions: int = 5,
    households_per_psu: int = 10,
    psu_fraction: float = 0.4,
    hotspot_share: float = 0.04,
    hotspot_risk: float = 30.0,
    false_involuntary: float = 0.05,
    false_coercion: float = 0.03,
    item_nonresponse: float = 0.002,
    keep_population: bool = False,
) -> SimulatedSurvey:
    """Draw a synthetic population and a stratified two-stage forced-labour survey from it.

    Parameters
    ----------
    respondents : int, default 20_000
        Expected number of responding persons aged 5+ (2,000 to 5,000,000). The
        realised number varies by a few percent with household sizes and nonresponse.
    prevalence : float, default 0.006
        Expected share of adults (18+) in forced labour, in (0, 1); realistic values
        are 0.002 to 0.02. Only people who worked can be in forced labour, so values
        above the share of adults who worked (about 70 %) are capped there.
    rng : int, numpy.random.Generator or None
        Seed or generator. ``None`` draws fresh entropy and records it as the seed
        in ``parameters`` so the draw can be repeated.
    n_regions : int, default 5
        Number of regions (1 to 8); strata are region x urban/rural.
    households_per_psu : int, default 10
        Households selected by simple random sampling in each selected enumeration
        area (2 to 50).
    psu_fraction : float, default 0.4
        Share of each stratum's enumeration areas that are selected, in (0, 1]; it
        sets the size of the population (about ``1 / psu_fraction`` times the
        households of the selected EAs).
    hotspot_share : float, default 0.04
        Share of enumeration areas that are forced-labour hot spots, in [0, 1).
    hotspot_risk : float, default 30
        Relative risk of forced labour in a hot-spot EA (1 to 1,000).
    false_involuntary, false_coercion : float, default 0.05, 0.03
        Share of workers not in forced labour who report involuntariness without
        any penalty, and (adults only) a penalty without involuntariness, in [0, 0.5).
    item_nonresponse : float, default 0.002
        Share of "no" answers replaced by don't know (8) or refused (9), in [0, 0.5);
        2 % of workers are "hesitant" and answer 8/9 to 6 % of their items.
    keep_population : bool, default False
        Keep the whole population as ``SimulatedSurvey.population``.

    Returns
    -------
    SimulatedSurvey

    Raises
    ------
    ValidationError
        A parameter is of the wrong type or outside its range; the message names
        the parameter, the value and the allowed range.

    Notes
    -----
    *Population.* Strata are region x urban/rural; each stratum holds enumeration
    areas (EAs) of ``households_per_psu + 2 + LogNormal(log 18, 0.6)`` households.
    A household has a head, a spouse (72 %), other adults and children 5-17 (Poisson,
    more in rural areas); 92 % of children are linked to a parent (head or spouse) by
    ``parent_pid``. Work in the last 12 months depends on age, sex and area; sectors
    (ISIC Rev.4 sections) follow area-, sex- and age-specific mixes (agriculture
    dominant in rural areas, domestic work T, construction F, trade G, ...).

    *Forced labour.* An adult who worked is in forced labour with probability
    ``min(1, c * r_EA * r_sector * r_migrant)``: ``r_EA`` is log-normal with mean 1
    times ``hotspot_risk`` in hot-spot EAs, ``r_sector`` is high in A, B, C, F, T,
    ``r_migrant`` is 1, 1.5, 4 for non-, internal and international migrants; ``c``
    is solved so the expected adult prevalence equals ``prevalence``. A working child
    is in forced labour by ICLS category iv (unconditional worst forms, risk
    ``0.25 c r``), i/ii (third-party coercion, ``0.6 c r``; i when working for a third
    party, ii when working for the parents), or iii (working for a linked parent who
    is in forced labour). Forms: state-imposed 7 % of adults, sexual exploitation
    mostly among women in sectors I, R, S and children of category iv, else
    exploitation.

    *Sample.* In each stratum ``n_h`` EAs (proportional to the stratum's size, at
    least 2) are selected with probability proportional to the number of households
    (systematic PPS in random order; EAs with ``n_h x_i / X_h >= 1`` are certainty
    units, pi = 1), then ``households_per_psu`` households by SRS, then every person
    aged 5+. ``w_base = 1 / (pi_EA * m / M_EA)``. Households respond with a
    stratum-specific probability (urban about 84 %, rural about 93 %);
    ``w_final = w_base * (sum of w_base over selected households of the stratum) /
    (sum of w_base over responding households of the stratum)`` (weighting-class
    adjustment, class = stratum).

    *Answers.* Only people who worked are asked the module (others: system-missing).
    A person in forced labour answers yes to at least one involuntariness item and,
    for adults and children of categories i/ii, at least one penalty item (and the
    matching ICLS elements). Outside forced labour, ``false_involuntary`` of workers
    report involuntariness only and ``false_coercion`` of adult workers a penalty
    only, never both, so the default rule (ILO 2012, any strength, penalty in any
    dimension, don't know/refused counted as no) reproduces ``fl_true`` exactly,
    while "any indicator" rules and the upper-bound missing policy do not.

    References
    ----------
    ILO (2012). *Hard to see, harder to count: Survey guidelines to estimate forced
    labour of adults and children*. Geneva: ILO.
    ILO (2018). *Guidelines concerning the measurement of forced labour*, 20th ICLS.

    Examples
    --------
    >>> import flestimate
    >>> survey = flestimate.simulate(2_000, rng=1)
    >>> len(survey.sample), survey.sample.shape[1]
    (2075, 70)
    >>> national = survey.truth["populations"]["all"]["national"]
    >>> national["population"], national["fl"]
    (18086, 77)
    """
    respondents = _check_int("respondents", respondents, 2_000, 5_000_000)
    prevalence = _check_float("prevalence", prevalence, 0.0, 1.0)
    n_regions = _check_int("n_regions", n_regions, 1, len(REGION_NAMES))
    households_per_psu = _check_int("households_per_psu", households_per_psu, 2, 50)
    psu_fraction = _check_float("psu_fraction", psu_fraction, 0.0, 1.0, hi_open=False)
    hotspot_share = _check_float("hotspot_share", hotspot_share, 0.0, 1.0, lo_open=False)
    hotspot_risk = _check_float("hotspot_risk", hotspot_risk, 1.0, 1000.0, lo_open=False,
                                hi_open=False)  # fmt: skip
    false_involuntary = _check_float("false_involuntary", false_involuntary, 0.0, 0.5,
                                     lo_open=False)  # fmt: skip
    false_coercion = _check_float("false_coercion", false_coercion, 0.0, 0.5, lo_open=False)
    item_nonresponse = _check_float("item_nonresponse", item_nonresponse, 0.0, 0.5, lo_open=False)
    if not isinstance(keep_population, (bool, np.bool_)):
        raise ValidationError(
            f"parameter keep_population={keep_population!r} must be True or False."
        )
    gen, seed = _make_rng(rng)
    parameters = {
        "respondents": respondents,
        "prevalence": prevalence,
        "seed": seed,
        "n_regions": n_regions,
        "households_per_psu": households_per_psu,
        "psu_fraction": psu_fraction,
        "hotspot_share": hotspot_share,
        "hotspot_risk": hotspot_risk,
        "false_involuntary": false_involuntary,
        "false_coercion": false_coercion,
        "item_nonresponse": item_nonresponse,
    }

    fr = _draw_population(
        gen,
        respondents=respondents,
        n_regions=n_regions,
        households_per_psu=households_per_psu,
        psu_fraction=psu_fraction,
        prevalence=prevalence,
        hotspot_share=hotspot_share,
        hotspot_risk=hotspot_risk,
    )
    draw = _draw_sample(gen, fr, households_per_psu)

    # ---- person-level design variables --------------------------------------------------
    person_ea = fr.hh_ea[fr.p_hh]
    p_stratum = fr.ea_stratum[person_ea]
    region = fr.stratum_region[p_stratum]
    urban = fr.stratum_urban[p_stratum]
    region_labels = {r: REGION_NAMES[r - 1] for r in range(1, n_regions + 1)}

    truth_pops = _truth(
        age=fr.age, sex=fr.sex, region=region, urban=urban, migrant=fr.migrant,
        worked=fr.worked, sector=np.where(fr.sector >= 0, fr.sector, 0), fl=fr.fl,
        form=fr.form, child_cat=fr.child_cat, dur=fr.dur, region_labels=region_labels,
    )  # fmt: skip

    resp = np.flatnonzero(draw.hh_status[fr.p_hh] == 2)
    ans = _answers(
        gen, fr, resp, false_involuntary=false_involuntary, false_coercion=false_coercion,
        item_nonresponse=item_nonresponse,
    )  # fmt: skip

    n_frame_psu = np.bincount(fr.ea_stratum, minlength=fr.stratum_region.size)
    r_hh = fr.p_hh[resp]
    r_ea = person_ea[resp]
    r_stratum = p_stratum[resp]
    sector_letters = np.array(("", *SECTORS), dtype=object)
    r_worked = fr.worked[resp]
    r_age = fr.age[resp].astype(np.int64)
    is_child = r_age < 18
    r_parent = fr.parent[resp]
    r_emp = fr.employer_parents[resp]
    sample = pd.DataFrame(
        {
            "pid": resp.astype(np.int64) + 1,
            "hhid": r_hh.astype(np.int64) + 1,
            "psu": r_ea.astype(np.int64) + 1,
            "stratum": r_stratum.astype(np.int64) + 1,
            "region": region[resp].astype(np.int64),
            "urban": urban[resp].astype(np.int64),
            "sex": fr.sex[resp].astype(np.int64),
            "age": r_age,
            "age_group": _age_group(fr.age[resp]).astype(np.int64),
            "migrant": fr.migrant[resp].astype(np.int64),
            "worked": np.where(r_worked, 1, 2).astype(np.int64),
            "sector": sector_letters[fr.sector[resp].astype(np.int64) + 1],
            "status_emp": np.where(r_worked, fr.status_emp[resp], np.nan),
            "w_base": draw.hh_w_base[r_hh],
            "w_final": draw.hh_w_final[r_hh],
            "n_psu_stratum": n_frame_psu[r_stratum].astype(np.int64),
            **{name: ans[name] for name in INDICATOR_ITEMS},
            "employer_type": np.array(["", "parents", "third_party"], dtype=object)[r_emp],
            "parent_pid": np.where(is_child & (r_parent >= 0), r_parent + 1, np.nan),
            "perp_type": ans["perp_type"],
            "cse": ans["cse"],
            "wfcl": np.where(
                is_child & r_worked, np.where(fr.child_cat[resp] == 4, 1.0, 2.0), np.nan
            ),
            "dur_months": ans["dur_months"],
        }
    )
    for col in ("sector", "employer_type", "perp_type"):
        sample[col] = sample[col].astype(str)
    respondent_truth = pd.DataFrame(
        {
            "pid": sample["pid"].to_numpy(),
            "fl_true": fr.fl[resp].astype(np.int64),
            "fl_form_true": fr.form[resp].astype(np.int64),
            "fl_child_category_true": fr.child_cat[resp].astype(np.int64),
        }
    )

    # ---- margins: persons 5+ by region x sex x age group --------------------------------
    ag = _age_group(fr.age)
    cell = ((region.astype(np.int64) - 1) * 2 + (fr.sex - 1)) * 5 + (ag - 1)
    counts = np.bincount(cell, minlength=n_regions * 10)
    margins = pd.DataFrame(
        {
            "region": np.repeat(np.arange(1, n_regions + 1), 10),
            "sex": np.tile(np.repeat([1, 2], 5), n_regions),
            "age_group": np.tile(np.arange(1, 6), 2 * n_regions),
            "count": counts.astype(np.int64),
        }
    )

    truth = {
        "description": (
            "True values of the synthetic population (persons aged 5+) under the default "
            "classification rule; prevalence_per_1000 = 1000 * fl / population."
        ),
        "rule": dict(DEFAULT_RULE),
        "reference_period_months": 12,
        "scale": 1000,
        "population_size": int(fr.age.size),
        "households": int(fr.hh_ea.size),
        "psus": int(fr.ea_stratum.size),
        "populations": truth_pops,
        "sample": {
            "respondents": int(resp.size),
            "households_selected": int((draw.hh_status > 0).sum()),
            "households_responding": int((draw.hh_status == 2).sum()),
            "psus_selected": int(draw.ea_selected.sum()),
            "certainty_psus": int((draw.ea_selected & (draw.ea_pi >= 1.0)).sum()),
        },
        "parameters": dict(parameters),
    }

    variable_labels, value_labels = _labels(region_labels)
    missing_ranges = {c: [8.0, 9.0] for c in INDICATOR_ITEMS}

    population = None
    if keep_population:
        sel = draw.hh_status[fr.p_hh]
        population = pd.DataFrame(
            {
                "pid": np.arange(1, fr.age.size + 1, dtype=np.int64),
                "hhid": fr.p_hh.astype(np.int32) + 1,
                "psu": person_ea.astype(np.int32) + 1,
                "stratum": (p_stratum + 1).astype(np.int8),
                "region": region,
                "urban": urban,
                "sex": fr.sex,
                "age": fr.age,
                "age_group": ag,
                "migrant": fr.migrant,
                "worked": np.where(fr.worked, 1, 2).astype(np.int8),
                "sector": pd.Categorical(
                    sector_letters[fr.sector.astype(np.int64) + 1], categories=("", *SECTORS)
                ),
                "employer_type": fr.employer_parents,
                "parent_pid": np.where(fr.parent >= 0, fr.parent + 1, -1).astype(np.int64),
                "fl": fr.fl.astype(np.int8),
                "form": fr.form,
                "child_category": fr.child_cat,
                "dur_months": fr.dur,
                "hotspot": fr.ea_hotspot[person_ea].astype(np.int8),
                "selected": sel,
                "w_base": draw.hh_w_base[fr.p_hh],
            }
        )

    return SimulatedSurvey(
        sample=sample,
        margins=margins,
        truth=truth,
        respondent_truth=respondent_truth,
        variable_labels=variable_labels,
        value_labels=value_labels,
        missing_ranges=missing_ranges,
        parameters=parameters,
        population=population,
    )


def _resample(
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
        draw = _draw_sample(gen, frame, m)  # type: ignore[arg-type]
        rows = np.flatnonzero(draw.hh_status[hh] == 2)
        out = pop[keep].take(rows).reset_index(drop=True)
        out["w_base"] = draw.hh_w_base[hh[rows]]
        out["w_final"] = draw.hh_w_final[hh[rows]]
        out["n_psu_stratum"] = n_frame_psu[stratum[rows]]
        yield out


def _integer_coded(df: pd.DataFrame) -> pd.DataFrame:
    """A copy in which float columns holding only whole numbers (and NaN) are nullable ints.

    Stata then stores them as byte/int/long with '.' for missing, and CSV writes ``2``
    rather than ``2.0``; the values are unchanged.
    """
    out = df.copy()
    for col in out.columns:
        x = out[col]
        if not pd.api.types.is_float_dtype(x):
            continue
        v = x.to_numpy(dtype=float)
        ok = v[~np.isnan(v)]
        if ok.size and not np.array_equal(ok, np.round(ok)):
            continue
        hi = float(np.abs(ok).max()) if ok.size else 0.0
        dtype = "Int8" if hi <= 100 else "Int16" if hi <= 32_740 else "Int32"
        if hi > 2_147_483_620:
            continue
        out[col] = x.astype(dtype)
    return out


def _labels(region_labels: dict[int, str]) -> tuple[dict[str, str], dict[str, dict[Any, str]]]:
    stratum_labels = {
        (r - 1) * 2 + u: f"{name} - {URBAN_LABELS[u]}"
        for r, name in region_labels.items()
        for u in (1, 2)
    }
    var = {
        "pid": "Person id",
        "hhid": "Household id",
        "psu": "Enumeration area (primary sampling unit)",
        "stratum": "Sampling stratum (region x urban/rural)",
        "region": "Region",
        "urban": "Urban or rural area",
        "sex": "Sex",
        "age": "Age in completed years",
        "age_group": "Age group",
        "migrant": "Migrant status",
        "worked": "Worked in the last 12 months",
        "sector": "Economic activity (ISIC Rev.4 section)",
        "status_emp": "Status in employment",
        "w_base": "Base weight (inverse inclusion probability)",
        "w_final": "Final weight (base weight adjusted for household nonresponse)",
        "n_psu_stratum": "Number of enumeration areas in the stratum frame",
        "employer_type": "Child worked for: parents or third_party",
        "parent_pid": "Person id of the parent in the household (children)",
        "perp_type": "Who imposed the work: private or state",
        "cse": "Commercial sexual exploitation",
        "wfcl": "Child in an unconditional worst form of child labour",
        "dur_months": "Months in the situation in the last 12 months",
    }
    for item in INDICATOR_ITEMS:
        code = item.upper().replace("_", "-")
        if item in ICLS_IW_ITEMS or item in ICLS_C_ITEMS:
            code = "ICLS-" + code
        var[item] = f"{code}: {_ITEM_TEXT[item]}"[:80]
    val: dict[str, dict[Any, str]] = {
        "stratum": stratum_labels,
        "region": dict(region_labels),
        "urban": dict(URBAN_LABELS),
        "sex": dict(SEX_LABELS),
        "age_group": dict(AGE_GROUP_LABELS),
        "migrant": dict(MIGRANT_LABELS),
        "worked": dict(YES_NO_LABELS),
        "status_emp": dict(STATUS_LABELS),
        "cse": dict(YES_NO_LABELS),
        "wfcl": dict(YES_NO_LABELS),
        "sector": dict(SECTOR_LABELS),
        **{item: dict(ITEM_LABELS) for item in INDICATOR_ITEMS},
    }
    return {c: var[c] for c in SAMPLE_COLUMNS}, val


def _codebook(s: SimulatedSurvey, formats: tuple[str, ...], out_dir: str) -> str:
    p = s.parameters
    t = s.truth
    nat = t["populations"]
    seed = p.get("seed")
    cmd = (
        f"flestimate simulate --respondents {p['respondents']} --seed {seed} --out {out_dir} "
        f"--format {','.join(formats)}"
    )
    if p["prevalence"] != 0.006:
        cmd += f" --prevalence {p['prevalence']:g}"
    if p["n_regions"] != 5:
        cmd += f" --regions {p['n_regions']}"
    defaults = {
        "households_per_psu": 10, "psu_fraction": 0.4, "hotspot_share": 0.04,
        "hotspot_risk": 30.0, "false_involuntary": 0.05, "false_coercion": 0.03,
        "item_nonresponse": 0.002,
    }  # fmt: skip
    non_default = {k: p[k] for k, v in defaults.items() if p[k] != v}
    lines = [
        "# Synthetic forced-labour survey (flestimate sample data)",
        "",
        "A synthetic national household survey with a forced-labour module, drawn by",
        "`flestimate.simulate` from a synthetic population whose true values are known.",
        "No real person is described. Regenerate these files with:",
        "",
        "```bash",
        cmd if seed is not None else "(drawn from a numpy Generator: no seed recorded)",
        "```",
        "",
    ]
    if non_default:
        lines += [
            "with these non-default arguments of `flestimate.simulate`: "
            + ", ".join(f"`{k}={v!r}`" for k, v in non_default.items())
            + ".",
            "",
        ]
    files = [f"`fl_survey.{f}`" for f in formats]
    lines += [
        "## Files",
        "",
        "| file | content |",
        "|---|---|",
        f"| {', '.join(files)} | the survey, one row per responding person aged 5+ "
        f"({len(s.sample):,} rows) |",
        "| `fl_survey.codebook.yaml` | the labels and user-missing codes of the CSV file "
        "(read by `flestimate.read_survey` automatically; the Parquet file holds them in its "
        "schema metadata) |",
        "| `margins.csv` | population counts of persons aged 5+ by `region, sex, age_group` "
        "(column `count`), for calibration |",
        "| `truth.json` | the true population values (layout below) |",
        "| `truth_respondents.csv` | `pid, fl_true` (true status of each respondent under the "
        "default rule), `fl_form_true` (0 none, 1 exploitation, 2 sexual exploitation, "
        "3 state-imposed), `fl_child_category_true` (0 none, 1..4 = ICLS categories i..iv) |",
        "| `mapping*.yaml`, `example*.yaml` (when present) | the questionnaire mapping and "
        "pipeline examples for this survey; maintained with the classifier and the pipeline, "
        "not written by the simulator |",
        "",
        "In the `.sav` file the codes 8 (don't know) and 9 (refused) of every indicator item "
        "are declared user-missing; the `.dta` file carries the same variable and value labels.",
        "",
        "## Design",
        "",
        f"- Population: {t['population_size']:,} persons aged 5+ in {t['households']:,} "
        f"households and {t['psus']:,} enumeration areas (EAs), {p['n_regions']} regions x "
        "urban/rural = "
        f"{2 * p['n_regions']} strata.",
        "- Stage 1: in each stratum, EAs selected with probability proportional to their number "
        "of households (systematic PPS in random order; EAs whose expected hits reach 1 are "
        f"taken with certainty). Selected: {t['sample']['psus_selected']:,} EAs, of which "
        f"{t['sample']['certainty_psus']:,} certainty EAs.",
        f"- Stage 2: {p['households_per_psu']} households by simple random sampling in each "
        f"selected EA ({t['sample']['households_selected']:,} households); every person aged "
        "5+ of a responding household is interviewed.",
        f"- Household nonresponse varies by stratum: {t['sample']['households_responding']:,} "
        "households responded.",
        "- `w_base` = 1 / (pi_EA * m / M_EA), with m households selected out of the M_EA of the "
        "EA. `w_final` = `w_base` x (sum of `w_base` over the selected households of the "
        "stratum) / (sum over its responding households): a weighting-class adjustment with "
        "the stratum as class, so the respondents' `w_final` reproduce the selected "
        "households' base-weight total in every stratum.",
        "- Design for analysis: strata `stratum`, PSUs `psu`, weights `w_final`, first-stage "
        "population count `n_psu_stratum` (the PSUs were selected with unequal probabilities, "
        "so the usual choice is the with-replacement approximation without fpc).",
        "",
        "## Variables",
        "",
        "| column | label | codes |",
        "|---|---|---|",
    ]
    for col in SAMPLE_COLUMNS:
        labels = s.value_labels.get(col)
        if col in INDICATOR_ITEMS:
            codes = "1 yes, 2 no, 8 don't know, 9 refused; empty if not asked (did not work)"
        elif col == "sector":
            codes = "letter A..U; empty when not working"
        elif labels:
            codes = ", ".join(f"{k} {v}" for k, v in labels.items())
            if col in ("status_emp", "cse", "wfcl"):
                codes += "; empty when not asked"
        elif col == "parent_pid":
            codes = "empty for adults and children without a parent in the household"
        elif col in ("employer_type", "perp_type"):
            codes = "empty when not asked"
        elif col == "dur_months":
            codes = "1..12; asked when any indicator item is yes"
        else:
            codes = ""
        lines.append(f"| `{col}` | {s.variable_labels[col]} | {codes} |")
    lines += [
        "",
        "`perp_type`, `cse` and `dur_months` are asked of people who answered yes to at least "
        "one indicator item; `employer_type` and `wfcl` of children (5-17) who worked. The "
        "indicator items are the ILO 2012 indicators (`ur_i*`, `wd_i*`, `il_i*` "
        "involuntariness by dimension, `p*` penalties asked once) and the ICLS 2018 elements "
        "(`iw*` involuntary work, `c*` coercion).",
        "",
        "## True values",
        "",
        "The default classification rule defines the truth: framework `ilo-2012`, "
        "`strength_rule: any`, `penalty_scope: any_dimension`, `missing_policy: conservative` "
        "(don't know and refused count as no); children by the ICLS 2018 categories i-iv "
        "(third-party coercion, or working for a parent in forced labour, or an unconditional "
        "worst form `wfcl = 1`).",
        "",
        "| population | persons | in forced labour | per 1,000 |",
        "|---|---|---|---|",
    ]
    for key in ("all", "adults", "children"):
        e = nat[key]
        lines.append(
            f"| {e['definition']} | {e['national']['population']:,} | {e['national']['fl']:,} | "
            f"{e['national']['prevalence_per_1000']:.3f} |"
        )
    lines += [
        "",
        "`truth.json` layout: `populations.<all|adults|children>` each with `national` "
        "(`population`, `fl`, `prevalence_per_1000`), `by.<sex|age_group|region|migrant|urban>`"
        ".<code> (same fields plus `label`), `by.sector.<letter>` (among persons who worked: "
        "`population` is the number of workers of the sector, prevalence per 1,000 workers), "
        "`forms.<exploitation|sexual_exploitation|state_imposed>` (`fl`, `prevalence_per_1000` "
        "of the whole population group), `stock` (`persons_on_any_given_day` = sum of "
        "`dur_months`/12 over people in forced labour, `per_1000`) and, for children, "
        "`child_categories` (`i`..`iv` counts). `prevalence_per_1000` is always "
        "1000 x `fl` / `population`. `sample` gives the sample counts and `parameters` the "
        "arguments of the draw.",
        "",
    ]
    return "\n".join(lines)
