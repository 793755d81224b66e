"""Value labels in the Python API (issue 15, point 1): by columns and categories come
back labelled, the codes kept in ``<col>_code``."""

import numpy as np
import pandas as pd
import pytest

import flestimate as fl
from flestimate.estimation.labels import label_of_code


@pytest.fixture(scope="module")
def labelled_design():
    data = fl.read_survey("data/sample/fl_survey.sav")
    return fl.SurveyDesign(data, weight="w_final", strata="stratum", psu="psu")


def test_by_columns_come_back_labelled_with_codes_kept(labelled_design):
    f = labelled_design.mean("age", by=["sex", "region"]).to_frame()
    assert f.columns.tolist()[:5] == ["sex", "sex_code", "region", "region_code", "variable"]
    assert set(f["sex"]) == {"male", "female"}
    assert set(f["region"]) == {"North", "South", "East", "West", "Centre"}
    assert (f.loc[f["sex"] == "male", "sex_code"] == 1).all()


def test_labels_reach_text_html_and_weighting(labelled_design):
    t = labelled_design.mean("age", by="region")
    assert "North" in str(t) and "Centre" in t._repr_html_()
    # a weighting step keeps the data, and so the labels
    margins = pd.read_csv("data/sample/margins.csv")
    ps = fl.poststratify(labelled_design, totals=margins)
    assert set(ps.mean("age", by="sex").to_frame()["sex"]) == {"male", "female"}


def test_labelled_and_unlabelled_numbers_agree(labelled_design):
    plain = fl.SurveyDesign(labelled_design.data.copy(), weight="w_final", strata="stratum",
                            psu="psu")
    plain.data.attrs.clear()
    a = labelled_design.mean("age", by="sex").to_frame()
    b = plain.mean("age", by="sex").to_frame()
    assert b.columns[0] == "sex" and "sex_code" not in b.columns
    np.testing.assert_array_equal(a["sex_code"], b["sex"])
    np.testing.assert_allclose(a["estimate"], b["estimate"], rtol=0)


def test_category_labels_of_a_categorical_variable():
    frame = pd.DataFrame({
        "y": pd.Categorical([1, 2, 2, 1, 3, 2]), "w": [1.0] * 6, "g": [1, 1, 2, 2, 1, 2],
    })
    data = fl.SurveyData(frame, value_labels={"y": {1: "low", 2: "mid", 3: "high"},
                                             "g": {1: "A", 2: "B"}})
    f = fl.SurveyDesign(data, weight="w").proportion("y", by="g").to_frame()
    assert f["category"].tolist()[:3] == ["low", "mid", "high"]
    assert f["category_code"].tolist()[:3] == [1, 2, 3]
    assert f["g"].tolist()[0] == "A"


def test_the_callers_frame_is_untouched():
    frame = pd.DataFrame({"y": [1.0, 2.0], "w": [1.0, 1.0], "g": [1, 2]})
    data = fl.SurveyData(frame, value_labels={"g": {1: "A"}})
    fl.SurveyDesign(data, weight="w").mean("y", by="g")
    assert frame.attrs == {}


@pytest.mark.parametrize(("code", "label"), [(1, "A"), (1.0, "A"), ("1", "A"), (3.0, "3"),
                                             ("x", "x")])
def test_label_of_code(code, label):
    assert label_of_code(code, {1: "A"}) == label


# ---- the analysis results of issue 17 show labels too (quantiles, tests, contrasts, combine)


def test_quantile_by_a_labelled_column(labelled_design):
    f = labelled_design.quantile("age", [0.25, 0.5], by="sex").to_frame()
    assert f.columns.tolist()[:4] == ["sex", "sex_code", "variable", "quantile"]
    assert f["sex"].tolist() == ["male", "male", "female", "female"]
    assert f["sex_code"].tolist() == [1, 1, 2, 2]
    assert "female" in str(labelled_design.quantile("age", 0.5, by="sex"))


def test_chisq_table_and_ttest_show_labels(labelled_design):
    test = labelled_design.chisq("worked", "sex")
    assert test.table.columns.tolist() == ["male", "female"]
    assert test.table.index.tolist() == ["yes", "no"]
    assert "female" in test._repr_html_()
    t = labelled_design.ttest("age", "sex")  # crashed on a labelled group before
    assert t.data == "age by sex (female - male)"
    plain = fl.SurveyDesign(labelled_design.data.copy(), weight="w_final", strata="stratum",
                            psu="psu")
    plain.data.attrs.clear()
    u = plain.ttest("age", "sex")
    assert t.statistic == pytest.approx(u.statistic, rel=1e-12)
    assert plain.chisq("worked", "sex").statistic == pytest.approx(test.statistic, rel=1e-12)


def test_contrasts_name_domains_by_label_or_code(labelled_design):
    m = labelled_design.mean("age", by="region")
    by_label = m.difference("North", "South").to_frame()
    by_code = m.difference("1", "2").to_frame()
    assert by_label["variable"].iloc[0] == "North / age - South / age"
    assert by_code["estimate"].iloc[0] == by_label["estimate"].iloc[0]
    pw = m.pairwise(adjust="holm").to_frame()
    assert pw["variable"].iloc[0] == "North / age - South / age"
    assert m.contrast({"North": 1, "2": -1}).to_frame()["estimate"].iloc[0] == pytest.approx(
        by_label["estimate"].iloc[0], rel=1e-12)


def test_combine_keeps_labels(labelled_design):
    tabs = [labelled_design.mean("age", by="sex"), labelled_design.mean("age", by="sex")]
    f = fl.combine(tabs).to_frame()
    assert f["sex"].tolist() == ["male", "female"] and f["sex_code"].tolist() == [1, 2]
