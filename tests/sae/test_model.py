"""flestimate.sae.fay_herriot: identities, invariances, transformation, bootstrap, smoothing,
benchmarking and the errors for bad input (the numbers against references are in
test_sae_reference.py)."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats

from flestimate import sae
from flestimate.errors import (
    DomainWarning,
    EstimationError,
    FlestimateError,
    ValidationError,
)
from flestimate.sae.fit import fit_variance, gls
from flestimate.sae.transform import arcsin_back

MILK = pd.read_csv(Path(__file__).resolve().parents[1] / "reference" / "data" / "milk.csv")


def _fit(data=MILK, **kw):
    return sae.fay_herriot(data, direct="yi", se="SD", formula="~ C(MajorArea)",
                           area="SmallArea", **kw)  # fmt: skip


def _prevalences(m=60, seed=3, zeros=True):
    """Areas with prevalences near zero, some without a case (variance 0)."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 1, m)
    p_true = np.clip(0.004 + 0.01 * x + rng.normal(0, 0.002, m), 0.0005, None)
    n = rng.integers(80, 400, m)
    k = rng.binomial(n, p_true)
    if not zeros:
        k = np.maximum(k, 1)
    p = k / n
    deff = 1.5
    return pd.DataFrame({"area": [f"a{i:02d}" for i in range(m)], "p": 1000 * p,
                         "se": 1000 * np.sqrt(deff * p * (1 - p) / n), "n": n, "x": x,
                         "pop": rng.integers(1000, 9000, m), "truth": 1000 * p_true})  # fmt: skip


def _fh(data, **kw):
    kw.setdefault("formula", "~ x")
    kw.setdefault("scale", 1000)
    return sae.fay_herriot(data, direct="p", se="se", area="area", n="n", **kw)


# ----------------------------------------------------------------------------- identities
def test_areas_without_sample_get_the_synthetic_estimate_and_leave_the_others_alone():
    extra = pd.DataFrame({"SmallArea": [44, 45], "MajorArea": [2, 4], "yi": np.nan, "SD": np.nan})
    both = _fit(data=pd.concat([MILK, extra], ignore_index=True))
    alone = _fit()
    f, g = both.to_frame(), alone.to_frame()
    pd.testing.assert_frame_equal(f.iloc[:43].reset_index(drop=True), g, check_exact=False,
                                  rtol=1e-12)  # fmt: skip
    out = f.iloc[43:]
    assert not out["in_sample"].any() and (out["gamma"] == 0).all()
    assert out["direct"].isna().all()
    beta = both.beta.to_numpy()
    np.testing.assert_allclose(out["estimate"], [beta[0] + beta[1], beta[0] + beta[3]])
    # MSE of x'beta: sigma2_u + x' Q x (REML: no bias term)
    x = np.array([[1, 1, 0, 0], [1, 0, 0, 1.0]])
    q = np.diag(both.beta_se.to_numpy() ** 2)  # dummies of one level: x'Qx needs the full Q
    w = 1 / (both.sigma2_u + MILK["SD"].to_numpy() ** 2)
    xm = np.column_stack([np.ones(43), *(MILK["MajorArea"] == k for k in (2, 3, 4))]).astype(float)
    q = np.linalg.inv((xm * w[:, None]).T @ xm)
    np.testing.assert_allclose(out["mse"], both.sigma2_u + np.einsum("ij,jk,ik->i", x, q, x))
    assert any(d.code == "synthetic" for d in both.diagnostics)


def test_row_order_does_not_matter():
    perm = np.random.default_rng(0).permutation(43)
    a = _fit().to_frame().set_index("area")
    b = _fit(data=MILK.iloc[perm]).to_frame().set_index("area").loc[a.index]
    pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-10)


def test_units_scale_the_estimates_and_not_the_shrinkage():
    c = 1000.0
    scaled = MILK.assign(yi=MILK["yi"] * c, SD=MILK["SD"] * c)
    a, b = _fit(), _fit(data=scaled)
    fa, fb = a.to_frame(), b.to_frame()
    np.testing.assert_allclose(fb["estimate"], c * fa["estimate"], rtol=1e-9)
    np.testing.assert_allclose(fb["mse"], c**2 * fa["mse"], rtol=1e-8)
    np.testing.assert_allclose(fb["gamma"], fa["gamma"], rtol=1e-8)
    assert b.sigma2_u == pytest.approx(c**2 * a.sigma2_u, rel=1e-8)


def test_se_and_variance_columns_give_the_same_fit():
    by_var = sae.fay_herriot(MILK.assign(v=MILK["SD"] ** 2), direct="yi", variance="v",
                             formula="~ C(MajorArea)", area="SmallArea")  # fmt: skip
    pd.testing.assert_frame_equal(by_var.to_frame(), _fit().to_frame())


def test_variance_at_the_boundary_gives_synthetic_estimates_with_a_note():
    # direct estimates exactly on the regression line: no between-area variation
    data = MILK.assign(yi=1.0 + 0.2 * (MILK["MajorArea"] == 2))
    fit = _fit(data=data)
    assert fit.sigma2_u == 0.0
    f = fit.to_frame()
    np.testing.assert_allclose(f["estimate"], f["synthetic"])
    assert (f["gamma"] == 0).all()
    assert any(d.code == "sigma2_u_zero" for d in fit.diagnostics)


def test_vectorised_refits_equal_one_by_one_fits():
    rng = np.random.default_rng(5)
    x = np.column_stack([np.ones(43), (MILK["MajorArea"] == 4).to_numpy(float)])
    d = MILK["SD"].to_numpy() ** 2
    y = x @ [1.0, -0.3] + rng.normal(0, np.sqrt(0.02 + d), (25, 43))
    for method in ("REML", "ML", "FH"):
        many = fit_variance(y, d, x, method)
        one = np.array([fit_variance(y[[r]], d, x, method).sigma2_u[0] for r in range(25)])
        np.testing.assert_allclose(many.sigma2_u, one, rtol=1e-9, atol=1e-14)
        g = gls(y, d, x, many.sigma2_u)
        for r in (0, 7):
            single = gls(y[[r]], d, x, many.sigma2_u[[r]])
            np.testing.assert_allclose(g.beta[r], single.beta[0], rtol=1e-12)


# ----------------------------------------------------------------------------- bootstrap
def test_bootstrap_mse_agrees_with_the_analytic_mse_without_transformation():
    boot = _fit(mse="bootstrap", n_bootstrap=4000, rng=11).to_frame()["mse"]
    analytic = _fit().to_frame()["mse"]
    ratio = boot / analytic
    # the bootstrap plugs in the estimated variance (bias O(1/m)); the analytic MSE is
    # second-order unbiased: a few per cent apart with 43 areas, never a factor
    assert abs(ratio.mean() - 1) < 0.06
    assert ratio.between(0.85, 1.15).all()


def test_bootstrap_is_reproducible_and_records_its_seed():
    a = _fit(mse="bootstrap", n_bootstrap=50, rng=3)
    b = _fit(mse="bootstrap", n_bootstrap=50, rng=3)
    pd.testing.assert_frame_equal(a.to_frame(), b.to_frame())
    assert a.seed == 3 and a.n_bootstrap == 50
    c = _fit(mse="bootstrap", n_bootstrap=50, rng=None)
    again = _fit(mse="bootstrap", n_bootstrap=50, rng=c.seed)
    pd.testing.assert_frame_equal(c.to_frame(), again.to_frame())
    assert not np.allclose(a.to_frame()["mse"], c.to_frame()["mse"])


# ----------------------------------------------------------------------------- arcsine
@pytest.mark.parametrize(("mu", "s"), [(0.05, 0.02), (0.0, 0.1), (-0.1, 0.05), (1.5, 0.2),
                                         (0.8, 0.5), (0.07, 1e-5)])  # fmt: skip
def test_bias_corrected_back_transformation_is_the_normal_expectation(mu, s):
    f = lambda t: np.sin(np.clip(t, 0, np.pi / 2)) ** 2 * stats.norm.pdf(t, mu, s)  # noqa: E731
    expected = integrate.quad(f, mu - 12 * s, mu + 12 * s, points=[0, np.pi / 2], limit=200,
                              epsabs=1e-14, epsrel=1e-12)[0]  # fmt: skip
    assert arcsin_back(np.array([mu]), s**2, "bias-corrected")[0] == pytest.approx(expected,
                                                                                rel=1e-9, abs=1e-15)  # fmt: skip
    assert arcsin_back(np.array([mu]), 0.0, "bias-corrected")[0] == pytest.approx(
        np.sin(np.clip(mu, 0, np.pi / 2)) ** 2)
    assert arcsin_back(np.array([mu]), s**2, "naive")[0] == pytest.approx(
        np.sin(np.clip(mu, 0, np.pi / 2)) ** 2)


def test_arcsine_model_keeps_estimates_and_intervals_within_bounds():
    data = _prevalences()
    with pytest.warns(DomainWarning, match=r"\d+ of 60 sampled areas .* zero or none"):
        fit = _fh(data, transform="arcsin", n_bootstrap=100, rng=1)
    f = fit.to_frame()
    assert fit.mse_method == "bootstrap" and fit.back_transform == "bias-corrected"
    assert ((f["estimate"] > 0) & (f["estimate"] < 1000)).all()
    assert ((f["ci_lower"] >= 0) & (f["ci_upper"] <= 1000)).all()
    assert (f["ci_lower"] <= f["estimate"]).all() and (f["estimate"] <= f["ci_upper"]).all()
    assert (f["mse"] > 0).all()
    # bias correction adds the conditional variance: above the naive back-transformation
    with pytest.warns(DomainWarning):
        naive = _fh(data, transform="arcsin", back_transform="naive", n_bootstrap=20, rng=1)
    assert (f["estimate"] >= naive.to_frame()["estimate"] - 1e-12).all()


def test_arcsine_model_rejects_analytic_mse_and_non_proportions():
    data = _prevalences()
    with pytest.raises(ValidationError, match="mse='bootstrap'"):
        _fh(data, transform="arcsin", mse="prasad-rao")
    with pytest.raises(EstimationError, match=r"outside \[0, 1\].*scale="):
        _fh(data, transform="arcsin", scale=1)


# ----------------------------------------------------------------------------- smoothing
def test_gvf_replaces_zero_variances_by_the_pooled_design_effect_model():
    data = _prevalences()
    zero = data["p"] == 0
    assert zero.sum() >= 3
    with pytest.warns(DomainWarning, match=f"{int(zero.sum())} had a direct variance of zero"):
        fit = _fh(data)
    f = fit.to_frame()
    assert (f["variance_smoothed"] == zero).all()
    p, v, n = data["p"] / 1000, (data["se"] / 1000) ** 2, data["n"]
    ok = ~zero
    deff = v[ok].sum() / (p[ok] * (1 - p[ok]) / n[ok]).sum()
    pbar = (n * p).sum() / n.sum()
    assert fit.gvf["deff"] == pytest.approx(deff) and fit.gvf["p_pooled"] == pytest.approx(pbar)
    np.testing.assert_allclose(f.loc[zero, "model_se"] ** 2, 1e6 * deff * pbar * (1 - pbar)
                               / n[zero])  # fmt: skip
    np.testing.assert_allclose(f.loc[ok, "model_se"], data.loc[ok, "se"])
    assert (f.loc[zero, "direct_se"] == 0).all()
    # smooth="all": every area, and a warning still counting the zero ones
    with pytest.warns(DomainWarning, match=f"60 of 60 .*; {int(zero.sum())} had"):
        every = _fh(data, smooth="all")
    assert every.to_frame()["variance_smoothed"].all()


def test_positive_variances_need_no_smoothing_and_no_warning():
    data = _prevalences(zeros=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit = _fh(data)
    assert fit.gvf is None and not fit.to_frame()["variance_smoothed"].any()


def test_zero_variances_are_an_error_without_smoothing_or_counts():
    data = _prevalences()
    with pytest.raises(EstimationError, match=r"direct variance of zero or none \(areas 'a"):
        _fh(data, smooth="none")
    with pytest.raises(EstimationError, match="Give n="):
        sae.fay_herriot(data, direct="p", se="se", area="area", formula="~ x", scale=1000)
    with pytest.raises(EstimationError, match="smoothed for proportions only"):
        sae.fay_herriot(data.assign(p=data["p"] + 2000), direct="p", se="se", area="area",
                        formula="~ x", n="n", scale=1000)  # fmt: skip


# ----------------------------------------------------------------------------- benchmark
@pytest.mark.parametrize("method", ["ratio", "difference"])
def test_benchmarked_estimates_add_up_to_the_target(method):
    data = _prevalences(zeros=False)
    target = 9.0
    fit = _fh(data, benchmark=method, benchmark_target=target, population="pop")
    f = fit.to_frame()
    share = data["pop"] / data["pop"].sum()
    assert float(share @ f["estimate"]) == pytest.approx(target, rel=1e-12)
    base = _fh(data).to_frame()
    np.testing.assert_allclose(f["estimate_unbenchmarked"], base["estimate"])
    np.testing.assert_allclose(f["mse"], base["mse"] + (f["estimate"] - base["estimate"]) ** 2)
    if method == "ratio":
        np.testing.assert_allclose(f["estimate"] / base["estimate"], fit.benchmarking["adjustment"])
    else:
        np.testing.assert_allclose(f["estimate"] - base["estimate"], fit.benchmarking["adjustment"])
    assert fit.benchmarking["aggregate_before"] == pytest.approx(float(share @ base["estimate"]))
    # after the fit, with populations by area label: the same numbers
    later = _fh(data).benchmark(target, population=data.set_index("area")["pop"], method=method)
    pd.testing.assert_frame_equal(later.to_frame(), f)
    with pytest.raises(ValidationError, match="already benchmarked"):
        later.benchmark(target, population=data["pop"])


def test_benchmark_errors_name_the_problem():
    data = _prevalences(zeros=False)
    with pytest.raises(ValidationError, match="benchmark_target="):
        _fh(data, benchmark="ratio", population="pop")
    with pytest.raises(EstimationError, match=r"not a positive number for 1 areas \('a00'\)"):
        _fh(data.assign(pop=np.r_[0, data["pop"][1:]]), benchmark="ratio", benchmark_target=5,
            population="pop")  # fmt: skip
    with pytest.raises(EstimationError, match="no value for 1 areas"):
        _fh(data).benchmark(5, population=data.set_index("area")["pop"].iloc[1:])
    with pytest.raises(ValidationError, match="benchmark='scale' is not known"):
        _fh(data, benchmark="scale", benchmark_target=5, population="pop")


# ----------------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    ("change", "kwargs", "error", "pattern"),
    [
        (None, {"method": "GLS"}, ValidationError, "method='GLS' is not known. Use 'REML', 'ML', 'FH'"),
        (None, {"mse": "jackknife"}, ValidationError, "mse='jackknife' is not known"),
        (None, {"level": 95}, ValidationError, "level=95"),
        (None, {"n_bootstrap": 0}, ValidationError, "n_bootstrap=0 must be an integer >= 1"),
        (None, {"direct": "y"}, EstimationError, "direct='y' is not in the data"),
        (None, {"area": "district"}, EstimationError, "area='district' is not in the data"),
        (None, {"formula": "~ C(Major)"}, EstimationError, "formula '~ C.Major.' cannot be evaluated"),
        (None, {"formula": "yi ~ C(MajorArea)"}, ValidationError, "has a left-hand side"),
        (None, {"formula": "~ np.log(MajorArea - 1)"}, EstimationError, "non-finite covariates"),
        (None, {"formula": "~ C(MajorArea) + I(2 * (MajorArea == 4))"}, EstimationError,
         "collinear"),
        ("dup", {}, EstimationError, r"repeated areas \(1\)"),
        ("neg", {}, EstimationError, r"se column 'SD' has 1 negative values \(areas 3\)"),
        ("nacov", {}, EstimationError, r"covariates 'MajorArea' .* missing for 1 areas \(5\)"),
        ("text", {}, EstimationError, "direct column 'yi' is not numeric"),
        ("few", {}, EstimationError, "3 areas have a direct estimate .* 4 terms"),
    ],
)
def test_bad_input_gets_a_clear_error(change, kwargs, error, pattern):
    data = MILK.copy()
    if change == "dup":
        data.loc[1, "SmallArea"] = 1
    elif change == "neg":
        data.loc[2, "SD"] = -0.1
    elif change == "nacov":
        data["MajorArea"] = data["MajorArea"].astype(float)
        data.loc[4, "MajorArea"] = np.nan
    elif change == "text":
        data["yi"] = data["yi"].astype(object)
        data.loc[0, "yi"] = "n/a"
    elif change == "few":
        data.loc[3:, "yi"] = np.nan
    args = {"direct": "yi", "se": "SD", "formula": "~ C(MajorArea)", "area": "SmallArea", **kwargs}
    with pytest.raises(error, match=pattern) as exc:
        sae.fay_herriot(data, **args)
    assert isinstance(exc.value, FlestimateError)


def test_exactly_one_sampling_error_column():
    with pytest.raises(ValidationError, match="exactly one of se="):
        sae.fay_herriot(MILK, direct="yi", formula="~ 1", area="SmallArea")
    with pytest.raises(ValidationError, match="exactly one of se="):
        sae.fay_herriot(MILK, direct="yi", se="SD", variance="SD", formula="~ 1", area="SmallArea")
    with pytest.raises(ValidationError, match="pandas DataFrame"):
        sae.fay_herriot(MILK.to_dict(), direct="yi", se="SD", formula="~ 1", area="SmallArea")


def test_the_caller_frame_is_not_modified():
    data = _prevalences()
    before = data.copy()
    with pytest.warns(DomainWarning):
        _fh(data, transform="arcsin", n_bootstrap=10, rng=0, benchmark="ratio",
            benchmark_target=7, population="pop")  # fmt: skip
    pd.testing.assert_frame_equal(data, before)


# ----------------------------------------------------------------------------- display
def test_result_renders_as_text_html_and_frame():
    fit = _fit()
    text = str(fit)
    assert text.startswith("Fay-Herriot REML (43 areas; datta-lahiri MSE)")
    for piece in ("sigma2_u", "0.0185503", "C(MajorArea)[T.4]", "converged in", "first 10 of 43"):
        assert piece in text
    html = fit._repr_html_()
    assert "<table>" in html and "C(MajorArea)[T.4]" in html and "first 20 of 43" in html
    assert repr(fit) == "<FayHerriotResult Fay-Herriot REML (43 areas; datta-lahiri MSE)>"
    cols = fit.to_frame().columns.tolist()
    assert cols[:6] == ["area", "direct", "direct_se", "estimate", "mse", "gamma"]
    coef = fit.coefficients()
    assert coef["term"].tolist() == list(fit.beta.index)
    np.testing.assert_allclose(coef["z"], fit.beta / fit.beta_se)
    assert len(fit) == 43


def test_benchmark_populations_given_as_a_series_are_matched_by_area_label():
    # areas labelled 0..m-1 in shuffled order: a Series is read by label, never by position
    data = _prevalences(zeros=False).assign(area=lambda f: np.random.default_rng(2)
                                             .permutation(len(f)))  # fmt: skip
    fit = _fh(data)
    pop = data.set_index("area")["pop"].sort_index()
    by_label = fit.benchmark(7.0, population=pop)
    by_row = fit.benchmark(7.0, population=data["pop"].to_numpy())
    pd.testing.assert_frame_equal(by_label.to_frame(), by_row.to_frame())
    with pytest.raises(EstimationError, match="pass .to_numpy"):
        fit.benchmark(7.0, population=pop.set_axis(pop.index + 1000))
