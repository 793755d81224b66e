"""Degrees of freedom of delivered replicate weights on the out-of-core path (issue 18):
each domain's df is the rank of its respondents' replicate weights minus one (R's
``degf`` of the subset), from per-group Gram sums in the engine, as in memory and as R."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import flestimate.large.design as large_design
from flestimate import ReplicateDesign, SurveyDesign
from flestimate.errors import DomainWarning
from flestimate.large.engines import DuckDBSource

from .test_large_identity import DATA, _api, assert_same

REFERENCE = json.loads((DATA.parent / "replicate.json").read_text())["cases"]


def _given(name: str) -> tuple[pd.DataFrame, dict]:
    case = REFERENCE[name]
    frame = pd.read_csv(DATA / case["design"]["data"])
    yes = (frame["sch.wide"] == "Yes").astype(np.int64).rename("sch_wide_yes")
    frame = pd.concat([frame, yes], axis=1)
    rep = {"weight": case["design"]["weight"], "method": case["replicate"]["method"],
           "replicate_weights": [c for c in frame if c.startswith("rw")]}
    if "rscales" in case["replicate"]:
        rep["rscales"] = case["replicate"]["rscales"]
    return frame, rep


def _designs(frame, path, rep, dask_client):
    return (ReplicateDesign(frame, **rep), ReplicateDesign.from_parquet(path, **rep),
            ReplicateDesign.from_parquet(path, engine="dask", client=dask_client, **rep))


@pytest.fixture(scope="module")
def clus1(tmp_path_factory):
    """apiclus1 with 12 delivered bootstrap columns (the case of the report)."""
    frame = _api("apiclus1")
    design = SurveyDesign(frame, weight="pw", psu="dnum", fpc="fpc")
    block = next(design.replicate("bootstrap", n_replicates=12, rng=11)
                 .replicate_weight_blocks(12))[1]
    frame = frame.assign(**{f"rw{r + 1}": block[:, r] for r in range(12)})
    path = tmp_path_factory.mktemp("df") / "clus1.parquet"
    frame.to_parquet(path, index=False)
    return frame, path, {"weight": "pw", "replicate_weights": [f"rw{r + 1}" for r in range(12)],
                         "method": "bootstrap"}


def test_clus1_national_df_and_korn_graubard(clus1, dask_client):
    frame, path, rep = clus1
    results = [d.prevalence("sch_wide_yes", ci_method="korn-graubard")
               for d in _designs(frame, path, rep, dask_client)]
    memory = results[0].to_frame()
    assert memory["df"].iloc[0] == 11  # was 1 on the grouped rows
    assert memory["ci_lower"].iloc[0] == pytest.approx(827.8, abs=0.05)  # was 467.0
    for got in results[1:]:
        assert_same(results[0], got)


def test_clus1_by_domain_df(clus1, dask_client):
    frame, path, rep = clus1
    fns = (lambda d: d.prevalence("sch_wide_yes", by="stype", ci_method="korn-graubard"),
           lambda d: d.mean("api00", by=["stype", "awards"]),
           lambda d: d.total("enroll", by="stype", na_rm=True))
    designs = _designs(frame, path, rep, dask_client)
    for fn in fns:
        memory = fn(designs[0])
        for got in designs[1:]:
            assert_same(memory, fn(got))
    df = fns[1](designs[0]).to_frame()["df"]
    assert df.min() < 11 and df.max() == 11  # domains in few PSUs have a lower rank


@pytest.mark.parametrize("name", ["given_jkn_rscales", "given_jk1_default"])
def test_given_weights_domain_df_equal_r(name, tmp_path, dask_client):
    """R's delivered JKn (200 replicates, apistrat) and JK1 (apiclus1) weights: the
    design's and the comp.imp domains' degf equal R's."""
    frame, rep = _given(name)
    path = tmp_path / "given.parquet"
    frame.to_parquet(path, index=False)
    expected = REFERENCE[name]["stats"]
    designs = _designs(frame, path, rep, dask_client)
    results = [d.prevalence("sch_wide_yes", by="comp.imp", ci_method="korn-graubard")  # R's "beta"
               for d in designs]
    got = results[1].to_frame()
    assert got["df"].tolist() == expected["by_comp_imp_ciprop_beta"]["degf"]
    lower = np.array(expected["by_comp_imp_ciprop_beta"]["ci_lower"], dtype=float)
    ok = np.isfinite(lower)  # R gives NA for some
    np.testing.assert_allclose(got["ci_lower"].to_numpy()[ok], 1000.0 * lower[ok], rtol=1e-9)
    assert designs[1].prevalence("sch_wide_yes").to_frame()["df"].iloc[0] == expected["degf"]
    for other in (results[0], results[2]):
        assert_same(other, results[1])


@pytest.mark.parametrize(("eps", "rank"), [(1e-3, 12), (1e-4, 12), (1e-7, 11), (1e-9, 11)])
def test_near_rank_deficient_decisions_equal_in_memory(clus1, tmp_path, eps, rank):
    """A 12th column equal to the sum of two others plus a perturbation of relative size
    ``eps``: R's tol 1e-5 keeps it above and sets it aside below, on both paths."""
    frame, _, rep = clus1
    noise = np.random.default_rng(3).standard_normal(len(frame))
    frame = frame.assign(rw12=(frame["rw1"] + frame["rw2"]) * (1.0 + eps * noise))
    path = tmp_path / "near.parquet"
    frame.to_parquet(path, index=False)
    memory = ReplicateDesign(frame, **rep)
    large = ReplicateDesign.from_parquet(path, **rep)
    assert memory.degf == rank - 1
    for fn in (lambda d: d.mean("api00"), lambda d: d.mean("api00", by="stype")):
        a, b = fn(memory).to_frame(), fn(large).to_frame()
        assert a["df"].tolist() == b["df"].tolist()
        # near-collinear columns: the SE's rounding (not the df) differs at 2e-12
        np.testing.assert_allclose(b["se"], a["se"], rtol=1e-10)


def test_too_many_sums_fall_back_to_the_design_rank(clus1, monkeypatch):
    frame, path, rep = clus1
    monkeypatch.setattr(large_design, "MAX_GRAM_SUMS", 100)
    with pytest.warns(DomainWarning, match="design's"):
        got = ReplicateDesign.from_parquet(path, **rep).mean("api00", by=["stype", "awards"])
    memory = ReplicateDesign(frame, **rep)
    assert got.to_frame()["df"].tolist() == [memory.degf] * len(got.to_frame())


def test_df_given_skips_the_gram_sums(clus1, monkeypatch):
    frame, path, rep = clus1
    large = ReplicateDesign.from_parquet(path, df=30, **rep)

    def fail(*args, **kwargs):
        raise AssertionError("no Gram sums when df= is given")

    monkeypatch.setattr(DuckDBSource, "grams", fail)
    assert large.mean("api00", by="stype").to_frame()["df"].tolist() == [30.0] * 3
