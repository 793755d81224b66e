"""Small-area estimation from a survey design (flestimate.sae.direct_estimates and
small_area) on the bundled sample survey, and the docstring examples of flestimate.sae."""

from __future__ import annotations

import doctest
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import flestimate
from flestimate import sae
from flestimate.errors import DomainWarning, EstimationError, ValidationError

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "sample"


@pytest.fixture(scope="module")
def data():
    frame = pd.read_csv(SAMPLE / "fl_survey.csv").merge(
        pd.read_csv(SAMPLE / "truth_respondents.csv")[["pid", "fl_true"]], on="pid"
    )
    rank = frame.groupby("region")["psu"].rank(method="dense").astype(int) - 1
    frame["district"] = frame["region"] * 100 + rank // 6
    return frame


@pytest.fixture(scope="module")
def design(data):
    return flestimate.SurveyDesign(data, weight="w_final", strata="stratum", psu="psu")


@pytest.fixture(scope="module")
def auxiliary(data):
    g = data.assign(migrant3=data["migrant"] == 3, rural=data["urban"] == 2).groupby("district")
    aux = pd.DataFrame({"district": g.size().index, "region": g["region"].first().to_numpy(),
                        "migrant_share": g["migrant3"].mean().to_numpy(),
                        "rural_share": g["rural"].mean().to_numpy(),
                        "population": g["w_final"].sum().to_numpy()})  # fmt: skip
    # a district of the country without sampled EA
    extra = pd.DataFrame({"district": [999], "region": [5], "migrant_share": [0.02],
                          "rural_share": [0.5], "population": [2500.0]})  # fmt: skip
    return pd.concat([aux, extra], ignore_index=True)


FORMULA = "~ migrant_share + rural_share"


def _small_area(design, auxiliary, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DomainWarning)
        return sae.small_area(design, "fl_true", area="district", auxiliary=auxiliary,
                              formula=FORMULA, **kw)  # fmt: skip


def test_direct_estimates_are_the_design_prevalences_by_area(design):
    direct = sae.direct_estimates(design, "fl_true", area="district")
    table = design.prevalence("fl_true", by=["district"]).to_frame()
    np.testing.assert_array_equal(direct["district"], table["district"])
    np.testing.assert_allclose(direct["direct"], table["estimate"])
    np.testing.assert_allclose(direct["direct_se"], table["se"])
    np.testing.assert_allclose(direct["direct_variance"], table["se"] ** 2)
    np.testing.assert_array_equal(direct["n"], table["n_unweighted"])
    assert (direct.loc[direct["direct"] == 0, "flags"].str.contains("zero_variance")).all()
    per_100 = sae.direct_estimates(design, "fl_true", area="district", scale=100)
    np.testing.assert_allclose(per_100["direct"] * 10, direct["direct"])


def test_small_area_fits_the_direct_estimates_joined_to_the_covariates(design, auxiliary):
    fit = _small_area(design, auxiliary)
    f = fit.to_frame()
    direct = sae.direct_estimates(design, "fl_true", area="district")
    by_area = f.set_index("area")
    np.testing.assert_allclose(by_area.loc[direct["district"], "direct"], direct["direct"])
    np.testing.assert_allclose(by_area.loc[direct["district"], "n"], direct["n"])
    assert list(f["area"]) == list(auxiliary["district"])
    assert not by_area.loc[999, "in_sample"] and by_area.loc[999, "gamma"] == 0
    # districts without a case, or with their cases in one PSU (a design variance of 0),
    # got the GVF variance; the others their own
    zero = by_area["direct_se"] <= 1e-10 * by_area["direct"]
    assert (by_area["direct"] == 0).sum() > 10
    np.testing.assert_array_equal(by_area["variance_smoothed"], zero & by_area["in_sample"])
    assert fit.scale == 1000
    # the same as fay_herriot on the joined table
    table = auxiliary.merge(direct, on="district", how="left")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DomainWarning)
        same = sae.fay_herriot(table, direct="direct", se="direct_se", n="n", area="district",
                               formula=FORMULA, scale=1000)  # fmt: skip
    pd.testing.assert_frame_equal(same.to_frame(), f)


def test_benchmark_target_is_the_design_national_estimate(design, auxiliary):
    fit = _small_area(design, auxiliary, population="population", benchmark="difference")
    national = design.prevalence("fl_true").to_frame()["estimate"].iloc[0]
    assert fit.benchmarking["target"] == pytest.approx(national)
    f = fit.to_frame()
    share = auxiliary["population"] / auxiliary["population"].sum()
    assert float(share @ f["estimate"]) == pytest.approx(national, rel=1e-12)


def test_replicate_designs_give_their_own_variances(design, auxiliary):
    rep = design.replicate("jkn")
    fit = _small_area(rep, auxiliary)
    direct = sae.direct_estimates(rep, "fl_true", area="district")
    rep_se = rep.prevalence("fl_true", by=["district"]).to_frame()["se"].to_numpy()
    np.testing.assert_allclose(direct["direct_se"], rep_se)
    by_area = fit.to_frame().set_index("area")
    np.testing.assert_allclose(by_area.loc[direct["district"], "direct_se"], rep_se)


def test_means_are_modelled_on_their_own_scale(design, data):
    strata = data.groupby("stratum").agg(migrant_share=("migrant", lambda m: (m == 3).mean()),
                                         urban=("urban", "first")).reset_index()  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit = sae.small_area(design, "age", area="stratum", auxiliary=strata,
                             formula="~ migrant_share + C(urban)", statistic="mean")  # fmt: skip
    f = fit.to_frame().set_index("area")
    ages = design.mean("age", by=["stratum"]).to_frame().set_index("stratum")
    np.testing.assert_allclose(f.loc[ages.index, "direct"], ages["estimate"])
    assert fit.scale == 1 and f["estimate"].between(15, 60).all()


def test_zero_variances_of_a_mean_cannot_be_smoothed(design, auxiliary):
    # a district whose respondents sit in one PSU has a design variance of 0
    with pytest.raises(EstimationError, match=r"direct variance of zero or none \(areas \d+"):
        sae.small_area(design, "age", area="district", auxiliary=auxiliary, formula=FORMULA,
                       statistic="mean")  # fmt: skip


def test_design_route_errors_name_the_areas_and_columns(design, auxiliary):
    with pytest.raises(EstimationError, match=r"1 areas of the survey are not in the auxiliary"):
        _small_area(design, auxiliary[auxiliary["district"] != 100])
    with pytest.raises(EstimationError, match="area column 'district' is not in the auxiliary"):
        _small_area(design, auxiliary.rename(columns={"district": "d"}))
    with pytest.raises(EstimationError, match="columns 'n', which small_area adds"):
        _small_area(design, auxiliary.assign(n=1))
    with pytest.raises(ValidationError, match="auxiliary must be a pandas DataFrame"):
        _small_area(design, auxiliary.to_dict())
    with pytest.raises(ValidationError, match="statistic='total' is not known"):
        sae.direct_estimates(design, "fl_true", area="district", statistic="total")
    with pytest.raises(EstimationError, match="analysis variable 'fl' is not in the data"):
        sae.direct_estimates(design, "fl", area="district")


def test_docstring_examples_run(monkeypatch):
    monkeypatch.chdir(ROOT)
    finder = doctest.DocTestFinder()
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS)
    found = 0
    for obj in (sae.fay_herriot, sae.direct_estimates, sae.small_area, sae.FayHerriotResult):
        for t in finder.find(obj, obj.__name__):
            found += len(t.examples)
            runner.run(t)
    assert found >= 8 and runner.failures == 0


def test_warnings_of_the_fit_point_at_the_callers_line(design, auxiliary):
    with pytest.warns(DomainWarning, match="smoothed sampling variance") as record:
        sae.small_area(design, "fl_true", area="district", auxiliary=auxiliary, formula=FORMULA)
    assert all(Path(w.filename).resolve() == Path(__file__).resolve() for w in record)


def test_the_design_method_is_the_function(design, auxiliary):
    options = {"population": "population", "benchmark": "ratio", "transform": "arcsin",
               "n_bootstrap": 20, "rng": 4}  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DomainWarning)
        by_method = design.small_area("fl_true", area="district", auxiliary=auxiliary,
                                      formula=FORMULA, **options)  # fmt: skip
        by_function = sae.small_area(design, "fl_true", area="district", auxiliary=auxiliary,
                                     formula=FORMULA, **options)  # fmt: skip
        replicate = design.replicate("jkn").small_area("fl_true", area="district",
                                                       auxiliary=auxiliary, formula=FORMULA)  # fmt: skip
    pd.testing.assert_frame_equal(by_method.to_frame(), by_function.to_frame())
    assert isinstance(replicate, sae.FayHerriotResult)
    with pytest.raises(TypeError, match="unexpected keyword argument 'tranform'"):
        design.small_area("fl_true", area="district", auxiliary=auxiliary, formula=FORMULA,
                          tranform="arcsin")  # fmt: skip
