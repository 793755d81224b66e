"""Analyses on a design built from labelled data (value labels shown, codes kept) give the
numbers of the same design built from the plain frame."""

from __future__ import annotations

from pathlib import Path

import pytest

import flestimate as fl

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"


@pytest.fixture(scope="module")
def designs():
    data = fl.classify(fl.read_survey(SAMPLE / "fl_survey.sav"),
                       fl.load_mapping(SAMPLE / "mapping.yaml"))
    kw = dict(weight="w_final", strata="stratum", psu="psu")
    return fl.SurveyDesign(data, **kw), fl.SurveyDesign(data.frame, **kw)


def test_ttest_by_a_labelled_group(designs):
    labelled, plain = designs
    a, b = labelled.ttest("age", "sex"), plain.ttest("age", "sex")
    assert a.statistic == pytest.approx(b.statistic, rel=1e-12)
    assert a.p_value == pytest.approx(b.p_value, rel=1e-12)


def test_difference_by_label_equals_difference_by_position(designs):
    labelled, _ = designs
    t = labelled.prevalence("fl", by="sex")
    by_label = t.difference("male", "female").to_frame().iloc[0]
    by_position = t.difference(0, 1).to_frame().iloc[0]
    assert by_label["estimate"] == pytest.approx(by_position["estimate"], rel=1e-12)
    assert by_label["se"] == pytest.approx(by_position["se"], rel=1e-12)
