"""The list simulator: capture, dependence and heterogeneity as promised, seeded; the study."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from flestimate import mse
from flestimate.errors import ValidationError
from flestimate.mse.study import SCENARIOS, markdown_table, run_study, summarise


def full_table(sim) -> pd.DataFrame:
    """The observed patterns plus the unobserved cell (known in a simulation)."""
    lists = sim.parameters["lists"]
    dark = pd.DataFrame([{**{k: 0 for k in lists}, "count": sim.dark}])
    return pd.concat([sim.table, dark], ignore_index=True)


def test_independent_lists_have_their_capture_probabilities():
    sim = mse.simulate_lists(400_000, capture=(0.1, 0.2, 0.3), rng=1)
    full = full_table(sim)
    assert full["count"].sum() == sim.population == 400_000
    share = (full[["A", "B", "C"]].mul(full["count"], axis=0).sum() / sim.population).to_numpy()
    np.testing.assert_allclose(share, [0.1, 0.2, 0.3], atol=0.003)
    # independence: P(A and B) = P(A) P(B)
    both = full.loc[(full["A"] == 1) & (full["B"] == 1), "count"].sum() / sim.population
    assert both == pytest.approx(0.02, abs=0.001)


def test_dependence_is_the_conditional_odds_ratio():
    sim = mse.simulate_lists(400_000, capture=(0.2, 0.2, 0.2), dependence={("A", "B"): np.log(4)},
                             rng=2)
    full = full_table(sim).set_index(["A", "B", "C"])["count"]
    # among cases not on C: odds ratio of A and B
    n = {(a, b): full.get((a, b, 0), 0) for a in (0, 1) for b in (0, 1)}
    ratio = n[1, 1] * n[0, 0] / (n[1, 0] * n[0, 1])
    assert ratio == pytest.approx(4.0, rel=0.06)
    # A and C stay independent given B
    m = {(a, c): full.get((a, 0, c), 0) for a in (0, 1) for c in (0, 1)}
    assert m[1, 1] * m[0, 0] / (m[1, 0] * m[0, 1]) == pytest.approx(1.0, rel=0.06)


def test_heterogeneity_makes_every_pair_positively_dependent():
    sim = mse.simulate_lists(200_000, capture=(0.2, 0.2, 0.2), heterogeneity=1.5, rng=3)
    full = full_table(sim).set_index(["A", "B", "C"])["count"]
    for pair in ((0, 1), (0, 2), (1, 2)):
        def n(x, y, pair=pair):
            key = [0, 0, 0]
            key[pair[0]], key[pair[1]] = x, y
            return full.get(tuple(key), 0)
        assert n(1, 1) * n(0, 0) / (n(1, 0) * n(0, 1)) > 1.5


def test_main_effects_estimate_is_nearly_unbiased_under_independence():
    sims = [mse.simulate_lists(20_000, capture=(0.1, 0.15, 0.2, 0.1), rng=s) for s in range(5)]
    errors = [mse.fit(s.table, lists=list("ABCD")).total / s.population - 1 for s in sims]
    assert abs(np.mean(errors)) < 0.03


def test_seeded_and_validated():
    a = mse.simulate_lists(3000, rng=9)
    b = mse.simulate_lists(3000, rng=9)
    pd.testing.assert_frame_equal(a.table, b.table)
    assert a.observed == a.table["count"].sum() and a.dark == 3000 - a.observed
    with pytest.raises(ValidationError, match="capture"):
        mse.simulate_lists(100, capture=(0.5,))
    with pytest.raises(ValidationError, match="capture"):
        mse.simulate_lists(100, capture=(0.5, 1.2))
    with pytest.raises(ValidationError, match="dependence"):
        mse.simulate_lists(100, capture=(0.5, 0.2), dependence={("A", "Z"): 1.0})
    with pytest.raises(ValidationError, match="heterogeneity"):
        mse.simulate_lists(100, capture=(0.5, 0.2), heterogeneity=-1)
    with pytest.raises(ValidationError, match="population"):
        mse.simulate_lists(0)


def test_study_records_and_summary_are_consistent():
    records = run_study(["independent", "dependent A:B, C:D"], replications=4, rng=1)
    assert len(records) == 2 * 4 * 2 and not records["failed"].any()
    assert (records["truth"] == 10_000).all()
    summary = summarise(records)
    assert len(summary) == 4 and (summary["replications"] == 4).all()
    dep = summary.set_index(["scenario", "method"])
    # unmodelled positive dependence: main effects underestimate badly, stepwise recovers
    assert dep.loc[("dependent A:B, C:D", "main effects"), "relative_bias"] < -0.15
    assert abs(dep.loc[("dependent A:B, C:D", "stepwise"), "relative_bias"]) < 0.1
    assert markdown_table(summary).count("\n") == 5
    with pytest.raises(ValidationError, match="not known"):
        run_study(["nope"], replications=1)
    assert set(SCENARIOS) >= {"independent", "dependent A:B, C:D", "heterogeneous (sd 1)"}


def test_methodology_page_shows_the_committed_study():
    # the table on the page is the one the study wrote (rerun the command, paste the table)
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    table = (root / "docs" / "methodology" / "mse" / "mse-study-table.md").read_text()
    page = (root / "docs" / "methodology" / "mse.md").read_text()
    assert table.strip() in page
    assert "python -m flestimate.mse.study --replications 1000" in page
    summary = pd.read_csv(root / "docs" / "methodology" / "mse" / "mse-study-summary.csv")
    assert (summary["replications"] == 1000).all() and len(summary) == 6
