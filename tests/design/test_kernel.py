"""The PSU aggregation kernel: grouped sums, stratified variance, df, by hand."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from flestimate.design import SurveyDesign
from flestimate.design.kernel import (
    degrees_of_freedom,
    domain_degrees_of_freedom,
    grouped_sums,
    taylor_covariance,
    taylor_variance,
)


def test_grouped_sums_matches_pandas():
    rng = np.random.default_rng(0)
    codes = rng.integers(0, 7, 500)
    values = rng.normal(size=(500, 3))
    got = grouped_sums(codes, 9, values)
    exp = pd.DataFrame(values).groupby(codes).sum().reindex(range(9), fill_value=0.0)
    np.testing.assert_allclose(got, exp.to_numpy(), rtol=1e-12)
    np.testing.assert_allclose(grouped_sums(codes, 9, values[:, 0]), exp[0].to_numpy())


@pytest.fixture
def small():
    # 2 strata: h=0 with PSUs a,b,c (fraction 0.25), h=1 with PSUs d,e (with replacement)
    f = pd.DataFrame(
        {
            "h": [0, 0, 0, 0, 0, 1, 1, 1],
            "p": ["a", "a", "b", "c", "c", "d", "e", "e"],
            "w": [1.0, 2.0, 1.5, 1.0, 3.0, 2.0, 2.0, 1.0],
            "fpc": [12.0, 12, 12, 12, 12, np.inf, np.inf, np.inf],
        }
    )
    return f


def test_taylor_variance_by_hand(small):
    f = small.assign(fpc=small["fpc"].replace(np.inf, 1e300))
    d = SurveyDesign(f, weight="w", strata="h", psu="p", fpc="fpc")
    s = d.structure
    z = np.array([[1.0, 2.0], [4.0, -1.0], [0.0, 0.5], [2.0, 2.0], [5.0, 1.0]])  # a b c d e
    # by hand: stratum 0: (1 - 3/12) * 3/2 * sum (z - mean)^2; stratum 1: 2/1 * sum (...)^2
    z0, z1 = z[:3], z[3:]
    exp = (1 - 0.25) * 1.5 * ((z0 - z0.mean(0)) ** 2).sum(0) + 2.0 * ((z1 - z1.mean(0)) ** 2).sum(0)
    np.testing.assert_allclose(taylor_variance(s, z), exp, rtol=1e-12)
    C = taylor_covariance(s, z)
    np.testing.assert_allclose(np.diag(C), exp, rtol=1e-12)
    c0, c1 = z0 - z0.mean(0), z1 - z1.mean(0)
    np.testing.assert_allclose(
        C[0, 1], 0.75 * 1.5 * (c0[:, 0] @ c0[:, 1]) + 2 * (c1[:, 0] @ c1[:, 1])
    )


def test_lonely_rules_by_hand(small):
    f = small.copy()
    f.loc[f["h"] == 1, "p"] = "d"  # stratum 1 now has a single PSU
    z = np.array([[1.0], [4.0], [0.0], [7.0]])  # a b c d
    base = 1.5 * ((z[:3] - z[:3].mean()) ** 2).sum()
    expected = {
        "remove": base,
        "certainty": base,
        "adjust": base + (7.0 - z.mean()) ** 2,
        "average": base * 2 / 1,
    }
    for rule, exp in expected.items():
        with pytest.warns(Warning, match="single PSU"):
            d = SurveyDesign(f, weight="w", strata="h", psu="p", lonely_psu=rule)
        np.testing.assert_allclose(taylor_variance(d.structure, z), [exp], rtol=1e-12)


def test_multistage_by_hand():
    # 1 stratum, 2 of 4 PSUs; within PSUs, SSUs sampled from 3 (PSU x) and 2 (PSU y)
    f = pd.DataFrame(
        {
            "psu": ["x", "x", "x", "y", "y"],
            "ssu": [1, 2, 2, 1, 2],
            "N1": 4.0,
            "N2": [3.0, 3, 3, 2, 2],
            "y": [1.0, 3.0, 2.0, 5.0, 4.0],
        }
    )
    d = SurveyDesign(f, psu=["psu", "ssu"], fpc=["N1", "N2"])
    w = d.weights.to_numpy()
    np.testing.assert_allclose(w, [2 * 1.5, 2 * 1.5, 2 * 1.5, 2 * 1, 2 * 1])
    t = d.total("y").to_frame()
    u = w * f["y"].to_numpy()
    zx, zy = u[:3].sum(), u[3:].sum()
    v1 = (1 - 2 / 4) * 2 * ((zx - (zx + zy) / 2) ** 2 + (zy - (zx + zy) / 2) ** 2)
    sx = np.array([u[0], u[1] + u[2]])
    v2x = (1 - 2 / 3) * 2 * ((sx - sx.mean()) ** 2).sum()
    v2y = 0.0  # both SSUs of y sampled: fraction 1
    exp = v1 + (2 / 4) * (v2x + v2y)
    np.testing.assert_allclose(t["se"].iloc[0] ** 2, exp, rtol=1e-12)
    # without later-stage fpc: ultimate cluster only
    d2 = SurveyDesign(f.assign(w=w), psu=["psu", "ssu"], weight="w", fpc="N1")
    np.testing.assert_allclose(d2.total("y").to_frame()["se"].iloc[0] ** 2, v1, rtol=1e-12)


def test_degrees_of_freedom(small):
    d = SurveyDesign(small.drop(columns="fpc"), weight="w", strata="h", psu="p")
    s = d.structure
    assert degrees_of_freedom(s) == 5 - 2 == d.degf
    mask = np.array([1, 1, 0, 0, 0, 1, 0, 0], dtype=bool)  # PSUs a, d: strata 0, 1
    assert degrees_of_freedom(s, mask) == 0
    counts = np.zeros((s.n_psus, 2))
    np.add.at(counts, (s.psu, mask.astype(int)), 1.0)
    df, active = domain_degrees_of_freedom(s, counts)
    assert list(df) == [3 - 2, 2 - 2]  # domain 0: PSUs b, c, e; domain 1: a, d
    assert active.shape == (2, 2) and active.all()


def _clus2():
    d = pd.read_csv(Path(__file__).parents[1] / "reference" / "data" / "apiclus2.csv")
    return SurveyDesign(d, psu=["dnum", "snum"], fpc=["fpc1", "fpc2"])


def test_sparse_stage_scores_equal_dense():
    """The sparse later-stage path (StageScores) equals the dense one, with and without a
    calibration residualiser, for variances and covariances."""
    from flestimate.design import Residualizer
    from flestimate.design.kernel import StageScores
    from flestimate.design.scores import linearised_scores
    from flestimate.design.totals import domain_totals, ratio_estimates

    des = _clus2()
    s = des.structure
    data = des.data
    dom = pd.factorize(data["stype"], sort=True)[0]
    ys = [data["api00"].to_numpy(float), data["api99"].to_numpy(float)]
    cells = pd.factorize(data["both"], sort=True)[0]
    w = s.weights
    res = Residualizer(
        X=cells, s=w * 1.1, phi=np.full(s.n, 1 / 1.1), A=1 / np.bincount(cells, weights=w)
    )
    for residualizers in ((), (res,)):
        tot = domain_totals(s, ys, [None, None], dom, 3, residualizers=residualizers)
        est = ratio_estimates(tot.y_total, tot.x_total)
        psu, stages = linearised_scores(tot, est, residualizers)
        assert isinstance(stages[0], StageScores)
        dense = [st.dense() for st in stages]
        np.testing.assert_allclose(
            taylor_variance(s, psu, stages), taylor_variance(s, psu, dense), rtol=1e-12
        )
        Cs, Cd = taylor_covariance(s, psu, stages), taylor_covariance(s, psu, dense)
        np.testing.assert_allclose(Cs, Cd, rtol=1e-9, atol=1e-12 * np.abs(Cd).max())
        # the stage term is not negligible here
        assert not np.allclose(taylor_variance(s, psu, dense), taylor_variance(s, psu, ()))


@pytest.mark.parametrize("columns", [3, 38, 129])
def test_weighted_crossprod_is_the_product_and_restores_the_threads(columns):
    from threadpoolctl import threadpool_info

    from flestimate.design.kernel import weighted_crossprod

    rng = np.random.default_rng(columns)
    z, w = rng.normal(size=(500, columns)), rng.uniform(size=500)
    before = [i["num_threads"] for i in threadpool_info()]
    got = weighted_crossprod(z, w)
    exp = np.einsum("um,un,u->mn", z, z, w)
    np.testing.assert_allclose(got, exp, rtol=1e-12, atol=1e-12 * np.abs(exp).max())
    assert [i["num_threads"] for i in threadpool_info()] == before
