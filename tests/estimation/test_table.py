"""EstimateTable behaviour and the interval methods that R does not cover.

Korn-Graubard is checked here against the independent F-distribution form of the
interval (SURVEY-METHODS E4), including the boundary cases where R gives no number.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from flestimate import ValidationError
from flestimate.design import SurveyDesign
from flestimate.errors import DomainWarning
from flestimate.estimation import cimethods


def kg_f_form(p, v, n, df, level, cap=False):
    """Korn-Graubard bounds from F quantiles (NCHS macro form), computed independently."""
    a = 1 - level
    # at the boundary the effective size is n (design effect 1 when none is pooled)
    factor = (stats.t.ppf(a / 2, n - 1) / stats.t.ppf(a / 2, df)) ** 2
    boundary = p in (0.0, 1.0) or v == 0
    nstar = n * min(factor, 1.0) if boundary else p * (1 - p) / v * factor
    if cap:
        nstar = min(nstar, n)
    x = nstar * p
    if x == 0:
        lo = 0.0
    else:
        v1, v2 = 2 * x, 2 * (nstar - x + 1)
        f = stats.f.ppf(a / 2, v1, v2)
        lo = v1 * f / (v2 + v1 * f)
    if nstar - x == 0:
        hi = 1.0
    else:
        v3, v4 = 2 * (x + 1), 2 * (nstar - x)
        f = stats.f.ppf(1 - a / 2, v3, v4)
        hi = v3 * f / (v4 + v3 * f)
    return lo, hi


@pytest.mark.parametrize("level", [0.95, 0.9])
@pytest.mark.parametrize(
    ("p", "se", "n", "df"),
    [
        (0.02, 0.004, 500, 40),
        (0.3, 0.05, 60, 12),
        (0.001, 0.0009, 2000, 100),
        (0.0, 0.0, 150, 20),
        (1.0, 0.0, 80, 9),
        (0.5, 0.0, 30, 5),
        (0.01, 0.0001, 100, 30),
    ],
)
@pytest.mark.parametrize("cap", [False, True])
def test_korn_graubard_matches_f_form(p, se, n, df, level, cap):
    lo, hi = cimethods.korn_graubard(
        np.array([p]), np.array([se]), np.array([df]), np.array([n]), level, nchs=cap
    )
    elo, ehi = kg_f_form(p, se**2, n, df, level, cap)
    np.testing.assert_allclose([lo[0], hi[0]], [elo, ehi], rtol=1e-9, atol=1e-15)


def test_korn_graubard_boundary_is_exact_one_sided():
    # p = 0, no design effect, infinite df: [0, 1 - (alpha/2)^(1/n)], the exact
    # Clopper-Pearson bound
    lo, hi = cimethods.korn_graubard(
        np.array([0.0]), np.array([0.0]), np.array([np.inf]), np.array([57.0]), 0.95
    )
    assert lo[0] == 0.0
    np.testing.assert_allclose(hi[0], 1 - 0.025 ** (1 / 57), rtol=1e-12)
    lo, hi = cimethods.korn_graubard(
        np.array([1.0]), np.array([0.0]), np.array([np.inf]), np.array([57.0]), 0.95
    )
    assert hi[0] == 1.0
    np.testing.assert_allclose(lo[0], 0.025 ** (1 / 57), rtol=1e-12)


def test_nchs_caps_effective_size():
    # tiny variance: n* far above n; NCHS caps it at n, so its interval is wider
    p, se, n, df = np.array([0.2]), np.array([0.001]), np.array([50.0]), np.array([30.0])
    lo, hi = cimethods.korn_graubard(p, se, df, n, 0.95)
    clo, chi = cimethods.korn_graubard(p, se, df, n, 0.95, nchs=True)
    assert chi[0] - clo[0] > hi[0] - lo[0]
    np.testing.assert_allclose(
        [clo[0], chi[0]], stats.beta.ppf([0.025, 0.975], [10, 11], [41, 40]), rtol=1e-12
    )


def test_wilson_and_wald_formulas():
    p, se, df = np.array([0.1]), np.array([0.02]), np.array([np.inf])
    lo, hi = cimethods.wilson(p, se, df, 0.95)
    z = stats.norm.ppf(0.975)
    ne = 0.09 / 0.0004
    c = (0.1 + z**2 / (2 * ne)) / (1 + z**2 / ne)
    h = z * np.sqrt(0.09 / ne + z**2 / (4 * ne**2)) / (1 + z**2 / ne)
    np.testing.assert_allclose([lo[0], hi[0]], [c - h, c + h], rtol=1e-12)
    lo, hi = cimethods.wald(p, se, np.array([7.0]), 0.9)
    np.testing.assert_allclose(hi - lo, 2 * stats.t.ppf(0.95, 7) * 0.02, rtol=1e-12)
    lo, hi = cimethods.wald(p, se, np.array([0.0]), 0.9)
    assert np.isnan(lo[0]) and np.isnan(hi[0])


@pytest.fixture
def design():
    rng = np.random.default_rng(3)
    n = 400
    f = pd.DataFrame(
        {
            "stratum": rng.integers(0, 4, n),
            "w": rng.uniform(10, 30, n),
            "fl": (rng.random(n) < 0.05).astype(int),
            "y": rng.normal(5, 1, n),
            "sex": pd.Categorical(
                rng.choice(["female", "male"], n), categories=["female", "male", "other"]
            ),
            "region": rng.integers(1, 4, n),
        }
    )
    f["psu"] = f["stratum"] * 100 + rng.integers(0, 6, n)
    f.loc[f["region"] == 3, "fl"] = 0  # a domain with no cases: p = 0
    return SurveyDesign(f, weight="w", strata="stratum", psu="psu")


def test_prevalence_is_scaled_korn_graubard_proportion(design):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DomainWarning)
        prev = design.prevalence("fl", by="region").to_frame()
        prop = design.proportion("fl", by="region", ci_method="korn-graubard").to_frame()
    for c in ("estimate", "se", "ci_lower", "ci_upper"):
        np.testing.assert_allclose(prev[c], 1000 * prop[c], rtol=1e-12)
    np.testing.assert_allclose(prev["deff"], prop["deff"], rtol=1e-12)
    zero = prev[prev["region"] == 3].iloc[0]
    assert zero["estimate"] == 0 and zero["ci_lower"] == 0 and zero["ci_upper"] > 0
    assert "zero_variance" in zero["flags"]
    t = design.prevalence("fl")
    assert t.settings["scale"] == 1000 and t.settings["statistic"] == "prevalence"
    assert t.settings["ci_method"] == "korn-graubard"


def test_confint_recomputes_without_rerunning(design):
    for method in ("logit", "korn-graubard", "likelihood", "wilson", "asin", "wald"):
        t95 = design.proportion("fl", by="region", ci_method=method)
        t90 = design.proportion("fl", by="region", ci_method=method, level=0.9).to_frame()
        again = t95.confint(level=0.9).to_frame()
        pd.testing.assert_frame_equal(again, t90)
        assert t95.level == 0.95  # frozen: confint returns a new table


def test_difference_uses_covariance(design):
    t = design.mean("y", by="region")
    f = t.to_frame()
    C = t.covariance().to_numpy()
    d = t.difference(0, 2).to_frame().iloc[0]
    np.testing.assert_allclose(d["estimate"], f["estimate"][0] - f["estimate"][2], rtol=1e-12)
    np.testing.assert_allclose(d["se"], np.sqrt(C[0, 0] + C[2, 2] - 2 * C[0, 2]), rtol=1e-12)
    assert d["df"] == t.design_df  # p-values and intervals on the design df
    assert C[0, 2] != 0  # domains share PSUs: the covariance matters
    with pytest.raises(ValidationError, match="9 is not a row"):
        t.difference(0, 9)


def test_empty_domain_row_flag_and_warning(design):
    with pytest.warns(DomainWarning, match="no respondents"):
        t = design.mean("y", by="sex")
    f = t.to_frame()
    assert list(f["sex"]) == ["female", "male", "other"]
    other = f.iloc[2]
    assert np.isnan(other["estimate"]) and np.isnan(other["se"])
    assert other["flags"] == "empty_domain" and other["n_unweighted"] == 0
    assert any(d.code == "empty_domain" for d in t.diagnostics)


def test_columns_and_renderings(design):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DomainWarning)
        t = design.proportion("fl", by=["sex", "region"])
    f = t.to_frame()
    assert list(f.columns) == [
        "sex",
        "region",
        "variable",
        "estimate",
        "se",
        "ci_lower",
        "ci_upper",
        "level",
        "ci_method",
        "df",
        "deff",
        "deff_wr",
        "cv",
        "n_unweighted",
        "n_weighted",
        "n_effective",
        "flags",
    ]
    text, html = str(t), t._repr_html_()
    assert repr(t) == text  # a terminal shows the numbers, not <EstimateTable ...>
    for head in ("estimate", "se", "CI lower", "CI upper", "cv", "deff", "df", "flags"):
        assert head in text and f"<th>{head}</th>" in html
    for r in f[f["se"] > 0].head(3).itertuples():
        # rounded to the decimals that give the SE two significant digits
        d = int(max(0, 1 - np.floor(np.log10(r.se))))
        for v in (r.estimate, r.se, r.ci_lower, r.ci_upper):
            assert f"{v:,.{d}f}" in text and f"{v:,.{d}f}" in html
        assert f"{r.cv:.3f}" in text and f"{r.cv:.3f}" in html
    cat = design.proportion("sex").to_frame()
    assert "category" in cat.columns and list(cat["category"]) == ["female", "male", "other"]
    np.testing.assert_allclose(cat["estimate"].sum(), 1.0, rtol=1e-12)


def test_domain_with_one_psu_has_nonpositive_df(design):
    data = design.data.assign(
        tiny=np.where(design.data["psu"] == design.data["psu"].iloc[0], "a", "b")
    )
    d = SurveyDesign(data, weight="w", strata="stratum", psu="psu")
    f = d.proportion("fl", by="tiny", ci_method="korn-graubard").to_frame()
    row = f[f["tiny"] == "a"].iloc[0]
    assert row["df"] == 0 and "df_nonpositive" in row["flags"]
    assert np.isnan(row["ci_lower"]) and np.isnan(row["ci_upper"])


def test_domain_mean_equals_ratio_of_masked_totals(design):
    """Identity: a domain mean is the ratio of the masked totals, with the same SE."""
    data = design.data.assign(
        y_r1=np.where(design.data["region"] == 1, design.data["y"], 0.0),
        one_r1=(design.data["region"] == 1).astype(float),
    )
    d = SurveyDesign(data, weight="w", strata="stratum", psu="psu")
    m = d.mean("y", by="region").to_frame().iloc[0]
    r = d.ratio("y_r1", "one_r1").to_frame().iloc[0]
    np.testing.assert_allclose([m["estimate"], m["se"]], [r["estimate"], r["se"]], rtol=1e-12)


def test_blocks_of_variables_give_the_same_table(design, monkeypatch):
    """Large tables are computed in blocks of variables; the result does not change."""
    from flestimate.estimation import estimators

    data = design.data.assign(y2=design.data["y"] ** 2, y3=np.sqrt(design.data["w"]))
    d = SurveyDesign(data, weight="w", strata="stratum", psu="psu")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DomainWarning)
        whole = d.mean(["y", "y2", "y3"], by=["sex", "region"])
        monkeypatch.setattr(estimators, "_MAX_CELLS", 1.0)  # one variable per block
        blocked = d.mean(["y", "y2", "y3"], by=["sex", "region"])
    pd.testing.assert_frame_equal(blocked.to_frame(), whole.to_frame())
    np.testing.assert_allclose(blocked.covariance(), whole.covariance(), rtol=1e-12)


@pytest.mark.parametrize("kind", ["taylor", "replicate"])
def test_blocks_share_cells_with_missing_values(design, monkeypatch, kind):
    """Blocks of variables share the PSU x domain cells (rows, weight totals): with
    missing values in one variable and a replicate design, the table is unchanged."""
    from flestimate.estimation import estimators

    y = design.data["y"].to_numpy(float).copy()
    y[::7] = np.nan
    data = design.data.assign(y_na=y, flag=(design.data["y"] > design.data["y"].median()) * 1.0)
    d = SurveyDesign(data, weight="w", strata="stratum", psu="psu")
    if kind == "replicate":
        d = d.replicate("jkn")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        whole = [d.mean(["y", "y_na", "flag"], by=["sex", "region"], na_rm=True),
                 d.total(["flag", "y"], by="region")]
        monkeypatch.setattr(estimators, "_MAX_CELLS", 1.0)  # one variable per block
        blocked = [d.mean(["y", "y_na", "flag"], by=["sex", "region"], na_rm=True),
                   d.total(["flag", "y"], by="region")]
    for a, b in zip(blocked, whole, strict=True):
        pd.testing.assert_frame_equal(a.to_frame(), b.to_frame())


def test_zero_denominator_is_flagged(design):
    data = design.data.assign(x=np.where(design.data["region"] == 1, 0.0, 1.0))
    d = SurveyDesign(data, weight="w", strata="stratum", psu="psu")
    f = d.ratio("y", "x", by="region").to_frame()
    row = f.iloc[0]
    assert np.isnan(row["estimate"]) and np.isnan(row["se"]) and row["flags"] == "zero_denominator"
    assert np.isfinite(f["se"].iloc[1:]).all()
