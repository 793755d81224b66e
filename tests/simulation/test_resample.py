"""SimulatedSurvey.draw_samples: repeated samples from one kept population, same design."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import flestimate as fl
from flestimate.errors import ValidationError


@pytest.fixture(scope="module")
def survey():
    return fl.simulate(3_000, rng=21, keep_population=True)


def test_samples_repeat_the_design_of_the_survey(survey):
    pop = survey.population
    m = survey.parameters["households_per_psu"]
    first = survey.sample
    n_psu_first = first.groupby("stratum")["psu"].nunique()
    for x in survey.draw_samples(5, rng=1):
        # every selected EA has m selected households, of which some respond: an EA may
        # lose all its households to nonresponse, never gain one
        n_psu = x.groupby("stratum")["psu"].nunique()
        assert (n_psu <= n_psu_first.reindex(n_psu.index)).all()
        assert n_psu.sum() >= 0.95 * n_psu_first.sum()
        assert x.groupby("psu")["hhid"].nunique().max() <= m
        # persons of a responding household are all there
        sizes = pop.groupby("hhid").size()
        got = x.groupby("hhid").size()
        pd.testing.assert_series_equal(got, sizes.reindex(got.index), check_names=False)
        # weights are constant within households; nonresponse adjustment >= 1
        assert (x.groupby("hhid")["w_final"].nunique() == 1).all()
        assert (x["w_final"] >= x["w_base"] - 1e-9).all()
        # columns: the population's, then the sample's weights
        assert list(x.columns[-3:]) == ["w_base", "w_final", "n_psu_stratum"]
        assert "selected" not in x.columns
        n_frame = pop.groupby("stratum")["psu"].nunique()
        assert (x["n_psu_stratum"].to_numpy() == n_frame.loc[x["stratum"]].to_numpy()).all()


def test_base_weights_are_unbiased_for_the_number_of_households(survey):
    # E[sum over selected households of w_base] = number of households (Horvitz-Thompson);
    # responding households weighted by w_final estimate it too (nonresponse is MCAR in strata)
    pop = survey.population
    n_households = pop["hhid"].nunique()
    est = []
    for x in survey.draw_samples(300, rng=2):
        per_hh = x.drop_duplicates("hhid")
        est.append(per_hh["w_final"].sum())
    est = np.asarray(est)
    se = est.std(ddof=1) / np.sqrt(est.size)
    assert abs(est.mean() - n_households) < 4 * se
    assert est.std() > 0  # the samples differ


def test_prevalence_over_samples_is_centred_on_the_truth(survey):
    p_true = survey.population["fl"].mean()
    est = np.array(
        [np.average(x["fl"], weights=x["w_final"]) for x in survey.draw_samples(300, rng=3)]
    )
    se = est.std(ddof=1) / np.sqrt(est.size)
    assert abs(est.mean() - p_true) < 4 * se + 0.002 * p_true


def test_same_rng_same_samples_and_the_population_is_untouched(survey):
    before = survey.population.copy()
    a = list(survey.draw_samples(2, rng=np.random.default_rng(9)))
    b = list(survey.draw_samples(2, rng=9))
    for x, y in zip(a, b, strict=True):
        pd.testing.assert_frame_equal(x, y)
    assert not a[0]["pid"].equals(a[1]["pid"])
    pd.testing.assert_frame_equal(survey.population, before)


def test_without_population_is_a_clear_error():
    s = fl.simulate(2_000, rng=1)
    with pytest.raises(ValidationError, match="keep_population=True"):
        s.draw_samples(3)


@pytest.mark.parametrize("n", [0, 1.5, "3", True])
def test_bad_number_of_samples(survey, n):
    with pytest.raises(ValidationError, match="n_samples"):
        survey.draw_samples(n)
