"""SurveyDesign as an object: inputs, attributes, summary, derived copies."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from flestimate import SurveyDesign as PublicSurveyDesign
from flestimate.design import SurveyDesign

REF = Path(__file__).parents[1] / "reference" / "data"


@pytest.fixture(scope="module")
def strat():
    return pd.read_csv(REF / "apistrat.csv")


def test_public_name_and_survey_data_input(strat):
    from flestimate.io.survey_data import SurveyData

    assert PublicSurveyDesign is SurveyDesign
    sd = SurveyData(frame=strat)
    d = SurveyDesign(sd, weight="pw", strata="stype", fpc="fpc")
    assert d.data is strat
    np.testing.assert_allclose(d.mean("api00").to_frame()["estimate"], 662.287363, rtol=1e-8)


def test_attributes_and_summary(strat):
    d = SurveyDesign(strat, weight="pw", strata="stype", fpc="fpc")
    assert d.degf == 197 and d.history == () and d.lonely_psu == "fail"
    assert d.structure.n_strata == 3 and d.structure.n_psus == 200
    np.testing.assert_allclose(d.structure.fpc1, [100 / 4421, 50 / 755, 50 / 1018])
    w = d.weights
    assert w.name == "pw" and w.index.equals(strat.index)
    w.iloc[0] = -1.0  # a copy: the design is unchanged
    assert d.weights.iloc[0] > 0
    text = d.summary()
    for part in ("rows", "200", "strata", "3 (stype)", "degrees of freedom", "197", "weights"):
        assert part in text
    assert "<table>" in d._repr_html_() and "197" in d._repr_html_()
    assert "df=197" in repr(d)


def test_weights_derived_from_fpc_counts_and_fractions(strat):
    a = SurveyDesign(strat, strata="stype", fpc="fpc")
    np.testing.assert_allclose(a.weights.to_numpy(), strat["pw"].to_numpy(), rtol=1e-6)
    frac = strat.assign(f=strat["stype"].map({"E": 100 / 4421, "H": 50 / 755, "M": 50 / 1018}))
    b = SurveyDesign(frac, strata="stype", fpc="f")
    np.testing.assert_allclose(b.weights.to_numpy(), a.weights.to_numpy(), rtol=1e-12)
    np.testing.assert_allclose(b.structure.fpc1, a.structure.fpc1, rtol=1e-12)


def test_evolve_keeps_data_and_structure(strat):
    d = SurveyDesign(strat, weight="pw", strata="stype", fpc="fpc")
    e = d.evolve(weights=d.weights.to_numpy() * 2, history=("step",))
    assert e.data is d.data and e.history == ("step",) and d.history == ()
    assert e.structure.psu is d.structure.psu
    np.testing.assert_allclose(
        e.mean("api00").to_frame()["estimate"], d.mean("api00").to_frame()["estimate"], rtol=1e-12
    )
    np.testing.assert_allclose(
        e.total("api00").to_frame()["estimate"],
        2 * d.total("api00").to_frame()["estimate"],
        rtol=1e-12,
    )


def test_multicolumn_strata_are_crossed(strat):
    kw = {"weight": "pw", "lonely_psu": "adjust"}
    with pytest.warns(Warning, match="single PSU"):
        d1 = SurveyDesign(strat.assign(s2=strat["stype"] + strat["yr.rnd"]), strata="s2", **kw)
    with pytest.warns(Warning, match=r"single PSU \(first: \('H', 'Yes'\)"):
        d2 = SurveyDesign(strat, strata=["stype", "yr.rnd"], **kw)
    assert d2.structure.n_strata == d1.structure.n_strata
    np.testing.assert_allclose(
        d1.mean("api00").to_frame()["se"], d2.mean("api00").to_frame()["se"], rtol=1e-12
    )


@pytest.mark.parametrize("name", ["total", "mean", "ratio", "proportion", "prevalence"])
def test_design_methods_are_the_estimators_written_once(strat, name):
    """``design.<estimator>`` is the estimator function bound to the design: one
    signature and one docstring, which documents every argument."""
    import inspect

    from flestimate.design.interface import VarianceEngine
    from flestimate.estimation import estimators

    function = getattr(estimators, name)
    signature = inspect.signature(function)
    d = SurveyDesign(strat, weight="pw", strata="stype", fpc="fpc")
    for design in (d, d.replicate("jkn")):
        assert isinstance(design, VarianceEngine)
        method = getattr(design, name)
        assert method.__func__ is function and method.__self__ is design
        assert inspect.signature(method).parameters == dict(
            list(signature.parameters.items())[1:]
        )
        assert method.__doc__ == function.__doc__
    assert getattr(SurveyDesign, name) is function
    documented = function.__doc__.split("Returns")[0]
    for param in signature.parameters:
        assert f"{param} :" in documented or f"{param}, " in documented, param
