"""The synthetic hidden population: reproducible, consistent with its truth and its network."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import flestimate as fl
from flestimate import proxy
from flestimate.errors import ValidationError
from flestimate.simulation import hidden_population, hidden_population_study, summarise_study


@pytest.fixture(scope="module")
def pop():
    return hidden_population(population=1500, survey_size=200, rds_size=200, rng=4)


def test_same_seed_same_data(pop):
    again = hidden_population(population=1500, survey_size=200, rds_size=200, rng=4)
    for name in ("people", "survey", "reports", "rds"):
        assert getattr(pop, name).equals(getattr(again, name)), name
    assert (pop.adjacency != again.adjacency).nnz == 0


def test_truth_matches_the_population(pop):
    people, truth = pop.people, pop.truth
    assert truth["fl"] == people["fl"].sum() and truth["population"] == 1500
    assert truth["known"] == pop.known == {k: int(people[k].sum()) for k in pop.known}
    assert truth["rds_population"] <= 1500
    fam = people.groupby("family")
    assert (fam["region"].nunique() == 1).all()  # a family lives in one region
    assert (fam.size() == fam["family_size"].first()).all()


def test_network_is_symmetric_and_clustered(pop):
    adj = pop.adjacency
    assert (adj != adj.T).nnz == 0 and adj.diagonal().sum() == 0
    h = pop.people["fl"].to_numpy().astype(bool)
    within = adj[h][:, h].sum() / (h.sum() * (h.sum() - 1))
    others = adj[~h][:, ~h].sum() / ((~h).sum() * ((~h).sum() - 1))
    assert within == pytest.approx(0.02, rel=0.25) and others == pytest.approx(0.006, rel=0.1)


def test_scale_up_answers_count_the_contacts(pop):
    s = pop.survey
    reach = pop.adjacency[s["id"].to_numpy()]
    for name in pop.known:
        assert (s[name].to_numpy() == reach @ pop.people[name].to_numpy()).all()
    assert (s["fl_known"].to_numpy() == reach @ pop.people["fl"].to_numpy()).all()  # visibility 1
    # the same number in each region; the weights add up to the population
    assert s.groupby("region").size().tolist() == [50] * 4
    assert s["weight"].sum() == pytest.approx(1500, rel=1e-12)
    blind = pop.resample(5, visibility=0.3)
    assert blind.survey["fl_known"].sum() < 0.5 * pop.survey["fl_known"].sum()


def test_family_reports_follow_the_counting_rule(pop):
    r, people = pop.reports, pop.people.set_index("id")
    assert r.groupby("respondent")["self"].sum().eq(1).all()
    assert (people.loc[r["person"], "family"].to_numpy()
            == people.loc[r["respondent"], "family"].to_numpy()).all()  # fmt: skip
    assert (r["multiplicity"].to_numpy() == people.loc[r["person"], "family_size"].to_numpy()).all()
    # a census of reporters counts each person in forced labour exactly once
    census = pop.people.assign(w=1.0)
    fam = pop.people[["id", "family", "family_size", "fl"]]
    everyone = fam.merge(fam, on="family", suffixes=("_r", "")).rename(
        columns={"id_r": "respondent", "family_size": "multiplicity"}
    )
    total = proxy.multiplicity_total(fl.SurveyDesign(census, weight="w"), everyone,
                                     respondent="respondent", outcome="fl",
                                     multiplicity="multiplicity", respondent_id="id")  # fmt: skip
    assert total.to_frame()["estimate"].iloc[0] == pytest.approx(pop.truth["fl"], rel=1e-12)


def test_rds_sample_and_resample(pop):
    s = pop.rds
    assert len(s) == 200 and s["id"].is_unique
    assert (s["network_size"].to_numpy() == pop.people["degree"].to_numpy()[s["id"]]).all()
    other = pop.resample(9, rds_size=100)
    assert len(other.rds) == 100 and other.people is pop.people
    assert not other.survey["id"].equals(pop.survey["id"])
    with pytest.raises(ValidationError, match="population"):
        pop.resample(1, population=10)
    with pytest.raises(ValidationError, match="visibility"):
        hidden_population(visibility=1.5)


def test_write_round_trips(pop, tmp_path):
    paths = pop.write(tmp_path)
    assert sorted(p.name for p in paths) == sorted(
        ["nsum_survey.csv", "known_populations.csv", "family_reports.csv", "rds_sample.csv",
         "truth.json"]
    )  # fmt: skip
    truth = json.loads((tmp_path / "truth.json").read_text())
    assert truth["fl"] == pop.truth["fl"] and truth["parameters"]["seed"] == 4


def test_study_summary_has_bias_and_coverage(pop):
    results = hidden_population_study(2, population=pop, visibilities=(1.0, 0.5), n_bootstrap=20)
    summary = summarise_study(results)
    assert len(results) == 2 * 5
    nsum_half = summary[summary["setting"] == "visibility 0.5"].iloc[0]
    nsum_full = summary[summary["setting"] == "visibility 1"].iloc[0]
    assert nsum_half["mean"] == pytest.approx(0.5 * nsum_full["mean"], rel=0.3)
    assert set(summary["coverage"]) <= {0.0, 0.5, 1.0}


def test_bundled_data_is_reproduced(tmp_path):
    """data/hidden holds what its README's call writes."""
    bundled = Path(__file__).resolve().parents[2] / "data" / "hidden"
    hidden_population(visibility=0.8, family_visibility=0.9, rng=2026).write(tmp_path)
    for name in ("nsum_survey.csv", "known_populations.csv", "family_reports.csv",
                 "rds_sample.csv", "truth.json"):  # fmt: skip
        assert (tmp_path / name).read_text() == (bundled / name).read_text(), name
