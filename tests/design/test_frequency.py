"""Grouped rows (``frequency=``): a design over rows grouped by every value used, with
weight sums and counts, gives the numbers of the design over the rows (issue 18)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flestimate import ReplicateDesign, SurveyDesign
from flestimate.errors import DesignError


def _grouped(frame: pd.DataFrame, keys: list[str], sums: list[str]) -> pd.DataFrame:
    out = frame.groupby(keys, sort=True)[sums].sum()
    out["n"] = frame.groupby(keys, sort=True).size().astype(float)
    return out.reset_index()


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 2**32 - 1), st.sampled_from(["korn-graubard", "logit", "wald"]))
def test_grouped_rows_give_the_same_estimates(seed, ci_method):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(60, 200))
    frame = pd.DataFrame({"psu": rng.integers(0, 12, n), "w": rng.uniform(1, 5, n),
                          "y": rng.integers(0, 2, n), "g": rng.integers(0, 3, n)})
    frame["s"] = frame["psu"] % 3
    args = {"strata": "s", "psu": "psu", "lonely_psu": "adjust"}
    rows = SurveyDesign(frame, weight="w", **args)
    groups = SurveyDesign(_grouped(frame, ["s", "psu", "g", "y"], ["w"]), weight="w",
                          frequency="n", **args)
    a = rows.prevalence("y", by="g", ci_method=ci_method).to_frame()
    b = groups.prevalence("y", by="g", ci_method=ci_method).to_frame()
    num = [c for c in a.columns if pd.api.types.is_float_dtype(a[c])]
    np.testing.assert_allclose(b[num].to_numpy(float), a[num].to_numpy(float), rtol=1e-12,
                               equal_nan=True)
    assert (a["n_unweighted"] == b["n_unweighted"]).all()


def test_grouped_delivered_replicates():
    rng = np.random.default_rng(5)
    n = 300
    frame = pd.DataFrame({"w": rng.uniform(1, 5, n), "y": rng.integers(0, 2, n),
                          "g": rng.integers(0, 4, n)})
    reps = [f"r{i}" for i in range(10)]
    for r in reps:
        frame[r] = frame["w"] * rng.uniform(0.5, 1.5, n)
    rows = ReplicateDesign(frame, weight="w", replicate_weights=reps, method="bootstrap")
    grouped = _grouped(frame, ["g", "y"], ["w", *reps])
    groups = ReplicateDesign(grouped, weight="w", replicate_weights=reps, method="bootstrap",
                             frequency="n")
    a, b = rows.mean("y", by="g").to_frame(), groups.mean("y", by="g").to_frame()
    np.testing.assert_allclose(b["se"], a["se"], rtol=1e-12)
    assert (a["n_unweighted"] == b["n_unweighted"]).all()


def test_frequency_must_be_whole_counts():
    frame = pd.DataFrame({"w": [1.0, 2.0], "n": [1.0, 0.5], "y": [0, 1]})
    with pytest.raises(DesignError, match=r"frequency column 'n' has 1 values that are not whole"):
        SurveyDesign(frame, weight="w", frequency="n")
