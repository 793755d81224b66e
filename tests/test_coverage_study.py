"""The coverage study (flestimate._coverage): intervals equal the engine's, summaries count right."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import flestimate as fl
from flestimate.simulation import coverage as study
from flestimate.estimation.cimethods import CI_METHODS


def test_study_compares_every_engine_method():
    assert tuple(study.METHODS) == tuple(CI_METHODS)


@pytest.fixture(scope="module")
def sample():
    s = fl.simulate(3_000, prevalence=0.005, rng=5, keep_population=True)
    return next(iter(s.draw_samples(1, rng=6)))


@pytest.mark.parametrize("method", study.METHODS)
def test_study_intervals_equal_the_engine(sample, method):
    p, se, df, n, deff = study._sample_estimates(sample)
    lo, hi = study.intervals(method, np.array([p]), np.array([se]), np.array([df]),
                             np.array([n]), 0.95)  # fmt: skip
    design = fl.SurveyDesign(sample, weight="w_final", strata="stratum", psu="psu")
    row = design.prevalence("fl", ci_method=method, scale=1).to_frame().iloc[0]
    assert p == row["estimate"] and n == row["n_unweighted"]
    np.testing.assert_allclose([lo[0], hi[0]], [row["ci_lower"], row["ci_upper"]], rtol=1e-12)


def _records(lower, upper, true_p=0.01, estimate=None):
    k = len(lower)
    return pd.DataFrame(
        {
            "scenario": "s",
            "sample": np.arange(k),
            "method": "m",
            "true_p": true_p,
            "estimate": np.full(k, 0.01) if estimate is None else estimate,
            "se": 0.001,
            "df": 50.0,
            "n": 1000.0,
            "deff": 2.0,
            "lower": lower,
            "upper": upper,
        }
    )


def test_summary_counts_coverage_misses_and_missing_intervals():
    lower = np.array([0.005, 0.011, 0.002, np.nan, 0.0, 0.009, 0.001, 0.004])
    upper = np.array([0.015, 0.020, 0.009, np.nan, 0.02, 0.010, 0.030, 0.012])
    est = np.array([0.01, 0.015, 0.005, 0.0, 0.0, 0.0095, 0.01, 0.008])
    s = study.summarise(_records(lower, upper, estimate=est)).iloc[0]
    # covered: rows 0, 4, 5 (0.01 is inside [0.009, 0.010]), 6, 7 -> 5 of 8
    assert s["coverage"] == pytest.approx(5 / 8)
    assert s["coverage_mcse"] == pytest.approx(np.sqrt(5 / 8 * 3 / 8 / 8))
    assert s["miss_below"] == pytest.approx(1 / 8)  # row 1: truth below the interval
    assert s["miss_above"] == pytest.approx(1 / 8)  # row 2: truth above it
    assert s["no_interval"] == pytest.approx(1 / 8)  # row 3 counts as a miss
    assert s["share_zero"] == pytest.approx(2 / 8)
    widths = 1000 * (upper - lower)
    assert s["mean_width_per_1000"] == pytest.approx(np.nanmean(widths))
    assert s["true_per_1000"] == pytest.approx(10.0)
    # mean estimated variance over the variance of the estimates
    assert s["variance_ratio"] == pytest.approx(0.001**2 / np.var(est, ddof=1))


def test_run_study_small(tmp_path):
    scen = [study.SCENARIOS[3], study.SCENARIOS[-1]]
    rec = study.run_study(scen, replications=4, respondents=2_000, rng=3)
    assert len(rec) == 2 * 4 * len(study.METHODS)
    assert set(rec["method"]) == set(study.METHODS)
    # same seed, same records; the true value is the population's
    again = study.run_study(scen[:1], replications=4, respondents=2_000, rng=3)
    pd.testing.assert_frame_equal(again, rec[rec["scenario"] == scen[0]["name"]].reset_index(
        drop=True))  # fmt: skip
    pop = fl.simulate(2_000, rng=3, keep_population=True,
                      **{k: scen[0][k] for k in study._SIM_KEYS}).population  # fmt: skip
    assert rec["true_p"].iloc[0] == pytest.approx(pop["fl"].mean(), rel=1e-12)
    summary = study.summarise(rec)
    assert summary["coverage"].between(0, 1).all()
    table = study.markdown_table(summary)
    assert table.count("\n") == 2 + len(summary)
    over = study.overall(summary)
    assert over.loc["korn-graubard", "relative_width"] == pytest.approx(1.0)


def test_command_line_writes_the_results(tmp_path, capsys):
    assert study.main(["--quick", "--respondents", "2000", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "| scenario |" in out
    for f in ("coverage-summary.csv", "coverage-table.md", "coverage.png"):
        assert (tmp_path / f).stat().st_size > 0
    summary = pd.read_csv(tmp_path / "coverage-summary.csv")
    assert len(summary) == 2 * len(study.METHODS)
