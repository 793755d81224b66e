"""The answers of the responding persons to the forced-labour module.

The ILO 2012 items (involuntariness by dimension, penalties) and the ICLS 2018
elements, consistent with each person's latent status under the default rule, with
false positives outside forced labour and don't know / refused answers.
"""

from __future__ import annotations

import numpy as np

from flestimate.simulation.parameters import (
    ICLS_C_ITEMS,
    ICLS_IW_ITEMS,
    INDICATOR_ITEMS,
    INVOL_P_FL,
    INVOL_P_FP,
    INVOL_TO_IW,
    INVOLUNTARINESS_ITEMS,
    PEN_P_FL,
    PEN_P_FP,
    PEN_TO_C,
    PENALTY_ITEMS,
)
from flestimate.simulation.population import PopulationFrame, categorical


def _at_least_one(rng: np.random.Generator, probs: np.ndarray, n: int) -> np.ndarray:
    """(n, K) boolean: independent Bernoulli(probs) per item, at least one True per row."""
    yes = rng.random((n, probs.size)) < probs
    none = ~yes.any(axis=1)
    if none.any():
        pick = categorical(rng, probs, np.zeros(int(none.sum()), dtype=np.int64))
        rows = np.flatnonzero(none)
        yes[rows, pick] = True
    return yes


def draw_answers(
    rng: np.random.Generator,
    fr: PopulationFrame,
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
    for rows, p_inv in ((np.flatnonzero(fl), INVOL_P_FL), (np.flatnonzero(fp_inv), INVOL_P_FP)):
        inv_yes[rows] = _at_least_one(rng, p_inv, rows.size)
    for rows, p_pen in (
        (np.flatnonzero(has_pen & fl), PEN_P_FL),
        (np.flatnonzero(fp_pen), PEN_P_FP),
    ):
        pen_yes[rows] = _at_least_one(rng, p_pen, rows.size)

    # ICLS elements follow the ILO 2012 items they correspond to, plus a few of their own
    map_iw = np.zeros((n_inv, len(ICLS_IW_ITEMS)), dtype=np.int8)
    for item, j in INVOL_TO_IW.items():
        map_iw[INVOLUNTARINESS_ITEMS.index(item), j] = 1
    map_c = np.zeros((n_pen, len(ICLS_C_ITEMS)), dtype=np.int8)
    for item, j in PEN_TO_C.items():
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
