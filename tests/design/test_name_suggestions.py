"""Python API errors suggest the closest column name, as the command line does
(issue 15, point 9): design constructors, estimators, weighting and classify."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

import flestimate as fl
from flestimate.errors import CalibrationError, DesignError, EstimationError, FlestimateError

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"


@pytest.fixture(scope="module")
def data():
    return pd.read_csv(SAMPLE / "fl_survey.csv").head(3000)


@pytest.fixture(scope="module")
def design(data):
    return fl.SurveyDesign(data.assign(fl=(data["p1"] == 1).astype(float)),
                           weight="w_final", strata="stratum", psu="psu", nest=True)


@pytest.mark.parametrize("kwargs, typo, fix", [
    ({"weight": "wfinal", "strata": "stratum", "psu": "psu"}, "wfinal", "w_final"),
    ({"weight": "w_final", "strata": "stratumm", "psu": "psu"}, "stratumm", "stratum"),
    ({"weight": "w_final", "strata": "stratum", "psu": "PSU1"}, "PSU1", "psu"),
])
def test_survey_design_suggests(data, kwargs, typo, fix):
    with pytest.raises(DesignError, match=f"'{typo}' is not in the data; did you mean '{fix}'\\?"):
        fl.SurveyDesign(data, nest=True, **kwargs)


def test_replicate_design_suggests(data):
    with pytest.raises(DesignError, match="did you mean 'w_final'\\?"):
        fl.ReplicateDesign(data, weight="w_fnal", replicate_weights=["w_base", "age"],
                           method="JK1")
    with pytest.raises(DesignError, match="did you mean 'w_base'\\?"):
        fl.ReplicateDesign(data, weight="w_final", replicate_weights=["wbase", "age"],
                           method="JK1")


def test_estimators_suggest(design):
    with pytest.raises(EstimationError, match="'fll' is not in the data; did you mean 'fl'\\?"):
        design.prevalence("fll")
    with pytest.raises(EstimationError, match="'sexx' is not in the data; did you mean 'sex'\\?"):
        design.prevalence("fl", by=["sexx"])
    with pytest.raises(EstimationError, match="did you mean 'age'\\?"):
        design.mean("agee")


def test_weighting_suggests(design, data):
    with pytest.raises(CalibrationError, match="did you mean 'worked'\\?"):
        fl.adjust_nonresponse(design, responded="workd", cells="region")
    with pytest.raises(CalibrationError, match="did you mean 'region'\\?"):
        fl.adjust_nonresponse(design, responded=design.data["worked"].notna(), cells="regoin")
    margins = pd.read_csv(SAMPLE / "margins.csv")
    by_sex = margins.groupby("sex")["count"].sum().rename_axis("sexe")
    with pytest.raises(CalibrationError, match="'sexe'.*did you mean 'sex'\\?"):
        fl.rake(design, margins=[by_sex])
    with pytest.raises(CalibrationError, match="'agee'.*did you mean 'age'\\?"):
        fl.calibrate(design, totals=[margins.groupby("sex")["count"].sum(), {"agee": 5.9e6}])


def test_classify_suggests(data):
    mapping = (SAMPLE / "mapping.yaml").read_text().replace("P1: p1\n", "P1: pp1\n", 1)
    assert "pp1" in mapping
    with pytest.raises(FlestimateError, match="'pp1' \\(did you mean 'p1'\\?\\)"):
        fl.classify(data, fl.load_mapping(yaml.safe_load(mapping)))


def test_an_unrelated_name_gets_no_suggestion(design):
    with pytest.raises(EstimationError) as err:
        design.prevalence("zzzzzzzz")
    assert "did you mean" not in str(err.value)
