"""Categorical margin columns are coded from their codes (no pass over the text), with
the same weights as text or number columns (issue 18)."""

from __future__ import annotations

import numpy as np
import pandas as pd

import flestimate


def test_categorical_text_and_number_margins_rake_alike():
    rng = np.random.default_rng(3)
    n = 400
    frame = pd.DataFrame({"psu": np.arange(n) // 4, "w": rng.uniform(1, 4, n),
                          "region": rng.choice(["North", "South", "East"], n),
                          "sex": rng.integers(1, 3, n), "y": rng.integers(0, 2, n)})
    margins = {"region": {"North": 500.0, "South": 700.0, "East": 300.0},
               "sex": {1: 760.0, 2: 740.0}}
    text = flestimate.rake(flestimate.SurveyDesign(frame, weight="w", psu="psu"),
                           margins=margins)
    cat = frame.assign(region=pd.Categorical(frame["region"],
                                             categories=["West", "South", "North", "East"]),
                       sex=frame["sex"].astype("category"))
    coded = flestimate.rake(flestimate.SurveyDesign(cat, weight="w", psu="psu"),
                            margins=margins)
    np.testing.assert_allclose(coded.weights.to_numpy(), text.weights.to_numpy(), rtol=1e-13)
    by_region = coded.weights.groupby(frame["region"]).sum()
    assert by_region.to_dict() == pytest_approx(margins["region"])


def pytest_approx(expected):
    import pytest

    return pytest.approx(expected, rel=1e-6)  # the default raking tolerance
