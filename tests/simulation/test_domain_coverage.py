"""The coverage study of domains, zero-case domains included (issue 15, point 3)."""

import numpy as np
import pytest

from flestimate.simulation.coverage import (
    DOMAIN_SCENARIOS,
    ZERO_RULES,
    domain_coverage_study,
    summarise_domains,
)


@pytest.fixture(scope="module")
def records():
    return domain_coverage_study(DOMAIN_SCENARIOS[:1], replications=4, respondents=4_000, rng=7)


def test_domain_study_includes_zero_case_domains(records):
    assert set(records["rule"]) == set(ZERO_RULES)
    assert (records["estimate"] == 0).any() and (records["estimate"] > 0).any()
    assert (records["true_p"] > 0).all()


def test_rules_differ_only_where_a_domain_has_no_case(records):
    pooled = records[records["rule"] == "pooled deff"].reset_index(drop=True)
    plain = records[records["rule"] == "unweighted n"].reset_index(drop=True)
    some = (pooled["estimate"] > 0).to_numpy()
    np.testing.assert_array_equal(pooled["upper"][some], plain["upper"][some])
    zero = ~some & np.isfinite(pooled["upper"].to_numpy()) & (pooled["deff_pooled"] > 1).to_numpy()
    assert zero.any()
    assert (pooled["upper"][zero] > plain["upper"][zero]).all()


def test_pooled_rule_is_the_engines_interval(records):
    # the engine's prevalence(by=...) gives the "pooled deff" bounds (checked on a sample)
    import warnings

    from flestimate import SurveyDesign
    from flestimate.simulation.coverage import SIMULATE_KEYS
    from flestimate.simulation.survey import simulate

    sc = DOMAIN_SCENARIOS[0]
    survey = simulate(4_000, rng=7, keep_population=True, **{k: sc[k] for k in SIMULATE_KEYS})
    sample = next(iter(survey.draw_samples(1, rng=7 + 1000)))
    design = SurveyDesign(sample, weight="w_final", strata="stratum", psu="psu")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        f = design.prevalence("fl", by="sector", scale=1).to_frame().set_index("sector")
    got = records[(records["sample"] == 0) & (records["rule"] == "pooled deff")]
    np.testing.assert_allclose(got["upper"], f.loc[got["domain"], "ci_upper"], rtol=1e-12)


def test_summary_splits_domains_by_case_status(records):
    s = summarise_domains(records)
    assert set(s["cases"]) == {"none", "some", "all"}
    allrows = s[s["cases"] == "all"].set_index("rule")["domains"]
    parts = s[s["cases"] != "all"].groupby("rule")["domains"].sum()
    assert (allrows == parts.reindex(allrows.index)).all()
