"""design.chisq (svychisq), design.ttest (svyttest) and design.var (svyvar) against R
(tests/reference/analysis.json), and their errors on bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from flestimate import SurveyDesign
from flestimate.errors import EstimationError, ValidationError

RTOL = 1e-8


def close(a, b, rtol=RTOL):
    np.testing.assert_allclose(np.asarray(a, float), np.asarray(b, float), rtol=rtol, atol=0)


def test_chisq_all_four_statistics_match_r(analysis_ref, api_design):
    assert len(analysis_ref["chisq"]) == 16  # stratified, cluster and JK1 designs
    for case in analysis_ref["chisq"]:
        r = api_design(case["design"]).chisq(case["row"], case["col"], statistic=case["statistic"])
        close(r.statistic, case["value"])
        close(r.df, np.atleast_1d(case["parameter"]))
        close(r.p_value, case["p_value"])
        assert r.statistic_name == ("X-squared" if case["statistic"] == "Chisq" else "F")


def test_chisq_result_is_readable_and_read_only(api_design):
    r = api_design("clus1").chisq("sch.wide", "stype")
    text = str(r)
    assert "Rao & Scott" in text and "p-value" in text and "sch.wide by stype" in text
    assert "<table>" in r._repr_html_()
    close(r.table.to_numpy().sum(), 1.0, rtol=1e-12)
    assert r.to_dict()["p_value"] == r.p_value
    with pytest.raises(AttributeError):
        r.p_value = 0.5


def test_chisq_on_a_replicate_design_uses_its_covariance(api_design):
    """On a JK1 design the statistic differs from the Taylor one (the R values of both
    are in test_chisq_all_four_statistics_match_r)."""
    t = api_design("clus1").chisq("sch.wide", "stype")
    j = api_design("clus1_jk1").chisq("sch.wide", "stype")
    assert j.statistic != t.statistic
    close(j.statistic, t.statistic, rtol=0.2)


def test_ttest_matches_r(analysis_ref, api_design):
    for case in analysis_ref["ttest"]:
        r = api_design(case["design"]).ttest(case["y"], case["group"])
        close([r.statistic, r.df[0], r.estimate, r.p_value], [case["statistic"], case["df"],
              case["estimate"], case["p_value"]])  # fmt: skip
        close(r.conf_int, case["conf_int"])


def test_svyvar_matches_r(analysis_ref, api_design):
    for case in analysis_ref["svyvar"]:
        f = api_design(case["design"]).var("api00", by=case["by"]).to_frame()
        close(f["estimate"], case["estimate"])
        close(f["se"], case["se"])
        if case["by"]:
            assert list(f["stype"]) == case["domains"]


def test_bad_input_to_tests():
    data = pd.DataFrame({"a": ["x"] * 6, "b": ["u", "v"] * 3, "g": [1, 2, 3] * 2,
                         "y": np.arange(6.0), "w": 1.0, "s": [1, 1, 2, 2, 3, 3]})  # fmt: skip
    design = SurveyDesign(data, weight="w", strata="s")
    with pytest.raises(EstimationError, match=r"'a' has 1 observed value.*at least two"):
        design.chisq("a", "b")
    with pytest.raises(ValidationError, match="statistic='G'"):
        design.chisq("g", "b", statistic="G")
    with pytest.raises(ValidationError, match="two different columns"):
        design.chisq("b", "b")
    with pytest.raises(EstimationError, match="'nope' is not in the data"):
        design.chisq("nope", "b")
    with pytest.raises(EstimationError, match="exactly two"):
        design.ttest("y", "g")


def test_chisq_refuses_an_empty_row_of_the_table():
    """A category present only where the other variable is missing leaves an empty row:
    the Pearson statistic is undefined, and the error names it."""
    data = pd.DataFrame({"a": ["x", "x", "y", "y", "z", "z"], "b": ["u", "v", "u", "v", None, None],
                         "w": 1.0, "s": [1, 1, 2, 2, 3, 3]})  # fmt: skip
    design = SurveyDesign(data, weight="w", strata="s")
    with pytest.raises(EstimationError, match=r"rows or columns with no weight \(\['z'\]\)"):
        design.chisq("a", "b")
