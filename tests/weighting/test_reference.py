"""Weighting steps on a Taylor design against R survey 4.1.1 (tests/reference/).

The reference values were made by tests/reference/make_reference_weighting.R on
apiclus1 (dclus1 <- svydesign(id = ~dnum, weights = ~pw, data = apiclus1, fpc = ~fpc)).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from flestimate import CalibrationError, ValidationError
from flestimate.design import SurveyDesign
from flestimate.errors import CalibrationWarning
from flestimate.weighting import (
    adjust_nonresponse,
    calibrate,
    poststratify,
    rake,
    trim_weights,
    weight_summary,
)

REF_PATH = Path(__file__).parents[1] / "reference" / "weighting_apiclus1.json"
REF = json.loads(REF_PATH.read_text())
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


def api_frame() -> pd.DataFrame:
    df = pd.DataFrame(REF["data"]).rename(columns={"sch_wide": "sch.wide"})
    for s in "EHM":
        df[f"is_{s}"] = (df["stype"] == s).astype(float)
    return df


@pytest.fixture(scope="module")
def dclus1() -> SurveyDesign:
    return SurveyDesign(api_frame(), weight="pw", psu="dnum", fpc="fpc")


def stats(design) -> dict[str, np.ndarray]:
    m = design.mean("api00").to_frame()
    t = design.total("enroll").to_frame()
    s = design.total(["is_E", "is_H", "is_M"]).to_frame()
    return {
        "mean_est": m["estimate"].to_numpy(),
        "mean_se": m["se"].to_numpy(),
        "enroll_est": t["estimate"].to_numpy(),
        "enroll_se": t["se"].to_numpy(),
        "stype_est": s["estimate"].to_numpy(),
        "stype_se": s["se"].to_numpy(),
    }


def check_against(design, ref: dict, *, w_rtol: float, se_rtol: float) -> None:
    np.testing.assert_allclose(design.weights.to_numpy(), ref["weights"], rtol=w_rtol, atol=0)
    got = stats(design)
    flat = lambda v: np.ravel(np.asarray(v, dtype=float))  # noqa: E731
    np.testing.assert_allclose(got["mean_est"], flat(ref["mean_api00"]["estimate"]), rtol=1e-9)
    np.testing.assert_allclose(got["mean_se"], flat(ref["mean_api00"]["se"]), rtol=se_rtol)
    np.testing.assert_allclose(got["enroll_est"], flat(ref["total_enroll"]["estimate"]), rtol=1e-9)
    np.testing.assert_allclose(got["enroll_se"], flat(ref["total_enroll"]["se"]), rtol=se_rtol)
    np.testing.assert_allclose(got["stype_est"], flat(ref["total_stype"]["estimate"]), rtol=1e-9)
    # totals of a calibration variable have SE 0 up to rounding (R: ~1e-12)
    np.testing.assert_allclose(
        got["stype_se"], flat(ref["total_stype"]["se"]), rtol=se_rtol, atol=1e-6
    )


CASES = {
    "ps_stype": lambda d: poststratify(d, totals={"stype": STYPE}),
    "ps_cross": lambda d: poststratify(d, totals=CROSS),
    "rake_conv": lambda d: rake(
        d, margins={"stype": STYPE, "sch.wide": SCHWIDE}, max_iter=100, tolerance=1e-13
    ),
    "rake_one": lambda d: rake(d, margins={"stype": STYPE}, tolerance=1e-13),
    "cal_linear": lambda d: calibrate(d, totals=CAL),
    "cal_linear_stype": lambda d: calibrate(d, totals={"stype": STYPE}),
    "cal_raking": lambda d: calibrate(d, totals=CAL, method="raking"),
    "cal_logit": lambda d: calibrate(d, totals=CAL, method="logit", bounds=(0.5, 1.7)),
    "cal_linear_bounded": lambda d: calibrate(d, totals=CAL, bounds=(0.6, 1.6)),
    "trim": lambda d: trim_weights(calibrate(d, totals=CAL, method="raking"), lower=22, upper=50),
    "chain_ps_cal": lambda d: calibrate(
        poststratify(d, totals={"stype": STYPE}),
        totals={"sch.wide": SCHWIDE, "api99": POP["api99"]},
    ),
    "nonresponse": lambda d: adjust_nonresponse(d, responded="responded", cells="sch.wide"),
}


SINGLE_STEP = [k for k in CASES if k != "chain_ps_cal"]


@pytest.mark.parametrize("name", SINGLE_STEP)
def test_taylor_against_r(dclus1, name):
    out = CASES[name](dclus1)
    check_against(out, REF["taylor"][name], w_rtol=1e-9, se_rtol=1e-9)


def numeric_se(frame: pd.DataFrame, chain, statistic) -> float:
    """SE from the PSU influence computed by differentiating the whole weighting chain.

    Perturbing the design weights of PSU p by (1 + eps) and differentiating the
    estimate gives the PSU total of its linearised score; the one-stage
    without-replacement variance of dclus1 is then (1 - f) n / (n - 1) sum (z_p - zbar)^2.
    """
    eps = 1e-6
    psus = np.unique(frame["dnum"])
    z = np.empty(psus.size)
    for j, p in enumerate(psus):  # 15 PSUs: a test-only loop
        vals = []
        for sgn in (1.0, -1.0):
            f = frame.copy()
            f.loc[f["dnum"] == p, "pw"] *= 1.0 + sgn * eps
            d = SurveyDesign(f, weight="pw", psu="dnum", fpc="fpc")
            vals.append(statistic(chain(d)))
        z[j] = (vals[0] - vals[1]) / (2 * eps)
    n = psus.size
    f_rate = n / frame["fpc"].iloc[0]
    return float(np.sqrt((1 - f_rate) * n / (n - 1) * np.sum((z - z.mean()) ** 2)))


def mean_api00(d) -> float:
    return float(d.mean("api00").to_frame()["estimate"].iloc[0])


def total_is_e(d) -> float:
    return float(d.total("is_E").to_frame()["estimate"].iloc[0])


def test_chain_follows_the_chain_rule_not_r_order(dclus1):
    # postStratify then calibrate: R's svyrecvar residualises in the order the steps were
    # added (SE of mean api00 3.3346); the linearisation of the chain applies the last
    # step first. Checked against the derivative of the whole chain, PSU by PSU.
    chain = CASES["chain_ps_cal"]
    out = chain(dclus1)
    ref = REF["taylor"]["chain_ps_cal"]
    np.testing.assert_allclose(out.weights.to_numpy(), ref["weights"], rtol=1e-9)
    got = stats(out)
    np.testing.assert_allclose(got["mean_est"], ref["mean_api00"]["estimate"], rtol=1e-9)
    se_num = numeric_se(api_frame(), chain, mean_api00)
    np.testing.assert_allclose(got["mean_se"][0], se_num, rtol=1e-5)
    assert abs(got["mean_se"][0] - np.ravel(ref["mean_api00"]["se"])[0]) > 0.5  # R: 3.3346
    se_e = numeric_se(api_frame(), chain, total_is_e)
    np.testing.assert_allclose(got["stype_se"][0], se_e, rtol=1e-5)


def test_nonresponse_then_poststratify_chain_rule(dclus1):
    def chain(d):
        d = adjust_nonresponse(d, responded="responded", cells="sch.wide")
        return poststratify(d, totals={"stype": STYPE})

    out = chain(dclus1)
    se = out.mean("api00").to_frame()["se"].iloc[0]
    np.testing.assert_allclose(se, numeric_se(api_frame(), chain, mean_api00), rtol=1e-5)
    # the post-stratified totals are fixed: SE 0
    assert stats(out)["stype_se"].max() < 1e-6


def test_rake_r_default_stops_early(dclus1):
    # R's rake() defaults (maxit 10, epsilon 1 on the cross-table) stop before the
    # margins are met (stype totals 4420.96, 755.009, 1018.03 instead of 4421, 755, 1018);
    # flestimate rakes until the margins are met to `tolerance`. On apiclus1 R's early
    # stop moves the weights by 3.1e-5, the mean of api00 by 1.2e-7 and its SE by 1.0e-6
    # (relative) from the converged values, which flestimate reproduces.
    out = rake(dclus1, margins={"stype": STYPE, "sch.wide": SCHWIDE})  # default tolerance
    early = REF["taylor"]["rake_default"]
    conv = REF["taylor"]["rake_conv"]
    w = out.weights.to_numpy()
    np.testing.assert_allclose(w, conv["weights"], rtol=1e-6)
    assert np.max(np.abs(np.asarray(early["weights"]) / conv["weights"] - 1)) > 3e-5
    np.testing.assert_allclose(stats(out)["stype_est"], [4421, 755, 1018], rtol=1e-7)
    assert abs(early["total_stype"]["estimate"][0] - 4421) > 0.03


def test_input_design_unchanged(dclus1):
    frame = dclus1.data.copy()
    w = dclus1.weights.copy()
    out = rake(dclus1, margins={"stype": STYPE, "sch.wide": SCHWIDE})
    out = calibrate(out, totals=CAL)
    pd.testing.assert_frame_equal(dclus1.data, frame)
    pd.testing.assert_series_equal(dclus1.weights, w)
    assert dclus1.history == ()
    assert len(out.history) == 2
    assert not np.allclose(out.weights.to_numpy(), w.to_numpy())


# ------------------------------------------------------------------ identities


def test_identity_rake_one_margin_is_poststratify(dclus1):
    a = rake(dclus1, margins={"stype": STYPE})
    b = poststratify(dclus1, totals={"stype": STYPE})
    np.testing.assert_allclose(a.weights, b.weights, rtol=1e-12)
    sa, sb = stats(a), stats(b)
    for k in sa:
        np.testing.assert_allclose(sa[k], sb[k], rtol=1e-9, atol=1e-9)


def test_identity_linear_one_categorical_is_poststratify(dclus1):
    a = calibrate(dclus1, totals={"stype": STYPE}, method="linear")
    b = poststratify(dclus1, totals={"stype": STYPE})
    np.testing.assert_allclose(a.weights, b.weights, rtol=1e-12)
    sa, sb = stats(a), stats(b)
    for k in sa:
        np.testing.assert_allclose(sa[k], sb[k], rtol=1e-9, atol=1e-9)


def test_calibration_changes_se(dclus1):
    # the residualiser is applied: without it the SE would equal the uncalibrated one
    base = dclus1.mean("api00").to_frame()["se"].iloc[0]
    cal = calibrate(dclus1, totals=CAL).mean("api00").to_frame()["se"].iloc[0]
    assert cal < base / 5


# ------------------------------------------------------------------ history and summary


def test_history_and_summary(dclus1):
    d1 = adjust_nonresponse(dclus1, responded="responded", cells="sch.wide")
    d2 = rake(d1, margins={"stype": STYPE, "sch.wide": SCHWIDE})
    d3 = trim_weights(d2, upper=60)
    steps = [h.step for h in d3.history]
    assert steps == ["adjust_nonresponse", "rake", "trim_weights"]
    rk = d3.history[1]
    assert rk.converged is True and rk.iterations >= 2 and rk.discrepancy < 1e-7
    assert rk.parameters["margins"]["stype"]["counts"] == {"E": 4421.0, "H": 755.0, "M": 1018.0}
    summ = weight_summary(d3)
    assert list(summ["step"]) == ["input", "adjust_nonresponse", "rake", "trim_weights"]
    w = d3.weights.to_numpy()
    pos = w[w > 0]
    last = summ.iloc[-1]
    assert last["n"] == pos.size and last["n_zero"] == (w == 0).sum()
    np.testing.assert_allclose(last["sum"], pos.sum(), rtol=1e-12)
    cv = pos.std() / pos.mean()
    np.testing.assert_allclose(last["cv"], cv, rtol=1e-12)
    np.testing.assert_allclose(last["deff"], pos.size * (pos**2).sum() / pos.sum() ** 2, rtol=1e-12)
    np.testing.assert_allclose(last["n_effective"], pos.sum() ** 2 / (pos**2).sum(), rtol=1e-12)
    np.testing.assert_allclose(last["max_min_ratio"], pos.max() / pos.min(), rtol=1e-12)
    assert summ.iloc[0]["n"] == len(w) and summ.iloc[0]["cv"] == pytest.approx(0.0, abs=1e-12)
    assert weight_summary(dclus1)["step"].tolist() == ["current"]
    assert isinstance(d3.history[0].as_dict(), dict)


# ------------------------------------------------------------------ trimming


def test_trim_keeps_sum_and_bounds(dclus1):
    cal = calibrate(dclus1, totals=CAL, method="raking")
    out = trim_weights(cal, lower=22, upper=50)
    w = out.weights.to_numpy()
    assert w.min() >= 22 - 1e-9 and w.max() <= 50 + 1e-9
    np.testing.assert_allclose(w.sum(), cal.weights.sum(), rtol=1e-12)
    clipped = trim_weights(cal, upper=50, redistribute=False).weights.to_numpy()
    np.testing.assert_allclose(clipped, np.minimum(cal.weights.to_numpy(), 50), rtol=0)


def test_trim_bad_input(dclus1):
    with pytest.raises(ValidationError, match="lower= or upper="):
        trim_weights(dclus1)
    with pytest.raises(CalibrationError, match="mean must lie between"):
        trim_weights(dclus1, upper=10)
    with pytest.raises(ValidationError, match="must not exceed"):
        trim_weights(dclus1, lower=40, upper=30)


# ------------------------------------------------------------------ bad input


def test_sample_category_missing_from_totals(dclus1):
    with pytest.raises(CalibrationError, match=r"margin 'stype'.*no population count \('M'\)"):
        poststratify(dclus1, totals={"stype": {"E": 4421, "H": 755}})
    with pytest.raises(CalibrationError, match=r"margin 'stype'.*'M'"):
        rake(dclus1, margins={"stype": {"E": 5176, "H": 1018}, "sch.wide": SCHWIDE})
    with pytest.raises(CalibrationError, match=r"margin 'stype'.*'M'"):
        calibrate(dclus1, totals={"stype": {"E": 4421, "H": 755}})


def test_population_category_missing_from_sample(dclus1):
    with pytest.raises(CalibrationError, match=r"margin 'stype'.*absent from the sample \('X'\)"):
        poststratify(dclus1, totals={"stype": {**STYPE, "X": 10}})
    with pytest.raises(CalibrationError, match=r"absent from the sample \('X'\)"):
        calibrate(dclus1, totals={"stype": {**STYPE, "X": 10}})
    # a level with count 0 that is absent from the sample is fine
    out = poststratify(dclus1, totals={"stype": {**STYPE, "X": 0}})
    np.testing.assert_allclose(out.weights.sum(), 6194, rtol=1e-12)


def test_margins_grand_totals_disagree(dclus1):
    with pytest.raises(
        CalibrationError, match=r"different grand totals.*'stype': 6194.*'sch.wide': 6200"
    ):
        rake(dclus1, margins={"stype": STYPE, "sch.wide": {"No": 1078, "Yes": 5122}})
    with pytest.raises(CalibrationError, match="different grand totals"):
        calibrate(dclus1, totals={"stype": STYPE, "sch.wide": {"No": 1078, "Yes": 5122}})


def test_non_convergence_reports_iterations_and_discrepancy(dclus1):
    with pytest.raises(
        CalibrationError, match=r"did not converge in 1 sweeps.*worst margin is 'stype'"
    ):
        rake(dclus1, margins={"stype": STYPE, "sch.wide": SCHWIDE}, max_iter=1)
    with pytest.raises(CalibrationError, match=r"did not converge in 2 iterations.*worst total"):
        calibrate(dclus1, totals=CAL, method="raking", max_iter=2)


def test_bounds_cannot_be_met(dclus1):
    with pytest.raises(CalibrationError, match=r"bounds \(0.95, 1.05\) cannot be met"):
        calibrate(dclus1, totals=CAL, bounds=(0.95, 1.05))
    with pytest.raises(ValidationError, match="needs finite bounds"):
        calibrate(dclus1, totals=CAL, method="logit")
    with pytest.raises(ValidationError, match="lower < 1 < upper"):
        calibrate(dclus1, totals=CAL, bounds=(1.2, 2))
    with pytest.raises(ValidationError, match="method="):
        calibrate(dclus1, totals=CAL, method="cubic")


def test_negative_weights_warn_and_are_recorded(dclus1):
    totals = {"stype": STYPE, "api99": POP["api99"] * 1.6}
    with pytest.warns(CalibrationWarning, match="negative weights"):
        out = calibrate(dclus1, totals=totals)
    assert (out.weights < 0).any()
    codes = [d.code for d in out.history[-1].diagnostics]
    assert codes == ["negative_weights"]
    # bounds keep the weights positive (or fail clearly)
    with warnings.catch_warnings():
        warnings.simplefilter("error", CalibrationWarning)
        try:
            ok = calibrate(dclus1, totals=totals, bounds=(0.1, 10))
            assert (ok.weights > 0).all()
        except CalibrationError as exc:
            assert "bounds" in str(exc)


def test_zero_weight_cells(dclus1):
    # after the nonresponse adjustment, the nonrespondents have weight 0; a post-stratum
    # made only of them cannot be scaled
    df = api_frame()
    df["cell"] = np.where(df["responded"] == 0, "nr", "r")
    d = SurveyDesign(df, weight="pw", psu="dnum", fpc="fpc")
    nr = adjust_nonresponse(d, responded="responded", cells="sch.wide")
    with pytest.raises(CalibrationError, match=r"margin 'cell'.*zero sum of weights \('nr'\)"):
        poststratify(nr, totals={"cell": {"nr": 100, "r": 6094}})
    # a weighting class without respondents
    df["responded2"] = np.where(df["sch.wide"] == "No", 0, df["responded"])
    d2 = SurveyDesign(df, weight="pw", psu="dnum", fpc="fpc")
    with pytest.raises(CalibrationError, match=r"no respondent.*'No'.*Collapse"):
        adjust_nonresponse(d2, responded="responded2", cells="sch.wide")


def test_bad_columns(dclus1):
    with pytest.raises(CalibrationError, match="'stypo'.*not in the data"):
        poststratify(dclus1, totals={"stypo": STYPE})
    with pytest.raises(CalibrationError, match="exactly one post-stratum column"):
        poststratify(dclus1, totals={"stype": STYPE, "sch.wide": SCHWIDE})
    with pytest.raises(CalibrationError, match="'count' column"):
        poststratify(dclus1, totals=CROSS.rename(columns={"count": "n"}))
    with pytest.raises(CalibrationError, match="must be True/False or 1/0"):
        adjust_nonresponse(dclus1, responded="stype", cells="sch.wide")
    with pytest.raises(CalibrationError, match="not numeric"):
        calibrate(dclus1, totals={"stype": STYPE, "sch.wide": 5})


def test_numeric_codes_given_as_strings():
    # totals read from JSON/YAML often spell integer codes as strings
    df = api_frame()
    df["code"] = df["stype"].map({"E": 1, "H": 2, "M": 3})
    d = SurveyDesign(df, weight="pw", psu="dnum", fpc="fpc")
    a = poststratify(d, totals={"code": {"1": 4421, "2": 755, "3": 1018}})
    b = poststratify(d, totals={"code": {1: 4421, 2: 755, 3: 1018}})
    np.testing.assert_allclose(a.weights, b.weights, rtol=0)


# ------------------------------------------------------------------ variance plumbing


def test_rake_residualiser_margin_by_margin_equals_collapsed(dclus1, monkeypatch):
    # large cross-tables pass R's ten sweeps to the engine margin by margin instead of
    # one (C, C) operator; both give the same SEs
    import importlib

    rake_mod = importlib.import_module("flestimate.weighting.rake")

    m = {"stype": STYPE, "sch.wide": SCHWIDE}
    a = rake(dclus1, margins=m, tolerance=1e-13)
    monkeypatch.setattr(rake_mod, "_COLLAPSE_MAX_CELLS", 0)
    b = rake(dclus1, margins=m, tolerance=1e-13)
    assert len(b.residualizers) == 20 and len(a.residualizers) == 1
    sa, sb = stats(a), stats(b)
    for k in sa:
        np.testing.assert_allclose(sa[k], sb[k], rtol=1e-10, atol=1e-9)
    check_against(b, REF["taylor"]["rake_conv"], w_rtol=1e-9, se_rtol=1e-9)


def test_chain_after_nonresponse_estimates(dclus1):
    d = adjust_nonresponse(dclus1, responded="responded", cells="sch.wide")
    d = rake(d, margins={"stype": STYPE, "sch.wide": SCHWIDE})
    d = calibrate(d, totals=CAL, method="raking")
    w = d.weights.to_numpy()
    resp = d.data["responded"].to_numpy() == 1
    assert (w[~resp] == 0).all() and (w[resp] > 0).all()
    s = stats(d)
    assert np.isfinite(s["mean_se"]).all() and s["mean_se"][0] > 0
    # Newton stops when |T - sum w g x| / (1 + |T|) < 1e-7 (R's grake criterion)
    np.testing.assert_allclose(s["stype_est"], [4421, 755, 1018], rtol=1e-7)
    assert s["stype_se"].max() < 1e-3


def test_numeric_totals_only_no_intercept(dclus1):
    out = calibrate(dclus1, totals={"api99": POP["api99"]})
    w = out.weights.to_numpy()
    np.testing.assert_allclose(w @ dclus1.data["api99"].to_numpy(), POP["api99"], rtol=1e-12)
    # ratio calibration: g = 1 + lambda x, so the weights are not all scaled alike
    assert np.ptp(w / dclus1.weights.to_numpy()) > 0


def test_calibrate_many_cells_uses_sparse_model(dclus1, monkeypatch):
    import importlib

    cal_mod = importlib.import_module("flestimate.weighting.calibrate")
    totals = {"stype": STYPE, "sch.wide": SCHWIDE}
    a = calibrate(dclus1, totals=totals)
    monkeypatch.setattr(cal_mod, "_COMBO_RESIDUAL_MAX", 0)
    b = calibrate(dclus1, totals=totals)
    assert b.residualizers[0].X.shape == (183, 4)
    np.testing.assert_allclose(a.weights, b.weights, rtol=1e-12)
    sa, sb = stats(a), stats(b)
    for k in sa:
        np.testing.assert_allclose(sa[k], sb[k], rtol=1e-9, atol=1e-9)


def test_nonrespondents_without_data(dclus1):
    # in a real survey the nonrespondents have no answers: with na_rm=True the estimate
    # and its SE are those of the adjusted design (their rows stay, with weight 0)
    a = adjust_nonresponse(dclus1, responded="responded", cells="sch.wide")
    df = api_frame()
    df.loc[df["responded"] == 0, ["api00", "enroll"]] = np.nan
    d = SurveyDesign(df, weight="pw", psu="dnum", fpc="fpc")
    b = adjust_nonresponse(d, responded="responded", cells="sch.wide")
    fa = a.mean("api00").to_frame()
    fb = b.mean("api00", na_rm=True).to_frame()
    np.testing.assert_allclose(fb["estimate"], fa["estimate"], rtol=1e-12)
    np.testing.assert_allclose(fb["se"], fa["se"], rtol=1e-12)
    ref = REF["taylor"]["nonresponse"]["mean_api00"]
    np.testing.assert_allclose(fb["se"], np.ravel(ref["se"]), rtol=1e-9)
