"""Intervals of numbers of persons and of domains without a case (issue 15, points 2-3).

A number of persons and its prevalence are one estimate on two scales: when the
population of the domain is fixed (post-stratified to known counts) the count
interval must be the population times the prevalence interval, by the same method.
"""

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import flestimate as fl
from flestimate.errors import ValidationError
from flestimate.estimation import cimethods


@pytest.fixture(scope="module")
def designs():
    data = pd.read_csv("data/sample/fl_survey.csv").merge(
        pd.read_csv("data/sample/truth_respondents.csv")[["pid", "fl_true"]], on="pid"
    )
    design = fl.SurveyDesign(data, weight="w_final", strata="stratum", psu="psu")
    fixed = fl.poststratify(design, totals=pd.read_csv("data/sample/margins.csv"))
    return design, fixed


@pytest.mark.parametrize("method", ["korn-graubard", "logit", "wilson", "korn-graubard-nchs"])
@pytest.mark.parametrize("by", [None, "region", ["region", "sex"]])
def test_count_interval_is_population_times_prevalence_interval_when_fixed(designs, by, method):
    _, fixed = designs
    count = fixed.total("fl_true", by=by, ci_method=method).to_frame()
    prev = fixed.prevalence("fl_true", by=by, ci_method=method, scale=1).to_frame()
    # the post-strata make every region (x sex) size a known count
    pop = count["n_weighted"].to_numpy()
    np.testing.assert_allclose(prev["n_weighted"], pop, rtol=1e-12)
    np.testing.assert_allclose(count["estimate"], pop * prev["estimate"], rtol=1e-9)
    np.testing.assert_allclose(count["ci_lower"], pop * prev["ci_lower"], rtol=1e-9)
    np.testing.assert_allclose(count["ci_upper"], pop * prev["ci_upper"], rtol=1e-9)
    assert (count["ci_method"] == method).all()


def test_count_interval_keeps_the_variance_of_an_estimated_population(designs):
    design, _ = designs
    count = design.total("fl_true", by="region", ci_method="korn-graubard").to_frame()
    prev = design.prevalence("fl_true", by="region", scale=1).to_frame()
    pop = count["n_weighted"].to_numpy()
    # same method on the count's own relative SE: by hand
    p, se = count["estimate"] / pop, count["se"] / pop
    lo, hi = cimethods.korn_graubard(p, se, count["df"], count["n_unweighted"], 0.95)
    np.testing.assert_allclose(count["ci_lower"], lo * pop, rtol=1e-9)
    np.testing.assert_allclose(count["ci_upper"], hi * pop, rtol=1e-9)
    # not the Wald interval of before (which was symmetric)
    assert not np.allclose(count["estimate"] - count["ci_lower"], count["ci_upper"] - count["estimate"])
    # the population is estimated here: the two intervals differ, but not by much
    np.testing.assert_allclose(count["ci_upper"], pop * prev["ci_upper"], rtol=0.05)


def test_count_confint_at_another_level_keeps_the_rule(designs):
    _, fixed = designs
    count = fixed.total("fl_true", by="region", ci_method="korn-graubard").confint(0.9).to_frame()
    prev = fixed.prevalence("fl_true", by="region", scale=1).confint(0.9).to_frame()
    np.testing.assert_allclose(count["ci_upper"], count["n_weighted"] * prev["ci_upper"], rtol=1e-9)


def test_count_interval_for_proportions_refuses_a_non_binary_variable(designs):
    design, _ = designs
    with pytest.raises(ValidationError, match="outside \\[0, 1\\].*'age'.*|'age'.*outside"):
        design.total("age", ci_method="korn-graubard")
    # Wald stays available for any total
    assert design.total("age").ci_method == "wald"


# ---------------------------------------------------------------- zero-case domains


def test_pooled_deff_is_total_n_over_total_effective_n():
    p = np.array([0.1, 0.2, 0.0, 0.3, 0.0])
    se = np.array([0.02, 0.05, 0.0, 0.04, 0.0])
    n = np.array([100.0, 200.0, 50.0, 80.0, 30.0])
    groups = np.array([0, 0, 0, 1, 1])
    with np.errstate(divide="ignore", invalid="ignore"):
        ne = p * (1 - p) / se**2
    got = cimethods.pooled_deff(p, se, n, groups)
    g0 = (100 + 200) / (ne[0] + ne[1])
    g1 = max(1.0, 80 / ne[3])
    np.testing.assert_allclose(got, [g0, g0, g0, g1, g1], rtol=1e-12)


def test_zero_case_interval_uses_the_pooled_design_effect():
    n, df, deff = 40.0, 12.0, 2.5
    lo, hi = cimethods.korn_graubard(
        np.array([0.0]), np.array([0.0]), np.array([df]), np.array([n]), 0.95,
        deff_pooled=np.array([deff]),
    )
    nstar = n / deff * min(1, (stats.t.ppf(0.025, n - 1) / stats.t.ppf(0.025, df)) ** 2)
    assert lo[0] == 0.0
    np.testing.assert_allclose(hi[0], 1 - 0.025 ** (1 / nstar), rtol=1e-10)
    # wider than the unweighted-n bound that under-covers in clustered domains
    assert hi[0] > 1 - 0.025 ** (1 / n)


def test_zero_case_domains_are_flagged_and_get_a_design_based_interval(designs):
    design, _ = designs
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = design.prevalence("fl_true", by="sector", scale=1)
    f = t.to_frame()
    zero = f["estimate"] == 0
    assert zero.any()
    assert f.loc[zero, "flags"].str.contains("zero_cases").all()
    assert not f.loc[~zero, "flags"].str.contains("zero_cases").any()
    cases = ~zero & (f["estimate"] < 1)
    ne = f.loc[cases, "estimate"] * (1 - f.loc[cases, "estimate"]) / f.loc[cases, "se"] ** 2
    deff = max(1.0, f.loc[cases, "n_unweighted"].sum() / ne.sum())
    r = f[zero].iloc[0]
    nstar = r.n_unweighted / deff * min(
        1, (stats.t.ppf(0.025, r.n_unweighted - 1) / stats.t.ppf(0.025, r.df)) ** 2)
    np.testing.assert_allclose(r.ci_upper, 1 - 0.025 ** (1 / nstar), rtol=1e-9)
