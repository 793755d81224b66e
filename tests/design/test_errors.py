"""Bad input gives a DesignError / EstimationError naming the column, the count, the first
offending rows or values, and the fix; the caller's frame is never modified."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from flestimate import DesignError, EstimationError, ValidationError
from flestimate.design import SurveyDesign


@pytest.fixture
def frame():
    rng = np.random.default_rng(1)
    n = 40
    return pd.DataFrame(
        {
            "stratum": np.repeat([1, 2], n // 2),
            "psu": np.repeat(np.arange(8), n // 8),
            "w": rng.uniform(1, 3, n),
            "y": rng.normal(size=n),
            "flag": rng.integers(0, 2, n),
            "fpc": np.repeat([100.0, 80.0], n // 2),
            "text": ["a", "b"] * (n // 2),
            "sex": rng.integers(1, 3, n),
        }
    )


@pytest.mark.parametrize(
    ("value", "what"),
    [(np.nan, "missing"), (0.0, "zero"), (-1.5, "negative"), (np.inf, "infinite")],
)
def test_bad_weights(frame, value, what):
    frame.loc[[3, 7], "w"] = value
    with pytest.raises(DesignError) as err:
        SurveyDesign(frame, weight="w", strata="stratum", psu="psu")
    msg = str(err.value)
    assert "'w'" in msg and f"2 {what}" in msg and "3, 7" in msg and "> 0" in msg


def test_missing_strata_and_psu(frame):
    f = frame.copy()
    f.loc[5, "stratum"] = np.nan
    with pytest.raises(
        DesignError, match=r"strata column 'stratum' has 1 missing values \(rows 5\)"
    ):
        SurveyDesign(f, weight="w", strata="stratum", psu="psu")
    f = frame.copy()
    f.loc[[1, 2], "psu"] = np.nan
    with pytest.raises(DesignError, match=r"psu column 'psu' has 2 missing values \(rows 1, 2\)"):
        SurveyDesign(f, weight="w", strata="stratum", psu="psu")


def test_psu_repeated_across_strata_needs_nest(frame):
    f = frame.copy()
    f["psu"] = np.tile(np.repeat(np.arange(4), 5), 2)  # 0..3 in each stratum
    with pytest.raises(
        DesignError, match=r"4 PSU ids that appear in more than one stratum.*nest=True"
    ):
        SurveyDesign(f, weight="w", strata="stratum", psu="psu")
    d = SurveyDesign(f, weight="w", strata="stratum", psu="psu", nest=True)
    assert d.structure.n_psus == 8 and d.degf == 6


def test_lonely_psu_fail(frame):
    f = frame.copy()
    f.loc[f["stratum"] == 2, "psu"] = 99
    with pytest.raises(DesignError, match=r"1 strata have a single PSU.*first: 2.*lonely_psu="):
        SurveyDesign(f, weight="w", strata="stratum", psu="psu")
    SurveyDesign(f, weight="w", strata="stratum", psu="psu", lonely_psu="adjust")


def test_fpc_errors(frame):
    f = frame.copy()
    f.loc[0, "fpc"] = 3.0  # smaller than 4 sampled PSUs, and varying within stratum 1
    with pytest.raises(
        DesignError, match=r"fpc column 'fpc' varies within 1 stratums? \(first: 1\)"
    ):
        SurveyDesign(f, weight="w", strata="stratum", psu="psu", fpc="fpc")
    f["fpc"] = np.where(f["stratum"] == 1, 3.0, 80.0)
    with pytest.raises(
        DesignError, match=r"fpc column 'fpc' is smaller than the number of sampled"
    ):
        SurveyDesign(f, weight="w", strata="stratum", psu="psu", fpc="fpc")
    f["fpc"] = np.where(f["stratum"] == 1, 0.5, 80.0)
    with pytest.raises(DesignError, match="mixes sampling fractions"):
        SurveyDesign(f, weight="w", strata="stratum", psu="psu", fpc="fpc")


def test_missing_columns_and_arguments(frame):
    with pytest.raises(DesignError, match=r"weight column 'wt' is not in the data"):
        SurveyDesign(frame, weight="wt")
    with pytest.raises(DesignError, match="neither weight= nor fpc="):
        SurveyDesign(frame, psu="psu")
    with pytest.raises(DesignError, match="lonely_psu='skip' is not a known rule"):
        SurveyDesign(frame, weight="w", lonely_psu="skip")
    with pytest.raises(DesignError, match="DataFrame"):
        SurveyDesign([1, 2, 3], weight="w")


def test_non_numeric_analysis_variable(frame):
    d = SurveyDesign(frame, weight="w", strata="stratum", psu="psu")
    with pytest.raises(
        EstimationError, match=r"'text' is not numeric \(40 values.*first: 'a', 'b'"
    ):
        d.mean("text")
    with pytest.raises(EstimationError, match=r"analysis variable 'nope' is not in the data"):
        d.total("nope")


def test_indicator_with_other_codes(frame):
    d = SurveyDesign(frame, weight="w", strata="stratum", psu="psu")
    with pytest.raises(
        EstimationError, match=r"'sex' is not a 0/1 indicator: \d+ values .*first: 2"
    ):
        d.proportion("sex")
    with pytest.raises(EstimationError, match="not a 0/1 indicator"):
        d.prevalence("y")
    # a string or categorical variable gives one row per category instead
    assert list(d.proportion("text").to_frame()["category"]) == ["a", "b"]
    f = frame.assign(sex_cat=frame["sex"].astype("category"))
    d2 = SurveyDesign(f, weight="w", strata="stratum", psu="psu")
    assert list(d2.proportion("sex_cat").to_frame()["category"]) == [1, 2]


def test_missing_analysis_values(frame):
    f = frame.copy()
    f.loc[[4, 9], "y"] = np.nan
    d = SurveyDesign(f, weight="w", strata="stratum", psu="psu")
    with pytest.raises(
        EstimationError, match=r"'y' has 2 missing values \(rows 4, 9\).*na_rm=True"
    ):
        d.mean("y")
    t = d.mean("y", na_rm=True).to_frame()
    assert t["n_unweighted"].iloc[0] == 38


def test_bad_options(frame):
    d = SurveyDesign(frame, weight="w", strata="stratum", psu="psu")
    with pytest.raises(ValidationError, match="level=95"):
        d.mean("y", level=95)
    with pytest.raises(ValidationError, match="ci_method='exact'"):
        d.proportion("flag", ci_method="exact")
    with pytest.raises(ValidationError, match="df='full'"):
        d.mean("y", df="full")
    with pytest.raises(ValidationError, match="scale=10"):
        d.prevalence("flag", scale=10)
    with pytest.raises(EstimationError, match="by= column 'region'"):
        d.mean("y", by="region")


def test_caller_frame_not_modified(frame):
    before = frame.copy(deep=True)
    d = SurveyDesign(frame, weight="w", strata="stratum", psu="psu", fpc="fpc")
    d.mean(["y"], by="sex")
    d.proportion("text", by=["stratum", "sex"])
    d.prevalence("flag")
    pd.testing.assert_frame_equal(frame, before)
    assert d.data is frame


def test_design_is_frozen(frame):
    d = SurveyDesign(frame, weight="w")
    with pytest.raises(AttributeError, match="frozen"):
        d.lonely = "x"
    tab = d.mean("y")
    with pytest.raises(AttributeError):
        tab.level = 0.9
