"""Raking a design over grouped rows (``frequency=``: each row stands for several
respondents) gives the numbers of the design over the respondents: R's residualising
sweeps average over respondents, so a grouped row counts as many (issue 18)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import flestimate
from flestimate import SurveyDesign

DATA = Path(__file__).resolve().parents[1] / "reference" / "data"
MARGINS = {"stype": {"E": 4421.0, "H": 755.0, "M": 1018.0},
           "sch.wide": {"Yes": 5122.0, "No": 1072.0}}


def _grouped(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    return frame.assign(n=1.0).groupby(keys, as_index=False)[["pw", "n"]].sum()


@pytest.mark.parametrize("collapse", [True, False])
def test_raked_grouped_rows_give_the_respondents_numbers(monkeypatch, collapse):
    if not collapse:  # the margin-by-margin residualisers of large cross-tables
        monkeypatch.setattr(sys.modules["flestimate.weighting.rake"], "_COLLAPSE_MAX_CELLS", 0)
    frame = pd.read_csv(DATA / "apiclus1.csv")
    frame["yes"] = (frame["comp.imp"] == "Yes").astype(np.int64)
    keys = ["dnum", "fpc", "stype", "sch.wide", "yes"]
    grouped = _grouped(frame, keys)
    assert len(grouped) < len(frame) / 3  # rows of one cluster really were grouped
    args = {"weight": "pw", "psu": "dnum", "fpc": "fpc"}
    rows = flestimate.rake(SurveyDesign(frame, **args), margins=MARGINS)
    groups = flestimate.rake(SurveyDesign(grouped, frequency="n", **args), margins=MARGINS)
    a = rows.prevalence("yes", by="stype").to_frame()
    b = groups.prevalence("yes", by="stype").to_frame()
    for col in ("estimate", "se", "df", "n_unweighted"):
        np.testing.assert_allclose(b[col], a[col], rtol=1e-12, atol=0, err_msg=col)
    assert (a["se"] > 0).all()
