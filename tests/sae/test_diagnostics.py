"""Diagnostics and charts of a Fay-Herriot fit: normality checks, CV tables, plots."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from scipy import stats

from flestimate import sae
from flestimate.errors import ValidationError

MILK = pd.read_csv(Path(__file__).resolve().parents[1] / "reference" / "data" / "milk.csv")
FIT = sae.fay_herriot(MILK, direct="yi", se="SD", formula="~ C(MajorArea)", area="SmallArea")


def test_normality_checks_the_realised_residuals_and_random_effects():
    table = FIT.normality()
    assert table["check"].tolist() == ["residuals", "random_effects"]
    f = FIT.to_frame()
    u = f["gamma"] * (f["direct"] - f["synthetic"])
    e = f["direct"] - f["estimate"]
    for row, values in zip(table.itertuples(), (e, u), strict=True):
        z = (values - values.mean()) / values.std(ddof=1)
        w, p = stats.shapiro(z)
        assert row.n == 43
        assert row.shapiro_w == pytest.approx(w) and row.shapiro_p == pytest.approx(p)
        assert row.skewness == pytest.approx(stats.skew(z))
        assert row.kurtosis == pytest.approx(stats.kurtosis(z))


def test_cv_table_compares_direct_and_model_precision():
    t = FIT.cv_table(threshold=0.15)
    f = FIT.to_frame().set_index("area")
    assert t["direct_cv"].is_monotonic_increasing
    np.testing.assert_allclose(t["direct_cv"], f.loc[t["area"], "direct_se"].to_numpy()
                               / f.loc[t["area"], "direct"].to_numpy())  # fmt: skip
    np.testing.assert_allclose(t["model_cv"], np.sqrt(f.loc[t["area"], "mse"].to_numpy())
                               / f.loc[t["area"], "estimate"].to_numpy())  # fmt: skip
    assert (t["improvement"] > 1).all()
    np.testing.assert_array_equal(t["publishable_direct"], t["direct_cv"] <= 0.15)
    s = FIT.cv_summary(threshold=0.15).set_index("estimate")
    assert s.loc["direct", "cv_at_most_0.15"] == int((t["direct_cv"] <= 0.15).sum())
    assert s.loc["model", "cv_at_most_0.15"] == int((t["model_cv"] <= 0.15).sum())
    assert s.loc["model", "cv_at_most_0.15"] > s.loc["direct", "cv_at_most_0.15"]
    assert s.loc["model", "median"] < s.loc["direct", "median"]


def test_plots_draw_one_mark_per_area():
    ax = Figure().subplots()
    assert FIT.plot_direct_vs_model(ax=ax) is ax
    assert len(ax.collections[0].get_offsets()) == 43
    ax = Figure().subplots()
    FIT.plot_areas(ax=ax)
    assert len(ax.get_yticklabels()) == 43
    # ordered by estimate: the first tick is the area with the smallest estimate
    f = FIT.to_frame()
    assert ax.get_yticklabels()[0].get_text() == str(f.loc[f["estimate"].idxmin(), "area"])
    axes = Figure().subplots(1, 2)
    FIT.plot_residuals(axes=axes)
    assert all(len(a.collections[0].get_offsets()) == 43 for a in axes)
    with pytest.raises(ValidationError, match="at most max_areas=10"):
        FIT.plot_areas(ax=Figure().subplots(), max_areas=10)


def test_plots_make_their_own_axes_when_none_is_given():
    import matplotlib.pyplot as plt

    ax = FIT.plot_areas()
    try:
        assert ax.figure is not None and ax.get_title().startswith("Areas ordered")
    finally:
        plt.close("all")
