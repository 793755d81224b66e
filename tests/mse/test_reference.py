"""Multiple systems estimation against R and against the published UK figures.

tests/reference/mse_uk.json holds R's ``glm(family = poisson)`` fits of the UK 2013 lists
(script: tests/reference/make_reference_mse.R, R 4.2.2, base stats only) over the same 63
capture patterns, and profile-likelihood limits computed in R with glm and uniroot.
Tolerance: relative 1e-8 (both programs converge to the MLE to about 1e-13).
The anchors are ILO-STANDARDS A17 (2,744 cases) and A18 (12,214; 14,218; 12,350; 11,418).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from flestimate import mse
from flestimate.errors import MSEWarning
from flestimate.mse.models import design_matrix, fit_model, fit_statsmodels
from flestimate.mse.tables import capture_tables, pattern_matrix

REF = json.loads((Path(__file__).parents[1] / "reference" / "mse_uk.json").read_text())
LISTS = ["LA", "NG", "PF", "GO", "GP", "NCA"]
REL = 1e-8


@pytest.fixture(scope="module")
def uk():
    return mse.uk_2013()


@pytest.fixture(scope="module")
def table(uk):
    return capture_tables(uk, lists=LISTS)[0]


def rel(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-300)))


def test_reference_is_about_the_bundled_data(uk, table):
    assert REF["lists"] == LISTS
    assert REF["observed"] == uk["count"].sum() == table.observed == 2744  # A17
    assert len(uk) == 25


@pytest.mark.parametrize("case", REF["models"], ids=lambda c: c["name"])
@pytest.mark.parametrize("fitter", [fit_model, fit_statsmodels], ids=["numpy", "statsmodels"])
def test_glm_matches_r(table, case, fitter):
    ints = [tuple(p) for p in case["interactions"]]
    f = fitter(table, ints)
    assert f.coefficients["term"].tolist() == case["terms"]
    assert rel(f.coefficients["estimate"], case["coefficients"]) < REL
    # R's vcov uses the weights of its last-but-one iterate: SEs agree to about 1e-8 only
    assert rel(f.coefficients["se"], case["se"]) < 1e-6
    assert rel(f.deviance, case["deviance"]) < REL
    assert rel(f.dark, case["dark"]) < REL
    assert rel(f.total, case["total"]) < REL
    assert rel(f.aic, case["aic"]) < REL
    assert rel(f.loglik, case["loglik"]) < REL
    assert f.df_residual == case["df_residual"]
    assert rel(f.fitted, case["fitted"]) < 1e-7  # tiny fitted counts carry more rounding


@pytest.mark.parametrize("case", REF["models"], ids=lambda c: c["name"])
def test_profile_interval_matches_r(uk, case):
    r = mse.fit(uk, lists=LISTS, interactions=[tuple(p) for p in case["interactions"]])
    assert r.ci_method == "profile" and r.level == 0.95
    assert rel(r.ci, case["profile_total_95"]) < REL
    assert rel(r.dark_ci, case["profile_dark_95"]) < REL


def test_never_overlapping_pair_matches_glm_without_its_patterns(table):
    case = REF["empty_overlap"]
    f = fit_model(table, [("LA", "GP")])
    assert f.empty_overlaps == (("LA", "GP"),)
    assert f.coefficients["estimate"].iloc[-1] == -np.inf
    assert rel(f.coefficients["estimate"].iloc[:-1], case["coefficients"]) < REL
    assert rel(f.deviance, case["deviance"]) < REL
    assert rel(f.dark, case["dark"]) < REL
    # AIC counts the -inf parameter (SparseMSE's modelfit adds 2 per such pair)
    assert rel(f.aic, case["aic"] + 2) < REL
    assert f.df_residual == case["df_residual"] == case["cells_used"] - 7


# ----------------------------------------------------------------------------- anchors

ANCHORS = [
    (None, 12214),
    ([("PF", "NCA"), ("LA", "NG")], 14218),
    ([("PF", "NCA"), ("LA", "NG"), ("NG", "GP"), ("LA", "PF"), ("PF", "GP"), ("GO", "GP"),
      ("NG", "GO")], 11418),
]


@pytest.mark.parametrize(("interactions", "total"), ANCHORS)
def test_uk_anchors_a18(uk, interactions, total):
    r = mse.fit(uk, lists=LISTS, interactions=interactions)
    assert r.observed == 2744
    assert round(r.total) == total  # 5 significant digits
    assert r.total == pytest.approx(r.observed + r.dark, rel=1e-15)


@pytest.mark.parametrize(("select", "threshold", "total", "n_interactions"), [
    ("stepwise", None, 11418, 7),  # SparseMSE's rule at its default 0.02
    ("aic", 0.001, 14218, 2),  # Bales, Hesketh and Silverman's AIC rule, A18 p < 0.001
    ("aic", 0.01, 12350, 6),  # A18 p < 0.01
    ("aic", 0.05, 11418, 7),  # A18 p < 0.05
])
def test_selection_reproduces_the_published_models(uk, select, threshold, total, n_interactions):
    r = mse.fit(uk, lists=LISTS, select=select, threshold=threshold)
    assert round(r.total) == total
    assert len(r.model) == n_interactions
    assert r.model[:2] == (("PF", "NCA"), ("LA", "NG"))
    chosen = r.models[r.models["chosen"]]
    assert len(chosen) == 1 and round(chosen["total"].iloc[0]) == total


def test_unobserved_patterns_are_entered_as_zeros_never_dropped(uk, table):
    # The known error: a log-linear model on the 25 observed patterns only.
    X = design_matrix(LISTS)
    z = pattern_matrix(6)
    codes = uk[LISTS].to_numpy() @ (1 << np.arange(6))
    wrong = sm.GLM(uk["count"].to_numpy(float), X[codes - 1][:, :7],
                   family=sm.families.Poisson()).fit()
    assert rel(np.exp(wrong.params[0]), REF["observed_patterns_only"]["dark"]) < 1e-6
    r = mse.fit(uk, lists=LISTS)
    # flestimate fits all 63 patterns, 38 of them as zeros, and says so
    assert len(table.counts) == len(z) == 63 and (table.counts == 0).sum() == 38
    assert r.fits[0].df_residual == 63 - 7
    assert abs(r.total - REF["observed_patterns_only"]["total"]) > 500
    note = [d for d in r.diagnostics if d.code == "zero_patterns"]
    assert note and "not dropped" in note[0].message and "38 of the 63" in note[0].message


def test_same_numbers_whether_zero_patterns_are_given_or_not(uk):
    full = capture_tables(uk, lists=LISTS)[0].to_frame()
    assert len(full) == 63
    a = mse.fit(uk, lists=LISTS, interactions=["PF:NCA"])
    b = mse.fit(full.sample(frac=1, random_state=3), lists=LISTS, interactions=["PF:NCA"])
    assert a.total == pytest.approx(b.total, rel=1e-12)


def test_case_level_rows_are_aggregated(uk):
    cases = uk.loc[uk.index.repeat(uk["count"]), LISTS].reset_index(drop=True)
    assert len(cases) == 2744
    r = mse.fit(cases.sample(frac=1, random_state=1), lists=LISTS, count=None)
    assert round(r.total) == 12214


def test_statsmodels_engine_gives_the_same_result(uk):
    a = mse.fit(uk, lists=LISTS, select="stepwise")
    b = mse.fit(uk, lists=LISTS, select="stepwise", engine="statsmodels")
    assert a.model == b.model
    assert rel(b.total, a.total) < 1e-10 and rel(b.ci, a.ci) < 1e-8


def test_never_overlapping_pair_warns_and_is_recorded(uk):
    with pytest.warns(MSEWarning, match="LA and GP share no case"):
        r = mse.fit(uk, lists=LISTS, interactions=[("LA", "GP")])
    assert any(d.code == "empty_overlap" for d in r.diagnostics)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mse.fit(uk, lists=LISTS)  # the UK main effects model raises no warning


def test_reference_table_frame_roundtrip(table):
    frame = table.to_frame()
    assert list(frame.columns) == [*LISTS, "count"]
    again = capture_tables(frame, lists=LISTS)[0]
    assert np.array_equal(again.counts, table.counts)
    assert isinstance(frame, pd.DataFrame)
