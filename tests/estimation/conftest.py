"""Shared fixtures of the analysis tests: the api data, their designs and the R values
of tests/reference/analysis.json (made by make_reference_analysis.R)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import pandas as pd
import pytest

from flestimate import SurveyDesign

REF = Path(__file__).resolve().parents[1] / "reference"


@cache
def _api(name: str) -> pd.DataFrame:
    d = pd.read_csv(REF / "data" / f"{name}.csv", keep_default_na=False, na_values=[""])
    d["growth"] = d["api00"] - d["api99"]
    return d


def _design(name: str):
    if name == "strat":
        return SurveyDesign(_api("apistrat"), strata="stype", weight="pw", fpc="fpc")
    if name == "clus1":
        return SurveyDesign(_api("apiclus1"), psu="dnum", weight="pw", fpc="fpc")
    if name == "clus2":
        return SurveyDesign(_api("apiclus2"), psu=["dnum", "snum"], fpc=["fpc1", "fpc2"])
    if name == "clus1_jk1":
        return _design("clus1").replicate("jk1")
    raise KeyError(name)


@pytest.fixture(scope="session")
def analysis_ref() -> dict:
    return json.loads((REF / "analysis.json").read_text())


@pytest.fixture(scope="session")
def api_design():
    """``api_design("strat" | "clus1" | "clus2" | "clus1_jk1")``: R's dstrat, dclus1, dclus2
    and as.svrepdesign(dclus1, "JK1")."""
    return cache(_design)
