"""Design-based regression: identities, invariances and bad input (issue 16)."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flestimate import EstimationError, ValidationError
from flestimate.design import SurveyDesign
from flestimate.errors import ModelWarning

REF_DIR = Path(__file__).resolve().parents[1] / "reference"


def api(name: str) -> pd.DataFrame:
    d = pd.read_csv(REF_DIR / "data" / f"{name}.csv")
    d["awards_yes"] = (d["awards"] == "Yes").astype(float)
    return d


@pytest.fixture(scope="module")
def dclus1() -> SurveyDesign:
    return SurveyDesign(api("apiclus1"), weight="pw", psu="dnum", fpc="fpc")


@pytest.fixture(scope="module")
def dstrat() -> SurveyDesign:
    return SurveyDesign(api("apistrat"), weight="pw", strata="stype", fpc="fpc")


@pytest.mark.parametrize("replicate", [False, True])
def test_intercept_only_gaussian_is_the_mean(dclus1, replicate):
    design = dclus1
    if replicate:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            design = dclus1.replicate("jk1")
    res = design.glm("api00 ~ 1")
    mean = design.mean("api00").to_frame().iloc[0]
    row = res.table().iloc[0]
    np.testing.assert_allclose(row["estimate"], mean["estimate"], rtol=1e-12)
    np.testing.assert_allclose(row["se"], mean["se"], rtol=1e-10)
    assert res.df_resid == design.degf


def test_logit_with_one_factor_reproduces_domain_prevalences(dstrat):
    res = dstrat.glm("awards_yes ~ stype", family="quasibinomial")
    by = dstrat.mean("awards_yes", by="stype").to_frame().set_index("stype")
    new = pd.DataFrame({"stype": ["E", "H", "M"]})
    pred = res.predict(new, type="response")
    np.testing.assert_allclose(pred["estimate"], by.loc[["E", "H", "M"], "estimate"], rtol=1e-10)
    np.testing.assert_allclose(pred["se"], by.loc[["E", "H", "M"], "se"], rtol=1e-8)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(factor=st.floats(min_value=1e-3, max_value=1e4))
def test_weight_scale_changes_nothing(dclus1, factor):
    data = dclus1.data.assign(pw2=dclus1.data["pw"] * factor)
    scaled = SurveyDesign(data, weight="pw2", psu="dnum", fpc="fpc")
    a = dclus1.glm("awards_yes ~ ell + meals + stype", family="binomial").table()
    b = scaled.glm("awards_yes ~ ell + meals + stype", family="binomial").table()
    np.testing.assert_allclose(b["estimate"], a["estimate"], rtol=1e-8)
    np.testing.assert_allclose(b["se"], a["se"], rtol=1e-8)


def test_table_columns_odds_ratios_and_display(dclus1):
    res = dclus1.glm("awards_yes ~ ell + stype", family="binomial")
    t = res.table()
    assert list(t.columns) == ["term", "label", "estimate", "se", "statistic", "df", "p_value",
                               "ci_lower", "ci_upper", "deff", "flags"]
    odds = res.table(exponentiate=True)
    np.testing.assert_allclose(odds["estimate"], np.exp(t["estimate"]))
    np.testing.assert_allclose(odds["ci_lower"], np.exp(t["ci_lower"]))
    assert t["label"].tolist() == ["(Intercept)", "ell", "stype: H", "stype: M"]
    assert "odds ratio" in res.summary(exponentiate=True)
    assert "<table>" in res._repr_html_() and "stype: H" in str(res)
    assert res.n == len(dclus1.data) and res.converged
    with pytest.raises(ValueError):
        res.coef[0] = 1.0  # read-only


def test_value_labels_name_the_terms(dstrat):
    data = dstrat.data.assign(level=dstrat.data["stype"].map({"E": 1, "H": 2, "M": 3}))
    design = SurveyDesign(data, weight="pw", strata="stype", fpc="fpc")
    res = design.glm("awards_yes ~ ell + level", family="binomial",
                     value_labels={"level": {1: "elementary", 2: "high", 3: "middle"}})
    assert res.table()["label"].tolist()[-2:] == ["level: high", "level: middle"]
    ref = dstrat.glm("awards_yes ~ ell + stype", family="binomial")
    np.testing.assert_allclose(res.coef, ref.coef, rtol=1e-12)


def test_marginal_effects_are_differences_of_margins(dstrat):
    res = dstrat.glm("awards_yes ~ ell + stype", family="binomial")
    m = res.margins("stype").to_frame().set_index("stype")["estimate"]
    ame = res.marginal_effects("stype").to_frame()
    np.testing.assert_allclose(ame["estimate"], [m["H"] - m["E"], m["M"] - m["E"]], rtol=1e-12)
    assert (ame["se"] > 0).all()


def test_unknown_column_suggests_the_closest(dclus1):
    with pytest.raises(EstimationError, match="'stype'"):
        dclus1.glm("api00 ~ styp + ell")
    with pytest.raises(EstimationError, match="did you mean 'api00'"):
        dclus1.glm("api0 ~ ell")


def test_missing_values_need_na_rm(dclus1):
    data = dclus1.data.copy()
    data.loc[data.index[:3], "ell"] = np.nan
    design = SurveyDesign(data, weight="pw", psu="dnum", fpc="fpc")
    with pytest.raises(EstimationError, match="'ell' \\(3 rows\\).*na_rm=True"):
        design.glm("api00 ~ ell")
    res = design.glm("api00 ~ ell", na_rm=True)
    assert res.n == len(data) - 3
    assert data["ell"].isna().sum() == 3  # the caller's data unchanged


def test_binomial_outcome_must_be_01(dclus1):
    with pytest.raises(EstimationError, match="0/1 outcome.*'api00' has 183 other values"):
        dclus1.glm("api00 ~ ell", family="binomial")
    with pytest.raises(ValidationError, match="did you mean 'binomial'"):
        dclus1.glm("awards_yes ~ ell", family="binomal")


def test_collinear_columns_are_named_and_dropped(dclus1):
    data = dclus1.data.assign(ell2=2.0 * dclus1.data["ell"])
    design = SurveyDesign(data, weight="pw", psu="dnum", fpc="fpc")
    with pytest.warns(ModelWarning, match="ell2"):
        res = design.glm("api00 ~ ell + ell2")
    assert np.isnan(res.params["ell2"]) and res.table()["flags"].iloc[2] == "collinear"
    ref = dclus1.glm("api00 ~ ell")
    np.testing.assert_allclose(res.params.iloc[:2], ref.params, rtol=1e-10)
    assert res.df_resid == ref.df_resid


def test_separation_warns_with_the_term(dstrat):
    data = dstrat.data.copy()
    data["sep"] = np.where(data["stype"] == "H", 0.0, data["awards_yes"])
    design = SurveyDesign(data, weight="pw", strata="stype", fpc="fpc")
    with pytest.warns(ModelWarning, match="stype\\[T.H\\]"):
        res = design.glm("sep ~ ell + stype", family="binomial")
    assert "separation" in res.table().set_index("term").loc["stype[T.H]", "flags"]


def test_non_convergence_says_so(dclus1):
    with pytest.warns(ModelWarning, match="did not converge in 1 iterations"):
        res = dclus1.glm("awards_yes ~ ell + meals", family="binomial", maxiter=1)
    assert not res.converged and "not_converged" in res.table()["flags"].iloc[0]
