"""Network scale-up against R survey on the networkreporting example survey.

Values: tests/reference/nsum.json, written by tests/reference/make_reference_nsum.R
(R survey's svyratio of the same totals times N; R and package versions in the JSON).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import flestimate as fl
from flestimate import nsum

REF = Path(__file__).resolve().parents[1] / "reference"
R = json.loads((REF / "nsum.json").read_text(encoding="utf-8"))
N = R["total_population"]
KNOWN = R["known"]
RTOL = 1e-9


@pytest.fixture(scope="module")
def survey() -> pd.DataFrame:
    return pd.read_csv(REF / "data" / "nsum_example_survey.csv")


@pytest.fixture(scope="module")
def design(survey):
    return fl.SurveyDesign(survey, weight="indweight", strata="region", psu="cluster", nest=True)


def test_unweighted_matches_networkreporting(survey):
    one = fl.SurveyDesign(survey.assign(one=1.0), weight="one")
    table = nsum.scale_up(one, R["hidden"], known=KNOWN, total_population=N, topcode=30)
    got = table.to_frame().set_index("variable")["estimate"]
    for h in R["hidden"]:
        np.testing.assert_allclose(got[h], R["unweighted"][h]["estimate"], rtol=RTOL)
    # the package's vignette prints 47,798.44 from 1,164 connections (an earlier copy of
    # the data: the sum of degrees differs by 8 in 243,514)
    assert got["clients"] == pytest.approx(47_798.44, rel=1e-4)
    assert R["unweighted"]["clients"]["connections"] == 1164


def test_degrees_sum_as_networkreporting(survey):
    d = nsum.known_degrees(survey, known=KNOWN, total_population=N, topcode=30)
    assert d.isna().sum() == len(survey) - R["n_complete"]
    np.testing.assert_allclose(d.sum(), R["unweighted"]["clients"]["sum_d"], rtol=RTOL)


def test_taylor_equals_svyratio(design):
    table = nsum.scale_up(design, R["hidden"], known=KNOWN, total_population=N, topcode=30)
    frame = table.to_frame().set_index("variable")
    for h in R["hidden"]:
        np.testing.assert_allclose(frame.loc[h, "estimate"], R["taylor"][h]["estimate"], rtol=RTOL)
        np.testing.assert_allclose(frame.loc[h, "se"], R["taylor"][h]["se"], rtol=RTOL)
    assert table.statistic == "scale-up size"


def test_by_domain_equals_svyby(design):
    table = nsum.scale_up(
        design, "clients", known=KNOWN, total_population=N, topcode=30, by="sex"
    ).to_frame()
    assert table["sex"].tolist() == R["by_sex"]["sex"]
    np.testing.assert_allclose(table["estimate"], R["by_sex"]["estimate"], rtol=RTOL)
    np.testing.assert_allclose(table["se"], R["by_sex"]["se"], rtol=RTOL)


def test_replicate_design_equals_svrepdesign(design):
    jkn = design.replicate("jkn")
    row = nsum.scale_up(jkn, "clients", known=KNOWN, total_population=N, topcode=30).to_frame()
    np.testing.assert_allclose(row["estimate"].iloc[0], R["jkn"]["estimate"], rtol=RTOL)
    np.testing.assert_allclose(row["se"].iloc[0], R["jkn"]["se"], rtol=RTOL)


def test_internal_validation_equals_r(design):
    out = nsum.internal_validation(design, known=KNOWN, total_population=N, topcode=30)
    ref = R["leave_one_out"]
    assert out["population"].tolist() == list(KNOWN)
    np.testing.assert_allclose(out["estimate"], [ref[k]["estimate"] for k in KNOWN], rtol=RTOL)
    np.testing.assert_allclose(out["se"], [ref[k]["se"] for k in KNOWN], rtol=RTOL)
    np.testing.assert_allclose(out["size"], [ref[k]["truth"] for k in KNOWN])
    np.testing.assert_allclose(out["relative_error"], out["estimate"] / out["size"] - 1)
