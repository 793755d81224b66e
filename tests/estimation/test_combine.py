"""Rubin's rules (flestimate.combine) against mitools::MIcombine on its own example
(tests/reference/analysis.json), and on EstimateTables from imputed designs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import flestimate
from flestimate import SurveyDesign
from flestimate.errors import ValidationError
from flestimate.estimation.imputation import rubin

RTOL = 1e-8


def test_rubin_matches_micombine(analysis_ref):
    ref = analysis_ref["micombine"]
    p = len(ref["names"])
    covs = [np.reshape(v, (p, p)) for v in ref["variances"]]
    res = rubin(ref["estimates"], covs)
    np.testing.assert_allclose(res.estimate, ref["coefficients"], rtol=RTOL)
    np.testing.assert_allclose(res.variance, np.reshape(ref["variance"], (p, p)), rtol=RTOL)
    np.testing.assert_allclose(res.df, ref["df"], rtol=RTOL)
    np.testing.assert_allclose(res.missing_info, ref["missinfo"], rtol=RTOL)
    br = rubin(ref["estimates"], covs, df_complete=20)
    np.testing.assert_allclose(br.df, ref["df_complete_20"]["df"], rtol=RTOL)
    np.testing.assert_allclose(br.missing_info, ref["df_complete_20"]["missinfo"], rtol=RTOL)


def _imputed_designs(m=5, seed=1):
    rng = np.random.default_rng(seed)
    n = 400
    base = pd.DataFrame({"psu": np.repeat(np.arange(40), 10), "w": rng.uniform(1, 3, n),
                         "sex": rng.choice(["men", "women"], n)})  # fmt: skip
    truth = (rng.random(n) < np.where(base["sex"] == "men", 0.08, 0.05)).astype(float)
    dont_know = rng.random(n) < 0.1
    designs = []
    for _ in range(m):
        fl = np.where(dont_know, (rng.random(n) < 0.3).astype(float), truth)
        designs.append(SurveyDesign(base.assign(fl=fl), weight="w", psu="psu"))
    return designs


def test_combine_tables_is_rubin_on_their_estimates_and_covariances():
    designs = _imputed_designs()
    tables = [d.prevalence("fl", by="sex") for d in designs]
    out = flestimate.combine(tables)
    res = rubin([t.to_frame()["estimate"].to_numpy() for t in tables],
                [t.vcov().to_numpy() for t in tables])  # fmt: skip
    f = out.to_frame()
    np.testing.assert_allclose(f["estimate"], res.estimate, rtol=1e-12)
    np.testing.assert_allclose(f["se"] ** 2, np.diag(res.variance), rtol=1e-12)
    np.testing.assert_allclose(out.vcov().to_numpy(), res.variance, rtol=1e-12)
    np.testing.assert_allclose(f["fmi"], res.missing_info, rtol=1e-12)
    assert list(f["sex"]) == ["men", "women"] and (f["fmi"] > 0).all()
    same = flestimate.with_imputations(designs, lambda d: d.prevalence("fl", by="sex"))
    pd.testing.assert_frame_equal(same.to_frame(), f)
    # the combined table compares like any other
    assert 0 <= out.difference("men", "women").to_frame()["p_value"].iloc[0] <= 1
    # quantile tables combine on their variances
    q = flestimate.combine([d.quantile("w", 0.5) for d in designs])
    assert np.isfinite(q.to_frame()["se"]).all()


def test_combine_refuses_mismatched_results():
    designs = _imputed_designs(m=2)
    a = designs[0].prevalence("fl", by="sex")
    b = designs[1].prevalence("fl")
    with pytest.raises(ValidationError, match="result 2 does not match result 1"):
        flestimate.combine([a, b])
    with pytest.raises(ValidationError, match="at least two"):
        flestimate.combine([a])
    with pytest.raises(ValidationError, match="at least two imputations"):
        rubin([np.zeros(2)], [np.eye(2)])
