"""Bad input to replicate designs: clear FlestimateError subclasses naming the problem."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from flestimate import ReplicateDesign, SurveyDesign
from flestimate.errors import DesignError, FlestimateError, ValidationError

DATA = Path(__file__).parents[2] / "reference" / "data"


@pytest.fixture
def clus1() -> pd.DataFrame:
    return pd.read_csv(DATA / "apiclus1.csv")


@pytest.fixture
def given() -> pd.DataFrame:
    return pd.read_csv(DATA / "replicate_given_brr.csv")


def _brr_design():
    return SurveyDesign(
        pd.read_csv(DATA / "replicate_brr.csv"), weight="w", strata="stratum", psu="psu"
    )


def test_replicate_columns_with_nan(given):
    bad = given.copy()
    bad.loc[[3, 7], "rw02"] = np.nan
    with pytest.raises(DesignError, match=r"missing or infinite.*rw02.*rows 3, 7"):
        ReplicateDesign(bad, weight="w", replicate_weights="^rw", method="brr")


def test_replicate_columns_negative(given):
    bad = given.copy()
    bad.loc[5, "rw04"] = -1.0
    with pytest.raises(DesignError, match=r"negative.*rw04.*rows 5"):
        ReplicateDesign(bad, weight="w", replicate_weights="^rw", method="brr")


def test_regex_matching_nothing(given):
    with pytest.raises(DesignError, match=r"'repw\[0-9\]\+' matches no column"):
        ReplicateDesign(given, weight="w", replicate_weights="repw[0-9]+", method="brr")


def test_unknown_columns(given):
    with pytest.raises(DesignError, match=r"not in the data.*'nope'"):
        ReplicateDesign(given, weight="w", replicate_weights=["rw01", "nope"], method="brr")


def test_fewer_than_two_replicates(given):
    with pytest.raises(DesignError, match="at least 2 replicates"):
        ReplicateDesign(given, weight="w", replicate_weights=["rw01"], method="brr")


def test_non_numeric_replicate_column(given):
    bad = given.copy()
    bad["rw03"] = bad["rw03"].astype(str)
    with pytest.raises(DesignError, match=r"not numeric.*rw03"):
        ReplicateDesign(bad, weight="w", replicate_weights="^rw", method="brr")


def test_bad_weight_column(given):
    bad = given.copy()
    bad.loc[2, "w"] = 0.0
    with pytest.raises(DesignError, match=r"weight column 'w'.*rows 2"):
        ReplicateDesign(bad, weight="w", replicate_weights="^rw", method="brr")
    with pytest.raises(DesignError, match="'wt' is not in the data"):
        ReplicateDesign(given, weight="wt", replicate_weights="^rw", method="brr")


def test_brr_needs_two_psus_per_stratum(clus1):
    strat = pd.read_csv(DATA / "apistrat.csv")
    design = SurveyDesign(strat, weight="pw", strata="stype")
    with pytest.raises(DesignError, match=r"exactly two PSUs.*'E' \(100 PSUs\).*Group PSUs"):
        design.replicate("brr")
    with pytest.raises(DesignError, match="no strata"):
        SurveyDesign(clus1, weight="pw", psu="dnum").replicate("fay", rho=0.5)


@pytest.mark.parametrize("rho", [-0.1, 1.0, 1.5, "a"])
def test_rho_outside_unit_interval(rho, given):
    with pytest.raises(ValidationError, match=r"rho=.*outside \[0, 1\)"):
        _brr_design().replicate("fay", rho=rho)
    with pytest.raises(ValidationError, match=r"outside \[0, 1\)"):
        ReplicateDesign(given, weight="w", replicate_weights="^rw", method="fay", rho=rho)


def test_rho_rules(given):
    with pytest.raises(ValidationError, match="needs rho"):
        _brr_design().replicate("fay")
    with pytest.raises(ValidationError, match="method='fay' only"):
        _brr_design().replicate("brr", rho=0.5)
    with pytest.raises(ValidationError, match="needs rho"):
        ReplicateDesign(given, weight="w", replicate_weights="^rw", method="fay")


def test_method_and_scales(given, clus1):
    with pytest.raises(ValidationError, match="method='jack' is not known"):
        _brr_design().replicate("jack")
    with pytest.raises(ValidationError, match="not known"):
        ReplicateDesign(given, weight="w", replicate_weights="^rw", method="JK")
    with pytest.raises(ValidationError, match="needs rscales"):
        ReplicateDesign(given, weight="w", replicate_weights="^rw", method="jkn")
    with pytest.raises(ValidationError, match="scale is fixed"):
        ReplicateDesign(given, weight="w", replicate_weights="^rw", method="brr", scale=0.5)
    with pytest.raises(ValidationError, match="rscales has 3 values"):
        ReplicateDesign(
            given, weight="w", replicate_weights="^rw", method="other", rscales=[1, 1, 1]
        )
    with pytest.raises(ValidationError, match="positive number"):
        ReplicateDesign(given, weight="w", replicate_weights="^rw", method="other", scale=-1)


def test_jackknife_design_rules(clus1):
    strat = SurveyDesign(pd.read_csv(DATA / "apistrat.csv"), weight="pw", strata="stype")
    with pytest.raises(DesignError, match="method='jkn'"):
        strat.replicate("jk1")
    with pytest.raises(DesignError, match="needs a stratified design"):
        SurveyDesign(clus1, weight="pw", psu="dnum").replicate("jkn")
    with pytest.raises(ValidationError, match="n_replicates=10 does not fit"):
        strat.replicate("jkn", n_replicates=10)


def test_bootstrap_arguments(clus1):
    design = SurveyDesign(clus1, weight="pw", psu="dnum")
    with pytest.raises(ValidationError, match="at least 2"):
        design.replicate("bootstrap", n_replicates=1)
    with pytest.raises(ValidationError, match="rng="):
        design.replicate("bootstrap", rng="seed")
    with pytest.raises(ValidationError, match="must be an integer"):
        design.replicate("bootstrap", n_replicates=2.5)
    with pytest.raises(ValidationError, match="nearest is"):
        design.replicate("sdr", n_replicates=10)


def test_calibrated_design_is_refused(clus1):
    from flestimate.design.calibration_hook import Residualizer

    design = SurveyDesign(clus1, weight="pw", psu="dnum")
    n = len(clus1)
    res = Residualizer(X=np.zeros(n, dtype=np.int64), s=np.ones(n), phi=np.ones(n), A=np.ones(1))
    calibrated = design.evolve(residualizers=(res,))
    with pytest.raises(DesignError, match="Build the replicates first"):
        calibrated.replicate("jk1")


def test_with_weights_shapes():
    rep = _brr_design().replicate("brr")
    W = rep.replicate_weights.to_numpy()
    with pytest.raises(DesignError, match="shape"):
        rep.with_weights(rep.weights.to_numpy()[:-1], W)
    with pytest.raises(DesignError, match="expected"):
        rep.with_weights(rep.weights.to_numpy(), W[:, :-1])
    with pytest.raises(ValidationError, match="positive integer"):
        next(rep.replicate_weight_blocks(0))


def test_errors_are_flestimate_errors(given):
    for kwargs in (
        {"replicate_weights": "zzz", "method": "brr"},
        {"replicate_weights": 3, "method": "brr"},
        {"replicate_weights": "^rw", "method": "other", "df": 0},
    ):
        with pytest.raises(FlestimateError):
            ReplicateDesign(given, weight="w", **kwargs)


def test_replicating_a_weighted_design_warns(clus1):
    from flestimate.errors import FlestimateWarning
    from flestimate.weighting import trim_weights

    design = SurveyDesign(clus1, weight="pw", psu="dnum")
    trimmed = trim_weights(design, upper=30.0, redistribute=False)
    with pytest.warns(FlestimateWarning, match="weighting step"):
        trimmed.replicate("jk1")


def test_dropped_fpc_warns():
    from flestimate.errors import FlestimateWarning

    scd = pd.read_csv(DATA / "scd.csv").assign(N=5)
    design = SurveyDesign(scd, weight="w1", strata="ESA", psu="ambulance", nest=True, fpc="N")
    for method, kw in (
        ("brr", {}),
        ("fay", {"rho": 0.3}),
        ("subbootstrap", {"rng": 1}),
        ("sdr", {}),
    ):
        with pytest.warns(FlestimateWarning, match="finite population correction"):
            design.replicate(method, **kw)
    two_stage = pd.DataFrame(
        {
            "psu": np.repeat([1, 2, 3, 4], 4),
            "ssu": np.tile([1, 1, 2, 2], 4),
            "N1": 40,
            "N2": 10,
            "y": np.arange(16.0),
        }
    )
    design2 = SurveyDesign(two_stage, psu=["psu", "ssu"], fpc=["N1", "N2"])
    with pytest.warns(FlestimateWarning, match="later stages"):
        design2.replicate("jk1")
