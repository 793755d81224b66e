"""Covariances, contrasts, differences and pairwise comparisons of EstimateTable rows,
against R's svyby(covmat=TRUE) + svycontrast + p.adjust (tests/reference/analysis.json)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flestimate import SurveyDesign
from flestimate.errors import EstimationError, ValidationError

RTOL = 1e-8


def close(a, b, rtol=RTOL):
    np.testing.assert_allclose(np.asarray(a, float), np.asarray(b, float), rtol=rtol, atol=0)


@pytest.mark.parametrize("dn", ["strat", "clus1"])
def test_vcov_linear_and_nonlinear_contrasts_match_r(dn, analysis_ref, api_design):
    ref = analysis_ref["contrasts"][dn]
    tab = api_design(dn).mean(["api00", "api99"], by="stype")
    V = tab.vcov()
    # R orders svyby's covariance variable-major ("E:api00", "H:api00", ...), flestimate domain-major
    order = [V.index.get_loc(f"{n.split(':')[0]} / {n.split(':')[1]}") for n in ref["names"]]
    close(V.to_numpy()[np.ix_(order, order)], np.reshape(ref["vcov"], (6, 6)))
    lin = tab.contrast(
        [{"E:api00": 1, "H:api00": -1}, {"E / api00": 1 / 3, "H / api00": 1 / 3, "M:api00": 1 / 3}],
        name=["E_minus_H", "average"],
    ).to_frame()
    close(lin["estimate"], ref["linear"]["estimate"])
    close(lin["se"], ref["linear"]["se"])
    assert list(lin["variable"]) == ["E_minus_H", "average"]
    nl = tab.contrast("`E / api00` / `E / api99`").to_frame().iloc[0]
    close(nl["estimate"], ref["ratio_within_domain"]["estimate"])
    close(nl["se"], ref["ratio_within_domain"]["se"])
    tot = api_design(dn).total(["api00", "api99"]).contrast("api00 / api99").to_frame().iloc[0]
    close(tot["estimate"], ref["ratio_totals"]["estimate"])
    close(tot["se"], ref["ratio_totals"]["se"])
    # a callable gives the same as the expression
    f = api_design(dn).total(["api00", "api99"]).contrast(lambda e: e["api00"] / e["api99"])
    close(f.to_frame()["se"], [tot["se"]], rtol=1e-12)


@pytest.mark.parametrize("dn", ["strat", "clus1"])
def test_pairwise_with_holm_and_bonferroni_match_r(dn, analysis_ref, api_design):
    ref = analysis_ref["contrasts"][dn]["pairwise"]
    tab = api_design(dn).mean("api00", by="stype")
    holm = tab.pairwise().to_frame()
    assert list(holm["variable"]) == ["E / api00 - H / api00", "E / api00 - M / api00",
                                      "H / api00 - M / api00"]
    close(holm["estimate"], ref["estimate"])
    close(holm["se"], ref["se"])
    assert (holm["df"] == analysis_ref["contrasts"][dn]["degf"]).all()
    close(holm["p_value"], ref["p"])
    close(holm["p_adjusted"], ref["p_holm"])
    close(tab.pairwise(adjust="bonferroni").to_frame()["p_adjusted"], ref["p_bonferroni"])
    # difference by domain label equals the first pair, with its p-value
    d = tab.difference("E", "H").to_frame().iloc[0]
    close([d["estimate"], d["se"], d["p_value"]], [ref["estimate"][0], ref["se"][0], ref["p"][0]])


def test_vcov_of_replicate_table_is_the_replicate_covariance(api_design):
    tab = api_design("clus1_jk1").mean("api00", by="stype")
    V = tab.vcov().to_numpy()
    close(np.sqrt(np.diag(V)), tab.to_frame()["se"], rtol=1e-12)
    assert V[0, 1] != 0  # domains share PSUs: the replicate covariance is not diagonal
    d = tab.difference("E", "M").to_frame().iloc[0]
    close(d["se"] ** 2, V[0, 0] + V[2, 2] - 2 * V[0, 2], rtol=1e-12)


def test_contrast_on_prevalence_scale(api_design):
    design = api_design("clus1")
    d = design.data.assign(yes=(design.data["sch.wide"] == "Yes").astype(int))
    des = SurveyDesign(d, psu="dnum", weight="pw", fpc="fpc")
    per1000 = des.prevalence("yes", by="stype")
    prop = des.proportion("yes", by="stype")
    a = per1000.difference("E", "H").to_frame().iloc[0]
    b = prop.difference("E", "H").to_frame().iloc[0]
    close([a["estimate"], a["se"]], [1000 * b["estimate"], 1000 * b["se"]], rtol=1e-12)
    close(a["p_value"], b["p_value"], rtol=1e-12)


def test_bad_contrasts_name_the_rows_that_exist(api_design):
    tab = api_design("strat").mean("api00", by="stype")
    with pytest.raises(ValidationError, match=r"'X' is not a row.*'E / api00'"):
        tab.contrast({"X": 1, "E": -1})
    with pytest.raises(ValidationError, match="not a row"):
        tab.difference("E", "Q")
    with pytest.raises(EstimationError, match="not allowed"):
        tab.contrast("__import__('os')")
    with pytest.raises(EstimationError, match="not allowed"):
        tab.contrast("E.real")
    with pytest.raises(ValidationError, match="adjust="):
        tab.pairwise(adjust="tukey")
    with pytest.raises(EstimationError, match="two domains"):
        api_design("strat").mean("api00").pairwise()


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31 - 1))
def test_contrast_routes_agree(seed):
    """A linear contrast, the same written as an expression and as a difference agree;
    Holm never exceeds Bonferroni and never lowers a p-value."""
    rng = np.random.default_rng(seed)
    n = 120
    data = pd.DataFrame({"psu": rng.integers(0, 12, n), "s": rng.integers(0, 2, n),
                         "g": rng.choice(["a", "b", "c"], n), "y": rng.normal(5, 2, n),
                         "w": rng.uniform(1, 4, n)})  # fmt: skip
    data["psu"] = data["psu"] * 2 + data["s"]  # PSUs nested in strata
    if data.groupby("s")["psu"].nunique().min() < 2 or data["g"].nunique() < 3:
        return
    t = SurveyDesign(data, weight="w", strata="s", psu="psu").mean("y", by="g")
    lin = t.contrast({"a": 1, "b": -1}).to_frame().iloc[0]
    expr = t.contrast("a - b").to_frame().iloc[0]
    diff = t.difference("a", "b").to_frame().iloc[0]
    close([expr["estimate"], expr["se"]], [lin["estimate"], lin["se"]], rtol=1e-9)
    close([diff["estimate"], diff["se"], diff["p_value"]],
          [lin["estimate"], lin["se"], lin["p_value"]], rtol=1e-12)  # fmt: skip
    holm = t.pairwise(adjust="holm").to_frame()
    bonf = t.pairwise(adjust="bonferroni").to_frame()
    assert (holm["p_adjusted"] >= holm["p_value"] - 1e-15).all()
    assert (holm["p_adjusted"] <= bonf["p_adjusted"] + 1e-15).all()


def test_categories_are_rows_to_contrast(api_design):
    """A proportion of a categorical variable: each category is a row; the shares of the
    three school types add to 1 with no variance."""
    tab = api_design("clus1").proportion("stype", ci_method="wald")
    total = tab.contrast({"stype / E": 1, "stype / H": 1, "stype / M": 1}).to_frame().iloc[0]
    close(total["estimate"], 1.0, rtol=1e-12)
    assert abs(total["se"]) < 1e-8  # zero up to rounding (the sqrt of a 1e-19 variance)
    d = tab.difference("stype / E", "stype / M").to_frame().iloc[0]
    f = tab.to_frame()
    close(d["estimate"], f["estimate"].iloc[0] - f["estimate"].iloc[2], rtol=1e-12)


def test_an_empty_domain_leaves_the_other_contrasts_finite(api_design):
    from flestimate.errors import DomainWarning

    data = api_design("clus1").data.copy()
    data["type"] = pd.Categorical(data["stype"], categories=["E", "H", "M", "X"])
    design = SurveyDesign(data, psu="dnum", weight="pw", fpc="fpc")
    with pytest.warns(DomainWarning):
        tab = design.mean("api00", by="type")
    ok = tab.difference("E", "M").to_frame().iloc[0]
    assert np.isfinite([ok["estimate"], ok["se"], ok["p_value"]]).all()
    assert np.isnan(tab.difference("E", "X").to_frame()["estimate"].iloc[0])
    pairs = tab.pairwise().to_frame().set_index("variable")
    assert pairs["p_adjusted"].notna().sum() == 3  # the three pairs without X
    # Holm over the three comparisons that exist: the same as on the table without X
    plain = api_design("clus1").mean("api00", by="stype").pairwise().to_frame()
    close(pairs["p_adjusted"].dropna().to_numpy(), plain["p_adjusted"].to_numpy(), rtol=1e-12)
