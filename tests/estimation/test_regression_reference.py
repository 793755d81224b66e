"""Design-based regression against R survey 4.1.1 (tests/reference/regression.json, made
by tests/reference/make_reference_regression.R): svyglm coefficients, SEs, df, deff,
deviances; regTermTest (Wald and LRT); predict with SEs; svypredmeans.

Tolerance: relative 1e-8 (R fitted with glm.control(epsilon = 1e-12), flestimate with
tol=1e-12: the same stopping rule, so the same last iteration); the LRT p-values
1e-6 (R finds the saddlepoint with uniroot(tol = 1e-8)); the cloglog fit (Fisher scoring
converges linearly for a non-canonical link and R stops on its deviance rule) to 1e-4 of
a standard error.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from flestimate.design import SurveyDesign
from flestimate.weighting import rake

REF_DIR = Path(__file__).resolve().parents[1] / "reference"
REF = json.loads((REF_DIR / "regression.json").read_text())
STYPE = {"E": 4421, "H": 755, "M": 1018}
SCHWIDE = {"No": 1072, "Yes": 5122}
FAMILY = {"probit": ("quasibinomial", "probit"), "cloglog": ("quasibinomial", "cloglog")}
RTOL = 1e-8


def api(name: str) -> pd.DataFrame:
    d = pd.read_csv(REF_DIR / "data" / f"{name}.csv")
    d["awards_yes"] = (d["awards"] == "Yes").astype(float)
    d["both_yes"] = (d["both"] == "Yes").astype(float)
    d["api_stu"] = d["api.stu"]
    d["ell_high"] = (d["ell"] > 20).astype(int)
    return d


@pytest.fixture(scope="module")
def designs() -> dict:
    dclus1 = SurveyDesign(api("apiclus1"), weight="pw", psu="dnum", fpc="fpc")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rclus1 = dclus1.replicate("jk1")
    margins = {"stype": STYPE, "sch.wide": SCHWIDE}
    return {
        "dstrat": SurveyDesign(api("apistrat"), weight="pw", strata="stype", fpc="fpc"),
        "dclus1": dclus1,
        "dclus2": SurveyDesign(api("apiclus2"), psu=["dnum", "snum"], fpc=["fpc1", "fpc2"]),
        "rclus1": rclus1,
        "draked": rake(dclus1, margins=margins, max_iter=100, tolerance=1e-13),
        "rraked": rake(rclus1, margins=margins, max_iter=100, tolerance=1e-13),
    }


def fit(designs, ref):
    family, link = FAMILY.get(ref["family"], (ref["family"], None))
    formula = ref["formula"].replace("api.stu", "api_stu")
    return designs[ref["design"]].glm(formula, family=family, link=link, tol=1e-12)


@pytest.fixture(scope="module")
def models(designs) -> dict:
    return {name: fit(designs, ref) for name, ref in REF["models"].items()}


@pytest.mark.parametrize("name", list(REF["models"]))
def test_svyglm(models, name):
    ref = REF["models"][name]
    res = models[name]
    table = res.table()
    assert len(table) == np.atleast_1d(ref["terms"]).size
    if ref["family"] == "cloglog":
        se = np.asarray(ref["se"])
        assert np.all(np.abs(table["estimate"] - ref["coef"]) < 1e-4 * se)
        np.testing.assert_allclose(table["se"], se, rtol=1e-4)
        return
    np.testing.assert_allclose(table["estimate"], ref["coef"], rtol=RTOL)
    np.testing.assert_allclose(table["se"], ref["se"], rtol=RTOL)
    # covariances to 1e-8 of the largest variance (an off-diagonal near 0 loses digits to
    # cancellation; R's raked replicate weights are converged to its rake epsilon only)
    vcov = np.asarray(ref["vcov"]).reshape(res.vcov.shape)
    np.testing.assert_allclose(res.vcov.to_numpy(), vcov, rtol=RTOL,
                               atol=RTOL * np.max(np.abs(np.diag(vcov))))
    np.testing.assert_allclose(table["statistic"], ref["statistic"], rtol=RTOL)
    np.testing.assert_allclose(table["p_value"], ref["p_value"], rtol=1e-6)
    assert res.df_resid == ref["df_resid"]
    assert (table["df"] == ref["df_resid"]).all()
    np.testing.assert_allclose(res.deviance, ref["deviance"], rtol=RTOL)
    if "deff" in ref:
        np.testing.assert_allclose(table["deff"], ref["deff"], rtol=RTOL)
    assert res.converged


@pytest.mark.parametrize("case", REF["term_tests"], ids=lambda t: f"{t['model']}-{t['terms']}-{t['method']}")
def test_term_test(models, case):
    res = models[case["model"]].term_test(case["terms"], method=case["method"].lower())
    np.testing.assert_allclose(res.statistic, case["statistic"], rtol=RTOL)
    assert res.df == case["df"] and res.ddf == case["ddf"]
    np.testing.assert_allclose(res.p_value, case["p"], rtol=1e-8 if case["method"] == "Wald" else 1e-6)
    if "lambda" in case:
        np.testing.assert_allclose(res.eigenvalues, np.ravel(case["lambda"]), rtol=RTOL)


@pytest.mark.parametrize("case", REF["predictions"], ids=lambda p: f"{p['model']}-{p['type']}")
def test_predict(models, case):
    newdata = api("apiclus1").iloc[np.asarray(case["rows"]) - 1]
    out = models[case["model"]].predict(newdata, type=case["type"])
    np.testing.assert_allclose(out["estimate"], case["estimate"], rtol=RTOL)
    np.testing.assert_allclose(out["se"], case["se"], rtol=RTOL)


@pytest.mark.parametrize("case", REF["margins"], ids=lambda m: f"{m['design']}-{m['formula']}")
def test_predictive_margins(designs, case):
    design = designs[case["design"]]
    res = design.glm(case["formula"], family=case["family"], tol=1e-12)
    table = design.predictive_margins(res, case["by"]).to_frame().set_index(case["by"])
    table = table.loc[case["levels"]]
    np.testing.assert_allclose(table["estimate"], case["estimate"], rtol=RTOL)
    np.testing.assert_allclose(table["se"], case["se"], rtol=RTOL)


@pytest.mark.parametrize(
    "name", ["logit_dclus1", "logit_rclus1", "qpois_dstrat", "linear_draked", "intercept_dclus1"]
)
def test_sparse_cross_products_agree_with_r(designs, monkeypatch, name):
    # models of categorical predictors keep a sparse model matrix for the IRLS
    # cross-products (by distinct row when they are few: the intercept-only model);
    # forced here on models that would use the dense one
    from flestimate.estimation.regression import formula

    monkeypatch.setattr(formula, "SPARSE_SHARE", 1.0)
    ref = REF["models"][name]
    res = fit(designs, ref)
    assert res.model.X_sparse is not None
    table = res.table()
    np.testing.assert_allclose(table["estimate"], ref["coef"], rtol=RTOL)
    np.testing.assert_allclose(table["se"], ref["se"], rtol=RTOL)


@pytest.mark.parametrize("design", ["dclus1", "rclus1", "draked"])
def test_cross_products_by_distinct_row_equal_dense(designs, monkeypatch, design):
    from flestimate.estimation.regression import formula

    fits = []
    for share in (1.0, 0.0):  # sparse (distinct rows of stype x ell_high), then dense
        monkeypatch.setattr(formula, "SPARSE_SHARE", share)
        fits.append(designs[design].glm("awards_yes ~ stype * C(ell_high)", family="binomial").table())
    np.testing.assert_allclose(fits[0]["estimate"], fits[1]["estimate"], rtol=1e-10)
    # (JK1: replicates that lose a cell of stype x ell_high give coefficients of 18 to
    # 25 whose refits stop at slightly different points: SEs to 1e-7)
    np.testing.assert_allclose(fits[0]["se"], fits[1]["se"], rtol=1e-7)
