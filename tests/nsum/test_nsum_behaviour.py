"""Network scale-up: cleaning of the answers, identities, adjustment and errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import flestimate as fl
from flestimate import nsum

KNOWN = {"k1": 1000.0, "k2": 3000.0, "k3": 6000.0}
N = 100_000


def small_survey(seed: int = 1, n: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    degree = rng.gamma(2.0, 150.0, n)
    frame = pd.DataFrame({f"k{j}": rng.poisson(degree * s / N) for j, s in
                          zip((1, 2, 3), KNOWN.values(), strict=True)})
    frame["h"] = rng.poisson(degree * 500 / N)
    frame["stratum"] = np.repeat(np.arange(6), n // 6)
    frame["psu"] = np.arange(n) // 10
    frame["w"] = rng.uniform(50, 150, n)
    frame["sex"] = rng.integers(1, 3, n)
    return frame


def by_hand(frame: pd.DataFrame, w: np.ndarray) -> float:
    ysum = frame[list(KNOWN)].sum(axis=1).to_numpy()
    return (w * frame["h"]).sum() / (w * ysum).sum() * sum(KNOWN.values())


def test_formula_by_hand_and_total_population_cancels():
    frame = small_survey()
    design = fl.SurveyDesign(frame, weight="w", strata="stratum", psu="psu")
    a = nsum.scale_up(design, "h", known=KNOWN, total_population=N).to_frame()
    b = nsum.scale_up(design, "h", known=KNOWN, total_population=7 * N).to_frame()
    np.testing.assert_allclose(a["estimate"].iloc[0], by_hand(frame, frame["w"].to_numpy()))
    np.testing.assert_allclose(a[["estimate", "se"]], b[["estimate", "se"]], rtol=1e-12)


@settings(max_examples=20, deadline=None)
@given(st.floats(0.01, 1e4))
def test_equal_weights_give_the_unweighted_estimate(c):
    frame = small_survey().assign(w=c)
    design = fl.SurveyDesign(frame, weight="w", strata="stratum", psu="psu")
    est = nsum.scale_up(design, "h", known=KNOWN, total_population=N).to_frame()["estimate"]
    ysum = frame[list(KNOWN)].sum(axis=1)
    np.testing.assert_allclose(est.iloc[0], frame["h"].sum() / ysum.sum() * 10_000, rtol=1e-12)


def test_topcode_and_special_codes():
    frame = small_survey()
    frame.loc[0, "k1"] = 95  # above the top code
    frame.loc[1, "k2"] = 98  # don't know
    frame.loc[2, "h"] = -9  # refused
    design = fl.SurveyDesign(frame, weight="w", strata="stratum", psu="psu")
    got = nsum.scale_up(
        design, "h", known=KNOWN, total_population=N, topcode=30,
        missing_codes={"k2": [{"lo": 97, "hi": 99}], "h": [-9]},
    ).to_frame()  # fmt: skip
    clean = frame.copy()
    clean[list(KNOWN)] = clean[list(KNOWN)].clip(upper=30)
    keep = ~clean.index.isin([1, 2])
    w = np.where(keep, clean["w"], 0.0)
    np.testing.assert_allclose(got["estimate"].iloc[0], by_hand(clean.fillna(0), w), rtol=1e-12)
    assert got["n_unweighted"].iloc[0] == len(frame) - 2
    # the hidden answer is not top-coded by a number (only the known ones are)
    frame.loc[3, "h"] = 50
    d = fl.SurveyDesign(frame, weight="w", strata="stratum", psu="psu")
    a = nsum.scale_up(d, "h", known=KNOWN, total_population=N, topcode=30, missing_codes=[98, -9])
    b = nsum.scale_up(d, "h", known=KNOWN, total_population=N, topcode={"h": 30, "k1": 30},
                      missing_codes=[98, -9])
    assert a.to_frame()["estimate"].iloc[0] > b.to_frame()["estimate"].iloc[0]


def test_degrees_are_killworth():
    frame = small_survey()
    d = nsum.known_degrees(frame, known=KNOWN, total_population=N)
    np.testing.assert_allclose(d, frame[list(KNOWN)].sum(axis=1) * N / 10_000)


def test_adjustment_and_sensitivity():
    frame = small_survey()
    design = fl.SurveyDesign(frame, weight="w", strata="stratum", psu="psu")
    base = nsum.scale_up(design, "h", known=KNOWN, total_population=N)
    adj = nsum.scale_up(design, "h", known=KNOWN, total_population=N,
                        adjustment={"visibility": 0.5, "degree_ratio": 0.8})
    b, a = base.to_frame().iloc[0], adj.to_frame().iloc[0]
    for col in ("estimate", "se", "ci_lower", "ci_upper"):
        np.testing.assert_allclose(a[col], b[col] / 0.4, rtol=1e-12)
    grid = nsum.sensitivity(base, {"visibility": [0.5, 1.0], "degree_ratio": [0.8, 1.0]})
    assert len(grid) == 4
    row = grid[(grid.visibility == 0.5) & (grid.degree_ratio == 0.8)].iloc[0]
    np.testing.assert_allclose(row["estimate"], a["estimate"], rtol=1e-12)
    np.testing.assert_allclose(grid.iloc[-1]["estimate"], b["estimate"])


def test_rescaled_bootstrap_design_runs_and_is_close_to_taylor():
    frame = small_survey()
    design = fl.SurveyDesign(frame, weight="w", strata="stratum", psu="psu")
    taylor = nsum.scale_up(design, "h", known=KNOWN, total_population=N).to_frame().iloc[0]
    boot = design.replicate("subbootstrap", n_replicates=400, rng=3)
    rep = nsum.scale_up(boot, "h", known=KNOWN, total_population=N).to_frame().iloc[0]
    assert rep["estimate"] == pytest.approx(taylor["estimate"], rel=1e-12)
    assert rep["se"] == pytest.approx(taylor["se"], rel=0.25)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"known": {"k1": -1}}, "size"),
        ({"known": []}, "must map"),
        ({"total_population": 0}, "total_population"),
        ({"total_population": 500}, "larger than total_population"),
        ({"adjustment": 0}, "adjustment factor"),
        ({"topcode": "x"}, "topcode"),
    ],
)
def test_bad_input_is_a_named_error(kwargs, match):
    design = fl.SurveyDesign(small_survey(), weight="w", strata="stratum", psu="psu")
    args = {"known": KNOWN, "total_population": N, **kwargs}
    with pytest.raises(fl.ValidationError, match=match):
        nsum.scale_up(design, "h", **args)


def test_bad_answers_name_the_column():
    frame = small_survey().astype({"k1": object})
    frame.loc[4, "k1"] = "many"
    design = fl.SurveyDesign(frame, weight="w", strata="stratum", psu="psu")
    with pytest.raises(fl.EstimationError, match="'k1' has 1 non-numeric"):
        nsum.scale_up(design, "h", known=KNOWN, total_population=N)
    frame = small_survey()
    frame.loc[4, "k3"] = -1
    design = fl.SurveyDesign(frame, weight="w", strata="stratum", psu="psu")
    with pytest.raises(fl.EstimationError, match="'k3' has 1 negative"):
        nsum.scale_up(design, "h", known=KNOWN, total_population=N)
    with pytest.raises(fl.EstimationError, match="not in the data"):
        nsum.scale_up(design, "nope", known=KNOWN, total_population=N)
    with pytest.raises(fl.ValidationError, match="both hidden and known"):
        nsum.scale_up(design, "k1", known=KNOWN, total_population=N)
