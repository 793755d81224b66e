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
from flestimate.design import totals
from flestimate.design.replicate import rank as replicate_rank
from flestimate.design.replicate import variance as replicate_variance_module

REF = Path(__file__).parents[1] / "reference" / "data"
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
        m.setattr(totals, "SPARSE_FROM", 0)
        m.setattr(totals, "SPARSE_SHARE", 1.0)
        sparse = _tables(design, by)
        cov_sparse = design.mean(["y", "x"], by=by).covariance()
    cov_dense = design.mean(["y", "x"], by=by).covariance()
    return dense, sparse, cov_dense, cov_sparse


def _assert_same(dense, sparse, cov_dense, cov_sparse):
    for a, b in zip(dense, sparse, strict=True):
        fa, fb = a.to_frame(), b.to_frame()
        for c in COLS:
            want = fa[c].to_numpy(float)
            # a variance that is 0 in exact arithmetic is rounding noise on either
            # route: absolute tolerance 1e-12 of the column's largest value
            scale = np.nanmax(np.abs(want), initial=0.0)
            np.testing.assert_allclose(
                fb[c].to_numpy(float), want, rtol=1e-12, atol=1e-12 * scale + 1e-300, err_msg=c
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
    """The switch: more than SPARSE_FROM cells with at most SPARSE_SHARE occupied."""
    f = _frame(1, 3, 3, lonely=False)
    design = SurveyDesign(f, weight="w", strata="stratum", psu="psu")
    codes = design.structure.psu  # one domain per PSU: P x P cells, P occupied
    P = design.structure.n_psus
    assert totals.DomainCells.build(design.structure, codes, P, sparse=True).sparse is False
    old = totals.SPARSE_FROM
    try:
        totals.SPARSE_FROM = 0
        assert totals.DomainCells.build(design.structure, codes, P, sparse=True).sparse
        assert not totals.DomainCells.build(design.structure, codes, P, sparse=False).sparse
        full = np.zeros_like(codes)  # one domain: never sparse
        assert not totals.DomainCells.build(design.structure, full, 1, sparse=True).sparse
    finally:
        totals.SPARSE_FROM = old
    assert design.replicate("jkn").sparse_cells  # replicate designs use the cells too


def test_sparse_cells_with_nonrespondents(monkeypatch):
    """Rows a nonresponse adjustment set to weight 0 count in no cell's rows (R's
    nobs and degf), on both routes."""
    f = _frame(7, 3, 4, lonely=False)
    f["responded"] = np.random.default_rng(7).random(len(f)) < 0.8
    base = SurveyDesign(f, weight="w", strata="stratum", psu="psu")
    adjusted = flestimate.adjust_nonresponse(base, responded="responded", cells="sex")
    assert (adjusted.weights == 0).any()
    _assert_same(*_both(adjusted, ["district", "sex"], monkeypatch))


@pytest.mark.parametrize("kind", ["bootstrap", "sdr", "delivered", "jkn", "jkn-adjust", "brr"])
def test_sparse_cells_replicate_designs(kind, monkeypatch):
    """Replicate designs with stored factors (built or delivered): replicate totals
    from the cells and the domain df (rank of each domain's replicate weights) equal
    the dense route."""
    f = _frame(11, 4, 2 if kind == "brr" else 4, lonely=kind == "jkn-adjust")
    lonely = "adjust" if kind == "jkn-adjust" else "fail"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        design = SurveyDesign(f, weight="w", strata="stratum", psu="psu", lonely_psu=lonely)
    if kind in ("jkn", "jkn-adjust"):
        rep = design.replicate("jkn")
    elif kind == "brr":
        rep = design.replicate("brr")
    elif kind == "delivered":
        shipped = design.replicate("bootstrap", n_replicates=12, rng=3).to_frame(
            include_data=True
        )
        rep = flestimate.ReplicateDesign(
            shipped, weight="w", replicate_weights=r"^repw", method="bootstrap"
        )
    else:
        rep = design.replicate(kind, n_replicates=12, rng=3) if kind == "bootstrap" else (
            design.replicate(kind)
        )
    assert rep.sparse_cells
    # several column blocks of replicate estimates and of domain ranks
    monkeypatch.setattr(replicate_variance_module, "COLUMN_BLOCK_VALUES", 50)
    monkeypatch.setattr(replicate_rank, "CHUNK_VALUES", 50)
    _assert_same(*_both(rep, ["district", "sex"], monkeypatch))


def test_sparse_rank_equals_dense_rank():
    """Domain ranks from (unit, column) pairs equal those from the dense presence
    matrix, with repeated patterns, empty columns and deficient ones."""
    from flestimate.design.replicate.rank import dense_rank, sparse_rank

    rng = np.random.default_rng(4)
    R, P, M = 8, 60, 40
    F = rng.gamma(2.0, 0.5, size=(R, P))
    F[:, :10] = F[:1, :10]  # units that carry one direction only
    row_weight = rng.uniform(1, 4, P)
    present = rng.random((P, M)) < np.linspace(0.02, 0.9, M)
    present[:, 5] = present[:, 9]
    present[:, 7] = False
    present[:, 11] = False
    present[:10, 11] = True
    unit, column = np.nonzero(present)
    perm = rng.permutation(unit.size)  # any order of the pairs
    got = sparse_rank(F, row_weight, unit[perm], column[perm], M)
    assert np.array_equal(got, dense_rank(F, present, row_weight))
    assert got[7] == 0 and got[11] == 1


def test_domain_inside_one_psu_is_flagged_zero_variance():
    """A domain inside one PSU has variance 0 in exact arithmetic; the rounding noise
    of floating point (an SE 1e-16 of the estimate, as R shows) is flagged too."""
    f = _frame(5, 3, 4, lonely=False)
    f["one_psu"] = np.where(f["psu"] == 2, 1, 0)
    design = SurveyDesign(f, weight="w", strata="stratum", psu="psu")
    for d in (design, design.replicate("bootstrap", n_replicates=10, rng=1)):
        row = d.mean("y", by="one_psu").to_frame().set_index("one_psu").loc[1]
        assert row["se"] <= 1e-10 * abs(row["estimate"])
        assert "zero_variance" in row["flags"]


@pytest.mark.parametrize("replicated", [False, True])
def test_sparse_cells_with_empty_domains(replicated, monkeypatch):
    """A category no respondent has is an empty domain (a row flagged empty_domain) on
    both routes."""
    f = _frame(21, 3, 4, lonely=False)
    f["sex"] = pd.Categorical(f["sex"].map({1: "m", 2: "f"}), categories=["m", "f", "x"])
    design = SurveyDesign(f, weight="w", strata="stratum", psu="psu")
    if replicated:
        design = design.replicate("jkn")
    dense, sparse, cov_dense, cov_sparse = _both(design, ["district", "sex"], monkeypatch)
    _assert_same(dense, sparse, cov_dense, cov_sparse)
    flags = sparse[0].to_frame()
    empty = flags[flags["sex"] == "x"]
    assert len(empty) and empty["flags"].str.contains("empty_domain").all()
