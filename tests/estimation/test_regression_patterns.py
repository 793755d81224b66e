"""IRLS on the distinct rows of a categorical model matrix equals IRLS on the rows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import flestimate as fl
from flestimate.estimation.regression import formula

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"


@pytest.fixture(scope="module")
def design():
    data = pd.read_csv(SAMPLE / "fl_survey.csv").merge(
        pd.read_csv(SAMPLE / "truth_respondents.csv")[["pid", "fl_true"]], on="pid")
    data["fl"] = data["fl_true"].astype(float)
    data.loc[data.index % 7 == 0, "fl"] = 0.25  # some proportions, not only 0/1
    return fl.SurveyDesign(data, weight="w_final", strata="stratum", psu="psu")


@pytest.mark.parametrize(("outcome", "family"), [
    ("fl", "quasibinomial"), ("age", "gaussian"), ("age", "quasipoisson"),
    ("fl", "binomial"),
])
def test_distinct_rows_give_the_rows_fit(design, monkeypatch, outcome, family):
    fits = []
    for share in (1.0, 0.0):  # sparse: the distinct rows; then dense: every row
        monkeypatch.setattr(formula, "SPARSE_SHARE", share)
        fits.append(design.glm(f"{outcome} ~ C(sex) * C(region) + C(age_group)",
                               family=family, na_rm=True))
    rows, dense = fits
    assert rows.model.X_sparse is not None and dense.model.X_sparse is None
    assert rows.iterations == dense.iterations
    np.testing.assert_allclose(rows.deviance, dense.deviance, rtol=1e-12)
    a, b = rows.table(), dense.table()
    for col in ("estimate", "se", "p_value", "deff"):
        np.testing.assert_allclose(a[col], b[col], rtol=1e-9, atol=1e-13)
