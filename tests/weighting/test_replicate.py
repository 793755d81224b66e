"""Weighting steps on a JK1 replicate design against R survey 4.1.1 (tests/reference/).

rclus1 <- as.svrepdesign(dclus1) on apiclus1; R re-weights every replicate. The
replicate weight columns and R's scale are taken from the reference file.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from flestimate import CalibrationError
from flestimate.design import ReplicateDesign, SurveyDesign
from flestimate.weighting import (
    adjust_nonresponse,
    calibrate,
    poststratify,
    rake,
    trim_weights,
    weight_summary,
)

REF = json.loads((Path(__file__).parents[1] / "reference" / "weighting_apiclus1.json").read_text())
POP = REF["population"]
STYPE = POP["stype"]
SCHWIDE = POP["sch_wide"]
CROSS = pd.DataFrame(
    {
        "stype": POP["cross"]["stype"],
        "sch.wide": POP["cross"]["sch_wide"],
        "count": POP["cross"]["count"],
    }
)
CAL = {"stype": STYPE, "api99": POP["api99"]}
RW = np.asarray(REF["jk1_repweights"], dtype=float)
NAMES = [f"rw{r + 1}" for r in range(RW.shape[1])]


def api_frame() -> pd.DataFrame:
    df = pd.DataFrame(REF["data"]).rename(columns={"sch_wide": "sch.wide"})
    for s in "EHM":
        df[f"is_{s}"] = (df["stype"] == s).astype(float)
    for r, name in enumerate(NAMES):
        df[name] = RW[:, r]
    return df


@pytest.fixture(scope="module")
def rclus1() -> ReplicateDesign:
    return ReplicateDesign(
        api_frame(),
        weight="pw",
        replicate_weights=NAMES,
        method="jk1",
        scale=REF["meta"]["jk1_scale"],
        rscales=1.0,
    )


CASES = {
    "ps_stype": lambda d: poststratify(d, totals={"stype": STYPE}),
    "ps_cross": lambda d: poststratify(d, totals=CROSS),
    "rake_conv": lambda d: rake(
        d, margins={"stype": STYPE, "sch.wide": SCHWIDE}, max_iter=200, tolerance=1e-13
    ),
    "cal_linear": lambda d: calibrate(d, totals=CAL),
    "cal_linear_stype": lambda d: calibrate(d, totals={"stype": STYPE}),
    "cal_raking": lambda d: calibrate(d, totals=CAL, method="raking"),
    "cal_raking_stype": lambda d: calibrate(d, totals={"stype": STYPE}, method="raking"),
    "cal_logit": lambda d: calibrate(d, totals=CAL, method="logit", bounds=(0.45, 3)),
    "cal_linear_bounded": lambda d: calibrate(d, totals=CAL, bounds=(0.45, 3)),
    "trim": lambda d: trim_weights(calibrate(d, totals=CAL, method="raking"), lower=22, upper=50),
    "nonresponse": lambda d: adjust_nonresponse(d, responded="responded", cells="sch.wide"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_jk1_against_r(rclus1, name):
    ref = REF["jk1"][name]
    out = CASES[name](rclus1)
    flat = lambda v: np.ravel(np.asarray(v, dtype=float))  # noqa: E731
    np.testing.assert_allclose(out.weights.to_numpy(), ref["weights"], rtol=1e-9)
    # R stops each replicate's raking when the full sample's cross-table has converged,
    # which leaves the replicates ~1e-9 from their own fit
    w_rtol = 1e-8 if name == "rake_conv" else 1e-9
    np.testing.assert_allclose(
        out.replicate_weights.to_numpy(), np.asarray(ref["repweights"]), rtol=w_rtol, atol=1e-12
    )
    m = out.mean("api00").to_frame()
    t = out.total("enroll").to_frame()
    s = out.total(["is_E", "is_H", "is_M"]).to_frame()
    np.testing.assert_allclose(m["estimate"], flat(ref["mean_api00"]["estimate"]), rtol=1e-9)
    np.testing.assert_allclose(m["se"], flat(ref["mean_api00"]["se"]), rtol=1e-7)
    np.testing.assert_allclose(t["estimate"], flat(ref["total_enroll"]["estimate"]), rtol=1e-9)
    np.testing.assert_allclose(t["se"], flat(ref["total_enroll"]["se"]), rtol=1e-7)
    np.testing.assert_allclose(s["estimate"], flat(ref["total_stype"]["estimate"]), rtol=1e-9)
    # totals of calibration variables: SE ~0 (R leaves up to 7e-5 from replicates stopped
    # at its convergence criterion, which flestimate follows)
    np.testing.assert_allclose(s["se"], flat(ref["total_stype"]["se"]), rtol=1e-6, atol=1e-5)


def test_jk1_from_design_matches_columns(rclus1):
    # replicates built from the Taylor design (as.svrepdesign) give the same result
    d = SurveyDesign(api_frame(), weight="pw", psu="dnum", fpc="fpc")
    try:
        rep = d.replicate("jk1")
    except AttributeError:
        from flestimate.design.replicate import replicate_design

        rep = replicate_design(d, "jk1")
    a = rake(rep, margins={"stype": STYPE, "sch.wide": SCHWIDE}, tolerance=1e-12, max_iter=200)
    b = rake(rclus1, margins={"stype": STYPE, "sch.wide": SCHWIDE}, tolerance=1e-12, max_iter=200)
    # same replicates, possibly in another order: compare the sorted column sums and SEs
    np.testing.assert_allclose(
        np.sort(a.replicate_weights.to_numpy().sum(axis=0)),
        np.sort(b.replicate_weights.to_numpy().sum(axis=0)),
        rtol=1e-10,
    )
    np.testing.assert_allclose(a.weights, b.weights, rtol=1e-12)
    np.testing.assert_allclose(
        a.mean("api00").to_frame()["se"], b.mean("api00").to_frame()["se"], rtol=1e-10
    )


def test_replicates_are_recalibrated_and_input_unchanged(rclus1):
    before = rclus1.replicate_weights.copy()
    out = calibrate(rclus1, totals=CAL)
    pd.testing.assert_frame_equal(rclus1.replicate_weights, before)
    W = out.replicate_weights.to_numpy()
    X = api_frame()
    for r in range(W.shape[1]):
        col = W[:, r]
        got = pd.Series(col).groupby(X["stype"].to_numpy()).sum()
        np.testing.assert_allclose(got.loc[["E", "H", "M"]], [4421, 755, 1018], rtol=1e-9)
        np.testing.assert_allclose(col @ X["api99"].to_numpy(), POP["api99"], rtol=1e-9)
    h = out.history[-1]
    assert h.step == "calibrate" and h.replicates["replicates"] == 15
    assert list(weight_summary(out)["step"]) == ["input", "calibrate"]


def test_replicate_bounds_cannot_be_met(rclus1):
    # the full sample meets (0.6, 1.6) but some replicates cannot (as in R)
    with pytest.raises(CalibrationError, match=r"of replicate \d+ did not converge.*bounds"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            calibrate(rclus1, totals=CAL, bounds=(0.6, 1.6))
