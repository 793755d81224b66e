"""Multiplicity (proxy report) estimators: the counting rule, and the ratio route."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import flestimate as fl
from flestimate import proxy


def families(seed: int = 2, n_families: int = 400):
    """Adults (the reporters) and everyone in their families (the reported)."""
    rng = np.random.default_rng(seed)
    size = rng.integers(1, 7, n_families)
    fam = np.repeat(np.arange(n_families), size)
    person = pd.DataFrame({"family": fam, "pid": np.arange(len(fam))})
    person["adult"] = rng.random(len(fam)) < 0.6
    person.loc[~person.duplicated("family"), "adult"] = True  # every family has an adult
    person["fl"] = (rng.random(len(fam)) < np.where(person["family"] % 5 == 0, 0.2, 0.02)).astype(int)
    adults = person[person["adult"]].copy()
    n_adults = adults.groupby("family").size()
    person["m"] = person["family"].map(n_adults)
    # each adult reports on everyone in the family (self included)
    reports = adults[["pid", "family"]].rename(columns={"pid": "reporter"}).merge(
        person[["family", "pid", "fl", "m"]], on="family")
    adults["stratum"] = adults["family"] % 4
    adults["psu"] = adults["family"] // 40 * 4 + adults["stratum"]
    return person, adults, reports


def test_census_counts_each_victim_once():
    person, adults, reports = families()
    census = fl.SurveyDesign(adults.assign(w=1.0), weight="w")
    total = proxy.multiplicity_total(census, reports, respondent="reporter", outcome="fl",
                                     multiplicity="m", respondent_id="pid").to_frame()
    assert total["estimate"].iloc[0] == pytest.approx(person["fl"].sum(), rel=1e-12)
    prev = proxy.multiplicity_prevalence(census, reports, respondent="reporter", outcome="fl",
                                         multiplicity="m", respondent_id="pid").to_frame()
    assert prev["estimate"].iloc[0] == pytest.approx(1000 * person["fl"].mean(), rel=1e-12)


def test_sample_equals_the_ratio_of_derived_columns():
    person, adults, reports = families()
    rng = np.random.default_rng(4)
    sample = adults[rng.random(len(adults)) < 0.5].assign(w=lambda f: rng.uniform(1, 3, len(f)))
    design = fl.SurveyDesign(sample, weight="w", strata="stratum", psu="psu")
    got = proxy.multiplicity_prevalence(design, reports[reports.reporter.isin(sample.pid)],
                                        respondent="reporter", outcome="fl", multiplicity="m",
                                        respondent_id="pid", by="stratum").to_frame()
    r = reports.assign(a=reports.fl / reports.m, b=1 / reports.m).groupby("reporter")[["a", "b"]].sum()
    manual = sample.join(r, on="pid")
    ref = fl.SurveyDesign(manual, weight="w", strata="stratum", psu="psu").ratio(
        "a", "b", by="stratum").to_frame()
    np.testing.assert_allclose(got["estimate"], 1000 * ref["estimate"], rtol=1e-12)
    np.testing.assert_allclose(got["se"], 1000 * ref["se"], rtol=1e-12)


def test_bad_reports_are_named_errors():
    person, adults, reports = families()
    design = fl.SurveyDesign(adults.assign(w=1.0), weight="w")
    kw = {"respondent": "reporter", "outcome": "fl", "multiplicity": "m", "respondent_id": "pid"}
    with pytest.raises(fl.EstimationError, match="below 1"):
        proxy.multiplicity_total(design, reports.assign(m=0), **kw)
    with pytest.raises(fl.EstimationError, match="not in the design"):
        proxy.multiplicity_total(design, reports.assign(reporter=-5), **kw)
    with pytest.raises(fl.EstimationError, match="not 0/1"):
        proxy.multiplicity_total(design, reports.assign(fl=3), **kw)
