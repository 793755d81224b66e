"""A design over Parquet (DuckDB) or a Dask DataFrame (a 2-process LocalCluster) gives
the in-memory design's numbers, to relative 1e-12, on the R reference designs
(the in-memory numbers are themselves checked against R survey elsewhere)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import flestimate
from flestimate import ReplicateDesign, SurveyDesign

DATA = Path(__file__).resolve().parents[1] / "reference" / "data"
RTOL = 1e-12


def _api(name: str) -> pd.DataFrame:
    frame = pd.read_csv(DATA / f"{name}.csv")
    for c in ("sch.wide", "comp.imp"):
        if c in frame:
            frame[c.replace(".", "_") + "_yes"] = (frame[c] == "Yes").astype(np.int64)
    return frame


def assert_same(a, b) -> None:
    fa, fb = a.to_frame(), b.to_frame()
    assert list(fa.columns) == list(fb.columns)
    assert len(fa) == len(fb)
    for col in fa.columns:
        x, y = fa[col], fb[col]
        if col in ("ci_lower", "ci_upper") and "estimate" in fa:
            # a bound is estimate -/+ t se: its rounding is relative to those terms (a
            # bound near 0 cancels them)
            scale = np.maximum(np.abs(fa["estimate"].to_numpy(float)), np.abs(x.to_numpy(float)))
            diff = np.abs(y.to_numpy(float) - x.to_numpy(float))
            assert np.all((diff <= RTOL * scale) | (x.isna() & y.isna()).to_numpy()), col
        elif pd.api.types.is_numeric_dtype(x) and not pd.api.types.is_bool_dtype(x):
            np.testing.assert_allclose(y.to_numpy(float), x.to_numpy(float), rtol=RTOL,
                                       atol=0, equal_nan=True, err_msg=col)
        else:
            assert x.astype(str).tolist() == y.astype(str).tolist(), col


ESTIMATES = {
    "mean_by": lambda d: d.mean(["api00", "api99"], by="stype"),
    "total": lambda d: d.total("enroll", na_rm=True),
    "ratio": lambda d: d.ratio("api00", "api99", by="stype"),
    "proportion": lambda d: d.proportion("sch.wide"),
    "prevalence_kg": lambda d: d.prevalence("sch_wide_yes", by="stype",
                                            ci_method="korn-graubard"),
    "prevalence_logit": lambda d: d.prevalence("comp_imp_yes", ci_method="logit"),
}

DESIGNS = {
    "strat": ("apistrat", {"weight": "pw", "strata": "stype", "fpc": "fpc"}),
    "clus1": ("apiclus1", {"weight": "pw", "psu": "dnum", "fpc": "fpc"}),
    "clus2": ("apiclus2", {"weight": "pw", "psu": ["dnum", "snum"], "fpc": ["fpc1", "fpc2"]}),
}


@pytest.fixture(scope="module")
def parquet_files(tmp_path_factory):
    root = tmp_path_factory.mktemp("large")
    out = {}
    for name in ("apistrat", "apiclus1", "apiclus2"):
        frame = _api(name)
        frame.to_parquet(root / f"{name}.parquet")
        folder = root / name
        folder.mkdir()
        half = len(frame) // 2  # a folder of two files
        frame.iloc[:half].to_parquet(folder / "part0.parquet")
        frame.iloc[half:].to_parquet(folder / "part1.parquet")
        out[name] = (frame, root / f"{name}.parquet", folder)
    rep = pd.read_csv(DATA / "replicate_given_jk1.csv")
    rep.to_parquet(root / "rep.parquet")
    out["rep"] = (rep, root / "rep.parquet", None)
    return out


@pytest.mark.parametrize("design_name", sorted(DESIGNS))
@pytest.mark.parametrize("estimate", sorted(ESTIMATES))
def test_duckdb_equals_in_memory(parquet_files, design_name, estimate):
    name, args = DESIGNS[design_name]
    frame, path, folder = parquet_files[name]
    fn = ESTIMATES[estimate]
    memory = SurveyDesign(frame, **args)
    assert_same(fn(memory), fn(SurveyDesign.from_parquet(path, **args)))
    assert_same(fn(memory), fn(SurveyDesign.from_parquet(folder, **args)))  # a folder


def test_duckdb_deff_and_df(parquet_files):
    frame, path, _ = parquet_files["apiclus1"]
    args = DESIGNS["clus1"][1]
    memory = SurveyDesign(frame, **args).mean("api00", by="stype")
    large = SurveyDesign.from_parquet(path, **args).mean("api00", by="stype")
    assert_same(memory, large)
    assert "deff" in memory.to_frame()


def test_duckdb_relation(parquet_files):
    import duckdb

    frame, path, _ = parquet_files["apistrat"]
    con = duckdb.connect()
    relation = con.sql(f"SELECT * FROM read_parquet('{path}')")
    args = DESIGNS["strat"][1]
    assert_same(SurveyDesign(frame, **args).mean("api00", by="stype"),
                flestimate.LargeDesign.over(relation, **args).mean("api00", by="stype"))


@pytest.mark.parametrize("method", ["jk1", "bootstrap"])
def test_duckdb_built_replicates(parquet_files, method):
    frame, path, _ = parquet_files["apiclus1"]
    args = {"weight": "pw", "psu": "dnum", "fpc": "fpc"}
    options = {"n_replicates": 20, "rng": 7} if method == "bootstrap" else {}
    memory = SurveyDesign(frame, **args).replicate(method, **options)
    large = SurveyDesign.from_parquet(path, **args).replicate(method, **options)
    for fn in (ESTIMATES["mean_by"], ESTIMATES["prevalence_kg"]):
        assert_same(fn(memory), fn(large))


def test_duckdb_delivered_replicate_weights(parquet_files):
    frame, path, _ = parquet_files["rep"]
    cols = [c for c in frame.columns if c.startswith("rw")]
    args = {"weight": "pw", "replicate_weights": cols, "method": "jk1"}
    memory = ReplicateDesign(frame, **args)
    large = ReplicateDesign.from_parquet(path, **args)
    assert_same(memory.mean("api00", by="stype"), large.mean("api00", by="stype"))
    assert_same(memory.total("enroll"), large.total("enroll"))


def test_duckdb_weighting_steps(parquet_files):
    frame, path, _ = parquet_files["apistrat"]
    args = DESIGNS["strat"][1]
    margins = {"stype": {"E": 4421.0, "H": 755.0, "M": 1018.0},
               "sch.wide": {"Yes": 5122.0, "No": 1072.0}}
    memory = flestimate.rake(SurveyDesign(frame, **args), margins=margins)
    large = SurveyDesign.from_parquet(path, **args).weighted(flestimate.rake, margins=margins)
    assert_same(memory.mean("api00", by="awards"), large.mean("api00", by="awards"))
    post = {"awards": {"Yes": 3600.0, "No": 2594.0}}
    memory = flestimate.poststratify(SurveyDesign(frame, **args), totals=post)
    large = SurveyDesign.from_parquet(path, **args).weighted(flestimate.poststratify,
                                                             totals=post)
    assert_same(memory.total("enroll"), large.total("enroll"))


# ----------------------------------------------------------------------------- Dask


# the session fixture dask_client (a 2-process LocalCluster) is in tests/conftest.py


def test_dask_cluster_equals_in_memory(parquet_files, dask_client):
    import dask.dataframe as dd

    frame, path, folder = parquet_files["apiclus2"]
    args = DESIGNS["clus2"][1]
    memory = SurveyDesign(frame, **args)
    over_frame = flestimate.LargeDesign.over(dd.from_pandas(frame, npartitions=3), **args)
    over_files = SurveyDesign.from_parquet(folder, engine="dask", **args)
    assert over_files.engine == "dask"
    for fn in (ESTIMATES["mean_by"], ESTIMATES["prevalence_kg"], ESTIMATES["ratio"]):
        assert_same(fn(memory), fn(over_frame))
        assert_same(fn(memory), fn(over_files))
    strat, spath, _ = parquet_files["apistrat"]
    sargs = DESIGNS["strat"][1]
    assert_same(ESTIMATES["total"](SurveyDesign(strat, **sargs)),
                ESTIMATES["total"](SurveyDesign.from_parquet(spath, engine="dask", **sargs)))


def test_duckdb_linear_calibration_with_a_numeric_total(parquet_files):
    frame, path, _ = parquet_files["apistrat"]
    args = DESIGNS["strat"][1]
    totals = {"stype": {"E": 4421.0, "H": 755.0, "M": 1018.0}, "api99": 3914069.0}
    memory = flestimate.calibrate(SurveyDesign(frame, **args), totals=totals)
    large = SurveyDesign.from_parquet(path, **args).weighted(flestimate.calibrate,
                                                             totals=totals)
    assert [c for _, c, _ in large.steps] == [["stype", "api99"]]
    for fn in (ESTIMATES["mean_by"], ESTIMATES["prevalence_kg"]):
        assert_same(fn(memory), fn(large))


def test_duckdb_rake_on_built_replicates(parquet_files):
    frame, path, _ = parquet_files["apistrat"]
    args = DESIGNS["strat"][1]
    margins = {"awards": {"Yes": 3600.0, "No": 2594.0}}
    memory = flestimate.rake(SurveyDesign(frame, **args).replicate("jkn"), margins=margins)
    large = (SurveyDesign.from_parquet(path, **args).replicate("jkn")
             .weighted(flestimate.rake, margins=margins))
    assert_same(ESTIMATES["ratio"](memory), ESTIMATES["ratio"](large))
