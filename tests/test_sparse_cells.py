"""Identity tests: totals kept for the PSU x domain cells with members only (many
domains) give the same tables as the dense PSU x domain arrays.

The dense route is the one checked against R survey; the sparse route is forced here
on small designs (every lonely-PSU rule, fpc, two stages, calibration, missing values
in the variables and in the ``by`` columns) and must agree to 1e-12.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import flestimate
from flestimate import SurveyDesign
from flestimate.estimation import core

REF = Path(__file__).parent / "reference" / "data"
COLS = ["estimate", "se", "ci_lower", "ci_upper", "df", "deff", "deff_wr", "n_unweighted"]


def _tables(design, by) -> list:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return [
            design.mean(["y", "y_na"], by=by, na_rm=True),
            design.total("y", by=by),
            design.ratio("y", "x", by=by),
            design.proportion("flag", by=by, ci_method="korn-graubard"),
            design.prevalence("flag", by=by, ci_method="logit"),
        ]


def _both(design, by, monkeypatch):
    dense = _tables(design, by)
    with monkeypatch.context() as m:
        m.setattr(core, "_SPARSE_FROM", 0)
        m.setattr(core, "_SPARSE_SHARE", 1.0)
        sparse = _tables(design, by)
        cov_sparse = design.mean(["y", "x"], by=by).covariance()
    cov_dense = design.mean(["y", "x"], by=by).covariance()
    return dense, sparse, cov_dense, cov_sparse


def _assert_same(dense, sparse, cov_dense, cov_sparse):
    for a, b in zip(dense, sparse, strict=True):
        fa, fb = a.to_frame(), b.to_frame()
        for c in COLS:
            np.testing.assert_allclose(
                fb[c].to_numpy(float), fa[c].to_numpy(float), rtol=1e-12, atol=1e-14, err_msg=c
            )
        assert fa["flags"].tolist() == fb["flags"].tolist()
    np.testing.assert_allclose(cov_sparse, cov_dense, rtol=1e-10, atol=1e-14)


def _frame(seed: int, n_strata: int, psu_per: int, lonely: bool) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    psu = 0
    for h in range(n_strata):
        for _ in range(1 if (lonely and h == 0) else psu_per):
            size = int(rng.integers(1, 7))
            rows.append(pd.DataFrame({"stratum": h, "psu": psu, "ssu": rng.integers(0, 3, size)}))
            psu += 1
    f = pd.concat(rows, ignore_index=True)
    n = len(f)
    f["w"] = rng.uniform(0.5, 5.0, n)
    f["y"] = rng.normal(10, 3, n)
    f["y_na"] = np.where(rng.random(n) < 0.2, np.nan, f["y"])
    f["x"] = rng.uniform(1, 2, n)
    f["flag"] = (rng.random(n) < 0.3).astype(int)
    f["district"] = np.where(rng.random(n) < 0.05, np.nan, f["psu"] // 2)  # some outside
    f["sex"] = rng.integers(1, 3, n)
    f["fpc"] = f.groupby("stratum")["psu"].transform("nunique") * 5.0
    return f


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n_strata=st.integers(2, 4),
    psu_per=st.integers(2, 4),
    lonely_psu=st.sampled_from(["remove", "certainty", "adjust", "average"]),
    use_fpc=st.booleans(),
)
def test_sparse_cells_equal_dense(seed, n_strata, psu_per, lonely_psu, use_fpc):
    f = _frame(seed, n_strata, psu_per, lonely=lonely_psu != "remove" or seed % 2 == 0)
    kw = {"weight": "w", "strata": "stratum", "psu": "psu", "lonely_psu": lonely_psu}
    if use_fpc:
        kw["fpc"] = "fpc"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        design = SurveyDesign(f, **kw)
    mp = pytest.MonkeyPatch()
    try:
        _assert_same(*_both(design, ["district", "sex"], mp))
    finally:
        mp.undo()


def test_sparse_cells_two_stages_and_calibration(monkeypatch):
    data = pd.read_csv(REF / "apiclus2.csv")
    rng = np.random.default_rng(2)
    data = data.assign(
        y=data["api00"].astype(float),
        y_na=np.where(rng.random(len(data)) < 0.1, np.nan, data["api00"]),
        x=data["api99"].astype(float),
        flag=(data["sch.wide"] == "Yes").astype(int),
        district=data["dnum"],
    )
    two_stage = SurveyDesign(data, psu=["dnum", "snum"], fpc=["fpc1", "fpc2"])
    _assert_same(*_both(two_stage, ["district", "stype"], monkeypatch))
    counts = data.groupby("stype").size()
    calibrated = flestimate.poststratify(
        SurveyDesign(data, psu="dnum", weight="pw"),
        totals={"stype": {k: float(v) * 40 for k, v in counts.items()}},
    )
    _assert_same(*_both(calibrated, ["district", "stype"], monkeypatch))


def test_sparse_cells_are_used_only_for_many_sparse_domains():
    """The switch: more than _SPARSE_FROM cells with at most _SPARSE_SHARE occupied;
    a replicate design keeps the dense route (its variance uses PSU x domain totals)."""
    f = _frame(1, 3, 3, lonely=False)
    design = SurveyDesign(f, weight="w", strata="stratum", psu="psu")
    codes = design.structure.psu  # one domain per PSU: P x P cells, P occupied
    P = design.structure.n_psus
    assert core.DomainCells.build(design.structure, codes, P, sparse=True).sparse is False
    old = core._SPARSE_FROM
    try:
        core._SPARSE_FROM = 0
        assert core.DomainCells.build(design.structure, codes, P, sparse=True).sparse
        assert not core.DomainCells.build(design.structure, codes, P, sparse=False).sparse
        full = np.zeros_like(codes)  # one domain: never sparse
        assert not core.DomainCells.build(design.structure, full, 1, sparse=True).sparse
    finally:
        core._SPARSE_FROM = old
    assert getattr(design.replicate("jkn"), "_sparse_cells", False) is False


def test_sparse_cells_with_nonrespondents(monkeypatch):
    """Rows a nonresponse adjustment set to weight 0 count in no cell's rows (R's
    nobs and degf), on both routes."""
    f = _frame(7, 3, 4, lonely=False)
    f["responded"] = np.random.default_rng(7).random(len(f)) < 0.8
    base = SurveyDesign(f, weight="w", strata="stratum", psu="psu")
    adjusted = flestimate.adjust_nonresponse(base, responded="responded", cells="sex")
    assert (adjusted.weights == 0).any()
    _assert_same(*_both(adjusted, ["district", "sex"], monkeypatch))
