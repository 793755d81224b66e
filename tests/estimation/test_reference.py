"""Estimates, SEs, design effects, df and intervals against R survey (tests/reference/).

The reference values come from tests/reference/make_reference_design.R (R and
survey versions recorded in the JSON). Tolerance: relative 1e-9 for closed-form
results; see LIK_RTOL for the likelihood interval.
"""

from __future__ import annotations

import json
import warnings
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from flestimate.design import SurveyDesign

REF = Path(__file__).parents[1] / "reference"
RTOL = 1e-9
# R's likelihood interval interpolates a spline through a coarse profile grid of a glm
# fitted by IRLS (convergence 1e-8 on the deviance); flestimate solves the profile
# equation exactly. Refining R's grid (del -> 0) moves R towards flestimate's bounds;
# the gap (up to ~3e-3 for rare proportions on R's default 5-point grid) is R's
# approximation: test_likelihood_interval_against_refined_r_profile checks 1e-6.
LIK_RTOL = 5e-3
# R's "logit" method fits svyglm(y ~ 1) by IRLS: estimate and bounds agree to ~1e-9
GLM_RTOL = 1e-7


def glm_rtol(r_method: str) -> float:
    return {"likelihood": LIK_RTOL, "logit": GLM_RTOL}.get(r_method, RTOL)


@cache
def reference() -> dict:
    return json.loads((REF / "reference_design.json").read_text())


def cases(**match):
    out = []
    for c in reference()["cases"]:
        if all(c.get(k) == v for k, v in match.items()):
            out.append(c)
    return out


@cache
def api(name: str) -> pd.DataFrame:
    d = pd.read_csv(REF / "data" / f"{name}.csv", keep_default_na=False, na_values=[""])
    d["sch_yes"] = (d["sch.wide"] == "Yes").astype(float)
    d["awards_yes"] = (d["awards"] == "Yes").astype(float)
    d["ell0"] = (d["ell"] == 0).astype(float)
    return d


def lonely_data() -> pd.DataFrame:
    d = api("apiclus1").copy()
    d["fpc_l"] = d.groupby("dnum")["dnum"].transform("size") * 3.0
    d.loc[d["dnum"] == 413, "fpc_l"] = 1.0
    d.loc[d["dnum"] == 406, "fpc_l"] = 2.0
    return d


def make_design(name: str, lonely_psu: str = "fail") -> SurveyDesign:
    if name == "srs":
        return SurveyDesign(api("apisrs"), fpc="fpc")
    if name == "strat":
        return SurveyDesign(api("apistrat"), strata="stype", weight="pw", fpc="fpc")
    if name == "clus1":
        return SurveyDesign(api("apiclus1"), psu="dnum", weight="pw", fpc="fpc")
    if name == "clus2":
        return SurveyDesign(api("apiclus2"), psu=["dnum", "snum"], fpc=["fpc1", "fpc2"])
    if name == "clus2w":
        return SurveyDesign(api("apiclus2"), psu=["dnum", "snum"], weight="pw")
    if name == "lonely":
        return SurveyDesign(lonely_data(), strata="dnum", weight="pw", lonely_psu=lonely_psu)
    if name == "lonely_fpc":
        return SurveyDesign(
            lonely_data(), strata="dnum", weight="pw", fpc="fpc_l", lonely_psu=lonely_psu
        )
    raise KeyError(name)


DESIGNS = [
    ("srs", "fail"),
    ("strat", "fail"),
    ("clus1", "fail"),
    ("clus2", "fail"),
    ("clus2w", "fail"),
    *[
        (d, lp)
        for d in ("lonely", "lonely_fpc")
        for lp in ("remove", "certainty", "adjust", "average")
    ],
]


def _arr(values) -> np.ndarray:
    if isinstance(values, dict):
        values = list(values.values())
    return np.array(
        [np.nan if v is None else v for v in np.ravel(np.asarray(values, dtype=object))],
        dtype=float,
    ).reshape(np.shape(values))


def close(actual, expected, rtol=RTOL, atol=0.0):
    """Compare where R gave a number (R gives NA for variables with missing values)."""
    exp = _arr(expected)
    act = np.asarray(actual, dtype=float).reshape(exp.shape)
    ok = np.isfinite(exp)
    assert ok.any()
    np.testing.assert_allclose(act[ok], exp[ok], rtol=rtol, atol=atol)


def lone_adjust_total_correction(des: SurveyDesign, y: str, by_mask=None) -> float:
    """R 4.1 centres a lone PSU at 0, flestimate (as R 4.5) at the average PSU total:
    the difference of the variance for a total, computed here from the PSU totals."""
    s = des.structure
    w = s.weights * des.data[y].to_numpy(float)
    if by_mask is not None:
        w = w * by_mask
    z = np.bincount(s.psu, weights=w, minlength=s.n_psus)
    zbar = z.mean()
    lone_psu = s.lonely_strata[s.psu_stratum]
    f = 1 - s.fpc1[s.psu_stratum]
    return float(np.sum(f[lone_psu] * ((z[lone_psu] - zbar) ** 2 - z[lone_psu] ** 2)))


@pytest.mark.parametrize(("name", "lonely"), DESIGNS)
def test_degf(name, lonely):
    (c,) = cases(design=name, lonely_psu=lonely, statistic="degf")
    assert make_design(name, lonely).degf == c["value"]


@pytest.mark.parametrize(("name", "lonely"), DESIGNS)
def test_mean_total_ratio_whole_sample(name, lonely):
    des = make_design(name, lonely)
    (m,) = [c for c in cases(design=name, lonely_psu=lonely, statistic="mean") if "by" not in c]
    tab = des.mean(m["variables"], df=np.inf, na_rm=True).to_frame()
    close(tab["estimate"], m["estimate"])
    close(tab["se"], m["se"])
    close(tab["deff"], m["deff"])
    close(tab["deff_wr"], m["deff_wr"])
    close(tab[["ci_lower", "ci_upper"]].to_numpy(), np.reshape(m["ci_df_inf"], (-1, 2)))
    tab_d = des.mean(m["variables"], df="design", na_rm=True).to_frame()
    close(tab_d[["ci_lower", "ci_upper"]].to_numpy(), np.reshape(m["ci_df_degf"], (-1, 2)))
    if m["vcov"][0] is not None:
        close(des.mean(m["variables"]).covariance().to_numpy(), np.reshape(m["vcov"], (2, 2)))

    (t,) = [c for c in cases(design=name, lonely_psu=lonely, statistic="total") if "by" not in c]
    tab = des.total(t["variables"], na_rm=True).to_frame()
    close(tab["estimate"], t["estimate"])
    se = np.asarray(t["se"], dtype=float)
    if lonely == "adjust":
        corr = [lone_adjust_total_correction(des, v) for v in t["variables"]]
        se = np.sqrt(se**2 + np.asarray(corr))
        if name == "lonely":
            assert np.all(np.asarray(corr) != 0)
    close(tab["se"], se)
    if lonely != "adjust":
        close(tab["deff"], t["deff"])
        close(tab["deff_wr"], t["deff_wr"])

    (r,) = [c for c in cases(design=name, lonely_psu=lonely, statistic="ratio") if "by" not in c]
    tab = des.ratio(r["variables"], r["denominator"], na_rm=True).to_frame()
    close(tab["estimate"], r["estimate"])
    close(tab["se"], r["se"])
    close(tab["deff"], r["deff"])
    close(tab["deff_wr"], r["deff_wr"])


@pytest.mark.parametrize(("name", "lonely"), DESIGNS)
def test_factor_proportions(name, lonely):
    des = make_design(name, lonely)
    (p,) = [
        c for c in cases(design=name, lonely_psu=lonely, statistic="proportion") if "by" not in c
    ]
    tab = des.proportion("stype").to_frame()
    assert list(tab["category"]) == p["categories"]
    close(tab["estimate"], p["estimate"])
    # stratified by stype: the SEs of the stype shares are exactly 0 in R, ~1e-17 here
    close(tab["se"], p["se"], atol=1e-14)
    close(tab["deff"], p["deff"], atol=1e-14)
    close(tab["deff_wr"], p["deff_wr"], atol=1e-14)


@pytest.mark.parametrize(("name", "lonely"), DESIGNS)
def test_domains_mean_total(name, lonely):
    des = make_design(name, lonely)
    for stat in ("mean", "total"):
        (c,) = [c for c in cases(design=name, lonely_psu=lonely, statistic=stat, by="stype")]
        tab_obj = getattr(des, stat)(c["variables"], by="stype", na_rm=True)
        tab = tab_obj.to_frame()
        assert list(tab["stype"].unique()) == c["domains"]
        close(tab["estimate"], c["estimate"])
        if stat == "total" and lonely == "adjust":
            continue
        close(tab["se"], c["se"])
        close(tab["deff"], c["deff"])
        close(tab["deff_wr"], c["deff_wr"])
        close(tab["df"].to_numpy()[::2], _arr(c["degf"]))
        if c["vcov"][0] is not None:
            # R orders svyby's covariance variable-major, flestimate domain-major
            D, K = len(c["domains"]), len(c["variables"])
            perm = np.arange(D * K).reshape(K, D).T.ravel()
            expected = np.reshape(c["vcov"], (D * K, D * K))[np.ix_(perm, perm)]
            actual = tab_obj.covariance().to_numpy()
            if lonely == "average":
                # R's covmat uses the whole design's H/H_ok factor even within a domain
                dom = np.repeat(np.arange(D), K)
                across = dom[:, None] != dom[None, :]
                actual, expected = actual[across], expected[across]
            close(actual, expected, atol=1e-12 * np.nanmax(np.abs(expected)))


@pytest.mark.parametrize(("name", "lonely"), DESIGNS)
def test_domains_ratio_and_crossed(name, lonely):
    des = make_design(name, lonely)
    (c,) = cases(design=name, lonely_psu=lonely, statistic="ratio", by="stype")
    tab = des.ratio(c["variables"], c["denominator"], by="stype", na_rm=True).to_frame()
    close(tab["estimate"], c["estimate"])
    close(tab["se"], c["se"])
    close(tab["deff"], c["deff"])
    close(tab["deff_wr"], c["deff_wr"])

    (c,) = cases(design=name, lonely_psu=lonely, statistic="mean", by=["stype", "both"])
    tab = des.mean("api00", by=["stype", "both"]).to_frame()
    keys = (tab["stype"] + "|" + tab["both"]).tolist()
    order = [keys.index(k) for k in c["domains"]]
    close(tab["estimate"].to_numpy()[order], c["estimate"])
    close(tab["se"].to_numpy()[order], c["se"])
    close(tab["deff"].to_numpy()[order], c["deff"])


@pytest.mark.parametrize(("name", "lonely"), DESIGNS)
def test_domain_proportions_deff(name, lonely):
    des = make_design(name, lonely)
    (c,) = cases(design=name, lonely_psu=lonely, statistic="proportion", by="stype")
    tab = des.proportion(c["variables"], by="stype").to_frame()
    close(tab["estimate"], c["estimate"])
    close(tab["se"], c["se"])
    close(tab["deff"], c["deff"])
    close(tab["deff_wr"], c["deff_wr"])


METHODS = {
    "mean": "wald",
    "logit": "logit",
    "xlogit": "logit",
    "asin": "asin",
    "beta": "korn-graubard",
    "likelihood": "likelihood",
    "wilson": "wilson",
}


@pytest.mark.parametrize(("name", "lonely"), DESIGNS)
def test_ciprop_whole_sample(name, lonely):
    des = make_design(name, lonely)
    n_checked = 0
    for c in cases(design=name, lonely_psu=lonely, statistic="ciprop"):
        if "by" in c:
            continue
        method = METHODS[c["method"]]
        tab = des.proportion(c["variables"], ci_method=method, level=c["level"]).to_frame()
        # R's likelihood estimate is expit(coef(svyglm)): IRLS-converged, not exact
        close(tab["estimate"], c["estimate"], rtol=glm_rtol(c["method"]))
        close(tab["se"], c["se"])
        assert tab["df"].iloc[0] == c["df"]
        rtol = glm_rtol(c["method"])
        if c["ci"][0] is None:
            continue
        got = tab[["ci_lower", "ci_upper"]].to_numpy()[0]
        if method == "asin" and got[0] == 0:
            # R folds a negative transformed bound back (sin^2); flestimate clips at 0
            got, exp = got[1:], c["ci"][1:]
        else:
            exp = c["ci"]
        close(got, exp, rtol=rtol)
        n_checked += 1
    assert n_checked >= 30


@pytest.mark.parametrize(("name", "lonely"), DESIGNS)
def test_ciprop_domains(name, lonely):
    des = make_design(name, lonely)
    n_checked = 0
    for c in cases(design=name, lonely_psu=lonely, statistic="ciprop", by="stype"):
        method = METHODS[c["method"]]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tab = des.proportion(
                c["variables"], by="stype", ci_method=method, level=c["level"]
            ).to_frame()
        tab = tab.set_index("stype").loc[c["domains"]]
        close(tab["estimate"], c["estimate"], rtol=glm_rtol(c["method"]))
        close(tab["df"], _arr(c["df"]))
        close(tab["n_unweighted"], _arr(c["n"]))
        lo = np.array([np.nan if v is None else v for v in c["ci_lower"]], dtype=float)
        hi = np.array([np.nan if v is None else v for v in c["ci_upper"]], dtype=float)
        ok = np.isfinite(lo) & np.isfinite(hi) & (tab["estimate"].to_numpy() > 0)
        if method == "asin":
            # R folds a negative transformed bound back (sin^2); flestimate clips at 0
            folded = tab["ci_lower"].to_numpy() == 0
            assert np.all(lo[folded & ok] < tab["estimate"].to_numpy()[folded & ok])
            ok &= ~folded
        rtol = glm_rtol(c["method"])
        close(tab["ci_lower"].to_numpy()[ok], lo[ok], rtol=rtol)
        close(tab["ci_upper"].to_numpy()[ok], hi[ok], rtol=rtol)
        n_checked += int(ok.sum())
    assert n_checked >= 30


def test_lonely_fail_errors_like_r():
    (c,) = cases(design="lonely", lonely_psu="fail", statistic="error")
    assert "only one PSU" in c["message"]
    from flestimate.errors import DesignError

    with pytest.raises(DesignError, match="single PSU.*lonely_psu="):
        make_design("lonely", "fail")


def test_reference_provenance():
    ref = reference()
    assert ref["r_version"].startswith("R version")
    assert ref["survey_version"]


@pytest.mark.parametrize("name", ["srs", "strat", "clus1", "clus2"])
def test_likelihood_interval_against_refined_r_profile(name):
    """R's profile with IRLS to 1e-14 and a 0.002-SE grid (no spline approximation to speak
    of) agrees with flestimate's exact solution of the profile equation."""
    des = make_design(name)
    checked = 0
    for c in cases(design=name, statistic="likelihood_fine"):
        if "by" in c:
            tab = des.proportion(
                c["variables"], by="stype", ci_method="likelihood", level=c["level"]
            ).to_frame()
            row = tab.set_index("stype").loc[c["domain"]]
            got = [row["ci_lower"], row["ci_upper"]]
        else:
            tab = des.proportion(c["variables"], ci_method="likelihood", level=c["level"])
            got = tab.to_frame()[["ci_lower", "ci_upper"]].to_numpy()[0]
        close(got, c["ci"], rtol=1e-6)
        checked += 1
    assert checked == 4


SAMPLE = Path(__file__).parents[2] / "data" / "sample"


@pytest.mark.parametrize("name", ["sample", "sample_fpc"])
def test_sample_survey_prevalence_by_sex_and_region(name):
    found = cases(design=name, statistic="sample_prevalence")
    assert found, f"no reference case {name!r} in the committed R references"
    assert (SAMPLE / "fl_survey.csv").exists(), "data/sample/fl_survey.csv is missing"
    (c,) = found
    data = pd.read_csv(SAMPLE / "fl_survey.csv")
    truth = pd.read_csv(SAMPLE / "truth_respondents.csv")[["pid", "fl_true"]]
    data = data.merge(truth, on="pid", how="left", validate="one_to_one")
    kw = {"fpc": "n_psu_stratum"} if name == "sample_fpc" else {}
    des = SurveyDesign(data, strata="stratum", psu="psu", weight="w_final", **kw)
    (dg,) = cases(design=name, statistic="degf")
    assert des.degf == dg["value"]
    tab = des.prevalence("fl_true", by=["sex", "region"]).to_frame()
    keys = (tab["sex"].astype(str) + "|" + tab["region"].astype(str)).tolist()
    tab = tab.iloc[[keys.index(k) for k in c["domains"]]]
    close(tab["estimate"] / 1000, c["estimate"])
    close(tab["se"] / 1000, c["se"])
    close(tab["deff"], c["deff"])
    close(tab["deff_wr"], c["deff_wr"])
    close(tab["df"], c["df"])
    close(tab["n_unweighted"], c["n"])
    close(tab["ci_lower"] / 1000, c["ci_lower_beta"])
    close(tab["ci_upper"] / 1000, c["ci_upper_beta"])
    lg = des.proportion("fl_true", by=["sex", "region"], ci_method="logit").to_frame()
    lg = lg.iloc[[keys.index(k) for k in c["domains"]]]
    close(lg["ci_lower"], c["ci_lower_xlogit"])
    close(lg["ci_upper"], c["ci_upper_xlogit"])
    o = c["overall"]
    whole = des.prevalence("fl_true", scale=1).to_frame().iloc[0]
    close(
        [whole["estimate"], whole["se"], whole["df"], whole["n_unweighted"]],
        [o["estimate"], o["se"], o["df"], o["n"]],
    )
    close([whole["ci_lower"], whole["ci_upper"]], o["ci"])
