"""Weighting the bundled sample survey to its population margins (R survey 4.1.1 reference).

A stratified cluster design with unequal weights: the R-specific details of the
variance (R's raking residual uses the unweighted mean of u / w within margin
cells) show up here, where they do not on apiclus1 (equal weights).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from flestimate.design import SurveyDesign
from flestimate.weighting import calibrate, poststratify, rake

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "sample"
REF = json.loads((Path(__file__).parents[1] / "reference" / "weighting_sample.json").read_text())[
    "sample"
]


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    df = pd.read_csv(SAMPLE / "fl_survey.csv")
    df["worked1"] = (df["worked"] == 1).astype(float)
    return df


@pytest.fixture(scope="module")
def margins() -> pd.DataFrame:
    return pd.read_csv(SAMPLE / "margins.csv")


@pytest.fixture(scope="module")
def design(frame) -> SurveyDesign:
    return SurveyDesign(frame, weight="w_final", strata="stratum", psu="psu", nest=True)


def margin(mg: pd.DataFrame, col: str) -> dict:
    return mg.groupby(col)["count"].sum().to_dict()


def three(mg):
    return {c: margin(mg, c) for c in ("region", "sex", "age_group")}


def check(design, ref, *, w_rtol=1e-9, se_rtol=1e-9):
    np.testing.assert_allclose(design.weights.to_numpy(), ref["weights"], rtol=w_rtol)
    m = design.mean("age").to_frame()
    t = design.total("worked1").to_frame()
    flat = lambda v: np.ravel(np.asarray(v, dtype=float))  # noqa: E731
    np.testing.assert_allclose(m["estimate"], flat(ref["mean_age"]["estimate"]), rtol=1e-9)
    np.testing.assert_allclose(m["se"], flat(ref["mean_age"]["se"]), rtol=se_rtol)
    np.testing.assert_allclose(t["estimate"], flat(ref["total_worked"]["estimate"]), rtol=1e-9)
    np.testing.assert_allclose(t["se"], flat(ref["total_worked"]["se"]), rtol=se_rtol)


def test_rake_three_margins_against_r(design, margins):
    out = rake(design, margins=three(margins), max_iter=200, tolerance=1e-13)
    check(out, REF["rake3"])


def test_calibrate_against_r(design, margins):
    check(calibrate(design, totals=three(margins)), REF["cal_linear3"])
    check(calibrate(design, totals=three(margins), method="raking"), REF["cal_raking3"])


def test_poststratify_cross_against_r(design, margins):
    check(poststratify(design, totals=margins), REF["ps_cross3"])


def test_rake_one_margin_against_r(design, margins):
    # weights equal post-stratification; R's raking residual (unweighted mean of u/w in
    # the cell) gives a slightly different SE from postStratify's (weighted) with
    # unequal weights, and flestimate follows each
    rk = rake(design, margins={"region": margin(margins, "region")}, tolerance=1e-13)
    ps = poststratify(design, totals={"region": margin(margins, "region")})
    check(rk, REF["rake_region"])
    check(ps, REF["ps_region"])
    np.testing.assert_allclose(rk.weights, ps.weights, rtol=1e-12)


@pytest.mark.parametrize("method", ["linear", "raking"])
def test_calibrating_to_margins_reproduces_them(design, frame, margins, method):
    out = (
        rake(design, margins=three(margins))
        if method == "raking"
        else calibrate(design, totals=three(margins), method=method)
    )
    w = out.weights.to_numpy()
    for col in ("region", "sex", "age_group"):
        got = pd.Series(w).groupby(frame[col].to_numpy()).sum()
        want = pd.Series(margin(margins, col))
        np.testing.assert_allclose(got.sort_index(), want.sort_index(), rtol=1e-7)
    cal = calibrate(design, totals=three(margins), method="raking")
    w = cal.weights.to_numpy()
    for col in ("region", "sex", "age_group"):
        got = pd.Series(w).groupby(frame[col].to_numpy()).sum()
        np.testing.assert_allclose(
            got.sort_index(), pd.Series(margin(margins, col)).sort_index(), rtol=1e-9
        )


def test_identity_linear_one_categorical_is_poststratify_unequal_weights(design, margins):
    tot = {"age_group": margin(margins, "age_group")}
    a = calibrate(design, totals=tot)
    b = poststratify(design, totals=tot)
    np.testing.assert_allclose(a.weights, b.weights, rtol=1e-12)
    for v in ("age", "worked1"):
        fa = a.mean(v, by="region").to_frame()
        fb = b.mean(v, by="region").to_frame()
        np.testing.assert_allclose(fa["estimate"], fb["estimate"], rtol=1e-12)
        np.testing.assert_allclose(fa["se"], fb["se"], rtol=1e-9)


def test_rake_is_order_invariant_and_scale_free(design, frame, margins):
    m = three(margins)
    a = rake(design, margins=m, tolerance=1e-12, max_iter=200)
    b = rake(design, margins=dict(reversed(list(m.items()))), tolerance=1e-12, max_iter=200)
    np.testing.assert_allclose(a.weights, b.weights, rtol=1e-9)
    shuffled = frame.sample(frac=1.0, random_state=3)
    d2 = SurveyDesign(shuffled, weight="w_final", strata="stratum", psu="psu", nest=True)
    c = rake(d2, margins=m, tolerance=1e-12, max_iter=200)
    np.testing.assert_allclose(
        c.weights.sort_index().to_numpy(), a.weights.sort_index().to_numpy(), rtol=1e-9
    )


def test_docstring_examples(monkeypatch):
    import doctest
    import importlib

    monkeypatch.chdir(ROOT)
    for name in ("rake", "calibrate", "summary", "totals"):
        mod = importlib.import_module(f"flestimate.weighting.{name}")
        result = doctest.testmod(mod, optionflags=doctest.NORMALIZE_WHITESPACE)
        assert result.attempted > 0 and result.failed == 0, name
