"""flestimate.mse: validation, identifiability, selection, intervals, strata, the result."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import chi2

import flestimate
from flestimate import mse
from flestimate.errors import EstimationError, MSEWarning, ValidationError
from flestimate.mse.bootstrap import _refit, replicate
from flestimate.mse.identify import ModelChecker, check_model
from flestimate.mse.intervals import profile_interval_sum, profile_limits
from flestimate.mse.models import all_pairs, design_matrix, fit_model, irls
from flestimate.mse.tables import CaptureTable, capture_tables, pattern_matrix
from flestimate.report.writers import to_jsonable

LISTS = ["LA", "NG", "PF", "GO", "GP", "NCA"]
TWO = [("PF", "NCA"), ("LA", "NG")]


@pytest.fixture(scope="module")
def uk():
    return mse.uk_2013()


def three_lists(counts):
    """A 3-list table in pattern order A, B, AB, C, AC, BC, ABC."""
    frame = pd.DataFrame(pattern_matrix(3), columns=["A", "B", "C"])
    frame["count"] = counts
    return frame


# ----------------------------------------------------------------------------- validation


@pytest.mark.parametrize(("change", "match"), [
    (lambda d: d.assign(count=d["count"].astype(float).where(d.index != 3, -2)), "1 negative"),
    (lambda d: d.assign(count=d["count"].astype(float).where(d.index != 4, 2.5)), "1 fractional"),
    (lambda d: d.assign(count=d["count"].astype(float).where(d.index != 0, np.nan)),
     "missing or non-numeric"),
    (lambda d: pd.concat([d, d.iloc[[2]]], ignore_index=True), "appear on more than one row"),
    (lambda d: pd.concat([d, pd.DataFrame([{c: 0 for c in LISTS} | {"count": 5}])],
                         ignore_index=True), "no list marked"),
    (lambda d: d.assign(GP=d["GP"].where(d.index != 1, 2)), "other than 0 and 1"),
    (lambda d: d.drop(columns="count"), "count column 'count' not found"),
    (lambda d: d.drop(columns="NCA"), r"list column\(s\) 'NCA' not found"),
])
def test_bad_data_gets_a_named_error(uk, change, match):
    with pytest.raises(ValidationError, match=match):
        mse.fit(change(uk), lists=LISTS)


def test_a_list_that_never_records_anyone_is_refused(uk):
    data = uk.assign(EXTRA=0)
    with pytest.raises(ValidationError, match="'EXTRA' record no case"):
        mse.fit(data, lists=[*LISTS, "EXTRA"])


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"lists": ["LA"]}, "at least 2 lists"),
    ({"lists": "LA,NG"}, "sequence of names"),
    ({"lists": ["LA", "LA", "NG"]}, "more than once"),
    ({"interactions": [("PF", "XX")]}, "not one of the lists"),
    ({"interactions": [("PF", "PF")]}, "with itself"),
    ({"interactions": ["PF:NCA", ("NCA", "PF")]}, "more than once"),
    ({"interactions": [("PF", "NCA", "LA")]}, "two-list"),
    ({"select": "forward"}, "select='forward' is not known"),
    ({"ci": "exact"}, "ci='exact' is not known"),
    ({"level": 95}, "level=95"),
    ({"average": "aic"}, "average= needs several models"),
    ({"select": "stepwise", "threshold": 2}, "threshold=2"),
    ({"ci": "bca", "bootstrap": 5}, "bootstrap=5"),
    ({"ci": "bca", "rng": "seed"}, "rng='seed'"),
    ({"engine": "R"}, "engine='R'"),
    ({"strata": "region"}, "strata column 'region' not found"),
])
def test_bad_options_get_a_named_error(uk, kwargs, match):
    kwargs = {"lists": LISTS, **kwargs}
    with pytest.raises(ValidationError, match=match):
        mse.fit(uk, **kwargs)


def test_the_caller_frame_is_not_changed(uk):
    before = uk.copy()
    mse.fit(uk, lists=LISTS, select="stepwise")
    pd.testing.assert_frame_equal(uk, before)


def test_booleans_and_any_column_names_are_accepted(uk):
    data = uk.rename(columns={"LA": "local authority", "count": "n"})
    data["local authority"] = data["local authority"].astype(bool)
    r = mse.fit(data, lists=["local authority", *LISTS[1:]], count="n")
    assert round(r.total) == 12214 and r.lists[0] == "local authority"


def test_row_order_and_case_split_do_not_change_the_estimate(uk):
    a = mse.fit(uk, lists=LISTS, interactions=TWO)
    # the same cases as two rows per pattern (case-level style, count=None is the extreme)
    half = uk.assign(count=uk["count"] // 2)
    rest = uk.assign(count=uk["count"] - uk["count"] // 2)
    cases = pd.concat([half, rest], ignore_index=True).sample(frac=1, random_state=2)
    cases = cases.loc[cases.index.repeat(cases["count"]), LISTS]
    b = mse.fit(cases, lists=LISTS, count=None, interactions=TWO)
    assert b.total == pytest.approx(a.total, rel=1e-12)


# ----------------------------------------------------------------------------- identifiability


def test_non_existence_names_the_interaction_and_the_patterns():
    # A and B never overlap, and the model holds A:C and B:C: pattern A+B is forced to 0
    data = three_lists([10, 12, 0, 5, 3, 4, 0])
    with pytest.raises(EstimationError, match=r"does not exist.*A:C, B:C.*A\+B"):
        mse.fit(data, lists=["A", "B", "C"], interactions=[("A", "C"), ("B", "C")])
    check = check_model(capture_tables(data, lists=["A", "B", "C"])[0], [("A", "C"), ("B", "C")])
    assert not check.exists and check.zero_patterns == ("A+B",)
    assert set(check.blamed) == {("A", "C"), ("B", "C")}


def test_non_identifiable_model_names_the_aliased_terms():
    data = three_lists([10, 12, 0, 5, 3, 4, 0])
    with pytest.raises(EstimationError, match=r"not identifiable.*A:C.*B:C.*never-overlapping A:B"):
        mse.fit(data, lists=["A", "B", "C"], interactions=[("A", "B"), ("A", "C"), ("B", "C")])


def test_saturated_three_list_model_is_identifiable_when_all_overlap():
    data = three_lists([50, 40, 10, 30, 8, 6, 2])
    table = capture_tables(data, lists=["A", "B", "C"])[0]
    check = check_model(table, all_pairs(["A", "B", "C"]))
    assert check.ok
    f = fit_model(table, all_pairs(["A", "B", "C"]))
    assert f.df_residual == 0 and f.deviance == pytest.approx(0, abs=1e-9)
    # saturated: the dark figure has a closed form, n_A n_B n_C n_ABC / (n_AB n_AC n_BC)
    assert f.dark == pytest.approx(50 * 40 * 30 * 2 / (10 * 8 * 6), rel=1e-10)


def test_two_lists_main_effects_is_lincoln_petersen():
    data = pd.DataFrame({"A": [1, 0, 1], "B": [0, 1, 1], "count": [60, 40, 20]})
    r = mse.fit(data, lists=["A", "B"])
    assert r.total == pytest.approx(80 * 60 / 20, rel=1e-10)


def test_checker_agrees_with_the_linear_programme_on_every_single_interaction(uk):
    table = capture_tables(uk, lists=LISTS)[0]
    checker = ModelChecker(table)
    for pair in all_pairs(LISTS):
        for model in ([pair], [*TWO, pair] if pair not in TWO else TWO):
            assert checker(model).ok == check_model(table, model).ok


def test_bootstrap_failures_agree_with_the_linear_programme():
    z = pattern_matrix(4)
    lam = np.array([30, 20, 3, 25, 2, 2, 0.5, 15, 2, 1, 0.3, 1, 0.3, 0.3, 0.1])
    counts = np.array([35, 20, 1, 24, 0, 3, 3, 15, 0, 1, 1, 2, 2, 0, 0], float)
    table = CaptureTable(lists=("A", "B", "C", "D"), counts=counts)
    model = [("A", "B"), ("C", "D"), ("A", "C")]
    f = fit_model(table, model)
    y = np.random.default_rng(5).poisson(f.fitted, (300, 15)).astype(float)
    assert lam.shape == (15,) and z.shape == (15, 4)
    _, failed, reasons = _refit(f, y)
    assert failed.sum() >= 1 and reasons["no MLE"] == failed.sum()
    lp = np.array([check_model(CaptureTable(lists=table.lists, counts=row), model).ok
                   if (z.T @ row > 0).all() else False for row in y])
    assert np.array_equal(lp, ~failed)


# ----------------------------------------------------------------------------- IRLS


def test_batched_irls_equals_one_fit_at_a_time(uk):
    table = capture_tables(uk, lists=LISTS)[0]
    X = design_matrix(LISTS)
    y = np.random.default_rng(1).poisson(table.counts + 1, (5, 63)).astype(float)
    batch = irls(X, y)
    for b in range(5):
        one = irls(X, y[b])
        np.testing.assert_allclose(batch.beta[b], one.beta[0], rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(batch.deviance[b], one.deviance[0], rtol=1e-12)


# ----------------------------------------------------------------------------- intervals


def test_profile_limits_have_the_deviance_they_promise(uk):
    table = capture_tables(uk, lists=LISTS)[0]
    f = fit_model(table, TWO)
    lo, hi = profile_limits([f], [1.0, chi2.ppf(0.95, 1)])
    X = design_matrix(LISTS)
    from flestimate.mse.models import model_masks

    pm, cm, _ = model_masks(table, TWO)
    pm[0] = False
    for m, c in [(lo[0, 0], 1.0), (hi[0, 1], chi2.ppf(0.95, 1))]:
        d = irls(X, table.counts, param_mask=pm, cell_mask=cm, offset=np.array([m])).deviance[0]
        assert d - f.deviance == pytest.approx(c, abs=1e-8)
    assert lo[0, 1] < lo[0, 0] < np.log(f.dark) < hi[0, 0] < hi[0, 1]


def test_profile_of_a_sum_of_identical_strata_splits_the_budget_evenly(uk):
    f = fit_model(capture_tables(uk, lists=LISTS)[0])
    both = profile_interval_sum([f, f], 0.95, grid=200)
    lo, hi = profile_limits([f], chi2.ppf(0.95, 1) / 2)
    assert both.dark_lower == pytest.approx(2 * np.exp(lo[0, 0]), rel=1e-9)
    assert both.dark_upper == pytest.approx(2 * np.exp(hi[0, 0]), rel=1e-9)
    assert both.total_lower == pytest.approx(2 * 2744 + both.dark_lower)


def test_bootstrap_is_seeded_and_its_intervals_surround_the_estimate(uk):
    a = mse.fit(uk, lists=LISTS, interactions=TWO, ci="bca", bootstrap=200, rng=7)
    b = mse.fit(uk, lists=LISTS, interactions=TWO, ci="bca", bootstrap=200, rng=7)
    c = mse.fit(uk, lists=LISTS, interactions=TWO, ci="bca", bootstrap=200,
                rng=np.random.default_rng(8))
    assert a.ci == b.ci and a.ci != c.ci
    assert a.ci_method == "bca" and a.bootstrap == {
        "replicates": 200, "failed": 0,
        "reasons": {"no MLE": 0, "not converged": 0, "not identifiable": 0}, "seed": 7}
    iv = a.intervals.set_index("method")
    assert list(iv.index) == ["profile", "wald", "percentile", "bca"]
    for m in iv.index:
        assert iv.loc[m, "total_lower"] < a.total < iv.loc[m, "total_upper"]
        assert iv.loc[m, "total_lower"] - iv.loc[m, "dark_lower"] == pytest.approx(2744)
    # the parametric bootstrap approximates the likelihood interval here (large counts)
    assert iv.loc["percentile", "total_lower"] == pytest.approx(iv.loc["profile", "total_lower"],
                                                                rel=0.03)


def test_bootstrap_replicates_sum_over_strata():
    table = CaptureTable(lists=("A", "B", "C"), counts=np.array([50, 40, 10, 30, 8, 6, 2.0]))
    f = fit_model(table)
    one = replicate([f], 100, rng=np.random.default_rng(3))
    gen = np.random.default_rng(3)
    two = replicate([f, f], 100, rng=gen)
    # the first stratum of the pair draws exactly what the single fit drew
    assert not one.failed.any() and not two.failed.any()
    assert np.all(two.total > one.total) and np.allclose(one.total - one.dark, 146)
    assert np.allclose(two.total - two.dark, 292)


def test_wald_interval_is_lognormal_on_the_dark_figure(uk):
    r = mse.fit(uk, lists=LISTS, ci="wald")
    se = r.coefficients["se"].iloc[0]
    assert r.dark_ci[1] == pytest.approx(r.dark * np.exp(1.959963984540054 * se), rel=1e-12)
    assert r.ci_method == "wald"


# ----------------------------------------------------------------------------- selection


def test_every_model_considered_is_in_the_sensitivity_table(uk):
    r = mse.fit(uk, lists=LISTS, select="stepwise")
    m = r.models
    assert m["chosen"].sum() == 1 and m["on_path"].sum() == 8  # main effects + 7 steps
    assert (m["step"].diff().fillna(0) >= 0).all()
    ok = m[m["status"] == "ok"]
    assert (ok["profile_lower"] < ok["total"]).all() and (ok["total"] < ok["profile_upper"]).all()
    # the path's p-values are below the threshold, the last step's best candidate is not
    path = m[m["on_path"] & (m["step"] > 0)]
    assert (path["p_value"] < 0.02).all()
    last = m[m["step"] == m["step"].max()]
    assert last["p_value"].min() >= 0.02 and not last["on_path"].any()
    assert m["total"].min() < r.total < m["total"].max()


def test_selection_never_adds_a_model_without_mle():
    # 4 sparse lists: the candidate A:D + B:D + C:D has no MLE
    counts = np.array([4, 11, 0, 16, 0, 0, 0, 11, 3, 1, 2, 1, 1, 4, 0])
    frame = pd.DataFrame(pattern_matrix(4), columns=list("ABCD")).assign(count=counts)
    r = mse.fit(frame, lists=list("ABCD"), select="aic")
    failed = r.models[r.models["status"] != "ok"]
    assert failed["model"].tolist() == ["main effects + A:D + B:D + C:D"]
    assert not failed["on_path"].any() and failed["status"].iloc[0] == "no MLE"
    assert "does not exist" in failed["reason"].iloc[0]
    assert r.model == (("A", "D"), ("B", "D"))


def test_model_averaging_lies_between_the_models(uk):
    r = mse.fit(uk, lists=LISTS, select="aic", threshold=0.05, average="aic")
    ok = r.models[r.models["status"] == "ok"]
    assert r.ci_method == "model-averaged (aic)"
    assert ok["total"].min() < r.total < ok["total"].max()
    assert r.ci[0] < r.total < r.ci[1]
    # averaging widens the interval of the chosen model
    chosen = ok[ok["chosen"]].iloc[0]
    assert r.ci[1] - r.ci[0] > chosen["profile_upper"] - chosen["profile_lower"]


# ----------------------------------------------------------------------------- strata


def test_strata_are_estimated_separately_and_summed(uk):
    north = uk.assign(region="North")
    south = uk.assign(region="South", count=uk["count"] * 2)
    r = mse.fit(pd.concat([north, south]), lists=LISTS, strata="region", interactions=TWO)
    alone = {s: mse.fit(d, lists=LISTS, interactions=TWO) for s, d in
             (("North", north), ("South", south))}
    assert set(r.by_stratum) == {"North", "South"}
    for s, single in alone.items():
        assert r.by_stratum[s].total == pytest.approx(single.total, rel=1e-12)
        assert r.by_stratum[s].ci == pytest.approx(single.ci, rel=1e-9)
    assert r.total == pytest.approx(sum(a.total for a in alone.values()), rel=1e-12)
    assert r.observed == 3 * 2744
    frame = r.to_frame()
    assert frame["stratum"].tolist() == ["North", "South", "all strata"]
    # the summed interval is narrower than the sum of the strata's intervals
    assert r.ci[1] - r.ci[0] < sum(a.ci[1] - a.ci[0] for a in alone.values())
    assert r.ci[0] < r.total < r.ci[1]
    assert set(r.models["stratum"]) == {"North", "South"}
    assert isinstance(r.model, dict) and r.model["North"] == tuple(TWO)


def test_a_stratum_without_a_list_is_named(uk):
    data = pd.concat([uk.assign(region="A"), uk[uk["GP"] == 0].assign(region="B")])
    with pytest.raises(ValidationError, match="stratum region='B': list\\(s\\) 'GP' record no case"):
        mse.fit(data, lists=LISTS, strata="region")


# ----------------------------------------------------------------------------- result


def test_result_is_read_only_and_displays(uk):
    r = mse.fit(uk, lists=LISTS, interactions=TWO)
    with pytest.raises(AttributeError):
        r.total = 1
    text = str(r)
    assert "14,218" in text and "12,627 – 16,127" in text and "main effects + PF:NCA + LA:NG" in text
    assert "<table>" in r._repr_html_() and "14,218" in r._repr_html_()
    assert "MSEResult total 14,218" in repr(r)
    frame = r.to_frame()
    assert frame.shape[0] == 1 and frame["model"].iloc[0] == "main effects + PF:NCA + LA:NG"
    assert frame["ci_lower"].iloc[0] == r.ci[0]
    json.dumps(to_jsonable(r.to_dict()))


def test_plot_draws_every_model(uk):
    import matplotlib

    matplotlib.use("Agg")
    r = mse.fit(uk, lists=LISTS, select="stepwise")
    fig = r.plot()
    ax = fig.axes[0]
    assert len(ax.collections[1].get_offsets()) == 60  # 93 models: the path and the best others
    labels = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
    assert "main effects" in labels and len(labels) == 8
    assert "step 7: + NG:GO (chosen)" in labels


def test_public_api():
    import subprocess
    import sys

    # fl.mse works without importing the sub-package first
    done = subprocess.run([sys.executable, "-c", "import flestimate as fl; print(fl.mse.fit.__name__)"],
                          capture_output=True, text=True)
    assert done.stdout.strip() == "fit", done.stderr
    assert flestimate.mse is mse and "mse" in dir(flestimate)
    for name in mse.__all__:
        assert hasattr(mse, name)


def test_no_warning_when_nothing_is_wrong(uk, recwarn):
    mse.fit(uk, lists=LISTS, select="stepwise")
    assert not [w for w in recwarn if issubclass(w.category, MSEWarning)]


@pytest.mark.parametrize("name", ["fit", "uk_2013", "simulate_lists", "__init__"])
def test_docstring_examples_run(name):
    import doctest

    obj = mse if name == "__init__" else getattr(mse, name)
    tests = [t for t in doctest.DocTestFinder().find(obj, name) if t.examples]
    assert tests, f"{name} has no examples"
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS)
    for t in tests:
        if name == "__init__" or t.name == name:
            runner.run(t)
    assert runner.failures == 0 and runner.tries > 0


# ----------------------------------------------------------------------------- properties


@settings(max_examples=30, deadline=None)
@given(counts=st.lists(st.integers(1, 300), min_size=15, max_size=15),
       order=st.permutations(range(4)), scale=st.sampled_from([2, 3, 10]),
       pair=st.sampled_from([("A", "B"), ("B", "D"), ("C", "D")]))
def test_list_order_and_count_scale(counts, order, scale, pair):
    frame = pd.DataFrame(pattern_matrix(4), columns=list("ABCD")).assign(count=counts)
    base = mse.fit(frame, lists=list("ABCD"), interactions=[pair])
    names = [list("ABCD")[i] for i in order]
    permuted = mse.fit(frame, lists=names, interactions=[pair[::-1]])
    assert permuted.total == pytest.approx(base.total, rel=1e-9)
    assert permuted.ci == pytest.approx(base.ci, rel=1e-7)
    # the Poisson MLE scales with the counts: c * y gives c * dark, the rest unchanged
    scaled = mse.fit(frame.assign(count=frame["count"] * scale), lists=list("ABCD"),
                     interactions=[pair])
    assert scaled.dark == pytest.approx(scale * base.dark, rel=1e-9)
    np.testing.assert_allclose(scaled.coefficients["estimate"].iloc[1:],
                               base.coefficients["estimate"].iloc[1:], rtol=1e-8, atol=1e-10)
