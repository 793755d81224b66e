"""Weighting steps on a design over large data give the in-memory numbers on clustered
designs (issue 18): rake, poststratify, calibrate (categorical and numeric totals) and
adjust_nonresponse, Taylor and replicate (built and delivered), to relative 1e-12.

On a clustered design the grouped rows stand for several respondents each
(``frequency=``); a residualiser that averages over respondents (R's raking sweeps)
must count them, which a design without PSUs (one row a group) cannot show."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import flestimate
from flestimate import ReplicateDesign, SurveyDesign
from flestimate.io import read_survey
from flestimate.io.frames import as_frame

from .test_large_identity import DATA, _api, assert_same

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"
N_REP = 12  # delivered replicate-weight columns


def _responded(frame: pd.DataFrame) -> np.ndarray:
    """A made-up response indicator: one in five rows did not respond."""
    return ((np.arange(len(frame)) * 7 + 3) % 5 != 0).astype(np.int64)


def _delivered(frame: pd.DataFrame, args: dict) -> pd.DataFrame:
    """``frame`` with bootstrap replicate weights rw1.. built in memory (delivered)."""
    rep = SurveyDesign(frame, **args).replicate("bootstrap", n_replicates=N_REP, rng=11)
    block = np.column_stack([b for _, b in rep.replicate_weight_blocks(N_REP)])
    cols = {f"rw{r + 1}": block[:, r] for r in range(N_REP)}
    return frame.assign(**cols)


def _clus1() -> tuple[pd.DataFrame, dict, dict]:
    frame = _api("apiclus1")
    frame["responded"] = _responded(frame)
    args = {"weight": "pw", "psu": "dnum", "fpc": "fpc"}
    stype = {"E": 4421.0, "H": 755.0, "M": 1018.0}
    steps = {
        "rake": (flestimate.rake, {"margins": {"stype": stype,
                                               "sch.wide": {"Yes": 5122.0, "No": 1072.0}}}),
        "poststratify": (flestimate.poststratify, {"totals": {"stype": stype}}),
        "calibrate": (flestimate.calibrate, {"totals": {"stype": stype,
                                                        "comp.imp": {"Yes": 3800.0,
                                                                     "No": 2394.0}}}),
        "calibrate_numeric": (flestimate.calibrate, {"totals": {"stype": stype,
                                                                "api99": 3790000.0}}),
        "nonresponse": (flestimate.adjust_nonresponse,
                        {"responded": "responded", "cells": "stype"}),
    }
    return frame, args, steps


def _sample() -> tuple[pd.DataFrame, dict, dict]:
    frame = as_frame(flestimate.classify(as_frame(read_survey(SAMPLE / "fl_survey.parquet")),
                                         SAMPLE / "mapping.yaml"))
    frame.attrs = {}
    frame["responded"] = _responded(frame)
    args = {"weight": "w_final", "strata": "stratum", "psu": "psu", "nest": True}
    counts = pd.read_csv(SAMPLE / "margins.csv")
    margins = {c: counts.groupby(c)["count"].sum().to_dict()
               for c in ("region", "sex", "age_group")}
    cross = counts.groupby(["region", "sex"], as_index=False)["count"].sum()
    steps = {
        "rake": (flestimate.rake, {"margins": margins}),
        "poststratify": (flestimate.poststratify, {"totals": counts}),
        "calibrate": (flestimate.calibrate, {"totals": {"region x sex": cross,
                                                        "age_group": margins["age_group"]}}),
        "calibrate_numeric": (flestimate.calibrate,
                              {"totals": {"sex": margins["sex"], "age": 5_900_000.0}}),
        "nonresponse": (flestimate.adjust_nonresponse,
                        {"responded": "responded", "cells": ["region", "sex"]}),
    }
    return frame, args, steps


ESTIMATES = {
    "clus1": (lambda d: d.mean(["api00", "api99"], by="stype"),
              lambda d: d.prevalence("sch_wide_yes", by="awards", ci_method="korn-graubard"),
              lambda d: d.ratio("api00", "api99"),
              lambda d: d.total("enroll", na_rm=True)),
    "sample": (lambda d: d.prevalence("fl", ci_method="korn-graubard"),
               lambda d: d.prevalence("fl", by="sex", ci_method="logit"),
               lambda d: d.total("fl", by="region"),
               lambda d: d.mean("age", by="migrant")),
}

STEP_COLUMNS = {"nonresponse": {"clus1": ["responded", "stype"],
                                "sample": ["responded", "region", "sex"]},
                "calibrate_numeric": {"clus1": None, "sample": None}}


@pytest.fixture(scope="module")
def surveys(tmp_path_factory):
    root = tmp_path_factory.mktemp("weighting")
    out = {}
    for name, make in (("clus1", _clus1), ("sample", _sample)):
        frame, args, steps = make()
        frame = _delivered(frame, args)
        path = root / f"{name}.parquet"
        frame.to_parquet(path, index=False)
        out[name] = (frame, path, args, steps)
    return out


def _weighted(design, name, key, steps):
    step, kwargs = steps[key]
    if hasattr(design, "weighted"):
        columns = STEP_COLUMNS.get(key, {}).get(name)
        return design.weighted(step, columns=columns, **kwargs)
    return step(design, **kwargs)


def _check(memory, large, name) -> None:
    for fn in ESTIMATES[name]:
        assert_same(fn(memory), fn(large))


STEPS = ["rake", "poststratify", "calibrate", "calibrate_numeric", "nonresponse"]


@pytest.mark.parametrize("name", ["clus1", "sample"])
@pytest.mark.parametrize("key", STEPS)
def test_taylor_weighting_equals_in_memory(surveys, name, key):
    frame, path, args, steps = surveys[name]
    memory = _weighted(SurveyDesign(frame, **args), name, key, steps)
    large = _weighted(SurveyDesign.from_parquet(path, **args), name, key, steps)
    _check(memory, large, name)


@pytest.mark.parametrize("name", ["clus1", "sample"])
@pytest.mark.parametrize("key", STEPS)
def test_built_replicates_weighting_equals_in_memory(surveys, name, key):
    frame, path, args, steps = surveys[name]
    method, options = ("jk1", {}) if name == "clus1" else ("bootstrap", {"n_replicates": 15,
                                                                          "rng": 5})
    memory = _weighted(SurveyDesign(frame, **args).replicate(method, **options), name, key,
                       steps)
    large = _weighted(SurveyDesign.from_parquet(path, **args).replicate(method, **options),
                      name, key, steps)
    _check(memory, large, name)


@pytest.mark.parametrize("name", ["clus1", "sample"])
@pytest.mark.parametrize("key", STEPS)
def test_delivered_replicates_weighting_equals_in_memory(surveys, name, key):
    frame, path, args, steps = surveys[name]
    # df from the ranks: each grouped row's Gram is rescaled by the step's adjustment
    rep = {"weight": args["weight"], "replicate_weights": [f"rw{r + 1}" for r in range(N_REP)],
           "method": "bootstrap"}
    memory = _weighted(ReplicateDesign(frame, **rep), name, key, steps)
    large = _weighted(ReplicateDesign.from_parquet(path, **rep), name, key, steps)
    _check(memory, large, name)


def test_the_rake_se_of_the_sample_counts_respondents(surveys):
    """The case found on the sample: raked prevalence of fl, SE 0.7329 in memory (it
    was 0.7406 on the grouped rows, which were counted once each)."""
    frame, path, args, steps = surveys["sample"]
    memory = _weighted(SurveyDesign(frame, **args), "sample", "rake", steps)
    large = _weighted(SurveyDesign.from_parquet(path, **args), "sample", "rake", steps)
    a, b = memory.prevalence("fl").to_frame(), large.prevalence("fl").to_frame()
    assert a["se"].iloc[0] == pytest.approx(0.732936, abs=5e-7)
    assert b["se"].iloc[0] == pytest.approx(a["se"].iloc[0], rel=1e-12)
    assert len(large.grouped(["fl"]).data) < len(frame) / 2  # rows were really grouped


def test_replicate_given_jk1_delivered_and_raked(surveys):
    """The R reference file of delivered JK1 weights (apiclus1), raked."""
    frame = pd.read_csv(DATA / "replicate_given_jk1.csv")
    path = surveys["clus1"][1].with_name("given.parquet")
    frame.to_parquet(path, index=False)
    rep = {"weight": "pw", "replicate_weights": [c for c in frame if c.startswith("rw")],
           "method": "jk1"}
    margins = {"stype": {"E": 4421.0, "H": 755.0, "M": 1018.0}}
    memory = flestimate.rake(ReplicateDesign(frame, **rep), margins=margins)
    large = ReplicateDesign.from_parquet(path, **rep).weighted(flestimate.rake, margins=margins)
    assert_same(memory.mean("api00", by="sch.wide"), large.mean("api00", by="sch.wide"))


def test_delivered_replicates_domain_df_equals_in_memory(surveys):
    frame, path, args, _ = surveys["clus1"]
    rep = {"weight": "pw", "replicate_weights": [f"rw{r + 1}" for r in range(N_REP)],
           "method": "bootstrap"}
    memory = ReplicateDesign(frame, **rep).prevalence("sch_wide_yes", ci_method="korn-graubard")
    large = ReplicateDesign.from_parquet(path, **rep).prevalence("sch_wide_yes",
                                                                 ci_method="korn-graubard")
    assert memory.to_frame()["df"].iloc[0] == N_REP - 1
    assert_same(memory, large)


@pytest.mark.parametrize("name", ["clus1", "sample"])
def test_weight_summary_after_the_steps_equals_in_memory(surveys, name, dask_client):
    """The weights after each step summarised on the engine (the steps chained)."""
    frame, path, args, steps = surveys[name]
    memory, large = SurveyDesign(frame, **args), SurveyDesign.from_parquet(path, **args)
    dask = SurveyDesign.from_parquet(path, engine="dask", client=dask_client, **args)
    for key in ("nonresponse", "rake", "calibrate_numeric"):
        memory, large, dask = (_weighted(d, name, key, steps) for d in (memory, large, dask))
    expected = flestimate.weight_summary(memory)
    assert expected["step"].tolist() == ["input", "adjust_nonresponse", "rake", "calibrate"]
    assert expected["n_zero"].iloc[1] > 0  # the nonrespondents
    for got in (large.weight_summary(), dask.weight_summary()):
        assert got["step"].tolist() == expected["step"].tolist()
        for col in expected.columns[1:]:
            np.testing.assert_allclose(got[col].to_numpy(float), expected[col].to_numpy(float),
                                       rtol=1e-12, atol=0, err_msg=col)
