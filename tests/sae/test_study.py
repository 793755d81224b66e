"""The simulation study of the small-area estimators (flestimate.sae.study): the districts'
truth adds up to the simulator's national truth, and a small study shows the model beating
the direct estimator with intervals that cover."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import flestimate
from flestimate.errors import ValidationError
from flestimate.sae import study


@pytest.fixture(scope="module")
def survey():
    return flestimate.simulate(6_000, rng=7, keep_population=True)


def test_district_truth_adds_up_to_the_national_truth(survey):
    district_of_psu, areas = study.district_areas(survey.population, eas_per_district=8)
    national = survey.truth["populations"]["all"]["national"]
    assert areas["population"].sum() == national["population"]
    total = (areas["population"] * areas["prevalence_true"] / 1000).sum()
    assert total == pytest.approx(national["fl"], rel=1e-12)
    # every EA in one district, districts within regions, blocks of at most 8 EAs
    assert district_of_psu.index.is_unique
    assert (district_of_psu // 100).isin(areas["region"]).all()
    assert district_of_psu.value_counts().max() <= 8
    assert ((areas["migrant_share"] >= 0) & (areas["migrant_share"] <= 1)).all()
    # the register holds about register_rate of the people in forced labour
    registered = (areas["register_per_1000"] * areas["population"] / 1000).sum()
    assert 0.15 * national["fl"] < registered < 0.35 * national["fl"]


def test_district_areas_checks_its_arguments(survey):
    with pytest.raises(ValidationError, match="keep_population=True"):
        study.district_areas(survey.sample)
    with pytest.raises(ValidationError, match="eas_per_district=0"):
        study.district_areas(survey.population, eas_per_district=0)


def test_a_small_study_shows_the_gain_of_the_model():
    summary = study.simulation_study(replications=6, respondents=8_000, n_bootstrap=20, rng=3)
    s = summary.set_index("estimator")
    direct = s.loc["direct (Korn-Graubard interval)"]
    assert len(s) == 1 + len(study.VARIANTS)
    for label, *_ in study.VARIANTS:
        assert s.loc[label, "rmse"] < direct["rmse"]
        assert s.loc[label, "estimated"] == 1.0
    fh = s.loc["FH, census + register"]
    assert 0.8 < fh["coverage"] <= 1.0
    assert 0.3 < fh["mse_ratio"] < 2.0
    assert direct["estimated"] < 1.0 or np.isclose(direct["estimated"], 1.0)
    text = study.markdown(summary)
    assert text.count("\n") == len(summary) + 1 and "| FH arcsine" in text


def test_the_command_rejects_bad_arguments(capsys):
    assert study.main(["--replications", "0"]) == 2
    assert "replications=0" in capsys.readouterr().err


def test_the_methodology_page_records_the_study_and_its_command():
    root = Path(__file__).resolve().parents[2]
    page = (root / "docs" / "methodology" / "small-area.md").read_text()
    assert "python -m flestimate.sae.study --replications 200 --bootstrap 100" in page
    empty = pd.DataFrame(columns=["estimator", "rmse", "rrmse", "bias", "coverage", "mse_ratio",
                                  "estimated"])  # fmt: skip
    assert study.markdown(empty).splitlines()[0] in page
    for label, *_ in study.VARIANTS:
        assert f"| {label} |" in page
    nav = (root / "mkdocs.yml").read_text()
    for doc in ("user-guide/small-areas.md", "methodology/small-area.md", "api/sae.md"):
        assert doc in nav and (root / "docs" / doc).is_file()
