"""The calibration residualiser hook, checked against R's postStratify on apiclus1.

The post-stratified weights and the residualiser are built by hand here (the
weighting module builds them in practice); reference values from
tests/reference/make_reference_design.R (case "clus1_poststrat").
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from flestimate.design import Residualizer, SurveyDesign

REF = Path(__file__).parents[1] / "reference"
POP = {"E": 4421.0, "H": 755.0, "M": 1018.0}


@pytest.fixture(scope="module")
def ref():
    data = json.loads((REF / "reference_design.json").read_text())
    (case,) = [c for c in data["cases"] if c.get("design") == "clus1_poststrat"]
    return case


@pytest.fixture(scope="module")
def poststratified():
    data = pd.read_csv(REF / "data" / "apiclus1.csv")
    design = SurveyDesign(data, psu="dnum", weight="pw", fpc="fpc")
    w0 = design.weights.to_numpy()
    cells, labels = pd.factorize(data["stype"], sort=True)
    sums = np.bincount(cells, weights=w0)
    pop = np.array([POP[c] for c in labels])
    psw = w0 * (pop / sums)[cells]
    res = Residualizer(X=cells.astype(np.int64), s=psw, phi=w0 / psw, A=1.0 / sums)
    return design.evolve(weights=psw, residualizers=(res,)), design


def test_poststratified_weights_match_r(poststratified, ref):
    ps, _ = poststratified
    np.testing.assert_allclose(ps.weights.to_numpy(), ref["weights"], rtol=1e-12)


def test_mean_and_total_se_match_r(poststratified, ref):
    ps, plain = poststratified
    m = ps.mean("api00").to_frame()
    np.testing.assert_allclose(m["estimate"], ref["mean_api00"], rtol=1e-9)
    np.testing.assert_allclose(m["se"], ref["se_mean_api00"], rtol=1e-9)
    t = ps.total("enroll").to_frame()
    np.testing.assert_allclose(t["estimate"], ref["total_enroll"], rtol=1e-9)
    np.testing.assert_allclose(t["se"], ref["se_total_enroll"], rtol=1e-9)
    # the residualiser matters: without it the SE is different
    no_res = ps.evolve(residualizers=())
    assert abs(no_res.total("enroll").to_frame()["se"].iloc[0] - ref["se_total_enroll"]) > 1e3


def test_domain_means_match_r(poststratified, ref):
    ps, _ = poststratified
    tab = ps.mean("api00", by="awards").to_frame().set_index("awards").loc[ref["by_awards"]]
    np.testing.assert_allclose(tab["estimate"], ref["by_mean_api00"], rtol=1e-9)
    np.testing.assert_allclose(tab["se"], ref["by_se"], rtol=1e-9)


def test_aggregate_form_equals_unit_level_application(poststratified):
    """Identity: the engine's aggregate residualisation equals applying the operator to the
    unit-level scores and summing by PSU (two chained residualisers, dense and cell X)."""
    ps, _ = poststratified
    data = ps.data
    s = ps.structure
    w = s.weights
    (r1,) = ps.residualizers
    # a second, numeric-model residualiser (GREG-like form) on top of the first
    X2 = np.column_stack([np.ones(s.n), data["api99"].to_numpy(float)])
    A2 = np.linalg.inv((X2 * w[:, None]).T @ X2)
    r2 = Residualizer(X=X2, s=w, phi=np.ones(s.n), A=A2)
    design = ps.evolve(residualizers=(r1, r2, r1))
    tab = design.mean("api00", by="both")
    est = tab.to_frame()["estimate"].to_numpy()
    dom = pd.factorize(data["both"], sort=True)[0]
    y = data["api00"].to_numpy(float)
    u = np.zeros((s.n, 2))
    for d in range(2):
        ind = dom == d
        u[:, d] = w * ind * (y - est[d]) / np.sum(w * ind)
    for r in (r1, r2, r1):
        u = r.apply(u)
    z = np.zeros((s.n_psus, 2))
    np.add.at(z, s.psu, u)
    from flestimate.design.kernel import taylor_variance

    np.testing.assert_allclose(tab.to_frame()["se"] ** 2, taylor_variance(s, z), rtol=1e-10)


def test_multistage_residualised_scores_equal_unit_level():
    """Two-stage design with both fpcs: the engine's residualised PSU and stage-2 scores
    equal the unit-level operator summed by PSU and by second-stage unit."""
    from flestimate.design.kernel import taylor_variance

    data = pd.read_csv(REF / "data" / "apiclus2.csv")
    des = SurveyDesign(data, psu=["dnum", "snum"], fpc=["fpc1", "fpc2"])
    s = des.structure
    w = s.weights
    cells, _ = pd.factorize(data["stype"], sort=True)
    sums = np.bincount(cells, weights=w)
    pop = np.array([4421.0, 755.0, 1018.0])
    psw = w * (pop / sums)[cells]
    res = Residualizer(X=cells.astype(np.int64), s=psw, phi=w / psw, A=1.0 / sums)
    ps = des.evolve(weights=psw, residualizers=(res,))
    tab = ps.mean("api00", by="both").to_frame()
    est = tab["estimate"].to_numpy()
    dom = pd.factorize(data["both"], sort=True)[0]
    y = data["api00"].to_numpy(float)
    u = np.zeros((s.n, 2))
    for d in range(2):
        ind = dom == d
        u[:, d] = psw * ind * (y - est[d]) / np.sum(psw * ind)
    u = res.apply(u)
    z = np.zeros((s.n_psus, 2))
    np.add.at(z, s.psu, u)
    (stage,) = s.stages
    z2 = np.zeros((stage.n_units_total, 2))
    np.add.at(z2, stage.unit, u)
    np.testing.assert_allclose(tab["se"] ** 2, taylor_variance(s, z, [z2]), rtol=1e-10)
