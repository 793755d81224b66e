"""The synthetic country: names, codes and labels of the survey, the behavioural
constants of the population and of the answers, and the checks of the arguments.

Everything the other modules of :mod:`flestimate.simulation` draw from is fixed here,
so the whole model of the country reads on one page.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from flestimate.errors import ValidationError

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


# --------------------------------------------------------------------------------------------
# Behavioural constants of the synthetic country
# --------------------------------------------------------------------------------------------
# Household composition (persons aged 5+): head + spouse + other adults + children 5-17.
P_SPOUSE = 0.72
LAMBDA_OTHER_ADULTS = (0.45, 0.70)  # urban, rural
LAMBDA_CHILDREN = (1.00, 1.50)
P_CHILD_HAS_PARENT = 0.92
HH_MIGRANT_PROBS = np.array([[0.80, 0.15, 0.05], [0.90, 0.08, 0.02]])
# Household response rate: urban, rural (stratum rates vary around these).
RESPONSE_RATE = (0.84, 0.93)
# Relative risk of forced labour by sector (ISIC letter) and migrant status (code - 1).
SECTOR_RR = dict.fromkeys(SECTORS, 1.0) | {
    "A": 2.0, "B": 2.5, "C": 1.8, "F": 2.5, "I": 1.5, "S": 1.5, "T": 4.0,
    "K": 0.2, "O": 0.4, "P": 0.2, "Q": 0.3, "U": 0.1, "J": 0.3,
}  # fmt: skip
MIGRANT_RR = np.array([1.0, 1.5, 4.0])
# Children: relative risk of third-party coercion (i/ii) and of unconditional worst forms (iv)
CHILD_COERCION_RR = 0.6
CHILD_WORST_FORM_RR = 0.25

# Sector distribution of workers: rows urban male adult, urban female adult, urban child,
# rural male adult, rural female adult, rural child; columns SECTORS.
SECTOR_WEIGHTS: dict[str, dict[str, float]] = {
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
INVOL_P_FL = np.array([
    0.03, 0.04, 0.02, 0.30, 0.02, 0.10,                       # ur_i1..6
    0.45, 0.15, 0.12, 0.10, 0.03, 0.06, 0.08, 0.08, 0.01, 0.40,  # wd_i1..10
    0.06, 0.15, 0.12, 0.08,                                   # il_i1..4
])  # fmt: skip
INVOL_P_FP = np.array([
    0.005, 0.002, 0.001, 0.15, 0.005, 0.02,
    0.40, 0.08, 0.01, 0.01, 0.005, 0.02, 0.01, 0.03, 0.001, 0.25,
    0.02, 0.01, 0.02, 0.005,
])  # fmt: skip
PEN_P_FL = np.array([0.15, 0.12, 0.12, 0.36, 0.10, 0.08, 0.25, 0.03, 0.08, 0.10, 0.02, 0.02, 0.10])
PEN_P_FP = np.array(
    [0.01, 0.005, 0.01, 0.08, 0.005, 0.02, 0.45, 0.02, 0.25, 0.12, 0.01, 0.01, 0.02]
)
# ILO 2012 item -> ICLS element it corresponds to (index into ICLS_IW_ITEMS / ICLS_C_ITEMS).
INVOL_TO_IW = {
    "ur_i1": 0, "ur_i2": 0, "ur_i3": 0, "ur_i4": 1, "ur_i5": 1, "ur_i6": 0, "wd_i1": 2,
    "wd_i2": 2, "wd_i4": 5, "wd_i5": 1, "wd_i6": 6, "wd_i10": 4, "il_i1": 8, "il_i2": 8,
    "il_i3": 7, "il_i4": 7,
}  # fmt: skip
PEN_TO_C = {"p1": 0, "p2": 1, "p13": 1, "p3": 2, "p4": 3, "p5": 4, "p6": 5, "p7": 5, "p10": 5}


# --------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------
def check_int(name: str, value: Any, lo: int, hi: int) -> int:
    """``value`` as an int, or a ValidationError naming ``name``, the value and ``[lo, hi]``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValidationError(f"parameter {name}={value!r} must be an integer in [{lo:,}, {hi:,}].")
    if not lo <= value <= hi:
        raise ValidationError(
            f"parameter {name}={value:,} is outside the allowed range [{lo:,}, {hi:,}]; "
            f"choose a value in that range."
        )
    return int(value)


def check_float(
    name: str, value: Any, lo: float, hi: float, *, lo_open: bool = True, hi_open: bool = True
) -> float:
    """``value`` as a float, or a ValidationError naming ``name``, the value and the interval."""
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


def make_rng(rng: Any) -> tuple[np.random.Generator, int | None]:
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

