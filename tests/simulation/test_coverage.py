"""The coverage study (flestimate.simulation.coverage): intervals equal the engine's, counts right."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import flestimate as fl
from flestimate.errors import ValidationError
from flestimate.estimation.cimethods import CI_METHODS
from flestimate.simulation import coverage as study


def test_study_compares_every_engine_method():
    assert tuple(study.METHODS) == tuple(CI_METHODS)


@pytest.fixture(scope="module")
def sample():
    s = fl.simulate(3_000, prevalence=0.005, rng=5, keep_population=True)
    return next(iter(s.draw_samples(1, rng=6)))


@pytest.mark.parametrize("method", study.METHODS)
def test_study_intervals_equal_the_engine(sample, method):
    p, se, df, n, deff = study.sample_estimates(sample)
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


def test_coverage_study_small(tmp_path):
    scen = [study.SCENARIOS[3], study.SCENARIOS[-1]]
    rec = study.coverage_study(scen, replications=4, respondents=2_000, rng=3)
    assert len(rec) == 2 * 4 * len(study.METHODS)
    assert set(rec["method"]) == set(study.METHODS)
    # same seed, same records; the true value is the population's
    again = study.coverage_study(scen[:1], replications=4, respondents=2_000, rng=3)
    pd.testing.assert_frame_equal(again, rec[rec["scenario"] == scen[0]["name"]].reset_index(
        drop=True))  # fmt: skip
    pop = fl.simulate(2_000, rng=3, keep_population=True,
                      **{k: scen[0][k] for k in study.SIMULATE_KEYS}).population  # fmt: skip
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


def test_records_and_summary_have_the_documented_columns():
    rec = study.coverage_study(study.SCENARIOS[:1], replications=3, respondents=2_000, rng=4)
    assert tuple(rec.columns) == study.RECORD_COLUMNS
    assert tuple(study.summarise(rec).columns) == study.SUMMARY_COLUMNS


def test_public_names_of_the_package():
    import flestimate.simulation as simulation

    assert simulation.coverage_study is study.coverage_study
    assert "coverage_study" in dir(simulation)
    # importing the study does not hide the simulator's function behind a module
    assert fl.simulate is simulation.simulate and callable(simulation.simulate)
    assert isinstance(fl.simulate(2_000, rng=1), fl.SimulatedSurvey)


def _run(code: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, timeout=300)  # fmt: skip


def test_importing_the_simulator_does_not_load_the_study_or_the_estimators():
    done = _run(
        "import sys, flestimate.simulation as s\n"
        "s.simulate(2_000, rng=1)\n"
        "print(sorted(m for m in sys.modules if m.startswith(('flestimate.simulation.coverage',"
        " 'flestimate.estimation', 'flestimate.design'))))"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_plot_keeps_the_callers_matplotlib_backend():
    # a notebook's inline backend must survive: the library never switches the backend
    done = _run(
        "import matplotlib\n"
        "matplotlib.use('svg')\n"
        "import numpy as np, pandas as pd\n"
        "from flestimate.simulation import coverage as study\n"
        "rows = [dict(scenario=s, method=m, true_per_1000=5.0, mean_deff=2.0, mean_df=40.0,\n"
        "             variance_ratio=1.0, share_zero=0.0, coverage=0.95, coverage_mcse=0.01,\n"
        "             miss_below=0.02, miss_above=0.03, no_interval=0.0,\n"
        "             mean_width_per_1000=w, samples=100)\n"
        "        for s in ('a', 'b') for m, w in (('wald', 3.0), ('korn-graubard', 4.0))]\n"
        "fig = study.plot_summary(pd.DataFrame(rows))\n"
        "print(matplotlib.get_backend(), np.round(fig.axes[1].lines[0].get_ydata(), 3))"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["svg", "[0.75", "0.75]"]


def test_module_runs_as_a_script(tmp_path):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "MPLBACKEND": ""}
    done = subprocess.run(
        [sys.executable, "-m", "flestimate.simulation.coverage", "--quick", "--respondents",
         "2000", "--out", str(tmp_path)],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "| scenario |" in done.stdout
    assert (tmp_path / "coverage.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize(
    ("scenarios", "match"),
    [
        ([], "non-empty list of dicts"),
        (study.SCENARIOS[0], "non-empty list of dicts"),
        (["p0.1%-low"], "scenario 0 is a str, not a dict"),
        ([{k: v for k, v in study.SCENARIOS[0].items() if k != "hotspot_risk"}],
         "scenario 'p0.1%-low' lacks 'hotspot_risk'"),
        ([{**study.SCENARIOS[0], "hotspot_risks": 2.0}],
         "scenario 'p0.1%-low' has unknown 'hotspot_risks'"),
        ([study.SCENARIOS[0], {**study.SCENARIOS[1], "name": "p0.1%-low"}],
         "scenario names 'p0.1%-low' are used more than once"),
    ],
)  # fmt: skip
def test_bad_scenarios_are_named(scenarios, match):
    with pytest.raises(ValidationError, match=re.escape(match)):
        study.coverage_study(scenarios, replications=2, respondents=2_000)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"replications": 0}, "replications=0 is outside the allowed range [1, 10,000,000]"),
        ({"replications": 2.5}, "replications=2.5 must be an integer"),
        ({"level": 95}, "level=95 is outside the allowed range (0, 1)"),
        ({"rng": np.random.default_rng(1)}, "parameter rng=Generator"),
        ({"rng": -1}, "rng=-1 is outside the allowed range"),
        ({"respondents": 100}, "respondents=100 is outside the allowed range"),
    ],
)
def test_bad_arguments_are_named(kwargs, match):
    with pytest.raises(ValidationError, match=re.escape(match)):
        study.coverage_study(study.SCENARIOS[:1], **{"replications": 2, **kwargs})


def test_command_line_bad_argument_exits_2_with_one_line(capsys):
    assert study.main(["--replications", "0"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert err.startswith("python -m flestimate.simulation.coverage: error: parameter replications=0")


@pytest.mark.parametrize("func", [study.overall, study.plot_summary])
def test_summary_without_korn_graubard_is_an_error_not_a_nan(func):
    summary = pd.DataFrame(
        [dict.fromkeys(study.SUMMARY_COLUMNS, 1.0) | {"scenario": "s", "method": "wald"}]
    )
    with pytest.raises(ValidationError, match="no 'korn-graubard' row for scenario"):
        func(summary)


def test_summary_of_a_frame_without_the_record_columns_names_them():
    with pytest.raises(ValidationError, match=r"lacks the column\(s\) 'lower', 'upper'"):
        study.summarise(pd.DataFrame(columns=[c for c in study.RECORD_COLUMNS
                                              if c not in ("lower", "upper")]))  # fmt: skip


def test_docstring_examples_run():
    import doctest

    result = doctest.testmod(study, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
